//! `ApiError` and the table of stable error codes. Every failure a client sees is
//! RFC 9457 `application/problem+json` with a `code` from this table; internal
//! causes are logged, never echoed.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::db::{DbError, DbErrorKind};
use crate::domain::money::MoneyError;

/// One entry of the code table: what a client can match on, with its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
}

macro_rules! codes {
    ($($name:ident = ($status:expr, $code:literal, $title:literal);)*) => {
        impl Code { $(pub const $name: Code = Code { code: $code, status: $status, title: $title };)* }
        /// Every code the API can answer with (documented in the OpenAPI spec).
        pub const ALL_CODES: &[Code] = &[$(Code::$name),*];
    };
}

codes! {
    MALFORMED_JSON = (400, "malformed_json", "The body is not valid JSON");
    MALFORMED_BODY = (400, "malformed_body", "The body could not be read");
    INVALID_QUERY = (400, "invalid_query", "A query parameter is invalid");
    INVALID_ID = (400, "invalid_id", "A path id is not a UUID");
    IDEMPOTENCY_KEY_MISSING = (400, "idempotency_key_missing", "This request needs an Idempotency-Key header");
    INVALID_HEADER = (400, "invalid_header", "A request header is invalid");
    UNAUTHORIZED = (401, "unauthorized", "A valid bearer token is required");
    FORBIDDEN = (403, "forbidden", "Your role may not do this");
    NOT_FOUND = (404, "not_found", "No such route");
    ORG_NOT_FOUND = (404, "org_not_found", "No such organisation");
    PILOT_NOT_FOUND = (404, "pilot_not_found", "No such pilot");
    ENTRY_NOT_FOUND = (404, "entry_not_found", "No such entry");
    TOKEN_NOT_FOUND = (404, "token_not_found", "No such token");
    BUDGET_NOT_FOUND = (404, "budget_not_found", "No such budget");
    ALERT_RULE_NOT_FOUND = (404, "alert_rule_not_found", "No such alert rule");
    WEBHOOK_NOT_FOUND = (404, "webhook_not_found", "No such webhook endpoint");
    ALLOCATION_RULE_NOT_FOUND = (404, "allocation_rule_not_found", "No such allocation rule");
    METHOD_NOT_ALLOWED = (405, "method_not_allowed", "Method not allowed on this route");
    NOT_ACCEPTABLE = (406, "not_acceptable", "No acceptable representation");
    BODY_TIMEOUT = (408, "body_timeout", "The request body arrived too slowly");
    IDEMPOTENCY_KEY_IN_FLIGHT = (409, "idempotency_key_in_flight", "A request with this Idempotency-Key is still being processed");
    CONFLICT = (409, "conflict", "The request conflicts with the current state");
    PRECONDITION_FAILED = (412, "precondition_failed", "If-Match does not match the current version");
    PAYLOAD_TOO_LARGE = (413, "payload_too_large", "The body is too large");
    UNSUPPORTED_MEDIA_TYPE = (415, "unsupported_media_type", "Send application/json");
    INVALID_FIELD = (422, "invalid_field", "A field is invalid");
    UNKNOWN_FIELD = (422, "unknown_field", "The body has a field this route does not take");
    MISSING_FIELD = (422, "missing_field", "A required field is missing");
    INVALID_AMOUNT = (422, "invalid_amount", "An amount is not a valid decimal string for its currency");
    UNKNOWN_CURRENCY = (422, "unknown_currency", "Not an ISO 4217 currency code");
    AMOUNT_OVERFLOW = (422, "amount_overflow", "A sum of money is too large to represent exactly");
    WEBHOOK_TARGET_REFUSED = (422, "webhook_target_refused", "Webhooks may only go to public http(s) addresses, or allowed networks");
    FX_RATE_MISSING = (422, "fx_rate_missing", "No FX rate for a currency and date");
    IMPORT_REJECTED = (422, "import_rejected", "The import was rejected; nothing was written");
    BILL_UNSUPPORTED = (422, "bill_unsupported", "The bill's format, version or columns are not supported; nothing was written");
    IDEMPOTENCY_KEY_REUSED = (422, "idempotency_key_reused", "This Idempotency-Key was used with a different request");
    ENTRY_ALREADY_REVERSED = (422, "entry_already_reversed", "The entry has already been reversed");
    CANNOT_REVERSE_REVERSAL = (422, "cannot_reverse_reversal", "A reversal cannot itself be reversed");
    PRECONDITION_REQUIRED = (428, "precondition_required", "This request needs an If-Match header");
    RATE_LIMITED = (429, "rate_limited", "Too many requests");
    IMPORT_BUSY = (429, "import_busy", "Too many imports are running; retry shortly");
    INTERNAL = (500, "internal_error", "Internal error");
    REQUEST_TIMEOUT = (503, "request_timeout", "The request took too long; retry shortly");
    DATABASE_UNAVAILABLE = (503, "database_unavailable", "The database is unavailable; retry shortly");
    OUTCOME_UNKNOWN = (503, "outcome_unknown", "The write may or may not have committed; retry with the same Idempotency-Key");
}

/// An error answer: a code from the table plus the specifics of this occurrence.
#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub detail: String,
    pub field: Option<String>,
    pub headers: Vec<(header::HeaderName, String)>,
    /// Per-row problems of a rejected import (`row`, `field`, `reason`).
    pub errors: Option<Box<RowErrors>>,
}

