//! `TestApp`: the real application on port 0 over a fresh database, plus
//! helpers that sign tokens and make requests.

use std::sync::Arc;

use pilotledger::auth::keys::Secret;
use pilotledger::auth::{JwtKeys, Role};
use pilotledger::config::{LogFormat, SecretString, Settings};
use pilotledger::startup::Application;
use reqwest::{Method, Response};
use serde_json::{json, Value};

pub const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";

/// Which backend this test run uses.
pub fn backend() -> &'static str {
    match std::env::var("PILOTLEDGER_TEST_BACKEND").as_deref() {
        Ok("postgres") => "postgres",
        _ => "sqlite",
    }
}

/// Creates a fresh PostgreSQL database next to `TEST_DATABASE_URL` and returns
/// its URL. It is dropped when the last [`DbLease`] on it goes (every
/// `TestApp` holds one, so a test that panics drops its database while
/// unwinding); databases of runs that died before that are swept by the
/// next run (see [`sweep_dead_test_databases`]).
///
/// Names are `pl_test_<pid>_<unix seconds>_<run>_<random>`: the creating
/// process, when, and `PILOTLEDGER_TEST_RUN` (set by `scripts/test`, which
/// counts what a run left behind).
pub fn fresh_postgres_url() -> String {
    use diesel::RunQueryDsl;
    static SWEEP: std::sync::Once = std::sync::Once::new();
    SWEEP.call_once(sweep_dead_test_databases);
    let name = format!(
        "pl_test_{}_{}_{}_{}",
        std::process::id(),
        unix_now(),
        test_run(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin_connection())
        .expect("create test database");
    leases().insert(name.clone(), 0);
    let base = test_database_url();
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .expect("PILOTLEDGER_TEST_BACKEND=postgres needs TEST_DATABASE_URL (a postgres:// URL)")
}

fn admin_connection() -> diesel::PgConnection {
    use diesel::Connection;
    diesel::PgConnection::establish(&test_database_url()).expect("connect to TEST_DATABASE_URL")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// This run's tag: `PILOTLEDGER_TEST_RUN`, letters and digits only, or `0`.
fn test_run() -> String {
    let tag: String = std::env::var("PILOTLEDGER_TEST_RUN")
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    if tag.is_empty() {
        "0".into()
    } else {
        tag.to_ascii_lowercase()
    }
}

/// Databases this process created, with how many leases each has.
fn leases() -> std::sync::MutexGuard<'static, std::collections::BTreeMap<String, usize>> {
    static LEASES: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
        std::sync::Mutex::new(std::collections::BTreeMap::new());
    LEASES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A hold on a test database this process created; when the last one is
/// dropped, so is the database. A no-op for SQLite (its file lives in the
/// test's temporary folder) and for databases created elsewhere.
pub struct DbLease(Option<String>);

impl DbLease {
    pub fn of(database_url: &str) -> Self {
        let name = database_url.rsplit('/').next().unwrap_or("").to_owned();
        let mut leases = leases();
        match leases.get_mut(&name) {
            Some(n) => {
                *n += 1;
                DbLease(Some(name))
            }
            None => DbLease(None),
        }
    }
}

impl Drop for DbLease {
    fn drop(&mut self) {
        let Some(name) = self.0.take() else { return };
        let last = {
            let mut leases = leases();
            let n = leases.entry(name.clone()).or_insert(1);
            *n -= 1;
            *n == 0 && leases.remove(&name).is_some()
        };
        if last {
            drop_database(&name);
        }
    }
}

/// Whether a database of this name exists on the `TEST_DATABASE_URL` server.
pub fn test_database_exists(name: &str) -> bool {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let found: Found = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{}'",
        name.replace('\'', "''")
    ))
    .get_result(&mut admin_connection())
    .expect("count databases");
    found.n > 0
}

/// Creates a database named as another (maybe dead) run would have, for
/// the sweep's tests.
pub fn create_database_named(name: &str) {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin_connection())
        .expect("create database");
}

/// Drops a test database, closing the connections still open on it.
pub fn drop_database(name: &str) {
    use diesel::RunQueryDsl;
    let dropped =
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin_connection());
    if let Err(e) = dropped {
        eprintln!("could not drop test database {name}: {e}");
    }
}

