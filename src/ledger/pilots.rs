//! Pilots: the body they are created from (HTTP and file import alike), and
//! their creation and update with everything that goes with a pilot write —
//! rollups, the audit event, the organisation's ledger version.

use chrono::NaiveDate;
use serde::Deserialize;

use super::pilot_not_found;
use super::views::PilotJson;
use crate::db::audit::Actor;
use crate::db::pilots::PilotView;
use crate::db::DbConnection;
use crate::domain::currency::Currency;
use crate::domain::enums::{AiKind, BusinessFunction, Sourcing, Stage};
use crate::domain::ids::{OrgId, PilotId};
use crate::domain::pilots::{
    check_abandon_reason, check_date, check_evaluation_order, check_stage_history, check_tags, check_text,
    stored_history, FieldError, NewPilot, PilotPatch, StageStep,
};
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePilotBody {
    pub name: String,
    pub business_function: BusinessFunction,
    pub sourcing: Sourcing,
    pub ai_kind: AiKind,
    pub stage: Option<Stage>,
    /// When the pilot entered `stage`; for a pilot created already evaluated
    /// (production, scaled, abandoned) without `evaluated_on`, its evaluation
    /// date. Absent there, the date is unknown and the pilot is not dated.
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub stage_entered_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub started_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::domain::dates::strict_option")]
    pub evaluated_on: Option<NaiveDate>,
    pub owner_team: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub external_ref: Option<String>,
    /// Every stage it has been in, oldest first, each with the date it was
    /// entered (and for `abandoned`, optionally why); the last is its
    /// current stage. Replaces `stage` and `stage_entered_on`, which must
    /// agree with it when sent too.
    pub stage_history: Option<Vec<StageStep>>,
    /// The net benefit a year expected of it at approval, a decimal string
    /// in `expected_annual_benefit_currency` (both or neither).
    pub expected_annual_benefit: Option<String>,
    pub expected_annual_benefit_currency: Option<String>,
}

/// An expected annual benefit from its two fields: both or neither, a
/// known currency, an amount in its exponent, not negative.
pub fn expected_benefit(
    amount: Option<String>,
    currency: Option<String>,
) -> Result<Option<(i64, Currency)>, FieldError> {
    const AMOUNT: &str = "expected_annual_benefit";
    const CURRENCY: &str = "expected_annual_benefit_currency";
    let (amount, currency) = match (amount, currency) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(FieldError::new(CURRENCY, format!("required with {AMOUNT}"))),
        (None, Some(_)) => return Err(FieldError::new(AMOUNT, format!("required with {CURRENCY}"))),
        (Some(a), Some(c)) => (a, c),
    };
    let currency = Currency::parse(&currency).map_err(|e| FieldError::new(CURRENCY, e.to_string()))?;
    let minor =
        crate::domain::money::parse_amount(&amount, currency).map_err(|e| FieldError::new(AMOUNT, e.to_string()))?;
    if minor < 0 {
        return Err(FieldError::new(AMOUNT, "must not be negative"));
    }
    Ok(Some((minor, currency)))
}

pub fn optional_text(field: &'static str, v: Option<String>, max: usize) -> Result<Option<String>, FieldError> {
    v.map(|s| check_text(field, &s, max)).transpose()
}

pub fn optional_date(field: &'static str, v: Option<NaiveDate>) -> Result<Option<NaiveDate>, FieldError> {
    v.map(|d| check_date(field, d)).transpose()
}

/// A date that has happened (a stage cannot have been entered tomorrow).
fn not_in_future(field: &'static str, v: Option<NaiveDate>, today: NaiveDate) -> Result<(), FieldError> {
    match v {
        Some(d) if d > today => Err(FieldError::new(field, format!("{d} is in the future"))),
        _ => Ok(()),
    }
}

impl TryFrom<CreatePilotBody> for NewPilot {
    type Error = FieldError;

