//! The year-by-year model behind [`super::project`]: spend and required
//! revenue, success-driven revenue growth, and the point, interval and Monte
//! Carlo runs of each scenario.

use super::{
    err, BandPoint, MeasuredKind, MeasuredRate, ProjectionError, RateEstimate, ResolvedParams, ScenarioChange,
    ScenarioDef, SuccessRate, YEAR_RANGE,
};
use crate::analytics::student_t;
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use std::collections::BTreeMap;

/// z of a two-sided 95% normal interval.
const Z95: f64 = 1.959963984540054;
/// Rates are clamped this far inside (0, 1) before the logit, so an interval
/// touching 0 or 1 gives a wide but finite spread.
const LOGIT_EPS: f64 = 1e-9;

/// The value at `year` of a step series: the latest entry at or before it,
/// else the earliest entry.
fn step<T: Copy>(map: &BTreeMap<i32, T>, year: i32) -> Option<T> {
    map.range(..=year)
        .next_back()
        .or_else(|| map.iter().next())
        .map(|(_, v)| *v)
}

/// Checks caller-supplied measured rates (their field is `success_rate.measured`).
pub(super) fn validate_measured(m: &MeasuredRate) -> Result<(), ProjectionError> {
    if m.by_year.is_empty() {
        return Err(err("success_rate.measured", "no measured years"));
    }
    for (year, e) in &m.by_year {
        let field = format!("success_rate.measured.{year}");
        if !YEAR_RANGE.contains(year) {
            return Err(err(field, "year outside 1990..=2100"));
        }
        // NaN fails every comparison and the [0, 1] bounds exclude infinities.
        let ordered = 0.0 <= e.low && e.low <= e.estimate && e.estimate <= e.high && e.high <= 1.0;
        if !ordered {
            return Err(err(field, "need 0 ≤ low ≤ estimate ≤ high ≤ 1, all finite"));
        }
    }
    Ok(())
}

/// The success-rate estimate for `year`, before any scenario change.
pub(super) fn rate_at(p: &ResolvedParams, measured: Option<&MeasuredRate>, year: i32) -> RateEstimate {
    match &p.success_rate {
        SuccessRate::Fixed {
            value,
            by_year,
            low,
            high,
        } => match (by_year.get(&year), value) {
            (Some(v), _) => RateEstimate::exact(*v),
            (None, Some(v)) => RateEstimate {
                estimate: *v,
                low: low.unwrap_or(*v),
                high: high.unwrap_or(*v),
                df: None,
            },
            // Validation guarantees by_year is non-empty when value is absent.
            (None, None) => RateEstimate::exact(step(by_year, year).unwrap_or(0.0)),
        },
        // `project` has checked that measured data is present and non-empty.
        SuccessRate::Measured => measured
            .and_then(|m| step(&m.by_year, year))
            .unwrap_or(RateEstimate::exact(0.0)),
    }
}

/// Where the success rate for `year` comes from: `fixed`, or the measured
/// entry's kind and quarter (the entry `rate_at` picks).
pub(super) fn basis_at(
    p: &ResolvedParams,
    measured: Option<&MeasuredRate>,
    year: i32,
) -> (&'static str, Option<String>) {
    let Some(m) = measured.filter(|_| p.success_rate == SuccessRate::Measured) else {
        return ("fixed", None);
    };
    match step(&m.basis.iter().map(|(y, b)| (*y, b)).collect(), year) {
        Some(b) => (
            match b.kind {
                MeasuredKind::Published => "published",
                MeasuredKind::Trend => "trend",
            },
            Some(b.quarter.clone()),
        ),
        None => ("trend", None),
    }
}

/// One scenario's inputs, laid out per year.
pub(super) struct Model {
    pub(super) start: i32,
    /// First year simulated: the earlier of `start` and the first given revenue year.
    pub(super) first_sim: i32,
    pub(super) spend: Vec<f64>,
    pub(super) required: Vec<f64>,
    /// Revenue per simulated year where it does not depend on the success
    /// rate: given years, and the back-cast before the first given year.
    pub(super) fixed_revenue: Vec<Option<f64>>,
    revenue_growth: f64,
    reference: f64,
    elasticity: f64,
    /// Cap on a projected year's growth.
    max_growth: f64,
    /// The level revenue saturates at.
    ceiling: f64,
    /// Success rate per simulated year.
    pub(super) rates: Vec<RateEstimate>,
}

/// Per-world values of one projected year, handed to the caller of `simulate`.
pub(super) struct YearState<'a> {
    pub rate: &'a [f64],
    pub revenue: &'a [f64],
    /// Each world's revenue the year before, when that year was simulated.
    pub prev_revenue: Option<&'a [f64]>,
    pub gap: &'a [f64],
    pub cumulative: &'a [f64],
}

