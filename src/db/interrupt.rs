//! SQLite reads cancelled at their request's time limit.
//!
//! PostgreSQL cancels a statement past `statement_timeout`; SQLite has no such
//! setting, and diesel gives no access to the connection handle that
//! `sqlite3_progress_handler` needs. So every SQLite connection this process
//! opens gets the handler from SQLite's own hook for that,
//! `sqlite3_auto_extension` (called by `sqlite3_open` with the new handle).
//! The handler runs on the thread that is stepping a statement, every few
//! thousand virtual-machine instructions, and interrupts the statement once
//! the deadline that thread set ([`Deadline`]) has passed. The executor sets
//! one around each read (`Executor::read`), never around a write, whose
//! outcome the commit gate decides (`db::gate`). The interrupted read's
//! transaction rolls back, its connection goes back to the pool at once
//! instead of when the work would have ended, and the work answers
//! [`DbError::Timeout`](super::DbError::Timeout) (the request has already
//! answered 503 `request_timeout` by then).

#![allow(unsafe_code)] // two FFI calls into the bundled SQLite

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;
use std::time::Instant;

use libsqlite3_sys as ffi;

/// Virtual-machine instructions between two looks at the clock: a few
/// microseconds of work, so a deadline is kept to well under a millisecond
/// while the clock costs under 1% of a long query.
const CHECK_EVERY: c_int = 4_000;

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static FIRED: Cell<bool> = const { Cell::new(false) };
}

/// Registers the handler for every SQLite connection opened after this call
/// (the pool calls it before its first connection). Idempotent.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `on_open` has the signature SQLite expects of an
        // auto-extension and only installs a progress handler on the handle
        // SQLite passes it.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(on_open)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "could not register the SQLite progress handler; reads past their deadline run on"
            );
        }
    });
}

unsafe extern "C" fn on_open(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening; the handler takes no
    // state (it reads this thread's deadline).
    unsafe { ffi::sqlite3_progress_handler(db, CHECK_EVERY, Some(on_progress), std::ptr::null_mut()) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn on_progress(_: *mut c_void) -> c_int {
    let late = DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t));
    if late {
        FIRED.with(|f| f.set(true));
    }
    c_int::from(late)
}

/// While alive, SQLite statements stepped on this thread are interrupted once
/// `at` has passed.
pub struct Deadline(());

impl Deadline {
    pub fn until(at: Instant) -> Deadline {
        DEADLINE.with(|d| d.set(Some(at)));
        FIRED.with(|f| f.set(false));
        Deadline(())
    }

    /// Whether a statement was interrupted under this deadline.
    pub fn fired(&self) -> bool {
        FIRED.with(|f| f.get())
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
        FIRED.with(|f| f.set(false));
    }
}

#[cfg(test)]
#[path = "interrupt_tests.rs"]
mod tests;
