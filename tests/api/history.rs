//! Pilots as they stood at an instant (`as_of`): every way a pilot is written —
//! created over HTTP, imported, demo-seeded — keeps its earlier states, so a
//! summary or an ROI `as_of` before a PATCH shows the pilot as it was then.

use chrono::{SecondsFormat, Utc};
use pilotledger::auth::Role;
use serde_json::{json, Value};

use crate::helpers::*;

/// An instant between two writes, as `as_of` takes it. The pauses keep the
/// writes on either side strictly before and after it on both backends.
async fn instant_between() -> String {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    at
}

async fn summary(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app.get(&format!("/v1/summary?{query}"), token).await;
    assert_eq!(res.status(), 200, "summary?{query}");
    json_of(res).await
}

/// `key → pilots` of a summary's groups.
fn pilots_per_group(s: &Value) -> Vec<(String, u64)> {
    s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g["pilots"].as_u64().unwrap()))
        .collect()
}

async fn import_ndjson(app: &TestApp, token: &str, body: String) -> Value {
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
    assert_eq!(res.status(), 201, "import");
    json_of(res).await
}

#[actix_web::test]
async fn an_imported_pilot_patched_later_keeps_its_imported_state_as_of_before_the_patch() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Historian").await;
    let before_import = instant_between().await;
    let mut pilot = pilot_body("imported");
    pilot["type"] = json!("pilot");
    pilot["ref"] = json!("P1");
    let mut spend = spend_body("100.00", "EUR");
    spend["type"] = json!("spend");
    spend["pilot_ref"] = json!("P1");
    let imported = import_ndjson(&app, &t.member, format!("{pilot}\n{spend}")).await;
    let id = imported["pilots"]["P1"].as_str().unwrap().to_owned();
    let as_imported = summary(&app, &t.finance, "group_by=function").await;
    let between = instant_between().await;
    patch_pilot(
        &app,
        &t.member,
        &id,
        json!({"business_function": "sales_marketing", "stage": "production", "evaluated_on": "2026-06-30"}),
    )
    .await;
    let after_patch = instant_between().await;

    let then = summary(&app, &t.finance, &format!("group_by=function&as_of={between}")).await;
    assert_eq!(
        then["totals"]["pilots"], 1,
        "the imported pilot existed before its PATCH: {then}"
    );
    assert_eq!(pilots_per_group(&then), [("finance_accounting".to_owned(), 1)]);
    assert_eq!(then["totals"], as_imported["totals"]);
    assert_eq!(then["groups"], as_imported["groups"]);
    let then = summary(&app, &t.finance, &format!("group_by=stage&as_of={between}")).await;
    assert_eq!(pilots_per_group(&then), [("piloting".to_owned(), 1)]);
    assert_eq!(then["totals"]["evaluated"], 0);

    let later = summary(&app, &t.finance, &format!("group_by=function&as_of={after_patch}")).await;
    assert_eq!(pilots_per_group(&later), [("sales_marketing".to_owned(), 1)]);
    let later = summary(&app, &t.finance, &format!("group_by=stage&as_of={after_patch}")).await;
    assert_eq!(pilots_per_group(&later), [("production".to_owned(), 1)]);
    assert_eq!(later["totals"]["evaluated"], 1);
    let now = summary(&app, &t.finance, "group_by=stage").await;
    assert_eq!(later["totals"], now["totals"]);
    assert_eq!(later["groups"], now["groups"]);

    let before = summary(&app, &t.finance, &format!("as_of={before_import}")).await;
    assert_eq!(before["totals"]["pilots"], 0, "nothing existed before the import");
}

