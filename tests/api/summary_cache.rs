//! The summary cache: a cached answer is byte for byte the answer a process
//! that never cached anything computes, and every kind of write — through the
//! same process or through a second one over the same database — is seen by
//! the very next read.

use std::future::Future;

use serde_json::{json, Value};

use crate::helpers::*;

/// The queries every check reads: JSON, a breakdown, CSV by `format=` and CSV
/// by `Accept`.
const QUERIES: [(&str, Option<&str>); 4] = [
    ("", None),
    ("?group_by=quarter", None),
    ("?format=csv&group_by=function", None),
    ("", Some("text/csv")),
];

/// Everything of an answer a client can see but what differs per request by
/// design (the date and the request id).
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

async fn answer(app: &TestApp, token: &str, query: &str, accept: Option<&str>) -> Answer {
    let mut req = app
        .client
        .get(format!("{}/v1/summary{query}", app.base))
        .bearer_auth(token);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let mut headers: Vec<(String, String)> = res
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, v)| (name.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    headers.sort();
    Answer {
        status,
        headers,
        body: res.text().await.unwrap(),
    }
}

async fn answers(app: &TestApp, token: &str) -> Vec<Answer> {
    let mut out = Vec::new();
    for (query, accept) in QUERIES {
        out.push(answer(app, token, query, accept).await);
    }
    out
}

/// Another application instance over the same database, with its own (empty)
/// cache: what a second API process behind a load balancer is.
async fn another_process(app: &TestApp) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    TestApp::spawn_with(test_settings(&app.database_url, dir.path()), dir).await
}

/// The answers of a process that has never cached anything.
async fn fresh_answers(app: &TestApp, token: &str) -> Vec<Answer> {
    answers(&another_process(app).await, token).await
}

struct Ledger {
    t: Tenant,
    pilots: Vec<String>,
    entries: Vec<String>,
}

async fn put_rates(app: &TestApp, rates: Value) {
    let res = app
        .request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
        .await;
    assert_eq!(res.status(), 200);
}

async fn log(app: &TestApp, token: &str, pilot: &str, kind: &str, body: &Value) -> String {
    let res = app.post_idem(&format!("/v1/pilots/{pilot}/{kind}"), token, body).await;
    assert_eq!(res.status(), 201, "{body}");
    json_of(res).await["id"].as_str().unwrap().to_owned()
}

async fn reverse(app: &TestApp, token: &str, pilot: &str, entry: &str) {
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pilot}/entries/{entry}/reverse"),
            token,
            &json!({"reason": "typo"}),
        )
        .await;
    assert_eq!(res.status(), 201);
}

/// Imports a spend entry for `pilot`, and a new pilot too when `new_pilot`.
async fn import(app: &TestApp, token: &str, pilot: &str, new_pilot: bool) {
    let mut spend = spend_body("40.00", "USD");
    spend["type"] = json!("spend");
    spend["pilot_id"] = json!(pilot);
    let mut file = format!("{spend}\n");
    if new_pilot {
        let mut p = pilot_body("imported");
        p["type"] = json!("pilot");
        p["ref"] = json!("P1");
        file = format!("{p}\n{file}");
    }
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// A tenant reporting in EUR with two pilots, spend in USD (so FX rates
/// matter), measured impact, and one evaluated pilot.
async fn ledger(app: &TestApp) -> Ledger {
    put_rates(
        app,
        json!({"rates": [{"currency": "EUR", "date": "2025-12-31", "rate_to_usd": "1.10"}]}),
    )
    .await;
    let t = app.tenant("Cache GmbH").await;
    let a = app.create_pilot(&t.member, "alpha").await;
    let b = app.create_pilot(&t.member, "beta").await;
    let mut entries = Vec::new();
    for (pilot, amount) in [(&a, "100.00"), (&a, "250.00"), (&b, "75.50"), (&b, "10.00")] {
        entries.push(log(app, &t.member, pilot, "spend", &spend_body(amount, "USD")).await);
    }
    log(app, &t.member, &a, "impact", &impact_body("300.00", "EUR")).await;
    patch_pilot(
        app,
        &t.member,
        &a,
        json!({"stage": "production", "evaluated_on": "2026-03-01"}),
    )
    .await;
    Ledger {
        t,
        pilots: vec![a, b],
        entries,
    }
}

/// Reads every query through `app` (so its cache holds them), runs `write`,
/// then checks that `app` answers what a process with an empty cache answers,
/// and that the write did change the summary.
async fn assert_write_is_seen(app: &TestApp, token: &str, what: &str, write: impl Future<Output = ()>) {
    let before = answers(app, token).await;
    assert_eq!(before, answers(app, token).await, "{what}: a repeated read differs");
    write.await;
    let after = answers(app, token).await;
    assert_ne!(before[0], after[0], "{what}: the summary did not change");
    assert_eq!(after, fresh_answers(app, token).await, "{what}: stale after the write");
}

#[actix_web::test]
async fn a_cached_summary_is_what_a_fresh_process_computes() {
    let app = TestApp::spawn().await;
    let l = ledger(&app).await;
    let first = answers(&app, &l.t.finance).await;
    assert!(first.iter().all(|a| a.status == 200), "{first:?}");
    assert!(first[2].body.starts_with("key,pilots,"), "{}", first[2].body);
    assert_eq!(first[2].headers, first[3].headers);
    // Served from the cache now, and the same, headers and all.
    assert_eq!(first, answers(&app, &l.t.finance).await);
    assert_eq!(first, fresh_answers(&app, &l.t.finance).await);
    // The admin's view is the same summary (one entry per organisation and query).
    assert_eq!(first, answers(&app, &l.t.admin).await);
}

#[actix_web::test]
async fn the_second_read_is_served_from_the_cache() {
    let app = TestApp::spawn().await;
    let l = ledger(&app).await;
    let before = answer(&app, &l.t.finance, "", None).await;
    assert!(before.body.contains("\"alpha\""), "{}", before.body);
    // A change made behind the API's back (it bumps no version) is invisible
    // to the cached answer but not to a process that computes afresh...
    let mut conn = pilotledger::db::connect(&app.database_url).unwrap();
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        &format!("UPDATE pilots SET name = 'renamed' WHERE id = '{}'", l.pilots[0]),
    )
    .unwrap();
    assert_eq!(answer(&app, &l.t.finance, "", None).await, before);
    let other = another_process(&app).await;
    assert!(answer(&other, &l.t.finance, "", None)
        .await
        .body
        .contains("\"renamed\""));
    // ...and any API write, through any process, brings it in.
    other.create_pilot(&l.t.member, "gamma").await;
    let after = answer(&app, &l.t.finance, "", None).await;
    assert!(after.body.contains("\"renamed\""), "{}", after.body);
}

