//! Liveness, readiness and the API spec.

use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use super::extract::{NoParams, Query};
use super::AppState;
use crate::auth::AuthContext;
use crate::error::ApiResult;

/// The OpenAPI document, embedded at build time.
pub const OPENAPI: &str = include_str!("../../api-spec/openapi.json");

/// The process is up.
pub async fn healthz(_: Query<NoParams>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The process can reach its database.
pub async fn readyz(_: Query<NoParams>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.db(|conn| Ok(crate::db::ping(conn)?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

pub async fn openapi(_: Query<NoParams>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI)
}

/// Prometheus text exposition: requests and latency by matched route, pool use.
/// Activity counts say how busy the service is, so they need an operator
/// token unless `PILOTLEDGER_METRICS_ACCESS=public`.
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    if !state.settings.metrics_public {
        AuthContext::extract(&req).await?.operator()?;
    }
    super::extract::parse_query::<NoParams>(req.query_string())?;
    let pool = state.exec.pool().state();
    let mut body = state
        .metrics
        .render(pool.connections, pool.idle_connections, state.exec.pool().max_size());
    {
        let (batches, writes) = state.exec.entry_writer().stats();
        body.push_str(
            "# HELP pilotledger_group_commit_batches_total Write batches the group-commit writer committed \
             (one commit, one fsync each; on PostgreSQL entry creates only).\n",
        );
        body.push_str("# TYPE pilotledger_group_commit_batches_total counter\n");
        body.push_str(&format!("pilotledger_group_commit_batches_total {batches}\n"));
        body.push_str("# HELP pilotledger_group_commit_writes_total Writes carried by those batches.\n");
        body.push_str("# TYPE pilotledger_group_commit_writes_total counter\n");
        body.push_str(&format!("pilotledger_group_commit_writes_total {writes}\n"));
        if let Some(frames) = state.exec.entry_writer().wal_frames() {
            body.push_str(
                "# HELP pilotledger_sqlite_wal_frames Pages in SQLite's write-ahead log at the last checkpoint \
                 pass; it stays bounded while the log keeps starting over.\n",
            );
            body.push_str("# TYPE pilotledger_sqlite_wal_frames gauge\n");
            body.push_str(&format!("pilotledger_sqlite_wal_frames {frames}\n"));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
