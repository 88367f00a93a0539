//! Spend and impact appends, a batch at a time. The group-commit writer hands
//! this module every entry create queued in one transaction, and it writes
//! them with a fixed number of statements per batch — one read each of the
//! batch's idempotency records, pilots, rollups and running totals, one
//! multi-row write each of entries, audit events, idempotency records, totals
//! and rollups — instead of about eleven statements per entry. The checks are
//! the ones a single append makes (`ledger::entries::append`): the key was not
//! used, the pilot exists, the running total stays exact.
//!
//! The batch is optimistic: when any statement fails (a key committed by
//! another process, a lock timeout, a constraint), its savepoint rolls back and
//! every write of the batch runs again on its own, so the failure is answered
//! to the one request it belongs to.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::audit::AuditView;
use super::entries::EntryView;
use super::fixed_sql::{column, Cached, Fixed};
use super::idempotency::IdempotencyView;
use super::rollups::{rollup_entry, RollupRow};
use super::schema::{audit_events, entries, idempotency_keys, pilots, tokens};
use super::totals::TotalView;
use super::{DbConnection, DbError};
use crate::domain::ids::{OrgId, PilotId};

/// Rows per multi-row statement: well under both backends' bind limits
/// (entries have 19 columns: 19 × 100 < SQLite's 32,766).
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

type TotalKey = (String, String, String, String);

