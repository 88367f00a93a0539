//! `Application::build`: pool, migrations, keys, routes and the listener. `main`
//! and every test use it; binding port 0 picks a free port.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};

use crate::auth::keys::{load_or_create_secret, Secret};
use crate::auth::{JwtKeys, Role, Verifier};
use crate::config::Settings;
use crate::db::executor::Executor;
use crate::db::{self, Pool};
use crate::routes;
use crate::state::AppState;

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    server: Server,
    /// An operator token printed on first start (when the secret was generated).
    pub first_start_token: Option<String>,
    /// The webhook delivery worker, stopped when the server is.
    delivery: crate::delivery::DeliveryHandle,
}

/// Builds the pool and runs migrations; shared by `migrate` and the offline
/// CLI commands, whose statements may run as long as they need.
/// How long a read waits for a replica connection before it goes to the primary.
const REPLICA_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

pub fn open_database(settings: &Settings) -> anyhow::Result<Pool> {
    open_pool(settings, &settings.database_url)
}

/// Opens a database that must exist already (the offline commands other
/// than `migrate` and `demo seed`): a SQLite file that is not there, or a
/// PostgreSQL database without pilotledger's tables, is an error naming the
/// place looked at, not a new empty ledger beside the real one.
pub fn open_existing_database(settings: &Settings) -> anyhow::Result<Pool> {
    let url = &settings.database_url;
    if db::backend_of(url) == Some(db::Backend::Sqlite) {
        let path = std::path::Path::new(db::sqlite_path(url));
        if !path.exists() {
            anyhow::bail!(
                "no database at {} ({}): run this where the server keeps its data, set \
                 PILOTLEDGER_DATA_DIR or DATABASE_URL to the server's, or pass --create to start a new one",
                path.display(),
                where_from(path)
            );
        }
    } else {
        let pool = db::build_pool(url, 1, settings.db_acquire_timeout)?;
        let mut conn = pool
            .get_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
        if !db::has_schema(&mut conn) {
            anyhow::bail!(
                "the database at DATABASE_URL has no pilotledger tables: start the server on it (or run \
                 `pilotledger migrate`) first, or pass --create"
            );
        }
    }
    open_database(settings)
}

/// The secret the server generated into the data folder, which `token mint`
/// signs with; missing means this is not the server's data folder.
pub fn require_generated_secret(settings: &Settings) -> anyhow::Result<()> {
    if !generates_secret(settings) {
        return Ok(());
    }
    let path = settings.data_dir.join(crate::auth::keys::SECRET_FILE_NAME);
    if !path.exists() {
        anyhow::bail!(
            "no JWT secret at {} ({}): tokens minted here would not be accepted by the server; run this \
             where the server keeps its data, set PILOTLEDGER_DATA_DIR (or PILOTLEDGER_JWT_SECRET) to the \
             server's, or pass --create",
            path.display(),
            where_from(&path)
        );
    }
    Ok(())
}

/// "relative to /current/folder" for a relative path, so a command run from
/// the wrong folder says which folder it looked in.
fn where_from(path: &std::path::Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => format!("relative to {}", cwd.display()),
        _ => "absolute path".into(),
    }
}

/// The server's pool: on PostgreSQL every statement is cut off at the
/// request time limit (see `db::with_statement_timeout`).
fn open_request_pool(settings: &Settings) -> anyhow::Result<Pool> {
    open_pool(
        settings,
        &db::with_statement_timeout(&settings.database_url, settings.request_timeout),
    )
}

fn open_pool(settings: &Settings, url: &str) -> anyhow::Result<Pool> {
    let size = settings
        .pool_size
        .unwrap_or(match db::backend_of(&settings.database_url) {
            Some(db::Backend::Postgres) => 16,
            _ => 8,
        });
    let pool = db::build_pool(url, size, settings.db_acquire_timeout)?;
    // Start-up may wait longer for its first connection than a request does.
    let mut conn = pool
        .get_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    db::run_migrations(&mut conn)?;
    Ok(pool)
}

/// Loads the verification keys from the configuration; returns whether a new
/// HS256 secret was generated into the data folder.
pub fn load_keys(settings: &Settings) -> anyhow::Result<(JwtKeys, bool)> {
    let lifetime = std::time::Duration::from_secs(u64::from(settings.max_token_ttl_days) * 86_400);
    let (keys, created) = unbounded_keys(settings)?;
    Ok((keys.with_max_lifetime(lifetime), created))
}

