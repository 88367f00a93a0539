//! The web dashboard: static files embedded in the binary at build time (no
//! CDN, no Node toolchain needed to build the server). It talks to the same
//! JSON API with the token the user pastes.
//!
//! The script is a set of native ES modules (`app.js` is the entry and imports
//! the rest), so every module is one entry in [`ASSETS`].

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult, Code};

const INDEX: &str = include_str!("../../dashboard/index.html");

/// Module scripts are only run when served with a JavaScript media type.
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// `(name, body, media type)` of a file in `dashboard/`, so the served name
/// and the embedded file cannot differ.
macro_rules! asset {
    ($name:literal, $mime:expr) => {
        ($name, include_str!(concat!("../../dashboard/", $name)), $mime)
    };
}

/// Every file served under `/assets/{file}`; any other name is a 404.
/// Adding a module to the dashboard is one line here.
const ASSETS: &[(&str, &str, &str)] = &[
    asset!("app.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("charts.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("session.js", JS),
    asset!("state.js", JS),
    asset!("tables.js", JS),
    asset!("view-finance.js", JS),
    asset!("view-pilots.js", JS),
    asset!("view-projection.js", JS),
    asset!("view-research.js", JS),
    asset!("workspace.js", JS),
];

/// Security headers for the dashboard: no third-party anything.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(INDEX)
}

pub async fn asset(path: web::Path<String>) -> ApiResult<HttpResponse> {
    let Some(&(_, body, mime)) = ASSETS.iter().find(|(name, _, _)| *name == path.as_str()) else {
        return Err(ApiError::new(Code::NOT_FOUND, "no such asset"));
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}
