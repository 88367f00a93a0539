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
        name: "PILOTLEDGER_READ_DATABASE_URL",
        default: "unset",
        meaning: "a PostgreSQL streaming replica of `DATABASE_URL` (`postgres://…`): the research aggregates, \
                  the export and the measured rate read it; everything else, and anything while it is down, \
                  reads the primary",
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
        name: "PILOTLEDGER_OIDC_ISSUER",
        default: "unset: no OIDC sign-in",
        meaning: "the identity provider's issuer URL (`https://`, or `http://` on a loopback address); its `/.well-known/openid-configuration` is read at start and names the keys; turns on OIDC verification (RS256, PS256, ES256, EdDSA; HS256 refused)",
    },
    Setting {
        name: "PILOTLEDGER_JWKS_URL",
        default: "unset, or the issuer's `jwks_uri`",
        meaning: "the provider's JSON Web Key Set, without discovery (tokens' `iss` must then equal `PILOTLEDGER_JWT_ISSUER`); turns on OIDC verification too",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_CLIENT_ID",
        default: "unset: no dashboard sign-in button",
        meaning: "the dashboard's public client (authorization code + PKCE, no secret) registered at the provider",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_SCOPES",
        default: "`openid profile email`",
        meaning: "scopes the dashboard asks for (add the API scope your provider needs for an access token with `aud` = `PILOTLEDGER_JWT_AUDIENCE`)",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_ROLES_CLAIM",
        default: "`groups`",
        meaning: "the claim (a string or list of strings; a dotted path such as `realm_access.roles` reaches into objects) whose values `PILOTLEDGER_OIDC_ROLE_MAP` maps to roles",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_ROLE_MAP",
        default: "required with OIDC",
        meaning: "`value=role,value=role`: which roles-claim value gives which role (`member`, `finance`, `admin`, `researcher`, `operator`); the first listed pair the token matches wins; no match answers 403",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_ORG_CLAIM",
        default: "unset",
        meaning: "a claim holding the organisation's id (UUID); organisations can also be found by identity-provider bindings (`PUT /v1/orgs/{id}/idp-bindings`)",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_LOCAL_TOKENS",
        default: "`off`",
        meaning: "with OIDC on, whether tokens minted by this server (HS256) are still accepted: `off`, `operator` (operator tokens only) or `all`",
    },
    Setting {
        name: "PILOTLEDGER_OIDC_REFRESH_MIN_SECS",
        default: "30",
        meaning: "least time between two fetches of the provider's keys (a token with an unknown `kid` triggers one; the response's `Cache-Control: max-age` says when they go stale)",
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
    Setting {
        name: "PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS",
        default: "empty",
        meaning: "comma-separated CIDRs (`127.0.0.0/8,::1/128`) webhook targets may resolve to although private, loopback or link-local; every other such address is refused",
    },
    Setting {
        name: "PILOTLEDGER_WEBHOOK_TIMEOUT_MS",
        default: "`10000`",
        meaning: "time limit of one webhook delivery attempt (connect, send, answer)",
    },
    Setting {
        name: "PILOTLEDGER_WEBHOOK_RETRY_BASE_MS",
        default: "`5000`",
        meaning: "delay before the first retry of a failed delivery; doubles per attempt, with jitter",
    },
    Setting {
        name: "PILOTLEDGER_WEBHOOK_RETRY_MAX_MS",
        default: "`3600000`",
        meaning: "longest delay between two delivery attempts",
    },
    Setting {
        name: "PILOTLEDGER_WEBHOOK_MAX_ATTEMPTS",
        default: "`15`",
        meaning: "attempts before a message is marked failed (it stays in the delivery log)",
    },
    Setting {
        name: "PILOTLEDGER_WEBHOOK_POLL_MS",
        default: "`1000`",
        meaning: "how often the delivery worker looks for due messages",
    },
    Setting {
        name: "PILOTLEDGER_ALERT_SWEEP_SECS",
        default: "`300`",
        meaning: "how often the date-based alert rules (evaluation overdue, no measured impact, spend without impact) and current budget periods are evaluated",
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

/// With OIDC on, which tokens minted by this server are still accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalTokens {
    Off,
    Operator,
    All,
}

/// OpenID Connect sign-in: where the provider's keys are and how its claims
/// map to roles and organisations (`auth::oidc`, `auth::mapping`).
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// `PILOTLEDGER_OIDC_ISSUER`, without a trailing slash.
    pub issuer: Option<String>,
    pub jwks_url: Option<String>,
    pub client_id: Option<String>,
    pub scopes: String,
    pub roles_claim: String,
    /// `(claim value, role name)` in the order given; role names are checked here.
    pub role_map: Vec<(String, String)>,
    pub org_claim: Option<String>,
    pub local_tokens: LocalTokens,
    pub refresh_min: std::time::Duration,
}

/// The role names `PILOTLEDGER_OIDC_ROLE_MAP` may use (`auth::Role`'s wire names).
pub const ROLE_NAMES: [&str; 5] = ["member", "finance", "admin", "researcher", "operator"];

