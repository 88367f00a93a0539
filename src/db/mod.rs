//! Storage: the two-backend connection, its pool, embedded migrations and the
//! transaction helpers. Only this module imports diesel. Every tenant query takes
//! an `OrgId` first; cross-organisation reads live in `research.rs` alone.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds
//! `LIMIT ?`, and SQLite re-prepares a statement whose bound LIMIT changed
//! state on every execution (a profile of the write path found ~19 % of the
//! group-commit writer's time re-preparing such statements).
//!
//! Row types inserted many at a time say `treat_none_as_default_value =
//! false` (their optional columns have no database default, so `None` is
//! NULL either way): otherwise diesel cannot write a multi-row INSERT for
//! SQLite, which has no DEFAULT keyword, and inserts row by row inside a
//! savepoint instead.

pub mod alert_row;
pub mod alerts;
pub mod append;
pub mod audit;
pub mod budgets;
pub mod changes;
pub mod check;
pub mod entries;
pub mod entry_batch;
pub mod executor;
pub mod facts;
pub mod fixed_sql;
pub mod fx;
pub mod gate;
pub mod group_commit;
pub mod idempotency;
pub mod idp_bindings;
pub mod imported_files;
pub mod interrupt;
pub mod observe;
pub mod org_share;
pub mod orgs;
pub mod pilot_versions;
pub mod pilots;
pub mod research;
pub mod rollups;
pub mod schema;
pub mod secrets;
pub mod seed;
pub mod spend_sources;
pub mod stamp_reader;
pub mod tokens;
pub mod totals;
pub mod webhooks;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to whichever backend the configuration chose.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// Which database engine a URL points at, decided from its scheme (the derived
/// `MultiConnection::establish` would try each backend and hide the real error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool of connections, shared by every request through [`executor::Executor`].
pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Errors from the storage layer. Callers see them through [`DbError::kind`],
/// which `crate::error` maps to HTTP once, centrally; diesel's own error type
/// never leaves this module.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// The work did not finish within the request's time limit (it may still
    /// finish in the background).
    #[error("database work timed out")]
    Timeout,
    /// The request's time limit passed while its write was committing: it may
    /// or may not have landed (see `db::gate`).
    #[error("the write's outcome is unknown")]
    OutcomeUnknown,
    /// A stored value does not parse as its type (the API never stores one).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The blocking task running the work failed (it panicked, or the runtime
    /// is shutting down).
    #[error("database task failed: {0}")]
    Task(String),
}

/// What a storage error means to a caller, without diesel's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbErrorKind {
    /// No such row.
    NotFound,
    /// A conflict the caller can name (a lost race on a unique key, say).
    Conflict(&'static str),
    /// Transient: the database is unreachable, busy or read-only; retry.
    Unavailable(String),
    /// The request's time limit passed first; nothing it started will commit.
    Timeout,
    /// The time limit passed while the write was committing.
    OutcomeUnknown,
    /// Anything else: a bug or a broken database; the cause is for the log.
    Internal(String),
}

impl DbError {
    /// Unique-constraint violations are conflicts the caller can name; busy/locked
    /// databases are transient and become 503.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// Classifies the error: the one place that reads diesel's error kinds.
    pub fn kind(&self) -> DbErrorKind {
        use diesel::result::Error as D;
        match self {
            DbError::NotFound | DbError::Query(D::NotFound) => DbErrorKind::NotFound,
            DbError::Unavailable(cause) => DbErrorKind::Unavailable(cause.clone()),
            DbError::Conflict(what) => DbErrorKind::Conflict(what),
            DbError::Query(D::DatabaseError(kind, info)) if is_transient(kind, info.message()) => {
                DbErrorKind::Unavailable(info.message().to_owned())
            }
            DbError::Query(D::BrokenTransactionManager) => DbErrorKind::Unavailable("broken connection".into()),
            // PostgreSQL's statement_timeout (the request's time limit, see
            // `with_statement_timeout`) cancelled the statement.
            DbError::Query(D::DatabaseError(_, info))
                if info.message().contains("canceling statement due to statement timeout") =>
            {
                DbErrorKind::Timeout
            }
            DbError::Timeout => DbErrorKind::Timeout,
            DbError::OutcomeUnknown => DbErrorKind::OutcomeUnknown,
            other => DbErrorKind::Internal(other.to_string()),
        }
    }
}

