//! Researcher aggregates over HTTP on seeded demo data: nothing identifying
//! leaves, published counts and intervals match an independent computation,
//! answers are reproducible, exports agree, and the measured rate drives the
//! gap projection end to end.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use pilotledger::auth::Role;
use serde_json::{json, Value};

use crate::helpers::*;

/// Seeds `orgs` generated organisations straight into the app's database.
pub(crate) fn seed(app: &TestApp, orgs: u32, pilots_per_org: u32, seed: u64) {
    let settings = test_settings(&app.database_url, app.dir.path());
    let pool = pilotledger::startup::open_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    let cfg = pilotledger::demo::DemoConfig {
        orgs,
        pilots_per_org,
        seed,
        today: chrono::Utc::now().date_naive(),
    };
    pilotledger::db::write_tx(&mut conn, |c| {
        pilotledger::db::seed::insert_fx_rates(c, &pilotledger::demo::fx_rates(&cfg))
    })
    .unwrap();
    let fx = pilotledger::db::fx::table(&mut conn).unwrap();
    for i in 0..orgs {
        let batch = pilotledger::demo::org_batch(&cfg, i);
        pilotledger::db::write_tx(&mut conn, |c| {
            pilotledger::db::seed::insert_org_batch(c, &batch, &fx).map(|_| ())
        })
        .unwrap();
    }
}

pub(crate) fn inputs(app: &TestApp) -> pilotledger::db::research::ResearchInputs {
    let settings = test_settings(&app.database_url, app.dir.path());
    let pool = pilotledger::startup::open_database(&settings).unwrap();
    let mut conn = pool.get().unwrap();
    pilotledger::db::research::load(&mut conn).unwrap()
}

fn quarter_of(d: NaiveDate) -> String {
    format!("{}Q{}", d.year(), d.month0() / 3 + 1)
}

