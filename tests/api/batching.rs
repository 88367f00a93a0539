//! Entry creates are written a batch at a time (`db::entry_batch`): a batch
//! answers each write as it would be answered alone — written, replayed, no
//! such pilot (including another organisation's), running total past i64, key
//! already in the batch — and a write the database refuses fails alone, on the
//! first try in the batch's own transaction and inside a longer one.

use diesel::prelude::*;
use pilotledger::db::audit::{Actor, AuditView};
use pilotledger::db::entries::EntryView;
use pilotledger::db::entry_batch::{write_all, EntryWrite, Outcome};
use pilotledger::db::idempotency::IdempotencyView;
use pilotledger::db::schema::{audit_events, entries, idempotency_keys};
use pilotledger::db::{DbConnection, DbError};
use pilotledger::domain::ids::{EntryId, OrgId, PilotId};
use serde_json::{json, Value};

use crate::helpers::*;

fn connection(app: &TestApp) -> pilotledger::db::PooledConn {
    let settings = test_settings(&app.database_url, app.dir.path());
    pilotledger::startup::open_database(&settings).unwrap().get().unwrap()
}

/// A spend entry create as a request would prepare it, under `key`.
fn spend(org: &str, pilot: &str, amount_minor: i64, currency: &str, token: &str, key: &str) -> EntryWrite {
    let now = pilotledger::db::now();
    let entry = EntryView {
        org_id: org.into(),
        id: EntryId::new().to_string(),
        pilot_id: pilot.into(),
        entry_type: pilotledger::domain::enums::EntryType::Spend,
        category: "licences".into(),
        period_start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        period_end: chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap(),
        amount_minor,
        currency: pilotledger::domain::currency::Currency::parse(currency).unwrap(),
        capex: Some(false),
        attribution_method: None,
        confidence: None,
        measured: None,
        note: None,
        reverses: None,
        replaces: None,
        reason: None,
        created_by: "batch-test".into(),
        created_at: now,
    };
    let body = json!({"id": entry.id, "amount_minor": amount_minor});
    let actor = Actor {
        sub: "batch-test".into(),
        role: "member",
    };
    let audit: AuditView = pilotledger::db::audit::event(
        OrgId::parse(org),
        &actor,
        "spend.create",
        "entry",
        &entry.id,
        None,
        Some(&body),
    );
    EntryWrite {
        idempotency: IdempotencyView {
            org_id: org.into(),
            token_id: token.into(),
            idem_key: key.into(),
            request_hash: format!("hash-of-{key}"),
            response_status: 201,
            response_body: body.to_string(),
            created_at: now,
        },
        audit,
        entry,
    }
}

/// Runs `writes` as the group-commit writer does: one transaction; `fresh`
/// false puts another write in the transaction first.
fn run(conn: &mut DbConnection, writes: &[EntryWrite], fresh: bool) -> Vec<Result<Outcome, DbError>> {
    pilotledger::db::begin_write(conn).unwrap();
    if !fresh {
        // Any earlier work of the batch: here an audit event of its own.
        let actor = Actor {
            sub: "batch-test".into(),
            role: "operator",
        };
        pilotledger::db::audit::record(conn, None, &actor, "test.before", "test", "before", None, None).unwrap();
    }
    let out = write_all(conn, writes, fresh);
    pilotledger::db::commit(conn).unwrap();
    out
}

fn entry_ids(conn: &mut DbConnection) -> Vec<String> {
    entries::table
        .select(entries::id)
        .order(entries::id)
        .load(conn)
        .unwrap()
}

fn has_key(conn: &mut DbConnection, key: &str) -> bool {
    idempotency_keys::table
        .filter(idempotency_keys::idem_key.eq(key))
        .count()
        .get_result::<i64>(conn)
        .unwrap()
        == 1
}

fn audited(conn: &mut DbConnection, entry_id: &str) -> bool {
    audit_events::table
        .filter(audit_events::object_id.eq(entry_id))
        .count()
        .get_result::<i64>(conn)
        .unwrap()
        == 1
}

/// The pilot's spend totals by currency, as the API lists them.
async fn spend_totals(app: &TestApp, token: &str, pilot: &str) -> Value {
    json_of(app.get(&format!("/v1/pilots/{pilot}/spend"), token).await).await["totals"].clone()
}

fn assert_rollups_right(conn: &mut DbConnection) {
    assert_eq!(
        pilotledger::db::rollups::mismatches(conn).unwrap(),
        Vec::<String>::new()
    );
}

