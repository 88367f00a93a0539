//! The return on one pilot, exact to the minor unit (DESIGN "Money is exact").
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
use crate::domain::enums::{AiKind, AttributionMethod, BusinessFunction, ImpactKind, Sourcing, SpendCategory, Stage};
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
    /// When the pilot entered its current stage.
    pub stage_entered_on: NaiveDate,
    /// When the team judged the outcome, if it has.
    pub evaluated_on: Option<NaiveDate>,
}

/// Whether an entry is spend or impact, with the attributes each kind has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Money spent on the pilot.
    Spend {
        /// What it was spent on.
        category: SpendCategory,
        /// Capital rather than operating expenditure.
        capex: bool,
    },
    /// P&L impact attributed to the pilot (negative for harm).
    Impact {
        /// The P&L line it lands on.
        kind: ImpactKind,
        /// How it was attributed.
        method: AttributionMethod,
        /// Backed by a measurement (false for a forecast).
        measured: bool,
    },
}

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
    /// Whether the pilot is evaluated (DESIGN definition).
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
    let eval = definitions::evaluation_date(pilot.evaluated_on, pilot.stage, pilot.stage_entered_on);
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
pub(crate) mod tests {
    //! Every expected number is worked out by hand in the comments, from the
    //! amounts and rates below; none is computed by the code under test.
    use super::*;
    use AttributionMethod::*;

    pub(crate) fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    pub(crate) fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    /// A map-backed rate table: the latest rate on or before the date.
    pub(crate) struct Rates(BTreeMap<(Currency, NaiveDate), FxRate>);

    impl FxSource for Rates {
        fn rate_on_or_before(&self, c: Currency, on: NaiveDate) -> Option<(NaiveDate, FxRate)> {
            let range = (c, NaiveDate::MIN)..=(c, on);
            self.0.range(range).next_back().map(|(&(_, d), &r)| (d, r))
        }
    }

    pub(crate) fn rates(list: &[(&str, &str, &str)]) -> Rates {
        let rate = |r| FxRate::parse(r).unwrap();
        Rates(list.iter().map(|&(c, day, r)| ((cur(c), d(day)), rate(r))).collect())
    }

    /// EUR 1.25 → 1.1 (from March) → 1.2 (from June); JPY 0.0064 → 0.007
    /// (from 15 April); BHD 2.65.
    #[rustfmt::skip]
    pub(crate) fn ledger_rates() -> Rates {
        rates(&[
            ("EUR", "2026-01-01", "1.25"), ("EUR", "2026-03-01", "1.10"), ("EUR", "2026-06-01", "1.2"),
            ("JPY", "2026-01-01", "0.0064"), ("JPY", "2026-04-15", "0.007"), ("BHD", "2026-02-01", "2.65"),
        ])
    }

    /// A customer-service, bought, GenAI-assistant pilot.
    pub(crate) fn pilot(id: &str, stage: Stage, entered: &str, eval: Option<&str>) -> PilotFacts {
        PilotFacts {
            id: id.to_owned(),
            name: format!("Pilot {id}"),
            business_function: BusinessFunction::CustomerService,
            sourcing: Sourcing::Bought,
            ai_kind: AiKind::GenaiAssistant,
            stage,
            stage_entered_on: d(entered),
            evaluated_on: eval.map(d),
        }
    }

    pub(crate) fn sp(category: SpendCategory) -> EntryKind {
        EntryKind::Spend { category, capex: false }
    }

    pub(crate) fn im(kind: ImpactKind, method: AttributionMethod, measured: bool) -> EntryKind {
        EntryKind::Impact { kind, method, measured }
    }

    pub(crate) fn e(pilot: &str, kind: EntryKind, end: &str, amount: i64, c: &str) -> EntryFacts {
        let period_end = d(end);
        let period_start = period_end.with_day(1).unwrap();
        let (pilot_id, currency) = (pilot.to_owned(), cur(c));
        EntryFacts {
            pilot_id,
            kind,
            period_start,
            period_end,
            amount_minor: amount,
            currency,
        }
    }

