//! One fired alert as stored: what the alert rules write (`db::alerts`) and
//! the webhook outbox reads (`db::webhooks`), apart so that neither of those
//! imports the other.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::alerts;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = alerts, treat_none_as_default_value = false)]
pub struct AlertView {
    pub org_id: String,
    pub id: String,
    pub rule_id: String,
    pub kind: String,
    pub subject: String,
    pub pilot_id: Option<String>,
    pub budget_id: Option<String>,
    pub period_key: Option<String>,
    pub fired_at: NaiveDateTime,
    pub cleared_at: Option<NaiveDateTime>,
    pub reason: String,
    pub details_json: String,
}
