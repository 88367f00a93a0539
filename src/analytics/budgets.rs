//! Budgets and their burn, exact to the minor unit (docs/BUDGETS_AND_ALERTS.md).
//!
//! A budget is an amount in one currency per period: a calendar month,
//! quarter or year, or the pilot's (or organisation's) whole life. Its
//! **burn** in a period is the spend of its scope (one pilot, or every pilot
//! of the organisation) whose `period_end` lies in that period, each entry
//! converted to the budget's currency at its period-end rates and rounded
//! once, half to even, then summed exactly — the same rules as every other
//! figure ([`crate::analytics::roi`]). An entry without a rate is left out
//! and counted, never turned into a zero silently.
//!
//! A threshold of `p` percent is **crossed** when `spent × 100 ≥ p × amount`
//! (integers, so 80% of 1000.00 is crossed at exactly 800.00).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::analytics::roi::{checked, ratio_4dp, Converter, EntryFacts, EntryKind, FxRateUsed, FxSource, RoiError};
use crate::domain::currency::Currency;
use crate::domain::money::MoneyJson;

/// The period a budget is set for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Month,
    Quarter,
    Year,
    /// The whole life of the scope: every spend entry counts.
    Life,
}

impl BudgetPeriod {
    pub const ALL: [BudgetPeriod; 4] = [Self::Month, Self::Quarter, Self::Year, Self::Life];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
            Self::Life => "life",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The period instance containing `on`: its first and last day (`None`
    /// for `life`) and its key (`"2026-03"`, `"2026Q1"`, `"2026"`, `"life"`).
    pub fn instance(self, on: NaiveDate) -> PeriodInstance {
        let (y, m) = (on.year(), on.month());
        let ymd = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d);
        let last_of = |y: i32, m: u32| {
            let next = if m == 12 { ymd(y + 1, 1, 1) } else { ymd(y, m + 1, 1) };
            next.and_then(|d| d.pred_opt())
        };
        match self {
            Self::Month => PeriodInstance {
                key: format!("{y:04}-{m:02}"),
                start: ymd(y, m, 1),
                end: last_of(y, m),
            },
            Self::Quarter => {
                let q = (m - 1) / 3;
                PeriodInstance {
                    key: format!("{y:04}Q{}", q + 1),
                    start: ymd(y, q * 3 + 1, 1),
                    end: last_of(y, q * 3 + 3),
                }
            }
            Self::Year => PeriodInstance {
                key: format!("{y:04}"),
                start: ymd(y, 1, 1),
                end: ymd(y, 12, 31),
            },
            Self::Life => PeriodInstance {
                key: "life".into(),
                start: None,
                end: None,
            },
        }
    }
}

/// One instance of a budget period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodInstance {
    pub key: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl PeriodInstance {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.start.is_none_or(|s| d >= s) && self.end.is_none_or(|e| d <= e)
    }
}

/// A budget's burn in one period, as responses show it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Burn {
    /// The period's key (`"2026-03"`, `"2026Q1"`, `"2026"`, `"life"`).
    pub period: String,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    /// The budget, in its currency.
    pub budget: MoneyJson,
    /// Spend of the scope in the period, in the budget's currency.
    pub spent: MoneyJson,
    /// `budget − spent` (negative when over budget).
    pub remaining: MoneyJson,
    /// `spent ÷ budget`, 4 places, half to even (`"0.8000"` is 80%); null for a zero budget.
    pub burn_ratio: Option<String>,
    /// Spend entries left out for want of an FX rate.
    pub entries_excluded_missing_fx_rate: u64,
    /// The FX rates the conversion used.
    pub fx_rates_used: Vec<FxRateUsed>,
}

