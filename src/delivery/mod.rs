//! Webhook delivery and the alert sweep, off the request path: one thread of
//! its own with its own small runtime, so a slow or failing receiver never
//! holds a request's thread, connection or blocking-pool slot.
//!
//! Every `poll_interval` the worker claims due outbox messages
//! (`db::webhooks::claim_due`), sends each at most once per claim with the
//! Standard Webhooks headers (`signing`), through a client whose resolver
//! refuses forbidden addresses (`guard`), without following redirects, within
//! `webhook_timeout`; then records the attempt. A failure is retried after
//! `retry_base × 2^(attempt−1)` (at most `retry_max`), scaled by a random
//! factor in [0.5, 1) (jitter, so receivers that come back are not hit by
//! every sender at once), until `max_attempts`. A crash between sending and
//! recording sends the message again once its lease passes: delivery is
//! at least once, and the unchanged `webhook-id` lets receivers deduplicate.
//!
//! Every `sweep_interval` it also evaluates the date-based alert rules
//! (`db::alerts::sweep_org`), one write transaction per organisation.

pub mod guard;
pub mod signing;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use crate::config::AlertSettings;
use crate::db::executor::Executor;
use crate::db::webhooks::{AttemptResult, Due};
use crate::db::DbError;

/// Messages claimed per round.
const BATCH: i64 = 16;

/// Stops the worker when dropped.
pub struct DeliveryHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for DeliveryHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Where the worker's database work runs, so it never takes a request's pool
/// connection: on SQLite through the executor's writer (which owns its
/// connection), on PostgreSQL on a connection of the worker's own.
#[derive(Clone)]
struct Store {
    exec: Executor,
    own: Option<(String, Arc<std::sync::Mutex<Option<crate::db::DbConnection>>>)>,
}

impl Store {
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crate::db::DbConnection) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, DbError> {
        let Some((url, slot)) = self.own.clone() else {
            return self.exec.write(f).await;
        };
        let work = move || {
            let mut held = slot
                .lock()
                .map_err(|_| DbError::Unavailable("worker connection poisoned".into()))?;
            if held.is_none() {
                *held = Some(crate::db::connect(&url)?);
            }
            let conn = held.as_mut().ok_or(DbError::NotFound)?;
            let done = crate::db::write_tx(conn, f);
            if done.is_err() {
                // Whatever broke, the next round starts on a fresh connection.
                *held = None;
            }
            done
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| DbError::Task(e.to_string()))?
    }
}

/// Starts the worker thread over `exec` (and, on PostgreSQL, a connection of
/// its own to `database_url`).
pub fn start(exec: Executor, database_url: &str, settings: AlertSettings) -> std::io::Result<DeliveryHandle> {
    let own = (crate::db::backend_of(database_url) == Some(crate::db::Backend::Postgres))
        .then(|| (database_url.to_owned(), Arc::new(std::sync::Mutex::new(None))));
    let store = Store { exec, own };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("webhook-delivery".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "the webhook delivery worker could not start");
                    return;
                }
            };
            runtime.block_on(run(store, settings, flag));
        })?;
    Ok(DeliveryHandle { stop })
}

/// The HTTP client: guarded resolver, no redirects, no proxy, one time limit.
fn agent(settings: &AlertSettings) -> ureq::Agent {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(settings.webhook_timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .user_agent("pilotledger-webhooks/1")
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        guard::GuardedResolver {
            allowed: settings.allowed_networks.clone(),
        },
    )
}

async fn run(exec: Store, settings: AlertSettings, stop: Arc<AtomicBool>) {
    let agent = agent(&settings);
    // Longer than one attempt can take, so a live worker never sees its own
    // claim expire.
    let lease = TimeDelta::from_std(settings.webhook_timeout * 3 + Duration::from_secs(5)).unwrap_or(TimeDelta::MAX);
    let mut last_sweep: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        if last_sweep.is_none_or(|t| t.elapsed() >= settings.sweep_interval) {
            last_sweep = Some(Instant::now());
            if let Err(e) = sweep(&exec).await {
                tracing::warn!(error = %e, "alert sweep failed");
            }
        }
        match exec
            .write(move |c| crate::db::webhooks::claim_due(c, lease, BATCH))
            .await
        {
            Ok(due) if !due.is_empty() => deliver_all(&exec, &agent, &settings, due).await,
            Ok(_) => tokio::time::sleep(settings.poll_interval).await,
            Err(e) => {
                tracing::warn!(error = %e, "claiming webhook messages failed");
                tokio::time::sleep(settings.poll_interval).await;
            }
        }
    }
}

async fn sweep(exec: &Store) -> Result<(), DbError> {
    let today = chrono::Utc::now().date_naive();
    let orgs = exec.write(crate::db::alerts::orgs_with_rules).await?;
    for org in orgs {
        exec.write(move |c| crate::db::alerts::sweep_org(c, &org, today))
            .await?;
    }
    Ok(())
}

async fn deliver_all(exec: &Store, agent: &ureq::Agent, settings: &AlertSettings, due: Vec<Due>) {
    let sends = due.into_iter().map(|d| {
        let agent = agent.clone();
        tokio::task::spawn_blocking(move || {
            let result = send(&agent, &d);
            (d, result)
        })
    });
    for done in futures_util::future::join_all(sends).await {
        let Ok((d, (status, error, took))) = done else {
            continue;
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        let attempts = u32::try_from(d.message.attempts).unwrap_or(0) + 1;
        let retry_at = (!delivered && attempts < settings.max_attempts).then(|| {
            let wait = backoff(settings, attempts, rand::random::<f64>());
            crate::db::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX)
        });
        let result = AttemptResult {
            status,
            error,
            duration_ms: i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
            delivered,
            retry_at,
        };
        if let Err(e) = exec
            .write(move |c| crate::db::webhooks::record_attempt(c, &d, &result))
            .await
        {
            tracing::warn!(error = %e, "recording a webhook attempt failed (the message will be sent again)");
        }
    }
}

/// The wait after the `attempts`-th failed attempt, `unit` in [0, 1) drawing
/// the jitter: `min(max, base × 2^(attempts−1)) × (0.5 + unit / 2)`.
pub fn backoff(settings: &AlertSettings, attempts: u32, unit: f64) -> Duration {
    let doubled = settings
        .retry_base
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(30));
    doubled
        .min(settings.retry_max)
        .mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
}

/// One attempt: (HTTP status, error, time taken).
fn send(agent: &ureq::Agent, d: &Due) -> (Option<i32>, Option<String>, Duration) {
    let started = Instant::now();
    let id = d.message.webhook_id();
    let timestamp = chrono::Utc::now().timestamp();
    let body = d.message.payload.as_bytes();
    let signature = signing::signature_header(&d.endpoint.signing_secrets(crate::db::now()), &id, timestamp, body);
    let answer = agent
        .post(&d.endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", &timestamp.to_string())
        .header("webhook-signature", &signature)
        .send(body);
    match answer {
        Ok(resp) => (Some(i32::from(resp.status().as_u16())), None, started.elapsed()),
        Err(e) => (None, Some(e.to_string()), started.elapsed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_between_half_and_whole() {
        let s = AlertSettings {
            retry_base: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            ..AlertSettings::default()
        };
        assert_eq!(backoff(&s, 1, 0.999_999).as_millis(), 2000 - 1);
        assert_eq!(backoff(&s, 1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&s, 4, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(&s, 10, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(&s, 200, 0.0), Duration::from_secs(30));
    }
}
