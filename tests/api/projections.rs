//! The gap projection over HTTP: Cahn's figures, validation naming the field,
//! CSV agreeing with JSON, any authenticated role.

use serde_json::json;

use crate::helpers::*;

fn cahn() -> serde_json::Value {
    json!({"start_year": 2023, "horizon_years": 2,
           "spend_usd_bn": {"2023": 50, "2024": 150}, "cost_multiplier": 2, "gross_margin": 0.5,
           "revenue_usd_bn": {"2023": 75, "2024": 100},
           "success_rate": {"source": "fixed", "value": 0.05}})
}

#[actix_web::test]
async fn cahns_published_figures_come_back_exactly() {
    let app = TestApp::spawn().await;
    let researcher = mint(&app.keys, None, pilotledger::auth::Role::Researcher);
    let res = app.post("/v1/projections/gap", &researcher, &cahn()).await;
    assert_eq!(res.status(), 200);
    let p = json_of(res).await;
    let status_quo = p["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "status_quo")
        .unwrap();
    let years = status_quo["years"].as_array().unwrap();
    // Sequoia (Cahn): 2023 $50B → $200B required, gap $125B; 2024 $150B → $600B, gap $500B.
    assert_eq!(years[0]["year"], 2023);
    assert_eq!(years[0]["required_revenue_usd_bn"], 200.0);
    assert_eq!(years[0]["gap_usd_bn"], 125.0);
    assert_eq!(years[1]["required_revenue_usd_bn"], 600.0);
    assert_eq!(years[1]["gap_usd_bn"], 500.0);
    assert_eq!(years[1]["cumulative_gap_usd_bn"], 625.0);
    assert_eq!(p["parameters"]["cost_multiplier"], 2.0);
    let names: Vec<&str> = p["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for n in ["status_quo", "revenue_catches_up", "spending_slows"] {
        assert!(names.contains(&n), "{names:?}");
    }
}

#[actix_web::test]
async fn invalid_parameters_name_their_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Proj").await;
    for (field, value, expected) in [
        ("gross_margin", json!(1.0), "gross_margin"),
        ("horizon_years", json!(31), "horizon_years"),
        ("spend_usd_bn", json!({"2024": -5}), "spend_usd_bn.2024"),
    ] {
        let mut body = cahn();
        body[field] = value;
        let problem = assert_problem(
            app.post("/v1/projections/gap", &t.member, &body).await,
            422,
            "invalid_field",
        )
        .await;
        assert_eq!(problem["field"], expected, "{problem}");
    }
}

#[actix_web::test]
async fn csv_agrees_with_json() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Proj").await;
    let json_body = json_of(app.post("/v1/projections/gap", &t.finance, &cahn()).await).await;
    let res = app.post("/v1/projections/gap?format=csv", &t.finance, &cahn()).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("gap-projection.csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("scenario,year,spend_usd_bn"));
    let rows = json_body["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["years"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(lines.len(), rows + 1);
    let first = json_body["scenarios"][0].clone();
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cells[0], first["name"].as_str().unwrap());
    assert_eq!(
        cells[5].parse::<f64>().unwrap(),
        first["years"][0]["gap_usd_bn"].as_f64().unwrap()
    );
}

#[actix_web::test]
async fn values_just_inside_an_open_bound_are_read_exactly() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Proj").await;
    // Without exact float parsing 0.9999999999999999 would read as 1.0 and
    // fail "margin below 1".
    let mut body = cahn();
    body["gross_margin"] = json!(0.9999999999999999);
    assert_eq!(app.post("/v1/projections/gap", &t.member, &body).await.status(), 200);
}

