//! `Idempotency-Key` handling for writes that create money entries or import:
//! the header, the request's hash, the in-process claim and the replayed
//! answer. What happens inside the write transaction is `ledger::idempotency`.
//! The key, the request's hash and the response are stored in the same
//! transaction as the write, so a retried request either replays the stored
//! answer or, when the first attempt never committed, is processed once.

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::auth::AuthContext;
use crate::db::idempotency::IdempotencyView;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::idempotency::Once;

/// Header set on a replayed response.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

pub use crate::db::idempotency::KEY_TTL_HOURS;

/// The request's Idempotency-Key, validated (400 when missing or malformed).
pub fn key_of(req: &HttpRequest) -> ApiResult<String> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Err(ApiError::field(
            Code::IDEMPOTENCY_KEY_MISSING,
            "Idempotency-Key",
            "send an Idempotency-Key header (a UUID you generate per logical request)",
        ));
    };
    let key = v.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(ApiError::field(
            Code::INVALID_HEADER,
            "Idempotency-Key",
            "Idempotency-Key must be 1–255 printable ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

fn request_hash(req: &HttpRequest, raw: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b" ");
    h.update(req.path().as_bytes());
    h.update(b"\n");
    h.update(raw);
    hex::encode(h.finalize())
}

fn replay(rec: &IdempotencyView, hash: &str) -> ApiResult<HttpResponse> {
    if rec.request_hash != hash {
        return Err(ApiError::field(
            Code::IDEMPOTENCY_KEY_REUSED,
            "Idempotency-Key",
            "this key was already used with a different request; use a new key",
        ));
    }
    let status = StatusCode::from_u16(rec.response_status as u16).unwrap_or(StatusCode::OK);
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((REPLAYED_HEADER, "true"))
        .body(rec.response_body.clone()))
}

/// One request's idempotency facts, holding its key in this process (see
/// [`idempotent_write`]) until dropped.
pub struct Keyed<'a> {
    pub key: String,
    pub hash: String,
    pub org_id: String,
    pub token_id: String,
    _guard: InFlight<'a>,
}

impl<'a> Keyed<'a> {
    /// Validates the key and claims it in this process (409 while another
    /// request of this process holds it).
    pub fn enter(state: &'a AppState, auth: &AuthContext, req: &HttpRequest, raw: &Bytes) -> ApiResult<Self> {
        let key = key_of(req)?;
        let hash = request_hash(req, raw);
        let org_id = auth.org.map(|o| o.to_string()).unwrap_or_default();
        let token_id = auth.jti.clone();
        // The organisation's key, whichever of its tokens sends it.
        let guard = InFlight::enter(state, format!("{org_id}|{key}"))?;
        Ok(Self {
            key,
            hash,
            org_id,
            token_id,
            _guard: guard,
        })
    }

    /// The record to store with a successful write.
    pub fn record(&self, status: StatusCode, body: String, now: chrono::NaiveDateTime) -> IdempotencyView {
        IdempotencyView {
            org_id: self.org_id.clone(),
            token_id: self.token_id.clone(),
            idem_key: self.key.clone(),
            request_hash: self.hash.clone(),
            response_status: i32::from(status.as_u16()),
            response_body: body,
            created_at: now,
        }
    }

    /// Answers with a stored record (422 when it was a different request).
    pub fn replay(&self, rec: &IdempotencyView) -> ApiResult<HttpResponse> {
        replay(rec, &self.hash)
    }

    /// A concurrent request with the same key committed first: answer with
    /// what it stored.
    pub async fn replay_committed(&self, state: &AppState) -> ApiResult<HttpResponse> {
        let (org_id, key) = (self.org_id.clone(), self.key.clone());
        let rec = state
            .db(move |conn| {
                let not_before = crate::db::now() - chrono::TimeDelta::hours(KEY_TTL_HOURS);
                Ok(crate::db::idempotency::find(conn, &org_id, &key, not_before)?)
            })
            .await?
            .ok_or_else(in_flight)?;
        self.replay(&rec)
    }
}

/// A fresh response with a JSON body.
pub fn fresh(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body)
}

/// Runs `write` once per (organisation, token, key) within 24 hours and stores
/// its successful response; errors are not stored, so a corrected retry with
/// the same key is processed. While one request holds a key, another with the
/// same key answers 409 (`idempotency_key_in_flight`): within this process by an
/// in-memory set (SQLite serialises writers, so the database alone would make it
/// wait), across processes by the key's row (PostgreSQL).
pub async fn idempotent_write(
    state: &AppState,
    auth: &AuthContext,
    req: &HttpRequest,
    raw: &Bytes,
    write: impl FnOnce(&mut DbConnection) -> ApiResult<(StatusCode, serde_json::Value)> + Send + 'static,
) -> ApiResult<HttpResponse> {
    let keyed = Keyed::enter(state, auth, req, raw)?;
    let record = keyed.record(StatusCode::OK, String::new(), crate::db::now());
    let outcome = state
        .write(move |conn| {
            crate::ledger::idempotency::write_once(conn, record, |conn| {
                let (status, body) = write(conn)?;
                Ok((status.as_u16(), body))
            })
        })
        .await;
    match outcome {
        Ok(Once::Fresh(status, body)) => Ok(fresh(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body)),
        Ok(Once::Replay(rec)) => keyed.replay(&rec),
        Err(e) if e.code == Code::CONFLICT && e.detail == IDEMPOTENCY_RACE => keyed.replay_committed(state).await,
        Err(e) => Err(e),
    }
}

pub use crate::ledger::idempotency::{in_flight, IDEMPOTENCY_RACE};

/// Marks a key as being processed in this process until dropped.
struct InFlight<'a> {
    state: &'a AppState,
    key: String,
}

impl<'a> InFlight<'a> {
    fn enter(state: &'a AppState, key: String) -> ApiResult<Self> {
        let mut set = state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if !set.insert(key.clone()) {
            return Err(in_flight());
        }
        Ok(Self { state, key })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut set = self.state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&self.key);
    }
}
