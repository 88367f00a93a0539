//! Exact money over HTTP: decimal strings in, minor units stored, checked sums.

use serde_json::{json, Value};

use crate::helpers::*;

async fn pilot(app: &TestApp) -> (Tenant, String) {
    let t = app.tenant("Money Co").await;
    let p = app.create_pilot(&t.member, "p").await;
    (t, p)
}

#[actix_web::test]
async fn ten_cents_and_twenty_cents_sum_to_thirty_exactly() {
    let app = TestApp::spawn().await;
    let (t, p) = pilot(&app).await;
    for a in ["0.10", "0.20"] {
        assert_eq!(
            app.post_idem(&format!("/v1/pilots/{p}/spend"), &t.member, &spend_body(a, "USD"))
                .await
                .status(),
            201
        );
    }
    let list = json_of(app.get(&format!("/v1/pilots/{p}/spend"), &t.member).await).await;
    assert_eq!(list["totals"][0]["amount"], "0.30");
    assert_eq!(list["totals"][0]["amount_minor"], 30);
}

#[actix_web::test]
async fn amounts_follow_the_currency_exponent() {
    let app = TestApp::spawn().await;
    let (t, p) = pilot(&app).await;
    let path = format!("/v1/pilots/{p}/spend");
    let body = assert_problem(
        app.post_idem(&path, &t.member, &spend_body("1.5", "JPY")).await,
        422,
        "invalid_amount",
    )
    .await;
    assert_eq!(body["field"], "amount");
    let res = app.post_idem(&path, &t.member, &spend_body("1.234", "BHD")).await;
    assert_eq!(res.status(), 201);
    let e = json_of(res).await;
    assert_eq!(e["amount_minor"], 1234);
    assert_eq!(e["amount"], "1.234");
    let e = json_of(app.post_idem(&path, &t.member, &spend_body("1500", "JPY")).await).await;
    assert_eq!(
        (e["amount"].as_str(), e["amount_minor"].as_i64()),
        (Some("1500"), Some(1500))
    );
    assert_problem(
        app.post_idem(&path, &t.member, &spend_body("1.500", "USD")).await,
        422,
        "invalid_amount",
    )
    .await;
    assert_problem(
        app.post_idem(&path, &t.member, &spend_body("1e3", "USD")).await,
        422,
        "invalid_amount",
    )
    .await;
    assert_problem(
        app.post_idem(&path, &t.member, &spend_body("NaN", "USD")).await,
        422,
        "invalid_amount",
    )
    .await;
    assert_problem(
        app.post_idem(&path, &t.member, &spend_body("1.00", "XYZ")).await,
        422,
        "unknown_currency",
    )
    .await;
    // Only the BHD and JPY entries were written.
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_json_number_for_an_amount_is_rejected() {
    let app = TestApp::spawn().await;
    let (t, p) = pilot(&app).await;
    let mut body = spend_body("1.00", "USD");
    body["amount"] = serde_json::json!(12.5);
    let problem = assert_problem(
        app.post_idem(&format!("/v1/pilots/{p}/spend"), &t.member, &body).await,
        422,
        "invalid_field",
    )
    .await;
    assert_eq!(problem["field"], "amount");
}

#[actix_web::test]
async fn a_sum_past_i64_is_a_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (t, p) = pilot(&app).await;
    let path = format!("/v1/pilots/{p}/spend");
    // i64::MAX minor units of USD, in ten entries (one may carry at most 18 digits).
    post_nine_largest_usd(&app, &path, &t.member).await;
    let res = app
        .post_idem(&path, &t.member, &spend_body("2233720368547758.16", "USD"))
        .await;
    assert_eq!(res.status(), 201);
    let problem = assert_problem(
        app.post_idem(&path, &t.member, &spend_body("0.01", "USD")).await,
        422,
        "amount_overflow",
    )
    .await;
    assert_eq!(problem["field"], "amount");
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 10);
    assert_eq!(list["totals"][0]["amount_minor"], i64::MAX);
    // A single amount past 18 digits is rejected at parse time, either way:
    // i64::MIN itself could never be reversed.
    for big in ["92233720368547758.08", "-92233720368547758.08", "10000000000000000.00"] {
        let problem = assert_problem(
            app.post_idem(&path, &t.member, &spend_body(big, "USD")).await,
            422,
            "invalid_amount",
        )
        .await;
        assert_eq!(problem["field"], "amount", "{big}");
    }
}

