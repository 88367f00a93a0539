//! A SQLite read past its deadline is interrupted, and its connection is
//! free again at once.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use super::*;
use crate::db::executor::Executor;
use crate::db::{build_pool, DbError};

/// Counts to two hundred million: minutes of work if nothing stops it.
const ENDLESS: &str =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c";

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("t.db").display())
}

#[test]
fn a_statement_past_its_deadline_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&sqlite_url(&dir), 1, Duration::from_secs(1)).unwrap();
    let mut conn = pool.get().unwrap();
    let started = Instant::now();
    let deadline = Deadline::until(started + Duration::from_millis(100));
    let result = conn.batch_execute(ENDLESS);
    let took = started.elapsed();
    assert!(result.is_err(), "the statement ran to its end");
    assert!(deadline.fired());
    assert!(took < Duration::from_secs(3), "interrupted only after {took:?}");
    drop(deadline);
    // Without a deadline the connection works as before.
    conn.batch_execute("SELECT 1").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_read_gives_its_connection_back() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    // One connection: the next read gets it only once the first lets go
    // (within 20 s; the uninterrupted count would hold it for minutes).
    let pool = build_pool(&url, 1, Duration::from_secs(20)).unwrap();
    // Reads time out after 200 ms; the next one waits for the connection.
    let exec = Executor::start(&url, pool, Duration::from_millis(200));
    let slow = exec
        .read(|conn| conn.batch_execute(ENDLESS).map_err(DbError::from))
        .await;
    assert!(matches!(slow, Err(DbError::Timeout)), "{slow:?}");
    let next = Executor::start(&url, exec.pool().clone(), Duration::from_secs(30))
        .read(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
        .await;
    assert!(next.is_ok(), "the connection stayed busy: {next:?}");
}
