//! One operation per format: each download path (`/v1/summary.csv`,
//! `/v1/aggregates/export.parquet`, …) answers exactly what `format=` on the
//! negotiated path answers, with its one media type, so a generated client
//! can parse it; `format=` on such a path is an unknown parameter. The import
//! takes a file as `application/octet-stream` (what generated clients send),
//! telling NDJSON from CSV by its first character. Routes without parameters
//! refuse unknown ones like every other route.

use pilotledger::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::research::seed;

/// Status, media type and body of a GET.
async fn fetch(app: &TestApp, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let res = app.get(path, token).await;
    let status = res.status().as_u16();
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

#[actix_web::test]
async fn each_download_path_answers_what_format_answers_on_the_negotiated_path() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 10, 5);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let t = app.tenant("Formats").await;
    let pilot = app.create_pilot(&t.member, "P").await;
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pilot}/spend"),
            &t.member,
            &spend_body("12.34", "USD"),
        )
        .await;
    assert_eq!(res.status(), 201);

    let window = "from=2024Q1&to=2026Q2";
    let cases: Vec<(String, String, &str, &str)> = vec![
        (
            format!("/v1/pilots/{pilot}/roi?format=csv"),
            format!("/v1/pilots/{pilot}/roi.csv"),
            "text/csv; charset=utf-8",
            &t.member,
        ),
        (
            "/v1/summary?format=csv&group_by=stage".into(),
            "/v1/summary.csv?group_by=stage".into(),
            "text/csv; charset=utf-8",
            &t.finance,
        ),
        (
            format!("/v1/aggregates/zero-impact-rate?format=csv&{window}"),
            format!("/v1/aggregates/zero-impact-rate.csv?{window}"),
            "text/csv; charset=utf-8",
            &researcher,
        ),
        (
            format!("/v1/aggregates/export?format=json&{window}"),
            format!("/v1/aggregates/export.json?{window}"),
            "application/json",
            &researcher,
        ),
        (
            format!("/v1/aggregates/export?format=parquet&{window}"),
            format!("/v1/aggregates/export.parquet?{window}"),
            "application/octet-stream",
            &researcher,
        ),
    ];
    for (negotiated, fixed, media, token) in &cases {
        let (s1, _, want) = fetch(&app, negotiated, token).await;
        let (s2, ct, got) = fetch(&app, fixed, token).await;
        assert_eq!((s1, s2), (200, 200), "{negotiated} / {fixed}");
        assert_eq!(ct, *media, "{fixed}");
        assert!(!got.is_empty(), "{fixed}");
        assert_eq!(got, want, "{fixed} differs from {negotiated}");
        // The path fixes the format: `format=` beside it is unknown.
        let sep = if fixed.contains('?') { '&' } else { '?' };
        let problem = assert_problem(
            app.get(&format!("{fixed}{sep}format=csv"), token).await,
            400,
            "invalid_query",
        )
        .await;
        assert_eq!(problem["field"], "format", "{fixed}");
    }
    // `format=parquet` keeps its registered media type.
    let (_, ct, _) = fetch(
        &app,
        &format!("/v1/aggregates/export?format=parquet&{window}"),
        &researcher,
    )
    .await;
    assert_eq!(ct, "application/vnd.apache.parquet");
    // The negotiated paths answer JSON without `format=` and CSV for `Accept: text/csv`, as before.
    let (_, ct, _) = fetch(&app, "/v1/summary", &t.finance).await;
    assert_eq!(ct, "application/json");
    let res = app
        .client
        .get(format!("{}/v1/summary", app.base))
        .bearer_auth(&t.finance)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    // The CSV twin of a POST.
    let body = json!({"start_year": 2026, "horizon_years": 3});
    let want = app
        .post("/v1/projections/gap?format=csv", &t.finance, &body)
        .await
        .text()
        .await
        .unwrap();
    let res = app.post("/v1/projections/gap.csv", &t.finance, &body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), want);
    // Roles are the negotiated route's: a member may not read the summary in any format.
    assert_problem(app.get("/v1/summary.csv", &t.member).await, 403, "forbidden").await;
}

async fn upload(app: &TestApp, token: &str, body: &str, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .header("Idempotency-Key", key)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_octet_stream_upload_imports_ndjson_and_csv_alike() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Upload").await;
    let mut pilot = pilot_body("Uploaded");
    pilot["type"] = json!("pilot");
    pilot["ref"] = json!("P1");
    let mut spend = spend_body("5.00", "USD");
    spend["type"] = json!("spend");
    spend["pilot_ref"] = json!("P1");
    // A byte-order mark and blank lines before the first row.
    let ndjson = format!("\u{feff}\n  {pilot}\n{spend}\n");
    let res = upload(&app, &t.member, &ndjson, "up-1").await;
    assert_eq!(res.status(), 201);
    let summary: Value = json_of(res).await;
    assert_eq!(
        (summary["pilots_created"].as_u64(), summary["spend_created"].as_u64()),
        (Some(1), Some(1))
    );
    // The same key and file replays the answer and writes nothing.
    let again = json_of(upload(&app, &t.member, &ndjson, "up-1").await).await;
    assert_eq!(again, summary);
    let pilot_id = summary["pilots"]["P1"].as_str().unwrap().to_owned();

    let table = format!(
        "type,pilot_id,category,period_start,period_end,amount,currency\r\n\
         spend,{pilot_id},data,2026-03-01,2026-03-31,7.00,USD\r\n"
    );
    let res = upload(&app, &t.member, &table, "up-2").await;
    assert_eq!(res.status(), 201);
    assert_eq!(json_of(res).await["spend_created"], 1);
    let roi = json_of(
        app.get(&format!("/v1/pilots/{pilot_id}/roi?currency=USD"), &t.member)
            .await,
    )
    .await;
    assert_eq!(roi["spend"]["amount"], "12.00");

    // All or nothing, as with the labelled types.
    let res = upload(&app, &t.member, "{\"type\": \"spend\"}\n", "up-3").await;
    let problem = assert_problem(res, 422, "import_rejected").await;
    assert!(problem["errors"].as_array().is_some_and(|e| !e.is_empty()));
    let roi = json_of(
        app.get(&format!("/v1/pilots/{pilot_id}/roi?currency=USD"), &t.member)
            .await,
    )
    .await;
    assert_eq!(roi["spend"]["amount"], "12.00");
    // Other media types are still refused.
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.member)
        .header("content-type", "application/pdf")
        .header("Idempotency-Key", "up-4")
        .body(ndjson)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 415, "unsupported_media_type").await;
    assert_eq!(problem["field"], "Content-Type");
}

#[actix_web::test]
async fn routes_without_parameters_refuse_unknown_ones() {
    let app = TestApp::spawn().await;
    for path in [
        "/healthz?verbose=1",
        "/readyz?verbose=1",
        "/openapi.json?v=2",
        "/metrics?x=1",
    ] {
        let res = app.request(Method::GET, path, Some(&app.operator), None).await;
        let problem = assert_problem(res, 400, "invalid_query").await;
        let name = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        assert_eq!(problem["field"], name, "{path}");
    }
    // The dashboard page and its assets ignore their query, as browsers and
    // caches expect (the spec says so).
    let res = app.request(Method::GET, "/?utm_source=mail", None, None).await;
    assert_eq!(res.status(), 200);
}
