//! Gap projection: how far AI revenue trails the revenue that AI infrastructure
//! spend requires, and how that gap moves with the share of enterprise AI
//! pilots that reach measurable P&L impact.
//!
//! The model, year by year over `start_year ..= start_year + horizon_years - 1`:
//!
//! * **spend** — given years are used as given; any other year grows from the
//!   year before at `spend_growth` (or `spend_growth_path[year]` where listed).
//!   Years before the first given year are back-cast with the same growth
//!   rates, so the series is the same curve read in either direction.
//! * **required revenue** = spend × `cost_multiplier` ÷ (1 − `gross_margin`)
//!   (Sequoia/David Cahn's method: the revenue end users must earn to pay for
//!   the infrastructure at their gross margin).
//! * **revenue** — given years are used as given; any later year grows from the
//!   year before by g = min(`revenue_growth` × (success ÷
//!   `reference_success_rate`) ^ `elasticity`, `max_revenue_growth`) through
//!   the Beverton–Holt step K·R(1+g) ÷ (K + R·g), K = `revenue_ceiling_usd_bn`
//!   (bounded by K, never faster than the cap, rising with the success rate;
//!   `warnings` name the years where either bites). The base is thus the
//!   latest given year at or before the year in question. Years before the first given year are back-cast at the
//!   plain `revenue_growth`: they are history, so the success rate must not move
//!   them (and that keeps "higher success never raises the gap" true).
//! * **gap** = required − revenue; cumulative gap is the running sum from
//!   `start_year`; `gap_closes_in` is the first year with gap ≤ 0, else `null`.
//!
//! The success rate is 1 − the share of organisations with zero return, either
//! `fixed` (a value, optionally with a 95% `low`/`high`, or a `by_year` step
//! series) or `measured` (a [`MeasuredRate`] supplied by the caller).
//!
//! Bands: a higher success rate means more revenue and a smaller gap. Without
//! `monte_carlo`, `low` is the model run at the interval's low success rate
//! (least revenue, largest gap) and `high` at its high rate (most revenue,
//! smallest gap); `bands` is `null` when the rate carries no interval. With
//! `monte_carlo`, each draw takes one standard-normal z and applies it to every
//! year on the logit scale (a draw is one world in which adoption runs
//! systematically better or worse), sd = (logit(high) − logit(low)) ÷ (2 × 1.96);
//! a rate whose interval was built with Student's t (`df`, the measured rate
//! of the cluster-robust trend) uses that t's 0.975 quantile in place of 1.96
//! and maps each draw's z to the t with the same CDF value
//! (`student_t::quantile_of_normal`), so the draws' 2.5th and 97.5th
//! percentiles are the interval's ends;
//! p10/p50/p90 are nearest-rank percentiles taken per metric and year, so the
//! gap's p10 comes from high-success draws and revenue's p10 from low ones.
//! Without an interval every draw equals the point, and so do the percentiles.
//!
//! Scenarios are data ([`SCENARIOS`]): `status_quo` (as given),
//! `revenue_catches_up` (success rate ×2, capped at 1) and `spending_slows`
//! (positive spend growth halved). Each echoes the parameters it changed.
//!
//! Beside Cahn's run-rate requirement every year carries a depreciation-based
//! one (straight line by capex vintage plus a cost of capital on net book
//! value), capital intensity, capex–revenue growth divergence and the funding
//! gap; each scenario carries payback per vintage and where each method's gap
//! closes; the response carries a one-at-a-time sensitivity (tornado). The
//! methods and every default's source: docs/PROJECTION.md.
//!
//! Requests are parsed into [`GapParams`] (field names are the HTTP contract),
//! checked by [`GapParams::validate`], and run by [`project`]. Files:
//! `engine` (revenue paths, Monte Carlo draws), `scenario` (one scenario end
//! to end), `accounts` (depreciation, payback), `sensitivity` (tornado),
//! `output` (the response types).

mod accounts;
#[cfg(test)]
mod accounts_tests;
mod engine;
mod output;
mod scenario;
mod sensitivity;
#[cfg(test)]
mod tests;

pub use accounts::{Payback, PaybackStatus};
pub use output::{
    BandPoint, Bands, Benchmarks, ClosesByMethod, GapProjection, MeasuredYear, ScenarioResult, Warning, YearRow,
    DIVERGENCE_BENCHMARKS, DIVERGENCE_METHOD,
};
pub use sensitivity::{Tornado, TornadoBar, TornadoGap};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Earliest and latest calendar year accepted anywhere in the model.
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 1990..=2100;
/// Longest projection horizon, in years.
pub const MAX_HORIZON_YEARS: i64 = 30;
/// Most Monte Carlo draws per request (bounds CPU time and memory).
pub const MAX_DRAWS: i64 = 100_000;

