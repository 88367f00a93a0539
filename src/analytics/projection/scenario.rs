//! One scenario end to end: the revenue paths of [`super::engine`], both
//! required-revenue methods, the hyperscaler accounts of [`super::accounts`],
//! bands, where each method's gap closes, payback, and the scenario's warnings.

use super::accounts::{self, Vintages};
use super::engine::{
    apply, basis_at, extend, logit_spread, percentiles, rate_at, standard_normal, t_draws, Model, YearState,
};
use super::{
    err, BandPoint, Bands, ClosesByMethod, MeasuredRate, ProjectionError, RateEstimate, ResolvedParams, ScenarioDef,
    ScenarioResult, Warning, YearRow,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Which success rate the point path uses: the estimate, or (for the
/// sensitivity) the interval's low or high end in every year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RateMode {
    AsGiven,
    Low,
    High,
}

/// Share of the ceiling at which `revenue_near_ceiling` is raised: from there
/// on the Beverton–Holt step gives less than half the uncapped growth.
pub const NEAR_CEILING: f64 = 0.5;

/// A scenario's result and the warnings it raised.
pub(super) struct ScenarioRun {
    pub result: ScenarioResult,
    pub warnings: Vec<Warning>,
}

/// The year series that do not depend on the success rate.
struct Accounts {
    vintages: Vintages,
    /// Per projected year: (depreciation, opening net book value).
    depreciation: Vec<(f64, f64)>,
    required_dep: Vec<f64>,
    /// From `start − 1` (index 0) to the end.
    hyperscaler_revenue: Vec<f64>,
    cash_flow: Vec<f64>,
    returns: Vec<f64>,
}

fn finite(field: &str, xs: &[f64]) -> Result<(), ProjectionError> {
    match xs.iter().all(|x| x.is_finite()) {
        true => Ok(()),
        false => Err(err(field, "the series compounds past f64 range")),
    }
}

impl Accounts {
    fn new(p: &ResolvedParams) -> Result<Self, ProjectionError> {
        let start = p.start_year;
        let end = start + p.horizon_years as i32 - 1;
        let life = p.useful_life_years;
        // Every vintage still depreciating in `start`, and the year before it.
        let first = start - life.ceil() as i32;
        let growth = |y| p.spend_growth_path.get(&y).copied().unwrap_or(p.spend_growth);
        let vintages = Vintages {
            first,
            capex: extend(&p.spend_usd_bn, first, end, growth),
        };
        finite("spend_usd_bn", &vintages.capex)?;
        let depreciation: Vec<(f64, f64)> = (start..=end).map(|y| vintages.depreciation(y, life)).collect();
        let per_cost = p.cost_multiplier / (1.0 - p.gross_margin);
        let required_dep: Vec<f64> = depreciation
            .iter()
            .map(|(dep, book)| (dep + p.cost_of_capital * book) * per_cost)
            .collect();
        finite("spend_usd_bn", &required_dep)?;
        let hyperscaler_revenue = extend(&p.hyperscaler_revenue_usd_bn, start - 1, end, |_| {
            p.hyperscaler_revenue_growth
        });
        finite("hyperscaler_revenue_usd_bn", &hyperscaler_revenue)?;
        let cash_flow = extend(&p.operating_cash_flow_usd_bn, start, end, |_| {
            p.operating_cash_flow_growth
        });
        finite("operating_cash_flow_usd_bn", &cash_flow)?;
        let returns = extend(&p.shareholder_returns_usd_bn, start, end, |_| {
            p.shareholder_returns_growth
        });
        finite("shareholder_returns_usd_bn", &returns)?;
        Ok(Self {
            vintages,
            depreciation,
            required_dep,
            hyperscaler_revenue,
            cash_flow,
            returns,
        })
    }
}

/// Runs one scenario: the point path, its bands, both methods' closing
/// years, payback per vintage, and warnings where inputs push against the
/// revenue bound.
pub(super) fn run_scenario(
    def: &ScenarioDef,
    base: &ResolvedParams,
    measured: Option<&MeasuredRate>,
    mode: RateMode,
) -> Result<ScenarioRun, ProjectionError> {
    let (p, m, overrides) = apply(def, base);
    let scale = |x: f64| (x * m).min(1.0);
    let pick = |e: RateEstimate| match mode {
        RateMode::AsGiven => e,
        RateMode::Low => RateEstimate { estimate: e.low, ..e },
        RateMode::High => RateEstimate { estimate: e.high, ..e },
    };
    let model = Model::new(&p, |y| {
        let e = pick(rate_at(&p, measured, y));
        RateEstimate {
            estimate: scale(e.estimate),
            low: scale(e.low),
            high: scale(e.high),
            df: e.df,
        }
    })?;
    let acc = Accounts::new(&p)?;
    // Whether bands exist is decided on the unscaled rates, so all scenarios agree.
    let years_simulated = model.first_sim..model.first_sim + model.rates.len() as i32;
    let has_interval = years_simulated
        .map(|y| rate_at(base, measured, y))
        .any(|e| e.low < e.high);
    let interval = has_interval && p.monte_carlo.is_none() && mode == RateMode::AsGiven;
    let offset = (model.start - model.first_sim) as usize;
    let mut years = Vec::with_capacity(model.spend.len());
    let (mut capped, mut capped_high, mut near_ceiling) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cumulative_dep, mut new_debt) = (0.0, 0.0);
    // Worlds 0, 1, 2: point estimate, interval low, interval high.
    model.simulate(
        3,
        |w, k| {
            let e = &model.rates[k];
            [e.estimate, e.low, e.high][w]
        },
        |i, s: YearState<'_>| {
            let year = model.start + i as i32;
            let projected = model.fixed_revenue[i + offset].is_none();
            if projected && model.raw_growth(s.rate[0]) > p.max_revenue_growth {
                capped.push(year);
            }
            if projected && has_interval && model.raw_growth(s.rate[2]) > p.max_revenue_growth {
                capped_high.push(year);
            }
            if s.revenue[0] >= NEAR_CEILING * p.revenue_ceiling_usd_bn {
                near_ceiling.push(year);
            }
            let spend = model.spend[i];
            let (dep, book) = acc.depreciation[i];
            let required_dep = acc.required_dep[i];
            let gap_dep = required_dep - s.revenue[0];
            cumulative_dep += gap_dep;
            let funding_gap = spend - (acc.cash_flow[i] - acc.returns[i]);
            new_debt += funding_gap.max(0.0);
            let capex_growth = accounts::growth(acc.vintages.at(year - 1), spend);
            let (h_before, h_now) = (acc.hyperscaler_revenue[i], acc.hyperscaler_revenue[i + 1]);
            let h_growth = accounts::growth(h_before, h_now);
            let ai_growth = s.prev_revenue.and_then(|prev| accounts::growth(prev[0], s.revenue[0]));
            let minus = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a - b);
            let (basis, quarter) = basis_at(&p, measured, year);
            years.push(YearRow {
                year,
                spend_usd_bn: spend,
                required_revenue_usd_bn: model.required[i],
                revenue_usd_bn: s.revenue[0],
                gap_usd_bn: s.gap[0],
                cumulative_gap_usd_bn: s.cumulative[0],
                success_rate: s.rate[0],
                bands: interval.then(|| Bands::Interval {
                    low: s.point(1, required_dep),
                    high: s.point(2, required_dep),
                }),
                success_rate_basis: basis,
                success_rate_quarter: quarter,
                ai_revenue_growth: ai_growth,
                depreciation_usd_bn: dep,
                net_book_value_usd_bn: book,
                capital_charge_usd_bn: p.cost_of_capital * book,
                required_revenue_depreciation_usd_bn: required_dep,
                gap_depreciation_usd_bn: gap_dep,
                cumulative_gap_depreciation_usd_bn: cumulative_dep,
                hyperscaler_revenue_usd_bn: h_now,
                capital_intensity: (h_now > 0.0).then(|| spend / h_now),
                capex_growth,
                hyperscaler_revenue_growth: h_growth,
                capex_revenue_divergence: minus(capex_growth, h_growth),
                capex_ai_revenue_divergence: minus(capex_growth, ai_growth),
                operating_cash_flow_usd_bn: acc.cash_flow[i],
                shareholder_returns_usd_bn: acc.returns[i],
                funding_gap_usd_bn: funding_gap,
                cumulative_new_debt_usd_bn: new_debt,
            });
        },
    )?;
    // Each input is finite, but sums over many years of near-f64::MAX inputs are not.
    let sums = years.iter().flat_map(|y| {
        [
            y.cumulative_gap_depreciation_usd_bn,
            y.funding_gap_usd_bn,
            y.cumulative_new_debt_usd_bn,
        ]
    });
    finite("spend_usd_bn", &sums.collect::<Vec<f64>>())?;
    if p.monte_carlo.is_some() && mode == RateMode::AsGiven {
        monte_carlo(&p, &model, &acc.required_dep, &mut years)?;
    }
    let end = model.start + years.len() as i32 - 1;
    let per_cost = p.cost_multiplier / (1.0 - p.gross_margin);
    let revenue = |y: i32| years[(y - model.start) as usize].revenue_usd_bn;
    let payback = accounts::payback(&acc.vintages, p.useful_life_years, model.start, end, |y| {
        revenue(y) / per_cost
    });
    let run_rate = years.iter().find(|r| r.gap_usd_bn <= 0.0).map(|r| r.year);
    let depreciation = years.iter().find(|r| r.gap_depreciation_usd_bn <= 0.0).map(|r| r.year);
    let warnings = scenario_warnings(def.name, &p, capped, capped_high, near_ceiling);
    Ok(ScenarioRun {
        result: ScenarioResult {
            name: def.name.into(),
            description: def.description.into(),
            overrides,
            gap_closes_in: run_rate,
            gap_closes_in_by_method: ClosesByMethod { run_rate, depreciation },
            years,
            payback,
        },
        warnings,
    })
}

