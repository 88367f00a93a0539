//! Identity-provider bindings: a claim value of the company's identity
//! provider (a tenant id, a group) bound by the operator to the organisation
//! its people belong to. `auth::mapping` reads them to find a signed-in
//! person's organisation; one value names at most one organisation.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::idp_bindings;
use super::{DbConnection, DbError};

/// One binding: tokens whose `claim` holds `value` belong to `org_id`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = idp_bindings)]
pub struct IdpBinding {
    pub claim: String,
    #[diesel(column_name = claim_value)]
    pub value: String,
    pub org_id: String,
    pub created_at: NaiveDateTime,
}

/// Every binding (a few per organisation), in a stable order.
pub fn all(conn: &mut DbConnection) -> Result<Vec<IdpBinding>, DbError> {
    Ok(idp_bindings::table
        .select(IdpBinding::as_select())
        .order((idp_bindings::claim.asc(), idp_bindings::claim_value.asc()))
        .load(conn)?)
}

/// The bindings of one organisation.
pub fn of_org(conn: &mut DbConnection, org_id: &str) -> Result<Vec<IdpBinding>, DbError> {
    Ok(idp_bindings::table
        .filter(idp_bindings::org_id.eq(org_id))
        .select(IdpBinding::as_select())
        .order((idp_bindings::claim.asc(), idp_bindings::claim_value.asc()))
        .load(conn)?)
}

/// The first of `pairs` already bound to an organisation other than
/// `org_id`: its index and that organisation.
pub fn bound_elsewhere(
    conn: &mut DbConnection,
    org_id: &str,
    pairs: &[(String, String)],
) -> Result<Option<(usize, String)>, DbError> {
    for (i, (claim, value)) in pairs.iter().enumerate() {
        let other: Option<String> = idp_bindings::table
            .find((claim, value))
            .filter(idp_bindings::org_id.ne(org_id))
            .select(idp_bindings::org_id)
            .first(conn)
            .optional()?;
        if let Some(other) = other {
            return Ok(Some((i, other)));
        }
    }
    Ok(None)
}

/// Replaces the organisation's bindings with `rows` (run inside the
/// caller's transaction, after [`bound_elsewhere`]). A value another
/// organisation bound in the meantime fails on the primary key (conflict).
pub fn replace(conn: &mut DbConnection, org_id: &str, rows: &[IdpBinding]) -> Result<(), DbError> {
    diesel::delete(idp_bindings::table.filter(idp_bindings::org_id.eq(org_id))).execute(conn)?;
    for row in rows {
        diesel::insert_into(idp_bindings::table).values(row).execute(conn)?;
    }
    Ok(())
}
