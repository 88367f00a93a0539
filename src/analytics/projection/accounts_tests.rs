//! The figures issue 22 added, each against hand arithmetic or a property:
//! depreciation by vintage, capital intensity, divergence, funding, payback,
//! the bounded revenue response, the measured rate's provenance and the tornado.

use super::tests::Gen;
use super::*;
use serde_json::{json, Value};

fn params(v: Value) -> GapParams {
    serde_json::from_value(v).expect("test params parse")
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() <= 1e-9, "{a} != {b}");
}

fn some_close(a: Option<f64>, b: f64) {
    close(a.expect("a value"), b);
}

fn status_quo(out: &GapProjection) -> &ScenarioResult {
    &out.scenarios[0]
}

/// Three projected years, every input given, life 2.5 years: the shares of a
/// vintage's cost charged in its first, second and third year are 0.4, 0.4
/// and 0.2; the opening book value is cost × (1 − age ÷ 2.5).
#[test]
fn three_years_of_depreciation_by_vintage_match_hand_arithmetic() {
    let p = params(json!({
        "start_year": 2026, "horizon_years": 3,
        "spend_usd_bn": {"2024": 30, "2025": 60, "2026": 90, "2027": 120, "2028": 150},
        "cost_multiplier": 2, "gross_margin": 0.5,
        "revenue_usd_bn": {"2026": 100, "2027": 470, "2028": 550},
        "useful_life_years": 2.5, "cost_of_capital": 0.1,
        "hyperscaler_revenue_usd_bn": {"2025": 400, "2026": 450, "2027": 500, "2028": 600},
        "operating_cash_flow_usd_bn": {"2026": 50, "2027": 60, "2028": 200},
        "shareholder_returns_usd_bn": {"2026": 10}, "shareholder_returns_growth": 0
    }));
    let out = project(&p, None).unwrap();
    let y = &status_quo(&out).years;
    // 2026: 30×0.2 + 60×0.4 + 90×0.4 = 66; book 30×0.2 + 60×0.6 + 90 = 132.
    // 2027: 60×0.2 + 90×0.4 + 120×0.4 = 96; book 60×0.2 + 90×0.6 + 120 = 186.
    // 2028: 90×0.2 + 120×0.4 + 150×0.4 = 126; book 90×0.2 + 120×0.6 + 150 = 240.
    let dep = [66.0, 96.0, 126.0];
    let book = [132.0, 186.0, 240.0];
    // (dep + 0.1 × book) × 2 ÷ (1 − 0.5)
    let required_dep = [316.8, 458.4, 600.0];
    let revenue = [100.0, 470.0, 550.0];
    let mut cumulative = 0.0;
    for i in 0..3 {
        close(y[i].depreciation_usd_bn, dep[i]);
        close(y[i].net_book_value_usd_bn, book[i]);
        close(y[i].capital_charge_usd_bn, 0.1 * book[i]);
        close(y[i].required_revenue_depreciation_usd_bn, required_dep[i]);
        cumulative += required_dep[i] - revenue[i];
        close(y[i].gap_depreciation_usd_bn, required_dep[i] - revenue[i]);
        close(y[i].cumulative_gap_depreciation_usd_bn, cumulative);
    }
    // Cahn's run-rate requirement beside it: 90, 120, 150 × 4.
    for (row, want) in y.iter().zip([360.0, 480.0, 600.0]) {
        close(row.required_revenue_usd_bn, want);
    }
    // Run-rate gaps 260, 10, 50 never close; depreciation gaps 216.8, −11.6, 50 close in 2027.
    let sq = status_quo(&out);
    assert_eq!(sq.gap_closes_in, None);
    assert_eq!(sq.gap_closes_in_by_method.run_rate, None);
    assert_eq!(sq.gap_closes_in_by_method.depreciation, Some(2027));
    // Capital intensity 90/450, 120/500, 150/600; capex growth 90/60, 120/90, 150/120 − 1;
    // hyperscaler revenue growth 450/400, 500/450, 600/500 − 1.
    let intensity = [0.2, 0.24, 0.25];
    let capex_growth = [0.5, 1.0 / 3.0, 0.25];
    let revenue_growth = [0.125, 1.0 / 9.0, 0.2];
    for i in 0..3 {
        some_close(y[i].capital_intensity, intensity[i]);
        some_close(y[i].capex_growth, capex_growth[i]);
        some_close(y[i].hyperscaler_revenue_growth, revenue_growth[i]);
        some_close(y[i].capex_revenue_divergence, capex_growth[i] - revenue_growth[i]);
    }
    // AI revenue starts in 2026, so its growth (and that divergence) starts in 2027.
    assert_eq!(y[0].ai_revenue_growth, None);
    some_close(y[1].ai_revenue_growth, 3.7);
    some_close(y[2].capex_ai_revenue_divergence, 0.25 - (550.0 / 470.0 - 1.0));
    // Funding: capex − (cash flow − returns) = 90 − 40, 120 − 50, 150 − 190; new debt 50, 120, 120.
    let funding = [50.0, 70.0, -40.0];
    let debt = [50.0, 120.0, 120.0];
    for i in 0..3 {
        close(y[i].funding_gap_usd_bn, funding[i]);
        close(y[i].cumulative_new_debt_usd_bn, debt[i]);
    }
    // Payback: cash = revenue ÷ 4 (25, 117.5, 137.5), shared by depreciation charge.
    let pb = &status_quo(&out).payback;
    assert_eq!(pb.iter().map(|p| p.vintage).collect::<Vec<_>>(), vec![2026, 2027, 2028]);
    let v2026 = 25.0 * 36.0 / 66.0 + 117.5 * 36.0 / 96.0 + 137.5 * 18.0 / 126.0;
    assert_eq!(pb[0].status, PaybackStatus::NotWithinUsefulLife);
    close(pb[0].recovered_share, v2026 / 90.0);
    assert_eq!(pb[1].status, PaybackStatus::BeyondHorizon);
    close(
        pb[1].recovered_share,
        (117.5 * 48.0 / 96.0 + 137.5 * 48.0 / 126.0) / 120.0,
    );
    assert_eq!(pb[2].payback_years, None);
    // Every vintage was given: no back-cast warning.
    assert!(out.warnings.iter().all(|w| w.code != "depreciation_backcast_vintages"));
}

