//! Stored rows → the plain facts `analytics` computes on. A stored value that no
//! longer parses is an internal error (the API never stores one).

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::analytics::fx_table::FxTable;
use crate::analytics::roi::{EntryFacts, EntryKind, PilotFacts};
use crate::db::entries::EntryView;
use crate::db::fx::FxRateView;
use crate::db::pilots::PilotView;
use crate::db::DbConnection;
use crate::domain::currency::Currency;
use crate::domain::enums::{AiKind, AttributionMethod, BusinessFunction, ImpactKind, Sourcing, SpendCategory, Stage};
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult};

fn bad(what: &str, value: &str) -> ApiError {
    ApiError::internal(format!("stored {what} {value:?} does not parse"))
}

pub fn pilot_facts(p: &PilotView) -> ApiResult<PilotFacts> {
    Ok(PilotFacts {
        id: p.id.clone(),
        name: p.name.clone(),
        business_function: BusinessFunction::parse(&p.business_function)
            .ok_or_else(|| bad("function", &p.business_function))?,
        sourcing: Sourcing::parse(&p.sourcing).ok_or_else(|| bad("sourcing", &p.sourcing))?,
        ai_kind: AiKind::parse(&p.ai_kind).ok_or_else(|| bad("ai_kind", &p.ai_kind))?,
        stage: Stage::parse(&p.stage).ok_or_else(|| bad("stage", &p.stage))?,
        stage_entered_on: p.stage_entered_on,
        evaluated_on: p.evaluated_on,
    })
}

pub fn entry_facts(e: &EntryView) -> ApiResult<EntryFacts> {
    let kind = if e.entry_type == "spend" {
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
        currency: Currency::parse(&e.currency).map_err(|_| bad("currency", &e.currency))?,
    })
}

pub fn fx_table(rows: &[FxRateView]) -> FxTable {
    FxTable::new(
        rows.iter()
            .map(|r| (r.currency.as_str(), r.rate_date, r.rate_to_usd.as_str())),
    )
}

/// The fields of a pilot's audit snapshot that the computations need.
#[derive(Deserialize)]
struct PilotSnapshot {
    id: String,
    name: String,
    business_function: String,
    sourcing: String,
    ai_kind: String,
    stage: String,
    stage_entered_on: chrono::NaiveDate,
    evaluated_on: Option<chrono::NaiveDate>,
}

/// An organisation's pilots as they stood at `as_of` (now when `None`): from
/// the audit log's snapshots, falling back to the current row for pilots
/// written without audit events (bulk demo data) that existed by then.
pub fn pilots_as_of(conn: &mut DbConnection, org: OrgId, as_of: Option<NaiveDateTime>) -> ApiResult<Vec<PilotFacts>> {
    let current = crate::db::pilots::all_for_org(conn, org)?;
    let Some(at) = as_of else {
        return current.iter().map(pilot_facts).collect();
    };
    let snapshots: std::collections::BTreeMap<String, String> =
        crate::db::audit::pilot_states_at(conn, org, at)?.into_iter().collect();
    let audited: std::collections::BTreeSet<String> =
        crate::db::audit::audited_pilots(conn, org)?.into_iter().collect();
    let mut out = Vec::new();
    for p in &current {
        if let Some(json) = snapshots.get(&p.id) {
            let s: PilotSnapshot = serde_json::from_str(json).map_err(ApiError::internal)?;
            out.push(pilot_facts(&PilotView {
                id: s.id,
                name: s.name,
                business_function: s.business_function,
                sourcing: s.sourcing,
                ai_kind: s.ai_kind,
                stage: s.stage,
                stage_entered_on: s.stage_entered_on,
                evaluated_on: s.evaluated_on,
                ..p.clone()
            })?);
        } else if !audited.contains(&p.id) && p.created_at <= at {
            out.push(pilot_facts(p)?);
        }
    }
    Ok(out)
}
