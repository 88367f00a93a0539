//! Appending entries to the ledger: the invariant in one place, for one entry
//! or many at once. Every entry is written here — a single append or
//! reversal (`ledger::entries`), a group-commit batch (`entry_batch`), an
//! import (`ledger::import`) — and every caller gets the same guarantees:
//!
//! - each pilot's running total per (entry type, currency) stays exact: an
//!   entry that would take it past i64 is refused ([`Appended::TotalOverflow`])
//!   and nothing of it is written;
//! - each pilot's rollup (`rollups`) takes the entry, converted at the rate
//!   in force on its period end;
//! - an organisation that requires FX rates (`orgs.fx_rate_required`) gets
//!   no new entry in a currency without a rate on or before its period end
//!   ([`Appended::FxRateMissing`]); reversals always pass, so nothing
//!   written before the setting was turned on becomes irreversible;
//! - the entry row is inserted;
//! - the budget threshold alerts it crosses fire, their webhook messages
//!   written to the outbox (`alerts::after_append`).
//!
//! With a fixed number of statements whatever the number of entries: one
//! read each of the rollups and totals involved (locked on PostgreSQL,
//! rollups first, in pilot order, as every other writer takes them), one
//! multi-row write each of entries, totals and rollups. The caller owns the
//! transaction, and with it what else the write records (audit events,
//! idempotency keys, new pilots).

use crate::domain::enums::EntryType;
use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::entries::EntryView;
use super::fixed_sql::load_by_keys;
use super::pilots::PilotView;
use super::rollups::{evaluation_of, rate_for, rollup_entry, OneRate, RollupRow};
use super::totals::{TotalRow, TotalView};
use super::{DbConnection, DbError};
use crate::analytics::fx_table::FxTable;
use crate::analytics::roi::FxSource;
use crate::analytics::rollup::{PilotRollup, RollupEntry};
use crate::domain::currency::Currency;
use crate::domain::ids::{OrgId, PilotId};

/// Where entries' FX rates come from: a table already read in this
/// transaction (imports: many entries), or looked up as needed, one query per
/// (currency, period end) (a few entries, whatever the table's size).
pub struct Rates<'a> {
    table: Option<&'a FxTable>,
    found: HashMap<(String, NaiveDate), OneRate>,
}

impl<'a> Rates<'a> {
    pub fn lookup() -> Self {
        Rates {
            table: None,
            found: HashMap::new(),
        }
    }

    pub fn table(fx: &'a FxTable) -> Self {
        Rates {
            table: Some(fx),
            found: HashMap::new(),
        }
    }

    /// Whether the entry's amount converts to USD at a rate in force on its
    /// period end (USD always does).
    fn converts(&mut self, conn: &mut DbConnection, e: &EntryView) -> Result<bool, DbError> {
        let currency = e.currency;
        if currency == Currency::USD {
            return Ok(true);
        }
        if let Some(fx) = self.table {
            return Ok(fx.rate_on_or_before(currency, e.period_end).is_some());
        }
        let key = (e.currency.code().to_owned(), e.period_end);
        if !self.found.contains_key(&key) {
            let rate = rate_for(conn, e.currency.code(), e.period_end)?;
            self.found.insert(key.clone(), rate);
        }
        Ok(self.found[&key].rate_on_or_before(currency, e.period_end).is_some())
    }

    fn convert(&mut self, conn: &mut DbConnection, e: &EntryView) -> Result<RollupEntry, DbError> {
        if let Some(fx) = self.table {
            return Ok(rollup_entry(fx, e));
        }
        let key = (e.currency.code().to_owned(), e.period_end);
        if !self.found.contains_key(&key) {
            let rate = rate_for(conn, e.currency.code(), e.period_end)?;
            self.found.insert(key.clone(), rate);
        }
        Ok(rollup_entry(&self.found[&key], e))
    }
}

/// What became of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Written,
    /// Its pilot's running total of this type and currency would leave i64.
    TotalOverflow,
    /// Its organisation requires FX rates and its currency has none on or
    /// before its period end.
    FxRateMissing,
}

type Pair = (String, String);
type TotalKey = (String, String, EntryType, String);

