//! What a token says: roles, the claims, and the checks on their shape
//! (required claims present, `org` consistent with the role).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::errors::TokenError;

/// What a caller may do. Serialised in snake_case (`"member"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Member of an organisation.
    Member,
    /// Finance officer of an organisation.
    Finance,
    /// Administrator of an organisation.
    Admin,
    /// Platform-wide researcher, not tied to an organisation.
    Researcher,
    /// Platform operator, not tied to an organisation.
    Operator,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 5] = [
        Role::Member,
        Role::Finance,
        Role::Admin,
        Role::Researcher,
        Role::Operator,
    ];

    /// The wire name of the role, as in the `role` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Finance => "finance",
            Role::Admin => "admin",
            Role::Researcher => "researcher",
            Role::Operator => "operator",
        }
    }

    /// Whether the role belongs to an organisation and so needs an `org` claim.
    pub fn is_org_scoped(self) -> bool {
        matches!(self, Role::Member | Role::Finance | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Role::from_str`]: the text is not one of the five role names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    /// Parses an exact, lower-case role name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

/// The claims of a pilotledger access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id.
    pub sub: String,
    /// Organisation UUID; present exactly for organisation roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The caller's role.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Not-before time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Claims that jsonwebtoken does not know about but our contract requires.
pub(super) const EXTRA_REQUIRED_CLAIMS: [&str; 3] = ["role", "iat", "jti"];

pub(super) fn claims_from_map(map: Map<String, Value>) -> Result<Claims, TokenError> {
    for name in EXTRA_REQUIRED_CLAIMS {
        if map.get(name).is_none_or(Value::is_null) {
            return Err(TokenError::MissingClaim(name.to_owned()));
        }
    }
    // Tell an unknown role apart from other shape errors: it is the likely
    // mistake when an identity provider's role mapping is off.
    if let Some(role) = map.get("role").and_then(Value::as_str) {
        if role.parse::<Role>().is_err() {
            return Err(TokenError::UnknownRole);
        }
    }
    let claims: Claims = serde_json::from_value(Value::Object(map)).map_err(|_| TokenError::Malformed)?;
    check_claims(&claims).map_err(|problem| match problem {
        ClaimProblem::MissingOrg => TokenError::MissingClaim("org".to_owned()),
        ClaimProblem::Invalid(_) => TokenError::Malformed,
    })?;
    Ok(claims)
}

/// What [`check_claims`] found wrong; a missing `org` is told apart so that
/// verification can report it as a missing claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClaimProblem {
    MissingOrg,
    Invalid(&'static str),
}

impl ClaimProblem {
    pub(super) fn message(self) -> &'static str {
        match self {
            ClaimProblem::MissingOrg => "org is required for member, finance and admin",
            ClaimProblem::Invalid(message) => message,
        }
    }
}

/// Contract checks shared by minting and verification.
pub(super) fn check_claims(claims: &Claims) -> Result<(), ClaimProblem> {
    if claims.sub.is_empty() {
        return Err(ClaimProblem::Invalid("sub must not be empty"));
    }
    if claims.jti.is_empty() {
        return Err(ClaimProblem::Invalid("jti must not be empty"));
    }
    match (&claims.org, claims.role.is_org_scoped()) {
        (None, true) => Err(ClaimProblem::MissingOrg),
        (Some(_), false) => Err(ClaimProblem::Invalid("org must be absent for researcher and operator")),
        (Some(org), true) if uuid::Uuid::parse_str(org).is_err() => Err(ClaimProblem::Invalid("org must be a UUID")),
        _ => Ok(()),
    }
}
