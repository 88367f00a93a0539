//! Tests of the parent module.

use super::*;
use crate::analytics::intervals::Z_95;
use serde_json::json;
use SuppressionReason::*;

fn qtr(s: &str) -> Quarter {
    Quarter::parse(s).unwrap()
}

fn ob(org: u32, region: &str, f: BusinessFunction, date: &str, zero: bool) -> Observation {
    Observation {
        org,
        industry: Industry::ALL[org as usize % 3],
        size_band: SizeBand::ALL[org as usize % 4],
        region: crate::domain::region::RegionCode::parse(region).unwrap(),
        business_function: f,
        sourcing: Sourcing::Bought,
        ai_kind: AiKind::GenaiAssistant,
        evaluation_date: date.parse().unwrap(),
        zero_impact: zero,
        spend_usd_minor: 5_000_000, // 50,000.00 USD
        measured_net_usd_minor: if zero { 0 } else { 2_000_000 },
    }
}

fn query(from: &str, to: &str, by: Option<Dimension>) -> RateQuery {
    let params = DefinitionParams::default();
    let (from, to, seed, bootstrap_reps) = (qtr(from), qtr(to), 7, 200);
    RateQuery {
        from,
        to,
        by,
        params,
        seed,
        bootstrap_reps,
    }
}

fn run(obs: &[Observation], q: &RateQuery) -> RateResponse {
    zero_impact_rates(obs, q, &DisclosurePolicy::default())
}

/// Organisation i's pilots in each quarter: `z` zero-impact, `i` with impact.
const FIXED: [(&str, &str); 2] = [
    ("2026-02-10", "zz zz zz zz zz zi ii ii"),
    ("2026-05-12", "zzz zz zz zi ii ii i i"),
];

/// 8 organisations (0–3 in DE, 4–7 in FR), every pilot of a quarter on one date.
fn fixed() -> Vec<Observation> {
    let mut out = Vec::new();
    for (date, spec) in FIXED {
        for (org, pilots) in (0..).zip(spec.split(' ')) {
            let region = if org < 4 { "DE" } else { "FR" };
            for p in pilots.chars() {
                out.push(ob(org, region, BusinessFunction::Hr, date, p == 'z'));
            }
        }
    }
    out
}

/// Wilson bounds as roots of (1 + z²/n)π² − (2p + z²/n)π + p² = 0.
fn wilson_roots(x: f64, n: f64) -> (f64, f64) {
    let (p, z2) = (x / n, Z_95 * Z_95);
    let (a, b, c) = (1.0 + z2 / n, -(2.0 * p + z2 / n), p * p);
    let d = (b * b - 4.0 * a * c).sqrt();
    ((-b - d) / (2.0 * a), (-b + d) / (2.0 * a))
}

fn fnv_by_hand(s: &str) -> u64 {
    let mut h: u64 = 14_695_981_039_346_656_037;
    for b in s.bytes() {
        h = (h ^ b as u64).wrapping_mul(1_099_511_628_211);
    }
    h
}

#[track_caller]
fn near(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
}

#[test]
fn cell_seed_is_fnv1a_of_the_documented_key() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    let (q, key) = (qtr("2026Q1"), "42|2026Q1|region|DE");
    assert_eq!(cell_seed(42, q, "region", "DE"), fnv_by_hand(key));
    assert_ne!(cell_seed(42, q, "region", "DE"), cell_seed(42, q, "region", "FR"));
    assert_ne!(cell_seed(42, q, "all", "all"), cell_seed(43, q, "all", "all"));
}

