//! Stored responses for `Idempotency-Key`, scoped by organisation and token, so a
//! retried request replays the first answer instead of writing twice. Kept in the
//! database so every API process gives the same answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{DbConnection, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
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
    token_id: &str,
    key: &str,
    not_before: NaiveDateTime,
) -> Result<Option<IdempotencyView>, DbError> {
    Ok(idempotency_keys::table
        .filter(idempotency_keys::org_id.eq(org_id))
        .filter(idempotency_keys::token_id.eq(token_id))
        .filter(idempotency_keys::idem_key.eq(key))
        .filter(idempotency_keys::created_at.ge(not_before))
        .select(IdempotencyView::as_select())
        .first(conn)
        .optional()?)
}

/// Stores a response; replaces an expired record with the same key.
pub fn insert(conn: &mut DbConnection, record: &IdempotencyView) -> Result<(), DbError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(&record.org_id))
            .filter(idempotency_keys::token_id.eq(&record.token_id))
            .filter(idempotency_keys::idem_key.eq(&record.idem_key))
            .filter(
                idempotency_keys::created_at.lt(record.created_at - chrono::TimeDelta::hours(24)),
            ),
    )
    .execute(conn)?;
    diesel::insert_into(idempotency_keys::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}
