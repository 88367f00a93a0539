//! OpenID Connect: tokens signed by the company's identity provider, verified
//! with the keys it publishes (its JSON Web Key Set).
//!
//! * **Discovery.** With an issuer configured, start-up reads
//!   `<issuer>/.well-known/openid-configuration`, checks that the document
//!   names the same issuer (OpenID Connect Discovery §4.3) and takes its
//!   `jwks_uri` and the endpoints the dashboard signs in with. Any problem
//!   stops the start with a message naming the URL and what was wrong, as
//!   does a key set with no usable key.
//! * **Keys** are cached for the `max-age` of the key set's `Cache-Control`
//!   (5 minutes without one, between the configured least refresh interval
//!   and a day). A stale set is refreshed in the background while the cached
//!   keys keep verifying. A token whose `kid` is unknown triggers a refresh
//!   too, at most once per least interval, with at most one fetch in flight;
//!   the request waits for that fetch at most [`WAIT_FOR_KEYS`], so a slow or
//!   stopped provider costs a request well under a second, never a hang.
//!   While the provider is unreachable the cached keys keep working and
//!   unknown `kid`s are refused.
//! * **Algorithms**: RS256, PS256, ES256 and EdDSA (Ed25519), each only with
//!   a key of its type (and the key's own `alg` when the set names one).
//!   HS256 and `none` are never accepted here: a shared secret cannot come
//!   from a public key set, and that closes algorithm confusion.
//!
//! Outbound requests use a small blocking client (`ureq` on rustls with
//! aws-lc-rs and Mozilla's roots), run off the request threads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::errors::TokenError;
use super::keys::{map_jwt_error, MAX_LEEWAY_SECS, MAX_TOKEN_LEN};
use super::mapping::ClaimMapping;

/// Longest one fetch of the discovery document or the key set may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Longest a request with an unknown `kid` waits for the fetch it started
/// (or found in flight) before it is refused.
pub const WAIT_FOR_KEYS: Duration = Duration::from_millis(700);

/// How long a key set without `Cache-Control: max-age` stays fresh.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);

/// Longest a key set stays fresh, whatever its headers say.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(86_400);

/// Largest discovery document or key set read.
const MAX_DOCUMENT_BYTES: u64 = 512 * 1024;

/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_LEN: usize = 256;

/// Why OIDC could not be configured (start-up errors, for the operator).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} is not a usable {what}: {reason}")]
    Document {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error(
        "the provider at {url} says its issuer is {found:?}, not {configured:?}: set PILOTLEDGER_OIDC_ISSUER \
         to exactly the issuer its tokens carry"
    )]
    IssuerMismatch {
        url: String,
        found: String,
        configured: String,
    },
}

/// What discovery found (the parts pilotledger uses).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

fn agent() -> ureq::Agent {
    // Installing fails only when a provider is installed already, which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .timeout_connect(Some(Duration::from_millis(1500)))
        .http_status_as_error(false)
        .max_redirects(3)
        .user_agent("pilotledger")
        .build()
        .into()
}

/// GETs `url`; the body as text and the response's `max-age`, if any.
fn get(agent: &ureq::Agent, url: &str) -> Result<(String, Option<Duration>), String> {
    let mut resp = agent
        .get(url)
        .header("Accept", "application/json")
        .call()
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("HTTP status {status}"));
    }
    let max_age = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(parse_max_age);
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_DOCUMENT_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((body, max_age.flatten()))
}

/// `max-age` of a `Cache-Control` value; `no-cache`/`no-store` count as 0.
pub fn parse_max_age(value: &str) -> Option<Duration> {
    let mut found = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            found = secs.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    found
}

/// Reads and checks the issuer's discovery document.
pub fn discover(issuer: &str) -> Result<Discovery, OidcError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let (body, _) = get(&agent(), &url).map_err(|reason| OidcError::Fetch {
        url: url.clone(),
        reason,
    })?;
    let doc: Discovery = serde_json::from_str(&body).map_err(|e| OidcError::Document {
        url: url.clone(),
        what: "OpenID Connect discovery document",
        reason: e.to_string(),
    })?;
    if doc.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OidcError::IssuerMismatch {
            url,
            found: doc.issuer,
            configured: issuer.to_owned(),
        });
    }
    if !crate::config::is_acceptable_provider_url(&doc.jwks_uri) {
        return Err(OidcError::Document {
            url,
            what: "OpenID Connect discovery document",
            reason: format!("its jwks_uri {:?} is not https://", doc.jwks_uri),
        });
    }
    Ok(doc)
}

