use super::*;
use serde_json::{json, Value};

fn params(v: Value) -> GapParams {
    serde_json::from_value(v).expect("test params parse")
}

fn scenario<'a>(out: &'a GapProjection, name: &str) -> &'a ScenarioResult {
    out.scenarios.iter().find(|s| s.name == name).expect("scenario present")
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9, "{a} != {b}");
}

#[test]
fn reproduces_cahn_2023_and_2024_exactly() {
    let p = params(json!({
        "start_year": 2023, "horizon_years": 2,
        "spend_usd_bn": {"2023": 50, "2024": 150}, "cost_multiplier": 2, "gross_margin": 0.5,
        "revenue_usd_bn": {"2023": 75, "2024": 100}
    }));
    let out = project(&p, None).unwrap();
    // Every year is given, so no scenario may move these figures.
    for s in &out.scenarios {
        let y = &s.years;
        assert_eq!((y[0].year, y[1].year), (2023, 2024));
        assert_eq!(y[0].required_revenue_usd_bn, 200.0);
        assert_eq!(y[0].revenue_usd_bn, 75.0);
        assert_eq!(y[0].gap_usd_bn, 125.0);
        assert_eq!(y[1].required_revenue_usd_bn, 600.0);
        assert_eq!(y[1].revenue_usd_bn, 100.0);
        assert_eq!(y[1].gap_usd_bn, 500.0);
        assert_eq!(y[1].cumulative_gap_usd_bn, 625.0);
        assert_eq!(s.gap_closes_in, None);
    }
}

#[test]
fn three_year_projection_matches_hand_arithmetic() {
    let p = params(json!({
        "start_year": 2025, "horizon_years": 3,
        "spend_usd_bn": {"2025": 100}, "spend_growth": 0.1, "spend_growth_path": {"2027": 0.2},
        "cost_multiplier": 1.5, "gross_margin": 0.4,
        "revenue_usd_bn": {"2024": 50}, "revenue_growth": 0.2,
        "success_rate": {"source": "fixed", "by_year": {"2025": 0.1, "2027": 0.2}},
        "reference_success_rate": 0.05, "elasticity": 0.5,
        "revenue_ceiling_usd_bn": 400, "max_revenue_growth": 0.5
    }));
    let out = project(&p, None).unwrap();
    // (scenario, spend, success rate per year) written out by hand.
    let cases = [
        ("status_quo", [100.0, 110.0, 132.0], [0.1, 0.1, 0.2]),
        ("revenue_catches_up", [100.0, 110.0, 132.0], [0.2, 0.2, 0.4]),
        ("spending_slows", [100.0, 105.0, 115.5], [0.1, 0.1, 0.2]),
    ];
    for (name, spend, rates) in cases {
        let years = &scenario(&out, name).years;
        let mut revenue = 50.0;
        let mut cumulative = 0.0;
        for i in 0..3 {
            // Growth capped at 0.5 (0.2·√8 = 0.566 in the doubled 2027), then
            // the Beverton–Holt step towards the 400 ceiling.
            let growth = (0.2 * (rates[i] / 0.05_f64).sqrt()).min(0.5);
            revenue = 400.0 * revenue * (1.0 + growth) / (400.0 + revenue * growth);
            let required = spend[i] * 1.5 / 0.6;
            cumulative += required - revenue;
            let row = &years[i];
            assert_eq!(row.year, 2025 + i as i32);
            close(row.spend_usd_bn, spend[i]);
            close(row.success_rate, rates[i]);
            close(row.required_revenue_usd_bn, required);
            close(row.revenue_usd_bn, revenue);
            close(row.gap_usd_bn, required - revenue);
            close(row.cumulative_gap_usd_bn, cumulative);
            assert!(row.bands.is_none(), "no interval, no Monte Carlo: no bands");
        }
    }
    // Only the doubled 2027 rate pushes against the cap, and the response says so.
    let capped: Vec<_> = out
        .warnings
        .iter()
        .filter(|w| w.code == "revenue_growth_capped")
        .collect();
    assert_eq!(capped.len(), 1, "{:?}", out.warnings);
    assert_eq!(capped[0].scenario.as_deref(), Some("revenue_catches_up"));
    assert_eq!(capped[0].years, vec![2027]);
    let slows = scenario(&out, "spending_slows");
    assert_eq!(slows.overrides["spend_growth"], json!(0.05));
    assert_eq!(slows.overrides["spend_growth_path"], json!({"2027": 0.1}));
}

