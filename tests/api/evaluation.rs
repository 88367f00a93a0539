//! Evaluation dates that do not drift (issue 18): a stage date may be given
//! on create, import and PATCH; a pilot's evaluation date is the day it first
//! entered an evaluated stage and no later edit moves it; a pilot evaluated on
//! an unknown date is left out and counted, never dated the day it was loaded.

use serde_json::{json, Value};

use crate::helpers::*;

async fn import(app: &TestApp, token: &str, lines: &[Value]) -> Value {
    let body = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    json_of(res).await
}

/// (quarter, evaluated, zero_impact) per quarter group of the summary.
async fn series(app: &TestApp, admin: &str) -> Vec<(String, u64, u64)> {
    let s = json_of(app.get("/v1/summary?group_by=quarter", admin).await).await;
    s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["evaluated"].as_u64().unwrap(),
                g["zero_impact"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Three historical pilots: went live 2024-05-10 (with measured impact after),
/// 2024-11-02 (none), abandoned 2025-02-20.
const HISTORY: [(&str, &str, &str, Option<&str>); 3] = [
    ("claims bot", "production", "2024-05-10", Some("2024-06-30")),
    ("invoice agent", "production", "2024-11-02", None),
    ("hr assistant", "abandoned", "2025-02-20", None),
];

fn impact_on(end: &str) -> Value {
    let mut i = impact_body("5000.00", "USD");
    i["period_start"] = json!(format!("{}-01", &end[..7]));
    i["period_end"] = json!(end);
    i["attribution_method"] = json!("controlled_experiment");
    i["measured"] = json!(true);
    i
}

fn spend_on(end: &str) -> Value {
    let mut s = spend_body("100.00", "USD");
    s["period_start"] = json!(format!("{}-01", &end[..7]));
    s["period_end"] = json!(end);
    s
}

#[actix_web::test]
async fn imported_history_gives_the_same_series_as_entering_it_live() {
    let app = TestApp::spawn().await;
    let rates = json!({"rates": [{"currency": "EUR", "date": "2020-01-01", "rate_to_usd": "1.10"}]});
    let res = app
        .request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
        .await;
    assert_eq!(res.status(), 200);
    // Organisation A imports its history with stage dates.
    let a = app.tenant("Imported History").await;
    let mut lines = Vec::new();
    for (i, (name, stage, on, impact)) in HISTORY.iter().enumerate() {
        let mut p = pilot_body(name);
        p["type"] = json!("pilot");
        p["ref"] = json!(format!("P{i}"));
        p["stage"] = json!(stage);
        p["started_on"] = json!("2024-01-15");
        p["stage_entered_on"] = json!(on);
        lines.push(p);
        let mut s = spend_on("2024-03-31");
        s["type"] = json!("spend");
        s["pilot_ref"] = json!(format!("P{i}"));
        lines.push(s);
        if let Some(end) = impact {
            let mut m = impact_on(end);
            m["type"] = json!("impact");
            m["pilot_ref"] = json!(format!("P{i}"));
            lines.push(m);
        }
    }
    let imported = import(&app, &a.member, &lines).await;
    // Organisation B enters the same pilots live: piloting first, then moved
    // to their stage on the day it happened.
    let b = app.tenant("Live History").await;
    for (name, stage, on, impact) in HISTORY {
        let id = app.create_pilot(&b.member, name).await;
        assert_eq!(
            app.post_idem(&format!("/v1/pilots/{id}/spend"), &b.member, &spend_on("2024-03-31"))
                .await
                .status(),
            201
        );
        if let Some(end) = impact {
            assert_eq!(
                app.post_idem(&format!("/v1/pilots/{id}/impact"), &b.member, &impact_on(end))
                    .await
                    .status(),
                201
            );
        }
        let moved = patch_pilot(&app, &b.member, &id, json!({"stage": stage, "stage_entered_on": on})).await;
        assert_eq!(moved["evaluation_date"], on);
    }
    let want = [
        ("2024Q2".to_owned(), 1, 0),
        ("2024Q3".to_owned(), 0, 0),
        ("2024Q4".to_owned(), 1, 1),
        ("2025Q1".to_owned(), 1, 1),
    ];
    let (sa, sb) = (series(&app, &a.admin).await, series(&app, &b.admin).await);
    // The series runs from the first spend quarter; the evaluations fall where they happened.
    let evaluated = |s: &[(String, u64, u64)]| {
        s.iter()
            .filter(|g| g.1 > 0 || g.0.as_str() >= "2024Q2")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(evaluated(&sa)[..4], want[..], "imported: {sa:?}");
    assert_eq!(sa, sb, "imported and live give the same quarterly series");
    // Each imported pilot carries the date it was given.
    for (i, (_, _, on, _)) in HISTORY.iter().enumerate() {
        let id = imported["pilots"][format!("P{i}")].as_str().unwrap();
        let p = json_of(app.get(&format!("/v1/pilots/{id}"), &a.member).await).await;
        assert_eq!(
            (p["stage_entered_on"].as_str(), p["evaluation_date"].as_str()),
            (Some(*on), Some(*on))
        );
    }
}

#[actix_web::test]
async fn no_later_edit_moves_an_evaluation_date() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Stable Dates").await;
    let id = app.create_pilot(&t.member, "p").await;
    let live = patch_pilot(
        &app,
        &t.member,
        &id,
        json!({"stage": "production", "stage_entered_on": "2025-03-03"}),
    )
    .await;
    assert_eq!(live["evaluation_date"], "2025-03-03");
    // Unrelated edits.
    let renamed = patch_pilot(
        &app,
        &t.member,
        &id,
        json!({"name": "renamed", "tags": ["x"], "owner_team": "ops"}),
    )
    .await;
    assert_eq!(renamed["evaluation_date"], "2025-03-03");
    // Moving on to scaled: a new stage date, the same evaluation date.
    let scaled = patch_pilot(&app, &t.member, &id, json!({"stage": "scaled"})).await;
    assert_eq!(scaled["stage"], "scaled");
    assert_ne!(scaled["stage_entered_on"], "2025-03-03");
    assert_eq!(scaled["evaluation_date"], "2025-03-03");
    // The research rollup agrees (the quarter of the evaluation).
    let s = json_of(app.get("/v1/summary?group_by=quarter", &t.admin).await).await;
    let q = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["evaluated"] == 1)
        .unwrap();
    assert_eq!(q["key"], "2025Q1");
    // A date in the future is refused.
    let res = app
        .client
        .patch(format!("{}/v1/pilots/{id}", app.base))
        .bearer_auth(&t.member)
        .header("If-Match", "*")
        .json(&json!({"stage_entered_on": "2099-01-01"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "invalid_field").await;
    assert_eq!(problem["field"], "stage_entered_on");
}

#[actix_web::test]
async fn a_pilot_evaluated_on_an_unknown_date_is_left_out_and_counted() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Unknown Dates").await;
    // Imported already in production, with no date for it.
    let mut p = pilot_body("legacy");
    p["type"] = json!("pilot");
    p["ref"] = json!("L");
    p["stage"] = json!("production");
    let mut s = spend_on("2024-03-31");
    s["type"] = json!("spend");
    s["pilot_ref"] = json!("L");
    let imported = import(&app, &t.member, &[p, s]).await;
    let id = imported["pilots"]["L"].as_str().unwrap().to_owned();
    let pilot = json_of(app.get(&format!("/v1/pilots/{id}"), &t.member).await).await;
    assert_eq!(
        pilot["evaluation_date"],
        Value::Null,
        "never dated the day it was loaded"
    );
    let summary = json_of(app.get("/v1/summary", &t.admin).await).await;
    assert_eq!(summary["totals"]["evaluated"], 0);
    assert_eq!(summary["data_quality"]["pilots_with_unknown_evaluation_date"], 1);
    let researcher = mint(&app.keys, None, pilotledger::auth::Role::Researcher);
    let rates = json_of(app.get("/v1/aggregates/zero-impact-rate", &researcher).await).await;
    assert_eq!(rates["data_quality"]["pilots_excluded_unknown_evaluation_date"], 1);
    // Telling the date afterwards dates it.
    let dated = patch_pilot(&app, &t.member, &id, json!({"stage_entered_on": "2024-04-15"})).await;
    assert_eq!(dated["evaluation_date"], "2024-04-15");
    let summary = json_of(app.get("/v1/summary", &t.admin).await).await;
    assert_eq!(summary["totals"]["evaluated"], 1);
    assert_eq!(summary["data_quality"]["pilots_with_unknown_evaluation_date"], 0);
}
