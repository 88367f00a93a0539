//! The return on one pilot, exact to the minor unit (docs/DEFINITIONS.md#fx).
//!
//! Every entry is converted to the reporting currency on its own, at the FX
//! rates for its `period_end`, and rounded once (half to even) by
//! [`convert`]; the rounded amounts are then summed in `i128` and each figure
//! is range-checked into `i64`. Converting entry by entry (not the sum) means a
//! figure is the sum of the line items a finance leader can see.
//!
//! - **spend**: every spend entry (reversals are negated entries, so they net).
//! - **measured impact**: impact entries with `measured = true` and an
//!   attribution method other than `self_reported`, in every period.
//! - **estimated impact**: every other impact entry (forecasts, self-reports).
//! - **net measured** = measured impact − spend; **roi** = net measured ÷ spend
//!   as a 4-place decimal string, half to even, `null` when spend is zero.
//! - **evaluated / zero-impact / measured net impact (USD)** follow
//!   [`crate::analytics::definitions`]: always USD and only inside the window,
//!   so they can differ from `net_measured`, which is in the reporting
//!   currency over all periods and net of spend.
//!
//! The monthly series attributes each entry to the calendar month of its
//! `period_end`; `payback_month` is the first month whose cumulative measured
//! impact is at least its cumulative spend, with cumulative spend above zero.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::analytics::definitions::{self, DefinitionParams, UsdImpact, DEFINITION_VERSION};
use crate::domain::currency::Currency;
use crate::domain::enums::{AiKind, BusinessFunction, ImpactKind, Sourcing, SpendCategory, Stage};
use crate::domain::fx::{convert, FxRate};
use crate::domain::money::{format_amount, MoneyJson};

/// What the computations need to know about a pilot (mapped from its row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PilotFacts {
    /// The pilot's id; entries refer to it by `pilot_id`.
    pub id: String,
    /// Display name, shown in rankings.
    pub name: String,
    /// Business function it serves.
    pub business_function: BusinessFunction,
    /// Built, bought or partnered.
    pub sourcing: Sourcing,
    /// Kind of AI it uses.
    pub ai_kind: AiKind,
    /// Current stage.
    pub stage: Stage,
    /// When the pilot first entered an evaluated stage (None: not in one, or
    /// the date is unknown).
    pub evaluation_stage_on: Option<NaiveDate>,
    /// When the team judged the outcome, if it has.
    pub evaluated_on: Option<NaiveDate>,
    /// The team that owns it, if recorded (summaries group by it).
    pub owner_team: Option<String>,
    /// Its tags (summaries group by each).
    pub tags: Vec<String>,
}

pub use crate::domain::entries::EntryKind;

/// One ledger entry as of the summary date. A reversal is just another entry
/// with the negated amount, so plain sums account for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFacts {
    /// The pilot the entry belongs to.
    pub pilot_id: String,
    /// Spend or impact, with its attributes.
    pub kind: EntryKind,
    /// First day of the period the entry covers.
    pub period_start: NaiveDate,
    /// Last day of the period; picks the FX rate, month and quarter.
    pub period_end: NaiveDate,
    /// Amount in minor units of `currency`.
    pub amount_minor: i64,
    /// Currency of the amount.
    pub currency: Currency,
}

/// FX rates to USD; the rate for an entry is the latest dated on or before its period_end. USD needs no rate (1).
pub trait FxSource {
    /// The latest rate for `currency` dated on or before `on`, with its date.
    fn rate_on_or_before(&self, currency: Currency, on: NaiveDate) -> Option<(NaiveDate, FxRate)>;
}

/// Why an ROI figure could not be computed. Neither is ever papered over with
/// a zero or a wrapped number.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum RoiError {
    /// No rate for `currency` on or before `date` (an entry's period end).
    #[error("no FX rate for {currency} on or before {date}")]
    FxRateMissing {
        /// ISO 4217 code lacking a rate.
        currency: String,
        /// The entry's period end the rate was needed for.
        date: NaiveDate,
    },
    /// A conversion or a sum does not fit in `i64` minor units.
    #[error("{what} is out of range")]
    Overflow {
        /// Which figure overflowed.
        what: String,
    },
}

