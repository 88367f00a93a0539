//! `POST /v1/projections/gap`: the AI infrastructure revenue-gap projection, as
//! JSON or CSV. Any authenticated role may call it; the `measured` source
//! spends one unit of the caller's research-query budget and reads a cached
//! aggregate (recomputed when the data change).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::common::{negotiate, Format};
use super::extract::{Json, Query};
use super::AppState;
use crate::analytics::projection::{project, Bands, GapParams, GapProjection};
use crate::auth::AuthContext;
use crate::error::{ApiError, ApiResult, Code};
use crate::export::csv;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    pub format: Option<Format>,
}

pub async fn project_gap(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    q: Query<FormatQuery>,
    body: Json<GapParams>,
) -> ApiResult<HttpResponse> {
    let format = negotiate(&req, q.0.format)?;
    let params = body.value;
    params
        .validate()
        .map_err(|e| ApiError::field(Code::INVALID_FIELD, e.field.clone(), e.reason.clone()))?;
    let measured = if params.success_rate.as_ref().and_then(|s| s.source.as_deref()) == Some("measured") {
        // The cross-organisation aggregate behind it counts against the
        // caller's research-query budget, whatever the role (issue 18: a
        // member ran 1,362 aggregates in 15 s).
        state.check_rate(&auth.jti)?;
        Some(super::aggregates::measured_success_rate(&state).await?)
    } else {
        None
    };
    // Monte Carlo can take a noticeable moment: keep it off the async executor.
    let result = web::block(move || project(&params, measured.as_ref()))
        .await?
        .map_err(|e| ApiError::field(Code::INVALID_FIELD, e.field.clone(), e.reason.clone()))?;
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(result),
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"gap-projection.csv\"",
            ))
            .body(projection_csv(&result)),
    })
}

fn num(x: f64) -> String {
    format!("{x}")
}

/// One row per scenario and year, bands as extra columns (empty when absent).
pub fn projection_csv(p: &GapProjection) -> String {
    let mut out = csv::row([
        "scenario",
        "year",
        "spend_usd_bn",
        "required_revenue_usd_bn",
        "revenue_usd_bn",
        "gap_usd_bn",
        "cumulative_gap_usd_bn",
        "success_rate",
        "gap_low_or_p10_usd_bn",
        "gap_p50_usd_bn",
        "gap_high_or_p90_usd_bn",
        "gap_closes_in",
    ]);
    for s in &p.scenarios {
        for y in &s.years {
            let (lo, mid, hi) = match &y.bands {
                None => (String::new(), String::new(), String::new()),
                Some(Bands::Interval { low, high }) => (num(low.gap_usd_bn), String::new(), num(high.gap_usd_bn)),
                Some(Bands::Percentiles { p10, p50, p90 }) => {
                    (num(p10.gap_usd_bn), num(p50.gap_usd_bn), num(p90.gap_usd_bn))
                }
            };
            out.push_str(&csv::row([
                s.name.to_string(),
                y.year.to_string(),
                num(y.spend_usd_bn),
                num(y.required_revenue_usd_bn),
                num(y.revenue_usd_bn),
                num(y.gap_usd_bn),
                num(y.cumulative_gap_usd_bn),
                num(y.success_rate),
                lo,
                mid,
                hi,
                s.gap_closes_in.map(|v| v.to_string()).unwrap_or_default(),
            ]));
        }
    }
    out
}
