//! Group commit. With `synchronous=FULL` every SQLite commit costs an fsync,
//! so one transaction per request caps durable writes at the disk's commit
//! rate. Instead a writer thread takes every pending write, runs them in a
//! single transaction, commits once, and only then answers each request — so
//! every acknowledged write is durable and concurrent requests share one fsync.
//! A closure runs inside its own savepoint, so a failing write rolls back
//! alone; entry creates arrive as data and are written together
//! (`entry_batch`), which retries them one by one when the batch fails.
//!
//! SQLite: one writer takes every write of the process. PostgreSQL: writers
//! take entry creates only (other writes use the pool), and two of them, so
//! one batch's statements overlap the other's commit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use super::entry_batch::{EntryWrite, Outcome};
use super::gate::CommitGate;
use super::{DbConnection, DbError};

/// What a queued write does once the batch's commit succeeded or failed.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued closure: runs inside the batch transaction, returns its completion.
type Work = Box<dyn FnOnce(&mut DbConnection) -> (Completion, bool) + Send>;
/// Where an entry create's outcome goes once its batch committed.
type EntryReply = tokio::sync::oneshot::Sender<Result<Outcome, DbError>>;

/// A queued write: any work as a closure, or an entry create as data, which
/// the writer writes together with the batch's other entry creates.
enum Job {
    Work(Work),
    Entry(Box<EntryWrite>, EntryReply, CommitGate),
}

/// Most writes per batch (bounds one transaction's size and latency).
pub const MAX_BATCH: usize = 256;

/// Writer threads (and connections) on PostgreSQL.
const PG_WRITERS: usize = 2;

/// The handle requests use to queue writes.
pub struct GroupCommit {
    sender: mpsc::SyncSender<Job>,
    stats: Arc<Stats>,
    /// Whether a checkpoint thread runs (SQLite), so `wal_frames` means something.
    checkpointed: bool,
}

/// Counters for `/metrics`: how many batches committed and writes they held.
#[derive(Default, Debug)]
pub struct Stats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
    /// SQLite: frames in the WAL when the checkpoint thread last looked.
    pub wal_frames: AtomicU64,
}