    fn try_from(b: CreatePilotBody) -> Result<Self, FieldError> {
        let started_on = optional_date("started_on", b.started_on)?;
        let evaluated_on = optional_date("evaluated_on", b.evaluated_on)?;
        let mut stage_entered_on = optional_date("stage_entered_on", b.stage_entered_on)?;
        check_evaluation_order(started_on, evaluated_on)?;
        let today = chrono::Utc::now().date_naive();
        not_in_future("stage_entered_on", stage_entered_on, today)?;
        let mut stage = b.stage.unwrap_or(Stage::Piloting);
        let stage_history = match b.stage_history {
            None => Vec::new(),
            Some(steps) => {
                let steps = check_stage_history(steps, today)?;
                let last = steps
                    .last()
                    .ok_or_else(|| FieldError::new("stage_history", "must not be empty"))?;
                if b.stage.is_some_and(|s| s != last.stage) {
                    return Err(FieldError::new(
                        "stage",
                        format!("must be the last stage of stage_history ({})", last.stage.as_str()),
                    ));
                }
                if stage_entered_on.is_some_and(|d| d != last.entered_on) {
                    return Err(FieldError::new(
                        "stage_entered_on",
                        format!(
                            "must be the date of the last step of stage_history ({})",
                            last.entered_on
                        ),
                    ));
                }
                stage = last.stage;
                stage_entered_on = Some(last.entered_on);
                steps
            }
        };
        Ok(NewPilot {
            name: check_text("name", &b.name, 200)?,
            business_function: b.business_function,
            sourcing: b.sourcing,
            ai_kind: b.ai_kind,
            stage,
            stage_entered_on,
            started_on,
            evaluated_on,
            owner_team: optional_text("owner_team", b.owner_team, 200)?,
            tags: check_tags(b.tags)?,
            external_ref: optional_text("external_ref", b.external_ref, 200)?,
            stage_history,
            expected_benefit: expected_benefit(b.expected_annual_benefit, b.expected_annual_benefit_currency)?,
        })
    }
}

