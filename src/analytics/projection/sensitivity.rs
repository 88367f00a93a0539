//! One-at-a-time sensitivity (the tornado): each parameter moved to its low
//! and its high value with every other parameter as given, the status-quo
//! gap of both methods read in one year.
//!
//! Ranges: the success rate uses its own 95% interval (for the measured
//! source, the measured zero-impact rate's interval) in every year, or moves
//! by `relative_change` when it has none; the useful life runs from 2.5 years
//! (critics' 2–3 for GPUs) to 6 (Microsoft, Alphabet) where the given life
//! lies between; every other parameter moves by `relative_change` of its
//! value (the series by that multiplier on every given year), kept inside
//! its valid range.

use serde::Serialize;

use super::scenario::{run_scenario, RateMode};
use super::{err, MeasuredRate, ProjectionError, ResolvedParams, ScenarioChange, ScenarioDef, Warning, SCENARIOS};

/// The gap in the tornado's year at a parameter's low and high value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TornadoGap {
    /// At the parameter's low value, $bn.
    pub at_low: f64,
    /// At the parameter's high value, $bn.
    pub at_high: f64,
}

/// One parameter's bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TornadoBar {
    /// The request field moved.
    pub parameter: &'static str,
    /// `value` (the parameter itself), `multiplier` (applied to every given
    /// year of a series) or `interval` (the success rate's 95% ends; the
    /// values are those of the tornado's year).
    pub applies_as: &'static str,
    /// The low value (or multiplier).
    pub low_value: f64,
    /// The high value (or multiplier).
    pub high_value: f64,
    /// Cahn's run-rate gap.
    pub gap_usd_bn: TornadoGap,
    /// The depreciation-based gap.
    pub gap_depreciation_usd_bn: TornadoGap,
    /// The larger of the two methods' |at_high − at_low|, $bn; bars are sorted by it.
    pub swing_usd_bn: f64,
    /// Whether both methods' low and high gaps lie either side of the base
    /// gap (false only where an effect is not monotone, e.g. elasticity with
    /// success rates either side of the reference).
    pub brackets_base: bool,
}

/// The tornado.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tornado {
    /// The scenario whose gap is read (always `status_quo`).
    pub scenario: &'static str,
    /// The year read.
    pub year: i32,
    /// The relative move used where a parameter has no range of its own.
    pub relative_change: f64,
    /// The base case's run-rate gap that year, $bn.
    pub base_gap_usd_bn: f64,
    /// The base case's depreciation-based gap that year, $bn.
    pub base_gap_depreciation_usd_bn: f64,
    /// One bar per parameter, largest swing first.
    pub bars: Vec<TornadoBar>,
}

/// Useful lives the sensitivity spans when the given life lies between them.
pub const USEFUL_LIFE_RANGE: (f64, f64) = (2.5, 6.0);

type Setter = fn(&mut ResolvedParams, f64);

/// A parameter moved by `relative_change`: its name, how to read it, how to set it, its valid range.
struct Relative {
    name: &'static str,
    get: fn(&ResolvedParams) -> f64,
    set: Setter,
    range: (f64, f64),
}

const RELATIVE: &[Relative] = &[
    Relative {
        name: "spend_growth",
        get: |p| p.spend_growth,
        set: |p, v| p.spend_growth = v,
        range: (-0.99, 10.0),
    },
    Relative {
        name: "cost_multiplier",
        get: |p| p.cost_multiplier,
        set: |p, v| p.cost_multiplier = v,
        range: (1e-9, f64::MAX),
    },
    Relative {
        name: "gross_margin",
        get: |p| p.gross_margin,
        set: |p, v| p.gross_margin = v,
        range: (0.0, 0.99),
    },
    Relative {
        name: "revenue_growth",
        get: |p| p.revenue_growth,
        set: |p, v| p.revenue_growth = v,
        range: (0.0, 10.0),
    },
    Relative {
        name: "reference_success_rate",
        get: |p| p.reference_success_rate,
        set: |p, v| p.reference_success_rate = v,
        range: (1e-9, 1.0),
    },
    Relative {
        name: "elasticity",
        get: |p| p.elasticity,
        set: |p, v| p.elasticity = v,
        range: (0.0, 10.0),
    },
    Relative {
        name: "max_revenue_growth",
        get: |p| p.max_revenue_growth,
        set: |p, v| p.max_revenue_growth = v,
        range: (0.0, 10.0),
    },
    Relative {
        name: "cost_of_capital",
        get: |p| p.cost_of_capital,
        set: |p, v| p.cost_of_capital = v,
        range: (0.0, 1.0),
    },
];