/// Whether the HS256 secret is the one generated into the data folder (no
/// secret and no public key configured).
pub fn generates_secret(settings: &Settings) -> bool {
    settings.jwt_public_key.is_none() && settings.jwt_secret.is_none()
}

fn unbounded_keys(settings: &Settings) -> anyhow::Result<(JwtKeys, bool)> {
    let (iss, aud) = (settings.jwt_issuer.clone(), settings.jwt_audience.clone());
    if let Some(path) = &settings.jwt_public_key {
        let pem =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("PILOTLEDGER_JWT_PUBLIC_KEY {}: {e}", path.display()))?;
        return Ok((JwtKeys::from_public_pem(&pem, iss, aud)?, false));
    }
    if let Some(secret) = &settings.jwt_secret {
        let keys = JwtKeys::hs256(Secret::new(secret.expose().as_bytes().to_vec()), iss, aud)
            .map_err(|e| anyhow::anyhow!("PILOTLEDGER_JWT_SECRET: {e}"))?;
        return Ok((keys, false));
    }
    let (secret, created) = load_or_create_secret(&settings.data_dir)?;
    Ok((JwtKeys::hs256(secret, iss, aud)?, created))
}

/// Connects to the identity provider when OIDC is configured: discovery
/// (when an issuer is given) and the first fetch of its keys. Any problem is
/// an error naming the setting, so a misconfigured provider stops the start.
pub fn load_oidc(settings: &Settings) -> anyhow::Result<Option<crate::auth::oidc::Oidc>> {
    use crate::auth::oidc;
    let Some(o) = &settings.oidc else { return Ok(None) };
    let (issuer, discovery, jwks_url) = match (&o.issuer, &o.jwks_url) {
        (Some(issuer), jwks_url) => {
            let found = oidc::discover(issuer).map_err(|e| anyhow::anyhow!("PILOTLEDGER_OIDC_ISSUER: {e}"))?;
            let url = jwks_url.clone().unwrap_or_else(|| found.jwks_uri.clone());
            (issuer.clone(), Some(found), url)
        }
        (None, Some(url)) => (settings.jwt_issuer.clone(), None, url.clone()),
        (None, None) => return Ok(None),
    };
    let jwks =
        oidc::Jwks::load(&jwks_url, o.refresh_min).map_err(|e| anyhow::anyhow!("the identity provider's keys: {e}"))?;
    let role_map = o
        .role_map
        .iter()
        .map(|(value, role)| Ok((value.clone(), role.parse::<Role>()?)))
        .collect::<Result<Vec<_>, crate::auth::claims::ParseRoleError>>()
        .map_err(|e| anyhow::anyhow!("PILOTLEDGER_OIDC_ROLE_MAP: {e}"))?;
    tracing::info!(%issuer, %jwks_url, "verifying tokens of the identity provider (OpenID Connect)");
    Ok(Some(oidc::Oidc {
        issuer,
        audience: settings.jwt_audience.clone(),
        jwks,
        discovery,
        mapping: crate::auth::mapping::ClaimMapping {
            roles_claim: o.roles_claim.clone(),
            role_map,
            org_claim: o.org_claim.clone(),
        },
        local_tokens: o.local_tokens,
        client_id: o.client_id.clone(),
        scopes: o.scopes.clone(),
        max_lifetime_secs: i64::from(settings.max_token_ttl_days) * 86_400,
    }))
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Bind before anything is written: a busy port must leave no secret,
        // database or unprinted first-start token behind.
        let listener = TcpListener::bind(&settings.addr)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let s = settings.clone();
        let (pool, keys, needs_token, research_seed, oidc) = web::block(move || -> anyhow::Result<_> {
            // The provider first: a wrong issuer stops the start before any
            // database or secret is touched.
            let oidc = load_oidc(&s)?;
            let pool = open_request_pool(&s)?;
            let (keys, created) = load_keys(&s)?;
            let mut conn = pool.get_timeout(std::time::Duration::from_secs(10))?;
            // Start-up reads, on the request pool but not requests: the
            // request time limit does not apply to them.
            let (research_seed, issued) = db::without_statement_timeout(&mut conn, |c| {
                Ok((db::secrets::research_seed(c)?, db::tokens::first_start_token_issued(c)?))
            })?;
            // A start that generated the secret but died before its token
            // was minted (or printed) leaves no token behind: the next start
            // over the same generated secret mints it instead.
            let needs_token = created || (generates_secret(&s) && !issued);
            Ok((pool, keys, needs_token, research_seed, oidc))
        })
        .await??;
        let keys = Arc::new(keys);
        // With OIDC on and local tokens off, a minted operator token would be
        // refused: the provider's operator group is the way in instead.
        let local_operators = settings
            .oidc
            .as_ref()
            .is_none_or(|o| o.local_tokens != crate::config::LocalTokens::Off);
        let first_start_token = if needs_token && keys.can_mint() && local_operators {
            let (pool, keys) = (pool.clone(), keys.clone());
            Some(
                web::block(move || -> anyhow::Result<String> {
                    let mut conn = pool.get_timeout(std::time::Duration::from_secs(10))?;
                    let token = crate::ledger::tokens::NewToken {
                        org: None,
                        role: Role::Operator,
                        label: "first-start operator",
                        ttl_days: 30,
                        created_by: db::tokens::FIRST_START_CREATOR,
                        minted_by: None,
                    };
                    let issued = db::without_statement_timeout(&mut conn, |c| {
                        crate::ledger::tokens::issue_token(c, &keys, token)
                            .map_err(|e| db::DbError::Unavailable(e.to_string()))
                    });
                    let (jwt, _) = issued.map_err(|e| anyhow::anyhow!("{e}"))?;
                    Ok(jwt)
                })
                .await??,
            )
        } else {
            None
        };
        let disclosure = crate::analytics::disclosure::DisclosurePolicy::new(
            settings.disclosure_min_organisations,
            crate::analytics::disclosure::FLOOR_MAX_ORG_SHARE,
            settings.disclosure_p_percent,
            settings.disclosure_min_each_side,
        )
        .map_err(|e| anyhow::anyhow!("disclosure thresholds: {e}"))?;
        let token_per_minute =
            std::num::NonZeroU32::new(settings.requests_per_minute_per_token).unwrap_or(std::num::NonZeroU32::MIN);
        let per_minute =
            std::num::NonZeroU32::new(settings.research_queries_per_minute).unwrap_or(std::num::NonZeroU32::MIN);
        let mut exec = Executor::start(&settings.database_url, pool, settings.request_timeout);
        if let Some(url) = &settings.read_database_url {
            // Never migrated (a replica is read-only) and not waited for: a
            // replica that is down sends its reads to the primary. A short
            // wait for its connections keeps that fallback quick.
            let replica = db::build_pool(url, settings.pool_size.unwrap_or(16) / 2 + 1, REPLICA_ACQUIRE_TIMEOUT)?;
            exec = exec.with_replica(replica);
        }
        let verifier = Arc::new(Verifier {
            keys,
            token_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(token_per_minute)),
            exec: exec.clone(),
            oidc: oidc.map(Arc::new),
            bindings: Default::default(),
        });
        let stamps = db::stamp_reader::StampReader::start(settings.database_url.clone());
        let delivery = crate::delivery::start(exec.clone(), &settings.database_url, settings.alerts.clone())?;
        let max_imports = settings.max_imports as usize;
        let state = web::Data::new(AppState {
            exec,
            verifier: verifier.clone(),
            settings: Arc::new(settings),
            disclosure,
            research_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            metrics: crate::metrics::Metrics::default(),
            in_flight: Default::default(),
            research_gate: Arc::new(tokio::sync::Semaphore::new(1)),
            imports: crate::state::import_slots::ImportSlots::new(max_imports),
            research_seed,
            measured_cache: Default::default(),
            stamps,
            summary_cache: crate::state::summary_cache::new_cache(),
        });
        let verifier = web::Data::from(verifier);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(verifier.clone())
                .wrap(from_fn(crate::telemetry::org_share))
                .wrap(from_fn(crate::telemetry::request_log))
                .wrap(NormalizePath::new(TrailingSlash::Trim))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
        })
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            first_start_token,
            delivery,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until stopped; SIGTERM/SIGINT drain in-flight requests first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let _delivery = self.delivery;
        self.server.await
    }
}
