//! Typed settings, read once from the environment at start. Every variable the
//! service reads is documented here and nowhere else reads the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://<data dir>/pilotledger.db` | `sqlite://path` or `postgres://user:pass@host:port/db` (TCP) |
//! | `PILOTLEDGER_ADDR` | `127.0.0.1:8080` | listen address; port 0 picks a free port |
//! | `PILOTLEDGER_DATA_DIR` | `./data` | where the SQLite file and the generated JWT secret live |
//! | `PILOTLEDGER_JWT_SECRET` | generated into the data folder | HS256 secret, at least 32 bytes |
//! | `PILOTLEDGER_JWT_PUBLIC_KEY` | unset | path of a PEM public key; switches verification to RS256/ES256 |
//! | `PILOTLEDGER_JWT_ISSUER` | `pilotledger` | required `iss` |
//! | `PILOTLEDGER_JWT_AUDIENCE` | `pilotledger` | required `aud` |
//! | `PILOTLEDGER_DB_POOL_SIZE` | 8 (SQLite) / 16 (PostgreSQL) | connections in the pool |
//! | `PILOTLEDGER_MAX_BODY_BYTES` | 1048576 | larger bodies answer 413 |
//! | `PILOTLEDGER_DISCLOSURE_MIN_ORGANISATIONS` | 5 | fewer distinct organisations in a cell → suppressed; can only be raised |
//! | `PILOTLEDGER_DISCLOSURE_P_PERCENT` | 10 | the p%-rule's p; can only be raised |
//! | `PILOTLEDGER_DISCLOSURE_MIN_EACH_SIDE` | 3 | organisations needed on each side of a rate; can only be raised |
//! | `PILOTLEDGER_RESEARCH_QUERIES_PER_MINUTE` | 60 | per-token budget for aggregate queries (429 beyond) |
//! | `PILOTLEDGER_REQUESTS_PER_MINUTE` | 6000 | per-token budget for all authenticated requests (429 beyond) |
//! | `PILOTLEDGER_MAX_IMPORT_BYTES` | 67108864 | larger imports answer 413 |
//! | `PILOTLEDGER_REQUEST_TIMEOUT_MS` | 30000 | longest a request waits for its database work (503 `request_timeout` beyond) |
//! | `PILOTLEDGER_DB_ACQUIRE_TIMEOUT_MS` | 1500 | longest a request waits for a pool connection (503 `database_unavailable` beyond) |
//! | `PILOTLEDGER_BODY_READ_TIMEOUT_MS` | 30000 | longest a request body may take to arrive (408 `body_timeout` beyond) |
//! | `PILOTLEDGER_MAX_TOKEN_TTL_DAYS` | 365 | longest lifetime of any accepted token (`exp` − `iat`), minted here or not |
//! | `PILOTLEDGER_METRICS_ACCESS` | `operator` | who may read `/metrics`: `operator` (an operator token) or `public` |
//! | `PILOTLEDGER_MAX_IMPORTS` | 2 | imports running at once across all organisations (one per organisation); more answer 429 |
//! | `RUST_LOG` | `info` | tracing filter |
//! | `PILOTLEDGER_LOG_FORMAT` | `pretty` | `pretty` or `json` |

use std::path::PathBuf;

/// A secret that never prints.
#[derive(Clone)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> Self {
        Self(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Log output style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything the application needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub addr: String,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<SecretString>,
    pub jwt_public_key: Option<PathBuf>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub pool_size: Option<u32>,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub request_timeout: std::time::Duration,
    pub db_acquire_timeout: std::time::Duration,
    pub log_format: LogFormat,
    pub disclosure_min_organisations: u32,
    pub disclosure_p_percent: u32,
    pub disclosure_min_each_side: u32,
    pub research_queries_per_minute: u32,
    pub requests_per_minute_per_token: u32,
    pub body_read_timeout: std::time::Duration,
    pub max_token_ttl_days: u32,
    pub metrics_public: bool,
    pub max_imports: u32,
}

