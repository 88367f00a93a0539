//! The application's shared state: what every request may use — the database
//! executor, the verifier, settings, disclosure policy, rate limits, caches.
//! It sits below `routes` (which read it) and above `auth` and `db` (which it
//! holds); no HTTP types here.

pub mod import_slots;
pub mod summary_cache;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::analytics::disclosure::DisclosurePolicy;
use crate::auth::Verifier;
use crate::config::Settings;
use crate::db::entry_batch::{EntryWrite, Outcome};
use crate::db::executor::Executor;
use crate::db::stamp_reader::StampReader;
use crate::db::DbConnection;
use crate::error::{ApiError, ApiResult, Code};
use crate::metrics::Metrics;

/// Shared state of the application.
pub struct AppState {
    /// Runs every request's database work.
    pub exec: Executor,
    /// Verifies bearer tokens (shared with the auth extractor).
    pub verifier: Arc<Verifier>,
    pub settings: Arc<Settings>,
    /// Disclosure thresholds for research aggregates (never below the floors).
    pub disclosure: DisclosurePolicy,
    /// Per-token budget for research queries.
    pub research_limiter: governor::DefaultKeyedRateLimiter<String>,
    /// Request counters and latency histograms for `/metrics`.
    pub metrics: Metrics,
    /// One cross-organisation aggregate at a time (they read every ledger).
    pub research_gate: Arc<tokio::sync::Semaphore>,
    /// The measured success rate behind the gap projection, with the data
    /// version (`db::changes::research_stamp`) and quarter it was computed for.
    pub measured_cache: Mutex<Option<(String, crate::analytics::projection::MeasuredRate)>>,
    /// The base seed of every aggregate's bootstrap (`db::secrets`).
    pub research_seed: u64,
    /// Imports running now (one per organisation, a few overall).
    pub imports: import_slots::ImportSlots,
    /// Idempotency keys being processed by this process right now.
    pub in_flight: Mutex<HashSet<String>>,
    /// Reads the revocation and stamp a cached summary is validated against,
    /// for many requests at once.
    pub stamps: StampReader,
    /// Rendered summaries, served while the database says they are current.
    pub summary_cache: summary_cache::SummaryCache,
}

impl AppState {
    /// Runs database work on the blocking pool, never on the async executor.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.exec.run(f).await
    }

    /// Like `db`, inside one read transaction (a consistent snapshot).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.exec.read(f).await
    }

    /// Like `read`, for reads that tolerate lag (the research aggregates):
    /// on the read replica when one is configured and answering, else on the
    /// primary. A server-side failure on the replica (other than the request's
    /// own time limit) is retried on the primary.
    pub async fn read_lagging<T: Send + 'static>(
        &self,
        f: impl Fn(&mut DbConnection) -> ApiResult<T> + Send + Sync + 'static,
    ) -> ApiResult<T> {
        self.exec
            .read_lagging(f, |e: &ApiError| {
                e.code.status >= 500 && e.code != Code::REQUEST_TIMEOUT && e.code != Code::OUTCOME_UNKNOWN
            })
            .await
    }

    /// Like `db`, inside one write transaction (on SQLite, through the
    /// group-commit writer).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.exec.write(f).await
    }

    /// Appends one spend or impact entry through the batching writer.
    pub async fn append_entry(&self, write: EntryWrite) -> ApiResult<Outcome> {
        Ok(self.exec.append_entry(write).await?)
    }

    /// Spends one unit of the token's research-query budget; 429 when empty.
    pub fn check_rate(&self, token: &str) -> ApiResult<()> {
        crate::auth::spend_budget(&self.research_limiter, token, "research query budget")
    }
}
