//! The definitions researchers cite (written out in docs/DEFINITIONS.md),
//! implemented once and shared by the finance summaries and the
//! cross-organisation aggregates. Change anything here and bump
//! `DEFINITION_VERSION`.

use chrono::{Datelike, Months, NaiveDate};

use crate::domain::enums::AttributionMethod;

/// Version of these definitions, echoed in every aggregate response.
pub const DEFINITION_VERSION: &str = "pilotledger-def-4";

/// The published grid of `min_impact` values, in whole USD.
pub const MIN_IMPACT_GRID_USD: [i64; 4] = [0, 1_000, 10_000, 100_000];
/// The published grid of `window_months` values.
pub const WINDOW_GRID_MONTHS: [u32; 3] = [3, 6, 12];
pub const DEFAULT_MIN_IMPACT_USD: i64 = 0;
pub const DEFAULT_WINDOW_MONTHS: u32 = 6;

/// The parameters of the zero-impact definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DefinitionParams {
    /// Whole USD; a pilot is zero-impact when its measured net impact is at most this.
    pub min_impact: i64,
    pub window_months: u32,
}

impl Default for DefinitionParams {
    fn default() -> Self {
        Self {
            min_impact: DEFAULT_MIN_IMPACT_USD,
            window_months: DEFAULT_WINDOW_MONTHS,
        }
    }
}

impl DefinitionParams {
    /// Accepts only values on the published grid, so every published figure is
    /// one of a known, finite set of comparable numbers.
    pub fn on_grid(min_impact: i64, window_months: u32) -> Result<Self, &'static str> {
        if !MIN_IMPACT_GRID_USD.contains(&min_impact) {
            return Err("min_impact");
        }
        if !WINDOW_GRID_MONTHS.contains(&window_months) {
            return Err("window_months");
        }
        Ok(Self {
            min_impact,
            window_months,
        })
    }

    /// `min_impact` in USD cents.
    pub fn min_impact_usd_minor(&self) -> i64 {
        self.min_impact * 100
    }
}

/// The evaluation date (docs/DEFINITIONS.md#evaluated): one function, in
/// `domain`, for the ledger, the analytics and the demo data alike.
pub use crate::domain::pilots::evaluation_date;

/// Whether an impact entry counts toward measured net impact: backed by a
/// measurement and attributed by a method other than self-reporting.
pub fn counts_as_measured(measured: bool, method: AttributionMethod) -> bool {
    measured && method != AttributionMethod::SelfReported
}

/// The last period end that still counts: `window_months` after the evaluation
/// date (clamped to the end of a shorter month, e.g. Aug 31 + 6 → Feb 28/29).
pub fn window_end(evaluation: NaiveDate, window_months: u32) -> NaiveDate {
    evaluation
        .checked_add_months(Months::new(window_months))
        .unwrap_or(NaiveDate::MAX)
}

/// One impact entry already converted to USD minor units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsdImpact {
    pub period_end: NaiveDate,
    pub amount_usd_minor: i64,
    pub measured: bool,
    pub method: AttributionMethod,
}

/// Measured net impact in USD minor units: the sum of counting entries whose
/// period ends no later than the window end. `None` on overflow.
pub fn measured_net_impact(impacts: &[UsdImpact], evaluation: NaiveDate, window_months: u32) -> Option<i64> {
    let end = window_end(evaluation, window_months);
    let mut sum: i128 = 0;
    for i in impacts {
        if counts_as_measured(i.measured, i.method) && i.period_end <= end {
            sum += i128::from(i.amount_usd_minor);
        }
    }
    i64::try_from(sum).ok()
}

/// Zero-impact: measured net impact at most `min_impact`.
pub fn is_zero_impact(net_usd_minor: i64, params: &DefinitionParams) -> bool {
    net_usd_minor <= params.min_impact_usd_minor()
}

/// What a published definition flags each evaluated pilot with: the outcome
/// whose share its figure is (docs/DEFINITIONS.md#published-definitions).
/// Every definition flags the same pilots' outcomes, so each cell's counts
/// (organisations, pilots) are the same whichever is asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Measure {
    /// No measured P&L impact above `min_impact` within the window (MIT
    /// NANDA 2025 at organisation level, pilotledger's own at pilot level).
    #[default]
    ZeroImpact,
    /// Abandoned without ever having reached production (S&P Global 2025).
    AbandonedBeforeProduction,
    /// Measured net impact within the window at least the expected annual
    /// benefit recorded for it; a pilot without one has not met it (IBM 2025).
    MetExpectedBenefit,
    /// Neither measured revenue uplift nor measured cost reduction or
    /// avoidance above zero within the window (PwC 2026).
    NeitherRevenueNorCost,
}

/// What the measures read of one evaluated pilot (USD minor units, within
/// the window asked for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PilotOutcome {
    pub measured_net: i64,
    pub abandoned: bool,
    pub reached_production: bool,
    pub expected_benefit: Option<i64>,
    pub revenue_uplift: i64,
    pub cost_decrease: i64,
}

impl Measure {
    /// Whether the pilot is flagged under this measure with parameters `p`.
    pub fn holds(self, o: &PilotOutcome, p: &DefinitionParams) -> bool {
        match self {
            Measure::ZeroImpact => is_zero_impact(o.measured_net, p),
            Measure::AbandonedBeforeProduction => o.abandoned && !o.reached_production,
            Measure::MetExpectedBenefit => o.expected_benefit.is_some_and(|b| o.measured_net >= b),
            Measure::NeitherRevenueNorCost => o.revenue_uplift <= 0 && o.cost_decrease <= 0,
        }
    }
}

