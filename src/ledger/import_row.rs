//! One row of an import file: turned into a pilot or an entry, with every
//! problem it has found in one pass. A field found wrong is reported, then
//! replaced by a stand-in value (or removed, when optional) and the row
//! validated again, so the next problem shows; a problem that may only follow
//! from a stand-in (an ordering against a replaced date, an amount in a
//! replaced currency) is not reported. Also here: how a CSV cell becomes a
//! JSON value (spreadsheet booleans and thousands separators).

use serde_json::{Map, Value};

use super::entries::{ImpactBody, SpendBody};
use super::input::parse_json;
use super::pilots::CreatePilotBody;
use crate::domain::entries::NewEntry;
use crate::domain::ids::PilotId;
use crate::domain::pilots::NewPilot;
use crate::error::{ApiError, RowError};

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

/// What a row says about pilots, whether or not it is valid: the `ref` it
/// defines and the pilot it names, so references are checked in the same
/// pass as everything else.
#[derive(Debug, Default)]
pub struct RowRefs {
    pub defines: Option<String>,
    pub names_ref: Option<String>,
    pub names_id: Option<PilotId>,
}

/// A row's outcome: the row when it has no problem, and what it references.
pub struct ParsedRow {
    pub row: Option<ImportRow>,
    pub refs: RowRefs,
    pub errors: Vec<RowError>,
}

/// The three row kinds, each with its stand-ins and the fields whose
/// problems may follow from another field's stand-in.
#[derive(Clone, Copy)]
enum Kind {
    Pilot,
    Spend,
    Impact,
}

impl Kind {
    /// A valid value for a required field, used once the field's own problem
    /// is reported; `None`: the field is optional and is removed instead.
    fn stand_in(self, field: &str) -> Option<Value> {
        let v = match (self, field) {
            (Kind::Pilot, "name") => "stand-in",
            (Kind::Pilot, "business_function") => "finance_accounting",
            (Kind::Pilot, "sourcing") => "bought",
            (Kind::Pilot, "ai_kind") => "genai_agentic",
            (Kind::Spend, "category") => "licences",
            (Kind::Impact, "kind") => "cost_reduction",
            (Kind::Impact, "attribution_method") => "controlled_experiment",
            (Kind::Impact, "measured") => return Some(Value::Bool(true)),
            (Kind::Spend | Kind::Impact, "period_start") => "2026-01-01",
            (Kind::Spend | Kind::Impact, "period_end") => "2026-01-31",
            (Kind::Spend | Kind::Impact, "amount") => "1",
            (Kind::Spend | Kind::Impact, "currency") => "USD",
            _ => return None,
        };
        Some(Value::String(v.to_owned()))
    }

    /// Fields checked together: a problem of one of them may come from a
    /// stand-in for another, so all are replaced at once then.
    fn group(self, field: &str) -> &'static [&'static str] {
        match (self, field) {
            (Kind::Spend | Kind::Impact, "period_start" | "period_end") => &["period_start", "period_end"],
            (Kind::Spend | Kind::Impact, "amount" | "currency") => &["amount", "currency"],
            (Kind::Pilot, "started_on" | "evaluated_on" | "stage" | "stage_entered_on" | "stage_history") => &[
                "started_on",
                "evaluated_on",
                "stage",
                "stage_entered_on",
                "stage_history",
            ],
            (Kind::Pilot, "expected_annual_benefit" | "expected_annual_benefit_currency") => {
                &["expected_annual_benefit", "expected_annual_benefit_currency"]
            }
            _ => &[],
        }
    }

    /// Deserializes (a field's own problem) and checks the domain rules
    /// (possibly a problem across fields).
    fn check(self, obj: &Map<String, Value>) -> Result<Checked, Failure> {
        let raw = Value::Object(obj.clone()).to_string();
        let own = |e: ApiError| Failure::of(e, false);
        let across = |e: ApiError| Failure::of(e, true);
        match self {
            Kind::Pilot => {
                let body: CreatePilotBody = parse_json(raw.as_bytes()).map_err(own)?;
                NewPilot::try_from(body)
                    .map(Checked::Pilot)
                    .map_err(|e| across(super::field_error(e)))
            }
            Kind::Spend => {
                let body: SpendBody = parse_json(raw.as_bytes()).map_err(own)?;
                body.validate("").map(Checked::Entry).map_err(across)
            }
            Kind::Impact => {
                let body: ImpactBody = parse_json(raw.as_bytes()).map_err(own)?;
                body.validate("").map(Checked::Entry).map_err(across)
            }
        }
    }
}

/// One problem found by [`Kind::check`].
struct Failure {
    field: Option<String>,
    detail: String,
    /// From a rule that may involve other fields than the one named.
    across_fields: bool,
}

impl Failure {
    fn of(e: ApiError, across_fields: bool) -> Self {
        Self {
            field: e.field,
            detail: e.detail,
            across_fields,
        }
    }
}

