//! Tests of the parent module.

use super::*;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test-secret";
const ORG: &str = "6f1c2b1e-8a4d-4c7e-9f35-2d8e7b1a0c44";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hs_keys() -> JwtKeys {
    JwtKeys::hs256(Secret::new(SECRET), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap()
}

/// A complete, valid claim set as JSON, for tests to break one field at a time.
fn valid_claims() -> Value {
    json!({
        "sub": "user-42",
        "org": ORG,
        "role": "member",
        "exp": now() + 600,
        "iat": now(),
        "jti": uuid::Uuid::new_v4().to_string(),
        "iss": DEFAULT_ISSUER,
        "aud": DEFAULT_AUDIENCE,
    })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

/// Signs arbitrary JSON claims with a real HMAC, independently of `JwtKeys`.
fn sign_with(alg: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    ensure_crypto_provider();
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn sign_hs(claims: &Value, secret: &[u8]) -> String {
    sign_with(Algorithm::HS256, claims, &EncodingKey::from_secret(secret).unwrap())
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// (private PKCS#8 PEM, public SPKI PEM), generated once: RSA key
/// generation is the slowest step of the suite.
fn rsa_pems() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let private: aws_lc_rs::encoding::Pkcs8V1Der = pair.as_der().unwrap();
        let public: aws_lc_rs::encoding::PublicKeyX509Der = pair.public_key().as_der().unwrap();
        (pem("PRIVATE KEY", private.as_ref()), pem("PUBLIC KEY", public.as_ref()))
    })
}

fn ec_pems(alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> (String, String) {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(alg).unwrap();
    let private = pair.to_pkcs8v1().unwrap();
    let public: aws_lc_rs::encoding::PublicKeyX509Der = pair.public_key().as_der().unwrap();
    (pem("PRIVATE KEY", private.as_ref()), pem("PUBLIC KEY", public.as_ref()))
}

fn p256_pems() -> (String, String) {
    ec_pems(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING)
}

/// A fresh folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("pl-jwt-{}", uuid::Uuid::new_v4()));
        fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn valid_hs256_token_verifies_and_returns_its_claims() {
    let keys = hs_keys();
    let (token, minted) = keys
        .mint("user-42", Some(ORG), Role::Admin, Duration::from_secs(900))
        .unwrap();
    let claims = keys.verify(&token).unwrap();
    assert_eq!(claims, minted);
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.org.as_deref(), Some(ORG));
    assert_eq!(claims.role, Role::Admin);
    assert_eq!(claims.iss, "pilotledger");
    assert_eq!(claims.aud, "pilotledger");
    assert_eq!(claims.exp - claims.iat, 900);
    assert!((claims.iat - now()).abs() <= 2);
    assert_eq!(uuid::Uuid::parse_str(&claims.jti).unwrap().get_version_num(), 4);
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::HS256);
    // A token signed outside JwtKeys verifies too, so verify is not just
    // recognising its own output.
    let external = sign_hs(&valid_claims(), SECRET);
    assert_eq!(keys.verify(&external).unwrap().role, Role::Member);
}

#[test]
fn platform_role_token_without_org_verifies() {
    let keys = hs_keys();
    let (token, _) = keys
        .mint("ops-1", None, Role::Operator, Duration::from_secs(60))
        .unwrap();
    let claims = keys.verify(&token).unwrap();
    assert_eq!(claims.role, Role::Operator);
    assert_eq!(claims.org, None);
    // skip_serializing_if: no `"org": null` on the wire.
    let payload = token.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(payload.get("org").is_none());
    assert!(payload.get("nbf").is_none());
}

#[test]
fn garbage_is_malformed() {
    let keys = hs_keys();
    for token in ["", "garbage", "a.b", "a.b.c", "a.b.c.d", "..", "e30.e30.", "🦀.🦀.🦀"] {
        assert_eq!(keys.verify(token), Err(TokenError::Malformed), "{token:?}");
    }
    let huge = format!("{}.e30.AA", "A".repeat(MAX_TOKEN_LEN));
    assert_eq!(keys.verify(&huge), Err(TokenError::Malformed));
}

#[test]
fn alg_none_is_rejected() {
    let keys = hs_keys();
    let payload = b64_json(&valid_claims());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64_json(&json!({ "alg": alg, "typ": "JWT" }));
        let token = format!("{header}.{payload}.");
        assert_eq!(keys.verify(&token), Err(TokenError::WrongAlgorithm), "{alg}");
    }
    // The same claims with a real signature are fine, so the rejection
    // above is about the algorithm and nothing else.
    assert!(keys.verify(&sign_hs(&valid_claims(), SECRET)).is_ok());
}

