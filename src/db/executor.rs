//! The database executor: runs storage work off the async executor, within the
//! request's time limit, on the right writer. Every request-path database call
//! goes through here (the ledger service and the routes above it never touch
//! the pool or the writers themselves).
//!
//! Work runs inside the caller's tracing span, on whichever thread does it (the
//! blocking pool or the group-commit writer), so a line logged inside a closure
//! carries the request's id like every other line of that request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::entry_batch::{EntryWrite, Outcome};
use super::gate::CommitGate;
use super::group_commit::GroupCommit;
use super::org_share::{current_org, OrgShares};
use super::{backend_of, read_tx, write_tx, Backend, DbConnection, DbError, Pool};

/// Runs database work for requests. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct Executor {
    pool: Pool,
    /// The SQLite writer that batches concurrent writes (None on PostgreSQL).
    group_commit: Option<Arc<GroupCommit>>,
    /// The writer that batches entry creates: the same as `group_commit` on
    /// SQLite; on PostgreSQL a writer of its own, for entry creates only.
    entry_writer: Arc<GroupCommit>,
    /// How long a request waits for its work; the work may finish later.
    timeout: Duration,
    /// Each organisation's share of the pool.
    shares: Arc<OrgShares>,
    /// A streaming replica for reads that tolerate lag (PostgreSQL only).
    replica: Option<Replica>,
}

/// A PostgreSQL streaming replica (`PILOTLEDGER_READ_DATABASE_URL`) and
/// until when it is left alone after failing: reads that tolerate lag go to
/// it while it answers and to the primary meanwhile, never to an error.
#[derive(Clone)]
struct Replica {
    pool: Pool,
    down_until: Arc<Mutex<Option<Instant>>>,
}

/// How long a replica that failed is left alone before it is tried again.
const REPLICA_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Replica {
    fn healthy(&self) -> bool {
        let down = self.down_until.lock().unwrap_or_else(|p| p.into_inner());
        down.is_none_or(|until| Instant::now() >= until)
    }

    fn mark_down(&self, why: &str) {
        tracing::warn!(
            why,
            "the read replica failed; lagging reads go to the primary for a while"
        );
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REPLICA_RETRY_AFTER);
    }
}

impl Executor {
    /// Starts the writers for `url` beside `pool`. SQLite: one writer for every
    /// write (SQLite has one writer at a time anyway). PostgreSQL: a writer for
    /// entry creates only, which batches them into one transaction; other
    /// writes use the pool.
    pub fn start(url: &str, pool: Pool, timeout: Duration) -> Self {
        let entry_writer = Arc::new(GroupCommit::start(url.to_owned()));
        let group_commit = (backend_of(url) == Some(Backend::Sqlite)).then(|| entry_writer.clone());
        // Half the pool per organisation: whatever one tenant runs, the
        // others find a connection.
        let shares = Arc::new(OrgShares::new(pool.max_size() as usize / 2));
        Self {
            pool,
            group_commit,
            entry_writer,
            timeout,
            shares,
            replica: None,
        }
    }

    /// Sends reads that tolerate lag ([`Executor::read_lagging`],
    /// [`Executor::lagging_connection`]) to `replica`.
    pub fn with_replica(mut self, replica: Pool) -> Self {
        self.replica = Some(Replica {
            pool: replica,
            down_until: Arc::new(Mutex::new(None)),
        });
        self
    }

    /// Whether a replica is configured and not resting after a failure.
    pub fn replica_in_use(&self) -> bool {
        self.replica.as_ref().is_some_and(Replica::healthy)
    }

    /// A connection for a read that tolerates lag and runs outside the
    /// request's time limit (the streamed export): the replica's while it
    /// answers, else the primary's. Blocking.
    pub fn lagging_connection(&self) -> Result<super::PooledConn, DbError> {
        if let Some(r) = self.replica.as_ref().filter(|r| r.healthy()) {
            match r.pool.get() {
                Ok(c) => return Ok(c),
                Err(e) => r.mark_down(&e.to_string()),
            }
        }
        Ok(self.pool.get()?)
    }

    /// How many pool connections one organisation may hold at once.
    pub fn share_per_org(&self) -> usize {
        self.shares.each()
    }

    /// The pool, for work that must outlive a request's time limit on a
    /// connection of its own (the streamed export) and for pool gauges.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The entry writer, for its gauges.
    pub fn entry_writer(&self) -> &GroupCommit {
        &self.entry_writer
    }

