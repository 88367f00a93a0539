//! Group commit for SQLite. With `synchronous=FULL` every commit costs an fsync,
//! so one transaction per request caps durable writes at the disk's commit rate.
//! Instead one writer thread takes every pending write, runs each inside its own
//! savepoint of a single `BEGIN IMMEDIATE` transaction, commits once, and only
//! then answers each request — so every acknowledged write is durable, a
//! failing write rolls back alone, and concurrent requests share one fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use super::{DbConnection, DbError};

/// What a queued write does once the batch's commit succeeded or failed.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: runs inside the batch transaction, returns its completion.
type Job = Box<dyn FnOnce(&mut DbConnection) -> (Completion, bool) + Send>;

/// Most writes per batch (bounds one transaction's size and latency).
pub const MAX_BATCH: usize = 256;

/// The handle requests use to queue writes.
pub struct GroupCommit {
    sender: mpsc::SyncSender<Job>,
    stats: Arc<Stats>,
}

/// Counters for `/metrics`: how many batches committed and writes they held.
#[derive(Default, Debug)]
pub struct Stats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
}

impl GroupCommit {
    /// Starts the writer thread with its own connection to `url`.
    pub fn start(url: String) -> Self {
        let (sender, receiver) = mpsc::sync_channel::<Job>(4 * MAX_BATCH);
        let stats = Arc::new(Stats::default());
        let counters = stats.clone();
        std::thread::Builder::new()
            .name("pilotledger-writer".into())
            .spawn(move || writer(&url, receiver, &counters))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the writer thread"));
        Self { sender, stats }
    }

    /// Batches committed and writes they carried, so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Queues `f`; the receiver yields its result after the batch committed.
    pub fn submit<T, E>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> tokio::sync::oneshot::Receiver<Result<T, E>>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: &mut DbConnection| -> (Completion, bool) {
            let result = in_savepoint(conn, f);
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
        let _ = self.sender.send(job);
        rx
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

fn writer(url: &str, receiver: mpsc::Receiver<Job>, stats: &Stats) {
    let mut conn = None;
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            conn = super::connect(url).ok();
        }
        let Some(c) = conn.as_mut() else {
            // Without a connection nothing runs: dropping the jobs closes their
            // channels, which the requests report as 503.
            batch.into_iter().for_each(drop);
            continue;
        };
        if let Err(e) = super::begin_write(c) {
            tracing::warn!(error = %e, "group commit could not begin");
            batch.into_iter().for_each(drop);
            conn = None;
            continue;
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
        let mut panicked = false;
        let mut any_failed = false;
        for job in batch {
            if panicked {
                // Not run: dropping it closes its channel (503 to its request).
                continue;
            }
            // A bug that panics inside one request must not kill the writer
            // that every later write depends on.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(c))) {
                Ok((done, failed)) => {
                    any_failed |= failed;
                    completions.push(done);
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
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.writes.fetch_add(completions.len() as u64, Ordering::Relaxed);
                completions.into_iter().for_each(|done| done(Ok(())));
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
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;

    use super::super::Pool;

    fn pool() -> (Pool, String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gc.db").display());
        let pool = super::super::build_pool(&url, 2, std::time::Duration::from_millis(1500)).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (x INTEGER NOT NULL)")
            .unwrap();
        (pool, url, dir)
    }

    fn count(pool: &Pool) -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = pool.get().unwrap();
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<N>(&mut *conn)
            .unwrap()
            .n
    }

    #[test]
    fn a_panicking_write_does_not_stop_the_writer() {
        let (pool, url, _dir) = pool();
        let group = GroupCommit::start(url.clone());
        let bad = group.submit(|_c| -> Result<(), DbError> { panic!("a bug in one request") });
        assert!(
            bad.blocking_recv().is_err(),
            "the panicking request is answered (channel closed)"
        );
        let good = group.submit(|c| -> Result<(), DbError> { Ok(c.batch_execute("INSERT INTO t VALUES (1)")?) });
        assert!(good.blocking_recv().unwrap().is_ok());
        assert_eq!(count(&pool), 1);
    }

    #[test]
    fn a_failing_write_rolls_back_alone() {
        let (pool, url, _dir) = pool();
        let group = GroupCommit::start(url.clone());
        let receivers: Vec<_> = (0..20)
            .map(|i| {
                group.submit(move |c| -> Result<(), DbError> {
                    c.batch_execute("INSERT INTO t VALUES (1)")?;
                    if i % 5 == 0 {
                        return Err(DbError::Conflict("refused"));
                    }
                    Ok(())
                })
            })
            .collect();
        // Every result arrives only after its batch committed.
        let ok = receivers
            .into_iter()
            .filter_map(|r| r.blocking_recv().ok())
            .filter(Result::is_ok)
            .count();
        assert_eq!(ok, 16);
        assert_eq!(count(&pool), 16, "the four refused writes left nothing behind");
    }
}
