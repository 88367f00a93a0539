//! Budgets, alert rules and webhook delivery (issue 24), on a hand-built
//! ledger whose figures are worked out by hand in the comments. Signatures
//! are also verified by the independent `standardwebhooks` package in
//! `scripts/reliability/webhook_storm.py`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pilotledger::config::AlertSettings;
use serde_json::{json, Value};

use crate::helpers::*;

/// One request a [`Receiver`] got.
#[derive(Clone, Debug)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
    answered: u16,
}

/// A webhook receiver on 127.0.0.1 that answers `500` to every call whose
/// (1-based) number is in `fail`, `204` otherwise, and records every call.
struct Receiver {
    url: String,
    calls: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(fail: fn(usize) -> bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let calls: Arc<Mutex<Vec<Received>>> = Arc::default();
        let seen = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap_or(0);
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.trim_end().split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let mut all = seen.lock().unwrap();
                let answered = if fail(all.len() + 1) { 500 } else { 204 };
                all.push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                    answered,
                });
                drop(all);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {answered} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, calls }
    }

    fn calls(&self) -> Vec<Received> {
        self.calls.lock().unwrap().clone()
    }
}

/// A server that may deliver to loopback, retrying fast, sweeping every second.
async fn spawn_alerting() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path());
    let mut s = test_settings(&url, dir.path());
    s.alerts = AlertSettings {
        allowed_networks: vec![("127.0.0.0".parse().unwrap(), 8)],
        webhook_timeout: Duration::from_secs(2),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        max_attempts: 10,
        poll_interval: Duration::from_millis(50),
        sweep_interval: Duration::from_secs(1),
    };
    TestApp::spawn_with(s, dir).await
}

fn spend_on(day: &str, amount: &str, currency: &str) -> Value {
    json!({"category": "licences", "period_start": day, "period_end": day,
           "amount": amount, "currency": currency, "capex": false})
}

async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let body = json_of(res).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn spend(app: &TestApp, t: &Tenant, pilot: &str, day: &str, amount: &str, currency: &str) -> String {
    let res = app
        .post_idem(
            &format!("/v1/pilots/{pilot}/spend"),
            &t.member,
            &spend_on(day, amount, currency),
        )
        .await;
    created(res).await["id"].as_str().unwrap().to_owned()
}

async fn alerts(app: &TestApp, t: &Tenant) -> Vec<Value> {
    let res = app.get("/v1/alerts?limit=500", &t.finance).await;
    assert_eq!(res.status(), 200);
    let mut items = json_of(res).await["items"].as_array().unwrap().clone();
    items.reverse(); // oldest first
    items
}

