//! `GET /v1/summary`: an organisation's ROI picture, totals and groups, exact
//! to the minor unit. Money follows the rules of [`crate::analytics::roi`]
//! (convert each entry once at its period-end rates, sum in `i128`,
//! range-check); the rules specific to a summary are:
//!
//! - **Period.** Money figures include entries whose `period_end` lies in
//!   `[from, to]` (inclusive; an absent end is open). Evaluated and
//!   zero-impact counts include pilots whose *evaluation date* lies in
//!   `[from, to]`; their zero-impact status itself uses the definition's own
//!   window (USD, `window_months`), not `from`/`to`. `zero_impact_spend` is the
//!   spend inside `[from, to]` of the pilots counted zero-impact.
//! - **Scope.** `pilots` is the set summarised; entries of other pilots are
//!   ignored, so a caller can summarise a subset by passing it. Pilot ids
//!   are assumed unique.
//! - **Rates.** `fx_rates_used` lists every rate looked up, including those
//!   the definition needed to put measured impact into USD.
//! - **Attribute groups** (`function`, `stage`, `sourcing`, `ai_kind`,
//!   `owner_team`): a pilot belongs to the group of its current attribute;
//!   `pilots` counts every pilot in the group. Only values with at least one
//!   pilot appear. A pilot without an owner team is in the group `"(none)"`.
//! - **Tag groups** (`tag`): a pilot belongs to the group of each of its
//!   tags (`"(none)"` without any), so tag groups overlap and need not add
//!   up to the totals.
//! - **Quarter groups**: an entry goes to the quarter of its `period_end`; a
//!   pilot's evaluated / zero-impact count, and its whole `zero_impact_spend`,
//!   go to the quarter of its evaluation date (so quarters add up to the
//!   totals); `pilots` counts pilots with an entry or an evaluation in that
//!   quarter. Quarters run from the first to the last with any activity, with
//!   empty quarters in between shown as zeros.
//! - **Order.** Groups are sorted by `key` (`"2026Q1"` sorts chronologically).
//! - **Totals** have key `"all"`; `pilots` counts every pilot summarised.
//! - **Rankings.** `top_pilots` and `bottom_pilots` are the five highest and
//!   lowest `net_measured` among pilots with an entry in `[from, to]`, ties
//!   broken by pilot id ascending in both lists; with fewer than ten such
//!   pilots one can appear in both.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::analytics::definitions::{self, DefinitionParams, Quarter, DEFINITION_VERSION};
use crate::analytics::roi::{
    bucket, checked, standing, Converter, EntryFacts, FxRateUsed, FxSource, PilotFacts, RoiError, Sums,
};
use crate::domain::currency::Currency;
use crate::domain::enums::Stage;
use crate::domain::money::MoneyJson;

/// How a summary is broken down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By `business_function`.
    Function,
    /// By calendar quarter (`"2026Q1"`).
    Quarter,
    /// By current stage.
    Stage,
    /// By sourcing.
    Sourcing,
    /// By AI kind.
    AiKind,
    /// By owner team (`"(none)"` for pilots without one).
    OwnerTeam,
    /// By tag: a pilot counts in the group of each of its tags (`"(none)"`
    /// without any), so tag groups can add up to more than the totals.
    Tag,
}

/// The parameters of a summary request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryQuery {
    /// First day included (open when `None`).
    pub from: Option<NaiveDate>,
    /// Last day included (open when `None`).
    pub to: Option<NaiveDate>,
    /// Breakdown, if any.
    pub group_by: Option<GroupBy>,
    /// Reporting currency.
    pub currency: Currency,
    /// Zero-impact definition parameters.
    pub params: DefinitionParams,
}

/// The figures of one group, or of the totals.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group's value (`"customer_service"`, `"2026Q1"`), `"all"` for totals.
    pub key: String,
    /// Pilots in the group (see the module docs for quarters).
    pub pilots: u64,
    /// Those pilots by current stage, all five stages present.
    pub pilots_by_stage: BTreeMap<Stage, u64>,
    /// Spend in the period.
    pub spend: MoneyJson,
    /// Measured, non-self-reported impact in the period.
    pub measured_impact: MoneyJson,
    /// Other impact in the period.
    pub estimated_impact: MoneyJson,
    /// `measured_impact − spend`.
    pub net_measured: MoneyJson,
    /// `net_measured ÷ spend`, 4 places, half to even; null when spend is 0.
    pub roi: Option<String>,
    /// Pilots with an evaluation date in the period.
    pub evaluated: u64,
    /// Of those, the zero-impact ones.
    pub zero_impact: u64,
    /// `zero_impact ÷ evaluated`, 4 places, half to even; null when none evaluated.
    pub zero_impact_share: Option<String>,
    /// Spend in the period of the pilots counted in `zero_impact`.
    pub zero_impact_spend: MoneyJson,
}

