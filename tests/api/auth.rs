//! Every way a bearer token can be wrong answers 401 with WWW-Authenticate; an
//! RS256 token from the configured public key is accepted.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(org: &str) -> Value {
    json!({"sub": "u", "org": org, "role": "admin", "iat": now(), "exp": now() + 600,
           "jti": uuid::Uuid::new_v4().to_string(), "iss": "pilotledger", "aud": "pilotledger"})
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// (private PKCS#8 PEM, public SPKI PEM), generated once per test binary.
fn rsa_pems() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let private: aws_lc_rs::encoding::Pkcs8V1Der = pair.as_der().unwrap();
        let public: aws_lc_rs::encoding::PublicKeyX509Der = pair.public_key().as_der().unwrap();
        (pem("PRIVATE KEY", private.as_ref()), pem("PUBLIC KEY", public.as_ref()))
    })
}

async fn assert_401(app: &TestApp, token: Option<&str>, case: &str) {
    let res = app.request(reqwest::Method::GET, "/v1/pilots", token, None).await;
    assert_eq!(res.status(), 401, "{case}");
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\"",
        "{case}"
    );
    let body = json_of(res).await;
    assert_eq!(body["code"], "unauthorized", "{case}");
}

#[actix_web::test]
async fn every_bad_token_is_401() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Auth").await;
    let good = claims(&t.org);
    // The baseline is accepted, so each case below fails for its own reason.
    assert_eq!(
        app.get("/v1/pilots", &hs256(&good, SECRET.as_bytes())).await.status(),
        200
    );

    assert_401(&app, None, "no token").await;
    assert_401(&app, Some("garbage"), "garbage").await;
    let res = app
        .client
        .get(format!("{}/v1/pilots", app.base))
        .header("Authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "wrong scheme");

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    assert_401(&app, Some(&none), "alg none").await;
    assert_401(
        &app,
        Some(&hs256(&good, b"another-secret-that-is-32-bytes-long!!")),
        "wrong secret",
    )
    .await;

    let token = hs256(&good, SECRET.as_bytes());
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = good.clone();
    forged["role"] = json!("operator");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert_401(&app, Some(&tampered), "tampered payload").await;

    let mut c = good.clone();
    c["exp"] = json!(now() - 120);
    assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), "expired beyond leeway").await;
    let mut c = good.clone();
    c["nbf"] = json!(now() + 120);
    assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), "nbf in the future").await;
    for (claim, wrong) in [("iss", "someone-else"), ("aud", "another-service")] {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(claim);
        assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), &format!("missing {claim}")).await;
        let mut c = good.clone();
        c[claim] = json!(wrong);
        assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), &format!("wrong {claim}")).await;
    }
    for claim in ["exp", "sub"] {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(claim);
        assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), &format!("missing {claim}")).await;
    }
}

#[actix_web::test]
async fn expired_within_leeway_is_still_accepted() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Leeway").await;
    let mut c = claims(&t.org);
    c["exp"] = json!(now() - 5);
    assert_eq!(app.get("/v1/pilots", &hs256(&c, SECRET.as_bytes())).await.status(), 200);
}

#[actix_web::test]
async fn a_revoked_token_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Revoke").await;
    let created = json_of(
        app.post("/v1/tokens", &t.admin, &json!({"role": "member", "label": "ci"}))
            .await,
    )
    .await;
    let token = created["token"].as_str().unwrap();
    assert_eq!(app.get("/v1/pilots", token).await.status(), 200);
    let listed = json_of(app.get("/v1/tokens", &t.admin).await).await;
    assert_eq!(listed["items"][0]["id"], created["id"]);
    assert_eq!(listed["items"][0]["revoked_at"], Value::Null);
    let id = created["id"].as_str().unwrap();
    app.revoke_token(&t.admin, id).await;
    assert_401(&app, Some(token), "revoked jti").await;
    let listed = json_of(app.get("/v1/tokens", &t.admin).await).await;
    assert!(listed["items"][0]["revoked_at"].is_string());
}

#[actix_web::test]
async fn with_an_rsa_public_key_rs256_is_accepted_and_hs256_key_confusion_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = rsa_pems();
    let key_path = dir.path().join("idp.pem");
    std::fs::write(&key_path, public).unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    settings.jwt_secret = None;
    settings.jwt_public_key = Some(key_path);
    let app = TestApp::spawn_with(settings, dir).await;

    let mut c = claims(&uuid::Uuid::new_v4().to_string());
    c["role"] = json!("researcher");
    c.as_object_mut().unwrap().remove("org");
    let rs = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &c,
        &EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
    )
    .unwrap();
    // A researcher may not list an organisation's pilots, but got past auth.
    assert_eq!(app.get("/v1/pilots", &rs).await.status(), 403);
    assert_401(
        &app,
        Some(&hs256(&c, public.as_bytes())),
        "HS256 signed with the RSA public key",
    )
    .await;
    assert_401(&app, Some(&hs256(&c, SECRET.as_bytes())), "HS256 with the old secret").await;
}
