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
    /// Which table a CSV carries (default `years`).
    pub table: Option<CsvTable>,
}

/// The tables of a projection's CSV.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CsvTable {
    /// One row per scenario and year.
    #[default]
    Years,
    /// One row per scenario and capex vintage.
    Payback,
    /// One row per tornado bar.
    Sensitivity,
}

pub async fn project_gap(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    q: Query<FormatQuery>,
    body: Json<GapParams>,
) -> ApiResult<HttpResponse> {
    let format = negotiate(&req, q.0.format)?;
    let table = q.0.table.unwrap_or_default();
    if format == Format::Json && table != CsvTable::Years {
        let reason = "`table` picks a CSV table; the JSON response carries them all";
        return Err(ApiError::field(Code::INVALID_QUERY, "table", reason));
    }
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
            .body(match table {
                CsvTable::Years => projection_csv(&result),
                CsvTable::Payback => payback_csv(&result),
                CsvTable::Sensitivity => sensitivity_csv(&result),
            }),
    })
}

fn num(x: f64) -> String {
    format!("{x}")
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

fn year_or_empty(y: Option<i32>) -> String {
    y.map(|v| v.to_string()).unwrap_or_default()
}

/// One row per scenario and year, bands as extra columns (empty when absent);
/// the columns issue 22 added follow the original twelve, so positional
/// readers keep working. Payback and the tornado are `?table=payback` and
/// `?table=sensitivity`.
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
        "required_revenue_depreciation_usd_bn",
        "gap_depreciation_usd_bn",
        "cumulative_gap_depreciation_usd_bn",
        "gap_closes_in_depreciation",
        "depreciation_usd_bn",
        "net_book_value_usd_bn",
        "capital_charge_usd_bn",
        "hyperscaler_revenue_usd_bn",
        "capital_intensity",
        "capex_growth",
        "hyperscaler_revenue_growth",
        "capex_revenue_divergence",
        "ai_revenue_growth",
        "capex_ai_revenue_divergence",
        "operating_cash_flow_usd_bn",
        "shareholder_returns_usd_bn",
        "funding_gap_usd_bn",
        "cumulative_new_debt_usd_bn",
        "success_rate_basis",
        "success_rate_quarter",
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
                year_or_empty(s.gap_closes_in),
                num(y.required_revenue_depreciation_usd_bn),
                num(y.gap_depreciation_usd_bn),
                num(y.cumulative_gap_depreciation_usd_bn),
                year_or_empty(s.gap_closes_in_by_method.depreciation),
                num(y.depreciation_usd_bn),
                num(y.net_book_value_usd_bn),
                num(y.capital_charge_usd_bn),
                num(y.hyperscaler_revenue_usd_bn),
                opt(y.capital_intensity),
                opt(y.capex_growth),
                opt(y.hyperscaler_revenue_growth),
                opt(y.capex_revenue_divergence),
                opt(y.ai_revenue_growth),
                opt(y.capex_ai_revenue_divergence),
                num(y.operating_cash_flow_usd_bn),
                num(y.shareholder_returns_usd_bn),
                num(y.funding_gap_usd_bn),
                num(y.cumulative_new_debt_usd_bn),
                y.success_rate_basis.to_string(),
                y.success_rate_quarter.clone().unwrap_or_default(),
            ]));
        }
    }
    out
}

/// One row per scenario and capex vintage.
pub fn payback_csv(p: &GapProjection) -> String {
    let mut out = csv::row([
        "scenario",
        "vintage",
        "capex_usd_bn",
        "payback_years",
        "recovered_share",
        "status",
    ]);
    for s in &p.scenarios {
        for v in &s.payback {
            let status = serde_json::to_value(v.status).ok();
            out.push_str(&csv::row([
                s.name.clone(),
                v.vintage.to_string(),
                num(v.capex_usd_bn),
                opt(v.payback_years),
                num(v.recovered_share),
                status.and_then(|s| s.as_str().map(str::to_string)).unwrap_or_default(),
            ]));
        }
    }
    out
}

/// One row per tornado bar, largest swing first.
pub fn sensitivity_csv(p: &GapProjection) -> String {
    let t = &p.sensitivity;
    let mut out = csv::row([
        "scenario",
        "year",
        "parameter",
        "applies_as",
        "low_value",
        "high_value",
        "base_gap_usd_bn",
        "gap_at_low_usd_bn",
        "gap_at_high_usd_bn",
        "base_gap_depreciation_usd_bn",
        "gap_depreciation_at_low_usd_bn",
        "gap_depreciation_at_high_usd_bn",
        "swing_usd_bn",
        "brackets_base",
    ]);
    for b in &t.bars {
        out.push_str(&csv::row([
            t.scenario.to_string(),
            t.year.to_string(),
            b.parameter.to_string(),
            b.applies_as.to_string(),
            num(b.low_value),
            num(b.high_value),
            num(t.base_gap_usd_bn),
            num(b.gap_usd_bn.at_low),
            num(b.gap_usd_bn.at_high),
            num(t.base_gap_depreciation_usd_bn),
            num(b.gap_depreciation_usd_bn.at_low),
            num(b.gap_depreciation_usd_bn.at_high),
            num(b.swing_usd_bn),
            b.brackets_base.to_string(),
        ]));
    }
    out
}
