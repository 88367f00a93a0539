//! The per-request read that lets a process serve an organisation's summary
//! from its in-process cache: whether the caller's token is revoked, and a
//! change token (`LedgerStamp`) of everything a summary is computed from.
//! `stamp_reader` reads both for every request waiting at that moment, in two
//! statements, so under load a cached answer costs a share of a round trip.
//!
//! The stamp changes on every write that can change a summary, through any
//! process, because each of its parts only grows and every such write grows
//! at least one of them in the transaction that makes the write:
//!
//! | write | part that grows |
//! |---|---|
//! | `POST /v1/pilots` | `pilots` (and `ledger_version`) |
//! | `PATCH /v1/pilots/{id}` (bumps the pilot's `version`) | `pilot_versions` (and `ledger_version`) |
//! | `POST …/spend`, `POST …/impact` | `entries` (the ledger is append-only; counted by the running totals) |
//! | `POST …/entries/{id}/reverse` (a reversal row, maybe a replacement) | `entries` |
//! | `POST /v1/import`, `pilotledger import` | `pilots` and/or `entries` |
//! | `pilotledger demo seed` | `pilots`, `entries`, `fx_rates` |
//! | `PUT /v1/fx-rates`, new rate | `fx_rates` |
//! | `PUT /v1/fx-rates`, replaced rate (`loaded_at` set to the time of the load) | `fx_loaded_at` |
//!
//! The one assumption: a replaced FX rate moves `max(loaded_at)` forward, i.e.
//! the loading process's clock is not behind the clock of the process that
//! made the latest earlier load. Organisations have no update route, so their
//! reporting currency cannot change under a cached summary.
//!
//! Cost: index seeks for the token, the organisation and the latest FX load
//! (`fx_rates_loaded_at`), index range scans over the organisation's pilots
//! and running totals (a few per pilot, however many entries it has), and a
//! count of the FX rates; tens of microseconds, growing with its pilot count.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::expression::functions::declare_sql_function;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric};

use super::schema::{fx_rates, orgs, pilot_totals, pilots, tokens};
use super::{DbConnection, DbError};
use crate::domain::ids::OrgId;

#[declare_sql_function]
extern "SQL" {
    /// SQLite's `sum` of integers is an integer.
    #[aggregate]
    #[sql_name = "sum"]
    fn sum_i64(x: BigInt) -> Nullable<BigInt>;

    /// PostgreSQL's `sum` of `bigint` is `numeric`; `int8(numeric)` brings it back.
    fn int8(x: Nullable<Numeric>) -> Nullable<BigInt>;
}

/// A change token of what an organisation's summary is computed from. Two
/// equal stamps, read at different times, mean no such write happened in
/// between (see the module docs for which writes grow which part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedgerStamp {
    /// The organisation's `ledger_version` (bumped by pilot writes).
    pub ledger_version: i64,
    /// How many pilots it has.
    pub pilots: i64,
    /// The sum of its pilots' versions (every pilot write bumps one).
    pub pilot_versions: i64,
    /// How many entries its append-only ledger holds.
    pub entries: i64,
    /// How many FX rates are loaded (shared by every organisation).
    pub fx_rates: i64,
    /// When the latest FX load happened.
    pub fx_loaded_at: Option<NaiveDateTime>,
}

/// Whether the token `jti` is revoked and, when `org` is given, that
/// organisation's stamp. Tokens not in the table (from an identity provider)
/// are not revoked. [`super::stamp_reader`] reads the same for many requests
/// at once; this is its one-request form.
pub fn revocation_and_stamp(
    conn: &mut DbConnection,
    jti: &str,
    org: Option<OrgId>,
) -> Result<(bool, Option<LedgerStamp>), DbError> {
    let revoked = super::tokens::is_revoked(conn, jti)?;
    let stamp = org.map(|org| stamp(conn, org)).transpose()?;
    Ok((revoked, stamp))
}

/// The `jti`s among `jtis` that are revoked, in one statement.
pub fn revoked_among(conn: &mut DbConnection, jtis: &[&str]) -> Result<Vec<String>, DbError> {
    Ok(tokens::table
        .filter(tokens::id.eq_any(jtis))
        .filter(tokens::revoked_at.is_not_null())
        .select(tokens::id)
        .load(conn)?)
}

