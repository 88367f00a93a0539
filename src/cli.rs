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
#[command(
    name = "pilotledger",
    version,
    about = "Tracks the return on enterprise AI pilots."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default). Configuration comes from the environment.
    Serve,
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
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
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
        } => create_org(
            &settings,
            name,
            industry,
            size_band,
            region,
            reporting_currency,
        ),
        Command::Token {
            command:
                TokenCommand::Mint {
                    org,
                    role,
                    ttl,
                    label,
                },
        } => mint_token(&settings, org, &role, ttl, &label),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
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
    let body = crate::routes::orgs::CreateOrgBody {
        name,
        industry: Industry::parse(&industry)
            .ok_or_else(|| anyhow::anyhow!("--industry must be one of {}", Industry::expected()))?,
        size_band: SizeBand::parse(&size_band).ok_or_else(|| {
            anyhow::anyhow!("--size-band must be one of {}", SizeBand::expected())
        })?,
        region,
        reporting_currency,
    };
    let new =
        crate::routes::orgs::NewOrg::try_from(body).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let pool = open_database(settings)?;
    let mut conn = pool.get()?;
    let id = OrgId::new();
    let row = new.into_row(id);
    let actor = crate::db::audit::Actor {
        sub: "cli".into(),
        role: "operator",
    };
    crate::db::write_tx(&mut conn, |c| -> Result<(), crate::db::DbError> {
        crate::db::orgs::insert(c, &row)?;
        let after = serde_json::to_value(&row).ok();
        crate::db::audit::record(
            c,
            Some(id),
            &actor,
            "org.create",
            "org",
            &row.id,
            None,
            after.as_ref(),
        )
    })?;
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::routes::views::OrgJson::from(row))?
    );
    Ok(())
}

fn mint_token(
    settings: &Settings,
    org: Option<String>,
    role: &str,
    ttl: i64,
    label: &str,
) -> anyhow::Result<()> {
    let role: Role = role.parse().map_err(|_| {
        anyhow::anyhow!("--role must be member, finance, admin, researcher or operator")
    })?;
    if !(1..=3650).contains(&ttl) {
        anyhow::bail!("--ttl must be from 1 to 3650 days");
    }
    let org = match (org, role.is_org_scoped()) {
        (Some(o), true) => {
            Some(OrgId::parse(&o).ok_or_else(|| anyhow::anyhow!("--org must be a UUID"))?)
        }
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
    let (jwt, _) =
        crate::routes::tokens::issue_token(&mut conn, &keys, org, role, label, ttl, "cli")
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    println!("{jwt}");
    Ok(())
}
