//! Webhook endpoints, the outbox of messages to them and the delivery log.
//!
//! A message is written by [`enqueue`] in the transaction that fires its
//! alert, one per endpoint of the organisation (paused ones too: they get it
//! when resumed). Its id is the Standard Webhooks `webhook-id` and its payload
//! is fixed then, so every attempt sends the same bytes under the same id and
//! a receiver can deduplicate. The delivery worker (`delivery`) claims due
//! messages ([`claim_due`]: a lease, so a worker killed mid-send leaves the
//! message due again once the lease passes) and records each attempt
//! ([`record_attempt`]).

use chrono::{NaiveDateTime, SecondsFormat, TimeDelta};
use diesel::prelude::*;

use super::alert_row::AlertView;
use super::schema::{webhook_attempts, webhook_endpoints, webhook_outbox};
use super::{DbConnection, DbError};
use crate::domain::ids::{MessageId, OrgId, WebhookId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints, treat_none_as_default_value = false)]
pub struct EndpointView {
    pub org_id: String,
    pub id: String,
    pub url: String,
    /// `standard` (the alert as JSON) or `slack` (`{"text": …}`).
    pub format: String,
    pub description: Option<String>,
    /// `whsec_` + base64 of the key bytes.
    pub secret: String,
    /// The secret before the latest rotation, still signed with until
    /// `previous_secret_until`, so receivers can switch without a gap.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub paused: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl EndpointView {
    /// The secrets to sign with at `now`: the current one, and the previous
    /// one while it is still honoured.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<String> {
        let mut all = vec![self.secret.clone()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                all.push(prev.clone());
            }
        }
        all
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_outbox, treat_none_as_default_value = false)]
pub struct MessageView {
    pub org_id: String,
    pub id: String,
    pub endpoint_id: String,
    pub alert_id: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

impl MessageView {
    /// The Standard Webhooks `webhook-id`.
    pub fn webhook_id(&self) -> String {
        format!("msg_{}", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts, treat_none_as_default_value = false)]
pub struct AttemptView {
    pub org_id: String,
    pub id: String,
    pub message_id: String,
    pub endpoint_id: String,
    pub attempted_at: NaiveDateTime,
    /// The receiver's HTTP status; `None` when no answer came.
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The body sent for `alert` to an endpoint of `format`.
pub fn payload(alert: &AlertView, format: &str) -> String {
    if format == "slack" {
        return serde_json::json!({ "text": format!("pilotledger alert: {}", alert.reason) }).to_string();
    }
    let details: serde_json::Value = serde_json::from_str(&alert.details_json).unwrap_or_default();
    serde_json::json!({
        "type": "alert.fired",
        "timestamp": rfc3339(alert.fired_at),
        "data": {
            "alert_id": alert.id,
            "org_id": alert.org_id,
            "rule_id": alert.rule_id,
            "kind": alert.kind,
            "subject": alert.subject,
            "pilot_id": alert.pilot_id,
            "budget_id": alert.budget_id,
            "period": alert.period_key,
            "fired_at": rfc3339(alert.fired_at),
            "reason": alert.reason,
            "details": details,
        }
    })
    .to_string()
}

/// Writes one outbox message per endpoint of the alert's organisation.
pub fn enqueue(conn: &mut DbConnection, alert: &AlertView) -> Result<(), DbError> {
    let endpoints: Vec<(String, String)> = webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(&alert.org_id))
        .select((webhook_endpoints::id, webhook_endpoints::format))
        .order(webhook_endpoints::id.asc())
        .load(conn)?;
    let now = super::now();
    let rows: Vec<MessageView> = endpoints
        .into_iter()
        .map(|(endpoint, format)| MessageView {
            org_id: alert.org_id.clone(),
            id: MessageId::new().to_string(),
            endpoint_id: endpoint,
            alert_id: alert.id.clone(),
            payload: payload(alert, &format),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            failed_at: None,
            last_error: None,
        })
        .collect();
    if !rows.is_empty() {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(webhook_outbox::table).values(&rows).execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(webhook_outbox::table).values(&rows).execute(c)?,
        };
    }
    Ok(())
}

pub fn insert_endpoint(conn: &mut DbConnection, e: &EndpointView) -> Result<(), DbError> {
    diesel::insert_into(webhook_endpoints::table).values(e).execute(conn)?;
    Ok(())
}

pub fn list_endpoints(conn: &mut DbConnection, org: OrgId) -> Result<Vec<EndpointView>, DbError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org.to_string()))
        .select(EndpointView::as_select())
        .order(webhook_endpoints::id.asc())
        .load(conn)?)
}

