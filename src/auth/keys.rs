//! JWT keys, claims and token verification for pilotledger.
//!
//! The server accepts bearer tokens signed with exactly one algorithm, chosen
//! from its configuration and never from the token:
//!
//! * **HS256** (the default) with a shared secret of at least
//!   [`MIN_SECRET_LEN`] bytes. With no secret configured, the server generates
//!   one on first start with [`load_or_create_secret`] and reuses it later.
//!   Only in this mode can the server mint tokens itself.
//! * **RS256** or **ES256** with a PEM public key from the company's identity
//!   provider ([`JwtKeys::from_public_pem`]). The key type decides the
//!   algorithm: an RSA key means RS256, an EC P-256 key means ES256.
//!
//! Every token must carry `sub`, `role`, `exp`, `iat`, `jti`, `iss` and `aud`;
//! `iss` and `aud` must match the configured values (both default to
//! `"pilotledger"`); `nbf` is honoured when present; `exp` and `nbf` get a
//! clock-skew leeway of at most [`MAX_LEEWAY_SECS`] seconds. Organisation
//! roles (`member`, `finance`, `admin`) must carry an `org` UUID and platform
//! roles (`researcher`, `operator`) must not.
//!
//! Failures are reported as [`TokenError`], whose messages are safe to return
//! to clients, and [`KeyError`] for configuration and minting problems.
//!
//! The crypto backend is `aws-lc-rs`, through jsonwebtoken's `aws_lc_rs`
//! feature. The key constructors install it as jsonwebtoken's process-wide
//! provider, so the service keeps working even if another crate in the build
//! also turns on jsonwebtoken's `rust_crypto` feature (with both features on,
//! jsonwebtoken cannot pick a provider by itself and panics at the first
//! signature).

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

#[cfg(test)]
use super::claims::EXTRA_REQUIRED_CLAIMS;
use super::claims::{check_claims, claims_from_map};
pub use super::claims::{Claims, ParseRoleError, Role};
pub use super::errors::{KeyError, TokenError};
pub use super::secret::{load_or_create_secret, Secret, GENERATED_SECRET_LEN, MIN_SECRET_LEN, SECRET_FILE_NAME};

/// Largest clock-skew leeway accepted for `exp` and `nbf`, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 30;

/// Issuer expected (and minted) when none is configured.
pub const DEFAULT_ISSUER: &str = "pilotledger";

/// Audience expected (and minted) when none is configured.
pub const DEFAULT_AUDIENCE: &str = "pilotledger";

/// Longest token [`JwtKeys::verify`] will look at. Our tokens are a few hundred
/// bytes; the cap bounds the work an anonymous caller can make us do.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// DER prefix of a SubjectPublicKeyInfo holding an uncompressed P-256 point:
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (66 bytes) }.
/// jsonwebtoken accepts any EC curve in `from_ec_pem`; ES256 needs exactly P-256.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Smallest RSA modulus accepted, in bytes (2048 bits), the floor aws-lc also
/// enforces at verification time; checking it here turns a silent "every token
/// fails" into a startup error.
const MIN_RSA_MODULUS_LEN: usize = 256;

/// The algorithm this server accepts, fixed at configuration time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PinnedAlg {
    Hs256,
    Rs256,
    Es256,
}

impl PinnedAlg {
    fn jwt(self) -> Algorithm {
        match self {
            PinnedAlg::Hs256 => Algorithm::HS256,
            PinnedAlg::Rs256 => Algorithm::RS256,
            PinnedAlg::Es256 => Algorithm::ES256,
        }
    }

    fn name(self) -> &'static str {
        match self {
            PinnedAlg::Hs256 => "HS256",
            PinnedAlg::Rs256 => "RS256",
            PinnedAlg::Es256 => "ES256",
        }
    }
}

/// The server's token keys: verifies tokens and, in HS256 mode, mints them.
pub struct JwtKeys {
    alg: PinnedAlg,
    /// Only in HS256 mode; public-key mode cannot sign.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    /// Tokens that passed every check, with their claims (see [`Self::verify`]).
    verified: std::sync::Mutex<std::collections::HashMap<String, Claims>>,
    /// Longest lifetime (`exp` − `iat`, and `exp` − now) a token may have, in seconds.
    max_lifetime_secs: i64,
}

/// The default maximum token lifetime: 366 days.
pub const DEFAULT_MAX_LIFETIME_SECS: i64 = 366 * 86_400;

/// Most verified tokens remembered; past it the memory starts over.
const VERIFIED_TOKENS: usize = 4096;

