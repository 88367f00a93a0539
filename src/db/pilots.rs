//! Pilots, always read and written inside one organisation.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::pilot_versions::PilotVersionView;
use super::schema::pilots;
use super::{DbConnection, DbError};
use crate::domain::enums::{AiKind, BusinessFunction, Sourcing, Stage};
use crate::domain::ids::{OrgId, PilotId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pilots, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct PilotView {
    pub org_id: String,
    pub id: String,
    pub name: String,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub business_function: BusinessFunction,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub sourcing: Sourcing,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub ai_kind: AiKind,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub stage: Stage,
    pub stage_entered_on: NaiveDate,
    /// When it first entered an evaluated stage; None when it is not in one,
    /// or when that date is unknown (docs/DEFINITIONS.md#evaluated).
    pub evaluation_stage_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub evaluated_on: Option<NaiveDate>,
    pub owner_team: Option<String>,
    /// JSON array of strings.
    pub tags: String,
    pub external_ref: Option<String>,
    /// JSON array of `domain::pilots::StageStep`, oldest first; `[]` when
    /// only the current stage is known.
    pub stage_history: String,
    pub expected_benefit_minor: Option<i64>,
    pub expected_benefit_currency: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Optional equality filters for listing.
#[derive(Debug, Default, Clone)]
pub struct PilotFilter {
    pub stage: Option<&'static str>,
    pub business_function: Option<&'static str>,
    pub sourcing: Option<&'static str>,
}

/// Inserts a new pilot and records its first version.
pub fn insert(conn: &mut DbConnection, pilot: &PilotView) -> Result<(), DbError> {
    diesel::insert_into(pilots::table).values(pilot.clone()).execute(conn)?;
    record_versions(conn, std::slice::from_ref(pilot))
}

pub fn find(conn: &mut DbConnection, org: OrgId, id: PilotId) -> Result<PilotView, DbError> {
    pilots::table
        .filter(pilots::org_id.eq(org.to_string()))
        .filter(pilots::id.eq(id.to_string()))
        .select(PilotView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &PilotFilter,
    after: Option<PilotId>,
    limit: i64,
) -> Result<Vec<PilotView>, DbError> {
    let mut q = pilots::table
        .filter(pilots::org_id.eq(org.to_string()))
        .select(PilotView::as_select())
        .order(pilots::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(pilots::id.gt(a.to_string()));
    }
    if let Some(s) = filter.stage {
        q = q.filter(pilots::stage.eq(s));
    }
    if let Some(f) = filter.business_function {
        q = q.filter(pilots::business_function.eq(f));
    }
    if let Some(s) = filter.sourcing {
        q = q.filter(pilots::sourcing.eq(s));
    }
    Ok(q.load(conn)?)
}

/// Writes `next` over the stored pilot if its version is still `expected`;
/// returns false when another write got there first. A write records its
/// version.
pub fn update_if_version(conn: &mut DbConnection, next: &PilotView, expected: i64) -> Result<bool, DbError> {
    let n = diesel::update(
        pilots::table
            .filter(pilots::org_id.eq(&next.org_id))
            .filter(pilots::id.eq(&next.id))
            .filter(pilots::version.eq(expected)),
    )
    .set(next.clone())
    .execute(conn)?;
    if n == 1 {
        record_versions(conn, std::slice::from_ref(next))?;
    }
    Ok(n == 1)
}

/// Every pilot of one organisation, in creation order.
pub fn all_for_org(conn: &mut DbConnection, org: OrgId) -> Result<Vec<PilotView>, DbError> {
    Ok(pilots::table
        .filter(pilots::org_id.eq(org.to_string()))
        .select(PilotView::as_select())
        .order(pilots::id.asc())
        .load(conn)?)
}

impl From<&PilotView> for PilotVersionView {
    /// The version a write of `p` makes, valid from that write (`updated_at`,
    /// which is `created_at` for a new row).
    fn from(p: &PilotView) -> Self {
        Self {
            org_id: p.org_id.clone(),
            pilot_id: p.id.clone(),
            version: p.version,
            valid_from: p.updated_at,
            name: p.name.clone(),
            business_function: p.business_function,
            sourcing: p.sourcing,
            ai_kind: p.ai_kind,
            stage: p.stage,
            stage_entered_on: p.stage_entered_on,
            evaluation_stage_on: p.evaluation_stage_on,
            started_on: p.started_on,
            evaluated_on: p.evaluated_on,
        }
    }
}

/// Records the versions that writing `rows` into `pilots` made, in the
/// caller's transaction.
pub fn record_versions(conn: &mut DbConnection, rows: &[PilotView]) -> Result<(), DbError> {
    let versions: Vec<PilotVersionView> = rows.iter().map(PilotVersionView::from).collect();
    super::pilot_versions::record(conn, &versions)
}
