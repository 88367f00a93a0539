//! `/v1/orgs`: organisations, created by the operator.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{OrgJson, Page};
use super::AppState;
use crate::auth::{AuthContext, Role};
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::orgs::{CreateOrgBody, NewOrg, PatchOrgBody};

pub async fn create_org(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreateOrgBody>,
) -> ApiResult<HttpResponse> {
    auth.operator()?;
    let new = NewOrg::try_from(body.value)?;
    let id = OrgId::new();
    let row = new.into_row(id);
    let actor = auth.actor();
    let stored = state
        .write(move |conn| {
            crate::ledger::orgs::create(conn, &row, &actor)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/orgs/{id}")))
        .json(OrgJson::from(stored)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// Operators see every organisation; an admin sees only their own.
pub async fn list_orgs(state: web::Data<AppState>, auth: AuthContext, q: Query<ListQuery>) -> ApiResult<HttpResponse> {
    let page = paging(q.0.cursor.as_deref(), q.0.limit, OrgId::parse)?;
    let own = match auth.role {
        Role::Operator => None,
        Role::Admin => Some(auth.org_admin()?),
        _ => return Err(auth.forbidden("an operator token, or an admin token of the organisation")),
    };
    let rows = state
        .db(move |conn| match own {
            None => Ok(crate::db::orgs::list(conn, page.after, page.limit + 1)?),
            Some(org) if page.after.is_none() => Ok(vec![crate::db::orgs::find(conn, org)?]),
            Some(_) => Ok(vec![]),
        })
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(OrgJson::from).collect(),
        next_cursor: next,
    }))
}

pub async fn get_org(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = path_id("org_id", &path, OrgId::parse)?;
    match auth.role {
        Role::Operator => {}
        // Every role of an organisation may read its own record (the
        // dashboard shows its name).
        Role::Member | Role::Finance | Role::Admin if auth.org == Some(id) => {}
        // Another organisation's id is indistinguishable from a missing one.
        Role::Member | Role::Finance | Role::Admin => {
            return Err(ApiError::new(Code::ORG_NOT_FOUND, "no such organisation"))
        }
        Role::Researcher => return Err(auth.forbidden("an operator token, or a token of the organisation")),
    }
    let row = state
        .db(move |conn| {
            crate::db::orgs::find(conn, id).map_err(|e| match e {
                crate::db::DbError::NotFound => ApiError::new(Code::ORG_NOT_FOUND, "no such organisation"),
                other => other.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrgJson::from(row)))
}

/// `PATCH /v1/orgs/{org_id}`: the organisation's settings, by the operator or
/// the organisation's own admin (another organisation's id is a 404). Audited.
pub async fn update_org(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    body: Json<PatchOrgBody>,
) -> ApiResult<HttpResponse> {
    let id = path_id("org_id", &path, OrgId::parse)?;
    match auth.role {
        Role::Operator => {}
        Role::Admin if auth.org == Some(id) => {}
        Role::Admin => return Err(ApiError::new(Code::ORG_NOT_FOUND, "no such organisation")),
        _ => return Err(auth.forbidden("an operator token, or an admin token of the organisation")),
    }
    let patch = body.value;
    let actor = auth.actor();
    let row = state
        .write(move |conn| {
            crate::ledger::orgs::update_settings(conn, id, &patch, &actor).map_err(|e| match e {
                crate::db::DbError::NotFound => ApiError::new(Code::ORG_NOT_FOUND, "no such organisation"),
                other => other.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(OrgJson::from(row)))
}