/// The burn of a budget of `amount_minor` `currency` in `period`, from the
/// spend entries of its scope (impact entries are ignored).
pub fn burn(
    entries: &[EntryFacts],
    amount_minor: i64,
    currency: Currency,
    period: &PeriodInstance,
    fx: &dyn FxSource,
) -> Result<Burn, RoiError> {
    let mut conv = Converter::new(fx, currency);
    let mut spent = 0i128;
    let mut excluded = 0u64;
    for e in entries {
        if !matches!(e.kind, EntryKind::Spend { .. }) || !period.contains(e.period_end) {
            continue;
        }
        if !conv.can_convert(e) {
            excluded += 1;
            continue;
        }
        spent += i128::from(conv.in_target(e)?);
    }
    let spent = checked(spent, "budget burn")?;
    let remaining = checked(i128::from(amount_minor) - i128::from(spent), "budget remaining")?;
    Ok(Burn {
        period: period.key.clone(),
        period_start: period.start,
        period_end: period.end,
        budget: MoneyJson::new(amount_minor, currency),
        spent: MoneyJson::new(spent, currency),
        remaining: MoneyJson::new(remaining, currency),
        burn_ratio: ratio_4dp(spent, amount_minor),
        entries_excluded_missing_fx_rate: excluded,
        fx_rates_used: conv.into_used(),
    })
}

/// Whether `spent` has reached `pct` percent of `budget` (exact integers).
pub fn crossed(spent_minor: i64, budget_minor: i64, pct: u32) -> bool {
    i128::from(spent_minor) * 100 >= i128::from(pct) * i128::from(budget_minor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::roi::tests::{d, e, im, rates, sp};
    use crate::domain::enums::{AttributionMethod, ImpactKind, SpendCategory};

    #[test]
    fn periods_have_calendar_bounds_and_keys() {
        let on = d("2024-02-29");
        let m = BudgetPeriod::Month.instance(on);
        assert_eq!(
            (m.key.as_str(), m.start, m.end),
            ("2024-02", Some(d("2024-02-01")), Some(d("2024-02-29")))
        );
        let q = BudgetPeriod::Quarter.instance(d("2026-12-08"));
        assert_eq!(
            (q.key.as_str(), q.start, q.end),
            ("2026Q4", Some(d("2026-10-01")), Some(d("2026-12-31")))
        );
        let y = BudgetPeriod::Year.instance(on);
        assert_eq!((y.key.as_str(), y.end), ("2024", Some(d("2024-12-31"))));
        assert!(BudgetPeriod::Life.instance(on).contains(d("1990-01-01")));
        assert_eq!(BudgetPeriod::parse("quarter"), Some(BudgetPeriod::Quarter));
        assert_eq!(BudgetPeriod::parse("week"), None);
    }

    #[test]
    fn burn_converts_each_entry_once_and_counts_only_spend_in_the_period() {
        // Budget 1000.00 EUR for March 2026. EUR 1.25 USD from 2026-01-01.
        // In March: 300.00 EUR; 125.00 USD → 100.00 EUR; 33.33 USD → 26.664
        // → 26.66 EUR; JPY has no rate (left out). Outside: February spend,
        // March impact. 300.00 + 100.00 + 26.66 = 426.66; 0.42666 → 0.4267.
        let fx = rates(&[("EUR", "2026-01-01", "1.25")]);
        let gain = im(ImpactKind::CostReduction, AttributionMethod::ControlledExperiment, true);
        let s = sp(SpendCategory::Licences);
        let entries = [
            e("p", s, "2026-03-10", 30_000, "EUR"),
            e("p", s, "2026-03-31", 12_500, "USD"),
            e("p", s, "2026-03-01", 3_333, "USD"),
            e("p", s, "2026-03-15", 5_000, "JPY"),
            e("p", s, "2026-02-28", 99_999, "EUR"),
            e("p", gain, "2026-03-31", 99_999, "EUR"),
        ];
        let eur = Currency::parse("EUR").unwrap();
        let b = burn(
            &entries,
            100_000,
            eur,
            &BudgetPeriod::Month.instance(d("2026-03-05")),
            &fx,
        )
        .unwrap();
        assert_eq!((b.spent.amount_minor, b.remaining.amount_minor), (42_666, 57_334));
        assert_eq!(
            (b.burn_ratio.as_deref(), b.entries_excluded_missing_fx_rate),
            (Some("0.4267"), 1)
        );
        assert_eq!(b.fx_rates_used.len(), 1);
    }

    #[test]
    fn thresholds_cross_at_exactly_the_percentage() {
        assert!(!crossed(79_999, 100_000, 80));
        assert!(crossed(80_000, 100_000, 80));
        assert!(crossed(100_000, 100_000, 100));
        assert!(!crossed(-5, 100_000, 0) && crossed(0, 100_000, 0));
    }
}
