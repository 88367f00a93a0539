//! `pilotledger check`: whether a database holds what the ledger invariant
//! says it holds. Migrations current (none pending, none unknown); every
//! pilot's running totals equal the sums of its entries, per entry type and
//! currency, with nothing extra; every pilot's rollup equals one recomputed
//! from its entries at the stored FX rates; on SQLite, no foreign key broken
//! (PostgreSQL enforces them on every write).

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::entries::EntryView;
use super::rollups::RollupRow;
use super::schema::{orgs, pilot_rollups, pilot_totals};
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

/// What `check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub organisations: usize,
    pub pilots: usize,
    pub entries: usize,
    /// One line per problem, in organisation and pilot order.
    pub problems: Vec<String>,
}

/// Reads the whole database once, organisation by organisation.
pub fn check(conn: &mut DbConnection) -> Result<CheckReport, DbError> {
    let mut report = CheckReport::default();
    match super::pending_migrations(conn) {
        Ok(pending) if pending.is_empty() => {}
        Ok(pending) => report.problems.push(format!(
            "{} migration(s) pending: {}",
            pending.len(),
            pending.join(", ")
        )),
        Err(e) => report.problems.push(e.to_string()),
    }
    if let DbConnection::Sqlite(c) = conn {
        #[derive(QueryableByName)]
        struct Broken {
            #[diesel(sql_type = diesel::sql_types::Text)]
            table: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            parent: String,
        }
        let broken: Vec<Broken> = diesel::sql_query("PRAGMA foreign_key_check").load(c)?;
        for b in broken {
            report
                .problems
                .push(format!("a row of {} names a missing row of {}", b.table, b.parent));
        }
    }
    let fx = super::fx::table(conn)?;
    let org_ids: Vec<String> = orgs::table.select(orgs::id).order(orgs::id.asc()).load(conn)?;
    for id in org_ids {
        let org = OrgId::parse(&id).ok_or(DbError::Corrupt(format!("organisation id {id:?} is not a UUID")))?;
        report.organisations += 1;
        let pilots = super::pilots::all_for_org(conn, org)?;
        let entries = super::entries::all_for_org(conn, org, None)?;
        report.pilots += pilots.len();
        report.entries += entries.len();
        let mut by_pilot: BTreeMap<String, Vec<&EntryView>> = BTreeMap::new();
        for e in &entries {
            by_pilot.entry(e.pilot_id.clone()).or_default().push(e);
        }
        // Running totals: recomputed per (pilot, type, currency) against the stored rows.
        let mut expected: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
        for e in &entries {
            let t = expected
                .entry((
                    e.pilot_id.clone(),
                    e.entry_type.as_str().to_owned(),
                    e.currency.code().to_owned(),
                ))
                .or_default();
            t.0 = t.0.saturating_add(e.amount_minor);
            t.1 += 1;
        }
        let stored: Vec<(String, String, String, i64, i64)> = pilot_totals::table
            .filter(pilot_totals::org_id.eq(&id))
            .select((
                pilot_totals::pilot_id,
                pilot_totals::entry_type,
                pilot_totals::currency,
                pilot_totals::total_minor,
                pilot_totals::entries,
            ))
            .load(conn)?;
        let mut stored: BTreeMap<(String, String, String), (i64, i64)> = stored
            .into_iter()
            .map(|(p, t, c, sum, n)| ((p, t, c), (sum, n)))
            .collect();
        for (key, want) in &expected {
            match stored.remove(key) {
                Some(got) if got == *want => {}
                Some(got) => report.problems.push(format!(
                    "pilot {}: running {} total in {} is {} over {} entries, the entries sum to {} over {}",
                    key.0, key.1, key.2, got.0, got.1, want.0, want.1
                )),
                None => report.problems.push(format!(
                    "pilot {}: no running {} total in {} for its {} entries",
                    key.0, key.1, key.2, want.1
                )),
            }
        }
        for (key, got) in stored {
            if got != (0, 0) {
                report.problems.push(format!(
                    "pilot {}: a running {} total in {} of {} over {} entries that do not exist",
                    key.0, key.1, key.2, got.0, got.1
                ));
            }
        }
        // Rollups: recomputed from the entries at the stored rates.
        let rollups: Vec<RollupRow> = pilot_rollups::table
            .filter(pilot_rollups::org_id.eq(&id))
            .select(RollupRow::as_select())
            .load(conn)?;
        let mut rollups: BTreeMap<String, RollupRow> = rollups.into_iter().map(|r| (r.pilot_id.clone(), r)).collect();
        for p in &pilots {
            let mine = by_pilot.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
            let want = super::rollups::compute(&fx, p, mine);
            match rollups.remove(&p.id) {
                Some(got) if got == want => {}
                Some(got) => report.problems.push(format!(
                    "pilot {}: stored rollup {got:?} differs from the recomputed {want:?}",
                    p.id
                )),
                None => report.problems.push(format!("pilot {}: no rollup", p.id)),
            }
        }
        for pilot in rollups.keys() {
            report
                .problems
                .push(format!("a rollup for pilot {pilot}, which does not exist"));
        }
    }
    Ok(report)
}
