//! Student's t distribution with a whole number of degrees of freedom: its
//! CDF, density and quantile, for the cluster-robust trend intervals
//! (t with G − 1 degrees of freedom, G organisations; docs/DEFINITIONS.md#trends).
//!
//! The CDF is the finite trigonometric series of Abramowitz & Stegun 26.7.3
//! and 26.7.4, exact for whole ν up to rounding: with θ = atan(t/√ν) and
//! c = cos²θ, `A(t|ν) = P(|T| ≤ t)` is
//!
//! * ν odd: `(2/π)·(θ + sinθ·cosθ·(1 + (2/3)c + (2·4)/(3·5)c² + …))`, ν − 1 over 2 terms
//!   (just `2θ/π` for ν = 1);
//! * ν even: `sinθ·(1 + (1/2)c + (1·3)/(2·4)c² + …)`, ν/2 terms.
//!
//! All terms are positive, so nothing cancels; the cost is O(ν) per call,
//! which for the handful to a few thousand organisations a trend has is
//! nothing. The quantile is Newton's method from the normal quantile, which
//! always lies below the t quantile for p > 1/2; the CDF is concave there, so
//! the iterates rise monotonically to the root without overshooting.

use super::intervals::normal_quantile;

/// `P(T ≤ t)` for T ~ Student's t with `df` degrees of freedom (`df ≥ 1`).
/// NaN for `df = 0` or NaN `t`.
pub fn cdf(t: f64, df: u32) -> f64 {
    if df == 0 || t.is_nan() {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let a = central(t.abs(), df);
    if t >= 0.0 {
        0.5 + 0.5 * a
    } else {
        0.5 - 0.5 * a
    }
}

/// `A(t|ν) = P(|T| ≤ t)` for t ≥ 0 (module docs).
fn central(t: f64, df: u32) -> f64 {
    let nu = f64::from(df);
    let theta = (t / nu.sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    if df % 2 == 1 {
        let mut sum = 0.0;
        if df > 1 {
            let (mut term, mut acc) = (1.0, 1.0);
            // Terms k = 1 .. (ν − 3)/2: term_k = term_{k−1}·(2k)/(2k+1)·c².
            for k in 1..(df - 1) / 2 {
                term *= f64::from(2 * k) / f64::from(2 * k + 1) * c2;
                acc += term;
            }
            sum = s * c * acc;
        }
        std::f64::consts::FRAC_2_PI * (theta + sum)
    } else {
        let (mut term, mut acc) = (1.0, 1.0);
        // Terms k = 1 .. ν/2 − 1: term_k = term_{k−1}·(2k−1)/(2k)·c².
        for k in 1..df / 2 {
            term *= f64::from(2 * k - 1) / f64::from(2 * k) * c2;
            acc += term;
        }
        s * acc
    }
}

/// The density `Γ((ν+1)/2) / (√(νπ)·Γ(ν/2)) · (1 + t²/ν)^(−(ν+1)/2)`.
pub fn pdf(t: f64, df: u32) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    let nu = f64::from(df);
    // r(ν) = Γ((ν+1)/2)/Γ(ν/2): r(1) = 1/√π, r(2) = √π/2, r(ν+2) = r(ν)·(ν+1)/ν.
    let sqrt_pi = std::f64::consts::PI.sqrt();
    let (mut r, mut k) = if df % 2 == 1 {
        (1.0 / sqrt_pi, 1)
    } else {
        (0.5 * sqrt_pi, 2)
    };
    while k < df {
        r *= f64::from(k + 1) / f64::from(k);
        k += 2;
    }
    r / (nu * std::f64::consts::PI).sqrt() * (-(nu + 1.0) / 2.0 * (t * t / nu).ln_1p()).exp()
}

/// The `p` quantile of Student's t with `df` degrees of freedom: −∞ at 0,
/// +∞ at 1, NaN outside `[0, 1]` or for `df = 0`. Symmetric exactly:
/// `quantile(p) = −quantile(1 − p)`.
pub fn quantile(p: f64, df: u32) -> f64 {
    if df == 0 || p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p < 0.5 {
        return -quantile(1.0 - p, df);
    }
    if p == 0.5 {
        return 0.0;
    }
    let mut x = normal_quantile(p).max(0.0);
    for _ in 0..400 {
        let f = pdf(x, df);
        let step = (p - cdf(x, df)) / f;
        if !step.is_finite() {
            break;
        }
        // Rounding can give a tiny negative step at the root; stop there.
        if step <= 0.0 || step <= 1e-16 * x {
            break;
        }
        x += step;
    }
    x
}

/// Degrees of freedom above which [`quantile_of_normal`] uses the
/// Cornish–Fisher expansion instead of Newton's method on the exact CDF.
pub const CORNISH_FISHER_ABOVE: u32 = 100;

/// The t quantile at the standard normal CDF value of `z`, `quantile(Φ(z))`,
/// for turning normal draws into t draws. Up to [`CORNISH_FISHER_ABOVE`]
/// degrees of freedom it is [`quantile`] itself; above, where the exact CDF's
/// O(ν) cost per draw would add up over 100,000 Monte Carlo draws, the
/// Cornish–Fisher expansion of Abramowitz & Stegun 26.7.5 to ν⁻⁴, whose
/// relative error there is below 4e-11 for |z| ≤ 2 and 2e-6 for |z| ≤ 7
/// (checked against scipy).
pub fn quantile_of_normal(z: f64, df: u32) -> f64 {
    if df <= CORNISH_FISHER_ABOVE {
        let q = quantile(super::intervals::normal_cdf(z), df);
        // Beyond |z| ≈ 8 the CDF rounds to 0 or 1; the expansion stays finite.
        if q.is_finite() {
            return q;
        }
    }
    cornish_fisher(z, df)
}

fn cornish_fisher(z: f64, df: u32) -> f64 {
    let n = f64::from(df);
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / n) / n) / n) / n
}

