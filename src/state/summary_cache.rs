//! Rendered `GET /v1/summary` answers kept in process, keyed by organisation
//! and normalised query, and served only while the organisation's
//! [`LedgerStamp`] (read with the revocation check, in the same statement) is
//! the one they were computed under. See `crate::db::changes` for which writes
//! move the stamp, and `crate::cache` for the bounds and eviction.
//!
//! What is held is the answer as sent: the JSON body, or the CSV rows that are
//! streamed, so a cached answer is byte for byte, header for header, the
//! answer computing it again would give (`routes::finance` sends it).

use bytes::Bytes;
use chrono::{NaiveDate, NaiveDateTime};

use crate::analytics::summary::GroupBy;
use crate::cache::{CacheLimits, ValidatedCache};
use crate::db::changes::LedgerStamp;
use crate::domain::ids::OrgId;
use crate::export::Format;

/// Bounds of the summary cache: 16 MiB at most, whatever the traffic (a
/// summary of a few dozen pilots is some 10 KiB).
pub const LIMITS: CacheLimits = CacheLimits {
    max_entries: 1024,
    max_bytes: 16 * 1024 * 1024,
    max_entry_bytes: 1024 * 1024,
};

/// The CSV download name of a summary.
pub const SUMMARY_CSV: &str = "pilotledger-summary.csv";

/// Everything a summary answer depends on besides the stored data: the
/// organisation and the query, parsed (so `2026-01-01` and an equivalent
/// spelling of the same instant share an entry), with the negotiated format.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SummaryKey {
    pub org: OrgId,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub group_by: Option<GroupBy>,
    /// The requested currency code as sent (`None`: the reporting currency).
    pub currency: Option<String>,
    pub as_of: Option<NaiveDateTime>,
    pub min_impact: i64,
    pub window_months: u32,
    pub format: Format,
    /// The day the answer was computed on: budgets' burn is for the period
    /// containing today when `to` is open, so yesterday's answer is not
    /// served after midnight even if nothing was written.
    pub day: NaiveDate,
}

/// A summary answer as sent.
#[derive(Debug, Clone)]
pub enum RenderedSummary {
    /// An `application/json` body.
    Json(Bytes),
    /// CSV rows, streamed as a download.
    Csv(Vec<Bytes>),
}

impl RenderedSummary {
    /// Bytes held (bodies plus a little per chunk).
    pub fn weight(&self) -> usize {
        match self {
            RenderedSummary::Json(body) => body.len() + 64,
            RenderedSummary::Csv(rows) => rows.iter().map(|r| r.len() + 32).sum::<usize>() + 64,
        }
    }
}

/// The process's summary cache.
pub type SummaryCache = ValidatedCache<SummaryKey, LedgerStamp, RenderedSummary>;

/// An empty cache with the standard bounds.
pub fn new_cache() -> SummaryCache {
    ValidatedCache::new(LIMITS)
}
