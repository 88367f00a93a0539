//! Organisations (tenants).

use diesel::prelude::*;

use super::schema::orgs;
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

/// An organisation as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = orgs)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub industry: String,
    pub size_band: String,
    pub region: String,
    pub reporting_currency: String,
    #[serde(skip)]
    pub ledger_version: i64,
    #[serde(skip)]
    pub created_at: chrono::NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, org: &OrgView) -> Result<(), DbError> {
    diesel::insert_into(orgs::table).values(org).execute(conn)?;
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

/// Bumps the organisation's ledger version; any cache of derived figures compares
/// against it, so a write through one process is seen by every other at once.
pub fn bump_ledger_version(conn: &mut DbConnection, id: OrgId) -> Result<(), DbError> {
    diesel::update(orgs::table.find(id.to_string()))
        .set(orgs::ledger_version.eq(orgs::ledger_version + 1))
        .execute(conn)?;
    Ok(())
}