    /// Four pilots:
    /// - p1 production since 2026-03-15 (evaluated then): USD, EUR (capex)
    ///   and JPY spend, a JPY entry reversed and replaced, measured EUR and
    ///   BHD impact, a USD forecast;
    /// - p2 abandoned 2026-05-20: BHD spend, negative measured USD impact;
    /// - p3 piloting, not evaluated: JPY spend, forecast impact only;
    /// - p4 piloting, evaluated_on 2026-06-10: EUR spend, self-reported impact.
    #[rustfmt::skip]
    pub(crate) fn ledger() -> (Vec<PilotFacts>, Vec<EntryFacts>) {
        use {ImpactKind::*, SpendCategory::*};
        let mut p2 = pilot("p2", Stage::Abandoned, "2026-05-20", None);
        (p2.business_function, p2.sourcing, p2.ai_kind) = (BusinessFunction::SoftwareEngineering, Sourcing::Built, AiKind::GenaiAgentic);
        let mut p3 = pilot("p3", Stage::Piloting, "2026-01-10", None);
        p3.ai_kind = AiKind::PredictiveMl;
        let mut p4 = pilot("p4", Stage::Piloting, "2026-01-10", Some("2026-06-10"));
        (p4.business_function, p4.sourcing) = (BusinessFunction::FinanceAccounting, Sourcing::Partnered);
        let capex = EntryKind::Spend { category: ComputeInference, capex: true };
        let entries = vec![
            e("p1", sp(Licences), "2026-01-31", 100_000, "USD"),
            e("p1", capex, "2026-02-28", 50_000, "EUR"),
            e("p1", sp(InternalLabour), "2026-02-28", 100_000, "JPY"),
            e("p1", sp(InternalLabour), "2026-02-28", -100_000, "JPY"), // reversal
            e("p1", sp(InternalLabour), "2026-02-28", 80_000, "JPY"),   // replacement
            e("p1", im(CostReduction, ControlledExperiment, true), "2026-03-31", 200_000, "EUR"),
            e("p1", im(RevenueUplift, BeforeAfter, true), "2026-04-30", 100_000, "BHD"),
            e("p1", im(CostAvoidance, ModelEstimate, false), "2026-06-30", 500_000, "USD"),
            e("p2", sp(Infrastructure), "2026-04-30", 2_000_000, "BHD"),
            e("p2", im(CostAvoidance, DifferenceInDifferences, true), "2026-05-31", -30_000, "USD"),
            e("p3", sp(Data), "2026-03-31", 50_000, "JPY"),
            e("p3", im(RevenueUplift, ModelEstimate, false), "2026-06-30", 1_000_000, "USD"),
            e("p4", sp(ExternalServices), "2026-06-30", 30_000, "EUR"),
            e("p4", im(CostReduction, SelfReported, true), "2026-06-30", 400_000, "EUR"),
        ];
        (vec![pilot("p1", Stage::Production, "2026-03-15", None), p2, p3, p4], entries)
    }

    fn minor(m: &MoneyJson, currency: &str) -> i64 {
        assert_eq!(m.currency, currency);
        m.amount_minor
    }

    fn roi_of(i: usize, target: &str) -> PilotRoi {
        let (pilots, entries) = ledger();
        pilot_roi(&pilots[i], &entries, cur(target), &ledger_rates(), Default::default()).unwrap()
    }

