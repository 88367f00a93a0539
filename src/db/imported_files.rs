//! Files `pilotledger import` has written, keyed by organisation and the
//! SHA-256 of their content: the CLI's idempotency key, so a second run of
//! the same file says when it was imported instead of importing it again.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::imported_files;
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = imported_files)]
pub struct ImportedFileView {
    pub org_id: String,
    pub sha256: String,
    pub file_name: String,
    pub row_count: i64,
    pub imported_at: NaiveDateTime,
}

/// The last import of the file with this content hash into `org`, if any.
pub fn find(conn: &mut DbConnection, org: OrgId, sha256: &str) -> Result<Option<ImportedFileView>, DbError> {
    Ok(imported_files::table
        .filter(imported_files::org_id.eq(org.to_string()))
        .filter(imported_files::sha256.eq(sha256))
        .select(ImportedFileView::as_select())
        .get_result(conn)
        .optional()?)
}

/// Records an import (replacing the record of an earlier, forced one).
pub fn record(conn: &mut DbConnection, row: &ImportedFileView) -> Result<(), DbError> {
    diesel::delete(
        imported_files::table
            .filter(imported_files::org_id.eq(&row.org_id))
            .filter(imported_files::sha256.eq(&row.sha256)),
    )
    .execute(conn)?;
    diesel::insert_into(imported_files::table).values(row).execute(conn)?;
    Ok(())
}
