//! Spend that arrives by itself, written to the ledger: an import's plan
//! (`billing::aggregate::Plan`) applied bill by bill, and the bills' current
//! figures (the rules themselves are `allocation_rules`). For each bill (source) the entries it should hold
//! are compared with the entries its earlier imports wrote that are still
//! live: equal ones stay, changed ones are reversed with a replacement, gone
//! ones reversed, new ones appended — all through `db::append`, like every
//! other entry. Importing the same bill again therefore writes nothing; a
//! corrected bill writes exactly the difference, and the audit log names the
//! import that replaced which. A rule change is applied to a period the same
//! way: import its bill again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::entries::entry_row;
use crate::billing::aggregate::{Plan, SourcePlan, UnallocatedGroup};
use crate::db::append::{Appended, Rates};
use crate::db::audit::Actor;
use crate::db::entries::EntryView;
use crate::db::spend_sources::{SourceEntryView, SpendImportView, SpendSourceView};
use crate::db::DbConnection;
use crate::domain::entries::{EntryKind, NewEntry, Period};
use crate::domain::enums::SpendCategory;
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::domain::money::{Money, MoneyJson};
use crate::error::{ApiError, ApiResult, Code};

use super::allocation_rules::invalid;
pub use super::allocation_rules::{
    cost_column, create_rule, delete_rule, list_rules, rules_for_import, set_cost_column, RuleBody, RuleJson,
    SettingsBody, SplitPart,
};

