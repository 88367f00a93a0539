//! Maximum-likelihood logistic regression of a 0/1 outcome on one covariate.
//!
//! Model: `P(y = 1 | t) = 1 / (1 + exp(-(intercept + slope·t)))`, fitted by
//! Newton–Raphson (IRLS; identical for the canonical logit link) on the
//! covariate centred at its mean, then mapped back to the original scale
//! together with its covariance. Standard errors come from the inverse of the
//! observed (= expected) information at the MLE; all intervals are Wald 95%.

use serde::Serialize;

use super::intervals::{Interval, Z_95};

/// Minimum number of observations [`fit`] accepts.
pub const MIN_OBSERVATIONS: usize = 10;
const MAX_ITERATIONS: u32 = 50;
/// Relative deviance change, `|D_old − D_new| / (|D_new| + 0.1)` as in R's glm.
const DEVIANCE_TOL: f64 = 1e-12;
/// Largest absolute coefficient change (centred parametrisation).
const STEP_TOL: f64 = 1e-10;
const MAX_HALVINGS: u32 = 30;

/// A fitted logistic regression, coefficients on the original scale of `t`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogitFit {
    /// Log-odds of `y = 1` at `t = 0`.
    pub intercept: f64,
    /// Change in log-odds per unit of `t`.
    pub slope: f64,
    /// Standard error of the intercept.
    pub intercept_se: f64,
    /// Standard error of the slope.
    pub slope_se: f64,
    /// Wald 95% interval `intercept ± Z_95·se`.
    pub intercept_ci: (f64, f64),
    /// Wald 95% interval `slope ± Z_95·se`.
    pub slope_ci: (f64, f64),
    /// Newton steps taken.
    pub iterations: u32,
    /// Number of observations.
    pub n: usize,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Covariance of `(intercept, slope)`: inverse observed information.
    pub covariance: [[f64; 2]; 2],
}

/// Why a logistic fit could not be produced. Serialises as its message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FitError {
    /// `t` and `y` differ in length.
    #[error("covariate and outcome have different lengths ({t} vs {y})")]
    LengthMismatch {
        /// Length of `t`.
        t: usize,
        /// Length of `y`.
        y: usize,
    },
    /// A covariate value is NaN or infinite.
    #[error("the covariate contains a NaN or infinite value")]
    NonFiniteCovariate,
    /// Fewer than [`MIN_OBSERVATIONS`] points, or fewer than 2 distinct `t`.
    #[error("too few observations: need at least {min} spanning at least 2 distinct covariate values, got {n} with {distinct} distinct value(s)", min = MIN_OBSERVATIONS)]
    TooFewObservations {
        /// Number of observations.
        n: usize,
        /// Number of distinct covariate values.
        distinct: usize,
    },
    /// Every outcome is the same, so the MLE does not exist.
    #[error("no variation in the outcome: all {n} observations have y = {value}, so the maximum-likelihood estimate does not exist")]
    NoVariation {
        /// Number of observations.
        n: usize,
        /// The single outcome value.
        value: bool,
    },
    /// The outcome is (quasi-)completely separated by `t`.
    #[error("perfect or quasi-complete separation: the outcomes are split by t = {boundary} with no overlap, so the slope estimate is infinite (the maximum-likelihood estimate does not exist)")]
    Separation {
        /// A covariate value that separates the two outcome groups.
        boundary: f64,
    },
    /// Newton–Raphson did not meet the convergence criterion.
    #[error("the fit did not converge after {iterations} iterations")]
    NotConverged {
        /// Iterations performed.
        iterations: u32,
    },
    /// The information matrix could not be inverted.
    #[error("the information matrix is singular: the covariance of the estimates is undefined")]
    Singular,
}

impl Serialize for FitError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl LogitFit {
    fn eta(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }

    /// Variance of the linear predictor `intercept + slope·t`.
    fn eta_variance(&self, t: f64) -> f64 {
        let v = &self.covariance;
        (v[0][0] + 2.0 * t * v[0][1] + t * t * v[1][1]).max(0.0)
    }

    /// Fitted probability `P(y = 1 | t)`.
    pub fn predict(&self, t: f64) -> f64 {
        sigmoid(self.eta(t))
    }

