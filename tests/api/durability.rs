//! An acknowledged entry survives SIGKILL of the server process (SQLite, the
//! embedded default, with synchronous=FULL).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pilotledger::auth::Role;
use serde_json::Value;

use crate::helpers::*;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The child is reaped by `Server`'s Drop, or by the timeout path below.
#[allow(clippy::zombie_processes)]
async fn start(dir: &std::path::Path, database_url: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .arg("serve")
        .env("PILOTLEDGER_DATA_DIR", dir)
        .env("DATABASE_URL", database_url)
        .env("PILOTLEDGER_ADDR", format!("127.0.0.1:{port}"))
        .env("PILOTLEDGER_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = reqwest::Client::new();
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return Server { child, base };
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not become ready");
}

#[actix_web::test]
async fn an_acknowledged_entry_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path());
    let _lease = DbLease::of(&database_url);
    let port = free_port();
    let keys = test_keys();
    let operator = mint(&keys, None, Role::Operator);
    let client = reqwest::Client::new();

    let mut server = start(dir.path(), &database_url, port).await;
    let org: Value = client
        .post(format!("{}/v1/orgs", server.base))
        .bearer_auth(&operator)
        .json(&org_body("Durable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let member = mint(&keys, Some(org["id"].as_str().unwrap()), Role::Member);
    let pilot: Value = client
        .post(format!("{}/v1/pilots", server.base))
        .bearer_auth(&member)
        .json(&pilot_body("p"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pid = pilot["id"].as_str().unwrap().to_owned();
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let res = client
            .post(format!("{}/v1/pilots/{pid}/spend", server.base))
            .bearer_auth(&member)
            .header("Idempotency-Key", format!("k{i}"))
            .json(&spend_body(&format!("{i}.01"), "USD"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let e: Value = res.json().await.unwrap();
        acknowledged.push(e["id"].as_str().unwrap().to_owned());
    }
    // SIGKILL: no shutdown hooks, no flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut server = start(dir.path(), &database_url, port).await;
    let list: Value = client
        .get(format!("{}/v1/pilots/{pid}/spend?limit=100", server.base))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, acknowledged);
    // 0.01 + 1.01 + … + 19.01 = 190 + 0.20 = 190.20
    assert_eq!(list["totals"][0]["amount"], "190.20");
    // The rollups were written in the same transactions as the entries.
    let settings = test_settings(&database_url, dir.path());
    let mut conn = pilotledger::startup::open_database(&settings).unwrap().get().unwrap();
    assert_eq!(
        pilotledger::db::rollups::mismatches(&mut conn).unwrap(),
        Vec::<String>::new()
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

async fn metrics_text(app: &TestApp) -> String {
    app.get("/metrics", &app.operator).await.text().await.unwrap()
}

#[actix_web::test]
async fn concurrent_writes_share_commits_and_a_failing_one_fails_alone() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Group").await;
    let p = app.create_pilot(&t.member, "p").await;
    let path = format!("/v1/pilots/{p}/spend");
    let missing = format!("/v1/pilots/{}/spend", uuid::Uuid::new_v4());
    let body = spend_body("1.00", "USD");
    let requests = (0..64).map(|i| {
        let target = if i % 8 == 7 { missing.clone() } else { path.clone() };
        let (app, body, member) = (&app, &body, &t.member);
        async move { app.post_idem(&target, member, body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 56);
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), 8);
    let list = json_of(app.get(&format!("{path}?limit=100"), &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 56);
    assert_eq!(list["totals"][0]["amount"], "56.00");
    if backend() == "sqlite" {
        let text = metrics_text(&app).await;
        let batches = metric(&text, "pilotledger_group_commit_batches_total");
        let writes = metric(&text, "pilotledger_group_commit_writes_total");
        assert!(writes >= 64, "every write went through the writer: {writes}");
        assert!(
            batches < writes,
            "concurrent writes shared commits: {batches} batches for {writes} writes"
        );
        // The checkpoint thread's pass after those commits reports the WAL.
        let mut frames = 0;
        for _ in 0..40 {
            let text = metrics_text(&app).await;
            frames = metric(&text, "pilotledger_sqlite_wal_frames");
            if frames > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(frames > 0, "the WAL gauge shows the pages just written");
    } else {
        let text = metrics_text(&app).await;
        assert!(
            !text.contains("pilotledger_sqlite_wal_frames"),
            "no SQLite WAL on PostgreSQL"
        );
    }
}

#[actix_web::test]
async fn sigterm_drains_in_flight_requests_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path());
    let _lease = DbLease::of(&database_url);
    let seeded = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .args(["demo", "seed", "--orgs", "30", "--pilots-per-org", "20", "--seed", "5"])
        .env("PILOTLEDGER_DATA_DIR", dir.path())
        .env("DATABASE_URL", &database_url)
        .env("PILOTLEDGER_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let port = free_port();
    let mut server = start(dir.path(), &database_url, port).await;
    let keys = test_keys();
    let researcher = mint(&keys, None, Role::Researcher);
    let url = format!("{}/v1/aggregates/export?format=csv", server.base);
    let slow = tokio::spawn(async move {
        let res = reqwest::Client::new()
            .get(url)
            .bearer_auth(researcher)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, 200, "the in-flight request completed");
    assert!(body.starts_with("definition_version,"));
    let deadline = Instant::now() + Duration::from_secs(35);
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success(), "clean exit after draining: {exit:?}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