#[actix_web::test]
async fn a_seeded_pilot_patched_later_keeps_its_seeded_state_as_of_before_the_patch() {
    let app = TestApp::spawn().await;
    crate::research::seed(&app, 1, 12, 21);
    let orgs = json_of(app.get("/v1/orgs", &app.operator).await).await;
    let org = orgs["items"][0]["id"].as_str().unwrap().to_owned();
    let member = mint(&app.keys, Some(&org), Role::Member);
    let finance = mint(&app.keys, Some(&org), Role::Finance);
    let pilots = json_of(app.get("/v1/pilots?limit=100", &member).await).await;
    let pilots = pilots["items"].as_array().unwrap().clone();
    assert_eq!(pilots.len(), 12);
    let target = &pilots[0];
    let id = target["id"].as_str().unwrap().to_owned();
    let function = target["business_function"].as_str().unwrap().to_owned();
    let moved_to = if function == "legal" { "hr" } else { "legal" };

    let as_seeded = summary(&app, &finance, "group_by=function").await;
    let between = instant_between().await;
    patch_pilot(&app, &member, &id, json!({"business_function": moved_to})).await;
    let after_patch = instant_between().await;

    let then = summary(&app, &finance, &format!("group_by=function&as_of={between}")).await;
    assert_eq!(
        then["totals"]["pilots"], 12,
        "every seeded pilot existed before the PATCH: {then}"
    );
    assert_eq!(pilots_per_group(&then), pilots_per_group(&as_seeded));
    assert_eq!(then["totals"], as_seeded["totals"]);
    assert_eq!(then["groups"], as_seeded["groups"]);

    let later = summary(&app, &finance, &format!("group_by=function&as_of={after_patch}")).await;
    let now = summary(&app, &finance, "group_by=function").await;
    assert_eq!(later["groups"], now["groups"]);
    let count = |s: &Value, key: &str| {
        pilots_per_group(s)
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, n)| n)
    };
    assert_eq!(count(&later, moved_to), count(&as_seeded, moved_to) + 1);
    assert_eq!(count(&later, &function), count(&as_seeded, &function) - 1);
}

#[actix_web::test]
async fn a_pilot_roi_as_of_shows_the_pilot_and_entries_of_that_instant() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Roi history").await;
    let before_create = instant_between().await;
    let p = app.create_pilot(&t.member, "first name").await;
    let other = app.create_pilot(&t.member, "another pilot").await;
    for (pilot, amount) in [(&p, "100.00"), (&other, "900.00")] {
        let res = app
            .post_idem(
                &format!("/v1/pilots/{pilot}/spend"),
                &t.member,
                &spend_body(amount, "EUR"),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let roi_path = format!("/v1/pilots/{p}/roi");
    let as_created = json_of(app.get(&roi_path, &t.member).await).await;
    let between = instant_between().await;
    patch_pilot(
        &app,
        &t.member,
        &p,
        json!({"name": "second name", "stage": "production", "evaluated_on": "2026-06-30"}),
    )
    .await;
    let res = app
        .post_idem(&format!("/v1/pilots/{p}/spend"), &t.member, &spend_body("50.00", "EUR"))
        .await;
    assert_eq!(res.status(), 201);

    let then = json_of(app.get(&format!("{roi_path}?as_of={between}"), &t.member).await).await;
    assert_eq!(then, as_created, "ROI as_of before the PATCH is the ROI of then");
    assert_eq!(then["name"], "first name");
    assert_eq!(then["evaluated"], false);
    assert_eq!(
        then["spend"]["amount_minor"], 10_000,
        "only this pilot's entries of then"
    );

    let now = json_of(app.get(&roi_path, &t.member).await).await;
    assert_eq!(now["name"], "second name");
    assert_eq!(now["evaluated"], true);
    assert_eq!(now["spend"]["amount_minor"], 15_000);
    let at_now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let later = json_of(app.get(&format!("{roi_path}?as_of={at_now}"), &t.member).await).await;
    assert_eq!(later, now);

    let res = app.get(&format!("{roi_path}?as_of={before_create}"), &t.member).await;
    assert_problem(res, 404, "pilot_not_found").await;
}
