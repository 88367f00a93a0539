//! `/v1/webhooks`: where an organisation's alerts are delivered (admins
//! only). An endpoint's secret is shown once, at creation and at rotation;
//! the delivery log lists every message with each attempt. Delivery itself
//! happens in `delivery`, never on a request.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{finish_page, paging, path_id, Json, Query};
use super::views::{rfc3339, Page};
use super::AppState;
use crate::auth::AuthContext;
use crate::db::webhooks::{AttemptView, EndpointView, MessageView};
use crate::db::DbError;
use crate::delivery::{guard, signing};
use crate::domain::ids::{MessageId, WebhookId};
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    pub url: String,
    /// `standard` (default) or `slack`.
    pub format: Option<String>,
    pub description: Option<String>,
}

#[derive(Serialize)]
pub struct WebhookJson {
    pub id: String,
    pub url: String,
    pub format: String,
    pub description: Option<String>,
    pub paused: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Until when the secret before the latest rotation is still signed with.
    pub previous_secret_until: Option<String>,
}

impl From<EndpointView> for WebhookJson {
    fn from(e: EndpointView) -> Self {
        Self {
            id: e.id,
            url: e.url,
            format: e.format,
            description: e.description,
            paused: e.paused,
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
            previous_secret_until: e.previous_secret_until.map(rfc3339),
        }
    }
}

/// An endpoint with its secret, answered once.
#[derive(Serialize)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookJson,
    /// `whsec_` + base64: the Standard Webhooks signing secret.
    pub secret: String,
}

#[derive(Serialize)]
pub struct WebhookList {
    pub items: Vec<WebhookJson>,
}

fn webhook_not_found(e: DbError) -> ApiError {
    match e {
        DbError::NotFound => ApiError::new(Code::WEBHOOK_NOT_FOUND, "no such webhook endpoint"),
        other => other.into(),
    }
}

/// Checks the target off the async executor (it resolves the host), within
/// the delivery time limit.
async fn check_target(state: &AppState, url: String) -> ApiResult<()> {
    let allowed = state.settings.alerts.allowed_networks.clone();
    let limit = state.settings.alerts.webhook_timeout;
    let check = tokio::task::spawn_blocking(move || guard::check_target(&url, &allowed));
    let refused = |why: String| ApiError::field(Code::WEBHOOK_TARGET_REFUSED, "url", why);
    match tokio::time::timeout(limit, check).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(refused(e.to_string())),
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(_) => Err(refused("the host did not resolve in time".into())),
    }
}

pub async fn create_webhook(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<CreateWebhookBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let b = body.value;
    let format = b.format.unwrap_or_else(|| "standard".into());
    if !["standard", "slack"].contains(&format.as_str()) {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "format",
            "format must be standard or slack",
        ));
    }
    if b.url.len() > 2000 {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "url",
            "url is longer than 2000 characters",
        ));
    }
    let description = match b.description.as_deref() {
        None => None,
        Some(d) => Some(crate::domain::pilots::check_text("description", d, 200).map_err(super::common::field_error)?),
    };
    check_target(&state, b.url.clone()).await?;
    let now = crate::db::now();
    let row = EndpointView {
        org_id: org.to_string(),
        id: WebhookId::new().to_string(),
        url: b.url,
        format,
        description,
        secret: signing::new_secret(),
        previous_secret: None,
        previous_secret_until: None,
        paused: false,
        created_at: now,
        updated_at: now,
    };
    let actor = auth.actor();
    let saved = row.clone();
    state
        .write(move |conn| {
            crate::db::webhooks::insert_endpoint(conn, &row)?;
            let after = serde_json::json!({"url": row.url, "format": row.format});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "webhook.create",
                "webhook",
                &row.id,
                None,
                Some(&after),
            )?;
            Ok(())
        })
        .await?;
    let secret = saved.secret.clone();
    Ok(HttpResponse::Created().json(WebhookWithSecret {
        endpoint: saved.into(),
        secret,
    }))
}

pub async fn list_webhooks(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let rows = state
        .read(move |conn| Ok(crate::db::webhooks::list_endpoints(conn, org)?))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        items: rows.into_iter().map(WebhookJson::from).collect(),
    }))
}

pub async fn get_webhook(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id("webhook_id", &path, WebhookId::parse)?;
    let row = state
        .read(move |conn| crate::db::webhooks::find_endpoint(conn, org, id).map_err(webhook_not_found))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookJson::from(row)))
}