/// An FX rate a response was computed with, so the figure can be reproduced.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FxRateUsed {
    /// ISO 4217 code.
    pub currency: String,
    /// The date the rate is recorded for (not the entry's date).
    pub date: NaiveDate,
    /// Canonical decimal string, as in `PUT /v1/fx-rates`.
    pub rate_to_usd: String,
}

/// One calendar month of a pilot's ledger, in the reporting currency.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct MonthPoint {
    /// `"2026-03"`.
    pub month: String,
    /// Spend with a period ending in this month.
    pub spend: MoneyJson,
    /// Measured impact with a period ending in this month.
    pub measured_impact: MoneyJson,
    /// Spend up to and including this month.
    pub cumulative_spend: MoneyJson,
    /// Measured impact up to and including this month.
    pub cumulative_measured_impact: MoneyJson,
}

/// `GET /v1/pilots/{id}/roi`: one pilot's return, in the reporting currency.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PilotRoi {
    /// The pilot's id.
    pub pilot_id: String,
    /// The pilot's name.
    pub name: String,
    /// Reporting currency of every money figure except `measured_net_impact_usd`.
    pub currency: String,
    /// All spend.
    pub spend: MoneyJson,
    /// The part of `spend` booked as capex.
    pub capex_spend: MoneyJson,
    /// Measured, non-self-reported impact, all periods.
    pub measured_impact: MoneyJson,
    /// All other impact.
    pub estimated_impact: MoneyJson,
    /// `measured_impact − spend`.
    pub net_measured: MoneyJson,
    /// `net_measured ÷ spend`, 4 places, half to even; null when spend is 0.
    pub roi: Option<String>,
    /// Spend per category, every category present.
    pub spend_by_category: BTreeMap<SpendCategory, MoneyJson>,
    /// Measured impact per kind, every kind present; sums to `measured_impact`.
    pub measured_impact_by_kind: BTreeMap<ImpactKind, MoneyJson>,
    /// Estimated impact per kind, every kind present; sums to `estimated_impact`.
    pub estimated_impact_by_kind: BTreeMap<ImpactKind, MoneyJson>,
    /// Month by month, from the first to the last month with an entry, no gaps.
    pub monthly: Vec<MonthPoint>,
    /// First month (`"2026-03"`) where cumulative measured impact ≥ cumulative spend > 0.
    pub payback_month: Option<String>,
    /// Whether the pilot is evaluated (docs/DEFINITIONS.md#evaluated).
    pub evaluated: bool,
    /// Its evaluation date, when evaluated.
    pub evaluation_date: Option<NaiveDate>,
    /// Whether it is zero-impact; null when not evaluated.
    pub zero_impact: Option<bool>,
    /// The definition's measured net impact in USD (window applied); null when not evaluated.
    pub measured_net_impact_usd: Option<MoneyJson>,
    /// The definition parameters used.
    pub parameters: DefinitionParams,
    /// Version of the definitions.
    pub definition_version: &'static str,
    /// Every FX rate looked up, sorted by currency, date.
    pub fx_rates_used: Vec<FxRateUsed>,
}

/// Which total an entry adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bucket {
    Spend,
    Measured,
    Estimated,
}

pub(crate) fn bucket(kind: &EntryKind) -> Bucket {
    match *kind {
        EntryKind::Spend { .. } => Bucket::Spend,
        EntryKind::Impact { method, measured, .. } => {
            if definitions::counts_as_measured(measured, method) {
                Bucket::Measured
            } else {
                Bucket::Estimated
            }
        }
    }
}

/// Running totals in `i128`: no realistic number of `i64` entries can
/// overflow it, so only the final figures need a range check.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sums {
    pub(crate) spend: i128,
    pub(crate) measured: i128,
    pub(crate) estimated: i128,
}