    /// The request's time limit.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs `f` on a pooled connection on the blocking pool.
    pub async fn run<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.run_gated(self.pool.clone(), CommitGate::new(), false, f).await
    }

    /// [`Executor::run`] for work that holds `gate`: on timeout the answer is
    /// `Timeout` if the work will not commit, `OutcomeUnknown` if it might.
    /// `interruptible`: SQLite statements still running at the time limit
    /// are interrupted (`db::interrupt`), so the connection comes back then.
    async fn run_gated<T, E>(
        &self,
        pool: Pool,
        gate: CommitGate,
        interruptible: bool,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let span = tracing::Span::current();
        let deadline = std::time::Instant::now() + self.timeout;
        // The organisation's share first (waiting no longer than for a
        // connection), held until the work ends, past a timed-out request too.
        let share = match current_org() {
            Some(org) => Some(
                self.shares
                    .acquire(org, pool.connection_timeout())
                    .await
                    .map_err(E::from)?,
            ),
            None => None,
        };
        let work = tokio::task::spawn_blocking(move || {
            let _share = share;
            let _in_request = span.enter();
            let _work = tracing::info_span!("db.work").entered();
            let started = std::time::Instant::now();
            let mut conn = pool.get().map_err(|e| E::from(DbError::from(e)))?;
            let waited = started.elapsed();
            let interrupt = interruptible.then(|| super::interrupt::Deadline::until(deadline));
            let result = f(&mut conn);
            if interrupt.as_ref().is_some_and(|i| i.fired()) {
                // The request has answered `request_timeout`; what the
                // interrupted statement returned is not an answer.
                return Err(E::from(DbError::Timeout));
            }
            tracing::trace!(
                wait_ms = waited.as_secs_f64() * 1e3,
                work_ms = (started.elapsed() - waited).as_secs_f64() * 1e3,
                ok = result.is_ok(),
                "database work"
            );
            result
        });
        // Bounded: a request never waits longer than this for the database; a
        // read it started may finish in the background, a write only if it
        // was already committing (see `db::gate`).
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(done)) => done,
            Ok(Err(failed)) => Err(E::from(DbError::Task(failed.to_string()))),
            Err(_) => Err(E::from(gate.timed_out())),
        }
    }

    /// Like [`Executor::run`], inside one read transaction (a consistent snapshot).
    pub async fn read<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.run_gated(self.pool.clone(), CommitGate::new(), true, move |conn| read_tx(conn, f))
            .await
    }

    /// Like [`Executor::read`], for a read that tolerates lag (the research
    /// aggregates): on the replica when one is configured and answering. When
    /// the replica fails with an error `retry` accepts (unreachable, a query
    /// cancelled by recovery), it is left alone for a while and the read runs
    /// again on the primary, so a replica going down changes no answer.
    pub async fn read_lagging<T, E>(
        &self,
        f: impl Fn(&mut DbConnection) -> Result<T, E> + Send + Sync + 'static,
        retry: fn(&E) -> bool,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + std::fmt::Display + Send + 'static,
    {
        let f = Arc::new(f);
        if let Some(r) = self.replica.as_ref().filter(|r| r.healthy()) {
            let on_replica = f.clone();
            let tried = self
                .run_gated(r.pool.clone(), CommitGate::new(), true, move |conn| {
                    read_tx(conn, |c| on_replica(c))
                })
                .await;
            match tried {
                Err(e) if retry(&e) => r.mark_down(&e.to_string()),
                done => return done,
            }
        }
        self.run_gated(self.pool.clone(), CommitGate::new(), true, move |conn| {
            read_tx(conn, |c| f(c))
        })
        .await
    }

    /// Like [`Executor::run`], inside one write transaction. On SQLite the
    /// write joins the group-commit batch (one fsync for many requests) and is
    /// answered only after that batch committed; on PostgreSQL it runs in its
    /// own transaction.
    pub async fn write<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let gate = CommitGate::new();
        let Some(group) = &self.group_commit else {
            let at_commit = gate.clone();
            return self
                .run_gated(self.pool.clone(), gate, false, move |conn| {
                    write_tx(conn, |c| {
                        let done = f(c)?;
                        // The request gave up: roll back rather than commit a
                        // write it has answered `request_timeout` for.
                        if at_commit.enter_commit() {
                            Ok(done)
                        } else {
                            Err(E::from(DbError::Timeout))
                        }
                    })
                })
                .await;
        };
        let group = group.clone();
        let span = tracing::Span::current();
        let f = move |conn: &mut DbConnection| {
            let _in_request = span.enter();
            f(conn)
        };
        // Submitting may block briefly on a full queue: do it off the executor.
        let queued = gate.clone();
        let receiver = tokio::task::spawn_blocking(move || group.submit(f, queued))
            .await
            .map_err(|e| E::from(DbError::Task(e.to_string())))?;
        match tokio::time::timeout(self.timeout, receiver).await {
            Ok(done) => done.unwrap_or_else(|_| Err(E::from(DbError::Unavailable("the writer stopped".into())))),
            Err(_) => Err(E::from(gate.timed_out())),
        }
    }

    /// Appends one spend or impact entry through the batching writer; the
    /// outcome arrives after its batch committed.
    pub async fn append_entry(&self, write: EntryWrite) -> Result<Outcome, DbError> {
        use tracing::Instrument;
        // The request's part in a group-commit batch: from queueing to its
        // batch's commit (the batch itself is a span of the writer's).
        let span = tracing::info_span!("group_commit.entry");
        self.append_entry_in(write).instrument(span).await
    }

    async fn append_entry_in(&self, write: EntryWrite) -> Result<Outcome, DbError> {
        let gate = CommitGate::new();
        // Straight onto the queue when it has room: no hop to the blocking pool.
        let receiver = match self.entry_writer.try_submit_entry(Box::new(write), gate.clone()) {
            Ok(receiver) => receiver,
            Err(write) => {
                let (writer, queued) = (self.entry_writer.clone(), gate.clone());
                tokio::task::spawn_blocking(move || writer.submit_entry(write, queued))
                    .await
                    .map_err(|e| DbError::Task(e.to_string()))?
            }
        };
        match tokio::time::timeout(self.timeout, receiver).await {
            Ok(Ok(done)) => done,
            Ok(Err(_)) => Err(DbError::Unavailable("the writer stopped".into())),
            Err(_) => Err(gate.timed_out()),
        }
    }
}
