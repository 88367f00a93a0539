//! Alert rules and the alerts they fire, evaluated inside the write
//! transaction that changes what they watch, with the webhook outbox rows
//! written in that same transaction (`webhooks::enqueue`): a crash after the
//! commit cannot lose an alert, a crash before it loses the write too.
//!
//! - **Budget thresholds** are evaluated by every entry append
//!   ([`after_append`], called by `append::append`, the one path every entry
//!   takes) for the budgets the entries move, in the period of each entry's
//!   `period_end`; and by the sweep for the current period (a budget or rule
//!   created after the spend).
//! - **Time rules** (evaluation overdue, no measured impact, spend without
//!   impact) depend on today's date, so the periodic sweep ([`sweep`], run by
//!   `delivery`) and the creation of a rule evaluate them.
//!
//! Each (rule, subject) has at most one open alert (a unique partial index);
//! an alert is cleared when its condition stops holding (a reversal, an
//! evaluation), so the next crossing fires a new one: once per crossing.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::budgets::BudgetView;
use super::entries::EntryView;
use super::schema::{alert_rules, alerts, pilot_rollups, pilot_totals};
use super::{DbConnection, DbError};
use crate::analytics::budgets::{crossed, Burn};
use crate::analytics::definitions;
use crate::analytics::fx_table::FxTable;
use crate::domain::ids::{AlertId, AlertRuleId, OrgId};

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// A budget's burn reached `threshold_pct` percent.
    BudgetThreshold,
    /// A pilot is not evaluated `months` after it started.
    EvaluationOverdue,
    /// `months` (3, 6 or 12) after its evaluation, a pilot's measured net
    /// impact in that window (docs/DEFINITIONS.md) is at most zero.
    NoMeasuredImpact,
    /// A pilot has spend entries and no impact entry at all.
    SpendWithoutImpact,
}

