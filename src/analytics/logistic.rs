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
//! 50(2): §II on the estimator, §VI on few clusters). With fewer than
//! [`MIN_CLUSTERS`] clusters the estimates are reported without intervals.

use std::collections::BTreeMap;

use serde::Serialize;

use super::intervals::Z_95;
use super::student_t;

/// Minimum number of observations [`fit`] accepts.
pub const MIN_OBSERVATIONS: usize = 10;
/// Fewest clusters (organisations) a clustered fit needs for intervals.
/// The sandwich estimates the meat from G cluster scores; with few clusters
/// that estimate is itself noisy and biased down, and even intervals from t
/// with G − 1 degrees of freedom cover less than they claim (Cameron &
/// Miller 2015, §VI, on few clusters). Below 10 the trend is published with
/// its estimates and no intervals, and says why.
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
#[path = "logistic_tests.rs"]
mod tests;
