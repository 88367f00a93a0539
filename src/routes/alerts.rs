//! `/v1/alert-rules` (finance and admin set what to watch) and `/v1/alerts`
//! (every firing: when, why, and whether its condition still holds).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{rfc3339, Page};
use super::AppState;
use crate::auth::AuthContext;
use crate::db::alerts::{AlertView, RuleKind, RuleView};
use crate::db::DbError;
use crate::domain::ids::{AlertId, AlertRuleId};
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRuleBody {
    pub kind: String,
    /// `budget_threshold`: percent of the budget, 1 to 1000.
    pub threshold_pct: Option<i64>,
    /// `evaluation_overdue`: months after `started_on` the evaluation is due
    /// (1 to 120); `no_measured_impact`: the window after evaluation, 3, 6 or 12.
    pub months: Option<i64>,
}

#[derive(Serialize)]
pub struct RuleJson {
    pub id: String,
    pub kind: String,
    pub threshold_pct: Option<i32>,
    pub months: Option<i32>,
    pub created_at: String,
    pub created_by: String,
}

impl From<RuleView> for RuleJson {
    fn from(r: RuleView) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            threshold_pct: r.threshold_pct,
            months: r.months,
            created_at: rfc3339(r.created_at),
            created_by: r.created_by,
        }
    }
}

#[derive(Serialize)]
pub struct RuleList {
    pub items: Vec<RuleJson>,
}

#[derive(Serialize)]
pub struct AlertJson {
    pub id: String,
    pub rule_id: String,
    pub kind: String,
    pub subject: String,
    /// Absent (never `null`) when the alert is not about one pilot or budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pilot_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_id: Option<String>,
    pub period: Option<String>,
    pub fired_at: String,
    /// When its condition stopped holding (a later crossing fires a new alert).
    pub cleared_at: Option<String>,
    pub reason: String,
    pub details: serde_json::Value,
}

impl From<AlertView> for AlertJson {
    fn from(a: AlertView) -> Self {
        Self {
            details: serde_json::from_str(&a.details_json).unwrap_or_default(),
            id: a.id,
            rule_id: a.rule_id,
            kind: a.kind,
            subject: a.subject,
            pilot_id: a.pilot_id,
            budget_id: a.budget_id,
            period: a.period_key,
            fired_at: rfc3339(a.fired_at),
            cleared_at: a.cleared_at.map(rfc3339),
            reason: a.reason,
        }
    }
}

/// Checks a rule's parameters against its kind; returns (threshold, months).
fn parameters(kind: RuleKind, b: &CreateRuleBody) -> Result<(Option<i32>, Option<i32>), ApiError> {
    let refuse = |field: &str, why: &str| ApiError::field(Code::INVALID_FIELD, field, why);
    let (needs_pct, needs_months) = match kind {
        RuleKind::BudgetThreshold => (true, false),
        RuleKind::EvaluationOverdue | RuleKind::NoMeasuredImpact => (false, true),
        RuleKind::SpendWithoutImpact => (false, false),
    };
    let pct = match (needs_pct, b.threshold_pct) {
        (true, None) => {
            return Err(ApiError::field(
                Code::MISSING_FIELD,
                "threshold_pct",
                "threshold_pct is required",
            ))
        }
        (true, Some(p)) if !(1..=1000).contains(&p) => {
            return Err(refuse("threshold_pct", "threshold_pct must be from 1 to 1000"))
        }
        (false, Some(_)) => {
            return Err(refuse(
                "threshold_pct",
                "only budget_threshold rules take threshold_pct",
            ))
        }
        (_, p) => p.map(|p| p as i32),
    };
    let months = match (needs_months, b.months) {
        (true, None) => return Err(ApiError::field(Code::MISSING_FIELD, "months", "months is required")),
        (true, Some(m)) if kind == RuleKind::NoMeasuredImpact && ![3, 6, 12].contains(&m) => {
            return Err(refuse("months", "months must be 3, 6 or 12 (the published windows)"))
        }
        (true, Some(m)) if !(1..=120).contains(&m) => return Err(refuse("months", "months must be from 1 to 120")),
        (false, Some(_)) => return Err(refuse("months", "this kind of rule takes no months")),
        (_, m) => m.map(|m| m as i32),
    };
    Ok((pct, months))
}

pub async fn create_rule(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreateRuleBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let b = body.value;
    let kind = RuleKind::parse(&b.kind).ok_or_else(|| {
        ApiError::field(
            Code::INVALID_FIELD,
            "kind",
            "kind must be budget_threshold, evaluation_overdue, no_measured_impact or spend_without_impact",
        )
    })?;
    let (threshold_pct, months) = parameters(kind, &b)?;
    let actor = auth.actor();
    let row = RuleView {
        org_id: org.to_string(),
        id: AlertRuleId::new().to_string(),
        kind: kind.as_str().to_owned(),
        threshold_pct,
        months,
        created_by: actor.sub.clone(),
        created_at: crate::db::now(),
    };
    let today = chrono::Utc::now().date_naive();
    let saved = row.clone();
    state
        .write(move |conn| {
            crate::db::alerts::insert_rule(conn, &row, today)?;
            let after = serde_json::json!({"kind": row.kind, "threshold_pct": row.threshold_pct, "months": row.months});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "alert_rule.create",
                "alert_rule",
                &row.id,
                None,
                Some(&after),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created().json(RuleJson::from(saved)))
}

pub async fn list_rules(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let rows = state
        .read(move |conn| Ok(crate::db::alerts::list_rules(conn, org)?))
        .await?;
    Ok(HttpResponse::Ok().json(RuleList {
        items: rows.into_iter().map(RuleJson::from).collect(),
    }))
}

pub async fn delete_rule(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let id = path_id("rule_id", &path, AlertRuleId::parse)?;
    let actor = auth.actor();
    state
        .write(move |conn| {
            crate::db::alerts::delete_rule(conn, org, id).map_err(|e| match e {
                DbError::NotFound => ApiError::new(Code::ALERT_RULE_NOT_FOUND, "no such alert rule"),
                other => other.into(),
            })?;
            let id = id.to_string();
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "alert_rule.delete",
                "alert_rule",
                &id,
                None,
                None,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /v1/alerts`, newest first.
pub async fn list_alerts(
    state: web::Data<AppState>,
    auth: AuthContext,
    q: Query<AlertQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let page = paging(q.0.cursor.as_deref(), q.0.limit, AlertId::parse)?;
    let rows = state
        .read(move |conn| Ok(crate::db::alerts::list_alerts(conn, org, page.after, page.limit + 1)?))
        .await?;
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(AlertJson::from).collect(),
        next_cursor: next,
    }))
}