/// Whether `url` is `https://`, or `http://` to a loopback address (a
/// provider on the same machine, as in tests).
pub fn is_acceptable_provider_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return url.len() > "https://".len();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6
            .split(']')
            .next()
            .map_or("", |h| if h == "::1" { "[::1]" } else { h }),
        None => authority.split(':').next().unwrap_or(""),
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Everything the application needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    /// A streaming replica for reads that tolerate lag (PostgreSQL only).
    pub read_database_url: Option<String>,
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
    /// OpenID Connect sign-in, when configured.
    pub oidc: Option<OidcSettings>,
    /// Alerts and webhook delivery.
    pub alerts: AlertSettings,
}

/// How alerts are evaluated and webhooks delivered (`delivery`).
#[derive(Clone, Debug)]
pub struct AlertSettings {
    /// Networks (address, prefix length) that private, loopback and
    /// link-local webhook targets must fall in to be allowed.
    pub allowed_networks: Vec<(std::net::IpAddr, u8)>,
    pub webhook_timeout: std::time::Duration,
    pub retry_base: std::time::Duration,
    pub retry_max: std::time::Duration,
    pub max_attempts: u32,
    pub poll_interval: std::time::Duration,
    pub sweep_interval: std::time::Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            allowed_networks: Vec::new(),
            webhook_timeout: std::time::Duration::from_secs(10),
            retry_base: std::time::Duration::from_secs(5),
            retry_max: std::time::Duration::from_secs(3600),
            max_attempts: 15,
            poll_interval: std::time::Duration::from_secs(1),
            sweep_interval: std::time::Duration::from_secs(300),
        }
    }
}

/// Parses `10.0.0.0/8,::1/128` (a bare address is one host).
pub fn parse_networks(list: &str) -> Result<Vec<(std::net::IpAddr, u8)>, String> {
    let bad = |n: &str| format!("PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS: {n:?} is not an address or CIDR");
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            let (addr, len) = n.split_once('/').unwrap_or((n, ""));
            let ip: std::net::IpAddr = addr.parse().map_err(|_| bad(n))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = if len.is_empty() {
                max
            } else {
                len.parse::<u8>().map_err(|_| bad(n))?
            };
            if len > max {
                return Err(bad(n));
            }
            Ok((ip, len))
        })
        .collect()
}

