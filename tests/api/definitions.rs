//! The published definitions beyond MIT NANDA's, computed on a ledger built
//! by hand: 20 organisations of five kinds, two pilots each, all evaluated in
//! 2026Q2 — pilot A from a dated stage history sent at creation (as an import
//! of historical pilots sends it), pilot B moved through its stages live by
//! PATCH. Each pilot's outcome under each definition is written out below by
//! hand from the rules in docs/DEFINITIONS.md, and the published counts and
//! shares must equal the counts of that table.

use pilotledger::auth::Role;
use serde_json::{json, Value};

use crate::helpers::*;

/// One pilot as built, and its outcome under each definition, by hand:
/// (MIT zero impact, S&P abandoned before production, IBM met its expected
/// benefit, PwC neither revenue gain nor cost decrease).
struct Pilot {
    /// Stage history sent at creation (A), or the stages PATCHed live (B).
    stages: &'static [(&'static str, &'static str)],
    live: bool,
    /// Expected annual benefit, USD.
    benefit: Option<&'static str>,
    /// Impacts: (kind, amount USD, measured, attribution method).
    impacts: &'static [(&'static str, &'static str, bool, &'static str)],
    flags: [bool; 4],
}

const MEASURED: &str = "controlled_experiment";

/// The five kinds of organisation: pilots A and B of each.
const KINDS: [[Pilot; 2]; 5] = [
    // 0: A reached production, then was abandoned; met its benefit with
    //    revenue. B abandoned straight from piloting, nothing measured.
    [
        Pilot {
            stages: &[
                ("piloting", "2026-01-05"),
                ("production", "2026-04-10"),
                ("abandoned", "2026-05-15"),
            ],
            live: false,
            benefit: Some("1000.00"),
            impacts: &[("revenue_uplift", "1500.00", true, MEASURED)],
            flags: [false, false, true, false],
        },
        Pilot {
            stages: &[("abandoned", "2026-04-20")],
            live: true,
            benefit: None,
            impacts: &[],
            flags: [true, true, false, true],
        },
    ],
    // 1: both abandoned before production; A saved some cost, short of its benefit.
    [
        Pilot {
            stages: &[("piloting", "2026-01-05"), ("abandoned", "2026-05-15")],
            live: false,
            benefit: Some("1000.00"),
            impacts: &[("cost_reduction", "200.00", true, MEASURED)],
            flags: [false, true, false, false],
        },
        Pilot {
            stages: &[("abandoned", "2026-04-20")],
            live: true,
            benefit: None,
            impacts: &[],
            flags: [true, true, false, true],
        },
    ],
    // 2: both in production, both met their benefits.
    [
        Pilot {
            stages: &[("piloting", "2026-01-05"), ("production", "2026-04-10")],
            live: false,
            benefit: Some("100.00"),
            impacts: &[("revenue_uplift", "500.00", true, MEASURED)],
            flags: [false, false, true, false],
        },
        Pilot {
            stages: &[("production", "2026-04-20")],
            live: true,
            benefit: Some("50.00"),
            impacts: &[("revenue_uplift", "80.00", true, "before_after")],
            flags: [false, false, true, false],
        },
    ],
    // 3: A abandoned before production, B in production; nothing measured.
    [
        Pilot {
            stages: &[("piloting", "2026-01-05"), ("abandoned", "2026-05-15")],
            live: false,
            benefit: None,
            impacts: &[],
            flags: [true, true, false, true],
        },
        Pilot {
            stages: &[("production", "2026-04-20")],
            live: true,
            benefit: None,
            impacts: &[],
            flags: [true, false, false, true],
        },
    ],
    // 4: in production with impact that does not count: revenue not
    //    measured, a cost that went up, revenue self-reported.
    [
        Pilot {
            stages: &[("piloting", "2026-01-05"), ("production", "2026-04-10")],
            live: false,
            benefit: Some("1000.00"),
            impacts: &[
                ("revenue_uplift", "300.00", false, MEASURED),
                ("cost_avoidance", "-50.00", true, MEASURED),
            ],
            flags: [true, false, false, true],
        },
        Pilot {
            stages: &[("piloting", "2026-02-01"), ("production", "2026-04-20")],
            live: true,
            benefit: None,
            impacts: &[("revenue_uplift", "10.00", true, "self_reported")],
            flags: [true, false, false, true],
        },
    ],
];

