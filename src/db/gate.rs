//! Who settles a write first: its commit or its request's time limit. A
//! request that gives up must not answer "retry" for a write that then lands
//! (a retry with a new key would write it twice). So the work, just before it
//! commits, and the request, when its time is up, race on one flag:
//!
//! - the request wins: the work sees it and rolls back, and the request can
//!   truthfully answer `request_timeout` (nothing was written);
//! - the work wins: it commits (or fails) in the background, and the request
//!   answers `outcome_unknown` (retry with the same Idempotency-Key, which
//!   replays the stored answer if it landed).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const OPEN: u8 = 0;
const COMMITTING: u8 = 1;
const ABANDONED: u8 = 2;

/// Shared by a write and the request waiting for it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CommitGate(Arc<AtomicU8>);

impl CommitGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called by the work right before it commits: `true` means go on and
    /// commit; `false` means the request gave up first, so roll back.
    pub fn enter_commit(&self) -> bool {
        self.0
            .compare_exchange(OPEN, COMMITTING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the request already gave up (the work need not start).
    pub fn abandoned(&self) -> bool {
        self.0.load(Ordering::Acquire) == ABANDONED
    }

    /// Called by the request when its time is up: `true` if the work will
    /// never commit, `false` if its commit was already under way.
    pub fn abandon(&self) -> bool {
        match self
            .0
            .compare_exchange(OPEN, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(state) => state == ABANDONED,
        }
    }

    /// The error a request answers when its time is up.
    pub fn timed_out(&self) -> super::DbError {
        if self.abandon() {
            super::DbError::Timeout
        } else {
            super::DbError::OutcomeUnknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_commit_and_abandon_wins() {
        let g = CommitGate::new();
        assert!(g.enter_commit());
        assert!(!g.abandon(), "a commit under way cannot be abandoned");
        assert!(matches!(g.timed_out(), crate::db::DbError::OutcomeUnknown));

        let g = CommitGate::new();
        assert!(g.abandon());
        assert!(g.abandoned());
        assert!(!g.enter_commit(), "abandoned work must roll back");
        assert!(matches!(g.timed_out(), crate::db::DbError::Timeout));
    }

    #[test]
    fn racing_threads_agree_on_one_winner() {
        for _ in 0..200 {
            let g = CommitGate::new();
            let h = g.clone();
            let worker = std::thread::spawn(move || h.enter_commit());
            let gave_up = g.abandon();
            let committed = worker.join().unwrap();
            assert_ne!(gave_up, committed, "exactly one side wins");
        }
    }
}
