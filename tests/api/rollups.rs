//! The per-pilot rollups the research aggregates read are kept equal to the
//! ledger: after every kind of write (entry, reversal, pilot create and patch,
//! import, FX rate put) the observations built from rollups are exactly those
//! computed afresh from every entry, for every parameter on the grid, and a
//! database missing rollups gets them back at start-up.

use pilotledger::analytics::definitions::{DefinitionParams, MIN_IMPACT_GRID_USD, WINDOW_GRID_MONTHS};
use pilotledger::auth::Role;
use std::collections::BTreeMap;

use pilotledger::analytics::definitions::{self, Measure, UsdImpact};
use pilotledger::analytics::fx_table::FxTable;
use pilotledger::analytics::rates::Observation;
use pilotledger::analytics::roi::FxSource;
use pilotledger::db::observe::observations;
use pilotledger::db::research::ResearchInputs;
use pilotledger::domain::currency::Currency;
use pilotledger::domain::enums::AttributionMethod;
use pilotledger::domain::fx::to_usd_minor;
use pilotledger::domain::region::RegionCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// The observations computed independently from the raw ledger: every entry
/// converted afresh, the definitions applied pilot by pilot (the way the
/// aggregates worked before rollups).
fn observations_from_ledger(
    inputs: &ResearchInputs,
    params: &DefinitionParams,
    measure: Measure,
) -> (Vec<Observation>, u64) {
    let fx: FxTable = pilotledger::db::facts::fx_table(&inputs.fx_rates);
    let orgs: BTreeMap<&str, (u32, &pilotledger::db::orgs::OrgView)> = inputs
        .orgs
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id.as_str(), (i as u32, o)))
        .collect();
    let mut by_pilot: BTreeMap<&str, Vec<&pilotledger::db::entries::EntryView>> = BTreeMap::new();
    for e in &inputs.entries {
        by_pilot.entry(e.pilot_id.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    let mut excluded = 0;
    for p in &inputs.pilots {
        let (Some(stage), Some(&(org_index, org))) = (Some(p.stage), orgs.get(p.org_id.as_str())) else {
            continue;
        };
        let Some(evaluation) = definitions::evaluation_date(p.evaluated_on, stage, p.evaluation_stage_on) else {
            continue;
        };
        let entries = by_pilot.get(p.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let usd = |e: &pilotledger::db::entries::EntryView| -> Option<i64> {
            let c = e.currency;
            if c == Currency::USD {
                return Some(e.amount_minor);
            }
            let (_, rate) = fx.rate_on_or_before(c, e.period_end)?;
            to_usd_minor(e.amount_minor, c, rate).ok()
        };
        let mut impacts = Vec::new();
        // Revenue uplift, and cost reduction or avoidance, kept apart.
        let mut by_kind: [Vec<UsdImpact>; 2] = [Vec::new(), Vec::new()];
        let mut spend: i128 = 0;
        let mut missing = false;
        for e in entries {
            match (e.entry_type.as_str(), usd(e)) {
                (_, None) => missing = true,
                ("spend", Some(v)) => spend += i128::from(v),
                (_, Some(v)) => {
                    let i = UsdImpact {
                        period_end: e.period_end,
                        amount_usd_minor: v,
                        measured: e.measured.unwrap_or(false),
                        method: e
                            .attribution_method
                            .as_deref()
                            .and_then(AttributionMethod::parse)
                            .unwrap_or(AttributionMethod::SelfReported),
                    };
                    match e.category.as_str() {
                        "revenue_uplift" => by_kind[0].push(i),
                        "cost_reduction" | "cost_avoidance" => by_kind[1].push(i),
                        other => panic!("impact kind {other}"),
                    }
                    impacts.push(i);
                }
            }
        }
        let net = definitions::measured_net_impact(&impacts, evaluation, params.window_months);
        let revenue = definitions::measured_net_impact(&by_kind[0], evaluation, params.window_months);
        let cost = definitions::measured_net_impact(&by_kind[1], evaluation, params.window_months);
        // Ever in production or scaled, by the stored history (as text) or
        // the current stage.
        let history: Vec<Value> = serde_json::from_str(&p.stage_history).unwrap();
        let reached = history
            .iter()
            .any(|s| matches!(s["stage"].as_str(), Some("production" | "scaled")))
            || matches!(p.stage.as_str(), "production" | "scaled");
        let benefit = match (p.expected_benefit_minor, p.expected_benefit_currency.as_deref()) {
            (Some(m), Some("USD")) => Some(m),
            (Some(m), Some(c)) => {
                let c = Currency::parse(c).unwrap();
                fx.rate_on_or_before(c, evaluation)
                    .and_then(|(_, rate)| to_usd_minor(m, c, rate).ok())
            }
            _ => None,
        };
        let flagged = |net: i64, revenue: i64, cost: i64| match measure {
            Measure::ZeroImpact => net <= params.min_impact * 100,
            Measure::AbandonedBeforeProduction => p.stage.as_str() == "abandoned" && !reached,
            Measure::MetExpectedBenefit => benefit.is_some_and(|b| net >= b),
            Measure::NeitherRevenueNorCost => revenue <= 0 && cost <= 0,
        };
        let (false, Some(net), Some(revenue), Some(cost), Ok(spend)) =
            (missing, net, revenue, cost, i64::try_from(spend))
        else {
            excluded += 1;
            continue;
        };
        let parsed = (
            Some(org.industry),
            Some(org.size_band),
            Some(p.business_function),
            Some(p.sourcing),
            Some(p.ai_kind),
        );
        let (Some(industry), Some(size_band), Some(business_function), Some(sourcing), Some(ai_kind), Some(region)) = (
            parsed.0,
            parsed.1,
            parsed.2,
            parsed.3,
            parsed.4,
            RegionCode::parse(&org.region),
        ) else {
            excluded += 1;
            continue;
        };
        out.push(Observation {
            org: org_index,
            industry,
            size_band,
            region,
            business_function,
            sourcing,
            ai_kind,
            evaluation_date: evaluation,
            zero_impact: flagged(net, revenue, cost),
            spend_usd_minor: spend,
            measured_net_usd_minor: net,
        });
    }
    (out, excluded)
}

const MEASURES: [Measure; 4] = [
    Measure::ZeroImpact,
    Measure::AbandonedBeforeProduction,
    Measure::MetExpectedBenefit,
    Measure::NeitherRevenueNorCost,
];

fn grid() -> Vec<DefinitionParams> {
    MIN_IMPACT_GRID_USD
        .iter()
        .flat_map(|m| {
            WINDOW_GRID_MONTHS
                .iter()
                .map(|w| DefinitionParams::on_grid(*m, *w).unwrap())
        })
        .collect()
}

fn connection(app: &TestApp) -> pilotledger::db::PooledConn {
    let settings = test_settings(&app.database_url, app.dir.path());
    let pool = pilotledger::startup::open_database(&settings).unwrap();
    pool.get().unwrap()
}

/// Rollup-based observations equal ledger-based ones for the whole grid;
/// returns how many pilots were excluded under the default parameters.
fn assert_rollups_match_ledger(app: &TestApp, step: &str) -> u64 {
    let mut conn = connection(app);
    let inputs = pilotledger::db::research::load(&mut conn).unwrap();
    let grid = grid();
    let mut excluded_default = 0;
    // Rollups stream in storage order; the aggregates do not depend on order.
    let sorted = |(mut obs, excluded): (Vec<Observation>, u64)| {
        obs.sort_by_key(|o| format!("{o:?}"));
        (obs, excluded)
    };
    for measure in MEASURES {
        let from_rollups = observations(&mut conn, &grid, measure).unwrap();
        for (p, got) in grid.iter().zip(from_rollups.into_iter().map(sorted)) {
            let want = sorted(observations_from_ledger(&inputs, p, measure));
            assert!(!want.0.is_empty(), "{step}: nothing evaluated");
            assert_eq!(got, want, "{step}: {p:?} {measure:?}");
            if *p == DefinitionParams::default() {
                excluded_default = got.1;
            }
        }
    }
    excluded_default
}

/// One pilot's stored 6-month measured impact, in US cents.
fn impact_6m(app: &TestApp, pilot: &str) -> Option<i64> {
    use diesel::prelude::*;
    use pilotledger::db::schema::pilot_rollups as r;
    let mut conn = connection(app);
    r::table
        .filter(r::pilot_id.eq(pilot))
        .select(r::impact_6m_usd_minor)
        .first(&mut *conn)
        .unwrap()
}

async fn impact(
    app: &TestApp,
    token: &str,
    pilot: &str,
    amount: &str,
    currency: &str,
    end: &str,
    method: &str,
) -> String {
    let body = json!({"kind": "cost_reduction", "period_start": format!("{}-01", &end[..7]), "period_end": end,
                      "amount": amount, "currency": currency, "attribution_method": method, "measured": true});
    let res = app.post_idem(&format!("/v1/pilots/{pilot}/impact"), token, &body).await;
    assert_eq!(res.status(), 201);
    json_of(res).await["id"].as_str().unwrap().to_owned()
}

async fn put_rates(app: &TestApp, rates: Value) {
    let res = app
        .request(
            reqwest::Method::PUT,
            "/v1/fx-rates",
            Some(&app.operator),
            Some(&json!({"rates": rates})),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[actix_web::test]
async fn rollups_equal_the_ledger_after_every_kind_of_write() {
    let app = TestApp::spawn().await;
    crate::research::seed(&app, 8, 10, 5);
    assert_rollups_match_ledger(&app, "seeded");
    // A fixed EUR rate for February so one figure can be checked by hand.
    put_rates(
        &app,
        json!([{"currency": "EUR", "date": "2026-02-28", "rate_to_usd": "1.25"}]),
    )
    .await;
    assert_rollups_match_ledger(&app, "rate replaced");

    let t = app.tenant("Rollup AG").await;
    let a = app.create_pilot(&t.member, "a").await;
    let b = app.create_pilot(&t.member, "b").await;
    // A gets entries before it is evaluated, then the patch evaluates it.
    impact(
        &app,
        &t.member,
        &a,
        "500.00",
        "EUR",
        "2026-02-28",
        "controlled_experiment",
    )
    .await;
    impact(&app, &t.member, &a, "70.00", "EUR", "2026-02-28", "self_reported").await;
    patch_pilot(
        &app,
        &t.member,
        &a,
        json!({"stage": "production", "evaluated_on": "2026-01-15"}),
    )
    .await;
    // 500.00 EUR × 1.25 = 625.00 USD; the self-reported one does not count.
    assert_eq!(impact_6m(&app, &a), Some(62_500));
    assert_rollups_match_ledger(&app, "patched");

    // B is evaluated first, then its entries arrive one by one.
    patch_pilot(&app, &t.member, &b, json!({"stage": "abandoned"})).await;
    let today = chrono::Utc::now().date_naive().to_string();
    let first = impact(&app, &t.member, &b, "10.00", "USD", &today, "before_after").await;
    impact(&app, &t.member, &b, "3.00", "USD", &today, "before_after").await;
    let spend = json!({"category": "licences", "period_start": "2026-02-01", "period_end": "2026-02-28",
                       "amount": "40.00", "currency": "EUR", "capex": false});
    assert_eq!(
        app.post_idem(&format!("/v1/pilots/{b}/spend"), &t.member, &spend)
            .await
            .status(),
        201
    );
    assert_eq!(impact_6m(&app, &b), Some(1_300));
    let res = app
        .post_idem(
            &format!("/v1/pilots/{b}/entries/{first}/reverse"),
            &t.member,
            &json!({"reason": "double count"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(impact_6m(&app, &b), Some(300));
    assert_rollups_match_ledger(&app, "entries and a reversal");

    // A pilot with a dated history (production, then abandoned) and an
    // expected benefit in EUR; revenue and cost impacts of each kind.
    let res = app
        .post_idem(
            "/v1/pilots",
            &t.member,
            &json!({"name": "c", "business_function": "finance_accounting", "sourcing": "bought", "ai_kind": "genai_agentic",
                    "stage_history": [{"stage": "piloting", "entered_on": "2025-10-01"},
                                      {"stage": "production", "entered_on": "2026-01-10"},
                                      {"stage": "abandoned", "entered_on": "2026-02-20", "reason": "vendor exit"}],
                    "expected_annual_benefit": "100.00", "expected_annual_benefit_currency": "EUR"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let c = json_of(res).await["id"].as_str().unwrap().to_owned();
    let body = json!({"kind": "revenue_uplift", "period_start": "2026-02-01", "period_end": "2026-02-28",
                      "amount": "90.00", "currency": "EUR", "attribution_method": "before_after", "measured": true});
    assert_eq!(
        app.post_idem(&format!("/v1/pilots/{c}/impact"), &t.member, &body)
            .await
            .status(),
        201
    );
    impact(&app, &t.member, &c, "40.00", "USD", "2026-02-28", "before_after").await;
    // A's benefit in USD, set by a PATCH; B abandoned without production.
    patch_pilot(
        &app,
        &t.member,
        &a,
        json!({"expected_annual_benefit": "600.00", "expected_annual_benefit_currency": "USD"}),
    )
    .await;
    assert_rollups_match_ledger(&app, "histories and expected benefits");

    // An entry in a currency without any rate: B cannot be measured.
    let before = assert_rollups_match_ledger(&app, "before NOK");
    impact(&app, &t.member, &b, "100.00", "NOK", "2026-02-28", "before_after").await;
    assert_eq!(assert_rollups_match_ledger(&app, "NOK entry"), before + 1);

    // An import: a new evaluated pilot with entries, and one more for A.
    let file = [
        json!({"type": "pilot", "ref": "P1", "name": "imported", "business_function": "it_operations",
               "sourcing": "built", "ai_kind": "predictive_ml", "stage": "scaled", "started_on": "2025-06-01"}),
        json!({"type": "impact", "pilot_ref": "P1", "kind": "revenue_uplift", "period_start": "2026-02-01",
               "period_end": "2026-02-28", "amount": "9.99", "currency": "EUR",
               "attribution_method": "difference_in_differences", "measured": true}),
        json!({"type": "impact", "pilot_id": a, "kind": "cost_reduction", "period_start": "2026-02-01",
               "period_end": "2026-02-28", "amount": "100.00", "currency": "EUR",
               "attribution_method": "model_estimate", "measured": true}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.member)
        .header("content-type", "application/x-ndjson")
        .header("Idempotency-Key", "rollup-import")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    assert_eq!(impact_6m(&app, &a), Some(75_000));
    assert_rollups_match_ledger(&app, "import");

    // New rates: NOK makes B measurable again; a changed EUR rate moves A.
    put_rates(
        &app,
        json!([{"currency": "NOK", "date": "2026-01-31", "rate_to_usd": "0.095"},
               {"currency": "EUR", "date": "2026-02-28", "rate_to_usd": "1.10"}]),
    )
    .await;
    assert_eq!(assert_rollups_match_ledger(&app, "rates put"), before);
    assert_eq!(impact_6m(&app, &a), Some(66_000));

    let mut conn = connection(&app);
    assert_eq!(
        pilotledger::db::rollups::mismatches(&mut conn).unwrap(),
        Vec::<String>::new()
    );
    drop(conn);
    // The researcher's published figures come from the same rollups.
    let researcher = mint(&app.keys, None, Role::Researcher);
    assert_eq!(
        app.get("/v1/aggregates/zero-impact-rate", &researcher).await.status(),
        200
    );
}

#[actix_web::test]
async fn missing_rollups_are_filled_in_at_start_up() {
    use diesel::prelude::*;
    use pilotledger::db::rollups::RollupRow;
    use pilotledger::db::schema::pilot_rollups as r;
    let app = TestApp::spawn().await;
    crate::research::seed(&app, 4, 10, 9);
    let mut conn = connection(&app);
    let all = |c: &mut pilotledger::db::DbConnection| -> Vec<RollupRow> {
        r::table
            .select(RollupRow::as_select())
            .order(r::pilot_id.asc())
            .load(c)
            .unwrap()
    };
    let before = all(&mut conn);
    assert_eq!(before.len(), 40);
    // As after upgrading a database written before rollups existed.
    let dropped = diesel::delete(r::table.filter(r::pilot_id.le(&before[25].pilot_id)))
        .execute(&mut *conn)
        .unwrap();
    assert_eq!(dropped, 26);
    drop(conn);
    let mut conn = connection(&app); // opening the database runs the fill-in
    assert_eq!(all(&mut conn), before);
    assert_rollups_match_ledger(&app, "filled in");
}

/// Many entry writes to the same pilots at once, interleaved with FX puts
/// that change the rates those entries convert with: every rollup still
/// equals its recomputation (on PostgreSQL this exercises the row and table
/// locks; on SQLite the single writer).
#[actix_web::test]
async fn concurrent_entries_and_rate_changes_leave_rollups_right() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Busy SE").await;
    let mut pilots = Vec::new();
    for name in ["x", "y"] {
        let p = app.create_pilot(&t.member, name).await;
        patch_pilot(
            &app,
            &t.member,
            &p,
            json!({"stage": "production", "evaluated_on": "2026-01-20"}),
        )
        .await;
        pilots.push(p);
    }
    put_rates(
        &app,
        json!([{"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.10"},
                           {"currency": "GBP", "date": "2026-01-31", "rate_to_usd": "1.30"}]),
    )
    .await;
    let writes = (0..48).map(|i| {
        let (app, member, pilot) = (&app, &t.member, &pilots[i % 2]);
        async move {
            let currency = ["EUR", "GBP", "USD"][i % 3];
            let body = json!({"kind": "cost_reduction", "period_start": "2026-02-01", "period_end": "2026-02-28",
                              "amount": format!("{}.{:02}", 100 + i, i), "currency": currency,
                              "attribution_method": "before_after", "measured": true});
            app.post_idem(&format!("/v1/pilots/{pilot}/impact"), member, &body)
                .await
                .status()
                .as_u16()
        }
    });
    let puts = (0..6).map(|i| {
        let app = &app;
        async move {
            let rates = json!({"rates": [{"currency": "EUR", "date": "2026-02-15", "rate_to_usd": format!("1.{}", 10 + i)},
                                          {"currency": "GBP", "date": "2026-02-15", "rate_to_usd": format!("1.{}", 30 + i)}]});
            app.request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
                .await
                .status()
                .as_u16()
        }
    });
    let (written, put) = futures_util::future::join(
        futures_util::future::join_all(writes),
        futures_util::future::join_all(puts),
    )
    .await;
    assert!(written.iter().all(|s| *s == 201), "{written:?}");
    assert!(put.iter().all(|s| *s == 200), "{put:?}");
    let mut conn = connection(&app);
    assert_eq!(
        pilotledger::db::rollups::mismatches(&mut conn).unwrap(),
        Vec::<String>::new()
    );
    assert_rollups_match_ledger(&app, "after the race");
}
