//! Closed-form 95% intervals and the standard normal distribution.
//!
//! Everything here is deterministic, allocation-free and exact up to
//! floating-point rounding; other analytics modules build on [`Interval`] and
//! [`Z_95`] so that every published interval uses the same critical value.

use serde::Serialize;

/// The 0.975 quantile of the standard normal distribution, the critical value
/// for every two-sided 95% interval in this crate.
pub const Z_95: f64 = 1.959963984540054;

/// A point estimate with a two-sided 95% interval `[low, high]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower bound of the 95% interval.
    pub low: f64,
    /// Upper bound of the 95% interval.
    pub high: f64,
}

/// Wilson score 95% interval for a binomial proportion `successes / n`.
///
/// Closed form, with `p = x/n` and `z = Z_95`:
/// `(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`, clamped to `[0, 1]`.
/// The bounds are exactly 0 when `x = 0` and exactly 1 when `x = n` (this is
/// what the formula gives in exact arithmetic; rounding would otherwise leave
/// values like 1e-17 or 0.9999999999999999).
///
/// Returns `None` when `n = 0` or `successes > n`.
pub fn wilson(successes: u64, n: u64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = Z_95 / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some(Interval { estimate: p, low, high })
}

/// Standard normal cumulative distribution function Φ(x).
///
/// Uses Marsaglia's positive-term series `Φ(x) = 1/2 + φ(x)(x + x³/3 + x⁵/15 + …)`
/// for |x| ≤ 3 and Laplace's continued fraction for the tail beyond, so the
/// tails keep full *relative* accuracy (the series would cancel there).
/// Accuracy is around 1e-15 relative, enough for [`normal_quantile`] to refine
/// to near machine precision.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x < -3.0 {
        upper_tail(-x)
    } else if x > 3.0 {
        1.0 - upper_tail(x)
    } else {
        let x2 = x * x;
        let (mut sum, mut term) = (x, x);
        // Terms are all of one sign, so stopping when they stop mattering is
        // safe; 200 is far beyond what |x| ≤ 3 needs (about 60).
        for k in 1..200 {
            term *= x2 / f64::from(2 * k + 1);
            sum += term;
            if term.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        0.5 + std_normal_pdf(x) * sum
    }
}

/// Q(x) = 1 − Φ(x) for x ≥ 3 via `φ(x) / (x + 1/(x + 2/(x + 3/(x + …))))`,
/// evaluated backwards from a fixed depth; at x = 3 depth 200 is converged far
/// below machine precision.
fn upper_tail(x: f64) -> f64 {
    let mut denom = x;
    for k in (1..=200).rev() {
        denom = x + f64::from(k) / denom;
    }
    std_normal_pdf(x) / denom
}

fn std_normal_pdf(x: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Inverse of the standard normal CDF (the probit function).
///
/// Acklam's rational approximation (relative error < 1.15e-9) followed by one
/// Halley refinement step against [`normal_cdf`], giving about 1e-15 accuracy.
/// Values above 0.5 are computed as `-normal_quantile(1 - p)`, which is exact
/// for `p ∈ [0.5, 1]` and keeps the tails symmetric.
/// Returns −∞ for `p = 0`, +∞ for `p = 1` and NaN outside `[0, 1]`.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -normal_quantile(1.0 - p);
    }
    let x = acklam(p);
    // Halley step: e is the CDF error, u = e / φ(x).
    let e = normal_cdf(x) - p;
    let u = e / std_normal_pdf(x);
    if !u.is_finite() {
        // φ(x) underflowed (p below ~1e-308); the raw approximation is all we have.
        return x;
    }
    x - u / (1.0 + 0.5 * x * u)
}

