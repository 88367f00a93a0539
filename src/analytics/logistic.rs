//! Maximum-likelihood logistic regression of a 0/1 outcome on one covariate.
//!
//! Model: `P(y = 1 | t) = 1 / (1 + exp(-(intercept + slope·t)))`, fitted by
//! Newton–Raphson (IRLS; identical for the canonical logit link) on the
//! covariate centred at its mean, then mapped back to the original scale
//! together with its covariance.
//!
//! Two covariances. [`fit`] and [`fit_runs`] treat every observation as an
//! independent draw: the inverse of the observed (= expected) information H
//! at the MLE, with normal 95% intervals. [`fit_clustered`] takes a cluster
//! label (an organisation) per observation and uses the cluster-robust CR1
//! sandwich `V = H⁻¹ (Σ_g s_g s_gᵀ) H⁻¹ · G/(G−1) · (N−1)/(N−K)`, `s_g` the
//! score summed within cluster g, G clusters, N observations, K = 2, with
//! intervals from Student's t with G − 1 degrees of freedom — statsmodels'
//! `Logit(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)`
//! and Stata's `logit …, vce(cluster g)` (Cameron & Miller 2015, "A
//! Practitioner's Guide to Cluster-Robust Inference", J. Human Resources
//! 50(2), §II–III and §VI). With fewer than [`MIN_CLUSTERS`] clusters the
//! estimates are reported without intervals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::intervals::Z_95;
use super::student_t;

/// Minimum number of observations [`fit`] accepts.
pub const MIN_OBSERVATIONS: usize = 10;
/// Fewest clusters (organisations) a clustered fit needs for intervals.
/// The sandwich estimates the meat from G cluster scores; with a handful of
/// clusters that estimate is itself noisy and biased down, and even the t
/// with G − 1 degrees of freedom over-rejects (Cameron & Miller 2015, §VI:
/// "few clusters" begins somewhere between 10 and 50). Below 10 the trend is
/// published with its estimates and no intervals, and says why.
pub const MIN_CLUSTERS: usize = 10;
const MAX_ITERATIONS: u32 = 50;
/// Relative deviance change, `|D_old − D_new| / (|D_new| + 0.1)` as in R's glm.
const DEVIANCE_TOL: f64 = 1e-12;
/// Largest absolute coefficient change (centred parametrisation).
const STEP_TOL: f64 = 1e-10;
const MAX_HALVINGS: u32 = 30;

/// An estimate with its 95% interval, when there is one. Serialises as
/// `{"estimate", "low", "high"}`, the bounds `null` when unavailable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The point estimate.
    pub estimate: f64,
    /// Lower 95% bound.
    pub low: Option<f64>,
    /// Upper 95% bound.
    pub high: Option<f64>,
}

impl Estimate {
    fn new(estimate: f64, bounds: Option<(f64, f64)>) -> Self {
        Self {
            estimate,
            low: bounds.map(|b| b.0),
            high: bounds.map(|b| b.1),
        }
    }
}

/// A fitted logistic regression, coefficients on the original scale of `t`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogitFit {
    /// Log-odds of `y = 1` at `t = 0`.
    pub intercept: f64,
    /// Change in log-odds per unit of `t`.
    pub slope: f64,
    /// Standard error of the intercept, from [`LogitFit::covariance`].
    pub intercept_se: f64,
    /// Standard error of the slope, from [`LogitFit::covariance`].
    pub slope_se: f64,
    /// 95% interval `intercept ± critical·se`, when intervals are available.
    pub intercept_ci: Option<(f64, f64)>,
    /// 95% interval `slope ± critical·se`, when intervals are available.
    pub slope_ci: Option<(f64, f64)>,
    /// Newton steps taken.
    pub iterations: u32,
    /// Number of observations.
    pub n: usize,
    /// Maximised log-likelihood.
    pub log_likelihood: f64,
    /// Covariance of `(intercept, slope)` the intervals use: the inverse
    /// information, or for a clustered fit the CR1 sandwich.
    pub covariance: [[f64; 2]; 2],
    /// The inverse observed information alone (the naive covariance), whatever
    /// the fit; equal to `covariance` for an unclustered fit.
    pub model_covariance: [[f64; 2]; 2],
    /// Distinct clusters, for a clustered fit.
    pub clusters: Option<usize>,
    /// Degrees of freedom of the t critical value (G − 1), for a clustered fit.
    pub df: Option<u32>,
    /// The two-sided 95% critical value: `Z_95`, or the t quantile with
    /// `df` degrees of freedom; `None` when intervals are unavailable.
    pub critical: Option<f64>,
    /// Why the fit has no intervals, when it has none.
    pub intervals_unavailable: Option<String>,
}

