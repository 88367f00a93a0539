//! The web dashboard: static files embedded in the binary at build time (no
//! CDN, no Node toolchain needed to build the server). It talks to the same
//! JSON API with the token the user pastes.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::{ApiError, ApiResult, Code};

const INDEX: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const APP_CSS: &str = include_str!("../../dashboard/app.css");

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
    let (body, mime) = match path.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return Err(ApiError::new(Code::NOT_FOUND, "no such asset")),
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body))
}
