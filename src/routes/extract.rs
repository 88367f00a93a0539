//! Request extractors that turn every rejection into a problem+json naming the
//! field: JSON bodies (size-limited, strict content type, path-aware errors),
//! query strings, path ids and cursors.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Code};
use crate::ledger::input::backticked;
pub use crate::ledger::input::parse_json;

/// Default and largest page size for every list.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A JSON body parsed into `T`, with the raw bytes kept for idempotency hashing.
pub struct Json<T> {
    pub value: T,
    pub raw: Bytes,
}

/// Largest accepted body, from the app's settings.
fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<actix_web::web::Data<super::AppState>>()
        .map(|s| s.settings.max_body_bytes)
        .unwrap_or(1024 * 1024)
}

/// How long a body may take to arrive, from the app's settings.
fn body_deadline(req: &HttpRequest) -> std::time::Duration {
    req.app_data::<actix_web::web::Data<super::AppState>>()
        .map(|s| s.settings.body_read_timeout)
        .unwrap_or(std::time::Duration::from_secs(30))
}

/// Reads the whole body, refusing anything over `limit` with 413 before
/// buffering it, and a body that has not fully arrived within the body read
/// timeout with 408 (a client trickling bytes holds a connection and a buffer).
pub async fn read_body(req: &HttpRequest, mut payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let mut declared = None;
    if let Some(len) = req.headers().get(header::CONTENT_LENGTH) {
        if let Some(n) = len.to_str().ok().and_then(|s| s.parse::<usize>().ok()) {
            if n > limit {
                return Err(too_large(limit));
            }
            declared = Some(n);
        }
    }
    let allowed = body_deadline(req);
    let deadline = tokio::time::Instant::now() + allowed;
    // Sized once when the length is declared: growing by doubling would hold
    // up to twice the body while copying.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0));
    loop {
        let next = tokio::time::timeout_at(deadline, payload.next()).await.map_err(|_| {
            ApiError::new(
                Code::BODY_TIMEOUT,
                format!("the body did not arrive within {} ms", allowed.as_millis()),
            )
        })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(limit),
            _ => ApiError::new(Code::MALFORMED_BODY, "the request body could not be read"),
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Code::PAYLOAD_TOO_LARGE,
        format!("the body is larger than {limit} bytes"),
    )
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::field(
                    Code::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type",
                    "send the body as application/json",
                ));
            }
            let raw = read_body(&req, payload, body_limit(&req)).await?;
            let value = parse_json(&raw)?;
            Ok(Json { value, raw })
        })
    }
}

/// A query string parsed into `T`; errors are 400 `invalid_query` naming the
/// parameter. Query structs deny unknown parameters so typos are caught.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// The query of a route that takes no parameters: any one is 400
/// `invalid_query` naming it, as on every other route. (The dashboard's page
/// and assets ignore their query, as browsers and caches expect.)
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

pub fn parse_query<T: DeserializeOwned>(qs: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(qs.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = backticked(&message)
            .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"))
            .map(str::to_owned)
            .unwrap_or(if path == "." { "query".to_owned() } else { path });
        ApiError::field(Code::INVALID_QUERY, field, message)
    })
}

/// Parses a path segment as an id, answering 400 `invalid_id` naming the
/// parameter when it is not a canonical UUID.
pub fn path_id<T>(name: &'static str, raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(raw).ok_or_else(|| ApiError::field(Code::INVALID_ID, name, format!("{name} must be a UUID")))
}

/// Paging parameters shared by every list.
#[derive(Debug, Clone, Copy)]
pub struct Paging<Id> {
    pub after: Option<Id>,
    pub limit: i64,
}

/// Validates `limit` (1..=MAX_LIMIT, default DEFAULT_LIMIT) and decodes `cursor`.
pub fn paging<Id>(
    cursor: Option<&str>,
    limit: Option<i64>,
    parse: impl Fn(&str) -> Option<Id>,
) -> Result<Paging<Id>, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            Code::INVALID_QUERY,
            "limit",
            format!("limit must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(parse(c).ok_or_else(|| {
            ApiError::field(
                Code::INVALID_QUERY,
                "cursor",
                "cursor must be a next_cursor value (a UUID)",
            )
        })?),
    };
    Ok(Paging { after, limit })
}

/// Cuts a page fetched with one row of look-ahead (`limit + 1` rows) to
/// `limit` rows, with the cursor of the next page only when there is one, so
/// a client never follows a cursor to an empty page. The cursor is the last
/// row's id: rows are ordered by id (UUIDv7, creation order), so any id is a
/// valid position.
pub fn finish_page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| id(r).to_owned());
    (rows, next)
}
