//! One integration binary: every test spawns the real application on a free port
//! over a fresh database — SQLite by default, PostgreSQL when
//! `PILOTLEDGER_TEST_BACKEND=postgres` (with `TEST_DATABASE_URL` naming a server).

mod helpers;

mod alerts;
mod auth;
mod bad_input;
mod batching;
mod cleanup;
mod cli;
mod definitions;
mod durability;
mod evaluation;
mod faults;
mod finance;
mod focus;
mod formats;
mod history;
mod hostile;
mod idempotency;
mod import;
mod ledger;
mod limits;
mod logging;
mod money;
mod oidc;
mod projections;
mod research;
mod rollups;
mod routes_table;
mod summary_cache;
mod tenancy;
mod walkthrough;