impl RuleKind {
    pub const ALL: [RuleKind; 4] = [
        Self::BudgetThreshold,
        Self::EvaluationOverdue,
        Self::NoMeasuredImpact,
        Self::SpendWithoutImpact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BudgetThreshold => "budget_threshold",
            Self::EvaluationOverdue => "evaluation_overdue",
            Self::NoMeasuredImpact => "no_measured_impact",
            Self::SpendWithoutImpact => "spend_without_impact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = alert_rules, treat_none_as_default_value = false)]
pub struct RuleView {
    pub org_id: String,
    pub id: String,
    pub kind: String,
    pub threshold_pct: Option<i32>,
    pub months: Option<i32>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub use super::alert_row::AlertView;

/// Inserts a rule and evaluates it at once, in the same transaction.
pub fn insert_rule(conn: &mut DbConnection, rule: &RuleView, today: NaiveDate) -> Result<(), DbError> {
    diesel::insert_into(alert_rules::table).values(rule).execute(conn)?;
    sweep_org(conn, &rule.org_id, today)
}

pub fn list_rules(conn: &mut DbConnection, org: OrgId) -> Result<Vec<RuleView>, DbError> {
    Ok(alert_rules::table
        .filter(alert_rules::org_id.eq(org.to_string()))
        .select(RuleView::as_select())
        .order(alert_rules::id.asc())
        .load(conn)?)
}

/// Deletes a rule; its open alerts are cleared (their history stays).
pub fn delete_rule(conn: &mut DbConnection, org: OrgId, id: AlertRuleId) -> Result<(), DbError> {
    let (org, id) = (org.to_string(), id.to_string());
    let n = diesel::delete(
        alert_rules::table
            .filter(alert_rules::org_id.eq(&org))
            .filter(alert_rules::id.eq(&id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    diesel::update(
        alerts::table
            .filter(alerts::org_id.eq(&org))
            .filter(alerts::rule_id.eq(&id))
            .filter(alerts::cleared_at.is_null()),
    )
    .set(alerts::cleared_at.eq(super::now()))
    .execute(conn)?;
    Ok(())
}

/// The organisation's alerts, newest first, after the cursor `before`.
pub fn list_alerts(
    conn: &mut DbConnection,
    org: OrgId,
    before: Option<AlertId>,
    limit: i64,
) -> Result<Vec<AlertView>, DbError> {
    let mut q = alerts::table
        .filter(alerts::org_id.eq(org.to_string()))
        .select(AlertView::as_select())
        .order(alerts::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(alerts::id.lt(b.to_string()));
    }
    Ok(q.load(conn)?)
}

fn rules_of(conn: &mut DbConnection, org: &str, kind: Option<RuleKind>) -> Result<Vec<RuleView>, DbError> {
    let mut q = alert_rules::table
        .filter(alert_rules::org_id.eq(org))
        .select(RuleView::as_select())
        .order(alert_rules::id.asc())
        .into_boxed();
    if let Some(k) = kind {
        q = q.filter(alert_rules::kind.eq(k.as_str()));
    }
    Ok(q.load(conn)?)
}

/// What one evaluation found for a (rule, subject).
struct Finding<'a> {
    rule: &'a RuleView,
    subject: String,
    pilot_id: Option<String>,
    budget_id: Option<String>,
    period_key: Option<String>,
    reason: String,
    details: serde_json::Value,
}

/// Fires the alert unless one is open for its rule and subject; a new alert
/// gets its outbox messages in this transaction. Returns whether it fired.
fn fire(conn: &mut DbConnection, f: Finding<'_>) -> Result<bool, DbError> {
    let row = AlertView {
        org_id: f.rule.org_id.clone(),
        id: AlertId::new().to_string(),
        rule_id: f.rule.id.clone(),
        kind: f.rule.kind.clone(),
        subject: f.subject,
        pilot_id: f.pilot_id,
        budget_id: f.budget_id,
        period_key: f.period_key,
        fired_at: super::now(),
        cleared_at: None,
        reason: f.reason,
        details_json: f.details.to_string(),
    };
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(alerts::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(alerts::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    if inserted == 1 {
        super::webhooks::enqueue(conn, &row)?;
    }
    Ok(inserted == 1)
}

/// Clears the open alert of a rule and subject, if any: the condition no
/// longer holds, so the next crossing fires again.
fn clear(conn: &mut DbConnection, rule: &RuleView, subject: &str) -> Result<(), DbError> {
    diesel::update(
        alerts::table
            .filter(alerts::org_id.eq(&rule.org_id))
            .filter(alerts::rule_id.eq(&rule.id))
            .filter(alerts::subject.eq(subject))
            .filter(alerts::cleared_at.is_null()),
    )
    .set(alerts::cleared_at.eq(super::now()))
    .execute(conn)?;
    Ok(())
}

fn scope_of(b: &BudgetView) -> String {
    match &b.pilot_id {
        Some(p) => format!("pilot {p}"),
        None => "the organisation".into(),
    }
}

/// Fires or clears each threshold rule for one budget's burn in one period.
fn judge_budget(conn: &mut DbConnection, rules: &[RuleView], b: &BudgetView, burn: &Burn) -> Result<(), DbError> {
    for rule in rules {
        let pct = rule.threshold_pct.unwrap_or(100).max(0) as u32;
        let subject = format!("budget:{}:{}", b.id, burn.period);
        if !crossed(burn.spent.amount_minor, burn.budget.amount_minor, pct) {
            clear(conn, rule, &subject)?;
            continue;
        }
        let reason = format!(
            "budget of {} for {} reached {pct}%: {} of {} {} spent",
            scope_of(b),
            burn.period,
            burn.spent.amount,
            burn.budget.amount,
            burn.budget.currency
        );
        let details = serde_json::json!({
            "threshold_pct": pct,
            "period": burn.period,
            "budget": burn.budget,
            "spent": burn.spent,
            "burn_ratio": burn.burn_ratio,
            "period_start": burn.period_start,
            "period_end": burn.period_end,
        });
        fire(
            conn,
            Finding {
                rule,
                subject,
                pilot_id: b.pilot_id.clone(),
                budget_id: Some(b.id.clone()),
                period_key: Some(burn.period.clone()),
                reason,
                details,
            },
        )?;
    }
    Ok(())
}

/// The threshold rules for the budgets `written` moves, in each entry's
/// period. Costs one rule read per organisation when it has no budget rule.
pub fn after_append(conn: &mut DbConnection, written: &[&EntryView]) -> Result<(), DbError> {
    let mut by_org: BTreeMap<&str, Vec<&EntryView>> = BTreeMap::new();
    for e in written
        .iter()
        .filter(|e| e.entry_type == crate::domain::enums::EntryType::Spend)
    {
        by_org.entry(e.org_id.as_str()).or_default().push(e);
    }
    let mut fx: Option<FxTable> = None;
    for (org, spend) in by_org {
        let rules = rules_of(conn, org, Some(RuleKind::BudgetThreshold))?;
        if rules.is_empty() {
            continue;
        }
        let pilots: BTreeSet<&str> = spend.iter().map(|e| e.pilot_id.as_str()).collect();
        let pilots: Vec<&str> = pilots.into_iter().collect();
        let budgets = super::budgets::locked(conn, org, Some(&pilots))?;
        for b in &budgets {
            let period = b.period()?;
            let days: BTreeSet<(String, NaiveDate)> = spend
                .iter()
                .filter(|e| b.pilot_id.as_ref().is_none_or(|p| *p == e.pilot_id))
                .map(|e| (period.instance(e.period_end).key, e.period_end))
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect();
            for (_, day) in days {
                if fx.is_none() {
                    fx = Some(super::fx::table(conn)?);
                }
                let table = fx.as_ref().ok_or(DbError::NotFound)?;
                if let Ok(burn) = super::budgets::burn_on(conn, b, day, table)? {
                    judge_budget(conn, &rules, b, &burn)?;
                }
            }
        }
    }
    Ok(())
}

/// The organisations that have an alert rule (the sweep evaluates each).
pub fn orgs_with_rules(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    Ok(alert_rules::table
        .select(alert_rules::org_id)
        .distinct()
        .order(alert_rules::org_id.asc())
        .load(conn)?)
}

/// Evaluates every rule of one organisation for `today`, inside the caller's
/// transaction.
pub fn sweep_org(conn: &mut DbConnection, org: &str, today: NaiveDate) -> Result<(), DbError> {
    let rules = rules_of(conn, org, None)?;
    let (budget_rules, pilot_rules): (Vec<RuleView>, Vec<RuleView>) = rules
        .into_iter()
        .partition(|r| r.kind == RuleKind::BudgetThreshold.as_str());
    if !budget_rules.is_empty() {
        let budgets = super::budgets::locked(conn, org, None)?;
        let fx = super::fx::table(conn)?;
        for b in &budgets {
            if let Ok(burn) = super::budgets::burn_on(conn, b, today, &fx)? {
                judge_budget(conn, &budget_rules, b, &burn)?;
            }
        }
    }
    if pilot_rules.is_empty() {
        return Ok(());
    }
    let oid = OrgId::parse(org).ok_or(DbError::NotFound)?;
    let pilots = super::pilots::all_for_org(conn, oid)?;
    let counts: Vec<(String, String, i64)> = pilot_totals::table
        .filter(pilot_totals::org_id.eq(org))
        .select((pilot_totals::pilot_id, pilot_totals::entry_type, pilot_totals::entries))
        .load(conn)?;
    let mut entries_of: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (p, t, n) in counts {
        *entries_of.entry((p, t)).or_default() += n;
    }
    // Pilots with an entry that cannot be put into USD cannot be judged.
    let windows: BTreeMap<String, [Option<i64>; 3]> = pilot_rollups::table
        .filter(pilot_rollups::org_id.eq(org))
        .filter(pilot_rollups::unconverted_entries.eq(0))
        .select((
            pilot_rollups::pilot_id,
            pilot_rollups::impact_3m_usd_minor,
            pilot_rollups::impact_6m_usd_minor,
            pilot_rollups::impact_12m_usd_minor,
        ))
        .load::<(String, Option<i64>, Option<i64>, Option<i64>)>(conn)?
        .into_iter()
        .map(|(p, a, b, c)| (p, [a, b, c]))
        .collect();
    for rule in &pilot_rules {
        let Some(kind) = RuleKind::parse(&rule.kind) else {
            continue;
        };
        let months = rule.months.unwrap_or(0).max(0) as u32;
        for p in &pilots {
            let eval = definitions::evaluation_date(p.evaluated_on, p.stage, p.evaluation_stage_on);
            let n = |t: &str| entries_of.get(&(p.id.clone(), t.to_owned())).copied().unwrap_or(0);
            let found: Option<(String, serde_json::Value)> = match kind {
                RuleKind::BudgetThreshold => None,
                RuleKind::EvaluationOverdue => {
                    let planned = p.started_on.and_then(|s| s.checked_add_months(Months::new(months)));
                    match planned {
                        Some(due) if eval.is_none() && !p.stage.is_evaluating() && today > due => Some((
                            format!("pilot {} is not evaluated; its evaluation was due on {due}", p.name),
                            serde_json::json!({"started_on": p.started_on, "due_on": due, "months": months}),
                        )),
                        _ => None,
                    }
                }
                RuleKind::NoMeasuredImpact => {
                    let slot = match months {
                        3 => 0,
                        6 => 1,
                        _ => 2,
                    };
                    let window = windows.get(&p.id).and_then(|w| w[slot]);
                    match (eval, window) {
                        (Some(e), Some(net)) if net <= 0 && definitions::window_end(e, months) < today => Some((
                            format!(
                                "pilot {} has no measured impact {months} months after its evaluation on {e}",
                                p.name
                            ),
                            serde_json::json!({"evaluation_date": e, "months": months,
                                "measured_net_impact_usd_minor": net}),
                        )),
                        _ => None,
                    }
                }
                RuleKind::SpendWithoutImpact => (n("spend") > 0 && n("impact") == 0).then(|| {
                    (
                        format!("pilot {} has spend logged and no impact logged", p.name),
                        serde_json::json!({"spend_entries": n("spend")}),
                    )
                }),
            };
            let subject = format!("pilot:{}", p.id);
            match found {
                None => clear(conn, rule, &subject)?,
                Some((reason, details)) => {
                    fire(
                        conn,
                        Finding {
                            rule,
                            subject,
                            pilot_id: Some(p.id.clone()),
                            budget_id: None,
                            period_key: None,
                            reason,
                            details,
                        },
                    )?;
                }
            }
        }
    }
    Ok(())
}
