//! `/v1/budgets`: an organisation's budgets (per pilot or for the whole
//! organisation), each shown with its burn in the current period. Finance
//! and admin set them; every member of the organisation can read them.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::common::pilot_not_found;
use super::extract::{path_id, Json};
use super::AppState;
use crate::analytics::budgets::BudgetPeriod;
use crate::auth::AuthContext;
use crate::db::budgets::BudgetView;
use crate::db::DbError;
use crate::domain::currency::Currency;
use crate::domain::ids::{BudgetId, PilotId};
use crate::domain::money::parse_amount;
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::budgets::{with_burn, BudgetList};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBudgetBody {
    /// The pilot; absent or null for the organisation's budget.
    pub pilot_id: Option<String>,
    pub amount: String,
    pub currency: String,
    pub period: String,
}

fn budget_not_found(e: DbError) -> ApiError {
    match e {
        DbError::NotFound => ApiError::new(Code::BUDGET_NOT_FOUND, "no such budget"),
        other => other.into(),
    }
}

pub async fn create_budget(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreateBudgetBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let b = body.value;
    let currency = Currency::parse(&b.currency)
        .map_err(|_| ApiError::field(Code::UNKNOWN_CURRENCY, "currency", "not an ISO 4217 currency code"))?;
    let amount_minor = parse_amount(&b.amount, currency)
        .map_err(|e| ApiError::field(Code::INVALID_AMOUNT, "amount", e.to_string()))?;
    if amount_minor <= 0 {
        return Err(ApiError::field(
            Code::INVALID_AMOUNT,
            "amount",
            "a budget must be more than zero",
        ));
    }
    let period = BudgetPeriod::parse(&b.period).ok_or_else(|| {
        ApiError::field(
            Code::INVALID_FIELD,
            "period",
            "period must be month, quarter, year or life",
        )
    })?;
    let pilot = match b.pilot_id.as_deref() {
        None => None,
        Some(p) => Some(
            PilotId::parse(p)
                .ok_or_else(|| ApiError::field(Code::INVALID_FIELD, "pilot_id", "pilot_id must be a pilot's UUID"))?,
        ),
    };
    let actor = auth.actor();
    let row = BudgetView {
        org_id: org.to_string(),
        id: BudgetId::new().to_string(),
        pilot_id: pilot.map(|p| p.to_string()),
        amount_minor,
        currency: currency.code().to_owned(),
        period: period.as_str().to_owned(),
        created_by: actor.sub.clone(),
        created_at: crate::db::now(),
    };
    let json = state
        .write(move |conn| {
            if let Some(p) = pilot {
                crate::db::pilots::find(conn, org, p).map_err(|e| {
                    let mut err = pilot_not_found(e);
                    err.field = Some("pilot_id".into());
                    err
                })?;
            }
            crate::db::budgets::insert(conn, &row)?;
            // A budget already crossed fires its threshold alerts now.
            crate::db::alerts::sweep_org(conn, &row.org_id, chrono::Utc::now().date_naive())?;
            let after = serde_json::json!({"pilot_id": row.pilot_id, "amount_minor": row.amount_minor,
                "currency": row.currency, "period": row.period});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "budget.create",
                "budget",
                &row.id,
                None,
                Some(&after),
            )?;
            Ok(with_burn(conn, vec![row], chrono::Utc::now().date_naive())?.remove(0))
        })
        .await?;
    Ok(HttpResponse::Created().json(json))
}

pub async fn list_budgets(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let items = state
        .read(move |conn| {
            let rows = crate::db::budgets::list(conn, org)?;
            with_burn(conn, rows, chrono::Utc::now().date_naive())
        })
        .await?;
    Ok(HttpResponse::Ok().json(BudgetList { items }))
}

pub async fn delete_budget(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_finance()?;
    let id = path_id("budget_id", &path, BudgetId::parse)?;
    let actor = auth.actor();
    state
        .write(move |conn| {
            let before = crate::db::budgets::find(conn, org, id).map_err(budget_not_found)?;
            crate::db::budgets::delete(conn, org, id).map_err(budget_not_found)?;
            let b = serde_json::json!({"pilot_id": before.pilot_id, "amount_minor": before.amount_minor,
                "currency": before.currency, "period": before.period});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "budget.delete",
                "budget",
                &before.id,
                Some(&b),
                None,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
