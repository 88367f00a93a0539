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
//! In CSV, `tags` is `;`-separated, `capex`/`measured` are `true`/`false`, empty
//! cells are absent fields. See `docs/import-template.csv`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use super::input::{parse_json, strict_value};
use super::pilots::{new_pilot_row, CreatePilotBody};
use crate::db::append::{Appended, Rates};
use crate::db::audit::Actor;
use crate::db::entries::EntryView;
use crate::db::DbConnection;
use crate::domain::entries::{EntryKind, NewEntry};
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::domain::pilots::NewPilot;
use crate::error::{ApiError, ApiResult, Code, RowError, RowErrors};
use crate::ledger::entries::{entry_row, ImpactBody, SpendBody};

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

/// Which pilot an entry row belongs to.
#[derive(Debug, Clone)]
pub enum PilotTarget {
    Ref(String),
    Id(PilotId),
}

/// One validated row.
#[derive(Debug, Clone)]
pub enum ImportRow {
    Pilot {
        row: usize,
        reference: Option<String>,
        pilot: NewPilot,
    },
    Entry {
        row: usize,
        target: PilotTarget,
        entry: NewEntry,
    },
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

fn row_error(row: usize, e: ApiError) -> RowError {
    RowError {
        row,
        field: e.field,
        reason: e.detail,
    }
}

fn take_string(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// Validates one row given as a JSON object.
pub fn parse_row(row: usize, value: Value) -> Result<ImportRow, RowError> {
    let err = |field: &str, reason: String| RowError {
        row,
        field: Some(field.to_owned()),
        reason,
    };
    let Value::Object(mut obj) = value else {
        return Err(RowError {
            row,
            field: None,
            reason: "each row must be a JSON object".into(),
        });
    };
    let kind = take_string(&mut obj, "type").map_err(|r| err("type", r))?;
    match kind.as_deref() {
        Some("pilot") => {
            let reference = take_string(&mut obj, "ref").map_err(|r| err("ref", r))?;
            let body: CreatePilotBody =
                parse_json(Value::Object(obj).to_string().as_bytes()).map_err(|e| row_error(row, e))?;
            let pilot = NewPilot::try_from(body).map_err(|e| err(e.field, e.reason))?;
            Ok(ImportRow::Pilot { row, reference, pilot })
        }
        Some(k @ ("spend" | "impact")) => {
            let pilot_ref = take_string(&mut obj, "pilot_ref").map_err(|r| err("pilot_ref", r))?;
            let pilot_id = take_string(&mut obj, "pilot_id").map_err(|r| err("pilot_id", r))?;
            let target = match (pilot_ref, pilot_id) {
                (Some(r), None) => PilotTarget::Ref(r),
                (None, Some(id)) => {
                    PilotTarget::Id(PilotId::parse(&id).ok_or_else(|| err("pilot_id", "must be a UUID".into()))?)
                }
                _ => return Err(err("pilot_ref", "give exactly one of pilot_ref or pilot_id".into())),
            };
            let raw = Value::Object(obj).to_string();
            let entry = if k == "spend" {
                parse_json::<SpendBody>(raw.as_bytes()).and_then(|b| b.validate(""))
            } else {
                parse_json::<ImpactBody>(raw.as_bytes()).and_then(|b| b.validate(""))
            }
            .map_err(|e| row_error(row, e))?;
            Ok(ImportRow::Entry { row, target, entry })
        }
        _ => Err(err("type", "type must be pilot, spend or impact".into())),
    }
}

/// Turns a CSV record into the JSON object its row stands for.
fn csv_object(headers: &csv::StringRecord, record: &csv::StringRecord) -> Value {
    let mut obj = Map::new();
    for (name, cell) in headers.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        let value = match name {
            "tags" => Value::Array(cell.split(';').map(|t| Value::String(t.trim().to_owned())).collect()),
            "capex" | "measured" => match cell {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => Value::String(other.to_owned()),
            },
            "confidence" => cell
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(cell.to_owned())),
            _ => Value::String(cell.to_owned()),
        };
        obj.insert(name.to_owned(), value);
    }
    Value::Object(obj)
}

