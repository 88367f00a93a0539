//! Cross-organisation aggregates for researchers and the operator:
//! `GET /v1/aggregates/zero-impact-rate` and `GET /v1/aggregates/export`.
//! Every figure goes through `analytics::rates`' disclosure control; no
//! organisation id, name, pilot or free text ever reaches these responses.
//! Queries are logged (who, what parameters) and rate-limited per token.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

mod export;
mod measured;
mod query;

pub use export::EXPORT_COLUMNS;
pub use measured::measured_success_rate;
pub use query::{RateParams, TableFormat, BOOTSTRAP_REPS, PARQUET_MEDIA_TYPE};

use export::{response_csv, stream_export};
use query::{definition_param, rate_query, ExportAs};

use crate::db::observe::observations;

use super::common::{csv_response, negotiate, path_format, Format, PathFormat};
use super::extract::Query;
use super::AppState;
use crate::analytics::definitions::{DefinitionParams, Measure};
use crate::analytics::rates::{zero_impact_rates, RateQuery, RateResponse};
use crate::auth::AuthContext;
use crate::error::{ApiError, ApiResult, Code};

/// Waits (briefly) for the research gate: at most one cross-organisation
/// aggregate runs at a time.
async fn research_permit(state: &AppState) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    // Cross-organisation reads are heavy: at most one runs at a time, and the
    // permit travels with the blocking work, so a request that timed out still
    // holds it until its work has really stopped.
    let busy = || {
        ApiError::new(
            Code::DATABASE_UNAVAILABLE,
            "another aggregate query is running; retry shortly",
        )
        .with_header(actix_web::http::header::RETRY_AFTER, "2")
    };
    actix_web::rt::time::timeout(
        std::time::Duration::from_secs(2),
        state.research_gate.clone().acquire_owned(),
    )
    .await
    .map_err(|_| busy())?
    .map_err(|_| busy())
}

/// Computes the response for each query (the total and, with `by`, its breakdown).
/// What the cells leave out: pilots with an entry that has no FX rate, and
/// pilots evaluated on a date nobody recorded.
#[derive(Clone, Copy, Debug, Default)]
struct LeftOut {
    missing_fx_rate: u64,
    unknown_evaluation_date: u64,
    /// Evaluated pilots with no expected benefit in USD (the IBM definition
    /// counts them as not having met it).
    without_expected_benefit: Option<u64>,
}

async fn compute(state: &AppState, queries: Vec<RateQuery>) -> ApiResult<(Vec<RateResponse>, LeftOut)> {
    compute_with(state, queries, Measure::ZeroImpact).await
}

/// [`compute`], each pilot flagged by `measure` (a published definition's).
async fn compute_with(
    state: &AppState,
    queries: Vec<RateQuery>,
    measure: Measure,
) -> ApiResult<(Vec<RateResponse>, LeftOut)> {
    let policy = state.disclosure;
    let permit = research_permit(state).await?;
    // On the read replica when there is one: the aggregates tolerate lag.
    state
        .read_lagging(move |conn| {
            let _permit = &permit;
            crate::db::research::snapshot(conn)?;
            // Every query of one request shares its definition parameters
            // today; distinct ones would each get their observations.
            let mut params: Vec<DefinitionParams> = Vec::new();
            for q in &queries {
                if !params.contains(&q.params) {
                    params.push(q.params);
                }
            }
            let built = observations(conn, &params, measure)?;
            let mut excluded = LeftOut {
                unknown_evaluation_date: crate::db::research::count_unknown_evaluation_dates(conn)?,
                without_expected_benefit: match measure {
                    Measure::MetExpectedBenefit => Some(crate::db::research::count_without_expected_benefit(conn)?),
                    _ => None,
                },
                ..LeftOut::default()
            };
            let mut out = Vec::new();
            for q in &queries {
                let i = params.iter().position(|p| *p == q.params).unwrap_or(0);
                let (obs, n) = &built[i];
                excluded.missing_fx_rate = *n;
                out.push(zero_impact_rates(obs, q, &policy));
            }
            Ok((out, excluded))
        })
        .await
}

fn log_and_limit(state: &AppState, auth: &AuthContext, route: &str, p: &RateParams) -> ApiResult<()> {
    auth.researcher()?;
    state.check_rate(&auth.jti)?;
    tracing::info!(actor = %auth.sub, role = auth.role.as_str(), route, params = ?p, "research query");
    Ok(())
}

pub async fn zero_impact_rate(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    q: Query<RateParams>,
) -> ApiResult<HttpResponse> {
    auth.researcher()?;
    let query = rate_query(&q.0, state.research_seed)?;
    log_and_limit(&state, &auth, "zero-impact-rate", &q.0)?;
    let definition = definition_param(q.0.definition.as_deref())?;
    let format = negotiate(&req, q.0.format.map(TableFormat::text).transpose()?)?;
    let (mut responses, excluded) = compute_with(&state, vec![query], definition.measure).await?;
    let response = responses.pop().ok_or_else(|| ApiError::internal("no response"))?;
    Ok(match format {
        Format::Json => {
            let mut v = serde_json::to_value(&response).map_err(ApiError::internal)?;
            // The study the figure is compared with, next to it.
            v["definition"] = serde_json::to_value(definition).map_err(ApiError::internal)?;
            v["data_quality"] = serde_json::json!({
                "pilots_excluded_missing_fx_rate": excluded.missing_fx_rate,
                "pilots_excluded_unknown_evaluation_date": excluded.unknown_evaluation_date,
            });
            if let Some(n) = excluded.without_expected_benefit {
                v["data_quality"]["pilots_without_expected_benefit"] = n.into();
            }
            HttpResponse::Ok().json(v)
        }
        Format::Csv => csv_response("zero-impact-rate.csv", response_csv(&response)?),
    })
}