impl GroupCommit {
    /// Starts the writer thread with its own connection to `url`.
    pub fn start(url: String) -> Self {
        let (sender, receiver) = mpsc::sync_channel::<Job>(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        // SQLite: the WAL is copied back into the database by a thread of its
        // own, not by the writer at every thousandth page (a checkpoint costs
        // a pass over the new pages and an fsync of the database file, which
        // the writer's batches would otherwise wait behind).
        let checkpoints = (super::backend_of(&url) == Some(super::Backend::Sqlite)).then(|| {
            let (wake, woken) = mpsc::sync_channel::<()>(1);
            // A first pass at start: a WAL that a previous process left
            // behind (killed before it closed its connections) would otherwise stay
            // uncopied until the next write, and every read until then would
            // look up its pages in the WAL's index.
            let _ = wake.try_send(());
            let restart = Arc::new(AtomicBool::new(false));
            let (at, due, gauge) = (url.clone(), restart.clone(), stats.clone());
            std::thread::Builder::new()
                .name("pilotledger-checkpoint".into())
                .spawn(move || checkpointer(&at, &woken, &due, &gauge))
                .map(|_| Checkpoints { wake, restart })
                .map_err(|e| tracing::error!(error = %e, "cannot start the checkpoint thread"))
                .ok()
        });
        let checkpoints = checkpoints.flatten();
        // SQLite has one writer at a time anyway. PostgreSQL commits several
        // transactions at once (one WAL flush can carry them all): writers
        // on connections of their own overlap one batch's commit with the
        // next batch's statements. They lock the rows they change in one
        // order (pilot id), so two batches wait for each other, never deadlock.
        let writers = if checkpoints.is_some() { 1 } else { PG_WRITERS };
        let receiver = Arc::new(std::sync::Mutex::new(receiver));
        for _ in 0..writers {
            let (url, receiver, counters, checkpoints) =
                (url.clone(), receiver.clone(), counters.clone(), checkpoints.clone());
            std::thread::Builder::new()
                .name("pilotledger-writer".into())
                .spawn(move || writer(&url, &receiver, &counters, checkpoints.as_ref()))
                .map(|_| ())
                .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start a writer thread"));
        }
        Self {
            sender,
            stats,
            checkpointed: checkpoints.is_some(),
        }
    }

    /// Batches committed and writes they carried, so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// SQLite: frames in the WAL at the checkpoint thread's last pass (it
    /// stays bounded while the WAL keeps starting over). `None` on PostgreSQL.
    pub fn wal_frames(&self) -> Option<u64> {
        self.checkpointed.then(|| self.stats.wal_frames.load(Ordering::Relaxed))
    }

    /// Queues `f`; the receiver yields its result after the batch committed.
    /// When `gate` was abandoned (its request timed out) before `f` finished,
    /// `f`'s work is rolled back and it answers [`DbError::Timeout`].
    pub fn submit<T, E>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        gate: CommitGate,
    ) -> tokio::sync::oneshot::Receiver<Result<T, E>>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |conn: &mut DbConnection| -> (Completion, bool) {
            let result = if gate.abandoned() {
                Err(E::from(DbError::Timeout))
            } else {
                in_savepoint(conn, |c| {
                    let done = f(c)?;
                    if gate.enter_commit() {
                        Ok(done)
                    } else {
                        Err(E::from(DbError::Timeout))
                    }
                })
            };
            let failed = result.is_err();
            let done: Completion = Box::new(move |commit: Result<(), String>| {
                let _ = tx.send(match commit {
                    Ok(()) => result,
                    Err(cause) => Err(E::from(DbError::Unavailable(cause))),
                });
            });
            (done, failed)
        });
        // A full queue applies back-pressure to the blocking pool thread that
        // submits; a dead writer drops the job, and the receiver reports it.
        let _ = self.sender.send(Job::Work(work));
        rx
    }

    /// Queues an entry create; the receiver yields its outcome after the batch
    /// committed. Blocks while the queue is full.
    pub fn submit_entry(
        &self,
        write: Box<EntryWrite>,
        gate: CommitGate,
    ) -> tokio::sync::oneshot::Receiver<Result<Outcome, DbError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = self.sender.send(Job::Entry(write, tx, gate));
        rx
    }

    /// Queues an entry create without blocking; gives the write back when the
    /// queue is full (the caller then queues it from a thread that may wait).
    pub fn try_submit_entry(
        &self,
        write: Box<EntryWrite>,
        gate: CommitGate,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Outcome, DbError>>, Box<EntryWrite>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match self.sender.try_send(Job::Entry(write, tx, gate)) {
            Err(mpsc::TrySendError::Full(Job::Entry(write, _, _))) => Err(write),
            // Sent, or a dead writer: its receiver reports the closed channel.
            _ => Ok(rx),
        }
    }
}

/// Runs `f` in a savepoint (diesel nests a transaction as SAVEPOINT), so its
/// failure undoes only its own changes.
fn in_savepoint<T, E: From<DbError>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    super::read_tx(conn, f)
}

/// SQLite's checkpoint thread and the writer's link to it.
#[derive(Clone)]
struct Checkpoints {
    /// Tells the thread a commit added pages to the WAL.
    wake: mpsc::SyncSender<()>,
    /// Set by the thread when the WAL is long enough to start over; the
    /// writer then finishes the copy itself, between two batches.
    restart: Arc<AtomicBool>,
}

/// WAL frames past which the log should start over from its beginning (16 MiB
/// of 4 KiB pages; well inside `journal_size_limit`).
const RESTART_FRAMES: i64 = 4096;

/// Frames a pass may leave behind for the writer to copy: the writer stops
/// for that copy, so the thread first repeats its pass (each one shorter, as
/// it only copies what landed during the last) until this few are left.
const WRITER_COPIES_AT_MOST: i64 = 512;

