//! The command line: `serve` (the default), `migrate`, `org create`, `token mint`,
//! `import`, `demo seed`. Offline commands work on the same database and secret
//! as the server; only `serve`, `migrate` and `demo seed` create a database
//! that is not there (the others refuse, unless given `--create`), so a
//! command run from the wrong folder says so instead of starting a new ledger.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::auth::Role;
use crate::config::Settings;
use crate::domain::enums::{Industry, SizeBand};
use crate::domain::ids::OrgId;
use crate::startup::{load_keys, open_database, open_existing_database, require_generated_secret, Application};

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
    /// all or nothing, with a progress line. A file already imported into the
    /// organisation (same content, by SHA-256) is not imported again.
    Import {
        /// The file: .csv, or .ndjson/.jsonl.
        file: std::path::PathBuf,
        /// The organisation to import into.
        #[arg(long)]
        org: String,
        /// Import the file even if this content was imported before.
        #[arg(long)]
        force: bool,
        /// Create the database if there is none (instead of refusing).
        #[arg(long)]
        create: bool,
    },
    /// Import a FOCUS 1.0–1.2 bill (CSV, plain or gzip) into one
    /// organisation: the same as POST /v1/spend-sources/focus, with a
    /// progress bar (rows/s) on stderr. Importing the same bill again writes
    /// nothing; a corrected bill replaces the earlier entries by reversals.
    #[command(name = "import-focus")]
    ImportFocus {
        /// The bill: .csv or .csv.gz.
        file: std::path::PathBuf,
        /// The organisation to import into.
        #[arg(long)]
        org: String,
        /// The FOCUS version (1.0, 1.1, 1.2); by default taken from the columns.
        #[arg(long)]
        focus_version: Option<String>,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Copy the SQLite database to FILE while the server runs (a consistent
    /// snapshot, VACUUM INTO). On PostgreSQL: use pg_dump (README, Backups).
    Backup {
        /// Where to write the copy; must not exist.
        file: std::path::PathBuf,
    },
    /// Put a backup taken with `backup` in place of a database that does not
    /// exist yet (an empty data folder), migrate it and check it.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
    },
    /// Verify the database: migrations current, every running total and
    /// rollup equal to a recomputation from the entries, foreign keys intact.
    Check,
    /// Run pending database migrations and exit.
    Migrate {
        /// List the migrations that would run, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
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
        /// Create the database if there is none (instead of refusing).
        #[arg(long)]
        create: bool,
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
        /// Create the database and secret if there are none (instead of refusing).
        #[arg(long)]
        create: bool,
    },
}

pub fn main() -> ExitCode {
    // Every setting with its default, from the one table in `config`.
    let settings_help = crate::config::settings_help();
    let command = Cli::command()
        .after_help(settings_help.clone())
        .mut_subcommand("serve", |serve| serve.after_help(settings_help));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(settings.log_format, settings.otlp.as_ref());
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
        Command::Import {
            file,
            org,
            force,
            create,
        } => import_file(&settings, &file, &org, force, create),
        Command::ImportFocus {
            file,
            org,
            focus_version,
        } => import_focus(&settings, &file, &org, focus_version.as_deref()),
        Command::Backup { file } => backup(&settings, &file),
        Command::Restore { file } => restore(&settings, &file),
        Command::Check => check(&settings),
        Command::Migrate { dry_run: false } => open_database(&settings).map(|_| println!("migrations are up to date")),
        Command::Migrate { dry_run: true } => pending_migrations(&settings),
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    industry,
                    size_band,
                    region,
                    reporting_currency,
                    create,
                },
        } => create_org(&settings, name, industry, size_band, region, reporting_currency, create),
        Command::Token {
            command:
                TokenCommand::Mint {
                    org,
                    role,
                    ttl,
                    label,
                    print_url,
                    create,
                },
        } => mint_token(&settings, org, &role, ttl, &label, print_url, create),
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
    if crate::db::seed::has_demo_data(&mut conn)? {
        anyhow::bail!(
            "this database already holds demo data; seeding again would duplicate it. For another demo, \
             point DATABASE_URL (or PILOTLEDGER_DATA_DIR) at a fresh database"
        );
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
        let mut banner = String::new();
        if let Some(token) = &app.first_start_token {
            banner.push_str("First start: generated a JWT secret in the data folder.\n");
            banner.push_str(&format!(
                "One-time operator token (valid 30 days; keep it safe):\n\n  {token}\n\n"
            ));
            banner.push_str(&format!(
                "Try it:\n\n  curl -s -H 'Authorization: Bearer {token}' {base}/v1/orgs\n\n"
            ));
        }
        banner.push_str(&mint_hint());
        // A closed stdout (the reader went away) must not stop the server,
        // as println! would by panicking.
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
        }
        tracing::info!(%base, "pilotledger listening");
        app.run_until_stopped().await?;
        Ok(())
    })
}