impl Sums {
    pub(crate) fn add(&mut self, bucket: Bucket, amount: i64) {
        let slot = match bucket {
            Bucket::Spend => &mut self.spend,
            Bucket::Measured => &mut self.measured,
            Bucket::Estimated => &mut self.estimated,
        };
        *slot += i128::from(amount);
    }

    pub(crate) fn add_all(&mut self, other: &Sums) {
        self.spend += other.spend;
        self.measured += other.measured;
        self.estimated += other.estimated;
    }

    /// Range-checked (spend, measured, estimated, net measured, roi).
    pub(crate) fn figures(&self, cur: Currency, of: &str) -> Result<Figures, RoiError> {
        let spend = checked(self.spend, &format!("spend of {of}"))?;
        let measured = checked(self.measured, &format!("measured impact of {of}"))?;
        let estimated = checked(self.estimated, &format!("estimated impact of {of}"))?;
        let net = checked(self.measured - self.spend, &format!("net measured of {of}"))?;
        Ok(Figures {
            spend: MoneyJson::new(spend, cur),
            measured_impact: MoneyJson::new(measured, cur),
            estimated_impact: MoneyJson::new(estimated, cur),
            net_measured: MoneyJson::new(net, cur),
            roi: ratio_4dp(net, spend),
        })
    }
}

/// The headline figures shared by a pilot, a group and a ranking row.
pub(crate) struct Figures {
    pub(crate) spend: MoneyJson,
    pub(crate) measured_impact: MoneyJson,
    pub(crate) estimated_impact: MoneyJson,
    pub(crate) net_measured: MoneyJson,
    pub(crate) roi: Option<String>,
}

/// The range check every sum goes through before it is shown.
pub(crate) fn checked(sum: i128, what: &str) -> Result<i64, RoiError> {
    i64::try_from(sum).map_err(|_| RoiError::Overflow { what: what.to_owned() })
}

/// `num ÷ den` as a decimal string with exactly 4 places, rounded half to
/// even on integers; `None` when `den` is 0. No `-0.0000`.
pub(crate) fn ratio_4dp(num: i64, den: i64) -> Option<String> {
    if den == 0 {
        return None;
    }
    // |num| × 10^4 < 2^78: fits u128 with room to spare.
    let n = u128::from(num.unsigned_abs()) * 10_000;
    let d = u128::from(den.unsigned_abs());
    let (q, r) = (n / d, n % d);
    let rest = d - r;
    let q = if r > rest || (r == rest && q % 2 == 1) {
        q + 1
    } else {
        q
    };
    let sign = if q != 0 && (num < 0) != (den < 0) { "-" } else { "" };
    Some(format!("{sign}{}.{:04}", q / 10_000, q % 10_000))
}

/// Converts entries, looking rates up through an [`FxSource`] and recording
/// every rate it used.
pub(crate) struct Converter<'a> {
    fx: &'a dyn FxSource,
    target: Currency,
    used: BTreeSet<FxRateUsed>,
}

impl<'a> Converter<'a> {
    pub(crate) fn new(fx: &'a dyn FxSource, target: Currency) -> Self {
        Self {
            fx,
            target,
            used: BTreeSet::new(),
        }
    }

    fn rate(&mut self, currency: Currency, on: NaiveDate) -> Result<FxRate, RoiError> {
        if currency == Currency::USD {
            return Ok(FxRate::ONE);
        }
        let (date, rate) = self
            .fx
            .rate_on_or_before(currency, on)
            .ok_or_else(|| RoiError::FxRateMissing {
                currency: currency.code().to_owned(),
                date: on,
            })?;
        self.used.insert(FxRateUsed {
            currency: currency.code().to_owned(),
            date,
            rate_to_usd: rate.to_string(),
        });
        Ok(rate)
    }

    /// Whether `e` can be converted to the target currency (both rates exist),
    /// without recording any rate as used.
    pub(crate) fn can_convert(&self, e: &EntryFacts) -> bool {
        e.currency == self.target
            || (self.has_rate(e.currency, e.period_end) && self.has_rate(self.target, e.period_end))
    }

