//! Typed settings, read once from the environment at start. Every variable the
//! service reads is documented here, in [`SETTINGS`] (which `pilotledger
//! --help` and `pilotledger serve --help` print), and nowhere else reads the
//! environment.

use std::path::PathBuf;

/// One environment variable the service reads.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    /// The value used when the variable is unset or empty (Markdown).
    pub default: &'static str,
    /// What it sets (Markdown).
    pub meaning: &'static str,
}

/// Every variable the service reads, with its default and meaning; `--help`
/// prints it ([`settings_help`]) and a test holds it to what
/// [`Settings::from_env`] reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: "DATABASE_URL",
        default: "`sqlite://<data dir>/pilotledger.db`",
        meaning: "`sqlite://path` or `postgres://user:pass@host:port/db` (TCP)",
    },
    Setting {
        name: "PILOTLEDGER_ADDR",
        default: "`127.0.0.1:8080`",
        meaning: "listen address; port 0 picks a free port",
    },
    Setting {
        name: "PILOTLEDGER_DATA_DIR",
        default: "`./data`",
        meaning: "where the SQLite file and the generated JWT secret live",
    },
    Setting {
        name: "PILOTLEDGER_JWT_SECRET",
        default: "generated into the data folder",
        meaning: "HS256 secret, at least 32 bytes",
    },
    Setting {
        name: "PILOTLEDGER_JWT_PUBLIC_KEY",
        default: "unset",
        meaning: "path of a PEM public key; switches verification to RS256/ES256",
    },
    Setting {
        name: "PILOTLEDGER_JWT_ISSUER",
        default: "`pilotledger`",
        meaning: "required `iss`",
    },
    Setting {
        name: "PILOTLEDGER_JWT_AUDIENCE",
        default: "`pilotledger`",
        meaning: "required `aud`",
    },
    Setting {
        name: "PILOTLEDGER_DB_POOL_SIZE",
        default: "8 (SQLite) / 16 (PostgreSQL)",
        meaning: "connections in the pool",
    },
    Setting {
        name: "PILOTLEDGER_MAX_BODY_BYTES",
        default: "1048576",
        meaning: "larger bodies answer 413",
    },
    Setting {
        name: "PILOTLEDGER_DISCLOSURE_MIN_ORGANISATIONS",
        default: "5",
        meaning: "fewer distinct organisations in a cell → suppressed; can only be raised",
    },
    Setting {
        name: "PILOTLEDGER_DISCLOSURE_P_PERCENT",
        default: "10",
        meaning: "the p%-rule's p; can only be raised",
    },
    Setting {
        name: "PILOTLEDGER_DISCLOSURE_MIN_EACH_SIDE",
        default: "3",
        meaning: "organisations needed on each side of a rate; can only be raised",
    },
    Setting {
        name: "PILOTLEDGER_RESEARCH_QUERIES_PER_MINUTE",
        default: "60",
        meaning: "per-token budget for aggregate queries (429 beyond)",
    },
    Setting {
        name: "PILOTLEDGER_REQUESTS_PER_MINUTE",
        default: "6000",
        meaning: "per-token budget for all authenticated requests (429 beyond)",
    },
    Setting {
        name: "PILOTLEDGER_MAX_IMPORT_BYTES",
        default: "67108864",
        meaning: "larger imports answer 413",
    },
    Setting {
        name: "PILOTLEDGER_MAX_FOCUS_MB",
        default: "8192",
        meaning: "largest FOCUS bill `POST /v1/spend-sources/focus` reads, in MiB, sent and uncompressed (413 beyond); the body streams, so memory does not grow with it",
    },
    Setting {
        name: "PILOTLEDGER_MAX_FOCUS_ROWS",
        default: "20000000",
        meaning: "most rows of one FOCUS bill (413 beyond)",
    },
    Setting {
        name: "PILOTLEDGER_REQUEST_TIMEOUT_MS",
        default: "30000",
        meaning: "longest a request waits for its database work (503 `request_timeout` beyond)",
    },
    Setting {
        name: "PILOTLEDGER_DB_ACQUIRE_TIMEOUT_MS",
        default: "1500",
        meaning: "longest a request waits for a pool connection (503 `database_unavailable` beyond)",
    },
    Setting {
        name: "PILOTLEDGER_BODY_READ_TIMEOUT_MS",
        default: "30000",
        meaning: "longest a request body may take to arrive (408 `body_timeout` beyond)",
    },
    Setting {
        name: "PILOTLEDGER_MAX_TOKEN_TTL_DAYS",
        default: "365",
        meaning: "longest lifetime of any accepted token (`exp` − `iat`), minted here or not",
    },
    Setting {
        name: "PILOTLEDGER_METRICS_ACCESS",
        default: "`operator`",
        meaning: "who may read `/metrics`: `operator` (an operator token) or `public`",
    },
    Setting {
        name: "PILOTLEDGER_MAX_IMPORTS",
        default: "2",
        meaning: "imports running at once across all organisations (one per organisation); more answer 429",
    },
    Setting {
        name: "RUST_LOG",
        default: "`info`",
        meaning: "tracing filter",
    },
    Setting {
        name: "PILOTLEDGER_LOG_FORMAT",
        default: "`pretty`",
        meaning: "`pretty` or `json`",
    },
    Setting {
        name: "OTEL_EXPORTER_OTLP_ENDPOINT",
        default: "unset: no traces exported",
        meaning: "OpenTelemetry collector, `http://host:port` (OTLP/HTTP with JSON, spans POSTed to `/v1/traces`); a span per request and per piece of database work, continuing the caller's W3C `traceparent`",
    },
    Setting {
        name: "OTEL_SERVICE_NAME",
        default: "`pilotledger`",
        meaning: "the `service.name` of the exported spans",
    },
];

