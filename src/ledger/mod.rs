//! The ledger: the application service between the routes (and the CLI) and
//! storage. It takes validated domain input and an actor, and does each write
//! whole inside the caller's transaction: entries appended with the ledger
//! invariant kept (running total exact, rollups updated, entry inserted,
//! event audited), reversals with their rules, organisations created, tokens
//! issued, files imported. Routes parse, authorise, call and render; they
//! never write rows themselves. No HTTP types here.

pub mod allocation_rules;
pub mod budgets;
pub mod entries;
pub mod idempotency;
pub mod import;
pub mod import_row;
pub mod input;
pub mod orgs;
pub mod pilots;
pub mod spend_sources;
pub mod tokens;
pub mod views;

use crate::db::DbError;
use crate::domain::pilots::FieldError;
use crate::error::{ApiError, Code};

/// A domain rule broken by one field → 422 naming it.
pub fn field_error(e: FieldError) -> ApiError {
    ApiError::field(Code::INVALID_FIELD, e.field, e.reason)
}

/// Maps "no such row" to the resource's own 404 code.
pub fn pilot_not_found(e: DbError) -> ApiError {
    match e {
        DbError::NotFound => ApiError::new(Code::PILOT_NOT_FOUND, "no such pilot"),
        other => other.into(),
    }
}
