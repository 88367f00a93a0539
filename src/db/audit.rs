//! The audit log: who did what to which object and when, with before and after.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_events;
use super::{DbConnection, DbError};
use crate::domain::ids::{AuditId, OrgId, PilotId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct AuditView {
    pub org_id: String,
    pub id: String,
    pub at: NaiveDateTime,
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// Who is acting, as recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub sub: String,
    pub role: &'static str,
}

/// Appends one event. `org` is `None` for service-wide events (FX rates), which
/// are stored under the empty organisation id.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut DbConnection,
    org: Option<OrgId>,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), DbError> {
    let event = event(org, actor, action, object_type, object_id, before, after);
    diesel::insert_into(audit_events::table).values(&event).execute(conn)?;
    Ok(())
}

/// The row of one event, stamped now (for writers that insert in batches).
pub fn event(
    org: Option<OrgId>,
    actor: &Actor,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> AuditView {
    AuditView {
        org_id: org.map(|o| o.to_string()).unwrap_or_default(),
        id: AuditId::new().to_string(),
        at: super::now(),
        actor: actor.sub.clone(),
        actor_role: actor.role.to_owned(),
        action: action.to_owned(),
        object_type: object_type.to_owned(),
        object_id: object_id.to_owned(),
        before_json: before.map(|v| v.to_string()),
        after_json: after.map(|v| v.to_string()),
    }
}

/// What an audit search keeps: every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor's `sub`, exactly.
    pub actor: Option<String>,
    /// The action (`entry.create`), exactly; or every action of a kind
    /// (`entry.`) when it ends with a dot.
    pub action: Option<String>,
    /// Events about this pilot: the pilot itself and its entries.
    pub pilot: Option<PilotId>,
    /// At or after.
    pub from: Option<NaiveDateTime>,
    /// Before.
    pub to: Option<NaiveDateTime>,
}

pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    after: Option<AuditId>,
    limit: i64,
) -> Result<Vec<AuditView>, DbError> {
    search(conn, org, &AuditFilter::default(), after, limit)
}

/// The organisation's events that pass `filter`, oldest first, after the cursor.
pub fn search(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &AuditFilter,
    after: Option<AuditId>,
    limit: i64,
) -> Result<Vec<AuditView>, DbError> {
    use super::schema::entries;
    let org = org.to_string();
    let mut q = audit_events::table
        .filter(audit_events::org_id.eq(org.clone()))
        .select(AuditView::as_select())
        .order(audit_events::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(audit_events::id.gt(a.to_string()));
    }
    if let Some(actor) = &filter.actor {
        q = q.filter(audit_events::actor.eq(actor.clone()));
    }
    match filter.action.as_deref() {
        Some(kind) if kind.ends_with('.') => {
            let escaped = kind.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            q = q.filter(audit_events::action.like(format!("{escaped}%")).escape('\\'));
        }
        Some(action) => q = q.filter(audit_events::action.eq(action.to_owned())),
        None => {}
    }
    if let Some(pilot) = filter.pilot {
        let pilot = pilot.to_string();
        let its_entries = entries::table
            .filter(entries::org_id.eq(org))
            .filter(entries::pilot_id.eq(pilot.clone()))
            .select(entries::id);
        q = q.filter(
            audit_events::object_type
                .eq("pilot")
                .and(audit_events::object_id.eq(pilot))
                .or(audit_events::object_type
                    .eq("entry")
                    .and(audit_events::object_id.eq_any(its_entries))),
        );
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_events::at.lt(to));
    }
    Ok(q.load(conn)?)
}