/// One of the provider's public keys, with the algorithms it may verify.
pub struct ProviderKey {
    algs: Vec<Algorithm>,
    key: DecodingKey,
}

/// Parses a key set; keys that cannot verify one of our algorithms (other
/// curves, short RSA keys, encryption keys, secrets) are left out.
pub fn parse_jwks(body: &str) -> Result<HashMap<String, Arc<ProviderKey>>, String> {
    let set: JwkSet = serde_json::from_str(body).map_err(|e| format!("not a JSON Web Key Set: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let by_type: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let n = URL_SAFE_NO_PAD.decode(rsa.n.trim_end_matches('=')).unwrap_or_default();
                if n.iter().skip_while(|b| **b == 0).count() < MIN_RSA_MODULUS_LEN {
                    continue;
                }
                vec![Algorithm::RS256, Algorithm::PS256]
            }
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => vec![Algorithm::ES256],
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
            _ => continue,
        };
        let algs = match &jwk.common.key_algorithm {
            None => by_type,
            Some(named) => {
                let Some(named) = [
                    (KeyAlgorithm::RS256, Algorithm::RS256),
                    (KeyAlgorithm::PS256, Algorithm::PS256),
                    (KeyAlgorithm::ES256, Algorithm::ES256),
                    (KeyAlgorithm::EdDSA, Algorithm::EdDSA),
                ]
                .into_iter()
                .find(|(k, _)| k == named)
                .map(|(_, a)| a) else {
                    continue;
                };
                if !by_type.contains(&named) {
                    continue;
                }
                vec![named]
            }
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        keys.insert(kid, Arc::new(ProviderKey { algs, key }));
    }
    if keys.is_empty() {
        return Err(format!(
            "none of its {} keys is an RSA (2048 bits or more), P-256 or Ed25519 signing key",
            set.keys.len()
        ));
    }
    Ok(keys)
}

struct KeyState {
    keys: Arc<HashMap<String, Arc<ProviderKey>>>,
    fresh_until: Instant,
    last_attempt: Instant,
    in_flight: bool,
    fetches: u64,
}

/// The provider's key set, cached and refreshed as the module docs say.
pub struct Jwks {
    url: String,
    refresh_min: Duration,
    agent: ureq::Agent,
    state: Mutex<KeyState>,
    /// Bumped after every fetch, successful or not; requests waiting for
    /// keys watch it.
    done: tokio::sync::watch::Sender<u64>,
}

impl Jwks {
    /// Fetches the key set once (blocking); fails when it is unreachable or
    /// holds no usable key.
    pub fn load(url: &str, refresh_min: Duration) -> Result<Arc<Self>, OidcError> {
        let agent = agent();
        let (body, max_age) = get(&agent, url).map_err(|reason| OidcError::Fetch {
            url: url.to_owned(),
            reason,
        })?;
        let keys = parse_jwks(&body).map_err(|reason| OidcError::Document {
            url: url.to_owned(),
            what: "key set",
            reason,
        })?;
        let now = Instant::now();
        Ok(Arc::new(Jwks {
            url: url.to_owned(),
            refresh_min,
            agent,
            state: Mutex::new(KeyState {
                keys: Arc::new(keys),
                fresh_until: now + freshness(max_age, refresh_min),
                last_attempt: now,
                in_flight: false,
                fetches: 1,
            }),
            done: tokio::sync::watch::channel(0).0,
        }))
    }

    fn state(&self) -> MutexGuard<'_, KeyState> {
        // Every update is a few assignments: a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times the key set has been fetched (start-up included).
    pub fn fetches(&self) -> u64 {
        self.state().fetches
    }