fn total_key(e: &EntryView) -> TotalKey {
    (
        e.org_id.clone(),
        e.pilot_id.clone(),
        e.entry_type.clone(),
        e.currency.clone(),
    )
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

    // The rows this batch changes, locked on PostgreSQL (rollups before the FX
    // lookups, as `rollups::apply_entry` does; both in key order).
    let pairs: BTreeSet<[&str; 2]> = writes
        .iter()
        .zip(&outcome)
        .filter(|(_, o)| o.is_none())
        .map(|(w, _)| [w.entry.org_id.as_str(), w.entry.pilot_id.as_str()])
        .collect();
    // In pilot id order: PostgreSQL locks the rows in the order of the keys.
    let mut pairs: Vec<[&str; 2]> = pairs.into_iter().collect();
    pairs.sort_by_key(|[_, pilot]| *pilot);
    let rollup_rows: Vec<RollupRow> = load_by_keys(
        conn,
        "SELECT org_id, pilot_id, evaluation_on, business_function, sourcing, ai_kind, spend_usd_minor, \
         impact_3m_usd_minor, impact_6m_usd_minor, impact_12m_usd_minor, unconverted_entries \
         FROM pilot_rollups WHERE (org_id, pilot_id) IN (VALUES {}) ORDER BY pilot_id",
        "SELECT r.org_id, r.pilot_id, r.evaluation_on, r.business_function, r.sourcing, r.ai_kind, \
         r.spend_usd_minor, r.impact_3m_usd_minor, r.impact_6m_usd_minor, r.impact_12m_usd_minor, \
         r.unconverted_entries FROM unnest(?::text[], ?::text[]) AS k(org_id, pilot_id) \
         CROSS JOIN LATERAL (SELECT * FROM pilot_rollups x WHERE x.org_id = k.org_id \
         AND x.pilot_id = k.pilot_id FOR UPDATE) r",
        &pairs,
    )?;
    let total_rows: Vec<TotalView> = load_by_keys(
        conn,
        "SELECT org_id, pilot_id, entry_type, currency, total_minor, entries FROM pilot_totals \
         WHERE (org_id, pilot_id) IN (VALUES {}) ORDER BY pilot_id, entry_type, currency",
        "SELECT t.org_id, t.pilot_id, t.entry_type, t.currency, t.total_minor, t.entries \
         FROM unnest(?::text[], ?::text[]) AS k(org_id, pilot_id) \
         CROSS JOIN LATERAL (SELECT * FROM pilot_totals x WHERE x.org_id = k.org_id \
         AND x.pilot_id = k.pilot_id ORDER BY x.entry_type, x.currency FOR UPDATE) t",
        &pairs,
    )?;
    let mut rollups: HashMap<(String, String), RollupRow> = rollup_rows
        .into_iter()
        .map(|r| ((r.org_id.clone(), r.pilot_id.clone()), r))
        .collect();
    let mut totals: HashMap<TotalKey, TotalView> = total_rows
        .into_iter()
        .map(|t| {
            let key = (
                t.org_id.clone(),
                t.pilot_id.clone(),
                t.entry_type.clone(),
                t.currency.clone(),
            );
            (key, t)
        })
        .collect();

    // Apply each live write in order to the rows in memory.
    let mut rates: HashMap<(String, NaiveDate), super::rollups::OneRate> = HashMap::new();
    let mut dirty_totals = BTreeSet::new();
    let mut dirty_rollups = BTreeSet::new();
    let mut recompute = BTreeSet::new();
    for (i, w) in writes.iter().enumerate() {
        if outcome[i].is_some() {
            continue;
        }
        let e = &w.entry;
        let key = total_key(e);
        let total = totals.entry(key.clone()).or_insert_with(|| TotalView {
            org_id: e.org_id.clone(),
            pilot_id: e.pilot_id.clone(),
            entry_type: e.entry_type.clone(),
            currency: e.currency.clone(),
            total_minor: 0,
            entries: 0,
        });
        let Some(next) = total.total_minor.checked_add(e.amount_minor) else {
            outcome[i] = Some(Outcome::TotalOverflow);
            continue;
        };
        total.total_minor = next;
        total.entries += 1;
        dirty_totals.insert(key);
        outcome[i] = Some(Outcome::Written);

        let pilot = (e.org_id.clone(), e.pilot_id.clone());
        if recompute.contains(&pilot) {
            continue;
        }
        let Some(row) = rollups.get_mut(&pilot) else {
            // A pilot from before rollups, not yet filled in.
            recompute.insert(pilot);
            continue;
        };
        let rate_key = (e.currency.clone(), e.period_end);
        if !rates.contains_key(&rate_key) {
            let rate = super::rollups::rate_for(conn, &e.currency, e.period_end)?;
            rates.insert(rate_key.clone(), rate);
        }
        let mut rollup = row.rollup();
        if rollup.add(&rollup_entry(&rates[&rate_key], e)) {
            row.spend_usd_minor = rollup.spend_usd_minor;
            row.impact_3m_usd_minor = rollup.impact_usd_minor[0];
            row.impact_6m_usd_minor = rollup.impact_usd_minor[1];
            row.impact_12m_usd_minor = rollup.impact_usd_minor[2];
            row.unconverted_entries = rollup.unconverted_entries;
            dirty_rollups.insert(pilot);
        } else {
            // A sum left i64 in the incremental form: recompute from entries.
            dirty_rollups.remove(&pilot);
            recompute.insert(pilot);
        }
    }

    let live: Vec<&EntryWrite> = writes
        .iter()
        .zip(&outcome)
        .filter(|(_, o)| matches!(o, Some(Outcome::Written)))
        .map(|(w, _)| w)
        .collect();
    if !live.is_empty() {
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
        let entry_rows: Vec<&EntryView> = live.iter().map(|w| &w.entry).collect();
        let audit_rows: Vec<&AuditView> = live.iter().map(|w| &w.audit).collect();
        let key_rows: Vec<&IdempotencyView> = live.iter().map(|w| &w.idempotency).collect();
        let total_rows: Vec<&TotalView> = dirty_totals.iter().map(|k| &totals[k]).collect();
        let rollup_rows: Vec<&RollupRow> = dirty_rollups.iter().map(|k| &rollups[k]).collect();
        insert_entries(conn, &entry_rows)?;
        insert_audit(conn, &audit_rows)?;
        insert_keys(conn, pg, &key_rows)?;
        upsert_totals(conn, &total_rows)?;
        update_rollups(conn, &rollup_rows)?;
        for (org, pilot) in &recompute {
            let (Some(org), Some(pilot)) = (OrgId::parse(org), PilotId::parse(pilot)) else {
                return Err(Stop::Db(DbError::Conflict("a stored id does not parse")));
            };
            super::rollups::recompute(conn, org, pilot)?;
        }
    }
    Ok(outcome.into_iter().map(|o| o.unwrap_or(Outcome::KeyInFlight)).collect())
}

