//! The idempotency protocol inside a write transaction: a key used within
//! [`KEY_TTL_HOURS`] replays its stored answer; otherwise the write runs once
//! and its answer is stored with it, in the same transaction, so a retried
//! request either replays or, when the first attempt never committed, is
//! processed once. The HTTP side (the header, the request hash, the
//! in-process claim) is `routes::idempotency`.

use crate::db::idempotency::{ClaimError, IdempotencyView, KEY_TTL_HOURS};
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult, Code};

/// Detail text marking a lost race on the idempotency key's unique index.
pub const IDEMPOTENCY_RACE: &str = "idempotency key race";

/// What [`write_once`] did.
pub enum Once {
    /// The write ran: its status and stored body.
    Fresh(u16, String),
    /// The key was used already: the record to replay (or to refuse when it
    /// was a different request).
    Replay(IdempotencyView),
}

/// 409 while another request holds the key.
pub fn in_flight() -> ApiError {
    ApiError::field(
        Code::IDEMPOTENCY_KEY_IN_FLIGHT,
        "Idempotency-Key",
        "a request with this key is still being processed; retry shortly",
    )
    .retry_after(1)
}

/// Runs `write` once for `record`'s (organisation, token, key) and stores its
/// answer in `record`; a live record for the key is replayed instead. Across
/// processes the key's row decides: on PostgreSQL it is claimed first, so
/// another process holding it answers 409 at once; SQLite serialises writers
/// (and the process holds the key in memory), so there the row is written
/// once, complete, after the write. A lost race on the row's unique index is
/// a `CONFLICT` with [`IDEMPOTENCY_RACE`]: the caller replays what the winner
/// stored.
pub fn write_once(
    conn: &mut DbConnection,
    mut record: IdempotencyView,
    write: impl FnOnce(&mut DbConnection) -> ApiResult<(u16, serde_json::Value)>,
) -> ApiResult<Once> {
    let not_before = record.created_at - chrono::TimeDelta::hours(KEY_TTL_HOURS);
    if let Some(rec) = crate::db::idempotency::find(conn, &record.org_id, &record.idem_key, not_before)? {
        return Ok(Once::Replay(rec));
    }
    let claim = |conn: &mut DbConnection, record: &IdempotencyView| {
        crate::db::idempotency::claim(conn, record).map_err(|e| match e {
            ClaimError::Committed => ApiError::new(Code::CONFLICT, IDEMPOTENCY_RACE),
            ClaimError::InFlight => in_flight(),
            ClaimError::Db(e) => e.into(),
        })
    };
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    if !sqlite {
        claim(conn, &record)?;
    }
    let (status, body) = write(conn)?;
    record.response_status = i32::from(status);
    record.response_body = body.to_string();
    if sqlite {
        claim(conn, &record)?;
    } else {
        crate::db::idempotency::complete(conn, &record)?;
    }
    Ok(Once::Fresh(status, record.response_body))
}
