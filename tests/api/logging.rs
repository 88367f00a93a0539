//! Every line a request logs carries its id, the one the client gets back as
//! `X-Request-Id`: lines from the handler and lines from its database work on
//! the blocking pool, read back from the server's JSON log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pilotledger::auth::Role;
use serde_json::Value;

use crate::helpers::*;

/// The JSON log lines whose request span has `request_id`.
fn lines_of(log: &str, request_id: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            v["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["name"] == "request" && s["request_id"] == request_id)
        })
        .collect()
}

#[actix_web::test]
async fn lines_logged_inside_a_handler_and_its_database_work_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path());
    let _lease = DbLease::of(&database_url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .arg("serve")
        .env("PILOTLEDGER_DATA_DIR", dir.path())
        .env("DATABASE_URL", &database_url)
        .env("PILOTLEDGER_ADDR", format!("127.0.0.1:{port}"))
        .env("PILOTLEDGER_JWT_SECRET", SECRET)
        .env("PILOTLEDGER_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,pilotledger::db::executor=trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start server");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(client.get(format!("{base}/readyz")).send().await, Ok(r) if r.status() == 200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let keys = test_keys();
    let researcher = mint(&keys, None, Role::Researcher);
    let res = client
        .get(format!("{base}/v1/aggregates/zero-impact-rate"))
        .bearer_auth(&researcher)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let other = client.get(format!("{base}/healthz")).send().await.unwrap();
    let other_id = other.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(request_id, other_id);
    let _ = child.kill();
    let _ = child.wait();

    let log = std::fs::read_to_string(&log_path).unwrap();
    let mine = lines_of(&log, &request_id);
    let messages: Vec<&str> = mine.iter().filter_map(|v| v["fields"]["message"].as_str()).collect();
    // The handler's own line, the line its database work wrote on a blocking
    // thread, and the middleware's closing line, all under this request's id.
    assert!(messages.contains(&"research query"), "{messages:?}\n{log}");
    assert!(messages.contains(&"database work"), "{messages:?}\n{log}");
    assert!(messages.contains(&"request"), "{messages:?}\n{log}");
    // And no line of this request is filed under another one's id.
    assert!(lines_of(&log, &other_id)
        .iter()
        .all(|v| v["fields"]["message"] != "research query"));
}
