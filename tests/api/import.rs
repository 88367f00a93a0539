//! Bulk import: NDJSON and CSV, all or nothing, a per-row error report, and
//! idempotent re-runs.

use serde_json::{json, Value};

use crate::helpers::*;

async fn import(app: &TestApp, token: &str, content_type: &str, body: String, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("Idempotency-Key", key)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn line(mut v: Value, kind: &str, extra: &[(&str, &str)]) -> String {
    v["type"] = json!(kind);
    for (k, val) in extra {
        v[*k] = json!(val);
    }
    v.to_string()
}

#[actix_web::test]
async fn an_ndjson_import_writes_everything_once() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Importer").await;
    let existing = app.create_pilot(&t.member, "existing").await;
    let file = [
        line(pilot_body("bulk one"), "pilot", &[("ref", "P1")]),
        line(pilot_body("bulk two"), "pilot", &[("ref", "P2")]),
        line(spend_body("0.10", "USD"), "spend", &[("pilot_ref", "P1")]),
        line(spend_body("0.20", "USD"), "spend", &[("pilot_ref", "P1")]),
        line(impact_body("5.00", "EUR"), "impact", &[("pilot_ref", "P2")]),
        line(spend_body("7.00", "USD"), "spend", &[("pilot_id", &existing)]),
    ]
    .join("\n");
    let res = import(&app, &t.member, "application/x-ndjson", file.clone(), "imp-1").await;
    assert_eq!(res.status(), 201);
    let summary = json_of(res).await;
    assert_eq!(summary["pilots_created"], 2);
    assert_eq!(summary["spend_created"], 3);
    assert_eq!(summary["impact_created"], 1);
    let p1 = summary["pilots"]["P1"].as_str().unwrap().to_owned();
    let list = json_of(app.get(&format!("/v1/pilots/{p1}/spend"), &t.member).await).await;
    assert_eq!(list["totals"][0]["amount"], "0.30");
    let list = json_of(app.get(&format!("/v1/pilots/{existing}/spend"), &t.member).await).await;
    assert_eq!(list["totals"][0]["amount"], "7.00");

    // A re-run with the same key replays; nothing is written twice.
    let again = import(&app, &t.member, "application/x-ndjson", file, "imp-1").await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again).await, summary);
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn a_bad_file_is_rejected_whole_with_a_row_report() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Importer").await;
    let mut bad_amount = spend_body("1.5", "JPY");
    bad_amount["pilot_ref"] = json!("P1");
    let file = [
        line(pilot_body("fine"), "pilot", &[("ref", "P1")]),
        line(bad_amount, "spend", &[]),
        line(spend_body("1.00", "USD"), "spend", &[("pilot_ref", "NOPE")]),
        "{not json".to_owned(),
        line(pilot_body("dup"), "pilot", &[("ref", "P1")]),
        json!({"type": "vendor"}).to_string(),
    ]
    .join("\n");
    let res = import(&app, &t.member, "application/x-ndjson", file, "imp-bad").await;
    let problem = assert_problem(res, 422, "import_rejected").await;
    let errors: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "amount".to_owned()),
            (3, "pilot_ref".to_owned()),
            (4, String::new()),
            (5, "ref".to_owned()),
            (6, "type".to_owned())
        ]
    );
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().unwrap().len(), 0, "nothing written");
}

#[actix_web::test]
async fn a_csv_import_takes_the_same_fields_as_columns() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Csv Importer").await;
    let csv = "type,ref,pilot_ref,name,business_function,sourcing,ai_kind,tags,category,kind,period_start,period_end,amount,currency,capex,attribution_method,measured,confidence\r\n\
               pilot,A,,Claims bot,customer_service,bought,genai_assistant,support;claims,,,,,,,,,,\r\n\
               spend,,A,,,,,,licences,,2026-01-01,2026-01-31,1250.50,USD,false,,,\r\n\
               impact,,A,,,,,,,cost_avoidance,2026-02-01,2026-02-28,-99.999,BHD,,before_after,true,0.5\r\n";
    let res = import(&app, &t.admin, "text/csv", csv.to_owned(), "csv-1").await;
    assert_eq!(res.status(), 201);
    let summary = json_of(res).await;
    let a = summary["pilots"]["A"].as_str().unwrap().to_owned();
    let pilot = json_of(app.get(&format!("/v1/pilots/{a}"), &t.member).await).await;
    assert_eq!(pilot["tags"], json!(["support", "claims"]));
    let impact = json_of(app.get(&format!("/v1/pilots/{a}/impact"), &t.member).await).await;
    assert_eq!(impact["items"][0]["amount_minor"], -99_999);
    assert_eq!(impact["items"][0]["measured"], true);
    assert_eq!(impact["items"][0]["confidence"], 0.5);
}

