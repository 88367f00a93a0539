//! The command line: `serve` (the default), `migrate`, `org create`, `token mint`.
//! Offline commands work on the same database and secret as the server.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::config::Settings;
use crate::domain::enums::{Industry, SizeBand};
use crate::domain::ids::OrgId;
use crate::startup::{load_keys, open_database, Application};

#[derive(Parser)]
#[command(name = "pilotledger", version, about = "Tracks the return on enterprise AI pilots.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default). Configuration comes from the environment.
    Serve {
        /// Seed realistic demo data on first start (when the database is empty).
        #[arg(long)]
        demo: bool,
    },
    /// Import pilots and entries from a CSV or NDJSON file (the format of
    /// POST /v1/import; see docs/import-template.csv) into one organisation,
    /// all or nothing, with a progress line.
    Import {
        /// The file: .csv, or .ndjson/.jsonl.
        file: std::path::PathBuf,
        /// The organisation to import into.
        #[arg(long)]
        org: String,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Run pending database migrations and exit.
    Migrate,
    /// Manage organisations offline.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage tokens offline.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Generate synthetic but realistic organisations, pilots, entries and FX
    /// rates, deterministic for a seed, and write them to the database.
    Seed {
        #[arg(long, default_value_t = 40)]
        orgs: u32,
        #[arg(long, default_value_t = 25)]
        pilots_per_org: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation and print it as JSON.
    Create {
        #[arg(long)]
        name: String,
        /// One of the fixed sectors, e.g. industrials, financials.
        #[arg(long)]
        industry: String,
        /// lt250, 250_999, 1000_9999 or 10000_plus.
        #[arg(long)]
        size_band: String,
        /// ISO 3166-1 alpha-2, e.g. DE.
        #[arg(long)]
        region: String,
        /// ISO 4217, e.g. EUR.
        #[arg(long)]
        reporting_currency: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint a token with the server's secret, record it (so it can be revoked)
    /// and print it.
    Mint {
        /// Organisation id; required for member, finance and admin.
        #[arg(long)]
        org: Option<String>,
        /// member, finance, admin, researcher or operator.
        #[arg(long)]
        role: String,
        /// Lifetime in days.
        #[arg(long, default_value_t = 30)]
        ttl: i64,
        #[arg(long, default_value = "cli")]
        label: String,
        /// Print a dashboard sign-in link (for local use) instead of the bare token.
        #[arg(long)]
        print_url: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => serve(settings, demo),
        Command::Demo {
            command:
                DemoCommand::Seed {
                    orgs,
                    pilots_per_org,
                    seed,
                },
        } => demo_seed(&settings, orgs, pilots_per_org, seed, false).map(|_| ()),
        Command::Import { file, org } => import_file(&settings, &file, &org),
        Command::Migrate => open_database(&settings).map(|_| println!("migrations are up to date")),
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    industry,
                    size_band,
                    region,
                    reporting_currency,
                },
        } => create_org(&settings, name, industry, size_band, region, reporting_currency),
        Command::Token {
            command:
                TokenCommand::Mint {
                    org,
                    role,
                    ttl,
                    label,
                    print_url,
                },
        } => mint_token(&settings, org, &role, ttl, &label, print_url),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes demo data; with `only_if_empty`, does nothing when an organisation
/// exists already. Returns whether it seeded.
pub fn demo_seed(
    settings: &Settings,
    orgs: u32,
    pilots_per_org: u32,
    seed: u64,
    only_if_empty: bool,
) -> anyhow::Result<bool> {
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    if only_if_empty && !crate::db::seed::is_empty(&mut conn)? {
        return Ok(false);
    }
    let cfg = crate::demo::DemoConfig {
        orgs,
        pilots_per_org,
        seed,
        today: chrono::Utc::now().date_naive(),
    };
    crate::db::write_tx(&mut conn, |c| {
        crate::db::seed::insert_fx_rates(c, &crate::demo::fx_rates(&cfg))
    })?;
    let fx = crate::db::fx::table(&mut conn)?;
    let started = std::time::Instant::now();
    for i in 0..orgs {
        let batch = crate::demo::org_batch(&cfg, i);
        crate::db::write_tx(&mut conn, |c| crate::db::seed::insert_org_batch(c, &batch, &fx))?;
        if (i + 1) % 100 == 0 || i + 1 == orgs {
            let rate = f64::from(i + 1) * f64::from(pilots_per_org) / started.elapsed().as_secs_f64().max(1e-9);
            eprintln!("seeded {}/{orgs} organisations ({rate:.0} pilots/s)", i + 1);
        }
    }
    Ok(true)
}

fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo && demo_seed(&settings, 40, 25, 1, true)? {
        println!("Seeded demo data: 40 organisations × 25 pilots (seed 1).");
    }
    actix_web::rt::System::new().block_on(async move {
        let addr = settings.addr.clone();
        let app = Application::build(settings).await?;
        let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        let base = format!("http://{host}:{}", app.port());
        if let Some(token) = &app.first_start_token {
            println!("First start: generated a JWT secret in the data folder.");
            println!("One-time operator token (valid 30 days; keep it safe):\n\n  {token}\n");
            println!("Try it:\n\n  curl -s -H 'Authorization: Bearer {token}' {base}/v1/orgs\n");
        }
        tracing::info!(%base, "pilotledger listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn create_org(
    settings: &Settings,
    name: String,
    industry: String,
    size_band: String,
    region: String,
    reporting_currency: String,
) -> anyhow::Result<()> {
    let body = crate::ledger::orgs::CreateOrgBody {
        name,
        industry: Industry::parse(&industry)
            .ok_or_else(|| anyhow::anyhow!("--industry must be one of {}", Industry::expected()))?,
        size_band: SizeBand::parse(&size_band)
            .ok_or_else(|| anyhow::anyhow!("--size-band must be one of {}", SizeBand::expected()))?,
        region,
        reporting_currency,
        fx_rate_required: false,
    };
    let new = crate::ledger::orgs::NewOrg::try_from(body).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    let id = OrgId::new();
    let row = new.into_row(id);
    let actor = crate::db::audit::Actor {
        sub: "cli".into(),
        role: "operator",
    };
    crate::db::write_tx(&mut conn, |c| crate::ledger::orgs::create(c, &row, &actor))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::ledger::views::OrgJson::from(row))?
    );
    Ok(())
}

fn mint_token(
    settings: &Settings,
    org: Option<String>,
    role: &str,
    ttl: i64,
    label: &str,
    print_url: bool,
) -> anyhow::Result<()> {
    let role: Role = role
        .parse()
        .map_err(|_| anyhow::anyhow!("--role must be member, finance, admin, researcher or operator"))?;
    let max_days = i64::from(settings.max_token_ttl_days);
    if !(1..=max_days).contains(&ttl) {
        anyhow::bail!("--ttl must be from 1 to {max_days} days (PILOTLEDGER_MAX_TOKEN_TTL_DAYS)");
    }
    let org = match (org, role.is_org_scoped()) {
        (Some(o), true) => Some(OrgId::parse(&o).ok_or_else(|| anyhow::anyhow!("--org must be a UUID"))?),
        (None, false) => None,
        (None, true) => anyhow::bail!("--org is required for role {role}"),
        (Some(_), false) => anyhow::bail!("--org must not be given for role {role}"),
    };
    let pool = open_database(settings)?;
    let (keys, _) = load_keys(settings)?;
    let mut conn = pool.get()?;
    if let Some(o) = org {
        crate::db::orgs::find(&mut conn, o).map_err(|_| anyhow::anyhow!("no organisation {o}"))?;
    }
    let token = crate::ledger::tokens::NewToken {
        org,
        role,
        label,
        ttl_days: ttl,
        created_by: "cli",
        minted_by: None,
    };
    let (jwt, _) =
        crate::ledger::tokens::issue_token(&mut conn, &keys, token).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    if print_url {
        // The token travels in the fragment, which browsers never send to a
        // server; the dashboard moves it into sessionStorage and clears it.
        println!("http://{}/#token={jwt}", settings.addr);
    } else {
        println!("{jwt}");
    }
    Ok(())
}

fn import_file(settings: &Settings, file: &std::path::Path, org: &str) -> anyhow::Result<()> {
    use crate::ledger::import::{apply, parse_file, ImportFormat};
    let org = OrgId::parse(org).ok_or_else(|| anyhow::anyhow!("--org must be a UUID"))?;
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("csv") => ImportFormat::Csv,
        Some("ndjson" | "jsonl") => ImportFormat::Ndjson,
        _ => anyhow::bail!("the file must end in .csv, .ndjson or .jsonl"),
    };
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let started = std::time::Instant::now();
    let lines = bytecount_lines(&bytes);
    let progress = |rows: usize| {
        let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let done = (rows * 30 / lines).min(30);
        eprint!(
            "\r[{}{}] {rows} rows validated ({rate:.0} rows/s)",
            "#".repeat(done),
            " ".repeat(30 - done)
        );
    };
    let rows = match parse_file(&bytes, format, progress) {
        Ok(rows) => rows,
        Err(errors) => {
            eprintln!();
            let total = errors.total();
            for e in errors.into_listed().iter().take(50) {
                eprintln!(
                    "row {}: {}{}",
                    e.row,
                    e.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(),
                    e.reason
                );
            }
            anyhow::bail!("{total} row(s) rejected; nothing was imported");
        }
    };
    eprintln!();
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    crate::db::orgs::find(&mut conn, org).map_err(|_| anyhow::anyhow!("no organisation {org}"))?;
    let actor = crate::db::audit::Actor {
        sub: "cli import".into(),
        role: "operator",
    };
    let summary = crate::db::write_tx(&mut conn, |c| apply(c, org, &actor, rows)).map_err(|e| {
        let rows: Vec<String> = e
            .errors
            .map(|errors| errors.into_listed())
            .into_iter()
            .flatten()
            .take(50)
            .map(|r| format!("row {}: {}", r.row, r.reason))
            .collect();
        anyhow::anyhow!("{}\n{}", e.detail, rows.join("\n"))
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {} rows in {secs:.2} s ({:.0} rows/s)",
        summary.rows,
        summary.rows as f64 / secs.max(1e-9)
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Rows in the file (for the progress bar): its line count, at least 1.
fn bytecount_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count().max(1)
}