/// Passes in a row before the thread leaves the rest to the writer anyway.
const PASSES_BEFORE_RESTART: usize = 4;

/// Pause between two passes of the checkpoint thread.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// How long the writer waits for readers still on WAL frames before it gives
/// up on a restart until a later pass of the checkpoint thread. It starts
/// short (a read here usually takes milliseconds), doubles each time readers
/// outlast it, up to a second, and halves after each restart, so under reads
/// that overlap without a gap it settles near their length. After a wait
/// that readers outlasted, the writer lets one pass's request go by per
/// 100 ms it waited: waiting takes under a fifth of its time, however long
/// the reads. Readers that hold one snapshot for longer than a second (an
/// export at 1M pilots, for its 20 s) keep the WAL from starting over until
/// they end; no wait short of theirs could do better.
#[derive(Debug)]
struct RestartPatience {
    wait_ms: u32,
    skip: u32,
}

impl RestartPatience {
    const SHORTEST_MS: u32 = 25;
    const LONGEST_MS: u32 = 1000;
    /// Milliseconds waited in vain per pass let go by afterwards.
    const WAITED_MS_PER_SKIP: u32 = 100;

    fn new() -> Self {
        Self {
            wait_ms: Self::SHORTEST_MS,
            skip: 0,
        }
    }

    /// Whether to try now (`Some(wait)`), or let this request go by.
    fn attempt(&mut self) -> Option<u32> {
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        Some(self.wait_ms)
    }

    fn outcome(&mut self, restarted: bool) {
        if restarted {
            self.wait_ms = (self.wait_ms / 2).max(Self::SHORTEST_MS);
        } else {
            self.skip = self.wait_ms.div_ceil(Self::WAITED_MS_PER_SKIP);
            self.wait_ms = (self.wait_ms * 2).min(Self::LONGEST_MS);
        }
    }
}

/// What `PRAGMA wal_checkpoint` reports: whether it was kept from finishing
/// (another checkpoint running, or readers), frames in the WAL, and how many
/// of them are now in the database file (-1 for both when it could not run).
#[derive(diesel::QueryableByName, Debug)]
struct CheckpointRun {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    checkpointed: i64,
}

/// One PASSIVE checkpoint: never blocks the writer or a reader, and stops
/// short of pages a reader still needs.
fn checkpoint(conn: &mut DbConnection) -> Result<CheckpointRun, diesel::result::Error> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Sqlite(c) => diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(c),
        DbConnection::Pg(_) => Ok(CheckpointRun {
            busy: 0,
            log: 0,
            checkpointed: 0,
        }),
    }
}

/// The writer's part of a restart, between two of its batches: a RESTART
/// checkpoint copies the frames the thread's passes missed (no write can land
/// meanwhile: this connection is the only writer) and then waits, briefly,
/// for the readers that started before it to finish. Readers that start
/// after it read the database file alone, so the writer's next transaction
/// finds nobody on the WAL and writes from the start of the file again. A
/// PASSIVE checkpoint here is not enough: with readers overlapping each other
/// without a gap, one of them always holds an older snapshot, and the WAL
/// never starts over (SQLite's "checkpoint starvation").
fn checkpoint_for_restart(conn: &mut DbConnection, wait_ms: u32) -> Result<CheckpointRun, diesel::result::Error> {
    use diesel::connection::SimpleConnection;
    use diesel::RunQueryDsl;
    let DbConnection::Sqlite(c) = conn else {
        return checkpoint(conn);
    };
    c.batch_execute(&format!("PRAGMA busy_timeout = {wait_ms}"))?;
    let run = diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result(c);
    c.batch_execute(&format!("PRAGMA busy_timeout = {}", super::SQLITE_BUSY_TIMEOUT_MS))?;
    run
}