#[test]
fn backcasts_and_gap_closing_year() {
    // Spend 121 in 2026 at +10% → 100, 110 before; revenue 90 in 2026 at +50% → 40, 60.
    let p = params(json!({
        "start_year": 2024, "horizon_years": 5, "spend_usd_bn": {"2026": 121}, "spend_growth": 0.1,
        "gross_margin": 0.5, "revenue_usd_bn": {"2026": 90}, "revenue_growth": 0.5,
        "success_rate": {"value": 0.05}
    }));
    let out = project(&p, None).unwrap();
    for name in ["status_quo", "revenue_catches_up"] {
        let y = &scenario(&out, name).years;
        close(y[0].spend_usd_bn, 100.0);
        close(y[1].spend_usd_bn, 110.0);
        // History before the first observation ignores the success rate.
        close(y[0].revenue_usd_bn, 40.0);
        close(y[1].revenue_usd_bn, 60.0);
        assert_eq!(y[2].revenue_usd_bn, 90.0);
    }
    // Status quo: required 242, 266.2, 292.82 vs revenue 90, 135, 202.5 → open; doubled
    // success doubles growth: 90, 180, 360 → 360 ≥ 292.82 closes in 2028.
    assert_eq!(scenario(&out, "status_quo").gap_closes_in, None);
    assert_eq!(scenario(&out, "revenue_catches_up").gap_closes_in, Some(2028));
}

#[test]
fn defaults_are_filled_sourced_and_round_trip() {
    let out = project(&GapParams::default(), None).unwrap();
    let p = &out.parameters;
    assert_eq!(p.start_year, 2026);
    assert_eq!(p.spend_usd_bn, BTreeMap::from([(2026, 800.0), (2027, 1000.0)]));
    assert_eq!(out.defaults_used.len(), 12 + 13);
    for used in &out.defaults_used {
        assert!(out.defaults_sources.contains_key(used), "no source for default {used}");
    }
    let sq = scenario(&out, "status_quo");
    assert_eq!(sq.years.len(), 10);
    assert_eq!(sq.years[0].required_revenue_usd_bn, 1600.0);
    close(sq.years[2].spend_usd_bn, 1100.0);
    // Two Beverton–Holt steps from $100B (2024) towards the $10T ceiling at +1/3.
    let bh = |r: f64, g: f64| 10_000.0 * r * (1.0 + g) / (10_000.0 + r * g);
    close(sq.years[0].revenue_usd_bn, bh(bh(100.0, 1.0 / 3.0), 1.0 / 3.0));
    assert_eq!(sq.gap_closes_in, None);
    // Doubled success: +2/3 a year; by hand (bh above) 2031 $2,651.6B < $2,928.2B
    // required, 2032 $3,755.4B > $3,221.0B.
    assert_eq!(scenario(&out, "revenue_catches_up").gap_closes_in, Some(2032));
    // The JSON field names are the HTTP contract.
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["parameters"]["spend_usd_bn"], json!({"2026": 800.0, "2027": 1000.0}));
    assert_eq!(
        v["parameters"]["success_rate"],
        json!({"source": "fixed", "value": 0.05})
    );
    let s0 = &v["scenarios"][0];
    assert_eq!(
        (&s0["name"], &s0["overrides"], &s0["gap_closes_in"]),
        (&json!("status_quo"), &json!({}), &Value::Null)
    );
    let row = &s0["years"][0];
    for key in [
        "year",
        "spend_usd_bn",
        "required_revenue_usd_bn",
        "revenue_usd_bn",
        "gap_usd_bn",
        "cumulative_gap_usd_bn",
        "success_rate",
    ] {
        assert!(row[key].is_number(), "{key}");
    }
    assert!(row["bands"].is_null() && s0["description"].is_string());
    // The echoed parameters are a valid request that reproduces the result.
    let echoed: GapParams = serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap();
    let again = project(&echoed, None).unwrap();
    assert_eq!(again.scenarios, out.scenarios);
    assert!(again.defaults_used.is_empty());
}

/// splitmix64: a tiny deterministic generator for the property test.
pub(super) struct Gen(pub u64);