#[test]
fn fixed_dataset_rates_match_hand_counts_and_closed_forms() {
    let r = run(&fixed(), &query("2026Q1", "2026Q2", None));
    // Hand counts: (zero-return orgs, pilots, zero pilots, mean of org rates).
    let expected = [(5, 16, 11, 5.5 / 8.0), (3, 15, 8, 3.5 / 8.0)];
    assert_eq!(r.cells.len(), 2);
    for ((cell, (zr, pilots, zeros, avg)), (_, spec)) in r.cells.iter().zip(expected).zip(FIXED) {
        assert_eq!(
            (cell.dimension, cell.value.as_str(), cell.suppressed),
            ("all", "all", false)
        );
        let counts = (cell.organisations, cell.pilots, cell.zero_return_organisations);
        assert_eq!(counts, (Some(8), Some(pilots), Some(zr)));
        let share = cell.org_zero_return_share.unwrap();
        let (lo, hi) = wilson_roots(zr as f64, 8.0);
        assert_eq!(share.estimate, zr as f64 / 8.0);
        near(share.low, lo);
        near(share.high, hi);
        // 8 organisations: too few for the bootstrap rates to be shown.
        assert_eq!((cell.pilot_rate, cell.org_average_rate), (None, None));
        // The bootstrap over organisations in index order, seeded from the
        // documented key recomputed here, its bounds rounded to 0.001.
        let cl: Vec<Cluster> = spec
            .split(' ')
            .map(|p| Cluster {
                zero: p.matches('z').count() as u64,
                total: p.len() as u64,
            })
            .collect();
        let seed = fnv_by_hand(&format!("7|{}|all|all", cell.quarter));
        // What they would be, from the same resamples.
        let pr = bootstrap::pilot_rate(&cl, 200, seed).unwrap();
        assert_eq!(pr.estimate, zeros as f64 / pilots as f64);
        let oa = bootstrap::org_average_rate(&cl, 200, seed).unwrap();
        near(oa.estimate, avg);
        for bound in [coarse(pr).low, coarse(pr).high] {
            assert_eq!(
                bound,
                (bound * 1000.0).round() / 1000.0,
                "published bounds have 3 decimals"
            );
        }
        assert!(pr.low < pr.estimate && pr.estimate < pr.high);
        // 16 or 15 pilots × 50,000 USD; 5 or 7 impact pilots × 20,000 USD.
        let bands = (cell.spend_band, cell.measured_impact_band);
        assert_eq!(bands, (Some("100K-1M USD"), Some("100K-1M USD")));
    }
}

/// [`fixed`] twice: organisations 8–15 copy 0–7 pilot for pilot, so the
/// trends have 16 organisations, enough for intervals.
fn fixed_doubled() -> Vec<Observation> {
    let mut obs = fixed();
    obs.extend(fixed().into_iter().map(|o| Observation { org: o.org + 8, ..o }));
    obs
}

/// scipy.stats.t.ppf(0.975, 15): 16 organisations.
const T_975_15: f64 = 2.131_449_545_559_776;

