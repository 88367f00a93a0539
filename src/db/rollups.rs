//! Per-pilot rollups for the research aggregates (`analytics::rollup`), kept up
//! to date inside the transaction of every write that can change them:
//!
//! | write                               | what happens here                                 |
//! |-------------------------------------|---------------------------------------------------|
//! | pilot create, import                | `append`: an empty row, then its entries added    |
//! | entry append, reversal, batch       | `append`: the entry added in place                |
//! | demo seed                           | [`after_bulk_write`]: computed from the entries   |
//! | pilot patch                         | [`recompute`] from the pilot's entries            |
//! | FX rate put (API or seed)           | [`refresh_for_rates`]: every pilot with an entry the new rates can convert |
//!
//! Concurrency on PostgreSQL: an entry write locks its pilot's row before it
//! looks up the FX rate, and an FX put locks the whole table (after writing
//! the rates, before reading entries), so whichever commits first, the other
//! sees its result. SQLite serialises writers anyway.

use crate::domain::enums::EntryType;
use std::collections::BTreeSet;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::entries::EntryView;
use super::pilots::PilotView;
use super::schema::{entries, pilot_rollups, pilots};
use super::{DbConnection, DbError};
use crate::analytics::definitions::evaluation_date;
use crate::analytics::fx_table::FxTable;
use crate::analytics::roi::FxSource;
use crate::analytics::rollup::{ImpactFacts, PilotRollup, RollupEntry};
use crate::domain::currency::Currency;
use crate::domain::fx::FxRate;
use crate::domain::ids::{OrgId, PilotId};
use crate::domain::pilots::{reached_production, stored_history};

/// Rows per multi-row INSERT: well under both backends' bind-parameter limits.
const CHUNK: usize = 400;

/// Rows per multi-row upsert (a bounded number of SQLite statement texts).
pub const UPSERT_CHUNK: usize = 100;

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = pilot_rollups, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct RollupRow {
    pub org_id: String,
    pub pilot_id: String,
    pub evaluation_on: Option<NaiveDate>,
    pub business_function: String,
    pub sourcing: String,
    pub ai_kind: String,
    pub spend_usd_minor: Option<i64>,
    pub impact_3m_usd_minor: Option<i64>,
    pub impact_6m_usd_minor: Option<i64>,
    pub impact_12m_usd_minor: Option<i64>,
    pub unconverted_entries: i64,
    /// The pilot's stage, and whether it ever reached production (its
    /// stage history): what "abandoned before production" reads.
    pub stage: String,
    pub reached_production: bool,
    /// The pilot's expected annual benefit in USD minor units, converted at
    /// the rate for its evaluation date; `None` when it has none or it
    /// cannot be converted.
    pub expected_benefit_usd_minor: Option<i64>,
    pub revenue_3m_usd_minor: Option<i64>,
    pub revenue_6m_usd_minor: Option<i64>,
    pub revenue_12m_usd_minor: Option<i64>,
    pub cost_3m_usd_minor: Option<i64>,
    pub cost_6m_usd_minor: Option<i64>,
    pub cost_12m_usd_minor: Option<i64>,
}

impl RollupRow {
    /// The row for `pilot` with sums `r`. Its expected benefit is filled in
    /// here only when it is in USD; [`compute`] converts any other.
    pub fn new(pilot: &PilotView, r: &PilotRollup) -> Self {
        let history = stored_history(&pilot.stage_history, pilot.stage, pilot.stage_entered_on);
        let mut row = Self {
            stage: pilot.stage.as_str().to_owned(),
            reached_production: reached_production(&history),
            expected_benefit_usd_minor: match pilot.expected_benefit_currency.as_deref() {
                Some("USD") => pilot.expected_benefit_minor,
                _ => None,
            },
            revenue_3m_usd_minor: None,
            revenue_6m_usd_minor: None,
            revenue_12m_usd_minor: None,
            cost_3m_usd_minor: None,
            cost_6m_usd_minor: None,
            cost_12m_usd_minor: None,
            org_id: pilot.org_id.clone(),
            pilot_id: pilot.id.clone(),
            evaluation_on: r.evaluation,
            business_function: pilot.business_function.as_str().to_owned(),
            sourcing: pilot.sourcing.as_str().to_owned(),
            ai_kind: pilot.ai_kind.as_str().to_owned(),
            spend_usd_minor: r.spend_usd_minor,
            impact_3m_usd_minor: r.impact_usd_minor[0],
            impact_6m_usd_minor: r.impact_usd_minor[1],
            impact_12m_usd_minor: r.impact_usd_minor[2],
            unconverted_entries: r.unconverted_entries,
        };
        row.set_sums(r);
        row
    }

