//! Spend and impact appends, a batch at a time. The group-commit writer hands
//! this module every entry create queued in one transaction, and it writes
//! them with a fixed number of statements per batch — one read each of the
//! batch's revoked tokens, idempotency records and pilots, the ledger
//! invariant through `append` (as for every other entry write), one
//! multi-row write each of audit events and idempotency records — instead of
//! about eleven statements per entry. The checks are the ones a single
//! request makes: the token is live, the key was not used, the pilot exists,
//! the running total stays exact.
//!
//! The batch is optimistic: when any statement fails (a key committed by
//! another process, a lock timeout, a constraint), its savepoint rolls back and
//! every write of the batch runs again on its own, so the failure is answered
//! to the one request it belongs to.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;

use super::append::{Appended, Rates};
use super::audit::AuditView;
use super::entries::EntryView;
use super::fixed_sql::{column, load_by_keys, Fixed};
use super::idempotency::IdempotencyView;
use super::schema::{audit_events, idempotency_keys, pilots, tokens};
use super::{DbConnection, DbError};

/// Rows per multi-row statement on SQLite: well under its bind limit, and a
/// bounded number of statement texts for its cache (`fixed_sql::Cached`).
const CHUNK: usize = 100;

/// One entry create, prepared by its request: every row it writes, with the
/// response already rendered (it does not depend on what the batch finds).
#[derive(Debug, Clone)]
pub struct EntryWrite {
    pub entry: EntryView,
    pub audit: AuditView,
    /// The key's record, holding the response that a retry replays.
    pub idempotency: IdempotencyView,
}

/// What became of one entry create.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Written; the response is the one the request rendered.
    Written,
    /// The key was used within its lifetime: the stored record (the caller
    /// checks that it was the same request).
    Replay(Box<IdempotencyView>),
    PilotNotFound,
    /// The pilot's running total of this type and currency would leave i64.
    TotalOverflow,
    /// Its organisation requires FX rates and none converts this entry.
    FxRateMissing,
    /// Another process holds the key in an open transaction (PostgreSQL).
    KeyInFlight,
    /// Another process committed the key after this batch looked for it.
    KeyCommitted,
    /// The request's token (its `jti`, the key record's `token_id`) is revoked.
    TokenRevoked,
}

/// Why a batch stopped: a database error, or a lost race on one key.
#[derive(Debug)]
enum Stop {
    Db(DbError),
    Key(Outcome),
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Db(e)
    }
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(e.into())
    }
}

/// Writes `writes` inside the caller's transaction; one outcome (or error)
/// per write, in order. Tries them as one batch; when that fails, each alone.
///
/// `fresh`: nothing else was written in this transaction yet. The batch then
/// runs without a savepoint — SQLite copies every page a savepoint's work
/// touches to a sub-journal first, which cost the writer about a sixth of its
/// time — and a failed batch rolls the whole transaction back and begins anew.
pub fn write_all(conn: &mut DbConnection, writes: &[EntryWrite], fresh: bool) -> Vec<Result<Outcome, DbError>> {
    if writes.is_empty() {
        return Vec::new();
    }
    let first = if fresh {
        write_batch(conn, writes).map_err(|stop| {
            super::rollback(conn);
            (stop, super::begin_write(conn))
        })
    } else {
        super::read_tx(conn, |c| write_batch(c, writes)).map_err(|stop| (stop, Ok(())))
    };
    match first {
        Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
        Err((_, Err(e))) => {
            // The transaction could not begin again: nothing can be written.
            let cause = e.to_string();
            return writes
                .iter()
                .map(|_| Err(DbError::Unavailable(cause.clone())))
                .collect();
        }
        Err((stop, Ok(()))) if writes.len() == 1 => return vec![stopped(stop)],
        Err(_) => {}
    }
    writes
        .iter()
        .map(
            |w| match super::read_tx(conn, |c| write_batch(c, std::slice::from_ref(w))) {
                Ok(mut one) => Ok(one.remove(0)),
                Err(stop) => stopped(stop),
            },
        )
        .collect()
}

fn stopped(stop: Stop) -> Result<Outcome, DbError> {
    match stop {
        Stop::Db(e) => Err(e),
        Stop::Key(outcome) => Ok(outcome),
    }
}

