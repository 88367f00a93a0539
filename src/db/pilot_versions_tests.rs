//! The migration's backfill of versions from what was kept before the table
//! (audit snapshots and current rows), and the `as_of` reads over it — on
//! SQLite, or on PostgreSQL with `PILOTLEDGER_TEST_BACKEND=postgres` and
//! `TEST_DATABASE_URL`, as the API tests.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

use super::*;
use crate::db::pilots::PilotView;

const ORG: &str = "0190a0f0-0000-7000-8000-000000000001";
/// Created over the API (a create event), then patched.
const P_API: &str = "0190a0f0-0000-7000-8000-0000000000a1";
/// Imported (no create event), then patched twice.
const P_IMPORTED: &str = "0190a0f0-0000-7000-8000-0000000000a2";
/// Demo-seeded, never patched: no events at all.
const P_SEEDED: &str = "0190a0f0-0000-7000-8000-0000000000a3";

/// A connection to a fresh, empty database of the backend under test.
fn fresh() -> DbConnection {
    if std::env::var("PILOTLEDGER_TEST_BACKEND").as_deref() == Ok("postgres") {
        let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL for the PostgreSQL pass");
        let name = format!("pl_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&base).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        DbConnection::Pg(diesel::PgConnection::establish(&format!("{prefix}/{name}")).unwrap())
    } else {
        DbConnection::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap())
    }
}

/// Runs the migrations that come before the one whose name ends in `stop`.
fn migrate_before(conn: &mut DbConnection, stop: &str) {
    fn run<DB: diesel::backend::Backend>(c: &mut impl MigrationHarness<DB>, source: EmbeddedMigrations, stop: &str) {
        for m in c.pending_migrations(source).unwrap() {
            if m.name().to_string().ends_with(stop) {
                return;
            }
            c.run_migration(&*m).unwrap();
        }
        panic!("no migration named …{stop}");
    }
    match conn {
        DbConnection::Sqlite(c) => run(c, crate::db::SQLITE_MIGRATIONS, stop),
        DbConnection::Pg(c) => run(c, crate::db::POSTGRES_MIGRATIONS, stop),
    }
}

