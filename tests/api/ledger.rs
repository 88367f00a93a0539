//! Pilots and the append-only ledger: If-Match, reversal rules, paging, filters.

use serde_json::json;

use crate::helpers::*;

async fn patch(
    app: &TestApp,
    token: &str,
    pid: &str,
    if_match: Option<&str>,
    body: serde_json::Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .patch(format!("{}/v1/pilots/{pid}", app.base))
        .bearer_auth(token)
        .json(&body);
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    req.send().await.unwrap()
}

#[actix_web::test]
async fn patch_without_if_match_is_428_and_stale_is_412_leaving_the_row_unchanged() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Etag").await;
    let pid = app.create_pilot(&t.member, "p").await;
    assert_problem(
        patch(&app, &t.member, &pid, None, json!({"name": "x"})).await,
        428,
        "precondition_required",
    )
    .await;
    assert_eq!(
        patch(&app, &t.member, &pid, Some("\"1\""), json!({"name": "renamed"}))
            .await
            .status(),
        200
    );
    assert_problem(
        patch(&app, &t.member, &pid, Some("\"1\""), json!({"name": "stale"})).await,
        412,
        "precondition_failed",
    )
    .await;
    let res = app.get(&format!("/v1/pilots/{pid}"), &t.member).await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    let p = json_of(res).await;
    assert_eq!(p["name"], "renamed");
    assert_eq!(p["version"], 2);
}

#[actix_web::test]
async fn entering_an_evaluating_stage_records_the_date() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Stage").await;
    let pid = app.create_pilot(&t.member, "p").await;
    let p = json_of(patch(&app, &t.member, &pid, Some("*"), json!({"stage": "abandoned"})).await).await;
    assert_eq!(p["stage"], "abandoned");
    assert_eq!(p["stage_entered_on"], chrono::Utc::now().date_naive().to_string());
    let bad = patch(
        &app,
        &t.member,
        &pid,
        Some("*"),
        json!({"started_on": "2026-05-01", "evaluated_on": "2026-04-01"}),
    )
    .await;
    let problem = assert_problem(bad, 422, "invalid_field").await;
    assert_eq!(problem["field"], "evaluated_on");
}

#[actix_web::test]
async fn reversal_of_a_reversal_is_rejected_and_an_entry_reverses_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Rev").await;
    let pid = app.create_pilot(&t.member, "p").await;
    let e = json_of(
        app.post_idem(
            &format!("/v1/pilots/{pid}/spend"),
            &t.member,
            &spend_body("7.00", "USD"),
        )
        .await,
    )
    .await;
    let eid = e["id"].as_str().unwrap();
    let rev = json_of(
        app.post_idem(
            &format!("/v1/pilots/{pid}/entries/{eid}/reverse"),
            &t.member,
            &json!({"reason": "dup"}),
        )
        .await,
    )
    .await;
    assert_eq!(rev["replacement"], serde_json::Value::Null);
    let rid = rev["reversal"]["id"].as_str().unwrap();
    assert_problem(
        app.post_idem(
            &format!("/v1/pilots/{pid}/entries/{eid}/reverse"),
            &t.member,
            &json!({"reason": "again"}),
        )
        .await,
        422,
        "entry_already_reversed",
    )
    .await;
    assert_problem(
        app.post_idem(
            &format!("/v1/pilots/{pid}/entries/{rid}/reverse"),
            &t.member,
            &json!({"reason": "undo"}),
        )
        .await,
        422,
        "cannot_reverse_reversal",
    )
    .await;
    let list = json_of(app.get(&format!("/v1/pilots/{pid}/spend"), &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["totals"][0]["amount_minor"], 0);
}

#[actix_web::test]
async fn a_replacement_of_the_wrong_type_names_its_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Rev").await;
    let pid = app.create_pilot(&t.member, "p").await;
    let e = json_of(
        app.post_idem(
            &format!("/v1/pilots/{pid}/spend"),
            &t.member,
            &spend_body("7.00", "USD"),
        )
        .await,
    )
    .await;
    let eid = e["id"].as_str().unwrap();
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pid}/entries/{eid}/reverse"),
            &t.member,
            &json!({"reason": "wrong", "replacement": impact_body("1.00", "USD")}),
        )
        .await;
    let problem = assert_problem(res, 422, "unknown_field").await;
    assert!(
        problem["field"].as_str().unwrap().starts_with("replacement."),
        "{problem}"
    );
    let list = json_of(app.get(&format!("/v1/pilots/{pid}/spend"), &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn delete_on_an_entry_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Del").await;
    let pid = app.create_pilot(&t.member, "p").await;
    let e = json_of(
        app.post_idem(
            &format!("/v1/pilots/{pid}/spend"),
            &t.member,
            &spend_body("7.00", "USD"),
        )
        .await,
    )
    .await;
    let eid = e["id"].as_str().unwrap();
    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/pilots/{pid}/entries/{eid}"),
            Some(&t.member),
            None,
        )
        .await;
    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, 405, "method_not_allowed").await;
    let got = json_of(app.get(&format!("/v1/pilots/{pid}/entries/{eid}"), &t.member).await).await;
    assert_eq!(got["amount"], "7.00");
}

#[actix_web::test]
async fn pilots_page_with_a_cursor_and_filter() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Pages").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.create_pilot(&t.member, &format!("p{i}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".into(),
        };
        let page = json_of(app.get(&format!("/v1/pilots{q}"), &t.member).await).await;
        for p in page["items"].as_array().unwrap() {
            seen.push(p["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every pilot once, in creation order");
    // A page that ends exactly at the last pilot has no next cursor.
    let full = json_of(app.get("/v1/pilots?limit=5", &t.member).await).await;
    assert_eq!(full["items"].as_array().unwrap().len(), 5);
    assert!(full["next_cursor"].is_null());
    patch(&app, &t.member, &ids[2], Some("*"), json!({"stage": "scaled"})).await;
    let page = json_of(app.get("/v1/pilots?stage=scaled", &t.member).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], ids[2].as_str());
    assert_problem(app.get("/v1/pilots?limit=0", &t.member).await, 400, "invalid_query").await;
    assert_problem(
        app.get("/v1/pilots?limit=100000", &t.member).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/v1/pilots?cursor=garbage", &t.member).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/v1/pilots?stage=flying", &t.member).await,
        400,
        "invalid_query",
    )
    .await;
}

#[actix_web::test]
async fn finance_reads_but_cannot_write() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Fin").await;
    let pid = app.create_pilot(&t.member, "p").await;
    assert_eq!(app.get(&format!("/v1/pilots/{pid}"), &t.finance).await.status(), 200);
    assert_problem(
        app.post("/v1/pilots", &t.finance, &pilot_body("x")).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post_idem(
            &format!("/v1/pilots/{pid}/spend"),
            &t.finance,
            &spend_body("1.00", "USD"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}
