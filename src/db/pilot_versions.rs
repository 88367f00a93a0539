//! Each state a pilot has been in, from the write that made it: what `as_of`
//! reads. Every write of a pilot row — create, PATCH, import, demo seed —
//! records its new version here through [`record`], called by the functions
//! that write `pilots` (`pilots::insert`, `pilots::update_if_version`,
//! `seed::insert_pilots`), so no write path can forget it. Rows are never
//! updated or deleted. The current state is read from `pilots`, not from here.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::pilot_versions;
use super::{DbConnection, DbError};
use crate::domain::enums::{AiKind, BusinessFunction, Sourcing, Stage};
use crate::domain::ids::{OrgId, PilotId};

/// Rows per multi-row INSERT: 12 columns, well under both backends'
/// bind-parameter limits.
const CHUNK: usize = 400;

/// One version of one pilot: the fields the computations need, valid from
/// `valid_from` until the pilot's next version.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pilot_versions, treat_none_as_default_value = false)]
pub struct PilotVersionView {
    pub org_id: String,
    pub pilot_id: String,
    pub version: i64,
    pub valid_from: NaiveDateTime,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub business_function: BusinessFunction,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub sourcing: Sourcing,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub ai_kind: AiKind,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub stage: Stage,
    pub stage_entered_on: NaiveDate,
    pub evaluation_stage_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub evaluated_on: Option<NaiveDate>,
}

/// Records `versions` in the caller's transaction, a multi-row INSERT per
/// chunk (`db::pilots` makes them from every pilot row it writes).
pub fn record(conn: &mut DbConnection, versions: &[PilotVersionView]) -> Result<(), DbError> {
    for chunk in versions.chunks(CHUNK) {
        // Per backend: the multi-row INSERT diesel writes for each differs.
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(pilot_versions::table)
                .values(chunk.to_vec())
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(pilot_versions::table)
                .values(chunk.to_vec())
                .execute(c)?,
        };
    }
    Ok(())
}

/// Keeps the last row of each run of one pilot's rows (sorted by pilot, then
/// version): its latest version.
fn latest_each(rows: Vec<PilotVersionView>) -> Vec<PilotVersionView> {
    let mut out: Vec<PilotVersionView> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(last) if last.pilot_id == row.pilot_id => *last = row,
            _ => out.push(row),
        }
    }
    out
}

/// Each of an organisation's pilots as it stood at `at`, in pilot id order:
/// its latest version valid from `at` or earlier. A pilot first written
/// after `at` is absent.
pub fn all_as_of(conn: &mut DbConnection, org: OrgId, at: NaiveDateTime) -> Result<Vec<PilotVersionView>, DbError> {
    let rows = pilot_versions::table
        .filter(pilot_versions::org_id.eq(org.to_string()))
        .filter(pilot_versions::valid_from.le(at))
        .order((pilot_versions::pilot_id.asc(), pilot_versions::version.asc()))
        .select(PilotVersionView::as_select())
        .load(conn)?;
    Ok(latest_each(rows))
}

/// One pilot as it stood at `at`, or `None` when it was first written later.
pub fn find_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    at: NaiveDateTime,
) -> Result<Option<PilotVersionView>, DbError> {
    let rows = pilot_versions::table
        .filter(pilot_versions::org_id.eq(org.to_string()))
        .filter(pilot_versions::pilot_id.eq(pilot.to_string()))
        .filter(pilot_versions::valid_from.le(at))
        .order(pilot_versions::version.asc())
        .select(PilotVersionView::as_select())
        .load(conn)?;
    Ok(latest_each(rows).pop())
}

/// Every version of one pilot, oldest first (for tests and checks).
pub fn all_for_pilot(conn: &mut DbConnection, org: OrgId, pilot: PilotId) -> Result<Vec<PilotVersionView>, DbError> {
    Ok(pilot_versions::table
        .filter(pilot_versions::org_id.eq(org.to_string()))
        .filter(pilot_versions::pilot_id.eq(pilot.to_string()))
        .order(pilot_versions::version.asc())
        .select(PilotVersionView::as_select())
        .load(conn)?)
}

#[cfg(test)]
#[path = "pilot_versions_tests.rs"]
mod tests;
