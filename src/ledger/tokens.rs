//! Issuing tokens: a minted JWT is recorded (never its secret) so it can be
//! listed and revoked. The route and the offline CLI both issue through here.

use crate::auth::{JwtKeys, Role};
use crate::db::tokens::TokenView;
use crate::db::DbConnection;
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult, Code};

/// What to mint.
pub struct NewToken<'a> {
    /// Present exactly for organisation roles.
    pub org: Option<OrgId>,
    pub role: Role,
    pub label: &'a str,
    pub ttl_days: i64,
    /// The caller, as the audit log names it.
    pub created_by: &'a str,
    /// The `jti` of the token that asks for this one (None offline), so
    /// revoking that token revokes this one too.
    pub minted_by: Option<&'a str>,
}

/// Mints a token and records it so it can be listed and revoked. Shared by the
/// route and the offline CLI.
pub fn issue_token(conn: &mut DbConnection, keys: &JwtKeys, t: NewToken<'_>) -> ApiResult<(String, TokenView)> {
    let NewToken {
        org,
        role,
        label,
        ttl_days,
        created_by,
        minted_by,
    } = t;
    let org_text = org.map(|o| o.to_string());
    let sub = format!("token:{label}");
    let (jwt, claims) = keys
        .mint(
            &sub,
            org_text.as_deref(),
            role,
            std::time::Duration::from_secs(ttl_days as u64 * 86_400),
        )
        .map_err(|e| ApiError::new(Code::CONFLICT, format!("this server cannot mint tokens: {e}")))?;
    let row = TokenView {
        id: claims.jti.clone(),
        org_id: org_text,
        role: role.as_str().to_owned(),
        label: label.to_owned(),
        created_by: created_by.to_owned(),
        created_at: chrono::DateTime::from_timestamp(claims.iat, 0)
            .unwrap_or_default()
            .naive_utc(),
        expires_at: chrono::DateTime::from_timestamp(claims.exp, 0)
            .unwrap_or_default()
            .naive_utc(),
        revoked_at: None,
        minted_by: minted_by.map(str::to_owned),
    };
    crate::db::tokens::insert(conn, &row)?;
    Ok((jwt, row))
}
