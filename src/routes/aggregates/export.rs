//! `GET /v1/aggregates/export`'s body: the cells quarter by quarter as CSV
//! or JSON, streamed, or as one Parquet file; and the CSV of a rate response.

use actix_web::web;

use super::super::common::Format;
use super::query::ExportAs;
use crate::analytics::definitions::Measure;
use crate::analytics::rates::{
    export_passes, export_quarter, response_head, Cell, ListedBuilder, Observation, RateQuery, RateResponse,
};
use crate::db::observe::Observer;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult};
use crate::export::csv;
use crate::export::parquet::{csv_rows, Column};

/// The export's work on its blocking thread: reads in one snapshot, reports
/// through `started` once the response can begin, and sends the body's
/// chunks through `tx`.
pub(super) fn stream_export(
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
            if let Some(o) = observer.observe(row, &params, Measure::ZeroImpact) {
                listed.add(&o);
            }
        })?;
        let passes = export_passes(query.by, &listed.finish());
        let read_quarter = |conn: &mut DbConnection, quarter: crate::analytics::definitions::Quarter| {
            let read = |f: &mut dyn FnMut(&Observation)| {
                crate::db::research::for_each_evaluated_between(conn, quarter.start(), quarter.end(), |row| {
                    if let Some(o) = observer.observe(row, &params, Measure::ZeroImpact) {
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

/// The export's table: one row per cell, [`EXPORT_COLUMNS`] typed (text,
/// INT64 counts, DOUBLE rates, BOOLEAN `suppressed`; nulls are nulls), built
/// from the cells themselves (docs/DEFINITIONS.md#export-columns). Both the
/// CSV and the Parquet file are written from it.
pub(super) fn export_table(head: &RateResponse, cells: &[Cell]) -> Vec<(&'static str, Column)> {
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
    let columns = vec![
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
    columns
}

/// The export as one Parquet file.
fn export_parquet(head: &RateResponse, cells: &[Cell]) -> ApiResult<Vec<u8>> {
    crate::export::parquet::write("pilotledger_aggregates", &export_table(head, cells)).map_err(ApiError::internal)
}

/// The export's text, in either format, written cell by cell.
pub(super) struct ExportBody {
    format: Format,
    head: serde_json::Value,
    typed: RateResponse,
    cells_sent: bool,
}

impl ExportBody {
    fn new(format: Format, head: &RateResponse) -> ApiResult<Self> {
        Ok(Self {
            format,
            head: serde_json::to_value(head).map_err(ApiError::internal)?,
            typed: head.clone(),
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
        if self.format == Format::Csv {
            return Ok(csv_rows(&export_table(&self.typed, cells)).concat());
        }
        let mut out = String::new();
        for c in cells {
            if self.cells_sent {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(c).map_err(ApiError::internal)?);
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
pub(super) fn response_csv(r: &RateResponse) -> ApiResult<Vec<String>> {
    let mut rows = vec![csv::row(EXPORT_COLUMNS)];
    rows.extend(csv_rows(&export_table(r, &r.cells)));
    Ok(rows)
}