/// One run of a clustered fit: `count` observations of cluster `cluster`,
/// all with covariate `t` and outcome `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClusterRun {
    /// Cluster label (an organisation index).
    pub cluster: u32,
    /// Covariate.
    pub t: f64,
    /// Outcome.
    pub y: bool,
    /// Observations in the run.
    pub count: u64,
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

/// `est ± critical·se`, or `None` without a critical value.
fn bounds(est: f64, se: f64, critical: Option<f64>) -> Option<(f64, f64)> {
    critical.map(|c| (est - c * se, est + c * se))
}

/// `x'Vx` for `x = (a, b)`, never negative.
fn quadratic(v: &[[f64; 2]; 2], a: f64, b: f64) -> f64 {
    (a * a * v[0][0] + 2.0 * a * b * v[0][1] + b * b * v[1][1]).max(0.0)
}

impl LogitFit {
    fn eta(&self, t: f64) -> f64 {
        self.intercept + self.slope * t
    }

    /// Fitted probability `P(y = 1 | t)`.
    pub fn predict(&self, t: f64) -> f64 {
        sigmoid(self.eta(t))
    }

    /// Fitted probability with a 95% interval: an interval on the linear
    /// predictor, `η ± critical·sqrt(x'Vx)` with `x = (1, t)`, passed through
    /// the logistic function (so it always lies within `(0, 1)`).
    pub fn predict_interval(&self, t: f64) -> Estimate {
        let eta = self.eta(t);
        let se = quadratic(&self.covariance, 1.0, t).sqrt();
        let b = bounds(eta, se, self.critical).map(|(l, h)| (sigmoid(l), sigmoid(h)));
        Estimate::new(sigmoid(eta), b)
    }

    /// Instantaneous change of the probability in percentage points per unit
    /// of `t` (per year when `t` is in years), `g = 100·slope·p(1−p)`.
    ///
    /// The interval is delta-method: `g ± critical·sqrt(∇g' V ∇g)`, with `V`
    /// the coefficient covariance and, writing `w = p(1−p)`,
    /// `∂g/∂intercept = 100·slope·w(1−2p)` and
    /// `∂g/∂slope = 100·(w + slope·t·w(1−2p))`. It is not clamped: the
    /// derivative may take either sign.
    pub fn pp_change_per_year_at(&self, t: f64) -> Estimate {
        let p = self.predict(t);
        let w = p * (1.0 - p);
        let estimate = 100.0 * self.slope * w;
        let d_int = 100.0 * self.slope * w * (1.0 - 2.0 * p);
        let d_slope = 100.0 * (w + self.slope * t * w * (1.0 - 2.0 * p));
        let se = quadratic(&self.covariance, d_int, d_slope).sqrt();
        Estimate::new(estimate, bounds(estimate, se, self.critical))
    }

    /// The intercept with its interval.
    pub fn intercept_estimate(&self) -> Estimate {
        Estimate::new(self.intercept, self.intercept_ci)
    }

    /// The slope with its interval.
    pub fn slope_estimate(&self) -> Estimate {
        Estimate::new(self.slope, self.slope_ci)
    }
}

/// Fits `P(y = 1 | t)` by maximum likelihood (Newton–Raphson, no weights),
/// every observation independent (inverse-information covariance, normal
/// intervals).
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
    let runs: Vec<ClusterRun> = runs
        .iter()
        .map(|&(t, y, count)| ClusterRun {
            cluster: 0,
            t,
            y,
            count,
        })
        .collect();
    fit_observations(Runs(&runs), MAX_ITERATIONS, false)
}

/// [`fit_runs`] with a cluster label per run and the cluster-robust CR1
/// covariance (module docs): the same estimates, and intervals from Student's
/// t with G − 1 degrees of freedom — none, with the reason in
/// `intervals_unavailable`, below [`MIN_CLUSTERS`] clusters. A cluster's runs
/// need not be adjacent; the fit's sums run over the runs in the order given.
pub fn fit_clustered(runs: &[ClusterRun]) -> Result<LogitFit, FitError> {
    fit_observations(Runs(runs), MAX_ITERATIONS, true)
}

/// Observations as runs of equal `(t, y)`.
#[derive(Clone, Copy)]
struct Runs<'a>(&'a [ClusterRun]);

impl<'a> Runs<'a> {
    /// Every observation, in order.
    fn each(self) -> impl Iterator<Item = (f64, bool)> + Clone + 'a {
        self.0
            .iter()
            .flat_map(|r| std::iter::repeat_n((r.t, r.y), usize::try_from(r.count).unwrap_or(usize::MAX)))
    }
}