fn scenario_warnings(
    name: &str,
    p: &ResolvedParams,
    capped: Vec<i32>,
    capped_high: Vec<i32>,
    near_ceiling: Vec<i32>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    let warn = |code, years, message| Warning {
        code,
        scenario: Some(name.to_string()),
        years,
        message,
    };
    if !capped.is_empty() {
        out.push(warn(
            "revenue_growth_capped",
            capped,
            format!(
                "The success rate asks for revenue growth above max_revenue_growth ({}): growth was capped there. The figures in these years are set by the bound, not by the success rate.",
                p.max_revenue_growth
            ),
        ));
    } else if !capped_high.is_empty() {
        out.push(warn(
            "revenue_growth_capped_in_band",
            capped_high,
            format!(
                "The high end of the success-rate interval asks for revenue growth above max_revenue_growth ({}): the high band is set by the bound in these years.",
                p.max_revenue_growth
            ),
        ));
    }
    if !near_ceiling.is_empty() {
        out.push(warn(
            "revenue_near_ceiling",
            near_ceiling,
            format!(
                "Revenue is at or above {}% of revenue_ceiling_usd_bn ({}): saturation, not the success rate, now limits its growth.",
                NEAR_CEILING * 100.0,
                p.revenue_ceiling_usd_bn
            ),
        ));
    }
    out
}

