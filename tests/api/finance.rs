//! Finance summaries and pilot ROI over HTTP, on a hand-built multi-currency
//! ledger whose every figure is computed by hand below.

use serde_json::{json, Value};

use crate::helpers::*;

/// Half-to-even 4-place decimal of num/den, computed independently of the
/// server (integer arithmetic).
fn ratio4(num: i128, den: i128) -> String {
    let scaled = num * 10_000;
    let (mut q, r) = (scaled / den, scaled % den);
    let twice = 2 * r.abs();
    if twice > den.abs() || (twice == den.abs() && q % 2 != 0) {
        q += if (num < 0) != (den < 0) { -1 } else { 1 };
    }
    let sign = if q < 0 { "-" } else { "" };
    format!("{sign}{}.{:04}", q.abs() / 10_000, q.abs() % 10_000)
}

fn entry(kind: &str, category: &str, end: &str, amount: &str, currency: &str) -> Value {
    let start = format!("{}-01", &end[..7]);
    if kind == "spend" {
        json!({"category": category, "period_start": start, "period_end": end, "amount": amount, "currency": currency})
    } else {
        json!({"kind": "cost_reduction", "period_start": start, "period_end": end, "amount": amount,
               "currency": currency, "attribution_method": category, "measured": category != "model_estimate"})
    }
}

async fn pilot(app: &TestApp, token: &str, name: &str, function: &str, sourcing: &str) -> String {
    let mut body = pilot_body(name);
    body["business_function"] = json!(function);
    body["sourcing"] = json!(sourcing);
    app.create_pilot_with(token, &body).await
}