    #[test]
    #[rustfmt::skip]
    fn pilot_roi_in_usd_every_figure() {
        let r = roi_of(0, "USD");
        let usd = |m: &MoneyJson| minor(m, "USD");
        // Spend: 1000.00 USD = 100000; 500.00 EUR × 1.25 = 625.00 = 62500 (capex);
        // JPY 100000 × 0.0064 = 640.00, reversed (−640.00), replaced by
        // 80000 × 0.0064 = 512.00 = 51200. Total 100000 + 62500 + 51200 = 213700.
        // Measured: 2000.00 EUR × 1.1 (March rate) = 2200.00; 100.000 BHD × 2.65 = 265.00.
        // Net 246500 − 213700 = 32800; ÷ 213700 = 0.15348.. (213700 × 1534 =
        // 327815800, rest 184200 > half) → 0.1535.
        assert_eq!((usd(&r.spend), usd(&r.capex_spend), r.spend.amount.as_str()), (213_700, 62_500, "2137.00"));
        assert_eq!((usd(&r.measured_impact), usd(&r.estimated_impact)), (246_500, 500_000));
        assert_eq!((usd(&r.net_measured), r.roi.as_deref()), (32_800, Some("0.1535")));
        // Category order: licences, compute_inference, infrastructure, internal_labour, ...
        let cats: Vec<_> = r.spend_by_category.values().map(usd).collect();
        assert_eq!(cats, [100_000, 62_500, 0, 51_200, 0, 0, 0, 0]);
        // Kind order: revenue_uplift, cost_reduction, cost_avoidance.
        assert_eq!(r.measured_impact_by_kind.values().map(usd).collect::<Vec<_>>(), [26_500, 220_000, 0]);
        assert_eq!(r.estimated_impact_by_kind.values().map(usd).collect::<Vec<_>>(), [0, 0, 500_000]);
        // (month, spend, measured, cum spend, cum measured); May is empty, June only a forecast.
        let want = [
            ("2026-01", 100_000, 0, 100_000, 0),
            ("2026-02", 62_500 + 64_000 - 64_000 + 51_200, 0, 213_700, 0),
            ("2026-03", 0, 220_000, 213_700, 220_000),
            ("2026-04", 0, 26_500, 213_700, 246_500),
            ("2026-05", 0, 0, 213_700, 246_500),
            ("2026-06", 0, 0, 213_700, 246_500),
        ];
        let got: Vec<_> = r.monthly.iter().map(|m| (m.month.as_str(), usd(&m.spend), usd(&m.measured_impact),
            usd(&m.cumulative_spend), usd(&m.cumulative_measured_impact))).collect();
        assert_eq!(got, want);
        // March is the first month with 220000 ≥ 213700.
        assert_eq!(r.payback_month.as_deref(), Some("2026-03"));
        // Evaluated on entering production; window to 2026-09-15 holds both measured entries.
        assert_eq!((r.evaluated, r.evaluation_date, r.zero_impact), (true, Some(d("2026-03-15")), Some(false)));
        assert_eq!(r.measured_net_impact_usd.as_ref().map(usd), Some(220_000 + 26_500));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["fx_rates_used"], serde_json::json!([
            {"currency": "BHD", "date": "2026-02-01", "rate_to_usd": "2.65"},
            {"currency": "EUR", "date": "2026-01-01", "rate_to_usd": "1.25"},
            {"currency": "EUR", "date": "2026-03-01", "rate_to_usd": "1.1"},
            {"currency": "JPY", "date": "2026-01-01", "rate_to_usd": "0.0064"},
        ]));
        assert_eq!(v["spend_by_category"]["licences"]["amount"], "1000.00");
        assert_eq!(v["parameters"], serde_json::json!({"min_impact": 0, "window_months": 6}));
        assert_eq!((&v["currency"], &v["roi"], &v["zero_impact"]), (&"USD".into(), &"0.1535".into(), &false.into()));
    }

    #[test]
    #[rustfmt::skip]
    fn pilot_roi_negative_estimated_only_and_self_reported() {
        let eur = |m: &MoneyJson| minor(m, "EUR");
        // p2: 2000.000 BHD × 2.65 / 1.1 = 4818.1818 EUR → 481818; −300.00 USD / 1.1
        // = −272.7272 → −27273. Net −509091; ÷ 481818 = −1.05660.. (481818 ×
        // 10566 = 5090888988, rest 21012 < half) → −1.0566.
        let p2 = roi_of(1, "EUR");
        assert_eq!((eur(&p2.spend), eur(&p2.measured_impact), eur(&p2.net_measured)), (481_818, -27_273, -509_091));
        assert_eq!((p2.roi.as_deref(), p2.payback_month, p2.zero_impact), (Some("-1.0566"), None, Some(true)));
        assert_eq!(p2.measured_net_impact_usd.map(|m| m.amount_minor), Some(-30_000));
        // p3: 50000 JPY × 0.0064 / 1.1 = 290.909 EUR → 29091; forecast 10000.00 USD / 1.2 → 833333.
        let p3 = roi_of(2, "EUR");
        assert_eq!((eur(&p3.spend), eur(&p3.measured_impact), eur(&p3.estimated_impact)), (29_091, 0, 833_333));
        assert_eq!((p3.roi.as_deref(), p3.evaluated, p3.evaluation_date, p3.zero_impact), (Some("-1.0000"), false, None, None));
        assert_eq!(p3.measured_net_impact_usd, None);
        // p4: the self-reported 4000.00 EUR is estimated; measured net impact 0 → zero-impact.
        let p4 = roi_of(3, "EUR");
        assert_eq!((eur(&p4.spend), eur(&p4.measured_impact), eur(&p4.estimated_impact)), (30_000, 0, 400_000));
        assert_eq!((p4.evaluation_date, p4.zero_impact), (Some(d("2026-06-10")), Some(true)));
        assert_eq!(p4.measured_net_impact_usd.map(|m| m.amount_minor), Some(0));
        assert!(p4.fx_rates_used.is_empty(), "all EUR, nothing converted");
    }

    #[test]
    fn each_entry_is_rounded_once_half_to_even() {
        let fx = rates(&[("EUR", "2026-01-01", "2")]);
        let p = pilot("r", Stage::Piloting, "2026-01-01", None);
        let gain = im(ImpactKind::CostReduction, BeforeAfter, true);
        let spend = |c| e("r", sp(SpendCategory::Data), "2026-01-31", c, "USD");
        let mut entries: Vec<_> = [5, 7, 1, 1, 1].map(spend).into();
        entries.extend([-5, -7].map(|c| e("r", gain, "2026-01-31", c, "USD")));
        let r = pilot_roi(&p, &entries, cur("EUR"), &fx, Default::default()).unwrap();
        // At 2 USD per EUR each cent halves: 2.5 → 2 (down to even), 3.5 → 4
        // (up to even), 0.5 → 0 three times: 2 + 4 + 0 + 0 + 0 = 6 euro cents.
        // Converting the 15-cent sum instead would give 7.5 → 8.
        assert_eq!(minor(&r.spend, "EUR"), 6);
        // Negative halves mirror: −2.5 → −2, −3.5 → −4.
        assert_eq!(minor(&r.measured_impact, "EUR"), -6);
    }

    #[test]
    fn ratios_round_half_to_even_at_four_places() {
        // 1/20000 = 0.00005 (down to even 0), 3/20000 = 0.00015 (up to even 2).
        let cases = [(1, 20_000, "0.0000"), (3, 20_000, "0.0002"), (-1, 20_000, "0.0000")];
        let more = [(-3, 20_000, "-0.0002"), (2, 3, "0.6667"), (7, -2, "-3.5000")];
        for (n, den, want) in cases.into_iter().chain(more) {
            assert_eq!(ratio_4dp(n, den).as_deref(), Some(want), "{n}/{den}");
        }
        let min = ratio_4dp(i64::MIN, 1);
        assert_eq!(min.as_deref(), Some("-9223372036854775808.0000"));
        assert_eq!(ratio_4dp(5, 0), None);
    }

    #[test]
    #[rustfmt::skip]
    fn a_missing_rate_names_currency_and_date() {
        let (pilots, mut entries) = ledger();
        // The first JPY rate is dated 2026-01-01.
        entries.push(e("p1", sp(SpendCategory::Data), "2025-12-31", 100, "JPY"));
        let err = pilot_roi(&pilots[0], &entries, Currency::USD, &ledger_rates(), Default::default()).unwrap_err();
        assert_eq!(err, RoiError::FxRateMissing { currency: "JPY".into(), date: d("2025-12-31") });
        assert_eq!(err.to_string(), "no FX rate for JPY on or before 2025-12-31");
        // The reporting currency's own rate is needed too.
        let usd = [e("p1", sp(SpendCategory::Data), "2025-12-15", 100, "USD")];
        let err = pilot_roi(&pilots[0], &usd, cur("EUR"), &ledger_rates(), Default::default()).unwrap_err();
        assert_eq!(err, RoiError::FxRateMissing { currency: "EUR".into(), date: d("2025-12-15") });
    }

    #[test]
    #[rustfmt::skip]
    fn sums_and_conversions_that_leave_i64_are_errors() {
        let p = pilot("x", Stage::Piloting, "2026-01-01", None);
        let fx = rates(&[("JPY", "2026-01-01", "2")]);
        let run = |entries: &[(i64, bool, &str)]| {
            let kind = |s| if s { sp(SpendCategory::Data) } else { im(ImpactKind::CostReduction, BeforeAfter, true) };
            let entries: Vec<_> = entries.iter().map(|&(a, s, c)| e("x", kind(s), "2026-01-31", a, c)).collect();
            pilot_roi(&p, &entries, Currency::USD, &fx, Default::default()).map(|r| r.spend.amount_minor)
        };
        let overflow = |what: &str| Err(RoiError::Overflow { what: what.into() });
        assert_eq!(run(&[(i64::MAX, true, "USD"), (1, true, "USD")]), overflow("spend of pilot x"));
        // Only the final figure is range-checked: MAX + 1 − 1 is fine.
        assert_eq!(run(&[(i64::MAX, true, "USD"), (1, true, "USD"), (-1, true, "USD")]), Ok(i64::MAX));
        // Spend MAX and impact −2: net −2 − MAX is below i64::MIN.
        assert_eq!(run(&[(i64::MAX, true, "USD"), (-2, false, "USD")]), overflow("net measured of pilot x"));
        // MAX yen at 2 USD each is 2 × MAX dollars.
        let err = run(&[(i64::MAX, true, "JPY")]).unwrap_err();
        assert!(matches!(err, RoiError::Overflow { ref what } if what.ends_with("JPY of pilot x converted to USD")), "{err}");
    }

    #[test]
    #[rustfmt::skip]
    fn payback_needs_spend_and_allows_equality_across_years() {
        let p = pilot("y", Stage::Piloting, "2025-01-01", None);
        let (gain, cost) = (im(ImpactKind::CostReduction, ControlledExperiment, true), sp(SpendCategory::Data));
        let run = |entries: &[EntryFacts]| pilot_roi(&p, entries, Currency::USD, &rates(&[]), Default::default()).unwrap();
        // Impact before any spend is not payback; in Feb cum 100.00 ≥ cum 50.00 > 0.
        let r = run(&[e("y", gain, "2026-01-31", 10_000, "USD"), e("y", cost, "2026-02-28", 5_000, "USD")]);
        assert_eq!(r.payback_month.as_deref(), Some("2026-02"));
        // 100.00 spent in Nov; 60.00 back in Dec, 40.00 in Jan: equal in Jan.
        let r = run(&[e("y", cost, "2025-11-30", 10_000, "USD"), e("y", gain, "2025-12-31", 6_000, "USD"),
            e("y", gain, "2026-01-31", 4_000, "USD")]);
        assert_eq!(r.payback_month.as_deref(), Some("2026-01"));
        assert_eq!(r.monthly.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), ["2025-11", "2025-12", "2026-01"]);
        assert_eq!((run(&[]).monthly, run(&[]).payback_month), (vec![], None));
    }
}
