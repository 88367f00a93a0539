//! The one place that reads across organisations, for the anonymised research
//! aggregates. Nothing here is returned to a client as is: `analytics` turns it
//! into disclosure-controlled cells first.
//!
//! The aggregates stream the per-pilot rollups (`db::rollups`) inside one
//! snapshot; [`load`] reads the raw ledger
//! and is kept for checks that compare the two.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::entries::EntryView;
use super::fx::FxRateView;
use super::orgs::OrgView;
use super::pilots::PilotView;
use super::rollups::RollupRow;
use super::schema::{entries, orgs, pilot_rollups, pilots};
use super::{DbConnection, DbError};
use crate::domain::enums::Stage;

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

/// How many pilots are in an evaluated stage with no evaluation date known
/// (no `evaluated_on`, no date for the stage): left out of every aggregate
/// and counted in `data_quality` instead of being dated the day they were
/// loaded (docs/DEFINITIONS.md#evaluated).
/// The stages a pilot is evaluated in, as stored.
fn evaluating_stages() -> Vec<&'static str> {
    Stage::ALL
        .iter()
        .filter(|s| s.is_evaluating())
        .map(|s| s.as_str())
        .collect()
}

pub fn count_unknown_evaluation_dates(conn: &mut DbConnection) -> Result<u64, DbError> {
    use super::schema::pilots;
    let n: i64 = pilots::table
        .filter(pilots::evaluated_on.is_null())
        .filter(pilots::evaluation_stage_on.is_null())
        .filter(pilots::stage.eq_any(evaluating_stages()))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many evaluated pilots have no expected benefit in USD (none
/// recorded, or no FX rate to convert it).
pub fn count_without_expected_benefit(conn: &mut DbConnection) -> Result<u64, DbError> {
    let n: i64 = pilot_rollups::table
        .filter(pilot_rollups::evaluation_on.is_not_null())
        .filter(pilot_rollups::expected_benefit_usd_minor.is_null())
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many pilots are evaluated: what [`for_each_evaluated`] will stream
/// in the same snapshot, so its caller can size what it keeps up front.
pub fn count_evaluated(conn: &mut DbConnection) -> Result<usize, DbError> {
    let n: i64 = pilot_rollups::table
        .filter(pilot_rollups::evaluation_on.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Calls `f` with every evaluated pilot's rollup, streamed one row at a time
/// in storage order (SQLite's cursor; PostgreSQL's single-row mode), so
/// memory stays flat whatever the number of pilots.
pub fn for_each_evaluated(conn: &mut DbConnection, f: impl FnMut(&RollupRow)) -> Result<(), DbError> {
    stream(conn, None, f)
}

/// Like [`for_each_evaluated`], for the pilots evaluated from `first` to
/// `last` inclusive, found through the evaluation-date index.
pub fn for_each_evaluated_between(
    conn: &mut DbConnection,
    first: NaiveDate,
    last: NaiveDate,
    f: impl FnMut(&RollupRow),
) -> Result<(), DbError> {
    stream(conn, Some((first, last)), f)
}

fn stream(
    conn: &mut DbConnection,
    range: Option<(NaiveDate, NaiveDate)>,
    mut f: impl FnMut(&RollupRow),
) -> Result<(), DbError> {
    use diesel::connection::DefaultLoadingMode;
    use diesel::pg::PgRowByRowLoadingMode;
    macro_rules! each {
        ($conn:expr, $mode:ty, $query:expr) => {
            for row in $query
                .select(RollupRow::as_select())
                .load_iter::<RollupRow, $mode>($conn)?
            {
                f(&row?);
            }
        };
    }
    let evaluated = || pilot_rollups::table.filter(pilot_rollups::evaluation_on.is_not_null());
    match (conn, range) {
        // Every evaluated pilot: a scan of the table in storage order. SQLite
        // would otherwise walk the evaluation-date index, whose condition this
        // matches, and fetch each row from wherever it lies (40 % slower at
        // 1M); a unary `+` keeps it off the index. PostgreSQL's planner scans
        // the table by itself for 70 % of its rows.
        (DbConnection::Sqlite(c), None) => each!(
            c,
            DefaultLoadingMode,
            pilot_rollups::table.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "+pilot_rollups.evaluation_on IS NOT NULL"
            ))
        ),
        (DbConnection::Pg(c), None) => each!(c, PgRowByRowLoadingMode, evaluated()),
        (DbConnection::Sqlite(c), Some((first, last))) => each!(
            c,
            DefaultLoadingMode,
            evaluated().filter(pilot_rollups::evaluation_on.between(first, last))
        ),
        (DbConnection::Pg(c), Some((first, last))) => each!(
            c,
            PgRowByRowLoadingMode,
            evaluated().filter(pilot_rollups::evaluation_on.between(first, last))
        ),
    }
    Ok(())
}
