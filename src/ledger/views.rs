//! How the ledger's objects look on the wire: the JSON shapes responses and
//! audit events carry (and the CLI prints).

use crate::domain::enums::EntryType;
use crate::domain::enums::{AiKind, BusinessFunction, Industry, SizeBand, Sourcing, Stage};
use serde::Serialize;

use crate::db::entries::EntryView;
use crate::db::orgs::OrgView;
use crate::db::pilots::PilotView;

/// RFC 3339 UTC with microseconds, the precision both backends store.
pub fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// One page of a list.
#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub use crate::domain::money::MoneyJson;

#[derive(Serialize)]
pub struct OrgJson {
    pub id: String,
    pub name: String,
    pub industry: Industry,
    pub size_band: SizeBand,
    pub region: String,
    pub reporting_currency: String,
    pub fx_rate_required: bool,
    pub created_at: String,
}

impl From<OrgView> for OrgJson {
    fn from(o: OrgView) -> Self {
        Self {
            id: o.id,
            name: o.name,
            industry: o.industry,
            size_band: o.size_band,
            region: o.region,
            reporting_currency: o.reporting_currency,
            fx_rate_required: o.fx_rate_required,
            created_at: rfc3339(o.created_at),
        }
    }
}

#[derive(Serialize)]
pub struct PilotJson {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub business_function: BusinessFunction,
    pub sourcing: Sourcing,
    pub ai_kind: AiKind,
    pub stage: Stage,
    pub stage_entered_on: chrono::NaiveDate,
    pub started_on: Option<chrono::NaiveDate>,
    pub evaluated_on: Option<chrono::NaiveDate>,
    /// The date the definitions evaluate the pilot on (`evaluated_on`, else
    /// when it first entered an evaluated stage); null when it is not
    /// evaluated or that date is unknown.
    pub evaluation_date: Option<chrono::NaiveDate>,
    pub owner_team: Option<String>,
    pub tags: Vec<String>,
    pub external_ref: Option<String>,
    /// Every stage it has been in, oldest first, the current one last.
    pub stage_history: Vec<crate::domain::pilots::StageStep>,
    /// The net benefit a year expected at approval, in its currency.
    pub expected_annual_benefit: Option<String>,
    pub expected_annual_benefit_currency: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<PilotView> for PilotJson {
    fn from(p: PilotView) -> Self {
        let expected = match (p.expected_benefit_minor, p.expected_benefit_currency.as_deref()) {
            (Some(m), Some(c)) => crate::domain::currency::Currency::parse(c)
                .ok()
                .map(|cur| (crate::domain::money::format_amount(m, cur), cur.code().to_owned())),
            _ => None,
        };
        Self {
            stage_history: crate::domain::pilots::stored_history(&p.stage_history, p.stage, p.stage_entered_on),
            expected_annual_benefit: expected.as_ref().map(|(a, _)| a.clone()),
            expected_annual_benefit_currency: expected.map(|(_, c)| c),
            evaluation_date: crate::db::rollups::evaluation_of(&p),
            tags: serde_json::from_str(&p.tags).unwrap_or_default(),
            id: p.id,
            org_id: p.org_id,
            name: p.name,
            business_function: p.business_function,
            sourcing: p.sourcing,
            ai_kind: p.ai_kind,
            stage: p.stage,
            stage_entered_on: p.stage_entered_on,
            started_on: p.started_on,
            evaluated_on: p.evaluated_on,
            owner_team: p.owner_team,
            external_ref: p.external_ref,
            version: p.version,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// A spend or impact entry. Spend entries carry `category` and `capex`; impact
/// entries carry `kind`, `attribution_method`, `confidence`, `measured` and
/// `evidence`.
#[derive(Serialize)]
pub struct EntryJson {
    pub id: String,
    pub pilot_id: String,
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    #[serde(flatten)]
    pub money: MoneyJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capex: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub reverses: Option<String>,
    pub replaces: Option<String>,
    pub reason: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

impl From<EntryView> for EntryJson {
    fn from(e: EntryView) -> Self {
        let spend = e.entry_type == EntryType::Spend;
        Self {
            money: MoneyJson::stored(e.amount_minor, e.currency.code()),
            id: e.id,
            pilot_id: e.pilot_id,
            category: spend.then(|| e.category.clone()),
            kind: (!spend).then(|| e.category.clone()),
            entry_type: e.entry_type,
            period_start: e.period_start,
            period_end: e.period_end,
            capex: if spend { Some(e.capex.unwrap_or(false)) } else { None },
            note: if spend { e.note.clone() } else { None },
            attribution_method: e.attribution_method,
            confidence: e.confidence,
            measured: e.measured,
            evidence: if spend { None } else { e.note },
            reverses: e.reverses,
            replaces: e.replaces,
            reason: e.reason,
            created_by: e.created_by,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// A reversal as `POST …/entries/{entry_id}/reverse` answers it (and the
/// audit log records it).
#[derive(Serialize)]
pub struct ReversalJson {
    pub reversal: EntryJson,
    pub replacement: Option<EntryJson>,
}
