//! The append-only ledger of spend and impact entries. Nothing here updates or
//! deletes an entry: corrections are new rows that reference the original.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::entries;
use super::{DbConnection, DbError};
use crate::domain::currency::Currency;
use crate::domain::entries::{EntryKind, NewEntry};
use crate::domain::enums::EntryType;
use crate::domain::ids::{EntryId, OrgId, PilotId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = entries, treat_none_as_default_value = false)]
pub struct EntryView {
    pub org_id: String,
    pub id: String,
    pub pilot_id: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub entry_type: EntryType,
    pub category: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub amount_minor: i64,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub currency: Currency,
    pub capex: Option<bool>,
    pub attribution_method: Option<String>,
    pub confidence: Option<f64>,
    pub measured: Option<bool>,
    pub note: Option<String>,
    pub reverses: Option<String>,
    pub replaces: Option<String>,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl EntryView {
    /// The row for a new, validated entry (not a reversal).
    pub fn new_row(org: OrgId, pilot: PilotId, id: EntryId, e: &NewEntry, created_by: &str) -> EntryView {
        let (entry_type, category, capex, method, confidence, measured) = match e.kind {
            EntryKind::Spend { category, capex } => {
                (EntryType::Spend, category.as_str(), Some(capex), None, None, None)
            }
            EntryKind::Impact { kind, method, measured } => (
                EntryType::Impact,
                kind.as_str(),
                None,
                Some(method.as_str().to_owned()),
                e.confidence,
                Some(measured),
            ),
        };
        EntryView {
            org_id: org.to_string(),
            id: id.to_string(),
            pilot_id: pilot.to_string(),
            entry_type,
            category: category.to_owned(),
            period_start: e.period.start,
            period_end: e.period.end,
            amount_minor: e.amount.minor,
            currency: e.amount.currency,
            capex,
            attribution_method: method,
            confidence,
            measured,
            note: e.note.clone(),
            reverses: None,
            replaces: None,
            reason: None,
            created_by: created_by.to_owned(),
            created_at: crate::db::now(),
        }
    }
}

/// Rows per multi-row INSERT on SQLite (19 columns: well under its 32,766
/// bind parameters) and per array statement on PostgreSQL.
const CHUNK: usize = 400;
const PG_CHUNK: usize = 5000;

/// Inserts entry rows, many per statement. Only `append` (the ledger
/// invariant) and the demo seed (which computes its totals itself) call it.
pub fn insert_many(conn: &mut DbConnection, rows: &[&EntryView]) -> Result<(), DbError> {
    match conn {
        DbConnection::Pg(c) => {
            // One statement of fixed text per few thousand rows (prepared once).
            for chunk in rows.chunks(PG_CHUNK) {
                insert_pg(c, chunk)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for chunk in rows.chunks(CHUNK) {
                let owned: Vec<EntryView> = chunk.iter().map(|r| (*r).clone()).collect();
                diesel::insert_into(entries::table).values(owned).execute(c)?;
            }
        }
    }
    Ok(())
}

pub fn find(conn: &mut DbConnection, org: OrgId, pilot: PilotId, id: EntryId) -> Result<EntryView, DbError> {
    entries::table
        .filter(entries::org_id.eq(org.to_string()))
        .filter(entries::pilot_id.eq(pilot.to_string()))
        .filter(entries::id.eq(id.to_string()))
        .select(EntryView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// The entry that reverses `id`, if any.
pub fn reversal_of(conn: &mut DbConnection, org: OrgId, id: EntryId) -> Result<Option<String>, DbError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org.to_string()))
        .filter(entries::reverses.eq(id.to_string()))
        .select(entries::id)
        .get_result(conn)
        .optional()?)
}

/// A page of one pilot's entries of one type, in creation order.
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    entry_type: EntryType,
    after: Option<EntryId>,
    limit: i64,
) -> Result<Vec<EntryView>, DbError> {
    let mut q = entries::table
        .filter(entries::org_id.eq(org.to_string()))
        .filter(entries::pilot_id.eq(pilot.to_string()))
        .filter(entries::entry_type.eq(entry_type.as_str()))
        .select(EntryView::as_select())
        .order(entries::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(entries::id.gt(a.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Every entry of one pilot (for checked totals).
pub fn all_for_pilot(conn: &mut DbConnection, org: OrgId, pilot: PilotId) -> Result<Vec<EntryView>, DbError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org.to_string()))
        .filter(entries::pilot_id.eq(pilot.to_string()))
        .select(EntryView::as_select())
        .order(entries::id.asc())
        .load(conn)?)
}

/// Every entry of one pilot recorded at or before `as_of` (all when `None`),
/// in creation order: what one pilot's ROI reads.
pub fn for_pilot_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<EntryView>, DbError> {
    recorded_by(conn, org, Some(pilot), as_of)
}

/// Every entry of one organisation recorded at or before `as_of` (all when
/// `None`), in creation order.
pub fn all_for_org(
    conn: &mut DbConnection,
    org: OrgId,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<EntryView>, DbError> {
    recorded_by(conn, org, None, as_of)
}

fn recorded_by(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: Option<PilotId>,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<EntryView>, DbError> {
    let mut q = entries::table
        .filter(entries::org_id.eq(org.to_string()))
        .select(EntryView::as_select())
        .order(entries::id.asc())
        .into_boxed();
    if let Some(p) = pilot {
        q = q.filter(entries::pilot_id.eq(p.to_string()));
    }
    if let Some(t) = as_of {
        q = q.filter(entries::created_at.le(t));
    }
    Ok(q.load(conn)?)
}

/// Inserts entry rows on PostgreSQL in one statement of fixed text, whatever
/// their number (see `fixed_sql`).
pub fn insert_pg(c: &mut diesel::PgConnection, rows: &[&EntryView]) -> QueryResult<usize> {
    use super::fixed_sql::{column, Fixed};
    use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Nullable, Text, Timestamp};
    Fixed::new(
        "INSERT INTO entries (org_id, id, pilot_id, entry_type, category, period_start, period_end, \
         amount_minor, currency, capex, attribution_method, confidence, measured, note, reverses, replaces, \
         reason, created_by, created_at) SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], \
         ?::text[], ?::date[], ?::date[], ?::bigint[], ?::text[], ?::boolean[], ?::text[], \
         ?::double precision[], ?::boolean[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
         ?::timestamp[])",
    )
    .bind::<Array<Text>, _>(column(rows, |r| r.org_id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.pilot_id.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.entry_type.as_str()))
    .bind::<Array<Text>, _>(column(rows, |r| r.category.as_str()))
    .bind::<Array<Date>, _>(column(rows, |r| r.period_start))
    .bind::<Array<Date>, _>(column(rows, |r| r.period_end))
    .bind::<Array<BigInt>, _>(column(rows, |r| r.amount_minor))
    .bind::<Array<Text>, _>(column(rows, |r| r.currency.code()))
    .bind::<Array<Nullable<Bool>>, _>(column(rows, |r| r.capex))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.attribution_method.as_deref()))
    .bind::<Array<Nullable<Double>>, _>(column(rows, |r| r.confidence))
    .bind::<Array<Nullable<Bool>>, _>(column(rows, |r| r.measured))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.note.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.reverses.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.replaces.as_deref()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.reason.as_deref()))
    .bind::<Array<Text>, _>(column(rows, |r| r.created_by.as_str()))
    .bind::<Array<Timestamp>, _>(column(rows, |r| r.created_at))
    .execute(c)
}