impl Settings {
    /// Reads the environment. Bad values are errors naming the variable, not
    /// silent defaults.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let data_dir = PathBuf::from(var("PILOTLEDGER_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url =
            var("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}", data_dir.join("pilotledger.db").display()));
        let pool_size = match var("PILOTLEDGER_DB_POOL_SIZE") {
            Some(v) => Some(
                v.parse::<u32>()
                    .ok()
                    .filter(|n| (1..=512).contains(n))
                    .ok_or("PILOTLEDGER_DB_POOL_SIZE must be a number from 1 to 512")?,
            ),
            None => None,
        };
        let max_body_bytes = match var("PILOTLEDGER_MAX_BODY_BYTES") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1024)
                .ok_or("PILOTLEDGER_MAX_BODY_BYTES must be a number of at least 1024")?,
            None => 1024 * 1024,
        };
        let log_format = match var("PILOTLEDGER_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => return Err("PILOTLEDGER_LOG_FORMAT must be pretty or json".into()),
        };
        let number = |name: &str, default: u32| -> Result<u32, String> {
            match var(name) {
                None => Ok(default),
                Some(v) => v.parse::<u32>().map_err(|_| format!("{name} must be a whole number")),
            }
        };
        Ok(Self {
            disclosure_min_organisations: number("PILOTLEDGER_DISCLOSURE_MIN_ORGANISATIONS", 5)?,
            disclosure_p_percent: number("PILOTLEDGER_DISCLOSURE_P_PERCENT", 10)?,
            disclosure_min_each_side: number("PILOTLEDGER_DISCLOSURE_MIN_EACH_SIDE", 3)?,
            research_queries_per_minute: number("PILOTLEDGER_RESEARCH_QUERIES_PER_MINUTE", 60)?,
            requests_per_minute_per_token: number("PILOTLEDGER_REQUESTS_PER_MINUTE", 6000)?,
            max_import_bytes: number("PILOTLEDGER_MAX_IMPORT_BYTES", 64 * 1024 * 1024)? as usize,
            request_timeout: std::time::Duration::from_millis(u64::from(
                number("PILOTLEDGER_REQUEST_TIMEOUT_MS", 30_000)?.max(1),
            )),
            db_acquire_timeout: std::time::Duration::from_millis(u64::from(
                number("PILOTLEDGER_DB_ACQUIRE_TIMEOUT_MS", 1_500)?.max(1),
            )),
            body_read_timeout: std::time::Duration::from_millis(u64::from(
                number("PILOTLEDGER_BODY_READ_TIMEOUT_MS", 30_000)?.max(1),
            )),
            max_token_ttl_days: match number("PILOTLEDGER_MAX_TOKEN_TTL_DAYS", 365)? {
                n @ 1..=3650 => n,
                _ => return Err("PILOTLEDGER_MAX_TOKEN_TTL_DAYS must be from 1 to 3650".into()),
            },
            metrics_public: match var("PILOTLEDGER_METRICS_ACCESS").as_deref() {
                None | Some("operator") => false,
                Some("public") => true,
                Some(_) => return Err("PILOTLEDGER_METRICS_ACCESS must be operator or public".into()),
            },
            max_imports: number("PILOTLEDGER_MAX_IMPORTS", 2)?.max(1),
            database_url,
            addr: var("PILOTLEDGER_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            data_dir,
            jwt_secret: var("PILOTLEDGER_JWT_SECRET").map(SecretString::new),
            jwt_public_key: var("PILOTLEDGER_JWT_PUBLIC_KEY").map(PathBuf::from),
            jwt_issuer: var("PILOTLEDGER_JWT_ISSUER").unwrap_or_else(|| "pilotledger".into()),
            jwt_audience: var("PILOTLEDGER_JWT_AUDIENCE").unwrap_or_else(|| "pilotledger".into()),
            pool_size,
            max_body_bytes,
            log_format,
        })
    }
}