/// Ten organisations with one pilot each, evaluated in 2026Q3: five whose
/// pilot showed measured impact, five with none, so the published
/// organisation zero-return share of 2026Q3 is 5/10 and success is 0.5.
async fn half_successful(app: &TestApp) {
    for i in 0..10 {
        let t = app.tenant(&format!("Half {i}")).await;
        let p = app.create_pilot(&t.member, &format!("h{i}")).await;
        patch_pilot(
            app,
            &t.member,
            &p,
            json!({"stage": "production", "evaluated_on": "2026-07-15"}),
        )
        .await;
        if i % 2 == 0 {
            let impact = json!({"kind": "revenue_uplift", "period_start": "2026-07-01", "period_end": "2026-07-10",
                                "amount": "250000.00", "currency": "USD", "attribution_method": "controlled_experiment",
                                "confidence": 0.9, "measured": true, "evidence": "A/B"});
            let res = app
                .post_idem(&format!("/v1/pilots/{p}/impact"), &t.member, &impact)
                .await;
            assert_eq!(res.status(), 201);
        }
    }
}

#[actix_web::test]
async fn a_measured_success_share_of_half_stays_within_the_bound_and_warns() {
    let app = TestApp::spawn().await;
    half_successful(&app).await;
    let researcher = mint(&app.keys, None, pilotledger::auth::Role::Researcher);
    let body = json!({"success_rate": {"source": "measured"}});
    let res = app.post("/v1/projections/gap", &researcher, &body).await;
    assert_eq!(res.status(), 200);
    let p = json_of(res).await;
    // The published 2026Q3 share is what 2026 uses: 5 of 10 organisations, Wilson 95%.
    let used = p["measured_success_rate"].as_array().expect("measured years");
    let y2026 = used.iter().find(|y| y["year"] == 2026).expect("2026 measured");
    assert_eq!(
        (&y2026["basis"], &y2026["quarter"]),
        (&json!("published"), &json!("2026Q3"))
    );
    assert_eq!(y2026["estimate"], 0.5);
    let (z, n) = (1.959_963_984_540_054_f64, 10.0);
    let half = z * (0.25 / n + z * z / (4.0 * n * n)).sqrt() / (1.0 + z * z / n);
    for (end, want) in [("low", 0.5 - half), ("high", 0.5 + half)] {
        let got = y2026[end].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{end}: {got} vs {want}");
    }
    let ceiling = p["parameters"]["revenue_ceiling_usd_bn"].as_f64().unwrap();
    let cap = p["parameters"]["max_revenue_growth"].as_f64().unwrap();
    assert_eq!((ceiling, cap), (10_000.0, 1.0));
    for s in p["scenarios"].as_array().unwrap() {
        let years = s["years"].as_array().unwrap();
        assert_eq!(years[0]["success_rate_basis"], "published");
        for w in years.windows(2) {
            let (a, b) = (
                w[0]["revenue_usd_bn"].as_f64().unwrap(),
                w[1]["revenue_usd_bn"].as_f64().unwrap(),
            );
            assert!(b <= ceiling, "{} {b}", s["name"]);
            assert!(b / a - 1.0 <= cap + 1e-12, "{} grows {}", s["name"], b / a - 1.0);
        }
    }
    // Uncapped, 1/3 × (0.5 ÷ 0.05) = +333% a year would have put 2035 near $2.4 quadrillion.
    let warned: Vec<&serde_json::Value> = p["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "revenue_growth_capped")
        .collect();
    assert_eq!(warned.len(), 3, "one per scenario: {}", p["warnings"]);
    assert!(warned[0]["message"].as_str().unwrap().contains("max_revenue_growth"));
}

fn accounts_case() -> serde_json::Value {
    json!({"start_year": 2026, "horizon_years": 3,
           "spend_usd_bn": {"2024": 30, "2025": 60, "2026": 90, "2027": 120, "2028": 150},
           "cost_multiplier": 2, "gross_margin": 0.5,
           "revenue_usd_bn": {"2026": 100, "2027": 470, "2028": 550},
           "useful_life_years": 2.5, "cost_of_capital": 0.1,
           "hyperscaler_revenue_usd_bn": {"2025": 400, "2026": 450, "2027": 500, "2028": 600},
           "operating_cash_flow_usd_bn": {"2026": 50, "2027": 60, "2028": 200},
           "shareholder_returns_usd_bn": {"2026": 10}, "shareholder_returns_growth": 0,
           "success_rate": {"source": "fixed", "value": 0.05}})
}

#[actix_web::test]
async fn both_methods_the_accounts_and_the_tornado_come_back_by_hand() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Proj").await;
    let p = json_of(app.post("/v1/projections/gap", &t.member, &accounts_case()).await).await;
    let sq = &p["scenarios"][0];
    assert_eq!(sq["name"], "status_quo");
    // By hand (life 2.5: 0.4, 0.4, 0.2 of a vintage a year; book = cost × (1 − age/2.5)):
    // (dep + 0.1 × book) × 2 ÷ 0.5 = (66 + 13.2) × 4, (96 + 18.6) × 4, (126 + 24) × 4.
    let want = [
        (316.8, 360.0, 0.2, 50.0),
        (458.4, 480.0, 0.24, 120.0),
        (600.0, 600.0, 0.25, 120.0),
    ];
    for (row, (dep_req, run_req, intensity, debt)) in sq["years"].as_array().unwrap().iter().zip(want) {
        let f = |k: &str| row[k].as_f64().unwrap();
        assert!(
            (f("required_revenue_depreciation_usd_bn") - dep_req).abs() < 1e-9,
            "{row}"
        );
        assert!((f("required_revenue_usd_bn") - run_req).abs() < 1e-9);
        assert!((f("capital_intensity") - intensity).abs() < 1e-9);
        assert!((f("cumulative_new_debt_usd_bn") - debt).abs() < 1e-9);
    }
    assert!((sq["years"][0]["capex_revenue_divergence"].as_f64().unwrap() - (0.5 - 0.125)).abs() < 1e-9);
    assert_eq!(sq["gap_closes_in"], serde_json::Value::Null);
    assert_eq!(
        sq["gap_closes_in_by_method"],
        json!({"run_rate": null, "depreciation": 2027})
    );
    assert_eq!(sq["payback"].as_array().unwrap().len(), 3);
    assert_eq!(p["benchmarks"]["capital_intensity"]["tech_historical"], 0.12);
    assert!(p["benchmarks"]["divergence_method"]
        .as_str()
        .unwrap()
        .contains("unpublished"));
    let bars = p["sensitivity"]["bars"].as_array().unwrap();
    assert_eq!(p["sensitivity"]["year"], 2028);
    assert_eq!(bars.len(), 13);
    // Every default used is cited.
    for used in p["defaults_used"].as_array().unwrap() {
        assert!(p["defaults_sources"][used.as_str().unwrap()].is_string(), "{used}");
    }

    // The CSV tables agree with the JSON.
    let text = |path: String| {
        let app = &app;
        let token = t.member.clone();
        async move {
            let res = app.post(&path, &token, &accounts_case()).await;
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    let years = text("/v1/projections/gap?format=csv".into()).await;
    let head: Vec<&str> = years.lines().next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let first: Vec<&str> = years.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        first[col("required_revenue_depreciation_usd_bn")]
            .parse::<f64>()
            .unwrap(),
        sq["years"][0]["required_revenue_depreciation_usd_bn"].as_f64().unwrap()
    );
    assert_eq!(first[col("gap_closes_in_depreciation")], "2027");
    let payback = text("/v1/projections/gap?format=csv&table=payback".into()).await;
    assert!(payback.starts_with("scenario,vintage,capex_usd_bn,payback_years"));
    assert_eq!(payback.lines().count(), 1 + 3 * 3);
    let tornado = text("/v1/projections/gap.csv?table=sensitivity".into()).await;
    assert_eq!(tornado.lines().count(), 1 + 13);
    assert!(tornado
        .lines()
        .nth(1)
        .unwrap()
        .contains(bars[0]["parameter"].as_str().unwrap()));
    // A table is a CSV notion: asking for one in JSON is a named 400.
    let res = app
        .post("/v1/projections/gap?table=payback", &t.member, &accounts_case())
        .await;
    assert_eq!(assert_problem(res, 400, "invalid_query").await["field"], "table");
}

#[actix_web::test]
async fn the_new_parameters_name_their_field_when_invalid() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Proj").await;
    for (field, value, expected) in [
        ("revenue_ceiling_usd_bn", json!(50), "revenue_ceiling_usd_bn"),
        ("max_revenue_growth", json!(-0.1), "max_revenue_growth"),
        ("useful_life_years", json!(0.5), "useful_life_years"),
        ("cost_of_capital", json!(1.5), "cost_of_capital"),
        (
            "capital_intensity_benchmarks",
            json!({"Bad Name": 0.1}),
            "capital_intensity_benchmarks",
        ),
        (
            "capital_intensity_benchmarks",
            json!({"telecom": -1}),
            "capital_intensity_benchmarks.telecom",
        ),
        (
            "operating_cash_flow_usd_bn",
            json!({"2026": -1}),
            "operating_cash_flow_usd_bn.2026",
        ),
        ("sensitivity", json!({"year": 2030}), "sensitivity.year"),
        (
            "sensitivity",
            json!({"relative_change": 1}),
            "sensitivity.relative_change",
        ),
    ] {
        let mut body = cahn();
        body[field] = value;
        let problem = assert_problem(
            app.post("/v1/projections/gap", &t.member, &body).await,
            422,
            "invalid_field",
        )
        .await;
        assert_eq!(problem["field"], expected, "{problem}");
    }
}

