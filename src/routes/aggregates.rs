//! Cross-organisation aggregates for researchers and the operator:
//! `GET /v1/aggregates/zero-impact-rate` and `GET /v1/aggregates/export`.
//! Every figure goes through `analytics::rates`' disclosure control; no
//! organisation id, name, pilot or free text ever reaches these responses.
//! Queries are logged (who, what parameters) and rate-limited per token.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::common::{csv_response, definition_params, negotiate, Format};
use super::extract::Query;
use super::AppState;
use crate::analytics::definitions::{self, DefinitionParams, Quarter};
use crate::analytics::projection::{MeasuredRate, RateEstimate};
use crate::analytics::rates::{
    export_passes, export_quarter, response_head, zero_impact_rates, Cell, Dimension, ListedBuilder, Observation,
    RateQuery, RateResponse,
};
use crate::auth::AuthContext;
use crate::db::rollups::RollupRow;
use crate::db::{DbConnection, DbError};
use crate::domain::enums::{AiKind, BusinessFunction, Industry, SizeBand, Sourcing};
use crate::domain::region::RegionCode;
use crate::error::{ApiError, ApiResult, Code};
use crate::export::csv;
use crate::export::csv::text;

/// Bootstrap replicates of every published interval. Callers choose neither
/// this nor the seed (the deployment's secret, `AppState::research_seed`).
pub const BOOTSTRAP_REPS: u32 = 1_000;

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RateParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<Dimension>,
    pub min_impact: Option<i64>,
    pub window_months: Option<u32>,
    pub format: Option<TableFormat>,
}

/// `format=` of the research routes: JSON, CSV, or (the export only) Parquet.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TableFormat {
    Json,
    Csv,
    Parquet,
}

/// The media type of the Parquet export.
pub const PARQUET_MEDIA_TYPE: &str = "application/vnd.apache.parquet";

/// What the export is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExportAs {
    Text(Format),
    Parquet,
}

impl TableFormat {
    /// The text format, or 400 for Parquet on a route that does not offer it.
    fn text(self) -> ApiResult<Format> {
        match self {
            TableFormat::Json => Ok(Format::Json),
            TableFormat::Csv => Ok(Format::Csv),
            TableFormat::Parquet => Err(ApiError::field(
                Code::INVALID_QUERY,
                "format",
                "format=parquet is offered by GET /v1/aggregates/export only",
            )),
        }
    }
}

/// `from`/`to` as a quarter (`2026Q1`) or a date, snapped to its quarter.
fn quarter_param(field: &'static str, raw: Option<&str>, default: Quarter) -> ApiResult<Quarter> {
    let Some(s) = raw else { return Ok(default) };
    Quarter::parse(s)
        .or_else(|| crate::domain::dates::parse(s).map(Quarter::of))
        .filter(|q| (1990..=2100).contains(&q.year))
        .ok_or_else(|| {
            ApiError::field(
                Code::INVALID_QUERY,
                field,
                format!("{field} must be a quarter like 2026Q1 or a date"),
            )
        })
}

fn rate_query(p: &RateParams, seed: u64) -> ApiResult<RateQuery> {
    let now = Quarter::of(chrono::Utc::now().date_naive());
    let three_years_back = Quarter {
        year: now.year - 3,
        q: now.q,
    };
    let from = quarter_param("from", p.from.as_deref(), three_years_back)?;
    let to = quarter_param("to", p.to.as_deref(), now)?;
    if to < from {
        return Err(ApiError::field(Code::INVALID_QUERY, "to", "to is before from"));
    }
    if (to.year - from.year) * 4 + to.q as i32 - from.q as i32 >= 80 {
        return Err(ApiError::field(
            Code::INVALID_QUERY,
            "from",
            "at most 80 quarters per request",
        ));
    }
    Ok(RateQuery {
        from,
        to,
        by: p.by,
        params: definition_params(p.min_impact, p.window_months)?,
        seed,
        bootstrap_reps: BOOTSTRAP_REPS,
    })
}

/// Turns rollup rows into observations: the organisations' attributes,
/// read once per request, each organisation numbered in id order.
pub struct Observer {
    orgs: HashMap<String, OrgAttrs>,
}

type OrgAttrs = (u32, Option<Industry>, Option<SizeBand>, Option<RegionCode>);