#[test]
fn trends_match_the_closed_form_of_a_binary_time_split() {
    // With two time points the model is saturated: the MLE reproduces each
    // point's share, logit(p_k) = l_k = a + b·t_k, so b = (l2 − l1)/Δ and
    // a = (t2·l1 − t1·l2)/Δ with Δ = t2 − t1. In the (l1, l2) parametrisation
    // the information is diagonal, h_k = M_k·p_k(1 − p_k) (M_k observations at
    // t_k), and organisation g's score is (r_g1, r_g2), r_gk = z_gk − m_gk·p_k
    // (z zeros among its m observations). CR1: V_l = c·H⁻¹(Σ_g s_g s_gᵀ)H⁻¹,
    // c = G/(G−1)·(N−1)/(N−2); (a, b) is linear in (l1, l2), so V = J·V_l·Jᵀ.
    let closed = |t1: f64, t2: f64, orgs: &[[f64; 4]]| {
        let sum = |k: usize| orgs.iter().map(|o| o[k]).sum::<f64>();
        let (m1, z1, m2, z2) = (sum(0), sum(1), sum(2), sum(3));
        let (p1, p2) = (z1 / m1, z2 / m2);
        let (l1, l2, d) = ((p1 / (1.0 - p1)).ln(), (p2 / (1.0 - p2)).ln(), t2 - t1);
        let (h1, h2) = (m1 * p1 * (1.0 - p1), m2 * p2 * (1.0 - p2));
        let (mut s11, mut s12, mut s22) = (0.0, 0.0, 0.0);
        for o in orgs {
            let (r1, r2) = (o[1] - o[0] * p1, o[3] - o[2] * p2);
            (s11, s12, s22) = (s11 + r1 * r1, s12 + r1 * r2, s22 + r2 * r2);
        }
        let (g, n) = (orgs.len() as f64, m1 + m2);
        let c = g / (g - 1.0) * (n - 1.0) / (n - 2.0);
        let (v11, v12, v22) = (c * s11 / (h1 * h1), c * s12 / (h1 * h2), c * s22 / (h2 * h2));
        let cov = [
            t2 * t2 * v11 - 2.0 * t1 * t2 * v12 + t1 * t1 * v22,
            -t2 * v11 + (t1 + t2) * v12 - t1 * v22,
            v11 - 2.0 * v12 + v22,
        ]
        .map(|v| v / (d * d));
        ((t2 * l1 - t1 * l2) / d, (l2 - l1) / d, cov)
    };
    // Per organisation: pilots and zero-impact pilots in each quarter, and
    // (as one observation per quarter) whether it had zero return.
    let spec = |k: usize| FIXED[k].1.split(' ').collect::<Vec<_>>();
    let (q1, q2) = (spec(0), spec(1));
    let count = |s: &str| (s.len() as f64, s.matches('z').count() as f64);
    let zr = |s: &str| f64::from(u8::from(!s.contains('i')));
    let pilots: Vec<[f64; 4]> = (0..16)
        .map(|g| {
            let ((m1, z1), (m2, z2)) = (count(q1[g % 8]), count(q2[g % 8]));
            [m1, z1, m2, z2]
        })
        .collect();
    let orgs: Vec<[f64; 4]> = (0..16).map(|g| [1.0, zr(q1[g % 8]), 1.0, zr(q2[g % 8])]).collect();
    let check = |fit: &TrendFit, (a, b, cov): (f64, f64, [f64; 3]), n: usize| {
        let TrendFit::Available(f) = fit else { panic!("{fit:?}") };
        assert_eq!(f.intervals_unavailable_reason, None);
        near(f.intercept.estimate, a);
        near(f.slope.estimate, b);
        near(f.intercept.high.unwrap(), a + T_975_15 * cov[0].sqrt());
        near(f.intercept.low.unwrap(), a - T_975_15 * cov[0].sqrt());
        near(f.slope.low.unwrap(), b - T_975_15 * cov[2].sqrt());
        near(f.slope.high.unwrap(), b + T_975_15 * cov[2].sqrt());
        assert_eq!(f.n, n);
        f.pp_change_per_year
    };
    let r = run(&fixed_doubled(), &query("2026Q1", "2026Q2", None));
    assert_eq!(r.trend.quarters_used, ["2026Q1", "2026Q2"]);
    let (t1, t2) = (qtr("2026Q1").middle_t(), qtr("2026Q2").middle_t());
    let (a, b, cov) = closed(t1, t2, &orgs);
    let g = check(&r.trend.organisation, (a, b, cov), 32);
    let day = |d: &str| years_since_2000(d.parse().unwrap());
    let pilot = closed(day(FIXED[0].0), day(FIXED[1].0), &pilots);
    check(&r.trend.pilot, pilot, 62);
    // At the middle of 2026Q2 the fit gives p = 3/8: g = 100·b·p(1−p), with
    // the delta-method gradient written out.
    let (p, w) = (3.0 / 8.0, 15.0 / 64.0);
    near(g.estimate, 100.0 * b * w);
    let (da, db) = (
        100.0 * b * w * (1.0 - 2.0 * p),
        100.0 * (w + b * t2 * w * (1.0 - 2.0 * p)),
    );
    let se = (da * da * cov[0] + 2.0 * da * db * cov[1] + db * db * cov[2]).sqrt();
    near(g.high.unwrap() - g.estimate, T_975_15 * se);
    near(g.estimate - g.low.unwrap(), T_975_15 * se);
    // Projection: 2026Q3 … 2028Q2 at each quarter's middle.
    let proj = r.trend.projection.unwrap();
    let names: Vec<_> = proj.iter().map(|p| p.quarter.as_str()).collect();
    assert_eq!(
        names,
        ["2026Q3", "2026Q4", "2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2"]
    );
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    for p in &proj {
        let t = qtr(&p.quarter).middle_t();
        let half = T_975_15 * (cov[0] + 2.0 * t * cov[1] + t * t * cov[2]).sqrt();
        near(p.estimate, expit(a + b * t));
        near(p.low.unwrap(), expit(a + b * t - half));
        near(p.high.unwrap(), expit(a + b * t + half));
    }
}

#[test]
fn trends_of_eight_organisations_have_estimates_and_no_intervals() {
    // The same shares from 8 organisations: the same estimates, but fewer
    // than logistic::MIN_CLUSTERS organisations, so every bound is null and
    // the trend says why.
    let eight = run(&fixed(), &query("2026Q1", "2026Q2", None)).trend;
    let sixteen = run(&fixed_doubled(), &query("2026Q1", "2026Q2", None)).trend;
    let why = "too few organisations for cluster-robust intervals: 8 in the fit, need at least 10";
    for (few, many) in [
        (&eight.pilot, &sixteen.pilot),
        (&eight.organisation, &sixteen.organisation),
    ] {
        let (TrendFit::Available(f), TrendFit::Available(m)) = (few, many) else {
            panic!("{few:?}")
        };
        near(f.slope.estimate, m.slope.estimate);
        near(f.intercept.estimate, m.intercept.estimate);
        near(f.pp_change_per_year.estimate, m.pp_change_per_year.estimate);
        assert_eq!(f.intervals_unavailable_reason.as_deref(), Some(why));
        let json = serde_json::to_value(f).unwrap();
        for key in ["intercept", "slope", "pp_change_per_year"] {
            assert_eq!((&json[key]["low"], &json[key]["high"]), (&json!(null), &json!(null)));
        }
        assert_eq!(json["intervals_unavailable_reason"], why);
        assert!(json.get("degrees_of_freedom").is_none(), "not published");
    }
    for (p, m) in eight.projection.unwrap().iter().zip(sixteen.projection.unwrap()) {
        assert_eq!((p.low, p.high), (None, None));
        near(p.estimate, m.estimate);
    }
}