/// Parses and validates a whole file; every problem is counted, the first
/// [`RowErrors::LISTED`] by row are kept, nothing is half-accepted. Memory is
/// bounded whatever the file holds: at most [`MAX_ROWS`] rows are read (the
/// next one stops the reading with an error) and the error list is capped.
/// `progress` is called with the number of rows seen so far.
pub fn parse_file(
    bytes: &[u8],
    format: ImportFormat,
    mut progress: impl FnMut(usize),
) -> Result<Vec<ImportRow>, RowErrors> {
    // A UTF-8 byte-order mark (spreadsheets write one) is not part of row 1.
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut rows = Vec::new();
    let mut errors = RowErrors::default();
    // Counts a row read and says whether to go on; rows past the cap stop it.
    let mut seen = 0usize;
    let mut take = |row: usize, result: Result<ImportRow, RowError>, errors: &mut RowErrors| -> bool {
        seen += 1;
        if seen > MAX_ROWS {
            errors.push(RowError {
                row,
                field: None,
                reason: format!("at most {MAX_ROWS} rows per import; reading stopped here"),
            });
            return false;
        }
        match result {
            Ok(r) => rows.push(r),
            Err(e) => errors.push(e),
        }
        if seen.is_multiple_of(10_000) {
            progress(seen);
        }
        true
    };
    let file_error = |reason: String| {
        let mut errors = RowErrors::default();
        errors.push(RowError {
            row: 0,
            field: None,
            reason,
        });
        errors
    };
    match format {
        ImportFormat::Ndjson => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Err(file_error("the file is not UTF-8".into()));
            };
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let row = i + 1;
                let parsed = strict_value(line.as_bytes())
                    .map_err(|e| RowError {
                        row,
                        field: None,
                        reason: format!("not valid JSON: {e}"),
                    })
                    .and_then(|v| parse_row(row, v));
                if !take(row, parsed, &mut errors) {
                    break;
                }
            }
        }
        ImportFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
            let headers = match reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Err(file_error(format!("bad CSV header: {e}"))),
            };
            for (i, record) in reader.records().enumerate() {
                let row = i + 1;
                let parsed = record
                    .map_err(|e| RowError {
                        row,
                        field: None,
                        reason: format!("bad CSV row: {e}"),
                    })
                    .and_then(|r| parse_row(row, csv_object(&headers, &r)));
                if !take(row, parsed, &mut errors) {
                    break;
                }
            }
        }
    }
    let total = rows.len() + errors.total();
    progress(total);
    if total == 0 {
        errors.push(RowError {
            row: 0,
            field: None,
            reason: "the file has no rows".into(),
        });
    }
    // References must be unique and resolvable within the file.
    let mut refs: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        if let ImportRow::Pilot {
            row,
            reference: Some(reference),
            ..
        } = r
        {
            if refs.insert(reference.as_str(), *row).is_some() {
                errors.push(RowError {
                    row: *row,
                    field: Some("ref".into()),
                    reason: format!("ref {reference} is used twice"),
                });
            }
        }
    }
    for r in &rows {
        if let ImportRow::Entry {
            row,
            target: PilotTarget::Ref(reference),
            ..
        } = r
        {
            if !refs.contains_key(reference.as_str()) {
                errors.push(RowError {
                    row: *row,
                    field: Some("pilot_ref".into()),
                    reason: format!("no pilot row has ref {reference}"),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The 422 for a rejected file.
pub fn rejected(errors: RowErrors) -> ApiError {
    let errors = errors.sorted();
    let mut e = ApiError::new(
        Code::IMPORT_REJECTED,
        format!(
            "{} row(s) were rejected; nothing was imported (first {} listed)",
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
    let mut known: HashMap<PilotId, bool> = HashMap::new();
    for r in &rows {
        if let ImportRow::Entry {
            row,
            target: PilotTarget::Id(id),
            ..
        } = r
        {
            let exists = match known.get(id) {
                Some(e) => *e,
                None => {
                    let exists = crate::db::pilots::find(conn, org, *id).is_ok();
                    known.insert(*id, exists);
                    exists
                }
            };
            if !exists {
                errors.push(RowError {
                    row: *row,
                    field: Some("pilot_id".into()),
                    reason: "no such pilot".into(),
                });
            }
        }
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