/// Wilson score interval, written out from the closed form.
fn wilson(x: f64, n: f64) -> (f64, f64) {
    let z = 1.959_963_984_540_054_f64;
    let p = x / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[actix_web::test]
async fn researchers_get_anonymised_reproducible_rates() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 7);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let path = "/v1/aggregates/zero-impact-rate?by=sourcing";
    let res = app.get(path, &researcher).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["definition_version"],
        pilotledger::analytics::definitions::DEFINITION_VERSION
    );
    assert_eq!(body["parameters"]["min_impact"], 0);
    assert_eq!(body["parameters"]["window_months"], 6);

    // Nothing identifying in any byte of the response or the export.
    let data = inputs(&app);
    let export = app
        .get("/v1/aggregates/export?format=csv", &researcher)
        .await
        .text()
        .await
        .unwrap();
    let export_json = app
        .get("/v1/aggregates/export?format=json", &researcher)
        .await
        .text()
        .await
        .unwrap();
    for doc in [&text, &export, &export_json] {
        for o in &data.orgs {
            assert!(!doc.contains(&o.id) && !doc.contains(&o.name), "org leaked");
        }
        for p in &data.pilots {
            assert!(!doc.contains(&p.id) && !doc.contains(&p.name), "pilot leaked");
        }
        // Ids are whole tokens of the document; notes are checked once each.
        let tokens: BTreeSet<&str> = doc.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).collect();
        for e in &data.entries {
            assert!(!tokens.contains(e.id.as_str()), "entry leaked");
        }
        let notes: BTreeSet<&str> = data.entries.iter().filter_map(|e| e.note.as_deref()).collect();
        for n in notes {
            assert!(!doc.contains(n), "note leaked: {n}");
        }
    }

    // Independent counts for the published "all" cells: evaluated pilots by
    // quarter of their evaluation date, and organisations with one.
    let mut pilots_by_q: BTreeMap<String, u64> = BTreeMap::new();
    let mut orgs_by_q: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &data.pilots {
        let evaluating = matches!(p.stage.as_str(), "production" | "scaled" | "abandoned");
        let Some(d) = p.evaluated_on.or(evaluating.then_some(p.stage_entered_on)) else {
            continue;
        };
        *pilots_by_q.entry(quarter_of(d)).or_default() += 1;
        orgs_by_q.entry(quarter_of(d)).or_default().insert(p.org_id.clone());
    }
    let mut published = 0;
    for c in body["cells"].as_array().unwrap() {
        if c["suppressed"] == true {
            let reason = c["suppression_reason"].as_str().unwrap();
            assert!(c["org_zero_return_share"].is_null() && c["zero_return_organisations"].is_null());
            assert!(c["pilot_rate"].is_null() && c["spend_band"].is_null(), "{c}");
            // Counts stay published only for a cell withheld for its outcome
            // (pilotledger-disclosure-3); a count rule hides them.
            if matches!(reason, "min_organisations" | "dominance" | "empty") {
                assert!(c["organisations"].is_null() && c["pilots"].is_null(), "{c}");
            } else if c["dimension"] == "all" {
                let q = c["quarter"].as_str().unwrap();
                assert_eq!(c["pilots"], pilots_by_q[q], "{q}");
                assert_eq!(c["organisations"].as_u64().unwrap(), orgs_by_q[q].len() as u64, "{q}");
            }
            continue;
        }
        if c["dimension"] != "all" {
            continue;
        }
        published += 1;
        let q = c["quarter"].as_str().unwrap();
        assert_eq!(c["pilots"], pilots_by_q[q], "{q}");
        assert_eq!(c["organisations"].as_u64().unwrap(), orgs_by_q[q].len() as u64, "{q}");
        let (x, n) = (
            c["zero_return_organisations"].as_f64().unwrap(),
            c["organisations"].as_f64().unwrap(),
        );
        let (lo, hi) = wilson(x, n);
        let share = &c["org_zero_return_share"];
        assert!((share["estimate"].as_f64().unwrap() - x / n).abs() < 1e-12);
        assert!((share["low"].as_f64().unwrap() - lo).abs() < 1e-9, "{q}");
        assert!((share["high"].as_f64().unwrap() - hi).abs() < 1e-9, "{q}");
    }
    assert!(published >= 4, "demo data publishes several quarters: {published}");

    // 40 organisations: both trends carry cluster-robust intervals
    // (docs/DEFINITIONS.md §6), so no reason is given and every bound is set.
    for fit in ["pilot", "organisation"] {
        let f = &body["trend"][fit];
        assert_eq!(f["available"], true, "{fit}: {f}");
        assert_eq!(f["intervals_unavailable_reason"], Value::Null, "{fit}: {f}");
        for key in ["intercept", "slope", "pp_change_per_year"] {
            let (lo, est, hi) = (
                f[key]["low"].as_f64(),
                f[key]["estimate"].as_f64(),
                f[key]["high"].as_f64(),
            );
            let (lo, est, hi) = (lo.unwrap(), est.unwrap(), hi.unwrap());
            assert!(lo < est && est < hi, "{fit}.{key}: {lo} {est} {hi}");
        }
    }
    for p in body["trend"]["projection"].as_array().into_iter().flatten() {
        let (lo, hi) = (p["low"].as_f64().unwrap(), p["high"].as_f64().unwrap());
        assert!(
            lo < p["estimate"].as_f64().unwrap() && p["estimate"].as_f64().unwrap() < hi,
            "{p}"
        );
    }

    // Same request, same data → same bytes.
    let again = app.get(path, &researcher).await.text().await.unwrap();
    assert_eq!(again, text);

    // The export's rows are the cells, self-described.
    let header = export.lines().next().unwrap();
    assert!(header.starts_with("definition_version,disclosure_policy_version,from,to,min_impact_usd"));
    let cells: Value = serde_json::from_str(&export_json).unwrap();
    assert_eq!(export.lines().count() - 1, cells["cells"].as_array().unwrap().len());

    // Parameters outside the published grid are refused.
    assert_problem(
        app.get("/v1/aggregates/zero-impact-rate?min_impact=5", &researcher)
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_problem(
        app.get("/v1/aggregates/zero-impact-rate?window_months=4", &researcher)
            .await,
        400,
        "invalid_query",
    )
    .await;
}