/// The two-sided 95% critical value `quantile(0.975, df)`.
pub fn critical_95(df: u32) -> f64 {
    quantile(0.975, df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::intervals::normal_cdf;

    #[track_caller]
    fn near(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol * want.abs().max(1.0), "{got} vs {want}");
    }

    #[test]
    fn small_df_have_closed_forms() {
        // ν = 1 (Cauchy): F = 1/2 + atan(t)/π; ν = 2: F = 1/2 + t/(2√(2 + t²)).
        for t in [-30.0, -2.5, -0.3, 0.0, 0.7, 1.9, 12.0] {
            near(cdf(t, 1), 0.5 + f64::atan(t) / std::f64::consts::PI, 1e-15);
            near(cdf(t, 2), 0.5 + t / (2.0 * (2.0 + t * t).sqrt()), 1e-15);
            near(pdf(t, 1), 1.0 / (std::f64::consts::PI * (1.0 + t * t)), 1e-15);
            near(pdf(t, 2), (2.0 + t * t).powf(-1.5), 1e-15);
        }
        for p in [0.6, 0.9, 0.975, 0.999] {
            near(quantile(p, 1), (std::f64::consts::PI * (p - 0.5)).tan(), 1e-12);
            // ν = 2: t = (2p − 1)·√(2 / (4p(1 − p))).
            near(
                quantile(p, 2),
                (2.0 * p - 1.0) * (2.0 / (4.0 * p * (1.0 - p))).sqrt(),
                1e-12,
            );
        }
    }

    #[test]
    fn quantiles_match_scipy() {
        // scipy.stats.t.ppf(0.975, df) (scipy 1.17.1), printed with repr().
        let table = [
            (3, 3.182_446_305_283_707_8),
            (9, 2.262_157_162_798_205),
            (10, 2.228_138_851_986_274),
            (19, 2.093_024_054_408_308_7),
            (39, 2.022_690_920_036_761),
            (99, 1.984_216_951_586_417_4),
            (1000, 1.962_339_080_826_408_3),
        ];
        for (df, want) in table {
            near(critical_95(df), want, 1e-13);
            near(cdf(want, df), 0.975, 1e-14);
        }
        // scipy.stats.t.cdf(-3.1, 7) and t.ppf(0.1, 24).
        near(cdf(-3.1, 7), 0.008_661_144_712_748_757, 1e-13);
        near(quantile(0.1, 24), -1.317_835_933_673_149_6, 1e-13);
    }

    #[test]
    fn normal_draws_map_to_t_draws() {
        // scipy.stats.t.ppf(norm.cdf(z), df) for df on both sides of the switch.
        let table = [
            (1.281_551_565_544_600_4, 100, 1.290_074_761_346_515_3, 1e-12),
            (1.281_551_565_544_600_4, 101, 1.289_989_808_567_968_2, 1e-10),
            (-1.959_963_984_540_054, 400, -1.965_912_343_229_463, 1e-10),
            (3.0, 4000, 3.001_876_078_596_828_4, 1e-10),
            (-6.0, 250, -6.229_227_072_586_181, 1e-7),
        ];
        for (z, df, want, tol) in table {
            near(quantile_of_normal(z, df), want, tol);
        }
        // Exactly the quantile up to the switch, and finite far out.
        assert_eq!(quantile_of_normal(0.7, 12), quantile(normal_cdf(0.7), 12));
        assert!(quantile_of_normal(9.0, 5).is_finite() && quantile_of_normal(-9.0, 5) < -9.0);
    }

    #[test]
    fn large_df_approaches_the_normal_and_tails_are_monotone() {
        near(critical_95(100_000), 1.959_963_984_540_054, 1e-4);
        let mut last = f64::NEG_INFINITY;
        for k in 1..200 {
            let p = f64::from(k) / 200.0;
            let q = quantile(p, 5);
            assert!(q > last, "quantile rises: {p} {q}");
            assert_eq!(q, -quantile(1.0 - p, 5));
            last = q;
        }
        assert_eq!(quantile(0.0, 4), f64::NEG_INFINITY);
        assert!(quantile(1.2, 4).is_nan() && cdf(1.0, 0).is_nan());
        // Far tail: ν = 1 at p = 1 − 1e-9 is tan(π(1/2 − 1e-9)) ≈ 3.18e8.
        near(quantile(1.0 - 1e-9, 1), 1.0 / (std::f64::consts::PI * 1e-9).tan(), 1e-5);
    }
}