/// Seeded P10/P50/P90 bands (see the module docs of [`super`]).
fn monte_carlo(
    p: &ResolvedParams,
    model: &Model,
    required_dep: &[f64],
    years: &mut [YearRow],
) -> Result<(), ProjectionError> {
    let Some(mc) = p.monte_carlo else { return Ok(()) };
    // Same seed in every scenario: common random numbers, so differences
    // between scenarios are not sampling noise.
    let mut rng = ChaCha20Rng::seed_from_u64(mc.seed);
    let z: Vec<f64> = (0..mc.draws).map(|_| standard_normal(&mut rng)).collect();
    let mut scratch = Vec::with_capacity(mc.draws);
    let mut dep_gap = vec![0.0; mc.draws];
    // Per year, not per draw: the logits are the costly part of a draw.
    let spread: Vec<_> = model.rates.iter().map(logit_spread).collect();
    let t = t_draws(&z, &spread);
    model.simulate(
        mc.draws,
        |w, k| match spread[k] {
            Some((centre, sd, df)) => {
                let draw = df.and_then(|df| t.get(&df)).map_or(z[w], |t| t[w]);
                1.0 / (1.0 + (-(centre + sd * draw)).exp())
            }
            None => model.rates[k].estimate,
        },
        |i, s| {
            for (d, r) in dep_gap.iter_mut().zip(s.revenue) {
                *d = required_dep[i] - r;
            }
            let [r, v, g, c, dg] =
                [s.rate, s.revenue, s.gap, s.cumulative, &dep_gap].map(|x| percentiles(x, &mut scratch));
            let at = |k: usize| BandPoint {
                success_rate: r[k],
                revenue_usd_bn: v[k],
                gap_usd_bn: g[k],
                cumulative_gap_usd_bn: c[k],
                gap_depreciation_usd_bn: dg[k],
            };
            years[i].bands = Some(Bands::Percentiles {
                p10: at(0),
                p50: at(1),
                p90: at(2),
            });
        },
    )
}