#[test]
fn suppressed_cells_carry_only_their_reason() {
    // Five more DE organisations, evaluated in another quarter only: DE is
    // listed (9 organisations in all) but has 4 in 2026Q1, too few.
    let mut obs = fixed();
    for org in 20..25 {
        obs.push(ob(org, "DE", BusinessFunction::Hr, "2026-11-01", true));
    }
    let r = run(&obs, &query("2026Q1", "2026Q1", Some(Dimension::Region)));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["cells"].as_array().unwrap().len(),
        2,
        "FR (4 organisations in all) is not listed"
    );
    let de = json!({
        "quarter": "2026Q1", "dimension": "region", "value": "DE", "organisations": null,
        "pilots": null, "zero_return_organisations": null, "org_zero_return_share": null,
        "pilot_rate": null, "org_average_rate": null, "spend_band": null,
        "measured_impact_band": null, "suppressed": true, "suppression_reason": "min_organisations"
    });
    assert_eq!(json["cells"][1], de);
    assert_eq!(
        json["cells"][0]["pilot_rate"],
        json!(null),
        "8 organisations: no bootstrap rate"
    );
    assert_eq!(json["definition_version"], DEFINITION_VERSION);
    assert_eq!(json["disclosure_policy_version"], DISCLOSURE_POLICY_VERSION);
    let parameters = json!({
        "from": "2026Q1", "to": "2026Q1", "by": "region", "min_impact": 0, "window_months": 6,
        "bootstrap_reps": 200, "min_organisations": 5, "max_org_share": 0.5,
        "p_percent": 10, "min_each_side": 3
    });
    assert_eq!(json["parameters"], parameters);
}

#[test]
fn every_quarter_and_every_value_with_enough_organisations_is_present() {
    let mut obs = fixed();
    // Outside the window: SE gets 5 organisations in all, "built" 1.
    for org in 30..35 {
        obs.push(ob(org, "SE", BusinessFunction::Hr, "2027-03-01", true));
    }
    let mut built = ob(40, "DE", BusinessFunction::Hr, "2027-03-01", true);
    built.sourcing = Sourcing::Built;
    obs.push(built);
    let r = run(&obs, &query("2025Q4", "2026Q2", Some(Dimension::Sourcing)));
    let keys: Vec<_> = r.cells.iter().map(|c| format!("{}/{}", c.quarter, c.value)).collect();
    // "bought" (13 organisations) in every quarter, even empty ones; "built"
    // (one organisation, ever) and "partnered" (none) nowhere.
    let want: Vec<_> = ["2025Q4", "2026Q1", "2026Q2"]
        .iter()
        .flat_map(|q| ["all", "bought"].map(|v| format!("{q}/{v}")))
        .collect();
    assert_eq!(keys, want);
    assert!(r.cells[..2].iter().all(|c| c.suppression_reason == Some(Empty)));
    // "bought" holds all the data: it equals the total and is published.
    assert_eq!((r.cells[2].suppressed, r.cells[3].suppressed), (false, false));
    // Regions: SE is listed though empty in the window; DE and FR (4
    // organisations each, and DE's fifth) are not listed unless they reach 5.
    let regions = run(&obs, &query("2026Q1", "2026Q1", Some(Dimension::Region)));
    let values: Vec<_> = regions.cells.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, ["all", "DE", "SE"]);
    assert_eq!(regions.cells[2].suppression_reason, Some(Empty));
}