/// Loads rows by keys. SQLite: the rows of `sql`, whose `{}` becomes one
/// `(?, …)` tuple per key. PostgreSQL: the rows of `pg_sql`, whose `?`s take
/// the keys' columns as text arrays, in order (a statement of fixed text,
/// prepared once; see `fixed_sql`). Its lookups are LATERAL subqueries on
/// the primary key, so the plan PostgreSQL keeps is an index probe per key
/// whatever the table's size when it was made (a join planned while
/// `idempotency_keys` was empty scanned the whole table for every batch
/// once it had grown). `LIMIT 1` (a primary key matches one row at most)
/// keeps the planner from turning the lookup back into that join.
fn load_by_keys<T, const N: usize>(
    conn: &mut DbConnection,
    sql: &str,
    pg_sql: &'static str,
    keys: &[[&str; N]],
) -> Result<Vec<T>, Stop>
where
    T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
        + diesel::deserialize::QueryableByName<diesel::pg::Pg>
        + 'static,
{
    use diesel::sql_types::{Array, Text};
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match conn {
        DbConnection::Sqlite(c) => {
            let tuple = format!("({})", vec!["?"; N].join(", "));
            let sql = sql.replacen("{}", &vec![tuple.as_str(); keys.len()].join(", "), 1);
            let mut q = Cached::new(sql);
            for value in keys.iter().flatten() {
                q = q.bind::<Text, _>(*value);
            }
            q.load(c)?
        }
        DbConnection::Pg(c) => {
            let mut q = Fixed::new(pg_sql);
            for column in 0..N {
                q = q.bind::<Array<Text>, _>(keys.iter().map(|k| k[column]).collect::<Vec<&str>>());
            }
            q.load(c)?
        }
    };
    Ok(rows)
}

fn insert_entries(conn: &mut DbConnection, rows: &[&EntryView]) -> Result<(), Stop> {
    if let DbConnection::Pg(c) = conn {
        super::entries::insert_pg(c, rows)?;
        return Ok(());
    }
    for chunk in rows.chunks(CHUNK) {
        let chunk: Vec<EntryView> = chunk.iter().map(|r| (*r).clone()).collect();
        let result = match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(entries::table).values(&chunk).execute(c),
            DbConnection::Pg(c) => diesel::insert_into(entries::table).values(&chunk).execute(c),
        };
        result?;
    }
    Ok(())
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

fn upsert_totals(conn: &mut DbConnection, rows: &[&TotalView]) -> Result<(), Stop> {
    use diesel::sql_types::{Array, BigInt, Text};
    for chunk in rows.chunks(CHUNK) {
        let result = match conn {
            // diesel has no multi-row upsert for SQLite: the same statement by hand.
            DbConnection::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO pilot_totals (org_id, pilot_id, entry_type, currency, total_minor, entries) \
                     VALUES {} ON CONFLICT (org_id, pilot_id, entry_type, currency) DO UPDATE SET \
                     total_minor = excluded.total_minor, entries = excluded.entries",
                    vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = Cached::new(sql);
                for r in chunk {
                    q = q
                        .bind::<Text, _>(&r.org_id)
                        .bind::<Text, _>(&r.pilot_id)
                        .bind::<Text, _>(&r.entry_type)
                        .bind::<Text, _>(&r.currency)
                        .bind::<BigInt, _>(r.total_minor)
                        .bind::<BigInt, _>(r.entries);
                }
                q.execute(c)
            }
            DbConnection::Pg(c) => Fixed::new(
                "INSERT INTO pilot_totals (org_id, pilot_id, entry_type, currency, total_minor, entries) \
                 SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) \
                 ON CONFLICT (org_id, pilot_id, entry_type, currency) DO UPDATE SET \
                 total_minor = excluded.total_minor, entries = excluded.entries",
            )
            .bind::<Array<Text>, _>(column(chunk, |r| r.org_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.pilot_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.entry_type.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.currency.as_str()))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.total_minor))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.entries))
            .execute(c),
        };
        result?;
    }
    Ok(())
}