/// Drops test databases whose run is over: named by a process that is gone
/// (and made over two minutes ago), or made over six hours ago, whatever
/// their name (older runs named them `pl_test_<uuid>`). A live run's
/// databases are left alone.
pub fn sweep_dead_test_databases() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct TestDb {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        age_secs: Option<i64>,
    }
    let mut conn = admin_connection();
    // PG_VERSION is written when a database is created: its time is the
    // database's age (readable by superusers; NULL otherwise).
    let found: Vec<TestDb> = diesel::sql_query(
        "SELECT datname, (SELECT EXTRACT(EPOCH FROM now() - (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification))::bigint AS age_secs \
         FROM pg_database WHERE datname LIKE 'pl\\_test\\_%'",
    )
    .load(&mut conn)
    .unwrap_or_default();
    let now = unix_now();
    for db in found {
        let parts: Vec<&str> = db.datname.split('_').collect();
        let (pid, made) = match parts.as_slice() {
            ["pl", "test", pid, secs, _, _] => (pid.parse::<u32>().ok(), secs.parse::<u64>().ok()),
            _ => (None, None),
        };
        let age = made
            .map(|t| now.saturating_sub(t))
            .or(db.age_secs.map(|a| a.max(0) as u64));
        let gone = pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        let dead = match age {
            Some(age) => age > 6 * 3600 || (gone && age > 120),
            None => false,
        };
        if dead {
            drop_database(&db.datname);
        }
    }
}

#[allow(dead_code)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub keys: Arc<JwtKeys>,
    pub operator: String,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    /// Drops the test database with the last server over it (PostgreSQL).
    pub lease: DbLease,
}

/// Settings for a test server over `database_url` with the test secret.
pub fn test_settings(database_url: &str, dir: &std::path::Path) -> Settings {
    Settings {
        database_url: database_url.to_owned(),
        read_database_url: None,
        addr: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        jwt_secret: Some(SecretString::new(SECRET.into())),
        jwt_public_key: None,
        jwt_issuer: "pilotledger".into(),
        jwt_audience: "pilotledger".into(),
        pool_size: None,
        max_body_bytes: 64 * 1024,
        max_import_bytes: 4 * 1024 * 1024,
        max_focus_bytes: 64 * 1024 * 1024,
        max_focus_rows: 1_000_000,
        request_timeout: std::time::Duration::from_secs(30),
        db_acquire_timeout: std::time::Duration::from_millis(1500),
        log_format: LogFormat::Pretty,
        otlp: None,
        disclosure_min_organisations: 5,
        disclosure_p_percent: 10,
        disclosure_min_each_side: 3,
        research_queries_per_minute: 600,
        requests_per_minute_per_token: 60_000,
        body_read_timeout: std::time::Duration::from_secs(30),
        max_token_ttl_days: 365,
        metrics_public: false,
        max_imports: 2,
        oidc: None,
        alerts: Default::default(),
    }
}