#[test]
fn other_hmac_algorithms_are_rejected_even_with_the_right_secret() {
    let keys = hs_keys();
    let key = EncodingKey::from_secret(SECRET).unwrap();
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign_with(alg, &valid_claims(), &key);
        assert_eq!(keys.verify(&token), Err(TokenError::WrongAlgorithm));
    }
}

#[test]
fn wrong_secret_is_a_bad_signature() {
    let keys = hs_keys();
    let token = sign_hs(&valid_claims(), b"another-secret-that-is-long-enough-123");
    assert_eq!(keys.verify(&token), Err(TokenError::BadSignature));
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let keys = hs_keys();
    let (token, claims) = keys
        .mint("user-42", Some(ORG), Role::Member, Duration::from_secs(600))
        .unwrap();
    let mut forged = serde_json::to_value(&claims).unwrap();
    forged["role"] = json!("admin");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&forged), parts[2]);
    assert_ne!(tampered, token);
    assert_eq!(keys.verify(&tampered), Err(TokenError::BadSignature));
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn expired_beyond_leeway_is_rejected() {
    let keys = hs_keys();
    let token = sign_hs(&with(valid_claims(), "exp", json!(now() - 120)), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::Expired));
}

#[test]
fn expired_within_leeway_is_accepted() {
    let keys = hs_keys();
    let token = sign_hs(&with(valid_claims(), "exp", json!(now() - 5)), SECRET);
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn leeway_is_clamped_to_thirty_seconds() {
    let keys = hs_keys().with_leeway(600);
    assert_eq!(keys.leeway(), MAX_LEEWAY_SECS);
    let token = sign_hs(&with(valid_claims(), "exp", json!(now() - 60)), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::Expired));

    let strict = hs_keys().with_leeway(0);
    assert_eq!(strict.leeway(), 0);
    let token = sign_hs(&with(valid_claims(), "exp", json!(now() - 5)), SECRET);
    assert_eq!(strict.verify(&token), Err(TokenError::Expired));
}

#[test]
fn nbf_in_the_future_is_rejected() {
    let keys = hs_keys();
    let token = sign_hs(&with(valid_claims(), "nbf", json!(now() + 120)), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::NotYetValid));
    // Within the leeway, and in the past, nbf is fine.
    let nbf = now() + 5;
    let token = sign_hs(&with(valid_claims(), "nbf", json!(nbf)), SECRET);
    assert_eq!(keys.verify(&token).unwrap().nbf, Some(nbf));
    let token = sign_hs(&with(valid_claims(), "nbf", json!(now() - 60)), SECRET);
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn missing_iss_is_rejected() {
    let token = sign_hs(&without(valid_claims(), "iss"), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::MissingClaim("iss".into())));
}

#[test]
fn wrong_iss_is_rejected() {
    let token = sign_hs(&with(valid_claims(), "iss", json!("someone-else")), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::WrongIssuer));
    // And a configured issuer is honoured.
    let keys = JwtKeys::hs256(Secret::new(SECRET), "someone-else", DEFAULT_AUDIENCE).unwrap();
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn missing_aud_is_rejected() {
    let token = sign_hs(&without(valid_claims(), "aud"), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::MissingClaim("aud".into())));
}

#[test]
fn wrong_aud_is_rejected() {
    let token = sign_hs(&with(valid_claims(), "aud", json!("other-api")), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::WrongAudience));
    let keys = JwtKeys::hs256(Secret::new(SECRET), DEFAULT_ISSUER, "other-api").unwrap();
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn missing_exp_is_rejected() {
    let token = sign_hs(&without(valid_claims(), "exp"), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::MissingClaim("exp".into())));
}

#[test]
fn missing_sub_is_rejected() {
    let token = sign_hs(&without(valid_claims(), "sub"), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::MissingClaim("sub".into())));
    let token = sign_hs(&with(valid_claims(), "sub", Value::Null), SECRET);
    assert_eq!(hs_keys().verify(&token), Err(TokenError::MissingClaim("sub".into())));
}