    /// Whether `currency` has a rate on or before `on` (USD always has).
    pub(crate) fn has_rate(&self, currency: Currency, on: NaiveDate) -> bool {
        currency == Currency::USD || self.fx.rate_on_or_before(currency, on).is_some()
    }

    fn convert_to(&mut self, e: &EntryFacts, to: Currency) -> Result<i64, RoiError> {
        // Same currency: no rate needed, so none can be missing.
        if e.currency == to {
            return Ok(e.amount_minor);
        }
        let from_rate = self.rate(e.currency, e.period_end)?;
        let to_rate = self.rate(to, e.period_end)?;
        convert(e.amount_minor, e.currency, from_rate, to, to_rate).map_err(|_| RoiError::Overflow {
            what: format!(
                "{} {} of pilot {} converted to {to}",
                format_amount(e.amount_minor, e.currency),
                e.currency,
                e.pilot_id
            ),
        })
    }

    /// The entry in the reporting currency, rounded once.
    pub(crate) fn in_target(&mut self, e: &EntryFacts) -> Result<i64, RoiError> {
        self.convert_to(e, self.target)
    }

    /// The rates used so far, sorted by currency, then date.
    pub(crate) fn into_used(self) -> Vec<FxRateUsed> {
        self.used.into_iter().collect()
    }
}

/// A pilot's standing under the cited definitions, when evaluated.
pub(crate) struct Standing {
    pub(crate) evaluation_date: NaiveDate,
    pub(crate) net_usd_minor: i64,
    pub(crate) zero_impact: bool,
}

/// Applies the definitions to an evaluated pilot (`None` if not evaluated).
/// Only the entries the definition counts are converted to USD, so a missing
/// rate for an entry that cannot matter never fails the figure.
pub(crate) fn standing<'e>(
    pilot: &PilotFacts,
    entries: impl IntoIterator<Item = &'e EntryFacts>,
    conv: &mut Converter<'_>,
    params: &DefinitionParams,
) -> Result<Option<Standing>, RoiError> {
    let eval = definitions::evaluation_date(pilot.evaluated_on, pilot.stage, pilot.evaluation_stage_on);
    let Some(eval) = eval else {
        return Ok(None);
    };
    let end = definitions::window_end(eval, params.window_months);
    let mut impacts = Vec::new();
    for e in entries {
        if let EntryKind::Impact { method, measured, .. } = e.kind {
            if definitions::counts_as_measured(measured, method) && e.period_end <= end {
                impacts.push(UsdImpact {
                    period_end: e.period_end,
                    amount_usd_minor: conv.convert_to(e, Currency::USD)?,
                    measured,
                    method,
                });
            }
        }
    }
    let net =
        definitions::measured_net_impact(&impacts, eval, params.window_months).ok_or_else(|| RoiError::Overflow {
            what: format!("measured net impact in USD of pilot {}", pilot.id),
        })?;
    Ok(Some(Standing {
        evaluation_date: eval,
        net_usd_minor: net,
        zero_impact: definitions::is_zero_impact(net, params),
    }))
}

/// Range-checks a breakdown into money.
fn money_map<K: Ord>(sums: BTreeMap<K, i128>, cur: Currency, what: &str) -> Result<BTreeMap<K, MoneyJson>, RoiError> {
    sums.into_iter()
        .map(|(k, v)| Ok((k, MoneyJson::new(checked(v, what)?, cur))))
        .collect()
}