    /// Takes the sums of `r`.
    pub fn set_sums(&mut self, r: &PilotRollup) {
        self.evaluation_on = r.evaluation;
        self.spend_usd_minor = r.spend_usd_minor;
        [
            self.impact_3m_usd_minor,
            self.impact_6m_usd_minor,
            self.impact_12m_usd_minor,
        ] = r.impact_usd_minor;
        [
            self.revenue_3m_usd_minor,
            self.revenue_6m_usd_minor,
            self.revenue_12m_usd_minor,
        ] = r.split_usd_minor[0];
        [self.cost_3m_usd_minor, self.cost_6m_usd_minor, self.cost_12m_usd_minor] = r.split_usd_minor[1];
        self.unconverted_entries = r.unconverted_entries;
    }

    pub fn rollup(&self) -> PilotRollup {
        PilotRollup {
            evaluation: self.evaluation_on,
            spend_usd_minor: self.spend_usd_minor,
            impact_usd_minor: [
                self.impact_3m_usd_minor,
                self.impact_6m_usd_minor,
                self.impact_12m_usd_minor,
            ],
            split_usd_minor: [
                [
                    self.revenue_3m_usd_minor,
                    self.revenue_6m_usd_minor,
                    self.revenue_12m_usd_minor,
                ],
                [self.cost_3m_usd_minor, self.cost_6m_usd_minor, self.cost_12m_usd_minor],
            ],
            unconverted_entries: self.unconverted_entries,
        }
    }
}

/// The pilot's evaluation date under the definitions (None: not evaluated, or
/// a stored stage that no longer parses, which the API never writes).
pub fn evaluation_of(p: &PilotView) -> Option<NaiveDate> {
    evaluation_date(p.evaluated_on, p.stage, p.evaluation_stage_on)
}

/// An entry as the rollup sees it, converted with `fx`.
pub fn rollup_entry(fx: &impl FxSource, e: &EntryView) -> RollupEntry {
    let impact = (e.entry_type != EntryType::Spend).then(|| ImpactFacts {
        measured: e.measured,
        method: e.attribution_method.as_deref(),
        kind: &e.category,
    });
    RollupEntry::convert(fx, e.currency.code(), e.amount_minor, e.period_end, impact)
}

/// The rollup of a pilot whose entries are all in `entries` (new pilots).
pub fn compute(fx: &impl FxSource, pilot: &PilotView, entries: &[&EntryView]) -> RollupRow {
    let r = PilotRollup::from_entries(evaluation_of(pilot), entries.iter().map(|e| rollup_entry(fx, e)));
    let mut row = RollupRow::new(pilot, &r);
    row.expected_benefit_usd_minor = expected_benefit_usd(fx, pilot);
    row
}

/// Whether the pilot's rollup needs an FX rate for its expected benefit.
pub fn benefit_needs_rate(pilot: &PilotView) -> bool {
    pilot.expected_benefit_currency.as_deref().is_some_and(|c| c != "USD")
}

/// The pilot's expected annual benefit in US cents at the rate on or before
/// its evaluation date (else the date it entered its stage).
fn expected_benefit_usd(fx: &impl FxSource, pilot: &PilotView) -> Option<i64> {
    let (minor, currency) = (
        pilot.expected_benefit_minor?,
        pilot.expected_benefit_currency.as_deref()?,
    );
    let on = evaluation_of(pilot).unwrap_or(pilot.stage_entered_on);
    crate::analytics::rollup::usd_minor(fx, currency, minor, on)
}

pub fn insert_many(conn: &mut DbConnection, rows: &[RollupRow]) -> Result<(), DbError> {
    for chunk in rows.chunks(CHUNK) {
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(pilot_rollups::table).values(chunk).execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(pilot_rollups::table).values(chunk).execute(c)?,
        };
    }
    Ok(())
}

/// The pilot's row, locked for the rest of the transaction on PostgreSQL.
fn lock(conn: &mut DbConnection, org: &str, pilot: &str) -> Result<Option<RollupRow>, DbError> {
    let q = || {
        pilot_rollups::table
            .filter(pilot_rollups::org_id.eq(org))
            .filter(pilot_rollups::pilot_id.eq(pilot))
    };
    Ok(match conn {
        DbConnection::Sqlite(c) => q().select(RollupRow::as_select()).get_result(c).optional()?,
        DbConnection::Pg(c) => q()
            .select(RollupRow::as_select())
            .for_update()
            .get_result(c)
            .optional()?,
    })
}