impl Gen {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn f(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn i(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
}

#[test]
fn higher_success_never_raises_gap_or_delays_closing() {
    let mut g = Gen(2025);
    let mut strictly_better = 0;
    for case in 0..500 {
        let start = g.i(2000, 2040);
        let series = |g: &mut Gen, n: i32, lo: f64, hi: f64| {
            let mut year = start + g.i(-3, 2);
            let pairs: Vec<(i32, f64)> = (0..n)
                .map(|_| {
                    year += g.i(1, 3);
                    (year, g.f(lo, hi))
                })
                .collect();
            YearSeries::from_pairs(&pairs)
        };
        let mut base = GapParams {
            start_year: Some(start),
            horizon_years: Some(g.i(1, 15).into()),
            spend_usd_bn: Some(series(&mut g, g_count(case, 3), 10.0, 1000.0)),
            spend_growth: Some(g.f(-0.3, 0.8)),
            cost_multiplier: Some(g.f(0.5, 3.0)),
            gross_margin: Some(g.f(0.0, 0.9)),
            revenue_usd_bn: Some(series(&mut g, g_count(case, 2), 1.0, 500.0)),
            revenue_growth: Some(g.f(0.0, 1.0)),
            reference_success_rate: Some(g.f(0.01, 0.5)),
            elasticity: Some(g.f(0.0, 3.0)),
            ..GapParams::default()
        };
        // Two rate settings, the second at least as high in every year.
        let (mut lower, mut higher) = (SuccessRateParams::default(), SuccessRateParams::default());
        if case % 2 == 0 {
            let r = g.f(0.0, 1.0);
            lower.value = Some(r);
            higher.value = Some(r + (1.0 - r) * g.f(0.01, 1.0));
        } else {
            let years = [start - 1, start + g.i(0, 5)];
            let lo: Vec<(i32, f64)> = years.iter().map(|&y| (y, g.f(0.0, 1.0))).collect();
            let hi: Vec<(i32, f64)> = lo.iter().map(|&(y, r)| (y, r + (1.0 - r) * g.f(0.01, 1.0))).collect();
            lower.by_year = Some(YearSeries::from_pairs(&lo));
            higher.by_year = Some(YearSeries::from_pairs(&hi));
        }
        base.success_rate = Some(lower);
        let a = project(&base, None).unwrap();
        base.success_rate = Some(higher);
        let b = project(&base, None).unwrap();
        for (sa, sb) in a.scenarios.iter().zip(&b.scenarios) {
            let key = |c: Option<i32>| c.unwrap_or(i32::MAX);
            assert!(
                key(sb.gap_closes_in) <= key(sa.gap_closes_in),
                "case {case} {}: closes later",
                sa.name
            );
            for (ya, yb) in sa.years.iter().zip(&sb.years) {
                assert!(
                    yb.gap_usd_bn <= ya.gap_usd_bn,
                    "case {case} {} {}: gap rose",
                    sa.name,
                    ya.year
                );
                assert!(
                    yb.cumulative_gap_usd_bn <= ya.cumulative_gap_usd_bn,
                    "case {case}: cumulative rose"
                );
                if yb.gap_usd_bn < ya.gap_usd_bn {
                    strictly_better += 1;
                }
            }
        }
    }
    // Guards against a vacuous pass (e.g. the rate never reaching revenue).
    assert!(strictly_better > 1000, "only {strictly_better} strict improvements");
}

/// 1..=max given years, varying with the case number.
fn g_count(case: i32, max: i32) -> i32 {
    1 + case % max
}

fn interval_params(mc: Option<Value>) -> GapParams {
    let mut v = json!({"success_rate": {"source": "fixed", "value": 0.05, "low": 0.02, "high": 0.1}});
    if let Some(mc) = mc {
        v["monte_carlo"] = mc;
    }
    params(v)
}

#[test]
fn interval_bands_run_low_and_high_rates() {
    let out = project(&interval_params(None), None).unwrap();
    for s in &out.scenarios {
        for y in &s.years {
            let Some(Bands::Interval { low, high }) = y.bands else {
                panic!("expected interval bands")
            };
            assert!(low.success_rate < y.success_rate && y.success_rate < high.success_rate);
            // Low success → less revenue → larger gap; high the other way.
            assert!(low.revenue_usd_bn <= y.revenue_usd_bn && y.revenue_usd_bn <= high.revenue_usd_bn);
            assert!(low.gap_usd_bn >= y.gap_usd_bn && y.gap_usd_bn >= high.gap_usd_bn);
            assert!(low.cumulative_gap_usd_bn >= y.cumulative_gap_usd_bn);
            assert!(y.cumulative_gap_usd_bn >= high.cumulative_gap_usd_bn);
        }
    }
    let first = &scenario(&out, "status_quo").years[1];
    let Some(Bands::Interval { low, high }) = first.bands else {
        unreachable!()
    };
    assert!(low.revenue_usd_bn < high.revenue_usd_bn, "bands must not collapse");
    assert_eq!((low.success_rate, high.success_rate), (0.02, 0.1));
    let v = serde_json::to_value(first).unwrap();
    assert_eq!(v["bands"]["low"]["gap_usd_bn"], json!(low.gap_usd_bn));
    assert!(v["bands"]["high"]["cumulative_gap_usd_bn"].is_number());
}

fn percentile_rows(out: &GapProjection) -> Vec<(YearRow, [BandPoint; 3])> {
    let mut rows = Vec::new();
    for s in &out.scenarios {
        for y in &s.years {
            let Some(Bands::Percentiles { p10, p50, p90 }) = y.bands else {
                panic!("expected percentiles")
            };
            rows.push((y.clone(), [p10, p50, p90]));
        }
    }
    rows
}

#[test]
fn monte_carlo_is_deterministic_and_ordered() {
    let run = |seed: u64| project(&interval_params(Some(json!({"draws": 2000, "seed": seed}))), None).unwrap();
    let (a, b, c) = (run(7), run(7), run(8));
    let json = |p: &GapProjection| serde_json::to_string(p).unwrap();
    assert_eq!(json(&a), json(&b), "same seed must give identical output");
    assert_ne!(json(&a), json(&c), "a different seed should move the percentiles");
    let mut spread = false;
    for (row, [p10, p50, p90]) in percentile_rows(&a) {
        let metric = |f: fn(&BandPoint) -> f64| (f(&p10), f(&p50), f(&p90));
        for (lo, mid, hi) in [
            metric(|b| b.gap_usd_bn),
            metric(|b| b.revenue_usd_bn),
            metric(|b| b.cumulative_gap_usd_bn),
            metric(|b| b.success_rate),
        ] {
            assert!(lo <= mid && mid <= hi, "{lo} {mid} {hi}");
        }
        spread |= p10.gap_usd_bn < p90.gap_usd_bn;
        // The median draw sits close to the point estimate.
        assert!((p50.success_rate / row.success_rate - 1.0).abs() < 0.05);
    }
    assert!(spread, "Monte Carlo bands never spread");
    let v = serde_json::to_value(&a.scenarios[0].years[0]).unwrap();
    assert!(["p10", "p50", "p90"]
        .iter()
        .all(|p| v["bands"][p]["revenue_usd_bn"].is_number()));
}

#[test]
fn monte_carlo_without_interval_equals_point() {
    let p = params(json!({"monte_carlo": {"draws": 50}}));
    let out = project(&p, None).unwrap();
    assert!(out.defaults_used.contains(&"monte_carlo.seed".to_string()));
    for (row, bands) in percentile_rows(&out) {
        for b in bands {
            assert_eq!(b.revenue_usd_bn, row.revenue_usd_bn);
            assert_eq!(b.gap_usd_bn, row.gap_usd_bn);
            assert_eq!(b.cumulative_gap_usd_bn, row.cumulative_gap_usd_bn);
        }
    }
}

#[test]
fn measured_rates_are_used_and_required() {
    let p = params(json!({"success_rate": {"source": "measured"}, "horizon_years": 3}));
    let missing = project(&p, None).unwrap_err();
    assert_eq!(missing.field, "success_rate.source");
    let est = |e: f64| RateEstimate {
        estimate: e,
        low: e - 0.01,
        high: e + 0.01,
        df: None,
    };
    let m = MeasuredRate {
        by_year: BTreeMap::from([(2026, est(0.05)), (2027, est(0.08))]),
        ..Default::default()
    };
    let out = project(&p, Some(&m)).unwrap();
    let y = &scenario(&out, "status_quo").years;
    assert_eq!(
        [y[0].success_rate, y[1].success_rate, y[2].success_rate],
        [0.05, 0.08, 0.08]
    );
    assert!(matches!(y[0].bands, Some(Bands::Interval { .. })));
    let bad = MeasuredRate {
        by_year: BTreeMap::from([(
            2026,
            RateEstimate {
                estimate: 0.5,
                low: 0.6,
                high: 0.7,
                df: None,
            },
        )]),
        ..Default::default()
    };
    assert_eq!(project(&p, Some(&bad)).unwrap_err().field, "success_rate.measured.2026");
    let empty = MeasuredRate::default();
    assert_eq!(project(&p, Some(&empty)).unwrap_err().field, "success_rate.measured");
}

#[test]
fn monte_carlo_draws_follow_the_t_of_a_measured_interval() {
    // A measured rate whose interval was built with t(4): draws are
    // t-distributed with sd = logit width ÷ (2·t_0.975,4), so the draws'
    // percentiles are those of that t, not of a normal of width ÷ (2·1.96).
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    let (estimate, low, high) = (0.3, 0.2, 0.42);
    let p = params(
        json!({"success_rate": {"source": "measured"}, "horizon_years": 1, "start_year": 2026,
                           "monte_carlo": {"draws": 100000, "seed": 3}}),
    );
    let p10 = |df: Option<u32>| {
        let m = MeasuredRate {
            by_year: BTreeMap::from([(
                2026,
                RateEstimate {
                    estimate,
                    low,
                    high,
                    df,
                },
            )]),
            ..Default::default()
        };
        let out = project(&p, Some(&m)).unwrap();
        let Some(Bands::Percentiles { p10, .. }) = scenario(&out, "status_quo").years[0].bands else {
            panic!("percentile bands")
        };
        p10.success_rate
    };
    // scipy.stats.t.ppf(0.975, 4), t.ppf(0.1, 4) and norm.ppf(0.1).
    let (t975, t10, z10) = (2.776_445_105_197_793, -1.533_206_274_058_943, -1.281_551_565_544_600_4);
    let width = logit(high) - logit(low);
    let want_t = expit(logit(estimate) + width / (2.0 * t975) * t10);
    let want_z = expit(logit(estimate) + width / (2.0 * 1.959_963_984_540_054) * z10);
    // Nearest-rank p10 of 100,000 draws: sampling SD about 0.0003 here.
    assert!((p10(Some(4)) - want_t).abs() < 0.002, "{} vs {want_t}", p10(Some(4)));
    assert!((p10(None) - want_z).abs() < 0.002, "{} vs {want_z}", p10(None));
    assert!((want_t - want_z).abs() > 0.005, "the two are told apart");
}

/// `expected-field request-json`, one case per line. Parsed with `from_str`
/// because `json!` would sort and merge the out-of-order and repeated years.
const INVALID: &str = r#"
spend_usd_bn.2024 {"spend_usd_bn": {"2024": -1}}
revenue_usd_bn.2024 {"revenue_usd_bn": {"2024": -5}}
gross_margin {"gross_margin": 1.0}
gross_margin {"gross_margin": -0.1}
cost_multiplier {"cost_multiplier": 0}
horizon_years {"horizon_years": 0}
horizon_years {"horizon_years": 31}
horizon_years {"horizon_years": -2}
horizon_years {"start_year": 2095}
start_year {"start_year": 1989}
spend_usd_bn {"spend_usd_bn": {"2025": 1, "2024": 2}}
revenue_usd_bn {"revenue_usd_bn": {"2024": 1, "2024": 2}}
spend_usd_bn {"spend_usd_bn": {"twenty": 1}}
revenue_usd_bn {"revenue_usd_bn": {"2101": 1}}
spend_usd_bn {"spend_usd_bn": {}}
spend_growth {"spend_growth": -1}
spend_growth_path.2028 {"spend_growth_path": {"2028": -2}}
revenue_growth {"revenue_growth": -0.1}
success_rate.value {"success_rate": {"source": "fixed", "value": 1.5}}
success_rate.by_year.2026 {"success_rate": {"by_year": {"2026": -0.1}}}
success_rate.source {"success_rate": {"source": "guess"}}
success_rate {"success_rate": {"source": "measured", "value": 0.1}}
success_rate.low {"success_rate": {"value": 0.05, "low": 0.06, "high": 0.1}}
success_rate.low {"success_rate": {"value": 0.05, "low": 0.01}}
success_rate.high {"success_rate": {"value": 0.05, "low": 0.01, "high": 2}}
reference_success_rate {"reference_success_rate": 0}
elasticity {"elasticity": -0.5}
elasticity {"elasticity": 10.5}
monte_carlo.draws {"monte_carlo": {"draws": 0}}
monte_carlo.draws {"monte_carlo": {"draws": 100001}}
revenue_ceiling_usd_bn {"revenue_ceiling_usd_bn": 99}
revenue_ceiling_usd_bn {"revenue_ceiling_usd_bn": 0}
max_revenue_growth {"max_revenue_growth": 11}
useful_life_years {"useful_life_years": 0.9}
cost_of_capital {"cost_of_capital": -0.01}
hyperscaler_revenue_usd_bn {"hyperscaler_revenue_usd_bn": {}}
shareholder_returns_growth {"shareholder_returns_growth": -1}
capital_intensity_benchmarks {"capital_intensity_benchmarks": {"": 0.1}}
capital_intensity_benchmarks.x {"capital_intensity_benchmarks": {"x": 11}}
sensitivity.year {"sensitivity": {"year": 2025}}
sensitivity.relative_change {"sensitivity": {"relative_change": 0}}
"#;

#[test]
fn each_validation_error_names_its_field() {
    let mut all: Vec<(GapParams, &str)> = INVALID
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(field, body)| (serde_json::from_str(body).expect(body), field))
        .collect();
    // JSON cannot carry NaN or infinities, but Rust callers can.
    let with = |f: fn(&mut GapParams)| {
        let mut p = GapParams::default();
        f(&mut p);
        p
    };
    all.push((with(|p| p.gross_margin = Some(f64::NAN)), "gross_margin"));
    all.push((with(|p| p.elasticity = Some(f64::NAN)), "elasticity"));
    let inf = YearSeries::from_pairs(&[(2026, f64::INFINITY)]);
    all.push((
        GapParams {
            spend_usd_bn: Some(inf),
            ..with(|_| ())
        },
        "spend_usd_bn.2026",
    ));
    let rate = SuccessRateParams {
        value: Some(f64::INFINITY),
        ..Default::default()
    };
    all.push((
        GapParams {
            success_rate: Some(rate),
            ..with(|_| ())
        },
        "success_rate.value",
    ));
    assert_eq!(all.len(), 45);
    for (p, field) in &all {
        let e = p.validate().expect_err(field);
        assert_eq!(e.field, *field, "{e}");
        assert!(e.to_string().contains(field), "Display must name the field: {e}");
        assert_eq!(project(p, None).unwrap_err(), e);
    }
    // Overflow is caught after the fact and blamed on the compounding input.
    let huge = params(json!({"spend_usd_bn": {"2026": 1e308}, "cost_multiplier": 10}));
    assert_eq!(project(&huge, None).unwrap_err().field, "spend_usd_bn");
    // Finite yearly figures whose running sums are not.
    let sums = params(
        json!({"spend_usd_bn": {"2026": 1e308}, "gross_margin": 0, "spend_growth": 0,
                             "useful_life_years": 1, "cost_of_capital": 0}),
    );
    assert_eq!(project(&sums, None).unwrap_err().field, "spend_usd_bn");
    // What used to compound past f64 range is now held by the bound, with a warning.
    let explode = params(
        json!({"horizon_years": 30, "revenue_growth": 10, "reference_success_rate": 0.001,
        "elasticity": 10, "success_rate": {"value": 1}}),
    );
    let bounded = project(&explode, None).unwrap();
    for s in &bounded.scenarios {
        assert!(s.years.iter().all(|y| y.revenue_usd_bn <= 10_000.0), "{}", s.name);
    }
    assert!(bounded.warnings.iter().any(|w| w.code == "revenue_growth_capped"));
    assert!(bounded.warnings.iter().any(|w| w.code == "revenue_near_ceiling"));
    // Unknown fields are rejected at parse time.
    assert!(serde_json::from_str::<GapParams>(r#"{"spend": 1}"#).is_err());
    assert!(serde_json::from_str::<GapParams>(r#"{"success_rate": {"rate": 1}}"#).is_err());
    assert!(serde_json::from_str::<GapParams>(r#"{"monte_carlo": {"n": 1}}"#).is_err());
}
