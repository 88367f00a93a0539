//! `/v1/audit`: an organisation's audit log, for its admins.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{finish_page, paging, Query};
use super::views::{rfc3339, Page};
use super::AppState;
use crate::auth::AuthContext;
use crate::domain::ids::AuditId;
use crate::error::ApiResult;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
pub struct AuditJson {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn list_audit(
    state: web::Data<AppState>,
    auth: AuthContext,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let page = paging(q.0.cursor.as_deref(), q.0.limit, AuditId::parse)?;
    let rows = state
        .db(move |conn| Ok(crate::db::audit::list(conn, org, page.after, page.limit + 1)?))
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    let items = rows
        .into_iter()
        .map(|r| AuditJson {
            id: r.id,
            at: rfc3339(r.at),
            actor: r.actor,
            actor_role: r.actor_role,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            before: r.before_json.and_then(|s| serde_json::from_str(&s).ok()),
            after: r.after_json.and_then(|s| serde_json::from_str(&s).ok()),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next,
    }))
}