impl Observer {
    pub fn load(conn: &mut DbConnection) -> Result<Self, DbError> {
        let orgs = crate::db::research::org_attributes(conn)?
            .into_iter()
            .enumerate()
            .map(|(i, (id, industry, size, region))| {
                let attrs = (
                    i as u32,
                    Industry::parse(&industry),
                    SizeBand::parse(&size),
                    RegionCode::parse(&region),
                );
                (id, attrs)
            })
            .collect();
        Ok(Self { orgs })
    }

    /// The pilot's observation under `p`, or `None` when it cannot be
    /// measured: an entry whose currency has no FX rate for its period, a sum
    /// that left i64, or (never written by the API) an attribute that no
    /// longer parses. Such pilots are counted, never treated as zero.
    pub fn observe(&self, row: &RollupRow, p: &DefinitionParams) -> Option<Observation> {
        let rollup = row.rollup();
        let (Some(evaluation), 0, Some(spend), Some(net)) = (
            rollup.evaluation,
            rollup.unconverted_entries,
            rollup.spend_usd_minor,
            rollup.net_impact(p.window_months),
        ) else {
            return None;
        };
        let &(org, Some(industry), Some(size_band), Some(region)) = self.orgs.get(&row.org_id)? else {
            return None;
        };
        Some(Observation {
            org,
            industry,
            size_band,
            region,
            business_function: BusinessFunction::parse(&row.business_function)?,
            sourcing: Sourcing::parse(&row.sourcing)?,
            ai_kind: AiKind::parse(&row.ai_kind)?,
            evaluation_date: evaluation,
            zero_impact: definitions::is_zero_impact(net, p),
            spend_usd_minor: spend,
            measured_net_usd_minor: net,
        })
    }
}

/// The observations of every evaluated pilot under each of `params`, read
/// from the per-pilot rollups in one pass, with how many were left out
/// ([`Observer::observe`]).
pub fn observations(
    conn: &mut DbConnection,
    params: &[DefinitionParams],
) -> Result<Vec<(Vec<Observation>, u64)>, DbError> {
    let observer = Observer::load(conn)?;
    // Sized up front (the count is read in the same snapshot): a vector
    // grown by doubling holds up to twice what it needs, and while it is
    // copied to its next size the old and the new copy are both resident.
    let evaluated = crate::db::research::count_evaluated(conn)?;
    let mut out: Vec<(Vec<Observation>, u64)> = params.iter().map(|_| (Vec::with_capacity(evaluated), 0)).collect();
    crate::db::research::for_each_evaluated(conn, |row| {
        for (p, (obs, excluded)) in params.iter().zip(out.iter_mut()) {
            match observer.observe(row, p) {
                Some(o) => obs.push(o),
                None => *excluded += 1,
            }
        }
    })?;
    Ok(out)
}

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
}