/// Consecutive equal observations merged (bit-for-bit equal `t`).
fn runs_of(t: &[f64], y: &[bool]) -> Vec<ClusterRun> {
    let mut runs: Vec<ClusterRun> = Vec::new();
    for (&x, &v) in t.iter().zip(y) {
        match runs.last_mut() {
            Some(r) if r.t.to_bits() == x.to_bits() && r.y == v => r.count += 1,
            _ => runs.push(ClusterRun {
                cluster: 0,
                t: x,
                y: v,
                count: 1,
            }),
        }
    }
    runs
}

fn fit_with_limit(t: &[f64], y: &[bool], max_iterations: u32) -> Result<LogitFit, FitError> {
    if t.len() != y.len() {
        return Err(FitError::LengthMismatch { t: t.len(), y: y.len() });
    }
    fit_observations(Runs(&runs_of(t, y)), max_iterations, false)
}

fn fit_observations(obs: Runs, max_iterations: u32, clustered: bool) -> Result<LogitFit, FitError> {
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
    let c = centre;
    let model_covariance = to_original_scale(vc, c);
    let (intercept, slope) = (beta[0] - c * beta[1], beta[1]);
    let (covariance, clusters, df, critical, intervals_unavailable) = if clustered {
        let (meat, g) = cluster_meat(obs, beta, c);
        let robust = if g >= 2 {
            // Small-sample factor G/(G−1)·(N−1)/(N−K), K = 2 (CR1).
            let (gf, nf) = (g as f64, n as f64);
            let factor = gf / (gf - 1.0) * (nf - 1.0) / (nf - 2.0);
            let v = sandwich(vc, meat);
            to_original_scale(v.map(|row| row.map(|x| x * factor)), c)
        } else {
            [[f64::NAN; 2]; 2]
        };
        let df = u32::try_from(g.saturating_sub(1)).unwrap_or(u32::MAX);
        if g < MIN_CLUSTERS {
            let reason = format!(
                "too few organisations for cluster-robust intervals: {g} in the fit, need at least {MIN_CLUSTERS}"
            );
            (robust, Some(g), Some(df), None, Some(reason))
        } else {
            (robust, Some(g), Some(df), Some(student_t::critical_95(df)), None)
        }
    } else {
        (model_covariance, None, None, Some(Z_95), None)
    };
    let (intercept_se, slope_se) = (covariance[0][0].sqrt(), covariance[1][1].sqrt());
    Ok(LogitFit {
        intercept,
        slope,
        intercept_se,
        slope_se,
        intercept_ci: bounds(intercept, intercept_se, critical),
        slope_ci: bounds(slope, slope_se, critical),
        iterations,
        n,
        log_likelihood: -0.5 * dev,
        covariance,
        model_covariance,
        clusters,
        df,
        critical,
        intervals_unavailable,
    })
}

/// intercept = a − c·b and slope = b, so with J = [[1, −c], [0, 1]] the
/// covariance of the centred fit `(a, b)` maps to J·Vc·Jᵀ.
fn to_original_scale(vc: [[f64; 2]; 2], c: f64) -> [[f64; 2]; 2] {
    let var_int = vc[0][0] - 2.0 * c * vc[0][1] + c * c * vc[1][1];
    let cov = vc[0][1] - c * vc[1][1];
    [[var_int, cov], [cov, vc[1][1]]]
}

/// `Σ_g s_g s_gᵀ` over the clusters, `s_g = Σ_{i∈g} (y_i − p_i)(1, t_i − c)`
/// at the centred estimate `beta`, and the number of clusters with at least
/// one observation.
fn cluster_meat(obs: Runs, beta: [f64; 2], c: f64) -> ([[f64; 2]; 2], usize) {
    let mut scores: BTreeMap<u32, [f64; 2]> = BTreeMap::new();
    for r in obs.0.iter().filter(|r| r.count > 0) {
        let x = r.t - c;
        let p = sigmoid(beta[0] + beta[1] * x);
        let resid = (f64::from(u8::from(r.y)) - p) * r.count as f64;
        let s = scores.entry(r.cluster).or_default();
        s[0] += resid;
        s[1] += resid * x;
    }
    let mut m = [[0.0; 2]; 2];
    for s in scores.values() {
        m[0][0] += s[0] * s[0];
        m[0][1] += s[0] * s[1];
        m[1][1] += s[1] * s[1];
    }
    m[1][0] = m[0][1];
    (m, scores.len())
}