/// A rejected parameter: `field` is the JSON path of the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid `{field}`: {reason}")]
pub struct ProjectionError {
    /// JSON path of the offending field, e.g. `success_rate.value`.
    pub field: String,
    /// Human-readable explanation.
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> ProjectionError {
    ProjectionError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Year-keyed values exactly as written in the request. Kept as an ordered
/// list rather than a map so that repeated or out-of-order years and
/// non-numeric keys reach validation and get a named error instead of being
/// merged or rejected by the JSON layer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearSeries(pub Vec<(String, f64)>);

impl YearSeries {
    /// Builds a series from `(year, value)` pairs, in the order given.
    pub fn from_pairs(pairs: &[(i32, f64)]) -> Self {
        Self(pairs.iter().map(|(y, v)| (y.to_string(), *v)).collect())
    }
}

impl Serialize for YearSeries {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for YearSeries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SeriesVisitor;
        impl<'de> Visitor<'de> for SeriesVisitor {
            type Value = YearSeries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object mapping years to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<YearSeries, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry::<String, f64>()? {
                    out.push(entry);
                }
                Ok(YearSeries(out))
            }
        }
        d.deserialize_map(SeriesVisitor)
    }
}

/// The request body. Every field is optional; see [`DEFAULT_SOURCES`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapParams {
    /// First projected year.
    pub start_year: Option<i32>,
    /// Number of projected years, 1..=30 (signed so a negative value gets a named error).
    pub horizon_years: Option<i64>,
    /// AI infrastructure spend (capex), $bn by year.
    pub spend_usd_bn: Option<YearSeries>,
    /// Yearly spend growth for years not given (> −1).
    pub spend_growth: Option<f64>,
    /// Per-year overrides of `spend_growth`, e.g. `{"2028": 0.25}`.
    pub spend_growth_path: Option<YearSeries>,
    /// Converts spend into total cost (2 for GPU revenue → data-centre cost; 1 for total capex).
    pub cost_multiplier: Option<f64>,
    /// End users' gross margin in [0, 1).
    pub gross_margin: Option<f64>,
    /// AI revenue, $bn by year.
    pub revenue_usd_bn: Option<YearSeries>,
    /// Revenue growth at the reference success rate (≥ 0).
    pub revenue_growth: Option<f64>,
    /// Where the pilot success rate comes from.
    pub success_rate: Option<SuccessRateParams>,
    /// Success rate at which revenue grows at exactly `revenue_growth`.
    pub reference_success_rate: Option<f64>,
    /// Exponent linking success to growth, 0..=10.
    pub elasticity: Option<f64>,
    /// Request Monte Carlo percentile bands instead of low/high bands.
    pub monte_carlo: Option<MonteCarloParams>,
    /// The ceiling AI revenue saturates at, $bn a year (> 0).
    pub revenue_ceiling_usd_bn: Option<f64>,
    /// Most AI revenue can grow in one projected year, 0..=10.
    pub max_revenue_growth: Option<f64>,
    /// The hyperscalers' total revenue, $bn by year (capital intensity's denominator).
    pub hyperscaler_revenue_usd_bn: Option<YearSeries>,
    /// Yearly growth of hyperscaler revenue for years not given.
    pub hyperscaler_revenue_growth: Option<f64>,
    /// Named capital-intensity benchmarks (capex ÷ revenue), e.g. `{"tech_historical": 0.12}`.
    pub capital_intensity_benchmarks: Option<BTreeMap<String, f64>>,
    /// Straight-line useful life of a capex vintage, years (1..=30, fractions allowed).
    pub useful_life_years: Option<f64>,
    /// Yearly cost of capital charged on net book value (0..=1).
    pub cost_of_capital: Option<f64>,
    /// The hyperscalers' operating cash flow, $bn by year.
    pub operating_cash_flow_usd_bn: Option<YearSeries>,
    /// Yearly growth of operating cash flow for years not given.
    pub operating_cash_flow_growth: Option<f64>,
    /// Dividends plus buybacks, $bn by year.
    pub shareholder_returns_usd_bn: Option<YearSeries>,
    /// Yearly growth of shareholder returns for years not given.
    pub shareholder_returns_growth: Option<f64>,
    /// The one-at-a-time sensitivity (tornado) settings.
    pub sensitivity: Option<SensitivityParams>,
}

/// `sensitivity` in the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensitivityParams {
    /// The year whose gap the tornado reports (default: the last projected year).
    pub year: Option<i32>,
    /// Relative low/high move of each parameter without its own range, (0, 1) (default 0.25).
    pub relative_change: Option<f64>,
}

