//! HTTP routes: one file per resource, request and response types beside their
//! handlers. `ROUTES` is the table of every path and method the server answers;
//! registration, 405 answers, the API spec test and the tenant-isolation test all
//! read it, so a route cannot exist without appearing there.

pub mod aggregates;
pub mod audit;
pub mod dashboard;
pub mod entries;
pub mod extract;
pub mod facts;
pub mod finance;
pub mod fx;
pub mod health;
pub mod idempotency;
pub mod import;
pub mod orgs;
pub mod pilots;
pub mod projections;
pub mod summary_cache;
pub mod tokens;
pub mod views;

use std::sync::Arc;

use actix_web::{web, HttpResponse, Resource};

use crate::auth::JwtKeys;
use crate::config::Settings;
use crate::db::{DbConnection, Pool};
use crate::error::{ApiError, ApiResult, Code};

/// Shared state of the application.
pub struct AppState {
    pub pool: Pool,
    pub keys: Arc<JwtKeys>,
    pub settings: Arc<Settings>,
    /// Disclosure thresholds for research aggregates (never below the floors).
    pub disclosure: crate::analytics::disclosure::DisclosurePolicy,
    /// Per-token budget for research queries.
    pub research_limiter: governor::DefaultKeyedRateLimiter<String>,
    /// Per-token budget for every authenticated request.
    pub token_limiter: governor::DefaultKeyedRateLimiter<String>,
    /// Request counters and latency histograms for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The SQLite writer that batches concurrent writes (None on PostgreSQL).
    pub group_commit: Option<Arc<crate::db::group_commit::GroupCommit>>,
    /// The writer that batches entry creates: the same as `group_commit` on
    /// SQLite; on PostgreSQL a writer of its own, for entry creates only.
    pub entry_writer: Arc<crate::db::group_commit::GroupCommit>,
    /// One cross-organisation aggregate at a time (they read every ledger).
    pub research_gate: Arc<tokio::sync::Semaphore>,
    /// Idempotency keys being processed by this process right now.
    pub in_flight: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Reads the revocation and stamp a cached summary is validated against,
    /// for many requests at once.
    pub stamps: crate::db::stamp_reader::StampReader,
    /// Rendered summaries, served while the database says they are current.
    pub summary_cache: summary_cache::SummaryCache,
}

impl AppState {
    /// Runs database work on the blocking pool, never on the async executor.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let pool = self.pool.clone();
        let work = web::block(move || {
            let mut conn = pool.get().map_err(ApiError::unavailable)?;
            f(&mut conn)
        });
        // Bounded: a request never waits longer than this for the database; the
        // work it started may finish in the background.
        match actix_web::rt::time::timeout(self.settings.request_timeout, work).await {
            Ok(done) => done?,
            Err(_) => Err(timed_out()),
        }
    }

    /// Spends one unit of the token's research-query budget; 429 when empty.
    pub fn check_rate(&self, token: &str) -> ApiResult<()> {
        Self::spend(&self.research_limiter, token, "research query budget")
    }

    /// Spends one unit of the token's request budget; 429 when empty.
    pub fn check_token_rate(&self, token: &str) -> ApiResult<()> {
        Self::spend(&self.token_limiter, token, "request budget for this token")
    }

    fn spend(limiter: &governor::DefaultKeyedRateLimiter<String>, token: &str, what: &str) -> ApiResult<()> {
        match limiter.check_key(&token.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait =
                    not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
                let secs = wait.as_secs() + 1;
                Err(
                    ApiError::new(Code::RATE_LIMITED, format!("{what} spent; retry in {secs} s"))
                        .with_header(actix_web::http::header::RETRY_AFTER, secs.to_string()),
                )
            }
        }
    }

    /// Like `db`, inside one write transaction. On SQLite the write joins the
    /// group-commit batch (one fsync for many requests) and is answered only
    /// after that batch committed; on PostgreSQL it runs in its own transaction.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        match &self.group_commit {
            Some(group) => {
                let group = group.clone();
                // Submitting may block briefly on a full queue: do it off the executor.
                let receiver = web::block(move || group.submit(f)).await?;
                match actix_web::rt::time::timeout(self.settings.request_timeout, receiver).await {
                    Ok(done) => done.unwrap_or_else(|_| Err(ApiError::unavailable("the writer stopped"))),
                    Err(_) => Err(timed_out()),
                }
            }
            None => self.db(move |conn| crate::db::write_tx(conn, f)).await,
        }
    }

    /// Appends one spend or impact entry through the batching writer; the
    /// outcome arrives after its batch committed.
    pub async fn append_entry(
        &self,
        write: crate::db::entry_batch::EntryWrite,
    ) -> ApiResult<crate::db::entry_batch::Outcome> {
        // Straight onto the queue when it has room: no hop to the blocking pool.
        let receiver = match self.entry_writer.try_submit_entry(Box::new(write)) {
            Ok(receiver) => receiver,
            Err(write) => {
                let writer = self.entry_writer.clone();
                web::block(move || writer.submit_entry(write)).await?
            }
        };
        match actix_web::rt::time::timeout(self.settings.request_timeout, receiver).await {
            Ok(Ok(done)) => Ok(done?),
            Ok(Err(_)) => Err(ApiError::unavailable("the writer stopped")),
            Err(_) => Err(timed_out()),
        }
    }

    /// Like `db`, inside one read transaction (a consistent snapshot).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.db(move |conn| crate::db::read_tx(conn, f)).await
    }
}

pub(crate) fn timed_out() -> ApiError {
    ApiError::new(Code::REQUEST_TIMEOUT, "the request took too long; retry shortly")
        .with_header(actix_web::http::header::RETRY_AFTER, "5")
}

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
    RouteSpec { path: "/v1/orgs/{org_id}", methods: &["GET"] },
    RouteSpec { path: "/v1/tokens", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/tokens/{token_id}", methods: &["DELETE"] },
    RouteSpec { path: "/v1/pilots", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}", methods: &["GET", "PATCH"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/spend", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/impact", methods: &["GET", "POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/entries/{entry_id}", methods: &["GET"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/entries/{entry_id}/reverse", methods: &["POST"] },
    RouteSpec { path: "/v1/pilots/{pilot_id}/roi", methods: &["GET"] },
    RouteSpec { path: "/v1/import", methods: &["POST"] },
    RouteSpec { path: "/v1/summary", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/zero-impact-rate", methods: &["GET"] },
    RouteSpec { path: "/v1/aggregates/export", methods: &["GET"] },
    RouteSpec { path: "/v1/projections/gap", methods: &["POST"] },
    RouteSpec { path: "/v1/fx-rates", methods: &["PUT"] },
    RouteSpec { path: "/v1/audit", methods: &["GET"] },
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
        .service(resource("/v1/orgs/{org_id}").route(web::get().to(orgs::get_org)))
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
        .service(resource("/v1/import").route(web::post().to(import::import)))
        .service(resource("/v1/aggregates/zero-impact-rate").route(web::get().to(aggregates::zero_impact_rate)))
        .service(resource("/v1/aggregates/export").route(web::get().to(aggregates::export)))
        .service(resource("/v1/audit").route(web::get().to(audit::list_audit)))
        .service(resource("/v1/projections/gap").route(web::post().to(projections::project_gap)));
}

/// Unknown paths answer a problem+json 404.
pub async fn not_found() -> ApiResult<HttpResponse> {
    Err(ApiError::new(Code::NOT_FOUND, "no such route"))
}