#[actix_web::test]
async fn past_years_use_the_published_shares_and_later_years_the_trend() {
    let app = TestApp::spawn().await;
    crate::research::seed(&app, 40, 25, 11);
    let researcher = mint(&app.keys, None, pilotledger::auth::Role::Researcher);
    let rates = json_of(app.get("/v1/aggregates/zero-impact-rate", &researcher).await).await;
    let current = {
        let today = chrono::Utc::now().date_naive();
        use chrono::Datelike;
        (today.year(), today.month0() / 3 + 1)
    };
    let quarter = |q: &str| -> (i32, u32) { (q[..4].parse().unwrap(), q[5..].parse().unwrap()) };
    // Independently: each year's latest published `all` share up to now, then the trend's
    // latest projected quarter of each later year.
    let mut want = std::collections::BTreeMap::new();
    for c in rates["cells"].as_array().unwrap() {
        let q = quarter(c["quarter"].as_str().unwrap());
        if c["dimension"] == "all" && !c["org_zero_return_share"].is_null() && q <= current {
            want.insert(
                q.0,
                (
                    "published",
                    c["quarter"].clone(),
                    c["org_zero_return_share"]["estimate"].as_f64().unwrap(),
                ),
            );
        }
    }
    let published_years: Vec<i32> = want.keys().copied().collect();
    assert!(
        published_years.len() >= 2,
        "the seed publishes past years: {published_years:?}"
    );
    let projection = rates["trend"]["projection"].as_array().expect("a fitted trend");
    for p in projection {
        let q = quarter(p["quarter"].as_str().unwrap());
        if q > current {
            want.insert(q.0, ("trend", p["quarter"].clone(), p["estimate"].as_f64().unwrap()));
        }
    }
    let first = published_years[0];
    let body = json!({"success_rate": {"source": "measured"}, "start_year": first, "horizon_years": 6});
    let p = json_of(app.post("/v1/projections/gap", &researcher, &body).await).await;
    let rows = p["scenarios"][0]["years"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let year = row["year"].as_i64().unwrap() as i32;
        let Some((basis, q, share)) = want.get(&year) else {
            continue;
        };
        assert_eq!(row["success_rate_basis"], *basis, "{year}");
        assert_eq!(row["success_rate_quarter"], *q, "{year}");
        let got = row["success_rate"].as_f64().unwrap();
        assert!((got - (1.0 - share)).abs() < 1e-12, "{year}: {got} vs 1 − {share}");
        seen.insert(*basis);
    }
    assert!(seen.contains("published") && seen.contains("trend"), "{seen:?}");
}