/// `success_rate` in the request: `{"source": "fixed", "value": 0.05}`,
/// `{"source": "fixed", "value": 0.05, "low": 0.03, "high": 0.08}`,
/// `{"source": "fixed", "by_year": {"2026": 0.06}}` or `{"source": "measured"}`.
/// `source` is a plain string so an unknown source is a named validation
/// error rather than an opaque deserialization failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuccessRateParams {
    /// `fixed` (default) or `measured`.
    pub source: Option<String>,
    /// Rate for every year not listed in `by_year`.
    pub value: Option<f64>,
    /// Step series: each year uses the latest listed year at or before it
    /// (the earliest listed for years before all of them); `value`, when
    /// given, fills every unlisted year instead.
    pub by_year: Option<YearSeries>,
    /// 95% interval low end; needs `value` and `high`, not `by_year`.
    pub low: Option<f64>,
    /// 95% interval high end; needs `value` and `low`, not `by_year`.
    pub high: Option<f64>,
}

/// `monte_carlo` in the request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonteCarloParams {
    /// Number of draws, 1..=100000 (default 1000).
    pub draws: Option<i64>,
    /// `ChaCha20` seed (default 42); the same seed gives bit-identical bands.
    pub seed: Option<u64>,
}

/// One year's success-rate estimate with its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateEstimate {
    /// Point estimate of the success rate.
    pub estimate: f64,
    /// 95% low.
    pub low: f64,
    /// 95% high.
    pub high: f64,
    /// Degrees of freedom of the Student's t the interval was built with (a
    /// measured rate from the cluster-robust trend: organisations − 1);
    /// `None` for a normal interval. Monte Carlo draws follow the same
    /// distribution, so their spread matches the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<u32>,
}

impl RateEstimate {
    /// An estimate without uncertainty.
    pub fn exact(rate: f64) -> Self {
        Self {
            estimate: rate,
            low: rate,
            high: rate,
            df: None,
        }
    }
}

/// Success rates measured from the organisation zero-return trend, passed in
/// by the caller for `source: measured`. Years without an entry use the latest
/// earlier entry (the earliest for years before all entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasuredRate {
    /// Estimate per year.
    pub by_year: BTreeMap<i32, RateEstimate>,
    /// Where each year's estimate came from (missing years read as `trend`).
    #[serde(default)]
    pub basis: BTreeMap<i32, MeasuredBasis>,
}

/// Whether a measured year is a published quarterly share or the trend's projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredKind {
    /// A published (unsuppressed) quarterly organisation zero-return share.
    Published,
    /// The organisation trend's projection.
    Trend,
}

/// The provenance of one measured year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredBasis {
    /// Published or projected.
    pub kind: MeasuredKind,
    /// The quarter, e.g. `2025Q4`.
    pub quarter: String,
}

