//! Importing a file (`POST /v1/import`, `pilotledger import`): many pilots and entries at once, as NDJSON (one JSON
//! object per line) or CSV (the same fields as columns). All or nothing: a file
//! with any bad row writes nothing and answers 422 `import_rejected` with one
//! `{row, field, reason}` per problem. Needs `Idempotency-Key`, so a re-run of
//! the same file replays the first answer instead of importing twice.
//!
//! Row shapes (`type` decides the rest):
//! - `{"type": "pilot", "ref": "P1", …the POST /v1/pilots body…}`
//! - `{"type": "spend", "pilot_ref": "P1" | "pilot_id": "<uuid>", …the spend body…}`
//! - `{"type": "impact", "pilot_ref": "P1" | "pilot_id": "<uuid>", …the impact body…}`
//!
//! In CSV, `tags` is `;`-separated, `capex`/`measured` are `true`/`false` in
//! any case (`TRUE`, `False`, as spreadsheets write them), `amount` may carry
//! thousands separators as spreadsheets write them (`12,500.00`: commas
//! between groups of exactly three digits; CSV only), empty cells are absent
//! fields. See `docs/import-template.csv`.
//!
//! A report lists every problem of every row (capped at
//! [`RowErrors::LISTED`], with the total counted), references between rows
//! and to existing pilots included, with rows numbered as a spreadsheet shows
//! them: CSV's header is row 1, so its first data row is row 2; NDJSON rows
//! are line numbers. Row 0 is the file as a whole.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::import_row::{csv_value, parse_row, ParsedRow, RowRefs};
pub use super::import_row::{ImportRow, PilotTarget};
use super::input::strict_value;
use super::pilots::new_pilot_row;
use crate::db::append::{Appended, Rates};
use crate::db::audit::Actor;
use crate::db::entries::EntryView;
use crate::db::{DbConnection, DbError};
use crate::domain::entries::EntryKind;
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::error::{ApiError, ApiResult, Code, RowError, RowErrors};
use crate::ledger::entries::entry_row;

/// Most rows one import may carry; reading stops at the next one.
pub const MAX_ROWS: usize = 200_000;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The accepted file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    Ndjson,
    Csv,
}

impl ImportFormat {
    /// The format of a file sent without one (`application/octet-stream`, as
    /// generated clients upload files): NDJSON when its first character other
    /// than white space or a UTF-8 byte-order mark is `{`, CSV otherwise. A
    /// CSV header names columns, so it never starts with `{`.
    pub fn sniff(file: &[u8]) -> ImportFormat {
        let file = file.strip_prefix(UTF8_BOM).unwrap_or(file);
        match file.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => ImportFormat::Ndjson,
            _ => ImportFormat::Csv,
        }
    }
}

/// What an import wrote.
#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub pilots_created: usize,
    pub spend_created: usize,
    pub impact_created: usize,
    /// `ref` → new pilot id, for pilots created by this import.
    pub pilots: BTreeMap<String, String>,
}

/// Why a file was refused: its problems, and the existing pilots its rows
/// name by id, which only the database can check (see [`Rejection::check_pilots`]).
#[derive(Debug, Default)]
pub struct Rejection {
    errors: RowErrors,
    pilot_ids: Vec<(usize, PilotId)>,
}

impl Rejection {
    fn file_error(reason: String) -> Self {
        let mut r = Self::default();
        r.errors.push(RowError {
            row: 0,
            field: None,
            reason,
        });
        r
    }

    /// Whether rows name existing pilots by id (so a database lookup adds to the report).
    pub fn names_pilots(&self) -> bool {
        !self.pilot_ids.is_empty()
    }

    /// The problems found without the database.
    pub fn into_errors(self) -> RowErrors {
        self.errors
    }

    /// All problems, with the rows that name a pilot `org` does not have
    /// added to the others, so one answer lists every problem.
    pub fn check_pilots(mut self, conn: &mut DbConnection, org: OrgId) -> Result<RowErrors, DbError> {
        for e in unknown_pilots(conn, org, &self.pilot_ids)? {
            self.errors.push(e);
        }
        Ok(self.errors)
    }
}

