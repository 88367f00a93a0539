//! Issued tokens: their `jti`, role, label, expiry and revocation. The secret
//! itself is never stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tokens;
use super::{DbConnection, DbError};
use crate::domain::ids::{OrgId, TokenId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct TokenView {
    pub id: String,
    pub org_id: Option<String>,
    pub role: String,
    pub label: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// The `jti` of the token that minted this one, if it was minted over the API.
    pub minted_by: Option<String>,
}

/// `created_by` of the operator token a first start mints and prints.
pub const FIRST_START_CREATOR: &str = "pilotledger serve";

/// Whether a first start has minted its operator token over this database.
pub fn first_start_token_issued(conn: &mut DbConnection) -> Result<bool, DbError> {
    let n: i64 = tokens::table
        .filter(tokens::created_by.eq(FIRST_START_CREATOR))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut DbConnection, token: &TokenView) -> Result<(), DbError> {
    diesel::insert_into(tokens::table).values(token).execute(conn)?;
    Ok(())
}

/// Whether the token with this `jti` has been revoked. Tokens the server never
/// issued (from an identity provider) are not in the table and not revoked.
pub fn is_revoked(conn: &mut DbConnection, jti: &str) -> Result<bool, DbError> {
    let revoked: Option<Option<NaiveDateTime>> = tokens::table
        .find(jti)
        .select(tokens::revoked_at)
        .get_result(conn)
        .optional()?;
    Ok(matches!(revoked, Some(Some(_))))
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    after: Option<TokenId>,
    limit: i64,
) -> Result<Vec<TokenView>, DbError> {
    let mut q = tokens::table
        .filter(tokens::org_id.eq(org.to_string()))
        .select(TokenView::as_select())
        .order(tokens::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(tokens::id.gt(a.to_string()));
    }
    Ok(q.load(conn)?)
}

pub fn find(conn: &mut DbConnection, org: OrgId, id: TokenId) -> Result<TokenView, DbError> {
    tokens::table
        .filter(tokens::org_id.eq(org.to_string()))
        .filter(tokens::id.eq(id.to_string()))
        .select(TokenView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// Marks a token revoked, and every token it minted, and every token those
/// minted, and so on (idempotent: the first revocation time is kept). Returns
/// how many tokens were newly revoked.
pub fn revoke(conn: &mut DbConnection, org: OrgId, id: TokenId, at: NaiveDateTime) -> Result<usize, DbError> {
    let mut revoked = diesel::update(
        tokens::table
            .filter(tokens::org_id.eq(org.to_string()))
            .filter(tokens::id.eq(id.to_string()))
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(Some(at)))
    .execute(conn)?;
    // Walk down the minting tree a generation at a time. Already revoked
    // tokens are walked too: their children may predate this column's rule.
    let mut generation = vec![id.to_string()];
    let mut seen: std::collections::HashSet<String> = generation.iter().cloned().collect();
    while !generation.is_empty() {
        let children: Vec<String> = tokens::table
            .filter(tokens::minted_by.eq_any(&generation))
            .select(tokens::id)
            .load(conn)?;
        let children: Vec<String> = children.into_iter().filter(|c| seen.insert(c.clone())).collect();
        if children.is_empty() {
            break;
        }
        revoked += diesel::update(
            tokens::table
                .filter(tokens::id.eq_any(&children))
                .filter(tokens::revoked_at.is_null()),
        )
        .set(tokens::revoked_at.eq(Some(at)))
        .execute(conn)?;
        generation = children;
    }
    Ok(revoked)
}
