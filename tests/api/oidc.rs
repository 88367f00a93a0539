//! Sign-in through a real OpenID provider: `tests/oidc/provider.mjs` runs the
//! `oidc-provider` package (Node) on a free port, and the server discovers
//! it, fetches its keys and verifies the access tokens it issues
//! (client_credentials grant, one client per "person"). Covers discovery,
//! every accepted algorithm, key rotation without restart, unknown keys, a
//! stopped or slow provider, the forged-token table, claim mapping and the
//! identity-provider bindings route.
//!
//! Needs `node`; without it every test here says so and passes (CI has node).
//! `tests/oidc/node_modules` is installed with `npm ci` when missing.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pilotledger::config::{LocalTokens, OidcSettings};
use pilotledger::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A running provider; killed when dropped.
pub struct Provider {
    child: Option<Child>,
    pub issuer: String,
    client: reqwest::Client,
}

fn oidc_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether node is installed; says so when it is not.
fn node_available() -> bool {
    let found = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("SKIPPED: `node` is not installed; the OIDC tests need it to run oidc-provider");
    }
    found
}

fn ensure_node_modules() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !oidc_dir().join("node_modules/oidc-provider").exists() {
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(oidc_dir())
                .status()
                .expect("run npm ci in tests/oidc");
            assert!(status.success(), "npm ci in tests/oidc failed");
        }
    });
}

/// Clients `rs`, `ps`, `es`, `ed` (one per algorithm) and `person` (whose
/// claims each test sets).
fn standard_clients() -> Value {
    let client = |id: &str, alg: &str| {
        json!({"client_id": id, "client_secret": format!("{id}-secret"), "alg": alg,
               "claims": {"groups": ["pl-finance"], "tid": "tenant-a", "email": format!("{id}@example.com")}})
    };
    json!([client("rs", "RS256"), client("ps", "PS256"), client("es", "ES256"), client("ed", "EdDSA"),
           client("person", "RS256"),
           {"client_id": "ops", "client_secret": "ops-secret", "alg": "ES256", "claims": {"groups": ["pl-ops"]}}])
}