#[test]
fn missing_role_iat_jti_are_rejected() {
    for claim in EXTRA_REQUIRED_CLAIMS {
        let token = sign_hs(&without(valid_claims(), claim), SECRET);
        assert_eq!(
            hs_keys().verify(&token),
            Err(TokenError::MissingClaim(claim.into())),
            "{claim}"
        );
    }
}

#[test]
fn unknown_role_is_rejected() {
    let keys = hs_keys();
    for role in ["superuser", "Admin", "ADMIN", ""] {
        let token = sign_hs(&with(valid_claims(), "role", json!(role)), SECRET);
        assert_eq!(keys.verify(&token), Err(TokenError::UnknownRole), "{role}");
    }
    let token = sign_hs(&with(valid_claims(), "role", json!(["admin"])), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
}

#[test]
fn org_must_match_the_role() {
    let keys = hs_keys();
    let token = sign_hs(&without(valid_claims(), "org"), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::MissingClaim("org".into())));
    let researcher = with(valid_claims(), "role", json!("researcher"));
    assert_eq!(keys.verify(&sign_hs(&researcher, SECRET)), Err(TokenError::Malformed));
    assert!(keys.verify(&sign_hs(&without(researcher, "org"), SECRET)).is_ok());
    let token = sign_hs(&with(valid_claims(), "org", json!("not-a-uuid")), SECRET);
    assert_eq!(keys.verify(&token), Err(TokenError::Malformed));

    let ttl = Duration::from_secs(60);
    assert!(matches!(
        keys.mint("u", None, Role::Finance, ttl),
        Err(KeyError::InvalidClaims(_))
    ));
    assert!(matches!(
        keys.mint("u", Some(ORG), Role::Researcher, ttl),
        Err(KeyError::InvalidClaims(_))
    ));
    assert!(matches!(
        keys.mint("u", Some("acme"), Role::Member, ttl),
        Err(KeyError::InvalidClaims(_))
    ));
    assert!(matches!(
        keys.mint("u", Some(ORG), Role::Member, Duration::ZERO),
        Err(KeyError::InvalidClaims(_))
    ));
}

#[test]
fn crit_header_is_rejected() {
    let keys = hs_keys();
    let header = b64_json(&json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] }));
    let message = format!("{header}.{}", b64_json(&valid_claims()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET).unwrap(),
        Algorithm::HS256,
    )
    .unwrap();
    assert_eq!(
        keys.verify(&format!("{message}.{signature}")),
        Err(TokenError::Malformed)
    );
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    // Classic key confusion: the attacker knows the public key and uses
    // its PEM text as an HMAC secret, hoping the server will feed its
    // "key bytes" to HMAC because the header says HS256.
    let (_, public_pem) = rsa_pems();
    let keys = JwtKeys::from_public_pem(public_pem.as_bytes(), "pilotledger", "pilotledger").unwrap();
    assert_eq!(keys.algorithm(), "RS256");
    let forged = sign_hs(&valid_claims(), public_pem.as_bytes());
    assert_eq!(keys.verify(&forged), Err(TokenError::WrongAlgorithm));

    // The forgery is a genuine HS256 token under that "secret": a server
    // that let the header pick the algorithm would have accepted it.
    let naive = JwtKeys::hs256(Secret::new(public_pem.as_bytes()), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    assert!(naive.verify(&forged).is_ok());
}

#[test]
fn rs256_token_from_the_matching_private_key_is_accepted() {
    let (private_pem, public_pem) = rsa_pems();
    let keys = JwtKeys::from_public_pem(public_pem.as_bytes(), "pilotledger", "pilotledger").unwrap();
    assert!(!keys.can_mint());
    let signing = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let token = sign_with(Algorithm::RS256, &valid_claims(), &signing);
    let claims = keys.verify(&token).unwrap();
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.role, Role::Member);

    // Same key family, other algorithms: refused by the pin.
    for alg in [Algorithm::RS512, Algorithm::PS256] {
        let token = sign_with(alg, &valid_claims(), &signing);
        assert_eq!(keys.verify(&token), Err(TokenError::WrongAlgorithm));
    }
    // A changed payload breaks the RSA signature.
    let parts: Vec<&str> = token.split('.').collect();
    let forged = with(valid_claims(), "role", json!("admin"));
    let tampered = format!("{}.{}.{}", parts[0], b64_json(&forged), parts[2]);
    assert_eq!(keys.verify(&tampered), Err(TokenError::BadSignature));
}