/// A pilot in `top_pilots` / `bottom_pilots`, figures for the period.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct PilotRank {
    /// Pilot id.
    pub id: String,
    /// Pilot name.
    pub name: String,
    /// Spend in the period.
    pub spend: MoneyJson,
    /// Measured impact in the period.
    pub measured_impact: MoneyJson,
    /// `measured_impact − spend`, the ranking key.
    pub net_measured: MoneyJson,
    /// `net_measured ÷ spend`; null when spend is 0.
    pub roi: Option<String>,
}

/// `GET /v1/summary`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Reporting currency.
    pub currency: String,
    /// Echoed `from`.
    pub from: Option<NaiveDate>,
    /// Echoed `to`.
    pub to: Option<NaiveDate>,
    /// Echoed `group_by`.
    pub group_by: Option<GroupBy>,
    /// Echoed definition parameters.
    pub parameters: DefinitionParams,
    /// Version of the definitions.
    pub definition_version: &'static str,
    /// Everything summarised, key `"all"`.
    pub totals: GroupSummary,
    /// The breakdown, sorted by key; empty without `group_by`.
    pub groups: Vec<GroupSummary>,
    /// Up to five pilots with the highest `net_measured`.
    pub top_pilots: Vec<PilotRank>,
    /// Up to five pilots with the lowest `net_measured`.
    pub bottom_pilots: Vec<PilotRank>,
    /// Every FX rate looked up, sorted by currency, date.
    pub fx_rates_used: Vec<FxRateUsed>,
    /// What the figures leave out, and why.
    pub data_quality: DataQuality,
    /// Bill spend no allocation rule placed on a pilot, per currency (the
    /// route fills it from the organisation's spend sources; absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unallocated_spend: Vec<UnallocatedSpend>,
}

/// Spend of imported bills that no allocation rule placed, in one currency:
/// not in `totals` (which counts pilots' entries), never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnallocatedSpend {
    pub currency: String,
    pub amount: String,
    pub amount_minor: i64,
    /// Bill rows no rule matched.
    pub rows: i64,
    /// Bills (per currency) contributing.
    pub sources: usize,
}

/// What a summary could not include. One entry in a currency without an FX
/// rate must not make every summary of the organisation fail (a reversal of
/// it is just as unconvertible): such entries are left out of every figure,
/// the definition's included, and listed here per currency.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct DataQuality {
    /// Per currency (sorted): entries that have no rate for their period end.
    pub entries_excluded_missing_fx_rate: Vec<ExcludedEntries>,
    /// Pilots in an evaluated stage whose evaluation date nobody recorded: not
    /// counted as evaluated anywhere (docs/DEFINITIONS.md#evaluated).
    pub pilots_with_unknown_evaluation_date: u64,
}

/// Entries of one currency left out for want of an FX rate.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ExcludedEntries {
    /// The entries' currency.
    pub currency: String,
    /// The currency with no rate on or before their period ends: theirs, or
    /// the reporting currency.
    pub missing_rate_for: String,
    /// How many entries (a reversal and its original count as two).
    pub entries: u64,
    /// Their signed sum in their own currency; null past the exact range.
    pub amount: Option<MoneyJson>,
    /// The earliest and latest period end among them.
    pub first_period_end: NaiveDate,
    pub last_period_end: NaiveDate,
}

#[derive(Default)]
struct Excluded {
    entries: u64,
    sum: i128,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

impl Excluded {
    fn add(&mut self, e: &EntryFacts) {
        self.entries += 1;
        self.sum += i128::from(e.amount_minor);
        self.first = Some(self.first.map_or(e.period_end, |d| d.min(e.period_end)));
        self.last = Some(self.last.map_or(e.period_end, |d| d.max(e.period_end)));
    }
}

/// A group under construction.
#[derive(Default)]
struct Acc {
    pilots: BTreeSet<usize>,
    sums: Sums,
    evaluated: u64,
    zero_impact: u64,
    zero_impact_spend: i128,
}

impl Acc {
    fn count_evaluation(&mut self, zero_impact: bool, window_spend: i128) {
        self.evaluated += 1;
        if zero_impact {
            self.zero_impact += 1;
            self.zero_impact_spend += window_spend;
        }
    }