/// A pilot's audit snapshot, as `PilotJson` wrote it.
fn snapshot(id: &str, version: i64, name: &str, function: &str, stage: &str, entered: &str) -> String {
    serde_json::json!({
        "id": id, "org_id": ORG, "name": name, "business_function": function, "sourcing": "built",
        "ai_kind": "other", "stage": stage, "stage_entered_on": entered, "started_on": "2026-01-02",
        "evaluated_on": null, "owner_team": null, "tags": [], "external_ref": null, "version": version,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    })
    .to_string()
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A pilot row and its audit events as the service wrote them before
/// versions were kept.
fn old_pilot(id: &str, current: (i64, &str, &str, &str), written: &str, updated: &str) -> String {
    let (version, name, function, stage) = current;
    format!(
        "INSERT INTO pilots (org_id, id, name, business_function, sourcing, ai_kind, stage, stage_entered_on, \
         started_on, evaluated_on, owner_team, tags, external_ref, version, created_at, updated_at) VALUES \
         ('{ORG}', '{id}', '{name}', '{function}', 'built', 'other', '{stage}', '2026-01-01', '2026-01-02', NULL, \
         NULL, '[]', NULL, {version}, '{written}', '{updated}');"
    )
}

fn event(n: u32, at: &str, action: &str, pilot: &str, before: Option<String>, after: Option<String>) -> String {
    let json = |j: Option<String>| j.as_deref().map_or("NULL".to_owned(), sql_text);
    format!(
        "INSERT INTO audit_events (org_id, id, at, actor, actor_role, action, object_type, object_id, \
         before_json, after_json) VALUES ('{ORG}', 'event-{n:03}', '{at}', 'someone', 'member', '{action}', \
         'pilot', '{pilot}', {}, {});",
        json(before),
        json(after)
    )
}

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

fn org() -> OrgId {
    OrgId::parse(ORG).unwrap()
}

fn pilot(p: &str) -> PilotId {
    PilotId::parse(p).unwrap()
}

/// (version, valid_from, name, business_function, stage) of each version.
type Row = (i64, NaiveDateTime, String, String, String);

fn row(v: &PilotVersionView) -> Row {
    (
        v.version,
        v.valid_from,
        v.name.clone(),
        v.business_function.as_str().to_owned(),
        v.stage.as_str().to_owned(),
    )
}

fn expected(version: i64, at: &str, name: &str, function: &str, stage: &str) -> Row {
    (version, t(at), name.into(), function.into(), stage.into())
}

#[test]
fn the_migration_backfills_versions_from_audit_snapshots_and_rows() {
    let mut conn = fresh();
    migrate_before(&mut conn, "_pilot_versions");
    let api_v1 = snapshot(P_API, 1, "first", "finance_accounting", "piloting", "2026-01-10");
    let api_v2 = snapshot(P_API, 2, "second", "sales_marketing", "production", "2026-03-01");
    let imp_v1 = snapshot(P_IMPORTED, 1, "imported", "legal", "piloting", "2026-02-01");
    let imp_v2 = snapshot(P_IMPORTED, 2, "imported", "legal", "production", "2026-03-05");
    let imp_v3 = snapshot(P_IMPORTED, 3, "renamed", "hr", "scaled", "2026-04-01");
    let old = [
        format!(
            "INSERT INTO orgs (id, name, industry, size_band, region, reporting_currency, ledger_version, \
             created_at) VALUES ('{ORG}', 'Acme', 'industrials', '1000_9999', 'DE', 'EUR', 0, '2026-01-01 00:00:00');"
        ),
        old_pilot(
            P_API,
            (2, "second", "sales_marketing", "production"),
            "2026-01-10 10:00:00",
            "2026-03-01 09:00:00",
        ),
        event(
            1,
            "2026-01-10 10:00:00.000100",
            "pilot.create",
            P_API,
            None,
            Some(api_v1.clone()),
        ),
        event(
            2,
            "2026-03-01 09:00:00.000100",
            "pilot.update",
            P_API,
            Some(api_v1),
            Some(api_v2),
        ),
        old_pilot(
            P_IMPORTED,
            (3, "renamed", "hr", "scaled"),
            "2026-02-01 00:00:00",
            "2026-04-01 00:00:00",
        ),
        // Listed out of order: the backfill goes by time, not by insertion.
        event(
            4,
            "2026-04-01 00:00:00",
            "pilot.update",
            P_IMPORTED,
            Some(imp_v2.clone()),
            Some(imp_v3),
        ),
        event(
            3,
            "2026-03-05 00:00:00",
            "pilot.update",
            P_IMPORTED,
            Some(imp_v1),
            Some(imp_v2),
        ),
        old_pilot(
            P_SEEDED,
            (1, "seeded", "rnd", "piloting"),
            "2026-01-05 00:00:00",
            "2026-01-05 00:00:00",
        ),
    ];
    conn.batch_execute(&old.join("\n")).unwrap();
    crate::db::run_migrations(&mut conn).unwrap();

    let history = |conn: &mut DbConnection, p: &str| -> Vec<Row> {
        all_for_pilot(conn, org(), pilot(p)).unwrap().iter().map(row).collect()
    };
    assert_eq!(
        history(&mut conn, P_API),
        [
            expected(
                1,
                "2026-01-10 10:00:00.000100",
                "first",
                "finance_accounting",
                "piloting"
            ),
            expected(
                2,
                "2026-03-01 09:00:00.000100",
                "second",
                "sales_marketing",
                "production"
            ),
        ]
    );
    assert_eq!(
        history(&mut conn, P_IMPORTED),
        [
            // The imported state, from the first PATCH's before, since the import.
            expected(1, "2026-02-01 00:00:00", "imported", "legal", "piloting"),
            expected(2, "2026-03-05 00:00:00", "imported", "legal", "production"),
            expected(3, "2026-04-01 00:00:00", "renamed", "hr", "scaled"),
        ]
    );
    assert_eq!(
        history(&mut conn, P_SEEDED),
        [expected(1, "2026-01-05 00:00:00", "seeded", "rnd", "piloting")]
    );
    let v1 = all_for_pilot(&mut conn, org(), pilot(P_IMPORTED)).unwrap().remove(0);
    assert_eq!(v1.stage_entered_on.to_string(), "2026-02-01");
    assert_eq!(v1.started_on.map(|d| d.to_string()).as_deref(), Some("2026-01-02"));
    assert_eq!(v1.evaluated_on, None);

    // `as_of` over the backfilled rows: the latest version at or before.
    let at = |conn: &mut DbConnection, s: &str| -> Vec<(String, i64)> {
        all_as_of(conn, org(), t(s))
            .unwrap()
            .into_iter()
            .map(|v| (v.pilot_id, v.version))
            .collect()
    };
    assert_eq!(at(&mut conn, "2026-01-01 00:00:00"), []);
    assert_eq!(at(&mut conn, "2026-01-07 00:00:00"), [(P_SEEDED.to_owned(), 1)]);
    assert_eq!(
        at(&mut conn, "2026-02-15 00:00:00"),
        [
            (P_API.to_owned(), 1),
            (P_IMPORTED.to_owned(), 1),
            (P_SEEDED.to_owned(), 1)
        ]
    );
    assert_eq!(
        at(&mut conn, "2026-03-10 00:00:00"),
        [
            (P_API.to_owned(), 2),
            (P_IMPORTED.to_owned(), 2),
            (P_SEEDED.to_owned(), 1)
        ]
    );
    let one =
        |conn: &mut DbConnection, p: &str, s: &str| find_as_of(conn, org(), pilot(p), t(s)).unwrap().map(|v| v.version);
    assert_eq!(one(&mut conn, P_IMPORTED, "2026-01-31 23:59:59.999999"), None);
    assert_eq!(
        one(&mut conn, P_IMPORTED, "2026-02-01 00:00:00"),
        Some(1),
        "valid_from is inclusive"
    );
    assert_eq!(one(&mut conn, P_IMPORTED, "2026-04-01 00:00:00"), Some(3));
    assert_eq!(one(&mut conn, P_IMPORTED, "2030-01-01 00:00:00"), Some(3));
}

#[test]
fn every_pilot_write_records_its_version() {
    let mut conn = fresh();
    crate::db::run_migrations(&mut conn).unwrap();
    let now = crate::db::now();
    conn.batch_execute(&format!(
        "INSERT INTO orgs (id, name, industry, size_band, region, reporting_currency, ledger_version, created_at) \
         VALUES ('{ORG}', 'Acme', 'industrials', '1000_9999', 'DE', 'EUR', 0, '2026-01-01 00:00:00');"
    ))
    .unwrap();
    let row = |id: PilotId| PilotView {
        org_id: ORG.into(),
        id: id.to_string(),
        name: "p".into(),
        business_function: BusinessFunction::Hr,
        sourcing: Sourcing::Built,
        ai_kind: AiKind::Other,
        stage: Stage::Piloting,
        stage_entered_on: now.date(),
        evaluation_stage_on: None,
        started_on: None,
        evaluated_on: None,
        owner_team: None,
        tags: "[]".into(),
        external_ref: None,
        stage_history: "[]".into(),
        expected_benefit_minor: None,
        expected_benefit_currency: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let single = row(PilotId::new());
    crate::db::pilots::insert(&mut conn, &single).unwrap();
    // More rows than one INSERT takes, as an import or a seed writes them.
    let bulk: Vec<PilotView> = (0..CHUNK + 5).map(|_| row(PilotId::new())).collect();
    crate::db::seed::insert_pilots(&mut conn, &bulk).unwrap();
    let mut next = single.clone();
    next.stage = Stage::Production;
    next.version = 2;
    next.updated_at = now + chrono::TimeDelta::seconds(1);
    assert!(crate::db::pilots::update_if_version(&mut conn, &next, 1).unwrap());
    assert!(
        !crate::db::pilots::update_if_version(&mut conn, &next, 1).unwrap(),
        "stale"
    );

    let id = PilotId::parse(&single.id).unwrap();
    let history = all_for_pilot(&mut conn, org(), id).unwrap();
    assert_eq!(
        history,
        [PilotVersionView::from(&single), PilotVersionView::from(&next)]
    );
    assert_eq!(all_as_of(&mut conn, org(), now).unwrap().len(), CHUNK + 6);
    assert_eq!(
        find_as_of(&mut conn, org(), id, now).unwrap().map(|v| v.version),
        Some(1)
    );
}
