//! Statements the connection prepares once and reuses. diesel prepares a
//! multi-row `INSERT … VALUES` or a `sql_query` afresh every time (their text
//! varies, or it cannot tell what the text holds), and preparing was the
//! largest cost of the batched entry writer on PostgreSQL and a tenth of it on
//! SQLite.
//!
//! On PostgreSQL ([`Fixed`]) the text never changes, whatever the number of
//! rows: rows go in as one array per column (`unnest($1::text[], …)`). SQLite
//! has no arrays, so there ([`Cached`]) the text has one `(?, …)` per row and
//! the cache holds one statement per row count the batches actually have.
//!
//! A statement is its text with `?` where each parameter goes (none of our
//! statements has a `?` of its own), and the parameters in order.

use std::borrow::Cow;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

/// One column of `rows`, for a PostgreSQL array parameter.
pub fn column<'r, R, T>(rows: &[&'r R], f: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(|r| f(r)).collect()
}

/// One parameter with its SQL type.
trait Param<DB: Backend> {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

struct Typed<ST, U>(U, PhantomData<ST>);

impl<DB, ST, U> Param<DB> for Typed<ST, U>
where
    DB: Backend + HasSqlType<ST>,
    U: ToSql<ST, DB>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.0)
    }
}

/// A statement and its parameters, which the connection's prepared-statement
/// cache keeps by its text.
pub struct Statement<'a, DB: Backend> {
    sql: Cow<'static, str>,
    params: Vec<Box<dyn Param<DB> + 'a>>,
}

/// A PostgreSQL statement of fixed text.
pub type Fixed<'a> = Statement<'a, Pg>;

/// A SQLite statement. SQLite has no arrays, so a multi-row statement's text
/// depends on its number of rows; diesel's `sql_query` never caches (it
/// cannot tell what its text holds), so such a statement was parsed and
/// planned afresh per batch. Through this type each text — one per row count
/// the batches actually have — is prepared once per connection. diesel's cache
/// never evicts, so what it can hold is bounded by those counts: the batch's
/// upserts write at most `totals::CHUNK` / `rollups::UPSERT_CHUNK` (100) rows and lookups take
/// at most [`LOOKUP_CHUNK`] (256) keys, a few hundred statements on
/// the writer's one connection at worst.
pub type Cached<'a> = Statement<'a, Sqlite>;

impl<'a, DB: Backend> Statement<'a, DB> {
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Adds the next parameter, of SQL type `ST`.
    pub fn bind<ST: 'a, U: ToSql<ST, DB> + 'a>(mut self, value: U) -> Self
    where
        DB: HasSqlType<ST>,
    {
        self.params.push(Box::new(Typed::<ST, U>(value, PhantomData)));
        self
    }

    /// Runs the statement; rows changed.
    pub fn execute<C>(self, conn: &mut C) -> QueryResult<usize>
    where
        C: diesel::Connection<Backend = DB>,
        Self: RunQueryDsl<C> + diesel::query_dsl::methods::ExecuteDsl<C>,
    {
        RunQueryDsl::execute(self, conn)
    }

    /// Runs the query; its rows, by column name.
    pub fn load<'q, C, T>(self, conn: &mut C) -> QueryResult<Vec<T>>
    where
        Self: RunQueryDsl<C> + diesel::query_dsl::LoadQuery<'q, C, T>,
    {
        RunQueryDsl::load(self, conn)
    }
}

impl<DB: Backend> QueryFragment<DB> for Statement<'_, DB> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        out.push_sql(parts.next().unwrap_or_default());
        let mut params = self.params.iter();
        for part in parts {
            let param = params.next().ok_or_else(|| {
                diesel::result::Error::QueryBuilderError("a statement has more `?` than parameters".into())
            })?;
            param.push(&mut out)?;
            out.push_sql(part);
        }
        if params.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a statement has more parameters than `?`".into(),
            ));
        }
        Ok(())
    }
}

/// No static id: the prepared-statement cache keys it by its text (and the
/// parameters' types).
impl<DB: Backend> QueryId for Statement<'_, DB> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend> Query for Statement<'_, DB> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for Statement<'_, Pg> {}
impl RunQueryDsl<SqliteConnection> for Statement<'_, Sqlite> {}

/// Keys per SQLite lookup: the row-value list's text has one tuple per key,
/// and each length is a statement the cache keeps, so at most this many.
pub const LOOKUP_CHUNK: usize = 256;

