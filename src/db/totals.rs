//! Running totals per (pilot, entry type, currency), kept in step with every
//! append, so checking that a pilot's total still fits in i64 costs one row
//! read instead of a scan of its entries.

use diesel::prelude::*;

use super::schema::pilot_totals;
use super::{DbConnection, DbError};
use crate::domain::ids::{OrgId, PilotId};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = pilot_totals)]
pub struct TotalView {
    pub org_id: String,
    pub pilot_id: String,
    pub entry_type: String,
    pub currency: String,
    pub total_minor: i64,
    pub entries: i64,
}

/// Adds `amount` to the running total, creating it at zero first. Returns the
/// new total, or `None` (and changes nothing) when it would leave i64. On
/// PostgreSQL the row is locked for the rest of the transaction, so concurrent
/// appends to the same pilot and currency add up one after another; SQLite
/// writes are serialised by the group-commit writer already.
pub fn add(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    entry_type: &str,
    currency: &str,
    amount: i64,
    count: i64,
) -> Result<Option<i64>, DbError> {
    let (org_s, pilot_s) = (org.to_string(), pilot.to_string());
    let zero = TotalView {
        org_id: org_s.clone(),
        pilot_id: pilot_s.clone(),
        entry_type: entry_type.to_owned(),
        currency: currency.to_owned(),
        total_minor: 0,
        entries: 0,
    };
    let key = pilot_totals::table
        .filter(pilot_totals::org_id.eq(&org_s))
        .filter(pilot_totals::pilot_id.eq(&pilot_s))
        .filter(pilot_totals::entry_type.eq(entry_type))
        .filter(pilot_totals::currency.eq(currency));
    let current: (i64, i64) = match conn {
        // Writers are serialised: read, then insert the first total or update.
        DbConnection::Sqlite(c) => {
            let found = key
                .select((pilot_totals::total_minor, pilot_totals::entries))
                .get_result(c)
                .optional()?;
            let Some(found) = found else {
                let first = TotalView {
                    total_minor: amount,
                    entries: count,
                    ..zero
                };
                diesel::insert_into(pilot_totals::table).values(&first).execute(c)?;
                return Ok(Some(amount));
            };
            found
        }
        DbConnection::Pg(c) => {
            diesel::insert_into(pilot_totals::table)
                .values(&zero)
                .on_conflict_do_nothing()
                .execute(c)?;
            key.select((pilot_totals::total_minor, pilot_totals::entries))
                .for_update()
                .get_result(c)?
        }
    };
    let Some(next) = current.0.checked_add(amount) else {
        return Ok(None);
    };
    diesel::update(key)
        .set((
            pilot_totals::total_minor.eq(next),
            pilot_totals::entries.eq(current.1 + count),
        ))
        .execute(conn)?;
    Ok(Some(next))
}

/// A pilot's totals of one entry type, by currency.
pub fn for_pilot(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    entry_type: &str,
) -> Result<Vec<TotalView>, DbError> {
    Ok(pilot_totals::table
        .filter(pilot_totals::org_id.eq(org.to_string()))
        .filter(pilot_totals::pilot_id.eq(pilot.to_string()))
        .filter(pilot_totals::entry_type.eq(entry_type))
        .order(pilot_totals::currency.asc())
        .select(TotalView::as_select())
        .load(conn)?)
}