pub fn find_endpoint(conn: &mut DbConnection, org: OrgId, id: WebhookId) -> Result<EndpointView, DbError> {
    webhook_endpoints::table
        .filter(webhook_endpoints::org_id.eq(org.to_string()))
        .filter(webhook_endpoints::id.eq(id.to_string()))
        .select(EndpointView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

/// Pauses or resumes an endpoint; returns it as it is now.
pub fn set_paused(conn: &mut DbConnection, org: OrgId, id: WebhookId, paused: bool) -> Result<EndpointView, DbError> {
    let n = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org.to_string()))
            .filter(webhook_endpoints::id.eq(id.to_string())),
    )
    .set((
        webhook_endpoints::paused.eq(paused),
        webhook_endpoints::updated_at.eq(super::now()),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    find_endpoint(conn, org, id)
}

/// Replaces the secret; the old one is still signed with for `overlap`.
pub fn rotate_secret(
    conn: &mut DbConnection,
    org: OrgId,
    id: WebhookId,
    new_secret: &str,
    overlap: TimeDelta,
) -> Result<EndpointView, DbError> {
    let current = find_endpoint(conn, org, id)?;
    let now = super::now();
    diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org.to_string()))
            .filter(webhook_endpoints::id.eq(id.to_string())),
    )
    .set((
        webhook_endpoints::secret.eq(new_secret),
        webhook_endpoints::previous_secret.eq(Some(current.secret)),
        webhook_endpoints::previous_secret_until.eq(Some(now + overlap)),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    find_endpoint(conn, org, id)
}

/// A message claimed for delivery, with its endpoint.
#[derive(Debug, Clone)]
pub struct Due {
    pub message: MessageView,
    pub endpoint: EndpointView,
}

/// Claims up to `limit` due messages of endpoints that are not paused: each
/// becomes due again only after `lease` (longer than one attempt can take),
/// so a worker that dies mid-send leaves it to be sent again. On PostgreSQL
/// rows another process is claiming are skipped.
pub fn claim_due(conn: &mut DbConnection, lease: TimeDelta, limit: i64) -> Result<Vec<Due>, DbError> {
    let now = super::now();
    macro_rules! due {
        () => {
            webhook_outbox::table
                .filter(webhook_outbox::delivered_at.is_null())
                .filter(webhook_outbox::failed_at.is_null())
                .filter(webhook_outbox::next_attempt_at.le(now))
                .select(MessageView::as_select())
                .order(webhook_outbox::next_attempt_at.asc())
                .limit(limit * 4)
        };
    }
    let due: Vec<MessageView> = match conn {
        DbConnection::Pg(c) => due!().for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => due!().load(c)?,
    };
    let mut claimed = Vec::new();
    for message in due {
        if claimed.len() as i64 >= limit {
            break;
        }
        let endpoint: Option<EndpointView> = webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(&message.org_id))
            .filter(webhook_endpoints::id.eq(&message.endpoint_id))
            .select(EndpointView::as_select())
            .get_result(conn)
            .optional()?;
        let Some(endpoint) = endpoint.filter(|e| !e.paused) else {
            continue;
        };
        diesel::update(
            webhook_outbox::table
                .filter(webhook_outbox::org_id.eq(&message.org_id))
                .filter(webhook_outbox::id.eq(&message.id)),
        )
        .set(webhook_outbox::next_attempt_at.eq(now + lease))
        .execute(conn)?;
        claimed.push(Due { message, endpoint });
    }
    Ok(claimed)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// 2xx: the message is delivered.
    pub delivered: bool,
    /// When to try again; `None` after the last attempt (the message fails).
    pub retry_at: Option<NaiveDateTime>,
}

/// Logs an attempt and moves its message on: delivered, due again, or failed.
pub fn record_attempt(conn: &mut DbConnection, due: &Due, r: &AttemptResult) -> Result<(), DbError> {
    let now = super::now();
    let m = &due.message;
    diesel::insert_into(webhook_attempts::table)
        .values(AttemptView {
            org_id: m.org_id.clone(),
            id: MessageId::new().to_string(),
            message_id: m.id.clone(),
            endpoint_id: m.endpoint_id.clone(),
            attempted_at: now,
            status: r.status,
            error: r.error.clone(),
            duration_ms: r.duration_ms,
        })
        .execute(conn)?;
    let target = webhook_outbox::table
        .filter(webhook_outbox::org_id.eq(&m.org_id))
        .filter(webhook_outbox::id.eq(&m.id));
    let attempts = webhook_outbox::attempts.eq(webhook_outbox::attempts + 1);
    if r.delivered {
        diesel::update(target)
            .set((
                attempts,
                webhook_outbox::delivered_at.eq(Some(now)),
                webhook_outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
    } else {
        let why = r.error.clone().or_else(|| r.status.map(|s| format!("HTTP {s}")));
        match r.retry_at {
            Some(at) => diesel::update(target)
                .set((
                    attempts,
                    webhook_outbox::next_attempt_at.eq(at),
                    webhook_outbox::last_error.eq(why),
                ))
                .execute(conn)?,
            None => diesel::update(target)
                .set((
                    attempts,
                    webhook_outbox::failed_at.eq(Some(now)),
                    webhook_outbox::last_error.eq(why),
                ))
                .execute(conn)?,
        };
    }
    Ok(())
}

/// An endpoint's messages, newest first, before the cursor.
pub fn list_messages(
    conn: &mut DbConnection,
    org: OrgId,
    endpoint: WebhookId,
    before: Option<MessageId>,
    limit: i64,
) -> Result<Vec<MessageView>, DbError> {
    let mut q = webhook_outbox::table
        .filter(webhook_outbox::org_id.eq(org.to_string()))
        .filter(webhook_outbox::endpoint_id.eq(endpoint.to_string()))
        .select(MessageView::as_select())
        .order(webhook_outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(webhook_outbox::id.lt(b.to_string()));
    }
    Ok(q.load(conn)?)
}

/// The attempts of the given messages, oldest first.
pub fn attempts_of(conn: &mut DbConnection, org: OrgId, messages: &[String]) -> Result<Vec<AttemptView>, DbError> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::org_id.eq(org.to_string()))
        .filter(webhook_attempts::message_id.eq_any(messages))
        .select(AttemptView::as_select())
        .order(webhook_attempts::id.asc())
        .load(conn)?)
}