impl Provider {
    /// Starts the provider, or `None` when node is missing.
    pub fn start(config: Value) -> Option<Provider> {
        if !node_available() {
            return None;
        }
        ensure_node_modules();
        // A provider that does not say it is ready within the limit is
        // killed and started once more, so a stuck node process fails the
        // test instead of hanging the run.
        let (child, line) = (0..2)
            .find_map(|_| {
                let mut child = Command::new("node")
                    .arg(oidc_dir().join("provider.mjs"))
                    .arg(config.to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start node tests/oidc/provider.mjs");
                let stdout = child.stdout.take().unwrap();
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let mut line = String::new();
                    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
                    let _ = tx.send(line);
                });
                match rx.recv_timeout(Duration::from_secs(30)) {
                    Ok(line) if !line.is_empty() => Some((child, line)),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        None
                    }
                }
            })
            .expect("the provider said it was ready within 30 s (twice)");
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("provider said {line:?}"));
        Some(Provider {
            child: Some(child),
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            client: reqwest::Client::new(),
        })
    }

    /// An access token the provider issues to `client` (client_credentials).
    pub async fn token(&self, client: &str) -> String {
        let res = self
            .client
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(format!("{client}-secret")))
            .form(&[("grant_type", "client_credentials"), ("scope", "api")])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token for {client}: {body}"))
            .to_owned()
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let res = self
            .client
            .request(method, format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    /// Sets what `client`'s next tokens carry.
    pub async fn set_claims(&self, client: &str, claims: Value) {
        self.admin(
            Method::POST,
            "/admin/claims",
            json!({"client_id": client, "claims": claims}),
        )
        .await;
    }

    /// A token outside the provider's issuance (`forge` in provider.mjs).
    pub async fn forge(&self, kind: &str, claims: Value) -> String {
        let body = self
            .admin(Method::POST, "/admin/sign", json!({"forge": kind, "claims": claims}))
            .await;
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn rotate(&self) -> Vec<String> {
        let body = self.admin(Method::POST, "/admin/rotate", json!({})).await;
        serde_json::from_value(body["kids"].clone()).unwrap()
    }

    pub async fn jwks_fetches(&self) -> u64 {
        self.admin(Method::GET, "/admin/stats", json!({})).await["jwks_fetches"]
            .as_u64()
            .unwrap()
    }

    pub async fn jwks_behaviour(&self, cache_control: &str, delay_ms: u64) {
        self.admin(
            Method::POST,
            "/admin/jwks",
            json!({"cache_control": cache_control, "delay_ms": delay_ms}),
        )
        .await;
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn oidc_settings(issuer: &str, local_tokens: LocalTokens) -> OidcSettings {
    OidcSettings {
        issuer: Some(issuer.to_owned()),
        jwks_url: None,
        client_id: Some("dashboard".into()),
        scopes: "openid profile email api".into(),
        roles_claim: "groups".into(),
        role_map: [
            ("pl-admins", "admin"),
            ("pl-finance", "finance"),
            ("pl-members", "member"),
            ("pl-research", "researcher"),
            ("pl-ops", "operator"),
        ]
        .iter()
        .map(|(v, r)| (v.to_string(), r.to_string()))
        .collect(),
        org_claim: Some("pl_org".into()),
        local_tokens,
        refresh_min: Duration::from_secs(1),
    }
}

/// A server verifying `provider`'s tokens (and locally minted operator tokens).
async fn spawn_oidc(provider: &Provider, local: LocalTokens) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    settings.oidc = Some(oidc_settings(&provider.issuer, local));
    TestApp::spawn_with(settings, dir).await
}

/// Binds `tid = tenant` to `org` (as the local operator); asserts 200.
async fn bind(app: &TestApp, org: &str, bindings: Value) -> Value {
    let res = app
        .request(
            Method::PUT,
            &format!("/v1/orgs/{org}/idp-bindings"),
            Some(&app.operator),
            Some(&json!({ "bindings": bindings })),
        )
        .await;
    let status = res.status();
    let body = json_of(res).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn whoami(app: &TestApp, token: &str) -> (u16, Value) {
    let res = app.get("/v1/auth/whoami", token).await;
    let status = res.status().as_u16();
    (status, json_of(res).await)
}

#[actix_web::test]
async fn discovery_and_tokens_of_every_algorithm() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients(), "public_clients": [
        {"client_id": "dashboard", "redirect_uris": ["http://127.0.0.1:9/"]}]}))
    else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let org = app.create_org("Acme").await;
    bind(&app, &org, json!([{"claim": "tid", "value": "tenant-a"}])).await;

    // The dashboard's settings are the provider's own discovery document's.
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", provider.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app.request(Method::GET, "/v1/auth/config", None, None).await;
    assert_eq!(res.status(), 200);
    let config = json_of(res).await["oidc"].clone();
    assert_eq!(config["issuer"], provider.issuer);
    assert_eq!(config["client_id"], "dashboard");
    for field in ["authorization_endpoint", "token_endpoint", "end_session_endpoint"] {
        assert_eq!(config[field], discovery[field], "{field}");
    }
    // The page may talk to the token endpoint's origin, and only that.
    let res = app.request(Method::GET, "/", None, None).await;
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let token_origin = discovery["token_endpoint"].as_str().unwrap().trim_end_matches("/token");
    assert!(csp.contains(&format!("connect-src 'self' {token_origin};")), "{csp}");

    for (client, alg) in [("rs", "RS256"), ("ps", "PS256"), ("es", "ES256"), ("ed", "EdDSA")] {
        let token = provider.token(client).await;
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').next().unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], alg, "the provider signed {client}'s token with {alg}");
        let (status, me) = whoami(&app, &token).await;
        assert_eq!(status, 200, "{alg}: {me}");
        assert_eq!(me["role"], "finance", "{alg}");
        assert_eq!(me["org"], org.as_str(), "{alg}");
        assert_eq!(me["sub"], client);
        assert_eq!(me["email"], format!("{client}@example.com"));
        let res = app.get("/v1/summary", &token).await;
        assert_eq!(res.status(), 200, "{alg}: the finance view answers");
    }
}