    fn finish(&self, key: String, pilots: &[PilotFacts], cur: Currency) -> Result<GroupSummary, RoiError> {
        let mut by_stage: BTreeMap<Stage, u64> = Stage::ALL.iter().map(|&s| (s, 0)).collect();
        for &i in &self.pilots {
            *by_stage.entry(pilots[i].stage).or_default() += 1;
        }
        let of = format!("group {key}");
        let f = self.sums.figures(cur, &of)?;
        let zis = checked(self.zero_impact_spend, &format!("zero-impact spend of {of}"))?;
        // Counts are far below i64::MAX, so the conversions cannot fail.
        let share = crate::analytics::roi::ratio_4dp(
            i64::try_from(self.zero_impact).unwrap_or(i64::MAX),
            i64::try_from(self.evaluated).unwrap_or(i64::MAX),
        );
        Ok(GroupSummary {
            key,
            pilots: self.pilots.len() as u64,
            pilots_by_stage: by_stage,
            spend: f.spend,
            measured_impact: f.measured_impact,
            estimated_impact: f.estimated_impact,
            net_measured: f.net_measured,
            roi: f.roi,
            evaluated: self.evaluated,
            zero_impact: self.zero_impact,
            zero_impact_share: share,
            zero_impact_spend: MoneyJson::new(zis, cur),
        })
    }
}

/// The key of a group for pilots without an owner team or tags.
pub const NO_VALUE: &str = "(none)";

/// The attribute groups a pilot belongs to (`None` for quarters, which are
/// per entry): one, or one per tag.
fn attribute_keys(by: GroupBy, p: &PilotFacts) -> Option<Vec<String>> {
    let one = |s: &str| Some(vec![s.to_owned()]);
    match by {
        GroupBy::Function => one(p.business_function.as_str()),
        GroupBy::Stage => one(p.stage.as_str()),
        GroupBy::Sourcing => one(p.sourcing.as_str()),
        GroupBy::AiKind => one(p.ai_kind.as_str()),
        GroupBy::OwnerTeam => one(p.owner_team.as_deref().unwrap_or(NO_VALUE)),
        GroupBy::Tag if p.tags.is_empty() => one(NO_VALUE),
        GroupBy::Tag => {
            let tags: BTreeSet<&String> = p.tags.iter().collect();
            Some(tags.into_iter().cloned().collect())
        }
        GroupBy::Quarter => None,
    }
}

/// Summarises `pilots` and their `entries` per `q`; see the module docs for
/// the period and grouping rules.
pub fn summarise(
    pilots: &[PilotFacts],
    entries: &[EntryFacts],
    q: &SummaryQuery,
    fx: &dyn FxSource,
) -> Result<Summary, RoiError> {
    let within = |d: NaiveDate| q.from.is_none_or(|f| d >= f) && q.to.is_none_or(|t| d <= t);
    let index: HashMap<&str, usize> = pilots.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let mut conv = Converter::new(fx, q.currency);
    let mut per_pilot = vec![Sums::default(); pilots.len()];
    let mut active = vec![false; pilots.len()];
    let mut ledgers: Vec<Vec<&EntryFacts>> = vec![Vec::new(); pilots.len()];
    let mut quarters: BTreeMap<Quarter, Acc> = BTreeMap::new();
    let mut excluded: BTreeMap<(Currency, Currency), Excluded> = BTreeMap::new();
    let mut unknown_dates = 0u64;
    for e in entries {
        let Some(&i) = index.get(e.pilot_id.as_str()) else {
            continue;
        };
        if !conv.can_convert(e) {
            let own = conv.has_rate(e.currency, e.period_end);
            let missing = if own { q.currency } else { e.currency };
            excluded.entry((e.currency, missing)).or_default().add(e);
            continue;
        }
        // The definition looks at every entry, whatever from/to say.
        ledgers[i].push(e);
        if !within(e.period_end) {
            continue;
        }
        let amount = conv.in_target(e)?;
        per_pilot[i].add(bucket(&e.kind), amount);
        active[i] = true;
        if q.group_by == Some(GroupBy::Quarter) {
            let acc = quarters.entry(Quarter::of(e.period_end)).or_default();
            acc.sums.add(bucket(&e.kind), amount);
            acc.pilots.insert(i);
        }
    }

    let mut totals = Acc::default();
    let mut attributes: BTreeMap<String, Acc> = BTreeMap::new();
    for (i, p) in pilots.iter().enumerate() {
        totals.pilots.insert(i);
        totals.sums.add_all(&per_pilot[i]);
        let attr = q.group_by.and_then(|by| attribute_keys(by, p));
        for key in attr.iter().flatten() {
            let acc = attributes.entry(key.clone()).or_default();
            acc.pilots.insert(i);
            acc.sums.add_all(&per_pilot[i]);
        }
        // Only pilots evaluated in the period need the definition (and its rates).
        let eval = definitions::evaluation_date(p.evaluated_on, p.stage, p.evaluation_stage_on);
        if eval.is_none() && p.stage.is_evaluating() {
            unknown_dates += 1;
        }
        if !eval.is_some_and(within) {
            continue;
        }
        let Some(s) = standing(p, ledgers[i].iter().copied(), &mut conv, &q.params)? else {
            continue;
        };
        let spend = per_pilot[i].spend;
        totals.count_evaluation(s.zero_impact, spend);
        if let Some(keys) = &attr {
            for key in keys {
                attributes
                    .entry(key.clone())
                    .or_default()
                    .count_evaluation(s.zero_impact, spend);
            }
        } else if q.group_by == Some(GroupBy::Quarter) {
            let acc = quarters.entry(Quarter::of(s.evaluation_date)).or_default();
            acc.count_evaluation(s.zero_impact, spend);
            acc.pilots.insert(i);
        }
    }

    let cur = q.currency;
    let mut groups = Vec::new();
    for (key, acc) in &attributes {
        groups.push(acc.finish(key.clone(), pilots, cur)?);
    }
    if let (Some(&first), Some(&last)) = (quarters.keys().next(), quarters.keys().next_back()) {
        let (mut quarter, empty) = (first, Acc::default());
        loop {
            let acc = quarters.get(&quarter).unwrap_or(&empty);
            groups.push(acc.finish(quarter.to_string(), pilots, cur)?);
            if quarter == last {
                break;
            }
            quarter = quarter.next();
        }
    }

    let mut ranked: Vec<(i64, PilotRank)> = Vec::new();
    for (i, p) in pilots.iter().enumerate().filter(|&(i, _)| active[i]) {
        let f = per_pilot[i].figures(cur, &format!("pilot {}", p.id))?;
        let net = f.net_measured.amount_minor;
        let rank = PilotRank {
            id: p.id.clone(),
            name: p.name.clone(),
            spend: f.spend,
            measured_impact: f.measured_impact,
            net_measured: f.net_measured,
            roi: f.roi,
        };
        ranked.push((net, rank));
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let top_pilots = ranked.iter().take(5).map(|r| r.1.clone()).collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let bottom_pilots = ranked.iter().take(5).map(|r| r.1.clone()).collect();

    Ok(Summary {
        currency: cur.code().to_owned(),
        from: q.from,
        to: q.to,
        group_by: q.group_by,
        parameters: q.params,
        definition_version: DEFINITION_VERSION,
        totals: totals.finish("all".to_owned(), pilots, cur)?,
        groups,
        top_pilots,
        bottom_pilots,
        fx_rates_used: conv.into_used(),
        unallocated_spend: Vec::new(),
        data_quality: DataQuality {
            entries_excluded_missing_fx_rate: excluded
                .into_iter()
                .map(|((currency, missing), x)| ExcludedEntries {
                    currency: currency.code().to_owned(),
                    missing_rate_for: missing.code().to_owned(),
                    entries: x.entries,
                    amount: i64::try_from(x.sum).ok().map(|m| MoneyJson::new(m, currency)),
                    first_period_end: x.first.unwrap_or_default(),
                    last_period_end: x.last.unwrap_or_default(),
                })
                .collect(),
            pilots_with_unknown_evaluation_date: unknown_dates,
        },
    })
}

#[cfg(test)]
mod tests {
    //! The ledger is `roi::tests::ledger`. Per-pilot EUR figures, by hand:
    //! - p1: spend 1000.00 USD / 1.25 = 80000 + 50000 EUR + JPY (100000 −
    //!   100000 + 80000) × 0.0064 / 1.25 = 40960 → 170960; measured 200000
    //!   EUR + 100.000 BHD × 2.65 / 1.1 = 240.909 → 24091 → 224091; forecast
    //!   5000.00 USD / 1.2 = 4166.667 → 416667; net 53131.
    //! - p2: spend 481818, measured −27273, net −509091 (see `roi::tests`).
    //! - p3: spend 29091, forecast 833333, net −29091.
    //! - p4: spend 30000, self-reported 400000, net −30000.
    //!
    //! Evaluated: p1 (2026-03-15, not zero-impact), p2 (2026-05-20, zero),
    //! p4 (2026-06-10, zero); p3 is not evaluated.
    use super::*;
    use crate::analytics::roi::tests::{cur, d, e, im, ledger, ledger_rates, pilot, rates, sp};
    use crate::domain::enums::{AttributionMethod, ImpactKind, SpendCategory};

    fn query(group_by: Option<GroupBy>) -> SummaryQuery {
        let params = DefinitionParams::default();
        SummaryQuery {
            from: None,
            to: None,
            group_by,
            currency: cur("EUR"),
            params,
        }
    }

    fn run(q: &SummaryQuery) -> Summary {
        let (pilots, entries) = ledger();
        summarise(&pilots, &entries, q, &ledger_rates()).unwrap()
    }

    /// Pilots by stage [proposed, piloting, production, scaled, abandoned],
    /// EUR minor units [spend, measured, estimated, net, zero-impact spend],
    /// roi, [evaluated, zero-impact], zero-impact share.
    type Fig = ([u64; 5], [i64; 5], Option<&'static str>, [u64; 2], Option<&'static str>);

    #[rustfmt::skip]
    fn check(groups: &[GroupSummary], want: &[(&str, Fig)]) {
        let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, want.iter().map(|w| w.0).collect::<Vec<_>>());
        for (g, (key, fig)) in groups.iter().zip(want) {
            let money = [&g.spend, &g.measured_impact, &g.estimated_impact, &g.net_measured, &g.zero_impact_spend];
            assert!(money.iter().all(|m| m.currency == "EUR"), "{key}");
            let stages: Vec<u64> = g.pilots_by_stage.values().copied().collect();
            assert_eq!(g.pilots, stages.iter().sum::<u64>(), "{key}");
            let got = (stages.as_slice(), money.map(|m| m.amount_minor), g.roi.as_deref());
            assert_eq!(got, (&fig.0[..], fig.1, fig.2), "{key}");
            assert_eq!(([g.evaluated, g.zero_impact], g.zero_impact_share.as_deref()), (fig.3, fig.4), "{key}");
        }
    }

    fn ids(ranks: &[PilotRank]) -> String {
        ranks.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(" ")
    }

    // Rows shared by several breakdowns: one pilot each, or p1 + p3.
    #[rustfmt::skip]
    const P2: Fig = ([0, 0, 0, 0, 1], [481_818, -27_273, 0, -509_091, 481_818], Some("-1.0566"), [1, 1], Some("1.0000"));
    #[rustfmt::skip]
    const P4: Fig = ([0, 1, 0, 0, 0], [30_000, 0, 400_000, -30_000, 30_000], Some("-1.0000"), [1, 1], Some("1.0000"));
    // p1 + p3: spend 170960 + 29091 = 200051; estimated 416667 + 833333;
    // net 224091 − 200051 = 24040; ÷ 200051 = 0.12017 (200051 × 1201 =
    // 240261251, rest 138749 > half) → 0.1202.
    #[rustfmt::skip]
    const P1_P3: Fig = ([0, 1, 1, 0, 0], [200_051, 224_091, 1_250_000, 24_040, 0], Some("0.1202"), [1, 0], Some("0.0000"));

    #[test]
    #[rustfmt::skip]
    fn totals_rankings_rates_and_json_shape() {
        let s = run(&query(None));
        // Spend 170960 + 481818 + 29091 + 30000 = 711869; measured 224091 −
        // 27273 = 196818; estimated 416667 + 833333 + 400000 = 1650000; net
        // −515051; ÷ 711869 = 0.72352 (711869 × 7235 = 5150372215, rest
        // 137785 < half) → −0.7235. 2 of 3 evaluated are zero-impact → 0.6667,
        // having spent 481818 + 30000.
        check(std::slice::from_ref(&s.totals), &[("all", ([0, 2, 1, 0, 1],
            [711_869, 196_818, 1_650_000, -515_051, 511_818], Some("-0.7235"), [3, 2], Some("0.6667")))]);
        assert!(s.groups.is_empty());
        assert_eq!((ids(&s.top_pilots), ids(&s.bottom_pilots)), ("p1 p3 p4 p2".into(), "p2 p4 p3 p1".into()));
        // p1: 53131 / 170960 = 0.31078 (170960 × 3107 = 531172720, rest 137280 > half) → 0.3108.
        let p1 = &s.top_pilots[0];
        assert_eq!((p1.spend.amount_minor, p1.measured_impact.amount_minor), (170_960, 224_091));
        assert_eq!((p1.net_measured.amount.as_str(), p1.roi.as_deref()), ("531.31", Some("0.3108")));
        let v = serde_json::to_value(&s).unwrap();
        let used = [("BHD", "2026-02-01", "2.65"), ("EUR", "2026-01-01", "1.25"), ("EUR", "2026-03-01", "1.1"),
            ("EUR", "2026-06-01", "1.2"), ("JPY", "2026-01-01", "0.0064")];
        let used: Vec<_> = used.iter().map(|(c, d, r)| serde_json::json!({"currency": c, "date": d, "rate_to_usd": r})).collect();
        assert_eq!(v["fx_rates_used"], serde_json::Value::from(used));
        assert_eq!((&v["totals"]["spend"]["amount"], &v["totals"]["key"]), (&"7118.69".into(), &"all".into()));
        let stages = serde_json::json!({"proposed": 0, "piloting": 2, "production": 1, "scaled": 0, "abandoned": 1});
        assert_eq!(v["totals"]["pilots_by_stage"], stages);
        assert_eq!((&v["group_by"], &v["from"], &v["currency"]), (&().into(), &().into(), &"EUR".into()));
        assert_eq!(v["definition_version"], DEFINITION_VERSION);
    }

    #[test]
    #[rustfmt::skip]
    fn from_to_limits_money_by_period_end_and_counts_by_evaluation_date() {
        let q = SummaryQuery { from: Some(d("2026-03-01")), to: Some(d("2026-05-31")), ..query(None) };
        let s = run(&q);
        // Entries ending 03-01..05-31: p1 impact 200000 + 24091; p2 spend
        // 481818, impact −27273; p3 spend 29091. Spend 510909, measured
        // 196818, net −314091; ÷ 510909 = 0.61477 (510909 × 6147 =
        // 3140557623, rest 352377 > half) → −0.6148. Evaluated in the period:
        // p1 and p2 (p4's 06-10 is out), p2 zero-impact with 481818 spent.
        check(std::slice::from_ref(&s.totals), &[("all", ([0, 2, 1, 0, 1],
            [510_909, 196_818, 0, -314_091, 481_818], Some("-0.6148"), [2, 1], Some("0.5000")))]);
        // p4 has no entry in the period, so it is not ranked; p1 has no spend in it.
        let nets: Vec<_> = s.top_pilots.iter().map(|p| (p.id.as_str(), p.net_measured.amount_minor, p.roi.as_deref())).collect();
        assert_eq!(nets, [("p1", 224_091, None), ("p3", -29_091, Some("-1.0000")), ("p2", -509_091, Some("-1.0566"))]);
        // January and June rates are no longer needed.
        let used: Vec<_> = s.fx_rates_used.iter().map(|r| (r.currency.as_str(), r.date)).collect();
        assert_eq!(used, [("BHD", d("2026-02-01")), ("EUR", d("2026-03-01")), ("JPY", d("2026-01-01"))]);
    }

    #[test]
    #[rustfmt::skip]
    fn grouped_by_each_attribute() {
        let by = |g| run(&query(Some(g))).groups;
        check(&by(GroupBy::Function), &[("customer_service", P1_P3), ("finance_accounting", P4), ("software_engineering", P2)]);
        check(&by(GroupBy::Sourcing), &[("bought", P1_P3), ("built", P2), ("partnered", P4)]);
        // piloting = p3 + p4: spend 29091 + 30000; forecasts 833333 + 400000.
        // production = p1: roi 0.3108 as in the totals test.
        check(&by(GroupBy::Stage), &[("abandoned", P2),
            ("piloting", ([0, 2, 0, 0, 0], [59_091, 0, 1_233_333, -59_091, 30_000], Some("-1.0000"), [1, 1], Some("1.0000"))),
            ("production", ([0, 0, 1, 0, 0], [170_960, 224_091, 416_667, 53_131, 0], Some("0.3108"), [1, 0], Some("0.0000")))]);
        // genai_assistant = p1 + p4: spend 200960, measured 224091, estimated
        // 816667, net 23131; ÷ 200960 = 0.11510 (200960 × 1151 = 231304960,
        // rest 5040 < half) → 0.1151; 1 of 2 evaluated zero-impact (p4).
        check(&by(GroupBy::AiKind), &[("genai_agentic", P2),
            ("genai_assistant", ([0, 1, 1, 0, 0], [200_960, 224_091, 816_667, 23_131, 30_000], Some("0.1151"), [2, 1], Some("0.5000"))),
            ("predictive_ml", ([0, 1, 0, 0, 0], [29_091, 0, 833_333, -29_091, 0], Some("-1.0000"), [0, 0], None))]);
        let v = serde_json::to_value(run(&query(Some(GroupBy::AiKind)))).unwrap();
        assert_eq!(v["group_by"], "ai_kind");
        assert_eq!(serde_json::from_str::<GroupBy>("\"function\"").unwrap(), GroupBy::Function);
    }

    #[test]
    fn grouped_by_owner_team_and_by_each_tag() {
        // a (AP; x, y) 1.00 USD, b (AP; y, y) 2.00, c (no team, no tags) 3.00.
        // Teams: (none) 3.00, AP 3.00. Tags: (none) 3.00, x 1.00, y 3.00
        // (b's repeated tag counts once).
        let mut a = pilot("a", Stage::Piloting, "2026-01-01", None);
        (a.owner_team, a.tags) = (Some("AP".into()), vec!["y".into(), "x".into()]);
        let mut b = pilot("b", Stage::Piloting, "2026-01-01", None);
        (b.owner_team, b.tags) = (Some("AP".into()), vec!["y".into(), "y".into()]);
        let c = pilot("c", Stage::Piloting, "2026-01-01", None);
        let cost = sp(SpendCategory::Data);
        let entries = [
            e("a", cost, "2026-01-31", 100, "USD"),
            e("b", cost, "2026-01-31", 200, "USD"),
            e("c", cost, "2026-01-31", 300, "USD"),
        ];
        let run = |by| {
            let q = SummaryQuery {
                currency: Currency::USD,
                ..query(Some(by))
            };
            let s = summarise(&[a.clone(), b.clone(), c.clone()], &entries, &q, &rates(&[])).unwrap();
            s.groups
                .iter()
                .map(|g| (g.key.clone(), g.pilots, g.spend.amount_minor))
                .collect::<Vec<_>>()
        };
        let k = |s: &str, n: u64, m: i64| (s.to_owned(), n, m);
        assert_eq!(run(GroupBy::OwnerTeam), vec![k("(none)", 1, 300), k("AP", 2, 300)]);
        assert_eq!(
            run(GroupBy::Tag),
            vec![k("(none)", 1, 300), k("x", 1, 100), k("y", 2, 300)]
        );
        assert_eq!(
            serde_json::from_str::<GroupBy>("\"owner_team\"").unwrap(),
            GroupBy::OwnerTeam
        );
    }

    #[test]
    #[rustfmt::skip]
    fn grouped_by_quarter_of_period_end_and_of_evaluation() {
        // Q1: spend 80000 + 50000 + 40960 (p1) + 29091 (p3) = 200051; measured
        // 200000; net −51; 51 / 200051 = 0.000255 → −0.0003; p1 evaluated.
        // Q2: spend 481818 + 30000; measured 24091 − 27273 = −3182; estimated
        // 1650000; net −515000; ÷ 511818 = 1.00621 (511818 × 10062 =
        // 5149912716, rest 87284 < half) → −1.0062; p2 and p4 evaluated, both
        // zero-impact, with all their spend (481818 + 30000).
        check(&run(&query(Some(GroupBy::Quarter))).groups, &[
            ("2026Q1", ([0, 1, 1, 0, 0], [200_051, 200_000, 0, -51, 0], Some("-0.0003"), [1, 0], Some("0.0000"))),
            ("2026Q2", ([0, 2, 1, 0, 1], [511_818, -3_182, 1_650_000, -515_000, 511_818], Some("-1.0062"), [2, 2], Some("1.0000")))]);
        // Gaps are filled: activity in 2025Q4 and 2026Q2 only; b is evaluated
        // (scaled) on 2026-04-02 with nothing measured, so zero-impact.
        let pilots = [pilot("a", Stage::Piloting, "2025-10-01", None), pilot("b", Stage::Scaled, "2026-04-02", None)];
        let entries = [e("a", sp(SpendCategory::Data), "2025-12-31", 100, "EUR"), e("b", sp(SpendCategory::Data), "2026-05-01", 300, "EUR")];
        let s = summarise(&pilots, &entries, &query(Some(GroupBy::Quarter)), &rates(&[])).unwrap();
        check(&s.groups, &[
            ("2025Q4", ([0, 1, 0, 0, 0], [100, 0, 0, -100, 0], Some("-1.0000"), [0, 0], None)),
            ("2026Q1", ([0; 5], [0; 5], None, [0, 0], None)),
            ("2026Q2", ([0, 0, 0, 1, 0], [300, 0, 0, -300, 300], Some("-1.0000"), [1, 1], Some("1.0000")))]);
    }

    #[test]
    #[rustfmt::skip]
    fn top_and_bottom_five_with_ties_by_id() {
        // Nets in USD: a +500.00, b +500.00, c −100.00, d 0 (100.00 each way),
        // e +300.00, f −100.00, g +1000.00; h has no entries and is not ranked.
        let gain = im(ImpactKind::CostReduction, AttributionMethod::ControlledExperiment, true);
        let cost = sp(SpendCategory::Licences);
        let pilots = ["f", "b", "h", "g", "c", "a", "e", "d"].map(|id| pilot(id, Stage::Piloting, "2026-01-01", None));
        let entries = [("a", gain, 50_000), ("b", gain, 50_000), ("c", cost, 10_000), ("d", cost, 10_000),
            ("d", gain, 10_000), ("e", gain, 30_000), ("f", cost, 10_000), ("g", gain, 100_000)]
            .map(|(id, kind, amount)| e(id, kind, "2026-01-31", amount, "USD"));
        let q = SummaryQuery { currency: Currency::USD, ..query(None) };
        let s = summarise(&pilots, &entries, &q, &rates(&[])).unwrap();
        assert_eq!((ids(&s.top_pilots), ids(&s.bottom_pilots)), ("g a b e d".into(), "c f d e a".into()));
        let d = &s.top_pilots[4];
        assert_eq!((d.spend.amount.as_str(), d.measured_impact.amount_minor, d.roi.as_deref()), ("100.00", 10_000, Some("0.0000")));
        assert_eq!((s.top_pilots[0].roi.as_deref(), s.totals.pilots), (None, 8));
    }

    #[test]
    #[rustfmt::skip]
    fn unconvertible_entries_are_excluded_and_named_and_overflow_surfaces() {
        let (pilots, mut entries) = ledger();
        let whole = summarise(&pilots, &entries, &query(None), &ledger_rates()).unwrap();
        assert!(whole.data_quality.entries_excluded_missing_fx_rate.is_empty());
        // JPY entries from before the first JPY rate: left out of every figure, named.
        entries.push(e("p3", sp(SpendCategory::Data), "2025-12-31", 100, "JPY"));
        entries.push(e("p3", sp(SpendCategory::Data), "2025-11-30", -40, "JPY"));
        let s = summarise(&pilots, &entries, &query(None), &ledger_rates()).unwrap();
        assert_eq!((s.totals.clone(), s.groups.clone(), s.fx_rates_used.clone()), (whole.totals, whole.groups, whole.fx_rates_used));
        assert_eq!(s.data_quality.entries_excluded_missing_fx_rate, vec![ExcludedEntries {
            currency: "JPY".into(), missing_rate_for: "JPY".into(), entries: 2,
            amount: Some(MoneyJson::new(60, Currency::parse("JPY").unwrap())),
            first_period_end: d("2025-11-30"), last_period_end: d("2025-12-31"),
        }]);
        // Outside from/to the entry is not summed, but still named.
        let q = SummaryQuery { from: Some(d("2026-01-01")), ..query(None) };
        let s = summarise(&pilots, &entries, &q, &ledger_rates()).unwrap();
        assert_eq!(s.totals.spend.amount_minor, 711_869);
        assert_eq!(s.data_quality.entries_excluded_missing_fx_rate[0].entries, 2);
        // Each pilot's spend fits i64; their sum does not.
        let big = i64::MAX / 2 + 1;
        let entries = ["p1", "p2"].map(|p| e(p, sp(SpendCategory::Data), "2026-01-31", big, "EUR"));
        let err = summarise(&pilots, &entries, &query(None), &ledger_rates()).unwrap_err();
        assert_eq!(err, RoiError::Overflow { what: "spend of group all".into() });
    }
}