/// The export's cells, quarter by quarter: the total, then each breakdown's
/// values, exactly as `zero-impact-rate?by=…` publishes them; the CSV rows
/// are the JSON export's cells in the same order.
#[actix_web::test]
async fn the_export_is_every_breakdown_of_the_rate_quarter_by_quarter() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 13);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let window = "from=2024Q1&to=2026Q4";
    let rate = |by: &str| {
        let path = format!("/v1/aggregates/zero-impact-rate?{window}{by}");
        let app = &app;
        let researcher = &researcher;
        async move {
            let body = json_of(app.get(&path, researcher).await).await;
            body["cells"].as_array().unwrap().clone()
        }
    };
    let total = rate("").await;
    let dimensions = ["function", "sourcing", "ai_kind", "industry", "size_band", "region"];
    let mut per_dimension = Vec::new();
    for d in dimensions {
        per_dimension.push(rate(&format!("&by={d}")).await);
    }
    let mut expected: Vec<Value> = Vec::new();
    for all in &total {
        expected.push(all.clone());
        for cells in &per_dimension {
            expected.extend(
                cells
                    .iter()
                    .filter(|c| c["quarter"] == all["quarter"] && c["dimension"] != "all")
                    .cloned(),
            );
        }
    }
    assert_eq!(total.len(), 12);
    assert!(total.iter().filter(|c| c["suppressed"] == false).count() >= 4);

    let res = app
        .get(&format!("/v1/aggregates/export?format=json&{window}"), &researcher)
        .await;
    assert_eq!(res.status(), 200);
    let export = json_of(res).await;
    assert_eq!(export["parameters"]["from"], "2024Q1");
    let cells = export["cells"].as_array().unwrap();
    assert_eq!(cells.len(), expected.len());
    for (got, want) in cells.iter().zip(&expected) {
        assert_eq!(got, want);
    }

    let csv = app
        .get(&format!("/v1/aggregates/export?format=csv&{window}"), &researcher)
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), cells.len());
    let as_text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (row, cell) in rows.iter().zip(cells) {
        assert_eq!(row.len(), header.len());
        for name in ["quarter", "dimension", "value", "organisations", "pilots", "suppressed"] {
            assert_eq!(row[column(name)], as_text(&cell[name]), "{name}");
        }
        assert_eq!(row[column("pilot_rate")], as_text(&cell["pilot_rate"]["estimate"]));
        assert_eq!(
            row[column("org_zero_return_share_low")],
            as_text(&cell["org_zero_return_share"]["low"])
        );
        assert_eq!(row[column("from")], "2024Q1");
    }

    // One breakdown alone: the total and that breakdown, quarter by quarter.
    let export = json_of(
        app.get(
            &format!("/v1/aggregates/export?format=json&{window}&by=region"),
            &researcher,
        )
        .await,
    )
    .await;
    let only_region: Vec<&Value> = expected
        .iter()
        .filter(|c| c["dimension"] == "all" || c["dimension"] == "region")
        .collect();
    let cells: Vec<&Value> = export["cells"].as_array().unwrap().iter().collect();
    assert_eq!(cells, only_region);
}

#[actix_web::test]
async fn the_measured_rate_moves_the_projection() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 11);
    let researcher = mint(&app.keys, None, Role::Researcher);
    // A reference rate of 0.5 keeps growth (at most 1/3 × 2) under the default
    // cap of 1, and a far ceiling keeps saturation out of the way, so the
    // comparison sees the measured rate and not the bound (issue 22).
    let body = json!({"success_rate": {"source": "measured"}, "reference_success_rate": 0.5,
                      "revenue_ceiling_usd_bn": 1000000});
    let res = app.post("/v1/projections/gap", &researcher, &body).await;
    assert_eq!(res.status(), 200);
    let before = json_of(res).await;
    let revenue = |p: &Value| {
        p["scenarios"][0]["years"].as_array().unwrap().last().unwrap()["revenue_usd_bn"]
            .as_f64()
            .unwrap()
    };
    let rate = |p: &Value| {
        p["scenarios"][0]["years"].as_array().unwrap().last().unwrap()["success_rate"]
            .as_f64()
            .unwrap()
    };

    // Eight new organisations whose pilots, evaluated this quarter, all show
    // measured impact.
    let today = chrono::Utc::now().date_naive();
    for i in 0..8 {
        let t = app.tenant(&format!("Winner {i}")).await;
        for j in 0..6 {
            let p = app.create_pilot(&t.member, &format!("w{i}-{j}")).await;
            let res = app
                .client
                .patch(format!("{}/v1/pilots/{p}", app.base))
                .bearer_auth(&t.member)
                .header("If-Match", "*")
                .json(&json!({"stage": "production", "evaluated_on": today.to_string()}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let impact = json!({"kind": "revenue_uplift", "period_start": today.to_string(), "period_end": today.to_string(),
                                "amount": "250000.00", "currency": "USD", "attribution_method": "controlled_experiment", "measured": true});
            assert_eq!(
                app.post_idem(&format!("/v1/pilots/{p}/impact"), &t.member, &impact)
                    .await
                    .status(),
                201
            );
        }
    }
    let after = json_of(app.post("/v1/projections/gap", &researcher, &body).await).await;
    assert!(
        rate(&after) > rate(&before),
        "success {} → {}",
        rate(&before),
        rate(&after)
    );
    assert!(
        revenue(&after) > revenue(&before),
        "revenue {} → {}",
        revenue(&before),
        revenue(&after)
    );
}

#[actix_web::test]
async fn callers_choose_no_seed_and_bounds_carry_three_decimals() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 7);
    let researcher = mint(&app.keys, None, Role::Researcher);
    // The resampling cannot be steered or rebuilt: no seed, no replicate count.
    for param in ["seed=1", "bootstrap_reps=100"] {
        let res = app
            .get(&format!("/v1/aggregates/zero-impact-rate?{param}"), &researcher)
            .await;
        let problem = assert_problem(res, 400, "invalid_query").await;
        assert_eq!(problem["field"], param.split('=').next().unwrap());
    }
    let path = "/v1/aggregates/zero-impact-rate?by=sourcing";
    let first = json_of(app.get(path, &researcher).await).await;
    assert!(first["parameters"].get("seed").is_none(), "the seed is never published");
    assert_eq!(first["parameters"]["bootstrap_reps"], 1000);
    let mut bounds = 0;
    for cell in first["cells"].as_array().unwrap() {
        for rate in ["pilot_rate", "org_average_rate"] {
            if cell[rate].is_null() {
                continue;
            }
            for end in ["low", "high"] {
                let x = cell[rate][end].as_f64().unwrap();
                assert_eq!(x, (x * 1000.0).round() / 1000.0, "{rate}.{end} = {x}");
                bounds += 1;
            }
        }
    }
    assert!(bounds > 8, "published cells were checked ({bounds} bounds)");
    // Reproducible for the same data, by this process and a restarted one.
    assert_eq!(json_of(app.get(path, &researcher).await).await["cells"], first["cells"]);
    let again = TestApp::spawn_with(
        test_settings(&app.database_url, app.dir.path()),
        tempfile::tempdir().unwrap(),
    )
    .await;
    assert_eq!(
        json_of(again.get(path, &researcher).await).await["cells"],
        first["cells"]
    );
}

