//! `/v1/pilots`: an organisation's AI pilots. Every write bumps `version`, which
//! is the ETag; PATCH needs `If-Match`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use super::common::{field_error, pilot_not_found};
use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{Page, PilotJson};
use super::AppState;
use crate::auth::AuthContext;
use crate::db::pilots::{PilotFilter, PilotView};
use crate::domain::enums::{AiKind, BusinessFunction, Sourcing, Stage};
use crate::domain::ids::{OrgId, PilotId};
use crate::domain::pilots::{
    check_date, check_evaluation_order, check_tags, check_text, FieldError, NewPilot, PilotPatch,
};
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePilotBody {
    pub name: String,
    pub business_function: BusinessFunction,
    pub sourcing: Sourcing,
    pub ai_kind: AiKind,
    pub stage: Option<Stage>,
    pub started_on: Option<NaiveDate>,
    pub evaluated_on: Option<NaiveDate>,
    pub owner_team: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub external_ref: Option<String>,
}

fn optional_text(field: &'static str, v: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    v.map(|s| check_text(field, &s, max)).transpose()
}

fn optional_date(field: &'static str, v: Option<NaiveDate>) -> Result<Option<NaiveDate>, FieldError> {
    v.map(|d| check_date(field, d)).transpose()
}

impl TryFrom<CreatePilotBody> for NewPilot {
    type Error = FieldError;

    fn try_from(b: CreatePilotBody) -> Result<Self, FieldError> {
        let started_on = optional_date("started_on", b.started_on)?;
        let evaluated_on = optional_date("evaluated_on", b.evaluated_on)?;
        check_evaluation_order(started_on, evaluated_on)?;
        Ok(NewPilot {
            name: check_text("name", &b.name, 200)?,
            business_function: b.business_function,
            sourcing: b.sourcing,
            ai_kind: b.ai_kind,
            stage: b.stage.unwrap_or(Stage::Piloting),
            started_on,
            evaluated_on,
            owner_team: optional_text("owner_team", b.owner_team, 200)?,
            tags: check_tags(b.tags)?,
            external_ref: optional_text("external_ref", b.external_ref, 200)?,
        })
    }
}

/// The stored row for a new pilot.
pub fn new_pilot_row(org: OrgId, id: PilotId, p: NewPilot, today: NaiveDate) -> PilotView {
    let now = crate::db::now();
    PilotView {
        org_id: org.to_string(),
        id: id.to_string(),
        name: p.name,
        business_function: p.business_function.as_str().to_owned(),
        sourcing: p.sourcing.as_str().to_owned(),
        ai_kind: p.ai_kind.as_str().to_owned(),
        stage: p.stage.as_str().to_owned(),
        stage_entered_on: today,
        started_on: p.started_on,
        evaluated_on: p.evaluated_on,
        owner_team: p.owner_team,
        tags: serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
        external_ref: p.external_ref,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

pub async fn create_pilot(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreatePilotBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    let new = NewPilot::try_from(body.value).map_err(field_error)?;
    let id = PilotId::new();
    let row = new_pilot_row(org, id, new, chrono::Utc::now().date_naive());
    let actor = auth.actor();
    let row = state
        .write(move |conn| {
            crate::db::pilots::insert(conn, &row)?;
            // No entries yet, so no rates are needed.
            let no_rates = crate::analytics::fx_table::FxTable::default();
            crate::db::rollups::after_bulk_write(conn, &no_rates, std::slice::from_ref(&row), &[])?;
            let after = serde_json::to_value(PilotJson::from(row.clone())).ok();
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "pilot.create",
                "pilot",
                &row.id,
                None,
                after.as_ref(),
            )?;
            crate::db::orgs::bump_ledger_version(conn, org)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(row.version)))
        .insert_header((header::LOCATION, format!("/v1/pilots/{id}")))
        .json(PilotJson::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListPilotsQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
    pub stage: Option<Stage>,
    pub business_function: Option<BusinessFunction>,
    pub sourcing: Option<Sourcing>,
}

pub async fn list_pilots(
    state: web::Data<AppState>,
    auth: AuthContext,
    q: Query<ListPilotsQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let q = q.0;
    let page = paging(q.cursor.as_deref(), q.limit, PilotId::parse)?;
    let filter = PilotFilter {
        stage: q.stage.map(Stage::as_str),
        business_function: q.business_function.map(BusinessFunction::as_str),
        sourcing: q.sourcing.map(Sourcing::as_str),
    };
    let rows = state
        .db(move |conn| Ok(crate::db::pilots::list(conn, org, &filter, page.after, page.limit + 1)?))
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(PilotJson::from).collect(),
        next_cursor: next,
    }))
}