/// An organisation's stamp, in one statement.
pub fn stamp(conn: &mut DbConnection, org: OrgId) -> Result<LedgerStamp, DbError> {
    let org = org.to_string();
    let ledger_version = orgs::table.find(&org).select(orgs::ledger_version).single_value();
    let pilot_count = pilots::table
        .filter(pilots::org_id.eq(&org))
        .select(count_star())
        .single_value();
    // The running totals count every entry appended (`db::append`, in the
    // same transaction): a few rows per pilot instead of every entry.
    let totals = pilot_totals::table.filter(pilot_totals::org_id.eq(&org));
    let fx_count = fx_rates::table.select(count_star()).single_value();
    let fx_loaded_at = fx_rates::table.select(max(fx_rates::loaded_at)).single_value();
    let mine = pilots::table.filter(pilots::org_id.eq(&org));
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<NaiveDateTime>,
    );
    // The same select on both backends but for how the versions are summed.
    let row: Row = match conn {
        DbConnection::Sqlite(c) => diesel::select((
            ledger_version,
            pilot_count,
            mine.select(sum_i64(pilots::version)).single_value(),
            totals.select(sum_i64(pilot_totals::entries)).single_value(),
            fx_count,
            fx_loaded_at,
        ))
        .get_result(c)?,
        DbConnection::Pg(c) => diesel::select((
            ledger_version,
            pilot_count,
            mine.select(int8(diesel::dsl::sum(pilots::version))).single_value(),
            totals
                .select(int8(diesel::dsl::sum(pilot_totals::entries)))
                .single_value(),
            fx_count,
            fx_loaded_at,
        ))
        .get_result(c)?,
    };
    let (ledger_version, pilots, pilot_versions, entries, fx_rates, fx_loaded_at) = row;
    Ok(LedgerStamp {
        ledger_version: ledger_version.unwrap_or(0),
        pilots: pilots.unwrap_or(0),
        pilot_versions: pilot_versions.unwrap_or(0),
        entries: entries.unwrap_or(0),
        fx_rates: fx_rates.unwrap_or(0),
        fx_loaded_at,
    })
}

/// A change token of everything the research aggregates read, over every
/// organisation: their count and ledger versions, every pilot and pilot
/// version, every entry, and the FX table. Equal stamps mean no write that
/// can change an aggregate happened in between (the same reasoning as
/// [`LedgerStamp`], summed over organisations). Scans the pilots and running
/// totals: for caching work much heavier than that, such as the measured
/// success rate behind the gap projection.
pub fn research_stamp(conn: &mut DbConnection) -> Result<(i64, LedgerStamp), DbError> {
    let org_count = orgs::table.select(count_star()).single_value();
    let pilot_count = pilots::table.select(count_star()).single_value();
    let fx_count = fx_rates::table.select(count_star()).single_value();
    let fx_loaded_at = fx_rates::table.select(max(fx_rates::loaded_at)).single_value();
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<NaiveDateTime>,
    );
    let row: Row = match conn {
        DbConnection::Sqlite(c) => diesel::select((
            org_count,
            orgs::table.select(sum_i64(orgs::ledger_version)).single_value(),
            pilot_count,
            pilots::table.select(sum_i64(pilots::version)).single_value(),
            pilot_totals::table
                .select(sum_i64(pilot_totals::entries))
                .single_value(),
            fx_count,
            fx_loaded_at,
        ))
        .get_result(c)?,
        DbConnection::Pg(c) => diesel::select((
            org_count,
            orgs::table
                .select(int8(diesel::dsl::sum(orgs::ledger_version)))
                .single_value(),
            pilot_count,
            pilots::table
                .select(int8(diesel::dsl::sum(pilots::version)))
                .single_value(),
            pilot_totals::table
                .select(int8(diesel::dsl::sum(pilot_totals::entries)))
                .single_value(),
            fx_count,
            fx_loaded_at,
        ))
        .get_result(c)?,
    };
    let (orgs, ledger_version, pilots, pilot_versions, entries, fx_rates, fx_loaded_at) = row;
    Ok((
        orgs.unwrap_or(0),
        LedgerStamp {
            ledger_version: ledger_version.unwrap_or(0),
            pilots: pilots.unwrap_or(0),
            pilot_versions: pilot_versions.unwrap_or(0),
            entries: entries.unwrap_or(0),
            fx_rates: fx_rates.unwrap_or(0),
            fx_loaded_at,
        },
    ))
}