enum Checked {
    Pilot(NewPilot),
    Entry(crate::domain::entries::NewEntry),
}

fn take_string(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// The top-level key a field path starts with (`tags[0]` → `tags`).
fn top_key(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// Validates one row given as a JSON object, finding all of its problems.
pub fn parse_row(row: usize, value: Value) -> ParsedRow {
    let mut out = ParsedRow {
        row: None,
        refs: RowRefs::default(),
        errors: Vec::new(),
    };
    let err = |field: &str, reason: String| RowError {
        row,
        field: Some(field.to_owned()),
        reason,
    };
    let Value::Object(mut obj) = value else {
        out.errors.push(RowError {
            row,
            field: None,
            reason: "each row must be a JSON object".into(),
        });
        return out;
    };
    let kind = match take_string(&mut obj, "type") {
        Ok(Some(k)) if k == "pilot" => Kind::Pilot,
        Ok(Some(k)) if k == "spend" => Kind::Spend,
        Ok(Some(k)) if k == "impact" => Kind::Impact,
        Ok(_) => {
            out.errors
                .push(err("type", "type must be pilot, spend or impact".into()));
            return out;
        }
        Err(r) => {
            out.errors.push(err("type", r));
            return out;
        }
    };
    let mut target = None;
    match kind {
        Kind::Pilot => match take_string(&mut obj, "ref") {
            Ok(r) => out.refs.defines = r,
            Err(r) => out.errors.push(err("ref", r)),
        },
        Kind::Spend | Kind::Impact => {
            let pilot_ref = take_string(&mut obj, "pilot_ref").map_err(|r| err("pilot_ref", r));
            let pilot_id = take_string(&mut obj, "pilot_id").map_err(|r| err("pilot_id", r));
            match (pilot_ref, pilot_id) {
                (Ok(Some(r)), Ok(None)) => {
                    out.refs.names_ref = Some(r.clone());
                    target = Some(PilotTarget::Ref(r));
                }
                (Ok(None), Ok(Some(id))) => match PilotId::parse(&id) {
                    Some(id) => {
                        out.refs.names_id = Some(id);
                        target = Some(PilotTarget::Id(id));
                    }
                    None => out.errors.push(err("pilot_id", "must be a UUID".into())),
                },
                (Ok(_), Ok(_)) => out
                    .errors
                    .push(err("pilot_ref", "give exactly one of pilot_ref or pilot_id".into())),
                (a, b) => out.errors.extend(a.err().into_iter().chain(b.err())),
            }
        }
    }
    let checked = check_all(row, kind, obj, &mut out.errors);
    if !out.errors.is_empty() {
        return out;
    }
    out.row = match (checked, target) {
        (Some(Checked::Pilot(pilot)), _) => Some(ImportRow::Pilot {
            row,
            reference: out.refs.defines.clone(),
            pilot,
        }),
        (Some(Checked::Entry(entry)), Some(target)) => Some(ImportRow::Entry { row, target, entry }),
        _ => None,
    };
    out
}

/// Checks the body again and again, reporting each problem and replacing
/// the field it names, until it passes (or no field can be named).
fn check_all(row: usize, kind: Kind, mut obj: Map<String, Value>, errors: &mut Vec<RowError>) -> Option<Checked> {
    let mut replaced: Vec<String> = Vec::new();
    let found_before = errors.len();
    // Each round replaces at least one field that was not replaced before.
    for _ in 0..obj.len() + 16 {
        let e = match kind.check(&obj) {
            Ok(checked) => return Some(checked),
            Err(failure) => failure,
        };
        let across_fields = e.across_fields;
        let Some(field) = e.field.as_deref().map(top_key).map(str::to_owned) else {
            errors.push(RowError {
                row,
                field: None,
                reason: e.detail,
            });
            return None;
        };
        let group = kind.group(&field);
        let follows_from_stand_in =
            across_fields && (replaced.contains(&field) || group.iter().any(|g| replaced.iter().any(|r| r == g)));
        if !follows_from_stand_in {
            errors.push(RowError {
                row,
                field: e.field.clone(),
                reason: e.detail,
            });
        }
        let to_replace: Vec<String> = if follows_from_stand_in && !group.is_empty() {
            group.iter().map(|g| (*g).to_owned()).collect()
        } else {
            vec![field]
        };
        let mut progressed = false;
        for f in to_replace {
            match kind.stand_in(&f) {
                Some(v) => {
                    progressed |= obj.get(&f) != Some(&v);
                    obj.insert(f.clone(), v);
                }
                None => progressed |= obj.remove(&f).is_some(),
            }
            if !replaced.contains(&f) {
                replaced.push(f);
            }
        }
        if !progressed {
            break;
        }
    }
    if errors.len() == found_before {
        // Never reached in practice: a row that keeps failing on stand-ins.
        errors.push(RowError {
            row,
            field: None,
            reason: "the row could not be validated".into(),
        });
    }
    None
}

/// The JSON value a CSV cell stands for, by its column.
pub fn csv_value(column: &str, cell: &str) -> Value {
    match column {
        "tags" => Value::Array(cell.split(';').map(|t| Value::String(t.trim().to_owned())).collect()),
        // Spreadsheets write TRUE/FALSE (Excel) or True/False.
        "capex" | "measured" => match cell.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(cell.to_owned()),
        },
        "confidence" => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(cell.to_owned())),
        "amount" | "expected_annual_benefit" => {
            Value::String(without_thousands_separators(cell).unwrap_or_else(|| cell.to_owned()))
        }
        "stage_history" => stage_history_cell(cell).unwrap_or_else(|| Value::String(cell.to_owned())),
        _ => Value::String(cell.to_owned()),
    }
}