#[actix_web::test]
async fn rotation_is_picked_up_without_restart_and_unknown_keys_are_refused() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let org = app.create_org("Acme").await;
    bind(&app, &org, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    let before = provider.token("rs").await;
    assert_eq!(whoami(&app, &before).await.0, 200);
    let fetched = provider.jwks_fetches().await;

    let kids = provider.rotate().await;
    assert!(kids.iter().all(|k| k.ends_with("-2")), "{kids:?}");
    let after = provider.token("rs").await;
    // Past the least refresh interval (1 s here) the unknown kid fetches the
    // set once; many requests at once still make one fetch.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answers = futures_util::future::join_all((0..8).map(|_| whoami(&app, &after))).await;
    // A request waits at most 700 ms for that fetch: on a busy machine the
    // fetch can take longer, and such a request is refused as an unknown key
    // while it finishes. Once it has, the new kid is known without a restart
    // (and without a second fetch).
    for (status, body) in &answers {
        let waited_out = *status == 401
            && body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not one the identity provider publishes"));
        assert!(*status == 200 || waited_out, "the rotated key is picked up: {body}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while whoami(&app, &after).await.0 != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(whoami(&app, &after).await.0, 200, "the rotated key is picked up");
    assert_eq!(provider.jwks_fetches().await, fetched + 1, "one fetch for the new kid");
    // The provider dropped the old keys, so the old token is refused now.
    let res = app.get("/v1/auth/whoami", &before).await;
    let body = assert_problem(res, 401, "unauthorized").await;
    assert!(body["detail"].as_str().unwrap().contains("signing key"), "{body}");

    // A key the provider never published: refused, and refetching is
    // limited to once per interval however many such tokens arrive.
    let mut forged = Vec::new();
    for _ in 0..5 {
        forged.push(provider.forge("unknown_key", json!({"groups": ["pl-finance"]})).await);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fetched = provider.jwks_fetches().await;
    let answers = futures_util::future::join_all(forged.iter().map(|t| app.get("/v1/auth/whoami", t))).await;
    for res in answers {
        assert_problem(res, 401, "unauthorized").await;
    }
    // ... and one after another within the interval: no fetch at all, no wait.
    for token in &forged {
        let started = Instant::now();
        let res = app.get("/v1/auth/whoami", token).await;
        assert_problem(res, 401, "unauthorized").await;
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(
        provider.jwks_fetches().await <= fetched + 1,
        "unknown kids fetch at most once per interval"
    );
}

#[actix_web::test]
async fn a_stopped_or_slow_provider_leaves_cached_keys_working_and_answers_fast() {
    let Some(mut provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let org = app.create_org("Acme").await;
    bind(&app, &org, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    let token = provider.token("rs").await;
    let unknown = provider.forge("unknown_key", json!({"groups": ["pl-finance"]})).await;

    // Slow key set: an unknown kid waits for the fetch only briefly.
    provider.jwks_behaviour("max-age=1", 5000).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = Instant::now();
    let res = app.get("/v1/auth/whoami", &unknown).await;
    assert_problem(res, 401, "unauthorized").await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(whoami(&app, &token).await.0, 200, "cached key while a fetch hangs");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());

    provider.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        let started = Instant::now();
        let (status, me) = whoami(&app, &token).await;
        assert_eq!(status, 200, "cached keys keep working: {me}");
        assert_eq!(me["org"], org.as_str());
        let res = app.get("/v1/summary", &token).await;
        assert_eq!(res.status(), 200);
        let res = app.get("/v1/auth/whoami", &unknown).await;
        assert_problem(res, 401, "unauthorized").await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered in {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
}

#[actix_web::test]
async fn forged_tokens_are_refused() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let org = app.create_org("Acme").await;
    bind(&app, &org, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    let now = chrono::Utc::now().timestamp();
    let good = json!({"groups": ["pl-finance"], "tid": "tenant-a"});
    // The same claims signed properly are accepted: each refusal below is
    // down to what was forged.
    let genuine = provider.forge("valid", good.clone()).await;
    assert_eq!(whoami(&app, &genuine).await.0, 200);

    let with = |extra: Value| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        c
    };
    let cases = [
        ("alg none", provider.forge("none", good.clone()).await),
        (
            "HS256 with the public key (PEM)",
            provider.forge("hs256_public_pem", good.clone()).await,
        ),
        (
            "HS256 with the public key (JWK)",
            provider.forge("hs256_public_jwk", good.clone()).await,
        ),
        (
            "expired",
            provider
                .forge("valid", with(json!({"iat": now - 7200, "exp": now - 3600})))
                .await,
        ),
        (
            "not yet valid",
            provider.forge("valid", with(json!({"nbf": now + 3600}))).await,
        ),
        (
            "wrong issuer",
            provider
                .forge("valid", with(json!({"iss": "https://evil.example.com"})))
                .await,
        ),
        (
            "wrong audience",
            provider.forge("valid", with(json!({"aud": "someone-else"}))).await,
        ),
        ("crit header", provider.forge("crit", good.clone()).await),
        ("unknown key", provider.forge("unknown_key", good.clone()).await),
        (
            "a published kid, another key",
            provider.forge("known_kid_other_key", good.clone()).await,
        ),
        (
            "lifetime beyond the maximum",
            provider.forge("valid", with(json!({"exp": now + 400 * 86_400}))).await,
        ),
        ("no sub", provider.forge("valid", with(json!({"sub": null}))).await),
        (
            "HS256 minted here, not an operator",
            mint(&app.keys, Some(&org), pilotledger::auth::Role::Admin),
        ),
    ];
    for (case, token) in &cases {
        let res = app.get("/v1/summary", token).await;
        assert_eq!(res.status(), 401, "{case}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{case}"
        );
        assert_problem(res, 401, "unauthorized").await;
    }
    // Locally minted operator tokens work because this server enables them.
    assert_eq!(app.get("/v1/orgs", &app.operator).await.status(), 200);

    // With local tokens off, even the operator's HS256 token is refused.
    let strict = spawn_oidc(&provider, LocalTokens::Off).await;
    let res = strict.get("/v1/orgs", &strict.operator).await;
    let body = assert_problem(res, 401, "unauthorized").await;
    assert!(body["detail"].as_str().unwrap().contains("HS256"), "{body}");
    // ... and the provider's operator group is the way in.
    let ops = provider.token("ops").await;
    assert_eq!(strict.get("/v1/orgs", &ops).await.status(), 200);
}

#[actix_web::test]
async fn claims_map_to_roles_and_exactly_one_organisation() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    bind(&app, &a, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    bind(
        &app,
        &b,
        json!([{"claim": "tid", "value": "tenant-b"}, {"claim": "groups", "value": "globex-staff"}]),
    )
    .await;

    struct Case {
        name: &'static str,
        claims: Value,
        role: Option<&'static str>,
        org: Option<String>,
        detail: &'static str,
    }
    let ok = |name, claims, role, org: Option<&String>| Case {
        name,
        claims,
        role: Some(role),
        org: org.cloned(),
        detail: "",
    };
    let refused = |name, claims, detail| Case {
        name,
        claims,
        role: None,
        org: None,
        detail,
    };
    let cases = [
        ok(
            "finance by org claim",
            json!({"groups": ["pl-finance"], "pl_org": a}),
            "finance",
            Some(&a),
        ),
        ok(
            "member by tenant binding",
            json!({"groups": ["pl-members"], "tid": "tenant-b"}),
            "member",
            Some(&b),
        ),
        ok(
            "admin by group binding",
            json!({"groups": ["pl-admins", "globex-staff"]}),
            "admin",
            Some(&b),
        ),
        ok(
            "first listed role wins",
            json!({"groups": ["pl-members", "pl-admins"], "pl_org": a}),
            "admin",
            Some(&a),
        ),
        ok(
            "claim and binding agree",
            json!({"groups": ["pl-finance"], "pl_org": a, "tid": "tenant-a"}),
            "finance",
            Some(&a),
        ),
        ok(
            "a single group as a string",
            json!({"groups": "pl-finance", "tid": "tenant-a"}),
            "finance",
            Some(&a),
        ),
        ok(
            "researcher has no organisation",
            json!({"groups": ["pl-research"], "tid": "tenant-a"}),
            "researcher",
            None,
        ),
        ok("operator by group", json!({"groups": ["pl-ops"]}), "operator", None),
        refused(
            "groups mapping to no role",
            json!({"groups": ["everyone"], "pl_org": a}),
            "PILOTLEDGER_OIDC_ROLE_MAP",
        ),
        refused("no groups claim", json!({"pl_org": a}), "PILOTLEDGER_OIDC_ROLE_MAP"),
        refused(
            "no organisation",
            json!({"groups": ["pl-finance"], "tid": "tenant-z"}),
            "names no organisation",
        ),
        refused(
            "org claim not a UUID",
            json!({"groups": ["pl-finance"], "pl_org": "acme"}),
            "UUID",
        ),
        refused(
            "claim and binding disagree",
            json!({"groups": ["pl-finance"], "pl_org": a, "tid": "tenant-b"}),
            "2 organisations",
        ),
        refused(
            "two bindings, two organisations",
            json!({"groups": ["pl-finance", "globex-staff"], "tid": "tenant-a"}),
            "2 organisations",
        ),
    ];
    for case in &cases {
        provider.set_claims("person", case.claims.clone()).await;
        let token = provider.token("person").await;
        let (status, body) = whoami(&app, &token).await;
        match case.role {
            Some(role) => {
                assert_eq!(status, 200, "{}: {body}", case.name);
                assert_eq!(body["role"], role, "{}", case.name);
                assert_eq!(body["org"].as_str(), case.org.as_deref(), "{}", case.name);
            }
            None => {
                assert_eq!(status, 403, "{}: {body}", case.name);
                assert_eq!(body["code"], "forbidden", "{}", case.name);
                let detail = body["detail"].as_str().unwrap();
                assert!(detail.contains(case.detail), "{}: {detail}", case.name);
                if case.detail == "2 organisations" {
                    assert!(detail.contains(&a) && detail.contains(&b), "names both: {detail}");
                }
            }
        }
    }
    // A mapped person is confined to their organisation like any token.
    provider
        .set_claims("person", json!({"groups": ["pl-finance"], "tid": "tenant-b"}))
        .await;
    let globex = provider.token("person").await;
    let res = app.get(&format!("/v1/orgs/{a}"), &globex).await;
    assert_problem(res, 404, "org_not_found").await;
}

#[actix_web::test]
async fn the_audit_log_names_the_person_and_bindings_take_effect_at_once() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    bind(&app, &a, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    provider
        .set_claims(
            "person",
            json!({"groups": ["pl-admins"], "tid": "tenant-a", "email": "ana@example.com"}),
        )
        .await;
    let admin = provider.token("person").await;
    let res = app.post("/v1/pilots", &admin, &pilot_body("Invoices")).await;
    assert_eq!(res.status(), 201);
    let res = app.get("/v1/audit", &admin).await;
    assert_eq!(res.status(), 200);
    let audit = json_of(res).await;
    let created = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"].as_str().unwrap_or("").starts_with("pilot"))
        .unwrap_or_else(|| panic!("no pilot event: {audit}"))
        .clone();
    assert_eq!(created["actor"], "person <ana@example.com>");
    assert_eq!(created["actor_role"], "admin");
    // Without an email the actor is the subject alone.
    provider
        .set_claims("person", json!({"groups": ["pl-admins"], "tid": "tenant-a"}))
        .await;
    let plain = provider.token("person").await;
    let res = app.post("/v1/pilots", &plain, &pilot_body("Payables")).await;
    assert_eq!(res.status(), 201);
    let audit = json_of(app.get("/v1/audit", &plain).await).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "person"),
        "{audit}"
    );

    // Moving the tenant to another organisation moves the person at once.
    bind(&app, &a, json!([])).await;
    let body = bind(&app, &b, json!([{"claim": "tid", "value": "tenant-a"}])).await;
    assert_eq!(body["org_id"], b.as_str());
    assert_eq!(body["bindings"][0]["claim"], "tid");
    assert_eq!(body["bindings"][0]["value"], "tenant-a");
    let (status, me) = whoami(&app, &plain).await;
    assert_eq!(status, 200);
    assert_eq!(me["org"], b.as_str());
    // The operator's change is in Globex's audit log.
    provider
        .set_claims("person", json!({"groups": ["pl-admins"], "tid": "tenant-a"}))
        .await;
    let audit = json_of(app.get("/v1/audit", &plain).await).await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "idp_bindings.replace"),
        "{audit}"
    );
}

#[actix_web::test]
async fn binding_input_is_checked_and_one_value_names_one_organisation() {
    let app = TestApp::spawn().await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    let put = |org: String, token: String, body: Value| {
        let app = &app;
        async move {
            app.request(
                Method::PUT,
                &format!("/v1/orgs/{org}/idp-bindings"),
                Some(&token),
                Some(&body),
            )
            .await
        }
    };
    let op = app.operator.clone();
    let ok = json!({"bindings": [{"claim": "tid", "value": "t-1"}]});
    let res = put(a.clone(), op.clone(), ok.clone()).await;
    assert_eq!(res.status(), 200);
    let cases = [
        (json!({"bindings": [{"claim": "", "value": "x"}]}), "bindings[0].claim"),
        (
            json!({"bindings": [{"claim": "a b", "value": "x"}]}),
            "bindings[0].claim",
        ),
        (
            json!({"bindings": [{"claim": "tid", "value": ""}]}),
            "bindings[0].value",
        ),
        (
            json!({"bindings": [{"claim": "tid", "value": "a\nb"}]}),
            "bindings[0].value",
        ),
        (
            json!({"bindings": [{"claim": "realm..roles", "value": "x"}]}),
            "bindings[0].claim",
        ),
        (
            json!({"bindings": [{"claim": "tid", "value": "x"}, {"claim": "tid", "value": "x"}]}),
            "bindings[1]",
        ),
    ];
    for (body, field) in cases {
        let res = put(b.clone(), op.clone(), body.clone()).await;
        let problem = assert_problem(res, 422, "invalid_field").await;
        assert_eq!(problem["field"], field, "{body}");
    }
    let res = put(b.clone(), op.clone(), json!({"bindings": [{"claim": "tid"}]})).await;
    assert_eq!(res.status(), 422);
    let res = put(b.clone(), op.clone(), json!({"bindings": [], "extra": 1})).await;
    assert_problem(res, 422, "unknown_field").await;
    // Another organisation's value: a conflict naming it; nothing written.
    let res = put(
        b.clone(),
        op.clone(),
        json!({"bindings": [{"claim": "groups", "value": "g"}, {"claim": "tid", "value": "t-1"}]}),
    )
    .await;
    let problem = assert_problem(res, 409, "conflict").await;
    assert_eq!(problem["field"], "bindings[1]");
    assert!(problem["detail"].as_str().unwrap().contains(&a), "{problem}");
    // Only the operator; a missing organisation is a 404.
    let t = app.tenant("Initech").await;
    let res = put(t.org.clone(), t.admin.clone(), ok.clone()).await;
    assert_problem(res, 403, "forbidden").await;
    let res = put(uuid::Uuid::now_v7().to_string(), op.clone(), ok.clone()).await;
    assert_problem(res, 404, "org_not_found").await;
    let res = put("not-a-uuid".into(), op.clone(), ok.clone()).await;
    assert_problem(res, 400, "invalid_id").await;
    // Without OIDC the sign-in settings say so; neither route takes parameters.
    let res = app.request(Method::GET, "/v1/auth/config", None, None).await;
    assert_eq!(json_of(res).await, json!({"oidc": null}));
    let res = app.request(Method::GET, "/v1/auth/config?x=1", None, None).await;
    assert_problem(res, 400, "invalid_query").await;
    let res = app.get("/v1/auth/whoami?x=1", &op).await;
    assert_problem(res, 400, "invalid_query").await;
    let me = json_of(app.get("/v1/auth/whoami", &t.finance).await).await;
    assert_eq!(
        me,
        json!({"sub": "test-user", "email": null, "role": "finance", "org": t.org})
    );
}

#[actix_web::test]
async fn a_misconfigured_issuer_stops_the_start_with_a_clear_message() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let build = |issuer: String| async move {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
        settings.oidc = Some(oidc_settings(&issuer, LocalTokens::Off));
        let _lease = DbLease::of(&settings.database_url);
        match Application::build(settings).await {
            Ok(_) => panic!("{issuer} should not start"),
            Err(e) => format!("{e:#}"),
        }
    };
    // The provider calls itself 127.0.0.1, not localhost.
    let wrong = provider.issuer.replace("127.0.0.1", "localhost");
    let message = build(wrong.clone()).await;
    assert!(
        message.contains("PILOTLEDGER_OIDC_ISSUER") && message.contains(&provider.issuer) && message.contains(&wrong),
        "{message}"
    );
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let message = build(nobody.clone()).await;
    assert!(
        message.contains("PILOTLEDGER_OIDC_ISSUER") && message.contains("cannot fetch") && message.contains(&nobody),
        "{message}"
    );
    let message = build(format!("{}/no-such-realm", provider.issuer)).await;
    assert!(message.contains("HTTP status 404"), "{message}");
}