/// The success-rate source after defaults and validation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
enum SuccessRate {
    Fixed {
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        by_year: BTreeMap<i32, f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        low: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        high: Option<f64>,
    },
    Measured,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct MonteCarlo {
    draws: usize,
    seed: u64,
}

/// Every parameter of [`GapParams`] with defaults filled in. Opaque: it is
/// echoed as `parameters`, and that JSON parses back into an equivalent
/// request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedParams {
    start_year: i32,
    horizon_years: u32,
    spend_usd_bn: BTreeMap<i32, f64>,
    spend_growth: f64,
    spend_growth_path: BTreeMap<i32, f64>,
    cost_multiplier: f64,
    gross_margin: f64,
    revenue_usd_bn: BTreeMap<i32, f64>,
    revenue_growth: f64,
    success_rate: SuccessRate,
    reference_success_rate: f64,
    elasticity: f64,
    monte_carlo: Option<MonteCarlo>,
    revenue_ceiling_usd_bn: f64,
    max_revenue_growth: f64,
    hyperscaler_revenue_usd_bn: BTreeMap<i32, f64>,
    hyperscaler_revenue_growth: f64,
    capital_intensity_benchmarks: BTreeMap<String, f64>,
    useful_life_years: f64,
    cost_of_capital: f64,
    operating_cash_flow_usd_bn: BTreeMap<i32, f64>,
    operating_cash_flow_growth: f64,
    shareholder_returns_usd_bn: BTreeMap<i32, f64>,
    shareholder_returns_growth: f64,
    sensitivity: Sensitivity,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct Sensitivity {
    year: i32,
    relative_change: f64,
}

/// Where each default comes from (field → sentence with its source).
pub const DEFAULT_SOURCES: &[(&str, &str)] = &[
    ("start_year", "2026: the first year covered by the hyperscalers' published AI capex guidance (company capex guidance 2026)."),
    ("horizon_years", "10 years: design choice, long enough for revenue growing at Cahn's implied pace to overtake a ~$1T capex level."),
    ("spend_usd_bn", "2026: $800B, midpoint of the big five hyperscalers' 2026 AI capex guidance ($700-900B, product design); press reports after Q1-2026 earnings put the four US hyperscalers' plans near $725B (Zacks, via techreaderdaily.com) and Oracle's near $50B (itaura.tech), about $775B, inside that range (press reports, not re-checked against filings); 2027: ~$1T as that guidance heads there."),
    ("spend_growth", "0.10 a year after 2027: design assumption; no company guidance reaches past 2027, so growth is taken to slow sharply from 2026-27's +25%."),
    ("spend_growth_path", "None: no per-year growth overrides."),
    ("cost_multiplier", "1: the default spend is total hyperscaler AI capex already; Cahn's x2 (Sequoia, David Cahn, 'AI's $600B Question', June 2024) only converts NVIDIA GPU revenue into total data-centre cost."),
    ("gross_margin", "0.5: Sequoia, David Cahn, 'AI's $600B Question', June 2024: AI end users must earn a 50% gross margin."),
    ("revenue_usd_bn", "2023: $75B (Sequoia, David Cahn, 'AI's $200B Question', Sept 2023: $200B required less the $125B gap); 2024: $100B (Sequoia, David Cahn, 'AI's $600B Question', June 2024)."),
    ("revenue_growth", "1/3 a year: implied by Cahn's own figures, $75B (2023) to $100B (2024) = +33.3%."),
    ("success_rate", "fixed 0.05: MIT Project NANDA, 'The GenAI Divide', July 2025: 95% of organisations get zero return from GenAI pilots, so success = 1 - 0.95 = 0.05."),
    ("success_rate.source", "fixed: the MIT Project NANDA figure (July 2025) is a single published number; `measured` needs the service's organisation data."),
    ("success_rate.value", "0.05: MIT Project NANDA, 'The GenAI Divide', July 2025: 95% of organisations zero return, so success 0.05."),
    ("reference_success_rate", "0.05: set to the MIT Project NANDA (July 2025) baseline, so at today's success rate revenue grows at exactly revenue_growth."),
    ("elasticity", "1: design assumption, revenue growth proportional to the success rate (twice the successful pilots, twice the growth)."),
    ("monte_carlo.draws", "1000: design choice, p10/p90 stable to about a percentile while staying fast."),
    ("monte_carlo.seed", "42: fixed so that repeated requests return identical bands."),
    ("revenue_ceiling_usd_bn", "$10,000B a year: design assumption (no published source), about 2.3 times the required revenue of the default horizon's last year (2035: $4,287B); AI revenue saturates towards it (Beverton-Holt form), so no success rate can make revenue run away."),
    ("max_revenue_growth", "1.0 (revenue at most doubles in a projected year): design assumption (no published source), three times Cahn's implied +33% a year; a measured success rate ten times the reference would otherwise mean +333% a year."),
    ("hyperscaler_revenue_usd_bn", "2025: $1,680B, the big five's (Amazon, Microsoft, Alphabet, Meta, Oracle) approximate combined revenue: an estimate not verified offline against their filings; with $800B capex it gives 2026 capital intensity inside the issue-provided 45-57% range."),
    ("hyperscaler_revenue_growth", "0.12 a year: design assumption (no published source), near the big five's recent double-digit revenue growth."),
    ("capital_intensity_benchmarks", "tech_historical 0.12: issue-provided figure (historical low teens for tech); telecom_2000_peak 0.28: unsourced placeholder (the issue names the benchmark without a value); replace both with your own sources."),
    ("useful_life_years", "5.5 years: midpoint of the hyperscalers' server lives (Microsoft and Alphabet 6 years from 2022-23, Amazon 5, Meta 5.5 from 2025: company 10-K/10-Q filings as quoted in press reports, not re-verified offline); critics argue 2-3 years for GPUs (issue-provided figure)."),
    ("cost_of_capital", "0.08 a year: design assumption (no published source), a typical large-cap technology cost of capital."),
    ("operating_cash_flow_usd_bn", "2025: $577B, the big five's expected operating cash flow (Bank of America research as reported by theinvestmentnews.com, 2025; press report, not verified against the note)."),
    ("operating_cash_flow_growth", "0.18 a year: the same Bank of America projection, $577B (2025) to about $1.1T (2029) = +95%, i.e. 1.95^(1/4) - 1 = 18% a year (press report)."),
    ("shareholder_returns_usd_bn", "2025: $160B of dividends and buybacks: approximate, not verified offline (the issue says capex now exceeds cash flow after buybacks and dividends; Bank of America put capex at 94% of operating cash flow less dividends and buybacks in 2025, as reported by 24/7 Wall St.)."),
    ("shareholder_returns_growth", "0 a year: design assumption, returns held flat."),
    ("sensitivity.year", "The last projected year: design choice, where the parameters' effects have compounded longest."),
    ("sensitivity.relative_change", "0.25: design choice, each parameter without its own range moves 25% down and up; the success rate uses its own 95% interval and the useful life 2.5 (critics' 2-3 years) to 6 years (Microsoft, Alphabet)."),
];

/// A validity test and its wording for error messages.
type Rule = (fn(f64) -> bool, &'static str);
const NON_NEGATIVE: Rule = (|v| v >= 0.0, "≥ 0");
const POSITIVE: Rule = (|v| v > 0.0, "> 0");
const UNIT: Rule = (|v| (0.0..=1.0).contains(&v), "within [0, 1]");
const MARGIN: Rule = (|v| (0.0..1.0).contains(&v), "within [0, 1)");
const REFERENCE: Rule = (|v| v > 0.0 && v <= 1.0, "within (0, 1]");
const SPEND_GROWTH: Rule = (|v| v > -1.0 && v <= 10.0, "within (-1, 10]");
// Revenue growth must be ≥ 0: g = revenue_growth × (success/reference)^e, so a
// negative base would make a higher success rate shrink revenue faster.
const REVENUE_GROWTH: Rule = (|v| (0.0..=10.0).contains(&v), "within [0, 10]");
const ELASTICITY: Rule = (|v| (0.0..=10.0).contains(&v), "within [0, 10]");
const CEILING: Rule = (|v| v > 0.0 && v <= 1e6, "within (0, 1000000]");
const GROWTH_CAP: Rule = (|v| (0.0..=10.0).contains(&v), "within [0, 10]");
const LIFE: Rule = (|v| (1.0..=30.0).contains(&v), "within [1, 30]");
const RELATIVE: Rule = (|v| v > 0.0 && v < 1.0, "within (0, 1)");
const INTENSITY: Rule = (|v| (0.0..=10.0).contains(&v), "within [0, 10]");
/// Most named capital-intensity benchmarks one request may carry.
pub const MAX_BENCHMARKS: usize = 8;

fn check_num(field: &str, v: f64, (ok, rule): Rule) -> Result<f64, ProjectionError> {
    if !v.is_finite() {
        return Err(err(field, "must be a finite number"));
    }
    if !ok(v) {
        return Err(err(field, format!("must be {rule}, got {v}")));
    }
    Ok(v)
}

/// Parses a year series: integer keys in 1990..=2100, strictly increasing,
/// values finite and satisfying `rule`.
fn parse_series(field: &str, s: &YearSeries, rule: Rule) -> Result<BTreeMap<i32, f64>, ProjectionError> {
    let mut out = BTreeMap::new();
    for (key, v) in &s.0 {
        let year = match key.trim().parse::<i32>() {
            Ok(y) if YEAR_RANGE.contains(&y) => y,
            Ok(_) => return Err(err(field, format!("year {key} is outside 1990..=2100"))),
            Err(_) => return Err(err(field, format!("year key `{key}` is not an integer"))),
        };
        if let Some((&last, _)) = out.iter().next_back() {
            if year <= last {
                let reason = format!("years must increase without repeats: {year} follows {last}");
                return Err(err(field, reason));
            }
        }
        out.insert(year, check_num(&format!("{field}.{year}"), *v, rule)?);
    }
    Ok(out)
}

/// Validates fields while recording which ones fell back to defaults.
struct Resolver(Vec<String>);

impl Resolver {
    fn or<T>(&mut self, given: Option<T>, default: T, name: &str) -> T {
        given.unwrap_or_else(|| {
            self.0.push(name.into());
            default
        })
    }

    fn num(&mut self, given: Option<f64>, default: f64, name: &str, rule: Rule) -> Result<f64, ProjectionError> {
        check_num(name, self.or(given, default, name), rule)
    }

    /// A series; `default: None` means "empty is fine", otherwise at least one year is needed.
    fn series(
        &mut self,
        given: &Option<YearSeries>,
        default: Option<&[(i32, f64)]>,
        name: &str,
        rule: Rule,
    ) -> Result<BTreeMap<i32, f64>, ProjectionError> {
        let Some(s) = given else {
            self.0.push(name.into());
            return Ok(default.unwrap_or_default().iter().copied().collect());
        };
        if default.is_some() && s.0.is_empty() {
            return Err(err(name, "must list at least one year"));
        }
        parse_series(name, s, rule)
    }

    fn success(&mut self, given: &Option<SuccessRateParams>) -> Result<SuccessRate, ProjectionError> {
        let Some(sr) = given else {
            self.0.push("success_rate".into());
            return Ok(SuccessRate::Fixed {
                value: Some(0.05),
                by_year: BTreeMap::new(),
                low: None,
                high: None,
            });
        };
        match self.or(sr.source.as_deref(), "fixed", "success_rate.source") {
            "measured" => {
                let extra = sr.value.is_some() || sr.by_year.is_some() || sr.low.is_some();
                if extra || sr.high.is_some() {
                    let reason = "source `measured` takes no value, by_year, low or high";
                    return Err(err("success_rate", reason));
                }
                Ok(SuccessRate::Measured)
            }
            "fixed" => {
                let by_year = match &sr.by_year {
                    Some(s) => parse_series("success_rate.by_year", s, UNIT)?,
                    None => BTreeMap::new(),
                };
                let value = match sr.value {
                    Some(v) => Some(check_num("success_rate.value", v, UNIT)?),
                    None if by_year.is_empty() => Some(self.or(None, 0.05, "success_rate.value")),
                    None => None,
                };
                let (low, high) = match (sr.low, sr.high) {
                    (None, None) => (None, None),
                    (Some(l), Some(h)) => {
                        let l = check_num("success_rate.low", l, UNIT)?;
                        let h = check_num("success_rate.high", h, UNIT)?;
                        // The interval belongs to the scalar value, so it needs one.
                        let fits = matches!(sr.value, Some(v) if l <= v && v <= h);
                        if !fits || !by_year.is_empty() {
                            let reason = "needs a `value` with low ≤ value ≤ high, and no `by_year`";
                            return Err(err("success_rate.low", reason));
                        }
                        (Some(l), Some(h))
                    }
                    _ => return Err(err("success_rate.low", "`low` and `high` go together")),
                };
                Ok(SuccessRate::Fixed {
                    value,
                    by_year,
                    low,
                    high,
                })
            }
            other => Err(err(
                "success_rate.source",
                format!("unknown source `{other}`: expected `fixed` or `measured`"),
            )),
        }
    }
}

impl GapParams {
    /// Checks every field; the error names the first offending one.
    pub fn validate(&self) -> Result<(), ProjectionError> {
        self.resolve().map(|_| ())
    }

    /// Validates and fills defaults, returning the resolved parameters and
    /// the names of the fields that were taken from defaults.
    pub fn resolve(&self) -> Result<(ResolvedParams, Vec<String>), ProjectionError> {
        let mut d = Resolver(Vec::new());
        let start_year = d.or(self.start_year, 2026, "start_year");
        if !YEAR_RANGE.contains(&start_year) {
            return Err(err(
                "start_year",
                format!("must be within 1990..=2100, got {start_year}"),
            ));
        }
        let horizon = d.or(self.horizon_years, 10, "horizon_years");
        if !(1..=MAX_HORIZON_YEARS).contains(&horizon) {
            return Err(err("horizon_years", format!("must be within 1..=30, got {horizon}")));
        }
        if i64::from(start_year) + horizon - 1 > i64::from(*YEAR_RANGE.end()) {
            return Err(err("horizon_years", "the horizon runs past 2100"));
        }
        let params = ResolvedParams {
            start_year,
            horizon_years: horizon as u32,
            spend_usd_bn: d.series(
                &self.spend_usd_bn,
                Some(&[(2026, 800.0), (2027, 1000.0)]),
                "spend_usd_bn",
                NON_NEGATIVE,
            )?,
            spend_growth: d.num(self.spend_growth, 0.1, "spend_growth", SPEND_GROWTH)?,
            spend_growth_path: d.series(&self.spend_growth_path, None, "spend_growth_path", SPEND_GROWTH)?,
            cost_multiplier: d.num(self.cost_multiplier, 1.0, "cost_multiplier", POSITIVE)?,
            gross_margin: d.num(self.gross_margin, 0.5, "gross_margin", MARGIN)?,
            revenue_usd_bn: d.series(
                &self.revenue_usd_bn,
                Some(&[(2023, 75.0), (2024, 100.0)]),
                "revenue_usd_bn",
                NON_NEGATIVE,
            )?,
            revenue_growth: d.num(self.revenue_growth, 1.0 / 3.0, "revenue_growth", REVENUE_GROWTH)?,
            success_rate: d.success(&self.success_rate)?,
            reference_success_rate: d.num(self.reference_success_rate, 0.05, "reference_success_rate", REFERENCE)?,
            elasticity: d.num(self.elasticity, 1.0, "elasticity", ELASTICITY)?,
            monte_carlo: match &self.monte_carlo {
                None => None,
                Some(mc) => {
                    let draws = d.or(mc.draws, 1000, "monte_carlo.draws");
                    if !(1..=MAX_DRAWS).contains(&draws) {
                        return Err(err(
                            "monte_carlo.draws",
                            format!("must be within 1..=100000, got {draws}"),
                        ));
                    }
                    Some(MonteCarlo {
                        draws: draws as usize,
                        seed: d.or(mc.seed, 42, "monte_carlo.seed"),
                    })
                }
            },
            revenue_ceiling_usd_bn: 0.0,
            max_revenue_growth: 0.0,
            hyperscaler_revenue_usd_bn: BTreeMap::new(),
            hyperscaler_revenue_growth: 0.0,
            capital_intensity_benchmarks: BTreeMap::new(),
            useful_life_years: 1.0,
            cost_of_capital: 0.0,
            operating_cash_flow_usd_bn: BTreeMap::new(),
            operating_cash_flow_growth: 0.0,
            shareholder_returns_usd_bn: BTreeMap::new(),
            shareholder_returns_growth: 0.0,
            sensitivity: Sensitivity {
                year: start_year,
                relative_change: 0.25,
            },
        };
        let mut params = params;
        self.resolve_accounts(&mut d, &mut params)?;
        Ok((params, d.0))
    }

    /// The bound on revenue, the hyperscaler accounts and the sensitivity settings.
    fn resolve_accounts(&self, d: &mut Resolver, p: &mut ResolvedParams) -> Result<(), ProjectionError> {
        p.revenue_ceiling_usd_bn = d.num(self.revenue_ceiling_usd_bn, 10_000.0, "revenue_ceiling_usd_bn", CEILING)?;
        if let Some((year, v)) = p.revenue_usd_bn.iter().find(|(_, v)| **v > p.revenue_ceiling_usd_bn) {
            let reason = format!("must be at least every given revenue, but {year} gives {v}");
            return Err(err("revenue_ceiling_usd_bn", reason));
        }
        p.max_revenue_growth = d.num(self.max_revenue_growth, 1.0, "max_revenue_growth", GROWTH_CAP)?;
        p.hyperscaler_revenue_usd_bn = d.series(
            &self.hyperscaler_revenue_usd_bn,
            Some(&[(2025, 1680.0)]),
            "hyperscaler_revenue_usd_bn",
            NON_NEGATIVE,
        )?;
        p.hyperscaler_revenue_growth = d.num(
            self.hyperscaler_revenue_growth,
            0.12,
            "hyperscaler_revenue_growth",
            SPEND_GROWTH,
        )?;
        p.capital_intensity_benchmarks = match &self.capital_intensity_benchmarks {
            None => d.or(
                None,
                BTreeMap::from([("tech_historical".into(), 0.12), ("telecom_2000_peak".into(), 0.28)]),
                "capital_intensity_benchmarks",
            ),
            Some(b) => parse_benchmarks(b)?,
        };
        p.useful_life_years = d.num(self.useful_life_years, 5.5, "useful_life_years", LIFE)?;
        p.cost_of_capital = d.num(self.cost_of_capital, 0.08, "cost_of_capital", UNIT)?;
        p.operating_cash_flow_usd_bn = d.series(
            &self.operating_cash_flow_usd_bn,
            Some(&[(2025, 577.0)]),
            "operating_cash_flow_usd_bn",
            NON_NEGATIVE,
        )?;
        p.operating_cash_flow_growth = d.num(
            self.operating_cash_flow_growth,
            0.18,
            "operating_cash_flow_growth",
            SPEND_GROWTH,
        )?;
        p.shareholder_returns_usd_bn = d.series(
            &self.shareholder_returns_usd_bn,
            Some(&[(2025, 160.0)]),
            "shareholder_returns_usd_bn",
            NON_NEGATIVE,
        )?;
        p.shareholder_returns_growth = d.num(
            self.shareholder_returns_growth,
            0.0,
            "shareholder_returns_growth",
            SPEND_GROWTH,
        )?;
        let s = self.sensitivity.clone().unwrap_or_default();
        let end = p.start_year + p.horizon_years as i32 - 1;
        let year = d.or(s.year, end, "sensitivity.year");
        if !(p.start_year..=end).contains(&year) {
            let reason = format!("must be a projected year, {}..={end}, got {year}", p.start_year);
            return Err(err("sensitivity.year", reason));
        }
        let relative_change = d.num(s.relative_change, 0.25, "sensitivity.relative_change", RELATIVE)?;
        p.sensitivity = Sensitivity { year, relative_change };
        Ok(())
    }
}

/// Benchmark names are short snake_case words; values are capex ÷ revenue ratios.
fn parse_benchmarks(b: &BTreeMap<String, f64>) -> Result<BTreeMap<String, f64>, ProjectionError> {
    let field = "capital_intensity_benchmarks";
    if b.len() > MAX_BENCHMARKS {
        return Err(err(field, format!("at most {MAX_BENCHMARKS} benchmarks")));
    }
    for (name, v) in b {
        let ok = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_');
        if !ok {
            let reason = format!("name `{name}` must be 1-40 characters of a-z, 0-9 and _");
            return Err(err(field, reason));
        }
        check_num(&format!("{field}.{name}"), *v, INTENSITY)?;
    }
    Ok(b.clone())
}

/// How a scenario changes the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScenarioChange {
    /// The parameters as given.
    None,
    /// Every year's success rate (estimate and interval) × `factor`, capped at 1.
    ScaleSuccessRate {
        /// Multiplier on the success rate.
        factor: f64,
    },
    /// `spend_growth` and each `spend_growth_path` entry × `factor` where
    /// positive; declines are left alone so "slows" never means more spend
    /// going forward. Given spend years are unchanged.
    ScalePositiveSpendGrowth {
        /// Multiplier on positive growth rates.
        factor: f64,
    },
}

/// A named scenario, defined as data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScenarioDef {
    /// Stable identifier.
    pub name: &'static str,
    /// What the scenario assumes.
    pub description: &'static str,
    /// The parameter change.
    pub change: ScenarioChange,
}

