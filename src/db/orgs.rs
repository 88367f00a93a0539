//! Organisations (tenants).

use diesel::prelude::*;

use super::schema::orgs;
use super::{DbConnection, DbError};
use crate::domain::enums::{Industry, SizeBand};
use crate::domain::ids::OrgId;

/// An organisation as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = orgs)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub industry: Industry,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: String,
    #[serde(skip)]
    pub ledger_version: i64,
    #[serde(skip)]
    pub created_at: chrono::NaiveDateTime,
    /// Money writes in a currency without an FX rate on or before their
    /// period end are refused (`db::append`).
    pub fx_rate_required: bool,
}

pub fn insert(conn: &mut DbConnection, org: &OrgView) -> Result<(), DbError> {
    diesel::insert_into(orgs::table).values(org.clone()).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: OrgId) -> Result<OrgView, DbError> {
    orgs::table
        .find(id.to_string())
        .select(OrgView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// A page of organisations in id (creation) order, after the cursor.
pub fn list(conn: &mut DbConnection, after: Option<OrgId>, limit: i64) -> Result<Vec<OrgView>, DbError> {
    let mut q = orgs::table
        .select(OrgView::as_select())
        .order(orgs::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(orgs::id.gt(a.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Sets whether the organisation refuses money writes it could not convert;
/// the row as it is now.
pub fn set_fx_rate_required(conn: &mut DbConnection, id: OrgId, on: bool) -> Result<OrgView, DbError> {
    let n = diesel::update(orgs::table.find(id.to_string()))
        .set(orgs::fx_rate_required.eq(on))
        .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    find(conn, id)
}

/// Of `ids`, the organisations that refuse unconvertible money writes.
pub fn requiring_fx_rates(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<String>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(orgs::table
        .filter(orgs::id.eq_any(ids))
        .filter(orgs::fx_rate_required.eq(true))
        .select(orgs::id)
        .load(conn)?)
}

/// Bumps the organisation's ledger version; any cache of derived figures compares
/// against it, so a write through one process is seen by every other at once.
pub fn bump_ledger_version(conn: &mut DbConnection, id: OrgId) -> Result<(), DbError> {
    diesel::update(orgs::table.find(id.to_string()))
        .set(orgs::ledger_version.eq(orgs::ledger_version + 1))
        .execute(conn)?;
    Ok(())
}