pub fn fresh_database_url(dir: &std::path::Path) -> String {
    if backend() == "postgres" {
        fresh_postgres_url()
    } else {
        format!("sqlite://{}", dir.join("test.db").display())
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(dir.path());
        Self::spawn_with(test_settings(&database_url, dir.path()), dir).await
    }

    pub async fn spawn_with(settings: Settings, dir: tempfile::TempDir) -> TestApp {
        let database_url = settings.database_url.clone();
        let lease = DbLease::of(&database_url);
        let app = Application::build(settings).await.expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        let keys = Arc::new(test_keys());
        let operator = mint(&keys, None, Role::Operator);
        TestApp {
            base,
            // No idle connections are reused: the server closes keep-alive
            // connections after 5 s, and a slow test step must not race that.
            client: reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap(),
            keys,
            operator,
            database_url,
            dir,
            lease,
        }
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    /// POST with a fresh Idempotency-Key.
    pub async fn post_idem(&self, path: &str, token: &str, body: &Value) -> Response {
        self.post_key(path, token, body, &uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn post_key(&self, path: &str, token: &str, body: &Value, key: &str) -> Response {
        self.client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Revokes the issued token `token_id` as `admin` (`DELETE /v1/tokens/{id}`: 204).
    pub async fn revoke_token(&self, admin: &str, token_id: &str) {
        let res = self
            .request(Method::DELETE, &format!("/v1/tokens/{token_id}"), Some(admin), None)
            .await;
        assert_eq!(res.status(), 204, "revoke token");
    }

    /// Creates an organisation as operator; returns its id.
    pub async fn create_org(&self, name: &str) -> String {
        let res = self.post("/v1/orgs", &self.operator.clone(), &org_body(name)).await;
        assert_eq!(res.status(), 201, "create org");
        json_of(res).await["id"].as_str().unwrap().to_owned()
    }

    /// An organisation with admin, member and finance tokens.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let org = self.create_org(name).await;
        let admin = mint(&self.keys, Some(&org), Role::Admin);
        let member = mint(&self.keys, Some(&org), Role::Member);
        let finance = mint(&self.keys, Some(&org), Role::Finance);
        Tenant {
            org,
            admin,
            member,
            finance,
        }
    }

    pub async fn create_pilot(&self, token: &str, name: &str) -> String {
        self.create_pilot_with(token, &pilot_body(name)).await
    }

    pub async fn create_pilot_with(&self, token: &str, body: &Value) -> String {
        let res = self.post("/v1/pilots", token, body).await;
        assert_eq!(res.status(), 201, "create pilot");
        json_of(res).await["id"].as_str().unwrap().to_owned()
    }
}

pub struct Tenant {
    pub org: String,
    pub admin: String,
    pub member: String,
    pub finance: String,
}

/// Signs a token with the test secret (not recorded in the tokens table).
/// The keys every test server verifies with (HS256 over [`SECRET`]).
pub fn test_keys() -> JwtKeys {
    JwtKeys::hs256(Secret::new(SECRET.as_bytes().to_vec()), "pilotledger", "pilotledger").unwrap()
}

pub fn mint(keys: &JwtKeys, org: Option<&str>, role: Role) -> String {
    keys.mint("test-user", org, role, std::time::Duration::from_secs(3600))
        .unwrap()
        .0
}

pub async fn json_of(res: Response) -> Value {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

pub fn org_body(name: &str) -> Value {
    json!({"name": name, "industry": "industrials", "size_band": "1000_9999", "region": "DE", "reporting_currency": "EUR"})
}

pub fn pilot_body(name: &str) -> Value {
    json!({"name": name, "business_function": "finance_accounting", "sourcing": "bought",
           "ai_kind": "genai_agentic", "stage": "piloting", "started_on": "2026-01-15",
           "owner_team": "AP", "tags": ["invoices"], "external_ref": "FIN-123"})
}

/// The largest amount one entry may carry (18 nines of cents).
pub const MAX_USD_AMOUNT: &str = "9999999999999999.99";

/// Posts nine entries of the largest USD amount to `path` (8999999999999999991
/// cents); the caller adds the rest, e.g. `2233720368547758.16` for i64::MAX.
pub async fn post_nine_largest_usd(app: &TestApp, path: &str, token: &str) {
    for _ in 0..9 {
        let res = app.post_idem(path, token, &spend_body(MAX_USD_AMOUNT, "USD")).await;
        assert_eq!(res.status(), 201);
    }
}

pub fn spend_body(amount: &str, currency: &str) -> Value {
    json!({"category": "licences", "period_start": "2026-01-01", "period_end": "2026-01-31",
           "amount": amount, "currency": currency, "capex": false, "note": "seats"})
}

pub fn impact_body(amount: &str, currency: &str) -> Value {
    json!({"kind": "cost_reduction", "period_start": "2026-02-01", "period_end": "2026-02-28",
           "amount": amount, "currency": currency, "attribution_method": "controlled_experiment",
           "confidence": 0.8, "measured": true, "evidence": "A/B on 2 regions"})
}

/// PATCHes a pilot (`If-Match: *`), asserts 200 and returns the pilot.
pub async fn patch_pilot(app: &TestApp, token: &str, pilot: &str, body: Value) -> Value {
    let res = app
        .client
        .patch(format!("{}/v1/pilots/{pilot}", app.base))
        .bearer_auth(token)
        .header("If-Match", "*")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Asserts a problem+json answer with the given status and code; returns it.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status for expected {code}");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(ct, "application/problem+json", "content type for {code}");
    let body = json_of(res).await;
    assert_eq!(body["code"], code, "problem: {body}");
    assert_eq!(body["status"], status);
    body
}

/// A port nothing listens on right now (for servers a test starts itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