const DEFINITIONS: [&str; 4] = ["mit_nanda_2025", "sp_global_2025", "ibm_ceo_2025", "pwc_ceo_2026"];
const ORGS: usize = 20;

async fn build(app: &TestApp) {
    for i in 0..ORGS {
        let t = app.tenant(&format!("Org {i}")).await;
        for p in &KINDS[i % KINDS.len()] {
            let mut body = pilot_body("p");
            body["started_on"] = json!("2025-12-01");
            if let Some(b) = p.benefit {
                body["expected_annual_benefit"] = json!(b);
                body["expected_annual_benefit_currency"] = json!("USD");
            }
            if p.live {
                body["stage_entered_on"] = json!("2026-01-05");
            } else {
                body.as_object_mut().unwrap().remove("stage");
                body["stage_history"] = p
                    .stages
                    .iter()
                    .map(|(stage, on)| json!({"stage": stage, "entered_on": on}))
                    .collect();
            }
            let id = app.create_pilot_with(&t.member, &body).await;
            if p.live {
                for (stage, on) in p.stages {
                    patch_pilot(app, &t.member, &id, json!({"stage": stage, "stage_entered_on": on})).await;
                }
            }
            for (kind, amount, measured, method) in p.impacts {
                let entry = json!({"kind": kind, "period_start": "2026-06-01", "period_end": "2026-06-30",
                                   "amount": amount, "currency": "USD", "attribution_method": method,
                                   "measured": measured});
                let res = app
                    .post_idem(&format!("/v1/pilots/{id}/impact"), &t.member, &entry)
                    .await;
                assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            }
        }
    }
}

fn all_cell(body: &Value) -> &Value {
    body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["dimension"] == "all" && c["quarter"] == "2026Q2")
        .unwrap()
}

