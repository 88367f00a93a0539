//! Running totals per (pilot, entry type, currency), kept in step with every
//! append, so checking that a pilot's total still fits in i64 costs one row
//! read instead of a scan of its entries.

use crate::domain::enums::EntryType;
use diesel::prelude::*;

use super::schema::pilot_totals;
use super::{DbConnection, DbError};
use crate::domain::ids::{OrgId, PilotId};

/// Rows per multi-row upsert: a bounded number of statement texts for the
/// SQLite cache (`fixed_sql::Cached`).
pub const CHUNK: usize = 100;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pilot_totals)]
pub struct TotalView {
    pub org_id: String,
    pub pilot_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub entry_type: EntryType,
    pub currency: String,
    pub total_minor: i64,
    pub entries: i64,
}

/// A total as a raw query reads it (`db::append`), before its entry type
/// is checked.
#[derive(QueryableByName)]
#[diesel(table_name = pilot_totals)]
pub(super) struct TotalRow {
    org_id: String,
    pilot_id: String,
    entry_type: String,
    currency: String,
    total_minor: i64,
    entries: i64,
}

impl TryFrom<TotalRow> for TotalView {
    type Error = DbError;
    fn try_from(r: TotalRow) -> Result<TotalView, DbError> {
        Ok(TotalView {
            org_id: r.org_id,
            pilot_id: r.pilot_id,
            entry_type: EntryType::try_from(r.entry_type).map_err(DbError::Corrupt)?,
            currency: r.currency,
            total_minor: r.total_minor,
            entries: r.entries,
        })
    }
}

/// A pilot's totals of one entry type, by currency.
pub fn for_pilot(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    entry_type: EntryType,
) -> Result<Vec<TotalView>, DbError> {
    Ok(pilot_totals::table
        .filter(pilot_totals::org_id.eq(org.to_string()))
        .filter(pilot_totals::pilot_id.eq(pilot.to_string()))
        .filter(pilot_totals::entry_type.eq(entry_type.as_str()))
        .order(pilot_totals::currency.asc())
        .select(TotalView::as_select())
        .load(conn)?)
}

/// Writes running totals computed in memory (`append`): one statement per
/// [`CHUNK`] rows, inserting new ones and replacing the stored values.
pub fn upsert_many(conn: &mut DbConnection, rows: &[&TotalView]) -> Result<(), DbError> {
    use super::fixed_sql::{column, Cached, Fixed};
    use diesel::sql_types::{Array, BigInt, Text};
    for chunk in rows.chunks(CHUNK) {
        let result = match conn {
            // diesel has no multi-row upsert for SQLite: the same statement by hand.
            DbConnection::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO pilot_totals (org_id, pilot_id, entry_type, currency, total_minor, entries) \
                     VALUES {} ON CONFLICT (org_id, pilot_id, entry_type, currency) DO UPDATE SET \
                     total_minor = excluded.total_minor, entries = excluded.entries",
                    vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = Cached::new(sql);
                for r in chunk {
                    q = q
                        .bind::<Text, _>(&r.org_id)
                        .bind::<Text, _>(&r.pilot_id)
                        .bind::<Text, _>(r.entry_type.as_str())
                        .bind::<Text, _>(&r.currency)
                        .bind::<BigInt, _>(r.total_minor)
                        .bind::<BigInt, _>(r.entries);
                }
                q.execute(c)
            }
            DbConnection::Pg(c) => Fixed::new(
                "INSERT INTO pilot_totals (org_id, pilot_id, entry_type, currency, total_minor, entries) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) \
                 ON CONFLICT (org_id, pilot_id, entry_type, currency) DO UPDATE SET \
                 total_minor = excluded.total_minor, entries = excluded.entries",
            )
            .bind::<Array<Text>, _>(column(chunk, |r| r.org_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.pilot_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.entry_type.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.currency.as_str()))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.total_minor))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.entries))
            .execute(c),
        };
        result?;
    }
    Ok(())
}