impl YearState<'_> {
    /// World `w` as a band edge; `required_dep` is the year's depreciation-based requirement.
    pub fn point(&self, w: usize, required_dep: f64) -> BandPoint {
        BandPoint {
            success_rate: self.rate[w],
            revenue_usd_bn: self.revenue[w],
            gap_usd_bn: self.gap[w],
            cumulative_gap_usd_bn: self.cumulative[w],
            gap_depreciation_usd_bn: required_dep - self.revenue[w],
        }
    }
}

/// Extends a year series over `from..=to`: given years as given, others grown
/// from the year before at `growth(year)`, years before the first given one
/// back-cast at `growth(year + 1)`.
pub(super) fn extend(given: &BTreeMap<i32, f64>, from: i32, to: i32, growth: impl Fn(i32) -> f64) -> Vec<f64> {
    // Validation guarantees at least one given year.
    let (&first, &first_value) = given.iter().next().expect("validated non-empty");
    let mut out = BTreeMap::new();
    let mut prev = first_value;
    for y in first..=to.max(first) {
        prev = given.get(&y).copied().unwrap_or(prev * (1.0 + growth(y)));
        out.insert(y, prev);
    }
    let mut next = first_value;
    for y in (from..first).rev() {
        next /= 1.0 + growth(y + 1);
        out.insert(y, next);
    }
    (from..=to).map(|y| out[&y]).collect()
}

impl Model {
    pub(super) fn new(p: &ResolvedParams, rate: impl Fn(i32) -> RateEstimate) -> Result<Self, ProjectionError> {
        let start = p.start_year;
        let end = start + p.horizon_years as i32 - 1;
        let growth = |y| p.spend_growth_path.get(&y).copied().unwrap_or(p.spend_growth);
        let spend = extend(&p.spend_usd_bn, start, end, growth);
        let margin = 1.0 - p.gross_margin;
        let required: Vec<f64> = spend.iter().map(|s| s * p.cost_multiplier / margin).collect();
        if required.iter().any(|r| !r.is_finite()) {
            let reason = "spend x cost_multiplier / (1 - gross_margin) overflows";
            return Err(err("spend_usd_bn", reason));
        }
        let first_rev = *p.revenue_usd_bn.keys().next().expect("validated non-empty");
        let first_sim = start.min(first_rev);
        // History before the first observation follows the plain trend: the
        // success rate must not move it (a higher rate would lower it).
        let backcast = extend(&p.revenue_usd_bn, first_sim, first_rev, |_| p.revenue_growth);
        let fixed_revenue = (first_sim..=end)
            .map(|y| match p.revenue_usd_bn.get(&y) {
                Some(v) => Some(*v),
                None => (y < first_rev).then(|| backcast[(y - first_sim) as usize]),
            })
            .collect();
        Ok(Self {
            start,
            first_sim,
            spend,
            required,
            fixed_revenue,
            revenue_growth: p.revenue_growth,
            reference: p.reference_success_rate,
            elasticity: p.elasticity,
            max_growth: p.max_revenue_growth,
            ceiling: p.revenue_ceiling_usd_bn,
            rates: (first_sim..=end).map(rate).collect(),
        })
    }

    /// Growth the success rate asks for, before the cap: `revenue_growth` ×
    /// (success ÷ reference)^elasticity. Zero growth stays zero even where
    /// the power overflows (0 × ∞ would be NaN).
    pub(super) fn raw_growth(&self, rate: f64) -> f64 {
        if self.revenue_growth == 0.0 {
            return 0.0;
        }
        self.revenue_growth * (rate / self.reference).powf(self.elasticity)
    }

    /// Next year's revenue: growth capped at `max_growth`, then the
    /// Beverton–Holt step K·R(1+g) ÷ (K + R·g), which is R(1+g) far below the
    /// ceiling K, never exceeds K from below, and rises with both R and g.
    pub(super) fn grow(&self, prev: f64, rate: f64) -> f64 {
        let g = self.raw_growth(rate).min(self.max_growth);
        let k = self.ceiling;
        k * prev * (1.0 + g) / (k + prev * g)
    }