async fn set_paused(state: &AppState, auth: AuthContext, raw: &str, paused: bool) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id("webhook_id", raw, WebhookId::parse)?;
    let actor = auth.actor();
    let row = state
        .write(move |conn| {
            let row = crate::db::webhooks::set_paused(conn, org, id, paused).map_err(webhook_not_found)?;
            let action = if paused { "webhook.pause" } else { "webhook.resume" };
            let after = serde_json::json!({"paused": paused});
            crate::db::audit::record(conn, Some(org), &actor, action, "webhook", &row.id, None, Some(&after))?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookJson::from(row)))
}

/// `POST /v1/webhooks/{id}/pause`: messages wait in the outbox.
pub async fn pause_webhook(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_paused(&state, auth, &path, true).await
}

/// `POST /v1/webhooks/{id}/resume`: waiting messages are sent.
pub async fn resume_webhook(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    set_paused(&state, auth, &path, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old secret is still signed with, 0 to 168 hours (default 24).
    pub overlap_hours: Option<i64>,
}

/// `POST /v1/webhooks/{id}/rotate-secret`: a new secret, answered once.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    body: Json<RotateBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id("webhook_id", &path, WebhookId::parse)?;
    let hours = body.value.overlap_hours.unwrap_or(24);
    if !(0..=168).contains(&hours) {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "overlap_hours",
            "overlap_hours must be from 0 to 168",
        ));
    }
    let secret = signing::new_secret();
    let actor = auth.actor();
    let new = secret.clone();
    let row = state
        .write(move |conn| {
            let row = crate::db::webhooks::rotate_secret(conn, org, id, &new, chrono::TimeDelta::hours(hours))
                .map_err(webhook_not_found)?;
            let after = serde_json::json!({"overlap_hours": hours});
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "webhook.rotate_secret",
                "webhook",
                &row.id,
                None,
                Some(&after),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret {
        endpoint: row.into(),
        secret,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Serialize)]
pub struct AttemptJson {
    pub attempted_at: String,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Serialize)]
pub struct DeliveryJson {
    /// The `webhook-id` header of every attempt.
    pub webhook_id: String,
    pub alert_id: String,
    /// `pending`, `delivered` or `failed` (gave up after the last attempt).
    pub state: &'static str,
    pub created_at: String,
    pub attempts: i32,
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
    pub payload: serde_json::Value,
    pub attempt_log: Vec<AttemptJson>,
    #[serde(skip)]
    id: String,
}

fn delivery_json(m: MessageView, log: &[AttemptView]) -> DeliveryJson {
    let state = match (m.delivered_at, m.failed_at) {
        (Some(_), _) => "delivered",
        (None, Some(_)) => "failed",
        _ => "pending",
    };
    DeliveryJson {
        webhook_id: m.webhook_id(),
        alert_id: m.alert_id.clone(),
        state,
        created_at: rfc3339(m.created_at),
        attempts: m.attempts,
        next_attempt_at: (state == "pending").then(|| rfc3339(m.next_attempt_at)),
        delivered_at: m.delivered_at.map(rfc3339),
        last_error: m.last_error.clone(),
        payload: serde_json::from_str(&m.payload).unwrap_or_default(),
        attempt_log: log
            .iter()
            .filter(|a| a.message_id == m.id)
            .map(|a| AttemptJson {
                attempted_at: rfc3339(a.attempted_at),
                status: a.status,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
            })
            .collect(),
        id: m.id,
    }
}

/// `GET /v1/webhooks/{id}/deliveries`: the endpoint's messages, newest first,
/// each with its attempts.
pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    q: Query<DeliveryQuery>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id("webhook_id", &path, WebhookId::parse)?;
    let page = paging(q.0.cursor.as_deref(), q.0.limit, MessageId::parse)?;
    let (messages, log) = state
        .read(move |conn| {
            crate::db::webhooks::find_endpoint(conn, org, id).map_err(webhook_not_found)?;
            let messages = crate::db::webhooks::list_messages(conn, org, id, page.after, page.limit + 1)?;
            let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
            let log = crate::db::webhooks::attempts_of(conn, org, &ids)?;
            Ok((messages, log))
        })
        .await?;
    let items: Vec<DeliveryJson> = messages.into_iter().map(|m| delivery_json(m, &log)).collect();
    let (items, next) = finish_page(items, page.limit, |d| d.id.as_str());
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: next,
    }))
}
