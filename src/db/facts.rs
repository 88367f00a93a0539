//! Stored rows → the plain facts `analytics` computes on, so the layers above
//! read domain values, not columns. A stored value that no longer parses is
//! [`DbError::Corrupt`] (the API never stores one).

use crate::domain::enums::EntryType;
use chrono::NaiveDateTime;

use super::entries::EntryView;
use super::pilots::PilotView;
use super::{DbConnection, DbError};
use crate::analytics::roi::{EntryFacts, EntryKind, PilotFacts};
use crate::domain::enums::{AiKind, AttributionMethod, BusinessFunction, ImpactKind, Sourcing, SpendCategory, Stage};
use crate::domain::ids::OrgId;

fn bad(what: &str, value: &str) -> DbError {
    DbError::Corrupt(format!("stored {what} {value:?} does not parse"))
}

/// The fields of a pilot that the computations read, from a row or a version.
struct PilotFields<'a> {
    id: &'a str,
    name: &'a str,
    business_function: BusinessFunction,
    sourcing: Sourcing,
    ai_kind: AiKind,
    stage: Stage,
    evaluation_stage_on: Option<chrono::NaiveDate>,
    evaluated_on: Option<chrono::NaiveDate>,
}

fn facts_of(p: PilotFields<'_>) -> Result<PilotFacts, DbError> {
    Ok(PilotFacts {
        id: p.id.to_owned(),
        name: p.name.to_owned(),
        business_function: p.business_function,
        sourcing: p.sourcing,
        ai_kind: p.ai_kind,
        stage: p.stage,
        evaluation_stage_on: p.evaluation_stage_on,
        evaluated_on: p.evaluated_on,
        owner_team: None,
        tags: Vec::new(),
    })
}

/// A pilot's owner team and tags, as its row stores them (versions keep
/// neither, so a summary `as_of` groups by the current ones).
fn with_team_and_tags(mut f: PilotFacts, p: &PilotView) -> PilotFacts {
    f.owner_team = p.owner_team.clone();
    f.tags = serde_json::from_str(&p.tags).unwrap_or_default();
    f
}

pub fn pilot_facts(p: &PilotView) -> Result<PilotFacts, DbError> {
    pilot_fields(p).map(|f| with_team_and_tags(f, p))
}

fn pilot_fields(p: &PilotView) -> Result<PilotFacts, DbError> {
    facts_of(PilotFields {
        id: &p.id,
        name: &p.name,
        business_function: p.business_function,
        sourcing: p.sourcing,
        ai_kind: p.ai_kind,
        stage: p.stage,
        evaluation_stage_on: p.evaluation_stage_on,
        evaluated_on: p.evaluated_on,
    })
}

/// The facts of a pilot as one of its versions recorded it.
pub fn version_facts(v: &super::pilot_versions::PilotVersionView) -> Result<PilotFacts, DbError> {
    facts_of(PilotFields {
        id: &v.pilot_id,
        name: &v.name,
        business_function: v.business_function,
        sourcing: v.sourcing,
        ai_kind: v.ai_kind,
        stage: v.stage,
        evaluation_stage_on: v.evaluation_stage_on,
        evaluated_on: v.evaluated_on,
    })
}

pub fn entry_facts(e: &EntryView) -> Result<EntryFacts, DbError> {
    let kind = if e.entry_type == EntryType::Spend {
        EntryKind::Spend {
            category: SpendCategory::parse(&e.category).ok_or_else(|| bad("category", &e.category))?,
            capex: e.capex.unwrap_or(false),
        }
    } else {
        let method = e.attribution_method.as_deref().unwrap_or("");
        EntryKind::Impact {
            kind: ImpactKind::parse(&e.category).ok_or_else(|| bad("kind", &e.category))?,
            method: AttributionMethod::parse(method).ok_or_else(|| bad("method", method))?,
            measured: e.measured.unwrap_or(false),
        }
    };
    Ok(EntryFacts {
        pilot_id: e.pilot_id.clone(),
        kind,
        period_start: e.period_start,
        period_end: e.period_end,
        amount_minor: e.amount_minor,
        currency: e.currency,
    })
}

pub use super::fx::fx_table;

/// An organisation's pilots as they stood at `as_of`, in id order: their
/// current rows when `None`; else each pilot's latest version recorded by
/// then (`db::pilot_versions`), pilots first written later being absent.
pub fn pilots_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<PilotFacts>, DbError> {
    let Some(at) = as_of else {
        return super::pilots::all_for_org(conn, org)?.iter().map(pilot_facts).collect();
    };
    let current: std::collections::HashMap<String, PilotView> = super::pilots::all_for_org(conn, org)?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    super::pilot_versions::all_as_of(conn, org, at)?
        .iter()
        .map(|v| {
            let f = version_facts(v)?;
            Ok(match current.get(&v.pilot_id) {
                Some(p) => with_team_and_tags(f, p),
                None => f,
            })
        })
        .collect()
}

/// One pilot as it stood at `as_of`, or `None` when it was first written
/// later. `current` is its row, read already, which is the answer for `None`.
pub fn pilot_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: crate::domain::ids::PilotId,
    current: &PilotView,
    as_of: Option<NaiveDateTime>,
) -> Result<Option<PilotFacts>, DbError> {
    let Some(at) = as_of else {
        return pilot_facts(current).map(Some);
    };
    super::pilot_versions::find_as_of(conn, org, pilot, at)?
        .as_ref()
        .map(version_facts)
        .transpose()
}

/// The organisation's entries recorded at or before `as_of` (all when `None`).
pub fn entries_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<EntryFacts>, DbError> {
    super::entries::all_for_org(conn, org, as_of)?
        .iter()
        .map(entry_facts)
        .collect()
}

/// One pilot's entries recorded at or before `as_of` (all when `None`).
pub fn pilot_entries_as_of(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: crate::domain::ids::PilotId,
    as_of: Option<NaiveDateTime>,
) -> Result<Vec<EntryFacts>, DbError> {
    super::entries::for_pilot_as_of(conn, org, pilot, as_of)?
        .iter()
        .map(entry_facts)
        .collect()
}