/// Stores rollups that exist (one statement for the batch: an upsert whose
/// insert arm never runs, since every row was read above).
fn update_rollups(conn: &mut DbConnection, rows: &[&RollupRow]) -> Result<(), Stop> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    for chunk in rows.chunks(CHUNK) {
        let result = match conn {
            DbConnection::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO pilot_rollups (org_id, pilot_id, evaluation_on, business_function, sourcing, \
                     ai_kind, spend_usd_minor, impact_3m_usd_minor, impact_6m_usd_minor, impact_12m_usd_minor, \
                     unconverted_entries) VALUES {} ON CONFLICT (org_id, pilot_id) DO UPDATE SET \
                     spend_usd_minor = excluded.spend_usd_minor, \
                     impact_3m_usd_minor = excluded.impact_3m_usd_minor, \
                     impact_6m_usd_minor = excluded.impact_6m_usd_minor, \
                     impact_12m_usd_minor = excluded.impact_12m_usd_minor, \
                     unconverted_entries = excluded.unconverted_entries",
                    vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = Cached::new(sql);
                for row in chunk {
                    q = q
                        .bind::<Text, _>(&row.org_id)
                        .bind::<Text, _>(&row.pilot_id)
                        .bind::<Nullable<diesel::sql_types::Date>, _>(row.evaluation_on)
                        .bind::<Text, _>(&row.business_function)
                        .bind::<Text, _>(&row.sourcing)
                        .bind::<Text, _>(&row.ai_kind)
                        .bind::<Nullable<BigInt>, _>(row.spend_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_3m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_6m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_12m_usd_minor)
                        .bind::<BigInt, _>(row.unconverted_entries);
                }
                q.execute(c)
            }
            DbConnection::Pg(c) => Fixed::new(
                "INSERT INTO pilot_rollups (org_id, pilot_id, evaluation_on, business_function, sourcing, \
                 ai_kind, spend_usd_minor, impact_3m_usd_minor, impact_6m_usd_minor, impact_12m_usd_minor, \
                 unconverted_entries) SELECT * FROM unnest(?::text[], ?::text[], ?::date[], ?::text[], \
                 ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[]) \
                 ON CONFLICT (org_id, pilot_id) DO UPDATE SET \
                 spend_usd_minor = excluded.spend_usd_minor, \
                 impact_3m_usd_minor = excluded.impact_3m_usd_minor, \
                 impact_6m_usd_minor = excluded.impact_6m_usd_minor, \
                 impact_12m_usd_minor = excluded.impact_12m_usd_minor, \
                 unconverted_entries = excluded.unconverted_entries",
            )
            .bind::<Array<Text>, _>(column(chunk, |r| r.org_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.pilot_id.as_str()))
            .bind::<Array<Nullable<diesel::sql_types::Date>>, _>(column(chunk, |r| r.evaluation_on))
            .bind::<Array<Text>, _>(column(chunk, |r| r.business_function.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.sourcing.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.ai_kind.as_str()))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.spend_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_3m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_6m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_12m_usd_minor))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.unconverted_entries))
            .execute(c),
        };
        result?;
    }
    Ok(())
}