/// One "no such pilot" per row naming a pilot id `org` does not have.
fn unknown_pilots(conn: &mut DbConnection, org: OrgId, named: &[(usize, PilotId)]) -> Result<Vec<RowError>, DbError> {
    let mut known: HashMap<PilotId, bool> = HashMap::new();
    let mut out = Vec::new();
    for (row, id) in named {
        let exists = match known.get(id) {
            Some(e) => *e,
            None => {
                let exists = match crate::db::pilots::find(conn, org, *id) {
                    Ok(_) => true,
                    Err(DbError::NotFound) => false,
                    Err(e) => return Err(e),
                };
                known.insert(*id, exists);
                exists
            }
        };
        if !exists {
            out.push(RowError {
                row: *row,
                field: Some("pilot_id".into()),
                reason: "no such pilot".into(),
            });
        }
    }
    Ok(out)
}

/// The hint for a body whose line breaks were stripped, as `curl -d @file`
/// does: NDJSON objects run together, or a CSV header running into its data.
fn line_breaks_stripped(bytes: &[u8], format: ImportFormat, data_rows: usize) -> bool {
    if bytes.contains(&b'\n') {
        return false;
    }
    match format {
        ImportFormat::Ndjson => bytes.windows(2).any(|w| w == b"}{"),
        ImportFormat::Csv => data_rows == 0 && bytes.contains(&b','),
    }
}

const CURL_HINT: &str = "the file has no line breaks, as when sent with `curl -d @file` (which removes them): \
                         send it with `curl --data-binary @file`";

/// Parses and validates a whole file, finding every problem of every row in
/// one pass (references between rows included); the first
/// [`RowErrors::LISTED`] by row are kept and all are counted, nothing is
/// half-accepted. Memory is bounded whatever the file holds: at most
/// [`MAX_ROWS`] rows are read (the next one stops the reading with an error)
/// and the error list is capped. `progress` is called with the number of rows
/// seen so far, and once at the end with all of them.
///
/// Rows are numbered as a spreadsheet or editor shows them: in CSV the
/// header is row 1 and the first data row is row 2 (a quoted cell's line
/// breaks do not start a new row); in NDJSON, the line number.
pub fn parse_file(
    bytes: &[u8],
    format: ImportFormat,
    mut progress: impl FnMut(usize),
) -> Result<Vec<ImportRow>, Rejection> {
    // A UTF-8 byte-order mark (spreadsheets write one) is not part of row 1.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut rows = Vec::new();
    let mut rejection = Rejection::default();
    let mut refs: Vec<(usize, RowRefs)> = Vec::new();
    // Counts a row read and says whether to go on; rows past the cap stop it.
    let mut seen = 0usize;
    let mut take = |row: usize, parsed: ParsedRow, rejection: &mut Rejection| -> bool {
        seen += 1;
        if seen > MAX_ROWS {
            rejection.errors.push(RowError {
                row,
                field: None,
                reason: format!("at most {MAX_ROWS} rows per import; reading stopped here"),
            });
            return false;
        }
        for e in parsed.errors {
            rejection.errors.push(e);
        }
        if let Some(r) = parsed.row {
            rows.push(r);
        }
        let r = parsed.refs;
        if r.defines.is_some() || r.names_ref.is_some() || r.names_id.is_some() {
            refs.push((row, r));
        }
        if seen.is_multiple_of(10_000) {
            progress(seen);
        }
        true
    };
    let unreadable = |row: usize, reason: String| ParsedRow {
        row: None,
        refs: RowRefs::default(),
        errors: vec![RowError {
            row,
            field: None,
            reason,
        }],
    };
    match format {
        ImportFormat::Ndjson => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Err(Rejection::file_error("the file is not UTF-8".into()));
            };
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let row = i + 1;
                let parsed = match strict_value(line.as_bytes()) {
                    Ok(v) => parse_row(row, v),
                    Err(e) => unreadable(row, format!("not valid JSON: {e}")),
                };
                if !take(row, parsed, &mut rejection) {
                    break;
                }
            }
        }
        ImportFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
            let headers = match reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Err(Rejection::file_error(format!("bad CSV header: {e}"))),
            };
            // A record's row is the line it starts on, less the line breaks
            // inside quoted cells before it (a spreadsheet shows such a cell
            // in one row); blank lines count, as a spreadsheet shows them.
            let mut inner_breaks = newlines(&headers);
            let (mut counted_to, mut breaks_before) = (0usize, 0usize);
            let mut row_at = |byte: Option<u64>, inner_breaks: usize, last: usize| -> usize {
                let Some(byte) = byte else { return last + 1 };
                // The reader places a record just after the previous one's
                // terminator (between CR and LF, too): start at its first cell.
                let mut start = (byte as usize).min(bytes.len());
                while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
                    start += 1;
                }
                if start > counted_to {
                    breaks_before += bytes[counted_to..start].iter().filter(|b| **b == b'\n').count();
                    counted_to = start;
                }
                breaks_before + 1 - inner_breaks.min(breaks_before)
            };
            let mut row = 1;
            for record in reader.records() {
                let parsed = match record {
                    Ok(r) => {
                        row = row_at(r.position().map(|p| p.byte()), inner_breaks, row);
                        inner_breaks += newlines(&r);
                        parse_row(row, csv_object(&headers, &r))
                    }
                    Err(e) => {
                        row = row_at(e.position().map(|p| p.byte()), inner_breaks, row);
                        unreadable(row, format!("bad CSV row: {e}"))
                    }
                };
                if !take(row, parsed, &mut rejection) {
                    break;
                }
            }
        }
    }
    let total = seen.min(MAX_ROWS + 1);
    progress(total);
    if total == 0 {
        let reason = if line_breaks_stripped(bytes, format, total) {
            CURL_HINT.to_owned()
        } else {
            "the file has no rows".to_owned()
        };
        rejection.errors.push(RowError {
            row: 0,
            field: None,
            reason,
        });
    } else if !rejection.errors.is_empty() && line_breaks_stripped(bytes, format, total) {
        rejection.errors.push(RowError {
            row: 0,
            field: None,
            reason: CURL_HINT.to_owned(),
        });
    }
    check_references(&refs, &mut rejection);
    if rejection.errors.is_empty() {
        Ok(rows)
    } else {
        Err(rejection)
    }
}