    /// Fitted probability with a 95% interval: a Wald interval on the linear
    /// predictor, `η ± Z_95·sqrt(x'Vx)` with `x = (1, t)`, passed through the
    /// logistic function (so it always lies within `(0, 1)`).
    pub fn predict_interval(&self, t: f64) -> Interval {
        let eta = self.eta(t);
        let half = Z_95 * self.eta_variance(t).sqrt();
        Interval {
            estimate: sigmoid(eta),
            low: sigmoid(eta - half),
            high: sigmoid(eta + half),
        }
    }

    /// Instantaneous change of the probability in percentage points per unit
    /// of `t` (per year when `t` is in years), `g = 100·slope·p(1−p)`.
    ///
    /// The interval is delta-method Wald: `g ± Z_95·sqrt(∇g' V ∇g)`, with `V`
    /// the coefficient covariance and, writing `w = p(1−p)`,
    /// `∂g/∂intercept = 100·slope·w(1−2p)` and
    /// `∂g/∂slope = 100·(w + slope·t·w(1−2p))`. It is not clamped: the
    /// derivative may take either sign.
    pub fn pp_change_per_year_at(&self, t: f64) -> Interval {
        let p = self.predict(t);
        let w = p * (1.0 - p);
        let estimate = 100.0 * self.slope * w;
        let d_int = 100.0 * self.slope * w * (1.0 - 2.0 * p);
        let d_slope = 100.0 * (w + self.slope * t * w * (1.0 - 2.0 * p));
        let v = &self.covariance;
        let var = d_int * d_int * v[0][0] + 2.0 * d_int * d_slope * v[0][1] + d_slope * d_slope * v[1][1];
        let half = Z_95 * var.max(0.0).sqrt();
        Interval {
            estimate,
            low: estimate - half,
            high: estimate + half,
        }
    }
}

/// Fits `P(y = 1 | t)` by maximum likelihood (Newton–Raphson, no weights).
///
/// Checks, in order: equal lengths, finite `t`, at least [`MIN_OBSERVATIONS`]
/// points and 2 distinct `t`, both outcomes present, and no (quasi-)complete
/// separation. With one covariate, separation — the only other way the MLE can
/// fail to exist (Albert & Anderson 1984) — means every `t` of one outcome is
/// ≤ every `t` of the other; this is checked exactly rather than inferred from
/// diverging iterations. Newton steps are halved if the deviance would rise.
/// Converged when a step is below 1e-10 or the relative deviance change is
/// below 1e-12 (then one further step is taken so the score is ~0).
pub fn fit(t: &[f64], y: &[bool]) -> Result<LogitFit, FitError> {
    fit_with_limit(t, y, MAX_ITERATIONS)
}

/// [`fit`] of observations given as runs `(t, y, count)`: a run of `count`
/// is `count` equal observations in a row. Every sum of the fit runs over
/// them in this order, one term per observation, so the result is the same
/// bits as [`fit`] of the runs written out — in memory that grows with the
/// number of runs, not of observations.
pub fn fit_runs(runs: &[(f64, bool, u64)]) -> Result<LogitFit, FitError> {
    fit_observations(Runs(runs), MAX_ITERATIONS)
}

/// Observations as runs of equal `(t, y)`.
#[derive(Clone, Copy)]
struct Runs<'a>(&'a [(f64, bool, u64)]);

