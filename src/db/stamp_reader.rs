//! Batched reads of what a cached summary is validated against: whether the
//! caller's token is revoked, and its organisation's [`LedgerStamp`]. Every
//! `GET /v1/summary` needs both, fresh from the database, before it may send a
//! cached answer. One thread with a connection of its own takes every request
//! waiting at that moment and answers them with one statement for the
//! revocations and one per distinct organisation, so under load a cached
//! summary costs a share of a round trip instead of a blocking-pool hop and a
//! round trip of its own.
//!
//! Still read after the request arrived: a request is taken off the queue
//! before the statements that answer it start, so any write committed before
//! the request was sent is in what they read (each part of a stamp only grows,
//! see `changes`, so reading the parts in separate statements cannot make a
//! stale answer look current).

use std::collections::HashMap;
use std::sync::mpsc;

use super::changes::{self, LedgerStamp};
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

/// Revoked or not, and the organisation's stamp when one was asked for.
pub type StampRead = Result<(bool, Option<LedgerStamp>), DbError>;

/// A request waiting for its read.
pub struct Request {
    jti: String,
    org: Option<OrgId>,
    reply: tokio::sync::oneshot::Sender<StampRead>,
}

/// Most requests answered by one batch.
const MAX_BATCH: usize = 256;

/// The handle requests use to queue reads.
pub struct StampReader {
    sender: mpsc::SyncSender<Request>,
}

impl StampReader {
    /// Starts the reader thread; it connects to `url` on first use.
    pub fn start(url: String) -> Self {
        let (sender, receiver) = mpsc::sync_channel::<Request>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("pilotledger-stamps".into())
            .spawn(move || reader(&url, &receiver))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the stamp reader"));
        Self { sender }
    }

    /// Queues a read without blocking. `None` when the queue is full (or the
    /// reader is gone): the caller reads on its own instead.
    pub fn try_read(&self, jti: String, org: Option<OrgId>) -> Option<tokio::sync::oneshot::Receiver<StampRead>> {
        let (reply, receiver) = tokio::sync::oneshot::channel();
        self.sender.try_send(Request { jti, org, reply }).ok()?;
        Some(receiver)
    }
}

fn reader(url: &str, receiver: &mpsc::Receiver<Request>) {
    let mut conn: Option<DbConnection> = None;
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // A connection that served earlier batches may have been closed by
        // the server since (a restart): one more try, on a new connection.
        let mut reused = conn.is_some();
        let outcome = loop {
            let c = match conn.as_mut() {
                Some(c) => c,
                None => match super::connect(url) {
                    Ok(c) => conn.insert(c),
                    Err(e) => break Err(e.to_string()),
                },
            };
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_batch(c, &batch))) {
                Ok(Ok(reads)) => break Ok(reads),
                Ok(Err(e)) => {
                    conn = None;
                    if !std::mem::take(&mut reused) {
                        tracing::warn!(error = %e, "stamp read failed");
                        break Err(e.to_string());
                    }
                }
                Err(_) => {
                    conn = None;
                    break Err("the stamp reader failed".to_owned());
                }
            }
        };
        match outcome {
            Ok(reads) => {
                for (request, read) in batch.into_iter().zip(reads) {
                    let _ = request.reply.send(Ok(read));
                }
            }
            Err(cause) => answer_all(batch, &cause),
        }
    }
}

/// Answers every request of a failed batch with 503 (nothing was read).
fn answer_all(batch: Vec<Request>, cause: &str) {
    for request in batch {
        let _ = request.reply.send(Err(DbError::Unavailable(cause.to_owned())));
    }
}

/// Revocations of every distinct token in one statement, then the stamp of
/// every distinct organisation; answers in the order of `batch`.
fn read_batch(conn: &mut DbConnection, batch: &[Request]) -> Result<Vec<(bool, Option<LedgerStamp>)>, DbError> {
    let mut jtis: Vec<&str> = batch.iter().map(|r| r.jti.as_str()).collect();
    jtis.sort_unstable();
    jtis.dedup();
    let revoked = changes::revoked_among(conn, &jtis)?;
    let mut stamps: HashMap<OrgId, LedgerStamp> = HashMap::new();
    for org in batch.iter().filter_map(|r| r.org) {
        if let std::collections::hash_map::Entry::Vacant(slot) = stamps.entry(org) {
            slot.insert(changes::stamp(conn, org)?);
        }
    }
    Ok(batch
        .iter()
        .map(|r| (revoked.contains(&r.jti), r.org.and_then(|o| stamps.get(&o).copied())))
        .collect())
}