#[test]
fn payback_equals_the_useful_life_when_revenue_meets_cahns_requirement() {
    // Constant capex 100, revenue always the run-rate requirement 100 × 1 ÷ 0.5:
    // the cash, 100 a year, is shared by four live vintages, 25 each.
    let p = params(json!({
        "start_year": 2026, "horizon_years": 8, "spend_usd_bn": {"2026": 100}, "spend_growth": 0,
        "revenue_usd_bn": {"2026": 200}, "revenue_growth": 0, "useful_life_years": 4
    }));
    let out = project(&p, None).unwrap();
    let pb = &status_quo(&out).payback;
    for v in &pb[..5] {
        assert_eq!(v.status, PaybackStatus::PaidBack, "{v:?}");
        close(v.payback_years.unwrap(), 4.0);
    }
    assert!(pb[5..].iter().all(|v| v.status == PaybackStatus::BeyondHorizon));
    // Half that revenue: no vintage pays back within its life (half recovered).
    let mut half = p.clone();
    half.revenue_usd_bn = Some(YearSeries::from_pairs(&[(2026, 100.0)]));
    let out = project(&half, None).unwrap();
    let first = &status_quo(&out).payback[0];
    assert_eq!(first.status, PaybackStatus::NotWithinUsefulLife);
    close(first.recovered_share, 0.5);
}

#[test]
fn cahns_arithmetic_on_nvidias_latest_run_rate() {
    // The worked example of docs/PROJECTION.md: $62.3B a quarter × 4 = $249.2B,
    // × 2 for the rest of the data centre, ÷ (1 − 0.5) = $996.8B required.
    let p = params(
        json!({"start_year": 2026, "horizon_years": 1, "spend_usd_bn": {"2026": 249.2},
                          "cost_multiplier": 2, "gross_margin": 0.5}),
    );
    let out = project(&p, None).unwrap();
    close(
        status_quo(&out).years[0].required_revenue_usd_bn,
        62.3 * 4.0 * 2.0 / 0.5,
    );
}

fn measured(rate: f64) -> MeasuredRate {
    let e = RateEstimate {
        estimate: rate,
        low: (rate - 0.1).max(0.0),
        high: rate + 0.1,
        df: Some(30),
    };
    let basis = |kind, quarter: &str| MeasuredBasis {
        kind,
        quarter: quarter.into(),
    };
    MeasuredRate {
        by_year: BTreeMap::from([(2025, e), (2026, e), (2027, e)]),
        basis: BTreeMap::from([
            (2025, basis(MeasuredKind::Published, "2025Q4")),
            (2026, basis(MeasuredKind::Published, "2026Q3")),
            (2027, basis(MeasuredKind::Trend, "2027Q4")),
        ]),
    }
}