/// The export: the total and every breakdown dimension, each cell one row,
/// quarter by quarter. After one pass for the region vocabulary, each
/// quarter's evaluated pilots are read through the evaluation-date index
/// once per group of breakdowns (`rates::EXPORT_PASSES`) and its cells are
/// sent as soon as they are computed, so the server holds one group's
/// per-organisation sums for one quarter — never a row per pilot — and the
/// first bytes leave long before the last quarter is done. The work runs on
/// its own connection and read snapshot, outside the request time limit (an
/// error after the first byte can only cut the body short); the research
/// permit stays held until the last row is sent, or until the client goes
/// away, which stops the work at the next quarter.
pub async fn export(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    q: Query<RateParams>,
) -> ApiResult<HttpResponse> {
    auth.researcher()?;
    let query = rate_query(&q.0, state.research_seed)?;
    log_and_limit(&state, &auth, "export", &q.0)?;
    // The export's cells are the default definition's; another one is asked
    // of the rate route, which says so rather than send the wrong cells.
    let definition = definition_param(q.0.definition.as_deref())?;
    if definition.key != crate::analytics::published::DEFAULT_DEFINITION {
        return Err(ApiError::field(
            Code::INVALID_QUERY,
            "definition",
            format!(
                "the export carries the cells of {}; ask GET /v1/aggregates/zero-impact-rate for {}",
                crate::analytics::published::DEFAULT_DEFINITION,
                definition.key
            ),
        ));
    }
    // The path's format, else `format=` only, CSV by default: the Accept
    // header is not consulted here.
    let fixed = path_format(&req, q.0.format.is_some())?;
    let format = match (fixed, q.0.format) {
        (Some(PathFormat::Parquet), _) | (None, Some(TableFormat::Parquet)) => ExportAs::Parquet,
        (Some(PathFormat::Json), _) => ExportAs::Text(Format::Json),
        (Some(PathFormat::Csv), _) => ExportAs::Text(Format::Csv),
        (None, f) => ExportAs::Text(f.map(TableFormat::text).transpose()?.unwrap_or(Format::Csv)),
    };
    let policy = state.disclosure;
    let permit = research_permit(&state).await?;
    let exec = state.exec.clone();
    let (started_tx, started) = tokio::sync::oneshot::channel::<ApiResult<()>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, String>>(2);
    actix_web::rt::task::spawn_blocking(move || {
        let _permit = permit;
        let mut started_tx = Some(started_tx);
        // The replica's connection when it answers, else the primary's.
        let result = exec
            .lagging_connection()
            .map_err(ApiError::unavailable)
            .and_then(|mut conn| stream_export(&mut conn, &query, &policy, format, &tx, &mut started_tx));
        if let Err(e) = result {
            match started_tx.take() {
                // Nothing sent yet: the client gets the problem response.
                Some(started) => {
                    let _ = started.send(Err(e));
                }
                None => {
                    let _ = tx.blocking_send(Err(e.to_string()));
                }
            }
        }
    });
    match actix_web::rt::time::timeout(state.settings.request_timeout, started).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(e),
        Ok(Err(_)) => return Err(ApiError::internal("the export stopped before it started")),
        Err(_) => return Err(ApiError::timed_out()),
    }
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        Some((item.map_err(actix_web::error::ErrorInternalServerError), rx))
    });
    let (content_type, name) = match format {
        ExportAs::Text(Format::Csv) => ("text/csv; charset=utf-8", "pilotledger-aggregates.csv"),
        ExportAs::Text(Format::Json) => ("application/json", "pilotledger-aggregates.json"),
        // `/v1/aggregates/export.parquet` sends the file as bytes, which every
        // generated client takes; `format=parquet` keeps the Parquet media type.
        ExportAs::Parquet if fixed.is_some() => ("application/octet-stream", "pilotledger-aggregates.parquet"),
        ExportAs::Parquet => (PARQUET_MEDIA_TYPE, "pilotledger-aggregates.parquet"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}

/// `GET /v1/aggregates/definitions`: every published definition pilotledger
/// compares its figures with, the default first, each saying whether it is
/// computed (and in which field of the rate response) or what it would need.
pub async fn definitions(auth: AuthContext) -> ApiResult<HttpResponse> {
    auth.researcher()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "default": crate::analytics::published::DEFAULT_DEFINITION,
        "definition_version": crate::analytics::definitions::DEFINITION_VERSION,
        "definitions": crate::analytics::published::DEFINITIONS,
    })))
}