/// The settings as `--help` prints them: one variable a line, its default,
/// then what it sets.
pub fn settings_help() -> String {
    let plain = |s: &str| s.replace('`', "");
    let width = SETTINGS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::from("Settings (environment variables; default in brackets):\n");
    for s in SETTINGS {
        out.push_str(&format!(
            "  {:width$}  [{}] {}\n",
            s.name,
            plain(s.default),
            plain(s.meaning)
        ));
    }
    out
}

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
    /// Largest FOCUS bill read, sent and uncompressed (`PILOTLEDGER_MAX_FOCUS_MB`).
    pub max_focus_bytes: u64,
    /// Most rows of one FOCUS bill (`PILOTLEDGER_MAX_FOCUS_ROWS`).
    pub max_focus_rows: u64,
    pub request_timeout: std::time::Duration,
    pub db_acquire_timeout: std::time::Duration,
    pub log_format: LogFormat,
    /// The OTLP/HTTP collector spans are exported to, with the service name.
    pub otlp: Option<(String, String)>,
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
        let otlp = match var("OTEL_EXPORTER_OTLP_ENDPOINT") {
            None => None,
            Some(url) if url.starts_with("http://") => Some((
                url.trim_end_matches('/').to_owned(),
                var("OTEL_SERVICE_NAME").unwrap_or_else(|| "pilotledger".into()),
            )),
            Some(_) => {
                return Err(
                    "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// URL (a collector beside the server; \
                            it forwards over TLS)"
                        .into(),
                )
            }
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
            max_focus_bytes: u64::from(number("PILOTLEDGER_MAX_FOCUS_MB", 8192)?.max(1)) << 20,
            max_focus_rows: u64::from(number("PILOTLEDGER_MAX_FOCUS_ROWS", 20_000_000)?.max(1)),
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
            otlp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_read_is_listed_and_every_listed_one_is_read() {
        let source = include_str!("config.rs");
        let code = &source[source.find("pub fn from_env").unwrap()..];
        let code = &code[..code.find("#[cfg(test)]").unwrap()];
        for s in SETTINGS {
            let read_elsewhere = ["RUST_LOG"].contains(&s.name);
            assert!(
                read_elsewhere || code.contains(&format!("\"{}\"", s.name)),
                "{} is listed but not read",
                s.name
            );
        }
        let mut rest = code;
        while let Some(i) = rest.find("\"PILOTLEDGER_") {
            let name: String = rest[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            assert!(SETTINGS.iter().any(|s| s.name == name), "{name} is read but not listed");
            rest = &rest[i + 1 + name.len()..];
        }
        let help = settings_help();
        assert!(
            help.contains("PILOTLEDGER_ADDR") && help.contains("[127.0.0.1:8080]"),
            "{help}"
        );
    }
}
