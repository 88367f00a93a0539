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
use crate::db::pilots::PilotFilter;
use crate::domain::enums::{AiKind, BusinessFunction, Sourcing, Stage};
use crate::domain::ids::PilotId;
use crate::domain::pilots::{check_tags, check_text, FieldError, NewPilot, PilotPatch};
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::pilots::{new_pilot_row, optional_date, optional_text, CreatePilotBody};

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
            crate::ledger::pilots::create(conn, &row, &actor)?;
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
    /// When the pilot entered its stage (with `stage`: the new one's date;
    /// alone: a correction of the current one's).
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub stage_entered_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::domain::dates::strict_nested")]
    pub started_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::domain::dates::strict_nested")]
    pub evaluated_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub owner_team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub external_ref: Option<Option<String>>,
    /// Why the pilot was abandoned (with `stage: abandoned`, or for a pilot
    /// already abandoned).
    #[serde(default, deserialize_with = "present")]
    pub abandon_reason: Option<String>,
    /// With its currency; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub expected_annual_benefit: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub expected_annual_benefit_currency: Option<Option<String>>,
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
            stage_entered_on: optional_date("stage_entered_on", b.stage_entered_on)?,
            started_on: nested_date("started_on", b.started_on)?,
            evaluated_on: nested_date("evaluated_on", b.evaluated_on)?,
            owner_team: nested_text("owner_team", b.owner_team)?,
            tags: b.tags.map(check_tags).transpose()?,
            external_ref: nested_text("external_ref", b.external_ref)?,
            abandon_reason: b.abandon_reason,
            expected_benefit: match (b.expected_annual_benefit, b.expected_annual_benefit_currency) {
                (None, None) => None,
                // Cleared: null (its currency, if sent, must be null too).
                (Some(None), None | Some(None)) => Some(None),
                (Some(None), Some(Some(_))) => {
                    return Err(FieldError::new(
                        "expected_annual_benefit_currency",
                        "must be null when expected_annual_benefit is",
                    ))
                }
                (a, c) => Some(crate::ledger::pilots::expected_benefit(a.flatten(), c.flatten())?),
            },
        })
    }
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
        .write(move |conn| crate::ledger::pilots::update(conn, org, id, expected, patch, today, &actor))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(row.version)))
        .json(PilotJson::from(row)))
}
