//! The one place that reads across organisations, for the anonymised research
//! aggregates. Nothing here is returned to a client as is: `analytics` turns it
//! into disclosure-controlled cells first.
//!
//! The aggregates read the per-pilot rollups (`db::rollups`), a chunk at a
//! time in pilot id order, inside one snapshot; [`load`] reads the raw ledger
//! and is kept for checks that compare the two.

use diesel::prelude::*;

use super::entries::EntryView;
use super::fx::FxRateView;
use super::orgs::OrgView;
use super::pilots::PilotView;
use super::rollups::ResearchRow;
use super::schema::{entries, orgs, pilots};
use super::{DbConnection, DbError};

/// Rollup rows per query: bounds memory whatever the data size.
const CHUNK: i64 = 20_000;

/// Everything in the ledger, read in one snapshot (tests and checks).
pub struct ResearchInputs {
    pub orgs: Vec<OrgView>,
    pub pilots: Vec<PilotView>,
    pub entries: Vec<EntryView>,
    pub fx_rates: Vec<FxRateView>,
}

/// Reads every organisation, pilot, entry and FX rate.
pub fn load(conn: &mut DbConnection) -> Result<ResearchInputs, DbError> {
    Ok(ResearchInputs {
        orgs: orgs::table
            .select(OrgView::as_select())
            .order(orgs::id.asc())
            .load(conn)?,
        pilots: pilots::table
            .select(PilotView::as_select())
            .order(pilots::id.asc())
            .load(conn)?,
        entries: entries::table
            .select(EntryView::as_select())
            .order(entries::id.asc())
            .load(conn)?,
        fx_rates: super::fx::load_all(conn)?,
    })
}

/// Makes the surrounding read transaction one snapshot on PostgreSQL (its
/// default, read committed, would let each chunk see later commits). Must be
/// the transaction's first statement. SQLite read transactions already are.
pub fn snapshot(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(c)?;
    }
    Ok(())
}

/// An organisation's attributes the breakdowns use, in id order (a stable
/// order: new organisations get later ids).
pub fn org_attributes(conn: &mut DbConnection) -> Result<Vec<(String, String, String, String)>, DbError> {
    Ok(orgs::table
        .select((orgs::id, orgs::industry, orgs::size_band, orgs::region))
        .order(orgs::id.asc())
        .load(conn)?)
}

/// Calls `f` with every evaluated pilot's rollup, a chunk at a time.
pub fn for_each_evaluated(conn: &mut DbConnection, mut f: impl FnMut(&ResearchRow)) -> Result<(), DbError> {
    let mut after: Option<String> = None;
    loop {
        let rows = super::rollups::evaluated_after(conn, after.as_deref(), CHUNK)?;
        rows.iter().for_each(&mut f);
        match rows.last() {
            Some(last) if rows.len() as i64 == CHUNK => after = Some(last.pilot_id.clone()),
            _ => return Ok(()),
        }
    }
}