/// Turns a CSV record into the JSON object its row stands for.
fn csv_object(headers: &csv::StringRecord, record: &csv::StringRecord) -> Value {
    let mut obj = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if !cell.is_empty() {
            obj.insert(name.to_owned(), csv_value(name, cell));
        }
    }
    Value::Object(obj)
}

/// Line breaks inside a record's cells.
fn newlines(record: &csv::StringRecord) -> usize {
    record.iter().map(|c| c.bytes().filter(|b| *b == b'\n').count()).sum()
}

/// References must be unique and resolvable within the file, whether or not
/// the rows that define or use them have other problems; pilot ids are
/// left for the database (`Rejection::check_pilots`, `apply`).
fn check_references(refs: &[(usize, RowRefs)], rejection: &mut Rejection) {
    let mut defined: HashMap<&str, usize> = HashMap::new();
    for (row, r) in refs {
        if let Some(reference) = &r.defines {
            if defined.insert(reference.as_str(), *row).is_some() {
                rejection.errors.push(RowError {
                    row: *row,
                    field: Some("ref".into()),
                    reason: format!("ref {reference} is used twice"),
                });
            }
        }
    }
    for (row, r) in refs {
        if let Some(reference) = &r.names_ref {
            if !defined.contains_key(reference.as_str()) {
                rejection.errors.push(RowError {
                    row: *row,
                    field: Some("pilot_ref".into()),
                    reason: format!("no pilot row has ref {reference}"),
                });
            }
        }
        if let Some(id) = r.names_id {
            rejection.pilot_ids.push((*row, id));
        }
    }
}

/// The 422 for a rejected file.
pub fn rejected(errors: RowErrors) -> ApiError {
    let errors = errors.sorted();
    let mut e = ApiError::new(
        Code::IMPORT_REJECTED,
        format!(
            "{} problem(s) found; nothing was imported (first {} listed)",
            errors.total(),
            errors.total().min(RowErrors::LISTED)
        ),
    );
    e.errors = Some(Box::new(errors));
    e
}