fn store(conn: &mut DbConnection, row: &RollupRow, exists: bool) -> Result<(), DbError> {
    if exists {
        diesel::update(
            pilot_rollups::table
                .filter(pilot_rollups::org_id.eq(&row.org_id))
                .filter(pilot_rollups::pilot_id.eq(&row.pilot_id)),
        )
        .set(row)
        .execute(conn)?;
    } else {
        diesel::insert_into(pilot_rollups::table).values(row).execute(conn)?;
    }
    Ok(())
}

/// The one rate an entry needs, looked up in the database.
pub(super) struct OneRate(Option<(Currency, NaiveDate, FxRate)>);

impl FxSource for OneRate {
    fn rate_on_or_before(&self, currency: Currency, on: NaiveDate) -> Option<(NaiveDate, FxRate)> {
        self.0
            .filter(|(c, d, _)| *c == currency && *d <= on)
            .map(|(_, d, r)| (d, r))
    }
}

pub(super) fn rate_for(conn: &mut DbConnection, currency: &str, on: NaiveDate) -> Result<OneRate, DbError> {
    let Ok(c) = Currency::parse(currency) else {
        return Ok(OneRate(None));
    };
    if c == Currency::USD {
        return Ok(OneRate(None));
    }
    let found = super::fx::rate_on_or_before(conn, currency, on)?;
    Ok(OneRate(found.and_then(|r| {
        Some((c, r.rate_date, FxRate::parse(&r.rate_to_usd).ok()?))
    })))
}

/// Recomputes one pilot's rollup from its stored entries (after a patch).
pub fn recompute(conn: &mut DbConnection, org: OrgId, pilot: PilotId) -> Result<(), DbError> {
    let (org, pilot) = (org.to_string(), pilot.to_string());
    let exists = lock(conn, &org, &pilot)?.is_some();
    recompute_locked(conn, &org, &pilot, None, exists)
}

/// `pending`: an entry of this transaction that may not be inserted yet.
fn recompute_locked(
    conn: &mut DbConnection,
    org: &str,
    pilot: &str,
    pending: Option<&EntryView>,
    exists: bool,
) -> Result<(), DbError> {
    let fx = super::fx::table(conn)?;
    recompute_with(conn, &fx, org, pilot, pending, exists)
}

fn recompute_with(
    conn: &mut DbConnection,
    fx: &FxTable,
    org: &str,
    pilot: &str,
    pending: Option<&EntryView>,
    exists: bool,
) -> Result<(), DbError> {
    let p: PilotView = pilots::table
        .filter(pilots::org_id.eq(org))
        .filter(pilots::id.eq(pilot))
        .select(PilotView::as_select())
        .get_result(conn)?;
    let mut stored: Vec<EntryView> = entries::table
        .filter(entries::org_id.eq(org))
        .filter(entries::pilot_id.eq(pilot))
        .select(EntryView::as_select())
        .load(conn)?;
    if let Some(e) = pending {
        if !stored.iter().any(|s| s.id == e.id) {
            stored.push(e.clone());
        }
    }
    let refs: Vec<&EntryView> = stored.iter().collect();
    store(conn, &compute(fx, &p, &refs), exists)
}

/// After FX rates were written in this transaction: recomputes every pilot
/// with an entry in one of those currencies whose period ends on or after the
/// earliest new date of its currency (no other conversion can have changed,
/// and an entry that had no rate becomes convertible only that way).
pub fn refresh_for_rates(conn: &mut DbConnection, rates: &[(String, NaiveDate)]) -> Result<usize, DbError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("LOCK TABLE pilot_rollups IN EXCLUSIVE MODE").execute(c)?;
    }
    let mut earliest: std::collections::BTreeMap<&str, NaiveDate> = Default::default();
    for (c, d) in rates {
        let e = earliest.entry(c.as_str()).or_insert(*d);
        *e = (*e).min(*d);
    }
    let mut affected: BTreeSet<(String, String)> = BTreeSet::new();
    for (currency, from) in earliest {
        let rows: Vec<(String, String)> = entries::table
            .filter(entries::currency.eq(currency))
            .filter(entries::period_end.ge(from))
            .select((entries::org_id, entries::pilot_id))
            .distinct()
            .load(conn)?;
        affected.extend(rows);
        // Pilots whose expected benefit is in the currency.
        let rows: Vec<(String, String)> = pilots::table
            .filter(pilots::expected_benefit_currency.eq(currency))
            .select((pilots::org_id, pilots::id))
            .load(conn)?;
        affected.extend(rows);
    }
    if affected.is_empty() {
        return Ok(0);
    }
    let fx = super::fx::table(conn)?;
    for (org, pilot) in &affected {
        let exists = lock(conn, org, pilot)?.is_some();
        recompute_with(conn, &fx, org, pilot, None, exists)?;
    }
    Ok(affected.len())
}

