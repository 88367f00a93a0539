//! The offline CLI: create an organisation, import the documented template
//! (once per content), mint a token the server accepts; refuse a database
//! that is not there; a first start that cannot bind writes nothing, and the
//! next one prints a working operator token.

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

fn org_create_args(name: &str) -> Vec<&str> {
    vec![
        "org",
        "create",
        "--name",
        name,
        "--industry",
        "energy",
        "--size-band",
        "lt250",
        "--region",
        "NO",
        "--reporting-currency",
        "NOK",
    ]
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `cmd` to its end, failing the test if it takes longer than 60 s.
fn finish_within_a_minute(mut cmd: Command) -> std::process::Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("process {id} still running after 60 s"))
        .unwrap()
}

#[actix_web::test]
async fn org_create_import_and_token_mint_work_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    let out = cli(dir.path(), &db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = cli(dir.path(), &db, &org_create_args("Cli Co"));
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
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .arg("serve")
        .env("PILOTLEDGER_DATA_DIR", dir.path())
        .env("DATABASE_URL", &db)
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

/// `serve` on `addr` over `data_dir` with a generated secret, output piped.
fn serve_command(data_dir: &std::path::Path, db: &str, addr: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilotledger"));
    cmd.arg("serve")
        .env("PILOTLEDGER_DATA_DIR", data_dir)
        .env("DATABASE_URL", db)
        .env("PILOTLEDGER_ADDR", addr)
        .env_remove("PILOTLEDGER_JWT_SECRET")
        .env("RUST_LOG", "warn");
    cmd
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[actix_web::test]
async fn a_first_start_on_a_busy_port_writes_nothing_and_the_next_start_prints_a_working_token() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = match backend() {
        "postgres" => fresh_database_url(dir.path()),
        _ => format!("sqlite://{}", data.join("pilotledger.db").display()),
    };
    let _lease = DbLease::of(&db);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = busy.local_addr().unwrap().to_string();
    let out = finish_within_a_minute(serve_command(&data, &db, &busy_addr));
    assert!(!out.status.success(), "serve on a busy port must fail");
    assert!(stderr_of(&out).contains("cannot listen on"), "{}", stderr_of(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("eyJ"),
        "no token printed"
    );
    assert!(
        !data.exists(),
        "nothing written before the bind: no data folder, secret or database"
    );
    drop(busy);

    let port = free_port();
    let log = dir.path().join("serve.log");
    let mut child = serve_command(&data, &db, &format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().take(40) {
        let line = line.unwrap();
        let done = line.contains("pilotledger token mint --role operator");
        lines.push(line);
        if done {
            break;
        }
    }
    let text = lines.join("\n");
    let token = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("eyJ"))
        .unwrap_or_else(|| panic!("a token line in {text}"))
        .to_owned();
    assert!(text.contains("pilotledger token mint --role operator"), "{text}");
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/orgs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{e:?}; server log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    assert_eq!(res.status(), 200, "the printed operator token works");
    // Private from the start: folder 0700, secret and database files 0600.
    assert_eq!(mode_of(&data), 0o700);
    assert_eq!(mode_of(&data.join("jwt_secret")), 0o600);
    if backend() == "sqlite" {
        for name in ["pilotledger.db", "pilotledger.db-wal", "pilotledger.db-shm"] {
            assert_eq!(mode_of(&data.join(name)), 0o600, "{name}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The CLI with a data folder and no configured secret or database URL.
fn cli_in(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pilotledger"))
        .args(args)
        .env("PILOTLEDGER_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("PILOTLEDGER_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run cli")
}

#[test]
fn commands_run_where_there_is_no_database_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let org = uuid::Uuid::new_v4().to_string();
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/import-template.csv");

    let out = cli_in(&data, &["token", "mint", "--role", "operator"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("no JWT secret at"), "{}", stderr_of(&out));
    let with_secret = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pilotledger"))
            .args(args)
            .env("PILOTLEDGER_DATA_DIR", &data)
            .env_remove("DATABASE_URL")
            .env("PILOTLEDGER_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run cli")
    };
    let mut org_create = org_create_args("Nowhere");
    for args in [
        vec!["token", "mint", "--role", "operator"],
        org_create.clone(),
        vec!["import", template, "--org", org.as_str()],
    ] {
        let out = with_secret(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr_of(&out);
        assert!(
            err.contains("no database at") && err.contains("--create"),
            "{args:?}: {err}"
        );
    }
    assert!(!data.exists(), "nothing was created");

    org_create.push("--create");
    let out = with_secret(&org_create);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(data.join("pilotledger.db").exists());
    let out = cli_in(&data, &["token", "mint", "--role", "operator", "--create"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(data.join("jwt_secret").exists());
}

#[test]
fn a_postgres_database_without_tables_is_refused_too() {
    if backend() != "postgres" {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    let out = cli(dir.path(), &db, &["token", "mint", "--role", "operator"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("no pilotledger tables"), "{}", stderr_of(&out));
}

#[actix_web::test]
async fn importing_the_same_file_twice_writes_once_a_changed_file_imports_and_force_imports_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    assert!(cli(dir.path(), &db, &["migrate"]).status.success());
    let out = cli(dir.path(), &db, &org_create_args("Twice Co"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    let org: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let org = org["id"].as_str().unwrap().to_owned();
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/import-template.csv")).unwrap();
    let file = dir.path().join("pilots.csv");
    std::fs::write(&file, &template).unwrap();
    let file = file.to_str().unwrap();

    let first = cli(dir.path(), &db, &["import", file, "--org", &org]);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let progress = stderr_of(&first);
    assert!(
        progress.contains(&format!("[{}] 3 rows validated", "#".repeat(30))),
        "{progress}"
    );
    assert!(progress.contains("writing 3 rows"), "{progress}");
    assert!(
        progress.contains(&format!("[{}] 3 rows written", "#".repeat(30))),
        "{progress}"
    );

    let second = cli(dir.path(), &db, &["import", file, "--org", &org]);
    assert!(second.status.success(), "{}", stderr_of(&second));
    let said = stderr_of(&second);
    assert!(
        said.contains("already imported at") && said.contains("use --force to import it again"),
        "{said}"
    );
    assert!(second.stdout.is_empty(), "no summary: nothing imported");

    let changed = dir.path().join("pilots-v2.csv");
    std::fs::write(
        &changed,
        template.replace("Invoice triage agent", "Invoice triage agent v2"),
    )
    .unwrap();
    let out = cli(dir.path(), &db, &["import", changed.to_str().unwrap(), "--org", &org]);
    assert!(out.status.success(), "{}", stderr_of(&out));

    let forced = cli(dir.path(), &db, &["import", file, "--org", &org, "--force"]);
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    assert!(!forced.stdout.is_empty());

    let out = cli(dir.path(), &db, &["token", "mint", "--org", &org, "--role", "member"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let app = TestApp::spawn_with(test_settings(&db, dir.path()), dir).await;
    let pilots = json_of(app.get("/v1/pilots", &token).await).await;
    let mut names: Vec<&str> = pilots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Invoice triage agent",
            "Invoice triage agent",
            "Invoice triage agent v2"
        ],
        "first import, changed file, forced re-import; the plain re-run wrote nothing"
    );
}

#[test]
fn demo_seed_refuses_a_database_that_already_has_demo_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    let seed = ["demo", "seed", "--orgs", "1", "--pilots-per-org", "2"];
    let out = cli(dir.path(), &db, &seed);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let again = cli(dir.path(), &db, &seed);
    assert!(!again.status.success());
    let said = stderr_of(&again);
    assert!(
        said.contains("already holds demo data") && said.contains("fresh database"),
        "{said}"
    );
}

#[test]
fn help_lists_every_setting_with_its_default() {
    for args in [vec!["--help"], vec!["serve", "--help"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_pilotledger"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = String::from_utf8(out.stdout).unwrap();
        for s in pilotledger::config::SETTINGS {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{} ", s.name)))
                .unwrap_or_else(|| panic!("{args:?} help lacks {}:\n{help}", s.name));
            assert!(line.contains(&format!("[{}]", s.default.replace('`', ""))), "{line}");
        }
    }
}

/// `migrate --dry-run` lists what would run and changes nothing; a database
/// migrated by a newer build (a migration this one does not know) is refused
/// by `migrate`, by the dry run and by the server's start, with a message
/// that says so.
#[actix_web::test]
async fn dry_runs_list_pending_migrations_and_a_newer_database_is_refused() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let _lease = DbLease::of(&db);
    let backend = if db.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let mut ours: Vec<String> = std::fs::read_dir(format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ours.sort();

    // Nothing applied yet on PostgreSQL; on SQLite the dry run's connection
    // creates the file, still with nothing applied.
    let out = cli(dir.path(), &db, &["migrate", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.trim().to_owned())
        .collect();
    assert_eq!(listed, ours, "every migration, oldest first");
    // A dry run changes nothing: the same list again.
    let again = cli(dir.path(), &db, &["migrate", "--dry-run"]);
    assert_eq!(again.stdout, out.stdout);

    let out = cli(dir.path(), &db, &["migrate"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = cli(dir.path(), &db, &["migrate", "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no pending migrations"));

    // A newer build's migration appears in the database.
    let pool = pilotledger::db::build_pool(&db, 1, std::time::Duration::from_secs(5)).unwrap();
    pool.get()
        .unwrap()
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')")
        .unwrap();
    drop(pool);
    for args in [&["migrate"][..], &["migrate", "--dry-run"][..]] {
        let out = cli(dir.path(), &db, args);
        assert!(!out.status.success(), "{args:?} accepted a newer database");
        let err = stderr_of(&out);
        assert!(
            err.contains("migrated by a newer pilotledger") && err.contains("29991231000000"),
            "{args:?}: {err}"
        );
    }
    let settings = test_settings(&db, dir.path());
    let refused = pilotledger::startup::Application::build(settings).await;
    let err = refused
        .err()
        .expect("the server started on a newer database")
        .to_string();
    assert!(err.contains("migrated by a newer pilotledger"), "{err}");
}

/// A backup taken while eight clients write holds every entry acknowledged
/// before it began, restores into an empty folder and passes `check`; a
/// running total planted wrong in a copy is found. (SQLite: PostgreSQL is
/// backed up with pg_dump; `check` runs on both.)
#[actix_web::test]
async fn a_backup_under_writes_restores_and_checks_and_check_finds_a_planted_error() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Backup Co").await;
    let pilot = app.create_pilot(&t.member, "backed up").await;
    let path = format!("/v1/pilots/{pilot}/spend");
    let dir = app.dir.path().to_path_buf();
    let db = app.database_url.clone();

    if backend() == "sqlite" {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(std::time::Instant, String)>::new()));
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (app_base, token, path, stop, acked) = (
                    app.base.clone(),
                    t.member.clone(),
                    path.clone(),
                    stop.clone(),
                    acked.clone(),
                );
                actix_web::rt::spawn(async move {
                    let client = reqwest::Client::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let res = client
                            .post(format!("{app_base}{path}"))
                            .bearer_auth(&token)
                            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                            .json(&spend_body("1.00", "USD"))
                            .send()
                            .await
                            .unwrap();
                        if res.status() == 201 {
                            let id = json_of(res).await["id"].as_str().unwrap().to_owned();
                            acked.lock().unwrap().push((std::time::Instant::now(), id));
                        }
                    }
                })
            })
            .collect();
        actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
        let began = std::time::Instant::now();
        let copy = dir.join("backup.db");
        let out = {
            let (dir, db, copy) = (dir.clone(), db.clone(), copy.clone());
            actix_web::rt::task::spawn_blocking(move || cli(&dir, &db, &["backup", copy.to_str().unwrap()]))
                .await
                .unwrap()
        };
        assert!(out.status.success(), "{}", stderr_of(&out));
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
        let before: Vec<String> = acked
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, _)| *at < began)
            .map(|(_, id)| id.clone())
            .collect();
        assert!(before.len() >= 8, "too few writes before the backup: {}", before.len());

        // Restore into an empty folder, then check.
        let fresh = tempfile::tempdir().unwrap();
        let restored_db = format!("sqlite://{}", fresh.path().join("data/pilotledger.db").display());
        let out = cli(fresh.path(), &restored_db, &["restore", copy.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("ok: "),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let pool = pilotledger::db::build_pool(&restored_db, 1, std::time::Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();
        let org = pilotledger::domain::ids::OrgId::parse(&t.org).unwrap();
        let in_backup: std::collections::BTreeSet<String> = pilotledger::db::entries::all_for_org(&mut conn, org, None)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let missing: Vec<&String> = before.iter().filter(|id| !in_backup.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "{} entries acknowledged before the backup are not in it",
            missing.len()
        );
        // A restore never overwrites a database.
        let out = cli(fresh.path(), &restored_db, &["restore", copy.to_str().unwrap()]);
        assert!(!out.status.success());
    } else {
        for _ in 0..5 {
            assert_eq!(
                app.post_idem(&path, &t.member, &spend_body("1.00", "USD"))
                    .await
                    .status(),
                201
            );
        }
    }

    // check on the live database, then with one running total planted wrong.
    let out = cli(&dir, &db, &["check"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    use diesel::connection::SimpleConnection;
    let pool = pilotledger::db::build_pool(&db, 1, std::time::Duration::from_secs(5)).unwrap();
    pool.get()
        .unwrap()
        .batch_execute(&format!(
            "UPDATE pilot_totals SET total_minor = total_minor + 1 WHERE pilot_id = '{pilot}' AND entry_type = 'spend'"
        ))
        .unwrap();
    let out = cli(&dir, &db, &["check"]);
    assert!(!out.status.success(), "check missed the planted total");
    let err = stderr_of(&out);
    assert!(err.contains(&pilot) && err.contains("running spend total"), "{err}");
}