/// `v` moved down and up by `r`, ordered, clamped into `range` (never past `v` itself).
fn moved(v: f64, r: f64, (lo, hi): (f64, f64)) -> (f64, f64) {
    let (a, b) = (v * (1.0 - r), v * (1.0 + r));
    let (a, b) = (a.min(b), a.max(b));
    (a.max(lo).min(v), b.min(hi).max(v))
}

/// The status-quo gaps of both methods in `year`.
fn gaps(
    p: &ResolvedParams,
    measured: Option<&MeasuredRate>,
    def: &ScenarioDef,
    mode: RateMode,
    parameter: &str,
) -> Result<(f64, f64), ProjectionError> {
    let year = p.sensitivity.year;
    let run = run_scenario(def, p, measured, mode).map_err(|e| {
        err(
            "sensitivity.relative_change",
            format!("moving `{parameter}` to its low or high value fails: {}", e.reason),
        )
    })?;
    let row = &run.result.years[(year - p.start_year) as usize];
    Ok((row.gap_usd_bn, row.gap_depreciation_usd_bn))
}

/// The tornado over every parameter, and a warning naming bars that do not bracket the base.
pub(super) fn tornado(
    base: &ResolvedParams,
    measured: Option<&MeasuredRate>,
) -> Result<(Tornado, Option<Warning>), ProjectionError> {
    let mut p = base.clone();
    p.monte_carlo = None;
    let status_quo = SCENARIOS[0];
    let r = p.sensitivity.relative_change;
    let (base_gap, base_dep) = gaps(&p, measured, &status_quo, RateMode::AsGiven, "base")?;
    let mut bars = Vec::new();
    let mut push = |parameter, applies_as, values: (f64, f64), low: (f64, f64), high: (f64, f64)| {
        let within = |b: f64, x: f64, y: f64| {
            let tol = 1e-9 * (1.0 + b.abs());
            x.min(y) - tol <= b && b <= x.max(y) + tol
        };
        bars.push(TornadoBar {
            parameter,
            applies_as,
            low_value: values.0,
            high_value: values.1,
            gap_usd_bn: TornadoGap {
                at_low: low.0,
                at_high: high.0,
            },
            gap_depreciation_usd_bn: TornadoGap {
                at_low: low.1,
                at_high: high.1,
            },
            swing_usd_bn: (high.0 - low.0).abs().max((high.1 - low.1).abs()),
            brackets_base: within(base_gap, low.0, high.0) && within(base_dep, low.1, high.1),
        });
    };
    let with = |set: &dyn Fn(&mut ResolvedParams), name: &str| {
        let mut q = p.clone();
        set(&mut q);
        gaps(&q, measured, &status_quo, RateMode::AsGiven, name)
    };
    // The success rate: its interval where it has one, else a relative move.
    let year = p.sensitivity.year;
    let e = super::engine::rate_at(&p, measured, year);
    let has_interval = {
        let first = p
            .start_year
            .min(*p.revenue_usd_bn.keys().next().unwrap_or(&p.start_year));
        (first..=p.start_year + p.horizon_years as i32 - 1).any(|y| {
            let e = super::engine::rate_at(&p, measured, y);
            e.low < e.high
        })
    };
    if has_interval {
        let low = gaps(&p, measured, &status_quo, RateMode::Low, "success_rate")?;
        let high = gaps(&p, measured, &status_quo, RateMode::High, "success_rate")?;
        push("success_rate", "interval", (e.low, e.high), low, high);
    } else {
        let scaled = |factor: f64| ScenarioDef {
            change: ScenarioChange::ScaleSuccessRate { factor },
            ..status_quo
        };
        let low = gaps(&p, measured, &scaled(1.0 - r), RateMode::AsGiven, "success_rate")?;
        let high = gaps(&p, measured, &scaled(1.0 + r), RateMode::AsGiven, "success_rate")?;
        let values = ((e.estimate * (1.0 - r)).min(1.0), (e.estimate * (1.0 + r)).min(1.0));
        push("success_rate", "value", values, low, high);
    }
    // The series, scaled in every given year.
    let (slo, shi) = (1.0 - r, 1.0 + r);
    let low = with(&|q| q.spend_usd_bn.values_mut().for_each(|v| *v *= slo), "spend_usd_bn")?;
    let high = with(&|q| q.spend_usd_bn.values_mut().for_each(|v| *v *= shi), "spend_usd_bn")?;
    push("spend_usd_bn", "multiplier", (slo, shi), low, high);
    let top = p.revenue_usd_bn.values().copied().fold(0.0, f64::max);
    let rhi = if top > 0.0 {
        shi.min(p.revenue_ceiling_usd_bn / top).max(1.0)
    } else {
        shi
    };
    let low = with(
        &|q| q.revenue_usd_bn.values_mut().for_each(|v| *v *= slo),
        "revenue_usd_bn",
    )?;
    let high = with(
        &|q| q.revenue_usd_bn.values_mut().for_each(|v| *v *= rhi),
        "revenue_usd_bn",
    )?;
    push("revenue_usd_bn", "multiplier", (slo, rhi), low, high);
    for rel in RELATIVE {
        let (lo, hi) = moved((rel.get)(&p), r, rel.range);
        let low = with(&|q| (rel.set)(q, lo), rel.name)?;
        let high = with(&|q| (rel.set)(q, hi), rel.name)?;
        push(rel.name, "value", (lo, hi), low, high);
    }
    let k = p.revenue_ceiling_usd_bn;
    let (klo, khi) = ((k * (1.0 - r)).max(top).min(k), (k * (1.0 + r)).min(1e6).max(k));
    let low = with(&|q| q.revenue_ceiling_usd_bn = klo, "revenue_ceiling_usd_bn")?;
    let high = with(&|q| q.revenue_ceiling_usd_bn = khi, "revenue_ceiling_usd_bn")?;
    push("revenue_ceiling_usd_bn", "value", (klo, khi), low, high);
    let life = p.useful_life_years;
    let (llo, lhi) = match USEFUL_LIFE_RANGE {
        (a, b) if a < life && life < b => (a, b),
        _ => moved(life, r, (1.0, 30.0)),
    };
    let low = with(&|q| q.useful_life_years = llo, "useful_life_years")?;
    let high = with(&|q| q.useful_life_years = lhi, "useful_life_years")?;
    push("useful_life_years", "value", (llo, lhi), low, high);
    bars.sort_by(|a, b| b.swing_usd_bn.total_cmp(&a.swing_usd_bn));
    let odd: Vec<&str> = bars.iter().filter(|b| !b.brackets_base).map(|b| b.parameter).collect();
    let warning = (!odd.is_empty()).then(|| Warning {
        code: "sensitivity_not_monotone",
        scenario: Some(status_quo.name.into()),
        years: vec![year],
        message: format!(
            "Moving {} to its low and high value both push the gap the same way: its effect is not monotone here, so its bar does not bracket the base case.",
            odd.join(", ")
        ),
    });
    Ok((
        Tornado {
            scenario: status_quo.name,
            year,
            relative_change: r,
            base_gap_usd_bn: base_gap,
            base_gap_depreciation_usd_bn: base_dep,
            bars,
        },
        warning,
    ))
}