#[actix_web::test]
async fn a_key_set_url_without_discovery_verifies_too() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    let mut oidc = oidc_settings(&provider.issuer, LocalTokens::Operator);
    oidc.issuer = None;
    oidc.jwks_url = Some(format!("{}/jwks", provider.issuer));
    settings.oidc = Some(oidc);
    // Without discovery the expected `iss` is PILOTLEDGER_JWT_ISSUER.
    settings.jwt_issuer = provider.issuer.clone();
    let app = TestApp::spawn_with(settings, dir).await;
    let token = provider.token("ops").await;
    let (status, me) = whoami(&app, &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "operator");
    // No discovery, so no dashboard sign-in button.
    let res = app.request(Method::GET, "/v1/auth/config", None, None).await;
    assert_eq!(json_of(res).await, json!({"oidc": null}));
}

#[actix_web::test]
async fn keys_are_cached_for_the_key_sets_max_age() {
    let Some(provider) = Provider::start(json!({"clients": standard_clients()})) else {
        return;
    };
    let app = spawn_oidc(&provider, LocalTokens::Operator).await;
    let token = provider.token("ops").await;
    let unknown = provider.forge("unknown_key", json!({"groups": ["pl-ops"]})).await;
    // Fetched at start with max-age=300: past the least interval, a known
    // kid fetches nothing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fetched = provider.jwks_fetches().await;
    assert_eq!(whoami(&app, &token).await.0, 200);
    assert_eq!(provider.jwks_fetches().await, fetched, "fresh for 300 s");

    // The set now says max-age=1; an unknown kid brings that answer in.
    provider.jwks_behaviour("public, max-age=1", 0).await;
    assert_eq!(whoami(&app, &unknown).await.0, 401);
    assert_eq!(provider.jwks_fetches().await, fetched + 1);
    // Stale after a second: the next request is answered from the cache at
    // once and refreshes the set behind it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let started = Instant::now();
    assert_eq!(whoami(&app, &token).await.0, 200);
    assert!(started.elapsed() < Duration::from_millis(500));
    let deadline = Instant::now() + Duration::from_secs(3);
    while provider.jwks_fetches().await < fetched + 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        provider.jwks_fetches().await,
        fetched + 2,
        "a stale set is fetched again"
    );
}
