//! The cluster-robust trends against statsmodels (issue 30): every figure of
//! both trends on a hand-built dataset with strong organisation effects,
//! `tests/fixtures/cluster_trend.json`, made by
//! `scripts/fixtures/cluster_trend.py` with
//! `Logit(y, X).fit(cov_type="cluster", cov_kwds={"groups": org}, use_t=True)`.

use serde_json::Value;

use super::*;
use crate::analytics::logistic::ClusterRun;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/cluster_trend.json")).unwrap()
}

/// The fixture's pilots as observations, all in one region and function.
fn observations(v: &Value) -> Vec<Observation> {
    v["pilots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let org = p[0].as_u64().unwrap() as u32;
            let zero = p[2].as_bool().unwrap();
            Observation {
                org,
                industry: Industry::ALL[org as usize % 3],
                size_band: SizeBand::ALL[org as usize % 4],
                region: RegionCode::parse("DE").unwrap(),
                business_function: BusinessFunction::Hr,
                sourcing: Sourcing::Bought,
                ai_kind: AiKind::GenaiAssistant,
                evaluation_date: p[1].as_str().unwrap().parse().unwrap(),
                zero_impact: zero,
                spend_usd_minor: 5_000_000,
                measured_net_usd_minor: if zero { 0 } else { 2_000_000 },
            }
        })
        .collect()
}

#[track_caller]
fn equal(got: f64, want: &Value) {
    let want = want.as_f64().unwrap();
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{got} vs statsmodels {want}"
    );
}

#[track_caller]
fn equal_estimate(got: &Estimate, want: &Value) {
    equal(got.estimate, &want["estimate"]);
    equal(got.low.unwrap(), &want["low"]);
    equal(got.high.unwrap(), &want["high"]);
}

#[test]
fn cluster_robust_trends_equal_statsmodels() {
    let v = fixture();
    let q = RateQuery {
        from: Quarter::parse("2025Q1").unwrap(),
        to: Quarter::parse("2025Q4").unwrap(),
        by: None,
        params: DefinitionParams::default(),
        seed: 7,
        bootstrap_reps: 0,
    };
    let r = zero_impact_rates(&observations(&v), &q, &DisclosurePolicy::default());
    assert_eq!(r.trend.quarters_used, ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]);
    for (fit, want) in [
        (&r.trend.pilot, &v["pilot_trend"]),
        (&r.trend.organisation, &v["organisation_trend"]),
    ] {
        let TrendFit::Available(f) = fit else { panic!("{fit:?}") };
        assert_eq!(f.n as u64, want["n"].as_u64().unwrap());
        assert_eq!(f.intervals_unavailable_reason, None);
        assert_eq!(
            f.degrees_of_freedom.map(u64::from),
            want["df"].as_u64(),
            "G − 1 organisations"
        );
        equal_estimate(&f.intercept, &want["intercept"]);
        equal_estimate(&f.slope, &want["slope"]);
        equal_estimate(&f.pp_change_per_year, &want["pp_change_per_year"]);
    }
    let projection = r.trend.projection.unwrap();
    let want = v["organisation_trend"]["projection"].as_array().unwrap();
    assert_eq!(projection.len(), want.len());
    for ((p, w), name) in projection
        .iter()
        .zip(want)
        .zip(v["projected_quarters"].as_array().unwrap())
    {
        assert_eq!(p.quarter, name.as_str().unwrap());
        equal(p.estimate, &w["estimate"]);
        equal(p.low.unwrap(), &w["low"]);
        equal(p.high.unwrap(), &w["high"]);
    }
}

/// The fits themselves, from the fixture's observations: standard errors,
/// covariance, critical value and the naive standard errors beside them.
#[test]
fn cluster_robust_standard_errors_equal_statsmodels() {
    let v = fixture();
    let obs = observations(&v);
    let pilots: Vec<ClusterRun> = obs
        .iter()
        .map(|o| ClusterRun {
            cluster: o.org,
            t: years_since_2000(o.evaluation_date),
            y: o.zero_impact,
            count: 1,
        })
        .collect();
    // (quarter, organisation) → zero return: every pilot zero-impact.
    let mut cells: BTreeMap<(Quarter, u32), bool> = BTreeMap::new();
    for o in &obs {
        let zero = cells.entry((Quarter::of(o.evaluation_date), o.org)).or_insert(true);
        *zero &= o.zero_impact;
    }
    let orgs: Vec<ClusterRun> = cells
        .iter()
        .map(|(&(q, org), &y)| ClusterRun {
            cluster: org,
            t: q.middle_t(),
            y,
            count: 1,
        })
        .collect();
    for (runs, want) in [(pilots, &v["pilot_trend"]), (orgs, &v["organisation_trend"])] {
        let f = logistic::fit_clustered(&runs).unwrap();
        assert_eq!(f.clusters.map(|g| g as u64), want["organisations"].as_u64());
        equal(f.intercept, &want["intercept"]["estimate"]);
        equal(f.slope, &want["slope"]["estimate"]);
        equal(f.intercept_se, &want["intercept"]["se"]);
        equal(f.slope_se, &want["slope"]["se"]);
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            equal(f.covariance[i][j], &want["covariance"][i][j]);
        }
        equal(f.critical.unwrap(), &want["critical"]);
        equal(f.model_covariance[0][0].sqrt(), &want["naive_se"]["intercept"]);
        equal(f.model_covariance[1][1].sqrt(), &want["naive_se"]["slope"]);
        let (lo, hi) = f.slope_ci.unwrap();
        equal(lo, &want["slope"]["low"]);
        equal(hi, &want["slope"]["high"]);
    }
}