#[actix_web::test]
async fn each_published_definition_equals_a_count_by_hand() {
    let app = TestApp::spawn().await;
    build(&app).await;
    let researcher = mint(&app.keys, None, Role::Researcher);
    let mut first_counts: Option<(Value, Value)> = None;
    for (d, key) in DEFINITIONS.iter().enumerate() {
        let res = app
            .get(
                &format!("/v1/aggregates/zero-impact-rate?from=2026Q2&to=2026Q2&definition={key}"),
                &researcher,
            )
            .await;
        assert_eq!(res.status(), 200, "{key}");
        let body = json_of(res).await;
        assert_eq!(body["definition"]["key"], *key);
        let cell = all_cell(&body);
        assert_eq!(cell["suppressed"], false, "{key}: {cell}");
        // By hand: organisations all of whose pilots are flagged, and pilots flagged.
        let orgs_flagged = (0..ORGS)
            .filter(|i| KINDS[i % KINDS.len()].iter().all(|p| p.flags[d]))
            .count();
        let pilots_flagged = (0..ORGS)
            .flat_map(|i| KINDS[i % KINDS.len()].iter())
            .filter(|p| p.flags[d])
            .count();
        assert_eq!(cell["organisations"], ORGS, "{key}");
        assert_eq!(cell["pilots"], 2 * ORGS, "{key}");
        assert_eq!(cell["zero_return_organisations"], orgs_flagged, "{key}");
        let share = cell["org_zero_return_share"]["estimate"].as_f64().unwrap();
        assert!(
            (share - orgs_flagged as f64 / ORGS as f64).abs() < 1e-9,
            "{key}: {share}"
        );
        let rate = cell["pilot_rate"]["estimate"].as_f64().unwrap();
        assert!(
            (rate - pilots_flagged as f64 / (2 * ORGS) as f64).abs() < 5e-4,
            "{key}: pilot rate {rate}, by hand {pilots_flagged}/40"
        );
        // Every definition counts the same pilots: its counts are the same.
        let counts = (cell["organisations"].clone(), cell["pilots"].clone());
        match &first_counts {
            None => first_counts = Some(counts),
            Some(c) => assert_eq!(&counts, c, "{key}"),
        }
        if *key == "ibm_ceo_2025" {
            let without = (0..ORGS)
                .flat_map(|i| KINDS[i % KINDS.len()].iter())
                .filter(|p| p.benefit.is_none())
                .count();
            assert_eq!(body["data_quality"]["pilots_without_expected_benefit"], without);
        }
    }
    // The export carries the default definition's cells and says so for another.
    let problem = assert_problem(
        app.get("/v1/aggregates/export?definition=pwc_ceo_2026", &researcher)
            .await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(problem["field"], "definition");
}

#[actix_web::test]
async fn a_history_sent_at_creation_equals_the_same_stages_entered_live() {
    let app = TestApp::spawn().await;
    let t = app.tenant("History GmbH").await;
    let steps = [
        ("piloting", "2025-11-03"),
        ("production", "2026-02-16"),
        ("scaled", "2026-05-04"),
        ("abandoned", "2026-08-31"),
    ];
    let mut body = pilot_body("sent");
    body.as_object_mut().unwrap().remove("stage");
    body["started_on"] = json!("2025-10-01");
    body["stage_history"] = steps
        .iter()
        .map(|(s, on)| json!({"stage": s, "entered_on": on}))
        .collect();
    body["stage_history"][3]["reason"] = json!("the vendor left the market");
    let sent = app.create_pilot_with(&t.member, &body).await;
    let mut live_body = pilot_body("live");
    live_body["started_on"] = json!("2025-10-01");
    let live = app.create_pilot_with(&t.member, &live_body).await;
    for (i, (stage, on)) in steps.iter().enumerate() {
        let mut patch = json!({"stage": stage, "stage_entered_on": on});
        if i == 3 {
            patch["abandon_reason"] = json!("the vendor left the market");
        }
        patch_pilot(&app, &t.member, &live, patch).await;
    }
    let a = json_of(app.get(&format!("/v1/pilots/{sent}"), &t.member).await).await;
    let b = json_of(app.get(&format!("/v1/pilots/{live}"), &t.member).await).await;
    for field in ["stage", "stage_entered_on", "evaluation_date", "stage_history"] {
        assert_eq!(a[field], b[field], "{field}");
    }
    // Evaluated when it first reached production; the reason is kept.
    assert_eq!(a["evaluation_date"], "2026-02-16");
    assert_eq!(a["stage_history"][3]["reason"], "the vendor left the market");
    // An unrelated edit moves no date and keeps the history.
    let before = b.clone();
    let after = patch_pilot(&app, &t.member, &live, json!({"name": "renamed", "tags": ["x"]})).await;
    for field in ["evaluation_date", "stage_entered_on", "stage_history"] {
        assert_eq!(after[field], before[field], "{field}");
    }
}

#[actix_web::test]
async fn bad_histories_and_benefits_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Strict Ltd").await;
    let with = |extra: Value| {
        let mut body = pilot_body("bad");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (json!({"stage_history": []}), "stage_history"),
        (
            json!({"stage_history": [{"stage": "production", "entered_on": "2026-03-01"},
                                     {"stage": "abandoned", "entered_on": "2026-02-01"}]}),
            "stage_history",
        ),
        (
            json!({"stage_history": [{"stage": "piloting", "entered_on": "2026-03-01", "reason": "why"}]}),
            "stage_history",
        ),
        (
            json!({"stage_history": [{"stage": "piloting", "entered_on": "2026-03-01"},
                                     {"stage": "piloting", "entered_on": "2026-04-01"}]}),
            "stage_history",
        ),
        (
            json!({"stage": "scaled", "stage_history": [{"stage": "production", "entered_on": "2026-03-01"}]}),
            "stage",
        ),
        (
            json!({"expected_annual_benefit": "10.00"}),
            "expected_annual_benefit_currency",
        ),
        (
            json!({"expected_annual_benefit": "-1.00", "expected_annual_benefit_currency": "USD"}),
            "expected_annual_benefit",
        ),
        (
            json!({"expected_annual_benefit": "1.001", "expected_annual_benefit_currency": "USD"}),
            "expected_annual_benefit",
        ),
        (
            json!({"expected_annual_benefit": "1.00", "expected_annual_benefit_currency": "XXY"}),
            "expected_annual_benefit_currency",
        ),
    ];
    for (extra, field) in cases {
        let res = app.post("/v1/pilots", &t.member, &with(extra.clone())).await;
        assert_eq!(res.status(), 422, "{extra}");
        let problem = json_of(res).await;
        assert_eq!(problem["field"], field, "{extra}: {problem}");
    }
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().map(Vec::len), Some(0), "nothing written");
    // A reason only for an abandoned pilot.
    let id = app.create_pilot(&t.member, "ok").await;
    let res = app
        .client
        .patch(format!("{}/v1/pilots/{id}", app.base))
        .bearer_auth(&t.member)
        .header("If-Match", "*")
        .json(&json!({"abandon_reason": "no budget"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(json_of(res).await["field"], "abandon_reason");
}

#[actix_web::test]
async fn a_csv_import_carries_stage_histories_and_expected_benefits() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Csv History").await;
    let csv = "type,ref,name,business_function,sourcing,ai_kind,stage_history,expected_annual_benefit,expected_annual_benefit_currency\r\n\
               pilot,A,Claims bot,customer_service,bought,genai_assistant,piloting:2025-01-10;production:2025-06-02;abandoned:2025-09-30:vendor exit: no support,\"12,500.00\",EUR\r\n\
               pilot,B,Ledger bot,finance_accounting,built,genai_agentic,piloting:2025-03-01,,\r\n";
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .header("Idempotency-Key", "csv-history")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let created = json_of(res).await;
    let a = json_of(
        app.get(
            &format!("/v1/pilots/{}", created["pilots"]["A"].as_str().unwrap()),
            &t.member,
        )
        .await,
    )
    .await;
    assert_eq!(a["stage"], "abandoned");
    assert_eq!(a["stage_entered_on"], "2025-09-30");
    assert_eq!(a["evaluation_date"], "2025-06-02");
    assert_eq!(
        a["stage_history"][2],
        json!({"stage": "abandoned", "entered_on": "2025-09-30", "reason": "vendor exit: no support"})
    );
    assert_eq!(a["expected_annual_benefit"], "12500.00");
    assert_eq!(a["expected_annual_benefit_currency"], "EUR");
    let b = json_of(
        app.get(
            &format!("/v1/pilots/{}", created["pilots"]["B"].as_str().unwrap()),
            &t.member,
        )
        .await,
    )
    .await;
    assert_eq!(
        b["stage_history"],
        json!([{"stage": "piloting", "entered_on": "2025-03-01"}])
    );
    assert!(b["expected_annual_benefit"].is_null());
    // A malformed history cell is a row problem naming the field.
    let bad = "type,ref,name,business_function,sourcing,ai_kind,stage_history\r\n\
               pilot,C,x,customer_service,bought,genai_assistant,piloting 2025-01-10\r\n";
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.admin)
        .header("content-type", "text/csv")
        .header("Idempotency-Key", "csv-history-bad")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let problem = json_of(res).await;
    assert_eq!(problem["errors"][0]["field"], "stage_history", "{problem}");
    assert_eq!(problem["errors"][0]["row"], 2, "{problem}");
}