/// Errors that go away on retry: a lost connection, a busy or locked SQLite
/// file, a PostgreSQL restart or failover.
fn is_transient(kind: &diesel::result::DatabaseErrorKind, message: &str) -> bool {
    use diesel::result::DatabaseErrorKind as K;
    matches!(kind, K::ClosedConnection | K::SerializationFailure)
        || message.contains("database is locked")
        || message.contains("database is busy")
        || message.contains("readonly database")
        || message.contains("disk I/O error")
        || message.contains("unable to open database")
        || message.contains("server closed the connection")
        || message.contains("terminating connection")
        || message.contains("could not connect")
        || message.contains("no connection to the server")
}

impl From<r2d2::Error> for DbError {
    fn from(e: r2d2::Error) -> Self {
        DbError::Unavailable(e.to_string())
    }
}

/// Parses the backend out of a `DATABASE_URL`.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") || url.ends_with(".db") || url.ends_with(".sqlite") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// The file path inside a `sqlite://` URL (`sqlite://./data/x.db` → `./data/x.db`).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// r2d2 manager that establishes the right backend and applies SQLite's pragmas
/// on every new connection.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

/// How long a SQLite statement waits for a lock another connection holds.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 5000;

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Sqlite => {
                // Before the open, so the connection gets the deadline handler.
                interrupt::install();
                let mut conn = diesel::SqliteConnection::establish(sqlite_path(&self.url))?;
                // WAL for concurrent readers; FULL so an acknowledged commit survives
                // power loss; busy_timeout so writers queue instead of failing.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres => Ok(DbConnection::Pg(diesel::PgConnection::establish(&self.url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), diesel::ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// One connection outside the pool (with the same per-connection setup), for a
/// holder that must be able to close it for good, like the group-commit writer.
pub fn connect(url: &str) -> Result<DbConnection, DbError> {
    let backend = backend_of(url).ok_or_else(|| DbError::Unavailable("unknown database URL scheme".into()))?;
    let manager = Manager {
        url: url.to_owned(),
        backend,
    };
    r2d2::ManageConnection::connect(&manager).map_err(|e| DbError::Unavailable(e.to_string()))
}

/// `url` with PostgreSQL's `statement_timeout` set to `limit` for every session
/// it opens (libpq's `options`), so a request's statement that outlasts the
/// request is cancelled and gives its connection back instead of running on
/// after the 503. SQLite URLs, and URLs that already carry `options`, are
/// returned as they are.
pub fn with_statement_timeout(url: &str, limit: Duration) -> String {
    if backend_of(url) != Some(Backend::Postgres) || url.contains("options=") {
        return url.to_owned();
    }
    let join = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{join}options=-c%20statement_timeout%3D{}",
        limit.as_millis().max(1)
    )
}

/// Creates a missing SQLite database file, and its folder, readable by
/// this user alone (folder 0700, file 0600): the ledger is confidential.
/// SQLite gives the `-wal` and `-shm` files it creates later the mode of the
/// database file, so they are private too. Existing files are left as they are.
fn create_private_sqlite_file(path: &std::path::Path) -> Result<(), DbError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| DbError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // Another process created it first: theirs it is.
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(DbError::Unavailable(format!("cannot create {}: {e}", path.display()))),
    }
}

/// Builds the pool. The connection timeout is short so a dead database, or an
/// overloaded pool, is a fast 503, not a hung request.
pub fn build_pool(url: &str, max_size: u32, acquire_timeout: Duration) -> Result<Pool, DbError> {
    let backend = backend_of(url)
        .ok_or_else(|| DbError::Unavailable("DATABASE_URL must start with sqlite:// or postgres://".into()))?;
    if backend == Backend::Sqlite {
        create_private_sqlite_file(std::path::Path::new(sqlite_path(url)))?;
    }
    let manager = Manager {
        url: url.to_owned(),
        backend,
    };
    // Unchecked: the server starts (and answers /healthz, 503 on /readyz) even
    // while the database is still coming up.
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(acquire_timeout)
        // A PostgreSQL connection the server has closed (restart, failover)
        // only shows itself on use: test on checkout so it is replaced, not
        // handed out again. SQLite connections cannot go stale that way.
        .test_on_check_out(backend == Backend::Postgres)
        .build_unchecked(manager))
}