impl<'a> Runs<'a> {
    /// Every observation, in order.
    fn each(self) -> impl Iterator<Item = (f64, bool)> + Clone + 'a {
        self.0
            .iter()
            .flat_map(|&(t, y, n)| std::iter::repeat_n((t, y), usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

/// Consecutive equal observations merged (bit-for-bit equal `t`).
fn runs_of(t: &[f64], y: &[bool]) -> Vec<(f64, bool, u64)> {
    let mut runs: Vec<(f64, bool, u64)> = Vec::new();
    for (&x, &v) in t.iter().zip(y) {
        match runs.last_mut() {
            Some((rt, ry, n)) if rt.to_bits() == x.to_bits() && *ry == v => *n += 1,
            _ => runs.push((x, v, 1)),
        }
    }
    runs
}

fn fit_with_limit(t: &[f64], y: &[bool], max_iterations: u32) -> Result<LogitFit, FitError> {
    if t.len() != y.len() {
        return Err(FitError::LengthMismatch { t: t.len(), y: y.len() });
    }
    fit_observations(Runs(&runs_of(t, y)), max_iterations)
}

fn fit_observations(obs: Runs, max_iterations: u32) -> Result<LogitFit, FitError> {
    validate(obs)?;
    let n = obs.each().count();
    // Centring makes the information matrix near-diagonal, so t in years
    // (e.g. 25–27) does not make the Newton system ill-conditioned.
    let centre = obs.each().map(|(t, _)| t).sum::<f64>() / n as f64;
    let tc = obs.each().map(move |(t, y)| (t - centre, y));
    let ybar = obs.each().filter(|&(_, v)| v).count() as f64 / n as f64;
    let mut beta = [(ybar / (1.0 - ybar)).ln(), 0.0];
    let mut dev = deviance(tc.clone(), beta);
    let mut converged = false;
    let mut iterations = 0;
    while iterations < max_iterations {
        iterations += 1;
        let (score, info) = score_and_information(tc.clone(), beta);
        let full = solve(info, score).ok_or(FitError::Singular)?;
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..=MAX_HALVINGS {
            let cand = [beta[0] + scale * full[0], beta[1] + scale * full[1]];
            let d = deviance(tc.clone(), cand);
            // Slack for rounding: near the optimum the deviance is flat.
            if d.is_finite() && d <= dev + 1e-9 * (1.0 + dev.abs()) {
                accepted = Some((cand, d));
                break;
            }
            scale *= 0.5;
        }
        let (cand, d) = accepted.ok_or(FitError::NotConverged { iterations })?;
        let step = (scale * full[0]).abs().max((scale * full[1]).abs());
        let dev_change = (dev - d).abs() / (d.abs() + 0.1);
        beta = cand;
        dev = d;
        if converged {
            break; // the extra polishing step after the deviance criterion
        }
        if step < STEP_TOL {
            converged = true;
            break;
        }
        converged = dev_change < DEVIANCE_TOL;
    }
    if !converged {
        return Err(FitError::NotConverged { iterations });
    }

    let (_, info) = score_and_information(tc, beta);
    let vc = invert(info).ok_or(FitError::Singular)?;
    // intercept = a − c·b and slope = b, so with J = [[1, −c], [0, 1]] the
    // covariance is J·Vc·Jᵀ.
    let c = centre;
    let var_int = vc[0][0] - 2.0 * c * vc[0][1] + c * c * vc[1][1];
    let cov = vc[0][1] - c * vc[1][1];
    let covariance = [[var_int, cov], [cov, vc[1][1]]];
    let (intercept, slope) = (beta[0] - c * beta[1], beta[1]);
    let (intercept_se, slope_se) = (var_int.sqrt(), vc[1][1].sqrt());
    let wald = |est: f64, se: f64| (est - Z_95 * se, est + Z_95 * se);
    Ok(LogitFit {
        intercept,
        slope,
        intercept_se,
        slope_se,
        intercept_ci: wald(intercept, intercept_se),
        slope_ci: wald(slope, slope_se),
        iterations,
        n,
        log_likelihood: -0.5 * dev,
        covariance,
    })
}

fn validate(obs: Runs) -> Result<(), FitError> {
    if obs.0.iter().any(|(v, _, _)| !v.is_finite()) {
        return Err(FitError::NonFiniteCovariate);
    }
    let n = obs.each().count();
    let mut sorted: Vec<f64> = obs.0.iter().filter(|r| r.2 > 0).map(|r| r.0).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup_by(|a, b| a == b);
    if n < MIN_OBSERVATIONS || sorted.len() < 2 {
        return Err(FitError::TooFewObservations {
            n,
            distinct: sorted.len(),
        });
    }
    let ones = obs.each().filter(|&(_, v)| v).count();
    if ones == 0 || ones == n {
        return Err(FitError::NoVariation { n, value: ones > 0 });
    }
    // Covariate range [lo, hi] per outcome group (index 0: y = false).
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for &(x, v, _) in obs.0.iter().filter(|r| r.2 > 0) {
        let g = usize::from(v);
        (lo[g], hi[g]) = (lo[g].min(x), hi[g].max(x));
    }
    for (a, b) in [(0, 1), (1, 0)] {
        if hi[a] <= lo[b] {
            return Err(FitError::Separation {
                boundary: 0.5 * (hi[a] + lo[b]),
            });
        }
    }
    Ok(())
}

/// Numerically stable logistic function.
fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Deviance −2·log L; per observation log L = y·η − ln(1 + e^η).
fn deviance(obs: impl Iterator<Item = (f64, bool)>, beta: [f64; 2]) -> f64 {
    let ll: f64 = obs
        .map(|(x, yi)| {
            let eta = beta[0] + beta[1] * x;
            if yi {
                eta - softplus(eta)
            } else {
                -softplus(eta)
            }
        })
        .sum();
    -2.0 * ll
}

/// Score `Σ(y − p)(1, t)` and information `Σ p(1−p)(1, t)ᵀ(1, t)`.
fn score_and_information(obs: impl Iterator<Item = (f64, bool)>, beta: [f64; 2]) -> ([f64; 2], [[f64; 2]; 2]) {
    let (mut s, mut i) = ([0.0; 2], [[0.0; 2]; 2]);
    for (x, yi) in obs {
        let p = sigmoid(beta[0] + beta[1] * x);
        let r = f64::from(u8::from(yi)) - p;
        let w = p * (1.0 - p);
        s[0] += r;
        s[1] += r * x;
        i[0][0] += w;
        i[0][1] += w * x;
        i[1][1] += w * x * x;
    }
    i[1][0] = i[0][1];
    (s, i)
}

/// Inverse of a symmetric 2×2 matrix; `None` if (numerically) singular.
fn invert(m: [[f64; 2]; 2]) -> Option<[[f64; 2]; 2]> {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    // Relative test: det is tiny compared with the diagonal product only when
    // the columns are (nearly) collinear.
    if !(det.is_finite() && det > 1e-14 * (m[0][0] * m[1][1]).abs()) {
        return None;
    }
    Some([[m[1][1] / det, -m[0][1] / det], [-m[1][0] / det, m[0][0] / det]])
}

fn solve(m: [[f64; 2]; 2], b: [f64; 2]) -> Option<[f64; 2]> {
    let inv = invert(m)?;
    Some([inv[0][0] * b[0] + inv[0][1] * b[1], inv[1][0] * b[0] + inv[1][1] * b[1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a dataset from (t, ones, zeros) counts.
    fn from_counts(cells: &[(f64, usize, usize)]) -> (Vec<f64>, Vec<bool>) {
        let mut out = (Vec::new(), Vec::new());
        for &(x, ones, zeros) in cells {
            for k in 0..ones + zeros {
                out.0.push(x);
                out.1.push(k < ones);
            }
        }
        out
    }

    fn logit(p: f64) -> f64 {
        (p / (1.0 - p)).ln()
    }

    fn expit(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Relative tolerance above 1, absolute below.
    #[track_caller]
    fn near(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol * want.abs().max(1.0), "{got} vs {want}");
    }

    /// Score equations and covariance checked against the observed
    /// information computed and inverted here.
    fn check_score_and_information(t: &[f64], y: &[bool], f: &LogitFit) {
        let (mut s0, mut s1, mut i00, mut i01, mut i11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &yi) in t.iter().zip(y) {
            let p = expit(f.intercept + f.slope * x);
            let r = if yi { 1.0 - p } else { -p };
            (s0, s1) = (s0 + r, s1 + r * x);
            i00 += p * (1.0 - p);
            i01 += p * (1.0 - p) * x;
            i11 += p * (1.0 - p) * x * x;
        }
        assert!(s0.abs() < 1e-10 && s1.abs() < 1e-10, "score ({s0}, {s1})");
        let det = i00 * i11 - i01 * i01;
        let (v00, v01, v11) = (i11 / det, -i01 / det, i00 / det);
        near(f.covariance[0][0], v00, 1e-7);
        near(f.covariance[0][1], v01, 1e-7);
        near(f.covariance[1][0], v01, 1e-7);
        near(f.covariance[1][1], v11, 1e-7);
        near(f.intercept_se, v00.sqrt(), 1e-7);
        near(f.slope_se, v11.sqrt(), 1e-7);
    }

    #[test]
    fn binary_covariate_matches_closed_form() {
        // 2×2 table: t = 0 → a ones, b zeros; t = 1 → c ones, d zeros.
        let (a, b, c, d) = (7.0, 13.0, 15.0, 10.0);
        let (t, y) = from_counts(&[(0.0, 7, 13), (1.0, 15, 10)]);
        let f = fit(&t, &y).unwrap();
        let (p0, p1) = (a / (a + b), c / (c + d));
        near(f.intercept, logit(p0), 1e-9);
        near(f.slope, logit(p1) - logit(p0), 1e-9);
        near(f.intercept_se, (1.0 / a + 1.0 / b).sqrt(), 1e-9);
        near(f.slope_se, (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt(), 1e-9);
        near(f.covariance[0][1], -(1.0 / a + 1.0 / b), 1e-9);
        near(f.slope_ci.0, f.slope - Z_95 * f.slope_se, 1e-12);
        near(f.intercept_ci.1, f.intercept + Z_95 * f.intercept_se, 1e-12);
        near(f.predict(0.0), p0, 1e-9);
        near(f.predict(1.0), p1, 1e-9);
        let ll = a * p0.ln() + b * (1.0 - p0).ln() + c * p1.ln() + d * (1.0 - p1).ln();
        near(f.log_likelihood, ll, 1e-9);
        assert_eq!(f.n, 45);
        // Prediction interval at t = 0 is the Wald interval for logit(p0).
        let pi = f.predict_interval(0.0);
        let half = Z_95 * (1.0 / a + 1.0 / b).sqrt();
        near(pi.low, expit(logit(p0) - half), 1e-9);
        near(pi.high, expit(logit(p0) + half), 1e-9);
    }

    #[test]
    fn shifted_binary_covariate_reports_original_scale() {
        // t ∈ {25, 26}: intercept = l0 − 25·(l1 − l0) = 26·l0 − 25·l1 with
        // independent l0 = logit(p0), l1 = logit(p1).
        let (a, b, c, d) = (7.0, 13.0, 15.0, 10.0);
        let (t, y) = from_counts(&[(25.0, 7, 13), (26.0, 15, 10)]);
        let f = fit(&t, &y).unwrap();
        let (l0, l1) = (logit(a / (a + b)), logit(c / (c + d)));
        let (v0, v1) = (1.0 / a + 1.0 / b, 1.0 / c + 1.0 / d);
        near(f.slope, l1 - l0, 1e-9);
        near(f.intercept, 26.0 * l0 - 25.0 * l1, 1e-9);
        near(f.covariance[0][0], 676.0 * v0 + 625.0 * v1, 1e-9);
        near(f.covariance[0][1], -26.0 * v0 - 25.0 * v1, 1e-9);
    }

    #[test]
    fn three_level_covariate_solves_score_equations() {
        let (t, y) = from_counts(&[(0.0, 3, 7), (1.0, 6, 6), (2.0, 9, 2)]);
        let f = fit(&t, &y).unwrap();
        check_score_and_information(&t, &y, &f);
        assert!(f.iterations < 10);
    }

    /// 201 deterministic points over t ∈ [25, 27] (years since 2000), with
    /// outcomes from a low-discrepancy sequence against a known curve.
    fn realistic() -> (Vec<f64>, Vec<bool>) {
        (0..201)
            .map(|i| {
                let t = 25.0 + 2.0 * f64::from(i) / 200.0;
                let u = (f64::from(i) * 0.618_033_988_749_895).fract();
                (t, u < expit(0.3 + 0.9 * (t - 26.0)))
            })
            .unzip()
    }

    #[test]
    fn runs_fit_exactly_as_the_observations_written_out() {
        // Many pilots share an evaluation date: 40 dates, 3 to 60 pilots each,
        // both outcomes at most dates, in the sorted order the trend uses.
        let mut runs = Vec::new();
        for day in 0..40_u32 {
            let t = 25.0 + f64::from(day) / 20.0;
            let ones = u64::from((day * 7) % 23 + 1);
            let zeros = u64::from((day * 11) % 37 + 2);
            runs.push((t, false, zeros));
            runs.push((t, true, ones));
        }
        let (t, y): (Vec<f64>, Vec<bool>) = runs
            .iter()
            .flat_map(|&(t, y, n)| std::iter::repeat_n((t, y), n as usize))
            .unzip();
        let written_out = fit(&t, &y).unwrap();
        let by_runs = fit_runs(&runs).unwrap();
        // Bit for bit: the same sums in the same order.
        assert_eq!(by_runs, written_out);
        assert_eq!(by_runs.n, t.len());
        // Runs split differently (and empty ones) change nothing either.
        let split: Vec<(f64, bool, u64)> = runs
            .iter()
            .flat_map(|&(t, y, n)| [(t, y, n / 2), (t, y, 0), (t, y, n - n / 2)])
            .collect();
        assert_eq!(fit_runs(&split).unwrap(), written_out);
        // Errors are the same as for the observations written out.
        assert_eq!(
            fit_runs(&runs[..2]),
            fit(
                &t[..runs[0].2 as usize + runs[1].2 as usize],
                &y[..runs[0].2 as usize + runs[1].2 as usize]
            )
        );
    }

    #[test]
    fn realistic_years_fit() {
        let (t, y) = realistic();
        let f = fit(&t, &y).unwrap();
        check_score_and_information(&t, &y, &f);
        // Shifting t only moves the intercept: refit on t − 26.
        let shifted: Vec<f64> = t.iter().map(|v| v - 26.0).collect();
        let g = fit(&shifted, &y).unwrap();
        near(g.slope, f.slope, 1e-9);
        near(g.slope_se, f.slope_se, 1e-9);
        near(g.intercept, f.intercept + 26.0 * f.slope, 1e-9);
        near(g.log_likelihood, f.log_likelihood, 1e-12);
        assert!(f.slope_ci.0 < 0.9 && 0.9 < f.slope_ci.1, "{:?}", f.slope_ci);
    }

    #[test]
    fn pp_change_matches_numerical_delta_method() {
        let (t, y) = realistic();
        let f = fit(&t, &y).unwrap();
        let at = 26.5;
        let g = |a: f64, b: f64| 100.0 * b * expit(a + b * at) * (1.0 - expit(a + b * at));
        let r = f.pp_change_per_year_at(at);
        near(r.estimate, g(f.intercept, f.slope), 1e-12);
        // Derivative of the prediction by central difference in t.
        let h = 1e-5;
        near(
            r.estimate,
            100.0 * (f.predict(at + h) - f.predict(at - h)) / (2.0 * h),
            1e-6,
        );
        // Delta-method variance from a numerical gradient.
        let da = (g(f.intercept + h, f.slope) - g(f.intercept - h, f.slope)) / (2.0 * h);
        let db = (g(f.intercept, f.slope + h) - g(f.intercept, f.slope - h)) / (2.0 * h);
        let v = f.covariance;
        let se = (da * da * v[0][0] + 2.0 * da * db * v[0][1] + db * db * v[1][1]).sqrt();
        near((r.high - r.low) / (2.0 * Z_95), se, 1e-5);
        assert!(r.low < r.estimate && r.estimate < r.high);
    }

    #[test]
    fn errors_fire_on_their_datasets() {
        use FitError::*;
        let (rt, ry) = realistic();
        let no_var = NoVariation { n: 201, value: false };
        assert_eq!(fit(&rt, &vec![false; 201]), Err(no_var));
        let ts: Vec<f64> = (0..20).map(f64::from).collect();
        let sep: Vec<bool> = ts.iter().map(|&v| v >= 10.0).collect();
        assert_eq!(fit(&ts, &sep), Err(Separation { boundary: 9.5 }));
        let rev: Vec<bool> = ts.iter().map(|&v| v < 10.0).collect();
        assert_eq!(fit(&ts, &rev), Err(Separation { boundary: 9.5 }));
        // Quasi-complete: both outcomes only at the shared value t = 10.
        let cells = [(8.0, 0, 3), (9.0, 0, 3), (10.0, 2, 2), (11.0, 3, 0), (12.0, 3, 0)];
        let (qt, qy) = from_counts(&cells);
        assert_eq!(fit(&qt, &qy), Err(Separation { boundary: 10.0 }));
        let (ft, fy) = from_counts(&[(0.0, 2, 2), (1.0, 2, 2)]);
        assert_eq!(fit(&ft, &fy), Err(TooFewObservations { n: 8, distinct: 2 }));
        let (st, sy) = from_counts(&[(3.0, 10, 10)]);
        assert_eq!(fit(&st, &sy), Err(TooFewObservations { n: 20, distinct: 1 }));
        assert_eq!(fit(&st[..5], &sy), Err(LengthMismatch { t: 5, y: 20 }));
        let mut nan = ts.clone();
        nan[3] = f64::NAN;
        assert_eq!(fit(&nan, &sep), Err(NonFiniteCovariate));
        // t values 1e-300 apart: centred squares underflow to 0.
        let (ut, uy) = from_counts(&[(0.0, 5, 5), (1e-300, 5, 5)]);
        assert_eq!(fit(&ut, &uy), Err(Singular));
        assert_eq!(fit_with_limit(&rt, &ry, 1), Err(NotConverged { iterations: 1 }));
        let msg = Separation { boundary: 9.5 }.to_string();
        assert!(msg.contains("separation") && msg.contains("9.5"), "{msg}");
    }
}
