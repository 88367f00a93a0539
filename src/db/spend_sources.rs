//! Storage of spend that arrives by itself (issue 21): allocation rules,
//! imported bills, which entry each bill wrote, each bill's current totals,
//! the organisation's choice of FOCUS cost column. The entries themselves
//! go through `db::append` like every other entry; these tables only say
//! where they came from. Every query takes the organisation first.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{
    allocation_rules, entries, spend_imports, spend_source_entries, spend_source_settings, spend_sources,
};
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = allocation_rules)]
pub struct AllocationRuleView {
    pub org_id: String,
    pub id: String,
    pub priority: i64,
    pub rule_json: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = spend_imports)]
pub struct SpendImportView {
    pub org_id: String,
    pub id: String,
    pub kind: String,
    pub sha256: String,
    pub row_count: i64,
    pub report_json: String,
    pub created_by: String,
    pub imported_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = spend_source_entries)]
pub struct SourceEntryView {
    pub org_id: String,
    pub entry_id: String,
    pub source_key: String,
    pub import_id: String,
    pub pilot_id: String,
    pub month: NaiveDate,
    pub service_category: String,
    pub currency: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = spend_sources)]
pub struct SpendSourceView {
    pub org_id: String,
    pub source_key: String,
    pub currency: String,
    pub kind: String,
    pub provider: String,
    pub billing_account: String,
    pub billing_period: NaiveDate,
    pub import_id: String,
    pub row_count: i64,
    pub total_exact: String,
    pub total_minor: i64,
    pub allocated_minor: i64,
    pub unallocated_minor: i64,
    pub unallocated_exact: String,
    pub unallocated_rows: i64,
    pub unallocated_json: String,
    pub updated_at: NaiveDateTime,
}

/// The organisation's rules in the order they are tried: priority, then age.
pub fn rules(conn: &mut DbConnection, org: OrgId) -> Result<Vec<AllocationRuleView>, DbError> {
    Ok(allocation_rules::table
        .filter(allocation_rules::org_id.eq(org.to_string()))
        .order((
            allocation_rules::priority,
            allocation_rules::created_at,
            allocation_rules::id,
        ))
        .select(AllocationRuleView::as_select())
        .load(conn)?)
}

pub fn insert_rule(conn: &mut DbConnection, row: &AllocationRuleView) -> Result<(), DbError> {
    diesel::insert_into(allocation_rules::table).values(row).execute(conn)?;
    Ok(())
}

/// Deletes a rule; `NotFound` when the organisation has no such rule.
pub fn delete_rule(conn: &mut DbConnection, org: OrgId, id: &str) -> Result<AllocationRuleView, DbError> {
    let found = allocation_rules::table
        .filter(allocation_rules::org_id.eq(org.to_string()))
        .filter(allocation_rules::id.eq(id))
        .select(AllocationRuleView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)?;
    diesel::delete(
        allocation_rules::table
            .filter(allocation_rules::org_id.eq(org.to_string()))
            .filter(allocation_rules::id.eq(id)),
    )
    .execute(conn)?;
    Ok(found)
}

/// The FOCUS cost column the organisation chose, if it chose one.
pub fn cost_column(conn: &mut DbConnection, org: OrgId) -> Result<Option<String>, DbError> {
    Ok(spend_source_settings::table
        .filter(spend_source_settings::org_id.eq(org.to_string()))
        .select(spend_source_settings::cost_column)
        .get_result(conn)
        .optional()?)
}

pub fn set_cost_column(conn: &mut DbConnection, org: OrgId, column: &str) -> Result<(), DbError> {
    diesel::delete(spend_source_settings::table.filter(spend_source_settings::org_id.eq(org.to_string())))
        .execute(conn)?;
    diesel::insert_into(spend_source_settings::table)
        .values((
            spend_source_settings::org_id.eq(org.to_string()),
            spend_source_settings::cost_column.eq(column),
        ))
        .execute(conn)?;
    Ok(())
}

/// The entries a bill wrote that no entry has reversed since.
pub fn live_entries(conn: &mut DbConnection, org: OrgId, source_key: &str) -> Result<Vec<SourceEntryView>, DbError> {
    let reversed = entries::table
        .filter(entries::org_id.eq(spend_source_entries::org_id))
        .filter(entries::reverses.eq(spend_source_entries::entry_id.nullable()));
    Ok(spend_source_entries::table
        .filter(spend_source_entries::org_id.eq(org.to_string()))
        .filter(spend_source_entries::source_key.eq(source_key))
        .filter(diesel::dsl::not(diesel::dsl::exists(reversed)))
        .order(spend_source_entries::entry_id)
        .select(SourceEntryView::as_select())
        .load(conn)?)
}

/// Rows per multi-row insert on SQLite (9 columns).
const CHUNK: usize = 500;

pub fn insert_source_entries(conn: &mut DbConnection, rows: &[SourceEntryView]) -> Result<(), DbError> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Pg(c) => diesel::insert_into(spend_source_entries::table)
                .values(chunk.to_vec())
                .execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_into(spend_source_entries::table)
                .values(chunk.to_vec())
                .execute(c)?,
        };
    }
    Ok(())
}

pub fn insert_import(conn: &mut DbConnection, row: &SpendImportView) -> Result<(), DbError> {
    diesel::insert_into(spend_imports::table).values(row).execute(conn)?;
    Ok(())
}

/// An import of the organisation, by id.
pub fn find_import(conn: &mut DbConnection, org: OrgId, id: &str) -> Result<SpendImportView, DbError> {
    spend_imports::table
        .filter(spend_imports::org_id.eq(org.to_string()))
        .filter(spend_imports::id.eq(id))
        .select(SpendImportView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// The current figures of one bill (every currency it has).
pub fn source(conn: &mut DbConnection, org: OrgId, source_key: &str) -> Result<Vec<SpendSourceView>, DbError> {
    Ok(spend_sources::table
        .filter(spend_sources::org_id.eq(org.to_string()))
        .filter(spend_sources::source_key.eq(source_key))
        .order(spend_sources::currency)
        .select(SpendSourceView::as_select())
        .load(conn)?)
}

/// Replaces a bill's current figures with those of its latest import.
pub fn replace_source(
    conn: &mut DbConnection,
    org: OrgId,
    source_key: &str,
    rows: &[SpendSourceView],
) -> Result<(), DbError> {
    diesel::delete(
        spend_sources::table
            .filter(spend_sources::org_id.eq(org.to_string()))
            .filter(spend_sources::source_key.eq(source_key)),
    )
    .execute(conn)?;
    for r in rows {
        diesel::insert_into(spend_sources::table).values(r).execute(conn)?;
    }
    Ok(())
}

/// Every bill of the organisation, newest billing period first.
pub fn sources(conn: &mut DbConnection, org: OrgId) -> Result<Vec<SpendSourceView>, DbError> {
    Ok(spend_sources::table
        .filter(spend_sources::org_id.eq(org.to_string()))
        .order((
            spend_sources::billing_period.desc(),
            spend_sources::kind,
            spend_sources::provider,
            spend_sources::billing_account,
            spend_sources::currency,
        ))
        .select(SpendSourceView::as_select())
        .load(conn)?)
}
