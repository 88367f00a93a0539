//! Budgets of pilots and organisations, and the spend their burn is computed
//! from (`analytics::budgets`). Every query takes the organisation first.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{budgets, entries};
use super::{DbConnection, DbError};
use crate::analytics::budgets::{burn, BudgetPeriod, Burn, PeriodInstance};
use crate::analytics::roi::{EntryFacts, FxSource, RoiError};
use crate::domain::currency::Currency;
use crate::domain::ids::{BudgetId, OrgId};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = budgets, treat_none_as_default_value = false)]
pub struct BudgetView {
    pub org_id: String,
    pub id: String,
    /// `None`: the organisation's budget (all its pilots).
    pub pilot_id: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub period: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl BudgetView {
    pub fn currency(&self) -> Result<Currency, DbError> {
        Currency::parse(&self.currency).map_err(|_| DbError::Corrupt(format!("budget currency {}", self.currency)))
    }

    pub fn period(&self) -> Result<BudgetPeriod, DbError> {
        BudgetPeriod::parse(&self.period).ok_or_else(|| DbError::Corrupt(format!("budget period {}", self.period)))
    }
}

pub fn insert(conn: &mut DbConnection, b: &BudgetView) -> Result<(), DbError> {
    diesel::insert_into(budgets::table).values(b).execute(conn)?;
    super::orgs::bump_ledger_version(conn, OrgId::parse(&b.org_id).ok_or(DbError::NotFound)?)?;
    Ok(())
}

pub fn list(conn: &mut DbConnection, org: OrgId) -> Result<Vec<BudgetView>, DbError> {
    Ok(budgets::table
        .filter(budgets::org_id.eq(org.to_string()))
        .select(BudgetView::as_select())
        .order(budgets::id.asc())
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, org: OrgId, id: BudgetId) -> Result<BudgetView, DbError> {
    budgets::table
        .filter(budgets::org_id.eq(org.to_string()))
        .filter(budgets::id.eq(id.to_string()))
        .select(BudgetView::as_select())
        .get_result(conn)
        .optional()?
        .ok_or(DbError::NotFound)
}

pub fn delete(conn: &mut DbConnection, org: OrgId, id: BudgetId) -> Result<(), DbError> {
    let n = diesel::delete(
        budgets::table
            .filter(budgets::org_id.eq(org.to_string()))
            .filter(budgets::id.eq(id.to_string())),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    super::orgs::bump_ledger_version(conn, org)
}

/// The organisation's budgets that a write to these pilots can move (theirs
/// and the organisation's), in id order; locked on PostgreSQL, so two
/// processes' writes to one budget evaluate it one after the other and
/// neither misses a crossing the other's spend completes.
/// `pilots: None` reads every budget of the organisation.
pub fn locked(conn: &mut DbConnection, org: &str, pilots: Option<&[&str]>) -> Result<Vec<BudgetView>, DbError> {
    macro_rules! q {
        () => {
            budgets::table
                .filter(budgets::org_id.eq(org))
                .select(BudgetView::as_select())
                .order(budgets::id.asc())
        };
    }
    let all: Vec<BudgetView> = match conn {
        DbConnection::Pg(c) => q!().for_update().load(c)?,
        DbConnection::Sqlite(c) => q!().load(c)?,
    };
    Ok(all
        .into_iter()
        .filter(|b| match (&b.pilot_id, pilots) {
            (None, _) | (_, None) => true,
            (Some(p), Some(wanted)) => wanted.contains(&p.as_str()),
        })
        .collect())
}

/// The spend of a budget's scope whose period end lies in `period`.
pub fn spend_in(conn: &mut DbConnection, b: &BudgetView, period: &PeriodInstance) -> Result<Vec<EntryFacts>, DbError> {
    let mut q = entries::table
        .filter(entries::org_id.eq(&b.org_id))
        .filter(entries::entry_type.eq("spend"))
        .select(super::entries::EntryView::as_select())
        .into_boxed();
    if let Some(p) = &b.pilot_id {
        q = q.filter(entries::pilot_id.eq(p.clone()));
    }
    if let Some(s) = period.start {
        q = q.filter(entries::period_end.ge(s));
    }
    if let Some(e) = period.end {
        q = q.filter(entries::period_end.le(e));
    }
    let rows: Vec<super::entries::EntryView> = q.load(conn)?;
    rows.iter().map(super::facts::entry_facts).collect()
}

/// The budget's burn in the period containing `on`.
pub fn burn_on(
    conn: &mut DbConnection,
    b: &BudgetView,
    on: NaiveDate,
    fx: &dyn FxSource,
) -> Result<Result<Burn, RoiError>, DbError> {
    let period = b.period()?.instance(on);
    let spend = spend_in(conn, b, &period)?;
    Ok(burn(&spend, b.amount_minor, b.currency()?, &period, fx))
}
