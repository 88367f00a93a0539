//! FX rates: (currency, date) → rate to USD, loaded by the operator. Reference
//! data shared by every tenant (a Citus reference table, if it comes to that).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::fx_rates;
use super::{DbConnection, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fx_rates)]
pub struct FxRateView {
    pub currency: String,
    pub rate_date: NaiveDate,
    pub rate_to_usd: String,
    pub loaded_at: NaiveDateTime,
}

/// Inserts or replaces one rate; returns the rate it replaced, if any. Safe
/// against a concurrent put of the same rate on PostgreSQL: the row is locked
/// when it exists, and an insert that loses the race updates instead.
pub fn upsert(conn: &mut DbConnection, rate: &FxRateView) -> Result<Option<String>, DbError> {
    let key = || fx_rates::table.find((rate.currency.clone(), rate.rate_date));
    let current = |conn: &mut DbConnection| -> Result<Option<String>, DbError> {
        Ok(match conn {
            DbConnection::Sqlite(c) => key().select(fx_rates::rate_to_usd).get_result(c).optional()?,
            DbConnection::Pg(c) => key()
                .select(fx_rates::rate_to_usd)
                .for_update()
                .get_result(c)
                .optional()?,
        })
    };
    let mut before = current(conn)?;
    if before.is_none() {
        let inserted = match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(fx_rates::table)
                .values(rate)
                .on_conflict_do_nothing()
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(fx_rates::table)
                .values(rate)
                .on_conflict_do_nothing()
                .execute(c)?,
        };
        if inserted == 1 {
            return Ok(None);
        }
        before = current(conn)?; // another put inserted it first
    }
    diesel::update(key())
        .set((
            fx_rates::rate_to_usd.eq(&rate.rate_to_usd),
            fx_rates::loaded_at.eq(rate.loaded_at),
        ))
        .execute(conn)?;
    Ok(before)
}

/// The latest rate for `currency` dated on or before `on`.
pub fn rate_on_or_before(
    conn: &mut DbConnection,
    currency: &str,
    on: NaiveDate,
) -> Result<Option<FxRateView>, DbError> {
    Ok(fx_rates::table
        .filter(fx_rates::currency.eq(currency))
        .filter(fx_rates::rate_date.le(on))
        .order(fx_rates::rate_date.desc())
        .select(FxRateView::as_select())
        .first(conn)
        .optional()?)
}

/// Every loaded rate (the table is small: currencies × days).
pub fn load_all(conn: &mut DbConnection) -> Result<Vec<FxRateView>, DbError> {
    Ok(fx_rates::table
        .select(FxRateView::as_select())
        .order((fx_rates::currency.asc(), fx_rates::rate_date.asc()))
        .load(conn)?)
}

/// Every loaded rate as a lookup table.
pub fn table(conn: &mut DbConnection) -> Result<crate::analytics::fx_table::FxTable, DbError> {
    Ok(fx_table(&load_all(conn)?))
}

/// Stored rates as a lookup table.
pub fn fx_table(rows: &[FxRateView]) -> crate::analytics::fx_table::FxTable {
    crate::analytics::fx_table::FxTable::new(
        rows.iter()
            .map(|r| (r.currency.as_str(), r.rate_date, r.rate_to_usd.as_str())),
    )
}