fn write_batch(conn: &mut DbConnection, writes: &[EntryWrite]) -> Result<Vec<Outcome>, Stop> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let mut outcome: Vec<Option<Outcome>> = vec![None; writes.len()];
    let pilot_ids: BTreeSet<&str> = writes.iter().map(|w| w.entry.pilot_id.as_str()).collect();

    // The tokens' revocation check, in the write's own transaction: the route
    // takes the token unconfirmed (`auth::PendingAuth`), so this is the check
    // that stands between a revoked token and the ledger.
    let jtis: BTreeSet<&str> = writes.iter().map(|w| w.idempotency.token_id.as_str()).collect();
    let revoked: BTreeSet<String> = tokens::table
        .filter(tokens::id.eq_any(&jtis))
        .filter(tokens::revoked_at.is_not_null())
        .select(tokens::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for (i, w) in writes.iter().enumerate() {
        if revoked.contains(&w.idempotency.token_id) {
            outcome[i] = Some(Outcome::TokenRevoked);
        }
    }

    // Keys used before: replay those within their lifetime; an expired record
    // is deleted before the new one is written.
    // By exact key (a row-value IN): two IN lists, one per column, would
    // probe every combination of the batch's organisations and keys. Keys
    // belong to the organisation, not to the token that sent them.
    let wanted: Vec<[&str; 2]> = writes
        .iter()
        .map(|w| {
            let r = &w.idempotency;
            [r.org_id.as_str(), r.idem_key.as_str()]
        })
        .collect();
    let used: Vec<IdempotencyView> = load_by_keys(
        conn,
        "SELECT org_id, token_id, idem_key, request_hash, response_status, response_body, created_at \
         FROM idempotency_keys WHERE (org_id, idem_key) IN (VALUES {})",
        "SELECT i.org_id, i.token_id, i.idem_key, i.request_hash, i.response_status, i.response_body, \
         i.created_at FROM unnest(?::text[], ?::text[]) AS k(org_id, idem_key) \
         CROSS JOIN LATERAL (SELECT * FROM idempotency_keys x WHERE x.org_id = k.org_id \
         AND x.idem_key = k.idem_key LIMIT 1) i",
        &wanted,
    )?;
    let used: HashMap<(&str, &str), &IdempotencyView> = used
        .iter()
        .map(|r| ((r.org_id.as_str(), r.idem_key.as_str()), r))
        .collect();
    let mut expired = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, w) in writes.iter().enumerate() {
        let r = &w.idempotency;
        let key = (r.org_id.as_str(), r.idem_key.as_str());
        if outcome[i].is_some() {
            continue;
        }
        if !seen.insert(key) {
            // Two writes with one key in a batch: the process's in-flight set
            // prevents it, but the second must never write too.
            outcome[i] = Some(Outcome::KeyInFlight);
        } else if let Some(stored) = used.get(&key) {
            let lifetime = chrono::TimeDelta::hours(super::idempotency::KEY_TTL_HOURS);
            if stored.created_at >= r.created_at - lifetime {
                outcome[i] = Some(Outcome::Replay(Box::new((*stored).clone())));
            } else {
                expired.push(i);
            }
        }
    }

    // Pilot ids are unique across organisations; the organisation is checked
    // here, so one organisation's writer never reaches another's pilot.
    let present: BTreeSet<(String, String)> = pilots::table
        .filter(pilots::id.eq_any(&pilot_ids))
        .select((pilots::org_id, pilots::id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    for (i, w) in writes.iter().enumerate() {
        if outcome[i].is_none() && !present.contains(&(w.entry.org_id.clone(), w.entry.pilot_id.clone())) {
            outcome[i] = Some(Outcome::PilotNotFound);
        }
    }

    // The ledger invariant for every live write, in order (`append`).
    let live: Vec<usize> = (0..writes.len()).filter(|i| outcome[*i].is_none()).collect();
    let entries: Vec<&EntryView> = live.iter().map(|i| &writes[*i].entry).collect();
    let appended = super::append::append(conn, &[], &entries, Rates::lookup())?;
    for (i, a) in live.iter().zip(appended) {
        outcome[*i] = Some(match a {
            Appended::Written => Outcome::Written,
            Appended::TotalOverflow => Outcome::TotalOverflow,
            Appended::FxRateMissing => Outcome::FxRateMissing,
        });
    }

    let written: Vec<&EntryWrite> = writes
        .iter()
        .zip(&outcome)
        .filter(|(_, o)| matches!(o, Some(Outcome::Written)))
        .map(|(w, _)| w)
        .collect();
    if !written.is_empty() {
        for &i in &expired {
            if matches!(outcome[i], Some(Outcome::Written)) {
                let r = &writes[i].idempotency;
                diesel::delete(
                    idempotency_keys::table
                        .filter(idempotency_keys::org_id.eq(&r.org_id))
                        .filter(idempotency_keys::idem_key.eq(&r.idem_key)),
                )
                .execute(conn)?;
            }
        }
        let audit_rows: Vec<&AuditView> = written.iter().map(|w| &w.audit).collect();
        let key_rows: Vec<&IdempotencyView> = written.iter().map(|w| &w.idempotency).collect();
        insert_audit(conn, &audit_rows)?;
        insert_keys(conn, pg, &key_rows)?;
    }
    Ok(outcome.into_iter().map(|o| o.unwrap_or(Outcome::KeyInFlight)).collect())
}

fn insert_audit(conn: &mut DbConnection, rows: &[&AuditView]) -> Result<(), Stop> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamp};
    if let DbConnection::Pg(c) = conn {
        Fixed::new(
            "INSERT INTO audit_events (org_id, id, at, actor, actor_role, action, object_type, object_id, \
             before_json, after_json) SELECT * FROM unnest(?::text[], ?::text[], ?::timestamp[], ?::text[], \
             ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])",
        )
        .bind::<Array<Text>, _>(column(rows, |r| r.org_id.as_str()))
        .bind::<Array<Text>, _>(column(rows, |r| r.id.as_str()))
        .bind::<Array<Timestamp>, _>(column(rows, |r| r.at))
        .bind::<Array<Text>, _>(column(rows, |r| r.actor.as_str()))
        .bind::<Array<Text>, _>(column(rows, |r| r.actor_role.as_str()))
        .bind::<Array<Text>, _>(column(rows, |r| r.action.as_str()))
        .bind::<Array<Text>, _>(column(rows, |r| r.object_type.as_str()))
        .bind::<Array<Text>, _>(column(rows, |r| r.object_id.as_str()))
        .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.before_json.as_deref()))
        .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.after_json.as_deref()))
        .execute(c)?;
        return Ok(());
    }
    for chunk in rows.chunks(CHUNK) {
        let chunk: Vec<AuditView> = chunk.iter().map(|r| (*r).clone()).collect();
        let result = match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(audit_events::table).values(&chunk).execute(c),
            DbConnection::Pg(c) => diesel::insert_into(audit_events::table).values(&chunk).execute(c),
        };
        result?;
    }
    Ok(())
}