    /// Runs `worlds` revenue paths side by side, year by year, so Monte Carlo
    /// needs memory per draw, not per draw and year. `rate_of(world, k)` picks
    /// each world's success rate in simulated year `k` (index into `rates`); `on_year(index, state)` sees every
    /// projected year.
    pub(super) fn simulate(
        &self,
        worlds: usize,
        rate_of: impl Fn(usize, usize) -> f64,
        mut on_year: impl FnMut(usize, YearState<'_>),
    ) -> Result<(), ProjectionError> {
        let [mut rate, mut revenue, mut prev, mut gap, mut cumulative] = [(); 5].map(|_| vec![0.0; worlds]);
        for (k, fixed) in self.fixed_revenue.iter().enumerate() {
            prev.copy_from_slice(&revenue);
            for w in 0..worlds {
                rate[w] = rate_of(w, k);
                revenue[w] = fixed.unwrap_or_else(|| self.grow(revenue[w], rate[w]));
            }
            let Some(i) = (self.first_sim + k as i32 - self.start).try_into().ok() else {
                continue; // before start_year: simulated for its revenue, not reported
            };
            for w in 0..worlds {
                gap[w] = self.required[i] - revenue[w];
                cumulative[w] += gap[w];
            }
            // Revenue is bounded by the ceiling, so only the running sum of
            // gaps over near-f64::MAX spend can overflow.
            if !revenue.iter().chain(&cumulative).all(|x| x.is_finite()) {
                let reason = "the running sum of the gap overflows f64 range";
                return Err(err("spend_usd_bn", reason));
            }
            let state = YearState {
                rate: &rate,
                revenue: &revenue,
                prev_revenue: (k > 0).then_some(prev.as_slice()),
                gap: &gap,
                cumulative: &cumulative,
            };
            on_year(i, state);
        }
        Ok(())
    }
}

/// A standard normal via Box–Muller (rand 0.9 has none without `rand_distr`).
pub(super) fn standard_normal(rng: &mut ChaCha20Rng) -> f64 {
    // 1 − U lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(LOGIT_EPS, 1.0 - LOGIT_EPS);
    (p / (1.0 - p)).ln()
}

/// Draws are normal on the logit scale: centre logit(estimate), sd =
/// (logit(high) − logit(low)) / (2 × 1.96) — or, for an interval built with
/// Student's t, t-distributed with its `df` and sd = the same width divided
/// by 2 × its 0.975 quantile. `None` when there is no interval: such draws
/// return the estimate itself (not a logit round trip), which keeps their
/// bands exactly equal to the point.
pub(super) fn logit_spread(e: &RateEstimate) -> Option<(f64, f64, Option<u32>)> {
    let critical = e.df.map_or(Z95, student_t::critical_95);
    let sd = (logit(e.high) - logit(e.low)) / (2.0 * critical);
    (e.low < e.high).then_some((logit(e.estimate), sd, e.df))
}

/// Each draw's z mapped to the t with `df` degrees of freedom at the same CDF
/// value, per distinct `df` among `spread`: common random numbers across
/// years and scenarios, whatever the distribution.
pub(super) fn t_draws(z: &[f64], spread: &[Option<(f64, f64, Option<u32>)>]) -> BTreeMap<u32, Vec<f64>> {
    let dfs: std::collections::BTreeSet<u32> = spread.iter().flatten().filter_map(|s| s.2).collect();
    dfs.into_iter()
        .map(|df| {
            let t = z.iter().map(|&z| student_t::quantile_of_normal(z, df)).collect();
            (df, t)
        })
        .collect()
}

/// Nearest-rank 10th, 50th and 90th percentiles: exact order statistics, so
/// p10 ≤ p50 ≤ p90 holds without rounding doubts.
pub(super) fn percentiles(values: &[f64], scratch: &mut Vec<f64>) -> [f64; 3] {
    scratch.clear();
    scratch.extend_from_slice(values);
    let n = scratch.len();
    [10, 50, 90].map(|p| {
        let k = (p * n).div_ceil(100).max(1) - 1;
        *scratch.select_nth_unstable_by(k, f64::total_cmp).1
    })
}

/// Applies a scenario's change: the changed parameters, the success-rate
/// multiplier and the overrides to echo.
pub(super) fn apply(def: &ScenarioDef, base: &ResolvedParams) -> (ResolvedParams, f64, BTreeMap<String, Value>) {
    let mut p = base.clone();
    let mut overrides = BTreeMap::new();
    let mut multiplier = 1.0;
    match def.change {
        ScenarioChange::None => {}
        ScenarioChange::ScaleSuccessRate { factor } => {
            multiplier = factor;
            overrides.insert("success_rate_multiplier".into(), Value::from(factor));
        }
        ScenarioChange::ScalePositiveSpendGrowth { factor } => {
            let slow = |g: f64| if g > 0.0 { g * factor } else { g };
            p.spend_growth = slow(p.spend_growth);
            p.spend_growth_path.values_mut().for_each(|g| *g = slow(*g));
            overrides.insert("spend_growth".into(), Value::from(p.spend_growth));
            if !p.spend_growth_path.is_empty() {
                let path = p
                    .spend_growth_path
                    .iter()
                    .map(|(y, g)| (y.to_string(), Value::from(*g)));
                overrides.insert("spend_growth_path".into(), Value::Object(path.collect()));
            }
        }
    }
    (p, multiplier, overrides)
}
