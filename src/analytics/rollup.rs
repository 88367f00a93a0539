//! What the cross-organisation aggregates need of one pilot, as a sum that can
//! be kept up to date one entry at a time: spend and measured net impact in
//! USD minor units (one impact sum per published window), the pilot's
//! evaluation date, and how many entries could not be converted to USD; and,
//! for the PwC definition, the measured impact that was a revenue gain and
//! the measured impact that was a cost decrease, per window.
//!
//! [`PilotRollup::from_entries`] is the definition; [`PilotRollup::add`] must
//! agree with it entry by entry (the tests check that on random ledgers), and
//! when it cannot — a sum leaves i64 — it says so and the caller recomputes
//! from the entries, so a stored rollup always equals the full computation.

use chrono::NaiveDate;

use super::definitions::{counts_as_measured, measured_net_impact, window_end, UsdImpact, WINDOW_GRID_MONTHS};
use super::roi::FxSource;
use crate::domain::currency::Currency;
use crate::domain::enums::{AttributionMethod, ImpactKind};
use crate::domain::fx::to_usd_minor;

/// One entry as a rollup sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupEntry {
    /// Spend (true) or impact.
    pub is_spend: bool,
    /// The amount in USD minor units, `None` when it cannot be converted
    /// (no FX rate dated on or before its period end, or out of range).
    pub usd_minor: Option<i64>,
    pub period_end: NaiveDate,
    /// Whether an impact entry counts toward measured net impact.
    pub measured: bool,
    pub method: AttributionMethod,
    /// An impact entry's kind (its category); `None` for spend.
    pub kind: Option<ImpactKind>,
}

/// Which of the split sums an impact of `kind` goes to: revenue (0) or
/// cost decrease (1).
fn split_of(kind: Option<ImpactKind>) -> Option<usize> {
    match kind? {
        ImpactKind::RevenueUplift => Some(0),
        ImpactKind::CostReduction | ImpactKind::CostAvoidance => Some(1),
    }
}

/// What an impact entry says of itself, beyond its amount: `measured`, its
/// attribution method and its kind, as stored.
#[derive(Clone, Copy, Debug)]
pub struct ImpactFacts<'a> {
    pub measured: Option<bool>,
    pub method: Option<&'a str>,
    pub kind: &'a str,
}

impl RollupEntry {
    /// Converts with the latest rate on or before the period end, rounding
    /// once, half to even — exactly as the aggregates always have. `impact`:
    /// `None` for spend.
    pub fn convert(
        fx: &impl FxSource,
        currency: &str,
        amount_minor: i64,
        period_end: NaiveDate,
        impact: Option<ImpactFacts<'_>>,
    ) -> Self {
        Self {
            is_spend: impact.is_none(),
            kind: impact.and_then(|i| ImpactKind::parse(i.kind)),
            usd_minor: usd_minor(fx, currency, amount_minor, period_end),
            period_end,
            measured: impact.and_then(|i| i.measured).unwrap_or(false),
            method: impact
                .and_then(|i| i.method)
                .and_then(AttributionMethod::parse)
                .unwrap_or(AttributionMethod::SelfReported),
        }
    }
}

/// `amount_minor` of `currency` in US cents at the rate for `on`.
pub fn usd_minor(fx: &impl FxSource, currency: &str, amount_minor: i64, on: NaiveDate) -> Option<i64> {
    let c = Currency::parse(currency).ok()?;
    if c == Currency::USD {
        return Some(amount_minor);
    }
    let (_, rate) = fx.rate_on_or_before(c, on)?;
    to_usd_minor(amount_minor, c, rate).ok()
}

/// The rolled-up pilot. A `None` sum left i64 (the pilot is then left out of
/// the aggregates for the figures that need that sum, as before rollups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PilotRollup {
    pub evaluation: Option<NaiveDate>,
    pub spend_usd_minor: Option<i64>,
    /// Measured net impact for each of [`WINDOW_GRID_MONTHS`], in order.
    /// Always zero for a pilot that is not evaluated.
    pub impact_usd_minor: [Option<i64>; 3],
    /// The part of each window's measured impact that was revenue uplift
    /// (`[0]`) and cost reduction or avoidance (`[1]`), summed the same way.
    pub split_usd_minor: [[Option<i64>; 3]; 2],
    pub unconverted_entries: i64,
}

