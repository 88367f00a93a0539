//! `POST /v1/import`: many pilots and entries in one request, as NDJSON (one JSON
//! object per line) or CSV (the same fields as columns), labelled as such or sent
//! as `application/octet-stream` (a generated client's file upload), whose first
//! character tells them apart; the file is parsed and
//! written by `ledger::import`. All or nothing: a file
//! with any bad row writes nothing and answers 422 `import_rejected` with one
//! `{row, field, reason}` per problem. Needs `Idempotency-Key`, so a re-run of
//! the same file replays the first answer instead of importing twice.
//!
//! Row shapes (`type` decides the rest):
//! - `{"type": "pilot", "ref": "P1", …the POST /v1/pilots body…}`
//! - `{"type": "spend", "pilot_ref": "P1" | "pilot_id": "<uuid>", …the spend body…}`
//! - `{"type": "impact", "pilot_ref": "P1" | "pilot_id": "<uuid>", …the impact body…}`
//!
//! In CSV, `tags` is `;`-separated, `capex`/`measured` are `true`/`false` in
//! any case (`TRUE`, `False`), `amount` may carry thousands separators
//! (`12,500.00`), empty cells are absent fields. Rows are numbered as a
//! spreadsheet shows them (the CSV header is row 1). See
//! `docs/import-template.csv`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::read_body;
use super::idempotency::idempotent_write;
use super::AppState;
use crate::auth::AuthContext;
use crate::error::{ApiError, ApiResult, Code};
use crate::ledger::import::{apply, parse_file, rejected, ImportFormat};

/// The format the Content-Type names; `None` for `application/octet-stream`,
/// whose file says which it is (`ImportFormat::sniff`).
fn format_of(req: &HttpRequest) -> ApiResult<Option<ImportFormat>> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/json-seq" => {
            Ok(Some(ImportFormat::Ndjson))
        }
        "text/csv" => Ok(Some(ImportFormat::Csv)),
        "application/octet-stream" => Ok(None),
        _ => Err(ApiError::field(
            Code::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
            "send application/octet-stream, application/x-ndjson or text/csv",
        )),
    }
}

pub async fn import(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    let format = format_of(&req)?;
    super::idempotency::key_of(&req)?;
    // Held until the answer: before the body is read, so waiting imports
    // hold no memory.
    let _slot = state.imports.enter(org)?;
    let raw = read_body(&req, payload.into_inner(), state.settings.max_import_bytes).await?;
    let bytes = raw.clone();
    let format = format.unwrap_or_else(|| ImportFormat::sniff(&bytes));
    let rows = match web::block(move || parse_file(&bytes, format, |_| {})).await? {
        Ok(rows) => rows,
        // Rows naming pilots by id are checked too, so one answer lists
        // every problem.
        Err(rejection) if rejection.names_pilots() => {
            let errors = state
                .exec
                .read(move |conn| rejection.check_pilots(conn, org).map_err(ApiError::from))
                .await?;
            return Err(rejected(errors));
        }
        Err(rejection) => return Err(rejected(rejection.into_errors())),
    };
    let actor = auth.actor();
    idempotent_write(&state, &auth, &req, &raw, move |conn| {
        let summary = apply(conn, org, &actor, rows)?;
        Ok((
            StatusCode::CREATED,
            serde_json::to_value(summary).map_err(ApiError::internal)?,
        ))
    })
    .await
}
