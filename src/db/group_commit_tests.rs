//! The group-commit writer: batching, a failing or panicking write alone, the
//! commit gate, and the WAL that starts over.

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
    let bad = group.submit(
        |_c| -> Result<(), DbError> { panic!("a bug in one request") },
        CommitGate::new(),
    );
    assert!(
        bad.blocking_recv().is_err(),
        "the panicking request is answered (channel closed)"
    );
    let good = group.submit(
        |c| -> Result<(), DbError> { Ok(c.batch_execute("INSERT INTO t VALUES (1)")?) },
        CommitGate::new(),
    );
    assert!(good.blocking_recv().unwrap().is_ok());
    assert_eq!(count(&pool), 1);
}

#[test]
fn a_write_whose_request_gave_up_first_rolls_back_and_says_so() {
    let (pool, url, _dir) = pool();
    let group = GroupCommit::start(url.clone());
    // Abandoned while the work runs: the work finishes, sees the request
    // gone at its commit point, and its rows go with its savepoint.
    let gate = CommitGate::new();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let late = group.submit(
        move |c| -> Result<(), DbError> {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            Ok(())
        },
        gate.clone(),
    );
    started_rx.recv().unwrap();
    assert!(gate.abandon(), "the request gives up before the commit point");
    go_tx.send(()).unwrap();
    assert!(matches!(late.blocking_recv().unwrap(), Err(DbError::Timeout)));
    // Abandoned before it ran: it never runs.
    let gate = CommitGate::new();
    gate.abandon();
    let never = group.submit(
        |c| -> Result<(), DbError> { Ok(c.batch_execute("INSERT INTO t VALUES (2)")?) },
        gate,
    );
    assert!(matches!(never.blocking_recv().unwrap(), Err(DbError::Timeout)));
    // A write past its commit point cannot be abandoned: it lands.
    let gate = CommitGate::new();
    let done = group.submit(
        |c| -> Result<(), DbError> { Ok(c.batch_execute("INSERT INTO t VALUES (3)")?) },
        gate.clone(),
    );
    assert!(done.blocking_recv().unwrap().is_ok());
    assert!(!gate.abandon());
    assert_eq!(count(&pool), 1, "only the write that reached its commit point is there");
}