/// Each cell's (quarter, dimension, value, organisations, pilots).
type CellCounts = Vec<(String, String, String, Value, Value)>;

/// The counts a cell publishes, and whether it publishes them at all.
fn counts(body: &Value) -> CellCounts {
    body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["quarter"].as_str().unwrap().to_owned(),
                c["dimension"].as_str().unwrap().to_owned(),
                c["value"].as_str().unwrap().to_owned(),
                c["organisations"].clone(),
                c["pilots"].clone(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn no_definition_publishes_a_count_another_hides() {
    let app = TestApp::spawn().await;
    crate::research::seed(&app, 30, 12, 11);
    let researcher = mint(&app.keys, None, Role::Researcher);
    let mut differing_outcomes = 0;
    for by in ["", "&by=industry", "&by=region", "&by=function"] {
        for grid in ["", "&min_impact=1000&window_months=12"] {
            let mut first: Option<(CellCounts, Value)> = None;
            for key in DEFINITIONS {
                let path = format!("/v1/aggregates/zero-impact-rate?from=2024Q1&to=2026Q4&definition={key}{by}{grid}");
                let res = app.get(&path, &researcher).await;
                assert_eq!(res.status(), 200, "{path}");
                let body = json_of(res).await;
                let shares: Value = body["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["zero_return_organisations"].clone())
                    .collect();
                match &first {
                    None => first = Some((counts(&body), shares)),
                    Some((c, s)) => {
                        assert_eq!(&counts(&body), c, "{path}: counts differ from the default's");
                        if &shares != s {
                            differing_outcomes += 1;
                        }
                    }
                }
            }
        }
    }
    // The definitions do count different outcomes on the same cells.
    assert!(differing_outcomes > 0);
}