async fn log(app: &TestApp, token: &str, pid: &str, kind: &str, body: Value) -> String {
    let res = app.post_idem(&format!("/v1/pilots/{pid}/{kind}"), token, &body).await;
    assert_eq!(res.status(), 201, "{body}");
    json_of(res).await["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_hand_built_ledger_summarises_to_the_minor_unit() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Ledger GmbH").await; // reports in EUR
    let rates = json!({"rates": [
        {"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.25"},
        {"currency": "EUR", "date": "2026-02-28", "rate_to_usd": "1.20"},
        {"currency": "JPY", "date": "2026-01-31", "rate_to_usd": "0.0080"},
        {"currency": "BHD", "date": "2026-01-31", "rate_to_usd": "2.65"}]});
    assert_eq!(
        app.request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
            .await
            .status(),
        200
    );

    // Pilot A: bought, evaluated 2026-03-01, measured impact net of a harm.
    let a = pilot(&app, &t.member, "A", "finance_accounting", "bought").await;
    patch_pilot(
        &app,
        &t.member,
        &a,
        json!({"stage": "production", "evaluated_on": "2026-03-01"}),
    )
    .await;
    log(
        &app,
        &t.member,
        &a,
        "spend",
        entry("spend", "licences", "2026-01-31", "1000.00", "USD"),
    )
    .await; // /1.25 → 800.00 EUR
    log(
        &app,
        &t.member,
        &a,
        "spend",
        entry("spend", "compute_inference", "2026-01-31", "125000", "JPY"),
    )
    .await; // ×0.008/1.25 → 800.00
    log(
        &app,
        &t.member,
        &a,
        "spend",
        entry("spend", "data", "2026-01-31", "1.000", "BHD"),
    )
    .await; // ×2.65/1.25 → 2.12
    log(
        &app,
        &t.member,
        &a,
        "impact",
        entry("impact", "controlled_experiment", "2026-02-28", "3000.00", "EUR"),
    )
    .await; // 3000.00
    log(
        &app,
        &t.member,
        &a,
        "impact",
        entry("impact", "before_after", "2026-02-28", "-120.00", "USD"),
    )
    .await; // /1.20 → -100.00
    let (a_spend, a_measured) = (80_000 + 80_000 + 212, 300_000 - 10_000);

    // Pilot B: built, evaluated, estimated impact only; its spend is reversed and replaced.
    let b = pilot(&app, &t.member, "B", "it_operations", "built").await;
    patch_pilot(
        &app,
        &t.member,
        &b,
        json!({"stage": "abandoned", "evaluated_on": "2026-03-15"}),
    )
    .await;
    let wrong = log(
        &app,
        &t.member,
        &b,
        "spend",
        entry("spend", "licences", "2026-01-31", "500.00", "EUR"),
    )
    .await;
    log(
        &app,
        &t.member,
        &b,
        "impact",
        entry("impact", "model_estimate", "2026-02-28", "10000.00", "EUR"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let before_reversal = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let rev = app
        .post_idem(
            &format!("/v1/pilots/{b}/entries/{wrong}/reverse"),
            &t.member,
            &json!({"reason": "typo", "replacement": entry("spend", "licences", "2026-01-31", "450.00", "EUR")}),
        )
        .await;
    assert_eq!(rev.status(), 201);
    let b_spend = 45_000;

    // Pilot C: partnered, not evaluated, self-reported impact; two conversions land on a half.
    let c = pilot(&app, &t.member, "C", "hr", "partnered").await;
    log(
        &app,
        &t.member,
        &c,
        "spend",
        entry("spend", "other", "2026-02-28", "1.25", "USD"),
    )
    .await; // 1.041666… → 104
    log(
        &app,
        &t.member,
        &c,
        "spend",
        entry("spend", "other", "2026-02-28", "0.03", "USD"),
    )
    .await; // 2.5 → 2 (even)
    log(
        &app,
        &t.member,
        &c,
        "spend",
        entry("spend", "other", "2026-02-28", "0.09", "USD"),
    )
    .await; // 7.5 → 8 (even)
    log(
        &app,
        &t.member,
        &c,
        "impact",
        entry("impact", "self_reported", "2026-02-28", "50.00", "EUR"),
    )
    .await;
    let c_spend = 104 + 2 + 8;

    let spend = a_spend + b_spend + c_spend;
    let measured = a_measured;
    let estimated = 1_000_000 + 5_000;
    let s = json_of(app.get("/v1/summary", &t.finance).await).await;
    let tot = &s["totals"];
    assert_eq!(s["currency"], "EUR");
    assert_eq!(tot["spend"]["amount_minor"], spend, "{s}");
    assert_eq!(tot["spend"]["amount"], "2053.26");
    assert_eq!(tot["measured_impact"]["amount_minor"], measured);
    assert_eq!(tot["estimated_impact"]["amount_minor"], estimated);
    assert_eq!(tot["net_measured"]["amount_minor"], measured - spend);
    assert_eq!(tot["roi"], ratio4(i128::from(measured - spend), i128::from(spend)));
    assert_eq!(tot["evaluated"], 2);
    assert_eq!(tot["zero_impact"], 1, "B has no measured impact; A has 3480 USD");
    assert_eq!(tot["zero_impact_share"], "0.5000");
    assert_eq!(tot["zero_impact_spend"]["amount_minor"], b_spend);
    let used: Vec<String> = s["fx_rates_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}@{}", r["currency"].as_str().unwrap(), r["date"].as_str().unwrap()))
        .collect();
    for r in ["EUR@2026-01-31", "EUR@2026-02-28", "JPY@2026-01-31", "BHD@2026-01-31"] {
        assert!(used.contains(&r.to_owned()), "{used:?}");
    }

    // By sourcing: each group is its pilot.
    let s = json_of(app.get("/v1/summary?group_by=sourcing", &t.finance).await).await;
    let group = |k: &str| {
        s["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(group("bought")["spend"]["amount_minor"], a_spend);
    assert_eq!(
        group("bought")["roi"],
        ratio4(i128::from(a_measured - a_spend), i128::from(a_spend))
    );
    assert_eq!(group("built")["net_measured"]["amount_minor"], -b_spend);
    assert_eq!(group("built")["roi"], "-1.0000");
    assert_eq!(group("partnered")["estimated_impact"]["amount_minor"], 5_000);

    // In USD instead: A's spend is 1000.00 + 1000.00 + 2.65.
    let roi = json_of(app.get(&format!("/v1/pilots/{a}/roi?currency=USD"), &t.member).await).await;
    assert_eq!(roi["spend"]["amount_minor"], 100_000 + 100_000 + 265);
    assert_eq!(roi["measured_impact"]["amount_minor"], 360_000 - 12_000);
    assert_eq!(roi["zero_impact"], false);
    assert_eq!(roi["measured_net_impact_usd"]["amount_minor"], 348_000);
    assert_eq!(
        roi["payback_month"], "2026-02",
        "cumulative impact 2900 ≥ spend 1602.12 in February"
    );

    // as_of before the reversal reproduces the original figure for B.
    let at = before_reversal.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let s = json_of(
        app.get(&format!("/v1/summary?group_by=sourcing&as_of={at}"), &t.finance)
            .await,
    )
    .await;
    let built = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "built")
        .unwrap()
        .clone();
    assert_eq!(built["spend"]["amount_minor"], 50_000);
    let s = json_of(app.get("/v1/summary?group_by=sourcing", &t.finance).await).await;
    let built = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "built")
        .unwrap()
        .clone();
    assert_eq!(built["spend"]["amount_minor"], 45_000);

    // CSV agrees with JSON row for row.
    let res = app.get("/v1/summary?group_by=sourcing&format=csv", &t.finance).await;
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(".csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert_eq!(lines[0][0], "key");
    let json_rows: Vec<Value> = std::iter::once(s["totals"].clone())
        .chain(s["groups"].as_array().unwrap().iter().cloned())
        .collect();
    assert_eq!(lines.len(), json_rows.len() + 1);
    let plain = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (line, g) in lines[1..].iter().zip(&json_rows) {
        // Every column, against the JSON answer's field of the same name.
        let expected = [
            plain(&g["key"]),
            plain(&g["pilots"]),
            plain(&g["spend"]["amount"]),
            plain(&g["measured_impact"]["amount"]),
            plain(&g["estimated_impact"]["amount"]),
            plain(&g["net_measured"]["amount"]),
            plain(&g["roi"]),
            plain(&g["evaluated"]),
            plain(&g["zero_impact"]),
            plain(&g["zero_impact_share"]),
            plain(&g["zero_impact_spend"]["amount"]),
            plain(&s["currency"]),
            plain(&s["definition_version"]),
        ];
        assert_eq!(line, &expected, "{text}");
    }

    // The pilot ROI's CSV: one row per month of the JSON answer, every column.
    let pilot = s["top_pilots"][0]["id"].as_str().unwrap().to_owned();
    let roi = json_of(app.get(&format!("/v1/pilots/{pilot}/roi"), &t.finance).await).await;
    let text = app
        .get(&format!("/v1/pilots/{pilot}/roi?format=csv"), &t.finance)
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let months = roi["monthly"].as_array().unwrap();
    assert!(!months.is_empty());
    assert_eq!(lines.len(), months.len() + 1, "{text}");
    for (line, m) in lines[1..].iter().zip(months) {
        let expected = [
            plain(&roi["pilot_id"]),
            plain(&roi["name"]),
            plain(&m["month"]),
            plain(&m["spend"]["amount"]),
            plain(&m["measured_impact"]["amount"]),
            plain(&m["cumulative_spend"]["amount"]),
            plain(&m["cumulative_measured_impact"]["amount"]),
            plain(&roi["currency"]),
        ];
        assert_eq!(line, &expected, "{text}");
    }
}

#[actix_web::test]
async fn an_entry_without_an_fx_rate_is_left_out_and_named_not_fatal() {
    let app = TestApp::spawn().await;
    let t = app.tenant("No Rates").await; // reports in EUR
    let rates = json!({"rates": [{"currency": "EUR", "date": "2026-01-01", "rate_to_usd": "1.25"}]});
    let res = app
        .request(reqwest::Method::PUT, "/v1/fx-rates", Some(&app.operator), Some(&rates))
        .await;
    assert_eq!(res.status(), 200);
    let p = app.create_pilot(&t.member, "p").await;
    log(
        &app,
        &t.member,
        &p,
        "spend",
        entry("spend", "licences", "2026-01-31", "10.00", "USD"),
    )
    .await;
    // One entry in a currency nobody loaded a rate for.
    let ves = log(
        &app,
        &t.member,
        &p,
        "spend",
        entry("spend", "licences", "2026-02-28", "5.00", "VES"),
    )
    .await;
    let summary = json_of(app.get("/v1/summary", &t.admin).await).await;
    assert_eq!(
        summary["totals"]["spend"]["amount"], "8.00",
        "10 USD at 1.25 USD per EUR; VES left out"
    );
    assert_eq!(
        summary["data_quality"]["entries_excluded_missing_fx_rate"],
        json!([{"currency": "VES", "missing_rate_for": "VES", "entries": 1,
                "amount": {"amount": "5.00", "amount_minor": 500, "currency": "VES"},
                "first_period_end": "2026-02-28", "last_period_end": "2026-02-28"}])
    );
    // Reversing it does not leave the organisation's summaries broken.
    let res = app
        .post_idem(
            &format!("/v1/pilots/{p}/entries/{ves}/reverse"),
            &t.member,
            &json!({"reason": "wrong currency"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let summary = json_of(app.get("/v1/summary?group_by=quarter", &t.admin).await).await;
    assert_eq!(summary["totals"]["spend"]["amount"], "8.00");
    let excluded = &summary["data_quality"]["entries_excluded_missing_fx_rate"][0];
    assert_eq!(
        (excluded["entries"].clone(), excluded["amount"]["amount"].clone()),
        (json!(2), json!("0.00"))
    );
    // A reporting currency without a rate: every entry that needs one is named.
    let summary = json_of(app.get("/v1/summary?currency=JPY", &t.admin).await).await;
    assert_eq!(summary["totals"]["spend"]["amount"], "0");
    let by: Vec<(String, String, u64)> = summary["data_quality"]["entries_excluded_missing_fx_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["currency"].as_str().unwrap().into(),
                x["missing_rate_for"].as_str().unwrap().into(),
                x["entries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        vec![("USD".into(), "JPY".into(), 1), ("VES".into(), "VES".into(), 2)]
    );
    // Excluded entries outside from/to are still named: the zero-impact
    // definition reads every entry of a pilot.
    let summary = json_of(app.get("/v1/summary?to=2026-01-31", &t.admin).await).await;
    assert_eq!(
        summary["data_quality"]["entries_excluded_missing_fx_rate"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn pilot_names_that_look_like_formulas_are_escaped_in_csv() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Csv").await;
    let mut body = pilot_body("=HYPERLINK(\"http://x\")");
    body["name"] = json!("=HYPERLINK(\"http://x\")");
    let p = app.create_pilot_with(&t.member, &body).await;
    log(
        &app,
        &t.member,
        &p,
        "spend",
        entry("spend", "licences", "2026-01-31", "10.00", "EUR"),
    )
    .await;
    let text = app
        .get(&format!("/v1/pilots/{p}/roi?format=csv"), &t.member)
        .await
        .text()
        .await
        .unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(row.contains("\"'=HYPERLINK("), "{row}");
    assert!(!row.contains(",=HYPERLINK"), "{row}");
}

#[actix_web::test]
async fn summary_dates_outside_the_ledger_range_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Range").await;
    let p = assert_problem(
        app.get("/v1/summary?from=1800-01-01", &t.finance).await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(p["field"], "from");
    let p = assert_problem(
        app.get("/v1/summary?to=2500-12-31", &t.finance).await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(p["field"], "to");
    let p = assert_problem(
        app.get("/v1/summary?from=2026-02-01&to=2026-01-01", &t.finance).await,
        400,
        "invalid_query",
    )
    .await;
    assert_eq!(p["field"], "to");
}