/// Writes the keys' records. On PostgreSQL a key held by another process's
/// open transaction makes the insert wait: a short lock timeout turns that
/// into `KeyInFlight` instead of queueing (as `idempotency::claim` does).
fn insert_keys(conn: &mut DbConnection, pg: bool, rows: &[&IdempotencyView]) -> Result<(), Stop> {
    use diesel::sql_types::{Array, Integer, Text, Timestamp};
    let lock_timeout = |conn: &mut DbConnection, value: &str| -> Result<(), Stop> {
        if let DbConnection::Pg(c) = conn {
            Fixed::new("SELECT set_config('lock_timeout', ?, true)")
                .bind::<Text, _>(value)
                .execute(c)?;
        }
        Ok(())
    };
    if pg {
        lock_timeout(conn, "200ms")?;
    }
    let chunks: Vec<&[&IdempotencyView]> = if pg { vec![rows] } else { rows.chunks(CHUNK).collect() };
    for chunk in chunks {
        let result = match conn {
            DbConnection::Sqlite(c) => {
                let chunk: Vec<IdempotencyView> = chunk.iter().map(|r| (*r).clone()).collect();
                diesel::insert_into(idempotency_keys::table).values(&chunk).execute(c)
            }
            DbConnection::Pg(c) => Fixed::new(
                "INSERT INTO idempotency_keys (org_id, token_id, idem_key, request_hash, response_status, \
                 response_body, created_at) SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], \
                 ?::integer[], ?::text[], ?::timestamp[])",
            )
            .bind::<Array<Text>, _>(column(chunk, |r| r.org_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.token_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.idem_key.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.request_hash.as_str()))
            .bind::<Array<Integer>, _>(column(chunk, |r| r.response_status))
            .bind::<Array<Text>, _>(column(chunk, |r| r.response_body.as_str()))
            .bind::<Array<Timestamp>, _>(column(chunk, |r| r.created_at))
            .execute(c),
        };
        match result.map_err(DbError::from) {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => return Err(Stop::Key(Outcome::KeyCommitted)),
            Err(DbError::Query(diesel::result::Error::DatabaseError(_, info)))
                if info.message().contains("lock timeout") =>
            {
                return Err(Stop::Key(Outcome::KeyInFlight))
            }
            Err(e) => return Err(Stop::Db(e)),
        }
    }
    if pg {
        lock_timeout(conn, "0")?;
    }
    Ok(())
}
