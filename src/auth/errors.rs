//! Why a token was refused ([`TokenError`], safe to send to clients) and why
//! keys could not be configured or a token minted ([`KeyError`]).

use std::io;
use std::path::PathBuf;

/// Errors in key configuration, secret storage and token minting. These are
/// for the operator's logs, not for API clients.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The HS256 secret is shorter than the minimum (`secret::MIN_SECRET_LEN`).
    #[error("JWT secret must be at least {min} bytes, got {got}")]
    SecretTooShort {
        /// Its length in bytes.
        got: usize,
        /// The least accepted.
        min: usize,
    },
    /// The secret file exists but does not hold base64url text.
    #[error("JWT secret file {} is not valid base64url", path.display())]
    SecretFileInvalid {
        /// The secret file.
        path: PathBuf,
    },
    /// Reading or writing the secret file or its folder failed.
    #[error("JWT secret storage {}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate a JWT secret: {0}")]
    Rng(String),
    /// The configured public key is not usable for RS256 or ES256.
    #[error("unsupported JWT public key: {0}")]
    UnsupportedKey(&'static str),
    /// Issuer or audience is not usable.
    #[error("invalid JWT configuration: {0}")]
    InvalidConfig(&'static str),
    /// Minting was asked of keys that can only verify (public-key mode).
    #[error("cannot mint tokens: the server only holds a public key (RS256/ES256)")]
    CannotMint,
    /// The claims to mint are inconsistent (e.g. a member without an org).
    #[error("invalid token claims: {0}")]
    InvalidClaims(&'static str),
    /// The crypto backend refused to sign.
    #[error("token signing failed: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Why a token was refused. Messages name the problem without echoing the
/// token or any key material, so they may be sent to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// `exp` is in the past, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// The signature does not match the token's contents and our key.
    #[error("token signature is invalid")]
    BadSignature,
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` is not the configured audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A required claim is absent (or null).
    #[error("token is missing the `{0}` claim")]
    MissingClaim(String),
    /// `role` is not one of the known roles.
    #[error("token role is not recognised")]
    UnknownRole,
    /// The token is not a well-formed JWT or a claim has the wrong type/shape.
    #[error("token is malformed")]
    Malformed,
    /// The header's `alg` is not the one this server is configured for.
    #[error("token algorithm is not accepted")]
    WrongAlgorithm,
    /// `exp` lies further past `iat` (or past now) than the server's maximum
    /// token lifetime allows.
    #[error("token lifetime is longer than this server accepts")]
    LifetimeTooLong,
    /// The token names a signing key (`kid`) the identity provider does not
    /// publish, even after fetching its keys again (or the provider is
    /// unreachable).
    #[error("token signing key is not one the identity provider publishes")]
    UnknownKey,
}

impl TokenError {
    /// A stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Expired => "token_expired",
            TokenError::NotYetValid => "token_not_yet_valid",
            TokenError::BadSignature => "token_bad_signature",
            TokenError::WrongIssuer => "token_wrong_issuer",
            TokenError::WrongAudience => "token_wrong_audience",
            TokenError::MissingClaim(_) => "token_missing_claim",
            TokenError::UnknownRole => "token_unknown_role",
            TokenError::Malformed => "token_malformed",
            TokenError::WrongAlgorithm => "token_wrong_algorithm",
            TokenError::LifetimeTooLong => "token_lifetime_too_long",
            TokenError::UnknownKey => "token_unknown_key",
        }
    }
}
