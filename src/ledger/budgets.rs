//! The JSON view of budgets with their burn (`analytics::budgets`), shared
//! by `/v1/budgets`, the summary and the pilot ROI.

use chrono::NaiveDate;
use serde::Serialize;

use super::views::rfc3339;
use crate::analytics::budgets::Burn;
use crate::db::budgets::BudgetView;
use crate::db::DbConnection;
use crate::domain::money::MoneyJson;
use crate::error::ApiError;

#[derive(Serialize)]
pub struct BudgetJson {
    pub id: String,
    /// Absent for the organisation's budget (never `null`: a client that
    /// follows ids, as the contract fuzzer's links do, finds no id to use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pilot_id: Option<String>,
    pub scope: &'static str,
    pub period: String,
    pub amount: MoneyJson,
    pub created_at: String,
    pub created_by: String,
    /// The burn in the period containing today (UTC; in a summary, its `to`);
    /// null when an amount is out of range.
    pub current: Option<Burn>,
}

#[derive(Serialize)]
pub struct BudgetList {
    pub items: Vec<BudgetJson>,
}

/// A budget row as answered, with its burn today.
pub fn budget_json(b: BudgetView, current: Option<Burn>) -> BudgetJson {
    BudgetJson {
        scope: if b.pilot_id.is_some() { "pilot" } else { "organisation" },
        amount: MoneyJson::stored(b.amount_minor, &b.currency),
        id: b.id,
        pilot_id: b.pilot_id,
        period: b.period,
        created_at: rfc3339(b.created_at),
        created_by: b.created_by,
        current,
    }
}

/// Each budget with its burn in the period containing `on`.
pub fn with_burn(conn: &mut DbConnection, rows: Vec<BudgetView>, on: NaiveDate) -> Result<Vec<BudgetJson>, ApiError> {
    let fx = crate::db::fx::table(conn)?;
    rows.into_iter()
        .map(|b| {
            let burn = crate::db::budgets::burn_on(conn, &b, on, &fx)?.ok();
            Ok(budget_json(b, burn))
        })
        .collect()
}