#[actix_web::test]
async fn a_new_spend_entry_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let (p, m, f) = (&l.pilots[1], &l.t.member, &l.t.finance);
    assert_write_is_seen(&a, f, "spend via b", async {
        log(&b, m, p, "spend", &spend_body("1.00", "USD")).await;
    })
    .await;
    assert_write_is_seen(&a, f, "spend via a", async {
        log(&a, m, p, "spend", &spend_body("2.00", "USD")).await;
    })
    .await;
}

#[actix_web::test]
async fn a_new_impact_entry_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let (p, m, f) = (&l.pilots[0], &l.t.member, &l.t.finance);
    assert_write_is_seen(&a, f, "impact via b", async {
        log(&b, m, p, "impact", &impact_body("5.00", "EUR")).await;
    })
    .await;
    assert_write_is_seen(&a, f, "impact via a", async {
        log(&a, m, p, "impact", &impact_body("-7.00", "EUR")).await;
    })
    .await;
}

#[actix_web::test]
async fn a_reversal_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let (m, f) = (&l.t.member, &l.t.finance);
    assert_write_is_seen(&a, f, "reversal via b", async {
        reverse(&b, m, &l.pilots[0], &l.entries[0]).await;
    })
    .await;
    assert_write_is_seen(&a, f, "reversal via a", async {
        reverse(&a, m, &l.pilots[1], &l.entries[2]).await;
    })
    .await;
}

#[actix_web::test]
async fn a_pilot_patch_or_create_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let (m, f) = (&l.t.member, &l.t.finance);
    assert_write_is_seen(&a, f, "patch via b", async {
        patch_pilot(&b, m, &l.pilots[1], json!({"stage": "abandoned"})).await;
    })
    .await;
    assert_write_is_seen(&a, f, "patch via a", async {
        patch_pilot(&a, m, &l.pilots[0], json!({"name": "alpha two"})).await;
    })
    .await;
    assert_write_is_seen(&a, f, "create via b", async {
        b.create_pilot(m, "delta").await;
    })
    .await;
}

#[actix_web::test]
async fn an_fx_rate_put_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let f = &l.t.finance;
    // A new rate, closer to the entries' periods than the one they used.
    assert_write_is_seen(&a, f, "new rate via b", async {
        put_rates(
            &b,
            json!({"rates": [{"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.25"}]}),
        )
        .await;
    })
    .await;
    // The same rate replaced: no new row, only a new value.
    assert_write_is_seen(&a, f, "replaced rate via a", async {
        put_rates(
            &a,
            json!({"rates": [{"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.30"}]}),
        )
        .await;
    })
    .await;
    assert_write_is_seen(&a, f, "replaced rate via b", async {
        put_rates(
            &b,
            json!({"rates": [{"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.05"}]}),
        )
        .await;
    })
    .await;
}