/// Writes a validated import inside the caller's transaction.
pub fn apply(conn: &mut DbConnection, org: OrgId, actor: &Actor, rows: Vec<ImportRow>) -> ApiResult<ImportSummary> {
    let today = chrono::Utc::now().date_naive();
    let mut ids: HashMap<String, PilotId> = HashMap::new();
    let mut pilot_rows = Vec::new();
    let mut pilots_out = BTreeMap::new();
    let mut errors = RowErrors::default();
    for r in &rows {
        if let ImportRow::Pilot { reference, pilot, .. } = r {
            let id = PilotId::new();
            if let Some(reference) = reference {
                ids.insert(reference.clone(), id);
                pilots_out.insert(reference.clone(), id.to_string());
            }
            pilot_rows.push(new_pilot_row(org, id, pilot.clone(), today));
        }
    }
    // Existing pilots named by id must belong to this organisation.
    let named: Vec<(usize, PilotId)> = rows
        .iter()
        .filter_map(|r| match r {
            ImportRow::Entry {
                row,
                target: PilotTarget::Id(id),
                ..
            } => Some((*row, *id)),
            _ => None,
        })
        .collect();
    for e in unknown_pilots(conn, org, &named)? {
        errors.push(e);
    }
    // Every entry, in file order, through the ledger invariant (as a single
    // append would be), after the pilots it may name.
    let mut entry_rows: Vec<EntryView> = Vec::with_capacity(rows.len());
    let mut entry_at: Vec<usize> = Vec::with_capacity(rows.len());
    let (mut spend, mut impact) = (0, 0);
    for r in &rows {
        if let ImportRow::Entry { row, target, entry } = r {
            let pilot = match target {
                PilotTarget::Id(id) => *id,
                PilotTarget::Ref(reference) => match ids.get(reference) {
                    Some(id) => *id,
                    None => continue,
                },
            };
            match entry.kind {
                EntryKind::Spend { .. } => spend += 1,
                EntryKind::Impact { .. } => impact += 1,
            }
            entry_rows.push(entry_row(org, pilot, EntryId::new(), entry, &actor.sub));
            entry_at.push(*row);
        }
    }
    if !errors.is_empty() {
        return Err(rejected(errors));
    }
    crate::db::seed::insert_pilots(conn, &pilot_rows)?;
    let fx = crate::db::fx::table(conn)?;
    let refs: Vec<&EntryView> = entry_rows.iter().collect();
    let appended = crate::db::append::append(conn, &pilot_rows, &refs, Rates::table(&fx))?;
    for (a, row) in appended.iter().zip(&entry_at) {
        match a {
            Appended::Written => {}
            Appended::TotalOverflow => errors.push(RowError {
                row: *row,
                field: Some("amount".into()),
                reason: "the pilot's total would pass the largest exact amount".into(),
            }),
            Appended::FxRateMissing => errors.push(RowError {
                row: *row,
                field: Some("currency".into()),
                reason: "this organisation requires an FX rate for every money write, and this currency has none \
                         on or before period_end"
                    .into(),
            }),
        }
    }
    if !errors.is_empty() {
        // The caller's transaction rolls back what was written.
        return Err(rejected(errors));
    }
    let summary = ImportSummary {
        rows: rows.len(),
        pilots_created: pilot_rows.len(),
        spend_created: spend,
        impact_created: impact,
        pilots: pilots_out,
    };
    let after = serde_json::to_value(&summary).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "import",
        "import",
        &EntryId::new().to_string(),
        None,
        after.as_ref(),
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(file: &str, format: ImportFormat) -> Vec<usize> {
        let errors = parse_file(file.as_bytes(), format, |_| {}).unwrap_err().into_errors();
        errors.into_listed().iter().map(|e| e.row).collect()
    }

    #[test]
    fn csv_rows_are_spreadsheet_rows_whatever_the_line_endings() {
        // Each data row has one problem (`type`), so each row number shows.
        for end in ["\n", "\r\n"] {
            let file = ["type,name", "x,a", "", "y,\"b", "c\"", "z,d", ""].join(end);
            assert_eq!(rows_of(&file, ImportFormat::Csv), vec![2, 4, 5], "{end:?}");
        }
    }

    #[test]
    fn ndjson_rows_are_line_numbers() {
        let file = "{\"type\": \"x\"}\n\n{\"type\": \"y\"}\n";
        assert_eq!(rows_of(file, ImportFormat::Ndjson), vec![1, 3]);
    }

    #[test]
    fn a_stripped_body_gets_the_data_binary_hint() {
        let file = "{\"type\": \"pilot\"}{\"type\": \"pilot\"}";
        let errors = parse_file(file.as_bytes(), ImportFormat::Ndjson, |_| {})
            .unwrap_err()
            .into_errors();
        assert!(errors
            .into_listed()
            .iter()
            .any(|e| e.row == 0 && e.reason.contains("--data-binary")));
    }
}