/// A calendar quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    /// 1–4.
    pub q: u32,
}

impl Quarter {
    pub fn of(d: NaiveDate) -> Self {
        Self {
            year: d.year(),
            q: (d.month0() / 3) + 1,
        }
    }

    pub fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.q - 1) * 3 + 1, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Last day of the quarter.
    pub fn end(self) -> NaiveDate {
        self.next().start().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    pub fn next(self) -> Self {
        if self.q == 4 {
            Self {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Self {
                year: self.year,
                q: self.q + 1,
            }
        }
    }

    /// The middle of the quarter as a date-time in days: start + (end − start + 1) / 2.
    pub fn middle_t(self) -> f64 {
        let days = (self.end() - self.start()).num_days() as f64 + 1.0;
        years_since_2000(self.start()) + days / 2.0 / 365.25
    }

    /// Parses `2026Q1` (also `2026-Q1`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (y, q) = s.split_once("-Q").or_else(|| s.split_once('Q'))?;
        let year: i32 = y.parse().ok()?;
        let q: u32 = q.parse().ok()?;
        ((1..=4).contains(&q) && (1990..=2100).contains(&year)).then_some(Self { year, q })
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

/// The trends' time axis (docs/DEFINITIONS.md#trends): (date − 2000-01-01 in days) / 365.25.
pub fn years_since_2000(d: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN);
    (d - epoch).num_days() as f64 / 365.25
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::Stage;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn imp(end: &str, usd: i64, measured: bool, method: AttributionMethod) -> UsdImpact {
        UsdImpact {
            period_end: d(end),
            amount_usd_minor: usd,
            measured,
            method,
        }
    }

    #[test]
    fn measured_net_impact_counts_only_measured_non_self_reported_inside_the_window() {
        use AttributionMethod::*;
        let eval = d("2026-01-15");
        let impacts = [
            imp("2026-03-31", 100, true, ControlledExperiment),
            imp("2026-07-15", 10, true, BeforeAfter), // exactly at the 6-month end: counts
            imp("2026-07-16", 1_000, true, BeforeAfter), // one day late
            imp("2026-02-28", 5_000, false, ModelEstimate), // forecast
            imp("2026-02-28", 7_000, true, SelfReported), // self-reported
            imp("2025-12-31", -30, true, DifferenceInDifferences), // before evaluation: counts
        ];
        assert_eq!(measured_net_impact(&impacts, eval, 6), Some(100 + 10 - 30));
        assert_eq!(measured_net_impact(&impacts, eval, 3), Some(100 - 30));
        assert_eq!(measured_net_impact(&impacts, eval, 12), Some(100 + 10 + 1_000 - 30));
    }

    #[test]
    fn zero_impact_is_at_most_min_impact() {
        let p0 = DefinitionParams::default();
        assert!(is_zero_impact(0, &p0));
        assert!(is_zero_impact(-5, &p0));
        assert!(!is_zero_impact(1, &p0));
        let p1k = DefinitionParams::on_grid(1_000, 6).unwrap();
        assert!(is_zero_impact(100_000, &p1k));
        assert!(!is_zero_impact(100_001, &p1k));
        assert_eq!(DefinitionParams::on_grid(500, 6), Err("min_impact"));
        assert_eq!(DefinitionParams::on_grid(0, 4), Err("window_months"));
    }

    #[test]
    fn evaluation_follows_the_definition() {
        assert_eq!(evaluation_date(None, Stage::Piloting, Some(d("2026-01-01"))), None);
        assert_eq!(
            evaluation_date(None, Stage::Production, Some(d("2026-01-02"))),
            Some(d("2026-01-02"))
        );
        assert_eq!(
            evaluation_date(Some(d("2025-12-01")), Stage::Proposed, Some(d("2026-01-02"))),
            Some(d("2025-12-01"))
        );
        // Evaluated, but nobody said when: not dated at all.
        assert_eq!(evaluation_date(None, Stage::Scaled, None), None);
    }

    #[test]
    fn windows_clamp_to_month_ends() {
        assert_eq!(window_end(d("2025-08-31"), 6), d("2026-02-28"));
        assert_eq!(window_end(d("2023-08-31"), 6), d("2024-02-29"));
    }

    #[test]
    fn quarters() {
        let q = Quarter::of(d("2026-05-17"));
        assert_eq!(q.to_string(), "2026Q2");
        assert_eq!((q.start(), q.end()), (d("2026-04-01"), d("2026-06-30")));
        assert_eq!(Quarter::of(d("2026-12-31")).next(), Quarter { year: 2027, q: 1 });
        assert_eq!(Quarter::parse("2026Q4"), Some(Quarter { year: 2026, q: 4 }));
        assert_eq!(Quarter::parse("2026Q5"), None);
        // 2026Q1 has 90 days; its middle is 45 days after 2026-01-01.
        let expected = ((d("2026-01-01") - d("2000-01-01")).num_days() as f64 + 45.0) / 365.25;
        assert!((Quarter { year: 2026, q: 1 }.middle_t() - expected).abs() < 1e-12);
    }
}