/// The scenarios every projection runs, in response order.
pub const SCENARIOS: [ScenarioDef; 3] = [
    ScenarioDef {
        name: "status_quo",
        description: "The parameters as given.",
        change: ScenarioChange::None,
    },
    ScenarioDef {
        name: "revenue_catches_up",
        description: "Twice as many pilots reach measurable P&L impact (success rate x2, capped at 1, in every year, interval included, e.g. NANDA's 5% becomes 10%); through the elasticity revenue growth rises by 2^elasticity.",
        change: ScenarioChange::ScaleSuccessRate { factor: 2.0 },
    },
    ScenarioDef {
        name: "spending_slows",
        description: "Capex growth is halved: spend_growth and every positive spend_growth_path entry x0.5 (declines kept); given spend years are unchanged.",
        change: ScenarioChange::ScalePositiveSpendGrowth { factor: 0.5 },
    },
];

/// Runs all scenarios. `measured` is required when `success_rate.source` is
/// `measured` and ignored otherwise.
pub fn project(params: &GapParams, measured: Option<&MeasuredRate>) -> Result<GapProjection, ProjectionError> {
    let (parameters, defaults_used) = params.resolve()?;
    if parameters.success_rate == SuccessRate::Measured {
        let m = measured.ok_or_else(|| {
            err(
                "success_rate.source",
                "source `measured` needs measured organisation data, and none is available",
            )
        })?;
        engine::validate_measured(m)?;
    }
    let mut warnings = Vec::new();
    let mut scenarios = Vec::with_capacity(SCENARIOS.len());
    for def in &SCENARIOS {
        let run = scenario::run_scenario(def, &parameters, measured, scenario::RateMode::AsGiven)?;
        scenarios.push(run.result);
        warnings.extend(run.warnings);
    }
    warnings.extend(backcast_vintages_warning(&parameters));
    let (sensitivity, odd) = sensitivity::tornado(&parameters, measured)?;
    warnings.extend(odd);
    let defaults_sources = DEFAULT_SOURCES
        .iter()
        .filter(|(k, _)| defaults_used.iter().any(|u| u == k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let benchmarks = Benchmarks {
        capital_intensity: parameters.capital_intensity_benchmarks.clone(),
        divergence: DIVERGENCE_BENCHMARKS.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        divergence_method: DIVERGENCE_METHOD,
    };
    let measured_success_rate = match (&parameters.success_rate, measured) {
        (SuccessRate::Measured, Some(m)) => Some(measured_years(m)),
        _ => None,
    };
    Ok(GapProjection {
        parameters,
        defaults_used,
        defaults_sources,
        scenarios,
        warnings,
        benchmarks,
        sensitivity,
        measured_success_rate,
    })
}

/// The measured rate as used, one row per measured year.
fn measured_years(m: &MeasuredRate) -> Vec<MeasuredYear> {
    m.by_year
        .iter()
        .map(|(year, e)| {
            let basis = m.basis.get(year);
            MeasuredYear {
                year: *year,
                estimate: e.estimate,
                low: e.low,
                high: e.high,
                basis: basis.map_or(MeasuredKind::Trend, |b| b.kind),
                quarter: basis.map_or_else(|| format!("{year}"), |b| b.quarter.clone()),
            }
        })
        .collect()
}

/// Capex vintages depreciating inside the horizon that were back-cast
/// rather than given: their depreciation is the model's guess.
fn backcast_vintages_warning(p: &ResolvedParams) -> Option<Warning> {
    let first_given = *p.spend_usd_bn.keys().next()?;
    let first_vintage = p.start_year - p.useful_life_years.ceil() as i32 + 1;
    let end = p.start_year + p.horizon_years as i32 - 1;
    let years: Vec<i32> = (first_vintage..first_given.min(end + 1)).collect();
    (!years.is_empty()).then(|| Warning {
        code: "depreciation_backcast_vintages",
        scenario: None,
        years,
        message: format!(
            "These capex vintages still depreciate inside the horizon but were not given: they were back-cast from {first_given} at spend_growth, so the depreciation-based required revenue rests on them. Give spend_usd_bn for those years to replace the guess."
        ),
    })
}