#[test]
fn trend_leaves_out_suppressed_quarters_and_says_why_it_is_unavailable() {
    let mut obs = fixed();
    // 2026Q3: 4 organisations only, so its `all` cell is suppressed.
    for org in 0..4 {
        obs.push(ob(org, "DE", BusinessFunction::Hr, "2026-08-01", org % 2 == 0));
    }
    let two = run(&obs, &query("2026Q1", "2026Q2", None)).trend;
    let three = run(&obs, &query("2026Q1", "2026Q3", None)).trend;
    assert_eq!(three.quarters_used, ["2026Q1", "2026Q2"]);
    let (TrendFit::Available(a), TrendFit::Available(b)) = (&two.organisation, &three.organisation) else {
        panic!("{two:?}")
    };
    assert_eq!((a.intercept, a.slope, a.n), (b.intercept, b.slope, b.n));
    // One published quarter whose pilots share a date: one t, so both fits fail.
    let one = serde_json::to_value(run(&obs, &query("2026Q1", "2026Q1", None)).trend).unwrap();
    let fail = |n| logistic::FitError::TooFewObservations { n, distinct: 1 }.to_string();
    assert_eq!(one["organisation"], json!({"available": false, "reason": fail(8)}));
    assert_eq!(one["pilot"], json!({"available": false, "reason": fail(16)}));
    assert_eq!(one["projection"], json!(null));
    let none = serde_json::to_value(run(&obs, &query("2026Q3", "2026Q4", None)).trend).unwrap();
    assert_eq!(none["pilot"]["available"], false);
    let why = none["organisation"]["reason"].as_str().unwrap();
    assert!(why.starts_with("too few organisations: 0"), "{why}");
}

/// 40 organisations in 6 regions of uneven size over 2025, 1–3 pilots each
/// per quarter in 3 functions, outcomes from a fixed SplitMix64 stream.
fn synthetic() -> Vec<Observation> {
    let mut state = 99u64;
    let mut next = move |m: u64| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % m
    };
    let regions = [("DE", 14), ("FR", 9), ("IT", 7), ("NL", 6), ("PL", 3), ("SE", 1)];
    let orgs = regions.iter().flat_map(|&(r, n)| std::iter::repeat_n(r, n));
    let funcs = [
        BusinessFunction::CustomerService,
        BusinessFunction::SoftwareEngineering,
        BusinessFunction::Hr,
    ];
    let mut out = Vec::new();
    for (org, region) in (0u32..).zip(orgs) {
        for month in ["02", "05", "08", "11"] {
            for _ in 0..1 + next(3) {
                let (day, f) = (format!("2025-{month}-{:02}", 1 + next(28)), funcs[next(3) as usize]);
                let mut o = ob(org, region, f, &day, next(100) < 55 + u64::from(org % 4) * 10);
                o.spend_usd_minor = 100_000 * (1 + next(50) as i64);
                out.push(o);
            }
        }
    }
    out
}

#[test]
fn shared_quarters_are_identical_across_windows() {
    let obs = synthetic();
    let in_q = |cells: &[Cell], q: &str| -> Vec<Cell> {
        cells.iter().filter(|c| c.quarter.to_string() == q).cloned().collect()
    };
    for by in [None, Some(Dimension::Region), Some(Dimension::Function)] {
        let a = run(&obs, &query("2025Q1", "2025Q3", by)).cells;
        let b = run(&obs, &query("2025Q2", "2025Q4", by)).cells;
        let c = run(&obs, &query("2025Q3", "2025Q3", by)).cells;
        for q in ["2025Q2", "2025Q3"] {
            assert!(!in_q(&a, q).is_empty());
            assert_eq!(in_q(&a, q), in_q(&b, q), "{by:?} {q}");
        }
        assert_eq!(in_q(&a, "2025Q3"), c);
    }
}

#[test]
fn same_request_same_bits_whatever_the_input_order() {
    let obs = synthetic();
    let q = query("2025Q1", "2025Q4", Some(Dimension::Region));
    let text = |obs: &[Observation], q: &RateQuery| serde_json::to_string(&run(obs, q)).unwrap();
    let first = text(&obs, &q);
    assert_eq!(first, text(&obs, &q));
    let reversed: Vec<_> = obs.iter().rev().cloned().collect();
    assert_eq!(first, text(&reversed, &q));
    assert_ne!(first, text(&obs, &RateQuery { seed: 8, ..q }));
}

