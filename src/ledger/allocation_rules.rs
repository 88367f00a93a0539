//! Allocation rules and the FOCUS cost-column setting of an organisation:
//! validated (every pilot the organisation's, a split summing to 100),
//! stored as JSON, audited, and read back as `billing::rules::Rule`s for the
//! bill readers.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::billing::focus::CostColumn;
use crate::billing::rules::{parse_percent, Match, Rule, Target, WHOLE};
use crate::db::audit::Actor;
use crate::db::spend_sources::AllocationRuleView;
use crate::db::DbConnection;
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::error::{ApiError, ApiResult, Code};

/// `POST /v1/allocation-rules`.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[serde(default)]
    pub priority: i64,
    #[serde(rename = "match")]
    pub matcher: Match,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pilot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<SplitPart>>,
}

#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SplitPart {
    pub pilot_id: String,
    /// A percentage with at most two decimals, as a string (`"33.33"`).
    pub percent: String,
}

/// A rule as the API shows it.
#[derive(Serialize)]
pub struct RuleJson {
    pub id: String,
    pub priority: i64,
    #[serde(rename = "match")]
    pub matcher: Match,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pilot_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Vec<SplitPart>>,
    pub created_by: String,
    pub created_at: String,
}

pub(super) fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    ApiError::field(Code::INVALID_FIELD, field, reason)
}

impl RuleBody {
    /// The rule's target, checked: one pilot or a split summing to 100, and
    /// every pilot one of `org`'s.
    fn target(&self, conn: &mut DbConnection, org: OrgId) -> ApiResult<Target> {
        let known = |conn: &mut DbConnection, field: &str, id: &str| -> ApiResult<String> {
            let pilot = PilotId::parse(id).ok_or_else(|| invalid(field, "must be a UUID"))?;
            match crate::db::pilots::find(conn, org, pilot) {
                Ok(_) => Ok(pilot.to_string()),
                Err(crate::db::DbError::NotFound) => Err(invalid(field, "no such pilot")),
                Err(e) => Err(e.into()),
            }
        };
        match (&self.pilot_id, &self.split) {
            (Some(p), None) => Ok(Target::Pilot(known(conn, "pilot_id", p)?)),
            (None, Some(parts)) => {
                if parts.is_empty() || parts.len() > 100 {
                    return Err(invalid("split", "give 1 to 100 parts"));
                }
                let mut out = Vec::new();
                let mut seen = BTreeSet::new();
                for (i, part) in parts.iter().enumerate() {
                    let pilot = known(conn, &format!("split[{i}].pilot_id"), &part.pilot_id)?;
                    if !seen.insert(pilot.clone()) {
                        return Err(invalid(&format!("split[{i}].pilot_id"), "this pilot is named twice"));
                    }
                    let w = parse_percent(&part.percent).map_err(|r| invalid(&format!("split[{i}].percent"), r))?;
                    out.push((pilot, w));
                }
                let sum: u32 = out.iter().map(|(_, w)| *w).sum();
                if sum != WHOLE {
                    return Err(invalid(
                        "split",
                        format!("the percentages sum to {}.{:02}, not 100", sum / 100, sum % 100),
                    ));
                }
                Ok(Target::Split(out))
            }
            _ => Err(invalid("pilot_id", "give exactly one of pilot_id or split")),
        }
    }
}

fn check_match(m: &Match) -> ApiResult<()> {
    if m.is_empty() {
        return Err(invalid(
            "match",
            "name at least one of tag_key, service_name, provider, sub_account_id, resource_id_prefix",
        ));
    }
    if m.tag_value.is_some() && m.tag_key.is_none() {
        return Err(invalid("match.tag_value", "needs match.tag_key"));
    }
    for (field, v) in [
        ("match.tag_key", &m.tag_key),
        ("match.tag_value", &m.tag_value),
        ("match.service_name", &m.service_name),
        ("match.provider", &m.provider),
        ("match.sub_account_id", &m.sub_account_id),
        ("match.resource_id_prefix", &m.resource_id_prefix),
    ] {
        if let Some(v) = v {
            if v.trim().is_empty() || v.len() > 500 {
                return Err(invalid(field, "must be 1 to 500 characters, not only spaces"));
            }
        }
    }
    Ok(())
}

