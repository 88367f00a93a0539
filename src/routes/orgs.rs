//! `/v1/orgs`: organisations, created by the operator.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{OrgJson, Page};
use super::AppState;
use crate::auth::{AuthContext, Role};
use crate::db::orgs::OrgView;
use crate::domain::currency::Currency;
use crate::domain::enums::{Industry, SizeBand};
use crate::domain::ids::OrgId;
use crate::domain::pilots::check_text;
use crate::domain::region::is_region;
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgBody {
    pub name: String,
    pub industry: Industry,
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: String,
}

/// A validated organisation.
pub struct NewOrg {
    pub name: String,
    pub industry: Industry,
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: Currency,
}

impl TryFrom<CreateOrgBody> for NewOrg {
    type Error = ApiError;

    fn try_from(b: CreateOrgBody) -> Result<Self, ApiError> {
        let name = check_text("name", &b.name, 200).map_err(super::pilots::field_error)?;
        if !is_region(&b.region) {
            return Err(ApiError::field(
                Code::INVALID_FIELD,
                "region",
                "region must be an ISO 3166-1 alpha-2 code such as DE",
            ));
        }
        let reporting_currency = Currency::parse(&b.reporting_currency)
            .map_err(|e| ApiError::field(Code::UNKNOWN_CURRENCY, "reporting_currency", e.to_string()))?;
        Ok(Self {
            name,
            industry: b.industry,
            size_band: b.size_band,
            region: b.region,
            reporting_currency,
        })
    }
}

impl NewOrg {
    /// The row to store for this organisation.
    pub fn into_row(self, id: OrgId) -> OrgView {
        OrgView {
            id: id.to_string(),
            name: self.name,
            industry: self.industry.as_str().to_owned(),
            size_band: self.size_band.as_str().to_owned(),
            region: self.region,
            reporting_currency: self.reporting_currency.code().to_owned(),
            ledger_version: 0,
            created_at: crate::db::now(),
        }
    }
}

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
            crate::db::orgs::insert(conn, &row)?;
            let after = serde_json::to_value(&row).ok();
            crate::db::audit::record(
                conn,
                Some(id),
                &actor,
                "org.create",
                "org",
                &row.id,
                None,
                after.as_ref(),
            )?;
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
        _ => return Err(ApiError::forbidden()),
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
        Role::Admin if auth.org == Some(id) => {}
        // Another organisation's id is indistinguishable from a missing one.
        Role::Admin => return Err(ApiError::new(Code::ORG_NOT_FOUND, "no such organisation")),
        _ => return Err(ApiError::forbidden()),
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