#[test]
fn the_export_gives_each_breakdowns_cells_quarter_by_quarter() {
    let mut obs = synthetic();
    // Outside the window, yet listed in every quarter (5 organisations each;
    // a region with fewer anywhere would not be listed at all).
    for org in 100..105 {
        obs.push(ob(org, "PT", BusinessFunction::Hr, "2024-06-01", true));
        obs.push(ob(org + 10, "AT", BusinessFunction::Hr, "2026-03-01", false));
    }
    let policy = DisclosurePolicy::default();
    // 2024Q4 has no pilots and still gets its (suppressed) cells.
    let q = query("2024Q4", "2025Q4", None);
    let quarters = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4"].map(qtr);
    let export = |by: Option<Dimension>| -> Vec<Cell> {
        let passes = export_passes(by, &Listed::of(&obs, DisclosurePolicy::default().min_organisations()));
        let mut reads = 0;
        let mut cells = Vec::new();
        for quarter in quarters {
            let read = |f: &mut dyn FnMut(&Observation)| -> Result<(), ()> {
                reads += 1;
                obs.iter().for_each(&mut *f);
                Ok(())
            };
            cells.extend(export_quarter(quarter, &passes, &q, &policy, read).unwrap());
        }
        assert_eq!(reads, quarters.len() * passes.len());
        cells
    };

    // Each quarter: the total, then every breakdown's values, each as its
    // own request computes them.
    let total = run(&obs, &q).cells;
    let per_dimension: Vec<Vec<Cell>> = Dimension::ALL
        .iter()
        .map(|&d| {
            run(
                &obs,
                &RateQuery {
                    by: Some(d),
                    ..q.clone()
                },
            )
            .cells
        })
        .collect();
    let mut expected = Vec::new();
    for quarter in quarters {
        expected.extend(total.iter().filter(|c| c.quarter == quarter).cloned());
        for cells in &per_dimension {
            let all = cells.iter().filter(|c| c.quarter == quarter && c.dimension == "all");
            assert!(all.eq(total.iter().filter(|c| c.quarter == quarter)));
            expected.extend(
                cells
                    .iter()
                    .filter(|c| c.quarter == quarter && c.dimension != "all")
                    .cloned(),
            );
        }
    }
    let streamed = export(None);
    assert_eq!(streamed, expected);
    let published = streamed.iter().filter(|c| !c.suppressed).count();
    assert!(published >= 12, "a test of published figures: {published}");
    assert!(streamed.iter().any(|c| c.value == "PT") && streamed.iter().any(|c| c.value == "AT"));
    // The first quarter comes first, every cell of it suppressed.
    let first: Vec<_> = streamed.iter().take_while(|c| c.quarter == qtr("2024Q4")).collect();
    assert!(first.len() > 1 && first.iter().all(|c| c.suppressed));

    // One breakdown: its request's cells, in its order.
    let by_region = run(
        &obs,
        &RateQuery {
            by: Some(Dimension::Region),
            ..q.clone()
        },
    )
    .cells;
    assert_eq!(export(Some(Dimension::Region)), by_region);
}

/// [organisations, pilots, zero-impact pilots] counted directly.
fn truth(obs: &[Observation], quarter: Quarter, by: Option<Dimension>, value: &str) -> [u64; 3] {
    let mut per_org: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    for o in obs.iter().filter(|o| Quarter::of(o.evaluation_date) == quarter) {
        let v = match by {
            None => "all".to_owned(),
            Some(Dimension::Region) => o.region.to_string(),
            Some(_) => o.business_function.to_string(),
        };
        if v == value {
            let e = per_org.entry(o.org).or_default();
            *e = (e.0 + 1, e.1 + u64::from(o.zero_impact));
        }
    }
    let sum = |f: fn(&(u64, u64)) -> u64| per_org.values().map(f).sum();
    [per_org.len() as u64, sum(|c| c.0), sum(|c| c.1)]
}

/// Brute force over each quarter: no suppressed cell's count equals that
/// of a published cell or of total − Σ published siblings, and a suppressed
/// total is not Σ published parts. Organisations are only additive for
/// the region breakdown. Returns the number of complements.
fn assert_unrecoverable(obs: &[Observation], by: Dimension) -> usize {
    let r = run(obs, &query("2025Q1", "2025Q4", Some(by)));
    let first = usize::from(by != Dimension::Region);
    let mut complements = 0;
    for cells in r.cells.chunk_by(|a, b| a.quarter == b.quarter) {
        let t = |c: &Cell| truth(obs, c.quarter, Some(by).filter(|_| c.dimension != "all"), &c.value);
        let (total, total_hidden) = (t(&cells[0]), cells[0].suppressed);
        let published: Vec<_> = cells.iter().filter(|c| !c.suppressed).map(t).collect();
        let siblings = |k: usize| {
            published
                .iter()
                .skip(usize::from(!total_hidden))
                .map(|c| c[k])
                .sum::<u64>()
        };
        if total_hidden {
            assert!((first..3).any(|k| siblings(k) != total[k]), "{}", cells[0].quarter);
        }
        let hidden = |c: &&Cell| c.suppressed && c.dimension != "all" && c.suppression_reason != Some(Empty);
        for c in cells.iter().filter(hidden) {
            let hidden = t(c);
            complements += usize::from(c.suppression_reason == Some(Complementary));
            for k in first..3 {
                // Equal organisation counts are common and reveal nothing.
                let twin = k > 0 && published.iter().any(|p| p[k] == hidden[k]);
                let by_subtraction = !total_hidden && total[k] - siblings(k) == hidden[k];
                assert!(!twin && !by_subtraction, "{} {} count {k}", c.quarter, c.value);
            }
        }
    }
    complements
}