#[test]
fn a_failing_write_rolls_back_alone() {
    let (pool, url, _dir) = pool();
    let group = GroupCommit::start(url.clone());
    let receivers: Vec<_> = (0..20)
        .map(|i| {
            group.submit(
                move |c| -> Result<(), DbError> {
                    c.batch_execute("INSERT INTO t VALUES (1)")?;
                    if i % 5 == 0 {
                        return Err(DbError::Conflict("refused"));
                    }
                    Ok(())
                },
                CommitGate::new(),
            )
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

#[test]
fn a_wal_left_behind_is_copied_at_start_not_at_the_first_write() {
    let (pool, url, _dir) = pool();
    pool.get()
        .unwrap()
        .batch_execute("PRAGMA wal_autocheckpoint = 0; INSERT INTO t VALUES (1), (2), (3)")
        .unwrap();
    // The pool keeps that connection open: its frames stay in the WAL,
    // as a process that never closed its connections leaves them.
    let group = GroupCommit::start(url);
    let started = std::time::Instant::now();
    while group.wal_frames() == Some(0) && started.elapsed() < 4 * CHECKPOINT_EVERY {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        group.wal_frames().unwrap() > 0,
        "the checkpoint thread made a pass before any write"
    );
    assert_eq!(count(&pool), 3);
}

#[test]
fn the_writer_waits_longer_for_readers_that_outlast_it_and_then_lets_passes_go_by() {
    let mut p = RestartPatience::new();
    let mut waits = Vec::new();
    for _ in 0..45 {
        let wait = p.attempt();
        if wait.is_some() {
            p.outcome(false);
        }
        waits.push(wait);
    }
    let tried: Vec<u32> = waits.iter().flatten().copied().collect();
    assert_eq!(
        tried,
        [25, 50, 100, 200, 400, 800, 1000, 1000],
        "doubling up to a second"
    );
    // After each wait in vain, one pass let go by per 100 ms waited.
    assert_eq!(
        waits[..10],
        [
            Some(25),
            None,
            Some(50),
            None,
            Some(100),
            None,
            Some(200),
            None,
            None,
            Some(400)
        ]
    );
    assert_eq!(waits[10..14], [None; 4]);
    assert_eq!(waits[14], Some(800));
    // Waiting stays under a fifth of the time (a pass every 500 ms; the
    // 45 passes end with the last wait's passes let go by).
    let waited: u32 = tried.iter().sum();
    assert!(
        waited * 5 <= waits.len() as u32 * 500,
        "{waited} ms waited over {} passes",
        waits.len()
    );

    let mut p = RestartPatience::new();
    for _ in 0..3 {
        p.attempt();
        p.outcome(false);
        p.skip = 0;
    }
    assert_eq!(p.attempt(), Some(200));
    p.outcome(true);
    assert_eq!(
        p.attempt(),
        Some(100),
        "a restart halves the wait, and nothing is skipped"
    );
    p.outcome(true);
    p.outcome(true);
    p.outcome(true);
    assert_eq!(p.attempt(), Some(25), "never below the shortest");
}

/// Under writes that never pause, the WAL must still start over: SQLite
/// rewinds it only when a write begins with every frame copied, which a
/// checkpoint running beside the writer never achieves on its own.
#[test]
fn the_wal_starts_over_under_writes_that_never_pause() {
    wal_starts_over_with_readers(0);
}

/// ... and while readers overlap each other without a gap, each holding
/// the snapshot it started on (SQLite's "checkpoint starvation").
#[test]
fn the_wal_starts_over_while_readers_never_pause_either() {
    wal_starts_over_with_readers(2);
}

fn wal_starts_over_with_readers(readers: usize) {
    use diesel::prelude::*;
    let (pool, url, dir) = pool();
    pool.get()
        .unwrap()
        .batch_execute("CREATE TABLE blobs (b BLOB NOT NULL)")
        .unwrap();
    let wal = dir.path().join("gc.db-wal");
    let group = GroupCommit::start(url);
    let reading = Arc::new(AtomicBool::new(true));
    let reader_threads: Vec<_> = (0..readers)
        .map(|_| {
            let (pool, reading) = (pool.clone(), reading.clone());
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                while reading.load(Ordering::Relaxed) {
                    conn.transaction(|c| {
                        diesel::sql_query("SELECT COUNT(*) AS n FROM t").execute(c)?;
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        Ok::<_, diesel::result::Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let started = std::time::Instant::now();
    // Each batch adds one 4 KiB page per row, one batch right after
    // another. Without a restart the WAL file holds every page written;
    // once it has started over (at the first checkpoint pass after it
    // reached `RESTART_FRAMES`), it stops growing while the writes go on.
    let mut written = 0_u64;
    let restarted = loop {
        let done = group.submit(
            |c| -> Result<(), DbError> {
                Ok(c.batch_execute(
                    "INSERT INTO blobs SELECT randomblob(4000) FROM \
                 (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 16) SELECT i FROM n)",
                )?)
            },
            CommitGate::new(),
        );
        done.blocking_recv().unwrap().unwrap();
        written += 16 * 4096;
        let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap();
        if written > 2 * RESTART_FRAMES as u64 * 4096 && size < written / 2 {
            break true;
        }
        // Generous: the loop ends as soon as the WAL starts over, and on two
        // cores shared with the rest of the test suite the checkpoint thread
        // may get little time (5 s was seen to be too short there).
        if started.elapsed() > 40 * CHECKPOINT_EVERY {
            break false;
        }
    };
    reading.store(false, Ordering::Relaxed);
    reader_threads.into_iter().for_each(|t| t.join().unwrap());
    let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap();
    assert!(
        restarted,
        "the WAL holds {size} bytes after {written} bytes of pages written over {:?} \
         ({readers} readers): it never started over",
        started.elapsed()
    );
}
