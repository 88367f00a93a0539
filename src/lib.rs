//! pilotledger: tracks the return on enterprise AI pilots.
//!
//! - `domain` — the nouns and their rules (ids, vocabularies, money, pilots,
//!   entries); no web or database code.
//! - `analytics` — pure computations (rates, intervals, trends, projections).
//! - `db` — the only module that speaks diesel: connection, migrations, queries.
//! - `delivery` — the webhook delivery worker and alert sweep, off the request path.
//! - `auth` — bearer JWT verification and role checks.
//! - `cache` — bounded in-process caches validated against the database.
//! - `routes` — HTTP handlers, one file per resource.
//! - `error` — the stable error-code table and problem+json.
//! - `config`, `telemetry`, `startup`, `cli` — wiring.

pub mod analytics;
pub mod auth;
pub mod billing;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod ledger;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;

#[cfg(test)]
mod layers_tests;