impl PilotRollup {
    /// A pilot without entries.
    pub fn empty(evaluation: Option<NaiveDate>) -> Self {
        Self {
            evaluation,
            spend_usd_minor: Some(0),
            impact_usd_minor: [Some(0); 3],
            split_usd_minor: [[Some(0); 3]; 2],
            unconverted_entries: 0,
        }
    }

    /// The definition: every entry of the pilot, summed exactly.
    pub fn from_entries(evaluation: Option<NaiveDate>, entries: impl IntoIterator<Item = RollupEntry>) -> Self {
        let mut spend: i128 = 0;
        let mut impacts = Vec::new();
        let mut split: [Vec<UsdImpact>; 2] = [Vec::new(), Vec::new()];
        let mut unconverted = 0;
        for e in entries {
            match (e.is_spend, e.usd_minor) {
                (_, None) => unconverted += 1,
                (true, Some(v)) => spend += i128::from(v),
                (false, Some(v)) => {
                    let impact = UsdImpact {
                        period_end: e.period_end,
                        amount_usd_minor: v,
                        measured: e.measured,
                        method: e.method,
                    };
                    if let Some(i) = split_of(e.kind) {
                        split[i].push(impact);
                    }
                    impacts.push(impact);
                }
            }
        }
        let windows = |impacts: &[UsdImpact]| {
            WINDOW_GRID_MONTHS.map(|w| match evaluation {
                Some(d) => measured_net_impact(impacts, d, w),
                None => Some(0),
            })
        };
        Self {
            evaluation,
            spend_usd_minor: i64::try_from(spend).ok(),
            impact_usd_minor: windows(&impacts),
            split_usd_minor: [windows(&split[0]), windows(&split[1])],
            unconverted_entries: unconverted,
        }
    }

    /// Adds one more entry. Returns false, changing nothing, when the result
    /// cannot be had incrementally (a sum is or would go out of i64): the
    /// caller then recomputes with [`PilotRollup::from_entries`].
    #[must_use]
    pub fn add(&mut self, e: &RollupEntry) -> bool {
        let Some(v) = e.usd_minor else {
            self.unconverted_entries += 1;
            return true;
        };
        let mut next = *self;
        if e.is_spend {
            match self.spend_usd_minor.and_then(|s| s.checked_add(v)) {
                Some(s) => next.spend_usd_minor = Some(s),
                None => return false,
            }
        } else if let Some(evaluation) = self.evaluation {
            if counts_as_measured(e.measured, e.method) {
                let split = split_of(e.kind);
                for (i, w) in WINDOW_GRID_MONTHS.iter().enumerate() {
                    if e.period_end <= window_end(evaluation, *w) {
                        match self.impact_usd_minor[i].and_then(|s| s.checked_add(v)) {
                            Some(s) => next.impact_usd_minor[i] = Some(s),
                            None => return false,
                        }
                        if let Some(k) = split {
                            match self.split_usd_minor[k][i].and_then(|s| s.checked_add(v)) {
                                Some(s) => next.split_usd_minor[k][i] = Some(s),
                                None => return false,
                            }
                        }
                    }
                }
            }
        }
        *self = next;
        true
    }

    /// Measured net impact under a published window; `None` when it left
    /// i64 or the window is not on the grid.
    pub fn net_impact(&self, window_months: u32) -> Option<i64> {
        let i = WINDOW_GRID_MONTHS.iter().position(|w| *w == window_months)?;
        self.impact_usd_minor[i]
    }