#[actix_web::test]
async fn a_batch_answers_each_write_as_it_would_be_answered_alone() {
    for fresh in [true, false] {
        let app = TestApp::spawn().await;
        let a = app.tenant("Batch A").await;
        let b = app.tenant("Batch B").await;
        let a1 = app.create_pilot(&a.member, "a1").await;
        let a2 = app.create_pilot(&a.member, "a2").await;
        let full = app.create_pilot(&a.member, "full").await;
        let b1 = app.create_pilot(&b.member, "b1").await;
        // A pilot whose USD spend total is already i64::MAX cents.
        post_nine_largest_usd(&app, &format!("/v1/pilots/{full}/spend"), &a.member).await;
        let res = app
            .post_key(
                &format!("/v1/pilots/{full}/spend"),
                &a.member,
                &spend_body("2233720368547758.16", "USD"),
                "k-full",
            )
            .await;
        assert_eq!(res.status(), 201);
        let mut c = connection(&app);
        let conn: &mut DbConnection = &mut c;
        let stored: IdempotencyView = idempotency_keys::table
            .filter(idempotency_keys::idem_key.eq("k-full"))
            .select(IdempotencyView::as_select())
            .get_result(conn)
            .unwrap();
        let token = stored.token_id.clone();
        let before = entry_ids(conn);

        let writes = vec![
            spend(&a.org, &a1, 1_00, "USD", &token, "k0"),
            spend(&a.org, &a1, 2_50, "EUR", &token, "k1"),
            spend(&a.org, &a2, 3_00, "USD", &token, "k2"),
            spend(&b.org, &b1, 4_00, "USD", "token-b", "k3"),
            // Organisation A naming B's pilot: no such pilot for A.
            spend(&a.org, &b1, 5_00, "USD", &token, "k4"),
            spend(&a.org, &PilotId::new().to_string(), 6_00, "USD", &token, "k5"),
            // Past i64 on the full pilot; the same pilot in EUR still fits.
            spend(&a.org, &full, 1, "USD", &token, "k6"),
            spend(&a.org, &full, 7_00, "EUR", &token, "k7"),
            // A key used before: the stored answer, nothing written.
            spend(&a.org, &a1, 8_00, "USD", &token, "k-full"),
            // The batch's first key again: refused, never written twice.
            spend(&a.org, &a2, 9_00, "USD", &token, "k0"),
            // Two writes to one running total in one batch add up.
            spend(&a.org, &a1, 10_00, "USD", &token, "k10"),
        ];
        let outcomes: Vec<Outcome> = run(conn, &writes, fresh).into_iter().map(Result::unwrap).collect();
        use Outcome::*;
        assert_eq!(
            outcomes,
            vec![
                Written,
                Written,
                Written,
                Written,
                PilotNotFound,
                PilotNotFound,
                TotalOverflow,
                Written,
                Replay(Box::new(stored.clone())),
                KeyInFlight,
                Written,
            ],
            "fresh transaction: {fresh}"
        );

        let after = entry_ids(conn);
        for (w, o) in writes.iter().zip(&outcomes) {
            let written = *o == Written;
            assert_eq!(
                after.contains(&w.entry.id),
                written,
                "entry of {}",
                w.idempotency.idem_key
            );
            assert_eq!(
                audited(conn, &w.entry.id),
                written,
                "audit of {}",
                w.idempotency.idem_key
            );
        }
        assert_eq!(after.len(), before.len() + 6);
        for key in ["k0", "k1", "k2", "k3", "k7", "k10"] {
            assert!(has_key(conn, key), "{key} stored");
        }
        for key in ["k4", "k5", "k6"] {
            assert!(!has_key(conn, key), "{key} not stored: a corrected retry is processed");
        }
        // The k0 record holds the first write's response, not the refused one's.
        let k0: String = idempotency_keys::table
            .filter(idempotency_keys::idem_key.eq("k0"))
            .select(idempotency_keys::response_body)
            .get_result(conn)
            .unwrap();
        assert_eq!(k0, writes[0].idempotency.response_body);

        // Running totals equal the sums of the listed entries.
        assert_eq!(
            spend_totals(&app, &a.member, &a1).await,
            json!([{"amount": "2.50", "currency": "EUR", "amount_minor": 250},
                   {"amount": "11.00", "currency": "USD", "amount_minor": 1100}])
        );
        assert_eq!(spend_totals(&app, &a.member, &a2).await[0]["amount_minor"], 300);
        assert_eq!(spend_totals(&app, &b.member, &b1).await[0]["amount_minor"], 400);
        let full_totals = spend_totals(&app, &a.member, &full).await;
        assert_eq!(full_totals[0]["amount_minor"], 700);
        assert_eq!(full_totals[1]["amount_minor"], i64::MAX);
        assert_rollups_right(conn);
    }
}

