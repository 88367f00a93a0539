//! Tests of the parent module.

//! Every expected number is worked out by hand in the comments, from the
//! amounts and rates below; none is computed by the code under test.
use super::*;
use crate::domain::enums::AttributionMethod;
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
        evaluation_stage_on: Some(d(entered)),
        evaluated_on: eval.map(d),
        owner_team: None,
        tags: Vec::new(),
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