    /// Measured revenue uplift and measured cost decrease (reduction or
    /// avoidance) under a published window; `None` as [`Self::net_impact`].
    pub fn revenue_and_cost(&self, window_months: u32) -> Option<(i64, i64)> {
        let i = WINDOW_GRID_MONTHS.iter().position(|w| *w == window_months)?;
        Some((self.split_usd_minor[0][i]?, self.split_usd_minor[1][i]?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(rng: &mut impl Rng, huge: bool) -> RollupEntry {
        let amount = if huge {
            rng.random_range(-i64::MAX / 2..=i64::MAX / 2)
        } else {
            rng.random_range(-10_000_000..=50_000_000)
        };
        let day = rng.random_range(0..900);
        RollupEntry {
            is_spend: rng.random_bool(0.5),
            usd_minor: (!rng.random_bool(0.03)).then_some(amount),
            period_end: d("2025-01-01") + chrono::Days::new(day),
            measured: rng.random_bool(0.7),
            method: [
                AttributionMethod::SelfReported,
                AttributionMethod::ControlledExperiment,
                AttributionMethod::BeforeAfter,
            ][rng.random_range(0..3)],
            kind: [
                None,
                Some(ImpactKind::RevenueUplift),
                Some(ImpactKind::CostReduction),
                Some(ImpactKind::CostAvoidance),
            ][rng.random_range(0..4)],
        }
    }

    /// Adding entries one at a time, falling back to the full computation
    /// whenever `add` declines, always equals the full computation.
    #[test]
    fn incremental_adds_equal_the_definition_on_random_ledgers() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut fallbacks = 0;
        for case in 0..400 {
            let evaluation = (case % 4 != 0).then(|| d("2025-06-30") + chrono::Days::new(rng.random_range(0..400)));
            let huge = case % 5 == 0;
            let mut entries = Vec::new();
            let mut rollup = PilotRollup::empty(evaluation);
            for _ in 0..rng.random_range(0..25) {
                let e = entry(&mut rng, huge);
                entries.push(e);
                if !rollup.add(&e) {
                    fallbacks += 1;
                    rollup = PilotRollup::from_entries(evaluation, entries.iter().copied());
                }
                assert_eq!(rollup, PilotRollup::from_entries(evaluation, entries.iter().copied()));
            }
        }
        assert!(fallbacks > 0, "the overflow fallback was never exercised");
    }

    #[test]
    fn windows_count_measured_non_self_reported_impact_up_to_the_clamped_end() {
        let e = |end: &str, v: i64, measured: bool, method| RollupEntry {
            is_spend: false,
            usd_minor: Some(v),
            period_end: d(end),
            measured,
            method,
            kind: Some(ImpactKind::CostReduction),
        };
        let ab = AttributionMethod::ControlledExperiment;
        let r = PilotRollup::from_entries(
            Some(d("2025-08-31")),
            [
                e("2025-11-30", 100, true, ab),                                // within 3
                e("2026-02-28", 20, true, ab),                                 // Aug 31 + 6 = Feb 28
                e("2026-03-01", 3, true, ab),                                  // only within 12
                e("2025-09-30", 1_000, false, ab),                             // not measured
                e("2025-09-30", 5_000, true, AttributionMethod::SelfReported), // self-reported
            ],
        );
        assert_eq!(r.net_impact(3), Some(100));
        assert_eq!(r.net_impact(6), Some(120));
        assert_eq!(r.net_impact(12), Some(123));
        assert_eq!(r.net_impact(9), None);
        assert_eq!(r.spend_usd_minor, Some(0));
    }

    #[test]
    fn revenue_and_cost_split_the_measured_impact_by_kind() {
        let ab = AttributionMethod::BeforeAfter;
        let e = |end: &str, v: i64, measured: bool, kind| RollupEntry {
            is_spend: false,
            usd_minor: Some(v),
            period_end: d(end),
            measured,
            method: ab,
            kind,
        };
        let r = PilotRollup::from_entries(
            Some(d("2025-01-31")),
            [
                e("2025-03-31", 700, true, Some(ImpactKind::RevenueUplift)),
                e("2025-03-31", -200, true, Some(ImpactKind::RevenueUplift)),
                e("2025-04-30", 50, true, Some(ImpactKind::CostAvoidance)), // within 3
                e("2025-06-30", 30, true, Some(ImpactKind::CostReduction)), // within 6
                e("2025-06-30", 9_000, false, Some(ImpactKind::CostReduction)), // not measured
                e("2025-12-31", 4, true, Some(ImpactKind::RevenueUplift)),  // within 12
            ],
        );
        assert_eq!(r.revenue_and_cost(3), Some((500, 50)));
        assert_eq!(r.revenue_and_cost(6), Some((500, 80)));
        assert_eq!(r.revenue_and_cost(12), Some((504, 80)));
        assert_eq!(r.net_impact(12), Some(584));
        assert_eq!(r.revenue_and_cost(9), None);
    }
}