#[actix_web::test]
async fn a_write_the_database_refuses_fails_alone() {
    for fresh in [true, false] {
        let app = TestApp::spawn().await;
        let a = app.tenant("Refused").await;
        let p = app.create_pilot(&a.member, "p").await;
        let mut c = connection(&app);
        let conn: &mut DbConnection = &mut c;
        let first = spend(&a.org, &p, 1_00, "USD", "t", "r0");
        // The same entry id again: the entries primary key refuses it, which
        // no check before the insert sees.
        let mut clash = spend(&a.org, &p, 2_00, "USD", "t", "r1");
        clash.entry.id = first.entry.id.clone();
        let last = spend(&a.org, &p, 4_00, "USD", "t", "r2");
        let outcomes = run(conn, &[first.clone(), clash, last.clone()], fresh);
        assert!(matches!(outcomes[0], Ok(Outcome::Written)), "{outcomes:?}");
        assert!(
            matches!(&outcomes[1], Err(e) if e.is_unique_violation()),
            "{outcomes:?}"
        );
        assert!(matches!(outcomes[2], Ok(Outcome::Written)), "{outcomes:?}");
        let ids = entry_ids(conn);
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&first.entry.id) && ids.contains(&last.entry.id));
        assert!(has_key(conn, "r0") && has_key(conn, "r2") && !has_key(conn, "r1"));
        // Nothing of the refused write is left: its total is not counted.
        assert_eq!(spend_totals(&app, &a.member, &p).await[0]["amount_minor"], 500);
        assert_rollups_right(conn);
        let before_marker: i64 = audit_events::table
            .filter(audit_events::action.eq("test.before"))
            .count()
            .get_result(conn)
            .unwrap();
        assert_eq!(before_marker, i64::from(!fresh), "the batch's earlier work is kept");
    }
}

#[actix_web::test]
async fn concurrent_creates_over_http_are_answered_one_by_one() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Crowd A").await;
    let b = app.tenant("Crowd B").await;
    let mut pilots = Vec::new();
    for i in 0..4 {
        pilots.push(app.create_pilot(&a.member, &format!("a{i}")).await);
    }
    let b1 = app.create_pilot(&b.member, "b1").await;
    let requests = (0..64).map(|i| {
        let (app, a, b1, pilots) = (&app, &a, &b1, &pilots);
        async move {
            let (pilot, expect) = match i % 8 {
                6 => (b1.as_str(), 404),
                7 => ("00000000-0000-7000-8000-000000000000", 404),
                _ => (pilots[i % 4].as_str(), 201),
            };
            let body = spend_body(&format!("{}.{:02}", i + 1, i), if i % 3 == 0 { "EUR" } else { "USD" });
            let res = app
                .post_idem(&format!("/v1/pilots/{pilot}/spend"), &a.member, &body)
                .await;
            (i, expect, res.status().as_u16(), json_of(res).await)
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut want: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (i, expect, status, body) in &answers {
        assert_eq!(status, expect, "request {i}: {body}");
        if *status == 201 {
            *want
                .entry((
                    body["pilot_id"].as_str().unwrap().into(),
                    body["currency"].as_str().unwrap().into(),
                ))
                .or_default() += body["amount_minor"].as_i64().unwrap();
        } else {
            assert_eq!(body["code"], "pilot_not_found", "request {i}");
        }
    }
    for p in &pilots {
        let totals = spend_totals(&app, &a.member, p).await;
        let got: std::collections::BTreeMap<(String, String), i64> = totals
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    (p.clone(), t["currency"].as_str().unwrap().into()),
                    t["amount_minor"].as_i64().unwrap(),
                )
            })
            .collect();
        let expected: std::collections::BTreeMap<_, _> = want
            .iter()
            .filter(|((q, _), _)| q == p)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(got, expected, "pilot {p}");
    }
    assert_eq!(spend_totals(&app, &b.member, &b1).await, json!([]));
    let mut c = connection(&app);
    assert_rollups_right(&mut c);
}

#[actix_web::test]
async fn a_revoked_token_creates_no_entry() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Revoked writer").await;
    let p = app.create_pilot(&t.member, "p").await;
    let created = json_of(
        app.post("/v1/tokens", &t.admin, &json!({"role": "member", "label": "ci"}))
            .await,
    )
    .await;
    let token = created["token"].as_str().unwrap();
    for kind in ["spend", "impact"] {
        let body = if kind == "spend" {
            spend_body("1.00", "USD")
        } else {
            impact_body("1.00", "USD")
        };
        let path = format!("/v1/pilots/{p}/{kind}");
        assert_eq!(
            app.post_key(&path, token, &body, &format!("before-{kind}"))
                .await
                .status(),
            201
        );
    }
    let id = created["id"].as_str().unwrap();
    app.revoke_token(&t.admin, id).await;
    for kind in ["spend", "impact"] {
        let body = if kind == "spend" {
            spend_body("2.00", "USD")
        } else {
            impact_body("2.00", "USD")
        };
        let path = format!("/v1/pilots/{p}/{kind}");
        // Neither a new key nor a replay of a stored one gets through.
        for key in [format!("after-{kind}"), format!("before-{kind}")] {
            let res = app.post_key(&path, token, &body, &key).await;
            assert_eq!(res.status(), 401, "{kind} with key {key}");
        }
        let listed = json_of(app.get(&path, &t.member).await).await;
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            1,
            "{kind}: only the entry from before"
        );
    }
    let mut c = connection(&app);
    let conn: &mut DbConnection = &mut c;
    assert!(!has_key(conn, "after-spend") && !has_key(conn, "after-impact"));
}