    /// Starts a background fetch when one is due: none in flight, the last
    /// attempt at least the least interval ago, and either `needed` (an
    /// unknown `kid`) or the cached set stale. Returns whether a fetch is in
    /// flight now.
    fn refresh_if_due(self: &Arc<Self>, needed: bool) -> bool {
        let mut st = self.state();
        let now = Instant::now();
        let due = !st.in_flight
            && now.duration_since(st.last_attempt) >= self.refresh_min
            && (needed || now >= st.fresh_until);
        if due {
            st.in_flight = true;
            st.last_attempt = now;
            let jwks = self.clone();
            let spawned = std::thread::Builder::new()
                .name("jwks-refresh".into())
                .spawn(move || jwks.refresh());
            if spawned.is_err() {
                st.in_flight = false;
            }
        }
        st.in_flight
    }

    fn refresh(&self) {
        let fetched = get(&self.agent, &self.url).and_then(|(body, max_age)| Ok((parse_jwks(&body)?, max_age)));
        {
            let mut st = self.state();
            st.in_flight = false;
            st.fetches += 1;
            match fetched {
                Ok((keys, max_age)) => {
                    st.keys = Arc::new(keys);
                    st.fresh_until = Instant::now() + freshness(max_age, self.refresh_min);
                }
                // The cached keys stay in use; the next attempt comes after
                // the least interval.
                Err(reason) => {
                    tracing::warn!(url = %self.url, %reason, "refreshing the identity provider's keys failed")
                }
            }
        }
        self.done.send_modify(|n| *n += 1);
    }

    /// The key for `kid`, fetching the set again when the `kid` is unknown
    /// and a fetch is due; waits at most [`WAIT_FOR_KEYS`].
    pub async fn key(self: &Arc<Self>, kid: Option<&str>) -> Option<Arc<ProviderKey>> {
        let mut done = self.done.subscribe();
        let found = self.find(kid);
        let in_flight = self.refresh_if_due(found.is_none());
        if found.is_some() || !in_flight {
            return found;
        }
        let _ = tokio::time::timeout(WAIT_FOR_KEYS, done.changed()).await;
        self.find(kid)
    }

    fn find(&self, kid: Option<&str>) -> Option<Arc<ProviderKey>> {
        let keys = self.state().keys.clone();
        match kid {
            Some(kid) => keys.get(kid).cloned(),
            // A token without `kid` only fits a set of exactly one key.
            None if keys.len() == 1 => keys.values().next().cloned(),
            None => None,
        }
    }
}

fn freshness(max_age: Option<Duration>, refresh_min: Duration) -> Duration {
    max_age
        .unwrap_or(DEFAULT_MAX_AGE)
        .clamp(refresh_min, LONGEST_MAX_AGE.max(refresh_min))
}

/// OIDC verification: the provider's keys, the expected issuer and
/// audience, and how claims map to roles and organisations.
pub struct Oidc {
    pub issuer: String,
    pub audience: String,
    pub jwks: Arc<Jwks>,
    pub discovery: Option<Discovery>,
    pub mapping: ClaimMapping,
    pub local_tokens: crate::config::LocalTokens,
    /// The dashboard's public client and the scopes it asks for.
    pub client_id: Option<String>,
    pub scopes: String,
    pub max_lifetime_secs: i64,
}

/// A provider token that passed every check, with the claims pilotledger reads.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub sub: String,
    pub email: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: Option<i64>,
    /// The token's `jti`, or a digest of the token when it has none (Entra
    /// ID access tokens carry `uti` instead), for the revocation list and
    /// the request budget.
    pub jti: String,
    pub claims: Map<String, Value>,
}

/// The algorithm a provider token may use.
const ACCEPTED: [(&str, Algorithm); 4] = [
    ("RS256", Algorithm::RS256),
    ("PS256", Algorithm::PS256),
    ("ES256", Algorithm::ES256),
    ("EdDSA", Algorithm::EdDSA),
];

/// The header's `alg`, unverified (to route a token to the right checks).
pub fn header_alg(token: &str) -> Option<String> {
    header_of(token).ok()?.get("alg")?.as_str().map(str::to_owned)
}

fn header_of(token: &str) -> Result<Map<String, Value>, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)
}

