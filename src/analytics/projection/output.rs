//! What a projection answers: the year rows of both required-revenue methods
//! and the hyperscaler accounts, the bands, each scenario's result and the
//! response around them. Serialised as the HTTP contract; no logic.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

use super::{MeasuredKind, Payback, ResolvedParams, Tornado};

/// Low/high or percentile values of one year's outputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BandPoint {
    /// Success rate at this band edge (or its percentile).
    pub success_rate: f64,
    /// Revenue, $bn.
    pub revenue_usd_bn: f64,
    /// Gap, $bn.
    pub gap_usd_bn: f64,
    /// Cumulative gap, $bn.
    pub cumulative_gap_usd_bn: f64,
    /// Gap against the depreciation-based required revenue, $bn.
    pub gap_depreciation_usd_bn: f64,
}

/// Uncertainty bands of one year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Bands {
    /// Model run at the interval's low rate (largest gap) and high rate (smallest gap).
    Interval {
        /// At the low success rate.
        low: BandPoint,
        /// At the high success rate.
        high: BandPoint,
    },
    /// Monte Carlo nearest-rank percentiles, each metric on its own.
    Percentiles {
        /// 10th percentile.
        p10: BandPoint,
        /// Median.
        p50: BandPoint,
        /// 90th percentile.
        p90: BandPoint,
    },
}

/// One projected year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearRow {
    /// Calendar year.
    pub year: i32,
    /// Spend, $bn.
    pub spend_usd_bn: f64,
    /// Revenue the spend requires, $bn.
    pub required_revenue_usd_bn: f64,
    /// Projected revenue, $bn.
    pub revenue_usd_bn: f64,
    /// Required − revenue, $bn.
    pub gap_usd_bn: f64,
    /// Running sum of the gap from `start_year`, $bn.
    pub cumulative_gap_usd_bn: f64,
    /// Success rate used this year.
    pub success_rate: f64,
    /// Uncertainty bands, or `null` without interval and Monte Carlo.
    pub bands: Option<Bands>,
    /// Where this year's success rate came from: `fixed`, `published` (a
    /// published quarterly share) or `trend` (the organisation trend's projection).
    pub success_rate_basis: &'static str,
    /// The quarter whose measured figure was used (measured source only).
    pub success_rate_quarter: Option<String>,
    /// AI revenue growth over the year before, as applied (bound included).
    pub ai_revenue_growth: Option<f64>,
    /// Straight-line depreciation of every capex vintage still in its life, $bn.
    pub depreciation_usd_bn: f64,
    /// Net book value at the start of the year, $bn.
    pub net_book_value_usd_bn: f64,
    /// `cost_of_capital` × net book value, $bn.
    pub capital_charge_usd_bn: f64,
    /// (depreciation + capital charge) × cost multiplier ÷ (1 − gross margin), $bn.
    pub required_revenue_depreciation_usd_bn: f64,
    /// Depreciation-based required revenue − revenue, $bn.
    pub gap_depreciation_usd_bn: f64,
    /// Running sum of that gap from `start_year`, $bn.
    pub cumulative_gap_depreciation_usd_bn: f64,
    /// The hyperscalers' total revenue, $bn.
    pub hyperscaler_revenue_usd_bn: f64,
    /// Capex ÷ hyperscaler revenue (`null` when that revenue is 0).
    pub capital_intensity: Option<f64>,
    /// Capex growth over the year before.
    pub capex_growth: Option<f64>,
    /// Hyperscaler revenue growth over the year before.
    pub hyperscaler_revenue_growth: Option<f64>,
    /// Capex growth − hyperscaler revenue growth.
    pub capex_revenue_divergence: Option<f64>,
    /// Capex growth − AI revenue growth.
    pub capex_ai_revenue_divergence: Option<f64>,
    /// Operating cash flow, $bn.
    pub operating_cash_flow_usd_bn: f64,
    /// Dividends plus buybacks, $bn.
    pub shareholder_returns_usd_bn: f64,
    /// Capex − (operating cash flow − shareholder returns), $bn; positive means borrowing.
    pub funding_gap_usd_bn: f64,
    /// Running sum of the positive funding gaps from `start_year`, $bn.
    pub cumulative_new_debt_usd_bn: f64,
}

/// The first year each method's gap is ≤ 0, or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClosesByMethod {
    /// Cahn's run-rate method (same as `gap_closes_in`).
    pub run_rate: Option<i32>,
    /// The depreciation-based method.
    pub depreciation: Option<i32>,
}

/// Something about the inputs a reader must know before trusting the figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    /// Stable identifier.
    pub code: &'static str,
    /// The scenario it concerns, or `null` for all.
    pub scenario: Option<String>,
    /// The years it concerns.
    pub years: Vec<i32>,
    /// What happened and what it means.
    pub message: String,
}

/// One scenario's projection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// Scenario identifier.
    pub name: String,
    /// What the scenario assumes.
    pub description: String,
    /// Parameters changed relative to `parameters` (values as applied).
    pub overrides: BTreeMap<String, Value>,
    /// First year with gap ≤ 0, or `null`.
    pub gap_closes_in: Option<i32>,
    /// The same per required-revenue method.
    pub gap_closes_in_by_method: ClosesByMethod,
    /// Projected years.
    pub years: Vec<YearRow>,
    /// Payback per capex vintage of the projected years.
    pub payback: Vec<Payback>,
}

/// The response body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapProjection {
    /// Every parameter, defaults filled in.
    pub parameters: ResolvedParams,
    /// Fields taken from defaults.
    pub defaults_used: Vec<String>,
    /// Source of each default used.
    pub defaults_sources: BTreeMap<String, String>,
    /// One entry per [`SCENARIOS`] item.
    pub scenarios: Vec<ScenarioResult>,
    /// Inputs pushing against a bound, and other caveats.
    pub warnings: Vec<Warning>,
    /// Benchmarks the capital intensity and divergence are read against.
    pub benchmarks: Benchmarks,
    /// One-at-a-time sensitivity of the status-quo gap (the tornado).
    pub sensitivity: Tornado,
    /// The measured success rate per year as used (measured source only).
    pub measured_success_rate: Option<Vec<MeasuredYear>>,
}

/// Divergence figures quoted for comparison, with what is known of their method.
pub const DIVERGENCE_BENCHMARKS: &[(&str, f64)] = &[("analyst_ai_cycle", 0.46), ("telecom_2001", 0.32)];

/// The divergence benchmarks' caveat, echoed in every response.
pub const DIVERGENCE_METHOD: &str = "This service computes divergence per year as capex growth minus revenue growth (year over year, as fractions). The quoted figures (46% for the AI cycle against 32% in the 2001 telecom cycle) are issue-provided analyst figures whose own method is unpublished, so they are not strictly comparable.";

/// Benchmarks echoed in the response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmarks {
    /// Named capital-intensity benchmarks (capex ÷ revenue), as requested or defaulted.
    pub capital_intensity: BTreeMap<String, f64>,
    /// Quoted capex–revenue growth divergences.
    pub divergence: BTreeMap<String, f64>,
    /// How divergence is computed here, and why the quoted figures may differ.
    pub divergence_method: &'static str,
}

/// One year of the measured success rate, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasuredYear {
    /// Calendar year.
    pub year: i32,
    /// Success rate estimate and 95% interval.
    pub estimate: f64,
    /// 95% low.
    pub low: f64,
    /// 95% high.
    pub high: f64,
    /// `published` or `trend`.
    pub basis: MeasuredKind,
    /// The quarter the figure belongs to.
    pub quarter: String,
}
