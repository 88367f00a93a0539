//! Finance views of one organisation: `GET /v1/pilots/{pilot_id}/roi` (member,
//! finance, admin) and `GET /v1/summary` (finance, admin), as JSON or CSV, in
//! the reporting currency or `currency=`, optionally `as_of` an instant.
//! Summaries are served from `summary_cache` while the ledger is unchanged.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;

use super::common::{
    csv_chunks_response, csv_response, currency_param, definition_params, negotiate, parse_as_of, pilot_not_found,
    Format,
};
use super::extract::{path_id, Query};
use super::AppState;
use crate::analytics::roi::{pilot_roi, RoiError};
use crate::analytics::summary::{summarise, GroupBy, Summary, SummaryQuery};
use crate::auth::{AuthContext, PendingAuth, Role};
use crate::db::facts::pilots_as_of;
use crate::domain::ids::{OrgId, PilotId};
use crate::error::{ApiError, ApiResult, Code};
use crate::export::csv;
use crate::ledger::budgets::{with_burn, BudgetJson};
use crate::state::summary_cache::{RenderedSummary, SummaryKey, SUMMARY_CSV};

/// Maps the computations' errors: a missing FX rate names currency and date.
pub fn roi_error(e: RoiError) -> ApiError {
    match e {
        RoiError::FxRateMissing { .. } => ApiError::field(Code::FX_RATE_MISSING, "currency", e.to_string()),
        RoiError::Overflow { .. } => ApiError::new(Code::AMOUNT_OVERFLOW, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoiQuery {
    pub currency: Option<String>,
    pub as_of: Option<String>,
    pub min_impact: Option<i64>,
    pub window_months: Option<u32>,
    pub format: Option<Format>,
}

pub async fn get_pilot_roi(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    path: web::Path<String>,
    q: Query<RoiQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let pilot = path_id("pilot_id", &path, PilotId::parse)?;
    let q = q.0;
    let as_of = parse_as_of(q.as_of.as_deref())?;
    let params = definition_params(q.min_impact, q.window_months)?;
    let format = negotiate(&req, q.format)?;
    let wanted = q.currency;
    let roi = state
        .read(move |conn| {
            let current = crate::db::pilots::find(conn, org, pilot).map_err(pilot_not_found)?;
            let org_row = crate::db::orgs::find(conn, org)?;
            let target = currency_param(wanted.as_deref(), &org_row.reporting_currency)?;
            // This pilot's rows only, not the organisation's.
            let facts = crate::db::facts::pilot_as_of(conn, org, pilot, &current, as_of)?
                .ok_or_else(|| ApiError::new(Code::PILOT_NOT_FOUND, "the pilot did not exist at as_of"))?;
            let entries = crate::db::facts::pilot_entries_as_of(conn, org, pilot, as_of)?;
            let fx = crate::db::fx::table(conn)?;
            let roi = pilot_roi(&facts, &entries, target, &fx, params).map_err(roi_error)?;
            let mine = crate::db::budgets::list(conn, org)?
                .into_iter()
                .filter(|b| b.pilot_id.as_deref() == Some(roi.pilot_id.as_str()))
                .collect();
            let budgets = with_burn(conn, mine, chrono::Utc::now().date_naive())?;
            Ok((roi, budgets))
        })
        .await?;
    let (roi, budgets) = roi;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(WithBudgets { inner: &roi, budgets }),
        Format::Csv => {
            let mut rows = vec![csv::row([
                "pilot_id",
                "pilot_name",
                "month",
                "spend",
                "measured_impact",
                "cumulative_spend",
                "cumulative_measured_impact",
                "currency",
            ])];
            for m in &roi.monthly {
                rows.push(csv::row([
                    roi.pilot_id.as_str(),
                    roi.name.as_str(),
                    m.month.as_str(),
                    m.spend.amount.as_str(),
                    m.measured_impact.amount.as_str(),
                    m.cumulative_spend.amount.as_str(),
                    m.cumulative_measured_impact.amount.as_str(),
                    roi.currency.as_str(),
                ]));
            }
            csv_response("pilot-roi.csv", rows)
        }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryParams {
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub to: Option<NaiveDate>,
    pub group_by: Option<GroupBy>,
    pub currency: Option<String>,
    pub as_of: Option<String>,
    pub min_impact: Option<i64>,
    pub window_months: Option<u32>,
    pub format: Option<Format>,
}

/// The CSV columns of a summary: one row for the totals, then one per group.
pub const SUMMARY_COLUMNS: [&str; 13] = [
    "key",
    "pilots",
    "spend",
    "measured_impact",
    "estimated_impact",
    "net_measured",
    "roi",
    "evaluated",
    "zero_impact",
    "zero_impact_share",
    "zero_impact_spend",
    "currency",
    "definition_version",
];

/// `GET /v1/summary`. The stamp reader checks the token's revocation and
/// reads the organisation's change stamp (for every request waiting at that
/// moment at once, `db::stamp_reader`); while the stamp is the one a
/// cached answer was computed under, that answer is sent (see
/// `summary_cache`). Otherwise the summary is computed, sent and kept.
pub async fn get_summary(
    state: web::Data<AppState>,
    pending: PendingAuth,
    req: HttpRequest,
    q: Query<SummaryParams>,
) -> ApiResult<HttpResponse> {
    let jti = pending.jti().to_owned();
    let stamp_org = pending.org_if(&[Role::Finance, Role::Admin]);
    let (revoked, stamp) = match state.stamps.try_read(jti.clone(), stamp_org) {
        Some(read) => match actix_web::rt::time::timeout(state.settings.request_timeout, read).await {
            Ok(Ok(read)) => read?,
            Ok(Err(_)) => return Err(ApiError::unavailable("the stamp reader stopped")),
            Err(_) => return Err(ApiError::timed_out()),
        },
        // A full queue: read on the blocking pool like any other request.
        None => {
            state
                .db(move |conn| Ok(crate::db::changes::revocation_and_stamp(conn, &jti, stamp_org)?))
                .await?
        }
    };
    let auth = pending.confirm(revoked)?;
    let org: OrgId = auth.org_finance()?;
    let q = q.0;
    let as_of = parse_as_of(q.as_of.as_deref())?;
    let params = definition_params(q.min_impact, q.window_months)?;
    for (field, date) in [("from", q.from), ("to", q.to)] {
        if let Some(d) = date {
            crate::domain::pilots::check_date(field, d)
                .map_err(|e| ApiError::field(Code::INVALID_QUERY, field, e.reason))?;
        }
    }
    if let (Some(f), Some(t)) = (q.from, q.to) {
        if t < f {
            return Err(ApiError::field(Code::INVALID_QUERY, "to", "to is before from"));
        }
    }
    let format = negotiate(&req, q.format)?;
    let key = SummaryKey {
        org,
        from: q.from,
        to: q.to,
        group_by: q.group_by,
        currency: q.currency.clone(),
        as_of,
        min_impact: params.min_impact,
        window_months: params.window_months,
        format,
        day: chrono::Utc::now().date_naive(),
    };
    if let Some(hit) = stamp.and_then(|s| state.summary_cache.get(&key, &s)) {
        return Ok(respond(&hit));
    }
    let (from, to, group_by, wanted) = (q.from, q.to, q.group_by, q.currency);
    let summary = state
        .read(move |conn| {
            let org_row = crate::db::orgs::find(conn, org)?;
            let currency = currency_param(wanted.as_deref(), &org_row.reporting_currency)?;
            let pilots = pilots_as_of(conn, org, as_of)?;
            let entries = crate::db::facts::entries_as_of(conn, org, as_of)?;
            let fx = crate::db::fx::table(conn)?;
            let query = SummaryQuery {
                from,
                to,
                group_by,
                currency,
                params,
            };
            let mut summary = summarise(&pilots, &entries, &query, &fx).map_err(roi_error)?;
            summary.unallocated_spend = unallocated_spend(conn, org)?;
            let on = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let rows = crate::db::budgets::list(conn, org)?;
            let budgets = with_burn(conn, rows, on)?;
            Ok((summary, budgets))
        })
        .await?;
    let (summary, budgets) = summary;
    let rendered = render_summary(&summary, budgets, format)?;
    // Kept under the stamp read before the computation: the data it read is
    // at least that new, and the stamp only moves forward, so a later request
    // that reads the same stamp sees exactly this data.
    if let Some(stamp) = stamp {
        state
            .summary_cache
            .insert(key, stamp, rendered.clone(), rendered.weight());
    }
    Ok(respond(&rendered))
}

/// A JSON answer with the organisation's (or pilot's) budgets and their burn
/// beside its figures (`ledger::budgets`).
#[derive(serde::Serialize)]
struct WithBudgets<'a, T: serde::Serialize> {
    #[serde(flatten)]
    inner: &'a T,
    budgets: Vec<BudgetJson>,
}

/// The organisation's unallocated bill spend (issue 21), for the summary.
fn unallocated_spend(
    conn: &mut crate::db::DbConnection,
    org: OrgId,
) -> ApiResult<Vec<crate::analytics::summary::UnallocatedSpend>> {
    Ok(crate::ledger::spend_sources::unallocated(conn, org)?
        .into_iter()
        .map(|u| crate::analytics::summary::UnallocatedSpend {
            currency: u.currency,
            amount: u.amount,
            amount_minor: u.amount_minor,
            rows: u.rows,
            sources: u.sources,
        })
        .collect())
}

/// A summary answer, ready to send (cloning bytes is a reference count).
fn respond(rendered: &RenderedSummary) -> HttpResponse {
    match rendered {
        RenderedSummary::Json(body) => HttpResponse::Ok()
            .content_type(header::ContentType::json())
            .body(body.clone()),
        RenderedSummary::Csv(rows) => csv_chunks_response(SUMMARY_CSV, rows.clone()),
    }
}

/// A summary as it is sent, in JSON or as CSV rows.
fn render_summary(summary: &Summary, budgets: Vec<BudgetJson>, format: Format) -> ApiResult<RenderedSummary> {
    Ok(match format {
        Format::Json => RenderedSummary::Json(Bytes::from(
            serde_json::to_vec(&WithBudgets {
                inner: summary,
                budgets,
            })
            .map_err(ApiError::internal)?,
        )),
        Format::Csv => {
            let mut rows = vec![csv::row(SUMMARY_COLUMNS)];
            for g in std::iter::once(&summary.totals).chain(&summary.groups) {
                rows.push(csv::row([
                    g.key.clone(),
                    g.pilots.to_string(),
                    g.spend.amount.clone(),
                    g.measured_impact.amount.clone(),
                    g.estimated_impact.amount.clone(),
                    g.net_measured.amount.clone(),
                    g.roi.clone().unwrap_or_default(),
                    g.evaluated.to_string(),
                    g.zero_impact.to_string(),
                    g.zero_impact_share.clone().unwrap_or_default(),
                    g.zero_impact_spend.amount.clone(),
                    summary.currency.clone(),
                    summary.definition_version.to_owned(),
                ]));
            }
            RenderedSummary::Csv(rows.into_iter().map(Bytes::from).collect())
        }
    })
}