async fn compute(state: &AppState, queries: Vec<RateQuery>) -> ApiResult<(Vec<RateResponse>, LeftOut)> {
    let policy = state.disclosure;
    let permit = research_permit(state).await?;
    state
        .read(move |conn| {
            let _permit = permit;
            crate::db::research::snapshot(conn)?;
            // Every query of one request shares its definition parameters
            // today; distinct ones would each get their observations.
            let mut params: Vec<DefinitionParams> = Vec::new();
            for q in &queries {
                if !params.contains(&q.params) {
                    params.push(q.params);
                }
            }
            let built = observations(conn, &params)?;
            let mut excluded = LeftOut {
                unknown_evaluation_date: crate::db::research::count_unknown_evaluation_dates(conn)?,
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
    let format = negotiate(&req, q.0.format.map(TableFormat::text).transpose()?);
    let (mut responses, excluded) = compute(&state, vec![query]).await?;
    let response = responses.pop().ok_or_else(|| ApiError::internal("no response"))?;
    Ok(match format {
        Format::Json => {
            let mut v = serde_json::to_value(&response).map_err(ApiError::internal)?;
            v["data_quality"] = serde_json::json!({
                "pilots_excluded_missing_fx_rate": excluded.missing_fx_rate,
                "pilots_excluded_unknown_evaluation_date": excluded.unknown_evaluation_date,
            });
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
    // `format=` only, CSV by default: the Accept header is not consulted here.
    let format = if q.0.format == Some(TableFormat::Parquet) {
        ExportAs::Parquet
    } else {
        ExportAs::Text(negotiate(
            &req,
            q.0.format.map(TableFormat::text).transpose()?.or(Some(Format::Csv)),
        ))
    };
    let policy = state.disclosure;
    let permit = research_permit(&state).await?;
    let pool = state.exec.pool().clone();
    let (started_tx, started) = tokio::sync::oneshot::channel::<ApiResult<()>>();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, String>>(2);
    actix_web::rt::task::spawn_blocking(move || {
        let _permit = permit;
        let mut started_tx = Some(started_tx);
        let result = pool
            .get()
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
        ExportAs::Parquet => (PARQUET_MEDIA_TYPE, "pilotledger-aggregates.parquet"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}

/// The export's work on its blocking thread: reads in one snapshot, reports
/// through `started` once the response can begin, and sends the body's
/// chunks through `tx`.
fn stream_export(
    conn: &mut DbConnection,
    query: &RateQuery,
    policy: &crate::analytics::disclosure::DisclosurePolicy,
    format: ExportAs,
    tx: &tokio::sync::mpsc::Sender<Result<web::Bytes, String>>,
    started: &mut Option<tokio::sync::oneshot::Sender<ApiResult<()>>>,
) -> ApiResult<()> {
    crate::db::read_tx(conn, |conn| {
        crate::db::research::snapshot(conn)?;
        let observer = Observer::load(conn)?;
        let params = query.params;
        // Which values get cells: a pass over every observation first.
        let mut listed = ListedBuilder::new(policy.min_organisations());
        crate::db::research::for_each_evaluated(conn, |row| {
            if let Some(o) = observer.observe(row, &params) {
                listed.add(&o);
            }
        })?;
        let passes = export_passes(query.by, &listed.finish());
        let read_quarter = |conn: &mut DbConnection, quarter: crate::analytics::definitions::Quarter| {
            let read = |f: &mut dyn FnMut(&Observation)| {
                crate::db::research::for_each_evaluated_between(conn, quarter.start(), quarter.end(), |row| {
                    if let Some(o) = observer.observe(row, &params) {
                        f(&o);
                    }
                })
            };
            export_quarter(quarter, &passes, query, policy, read)
        };
        let format = match format {
            ExportAs::Text(f) => f,
            ExportAs::Parquet => {
                // Parquet's footer describes the whole file: the cells are
                // gathered (a few thousand rows), then written at once.
                let mut cells = Vec::new();
                let mut quarter = query.from;
                while quarter <= query.to {
                    cells.extend(read_quarter(conn, quarter)?);
                    quarter = quarter.next();
                }
                let bytes = export_parquet(&response_head(query, policy), &cells)?;
                if let Some(started) = started.take() {
                    let _ = started.send(Ok(()));
                }
                let _ = tx.blocking_send(Ok(web::Bytes::from(bytes)));
                return Ok(());
            }
        };
        let mut body = ExportBody::new(format, &response_head(query, policy))?;
        if let Some(started) = started.take() {
            let _ = started.send(Ok(()));
        }
        // A closed channel: the client went away, so stop.
        let send = |chunk: ApiResult<String>| -> bool {
            let chunk = chunk.map(web::Bytes::from).map_err(|e| e.to_string());
            let failed = chunk.is_err();
            tx.blocking_send(chunk).is_ok() && !failed
        };
        if !send(Ok(body.start())) {
            return Ok(());
        }
        let mut quarter = query.from;
        while quarter <= query.to {
            let cells = read_quarter(conn, quarter)?;
            if !send(body.cells(&cells)) {
                return Ok(());
            }
            quarter = quarter.next();
        }
        send(Ok(body.end()));
        Ok(())
    })
}

/// The export as Parquet: the CSV's columns, typed (text, INT64 counts,
/// DOUBLE rates, BOOLEAN `suppressed`; nulls are nulls), one row per cell,
/// built from the cells themselves (docs/DEFINITIONS.md#export-columns).
fn export_parquet(head: &RateResponse, cells: &[Cell]) -> ApiResult<Vec<u8>> {
    use crate::export::parquet::{write, Column};
    let p = &head.parameters;
    let n = cells.len();
    let same = |s: String| Column::Text(vec![s; n]);
    let count = |f: fn(&Cell) -> Option<u64>| Column::OptInt(cells.iter().map(|c| f(c).map(|v| v as i64)).collect());
    let part = |f: fn(&Cell) -> Option<crate::analytics::intervals::Interval>,
                g: fn(&crate::analytics::intervals::Interval) -> f64| {
        Column::OptFloat(cells.iter().map(|c| f(c).as_ref().map(g)).collect())
    };
    let band =
        |f: fn(&Cell) -> Option<&'static str>| Column::OptText(cells.iter().map(|c| f(c).map(str::to_owned)).collect());
    let columns = [
        ("definition_version", same(head.definition_version.to_owned())),
        (
            "disclosure_policy_version",
            same(head.disclosure_policy_version.to_owned()),
        ),
        ("from", same(p.from.to_string())),
        ("to", same(p.to.to_string())),
        ("min_impact_usd", Column::Int(vec![p.min_impact; n])),
        ("window_months", Column::Int(vec![i64::from(p.window_months); n])),
        ("bootstrap_reps", Column::Int(vec![i64::from(p.bootstrap_reps); n])),
        (
            "quarter",
            Column::Text(cells.iter().map(|c| c.quarter.to_string()).collect()),
        ),
        (
            "dimension",
            Column::Text(cells.iter().map(|c| c.dimension.to_owned()).collect()),
        ),
        ("value", Column::Text(cells.iter().map(|c| c.value.clone()).collect())),
        ("organisations", count(|c| c.organisations)),
        ("pilots", count(|c| c.pilots)),
        ("zero_return_organisations", count(|c| c.zero_return_organisations)),
        (
            "org_zero_return_share",
            part(|c| c.org_zero_return_share, |i| i.estimate),
        ),
        (
            "org_zero_return_share_low",
            part(|c| c.org_zero_return_share, |i| i.low),
        ),
        (
            "org_zero_return_share_high",
            part(|c| c.org_zero_return_share, |i| i.high),
        ),
        ("pilot_rate", part(|c| c.pilot_rate, |i| i.estimate)),
        ("pilot_rate_low", part(|c| c.pilot_rate, |i| i.low)),
        ("pilot_rate_high", part(|c| c.pilot_rate, |i| i.high)),
        ("org_average_rate", part(|c| c.org_average_rate, |i| i.estimate)),
        ("org_average_rate_low", part(|c| c.org_average_rate, |i| i.low)),
        ("org_average_rate_high", part(|c| c.org_average_rate, |i| i.high)),
        ("spend_band", band(|c| c.spend_band)),
        ("measured_impact_band", band(|c| c.measured_impact_band)),
        ("suppressed", Column::Bool(cells.iter().map(|c| c.suppressed).collect())),
        (
            "suppression_reason",
            Column::OptText(
                cells
                    .iter()
                    .map(|c| {
                        c.suppression_reason
                            .and_then(|r| serde_json::to_value(r).ok())
                            .and_then(|v| v.as_str().map(str::to_owned))
                    })
                    .collect(),
            ),
        ),
    ];
    debug_assert!(columns.iter().map(|(name, _)| *name).eq(EXPORT_COLUMNS));
    write("pilotledger_aggregates", &columns).map_err(ApiError::internal)
}

/// The export's text, in either format, written cell by cell.
struct ExportBody {
    format: Format,
    head: serde_json::Value,
    cells_sent: bool,
}

impl ExportBody {
    fn new(format: Format, head: &RateResponse) -> ApiResult<Self> {
        Ok(Self {
            format,
            head: serde_json::to_value(head).map_err(ApiError::internal)?,
            cells_sent: false,
        })
    }

    /// CSV: the header row. JSON: `{` versions, parameters, `"cells":[`.
    fn start(&self) -> String {
        match self.format {
            Format::Csv => csv::row(EXPORT_COLUMNS),
            Format::Json => {
                let head = serde_json::json!({
                    "definition_version": self.head["definition_version"],
                    "disclosure_policy_version": self.head["disclosure_policy_version"],
                    "parameters": self.head["parameters"],
                })
                .to_string();
                format!("{},\"cells\":[", &head[..head.len() - 1])
            }
        }
    }

    fn cells(&mut self, cells: &[Cell]) -> ApiResult<String> {
        let mut out = String::new();
        for c in cells {
            let c = serde_json::to_value(c).map_err(ApiError::internal)?;
            match self.format {
                Format::Csv => out.push_str(&cell_row(&self.head, &c)),
                Format::Json => {
                    if self.cells_sent {
                        out.push(',');
                    }
                    out.push_str(&c.to_string());
                }
            }
            self.cells_sent = true;
        }
        Ok(out)
    }

    fn end(&self) -> String {
        match self.format {
            Format::Csv => String::new(),
            Format::Json => "]}".to_owned(),
        }
    }
}

/// The self-describing CSV columns: every row carries its parameters and versions.
pub const EXPORT_COLUMNS: [&str; 26] = [
    "definition_version",
    "disclosure_policy_version",
    "from",
    "to",
    "min_impact_usd",
    "window_months",
    "bootstrap_reps",
    "quarter",
    "dimension",
    "value",
    "organisations",
    "pilots",
    "zero_return_organisations",
    "org_zero_return_share",
    "org_zero_return_share_low",
    "org_zero_return_share_high",
    "pilot_rate",
    "pilot_rate_low",
    "pilot_rate_high",
    "org_average_rate",
    "org_average_rate_low",
    "org_average_rate_high",
    "spend_band",
    "measured_impact_band",
    "suppressed",
    "suppression_reason",
];

/// A response as CSV: the header row, then one row per cell.
fn response_csv(r: &RateResponse) -> ApiResult<Vec<String>> {
    let head = serde_json::to_value(r).map_err(ApiError::internal)?;
    let mut rows = vec![csv::row(EXPORT_COLUMNS)];
    for c in head["cells"].as_array().into_iter().flatten() {
        rows.push(cell_row(&head, c));
    }
    Ok(rows)
}

/// One cell's CSV row; `head` (a serialised response) gives the versions and
/// parameters every row repeats.
fn cell_row(head: &serde_json::Value, c: &serde_json::Value) -> String {
    let p = &head["parameters"];
    let iv = |name: &str, part: &str| text(&c[name][part]);
    csv::row([
        text(&head["definition_version"]),
        text(&head["disclosure_policy_version"]),
        text(&p["from"]),
        text(&p["to"]),
        text(&p["min_impact"]),
        text(&p["window_months"]),
        text(&p["bootstrap_reps"]),
        text(&c["quarter"]),
        text(&c["dimension"]),
        text(&c["value"]),
        text(&c["organisations"]),
        text(&c["pilots"]),
        text(&c["zero_return_organisations"]),
        iv("org_zero_return_share", "estimate"),
        iv("org_zero_return_share", "low"),
        iv("org_zero_return_share", "high"),
        iv("pilot_rate", "estimate"),
        iv("pilot_rate", "low"),
        iv("pilot_rate", "high"),
        iv("org_average_rate", "estimate"),
        iv("org_average_rate", "low"),
        iv("org_average_rate", "high"),
        text(&c["spend_band"]),
        text(&c["measured_impact_band"]),
        text(&c["suppressed"]),
        text(&c["suppression_reason"]),
    ])
}

/// The measured success rate (1 − organisation zero-return share) by year, for
/// the gap projection's `measured` source: the organisation trend's projection
/// (each year takes its last projected quarter), or, when no trend can be
/// fitted, the latest published quarter's share. Disclosure control applies:
/// only published figures are used.
pub async fn measured_success_rate(state: &AppState) -> ApiResult<MeasuredRate> {
    // Cached per data version (and quarter, which moves the default window):
    // the aggregate reads every ledger, the stamp only sums a few columns.
    let quarter = Quarter::of(chrono::Utc::now().date_naive());
    let stamp = state.read(|conn| Ok(crate::db::changes::research_stamp(conn)?)).await?;
    let key = format!("{quarter}|{stamp:?}");
    if let Some((cached_key, rate)) = state.measured_cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        if *cached_key == key {
            return Ok(rate.clone());
        }
    }
    let rate = compute_measured_success_rate(state).await?;
    *state.measured_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, rate.clone()));
    Ok(rate)
}

async fn compute_measured_success_rate(state: &AppState) -> ApiResult<MeasuredRate> {
    let query = rate_query(
        &RateParams {
            from: None,
            to: None,
            by: None,
            min_impact: None,
            window_months: None,
            format: None,
        },
        state.research_seed,
    )?;
    let (mut responses, _) = compute(state, vec![query]).await?;
    let r = responses.pop().ok_or_else(|| ApiError::internal("no response"))?;
    let flip = |estimate: f64, low: f64, high: f64| RateEstimate {
        estimate: 1.0 - estimate,
        low: 1.0 - high,
        high: 1.0 - low,
    };
    let mut by_year = BTreeMap::new();
    if let Some(projection) = &r.trend.projection {
        for p in projection {
            if let Some(q) = Quarter::parse(&p.quarter) {
                by_year.insert(q.year, flip(p.estimate, p.low, p.high));
            }
        }
    }
    if by_year.is_empty() {
        if let Some((q, s)) = r
            .cells
            .iter()
            .rev()
            .find_map(|c| c.org_zero_return_share.map(|s| (c.quarter, s)))
        {
            by_year.insert(q.year, flip(s.estimate, s.low, s.high));
        }
    }
    if by_year.is_empty() {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "success_rate.source",
            "no measured rate is published yet (too few organisations with evaluated pilots); use source fixed",
        ));
    }
    Ok(MeasuredRate { by_year })
}