/// How to get a new operator token, for the start banner.
fn mint_hint() -> String {
    "New operator token (e.g. the first one was lost): run\n\n  pilotledger token mint --role operator\n\n\
     with the server's PILOTLEDGER_DATA_DIR and DATABASE_URL.\n"
        .to_owned()
}

/// The database for an offline command: an existing one, or with `create` a
/// new one.
fn database_for(settings: &Settings, create: bool) -> anyhow::Result<crate::db::Pool> {
    if create {
        open_database(settings)
    } else {
        open_existing_database(settings)
    }
}

fn create_org(
    settings: &Settings,
    name: String,
    industry: String,
    size_band: String,
    region: String,
    reporting_currency: String,
    create: bool,
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
    let pool = database_for(settings, create)?;
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
    create: bool,
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
    if !create {
        require_generated_secret(settings)?;
    }
    let pool = database_for(settings, create)?;
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

fn import_file(
    settings: &Settings,
    file: &std::path::Path,
    org: &str,
    force: bool,
    create: bool,
) -> anyhow::Result<()> {
    use crate::ledger::import::{apply, parse_file, ImportFormat};
    use sha2::Digest as _;
    let org = OrgId::parse(org).ok_or_else(|| anyhow::anyhow!("--org must be a UUID"))?;
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("csv") => ImportFormat::Csv,
        Some("ndjson" | "jsonl") => ImportFormat::Ndjson,
        _ => anyhow::bail!("the file must end in .csv, .ndjson or .jsonl"),
    };
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    // The content, not the name, is the file's idempotency key: a renamed
    // copy is the same import, an edited file a new one.
    let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
    let pool = database_for(settings, create)?;
    let mut conn = pool.get()?;
    crate::db::orgs::find(&mut conn, org).map_err(|_| anyhow::anyhow!("no organisation {org}"))?;
    if !force {
        if let Some(before) = crate::db::imported_files::find(&mut conn, org, &sha256)? {
            eprintln!(
                "{} was already imported at {} UTC ({} rows, as {}); nothing was written (use --force to import \
                 it again)",
                file.display(),
                before.imported_at.format("%Y-%m-%d %H:%M:%S"),
                before.row_count,
                before.file_name
            );
            return Ok(());
        }
    }
    let started = std::time::Instant::now();
    let bar = Progress::new(bytecount_lines(&bytes, format), started);
    let rows = match parse_file(&bytes, format, |rows| bar.show(rows, "validated")) {
        Ok(rows) => rows,
        Err(rejection) => {
            eprintln!();
            let errors = rejection.check_pilots(&mut conn, org)?;
            let total = errors.total();
            for e in errors.into_listed().iter().take(50) {
                eprintln!(
                    "row {}: {}{}",
                    e.row,
                    e.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default(),
                    e.reason
                );
            }
            anyhow::bail!("{total} problem(s) found; nothing was imported");
        }
    };
    let count = rows.len();
    bar.finish(count, "validated");
    eprint!("\rwriting {count} rows…");
    let actor = crate::db::audit::Actor {
        sub: "cli import".into(),
        role: "operator",
    };
    let record = crate::db::imported_files::ImportedFileView {
        org_id: org.to_string(),
        sha256,
        file_name: file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        row_count: count as i64,
        imported_at: crate::db::now(),
    };
    let summary = crate::db::write_tx(&mut conn, |c| {
        let summary = apply(c, org, &actor, rows)?;
        crate::db::imported_files::record(c, &record)?;
        Ok::<_, crate::error::ApiError>(summary)
    })
    .map_err(|e| {
        eprintln!();
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
    bar.finish(summary.rows, "written");
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {} rows in {secs:.2} s ({:.0} rows/s)",
        summary.rows,
        summary.rows as f64 / secs.max(1e-9)
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// `import-focus FILE --org ID`: reads the bill as a stream (memory flat in
/// its size), showing a bar of the bytes read and the rows per second, then
/// writes it in one transaction.
fn import_focus(settings: &Settings, file: &std::path::Path, org: &str, version: Option<&str>) -> anyhow::Result<()> {
    use crate::billing::focus::{self, Options};
    use sha2::Digest as _;
    let org = OrgId::parse(org).ok_or_else(|| anyhow::anyhow!("--org must be a UUID"))?;
    let pool = database_for(settings, false)?;
    let mut conn = pool.get()?;
    crate::db::orgs::find(&mut conn, org).map_err(|_| anyhow::anyhow!("no organisation {org}"))?;
    let rules =
        crate::ledger::spend_sources::rules_for_import(&mut conn, org).map_err(|e| anyhow::anyhow!(e.detail))?;
    let cost = crate::ledger::spend_sources::cost_column(&mut conn, org).map_err(|e| anyhow::anyhow!(e.detail))?;
    let opened = std::fs::File::open(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let size = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let read_so_far = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    struct Counting<R> {
        inner: R,
        hash: sha2::Sha256,
        read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }
    impl<R: std::io::Read> std::io::Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.hash.update(&buf[..n]);
            self.read.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(n)
        }
    }
    let mut counting = Counting {
        inner: std::io::BufReader::with_capacity(1 << 16, opened),
        hash: sha2::Sha256::new(),
        read: read_so_far.clone(),
    };
    let started = std::time::Instant::now();
    let opts = Options {
        cost,
        version,
        rules: &rules,
        max_rows: settings.max_focus_rows,
    };
    let show = |rows: u64| {
        let done = read_so_far.load(std::sync::atomic::Ordering::Relaxed);
        let width = 30usize;
        let filled = ((done as f64 / size.max(1) as f64) * width as f64).min(width as f64) as usize;
        let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\r[{}{}] {rows} rows read ({rate:.0} rows/s)   ",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
    };
    let plan = {
        let reader = focus::decompressed(&mut counting)?;
        focus::read(
            crate::billing::Limited::new(reader, settings.max_focus_bytes),
            &opts,
            show,
        )
    };
    // Whatever the reader left unread still counts for the file's hash.
    std::io::copy(&mut counting, &mut std::io::sink())?;
    eprintln!();
    let plan = plan.map_err(|r| {
        let e = crate::ledger::spend_sources::rejected(r);
        let rows: Vec<String> = e
            .errors
            .map(|errors| errors.into_listed())
            .into_iter()
            .flatten()
            .take(50)
            .map(|r| {
                format!(
                    "row {}: {}{}",
                    r.row,
                    r.field.map(|f| format!("{f}: ")).unwrap_or_default(),
                    r.reason
                )
            })
            .collect();
        anyhow::anyhow!(
            "{}{}\n{}",
            e.field.map(|f| format!("{f}: ")).unwrap_or_default(),
            e.detail,
            rows.join("\n")
        )
    })?;
    let lines = plan.lines;
    let secs = started.elapsed().as_secs_f64();
    let sha256 = hex::encode(counting.hash.finalize());
    let actor = crate::db::audit::Actor {
        sub: "cli import-focus".into(),
        role: "operator",
    };
    let meta = crate::ledger::spend_sources::ImportMeta { kind: "focus", sha256 };
    let report = crate::db::write_tx(&mut conn, |c| {
        crate::ledger::spend_sources::apply(c, org, &actor, plan, meta)
    })
    .map_err(|e| anyhow::anyhow!(e.detail))?;
    eprintln!(
        "read {lines} rows in {secs:.2} s ({:.0} rows/s); {} entries written, {} reversed, {} unchanged",
        lines as f64 / secs.max(1e-9),
        report.entries_created,
        report.entries_reversed,
        report.entries_unchanged
    );
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The import's progress line: a bar of the rows expected, redrawn in place.
struct Progress {
    expected: usize,
    started: std::time::Instant,
}

impl Progress {
    const WIDTH: usize = 30;

    fn new(expected: usize, started: std::time::Instant) -> Self {
        Self { expected, started }
    }

    fn show(&self, rows: usize, phase: &str) {
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let done = (rows * Self::WIDTH / self.expected.max(1)).min(Self::WIDTH);
        eprint!(
            "\r[{}{}] {rows} rows {phase} ({rate:.0} rows/s)   ",
            "#".repeat(done),
            " ".repeat(Self::WIDTH - done)
        );
    }

    /// The full bar: the estimate from line counts is only an estimate.
    fn finish(&self, rows: usize, phase: &str) {
        eprint!("\r[{}] {rows} rows {phase}          ", "#".repeat(Self::WIDTH));
    }
}

/// Rows expected in the file (for the progress bar): its line count, less
/// the CSV header, at least 1.
fn bytecount_lines(bytes: &[u8], format: crate::ledger::import::ImportFormat) -> usize {
    let lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    let header = usize::from(format == crate::ledger::import::ImportFormat::Csv);
    lines.saturating_sub(header).max(1)
}

/// `backup FILE`: a consistent copy of the SQLite database, taken in one read
/// transaction while the server goes on writing.
fn backup(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    if crate::db::backend_of(&settings.database_url) != Some(crate::db::Backend::Sqlite) {
        anyhow::bail!(
            "backup copies SQLite databases; for PostgreSQL use pg_dump -Fc (README, Backups), \
             and pg_restore to bring it back"
        );
    }
    if file.exists() {
        anyhow::bail!("{} exists already; backup never overwrites a file", file.display());
    }
    let pool = open_existing_database(settings)?;
    let mut conn = pool.get()?;
    let target = file
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the backup path is not UTF-8"))?;
    crate::db::backup_sqlite(&mut conn, target)?;
    restrict(file)?;
    println!(
        "backed up {} to {}",
        crate::db::sqlite_path(&settings.database_url),
        file.display()
    );
    Ok(())
}

/// `restore FILE`: the backup becomes the database, which must not exist yet.
fn restore(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    if crate::db::backend_of(&settings.database_url) != Some(crate::db::Backend::Sqlite) {
        anyhow::bail!("restore puts back SQLite backups; for PostgreSQL use pg_restore (README, Backups)");
    }
    let target = std::path::Path::new(crate::db::sqlite_path(&settings.database_url)).to_path_buf();
    if target.exists() {
        anyhow::bail!(
            "{} exists: restore only into a data folder without a database (move the old one aside first)",
            target.display()
        );
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::copy(file, &target)?;
    restrict(&target)?;
    // An older backup is brought up to this build's schema, then checked.
    open_database(settings)?;
    println!("restored {} to {}", file.display(), target.display());
    check(settings)
}

/// `check`: exits non-zero when anything is off, naming each problem.
fn check(settings: &Settings) -> anyhow::Result<()> {
    let pool = open_existing_database(settings)?;
    let mut conn = pool.get()?;
    let report = crate::db::check::check(&mut conn)?;
    if report.problems.is_empty() {
        println!(
            "ok: {} organisations, {} pilots, {} entries; migrations current, running totals and rollups \
             equal to their entries",
            report.organisations, report.pilots, report.entries
        );
        return Ok(());
    }
    for p in report.problems.iter().take(50) {
        eprintln!("problem: {p}");
    }
    anyhow::bail!("{} problem(s) found", report.problems.len())
}

/// Owner-only, as the live database is.
fn restrict(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// `migrate --dry-run`: the migrations a start (or `migrate`) would apply.
fn pending_migrations(settings: &Settings) -> anyhow::Result<()> {
    let pool = crate::db::build_pool(&settings.database_url, 1, std::time::Duration::from_secs(10))?;
    let mut conn = pool
        .get()
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    let pending = crate::db::pending_migrations(&mut conn)?;
    if pending.is_empty() {
        println!("no pending migrations: the database is up to date");
    } else {
        println!("{} pending migration(s), oldest first:", pending.len());
        for name in pending {
            println!("  {name}");
        }
    }
    Ok(())
}
