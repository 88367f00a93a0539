//! The research routes' query: parameters, `format=`, the window and its
//! defaults, and the fixed bootstrap.

use serde::Deserialize;

use super::super::common::{definition_params, Format};
use crate::analytics::definitions::Quarter;
use crate::analytics::rates::{Dimension, RateQuery};
use crate::error::{ApiError, ApiResult, Code};

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
    /// A key of `GET /v1/aggregates/definitions` (rate route only).
    pub definition: Option<String>,
}

/// The definition a rate request asks for: computed ones only; one that is
/// not computed yet says what pilotledger would need to record.
pub(super) fn definition_param(
    raw: Option<&str>,
) -> ApiResult<&'static crate::analytics::published::PublishedDefinition> {
    use crate::analytics::published::{find, DEFAULT_DEFINITION};
    let key = raw.unwrap_or(DEFAULT_DEFINITION);
    let d = find(key).ok_or_else(|| {
        ApiError::field(
            Code::INVALID_QUERY,
            "definition",
            "definition must be a key of GET /v1/aggregates/definitions",
        )
    })?;
    if let Some(needs) = d.needs {
        return Err(ApiError::field(
            Code::INVALID_QUERY,
            "definition",
            format!("{key} is not computed yet: pilotledger does not record {needs}"),
        ));
    }
    Ok(d)
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
pub(super) enum ExportAs {
    Text(Format),
    Parquet,
}

impl TableFormat {
    /// The text format, or 400 for Parquet on a route that does not offer it.
    pub(super) fn text(self) -> ApiResult<Format> {
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
pub(super) fn quarter_param(field: &'static str, raw: Option<&str>, default: Quarter) -> ApiResult<Quarter> {
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

pub(super) fn rate_query(p: &RateParams, seed: u64) -> ApiResult<RateQuery> {
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
