//! The README walkthrough, end to end over real HTTP.

use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn readme_walkthrough_works_end_to_end() {
    let app = TestApp::spawn().await;
    // The operator creates an organisation and mints its admin a token.
    let org = app.create_org("Acme GmbH").await;
    let admin = mint(&app.keys, Some(&org), pilotledger::auth::Role::Admin);

    // The admin issues a member token for the pilot team's CI.
    let res = app
        .post(
            "/v1/tokens",
            &admin,
            &json!({"role": "member", "label": "pilot-ci", "ttl_days": 90}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created = json_of(res).await;
    assert_eq!(created["role"], "member");
    let member = created["token"].as_str().unwrap().to_owned();

    // The team creates a pilot.
    let res = app
        .post("/v1/pilots", &member, &pilot_body("Invoice triage agent"))
        .await;
    assert_eq!(res.status(), 201);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let pilot = json_of(res).await;
    assert_eq!(pilot["version"], 1);
    assert_eq!(etag, "\"1\"");
    let pid = pilot["id"].as_str().unwrap().to_owned();

    // Logs spend and impact.
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pid}/spend"),
            &member,
            &spend_body("12500.00", "USD"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let spend = json_of(res).await;
    assert_eq!(spend["amount"], "12500.00");
    assert_eq!(spend["amount_minor"], 1_250_000);
    assert_eq!(spend["currency"], "USD");
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pid}/impact"),
            &member,
            &impact_body("-300.00", "EUR"),
        )
        .await;
    assert_eq!(res.status(), 201);
    let impact = json_of(res).await;
    assert_eq!(impact["amount_minor"], -30_000);
    assert_eq!(impact["measured"], true);

    // Reads them back.
    let list = json_of(app.get(&format!("/v1/pilots/{pid}/spend"), &member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], spend["id"]);
    assert_eq!(
        list["totals"],
        json!([{"amount": "12500.00", "amount_minor": 1_250_000, "currency": "USD"}])
    );
    let list = json_of(app.get(&format!("/v1/pilots/{pid}/impact"), &member).await).await;
    assert_eq!(list["items"][0]["evidence"], "A/B on 2 regions");

    // Moves the pilot to production with If-Match.
    let res = app
        .client
        .patch(format!("{}/v1/pilots/{pid}", app.base))
        .bearer_auth(&member)
        .header("If-Match", &etag)
        .json(&json!({"stage": "production", "evaluated_on": "2026-07-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let patched = json_of(res).await;
    assert_eq!(patched["version"], 2);
    assert_eq!(patched["stage"], "production");
    assert_eq!(patched["evaluated_on"], "2026-07-01");

    // Reverses the spend with a replacement.
    let sid = spend["id"].as_str().unwrap();
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pid}/entries/{sid}/reverse"),
            &member,
            &json!({"reason": "typo", "replacement": spend_body("1250.00", "USD")}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let rev = json_of(res).await;
    assert_eq!(rev["reversal"]["amount"], "-12500.00");
    assert_eq!(rev["reversal"]["reverses"], spend["id"]);
    assert_eq!(rev["replacement"]["amount"], "1250.00");
    assert_eq!(rev["replacement"]["replaces"], spend["id"]);
    let list = json_of(app.get(&format!("/v1/pilots/{pid}/spend"), &member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(list["totals"][0]["amount"], "1250.00");

    // Every write left an audit event the admin can read.
    let audit = json_of(app.get("/v1/audit", &admin).await).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "org.create",
        "token.create",
        "pilot.create",
        "spend.create",
        "impact.create",
        "pilot.update",
        "entry.reverse",
    ] {
        assert!(actions.contains(&a), "audit has {a}: {actions:?}");
    }
    let update = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "pilot.update")
        .unwrap();
    assert_eq!(update["before"]["stage"], "piloting");
    assert_eq!(update["after"]["stage"], "production");
}
