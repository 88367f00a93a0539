//! Tracing setup and the request-logging middleware: one line per request with
//! its id, method, matched route, organisation-free fields, status and latency.
//! Tokens, secrets and amounts are never logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub mod otlp;

use tracing::Instrument;

use crate::auth::Caller;
use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests) are no-ops.
/// `otlp`: the collector and service name spans are exported to (whatever
/// `RUST_LOG` lets the log print, every span of ours is exported).
pub fn init(format: LogFormat, otlp: Option<&(String, String)>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let log = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let spans = otlp.map(|(endpoint, service)| {
        otlp::layer(endpoint, service)
            .with_filter(tracing_subscriber::filter::Targets::new().with_target("pilotledger", tracing::Level::INFO))
    });
    let _ = tracing_subscriber::registry().with(log).with(spans).try_init();
}

/// Runs the request in a scope that its token's verification fills with the
/// organisation the token names, so the database executor can keep that
/// organisation to its share of the pool.
pub async fn org_share(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    crate::db::org_share::request_scope(next.call(req)).await
}

/// Gives each request an id (echoed as `X-Request-Id`) and logs it when done.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    // Only the standard methods become metric labels; anything else a client
    // invents is "other", so labels stay bounded.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    // Every line logged while the request is handled, in the handler or in
    // its database work (the executor carries the span there), carries the id.
    // The caller's W3C trace context, continued when traces are exported.
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span = tracing::info_span!(
        "request",
        %request_id,
        %method,
        %route,
        traceparent = %traceparent,
        status = tracing::field::Empty
    );
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    let status = res.status().as_u16();
    span.record("status", status);
    let seconds = started.elapsed().as_secs_f64();
    if let Some(state) = res.request().app_data::<actix_web::web::Data<crate::state::AppState>>() {
        state.metrics.observe(&route, &method, status, seconds);
    }
    let ms = seconds * 1000.0;
    let caller = {
        use actix_web::HttpMessage;
        res.request().extensions().get::<Caller>().cloned()
    };
    let role = caller.as_ref().map(|c| c.role).unwrap_or("-");
    let org = caller.and_then(|c| c.org).unwrap_or_else(|| "-".into());
    span.in_scope(|| tracing::info!(status, ms = format!("{ms:.2}"), role, org, "request"));
    Ok(res)
}