/// `B·M·B` for symmetric 2×2 `B` (the bread, H⁻¹) and `M` (the meat).
fn sandwich(b: [[f64; 2]; 2], m: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    let mul = |x: [[f64; 2]; 2], y: [[f64; 2]; 2]| {
        let mut out = [[0.0; 2]; 2];
        for (i, row) in out.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = x[i][0] * y[0][j] + x[i][1] * y[1][j];
            }
        }
        out
    };
    let v = mul(mul(b, m), b);
    // Symmetric by construction; average the off-diagonal against rounding.
    let off = 0.5 * (v[0][1] + v[1][0]);
    [[v[0][0], off], [off, v[1][1]]]
}

fn validate(obs: Runs) -> Result<(), FitError> {
    if obs.0.iter().any(|r| !r.t.is_finite()) {
        return Err(FitError::NonFiniteCovariate);
    }
    let n = obs.each().count();
    let mut sorted: Vec<f64> = obs.0.iter().filter(|r| r.count > 0).map(|r| r.t).collect();
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
    for r in obs.0.iter().filter(|r| r.count > 0) {
        let g = usize::from(r.y);
        (lo[g], hi[g]) = (lo[g].min(r.t), hi[g].max(r.t));
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
        near(f.slope_ci.unwrap().0, f.slope - Z_95 * f.slope_se, 1e-12);
        near(f.intercept_ci.unwrap().1, f.intercept + Z_95 * f.intercept_se, 1e-12);
        near(f.predict(0.0), p0, 1e-9);
        near(f.predict(1.0), p1, 1e-9);
        let ll = a * p0.ln() + b * (1.0 - p0).ln() + c * p1.ln() + d * (1.0 - p1).ln();
        near(f.log_likelihood, ll, 1e-9);
        assert_eq!(f.n, 45);
        // Prediction interval at t = 0 is the Wald interval for logit(p0).
        let pi = f.predict_interval(0.0);
        let half = Z_95 * (1.0 / a + 1.0 / b).sqrt();
        near(pi.low.unwrap(), expit(logit(p0) - half), 1e-9);
        near(pi.high.unwrap(), expit(logit(p0) + half), 1e-9);
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
        let ci = f.slope_ci.unwrap();
        assert!(ci.0 < 0.9 && 0.9 < ci.1, "{ci:?}");
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
        let (low, high) = (r.low.unwrap(), r.high.unwrap());
        near((high - low) / (2.0 * Z_95), se, 1e-5);
        assert!(low < r.estimate && r.estimate < high);
    }

    /// SplitMix64: a fixed stream for simulated datasets.
    fn splitmix(state: &mut u64) -> f64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn one_observation_per_cluster_without_effects_agrees_with_the_naive_covariance() {
        // 2000 organisations with one pilot each, six quarters, outcomes from
        // one logit curve: no organisation effect. The robust covariance is
        // then White's HC0 times the small-sample factor N/(N−2) (G = N), and
        // HC0 estimates the same matrix as the inverse information.
        let mut state = 30;
        let n = 2000_u32;
        let runs: Vec<ClusterRun> = (0..n)
            .map(|g| {
                let t = 25.0 + f64::from(g % 6) / 4.0;
                let y = splitmix(&mut state) < expit(-0.3 - 0.5 * (t - 25.6));
                ClusterRun {
                    cluster: g,
                    t,
                    y,
                    count: 1,
                }
            })
            .collect();
        let f = fit_clustered(&runs).unwrap();
        assert_eq!((f.clusters, f.df, f.n), (Some(2000), Some(1999), 2000));
        let factor = (f64::from(n) / f64::from(n - 2)).sqrt();
        for (robust, naive) in [
            (f.slope_se, f.model_covariance[1][1].sqrt()),
            (f.intercept_se, f.model_covariance[0][0].sqrt()),
        ] {
            let ratio = robust / naive / factor;
            // Sampling noise of HC0 ÷ model SE at this N is about 0.002 (SD).
            assert!(
                (ratio - 1.0).abs() < 0.01,
                "robust/naive ÷ small-sample factor = {ratio}"
            );
        }
        // The sandwich written out: V = N/(N−2)·H⁻¹(Σ r²xxᵀ)H⁻¹, x = (1, t).
        let (mut h, mut m) = ([0.0; 3], [0.0; 3]);
        for r in &runs {
            let p = expit(f.intercept + f.slope * r.t);
            let e = f64::from(u8::from(r.y)) - p;
            let w = p * (1.0 - p);
            (h[0], h[1], h[2]) = (h[0] + w, h[1] + w * r.t, h[2] + w * r.t * r.t);
            (m[0], m[1], m[2]) = (m[0] + e * e, m[1] + e * e * r.t, m[2] + e * e * r.t * r.t);
        }
        let det = h[0] * h[2] - h[1] * h[1];
        let hi = [h[2] / det, -h[1] / det, h[0] / det];
        let mm = |a: [f64; 3], b: [f64; 3]| {
            [
                a[0] * b[0] + a[1] * b[1],
                a[0] * b[1] + a[1] * b[2],
                a[1] * b[0] + a[2] * b[1],
                a[1] * b[1] + a[2] * b[2],
            ]
        };
        let hm = mm(hi, m);
        let v = [
            hm[0] * hi[0] + hm[1] * hi[1],
            hm[0] * hi[1] + hm[1] * hi[2],
            hm[2] * hi[1] + hm[3] * hi[2],
        ];
        let c = f64::from(n) / f64::from(n - 2);
        near(f.covariance[0][0], c * v[0], 1e-6);
        near(f.covariance[0][1], c * v[1], 1e-6);
        near(f.covariance[1][1], c * v[2], 1e-6);
        // Intervals use t with N − 1 = 1999 degrees of freedom.
        let ci = f.slope_ci.unwrap();
        near(ci.1 - f.slope, student_t::critical_95(1999) * f.slope_se, 1e-12);
    }

    #[test]
    fn clustering_gives_the_same_estimates_and_groups_scores_by_cluster() {
        let (t, y) = realistic();
        let naive = fit(&t, &y).unwrap();
        // 12 clusters of consecutive observations: estimates as unclustered,
        // covariance from the cluster scores.
        let runs: Vec<ClusterRun> = t
            .iter()
            .zip(&y)
            .enumerate()
            .map(|(i, (&t, &y))| ClusterRun {
                cluster: (i / 17) as u32,
                t,
                y,
                count: 1,
            })
            .collect();
        let f = fit_clustered(&runs).unwrap();
        assert_eq!((f.intercept, f.slope), (naive.intercept, naive.slope));
        assert_eq!(f.model_covariance, naive.covariance);
        assert_eq!((f.clusters, f.df), (Some(12), Some(11)));
        assert_eq!(f.critical, Some(student_t::critical_95(11)));
        // Relabelling the clusters, or listing a cluster's runs apart,
        // changes nothing but rounding.
        let relabelled: Vec<ClusterRun> = runs
            .iter()
            .map(|r| ClusterRun {
                cluster: 1000 - r.cluster * 7,
                ..*r
            })
            .collect();
        let g = fit_clustered(&relabelled).unwrap();
        near(g.slope_se, f.slope_se, 1e-12);
        // Merging two clusters is a different covariance.
        let merged: Vec<ClusterRun> = runs
            .iter()
            .map(|r| ClusterRun {
                cluster: r.cluster.min(10),
                ..*r
            })
            .collect();
        let h = fit_clustered(&merged).unwrap();
        assert_eq!(h.clusters, Some(11));
        assert!((h.slope_se - f.slope_se).abs() > 1e-6);
    }

    #[test]
    fn fewer_than_ten_clusters_give_estimates_without_intervals() {
        let (t, y) = realistic();
        let with = |clusters: usize| {
            let runs: Vec<ClusterRun> = t
                .iter()
                .zip(&y)
                .enumerate()
                .map(|(i, (&t, &y))| ClusterRun {
                    cluster: (i % clusters) as u32,
                    t,
                    y,
                    count: 1,
                })
                .collect();
            fit_clustered(&runs).unwrap()
        };
        let nine = with(MIN_CLUSTERS - 1);
        assert_eq!((nine.intercept_ci, nine.slope_ci, nine.critical), (None, None, None));
        let why = nine.intervals_unavailable.clone().unwrap();
        assert_eq!(
            why,
            "too few organisations for cluster-robust intervals: 9 in the fit, need at least 10"
        );
        let p = nine.predict_interval(26.0);
        assert_eq!((p.low, p.high), (None, None));
        assert!((p.estimate - nine.predict(26.0)).abs() < 1e-15);
        let pp = nine.pp_change_per_year_at(26.0);
        assert_eq!((pp.low, pp.high), (None, None));
        let ten = with(MIN_CLUSTERS);
        assert_eq!(ten.intervals_unavailable, None);
        assert_eq!(ten.critical, Some(student_t::critical_95(9)));
        assert!(ten.slope_ci.is_some() && ten.predict_interval(26.0).low.is_some());
        // One cluster: no sandwich at all, still the estimates.
        let one = with(1);
        assert!(one.slope_se.is_nan() && one.slope_ci.is_none() && one.slope.is_finite());
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