pub async fn get_pilot(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let id = path_id("pilot_id", &path, PilotId::parse)?;
    let row = state
        .db(move |conn| crate::db::pilots::find(conn, org, id).map_err(pilot_not_found))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(PilotJson::from(row)))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchPilotBody {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub business_function: Option<BusinessFunction>,
    #[serde(default, deserialize_with = "present")]
    pub sourcing: Option<Sourcing>,
    #[serde(default, deserialize_with = "present")]
    pub ai_kind: Option<AiKind>,
    #[serde(default, deserialize_with = "present")]
    pub stage: Option<Stage>,
    #[serde(default, deserialize_with = "double_option")]
    pub started_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub evaluated_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub owner_team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub external_ref: Option<Option<String>>,
}

/// A field that may be left out but, when sent, may not be `null` (these
/// fields cannot be cleared).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl TryFrom<PatchPilotBody> for PilotPatch {
    type Error = FieldError;

    fn try_from(b: PatchPilotBody) -> Result<Self, FieldError> {
        let nested_text = |field, v: Option<Option<String>>| -> Result<Option<Option<String>>, FieldError> {
            v.map(|inner| optional_text(field, inner, 200)).transpose()
        };
        let nested_date = |field, v: Option<Option<NaiveDate>>| -> Result<Option<Option<NaiveDate>>, FieldError> {
            v.map(|inner| optional_date(field, inner)).transpose()
        };
        Ok(PilotPatch {
            name: b.name.map(|n| check_text("name", &n, 200)).transpose()?,
            business_function: b.business_function,
            sourcing: b.sourcing,
            ai_kind: b.ai_kind,
            stage: b.stage,
            started_on: nested_date("started_on", b.started_on)?,
            evaluated_on: nested_date("evaluated_on", b.evaluated_on)?,
            owner_team: nested_text("owner_team", b.owner_team)?,
            tags: b.tags.map(check_tags).transpose()?,
            external_ref: nested_text("external_ref", b.external_ref)?,
        })
    }
}

/// Applies a patch to a stored pilot, bumping its version and, when the stage
/// changes, the date it entered that stage.
pub fn apply_patch(current: &PilotView, patch: PilotPatch, today: NaiveDate) -> Result<PilotView, FieldError> {
    let mut next = current.clone();
    if let Some(v) = patch.name {
        next.name = v;
    }
    if let Some(v) = patch.business_function {
        next.business_function = v.as_str().to_owned();
    }
    if let Some(v) = patch.sourcing {
        next.sourcing = v.as_str().to_owned();
    }
    if let Some(v) = patch.ai_kind {
        next.ai_kind = v.as_str().to_owned();
    }
    if let Some(v) = patch.stage {
        if v.as_str() != current.stage {
            next.stage = v.as_str().to_owned();
            next.stage_entered_on = today;
        }
    }
    if let Some(v) = patch.started_on {
        next.started_on = v;
    }
    if let Some(v) = patch.evaluated_on {
        next.evaluated_on = v;
    }
    if let Some(v) = patch.owner_team {
        next.owner_team = v;
    }
    if let Some(v) = patch.tags {
        next.tags = serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    }
    if let Some(v) = patch.external_ref {
        next.external_ref = v;
    }
    check_evaluation_order(next.started_on, next.evaluated_on)?;
    next.version = current.version + 1;
    next.updated_at = crate::db::now();
    Ok(next)
}

/// Parses `If-Match`: a quoted version, or `*` for "whatever is current".
fn if_match(req: &HttpRequest) -> ApiResult<Option<i64>> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Err(ApiError::new(
            Code::PRECONDITION_REQUIRED,
            "send If-Match with the pilot's ETag (from GET /v1/pilots/{pilot_id})",
        ));
    };
    let text = v.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    // Strong entity tags only, as this API issues them: "7".
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::field(
                Code::INVALID_HEADER,
                "If-Match",
                "If-Match must be an ETag this API issued, such as \"3\", or *",
            )
        })
}

pub async fn update_pilot(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<PatchPilotBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    let id = path_id("pilot_id", &path, PilotId::parse)?;
    let expected = if_match(&req)?;
    let patch = PilotPatch::try_from(body.value).map_err(field_error)?;
    let actor = auth.actor();
    let today = chrono::Utc::now().date_naive();
    let row = state
        .write(move |conn| {
            let current = crate::db::pilots::find(conn, org, id).map_err(pilot_not_found)?;
            if expected.is_some_and(|v| v != current.version) {
                return Err(ApiError::new(
                    Code::PRECONDITION_FAILED,
                    format!("the pilot is at version {}; GET it again and retry", current.version),
                ));
            }
            let next = apply_patch(&current, patch, today).map_err(field_error)?;
            if !crate::db::pilots::update_if_version(conn, &next, current.version)? {
                return Err(ApiError::new(Code::PRECONDITION_FAILED, "the pilot changed meanwhile"));
            }
            crate::db::rollups::recompute(conn, org, id)?;
            let before = serde_json::to_value(PilotJson::from(current)).ok();
            let after = serde_json::to_value(PilotJson::from(next.clone())).ok();
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "pilot.update",
                "pilot",
                &next.id,
                before.as_ref(),
                after.as_ref(),
            )?;
            crate::db::orgs::bump_ledger_version(conn, org)?;
            Ok(next)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(PilotJson::from(row)))
}