/// The ROI of `pilot` in `target`. Entries of other pilots in `entries` are
/// ignored, so the caller may pass a whole ledger.
pub fn pilot_roi(
    pilot: &PilotFacts,
    entries: &[EntryFacts],
    target: Currency,
    fx: &dyn FxSource,
    params: DefinitionParams,
) -> Result<PilotRoi, RoiError> {
    let mine: Vec<&EntryFacts> = entries.iter().filter(|e| e.pilot_id == pilot.id).collect();
    let mut conv = Converter::new(fx, target);
    let mut sums = Sums::default();
    let mut capex = 0i128;
    let mut by_category: BTreeMap<SpendCategory, i128> = SpendCategory::ALL.iter().map(|&c| (c, 0)).collect();
    let zero_kinds = || ImpactKind::ALL.iter().map(|&k| (k, 0i128)).collect();
    let (mut measured_by_kind, mut estimated_by_kind): (BTreeMap<_, _>, BTreeMap<_, _>) = (zero_kinds(), zero_kinds());
    // (spend, measured) per month of period_end.
    let mut months: BTreeMap<(i32, u32), (i128, i128)> = BTreeMap::new();
    for e in &mine {
        let amount = conv.in_target(e)?;
        let wide = i128::from(amount);
        let b = bucket(&e.kind);
        sums.add(b, amount);
        let month = months.entry((e.period_end.year(), e.period_end.month())).or_default();
        match (e.kind, b) {
            (EntryKind::Spend { category, capex: c }, _) => {
                *by_category.entry(category).or_default() += wide;
                capex += if c { wide } else { 0 };
                month.0 += wide;
            }
            (EntryKind::Impact { kind, .. }, Bucket::Measured) => {
                *measured_by_kind.entry(kind).or_default() += wide;
                month.1 += wide;
            }
            (EntryKind::Impact { kind, .. }, _) => {
                *estimated_by_kind.entry(kind).or_default() += wide;
            }
        }
    }
    let of = format!("pilot {}", pilot.id);
    let money = |sum: i128, what: &str| -> Result<MoneyJson, RoiError> {
        Ok(MoneyJson::new(checked(sum, &format!("{what} of {of}"))?, target))
    };

    // Headline figures first, so an overflow is reported by its headline name.
    let f = sums.figures(target, &of)?;
    let mut monthly = Vec::new();
    let mut payback_month = None;
    let (mut cum_spend, mut cum_measured) = (0i128, 0i128);
    if let (Some(&first), Some(&last)) = (months.keys().next(), months.keys().next_back()) {
        let mut m = first;
        loop {
            let (spend, measured) = months.get(&m).copied().unwrap_or_default();
            cum_spend += spend;
            cum_measured += measured;
            let label = format!("{:04}-{:02}", m.0, m.1);
            if payback_month.is_none() && cum_spend > 0 && cum_measured >= cum_spend {
                payback_month = Some(label.clone());
            }
            monthly.push(MonthPoint {
                month: label,
                spend: money(spend, "monthly spend")?,
                measured_impact: money(measured, "monthly measured impact")?,
                cumulative_spend: money(cum_spend, "cumulative spend")?,
                cumulative_measured_impact: money(cum_measured, "cumulative measured impact")?,
            });
            if m == last {
                break;
            }
            m = if m.1 == 12 { (m.0 + 1, 1) } else { (m.0, m.1 + 1) };
        }
    }

    let standing = standing(pilot, mine.iter().copied(), &mut conv, &params)?;
    Ok(PilotRoi {
        pilot_id: pilot.id.clone(),
        name: pilot.name.clone(),
        currency: target.code().to_owned(),
        spend: f.spend,
        capex_spend: money(capex, "capex spend")?,
        measured_impact: f.measured_impact,
        estimated_impact: f.estimated_impact,
        net_measured: f.net_measured,
        roi: f.roi,
        spend_by_category: money_map(by_category, target, &format!("category spend of {of}"))?,
        measured_impact_by_kind: money_map(measured_by_kind, target, &format!("measured impact by kind of {of}"))?,
        estimated_impact_by_kind: money_map(estimated_by_kind, target, &format!("estimated impact by kind of {of}"))?,
        monthly,
        payback_month,
        evaluated: standing.is_some(),
        evaluation_date: standing.as_ref().map(|s| s.evaluation_date),
        zero_impact: standing.as_ref().map(|s| s.zero_impact),
        measured_net_impact_usd: standing.map(|s| MoneyJson::new(s.net_usd_minor, Currency::USD)),
        parameters: params,
        definition_version: DEFINITION_VERSION,
        fx_rates_used: conv.into_used(),
    })
}

#[cfg(test)]
#[path = "roi_tests.rs"]
pub(crate) mod tests;