#[actix_web::test]
async fn import_needs_a_known_format_and_a_key() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Importer").await;
    let file = line(pilot_body("x"), "pilot", &[]);
    assert_problem(
        import(&app, &t.member, "application/json", file.clone(), "k").await,
        415,
        "unsupported_media_type",
    )
    .await;
    let res = app
        .client
        .post(format!("{}/v1/import", app.base))
        .bearer_auth(&t.member)
        .header("content-type", "application/x-ndjson")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_missing").await;
    assert_problem(
        import(&app, &t.finance, "text/csv", "type\r\n".into(), "k").await,
        403,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn an_import_that_would_overflow_a_pilot_total_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Overflow Import").await;
    let p = app.create_pilot(&t.member, "big").await;
    let path = format!("/v1/pilots/{p}/spend");
    post_nine_largest_usd(&app, &path, &t.member).await;
    assert_eq!(
        app.post_idem(&path, &t.member, &spend_body("2233720368547758.09", "USD"))
            .await
            .status(),
        201
    );
    let file = [
        line(spend_body("0.07", "USD"), "spend", &[("pilot_id", &p)]),
        line(spend_body("0.01", "USD"), "spend", &[("pilot_id", &p)]),
        line(pilot_body("new"), "pilot", &[("ref", "N")]),
    ]
    .join("\n");
    let problem = assert_problem(
        import(&app, &t.member, "application/x-ndjson", file, "of").await,
        422,
        "import_rejected",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "amount");
    // Row 1 still fits exactly (the total reaches i64::MAX); row 2 is the one
    // that would pass it, as a single append of it would be refused.
    assert_eq!(problem["errors"][0]["row"], 2, "{problem}");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 10);
    assert_eq!(
        list["totals"][0]["amount"], "92233720368547758.00",
        "the running total was rolled back too"
    );
    // A file that fits still goes in, on top of the same total.
    let ok = line(spend_body("0.07", "USD"), "spend", &[("pilot_id", &p)]);
    assert_eq!(
        import(&app, &t.member, "application/x-ndjson", ok, "fits")
            .await
            .status(),
        201
    );
    let list = json_of(app.get(&path, &t.member).await).await;
    assert_eq!(list["totals"][0]["amount_minor"], i64::MAX);
}

#[actix_web::test]
async fn imported_rows_meet_the_same_contract_as_single_writes() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Strict Importer").await;
    let dup = r#"{"type": "spend", "pilot_ref": "P1", "category": "licences", "period_start": "2026-01-01",
        "period_end": "2026-01-31", "amount": "1.00", "currency": "USD", "amount": "999.00"}"#
        .replace('\n', " ");
    let mut loose_date = spend_body("1.00", "USD");
    loose_date["period_start"] = json!("2026-1-1");
    let mut bidi = pilot_body("x");
    bidi["name"] = json!("Claims\u{202E}bot");
    let file = [
        line(pilot_body("fine"), "pilot", &[("ref", "P1")]),
        dup,
        line(loose_date, "spend", &[("pilot_ref", "P1")]),
        line(bidi, "pilot", &[("ref", "P2")]),
        line(
            spend_body("-92233720368547758.08", "USD"),
            "spend",
            &[("pilot_ref", "P1")],
        ),
    ]
    .join("\n");
    let problem = assert_problem(
        import(&app, &t.member, "application/x-ndjson", file, "strict").await,
        422,
        "import_rejected",
    )
    .await;
    let rows: Vec<u64> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5], "{problem}");
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("duplicate key"),
        "{problem}"
    );
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().unwrap().len(), 0, "nothing written");
}

#[actix_web::test]
async fn a_file_of_only_bad_rows_reports_a_bounded_list_and_counts_them_all() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Junk Importer").await;
    let file = "x\n".repeat(5_000);
    let problem = assert_problem(
        import(&app, &t.member, "application/x-ndjson", file, "junk").await,
        422,
        "import_rejected",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(problem["errors_total"], 5_000, "{}", problem["detail"]);
    assert!(problem["detail"].as_str().unwrap().starts_with("5000 problem(s) found"));
}

#[actix_web::test]
async fn five_problems_in_three_rows_come_back_in_one_answer_with_spreadsheet_row_numbers() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Five Problems").await;
    let nobody = uuid::Uuid::new_v4();
    // Line 1 is the header, so the data rows are rows 2, 3 and 4, as a
    // spreadsheet numbers them.
    let csv = format!(
        "type,ref,pilot_ref,pilot_id,name,business_function,sourcing,ai_kind,category,kind,period_start,period_end,amount,currency,attribution_method,measured\r\n\
         pilot,P1,,,,sorcery,bought,genai_agentic,,,,,,,,\r\n\
         spend,,P1,,,,,,licences,,2026-02-30,2026-03-31,abc,USD,,\r\n\
         impact,,,{nobody},,,,,,cost_reduction,2026-02-01,2026-02-28,10.00,USD,before_after,TRUE\r\n"
    );
    let res = import(&app, &t.member, "text/csv", csv, "five").await;
    let problem = assert_problem(res, 422, "import_rejected").await;
    let mut found: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap_or("").to_owned()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            (2, "business_function".to_owned()),
            (2, "name".to_owned()),
            (3, "amount".to_owned()),
            (3, "period_start".to_owned()),
            (4, "pilot_id".to_owned()),
        ],
        "{problem}"
    );
    assert_eq!(problem["errors_total"], 5, "{problem}");
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().unwrap().len(), 0, "nothing written");
}