/// Whether pilotledger's tables are there (migrations have run at least once).
pub fn has_schema(conn: &mut DbConnection) -> bool {
    schema::orgs::table.count().get_result::<i64>(conn).is_ok()
}

/// Runs the embedded migrations for the connection's backend.
/// `VACUUM INTO`: a consistent copy of the SQLite database at `target`,
/// read in one transaction while other connections go on writing.
pub fn backup_sqlite(conn: &mut DbConnection, target: &str) -> Result<(), DbError> {
    let DbConnection::Sqlite(c) = conn else {
        return Err(DbError::Unavailable("backup_sqlite needs a SQLite database".into()));
    };
    let quoted = target.replace('\'', "''");
    c.batch_execute(&format!("VACUUM INTO '{quoted}'"))?;
    Ok(())
}

/// Runs `f` with the connection's statement time limit lifted (PostgreSQL;
/// SQLite has none): start-up work on the request pool is not a request.
pub fn without_statement_timeout<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    if let DbConnection::Pg(c) = conn {
        c.batch_execute("SET statement_timeout = 0")?;
    }
    let result = f(conn);
    if let DbConnection::Pg(c) = conn {
        // Back to the pool's own limit (the connection's startup option).
        c.batch_execute("RESET statement_timeout")?;
    }
    result
}

/// Migration versions the database has applied that this build does not
/// know: it was migrated by a newer pilotledger.
fn unknown_migrations<DB, C>(c: &mut C, known: &EmbeddedMigrations) -> Result<Vec<String>, DbError>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    use diesel::migration::MigrationSource;
    let ours: std::collections::BTreeSet<String> = known
        .migrations()
        .map_err(|e| DbError::Migration(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied = c.applied_migrations().map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied
        .into_iter()
        .map(|v| v.to_string())
        .filter(|v| !ours.contains(v))
        .collect())
}

/// Refuses a database migrated by a newer build: its schema may hold what
/// this one would misread or overwrite.
fn refuse_newer(unknown: Vec<String>) -> Result<(), DbError> {
    if unknown.is_empty() {
        return Ok(());
    }
    Err(DbError::Migration(format!(
        "this database was migrated by a newer pilotledger (migrations {} are unknown to this build); \
         run that version or a later one, or restore a backup taken before the upgrade",
        unknown.join(", ")
    )))
}

/// The migrations this build would apply, oldest first, without applying
/// them (`pilotledger migrate --dry-run`); refuses a newer database as
/// [`run_migrations`] does.
pub fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let names = match conn {
        DbConnection::Sqlite(c) => {
            refuse_newer(unknown_migrations(c, &SQLITE_MIGRATIONS)?)?;
            c.pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| DbError::Migration(e.to_string()))?
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        }
        DbConnection::Pg(c) => {
            refuse_newer(unknown_migrations(c, &POSTGRES_MIGRATIONS)?)?;
            c.pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(|e| DbError::Migration(e.to_string()))?
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        }
    };
    Ok(names)
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<(), DbError> {
    let result = match conn {
        DbConnection::Sqlite(c) => {
            refuse_newer(unknown_migrations(c, &SQLITE_MIGRATIONS)?)?;
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ())
        }
        DbConnection::Pg(c) => {
            // Several API processes may start at once over one database: a
            // session advisory lock lets one migrate while the others wait.
            use diesel::RunQueryDsl;
            // Migrations may take longer than a request's statement limit.
            diesel::sql_query("SET statement_timeout = 0")
                .execute(c)
                .map_err(DbError::from)?;
            diesel::sql_query("SELECT pg_advisory_lock(724538117)")
                .execute(c)
                .map_err(DbError::from)?;
            let result = match unknown_migrations(c, &POSTGRES_MIGRATIONS).and_then(refuse_newer) {
                Ok(()) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
                Err(refused) => {
                    let _ = diesel::sql_query("SELECT pg_advisory_unlock(724538117)").execute(c);
                    return Err(refused);
                }
            };
            let filled = match result {
                Ok(()) => Some(write_tx(conn, rollups::fill_missing)),
                Err(_) => None,
            };
            let DbConnection::Pg(c) = conn else {
                unreachable!("matched above")
            };
            diesel::sql_query("SELECT pg_advisory_unlock(724538117)")
                .execute(c)
                .map_err(DbError::from)?;
            diesel::sql_query("RESET statement_timeout")
                .execute(c)
                .map_err(DbError::from)?;
            filled.transpose()?;
            return result.map_err(|e| DbError::Migration(e.to_string()));
        }
    };
    result.map_err(|e| DbError::Migration(e.to_string()))?;
    // Pilots written before the rollups table existed get theirs now.
    write_tx(conn, rollups::fill_missing)?;
    Ok(())
}

