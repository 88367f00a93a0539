//! Secrets shared by every process over one database, created once by the
//! first process that asks (a race between two is settled by the primary key).

use diesel::prelude::*;

use super::schema::server_secrets;
use super::{DbConnection, DbError};

const RESEARCH_SEED: &str = "research_bootstrap_seed";

/// The base seed of every aggregate's bootstrap: random, never published,
/// the same for every process and every request over this database, so an
/// answer is reproducible for the same data without being rebuildable.
pub fn research_seed(conn: &mut DbConnection) -> Result<u64, DbError> {
    let fresh = rand::random::<u64>().to_string();
    let row = (server_secrets::name.eq(RESEARCH_SEED), server_secrets::value.eq(&fresh));
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_or_ignore_into(server_secrets::table)
                .values(row)
                .execute(c)?;
        }
        DbConnection::Pg(c) => {
            diesel::insert_into(server_secrets::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)?;
        }
    }
    let value: String = server_secrets::table
        .find(RESEARCH_SEED)
        .select(server_secrets::value)
        .get_result(conn)?;
    value
        .parse()
        .map_err(|_| DbError::Corrupt(format!("server secret {RESEARCH_SEED} is not a number")))
}
