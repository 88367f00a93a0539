//! Test databases do not outlive their tests: a failing test drops its
//! PostgreSQL database while unwinding, and the databases of a run that was
//! killed are swept by the next one (`scripts/test` also counts what a whole
//! pass left behind). On SQLite every database lives in the test's
//! temporary folder, so there is nothing to check.

use crate::helpers::*;

#[test]
fn a_failing_test_still_drops_its_database() {
    if backend() != "postgres" {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path());
    let name = url.rsplit('/').next().unwrap().to_owned();
    assert!(test_database_exists(&name));
    let failed = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = TestApp::spawn_with(test_settings(&url, dir.path()), dir).await;
            let t = app.tenant("Doomed").await;
            app.create_pilot(&t.member, "doomed").await;
            panic!("the test fails with its server running");
        })
    })
    .join();
    assert!(failed.is_err(), "the test panicked");
    assert!(!test_database_exists(&name), "{name} was dropped while unwinding");
}

#[test]
fn databases_of_a_dead_run_are_swept_and_a_live_run_keeps_its_own() {
    if backend() != "postgres" {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    // No process has pid 4194304 (above Linux's largest, 2^22).
    let dead = format!("pl_test_4194304_{}_sweep_{tag}", now - 600);
    let ancient = format!("pl_test_{}_{}_sweep_{tag}", std::process::id(), now - 7 * 3600);
    let live = format!("pl_test_{}_{}_sweep_{tag}", std::process::id(), now - 600);
    for name in [&dead, &ancient, &live] {
        create_database_named(name);
    }
    sweep_dead_test_databases();
    let remaining = (
        test_database_exists(&dead),
        test_database_exists(&ancient),
        test_database_exists(&live),
    );
    drop_database(&live);
    assert_eq!(
        remaining,
        (false, false, true),
        "dead process and over six hours old are swept; a live process keeps its database"
    );
}
