//! HTTP routes: one file per resource, request and response types beside their
//! handlers. `ROUTES` is the table of every path and method the server answers;
//! registration, 405 answers, the API spec test and the tenant-isolation test all
//! read it, so a route cannot exist without appearing there.

pub mod aggregates;
pub mod alerts;
pub mod audit;
pub mod budgets;
pub mod common;
pub mod dashboard;
pub mod entries;
pub mod extract;
pub mod finance;
pub mod fx;
pub mod health;
pub mod idempotency;
pub mod idp_bindings;
pub mod import;
pub mod orgs;
pub mod pilots;
pub mod projections;
pub mod signin;
pub mod spend_sources;
pub mod tokens;
pub mod webhooks;

use actix_web::{web, HttpResponse, Resource};

use crate::error::{ApiError, ApiResult};
pub use crate::ledger::views;
pub use crate::state::AppState;
use common::PathFormat;

/// One path and the methods it answers.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub path: &'static str,
    pub methods: &'static [&'static str],
}

/// Every route the server answers, with its methods.
#[rustfmt::skip]
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { path: "/", methods: &["GET"] },
    RouteSpec { path: "/assets/{file}", methods: &["GET"] },
    RouteSpec { path: "/healthz", methods: &["GET"] },
    RouteSpec { path: "/readyz", methods: &["GET"] },
    RouteSpec { path: "/metrics", methods: &["GET"] },
    RouteSpec { path: "/openapi.json", methods: &["GET"] },
    RouteSpec { path: "/v1/orgs", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/orgs/{org_id}", methods: &["GET", "PATCH"] },
    RouteSpec { path: "/v1/tokens", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/tokens/{token_id}", methods: &["DELETE"] },
    RouteSpec { path: "/v1/pilots", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}", methods: &["GET", "PATCH"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/spend", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/impact", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/entries/{entry_id}", methods: &["GET"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/entries/{entry_id}/reverse", methods: &["POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/roi", methods: &["GET"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/roi.csv", methods: &["GET"] },
    RouteSpec { path: "/v1/import", methods: &["POST"] },
    RouteSpec { path: "/v1/summary", methods: &["GET"] },
    RouteSpec { path: "/v1/summary.csv", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/zero-impact-rate", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/zero-impact-rate.csv", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/export", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/export.json", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/export.parquet", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/definitions", methods: &["GET"] },
    RouteSpec { path: "/v1/projections/gap", methods: &["POST"] },
    RouteSpec { path: "/v1/projections/gap.csv", methods: &["POST"] },
    RouteSpec { path: "/v1/fx-rates", methods: &["PUT"] },
    RouteSpec { path: "/v1/audit", methods: &["GET"] },
    RouteSpec { path: "/v1/orgs/{org_id}/idp-bindings", methods: &["PUT"] },
    RouteSpec { path: "/v1/auth/config", methods: &["GET"] },
    RouteSpec { path: "/v1/auth/whoami", methods: &["GET"] },
    RouteSpec { path: "/v1/audit.csv", methods: &["GET"] },
    RouteSpec { path: "/v1/budgets", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/budgets/{budget_id}", methods: &["DELETE"] },
    RouteSpec { path: "/v1/alert-rules", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/alert-rules/{rule_id}", methods: &["DELETE"] },
    RouteSpec { path: "/v1/alerts", methods: &["GET"] },
    RouteSpec { path: "/v1/webhooks", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/webhooks/{webhook_id}", methods: &["GET"] },
    RouteSpec { path: "/v1/webhooks/{webhook_id}/pause", methods: &["POST"] },
    RouteSpec { path: "/v1/webhooks/{webhook_id}/resume", methods: &["POST"] },
    RouteSpec { path: "/v1/webhooks/{webhook_id}/rotate-secret", methods: &["POST"] },
    RouteSpec { path: "/v1/webhooks/{webhook_id}/deliveries", methods: &["GET"] },
    RouteSpec { path: "/v1/spend-sources", methods: &["GET"] },
    RouteSpec { path: "/v1/spend-sources/focus", methods: &["POST"] },
    RouteSpec { path: "/v1/spend-sources/openai", methods: &["POST"] },
    RouteSpec { path: "/v1/spend-sources/anthropic", methods: &["POST"] },
    RouteSpec { path: "/v1/spend-sources/settings", methods: &["GET", "PUT"] },
    RouteSpec { path: "/v1/allocation-rules", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/allocation-rules/{allocation_rule_id}", methods: &["DELETE"] },
];

/// A resource for a path in `ROUTES`, whose unmatched methods answer 405 with
/// `Allow`. Panics at start-up for a path missing from the table, so the table
/// cannot fall behind the registrations.
pub fn resource(path: &'static str) -> Resource {
    let spec = ROUTES
        .iter()
        .find(|r| r.path == path)
        .unwrap_or_else(|| panic!("route {path} is registered but missing from ROUTES"));
    let allow = spec.methods.join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move { Err::<HttpResponse, ApiError>(ApiError::method_not_allowed(&allow)) }
    }))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The hottest authenticated read comes before every path with a {segment}:
    // the router tries routes in order, and each patterned one costs a regex run.
    cfg.service(resource("/v1/summary").route(web::get().to(finance::get_summary)))
        .service(download("/v1/summary.csv", PathFormat::Csv).route(web::get().to(finance::get_summary)))
        .service(resource("/").route(web::get().to(dashboard::index)))
        .service(resource("/assets/{file}").route(web::get().to(dashboard::asset)))
        .service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/metrics").route(web::get().to(health::metrics)))
        .service(resource("/openapi.json").route(web::get().to(health::openapi)))
        .service(
            resource("/v1/orgs")
                .route(web::get().to(orgs::list_orgs))
                .route(web::post().to(orgs::create_org)),
        )
        .service(
            resource("/v1/orgs/{org_id}")
                .route(web::get().to(orgs::get_org))
                .route(web::patch().to(orgs::update_org)),
        )
        .service(
            resource("/v1/tokens")
                .route(web::get().to(tokens::list_tokens))
                .route(web::post().to(tokens::create_token)),
        )
        .service(resource("/v1/tokens/{token_id}").route(web::delete().to(tokens::revoke_token)))
        .service(
            resource("/v1/pilots")
                .route(web::get().to(pilots::list_pilots))
                .route(web::post().to(pilots::create_pilot)),
        )
        .service(
            resource("/v1/pilots/{pilot_id}")
                .route(web::get().to(pilots::get_pilot))
                .route(web::patch().to(pilots::update_pilot)),
        )
        .service(
            resource("/v1/pilots/{pilot_id}/spend")
                .route(web::get().to(entries::list_spend))
                .route(web::post().to(entries::create_spend)),
        )
        .service(
            resource("/v1/pilots/{pilot_id}/impact")
                .route(web::get().to(entries::list_impact))
                .route(web::post().to(entries::create_impact)),
        )
        .service(resource("/v1/pilots/{pilot_id}/entries/{entry_id}").route(web::get().to(entries::get_entry)))
        .service(
            resource("/v1/pilots/{pilot_id}/entries/{entry_id}/reverse").route(web::post().to(entries::reverse_entry)),
        )
        .service(resource("/v1/fx-rates").route(web::put().to(fx::put_fx_rates)))
        .service(resource("/v1/pilots/{pilot_id}/roi").route(web::get().to(finance::get_pilot_roi)))
        .service(
            download("/v1/pilots/{pilot_id}/roi.csv", PathFormat::Csv).route(web::get().to(finance::get_pilot_roi)),
        )
        .service(resource("/v1/import").route(web::post().to(import::import)))
        .configure(spend_sources_routes)
        .service(resource("/v1/aggregates/zero-impact-rate").route(web::get().to(aggregates::zero_impact_rate)))
        .service(
            download("/v1/aggregates/zero-impact-rate.csv", PathFormat::Csv)
                .route(web::get().to(aggregates::zero_impact_rate)),
        )
        .service(resource("/v1/aggregates/export").route(web::get().to(aggregates::export)))
        .service(download("/v1/aggregates/export.json", PathFormat::Json).route(web::get().to(aggregates::export)))
        .service(
            download("/v1/aggregates/export.parquet", PathFormat::Parquet).route(web::get().to(aggregates::export)),
        )
        .service(resource("/v1/aggregates/definitions").route(web::get().to(aggregates::definitions)))
        .service(resource("/v1/audit").route(web::get().to(audit::list_audit)))
        .service(resource("/v1/orgs/{org_id}/idp-bindings").route(web::put().to(idp_bindings::put_bindings)))
        .service(resource("/v1/auth/config").route(web::get().to(signin::config)))
        .service(resource("/v1/auth/whoami").route(web::get().to(signin::whoami)))
        .service(download("/v1/audit.csv", PathFormat::Csv).route(web::get().to(audit::list_audit)))
        .configure(alerting)
        .service(resource("/v1/projections/gap").route(web::post().to(projections::project_gap)))
        .service(download("/v1/projections/gap.csv", PathFormat::Csv).route(web::post().to(projections::project_gap)));
}

/// Budgets, alert rules, alerts and webhook endpoints (issue 24).
fn alerting(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/budgets")
            .route(web::get().to(budgets::list_budgets))
            .route(web::post().to(budgets::create_budget)),
    )
    .service(resource("/v1/budgets/{budget_id}").route(web::delete().to(budgets::delete_budget)))
    .service(
        resource("/v1/alert-rules")
            .route(web::get().to(alerts::list_rules))
            .route(web::post().to(alerts::create_rule)),
    )
    .service(resource("/v1/alert-rules/{rule_id}").route(web::delete().to(alerts::delete_rule)))
    .service(resource("/v1/alerts").route(web::get().to(alerts::list_alerts)))
    .service(
        resource("/v1/webhooks")
            .route(web::get().to(webhooks::list_webhooks))
            .route(web::post().to(webhooks::create_webhook)),
    )
    .service(resource("/v1/webhooks/{webhook_id}").route(web::get().to(webhooks::get_webhook)))
    .service(resource("/v1/webhooks/{webhook_id}/pause").route(web::post().to(webhooks::pause_webhook)))
    .service(resource("/v1/webhooks/{webhook_id}/resume").route(web::post().to(webhooks::resume_webhook)))
    .service(resource("/v1/webhooks/{webhook_id}/rotate-secret").route(web::post().to(webhooks::rotate_secret)))
    .service(resource("/v1/webhooks/{webhook_id}/deliveries").route(web::get().to(webhooks::list_deliveries)));
}

/// A resource for one format of a negotiated route (`/v1/summary.csv`): the
/// same handler, with the format fixed by the path (`common::path_format`).
fn download(path: &'static str, format: PathFormat) -> Resource {
    resource(path).app_data(format)
}

/// Unknown paths answer a problem+json 404.
pub async fn not_found() -> ApiResult<HttpResponse> {
    Err(ApiError::new(crate::error::Code::NOT_FOUND, "no such route"))
}

/// The spend-source and allocation-rule routes (issue 21).
fn spend_sources_routes(cfg: &mut web::ServiceConfig) {
    use spend_sources as s;
    cfg.service(resource("/v1/spend-sources").route(web::get().to(s::list_sources)))
        .service(resource("/v1/spend-sources/focus").route(web::post().to(s::import_focus)))
        .service(resource("/v1/spend-sources/openai").route(web::post().to(s::import_openai)))
        .service(resource("/v1/spend-sources/anthropic").route(web::post().to(s::import_anthropic)))
        .service(
            resource("/v1/spend-sources/settings")
                .route(web::get().to(s::get_settings))
                .route(web::put().to(s::put_settings)),
        )
        .service(
            resource("/v1/allocation-rules")
                .route(web::get().to(s::list_rules))
                .route(web::post().to(s::create_rule)),
        )
        .service(resource("/v1/allocation-rules/{allocation_rule_id}").route(web::delete().to(s::delete_rule)));
}
