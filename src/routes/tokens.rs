//! `/v1/tokens`: team tokens an organisation's admin issues, lists and revokes.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{rfc3339, Page};
use super::AppState;
use crate::auth::{AuthContext, Role};
use crate::db::tokens::TokenView;
use crate::domain::ids::TokenId;
use crate::domain::pilots::check_text;
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    pub role: Role,
    pub label: String,
    pub ttl_days: Option<i64>,
}

#[derive(Serialize)]
pub struct CreatedTokenJson {
    pub id: String,
    pub token: String,
    pub role: &'static str,
    pub label: String,
    pub expires_at: String,
}

#[derive(Serialize)]
pub struct TokenJson {
    pub id: String,
    pub role: String,
    pub label: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl From<TokenView> for TokenJson {
    fn from(t: TokenView) -> Self {
        Self {
            id: t.id,
            role: t.role,
            label: t.label,
            created_by: t.created_by,
            created_at: rfc3339(t.created_at),
            expires_at: rfc3339(t.expires_at),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

pub async fn create_token(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreateTokenBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let b = body.value;
    if !matches!(b.role, Role::Member | Role::Finance | Role::Admin) {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "role",
            "an organisation can issue member, finance or admin tokens",
        ));
    }
    let label = check_text("label", &b.label, 100).map_err(super::common::field_error)?;
    let ttl_days = b.ttl_days.unwrap_or(90);
    let max_days = i64::from(state.settings.max_token_ttl_days.min(365));
    if !(1..=max_days).contains(&ttl_days) {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "ttl_days",
            format!("ttl_days must be from 1 to {max_days}"),
        ));
    }
    let actor = auth.actor();
    let minted_by = auth.jti.clone();
    let keys = state.verifier.keys.clone();
    let role = b.role;
    let (jwt, row) = state
        .write(move |conn| {
            let token = crate::ledger::tokens::NewToken {
                org: Some(org),
                role,
                label: &label,
                ttl_days,
                created_by: &actor.sub,
                minted_by: Some(&minted_by),
            };
            let (jwt, row) = crate::ledger::tokens::issue_token(conn, &keys, token)?;
            let after =
                serde_json::json!({"role": row.role, "label": row.label, "expires_at": rfc3339(row.expires_at)});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "token.create",
                "token",
                &row.id,
                None,
                Some(&after),
            )?;
            Ok((jwt, row))
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedTokenJson {
        id: row.id,
        token: jwt,
        role: role.as_str(),
        label: row.label,
        expires_at: rfc3339(row.expires_at),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_tokens(
    state: web::Data<AppState>,
    auth: AuthContext,
    q: Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let page = paging(q.0.cursor.as_deref(), q.0.limit, TokenId::parse)?;
    let rows = state
        .db(move |conn| Ok(crate::db::tokens::list(conn, org, page.after, page.limit + 1)?))
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(TokenJson::from).collect(),
        next_cursor: next,
    }))
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id("token_id", &path, TokenId::parse)?;
    let actor = auth.actor();
    state
        .write(move |conn| {
            let before = crate::db::tokens::find(conn, org, id).map_err(|e| match e {
                crate::db::DbError::NotFound => ApiError::new(Code::TOKEN_NOT_FOUND, "no such token"),
                other => other.into(),
            })?;
            let now = crate::db::now();
            let newly = crate::db::tokens::revoke(conn, org, id, now)?;
            let b = serde_json::json!({"revoked_at": before.revoked_at.map(rfc3339)});
            // Tokens it minted (and theirs) are revoked with it.
            let minted = newly.saturating_sub(usize::from(before.revoked_at.is_none()));
            let a = serde_json::json!({
                "revoked_at": rfc3339(before.revoked_at.unwrap_or(now)),
                "minted_tokens_revoked": minted,
            });
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "token.revoke",
                "token",
                &before.id,
                Some(&b),
                Some(&a),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