#[test]
fn complementary_suppression_leaves_nothing_recoverable_by_subtraction() {
    let obs = synthetic();
    assert!(assert_unrecoverable(&obs, Dimension::Region) > 0);
    assert_unrecoverable(&obs, Dimension::Function);
    // PL (3 organisations in all) and SE (1) are not listed; the residual
    // they leave beside DE, FR, IT and NL is still only 4 organisations, so
    // NL, the smallest other region (6), is suppressed. IT is one-sided in
    // 2025Q1, which does not change the choice of NL.
    let r = run(&obs, &query("2025Q1", "2025Q1", Some(Dimension::Region)));
    let got: Vec<_> = r
        .cells
        .iter()
        .map(|c| (c.value.as_str(), c.suppression_reason))
        .collect();
    let c = Some(Complementary);
    let want = [
        ("all", None),
        ("DE", None),
        ("FR", None),
        ("IT", Some(OneSided)),
        ("NL", c),
    ];
    assert_eq!(got, want);
}

/// Observations of one quarter from (pilots, zero-impact pilots) per organisation.
fn cell_of(orgs: &[(u64, u64)], date: &str) -> Vec<Observation> {
    let mut out = Vec::new();
    for (org, &(total, zero)) in (0..).zip(orgs) {
        for i in 0..total {
            let mut o = ob(org, "DE", BusinessFunction::Hr, date, i < zero);
            o.spend_usd_minor = 0;
            out.push(o);
        }
    }
    out
}

#[test]
fn bootstrap_rates_are_shown_from_twenty_organisations_as_documented() {
    let nineteen: Vec<(u64, u64)> = (0..19).map(|i| (2, i % 3 / 2 + (i % 2))).collect();
    let q = query("2026Q1", "2026Q1", None);
    let small = run(&cell_of(&nineteen, "2026-02-01"), &q);
    assert!(!small.cells[0].suppressed);
    assert_eq!(
        (small.cells[0].pilot_rate, small.cells[0].org_average_rate),
        (None, None)
    );
    let mut twenty = nineteen.clone();
    twenty.push((3, 1));
    let big = run(&cell_of(&twenty, "2026-02-01"), &q);
    let cell = &big.cells[0];
    let clusters: Vec<Cluster> = twenty.iter().map(|&(total, zero)| Cluster { zero, total }).collect();
    let seed = fnv_by_hand("7|2026Q1|all|all");
    assert_eq!(cell.pilot_rate, bootstrap::pilot_rate(&clusters, 200, seed).map(coarse));
    assert_eq!(
        cell.org_average_rate,
        bootstrap::org_average_rate(&clusters, 200, seed).map(coarse)
    );
    let by_hand = twenty.iter().map(|&(t, z)| z as f64 / t as f64).sum::<f64>() / 20.0;
    near(cell.org_average_rate.unwrap().estimate, by_hand);
}

/// Every multiset of `orgs` (pilots, zero-impact pilots) pairs with `pilots`
/// pilots in all, `zero_return` of them all zero-impact and, when given,
/// `zeros` zero-impact pilots in all.
fn breakdowns(orgs: u64, pilots: u64, zeros: Option<u64>, zero_return: u64) -> Vec<Vec<Cluster>> {
    fn search(
        pairs: &[(u64, u64)],
        from: usize,
        left: u64,
        (t, z, zr): (u64, Option<u64>, u64),
        acc: &mut Vec<(u64, u64)>,
        out: &mut Vec<Vec<Cluster>>,
    ) {
        if left == 0 {
            if t == 0 && z.is_none_or(|z| z == 0) && zr == 0 {
                out.push(acc.iter().map(|&(total, zero)| Cluster { zero, total }).collect());
            }
            return;
        }
        for (i, &(pt, pz)) in pairs.iter().enumerate().skip(from) {
            if pt > t || z.is_some_and(|z| pz > z) || (pz == pt && zr == 0) {
                continue;
            }
            acc.push((pt, pz));
            let rest = (t - pt, z.map(|z| z - pz), zr - u64::from(pz == pt));
            search(pairs, i, left - 1, rest, acc, out);
            acc.pop();
        }
    }
    let pairs: Vec<(u64, u64)> = (1..=pilots).flat_map(|t| (0..=t).map(move |z| (t, z))).collect();
    let mut out = Vec::new();
    search(&pairs, 0, orgs, (pilots, zeros, zero_return), &mut Vec::new(), &mut out);
    out
}