fn rule_json(v: &AllocationRuleView) -> ApiResult<RuleJson> {
    let body: RuleBody = serde_json::from_str(&v.rule_json).map_err(ApiError::internal)?;
    Ok(RuleJson {
        id: v.id.clone(),
        priority: v.priority,
        matcher: body.matcher,
        pilot_id: body.pilot_id,
        split: body.split,
        created_by: v.created_by.clone(),
        created_at: v
            .created_at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// Creates a rule (audited).
pub fn create_rule(conn: &mut DbConnection, org: OrgId, actor: &Actor, body: RuleBody) -> ApiResult<RuleJson> {
    check_match(&body.matcher)?;
    body.target(conn, org)?;
    let row = AllocationRuleView {
        org_id: org.to_string(),
        id: EntryId::new().to_string(),
        priority: body.priority,
        rule_json: serde_json::to_string(&body).map_err(ApiError::internal)?,
        created_by: actor.sub.clone(),
        created_at: crate::db::now(),
    };
    crate::db::spend_sources::insert_rule(conn, &row)?;
    let json = rule_json(&row)?;
    let after = serde_json::to_value(&json).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "allocation_rule.create",
        "allocation_rule",
        &row.id,
        None,
        after.as_ref(),
    )?;
    Ok(json)
}

/// Deletes a rule (audited); entries it placed stay until their bill is imported again.
pub fn delete_rule(conn: &mut DbConnection, org: OrgId, actor: &Actor, id: &str) -> ApiResult<()> {
    let gone = crate::db::spend_sources::delete_rule(conn, org, id).map_err(|e| match e {
        crate::db::DbError::NotFound => ApiError::new(Code::ALLOCATION_RULE_NOT_FOUND, "no such allocation rule"),
        other => other.into(),
    })?;
    let before = serde_json::to_value(rule_json(&gone)?).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "allocation_rule.delete",
        "allocation_rule",
        id,
        before.as_ref(),
        None,
    )?;
    Ok(())
}

/// The organisation's rules, in the order they are tried.
pub fn list_rules(conn: &mut DbConnection, org: OrgId) -> ApiResult<Vec<RuleJson>> {
    crate::db::spend_sources::rules(conn, org)?
        .iter()
        .map(rule_json)
        .collect()
}

/// The rules as the bill readers use them.
pub fn rules_for_import(conn: &mut DbConnection, org: OrgId) -> ApiResult<Vec<Rule>> {
    let mut out = Vec::new();
    for v in crate::db::spend_sources::rules(conn, org)? {
        let body: RuleBody = serde_json::from_str(&v.rule_json).map_err(ApiError::internal)?;
        let target = match (body.pilot_id, body.split) {
            (Some(p), _) => Target::Pilot(p),
            (None, Some(parts)) => Target::Split(
                parts
                    .into_iter()
                    .map(|p| Ok((p.pilot_id, parse_percent(&p.percent).map_err(ApiError::internal)?)))
                    .collect::<ApiResult<_>>()?,
            ),
            (None, None) => return Err(ApiError::internal("a stored rule has no target")),
        };
        out.push(Rule {
            id: v.id,
            priority: v.priority,
            matcher: body.matcher,
            target,
        });
    }
    Ok(out)
}

/// The organisation's FOCUS cost column (`EffectiveCost` unless it chose `BilledCost`).
pub fn cost_column(conn: &mut DbConnection, org: OrgId) -> ApiResult<CostColumn> {
    Ok(crate::db::spend_sources::cost_column(conn, org)?
        .as_deref()
        .and_then(CostColumn::parse)
        .unwrap_or(CostColumn::EffectiveCost))
}

/// `PUT /v1/spend-sources/settings`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub cost_column: String,
}

pub fn set_cost_column(conn: &mut DbConnection, org: OrgId, actor: &Actor, body: &SettingsBody) -> ApiResult<()> {
    let column = CostColumn::parse(&body.cost_column)
        .ok_or_else(|| invalid("cost_column", "must be EffectiveCost or BilledCost"))?;
    let before = cost_column(conn, org)?;
    crate::db::spend_sources::set_cost_column(conn, org, column.as_str())?;
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "spend_sources.settings",
        "org",
        &org.to_string(),
        Some(&serde_json::json!({"cost_column": before.as_str()})),
        Some(&serde_json::json!({"cost_column": column.as_str()})),
    )?;
    Ok(())
}