/// The row problems of a rejected file: the first [`RowErrors::LISTED`] by row,
/// and how many there were in all. Bounded whatever the file holds, so a file
/// of millions of bad rows costs no more memory than one of a thousand.
#[derive(Debug, Default)]
pub struct RowErrors {
    listed: Vec<RowError>,
    total: usize,
}

impl RowErrors {
    /// Most problems listed in an answer.
    pub const LISTED: usize = 1_000;

    /// Counts `e` and keeps it if it is among the first [`Self::LISTED`] by row.
    pub fn push(&mut self, e: RowError) {
        self.total += 1;
        self.listed.push(e);
        if self.listed.len() >= 2 * Self::LISTED {
            self.trim();
        }
    }

    fn trim(&mut self) {
        self.listed.sort_by_key(|e| e.row);
        self.listed.truncate(Self::LISTED);
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many problems there were in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The listed problems, sorted by row.
    pub fn into_listed(mut self) -> Vec<RowError> {
        self.trim();
        self.listed
    }

    /// The same, with the listed problems sorted by row.
    pub fn sorted(mut self) -> Self {
        self.trim();
        self
    }

    /// Problems listed elsewhere, `total` of them in all (at least the listed).
    pub fn from_listed(listed: Vec<RowError>, total: usize) -> Self {
        let total = total.max(listed.len());
        let mut out = Self { listed, total };
        out.trim();
        out
    }
}

/// One rejected row of an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// The row as a spreadsheet numbers it: in NDJSON the line; in CSV the
    /// record, the header being row 1 (blank lines count; a quoted line
    /// break does not start a row).
    pub row: usize,
    pub field: Option<String>,
    pub reason: String,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[RowError]>::is_empty")]
    errors: &'a [RowError],
    #[serde(skip_serializing_if = "Option::is_none")]
    errors_total: Option<usize>,
}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            field: None,
            headers: Vec::new(),
            errors: None,
        }
    }

    /// An error about one named field of the request (body path or parameter).
    pub fn field(code: Code, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(code, detail)
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Tells the client when to retry (`Retry-After`, in seconds).
    pub fn retry_after(self, seconds: u64) -> Self {
        self.with_header(header::RETRY_AFTER, seconds.to_string())
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Code::UNAUTHORIZED, detail).with_header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
    }

    /// 403 naming the caller's role and the roles the route allows, so the
    /// caller knows which token to ask for.
    pub fn forbidden(role: &str, allowed: &str) -> Self {
        let article = if role.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        Self::new(
            Code::FORBIDDEN,
            format!("{article} {role} token may not call this route; it needs {allowed}"),
        )
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::INTERNAL, "an internal error occurred; it has been logged")
    }

    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "database unavailable");
        Self::new(Code::DATABASE_UNAVAILABLE, "the database is unavailable; retry shortly")
            .with_header(header::RETRY_AFTER, "1")
    }

    /// The request's time limit passed; nothing it started will commit.
    pub fn timed_out() -> Self {
        Self::new(Code::REQUEST_TIMEOUT, "the request took too long; retry shortly")
            .with_header(header::RETRY_AFTER, "5")
    }

    pub fn method_not_allowed(allow: &str) -> Self {
        Self::new(Code::METHOD_NOT_ALLOWED, format!("allowed methods: {allow}")).with_header(header::ALLOW, allow)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let body = Problem {
            kind: format!("urn:pilotledger:problem:{}", self.code.code),
            title: self.code.title,
            status: self.code.status,
            code: self.code.code,
            detail: &self.detail,
            field: self.field.as_deref(),
            errors: self.errors.as_deref().map(|e| e.listed.as_slice()).unwrap_or(&[]),
            errors_total: self.errors.as_deref().map(RowErrors::total),
        };
        let mut res = HttpResponse::build(self.status_code());
        res.content_type("application/problem+json");
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// The one mapping from storage errors to HTTP: not found → 404, pool/busy → 503,
/// out of time → 503 with `Retry-After`, the rest → an opaque 500 that logs its cause.
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e.kind() {
            DbErrorKind::NotFound => Self::new(Code::NOT_FOUND, "not found"),
            DbErrorKind::Unavailable(cause) => Self::unavailable(cause),
            DbErrorKind::Conflict(what) => Self::new(Code::CONFLICT, what),
            DbErrorKind::Timeout => Self::timed_out(),
            DbErrorKind::OutcomeUnknown => Self::new(
                Code::OUTCOME_UNKNOWN,
                "the time limit passed while the write was committing: it may or may not have landed; \
                 retry with the same Idempotency-Key, which answers the stored response if it did",
            )
            .with_header(header::RETRY_AFTER, "5"),
            DbErrorKind::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<MoneyError> for ApiError {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::Overflow => Self::new(Code::AMOUNT_OVERFLOW, e.to_string()),
            MoneyError::UnknownCurrency(_) => Self::field(Code::UNKNOWN_CURRENCY, "currency", e.to_string()),
            _ => Self::field(Code::INVALID_AMOUNT, "amount", e.to_string()),
        }
    }
}

/// Blocking-pool failures (the closure panicked or the pool shut down).
impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