/// Loads rows by keys. SQLite: the rows of `sql`, whose `{}` becomes one
/// `(?, …)` tuple per key, [`LOOKUP_CHUNK`] keys per statement. PostgreSQL:
/// the rows of `pg_sql`, whose `?`s take the keys' columns as text arrays, in
/// order (one statement of fixed text, prepared once). Its lookups are LATERAL
/// subqueries on the primary key, so the plan PostgreSQL keeps is an index
/// probe per key whatever the table's size when it was made (a join planned
/// while `idempotency_keys` was empty scanned the whole table for every batch
/// once it had grown). `LIMIT 1` (a primary key matches one row at most)
/// keeps the planner from turning the lookup back into that join. Rows come
/// back in key order when the keys are sorted and the statements say so.
pub fn load_by_keys<T, const N: usize>(
    conn: &mut super::DbConnection,
    sql: &str,
    pg_sql: &'static str,
    keys: &[[&str; N]],
) -> QueryResult<Vec<T>>
where
    T: diesel::deserialize::QueryableByName<Sqlite> + diesel::deserialize::QueryableByName<Pg> + 'static,
{
    use diesel::sql_types::{Array, Text};
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    match conn {
        super::DbConnection::Sqlite(c) => {
            let mut rows = Vec::new();
            let tuple = format!("({})", vec!["?"; N].join(", "));
            for chunk in keys.chunks(LOOKUP_CHUNK) {
                let sql = sql.replacen("{}", &vec![tuple.as_str(); chunk.len()].join(", "), 1);
                let mut q = Cached::new(sql);
                for value in chunk.iter().flatten() {
                    q = q.bind::<Text, _>(*value);
                }
                rows.extend(q.load::<_, T>(c)?);
            }
            Ok(rows)
        }
        super::DbConnection::Pg(c) => {
            let mut q = Fixed::new(pg_sql);
            for column in 0..N {
                q = q.bind::<Array<Text>, _>(keys.iter().map(|k| k[column]).collect::<Vec<&str>>());
            }
            q.load(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{Array, BigInt, Text};

    #[test]
    fn parameters_take_the_places_of_the_marks_in_order() {
        let names = vec!["a", "b"];
        let q = Fixed::new("SELECT * FROM unnest(?::text[], ?::bigint[]) WHERE ? > 0")
            .bind::<Array<Text>, _>(&names)
            .bind::<Array<BigInt>, _>(vec![1_i64, 2])
            .bind::<BigInt, _>(3_i64);
        let sql = diesel::debug_query::<Pg, _>(&q).to_string();
        assert!(
            sql.starts_with("SELECT * FROM unnest($1::text[], $2::bigint[]) WHERE $3 > 0"),
            "{sql}"
        );
    }

    #[test]
    fn a_sqlite_statement_is_prepared_once_per_text() {
        use diesel::connection::{Connection, InstrumentationEvent};
        use std::sync::{Arc, Mutex};
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let cached: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = cached.clone();
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = e {
                seen.lock().unwrap().push(sql.to_owned());
            }
        });
        diesel::sql_query("CREATE TABLE t (x BIGINT NOT NULL)")
            .execute(&mut conn)
            .unwrap();
        for rows in [2, 2, 3, 2, 3] {
            let mut q = Cached::new(format!("INSERT INTO t VALUES {}", vec!["(?)"; rows].join(", ")));
            for i in 0..rows {
                q = q.bind::<BigInt, _>(i as i64);
            }
            assert_eq!(q.execute(&mut conn).unwrap(), rows);
        }
        // One preparation per distinct text, whatever the number of runs.
        assert_eq!(cached.lock().unwrap().len(), 2, "{:?}", cached.lock().unwrap());
        let n: Vec<Count> = Cached::new("SELECT COUNT(*) AS n FROM t").load(&mut conn).unwrap();
        assert_eq!(n[0].n, 12);
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[test]
    fn a_count_mismatch_is_an_error_not_a_wrong_statement() {
        let q = Fixed::new("SELECT ?, ?").bind::<BigInt, _>(1_i64);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(q.to_sql(&mut builder, &Pg).is_err());
        let q = Fixed::new("SELECT 1").bind::<BigInt, _>(1_i64);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(q.to_sql(&mut builder, &Pg).is_err());
    }
}