#[actix_web::test]
async fn the_measured_projection_spends_the_research_budget_of_any_role() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    settings.research_queries_per_minute = 2;
    let app = TestApp::spawn_with(settings, dir).await;
    seed(&app, 40, 25, 11);
    let t = app.tenant("Projector").await;
    let measured = json!({"success_rate": {"source": "measured"}});
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/projections/gap", &t.member, &measured).await.status(),
            200
        );
    }
    let res = app.post("/v1/projections/gap", &t.member, &measured).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate_limited").await;
    // A projection from fixed rates reads no aggregate and spends nothing.
    let fixed = json!({"success_rate": {"source": "fixed", "value": 0.05}});
    assert_eq!(app.post("/v1/projections/gap", &t.member, &fixed).await.status(), 200);
}

#[actix_web::test]
async fn ten_absurd_entries_from_one_organisation_blank_nothing_else() {
    let app = TestApp::spawn().await;
    // 60 organisations: with the demo's organisation effects (generator v2)
    // fewer of 40 have measured impact in each breakdown cell, and too few
    // cells would pass `one_sided` for the check below to mean much.
    seed(&app, 60, 25, 7);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let path = "/v1/aggregates/export?format=json";
    let before = json_of(app.get(path, &researcher).await).await;
    let trend_before = json_of(app.get("/v1/aggregates/zero-impact-rate", &researcher).await).await["trend"].clone();
    // One member of one organisation logs the largest spend an entry may
    // carry on ten of its pilots, one a quarter.
    let data = inputs(&app);
    let org = &data.orgs[0].id;
    let member = mint(&app.keys, Some(org), Role::Member);
    let pilots: Vec<&str> = data
        .pilots
        .iter()
        .filter(|p| &p.org_id == org)
        .map(|p| p.id.as_str())
        .take(10)
        .collect();
    assert_eq!(pilots.len(), 10);
    for (i, pilot) in pilots.iter().enumerate() {
        let year = 2024 + (i / 4) as i32;
        let month = (i % 4) * 3 + 1;
        let mut body = spend_body(MAX_USD_AMOUNT, "USD");
        body["period_start"] = json!(format!("{year}-{month:02}-01"));
        body["period_end"] = json!(format!("{year}-{month:02}-28"));
        assert_eq!(
            app.post_idem(&format!("/v1/pilots/{pilot}/spend"), &member, &body)
                .await
                .status(),
            201
        );
    }
    let after = json_of(app.get(path, &researcher).await).await;
    let (cells_before, cells_after) = (before["cells"].as_array().unwrap(), after["cells"].as_array().unwrap());
    assert_eq!(cells_before.len(), cells_after.len());
    let mut published = 0;
    let mut bands_withheld = 0;
    for (b, a) in cells_before.iter().zip(cells_after) {
        let key = (&b["quarter"], &b["dimension"], &b["value"]);
        assert_eq!(key, (&a["quarter"], &a["dimension"], &a["value"]));
        if b["suppressed"] == false {
            published += 1;
            // Counts and rates exactly as before; only money bands may change
            // or be withheld.
            for field in [
                "suppressed",
                "organisations",
                "pilots",
                "zero_return_organisations",
                "org_zero_return_share",
                "pilot_rate",
                "org_average_rate",
            ] {
                assert_eq!(a[field], b[field], "{key:?} {field}");
            }
            bands_withheld += usize::from(a["spend_band"].is_null());
        }
    }
    assert!(published > 20, "the seeded data publishes cells ({published})");
    assert!(bands_withheld > 0, "the p%-rule still guards the spend bands");
    let trend_after = json_of(app.get("/v1/aggregates/zero-impact-rate", &researcher).await).await["trend"].clone();
    assert_eq!(trend_after, trend_before, "the trend is untouched");
}