#[test]
fn pkcs1_rsa_public_key_is_accepted() {
    let (private_pem, public_pem) = rsa_pems();
    let (_, spki) = parse_pem(public_pem.as_bytes()).unwrap();
    // A 2048-bit SPKI is a 24-byte header (SEQUENCE, rsaEncryption
    // AlgorithmIdentifier, BIT STRING with no unused bits) around the
    // PKCS#1 RSAPublicKey that `-----BEGIN RSA PUBLIC KEY-----` holds.
    assert_eq!(&spki[..4], &[0x30, 0x82, 0x01, 0x22]);
    let pkcs1 = pem("RSA PUBLIC KEY", &spki[24..]);
    let keys = JwtKeys::from_public_pem(pkcs1.as_bytes(), DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    assert_eq!(keys.algorithm(), "RS256");
    let signing = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let token = sign_with(Algorithm::RS256, &valid_claims(), &signing);
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn es256_token_from_the_matching_private_key_is_accepted() {
    let (private_pem, public_pem) = p256_pems();
    let keys = JwtKeys::from_public_pem(public_pem.as_bytes(), "pilotledger", "pilotledger").unwrap();
    assert_eq!(keys.algorithm(), "ES256");
    assert!(!keys.can_mint());
    let signing = EncodingKey::from_ec_pem(private_pem.as_bytes()).unwrap();
    let token = sign_with(Algorithm::ES256, &valid_claims(), &signing);
    assert_eq!(keys.verify(&token).unwrap().sub, "user-42");

    // Signed by another P-256 key: refused.
    let (other_private, _) = p256_pems();
    let other = EncodingKey::from_ec_pem(other_private.as_bytes()).unwrap();
    let token = sign_with(Algorithm::ES256, &valid_claims(), &other);
    assert_eq!(keys.verify(&token), Err(TokenError::BadSignature));

    // HS256 with the EC public key as secret: key confusion again.
    let forged = sign_hs(&valid_claims(), public_pem.as_bytes());
    assert_eq!(keys.verify(&forged), Err(TokenError::WrongAlgorithm));
}

#[test]
fn public_key_mode_cannot_mint() {
    let (_, public_pem) = p256_pems();
    let keys = JwtKeys::from_public_pem(public_pem.as_bytes(), "pilotledger", "pilotledger").unwrap();
    assert!(matches!(
        keys.mint("u", Some(ORG), Role::Member, Duration::from_secs(60)),
        Err(KeyError::CannotMint)
    ));
    assert!(hs_keys().can_mint());
}

#[test]
fn unusable_public_keys_are_refused() {
    let unsupported = |pem: &[u8]| {
        matches!(
            JwtKeys::from_public_pem(pem, DEFAULT_ISSUER, DEFAULT_AUDIENCE),
            Err(KeyError::UnsupportedKey(_))
        )
    };
    let (rsa_private, _) = rsa_pems();
    assert!(unsupported(rsa_private.as_bytes()));
    let (ec_private, _) = p256_pems();
    assert!(unsupported(ec_private.as_bytes()));
    let (_, p384_public) = ec_pems(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING);
    assert!(unsupported(p384_public.as_bytes()));
    let ed = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
    let ed_public: aws_lc_rs::encoding::PublicKeyX509Der = ed.public_key().as_der().unwrap();
    assert!(unsupported(pem("PUBLIC KEY", ed_public.as_ref()).as_bytes()));
    assert!(unsupported(b"not a pem"));
    assert!(unsupported(SECRET));
    assert!(unsupported(pem("PUBLIC KEY", b"\x30\x03\x02\x01\x01").as_bytes()));
}

#[test]
fn secret_shorter_than_32_bytes_is_refused() {
    let err = JwtKeys::hs256(Secret::new(vec![7u8; 31]), "pilotledger", "pilotledger").unwrap_err();
    assert!(matches!(err, KeyError::SecretTooShort { got: 31, min: 32 }));
    assert!(JwtKeys::hs256(Secret::new(vec![7u8; 32]), "pilotledger", "pilotledger").is_ok());
    assert!(matches!(
        JwtKeys::hs256(Secret::new(SECRET), "", "pilotledger"),
        Err(KeyError::InvalidConfig(_))
    ));
}

#[test]
fn secret_and_keys_never_print_key_material() {
    let secret = Secret::new(SECRET);
    assert_eq!(format!("{secret:?}"), "Secret(***)");
    let keys_debug = format!("{:?}", hs_keys());
    let secret_text = std::str::from_utf8(SECRET).unwrap();
    assert!(!keys_debug.contains(secret_text), "{keys_debug}");
    assert!(keys_debug.contains("HS256"));
}

#[test]
fn load_or_create_secret_creates_a_private_file_and_reuses_it() {
    let tmp = TempDir::new();
    let data_dir = tmp.0.join("not").join("there-yet");
    let (first, created) = load_or_create_secret(&data_dir).unwrap();
    assert!(created);
    assert!(first.len() >= MIN_SECRET_LEN);

    let path = data_dir.join(SECRET_FILE_NAME);
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    // Nothing but the secret is left in the folder.
    let entries: Vec<_> = fs::read_dir(&data_dir).unwrap().collect();
    assert_eq!(entries.len(), 1);

    let (second, created) = load_or_create_secret(&data_dir).unwrap();
    assert!(!created);
    assert_eq!(first.0, second.0);
    assert_eq!(
        fs::read_to_string(&path).unwrap().trim(),
        URL_SAFE_NO_PAD.encode(&first.0)
    );

    // Tokens minted with the first load verify with the second.
    let a = JwtKeys::hs256(first, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let b = JwtKeys::hs256(second, DEFAULT_ISSUER, DEFAULT_AUDIENCE).unwrap();
    let (token, _) = a.mint("u", None, Role::Researcher, Duration::from_secs(60)).unwrap();
    assert!(b.verify(&token).is_ok());

    // Two fresh folders get different secrets.
    let other = TempDir::new();
    let (third, _) = load_or_create_secret(&other.0).unwrap();
    let again = load_or_create_secret(&data_dir).unwrap().0;
    assert_ne!(third.0, again.0);
}

#[test]
fn load_or_create_secret_refuses_a_short_or_corrupt_file() {
    let tmp = TempDir::new();
    let path = tmp.0.join(SECRET_FILE_NAME);
    fs::write(&path, URL_SAFE_NO_PAD.encode([1u8; 16])).unwrap();
    assert!(matches!(
        load_or_create_secret(&tmp.0),
        Err(KeyError::SecretTooShort { got: 16, min: 32 })
    ));
    fs::write(&path, "not base64url!!").unwrap();
    assert!(matches!(
        load_or_create_secret(&tmp.0),
        Err(KeyError::SecretFileInvalid { .. })
    ));
    // The bad file was left alone for the operator to look at.
    assert_eq!(fs::read_to_string(&path).unwrap(), "not base64url!!");
}

#[test]
fn role_names_round_trip() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        assert_eq!(serde_json::to_value(role).unwrap(), json!(role.as_str()));
        assert_eq!(role.to_string(), role.as_str());
    }
    assert_eq!("Admin".parse::<Role>(), Err(ParseRoleError("Admin".into())));
    assert!(Role::Finance.is_org_scoped());
    assert!(!Role::Operator.is_org_scoped());
}

#[test]
fn token_errors_do_not_leak_details() {
    let keys = hs_keys();
    let token = sign_hs(&valid_claims(), b"another-secret-that-is-long-enough-123");
    let err = keys.verify(&token).unwrap_err();
    assert_eq!(err.to_string(), "token signature is invalid");
    assert_eq!(err.code(), "token_bad_signature");
}

#[test]
fn a_remembered_token_is_still_refused_once_it_expires() {
    let keys = hs_keys().with_leeway(0);
    let exp = now() + 1;
    let token = sign_hs(&with(valid_claims(), "exp", json!(exp)), SECRET);
    let first = keys.verify(&token).unwrap();
    // The second answer comes from memory and is the same.
    assert_eq!(keys.verify(&token).unwrap(), first);
    while now() <= exp {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    // Still refused by the full check (a fresh set of keys remembers nothing).
    assert_eq!(hs_keys().with_leeway(0).verify(&token), Err(TokenError::Expired));
}

#[test]
fn only_the_exact_token_that_passed_is_remembered() {
    let keys = hs_keys();
    let token = sign_hs(&valid_claims(), SECRET);
    assert!(keys.verify(&token).is_ok());
    // Same header and claims, other signature bytes: checked in full, refused.
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut forged = sig.as_bytes().to_vec();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{head}.{}", String::from_utf8(forged).unwrap());
    assert_eq!(keys.verify(&forged), Err(TokenError::BadSignature));
    // A refused token is not remembered: refused again.
    assert_eq!(keys.verify(&forged), Err(TokenError::BadSignature));
    assert!(keys.verify(&token).is_ok());
}
