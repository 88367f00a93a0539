//! Idempotency-Key on money writes.

use crate::helpers::*;

#[actix_web::test]
async fn same_key_and_body_replays_the_stored_response_and_writes_one_row() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Idem").await;
    let p = app.create_pilot(&t.member, "p").await;
    let path = format!("/v1/pilots/{p}/spend");
    let body = spend_body("10.00", "USD");
    let first = app.post_key(&path, &t.member, &body, "key-1").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first).await;
    let second = app.post_key(&path, &t.member, &body, "key-1").await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(second).await, first);
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn same_key_with_a_different_body_is_422() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Idem").await;
    let p = app.create_pilot(&t.member, "p").await;
    let path = format!("/v1/pilots/{p}/spend");
    assert_eq!(
        app.post_key(&path, &t.member, &spend_body("10.00", "USD"), "k")
            .await
            .status(),
        201
    );
    assert_problem(
        app.post_key(&path, &t.member, &spend_body("11.00", "USD"), "k").await,
        422,
        "idempotency_key_reused",
    )
    .await;
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_missing_key_is_400_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Idem").await;
    let p = app.create_pilot(&t.member, "p").await;
    for kind in ["spend", "impact"] {
        let path = format!("/v1/pilots/{p}/{kind}");
        let body = if kind == "spend" {
            spend_body("1.00", "USD")
        } else {
            impact_body("1.00", "USD")
        };
        let problem = assert_problem(app.post(&path, &t.member, &body).await, 400, "idempotency_key_missing").await;
        assert_eq!(problem["field"], "Idempotency-Key");
        let list = json_of(app.get(&path, &t.member).await).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 0);
    }
}

#[actix_web::test]
async fn concurrent_requests_with_one_key_write_exactly_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Idem").await;
    let p = app.create_pilot(&t.member, "p").await;
    let path = format!("/v1/pilots/{p}/spend");
    let body = spend_body("5.00", "USD");
    let futures = (0..8).map(|_| app.post_key(&path, &t.member, &body, "race"));
    let results = futures_util::future::join_all(futures).await;
    let mut ids = std::collections::BTreeSet::new();
    for r in results {
        let status = r.status().as_u16();
        assert!(status == 201 || status == 409, "status {status}");
        if status == 201 {
            ids.insert(json_of(r).await["id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(ids.len(), 1, "every success answers with the same entry");
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn keys_are_scoped_to_the_organisation_not_the_token() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Idem").await;
    let p = app.create_pilot(&t.member, "p").await;
    let path = format!("/v1/pilots/{p}/spend");
    // A second token of the same organisation (a CI job's, say) retrying the
    // first one's request gets the first answer, not a second entry.
    let other = mint(&app.keys, Some(&t.org), pilotledger::auth::Role::Member);
    let body = spend_body("5.00", "USD");
    let first = app.post_key(&path, &t.member, &body, "shared").await;
    assert_eq!(first.status(), 201);
    let first = json_of(first).await;
    let res = app.post_key(&path, &other, &body, "shared").await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(res).await["id"], first["id"]);
    // The same key with another body, from either token, is a reuse.
    assert_problem(
        app.post_key(&path, &other, &spend_body("6.00", "USD"), "shared").await,
        422,
        "idempotency_key_reused",
    )
    .await;
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Another organisation's key space is its own.
    let u = app.tenant("Idem Two").await;
    let q = app.create_pilot(&u.member, "q").await;
    let res = app
        .post_key(&format!("/v1/pilots/{q}/spend"), &u.member, &body, "shared")
        .await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
}
