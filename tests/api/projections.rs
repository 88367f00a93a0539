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