#[actix_web::test]
async fn a_row_with_problems_still_has_its_reference_checked() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Refs Too").await;
    let mut bad = spend_body("1.00", "USD");
    bad["category"] = json!("snacks");
    let file = [
        line(pilot_body("fine"), "pilot", &[("ref", "P1")]),
        line(bad, "spend", &[("pilot_ref", "P2")]),
    ]
    .join("\n");
    let problem = assert_problem(
        import(&app, &t.member, "application/x-ndjson", file, "refs").await,
        422,
        "import_rejected",
    )
    .await;
    let mut fields: Vec<(u64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    fields.sort();
    assert_eq!(fields, vec![(2, "category"), (2, "pilot_ref")], "{problem}");
}

#[actix_web::test]
async fn csv_rows_are_numbered_as_a_spreadsheet_shows_them_even_with_line_breaks_in_cells() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Multiline").await;
    let csv = "type,ref,pilot_ref,name,business_function,sourcing,ai_kind,owner_team,category,period_start,period_end,amount,currency\r\n\
               pilot,A,,\"Claims\r\nbot\",customer_service,bought,genai_assistant,\"Team\r\nB\",,,,,\r\n\
               spend,,A,,,,,,licences,2026-01-01,2026-01-31,1.00,XYZ\r\n";
    let problem = assert_problem(
        import(&app, &t.member, "text/csv", csv.to_owned(), "multi").await,
        422,
        "import_rejected",
    )
    .await;
    let rows: Vec<(u64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    // Names hold no line breaks, so row 2 has two problems of its own.
    assert_eq!(rows, vec![(2, "name"), (2, "owner_team"), (3, "currency")], "{problem}");
}

#[actix_web::test]
async fn csv_takes_booleans_and_thousands_separators_as_spreadsheets_write_them() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Spreadsheet").await;
    let csv = "type,ref,pilot_ref,name,business_function,sourcing,ai_kind,category,kind,period_start,period_end,amount,currency,capex,attribution_method,measured\r\n\
               pilot,A,,Claims bot,customer_service,bought,genai_assistant,,,,,,,,,\r\n\
               spend,,A,,,,,licences,,2026-01-01,2026-01-31,\"12,500.00\",USD,TRUE,,\r\n\
               impact,,A,,,,,,cost_avoidance,2026-02-01,2026-02-28,\"-1,234,567.5\",USD,,before_after,False\r\n";
    let res = import(&app, &t.admin, "text/csv", csv.to_owned(), "sheet").await;
    let status = res.status();
    let summary = json_of(res).await;
    assert_eq!(status, 201, "{summary}");
    let a = summary["pilots"]["A"].as_str().unwrap().to_owned();
    let spend = json_of(app.get(&format!("/v1/pilots/{a}/spend"), &t.member).await).await;
    assert_eq!(spend["items"][0]["amount_minor"], 1_250_000, "{spend}");
    assert_eq!(spend["items"][0]["capex"], true, "{spend}");
    let impact = json_of(app.get(&format!("/v1/pilots/{a}/impact"), &t.member).await).await;
    assert_eq!(impact["items"][0]["amount_minor"], -123_456_750, "{impact}");
    assert_eq!(impact["items"][0]["measured"], false, "{impact}");

    // Strict: commas only between groups of exactly three digits.
    let bad = "type,pilot_id,category,period_start,period_end,amount,currency\r\n\
               spend,00000000-0000-7000-8000-000000000000,licences,2026-01-01,2026-01-31,\"1,2345.00\",USD\r\n";
    let problem = assert_problem(
        import(&app, &t.admin, "text/csv", bad.to_owned(), "sheet-bad").await,
        422,
        "import_rejected",
    )
    .await;
    let amount = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "amount")
        .unwrap_or_else(|| panic!("{problem}"));
    assert_eq!(amount["row"], 2);
}

#[actix_web::test]
async fn a_body_whose_line_breaks_were_stripped_gets_a_data_binary_hint() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Curl D").await;
    let ndjson = format!(
        "{}{}",
        line(pilot_body("a"), "pilot", &[("ref", "P1")]),
        line(pilot_body("b"), "pilot", &[("ref", "P2")])
    );
    let csv = "type,ref,name,business_function,sourcing,ai_kind\
               pilot,A,Claims bot,customer_service,bought,genai_assistant"
        .to_owned();
    for (content_type, body, key) in [("application/x-ndjson", ndjson, "d-1"), ("text/csv", csv, "d-2")] {
        let problem = assert_problem(
            import(&app, &t.member, content_type, body, key).await,
            422,
            "import_rejected",
        )
        .await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["reason"].as_str().unwrap().contains("curl --data-binary @file")),
            "{content_type}: {problem}"
        );
    }
}
