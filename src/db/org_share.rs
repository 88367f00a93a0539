//! A fair share of the pool per organisation: one tenant's heavy reads may use
//! at most half the connections, so another tenant's requests always find one.
//! Each request runs in a scope ([`request_scope`], set by the HTTP layer)
//! whose organisation the token's verification fills in ([`claim`]), before
//! any database work of the request; the executor takes one of that
//! organisation's permits before
//! it takes a connection and holds it until the work is done (past a timed-out
//! request, too: the connection is busy until then).

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::DbError;
use crate::domain::ids::OrgId;

tokio::task_local! {
    static REQUEST_ORG: Cell<Option<OrgId>>;
}

/// Runs `f` as one request's work, of no organisation until [`claim`] names
/// one (a platform caller, or a token that does not verify, never does).
pub async fn request_scope<F: Future>(f: F) -> F::Output {
    REQUEST_ORG.scope(Cell::new(None), f).await
}

/// Names the organisation of the running request: called by the token's
/// verification (`auth`), which already decoded the claims, so the share
/// costs the request no second look at its token. Outside a request scope
/// (the CLI, tests), nothing.
pub fn claim(org: Option<OrgId>) {
    let _ = REQUEST_ORG.try_with(|o| o.set(org));
}

/// The organisation whose request is running here, if any.
pub fn current_org() -> Option<OrgId> {
    REQUEST_ORG.try_with(|o| o.get()).ok().flatten()
}

/// Permits per organisation.
pub struct OrgShares {
    each: usize,
    shares: Mutex<HashMap<OrgId, Arc<Semaphore>>>,
}

impl OrgShares {
    /// `each` permits per organisation (at least one).
    pub fn new(each: usize) -> Self {
        Self {
            each: each.max(1),
            shares: Mutex::new(HashMap::new()),
        }
    }

    /// How many connections one organisation may hold at once.
    pub fn each(&self) -> usize {
        self.each
    }

    fn semaphore(&self, org: OrgId) -> Arc<Semaphore> {
        // Every update is one map operation: a poisoned lock holds consistent data.
        let mut shares = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        shares
            .entry(org)
            .or_insert_with(|| Arc::new(Semaphore::new(self.each)))
            .clone()
    }

    /// Waits up to `patience` for one of `org`'s permits; past it the request
    /// is told the database is busy (503), like a pool that has no connection.
    pub async fn acquire(&self, org: OrgId, patience: Duration) -> Result<OwnedSemaphorePermit, DbError> {
        let semaphore = self.semaphore(org);
        match tokio::time::timeout(patience, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(DbError::Unavailable(
                "this organisation is using its whole share of the database connections".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_organisation_gets_its_share_and_no_more() {
        let shares = OrgShares::new(2);
        let (a, b) = (OrgId::new(), OrgId::new());
        let patience = Duration::from_millis(50);
        let first = shares.acquire(a, patience).await.unwrap();
        let _second = shares.acquire(a, patience).await.unwrap();
        assert!(
            shares.acquire(a, patience).await.is_err(),
            "a third for the same organisation waits, then 503"
        );
        assert!(
            shares.acquire(b, patience).await.is_ok(),
            "another organisation is not affected"
        );
        drop(first);
        assert!(shares.acquire(a, patience).await.is_ok());
    }

    #[tokio::test]
    async fn the_request_org_is_visible_inside_its_future_only() {
        let org = OrgId::new();
        assert_eq!(current_org(), None);
        let seen = request_scope(async {
            let before = current_org();
            claim(Some(org));
            (before, current_org())
        })
        .await;
        assert_eq!(seen, (None, Some(org)));
        assert_eq!(current_org(), None);
        // Outside a request scope a claim is a no-op.
        claim(Some(org));
        assert_eq!(current_org(), None);
    }
}
