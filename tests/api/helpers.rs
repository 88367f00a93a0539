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
/// its URL.
pub fn fresh_postgres_url() -> String {
    use diesel::{Connection, RunQueryDsl};
    let base = std::env::var("TEST_DATABASE_URL")
        .expect("PILOTLEDGER_TEST_BACKEND=postgres needs TEST_DATABASE_URL (a postgres:// URL)");
    let name = format!("pl_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&base).expect("connect to TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

#[allow(dead_code)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub keys: Arc<JwtKeys>,
    pub operator: String,
    pub database_url: String,
    pub dir: tempfile::TempDir,
}

/// Settings for a test server over `database_url` with the test secret.
pub fn test_settings(database_url: &str, dir: &std::path::Path) -> Settings {
    Settings {
        database_url: database_url.to_owned(),
        addr: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        jwt_secret: Some(SecretString::new(SECRET.into())),
        jwt_public_key: None,
        jwt_issuer: "pilotledger".into(),
        jwt_audience: "pilotledger".into(),
        pool_size: None,
        max_body_bytes: 64 * 1024,
        max_import_bytes: 4 * 1024 * 1024,
        request_timeout: std::time::Duration::from_secs(30),
        db_acquire_timeout: std::time::Duration::from_millis(1500),
        log_format: LogFormat::Pretty,
        disclosure_min_organisations: 5,
        disclosure_p_percent: 10,
        disclosure_min_each_side: 3,
        research_queries_per_minute: 600,
        requests_per_minute_per_token: 60_000,
        body_read_timeout: std::time::Duration::from_secs(30),
        max_token_ttl_days: 365,
        metrics_public: false,
        max_imports: 2,
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