impl fmt::Debug for JwtKeys {
    // Hand-written so that no key material can ever reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.alg.name())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

/// Makes aws-lc-rs jsonwebtoken's process-wide provider (see the module docs).
/// Failure means a provider is already installed, which is fine.
fn ensure_crypto_provider() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

impl JwtKeys {
    /// HS256 keys from a shared secret: can verify and mint. Fails with
    /// [`KeyError::SecretTooShort`] below [`MIN_SECRET_LEN`] bytes.
    pub fn hs256(secret: Secret, issuer: impl Into<String>, audience: impl Into<String>) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::SecretTooShort {
                got: secret.len(),
                min: MIN_SECRET_LEN,
            });
        }
        // jsonwebtoken 12 refuses only empty secrets, which the length check above rules out.
        let encoding = EncodingKey::from_secret(&secret.0).map_err(KeyError::Signing)?;
        let decoding = DecodingKey::from_secret(&secret.0).map_err(KeyError::Signing)?;
        Self::build(
            PinnedAlg::Hs256,
            Some(encoding),
            decoding,
            issuer.into(),
            audience.into(),
        )
    }

    /// Verify-only keys from the identity provider's PEM public key
    /// (`-----BEGIN PUBLIC KEY-----`, or `RSA PUBLIC KEY` for PKCS#1).
    /// An RSA key (≥ 2048 bits) selects RS256, an EC P-256 key ES256;
    /// private keys, certificates and other key types are refused.
    pub fn from_public_pem(
        pem: &[u8],
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        let (label, der) = parse_pem(pem).ok_or(KeyError::UnsupportedKey("not a PEM document"))?;
        match label {
            "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
            "CERTIFICATE" => {
                return Err(KeyError::UnsupportedKey(
                    "a certificate was given; configure its public key \
                     (openssl x509 -pubkey -noout)",
                ));
            }
            label if label.contains("PRIVATE") => {
                return Err(KeyError::UnsupportedKey(
                    "a private key was given; configure the identity provider's public key",
                ));
            }
            _ => return Err(KeyError::UnsupportedKey("expected a PEM public key")),
        }

        if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            check_rsa_key(&key)?;
            return Self::build(PinnedAlg::Rs256, None, key, issuer.into(), audience.into());
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            if !der.starts_with(&P256_SPKI_PREFIX) || der.len() != P256_SPKI_PREFIX.len() + 65 {
                return Err(KeyError::UnsupportedKey(
                    "EC key is not an uncompressed P-256 key (ES256)",
                ));
            }
            return Self::build(PinnedAlg::Es256, None, key, issuer.into(), audience.into());
        }
        Err(KeyError::UnsupportedKey("public key is neither RSA nor EC P-256"))
    }

    fn build(
        alg: PinnedAlg,
        encoding: Option<EncodingKey>,
        decoding: DecodingKey,
        issuer: String,
        audience: String,
    ) -> Result<Self, KeyError> {
        ensure_crypto_provider();
        if issuer.is_empty() {
            return Err(KeyError::InvalidConfig("issuer must not be empty"));
        }
        if audience.is_empty() {
            return Err(KeyError::InvalidConfig("audience must not be empty"));
        }
        // One algorithm only: the header's `alg` must equal the configured
        // one, which rules out `none` and HS256-with-the-public-key confusion.
        let mut validation = Validation::new(alg.jwt());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = MAX_LEEWAY_SECS;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        Ok(JwtKeys {
            alg,
            encoding,
            decoding,
            validation,
            issuer,
            audience,
            verified: Default::default(),
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
        })
    }

    /// Sets the longest lifetime a token may have (at least one day): a token
    /// whose `exp` is further than this past its `iat`, or past now, is
    /// refused, however it was signed; minting past it fails.
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime_secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX).max(86_400);
        self
    }

    /// The longest lifetime a token may have.
    pub fn max_lifetime(&self) -> Duration {
        Duration::from_secs(self.max_lifetime_secs as u64)
    }

    /// Sets the clock-skew leeway for `exp` and `nbf`, clamped to at most
    /// [`MAX_LEEWAY_SECS`] (which is also the default).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds.min(MAX_LEEWAY_SECS);
        self
    }

    /// The leeway in force, in seconds.
    pub fn leeway(&self) -> u64 {
        self.validation.leeway
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The configured audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The pinned algorithm: `"HS256"`, `"RS256"` or `"ES256"`.
    pub fn algorithm(&self) -> &'static str {
        self.alg.name()
    }

    /// Whether these keys can mint tokens (HS256 only).
    pub fn can_mint(&self) -> bool {
        self.encoding.is_some()
    }

    /// Mints a token for `sub` with a fresh UUID v4 `jti`, `iat` = now,
    /// `exp` = now + `ttl` (whole seconds, at least 1) and the configured
    /// `iss`/`aud`. `org` must be a UUID for organisation roles and absent for
    /// platform roles. Returns the compact JWT and its claims.
    pub fn mint(&self, sub: &str, org: Option<&str>, role: Role, ttl: Duration) -> Result<(String, Claims), KeyError> {
        if !self.can_mint() {
            return Err(KeyError::CannotMint);
        }
        let ttl = i64::try_from(ttl.as_secs())
            .ok()
            .filter(|secs| *secs > 0)
            .ok_or(KeyError::InvalidClaims("ttl must be at least one second"))?;
        if ttl > self.max_lifetime_secs {
            return Err(KeyError::InvalidClaims("ttl is longer than the maximum token lifetime"));
        }
        let now = chrono::Utc::now().timestamp();
        let exp = now
            .checked_add(ttl)
            .ok_or(KeyError::InvalidClaims("ttl is too large"))?;
        let claims = Claims {
            sub: sub.to_owned(),
            org: org.map(str::to_owned),
            role,
            exp,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            nbf: None,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs the given claims as they are (HS256 only). [`JwtKeys::mint`] is
    /// the normal way in; this one exists for tests and tools that need
    /// particular times. The claims must still be consistent (non-empty `sub`
    /// and `jti`, `org` matching the role).
    pub fn sign(&self, claims: &Claims) -> Result<String, KeyError> {
        let key = self.encoding.as_ref().ok_or(KeyError::CannotMint)?;
        check_claims(claims).map_err(|problem| KeyError::InvalidClaims(problem.message()))?;
        jsonwebtoken::encode(&Header::new(self.alg.jwt()), claims, key).map_err(KeyError::Signing)
    }

    /// Verifies a compact JWT: pinned algorithm, signature, `exp`/`nbf` with
    /// leeway, `iss`, `aud`, presence of all required claims, known role and
    /// `org` consistent with the role. Returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        // A token that passed every check before passes them again but for
        // the ones that depend on the clock: those are checked here (the same
        // rules as jsonwebtoken's), the signature and the claims' shape are
        // not checked again. Every request carries its token, so this saves
        // the decoding, the HMAC or signature check and two JSON parses.
        let remembered = self.remembered().get(token).cloned();
        if let Some(claims) = remembered {
            let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
            let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
            if claims.exp < now - leeway {
                return Err(TokenError::Expired);
            }
            if claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
                return Err(TokenError::NotYetValid);
            }
            return Ok(claims);
        }
        self.check_header(token)?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &self.validation)
            .map_err(map_jwt_error)?;
        let claims = claims_from_map(data.claims)?;
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime_secs
            || claims.exp.saturating_sub(now) > self.max_lifetime_secs
        {
            return Err(TokenError::LifetimeTooLong);
        }
        let mut remembered = self.remembered();
        if remembered.len() >= VERIFIED_TOKENS {
            remembered.clear();
        }
        remembered.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Claims>> {
        // Every update is one map operation: a poisoned lock holds consistent data.
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks at the header before jsonwebtoken does. jsonwebtoken pins the
    /// algorithm too, but it reports `alg: none` as a JSON error; checking
    /// here gives a precise error and keeps the pin independent of the
    /// library. It also refuses `crit`, since we implement no extensions
    /// (RFC 7515 §4.1.11 says a token with unknown critical ones is invalid).
    fn check_header(&self, token: &str) -> Result<(), TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
        let header: Map<String, Value> = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.contains_key("crit") {
            return Err(TokenError::Malformed);
        }
        match header.get("alg").and_then(Value::as_str) {
            Some(alg) if alg == self.alg.name() => Ok(()),
            Some(_) => Err(TokenError::WrongAlgorithm),
            None => Err(TokenError::Malformed),
        }
    }
}

