//! Exact money over HTTP: decimal strings in, minor units stored, checked sums.

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