/// Copies committed WAL pages into the database after the writer's commits,
/// at most twice a second. Seldom on purpose: a page that many batches change
/// (an index leaf, a running total) is copied and fsynced once per pass, not
/// once per batch — at every 20 ms the passes cost the writer a third of its
/// rate.
///
/// A pass alone never lets the WAL start over: SQLite rewinds it only when a
/// write begins with every frame already copied, and under a steady stream of
/// batches new frames always land while a pass runs. The WAL would grow for
/// as long as the writes go on (1.5 GB in ten seconds of the benchmark's
/// durable logging at 1M pilots), and every commit that extends the file makes
/// its fsync write file-system metadata as well as the pages. So once the WAL
/// holds `RESTART_FRAMES`, this thread asks the writer to copy the few frames
/// its pass missed, between two batches (`checkpoint_for_restart`); the
/// writer's next transaction then writes from the start of the file again,
/// over blocks that already exist.
fn checkpointer(url: &str, woken: &mpsc::Receiver<()>, restart: &AtomicBool, stats: &Stats) {
    let mut conn: Option<DbConnection> = None;
    while woken.recv().is_ok() {
        if conn.is_none() {
            conn = super::connect(url).ok();
        }
        if let Some(c) = conn.as_mut() {
            for pass in 1..=PASSES_BEFORE_RESTART {
                let run = checkpoint(c);
                if let Ok(run) = &run {
                    stats.wal_frames.store(run.log.max(0) as u64, Ordering::Relaxed);
                }
                match run {
                    Ok(run) if run.log < RESTART_FRAMES => break,
                    Ok(run) if run.log - run.checkpointed > WRITER_COPIES_AT_MOST && pass < PASSES_BEFORE_RESTART => {}
                    Ok(_) => {
                        restart.store(true, Ordering::Relaxed);
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                        conn = None;
                        break;
                    }
                }
            }
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

/// The writer's connection. On PostgreSQL: no sequential scans (below). On
/// SQLite: no automatic checkpoints (a thread of
/// its own does them), and statement journals in memory — a multi-row
/// statement inside a transaction keeps one, and past 64 KiB SQLite spills it
/// to a temporary file it writes and closes per statement (an eighth of the
/// writer's time in a profile of batched entry creates). A journal holds the
/// pages one statement changes, so memory stays small. A WAL that grew past
/// 256 MiB (a big import) is cut back to that once it restarts. Not less: the
/// WAL restarts about once a checkpoint pass, and under the heaviest steady
/// load measured (12k entries/s at 1M pilots, ~250 MB/s of frames) the file
/// reaches well over 100 MB in between; a file cut shorter than that must be
/// extended again, and a commit that extends it pays for file-system
/// metadata on top of its pages.
fn connect_writer(url: &str, checkpoints: Option<&Checkpoints>) -> Option<DbConnection> {
    use diesel::connection::SimpleConnection;
    let mut conn = super::connect(url).ok()?;
    if checkpoints.is_some() {
        conn.batch_execute(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; \
             PRAGMA journal_size_limit = 268435456;",
        )
        .ok()?;
    } else {
        // PostgreSQL keeps one plan per statement (`fixed_sql`), made when
        // the connection first ran it: on a new database, while
        // `idempotency_keys` is empty, that plan would scan the table, and
        // go on scanning it as it grows. Every statement of this connection
        // is a lookup by key, which an index always serves best.
        conn.batch_execute("SET enable_seqscan = off").ok()?;
    }
    Some(conn)
}

/// The next batch: waits for one job, then takes whatever else is queued.
/// `None` once every sender is gone.
fn next_batch(receiver: &std::sync::Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
    let mut batch = vec![receiver.recv().ok()?];
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

fn writer(
    url: &str,
    receiver: &std::sync::Mutex<mpsc::Receiver<Job>>,
    stats: &Stats,
    checkpoints: Option<&Checkpoints>,
) {
    let mut conn = None;
    let mut patience = RestartPatience::new();
    while let Some(batch) = next_batch(receiver) {
        if conn.is_none() {
            conn = connect_writer(url, checkpoints);
        }
        let Some(c) = conn.as_mut() else {
            // Without a connection nothing runs: dropping the jobs closes their
            // channels, which the requests report as 503.
            batch.into_iter().for_each(drop);
            continue;
        };
        // One span per batch (exported when traces are on): its size, no content.
        let _batch_span = tracing::info_span!("group_commit.batch", writes = batch.len() as u64).entered();
        if let Err(e) = super::begin_write(c) {
            tracing::warn!(error = %e, "group commit could not begin");
            batch.into_iter().for_each(drop);
            conn = None;
            continue;
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let mut panicked = false;
        let mut any_failed = false;
        let mut entries: Vec<EntryWrite> = Vec::new();
        let mut replies: Vec<EntryReply> = Vec::new();
        for job in batch {
            let work = match job {
                Job::Entry(write, reply, gate) => {
                    // From here the create is committed to the batch; one
                    // whose request already gave up is left out.
                    if gate.enter_commit() {
                        entries.push(*write);
                        replies.push(reply);
                    } else {
                        let _ = reply.send(Err(DbError::Timeout));
                    }
                    continue;
                }
                Job::Work(work) => work,
            };
            if panicked {
                // Not run: dropping it closes its channel (503 to its request).
                continue;
            }
            // A bug that panics inside one request must not kill the writer
            // that every later write depends on.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(c))) {
                Ok((done, failed)) => {
                    any_failed |= failed;
                    completions.push(done);
                }
                Err(_) => panicked = true,
            }
        }
        if !panicked && !entries.is_empty() {
            // The batch's entry creates, written together (after the other
            // work: they are concurrent requests, any order is a serial one).
            let fresh = completions.is_empty();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::entry_batch::write_all(c, &entries, fresh)
            })) {
                Ok(outcomes) => {
                    for (outcome, reply) in outcomes.into_iter().zip(replies) {
                        any_failed |= outcome.is_err();
                        let done: Completion = Box::new(move |commit: Result<(), String>| {
                            let _ = reply.send(match commit {
                                Ok(()) => outcome,
                                Err(cause) => Err(DbError::Unavailable(cause)),
                            });
                        });
                        completions.push(done);
                    }
                }
                Err(_) => panicked = true,
            }
        }
        if panicked {
            tracing::error!("a write panicked inside the group-commit batch; the batch is rolled back");
            super::rollback(c);
            completions
                .into_iter()
                .for_each(|done| done(Err("the batch was rolled back".into())));
            conn = None;
            continue;
        }
        match super::commit(c) {
            Ok(()) => {
                if let Some(checkpoints) = checkpoints {
                    // Full means a checkpoint is already due: nothing to add.
                    let _ = checkpoints.wake.try_send(());
                }
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.writes.fetch_add(completions.len() as u64, Ordering::Relaxed);
                completions.into_iter().for_each(|done| done(Ok(())));
                let wait = checkpoints
                    .filter(|k| k.restart.swap(false, Ordering::Relaxed))
                    .and_then(|_| patience.attempt());
                if let Some(wait_ms) = wait {
                    // After the answers: the requests do not wait for it. If
                    // readers outlast the wait, the thread asks again after
                    // its next pass.
                    match checkpoint_for_restart(c, wait_ms) {
                        Ok(run) => {
                            patience.outcome(run.busy == 0);
                            if run.busy != 0 {
                                tracing::debug!(?run, ?patience, "readers keep the WAL from starting over");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint before a restart failed"),
                    }
                }
                if any_failed {
                    // After an I/O error SQLite can keep failing on the same
                    // connection; a write that failed for any reason costs a
                    // cheap reconnect, so the writer never stays stuck.
                    conn = None;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "group commit failed");
                super::rollback(c);
                completions.into_iter().for_each(|done| done(Err(e.to_string())));
                // The connection may be broken; take a fresh one next time.
                conn = None;
            }
        }
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
