//! Spend that arrives by itself: `POST /v1/spend-sources/focus` (a FOCUS
//! 1.0–1.2 CSV bill, plain or gzip, streamed: read while it arrives, memory
//! flat in its size), `POST /v1/spend-sources/openai` and `…/anthropic`
//! (their cost-report JSON), `GET /v1/spend-sources` (every bill's figures
//! and the unallocated rest), `GET/PUT /v1/spend-sources/settings` (the
//! FOCUS cost column), and `/v1/allocation-rules` (admin). Imports need
//! `Idempotency-Key` like every import; importing the same bill again
//! writes nothing anyway, and a corrected bill replaces the earlier
//! entries by reversals (`ledger::spend_sources`). Nothing is written
//! unless the whole file is good.

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::extract::{path_id, read_body, Json, Query};
use super::idempotency::{idempotent_write, key_of};
use super::AppState;
use crate::auth::AuthContext;
use crate::billing::focus::{self, Options};
use crate::billing::reports::{self, Provider};
use crate::billing::{Limited, Rejected};
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::spend_sources::{self as service, ImportMeta, RuleBody, SettingsBody};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FocusParams {
    /// `1.0`, `1.1` or `1.2`; without it the version is taken from the columns.
    pub focus_version: Option<String>,
}

/// The streamed body as a blocking reader, one chunk at a time.
struct ChunkReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl std::io::Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(c) => self.chunk = c,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// How the body ended on the sending side.
enum Feed {
    Done(String),
    Failed(ApiError),
}

pub async fn import_focus(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    payload: web::Payload,
    q: Query<FocusParams>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    key_of(&req)?;
    let version = q.0.focus_version;
    if let Some(v) = &version {
        if !focus::VERSIONS.contains(&v.as_str()) {
            return Err(ApiError::field(
                Code::BILL_UNSUPPORTED,
                "focus_version",
                format!(
                    "FOCUS {v:?} is not supported; send one of {}",
                    focus::VERSIONS.join(", ")
                ),
            ));
        }
    }
    let limit = state.settings.max_focus_bytes;
    let too_large = || {
        ApiError::new(
            Code::PAYLOAD_TOO_LARGE,
            format!("the bill is larger than {limit} bytes"),
        )
    };
    if let Some(n) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<u64>().ok())
    {
        if n > limit {
            return Err(too_large());
        }
    }
    let _slot = state.imports.enter(org)?;
    let (rules, cost) = state
        .read(move |conn| Ok((service::rules_for_import(conn, org)?, service::cost_column(conn, org)?)))
        .await?;
    let max_rows = state.settings.max_focus_rows;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    // Parsing starts now, on the blocking pool, and reads as chunks arrive.
    let parsing = web::block(move || {
        let reader = ChunkReader {
            rx,
            chunk: Bytes::new(),
        };
        let opts = Options {
            cost,
            version: version.as_deref(),
            rules: &rules,
            max_rows,
        };
        let file = focus::decompressed(reader).map_err(|e| Rejected::Unsupported {
            field: "body".into(),
            reason: format!("the file could not be read: {e}"),
        })?;
        focus::read(Limited::new(file, limit), &opts, |_| {})
    });
    let feed = async {
        let mut payload = payload.into_inner();
        let mut hash = Sha256::new();
        let mut seen: u64 = 0;
        loop {
            let next = match tokio::time::timeout(state.settings.body_read_timeout, payload.next()).await {
                Ok(n) => n,
                Err(_) => return Feed::Failed(ApiError::new(Code::BODY_TIMEOUT, "the body stopped arriving")),
            };
            let Some(chunk) = next else { break };
            let Ok(chunk) = chunk else {
                return Feed::Failed(ApiError::new(
                    Code::MALFORMED_BODY,
                    "the request body could not be read",
                ));
            };
            seen += chunk.len() as u64;
            if seen > limit {
                return Feed::Failed(too_large());
            }
            hash.update(&chunk);
            // The reader stopped early (a bad header): the rest is not needed.
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
        drop(tx);
        Feed::Done(hex::encode(hash.finalize()))
    };
    let feed = feed.await;
    let sha256 = match feed {
        Feed::Done(h) => h,
        // The reader sees the body end early; its answer does not matter.
        Feed::Failed(e) => return Err(e),
    };
    let plan = parsing.await?.map_err(service::rejected)?;
    write_plan(&state, &auth, &req, plan, "focus", sha256).await
}

async fn write_plan(
    state: &AppState,
    auth: &AuthContext,
    req: &HttpRequest,
    plan: crate::billing::aggregate::Plan,
    kind: &'static str,
    sha256: String,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    let actor = auth.actor();
    // The body's hash stands for the body in the Idempotency-Key record.
    let stands_for = Bytes::from(format!("sha256:{sha256}"));
    idempotent_write(state, auth, req, &stands_for, move |conn| {
        let report = service::apply(conn, org, &actor, plan, ImportMeta { kind, sha256 })?;
        let status = if report.import_id.is_some() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, serde_json::to_value(report).map_err(ApiError::internal)?))
    })
    .await
}

async fn import_report(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    payload: web::Payload,
    provider: Provider,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    key_of(&req)?;
    let _slot = state.imports.enter(org)?;
    let raw = read_body(&req, payload.into_inner(), state.settings.max_import_bytes).await?;
    let rules = state.read(move |conn| service::rules_for_import(conn, org)).await?;
    let sha256 = hex::encode(Sha256::digest(&raw));
    let plan = web::block(move || reports::read(provider, &raw, &rules))
        .await?
        .map_err(service::rejected)?;
    write_plan(&state, &auth, &req, plan, provider.kind(), sha256).await
}

pub async fn import_openai(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    import_report(state, auth, req, payload, Provider::OpenAi).await
}

pub async fn import_anthropic(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    import_report(state, auth, req, payload, Provider::Anthropic).await
}

/// `GET /v1/spend-sources` (member+).
pub async fn list_sources(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let out = state.read(move |conn| service::sources(conn, org)).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /v1/spend-sources/settings` (member+).
pub async fn get_settings(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let column = state.db(move |conn| service::cost_column(conn, org)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"cost_column": column.as_str()})))
}

/// `PUT /v1/spend-sources/settings` (admin).
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<SettingsBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let actor = auth.actor();
    let b = body.value;
    let column = b.cost_column.clone();
    state
        .write(move |conn| service::set_cost_column(conn, org, &actor, &b))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"cost_column": column})))
}

/// `GET /v1/allocation-rules` (admin): in the order they are tried.
pub async fn list_rules(state: web::Data<AppState>, auth: AuthContext) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let rules = state.db(move |conn| service::list_rules(conn, org)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"items": rules})))
}

/// `POST /v1/allocation-rules` (admin).
pub async fn create_rule(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<RuleBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let actor = auth.actor();
    let b = body.value;
    let rule = state
        .write(move |conn| service::create_rule(conn, org, &actor, b))
        .await?;
    Ok(HttpResponse::Created().json(rule))
}

/// `DELETE /v1/allocation-rules/{allocation_rule_id}` (admin).
pub async fn delete_rule(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_admin()?;
    let id = path_id(
        "allocation_rule_id",
        &path.into_inner(),
        crate::domain::ids::EntryId::parse,
    )?
    .to_string();
    let actor = auth.actor();
    state
        .write(move |conn| service::delete_rule(conn, org, &actor, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