fn total_key(e: &EntryView) -> TotalKey {
    (
        e.org_id.clone(),
        e.pilot_id.clone(),
        e.entry_type,
        e.currency.code().to_owned(),
    )
}

const ROLLUPS_SQL: &str = "SELECT org_id, pilot_id, evaluation_on, business_function, sourcing, ai_kind, \
     spend_usd_minor, impact_3m_usd_minor, impact_6m_usd_minor, impact_12m_usd_minor, unconverted_entries, \
     stage, reached_production, expected_benefit_usd_minor, revenue_3m_usd_minor, revenue_6m_usd_minor, \
     revenue_12m_usd_minor, cost_3m_usd_minor, cost_6m_usd_minor, cost_12m_usd_minor \
     FROM pilot_rollups WHERE (org_id, pilot_id) IN (VALUES {}) ORDER BY pilot_id";
const ROLLUPS_PG: &str = "SELECT r.org_id, r.pilot_id, r.evaluation_on, r.business_function, r.sourcing, \
     r.ai_kind, r.spend_usd_minor, r.impact_3m_usd_minor, r.impact_6m_usd_minor, r.impact_12m_usd_minor, \
     r.unconverted_entries, r.stage, r.reached_production, r.expected_benefit_usd_minor, \
     r.revenue_3m_usd_minor, r.revenue_6m_usd_minor, r.revenue_12m_usd_minor, r.cost_3m_usd_minor, \
     r.cost_6m_usd_minor, r.cost_12m_usd_minor FROM unnest(?::text[], ?::text[]) AS k(org_id, pilot_id) \
     CROSS JOIN LATERAL (SELECT * FROM pilot_rollups x WHERE x.org_id = k.org_id \
     AND x.pilot_id = k.pilot_id FOR UPDATE) r";
const TOTALS_SQL: &str = "SELECT org_id, pilot_id, entry_type, currency, total_minor, entries FROM pilot_totals \
     WHERE (org_id, pilot_id) IN (VALUES {}) ORDER BY pilot_id, entry_type, currency";
const TOTALS_PG: &str = "SELECT t.org_id, t.pilot_id, t.entry_type, t.currency, t.total_minor, t.entries \
     FROM unnest(?::text[], ?::text[]) AS k(org_id, pilot_id) \
     CROSS JOIN LATERAL (SELECT * FROM pilot_totals x WHERE x.org_id = k.org_id \
     AND x.pilot_id = k.pilot_id ORDER BY x.entry_type, x.currency FOR UPDATE) t";