/// Runs `f` inside a write transaction: `BEGIN IMMEDIATE` on SQLite (so a reader
/// never has to upgrade its lock mid-transaction and fail with SQLITE_BUSY), an
/// ordinary transaction on PostgreSQL. Commits on `Ok`, rolls back on `Err`.
pub fn write_tx<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    type Tm = <DbConnection as Connection>::TransactionManager;
    let begun = match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConnection::Pg(c) => <AnsiTransactionManager as TransactionManager<_>>::begin_transaction(c),
    };
    begun.map_err(|e| E::from(DbError::from(e)))?;
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn).map_err(|e| E::from(DbError::from(e)))?;
            Ok(value)
        }
        Err(err) => {
            // The original error is what the caller needs; a failed rollback leaves
            // the connection marked broken and r2d2 discards it.
            let _ = Tm::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
pub fn begin_write(conn: &mut DbConnection) -> Result<(), DbError> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConnection::Pg(c) => <AnsiTransactionManager as TransactionManager<_>>::begin_transaction(c),
    }
    .map_err(DbError::from)
}

/// Commits the transaction `begin_write` opened.
pub fn commit(conn: &mut DbConnection) -> Result<(), DbError> {
    <DbConnection as Connection>::TransactionManager::commit_transaction(conn).map_err(DbError::from)
}

/// Rolls the open transaction back; a failure leaves the connection marked
/// broken, and r2d2 discards it.
pub fn rollback(conn: &mut DbConnection) {
    let _ = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
}

/// Read-only work in one consistent snapshot.
pub fn read_tx<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    conn.transaction(|c| f(c).map_err(TxError::App))
        .map_err(|e: TxError<E>| match e {
            TxError::App(e) => e,
            TxError::Db(d) => E::from(DbError::from(d)),
        })
}

enum TxError<E> {
    App(E),
    Db(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

/// Whether the database answers (for `/readyz`).
pub fn ping(conn: &mut DbConnection) -> Result<(), DbError> {
    conn.batch_execute("SELECT 1").map_err(DbError::from)
}

/// Current UTC time truncated to microseconds, the precision both backends store.
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod url_tests {
    use super::with_statement_timeout;
    use std::time::Duration;

    #[test]
    fn only_postgres_urls_without_options_get_the_statement_limit() {
        let ms = Duration::from_millis(30_000);
        assert_eq!(
            with_statement_timeout("postgres://u@h:5432/db", ms),
            "postgres://u@h:5432/db?options=-c%20statement_timeout%3D30000"
        );
        assert_eq!(
            with_statement_timeout("postgres://u@h/db?sslmode=disable", ms),
            "postgres://u@h/db?sslmode=disable&options=-c%20statement_timeout%3D30000"
        );
        let own = "postgres://u@h/db?options=-c%20search_path%3Dx";
        assert_eq!(with_statement_timeout(own, ms), own);
        assert_eq!(
            with_statement_timeout("sqlite://./data/x.db", ms),
            "sqlite://./data/x.db"
        );
    }
}