/// Parses the first PEM block: its label and DER body. A small parser of our
/// own because jsonwebtoken does not expose the label, which we need to
/// refuse private keys and certificates.
fn parse_pem(pem: &[u8]) -> Option<(&str, Vec<u8>)> {
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_start = label_end + "-----".len();
    let end_marker = format!("-----END {label}-----");
    let body_end = rest.find(&end_marker)?;
    let body: String = rest
        .get(body_start..body_end)?
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(body).ok()?;
    Some((label, der))
}

fn check_rsa_key(key: &DecodingKey) -> Result<(), KeyError> {
    let DecodingKeyKind::SecretOrDer(der) = key.kind() else {
        return Err(KeyError::UnsupportedKey("unexpected RSA key form"));
    };
    // Parse with aws-lc now rather than at the first request.
    let rsa_components = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
        .key_utils
        .rsa_pub_components_from_public_key;
    let (n, _e) = rsa_components(der).map_err(|_| KeyError::UnsupportedKey("RSA public key is invalid"))?;
    let modulus_len = n.iter().skip_while(|b| **b == 0).count();
    if modulus_len < MIN_RSA_MODULUS_LEN {
        return Err(KeyError::UnsupportedKey("RSA key is shorter than 2048 bits"));
    }
    Ok(())
}

pub(super) fn map_jwt_error(err: jsonwebtoken::errors::Error) -> TokenError {
    match err.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => TokenError::WrongAlgorithm,
        // Key problems cannot come from the token (keys are checked at
        // startup), but if one shows up the only safe answer is "not verified".
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::Provider(_) => TokenError::BadSignature,
        // InvalidToken, Base64, Json, Utf8, InvalidClaimFormat and any kind
        // added later: the token does not parse as ours.
        _ => TokenError::Malformed,
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