/// Whether `clusters`' pooled-rate bootstrap gives bounds `(low, high)` under
/// one of 60 seeds the attacker tries (bounds as published, to 0.001).
fn could_give(clusters: &[Cluster], low: f64, high: f64) -> bool {
    let (mut lo, mut hi) = ((f64::MAX, f64::MIN), (f64::MAX, f64::MIN));
    for s in 0..60u64 {
        let b = coarse(bootstrap::pilot_rate(clusters, 1000, s.wrapping_mul(0x9e37_79b9)).unwrap());
        lo = (lo.0.min(b.low), lo.1.max(b.low));
        hi = (hi.0.min(b.high), hi.1.max(b.high));
    }
    (lo.0..=lo.1).contains(&low) && (hi.0..=hi.1).contains(&high)
}

/// Issue 18's attacker, given everything a researcher can fetch for a cell of
/// 6 organisations, searches every per-organisation breakdown consistent with
/// it. With the bootstrap bounds shown (even under a secret seed, rounded to
/// 0.001) it would be left with a handful; as published, with only the counts
/// and the Wilson share, with many.
#[test]
fn a_bootstrap_attacker_cannot_pin_a_six_organisation_cell() {
    let truth = [(2, 1), (1, 1), (1, 1), (1, 1), (2, 1), (5, 2)];
    let secret = 0x9e37_79b9_7f4a_7c15;
    let q = RateQuery {
        seed: secret,
        bootstrap_reps: 1000,
        ..query("2026Q3", "2026Q3", None)
    };
    let published = run(&cell_of(&truth, "2026-08-03"), &q);
    let cell = &published.cells[0];
    assert!(!cell.suppressed, "{cell:?}");
    let (orgs, pilots, zero_return) = (
        cell.organisations.unwrap(),
        cell.pilots.unwrap(),
        cell.zero_return_organisations.unwrap(),
    );
    assert_eq!((orgs, pilots, zero_return), (6, 12, 3));
    // What the attacker can use as published: no bootstrap rate at all.
    let zeros = cell.pilot_rate.map(|r| (r.estimate * pilots as f64).round() as u64);
    let fit: Vec<Vec<Cluster>> = breakdowns(orgs, pilots, zeros, zero_return)
        .into_iter()
        .filter(|c| cell.pilot_rate.is_none_or(|r| could_give(c, r.low, r.high)))
        .collect();
    assert!(fit.len() >= 20, "only {} breakdowns fit what is published", fit.len());
    // Had the pooled rate been shown, bounds and all, the search would pin it.
    let clusters: Vec<Cluster> = truth.iter().map(|&(total, zero)| Cluster { zero, total }).collect();
    let shown = coarse(bootstrap::pilot_rate(&clusters, 1000, cell_seed(secret, qtr("2026Q3"), "all", "all")).unwrap());
    let pinned = breakdowns(orgs, pilots, Some(7), zero_return)
        .into_iter()
        .filter(|c| could_give(c, shown.low, shown.high))
        .count();
    assert!(pinned <= 4, "{pinned}");
}

#[test]
fn a_single_customer_region_is_never_listed() {
    // One organisation in LU, evaluating pilots in one quarter and not the
    // next: listed, its cells would say `min_organisations`, then `empty`.
    let mut obs = fixed();
    obs.push(ob(50, "LU", BusinessFunction::Hr, "2026-02-10", true));
    for by in [Some(Dimension::Region), None] {
        let q = query("2026Q1", "2026Q2", by);
        let cells = match by {
            Some(_) => run(&obs, &q).cells,
            None => {
                let listed = Listed::of(&obs, DisclosurePolicy::default().min_organisations());
                let passes = export_passes(None, &listed);
                let read = |f: &mut dyn FnMut(&Observation)| -> Result<(), ()> {
                    obs.iter().for_each(&mut *f);
                    Ok(())
                };
                let mut cells = export_quarter(qtr("2026Q1"), &passes, &q, &DisclosurePolicy::default(), read).unwrap();
                cells.extend(export_quarter(qtr("2026Q2"), &passes, &q, &DisclosurePolicy::default(), read).unwrap());
                cells
            }
        };
        assert!(cells.iter().all(|c| c.value != "LU"), "{by:?}");
        assert!(cells.iter().any(|c| c.dimension == "all"));
    }
}