#[actix_web::test]
async fn the_export_comes_as_parquet_with_the_csv_columns() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 5);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let csv = app
        .get("/v1/aggregates/export?format=csv", &researcher)
        .await
        .text()
        .await
        .unwrap();
    let res = app.get("/v1/aggregates/export?format=parquet", &researcher).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/vnd.apache.parquet");
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("pilotledger-aggregates.parquet"));
    let bytes = res.bytes().await.unwrap();
    let reader = SerializedFileReader::new(bytes).unwrap();
    let meta = reader.metadata().file_metadata();
    let names: Vec<&str> = meta.schema_descr().columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, pilotledger::routes::aggregates::EXPORT_COLUMNS);
    assert_eq!(meta.num_rows() as usize, csv.lines().count() - 1, "one row per CSV row");
    // Parquet is offered by the export only.
    let problem = assert_problem(
        app.get("/v1/aggregates/zero-impact-rate?format=parquet", &researcher)
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(problem["field"], "format");
}

#[actix_web::test]
async fn published_definitions_are_listed_and_asked_for_by_key() {
    let app = TestApp::spawn().await;
    seed(&app, 40, 25, 7);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let list = json_of(app.get("/v1/aggregates/definitions", &researcher).await).await;
    assert_eq!(list["default"], "mit_nanda_2025");
    let defs = list["definitions"].as_array().unwrap();
    let keys: Vec<&str> = defs.iter().map(|d| d["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "mit_nanda_2025",
            "pilot_zero_impact",
            "sp_global_2025",
            "ibm_ceo_2025",
            "pwc_ceo_2026"
        ]
    );
    assert_eq!(defs[0]["headline_share"], 0.95);
    assert_eq!(defs[0]["figure"], "org_zero_return_share");
    // Every listed definition is computed now (tests/api/definitions.rs).
    for d in defs {
        assert!(d["figure"].is_string() && d["needs"].is_null(), "{d}");
    }
    // The default and the pilot-level definition come with their study.
    let plain = json_of(app.get("/v1/aggregates/zero-impact-rate", &researcher).await).await;
    assert_eq!(plain["definition"]["key"], "mit_nanda_2025");
    let pilots = json_of(
        app.get(
            "/v1/aggregates/zero-impact-rate?definition=pilot_zero_impact",
            &researcher,
        )
        .await,
    )
    .await;
    assert_eq!(pilots["definition"]["figure"], "pilot_rate");
    assert_eq!(pilots["cells"], plain["cells"], "the same cells, another headline");
    // An unknown key is an error.
    for (key, says) in [("gartner", "a key of")] {
        let problem = assert_problem(
            app.get(
                &format!("/v1/aggregates/zero-impact-rate?definition={key}"),
                &researcher,
            )
            .await,
            400,
            "invalid_query",
        )
        .await;
        assert_eq!(problem["field"], "definition");
        assert!(problem["detail"].as_str().unwrap().contains(says), "{problem}");
    }
    let member = app.tenant("Curious").await.member;
    assert_problem(app.get("/v1/aggregates/definitions", &member).await, 403, "forbidden").await;
}