#[test]
fn a_measured_success_share_of_half_stays_within_the_bound_and_warns() {
    // 0.5 ÷ 0.05 = 10: the old form asked +333% a year (revenue ~$2.4 quadrillion by 2035).
    let p = params(json!({"success_rate": {"source": "measured"}}));
    let out = project(&p, Some(&measured(0.5))).unwrap();
    let ceiling = 10_000.0;
    for s in &out.scenarios {
        let mut prev: Option<f64> = None;
        for y in &s.years {
            assert!(
                y.revenue_usd_bn.is_finite() && y.revenue_usd_bn <= ceiling,
                "{} {}",
                s.name,
                y.year
            );
            if let Some(prev) = prev {
                assert!(y.revenue_usd_bn / prev - 1.0 <= 1.0 + 1e-12, "growth above the cap");
            }
            prev = Some(y.revenue_usd_bn);
        }
    }
    let capped = out
        .warnings
        .iter()
        .find(|w| w.code == "revenue_growth_capped" && w.scenario.as_deref() == Some("status_quo"))
        .expect("the capped-growth warning");
    assert_eq!(capped.years, (2026..=2035).collect::<Vec<_>>());
    // 2025 (history) grew at the cap too: 2026 is 100 × 2 twice, through the ceiling's step.
    let bh = |r: f64| ceiling * r * 2.0 / (ceiling + r);
    close(status_quo(&out).years[0].revenue_usd_bn, bh(bh(100.0)));
    // Provenance: published quarters for past years, the trend after.
    let rows = &status_quo(&out).years;
    assert_eq!(rows[0].success_rate_basis, "published");
    assert_eq!(rows[0].success_rate_quarter.as_deref(), Some("2026Q3"));
    assert_eq!(rows[1].success_rate_basis, "trend");
    assert_eq!(
        rows[5].success_rate_quarter.as_deref(),
        Some("2027Q4"),
        "carried forward"
    );
    let used = out.measured_success_rate.as_ref().expect("measured years echoed");
    assert_eq!(used.len(), 3);
    assert_eq!(used[0].basis, MeasuredKind::Published);
    // The measured interval is the success rate's tornado bar.
    let bar = out
        .sensitivity
        .bars
        .iter()
        .find(|b| b.parameter == "success_rate")
        .unwrap();
    assert_eq!((bar.applies_as, bar.low_value, bar.high_value), ("interval", 0.4, 0.6));
}

#[test]
fn the_published_year_sets_history_and_the_trend_the_future() {
    // Past years at the published 0.05 grow at exactly revenue_growth; the trend's
    // 0.10 from 2027 doubles it.
    let mut m = measured(0.05);
    let trend = RateEstimate::exact(0.1);
    m.by_year.insert(2027, trend);
    let p = params(json!({"success_rate": {"source": "measured"}, "horizon_years": 2,
                          "revenue_ceiling_usd_bn": 1000000}));
    let out = project(&p, Some(&m)).unwrap();
    let y = &status_quo(&out).years;
    let k = 1e6;
    let bh = |r: f64, g: f64| k * r * (1.0 + g) / (k + r * g);
    let third = 1.0 / 3.0;
    let r2026 = bh(bh(100.0, third), third);
    close(y[0].revenue_usd_bn, r2026);
    close(y[1].revenue_usd_bn, bh(r2026, 2.0 * third));
}

/// A random valid request whose every capex vintage is given (no back-cast).
fn random_params(g: &mut Gen, case: i32) -> GapParams {
    let start = g.i(2000, 2060);
    let life = g.f(1.0, 8.0);
    let first_spend = start - life.ceil() as i32;
    let spend: Vec<(i32, f64)> = (0..g.i(1, 3))
        .map(|k| (first_spend + 2 * k, g.f(10.0, 1000.0)))
        .collect();
    let revenue: Vec<(i32, f64)> = (0..g.i(1, 2)).map(|k| (start - 1 + 2 * k, g.f(1.0, 500.0))).collect();
    let top = revenue.iter().map(|r| r.1).fold(0.0, f64::max);
    let rate = g.f(0.0, 1.0);
    let success = if case % 2 == 0 {
        json!({"value": rate})
    } else {
        json!({"value": rate, "low": rate * g.f(0.0, 1.0), "high": rate + (1.0 - rate) * g.f(0.0, 1.0)})
    };
    let mut p = params(json!({
        "start_year": start, "horizon_years": g.i(1, 15), "spend_growth": g.f(-0.3, 0.8),
        "cost_multiplier": g.f(0.5, 3.0), "gross_margin": g.f(0.0, 0.9),
        "revenue_growth": g.f(0.0, 3.0), "reference_success_rate": g.f(0.001, 0.5),
        "elasticity": g.f(0.0, 10.0), "success_rate": success,
        "revenue_ceiling_usd_bn": top + g.f(1.0, 20000.0), "max_revenue_growth": g.f(0.0, 3.0),
        "useful_life_years": life, "cost_of_capital": g.f(0.0, 0.3)
    }));
    p.spend_usd_bn = Some(YearSeries::from_pairs(&spend));
    p.revenue_usd_bn = Some(YearSeries::from_pairs(&revenue));
    p
}