/// Appends `entries`, in order, to pilots that exist or are in `new_pilots`
/// (inserted by the caller in this transaction, without rollups yet: theirs
/// are written here, with or without entries). One outcome per entry; only
/// the written ones are stored. The caller checks that every pilot belongs
/// to the entry's organisation.
pub fn append(
    conn: &mut DbConnection,
    new_pilots: &[PilotView],
    entries: &[&EntryView],
    mut rates: Rates<'_>,
) -> Result<Vec<Appended>, DbError> {
    let new: BTreeSet<(&str, &str)> = new_pilots.iter().map(|p| (p.org_id.as_str(), p.id.as_str())).collect();
    // The stored rows this write changes, in pilot id order: PostgreSQL locks
    // them in the order of the keys.
    let stored: BTreeSet<(&str, &str)> = entries
        .iter()
        .map(|e| (e.pilot_id.as_str(), e.org_id.as_str()))
        .filter(|(pilot, org)| !new.contains(&(*org, *pilot)))
        .collect();
    let pairs: Vec<[&str; 2]> = stored.into_iter().map(|(pilot, org)| [org, pilot]).collect();
    let rollup_rows: Vec<RollupRow> = load_by_keys(conn, ROLLUPS_SQL, ROLLUPS_PG, &pairs)?;
    let total_rows: Vec<TotalRow> = load_by_keys(conn, TOTALS_SQL, TOTALS_PG, &pairs)?;
    let total_rows = total_rows
        .into_iter()
        .map(TotalView::try_from)
        .collect::<Result<Vec<_>, _>>()?;

    let mut rollups: HashMap<Pair, RollupRow> = rollup_rows
        .into_iter()
        .map(|r| ((r.org_id.clone(), r.pilot_id.clone()), r))
        .collect();
    let mut dirty_rollups: BTreeSet<Pair> = BTreeSet::new();
    let mut recompute: BTreeSet<Pair> = BTreeSet::new();
    for p in new_pilots {
        let key = (p.org_id.clone(), p.id.clone());
        rollups.insert(key.clone(), RollupRow::new(p, &PilotRollup::empty(evaluation_of(p))));
        if super::rollups::benefit_needs_rate(p) {
            // Its expected benefit is converted with the stored rates.
            recompute.insert(key.clone());
        }
        dirty_rollups.insert(key);
    }
    let mut totals: HashMap<TotalKey, TotalView> = total_rows
        .into_iter()
        .map(|t| {
            let key = (t.org_id.clone(), t.pilot_id.clone(), t.entry_type, t.currency.clone());
            (key, t)
        })
        .collect();

    // Organisations that refuse entries they could not convert (one read).
    let checked: BTreeSet<&str> = entries
        .iter()
        .filter(|e| e.reverses.is_none() && e.currency != Currency::USD)
        .map(|e| e.org_id.as_str())
        .collect();
    let refusing: BTreeSet<String> = super::orgs::requiring_fx_rates(conn, &checked.into_iter().collect::<Vec<_>>())?
        .into_iter()
        .collect();

    // Each entry in order, applied to the rows in memory.
    let mut outcomes = Vec::with_capacity(entries.len());
    let mut dirty_totals = BTreeSet::new();
    for e in entries {
        if e.reverses.is_none() && refusing.contains(&e.org_id) && !rates.converts(conn, e)? {
            outcomes.push(Appended::FxRateMissing);
            continue;
        }
        let key = total_key(e);
        let total = totals.entry(key.clone()).or_insert_with(|| TotalView {
            org_id: e.org_id.clone(),
            pilot_id: e.pilot_id.clone(),
            entry_type: e.entry_type,
            currency: e.currency.code().to_owned(),
            total_minor: 0,
            entries: 0,
        });
        let Some(next) = total.total_minor.checked_add(e.amount_minor) else {
            outcomes.push(Appended::TotalOverflow);
            continue;
        };
        total.total_minor = next;
        total.entries += 1;
        dirty_totals.insert(key);
        outcomes.push(Appended::Written);

        let pilot = (e.org_id.clone(), e.pilot_id.clone());
        if recompute.contains(&pilot) {
            continue;
        }
        if !rollups.contains_key(&pilot) {
            // A pilot from before rollups, not yet filled in.
            recompute.insert(pilot);
            continue;
        }
        let converted = rates.convert(conn, e)?;
        let row = rollups.get_mut(&pilot).expect("checked above");
        let mut rollup = row.rollup();
        if rollup.add(&converted) {
            row.set_sums(&rollup);
            dirty_rollups.insert(pilot);
        } else {
            // A sum left i64 in the incremental form: recompute from entries.
            dirty_rollups.remove(&pilot);
            recompute.insert(pilot);
        }
    }

    let written: Vec<&EntryView> = entries
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| **o == Appended::Written)
        .map(|(e, _)| *e)
        .collect();
    super::entries::insert_many(conn, &written)?;
    let total_rows: Vec<&TotalView> = dirty_totals.iter().map(|k| &totals[k]).collect();
    super::totals::upsert_many(conn, &total_rows)?;
    let rollup_rows: Vec<&RollupRow> = dirty_rollups.iter().map(|k| &rollups[k]).collect();
    super::rollups::upsert_many(conn, &rollup_rows)?;
    for (org, pilot) in &recompute {
        let (Some(org), Some(pilot)) = (OrgId::parse(org), PilotId::parse(pilot)) else {
            return Err(DbError::Conflict("a stored id does not parse"));
        };
        super::rollups::recompute(conn, org, pilot)?;
    }
    // Budget alerts the entries cross, with their webhook messages, in this
    // transaction (`alerts`).
    super::alerts::after_append(conn, &written)?;
    Ok(outcomes)
}