/// What the dashboard needs to sign in as a public client (authorization
/// code with PKCE): present when an issuer was discovered and a client id
/// configured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignInConfig {
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub end_session_endpoint: Option<String>,
    pub scopes: String,
}

impl Oidc {
    /// The dashboard's sign-in settings, when sign-in is possible.
    pub fn sign_in(&self) -> Option<SignInConfig> {
        let discovery = self.discovery.as_ref()?;
        Some(SignInConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone()?,
            authorization_endpoint: discovery.authorization_endpoint.clone()?,
            token_endpoint: discovery.token_endpoint.clone()?,
            end_session_endpoint: discovery.end_session_endpoint.clone(),
            scopes: self.scopes.clone(),
        })
    }

    /// Verifies a token the provider signed: an accepted algorithm with a
    /// key of the set that allows it, signature, `iss`, `aud`, `exp`, `nbf`
    /// (30 s leeway), `sub`, no `crit` header, lifetime within the maximum.
    pub async fn verify(&self, token: &str) -> Result<VerifiedIdToken, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let header = header_of(token)?;
        // We implement no header extensions, so every critical one is unknown
        // (RFC 7515 §4.1.11).
        if header.contains_key("crit") {
            return Err(TokenError::Malformed);
        }
        let alg_name = header.get("alg").and_then(Value::as_str).ok_or(TokenError::Malformed)?;
        let alg = ACCEPTED
            .iter()
            .find(|(name, _)| *name == alg_name)
            .map(|(_, alg)| *alg)
            .ok_or(TokenError::WrongAlgorithm)?;
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.as_str()),
            Some(_) => return Err(TokenError::Malformed),
        };
        let key = self.jwks.key(kid).await.ok_or(TokenError::UnknownKey)?;
        if !key.algs.contains(&alg) {
            return Err(TokenError::WrongAlgorithm);
        }
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = MAX_LEEWAY_SECS;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(map_jwt_error)?;
        let claims = data.claims;
        let int = |name: &str| claims.get(name).and_then(Value::as_i64);
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let exp = int("exp").ok_or(TokenError::Malformed)?;
        let iat = int("iat").unwrap_or(now);
        if exp.saturating_sub(iat) > self.max_lifetime_secs || exp.saturating_sub(now) > self.max_lifetime_secs {
            return Err(TokenError::LifetimeTooLong);
        }
        let sub = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(TokenError::MissingClaim("sub".into())),
        };
        let jti = match claims.get("jti").and_then(Value::as_str) {
            Some(jti) if !jti.is_empty() => jti.to_owned(),
            _ => {
                use sha2::Digest as _;
                format!("sha256:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
            }
        };
        Ok(VerifiedIdToken {
            sub,
            email: claims.get("email").and_then(Value::as_str).map(str::to_owned),
            exp,
            iat,
            nbf: int("nbf"),
            jti,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_and_no_cache_is_zero() {
        assert_eq!(parse_max_age("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(
            parse_max_age("max-age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("private"), None);
        let min = Duration::from_secs(30);
        assert_eq!(freshness(Some(Duration::ZERO), min), min);
        assert_eq!(freshness(None, min), DEFAULT_MAX_AGE);
        assert_eq!(freshness(Some(Duration::from_secs(10 * 86_400)), min), LONGEST_MAX_AGE);
    }

    #[test]
    fn key_sets_keep_only_signing_keys_of_accepted_types() {
        // An Ed25519 key (RFC 8037 §A.2), a P-384 key and a short RSA key.
        let set = r#"{"keys":[
            {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty":"EC","crv":"P-384","kid":"p384","x":"AAAA","y":"AAAA"},
            {"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"},
            {"kty":"OKP","crv":"Ed25519","kid":"enc","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}"#;
        let keys = parse_jwks(set).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["ed"]);
        assert_eq!(keys["ed"].algs, vec![Algorithm::EdDSA]);
        assert!(parse_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(parse_jwks("[]").is_err());
    }

    #[test]
    fn the_header_algorithm_is_read_without_verifying() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        assert_eq!(header_alg(&format!("{header}.e30.sig")).as_deref(), Some("HS256"));
        assert_eq!(header_alg("not-a-token"), None);
    }
}
