//! HTTP helpers every resource shares: content negotiation, CSV responses,
//! the common query parameters (`as_of`, `currency`, the definition grid) and
//! the error mappings the ledger service defines. Route files take these from
//! here, never from each other.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use crate::analytics::definitions::DefinitionParams;
use crate::domain::currency::Currency;
use crate::error::{ApiError, ApiResult, Code};
pub use crate::export::Format;
pub use crate::ledger::{field_error, pilot_not_found};

/// The format a download path fixes (`/v1/summary.csv`,
/// `/v1/aggregates/export.parquet`), set as that resource's data so one
/// handler serves the negotiated path and its per-format twins. Each twin is
/// its own operation in the API spec, with one media type, so a generated
/// client parses every answer into one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFormat {
    Json,
    Csv,
    Parquet,
}

/// The format the path fixes, if any. On such a path `format=` is not a
/// parameter: it answers 400 `invalid_query` like any unknown one.
pub fn path_format(req: &HttpRequest, format_given: bool) -> ApiResult<Option<PathFormat>> {
    let fixed = req.app_data::<PathFormat>().copied();
    if fixed.is_some() && format_given {
        return Err(ApiError::field(
            Code::INVALID_QUERY,
            "format",
            format!("unknown field `format`: {} answers one format", req.path()),
        ));
    }
    Ok(fixed)
}

/// The text format of an answer: the path's, else `format=`, else
/// `Accept: text/csv` selects CSV.
pub fn negotiate(req: &HttpRequest, explicit: Option<Format>) -> ApiResult<Format> {
    match path_format(req, explicit.is_some())? {
        Some(PathFormat::Csv) => return Ok(Format::Csv),
        Some(PathFormat::Json) => return Ok(Format::Json),
        Some(PathFormat::Parquet) => return Err(ApiError::internal("a Parquet path on a text route")),
        None => {}
    }
    Ok(explicit.unwrap_or_else(|| {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.contains("text/csv") {
            Format::Csv
        } else {
            Format::Json
        }
    }))
}

/// Parses `as_of` (RFC 3339) into UTC.
pub fn parse_as_of(raw: Option<&str>) -> ApiResult<Option<NaiveDateTime>> {
    raw.map(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.naive_utc())
            .map_err(|_| ApiError::field(Code::INVALID_QUERY, "as_of", "as_of must be an RFC 3339 instant"))
    })
    .transpose()
}

/// `min_impact`/`window_months` from the published grid (defaults 0 and 6).
pub fn definition_params(min_impact: Option<i64>, window_months: Option<u32>) -> ApiResult<DefinitionParams> {
    let d = DefinitionParams::default();
    DefinitionParams::on_grid(
        min_impact.unwrap_or(d.min_impact),
        window_months.unwrap_or(d.window_months),
    )
    .map_err(|field| {
        ApiError::field(
            Code::INVALID_QUERY,
            field,
            format!("{field} must be one of the published grid values"),
        )
    })
}

/// `currency=`, else the organisation's reporting currency.
pub fn currency_param(raw: Option<&str>, fallback: &str) -> ApiResult<Currency> {
    Currency::parse(raw.unwrap_or(fallback))
        .map_err(|e| ApiError::field(Code::INVALID_QUERY, "currency", e.to_string()))
}

/// A CSV body sent in chunks, with a download filename.
pub fn csv_response(filename: &str, rows: Vec<String>) -> HttpResponse {
    csv_chunks_response(filename, rows.into_iter().map(Bytes::from).collect())
}

/// Like [`csv_response`], for rows already in bytes (a cached answer).
pub fn csv_chunks_response(filename: &str, rows: Vec<Bytes>) -> HttpResponse {
    let chunks = rows.into_iter().map(Ok::<Bytes, actix_web::Error>);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(futures_util::stream::iter(chunks))
}