/// Fills in rollups for pilots that have none (pilots written before the
/// rollups table existed). Cheap when nothing is missing: two counts.
pub fn fill_missing(conn: &mut DbConnection) -> Result<usize, DbError> {
    let pilots_n: i64 = pilots::table.count().get_result(conn)?;
    let rollups_n: i64 = pilot_rollups::table.count().get_result(conn)?;
    if pilots_n == rollups_n {
        return Ok(0);
    }
    let have: BTreeSet<String> = pilot_rollups::table
        .select(pilot_rollups::pilot_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let all: Vec<(String, String)> = pilots::table.select((pilots::org_id, pilots::id)).load(conn)?;
    let fx = super::fx::table(conn)?;
    let mut n = 0;
    for (org, pilot) in all.iter().filter(|(_, p)| !have.contains(p)) {
        recompute_with(conn, &fx, org, pilot, None, false)?;
        n += 1;
    }
    Ok(n)
}

/// After a bulk write (import, demo seed) inserted `new_pilots` and `entries`
/// in this transaction: rollups for the new pilots computed from the rows in
/// hand, and recomputed for existing pilots the entries went to.
/// `fx`: every stored rate (`db::fx::table`), read in this transaction.
pub fn after_bulk_write(
    conn: &mut DbConnection,
    fx: &FxTable,
    new_pilots: &[PilotView],
    entries: &[EntryView],
) -> Result<(), DbError> {
    let mut by_pilot: std::collections::HashMap<&str, Vec<&EntryView>> = Default::default();
    for e in entries {
        by_pilot.entry(e.pilot_id.as_str()).or_default().push(e);
    }
    let rows: Vec<RollupRow> = new_pilots
        .iter()
        .map(|p| compute(fx, p, by_pilot.remove(p.id.as_str()).as_deref().unwrap_or(&[])))
        .collect();
    insert_many(conn, &rows)?;
    let mut touched: Vec<(&str, &str)> = by_pilot
        .values()
        .map(|v| (v[0].org_id.as_str(), v[0].pilot_id.as_str()))
        .collect();
    touched.sort_unstable();
    for (org, pilot) in touched {
        let exists = lock(conn, org, pilot)?.is_some();
        recompute_with(conn, fx, org, pilot, None, exists)?;
    }
    Ok(())
}

/// Pilots whose stored rollup differs from one computed afresh from their
/// entries (or that have none): empty when the rollups are right. Reads the
/// whole ledger; for tests and checks, not for requests.
pub fn mismatches(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let fx = super::fx::table(conn)?;
    let stored: std::collections::HashMap<String, RollupRow> = pilot_rollups::table
        .select(RollupRow::as_select())
        .load::<RollupRow>(conn)?
        .into_iter()
        .map(|r| (r.pilot_id.clone(), r))
        .collect();
    let all_pilots: Vec<PilotView> = pilots::table.select(PilotView::as_select()).load(conn)?;
    let all_entries: Vec<EntryView> = entries::table.select(EntryView::as_select()).load(conn)?;
    let mut by_pilot: std::collections::HashMap<&str, Vec<&EntryView>> = Default::default();
    for e in &all_entries {
        by_pilot.entry(e.pilot_id.as_str()).or_default().push(e);
    }
    let mut out: Vec<String> = all_pilots
        .iter()
        .filter(|p| {
            let want = compute(&fx, p, by_pilot.get(p.id.as_str()).map_or(&[][..], Vec::as_slice));
            stored.get(&p.id) != Some(&want)
        })
        .map(|p| p.id.clone())
        .collect();
    if stored.len() != all_pilots.len() {
        out.push(format!("{} rollups for {} pilots", stored.len(), all_pilots.len()));
    }
    Ok(out)
}

/// Stores rollups computed in memory (`append`): new pilots' rows are
/// inserted whole, stored ones get their sums replaced; one statement per
/// [`UPSERT_CHUNK`] rows.
pub fn upsert_many(conn: &mut DbConnection, rows: &[&RollupRow]) -> Result<(), DbError> {
    use super::fixed_sql::{column, Cached, Fixed};
    use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text};
    const COLUMNS: &str = "org_id, pilot_id, evaluation_on, business_function, sourcing, ai_kind, \
         spend_usd_minor, impact_3m_usd_minor, impact_6m_usd_minor, impact_12m_usd_minor, unconverted_entries, \
         stage, reached_production, expected_benefit_usd_minor, revenue_3m_usd_minor, revenue_6m_usd_minor, \
         revenue_12m_usd_minor, cost_3m_usd_minor, cost_6m_usd_minor, cost_12m_usd_minor";
    // An entry changes only the sums; the pilot's own fields are written by
    // `store` when the pilot changes.
    const ON_CONFLICT: &str = "ON CONFLICT (org_id, pilot_id) DO UPDATE SET \
         spend_usd_minor = excluded.spend_usd_minor, \
         impact_3m_usd_minor = excluded.impact_3m_usd_minor, \
         impact_6m_usd_minor = excluded.impact_6m_usd_minor, \
         impact_12m_usd_minor = excluded.impact_12m_usd_minor, \
         unconverted_entries = excluded.unconverted_entries, \
         revenue_3m_usd_minor = excluded.revenue_3m_usd_minor, \
         revenue_6m_usd_minor = excluded.revenue_6m_usd_minor, \
         revenue_12m_usd_minor = excluded.revenue_12m_usd_minor, \
         cost_3m_usd_minor = excluded.cost_3m_usd_minor, \
         cost_6m_usd_minor = excluded.cost_6m_usd_minor, \
         cost_12m_usd_minor = excluded.cost_12m_usd_minor";
    for chunk in rows.chunks(UPSERT_CHUNK) {
        let result = match conn {
            DbConnection::Sqlite(c) => {
                let sql = format!(
                    "INSERT INTO pilot_rollups ({COLUMNS}) VALUES {} {ON_CONFLICT}",
                    vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = Cached::new(sql);
                for row in chunk {
                    q = q
                        .bind::<Text, _>(&row.org_id)
                        .bind::<Text, _>(&row.pilot_id)
                        .bind::<Nullable<Date>, _>(row.evaluation_on)
                        .bind::<Text, _>(&row.business_function)
                        .bind::<Text, _>(&row.sourcing)
                        .bind::<Text, _>(&row.ai_kind)
                        .bind::<Nullable<BigInt>, _>(row.spend_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_3m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_6m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.impact_12m_usd_minor)
                        .bind::<BigInt, _>(row.unconverted_entries)
                        .bind::<Text, _>(&row.stage)
                        .bind::<Bool, _>(row.reached_production)
                        .bind::<Nullable<BigInt>, _>(row.expected_benefit_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.revenue_3m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.revenue_6m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.revenue_12m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.cost_3m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.cost_6m_usd_minor)
                        .bind::<Nullable<BigInt>, _>(row.cost_12m_usd_minor);
                }
                q.execute(c)
            }
            DbConnection::Pg(c) => Fixed::new(format!(
                "INSERT INTO pilot_rollups ({COLUMNS}) SELECT * FROM unnest(?::text[], ?::text[], ?::date[], \
                 ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], \
                 ?::bigint[], ?::text[], ?::boolean[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], \
                 ?::bigint[], ?::bigint[], ?::bigint[]) {ON_CONFLICT}"
            ))
            .bind::<Array<Text>, _>(column(chunk, |r| r.org_id.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.pilot_id.as_str()))
            .bind::<Array<Nullable<Date>>, _>(column(chunk, |r| r.evaluation_on))
            .bind::<Array<Text>, _>(column(chunk, |r| r.business_function.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.sourcing.as_str()))
            .bind::<Array<Text>, _>(column(chunk, |r| r.ai_kind.as_str()))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.spend_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_3m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_6m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.impact_12m_usd_minor))
            .bind::<Array<BigInt>, _>(column(chunk, |r| r.unconverted_entries))
            .bind::<Array<Text>, _>(column(chunk, |r| r.stage.as_str()))
            .bind::<Array<Bool>, _>(column(chunk, |r| r.reached_production))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.expected_benefit_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.revenue_3m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.revenue_6m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.revenue_12m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.cost_3m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.cost_6m_usd_minor))
            .bind::<Array<Nullable<BigInt>>, _>(column(chunk, |r| r.cost_12m_usd_minor))
            .execute(c),
        };
        result?;
    }
    Ok(())
}
