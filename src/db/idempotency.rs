//! Stored responses for `Idempotency-Key`, scoped by organisation (any token of
//! it sending the same key and body gets the same answer), so a
//! retried request replays the first answer instead of writing twice. Kept in the
//! database so every API process gives the same answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{DbConnection, DbError};

/// How long a key is remembered.
pub const KEY_TTL_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyView {
    pub org_id: String,
    pub token_id: String,
    pub idem_key: String,
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(
    conn: &mut DbConnection,
    org_id: &str,
    key: &str,
    not_before: NaiveDateTime,
) -> Result<Option<IdempotencyView>, DbError> {
    Ok(idempotency_keys::table
        .filter(idempotency_keys::org_id.eq(org_id))
        .filter(idempotency_keys::idem_key.eq(key))
        .filter(idempotency_keys::created_at.ge(not_before))
        .select(IdempotencyView::as_select())
        .get_result(conn)
        .optional()?)
}

/// Stores a response; replaces an expired record with the same key.
pub fn insert(conn: &mut DbConnection, record: &IdempotencyView) -> Result<(), DbError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(&record.org_id))
            .filter(idempotency_keys::idem_key.eq(&record.idem_key))
            .filter(idempotency_keys::created_at.lt(record.created_at - chrono::TimeDelta::hours(24))),
    )
    .execute(conn)?;
    diesel::insert_into(idempotency_keys::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// Why a claim on a key could not be taken.
#[derive(Debug)]
pub enum ClaimError {
    /// Another request with this key committed meanwhile: replay what it stored.
    Committed,
    /// Another request with this key holds it in an open transaction.
    InFlight,
    Db(DbError),
}

/// Claims the key inside the caller's write transaction by inserting its record
/// before the write runs. On PostgreSQL a concurrent holder of the same key
/// makes the insert wait; a short lock timeout turns that wait into `InFlight`
/// (409) instead of queueing. Other locks of the transaction keep the default.
pub fn claim(conn: &mut DbConnection, record: &IdempotencyView) -> Result<(), ClaimError> {
    use diesel::connection::SimpleConnection;
    let pg = matches!(conn, DbConnection::Pg(_));
    if pg {
        conn.batch_execute("SET LOCAL lock_timeout = '200ms'")
            .map_err(|e| ClaimError::Db(e.into()))?;
    }
    match insert(conn, record) {
        Ok(()) => {
            if pg {
                conn.batch_execute("SET LOCAL lock_timeout = 0")
                    .map_err(|e| ClaimError::Db(e.into()))?;
            }
            Ok(())
        }
        Err(e) if e.is_unique_violation() => Err(ClaimError::Committed),
        Err(DbError::Query(diesel::result::Error::DatabaseError(_, info)))
            if info.message().contains("lock timeout") =>
        {
            Err(ClaimError::InFlight)
        }
        Err(e) => Err(ClaimError::Db(e)),
    }
}

/// Stores the response of a claimed key (same transaction as the write).
pub fn complete(conn: &mut DbConnection, record: &IdempotencyView) -> Result<(), DbError> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(&record.org_id))
            .filter(idempotency_keys::idem_key.eq(&record.idem_key)),
    )
    .set((
        idempotency_keys::response_status.eq(record.response_status),
        idempotency_keys::response_body.eq(&record.response_body),
    ))
    .execute(conn)?;
    Ok(())
}