/// A stage history in one CSV cell: steps separated by `;`, each
/// `stage:YYYY-MM-DD`, optionally followed by `:reason` (for `abandoned`),
/// e.g. `piloting:2025-01-10;production:2025-06-02;abandoned:2025-09-30:vendor exit`.
/// `None` when a step does not have that shape (the cell is then checked as
/// text, and refused naming the field).
fn stage_history_cell(cell: &str) -> Option<Value> {
    let steps = cell
        .split(';')
        .map(|step| {
            let mut parts = step.trim().splitn(3, ':');
            let (stage, date) = (parts.next()?.trim(), parts.next()?.trim());
            let mut obj = Map::new();
            obj.insert("stage".into(), Value::String(stage.to_owned()));
            obj.insert("entered_on".into(), Value::String(date.to_owned()));
            if let Some(reason) = parts.next() {
                obj.insert("reason".into(), Value::String(reason.trim().to_owned()));
            }
            Some(Value::Object(obj))
        })
        .collect::<Option<Vec<Value>>>()?;
    Some(Value::Array(steps))
}

/// `12,500.00` → `12500.00`, as spreadsheets format amounts: commas only
/// between groups of exactly three digits, in the whole part, with one to
/// three digits before the first. Anything else is left as it is (and the
/// amount's own check says what is wrong).
pub fn without_thousands_separators(cell: &str) -> Option<String> {
    let (sign, rest) = match cell.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", cell),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if rest.is_empty()
        || !digits(first)
        || first.len() > 3
        || !rest.iter().all(|g| g.len() == 3 && digits(g))
        || fraction.is_some_and(|f| !digits(f))
    {
        return None;
    }
    let mut out = format!("{sign}{first}{}", rest.concat());
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thousands_separators_are_taken_only_in_groups_of_three() {
        assert_eq!(without_thousands_separators("12,500.00").as_deref(), Some("12500.00"));
        assert_eq!(without_thousands_separators("-1,234,567").as_deref(), Some("-1234567"));
        assert_eq!(without_thousands_separators("1,2345.00"), None);
        assert_eq!(without_thousands_separators("12,50"), None);
        assert_eq!(without_thousands_separators("1234,500"), None);
        assert_eq!(without_thousands_separators(",500"), None);
        assert_eq!(without_thousands_separators("12500.00"), None);
        assert_eq!(without_thousands_separators("1,500.0,0"), None);
    }

    #[test]
    fn spreadsheet_booleans_are_read_whatever_their_case() {
        assert_eq!(csv_value("capex", "TRUE"), json!(true));
        assert_eq!(csv_value("measured", "False"), json!(false));
        assert_eq!(csv_value("measured", "yes"), json!("yes"));
    }

    #[test]
    fn every_problem_of_a_row_is_reported() {
        let row = json!({"type": "spend", "pilot_ref": "P1", "category": "seats", "period_start": "2026-02-30",
                         "period_end": "2026-01-31", "amount": "abc", "currency": "USD", "colour": "red"});
        let parsed = parse_row(7, row);
        let mut fields: Vec<_> = parsed.errors.iter().map(|e| e.field.clone().unwrap()).collect();
        fields.sort();
        assert_eq!(
            fields,
            ["amount", "category", "colour", "period_start"],
            "{:?}",
            parsed.errors
        );
        assert!(parsed.errors.iter().all(|e| e.row == 7));
        assert_eq!(parsed.refs.names_ref.as_deref(), Some("P1"));
    }

    #[test]
    fn an_ordering_against_a_stand_in_is_not_reported() {
        let row = json!({"type": "spend", "pilot_ref": "P1", "category": "licences", "period_start": "2026-13-01",
                         "period_end": "2025-01-31", "amount": "1", "currency": "USD"});
        let parsed = parse_row(2, row);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert_eq!(parsed.errors[0].field.as_deref(), Some("period_start"));
    }
}