/// An organisation that requires FX rates gets no money write it could not
/// convert: not a single entry, not a reversal's replacement, not an import
/// row; USD always converts, reversals always pass (so nothing written
/// before the setting became irreversible), and a rate dated on or before the
/// entry's period end lets the write through.
#[actix_web::test]
async fn an_organisation_that_requires_fx_rates_refuses_unconvertible_writes() {
    let app = TestApp::spawn().await;
    let (t, pilot) = pilot(&app).await;
    let spend = format!("/v1/pilots/{pilot}/spend");
    let org = format!("/v1/orgs/{}", t.org);
    // Off by default: a VES entry is taken (and left out of summaries).
    assert_eq!(json_of(app.get(&org, &t.admin).await).await["fx_rate_required"], false);
    let res = app.post_idem(&spend, &t.member, &spend_body("10.00", "VES")).await;
    assert_eq!(res.status(), 201);
    let old_ves = json_of(res).await["id"].as_str().unwrap().to_owned();

    // Only the operator or the organisation's admin may turn it on.
    let on = json!({"fx_rate_required": true});
    let patch = |token: String| {
        let (app, org, on) = (&app, org.clone(), on.clone());
        async move {
            app.client
                .patch(format!("{}{org}", app.base))
                .bearer_auth(token)
                .json(&on)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(patch(t.member.clone()).await, 403, "forbidden").await;
    let other = app.tenant("Other").await;
    assert_problem(patch(other.admin.clone()).await, 404, "org_not_found").await;
    let res = patch(t.admin.clone()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["fx_rate_required"], true);
    let audit = json_of(app.get("/v1/audit", &t.admin).await).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "org.update"),
        "{audit}"
    );

    let count = |body: Value| body["items"].as_array().unwrap().len();
    let before = count(json_of(app.get(&spend, &t.member).await).await);
    let problem = assert_problem(
        app.post_idem(&spend, &t.member, &spend_body("10.00", "VES")).await,
        422,
        "fx_rate_missing",
    )
    .await;
    assert_eq!(problem["field"], "currency");
    assert!(problem["detail"].as_str().unwrap().contains("VES"), "{problem}");
    assert_eq!(
        count(json_of(app.get(&spend, &t.member).await).await),
        before,
        "nothing written"
    );
    // USD needs no rate.
    assert_eq!(
        app.post_idem(&spend, &t.member, &spend_body("10.00", "USD"))
            .await
            .status(),
        201
    );

    // A replacement in VES is refused, and with it the whole reversal.
    let reverse = format!("/v1/pilots/{pilot}/entries/{old_ves}/reverse");
    let mut replacement = spend_body("9.00", "VES");
    replacement.as_object_mut().unwrap().remove("note");
    let body = json!({"reason": "fix", "replacement": replacement});
    let problem = assert_problem(app.post_idem(&reverse, &t.member, &body).await, 422, "fx_rate_missing").await;
    assert_eq!(problem["field"], "replacement.currency");
    // The old VES entry still reverses: reversals always pass.
    assert_eq!(
        app.post_idem(&reverse, &t.member, &json!({"reason": "fix"}))
            .await
            .status(),
        201
    );

    // An import row in VES is a row error; nothing of the file is written.
    let mut row = spend_body("3.00", "VES");
    row["type"] = json!("spend");
    row["pilot_id"] = json!(pilot);
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.member)
        .header("content-type", "application/x-ndjson")
        .header("Idempotency-Key", "fx-import")
        .body(format!("{}\n", row))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "import_rejected").await;
    assert_eq!(problem["errors"][0]["field"], "currency", "{problem}");

    // A rate dated after the period end does not help; one on or before does.
    let period_end = spend_body("1.00", "VES")["period_end"].as_str().unwrap().to_owned();
    let end = chrono::NaiveDate::parse_from_str(&period_end, "%Y-%m-%d").unwrap();
    let put = |date: chrono::NaiveDate| {
        let app = &app;
        async move {
            let res = app
                .request(
                    reqwest::Method::PUT,
                    "/v1/fx-rates",
                    Some(&app.operator),
                    Some(&json!({"rates": [{"currency": "VES", "date": date.to_string(), "rate_to_usd": "0.027"}]})),
                )
                .await;
            assert_eq!(res.status(), 200);
        }
    };
    put(end.succ_opt().unwrap()).await;
    assert_problem(
        app.post_idem(&spend, &t.member, &spend_body("10.00", "VES")).await,
        422,
        "fx_rate_missing",
    )
    .await;
    put(end).await;
    assert_eq!(
        app.post_idem(&spend, &t.member, &spend_body("10.00", "VES"))
            .await
            .status(),
        201
    );

    // The operator can set it at creation.
    let mut body = org_body("Strict");
    body["fx_rate_required"] = json!(true);
    let res = app.post("/v1/orgs", &app.operator.clone(), &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(json_of(res).await["fx_rate_required"], true);
}
