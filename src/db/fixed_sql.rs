//! PostgreSQL statements whose text never changes, whatever the number of rows
//! they carry: rows go in as one array per column (`unnest($1::text[], …)`),
//! so the connection prepares each statement once and reuses the plan. diesel
//! prepares a multi-row `INSERT … VALUES` or a `sql_query` afresh every time
//! (their text varies, or it cannot tell), and planning was the largest cost
//! of the batched entry writer on PostgreSQL.
//!
//! A statement is its text with `?` where each parameter goes (none of our
//! statements has a `?` of its own), and the parameters in order.

use std::marker::PhantomData;

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One column of `rows`, for a PostgreSQL array parameter.
pub fn column<'r, R, T>(rows: &[&'r R], f: impl Fn(&'r R) -> T) -> Vec<T> {
    rows.iter().map(|r| f(r)).collect()
}

/// One parameter with its SQL type.
trait Param {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, U>(U, PhantomData<ST>);

impl<ST, U> Param for Typed<ST, U>
where
    Pg: HasSqlType<ST>,
    U: ToSql<ST, Pg>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.0)
    }
}

/// A statement of fixed text and its parameters.
pub struct Fixed<'a> {
    sql: &'static str,
    params: Vec<Box<dyn Param + 'a>>,
}

impl<'a> Fixed<'a> {
    pub fn new(sql: &'static str) -> Self {
        Self {
            sql,
            params: Vec::new(),
        }
    }

    /// Adds the next parameter, of SQL type `ST`.
    pub fn bind<ST: 'a, U: ToSql<ST, Pg> + 'a>(mut self, value: U) -> Self
    where
        Pg: HasSqlType<ST>,
    {
        self.params.push(Box::new(Typed::<ST, U>(value, PhantomData)));
        self
    }

    /// Runs the statement; rows changed.
    pub fn execute(self, conn: &mut PgConnection) -> QueryResult<usize> {
        RunQueryDsl::execute(self, conn)
    }

    /// Runs the query; its rows, by column name.
    pub fn load<T: diesel::deserialize::QueryableByName<Pg> + 'static>(
        self,
        conn: &mut PgConnection,
    ) -> QueryResult<Vec<T>> {
        RunQueryDsl::load(self, conn)
    }
}

impl QueryFragment<Pg> for Fixed<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
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
/// parameters' types), which never changes.
impl QueryId for Fixed<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Fixed<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for Fixed<'_> {}

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
    fn a_count_mismatch_is_an_error_not_a_wrong_statement() {
        let q = Fixed::new("SELECT ?, ?").bind::<BigInt, _>(1_i64);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(q.to_sql(&mut builder, &Pg).is_err());
        let q = Fixed::new("SELECT 1").bind::<BigInt, _>(1_i64);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(q.to_sql(&mut builder, &Pg).is_err());
    }
}
