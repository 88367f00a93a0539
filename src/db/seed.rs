//! Writes generated demo data (`crate::demo`) into the database: one write
//! transaction per organisation, rows inserted in multi-row batches.

use crate::domain::enums::EntryType;
use diesel::prelude::*;

use super::entries::EntryView;
use super::fx::FxRateView;
use super::orgs::OrgView;
use super::pilots::PilotView;
use super::schema::pilots;
use super::{DbConnection, DbError};
use crate::analytics::fx_table::FxTable;
use crate::demo::{DemoRate, OrgBatch};
use crate::domain::entries::{NewEntry, Period};
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::domain::money::Money;

/// `created_by` of every entry the demo seed writes (`insert_org_batch`).
pub const DEMO_CREATOR: &str = "demo seed";

/// Rows per INSERT statement: well under both backends' bind-parameter limits.
const CHUNK: usize = 400;

/// Inserts new pilots (import, demo seed) and records their first versions.
pub fn insert_pilots(conn: &mut DbConnection, rows: &[PilotView]) -> Result<(), DbError> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(pilots::table).values(chunk.to_vec()).execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(pilots::table).values(chunk.to_vec()).execute(c)?,
        };
    }
    super::pilots::record_versions(conn, rows)
}

pub fn insert_entries(conn: &mut DbConnection, rows: &[EntryView]) -> Result<(), DbError> {
    super::entries::insert_many(conn, &rows.iter().collect::<Vec<_>>())
}

/// Inserts or replaces the demo's FX rates.
pub fn insert_fx_rates(conn: &mut DbConnection, rates: &[DemoRate]) -> Result<(), DbError> {
    let now = super::now();
    let keys: Vec<_> = rates.iter().map(|r| (r.currency.code().to_owned(), r.date)).collect();
    for r in rates {
        super::fx::upsert(
            conn,
            &FxRateView {
                currency: r.currency.code().to_owned(),
                rate_date: r.date,
                rate_to_usd: r.rate_to_usd.to_string(),
                loaded_at: now,
            },
        )?;
    }
    super::rollups::refresh_for_rates(conn, &keys)?;
    Ok(())
}

/// Inserts one generated organisation with its pilots and entries; returns
/// the organisation's new id.
/// `fx`: the stored rates (`db::fx::table`), for the pilots' rollups.
pub fn insert_org_batch(conn: &mut DbConnection, batch: &OrgBatch, fx: &FxTable) -> Result<OrgId, DbError> {
    let now = super::now();
    let org_id = OrgId::new();
    let org = OrgView {
        fx_rate_required: false,
        id: org_id.to_string(),
        name: batch.org.name.clone(),
        industry: batch.org.industry,
        size_band: batch.org.size_band,
        region: batch.org.region.to_owned(),
        reporting_currency: batch.org.reporting_currency.code().to_owned(),
        ledger_version: 0,
        created_at: now,
    };
    super::orgs::insert(conn, &org)?;
    let pilot_ids: Vec<PilotId> = batch.pilots.iter().map(|_| PilotId::new()).collect();
    let pilot_rows: Vec<PilotView> = batch
        .pilots
        .iter()
        .zip(&pilot_ids)
        .map(|(p, id)| PilotView {
            org_id: org.id.clone(),
            id: id.to_string(),
            name: p.name.clone(),
            business_function: p.business_function,
            sourcing: p.sourcing,
            ai_kind: p.ai_kind,
            stage: p.stage,
            stage_entered_on: p.stage_entered_on,
            evaluation_stage_on: p.stage.is_evaluating().then_some(p.stage_entered_on),
            started_on: Some(p.started_on),
            evaluated_on: p.evaluated_on,
            owner_team: Some(p.owner_team.clone()),
            tags: serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
            external_ref: Some(p.external_ref.clone()),
            stage_history: "[]".into(),
            expected_benefit_minor: None,
            expected_benefit_currency: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect();
    insert_pilots(conn, &pilot_rows)?;
    let entry_rows: Vec<EntryView> = batch
        .entries
        .iter()
        .map(|e| {
            let entry = NewEntry {
                // The generator's periods are ordered and in range (its tests
                // check it), so no validation runs here.
                period: Period {
                    start: e.period_start,
                    end: e.period_end,
                },
                amount: Money {
                    minor: e.amount_minor,
                    currency: e.currency,
                },
                kind: e.kind,
                confidence: e.confidence,
                note: Some(e.note.clone()),
            };
            let mut row = EntryView::new_row(org_id, pilot_ids[e.pilot], EntryId::new(), &entry, "demo seed");
            row.created_at = now;
            row
        })
        .collect();
    insert_entries(conn, &entry_rows)?;
    super::rollups::after_bulk_write(conn, fx, &pilot_rows, &entry_rows)?;
    let mut totals: std::collections::BTreeMap<(&str, EntryType, &str), (i64, i64)> = Default::default();
    for e in &entry_rows {
        let t = totals
            .entry((e.pilot_id.as_str(), e.entry_type, e.currency.code()))
            .or_default();
        t.0 += e.amount_minor;
        t.1 += 1;
    }
    let total_rows: Vec<super::totals::TotalView> = totals
        .into_iter()
        .map(|((pilot, t, currency), (sum, count))| super::totals::TotalView {
            org_id: org.id.clone(),
            pilot_id: pilot.to_owned(),
            entry_type: t,
            currency: currency.to_owned(),
            total_minor: sum,
            entries: count,
        })
        .collect();
    for chunk in total_rows.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(super::schema::pilot_totals::table)
                .values(chunk.to_vec())
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(super::schema::pilot_totals::table)
                .values(chunk.to_vec())
                .execute(c)?,
        };
    }
    Ok(org_id)
}

/// Whether the database holds no organisation yet (for `serve --demo`).
pub fn is_empty(conn: &mut DbConnection) -> Result<bool, DbError> {
    use super::schema::orgs;
    let n: i64 = orgs::table.count().get_result(conn)?;
    Ok(n == 0)
}

/// Whether `demo seed` has written here before (its entries say so in
/// `created_by`), so a second seed can refuse instead of duplicating it.
pub fn has_demo_data(conn: &mut DbConnection) -> Result<bool, DbError> {
    use super::schema::entries;
    let found: Option<String> = entries::table
        .filter(entries::created_by.eq(DEMO_CREATOR))
        .select(entries::id)
        .limit(1)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}