/// (kind / threshold, subject scope, period, open) of every alert, oldest first.
fn summary_of(alerts: &[Value], rules: &HashMap<String, String>) -> Vec<(String, String, String, bool)> {
    alerts
        .iter()
        .map(|a| {
            let scope = if a["pilot_id"].is_null() { "org" } else { "pilot" };
            (
                rules[a["rule_id"].as_str().unwrap()].clone(),
                scope.to_owned(),
                a["period"].as_str().unwrap_or("").to_owned(),
                a["cleared_at"].is_null(),
            )
        })
        .collect()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[actix_web::test]
async fn each_budget_threshold_fires_once_per_crossing_and_none_below() {
    let app = spawn_alerting().await;
    let t = app.tenant("Budgets AG").await;
    let rates = json!({"rates": [{"currency": "EUR", "date": "2026-01-01", "rate_to_usd": "1.25"}]});
    let res = app
        .request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
        .await;
    assert!(res.status().is_success());
    let p = app.create_pilot(&t.member, "Budgeted").await;
    let q = app.create_pilot(&t.member, "Other").await;
    let receiver = Receiver::start(|n| n % 2 == 1); // every other call fails
    let hook = created(app.post("/v1/webhooks", &t.admin, &json!({"url": receiver.url})).await).await;
    assert!(hook["secret"].as_str().unwrap().starts_with("whsec_"));

    // Pilot p: 1000.00 EUR a month. The organisation: 2000.00 USD a quarter.
    let b = json!({"pilot_id": p, "amount": "1000.00", "currency": "EUR", "period": "month"});
    let pilot_budget = created(app.post("/v1/budgets", &t.finance, &b).await).await;
    let b = json!({"amount": "2000.00", "currency": "USD", "period": "quarter"});
    created(app.post("/v1/budgets", &t.finance, &b).await).await;
    assert_eq!(pilot_budget["amount"]["amount_minor"], 100_000);
    let mut rules = HashMap::new();
    for pct in [80, 100] {
        let r = created(
            app.post(
                "/v1/alert-rules",
                &t.finance,
                &json!({"kind": "budget_threshold", "threshold_pct": pct}),
            )
            .await,
        )
        .await;
        rules.insert(r["id"].as_str().unwrap().to_owned(), format!("{pct}%"));
    }

    // Burn of p in March (EUR) | the organisation in 2026Q1 (USD, EUR × 1.25):
    spend(&app, &t, &p, "2026-03-10", "500.00", "EUR").await; // 500.00 | 625.00
    spend(&app, &t, &p, "2026-03-11", "100.00", "USD").await; // + 100 / 1.25 = 580.00 | 725.00
    spend(&app, &t, &p, "2026-03-12", "219.99", "EUR").await; // 799.99, below 80% | + 274.9875 → 274.99 = 999.99
    assert!(alerts(&app, &t).await.is_empty(), "nothing fires below a threshold");
    spend(&app, &t, &p, "2026-03-13", "0.01", "EUR").await; // 800.00: 80% | + 0.0125 → 0.01 = 1000.00
    let big = spend(&app, &t, &p, "2026-03-14", "200.00", "EUR").await; // 1000.00: 100% | 1250.00
    spend(&app, &t, &q, "2026-02-01", "400.00", "USD").await; // (q has no budget) | 1650.00: 82.5% → 80%
    spend(&app, &t, &p, "2026-04-02", "100.00", "EUR").await; // April 100.00 | 2026Q2 125.00: nothing
    let got = summary_of(&alerts(&app, &t).await, &rules);
    let row = |r: &str, s: &str, per: &str, open: bool| (r.to_owned(), s.to_owned(), per.to_owned(), open);
    assert_eq!(
        got,
        vec![
            row("80%", "pilot", "2026-03", true),
            row("100%", "pilot", "2026-03", true),
            row("80%", "org", "2026Q1", true),
        ]
    );
    let first = alerts(&app, &t).await;
    assert_eq!(first[0]["details"]["spent"]["amount"], "800.00");
    assert_eq!(first[1]["details"]["spent"]["amount"], "1000.00");
    assert_eq!(first[2]["details"]["spent"]["amount"], "1650.00");
    assert_eq!(first[2]["details"]["spent"]["currency"], "USD");
    assert!(first[0]["reason"].as_str().unwrap().contains("80%"), "{}", first[0]);

    // The reversal takes p back to 800.00 (100% clears, 80% holds) and the
    // organisation to 1400.00 (70%: 80% clears); the same spend again is a
    // second crossing of each.
    let res = app
        .post_idem(
            &format!("/v1/pilots/{p}/entries/{big}/reverse"),
            &t.member,
            &json!({"reason": "dup"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    spend(&app, &t, &p, "2026-03-20", "200.00", "EUR").await;
    let got = summary_of(&alerts(&app, &t).await, &rules);
    assert_eq!(
        got,
        vec![
            row("80%", "pilot", "2026-03", true),
            row("100%", "pilot", "2026-03", false),
            row("80%", "org", "2026Q1", false),
            row("100%", "pilot", "2026-03", true),
            row("80%", "org", "2026Q1", true),
        ]
    );

    // Sweeps (every second) and a new rule re-evaluate without firing again.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    created(
        app.post("/v1/alert-rules", &t.finance, &json!({"kind": "spend_without_impact"}))
            .await,
    )
    .await;
    let all = alerts(&app, &t).await;
    let budget_alerts: Vec<&Value> = all.iter().filter(|a| a["kind"] == "budget_threshold").collect();
    assert_eq!(budget_alerts.len(), 5, "{budget_alerts:#?}");
    // p and q have spend and no impact: the new rule fires for each.
    assert_eq!(all.len(), 7);

    // Burn in the summary (as of `to`) and in /v1/budgets.
    let s = json_of(app.get("/v1/summary?to=2026-03-31", &t.finance).await).await;
    let burns: Vec<(Value, Value, Value, Value)> = s["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["scope"].clone(),
                b["current"]["spent"]["amount"].clone(),
                b["current"]["burn_ratio"].clone(),
                b["current"]["remaining"]["amount"].clone(),
            )
        })
        .collect();
    // 1000.00 / 1000.00; 1650.00 / 2000.00 = 0.825 → 0.8250, 350.00 left.
    assert_eq!(
        burns,
        vec![
            (json!("pilot"), json!("1000.00"), json!("1.0000"), json!("0.00")),
            (
                json!("organisation"),
                json!("1650.00"),
                json!("0.8250"),
                json!("350.00")
            ),
        ]
    );
    let roi = json_of(app.get(&format!("/v1/pilots/{p}/roi"), &t.member).await).await;
    assert_eq!(roi["budgets"].as_array().unwrap().len(), 1);
    assert_eq!(roi["budgets"][0]["id"], pilot_budget["id"]);

    // Every message reached the receiver, under one id with one body, after
    // the failed calls were retried.
    wait_for("seven deliveries", || {
        let mut ok: Vec<String> = receiver
            .calls()
            .iter()
            .filter(|c| c.answered == 204)
            .map(|c| c.headers["webhook-id"].clone())
            .collect();
        ok.dedup();
        ok.sort();
        ok.len() >= 7
    })
    .await;
    let calls = receiver.calls();
    let mut bodies: HashMap<String, String> = HashMap::new();
    for c in &calls {
        let id = c.headers["webhook-id"].clone();
        let prev = bodies.entry(id.clone()).or_insert_with(|| c.body.clone());
        assert_eq!(prev, &c.body, "one payload per webhook-id");
        let sig = &c.headers["webhook-signature"];
        assert!(sig.starts_with("v1,") && !sig.contains(' '), "{sig}");
        assert!(c.headers["webhook-timestamp"].parse::<i64>().is_ok());
    }
    assert_eq!(bodies.len(), 7, "one message per alert: {:?}", bodies.keys());
    let alert_ids: Vec<String> = bodies
        .values()
        .map(|b| {
            serde_json::from_str::<Value>(b).unwrap()["data"]["alert_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for a in &all {
        assert!(alert_ids.contains(&a["id"].as_str().unwrap().to_owned()));
    }
    // The delivery log shows each attempt.
    let hook_id = hook["id"].as_str().unwrap();
    let mut log = Value::Null;
    for _ in 0..100 {
        log = json_of(app.get(&format!("/v1/webhooks/{hook_id}/deliveries"), &t.admin).await).await;
        if log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "delivered")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    let attempts: usize = items.iter().map(|d| d["attempt_log"].as_array().unwrap().len()).sum();
    assert_eq!(attempts, calls.len());
    assert!(items.iter().all(|d| d["state"] == "delivered"));
    // Some message failed first and was delivered by a later attempt.
    assert!(items.iter().any(|d| {
        let log = d["attempt_log"].as_array().unwrap();
        log[0]["status"] == 500 && log.last().unwrap()["status"] == 204
    }));
}

#[actix_web::test]
async fn date_rules_fire_once_for_the_pilots_they_describe() {
    let app = spawn_alerting().await;
    let t = app.tenant("Rules SA").await;
    let rates = json!({"rates": [{"currency": "EUR", "date": "2024-01-01", "rate_to_usd": "1.1"}]});
    let res = app
        .request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
        .await;
    assert!(res.status().is_success());
    let pilot = |name: &str, stage: &str, started: &str, evaluated: Option<&str>| {
        let mut b = pilot_body(name);
        b["stage"] = json!(stage);
        b["started_on"] = json!(started);
        b["evaluated_on"] = json!(evaluated);
        b
    };
    // a: evaluated 2025-01-01, measured impact in its first 3 months.
    // b: evaluated 2025-01-01, only self-reported impact → no measured impact.
    // c: piloting since 2024-01-01 with spend, no impact → overdue, spend without impact.
    // d: piloting since last month, nothing logged → nothing.
    let a = app
        .create_pilot_with(&t.member, &pilot("a", "production", "2024-06-01", Some("2025-01-01")))
        .await;
    let b = app
        .create_pilot_with(&t.member, &pilot("b", "production", "2024-06-01", Some("2025-01-01")))
        .await;
    let c = app
        .create_pilot_with(&t.member, &pilot("c", "piloting", "2024-01-01", None))
        .await;
    let today = chrono::Utc::now().date_naive();
    let recent = (today - chrono::Days::new(20)).to_string();
    app.create_pilot_with(&t.member, &pilot("d", "piloting", &recent, None))
        .await;
    for p in [&a, &b, &c] {
        spend(&app, &t, p, "2025-01-31", "10.00", "EUR").await;
    }
    let mut measured = impact_body("50.00", "EUR");
    measured["period_start"] = json!("2025-02-01");
    measured["period_end"] = json!("2025-02-28");
    created(
        app.post_idem(&format!("/v1/pilots/{a}/impact"), &t.member, &measured)
            .await,
    )
    .await;
    let mut reported = measured.clone();
    reported["attribution_method"] = json!("self_reported");
    created(
        app.post_idem(&format!("/v1/pilots/{b}/impact"), &t.member, &reported)
            .await,
    )
    .await;

    let mut rules = HashMap::new();
    for body in [
        json!({"kind": "evaluation_overdue", "months": 6}),
        json!({"kind": "no_measured_impact", "months": 3}),
        json!({"kind": "spend_without_impact"}),
    ] {
        let r = created(app.post("/v1/alert-rules", &t.admin, &body).await).await;
        rules.insert(
            r["id"].as_str().unwrap().to_owned(),
            r["kind"].as_str().unwrap().to_owned(),
        );
    }
    let fired = |list: &[Value]| -> Vec<(String, String, bool)> {
        let mut v: Vec<_> = list
            .iter()
            .map(|x| {
                (
                    rules[x["rule_id"].as_str().unwrap()].clone(),
                    x["pilot_id"].as_str().unwrap().to_owned(),
                    x["cleared_at"].is_null(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let mut want = vec![
        ("evaluation_overdue".to_owned(), c.clone(), true),
        ("no_measured_impact".to_owned(), b.clone(), true),
        ("spend_without_impact".to_owned(), c.clone(), true),
    ];
    want.sort();
    assert_eq!(fired(&alerts(&app, &t).await), want);
    let overdue = alerts(&app, &t)
        .await
        .into_iter()
        .find(|x| x["kind"] == "evaluation_overdue")
        .unwrap();
    assert_eq!(overdue["details"]["due_on"], "2024-07-01");

    // Two sweeps later, still once each.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(fired(&alerts(&app, &t).await), want);

    // c gets impact and an evaluation: both of its alerts clear at the next sweep.
    created(
        app.post_idem(&format!("/v1/pilots/{c}/impact"), &t.member, &measured)
            .await,
    )
    .await;
    patch_pilot(
        &app,
        &t.member,
        &c,
        json!({"stage": "production", "evaluated_on": today.to_string()}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let now = fired(&alerts(&app, &t).await);
    let open: Vec<_> = now
        .iter()
        .filter(|x| x.2)
        .map(|x| (x.0.as_str(), x.1.as_str()))
        .collect();
    assert_eq!(open, vec![("no_measured_impact", b.as_str())]);
    assert_eq!(now.len(), 3, "clearing fires nothing new");

    // A budget set after the spend that exhausts it fires at once: a spent
    // 10.00 EUR; a budget of 10.00 EUR for its life is 100% burnt.
    created(
        app.post(
            "/v1/alert-rules",
            &t.finance,
            &json!({"kind": "budget_threshold", "threshold_pct": 100}),
        )
        .await,
    )
    .await;
    let body = json!({"pilot_id": a, "amount": "10.00", "currency": "EUR", "period": "life"});
    let budget = created(app.post("/v1/budgets", &t.finance, &body).await).await;
    assert_eq!(budget["current"]["burn_ratio"], "1.0000");
    let late: Vec<Value> = alerts(&app, &t)
        .await
        .into_iter()
        .filter(|x| x["kind"] == "budget_threshold")
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(
        (late[0]["pilot_id"].as_str(), late[0]["period"].as_str()),
        (Some(a.as_str()), Some("life"))
    );
}

#[actix_web::test]
async fn webhooks_to_loopback_or_metadata_addresses_are_refused_without_the_allow_list() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Guarded").await;
    for url in [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:80/",
        "http://localhost:8080/",
        "http://10.0.0.7/",
    ] {
        let body = assert_problem(
            app.post("/v1/webhooks", &t.admin, &json!({"url": url})).await,
            422,
            "webhook_target_refused",
        )
        .await;
        assert_eq!(body["field"], "url", "{url}");
    }
    for url in [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
    ] {
        let body = assert_problem(
            app.post("/v1/webhooks", &t.admin, &json!({"url": url})).await,
            422,
            "webhook_target_refused",
        )
        .await;
        assert_eq!(body["field"], "url", "{url}");
    }
    assert_problem(
        app.post(
            "/v1/webhooks",
            &t.admin,
            &json!({"url": "http://a.example/", "format": "xml"}),
        )
        .await,
        422,
        "invalid_field",
    )
    .await;
    assert_problem(
        app.post("/v1/webhooks", &t.finance, &json!({"url": "http://a.example/"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let list = json_of(app.get("/v1/webhooks", &t.admin).await).await;
    assert_eq!(list["items"], json!([]), "nothing was written");

    // With 127.0.0.0/8 allowed, loopback is accepted; the metadata address is not.
    let app = spawn_alerting().await;
    let t = app.tenant("Allowed").await;
    created(
        app.post("/v1/webhooks", &t.admin, &json!({"url": "http://127.0.0.1:9/x"}))
            .await,
    )
    .await;
    assert_problem(
        app.post("/v1/webhooks", &t.admin, &json!({"url": "http://169.254.169.254/"}))
            .await,
        422,
        "webhook_target_refused",
    )
    .await;
}

#[actix_web::test]
async fn paused_endpoints_keep_their_messages_and_rotated_secrets_overlap() {
    let app = spawn_alerting().await;
    let t = app.tenant("Paused").await;
    let receiver = Receiver::start(|_| false);
    let hook = created(
        app.post(
            "/v1/webhooks",
            &t.admin,
            &json!({"url": receiver.url, "format": "slack"}),
        )
        .await,
    )
    .await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/v1/webhooks/{id}/pause"), &t.admin, &json!({}))
        .await;
    assert_eq!(json_of(res).await["paused"], true);
    let p = app.create_pilot(&t.member, "Paused pilot").await;
    created(
        app.post(
            "/v1/budgets",
            &t.finance,
            &json!({"pilot_id": p, "amount": "10.00", "currency": "EUR", "period": "life"}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            "/v1/alert-rules",
            &t.finance,
            &json!({"kind": "budget_threshold", "threshold_pct": 50}),
        )
        .await,
    )
    .await;
    spend(&app, &t, &p, "2026-03-01", "5.00", "EUR").await; // 50% of 10.00
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(receiver.calls().is_empty(), "nothing goes to a paused endpoint");
    let log = json_of(app.get(&format!("/v1/webhooks/{id}/deliveries"), &t.admin).await).await;
    assert_eq!(log["items"][0]["state"], "pending");
    assert!(log["items"][0]["payload"]["text"].as_str().unwrap().contains("50%"));

    // Rotation: the old secret is still signed with during the overlap.
    let rotated = json_of(
        app.post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &t.admin,
            &json!({"overlap_hours": 1}),
        )
        .await,
    )
    .await;
    assert_ne!(rotated["secret"], hook["secret"]);
    assert!(!rotated["previous_secret_until"].is_null());
    app.post(&format!("/v1/webhooks/{id}/resume"), &t.admin, &json!({}))
        .await;
    wait_for("the held message", || !receiver.calls().is_empty()).await;
    let call = &receiver.calls()[0];
    let sigs: Vec<&str> = call.headers["webhook-signature"].split(' ').collect();
    assert_eq!(sigs.len(), 2);
    let signed = format!(
        "{}.{}.{}",
        call.headers["webhook-id"], call.headers["webhook-timestamp"], call.body
    );
    for (sig, secret) in sigs.iter().zip([&rotated["secret"], &hook["secret"]]) {
        let key = base64_decode(secret.as_str().unwrap().strip_prefix("whsec_").unwrap());
        assert_eq!(*sig, format!("v1,{}", base64_encode(&hmac(&key, signed.as_bytes()))));
    }
    let other = app.tenant("Other").await;
    assert_problem(
        app.get(&format!("/v1/webhooks/{id}/deliveries"), &other.admin).await,
        404,
        "webhook_not_found",
    )
    .await;
}

#[actix_web::test]
async fn bad_budgets_and_rules_name_their_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Strict").await;
    let p = app.create_pilot(&t.member, "x").await;
    for (body, code, field) in [
        (
            json!({"amount": "1.005", "currency": "EUR", "period": "month"}),
            "invalid_amount",
            "amount",
        ),
        (
            json!({"amount": "0", "currency": "EUR", "period": "month"}),
            "invalid_amount",
            "amount",
        ),
        (
            json!({"amount": "10", "currency": "XXY", "period": "month"}),
            "unknown_currency",
            "currency",
        ),
        (
            json!({"amount": "10", "currency": "EUR", "period": "week"}),
            "invalid_field",
            "period",
        ),
        (
            json!({"amount": "10", "currency": "EUR", "period": "month", "pilot_id": "nope"}),
            "invalid_field",
            "pilot_id",
        ),
    ] {
        let res = assert_problem(app.post("/v1/budgets", &t.finance, &body).await, 422, code).await;
        assert_eq!(res["field"], field, "{body}");
    }
    let ghost = uuid::Uuid::new_v4().to_string();
    assert_problem(
        app.post(
            "/v1/budgets",
            &t.finance,
            &json!({"amount": "10", "currency": "EUR", "period": "month", "pilot_id": ghost}),
        )
        .await,
        404,
        "pilot_not_found",
    )
    .await;
    assert_problem(
        app.post(
            "/v1/budgets",
            &t.member,
            &json!({"amount": "10", "currency": "EUR", "period": "month", "pilot_id": p}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    for (body, code, field) in [
        (json!({"kind": "budget_threshold"}), "missing_field", "threshold_pct"),
        (
            json!({"kind": "budget_threshold", "threshold_pct": 0}),
            "invalid_field",
            "threshold_pct",
        ),
        (
            json!({"kind": "no_measured_impact", "months": 4}),
            "invalid_field",
            "months",
        ),
        (
            json!({"kind": "spend_without_impact", "months": 4}),
            "invalid_field",
            "months",
        ),
        (json!({"kind": "sometimes"}), "invalid_field", "kind"),
    ] {
        let res = assert_problem(app.post("/v1/alert-rules", &t.finance, &body).await, 422, code).await;
        assert_eq!(res["field"], field, "{body}");
    }
    assert_eq!(
        json_of(app.get("/v1/budgets", &t.member).await).await["items"],
        json!([])
    );
    assert_eq!(
        json_of(app.get("/v1/alert-rules", &t.finance).await).await["items"],
        json!([])
    );
}

#[actix_web::test]
async fn audit_log_searches_by_actor_action_pilot_and_time_and_exports_csv() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Audited").await;
    let p = app.create_pilot(&t.member, "one").await;
    let q = app.create_pilot(&t.member, "two").await;
    let e = spend(&app, &t, &p, "2026-03-01", "1.00", "EUR").await;
    spend(&app, &t, &q, "2026-03-01", "2.00", "EUR").await;
    let mid = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    created(
        app.post(
            "/v1/budgets",
            &t.finance,
            &json!({"amount": "10", "currency": "EUR", "period": "year"}),
        )
        .await,
    )
    .await;
    let find = |query: String| {
        let app = &app;
        let admin = t.admin.clone();
        async move {
            let res = app.get(&format!("/v1/audit?{query}"), &admin).await;
            assert_eq!(res.status(), 200, "{query}");
            json_of(res).await["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["action"].as_str().unwrap().to_owned(),
                        i["object_id"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let pilot_events = find(format!("pilot_id={p}")).await;
    let objects: Vec<&str> = pilot_events.iter().map(|x| x.1.as_str()).collect();
    assert_eq!(objects, vec![p.as_str(), e.as_str()], "{pilot_events:?}");
    let budget = find("action=budget.create".into()).await;
    assert_eq!(budget.len(), 1);
    let since = mid
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        .replace('+', "%2B");
    assert_eq!(find(format!("from={since}")).await, budget);
    assert_eq!(find(format!("to={since}&action=budget.")).await, vec![]);
    assert_eq!(find("actor=nobody".into()).await, vec![]);
    assert_eq!(find("actor=test-user&action=pilot.".into()).await.len(), 2);
    assert_problem(
        app.get("/v1/audit?from=yesterday", &t.admin).await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(app.get("/v1/audit?pilot_id=x", &t.admin).await, 400, "invalid_query").await;

    let res = app.get(&format!("/v1/audit.csv?pilot_id={p}"), &t.admin).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "at",
            "actor",
            "actor_role",
            "action",
            "object_type",
            "object_id",
            "before",
            "after"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| &r[6] == e.as_str()));
}

// Signature helpers for the test: HMAC-SHA256 per RFC 2104 over sha2, and base64.
fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = key.to_vec();
    if k.len() > 64 {
        k = Sha256::digest(&k).to_vec();
    }
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&ipad).chain_update(msg).finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