#[test]
fn revenue_stays_finite_and_within_the_bound_for_any_valid_input() {
    let mut g = Gen(22);
    let mut capped = 0;
    for case in 0..300 {
        let p = random_params(&mut g, case);
        let out = project(&p, None).unwrap();
        let (ceiling, cap) = (out.parameters.revenue_ceiling_usd_bn, out.parameters.max_revenue_growth);
        let given = &out.parameters.revenue_usd_bn;
        for s in &out.scenarios {
            for w in s.years.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                assert!(b.revenue_usd_bn.is_finite() && b.revenue_usd_bn <= ceiling * (1.0 + 1e-12));
                if !given.contains_key(&b.year) && a.revenue_usd_bn > 0.0 {
                    let growth = b.revenue_usd_bn / a.revenue_usd_bn - 1.0;
                    assert!(growth <= cap + 1e-9, "case {case}: growth {growth} above cap {cap}");
                }
            }
        }
        capped += out
            .warnings
            .iter()
            .filter(|w| w.code == "revenue_growth_capped")
            .count();
    }
    assert!(
        capped > 30,
        "the bound was rarely reached ({capped}): the test would be vacuous"
    );
}

#[test]
fn the_gap_never_closes_later_at_a_higher_success_rate_by_either_method() {
    let mut g = Gen(2026);
    let mut earlier = 0;
    for case in 0..300 {
        let mut p = random_params(&mut g, 0);
        let r = g.f(0.0, 0.9);
        p.success_rate = Some(SuccessRateParams {
            value: Some(r),
            ..Default::default()
        });
        let lower = project(&p, None).unwrap();
        p.success_rate = Some(SuccessRateParams {
            value: Some(r + (1.0 - r) * g.f(0.01, 1.0)),
            ..Default::default()
        });
        let higher = project(&p, None).unwrap();
        let key = |c: Option<i32>| c.unwrap_or(i32::MAX);
        for (a, b) in lower.scenarios.iter().zip(&higher.scenarios) {
            let (ca, cb) = (a.gap_closes_in_by_method, b.gap_closes_in_by_method);
            assert!(key(cb.run_rate) <= key(ca.run_rate), "case {case} {}", a.name);
            assert!(key(cb.depreciation) <= key(ca.depreciation), "case {case} {}", a.name);
            earlier += usize::from(key(cb.depreciation) < key(ca.depreciation));
            for (ya, yb) in a.years.iter().zip(&b.years) {
                assert!(yb.gap_depreciation_usd_bn <= ya.gap_depreciation_usd_bn);
            }
        }
    }
    assert!(earlier > 5, "higher success never closed the gap earlier ({earlier})");
}

#[test]
fn tornado_bars_bracket_the_base_case() {
    let mut g = Gen(7);
    for case in 0..120 {
        let p = random_params(&mut g, case);
        let out = project(&p, None).unwrap();
        let t = &out.sensitivity;
        // The base is the status-quo row of the tornado's year.
        let row = status_quo(&out).years.iter().find(|y| y.year == t.year).unwrap();
        assert_eq!(
            (t.base_gap_usd_bn, t.base_gap_depreciation_usd_bn),
            (row.gap_usd_bn, row.gap_depreciation_usd_bn)
        );
        assert_eq!(t.bars.len(), 13);
        for w in t.bars.windows(2) {
            assert!(w[0].swing_usd_bn >= w[1].swing_usd_bn, "sorted by swing");
        }
        for bar in &t.bars {
            assert!(bar.low_value <= bar.high_value, "{}", bar.parameter);
            let brackets = |base: f64, gap: &TornadoGap| {
                let tol = 1e-9 * (1.0 + base.abs());
                gap.at_low.min(gap.at_high) - tol <= base && base <= gap.at_low.max(gap.at_high) + tol
            };
            let both = brackets(t.base_gap_usd_bn, &bar.gap_usd_bn)
                && brackets(t.base_gap_depreciation_usd_bn, &bar.gap_depreciation_usd_bn);
            assert_eq!(bar.brackets_base, both, "case {case} {}", bar.parameter);
            if bar.parameter == "useful_life_years" {
                // Longer lives lower young vintages' charge but keep old ones on the
                // books: not monotone, so a miss must be flagged instead.
                if !both {
                    assert!(out.warnings.iter().any(|w| w.code == "sensitivity_not_monotone"));
                }
            } else {
                assert!(
                    both,
                    "case {case}: {} does not bracket the base: {bar:?}",
                    bar.parameter
                );
            }
        }
    }
}