/// What an import did, bill by bill.
#[derive(Serialize, Deserialize, Debug)]
pub struct ImportReport {
    /// `null` when nothing was written (every bill as already imported).
    pub import_id: Option<String>,
    /// `imported` (something was written) or `unchanged`.
    pub status: String,
    pub kind: String,
    pub rows: u64,
    pub entries_created: usize,
    pub entries_reversed: usize,
    pub entries_unchanged: usize,
    pub sources: Vec<SourceReport>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct SourceReport {
    pub kind: String,
    pub provider: String,
    pub billing_account: String,
    pub billing_period: NaiveDate,
    /// `new`, `unchanged` or `corrected`.
    pub status: String,
    /// The imports whose entries this one reversed.
    pub replaces_imports: Vec<String>,
    pub totals: Vec<SourceTotals>,
    pub unallocated_groups: Vec<UnallocatedGroup>,
    pub entries: Vec<SourceEntryJson>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct MoneyOut {
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
}

impl From<MoneyJson> for MoneyOut {
    fn from(m: MoneyJson) -> Self {
        Self {
            amount: m.amount,
            amount_minor: m.amount_minor,
            currency: m.currency,
        }
    }
}

#[derive(Serialize, Deserialize, Debug)]
pub struct SourceTotals {
    pub currency: String,
    pub rows: u64,
    /// The bill's exact total.
    pub total_exact: String,
    /// Rounded once.
    pub total: MoneyOut,
    pub allocated: MoneyOut,
    /// The rest of the rounded total.
    pub unallocated: MoneyOut,
    /// The exact sum of the rows no rule matched.
    pub unallocated_exact: String,
    pub unallocated_rows: u64,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct SourceEntryJson {
    pub entry_id: String,
    pub pilot_id: String,
    pub month: NaiveDate,
    pub service_category: String,
    pub amount: MoneyOut,
    /// Written by this import (`false`: an earlier import's, unchanged).
    pub created: bool,
}

/// What an import of one file is, for the record.
pub struct ImportMeta {
    pub kind: &'static str,
    pub sha256: String,
}

fn month_end(month: NaiveDate) -> NaiveDate {
    let (y, m) = if month.month() == 12 {
        (month.year() + 1, 1)
    } else {
        (month.year(), month.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(month)
}

fn category_of(service_category: &str) -> SpendCategory {
    if service_category.eq_ignore_ascii_case("AI and Machine Learning") {
        SpendCategory::ComputeInference
    } else {
        SpendCategory::Infrastructure
    }
}

type Key = (String, NaiveDate, String, String);

fn state_rows(org: OrgId, s: &SourcePlan, import_id: &str) -> ApiResult<Vec<SpendSourceView>> {
    let key = s.source.key();
    s.currencies
        .iter()
        .map(|t| {
            let groups: Vec<&UnallocatedGroup> = s
                .unallocated
                .iter()
                .filter(|g| g.currency == t.currency.code())
                .collect();
            Ok(SpendSourceView {
                org_id: org.to_string(),
                source_key: key.clone(),
                currency: t.currency.code().to_owned(),
                kind: s.source.kind.clone(),
                provider: s.source.provider.clone(),
                billing_account: s.source.billing_account.clone(),
                billing_period: s.source.billing_period,
                import_id: import_id.to_owned(),
                row_count: t.rows as i64,
                total_exact: t.total_exact.to_string(),
                total_minor: t.total_minor,
                allocated_minor: t.allocated_minor,
                unallocated_minor: t.unallocated_minor,
                unallocated_exact: t.unallocated_exact.to_string(),
                unallocated_rows: t.unallocated_rows as i64,
                unallocated_json: serde_json::to_string(&groups).map_err(ApiError::internal)?,
                updated_at: crate::db::now(),
            })
        })
        .collect()
}

/// Whether two sets of a bill's figures say the same (ids and times aside).
fn same_figures(a: &[SpendSourceView], b: &[SpendSourceView]) -> bool {
    let strip = |v: &SpendSourceView| {
        (
            v.currency.clone(),
            v.row_count,
            v.total_exact.clone(),
            v.total_minor,
            v.allocated_minor,
            v.unallocated_minor,
            v.unallocated_exact.clone(),
            v.unallocated_rows,
            v.unallocated_json.clone(),
        )
    };
    a.len() == b.len() && a.iter().map(strip).eq(b.iter().map(strip))
}

/// Applies a plan inside the caller's write transaction. Nothing is written
/// when every bill is as already imported.
pub fn apply(
    conn: &mut DbConnection,
    org: OrgId,
    actor: &Actor,
    plan: Plan,
    meta: ImportMeta,
) -> ApiResult<ImportReport> {
    let import_id = EntryId::new().to_string();
    // Every pilot the rules name must (still) be this organisation's.
    let pilots: BTreeSet<&str> = plan
        .sources
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.pilot.as_str()))
        .collect();
    for p in pilots {
        let id = PilotId::parse(p).ok_or_else(|| ApiError::internal("a rule names a pilot id that does not parse"))?;
        crate::db::pilots::find(conn, org, id).map_err(|e| match e {
            crate::db::DbError::NotFound => invalid(
                "rules",
                format!("an allocation rule names pilot {p}, which does not exist"),
            ),
            other => other.into(),
        })?;
    }
    let mut rows: Vec<EntryView> = Vec::new();
    let mut sources_out = Vec::new();
    let mut changed_sources: Vec<(String, Vec<SpendSourceView>)> = Vec::new();
    let mut source_entries: Vec<SourceEntryView> = Vec::new();
    let (mut created, mut reversed, mut unchanged) = (0usize, 0usize, 0usize);
    let mut replaced_imports: BTreeSet<String> = BTreeSet::new();
    let mut reversed_ids: Vec<String> = Vec::new();
    for s in &plan.sources {
        let key = s.source.key();
        let live = crate::db::spend_sources::live_entries(conn, org, &key)?;
        let mut live_by: BTreeMap<Key, Vec<SourceEntryView>> = BTreeMap::new();
        for e in live {
            live_by
                .entry((
                    e.pilot_id.clone(),
                    e.month,
                    e.service_category.clone(),
                    e.currency.clone(),
                ))
                .or_default()
                .push(e);
        }
        let stored = crate::db::spend_sources::source(conn, org, &key)?;
        let figures = state_rows(org, s, &import_id)?;
        let mut entries_out = Vec::new();
        let mut replaces = BTreeSet::new();
        let mut source_changed = false;
        let reason = |old: &str| format!("bill {key} imported again: import {import_id} replaces import {old}");
        for d in &s.entries {
            let k: Key = (
                d.pilot.clone(),
                d.month,
                d.service_category.clone(),
                d.currency.code().to_owned(),
            );
            let olds = live_by.remove(&k).unwrap_or_default();
            if olds.len() == 1 && olds[0].amount_minor == d.amount_minor {
                unchanged += 1;
                entries_out.push(SourceEntryJson {
                    entry_id: olds[0].entry_id.clone(),
                    pilot_id: d.pilot.clone(),
                    month: d.month,
                    service_category: d.service_category.clone(),
                    amount: MoneyJson::new(d.amount_minor, d.currency).into(),
                    created: false,
                });
                continue;
            }
            source_changed = true;
            let mut replaces_id = None;
            for old in &olds {
                rows.push(reversal_of(conn, org, actor, old, &reason(&old.import_id))?);
                reversed += 1;
                reversed_ids.push(old.entry_id.clone());
                replaces.insert(old.import_id.clone());
                replaces_id = Some(old.entry_id.clone());
            }
            let pilot = PilotId::parse(&d.pilot).ok_or_else(|| ApiError::internal("pilot id"))?;
            let new = NewEntry {
                period: Period::new(d.month, month_end(d.month)).map_err(super::field_error)?,
                amount: Money {
                    minor: d.amount_minor,
                    currency: d.currency,
                },
                kind: EntryKind::Spend {
                    category: category_of(&d.service_category),
                    capex: false,
                },
                confidence: None,
                note: Some(format!(
                    "{} {} bill {} {}, {}; import {import_id}",
                    s.source.kind,
                    s.source.provider,
                    s.source.billing_account,
                    s.source.billing_period.format("%Y-%m"),
                    d.service_category
                )),
            };
            let id = EntryId::new();
            let mut row = entry_row(org, pilot, id, &new, &actor.sub);
            if let Some(old) = &replaces_id {
                row.replaces = Some(old.clone());
                row.reason = Some(reason(&olds[0].import_id));
            }
            rows.push(row);
            created += 1;
            source_entries.push(SourceEntryView {
                org_id: org.to_string(),
                entry_id: id.to_string(),
                source_key: key.clone(),
                import_id: import_id.clone(),
                pilot_id: d.pilot.clone(),
                month: d.month,
                service_category: d.service_category.clone(),
                currency: d.currency.code().to_owned(),
                amount_minor: d.amount_minor,
            });
            entries_out.push(SourceEntryJson {
                entry_id: id.to_string(),
                pilot_id: d.pilot.clone(),
                month: d.month,
                service_category: d.service_category.clone(),
                amount: MoneyJson::new(d.amount_minor, d.currency).into(),
                created: true,
            });
        }
        // What the earlier import had and this bill no longer has.
        for olds in live_by.into_values() {
            for old in olds {
                source_changed = true;
                rows.push(reversal_of(conn, org, actor, &old, &reason(&old.import_id))?);
                reversed += 1;
                reversed_ids.push(old.entry_id.clone());
                replaces.insert(old.import_id.clone());
            }
        }
        let figures_changed = !same_figures(&stored, &figures);
        let status = if !source_changed && !figures_changed {
            "unchanged"
        } else if stored.is_empty() && replaces.is_empty() {
            "new"
        } else {
            "corrected"
        };
        if figures_changed || source_changed {
            for old in &stored {
                if old.import_id != import_id {
                    replaces.insert(old.import_id.clone());
                }
            }
            changed_sources.push((key.clone(), figures));
        }
        replaced_imports.extend(replaces.iter().cloned());
        sources_out.push(SourceReport {
            kind: s.source.kind.clone(),
            provider: s.source.provider.clone(),
            billing_account: s.source.billing_account.clone(),
            billing_period: s.source.billing_period,
            status: status.into(),
            replaces_imports: replaces.into_iter().collect(),
            totals: s
                .currencies
                .iter()
                .map(|t| SourceTotals {
                    currency: t.currency.code().to_owned(),
                    rows: t.rows,
                    total_exact: t.total_exact.to_string(),
                    total: MoneyJson::new(t.total_minor, t.currency).into(),
                    allocated: MoneyJson::new(t.allocated_minor, t.currency).into(),
                    unallocated: MoneyJson::new(t.unallocated_minor, t.currency).into(),
                    unallocated_exact: t.unallocated_exact.to_string(),
                    unallocated_rows: t.unallocated_rows,
                })
                .collect(),
            unallocated_groups: s.unallocated.clone(),
            entries: entries_out,
        });
    }
    let wrote = !rows.is_empty() || !changed_sources.is_empty();
    let mut report = ImportReport {
        import_id: wrote.then(|| import_id.clone()),
        status: if wrote { "imported" } else { "unchanged" }.into(),
        kind: meta.kind.into(),
        rows: plan.lines,
        entries_created: created,
        entries_reversed: reversed,
        entries_unchanged: unchanged,
        sources: sources_out,
    };
    if !wrote {
        return Ok(report);
    }
    let refs: Vec<&EntryView> = rows.iter().collect();
    let outcomes = crate::db::append::append(conn, &[], &refs, Rates::lookup())?;
    if let Some((row, outcome)) = rows.iter().zip(&outcomes).find(|(_, o)| **o != Appended::Written) {
        return Err(match outcome {
            Appended::FxRateMissing => super::entries::fx_rate_missing("", row),
            _ => super::entries::total_overflow(row),
        });
    }
    crate::db::spend_sources::insert_source_entries(conn, &source_entries)?;
    for (key, figures) in &changed_sources {
        crate::db::spend_sources::replace_source(conn, org, key, figures)?;
    }
    report.import_id = Some(import_id.clone());
    let body = serde_json::to_string(&report).map_err(ApiError::internal)?;
    crate::db::spend_sources::insert_import(
        conn,
        &SpendImportView {
            org_id: org.to_string(),
            id: import_id.clone(),
            kind: meta.kind.into(),
            sha256: meta.sha256,
            row_count: plan.lines as i64,
            report_json: body,
            created_by: actor.sub.clone(),
            imported_at: crate::db::now(),
        },
    )?;
    let before = serde_json::json!({
        "replaced_imports": replaced_imports,
        "reversed_entries": reversed_ids,
    });
    let after = serde_json::json!({
        "import_id": import_id,
        "kind": meta.kind,
        "rows": plan.lines,
        "entries_created": created,
        "entries_reversed": reversed,
        "sources": report.sources.iter().map(|s| serde_json::json!({
            "provider": s.provider, "billing_account": s.billing_account,
            "billing_period": s.billing_period, "status": s.status, "replaces_imports": s.replaces_imports,
        })).collect::<Vec<_>>(),
    });
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "spend_source.import",
        "spend_import",
        &import_id,
        Some(&before),
        Some(&after),
    )?;
    crate::db::orgs::bump_ledger_version(conn, org)?;
    Ok(report)
}

/// The reversal of an entry a bill wrote.
fn reversal_of(
    conn: &mut DbConnection,
    org: OrgId,
    actor: &Actor,
    old: &SourceEntryView,
    reason: &str,
) -> ApiResult<EntryView> {
    let (Some(pilot), Some(id)) = (PilotId::parse(&old.pilot_id), EntryId::parse(&old.entry_id)) else {
        return Err(ApiError::internal("a stored id does not parse"));
    };
    let original = crate::db::entries::find(conn, org, pilot, id)?;
    Ok(EntryView {
        id: EntryId::new().to_string(),
        amount_minor: -original.amount_minor,
        reverses: Some(original.id.clone()),
        replaces: None,
        reason: Some(reason.to_owned()),
        created_by: actor.sub.clone(),
        created_at: crate::db::now(),
        ..original
    })
}

/// The organisation's bills as their latest imports left them, and the
/// unallocated rest per currency (the finance view's figures).
#[derive(Serialize)]
pub struct SourcesJson {
    pub sources: Vec<SourceJson>,
    pub unallocated: Vec<UnallocatedTotal>,
}

#[derive(Serialize)]
pub struct SourceJson {
    pub kind: String,
    pub provider: String,
    pub billing_account: String,
    pub billing_period: NaiveDate,
    pub import_id: String,
    pub rows: i64,
    pub total_exact: String,
    pub total: MoneyOut,
    pub allocated: MoneyOut,
    pub unallocated: MoneyOut,
    pub unallocated_exact: String,
    pub unallocated_rows: i64,
    pub unallocated_groups: Vec<UnallocatedGroup>,
}

/// Unallocated spend of every bill, in one currency.
#[derive(Serialize, Clone, Debug)]
pub struct UnallocatedTotal {
    pub currency: String,
    pub amount: String,
    pub amount_minor: i64,
    pub rows: i64,
    pub sources: usize,
}

pub fn sources(conn: &mut DbConnection, org: OrgId) -> ApiResult<SourcesJson> {
    let rows = crate::db::spend_sources::sources(conn, org)?;
    let mut totals: BTreeMap<String, (i128, i64, usize)> = BTreeMap::new();
    let mut out = Vec::new();
    for r in rows {
        let money = |minor: i64| -> MoneyOut { MoneyJson::stored(minor, &r.currency).into() };
        let t = totals.entry(r.currency.clone()).or_default();
        t.0 += i128::from(r.unallocated_minor);
        t.1 += r.unallocated_rows;
        t.2 += 1;
        out.push(SourceJson {
            kind: r.kind.clone(),
            provider: r.provider.clone(),
            billing_account: r.billing_account.clone(),
            billing_period: r.billing_period,
            import_id: r.import_id.clone(),
            rows: r.row_count,
            total_exact: r.total_exact.clone(),
            total: money(r.total_minor),
            allocated: money(r.allocated_minor),
            unallocated: money(r.unallocated_minor),
            unallocated_exact: r.unallocated_exact.clone(),
            unallocated_rows: r.unallocated_rows,
            unallocated_groups: serde_json::from_str(&r.unallocated_json).unwrap_or_default(),
        });
    }
    let mut unallocated = Vec::new();
    for (currency, (minor, rows, n)) in totals {
        let minor = i64::try_from(minor)
            .map_err(|_| ApiError::new(Code::AMOUNT_OVERFLOW, "the unallocated total is too large"))?;
        let m = MoneyJson::stored(minor, &currency);
        unallocated.push(UnallocatedTotal {
            currency,
            amount: m.amount,
            amount_minor: minor,
            rows,
            sources: n,
        });
    }
    Ok(SourcesJson {
        sources: out,
        unallocated,
    })
}

/// Only the unallocated totals (for the finance summary).
pub fn unallocated(conn: &mut DbConnection, org: OrgId) -> ApiResult<Vec<UnallocatedTotal>> {
    Ok(sources(conn, org)?.unallocated)
}

/// The answer for a bill nothing of which may be written: 422
/// `bill_unsupported` naming the field (version, column, body), 413 for a
/// limit, or 422 `import_rejected` with one `{row, field, reason}` per bad
/// row (the header is row 1).
pub fn rejected(r: crate::billing::Rejected) -> ApiError {
    use crate::billing::Rejected;
    match r {
        Rejected::Unsupported { field, reason } => ApiError::field(Code::BILL_UNSUPPORTED, field, reason),
        Rejected::TooLarge(reason) => ApiError::new(Code::PAYLOAD_TOO_LARGE, reason),
        Rejected::Rows(errors) => {
            let total = errors.total();
            let listed = errors
                .into_listed()
                .into_iter()
                .map(|e| crate::error::RowError {
                    row: e.row,
                    field: e.column,
                    reason: e.reason,
                })
                .collect();
            super::import::rejected(crate::error::RowErrors::from_listed(listed, total))
        }
    }
}