/// Acklam's approximation for `0 < p ≤ 0.5`.
fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wilson bounds as the roots of the quadratic
    /// `(1 + z²/n)π² − (2p + z²/n)π + p² = 0` — algebraically the same
    /// interval as the implementation, but written from a different form.
    fn wilson_by_quadratic(x: u64, n: u64) -> (f64, f64) {
        let (p, n) = (x as f64 / n as f64, n as f64);
        let z2 = Z_95 * Z_95;
        let (a, b, c) = (1.0 + z2 / n, -(2.0 * p + z2 / n), p * p);
        let disc = (b * b - 4.0 * a * c).max(0.0).sqrt();
        ((-b - disc) / (2.0 * a), (-b + disc) / (2.0 * a))
    }

    #[test]
    fn wilson_matches_quadratic_form() {
        for &(x, n) in &[
            (95, 100),
            (0, 20),
            (20, 20),
            (1, 1),
            (0, 1),
            (3, 7),
            (81, 263),
            (500, 1000),
        ] {
            let w = wilson(x, n).unwrap();
            let (lo, hi) = wilson_by_quadratic(x, n);
            assert_eq!(w.estimate, x as f64 / n as f64);
            assert!((w.low - lo).abs() < 1e-9, "{x}/{n}: low {} vs {lo}", w.low);
            assert!((w.high - hi).abs() < 1e-9, "{x}/{n}: high {} vs {hi}", w.high);
        }
    }

    #[test]
    fn wilson_edge_cases() {
        assert_eq!(wilson(0, 0), None);
        assert_eq!(wilson(5, 4), None);
        let zero = wilson(0, 10).unwrap();
        assert_eq!((zero.estimate, zero.low), (0.0, 0.0));
        // Upper bound for x = 0 is z²/(n + z²).
        assert!((zero.high - Z_95 * Z_95 / (10.0 + Z_95 * Z_95)).abs() < 1e-12);
        let all = wilson(10, 10).unwrap();
        assert_eq!((all.estimate, all.high), (1.0, 1.0));
        assert!((all.low - 10.0 / (10.0 + Z_95 * Z_95)).abs() < 1e-12);
        for n in 1..=2000 {
            assert_eq!(wilson(0, n).unwrap().low, 0.0, "0/{n}");
            assert_eq!(wilson(n, n).unwrap().high, 1.0, "{n}/{n}");
        }
        let one = wilson(1, 1).unwrap();
        assert_eq!((one.estimate, one.high), (1.0, 1.0));
        assert!((one.low - 1.0 / (1.0 + Z_95 * Z_95)).abs() < 1e-12);
    }

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), Stat. Med. 17:857, Table II, method 3 (score, no CC).
        for &(x, n, lo, hi) in &[
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ] {
            let w = wilson(x, n).unwrap();
            assert!(
                (w.low - lo).abs() < 1e-4 && (w.high - hi).abs() < 1e-4,
                "{x}/{n}: {w:?}"
            );
        }
        let w = wilson(95, 100).unwrap();
        assert!((w.low - 0.888).abs() < 1e-3 && (w.high - 0.978).abs() < 1e-3);
    }

    #[test]
    fn normal_quantile_known_values() {
        // Reference values: Wichura's AS 241 (Python's statistics.NormalDist).
        for &(p, x) in &[
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_053_6),
            (0.025, -1.959_963_984_540_053_8),
            (0.95, 1.644_853_626_951_471_5),
            (0.1, -1.281_551_565_544_600_8),
            (0.3, -0.524_400_512_708_040_7),
            (0.02425, -1.972_961_051_311_884_5),
            (0.001, -3.090_232_306_167_813),
            (0.999_999, 4.753_424_308_817_089),
            (1e-10, -6.361_340_902_404_056),
            (1e-300, -37.047_096_299_361_2),
        ] {
            let got = normal_quantile(p);
            assert!((got - x).abs() < 1e-9 * x.abs().max(1.0), "p={p}: {got} vs {x}");
        }
        assert!((normal_quantile(0.975) - Z_95).abs() < 1e-14);
        // A mistyped coefficient would break Acklam's stated 1.15e-9 bound
        // even where the Halley step hides it.
        for (p, x) in [(0.3, -0.524_400_512_708_040_7), (0.001, -3.090_232_306_167_813)] {
            assert!(((acklam(p) - x) / x).abs() < 1.15e-9, "p={p}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(1.5).is_nan() && normal_quantile(f64::NAN).is_nan());
    }

    #[test]
    fn normal_cdf_known_values() {
        // Reference values: 0.5·erfc(−x/√2) from Python's math.erfc.
        for &(x, p) in &[
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_07),
            (2.5, 0.993_790_334_674_223_8),
            (-3.0, 0.001_349_898_031_630_095_7),
            (3.5, 0.999_767_370_920_964_5),
            (-8.0, 6.220_960_574_271_819e-16),
            (-20.0, 2.753_624_118_606_331_4e-89),
        ] {
            let got = normal_cdf(x);
            assert!(((got - p) / p).abs() < 1e-13, "x={x}: {got} vs {p}");
        }
    }
}
