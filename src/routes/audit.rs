//! `/v1/audit` and `/v1/audit.csv`: an organisation's audit log, for its
//! admins, searchable by actor, action, pilot and time range. JSON pages with
//! a cursor; CSV answers every matching event (up to [`CSV_MAX_ROWS`], the
//! cursor to continue from in `X-Next-Cursor` beyond).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::common::{negotiate, Format};
use super::extract::{finish_page, paging, Query};
use super::views::{rfc3339, Page};
use super::AppState;
use crate::auth::AuthContext;
use crate::db::audit::{AuditFilter, AuditView};
use crate::domain::ids::{AuditId, PilotId};
use crate::error::{ApiError, ApiResult, Code};
use crate::export::csv;

/// Most events one CSV answer holds.
pub const CSV_MAX_ROWS: i64 = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub pilot_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<Format>,
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

fn instant(field: &'static str, raw: Option<&str>) -> ApiResult<Option<chrono::NaiveDateTime>> {
    raw.map(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.naive_utc())
            .map_err(|_| {
                ApiError::field(
                    Code::INVALID_QUERY,
                    field,
                    format!("{field} must be an RFC 3339 timestamp"),
                )
            })
    })
    .transpose()
}

fn filter_of(q: &AuditQuery) -> ApiResult<AuditFilter> {
    let text = |field: &'static str, v: &Option<String>| -> ApiResult<Option<String>> {
        match v {
            Some(s) if s.is_empty() || s.len() > 200 => Err(ApiError::field(
                Code::INVALID_QUERY,
                field,
                format!("{field} must be 1 to 200 characters"),
            )),
            other => Ok(other.clone()),
        }
    };
    let pilot = match q.pilot_id.as_deref() {
        None => None,
        Some(p) => Some(
            PilotId::parse(p)
                .ok_or_else(|| ApiError::field(Code::INVALID_QUERY, "pilot_id", "pilot_id must be a UUID"))?,
        ),
    };
    let filter = AuditFilter {
        actor: text("actor", &q.actor)?,
        action: text("action", &q.action)?,
        pilot,
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
    };
    if let (Some(f), Some(t)) = (filter.from, filter.to) {
        if t < f {
            return Err(ApiError::field(Code::INVALID_QUERY, "to", "to is before from"));
        }
    }
    Ok(filter)
}

fn json_of(r: AuditView) -> AuditJson {
    AuditJson {
        id: r.id,
        at: rfc3339(r.at),
        actor: r.actor,
        actor_role: r.actor_role,
        action: r.action,
        object_type: r.object_type,
        object_id: r.object_id,
        before: r.before_json.and_then(|s| serde_json::from_str(&s).ok()),
        after: r.after_json.and_then(|s| serde_json::from_str(&s).ok()),
    }
}

/// The CSV columns of the audit export.
pub const AUDIT_COLUMNS: [&str; 9] = [
    "id",
    "at",
    "actor",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
];

pub async fn list_audit(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let format = negotiate(&req, q.0.format)?;
    let filter = filter_of(&q.0)?;
    let limit = match format {
        Format::Json => q.0.limit,
        Format::Csv => Some(q.0.limit.unwrap_or(super::extract::MAX_LIMIT)),
    };
    let page = paging(q.0.cursor.as_deref(), limit, AuditId::parse)?;
    if format == Format::Csv {
        let after = page.after;
        let rows = state
            .read(move |conn| Ok(crate::db::audit::search(conn, org, &filter, after, CSV_MAX_ROWS + 1)?))
            .await?;
        let (rows, next) = finish_page(rows, CSV_MAX_ROWS, |r| r.id.as_str());
        let mut lines = vec![csv::row(AUDIT_COLUMNS)];
        for r in rows {
            lines.push(csv::row([
                r.id,
                rfc3339(r.at),
                r.actor,
                r.actor_role,
                r.action,
                r.object_type,
                r.object_id,
                r.before_json.unwrap_or_default(),
                r.after_json.unwrap_or_default(),
            ]));
        }
        let mut resp = super::common::csv_response("audit.csv", lines);
        if let Some(n) = next {
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&n) {
                resp.headers_mut()
                    .insert(actix_web::http::header::HeaderName::from_static("x-next-cursor"), v);
            }
        }
        return Ok(resp);
    }
    let rows = state
        .db(move |conn| {
            Ok(crate::db::audit::search(
                conn,
                org,
                &filter,
                page.after,
                page.limit + 1,
            )?)
        })
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(json_of).collect::<Vec<_>>(),
        next_cursor: next,
    }))
}