#[actix_web::test]
async fn an_import_through_either_process_is_seen_at_once() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let (m, f) = (&l.t.member, &l.t.finance);
    assert_write_is_seen(&a, f, "import via b", async {
        import(&b, m, &l.pilots[0], true).await;
    })
    .await;
    // Entries alone: no pilot is created.
    assert_write_is_seen(&a, f, "import via a", async {
        import(&a, m, &l.pilots[1], false).await;
    })
    .await;
}

#[actix_web::test]
async fn a_summary_cached_for_one_organisation_is_never_served_to_another() {
    let app = TestApp::spawn().await;
    let l = ledger(&app).await;
    let other = app.tenant("Other SA").await;
    let mine = answer(&app, &l.t.finance, "", None).await;
    let theirs = answer(&app, &other.finance, "", None).await;
    assert_eq!(theirs.status, 200);
    assert_ne!(mine.body, theirs.body);
    assert!(!theirs.body.contains("alpha"), "{}", theirs.body);
}

#[actix_web::test]
async fn a_revoked_token_is_refused_even_while_its_summary_is_cached() {
    let a = TestApp::spawn().await;
    let l = ledger(&a).await;
    let b = another_process(&a).await;
    let res = a
        .post("/v1/tokens", &l.t.admin, &json!({"role": "finance", "label": "cfo"}))
        .await;
    assert_eq!(res.status(), 201);
    let issued = json_of(res).await;
    let token = issued["token"].as_str().unwrap().to_owned();
    assert_eq!(answer(&a, &token, "", None).await.status, 200);
    assert_eq!(answer(&a, &token, "", None).await.status, 200);
    b.revoke_token(&l.t.admin, issued["id"].as_str().unwrap()).await;
    let refused = a.get("/v1/summary", &token).await;
    assert_problem(refused, 401, "unauthorized").await;
}

#[actix_web::test]
async fn roles_and_bad_queries_are_refused_as_before() {
    let app = TestApp::spawn().await;
    let l = ledger(&app).await;
    assert_problem(app.get("/v1/summary", &l.t.member).await, 403, "forbidden").await;
    assert_problem(app.get("/v1/summary", &app.operator).await, 403, "forbidden").await;
    assert_problem(
        app.get("/v1/summary?colour=red", &l.t.finance).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/v1/summary?from=2026-02-01&to=2026-01-01", &l.t.finance).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/v1/summary?currency=XXX", &l.t.finance).await,
        400,
        "invalid_query",
    )
    .await;
}

/// Concurrent summary reads are validated together (`db::stamp_reader` reads
/// the revocations and stamps of every request waiting at that moment in one
/// go). Each must still get its own answer: its own organisation's summary,
/// 401 for the revoked token among them, 403 for a role without access, and a
/// write made between two waves is seen by every read of the second.
#[actix_web::test]
async fn concurrent_reads_validated_together_each_get_their_own_answer() {
    let app = TestApp::spawn().await;
    let l = ledger(&app).await;
    let other = app.tenant("Other SA").await;
    let theirs_pilot = app.create_pilot(&other.member, "theirs").await;
    log(&app, &other.member, &theirs_pilot, "spend", &spend_body("7.00", "USD")).await;
    let res = app
        .post("/v1/tokens", &l.t.admin, &json!({"role": "finance", "label": "gone"}))
        .await;
    let issued = json_of(res).await;
    let revoked = issued["token"].as_str().unwrap().to_owned();
    app.revoke_token(&l.t.admin, issued["id"].as_str().unwrap()).await;

    let callers = [
        (l.t.finance.clone(), "mine"),
        (other.finance.clone(), "theirs"),
        (revoked, "revoked"),
        (l.t.member.clone(), "member"),
        (l.t.admin.clone(), "mine"),
        (other.admin.clone(), "theirs"),
    ];
    for wave in 0..2 {
        // What each organisation's summary is now, read one at a time by a
        // process that never cached anything.
        let fresh = another_process(&app).await;
        let mine = answer(&fresh, &l.t.finance, "", None).await;
        let theirs = answer(&fresh, &other.finance, "", None).await;
        assert_ne!(mine.body, theirs.body);
        let reads = futures_util::future::join_all(
            (0..96)
                .map(|i| &callers[i % callers.len()])
                .map(|(token, _)| answer(&app, token, "", None)),
        )
        .await;
        for (i, got) in reads.into_iter().enumerate() {
            let (_, who) = callers[i % callers.len()];
            match who {
                "mine" => assert_eq!(got, mine, "wave {wave}, read {i}"),
                "theirs" => assert_eq!(got, theirs, "wave {wave}, read {i}"),
                "revoked" => assert_eq!(got.status, 401, "wave {wave}, read {i}: {}", got.body),
                _ => assert_eq!(got.status, 403, "wave {wave}, read {i}: {}", got.body),
            }
        }
        // A write through another process before the second wave.
        let b = another_process(&app).await;
        log(&b, &l.t.member, &l.pilots[0], "spend", &spend_body("1.00", "USD")).await;
    }
}