impl Settings {
    /// Reads the environment. Bad values are errors naming the variable, not
    /// silent defaults.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let data_dir = PathBuf::from(var("PILOTLEDGER_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url =
            var("DATABASE_URL").unwrap_or_else(|| format!("sqlite://{}", data_dir.join("pilotledger.db").display()));
        let read_database_url = var("PILOTLEDGER_READ_DATABASE_URL");
        if let Some(url) = &read_database_url {
            if !url.starts_with("postgres://") || !database_url.starts_with("postgres://") {
                return Err(
                    "PILOTLEDGER_READ_DATABASE_URL: a read replica is a postgres:// URL beside a postgres:// \
                     DATABASE_URL (SQLite has no replicas)"
                        .into(),
                );
            }
        }
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
            oidc: oidc_from_env(&var)?,
            alerts: {
                let ms = |name: &str, default: u32| -> Result<std::time::Duration, String> {
                    Ok(std::time::Duration::from_millis(u64::from(
                        number(name, default)?.max(1),
                    )))
                };
                AlertSettings {
                    allowed_networks: parse_networks(&var("PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS").unwrap_or_default())?,
                    webhook_timeout: ms("PILOTLEDGER_WEBHOOK_TIMEOUT_MS", 10_000)?,
                    retry_base: ms("PILOTLEDGER_WEBHOOK_RETRY_BASE_MS", 5_000)?,
                    retry_max: ms("PILOTLEDGER_WEBHOOK_RETRY_MAX_MS", 3_600_000)?,
                    max_attempts: number("PILOTLEDGER_WEBHOOK_MAX_ATTEMPTS", 15)?.max(1),
                    poll_interval: ms("PILOTLEDGER_WEBHOOK_POLL_MS", 1_000)?,
                    sweep_interval: std::time::Duration::from_secs(u64::from(
                        number("PILOTLEDGER_ALERT_SWEEP_SECS", 300)?.max(1),
                    )),
                }
            },
            database_url,
            read_database_url,
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

fn oidc_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<OidcSettings>, String> {
    let issuer = var("PILOTLEDGER_OIDC_ISSUER").map(|v| v.trim_end_matches('/').to_owned());
    let jwks_url = var("PILOTLEDGER_JWKS_URL");
    if issuer.is_none() && jwks_url.is_none() {
        return Ok(None);
    }
    for (name, url) in [
        ("PILOTLEDGER_OIDC_ISSUER", &issuer),
        ("PILOTLEDGER_JWKS_URL", &jwks_url),
    ] {
        if let Some(url) = url {
            if !is_acceptable_provider_url(url) {
                return Err(format!(
                    "{name} must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1]); got {url:?}"
                ));
            }
        }
    }
    let role_map_text = var("PILOTLEDGER_OIDC_ROLE_MAP").ok_or(
        "PILOTLEDGER_OIDC_ROLE_MAP is required with OIDC on: say which group gives which role, e.g. \
         pilotledger-finance=finance,pilotledger-admins=admin",
    )?;
    let mut role_map = Vec::new();
    for pair in role_map_text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (value, role) = pair
            .rsplit_once('=')
            .ok_or_else(|| format!("PILOTLEDGER_OIDC_ROLE_MAP: {pair:?} is not value=role"))?;
        let (value, role) = (value.trim(), role.trim());
        if value.is_empty() || !ROLE_NAMES.contains(&role) {
            return Err(format!(
                "PILOTLEDGER_OIDC_ROLE_MAP: {pair:?} needs a value and one of the roles {}",
                ROLE_NAMES.join(", ")
            ));
        }
        role_map.push((value.to_owned(), role.to_owned()));
    }
    if role_map.is_empty() {
        return Err("PILOTLEDGER_OIDC_ROLE_MAP maps no value to a role".into());
    }
    let refresh_secs = match var("PILOTLEDGER_OIDC_REFRESH_MIN_SECS") {
        None => 30,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=86_400).contains(n))
            .ok_or("PILOTLEDGER_OIDC_REFRESH_MIN_SECS must be a number of seconds from 1 to 86400")?,
    };
    Ok(Some(OidcSettings {
        issuer,
        jwks_url,
        client_id: var("PILOTLEDGER_OIDC_CLIENT_ID"),
        scopes: var("PILOTLEDGER_OIDC_SCOPES").unwrap_or_else(|| "openid profile email".into()),
        roles_claim: var("PILOTLEDGER_OIDC_ROLES_CLAIM").unwrap_or_else(|| "groups".into()),
        role_map,
        org_claim: var("PILOTLEDGER_OIDC_ORG_CLAIM"),
        local_tokens: match var("PILOTLEDGER_OIDC_LOCAL_TOKENS").as_deref() {
            None | Some("off") => LocalTokens::Off,
            Some("operator") => LocalTokens::Operator,
            Some("all") => LocalTokens::All,
            Some(_) => return Err("PILOTLEDGER_OIDC_LOCAL_TOKENS must be off, operator or all".into()),
        },
        refresh_min: std::time::Duration::from_secs(refresh_secs),
    }))
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

    #[test]
    fn oidc_settings_are_checked_naming_the_variable() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        assert!(oidc_from_env(&env(&[])).unwrap().is_none());
        let on = oidc_from_env(&env(&[
            ("PILOTLEDGER_OIDC_ISSUER", "https://idp.example.com/realms/acme/"),
            ("PILOTLEDGER_OIDC_ROLE_MAP", "pl-admins=admin, a=b=finance"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(on.issuer.as_deref(), Some("https://idp.example.com/realms/acme"));
        assert_eq!(
            on.role_map,
            vec![("pl-admins".into(), "admin".into()), ("a=b".into(), "finance".into())]
        );
        assert_eq!(on.local_tokens, LocalTokens::Off);
        assert_eq!(on.refresh_min, std::time::Duration::from_secs(30));
        let err = |pairs| oidc_from_env(&env(pairs)).unwrap_err();
        assert!(err(&[("PILOTLEDGER_OIDC_ISSUER", "https://idp")]).contains("PILOTLEDGER_OIDC_ROLE_MAP is required"));
        assert!(err(&[
            ("PILOTLEDGER_OIDC_ISSUER", "http://idp.example.com"),
            ("PILOTLEDGER_OIDC_ROLE_MAP", "g=admin")
        ])
        .contains("PILOTLEDGER_OIDC_ISSUER must be an https:// URL"));
        assert!(err(&[
            ("PILOTLEDGER_JWKS_URL", "https://idp/jwks"),
            ("PILOTLEDGER_OIDC_ROLE_MAP", "g=boss")
        ])
        .contains("one of the roles"));
        assert!(err(&[
            ("PILOTLEDGER_JWKS_URL", "https://idp/jwks"),
            ("PILOTLEDGER_OIDC_ROLE_MAP", "g=admin"),
            ("PILOTLEDGER_OIDC_LOCAL_TOKENS", "yes")
        ])
        .contains("PILOTLEDGER_OIDC_LOCAL_TOKENS"));
    }

    #[test]
    fn provider_urls_are_https_or_loopback_http() {
        for ok in [
            "https://idp.example.com",
            "http://127.0.0.1:8080/x",
            "http://localhost/",
            "http://[::1]:9/",
        ] {
            assert!(is_acceptable_provider_url(ok), "{ok}");
        }
        for bad in [
            "http://idp.example.com",
            "http://127.0.0.1.evil.com/",
            "ftp://x",
            "https://",
            "http://localhost.evil/",
        ] {
            assert!(!is_acceptable_provider_url(bad), "{bad}");
        }
    }
}