/// The stored row for a new pilot.
pub fn new_pilot_row(org: OrgId, id: PilotId, p: NewPilot, today: NaiveDate) -> PilotView {
    let now = crate::db::now();
    PilotView {
        org_id: org.to_string(),
        id: id.to_string(),
        name: p.name,
        business_function: p.business_function,
        sourcing: p.sourcing,
        ai_kind: p.ai_kind,
        stage: p.stage,
        stage_entered_on: p.stage_entered_on.unwrap_or(today),
        // Created already evaluated: its evaluation date is the stage date it
        // was given (with a history, when its latest run of evaluated stages
        // began), or unknown; never the day it was loaded.
        evaluation_stage_on: if !p.stage_history.is_empty() {
            crate::domain::pilots::evaluation_stage_on(&p.stage_history)
        } else if p.stage.is_evaluating() {
            p.stage_entered_on
        } else {
            None
        },
        started_on: p.started_on,
        evaluated_on: p.evaluated_on,
        owner_team: p.owner_team,
        tags: serde_json::to_string(&p.tags).unwrap_or_else(|_| "[]".into()),
        external_ref: p.external_ref,
        stage_history: history_json(&p.stage_history),
        expected_benefit_minor: p.expected_benefit.map(|(m, _)| m),
        expected_benefit_currency: p.expected_benefit.map(|(_, c)| c.code().to_owned()),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

fn history_json(steps: &[StageStep]) -> String {
    serde_json::to_string(steps).unwrap_or_else(|_| "[]".into())
}

/// Applies a patch to a stored pilot, bumping its version and, when the stage
/// changes, the date it entered that stage.
pub fn apply_patch(current: &PilotView, patch: PilotPatch, today: NaiveDate) -> Result<PilotView, FieldError> {
    let mut next = current.clone();
    if let Some(v) = patch.name {
        next.name = v;
    }
    if let Some(v) = patch.business_function {
        next.business_function = v;
    }
    if let Some(v) = patch.sourcing {
        next.sourcing = v;
    }
    if let Some(v) = patch.ai_kind {
        next.ai_kind = v;
    }
    let was_evaluating = current.stage.is_evaluating();
    // The history as stored (or its current stage alone). Only the stages
    // it holds are read from it later (whether the pilot ever reached
    // production); evaluation dates follow the rule below, never its dates.
    let mut history = stored_history(&current.stage_history, current.stage, current.stage_entered_on);
    match patch.stage.filter(|v| *v != current.stage) {
        Some(v) => {
            // A new stage, entered on the date given or today.
            let on = patch.stage_entered_on.unwrap_or(today);
            // Recorded in the order written, with the date given: a pilot
            // created today and then backdated keeps both steps as sent.
            history.push(StageStep {
                stage: v,
                entered_on: on,
                reason: None,
            });
            next.stage = v;
            next.stage_entered_on = on;
            next.evaluation_stage_on = match (was_evaluating, v.is_evaluating()) {
                // Production to scaled (or abandoned): still evaluated when it
                // first was; the evaluation date does not move.
                (true, true) => current.evaluation_stage_on,
                (false, true) => Some(on),
                (_, false) => None,
            };
        }
        None => {
            // The same stage: a date given corrects when it was entered, and
            // with it an evaluation date that was that entry (or unknown).
            if let Some(on) = patch.stage_entered_on {
                if let Some(last) = history.last_mut() {
                    last.entered_on = on;
                }
                next.stage_entered_on = on;
                let was_this_entry = current
                    .evaluation_stage_on
                    .is_none_or(|d| d == current.stage_entered_on);
                if was_evaluating && was_this_entry {
                    next.evaluation_stage_on = Some(on);
                }
            }
        }
    }
    not_in_future("stage_entered_on", Some(next.stage_entered_on), today)?;
    if patch.abandon_reason.is_some() {
        let reason = check_abandon_reason("abandon_reason", next.stage, patch.abandon_reason)?;
        if let Some(last) = history.last_mut() {
            last.reason = reason;
        }
    }
    next.stage_history = history_json(&history);
    if let Some(v) = patch.expected_benefit {
        next.expected_benefit_minor = v.map(|(m, _)| m);
        next.expected_benefit_currency = v.map(|(_, c)| c.code().to_owned());
    }
    if let Some(v) = patch.started_on {
        next.started_on = v;
    }
    if let Some(v) = patch.evaluated_on {
        next.evaluated_on = v;
    }
    if let Some(v) = patch.owner_team {
        next.owner_team = v;
    }
    if let Some(v) = patch.tags {
        next.tags = serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    }
    if let Some(v) = patch.external_ref {
        next.external_ref = v;
    }
    check_evaluation_order(next.started_on, next.evaluated_on)?;
    next.version = current.version + 1;
    next.updated_at = crate::db::now();
    Ok(next)
}

/// Stores a new pilot with its (empty) rollup, audits it and moves the
/// organisation's ledger version.
pub fn create(conn: &mut DbConnection, row: &PilotView, actor: &Actor) -> ApiResult<()> {
    let org = OrgId::parse(&row.org_id).ok_or_else(|| ApiError::internal("a pilot row without an organisation id"))?;
    crate::db::pilots::insert(conn, row)?;
    // Its rollup, through the path every entry takes (no entries yet).
    crate::db::append::append(conn, std::slice::from_ref(row), &[], crate::db::append::Rates::lookup())?;
    let after = serde_json::to_value(PilotJson::from(row.clone())).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "pilot.create",
        "pilot",
        &row.id,
        None,
        after.as_ref(),
    )?;
    crate::db::orgs::bump_ledger_version(conn, org)?;
    Ok(())
}

/// Applies `patch` to pilot `id` when it is still at version `expected`
/// (any version when `None`): 412 when it moved on, 422 naming a field that
/// breaks a rule. Recomputes its rollup, audits before and after, and moves
/// the organisation's ledger version.
pub fn update(
    conn: &mut DbConnection,
    org: OrgId,
    id: PilotId,
    expected: Option<i64>,
    patch: PilotPatch,
    today: NaiveDate,
    actor: &Actor,
) -> ApiResult<PilotView> {
    let current = crate::db::pilots::find(conn, org, id).map_err(pilot_not_found)?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::new(
            Code::PRECONDITION_FAILED,
            format!("the pilot is at version {}; GET it again and retry", current.version),
        ));
    }
    let next = apply_patch(&current, patch, today).map_err(super::field_error)?;
    if !crate::db::pilots::update_if_version(conn, &next, current.version)? {
        return Err(ApiError::new(Code::PRECONDITION_FAILED, "the pilot changed meanwhile"));
    }
    crate::db::rollups::recompute(conn, org, id)?;
    let before = serde_json::to_value(PilotJson::from(current)).ok();
    let after = serde_json::to_value(PilotJson::from(next.clone())).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "pilot.update",
        "pilot",
        &next.id,
        before.as_ref(),
        after.as_ref(),
    )?;
    crate::db::orgs::bump_ledger_version(conn, org)?;
    Ok(next)
}
