//! The offline CLI against a SQLite database: create an organisation, import
//! the documented template, mint a token the server accepts.

use std::process::Command;

use crate::helpers::*;

fn cli(dir: &std::path::Path, db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .args(args)
        .env("PILOTLEDGER_DATA_DIR", dir)
        .env("DATABASE_URL", db)
        .env("PILOTLEDGER_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cli")
}

#[actix_web::test]
async fn org_create_import_and_token_mint_work_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let out = cli(
        dir.path(),
        &db,
        &[
            "org",
            "create",
            "--name",
            "Cli Co",
            "--industry",
            "energy",
            "--size-band",
            "lt250",
            "--region",
            "NO",
            "--reporting-currency",
            "NOK",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let org: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let org_id = org["id"].as_str().unwrap().to_owned();
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/import-template.csv");
    let out = cli(dir.path(), &db, &["import", template, "--org", &org_id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["pilots_created"].as_u64(),
            summary["spend_created"].as_u64(),
            summary["impact_created"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rows/s"));

    let out = cli(
        dir.path(),
        &db,
        &["token", "mint", "--org", &org_id, "--role", "member", "--ttl", "1"],
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let app = TestApp::spawn_with(test_settings(&db, dir.path()), dir).await;
    let pilots = json_of(app.get("/v1/pilots", &token).await).await;
    assert_eq!(pilots["items"][0]["name"], "Invoice triage agent");

    let bad = cli(app.dir.path(), &db, &["import", template, "--org", "not-a-uuid"]);
    assert!(!bad.status.success());
}

#[actix_web::test]
async fn first_start_generates_a_private_secret_and_prints_a_working_operator_token() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .arg("serve")
        .env("PILOTLEDGER_DATA_DIR", dir.path())
        .env("DATABASE_URL", fresh_database_url(dir.path()))
        .env("PILOTLEDGER_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("PILOTLEDGER_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout).lines().take(8).map(Result::unwrap).collect();
    let text = lines.join("\n");
    let token = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("eyJ"))
        .expect("a token line")
        .to_owned();
    assert!(
        text.contains(&format!(
            "curl -s -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/v1/orgs"
        )),
        "{text}"
    );
    let mode = std::fs::metadata(dir.path().join("jwt_secret"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/orgs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the printed operator token works");
    let _ = child.kill();
    let _ = child.wait();
}
