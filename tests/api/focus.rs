//! Spend that arrives by itself (issue 21): the real FOCUS sample imported
//! with tag rules and checked against an independent Decimal computation
//! (Python's `decimal`, run over the same file); re-import writes nothing; a
//! corrected bill reverses exactly; OpenAI and Anthropic cost reports; bad
//! bills are refused whole.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::*;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/focus/focus-1.0-sample.csv");

/// The same figures computed without pilotledger: Python's `decimal` over the
/// CSV, the rules applied in order (tag keys trimmed), sums per (bill,
/// allocation, month, service category, currency) rounded once half-to-even,
/// splits by largest remainder over exact fractions, the rest unallocated.
const ORACLE: &str = r#"
import csv, json, sys
from decimal import Decimal, ROUND_HALF_EVEN
from fractions import Fraction
path, rules, column = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
groups, bills, total = {}, {}, Decimal(0)
for r in csv.DictReader(open(path, newline='', encoding='utf-8')):
    cost = Decimal(r[column])
    tags = {}
    if r.get('Tags') not in (None, '', 'NULL'):
        for k, v in json.loads(r['Tags']).items():
            tags.setdefault(k.strip(), []).append(v)
    target = next((i for i, rule in enumerate(rules) if rule['value'] in tags.get(rule['key'], [])), None)
    bill = (r['ProviderName'], r['BillingAccountId'], r['BillingPeriodStart'][:10])
    key = (bill, target, r['ChargePeriodStart'][:7], r['ServiceCategory'], r['BillingCurrency'])
    groups[key] = groups.get(key, Decimal(0)) + cost
    bills[bill] = bills.get(bill, Decimal(0)) + cost
    total += cost
cents = lambda d: int(d.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN) * 100)
pilots = {}
for (bill, target, month, cat, cur), v in groups.items():
    if target is None:
        continue
    minor = cents(v)
    parts = rules[target]['to']
    m = abs(minor)
    exact = [Fraction(m * w, 10000) for _, w in parts]
    shares = [int(e) for e in exact]
    left = m - sum(shares)
    order = sorted(range(len(parts)), key=lambda i: -(exact[i] - shares[i]))
    for i in order[:left]:
        shares[i] += 1
    for (p, _), s in zip(parts, shares):
        pilots[p] = pilots.get(p, 0) + (s if minor >= 0 else -s)
allocated = sum(pilots.values())
bills_rounded = sum(cents(v) for v in bills.values())
print(json.dumps({"pilots": pilots, "unallocated": bills_rounded - allocated,
                  "bills_rounded": bills_rounded, "file_rounded": cents(total),
                  "unallocated_exact": str(sum((v for k, v in groups.items() if k[1] is None), Decimal(0)))}))
"#;

/// One tag rule for the oracle: tag key/value → pilots with hundredths of a percent.
struct TagRule {
    key: &'static str,
    value: &'static str,
    to: Vec<(String, u32)>,
}

fn oracle(path: &std::path::Path, rules: &[TagRule], column: &str) -> Value {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| json!({"key": r.key, "value": r.value, "to": r.to.iter().map(|(p, w)| json!([p, w])).collect::<Vec<_>>()}))
        .collect();
    let out = Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .arg(path)
        .arg(Value::Array(rules).to_string())
        .arg(column)
        .output()
        .expect("python3 runs the independent computation");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn post_bill(app: &TestApp, token: &str, path: &str, body: Vec<u8>, key: &str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .header("Idempotency-Key", key)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn create_rule(app: &TestApp, admin: &str, body: Value) -> Value {
    let res = app.post("/v1/allocation-rules", admin, &body).await;
    let status = res.status();
    let out = json_of(res).await;
    assert_eq!(status, 201, "{out}");
    out
}

/// Three pilots and three tag rules: a three-way split, one pilot (a key
/// written `" org"` in part of the file), another pilot.
async fn sample_rules(app: &TestApp, t: &Tenant) -> (Vec<String>, Vec<TagRule>) {
    let pilots = vec![
        app.create_pilot(&t.member, "Matrix").await,
        app.create_pilot(&t.member, "Trey").await,
        app.create_pilot(&t.member, "Prod").await,
    ];
    create_rule(
        app,
        &t.admin,
        json!({"priority": 1, "match": {"tag_key": "application", "tag_value": "BrightPathMatrix"},
               "split": [{"pilot_id": pilots[0], "percent": "33.33"}, {"pilot_id": pilots[1], "percent": "33.33"},
                         {"pilot_id": pilots[2], "percent": "33.34"}]}),
    )
    .await;
    create_rule(
        app,
        &t.admin,
        json!({"priority": 2, "match": {"tag_key": "org", "tag_value": "trey"}, "pilot_id": pilots[1]}),
    )
    .await;
    create_rule(
        app,
        &t.admin,
        json!({"priority": 3, "match": {"tag_key": "environment", "tag_value": "prod"}, "pilot_id": pilots[2]}),
    )
    .await;
    let rules = vec![
        TagRule {
            key: "application",
            value: "BrightPathMatrix",
            to: vec![
                (pilots[0].clone(), 3333),
                (pilots[1].clone(), 3333),
                (pilots[2].clone(), 3334),
            ],
        },
        TagRule {
            key: "org",
            value: "trey",
            to: vec![(pilots[1].clone(), 10_000)],
        },
        TagRule {
            key: "environment",
            value: "prod",
            to: vec![(pilots[2].clone(), 10_000)],
        },
    ];
    (pilots, rules)
}

async fn spend_of(app: &TestApp, token: &str, pilot: &str) -> (i64, usize) {
    let list = json_of(app.get(&format!("/v1/pilots/{pilot}/spend?limit=200"), token).await).await;
    let total = list["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount_minor"].as_i64().unwrap())
        .sum();
    (total, list["items"].as_array().unwrap().len())
}

fn report_total(report: &Value, field: &str) -> i64 {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["totals"].as_array().unwrap())
        .map(|t| t[field]["amount_minor"].as_i64().unwrap())
        .sum()
}

#[actix_web::test]
async fn the_real_sample_with_tag_rules_matches_an_independent_decimal_computation() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Cloud bills").await;
    let (pilots, rules) = sample_rules(&app, &t).await;
    let want = oracle(std::path::Path::new(SAMPLE), &rules, "EffectiveCost");

    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        std::fs::read(SAMPLE).unwrap(),
        "f1",
    )
    .await;
    assert_eq!(res.status(), 201);
    let report = json_of(res).await;
    assert_eq!(report["rows"], 1000);
    assert_eq!(report["status"], "imported");
    let mut allocated = 0;
    for p in &pilots {
        let (total, _) = spend_of(&app, &t.member, p).await;
        assert_eq!(total, want["pilots"][p].as_i64().unwrap(), "pilot {p}");
        allocated += total;
    }
    // Unallocated is the rest, in the import's report, the bills list and the finance summary.
    let unallocated = want["unallocated"].as_i64().unwrap();
    assert_eq!(report_total(&report, "unallocated"), unallocated);
    assert_eq!(report_total(&report, "allocated"), allocated);
    let summary = json_of(app.get("/v1/summary", &t.finance).await).await;
    assert_eq!(summary["unallocated_spend"][0]["amount_minor"], unallocated);
    assert_eq!(summary["unallocated_spend"][0]["currency"], "USD");
    let sources = json_of(app.get("/v1/spend-sources", &t.finance).await).await;
    assert_eq!(sources["unallocated"][0]["amount_minor"], unallocated);
    assert_eq!(sources["sources"].as_array().unwrap().len(), 4);
    // Allocated + unallocated = the file's total rounded once (14.98 USD).
    assert_eq!(allocated + unallocated, want["file_rounded"].as_i64().unwrap());
    assert_eq!(want["file_rounded"], 1498);
    // The exact unmatched rows are reported too, to the last of 11 decimals.
    let exact: Vec<&str> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["totals"].as_array().unwrap())
        .map(|t| t["unallocated_exact"].as_str().unwrap())
        .collect();
    assert!(!exact.is_empty());
    // Each entry carries its source: provider, bill and import id in its note.
    let import_id = report["import_id"].as_str().unwrap();
    let list = json_of(app.get(&format!("/v1/pilots/{}/spend", pilots[0]), &t.member).await).await;
    let note = list["items"][0]["note"].as_str().unwrap();
    assert!(note.contains(import_id) && note.contains("2024-09"), "{note}");
}

#[actix_web::test]
async fn the_same_bill_twice_writes_nothing_and_a_corrected_bill_reverses_exactly() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Corrections").await;
    let (pilots, rules) = sample_rules(&app, &t).await;
    let first = json_of(
        post_bill(
            &app,
            &t.member,
            "/v1/spend-sources/focus",
            std::fs::read(SAMPLE).unwrap(),
            "a",
        )
        .await,
    )
    .await;
    let mut before = BTreeMap::new();
    for p in &pilots {
        before.insert(p.clone(), spend_of(&app, &t.member, p).await);
    }
    let audit_before = json_of(app.get("/v1/audit?limit=200", &t.admin).await).await["items"]
        .as_array()
        .unwrap()
        .len();

    // The same file again (another key): nothing new.
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        std::fs::read(SAMPLE).unwrap(),
        "b",
    )
    .await;
    assert_eq!(res.status(), 200);
    let again = json_of(res).await;
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["entries_created"], 0);
    assert_eq!(again["entries_reversed"], 0);
    for p in &pilots {
        assert_eq!(spend_of(&app, &t.member, p).await, before[p]);
    }
    let audit_again = json_of(app.get("/v1/audit?limit=200", &t.admin).await).await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(audit_again, audit_before);

    // A corrected bill: BrightPathMatrix rows cost more, the "trey" rows are gone.
    let mut reader = csv::Reader::from_path(SAMPLE).unwrap();
    let headers = reader.headers().unwrap().clone();
    let cost = headers.iter().position(|h| h == "EffectiveCost").unwrap();
    let tags = headers.iter().position(|h| h == "Tags").unwrap();
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&headers).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        if r[tags].contains("\"trey\"") {
            continue;
        }
        let mut cells: Vec<String> = r.iter().map(str::to_owned).collect();
        if r[tags].contains("BrightPathMatrix") {
            cells[cost] = "0.01234567891".into();
        }
        out.write_record(&cells).unwrap();
    }
    let corrected = out.into_inner().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrected.csv");
    std::fs::write(&path, &corrected).unwrap();
    let want = oracle(&path, &rules, "EffectiveCost");
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", corrected, "c").await;
    assert_eq!(res.status(), 201);
    let fixed = json_of(res).await;
    assert!(fixed["entries_reversed"].as_u64().unwrap() > 0);
    assert!(fixed["entries_created"].as_u64().unwrap() > 0);
    for p in &pilots {
        assert_eq!(
            spend_of(&app, &t.member, p).await.0,
            want["pilots"].get(p).and_then(Value::as_i64).unwrap_or(0),
            "pilot {p}"
        );
    }
    assert_eq!(
        report_total(&fixed, "unallocated"),
        want["unallocated"].as_i64().unwrap()
    );
    let summary = json_of(app.get("/v1/summary", &t.finance).await).await;
    assert_eq!(summary["unallocated_spend"][0]["amount_minor"], want["unallocated"]);
    // Every reversal references an entry the first import wrote, and the
    // audit log says which import replaced which.
    let first_id = first["import_id"].as_str().unwrap();
    let aws = fixed["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["provider"] == "AWS")
        .unwrap();
    assert_eq!(aws["status"], "corrected");
    assert_eq!(aws["replaces_imports"], json!([first_id]));
    let audit = json_of(app.get("/v1/audit?limit=200", &t.admin).await).await;
    let event = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "spend_source.import" && e["object_id"] == fixed["import_id"])
        .expect("the corrected import is audited");
    assert!(event.to_string().contains(first_id));
    // The trey pilot's entries are reversed: none of its bill spend is left
    // except its share of the prod split.
    let list = json_of(
        app.get(&format!("/v1/pilots/{}/spend?limit=200", pilots[1]), &t.member)
            .await,
    )
    .await;
    let reversals = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["reverses"].is_null())
        .count();
    assert!(reversals > 0);
}

#[actix_web::test]
async fn the_billed_cost_column_is_an_organisation_choice() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Billed").await;
    let (pilots, rules) = sample_rules(&app, &t).await;
    let res = app
        .request(
            reqwest::Method::PUT,
            "/v1/spend-sources/settings",
            Some(&t.admin),
            Some(&json!({"cost_column": "BilledCost"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let want = oracle(std::path::Path::new(SAMPLE), &rules, "BilledCost");
    let report = json_of(
        post_bill(
            &app,
            &t.member,
            "/v1/spend-sources/focus",
            std::fs::read(SAMPLE).unwrap(),
            "k",
        )
        .await,
    )
    .await;
    for p in &pilots {
        assert_eq!(
            spend_of(&app, &t.member, p).await.0,
            want["pilots"][p].as_i64().unwrap()
        );
    }
    assert_eq!(report_total(&report, "total"), want["bills_rounded"].as_i64().unwrap());
    let bad = app
        .request(
            reqwest::Method::PUT,
            "/v1/spend-sources/settings",
            Some(&t.admin),
            Some(&json!({"cost_column": "ListCost"})),
        )
        .await;
    assert_eq!(assert_problem(bad, 422, "invalid_field").await["field"], "cost_column");
}

#[actix_web::test]
async fn a_gzip_bill_reads_like_the_plain_one() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Gzip").await;
    let (pilots, rules) = sample_rules(&app, &t).await;
    let want = oracle(std::path::Path::new(SAMPLE), &rules, "EffectiveCost");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(SAMPLE).unwrap()).unwrap();
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus?focus_version=1.0",
        gz.finish().unwrap(),
        "g",
    )
    .await;
    assert_eq!(res.status(), 201);
    for p in &pilots {
        assert_eq!(
            spend_of(&app, &t.member, p).await.0,
            want["pilots"][p].as_i64().unwrap()
        );
    }
}

#[actix_web::test]
async fn bad_bills_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    settings.max_focus_rows = 500;
    let app = TestApp::spawn_with(settings, dir).await;
    let t = app.tenant("Refusals").await;
    let (pilots, _) = sample_rules(&app, &t).await;
    let sample = std::fs::read_to_string(SAMPLE).unwrap();
    // More rows than allowed: 413.
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        sample.clone().into_bytes(),
        "r1",
    )
    .await;
    assert_problem(res, 413, "payload_too_large").await;
    // A missing required column: 422 naming it, before any row.
    let header_end = sample.find('\n').unwrap();
    let no_cost = sample[..header_end].replace("\"EffectiveCost\"", "\"Effective\"") + "\n";
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", no_cost.into_bytes(), "r2").await;
    assert_eq!(
        assert_problem(res, 422, "bill_unsupported").await["field"],
        "EffectiveCost"
    );
    // An unknown version.
    let few: String = sample.lines().take(3).collect::<Vec<_>>().join("\n");
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus?focus_version=0.5",
        few.clone().into_bytes(),
        "r3",
    )
    .await;
    assert_eq!(
        assert_problem(res, 422, "bill_unsupported").await["field"],
        "focus_version"
    );
    // Bad rows: each named with row and column; nothing written.
    let mut lines: Vec<String> = sample.lines().take(4).map(str::to_owned).collect();
    lines[2] = lines[2].replacen("\"USD\"", "\"XYZ\"", 1);
    lines[3] = lines[3].replacen("\"Usage\"", "\"Refund\"", 1);
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        lines.join("\n").into_bytes(),
        "r4",
    )
    .await;
    let problem = assert_problem(res, 422, "import_rejected").await;
    let errors: Vec<(i64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_i64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        errors,
        vec![(3, "BillingCurrency".to_owned()), (4, "ChargeCategory".to_owned())]
    );
    for p in &pilots {
        assert_eq!(spend_of(&app, &t.member, p).await, (0, 0));
    }
    let sources = json_of(app.get("/v1/spend-sources", &t.finance).await).await;
    assert_eq!(sources["sources"], json!([]));
    // No Idempotency-Key: 400; finance may not import.
    let res = app
        .client
        .post(format!("{}/v1/spend-sources/focus", app.base))
        .bearer_auth(&t.member)
        .body(few.clone())
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "idempotency_key_missing").await;
    let res = post_bill(&app, &t.finance, "/v1/spend-sources/focus", few.into_bytes(), "r5").await;
    assert_problem(res, 403, "forbidden").await;
}

#[actix_web::test]
async fn allocation_rules_are_checked_and_admin_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Rules").await;
    let p = app.create_pilot(&t.member, "one").await;
    let q = app.create_pilot(&t.member, "two").await;
    let bad = app
        .post(
            "/v1/allocation-rules",
            &t.admin,
            &json!({"match": {"provider": "AWS"}, "split": [{"pilot_id": p, "percent": "60"}, {"pilot_id": q, "percent": "39.99"}]}),
        )
        .await;
    assert_eq!(assert_problem(bad, 422, "invalid_field").await["field"], "split");
    let bad = app
        .post("/v1/allocation-rules", &t.admin, &json!({"match": {}, "pilot_id": p}))
        .await;
    assert_eq!(assert_problem(bad, 422, "invalid_field").await["field"], "match");
    let other = app.tenant("Elsewhere").await;
    let foreign = app.create_pilot(&other.member, "theirs").await;
    let bad = app
        .post(
            "/v1/allocation-rules",
            &t.admin,
            &json!({"match": {"provider": "AWS"}, "pilot_id": foreign}),
        )
        .await;
    assert_eq!(assert_problem(bad, 422, "invalid_field").await["field"], "pilot_id");
    let res = app
        .post(
            "/v1/allocation-rules",
            &t.member,
            &json!({"match": {"provider": "AWS"}, "pilot_id": p}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let rule = create_rule(
        &app,
        &t.admin,
        json!({"priority": 5, "match": {"resource_id_prefix": "arn:"}, "pilot_id": p}),
    )
    .await;
    let list = json_of(app.get("/v1/allocation-rules", &t.admin).await).await;
    assert_eq!(list["items"][0]["id"], rule["id"]);
    let id = rule["id"].as_str().unwrap();
    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/allocation-rules/{id}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/v1/allocation-rules/{id}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_problem(res, 404, "allocation_rule_not_found").await;
}

#[actix_web::test]
async fn an_openai_cost_report_maps_projects_to_pilots() {
    let app = TestApp::spawn().await;
    let t = app.tenant("OpenAI").await;
    let p = app.create_pilot(&t.member, "support bot").await;
    create_rule(
        &app,
        &t.admin,
        json!({"match": {"provider": "OpenAI", "sub_account_id": "proj_abc"}, "pilot_id": p}),
    )
    .await;
    // The documented shape of GET /v1/organization/costs grouped by project_id and line_item.
    let report = r#"{"object": "page", "data": [
      {"object": "bucket", "start_time": 1730419200, "end_time": 1730505600, "results": [
        {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"}, "line_item": "GPT-4o, input", "project_id": "proj_abc"},
        {"object": "organization.costs.result", "amount": {"value": 0.0049999999, "currency": "usd"}, "line_item": "GPT-4o, output", "project_id": "proj_abc"},
        {"object": "organization.costs.result", "amount": {"value": 1.234, "currency": "usd"}, "line_item": null, "project_id": null}]},
      {"object": "bucket", "start_time": 1730505600, "end_time": 1730592000, "results": [
        {"object": "organization.costs.result", "amount": {"value": 2.5e-3, "currency": "usd"}, "line_item": "GPT-4o, input", "project_id": "proj_abc"}]}
    ], "has_more": false, "next_page": null}"#;
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/openai",
        report.as_bytes().to_vec(),
        "o1",
    )
    .await;
    assert_eq!(res.status(), 201);
    let out = json_of(res).await;
    // November 2024, one service category (AI and Machine Learning): proj_abc's
    // 0.06 + 0.0049999999 + 0.0025 = 0.0674999999 → 0.07, rounded once (each
    // line alone would round to 0.06 + 0.00 + 0.00); the null project's 1.234
    // is unallocated: total 1.3014999999 → 1.30, less 0.07 allocated = 1.23.
    assert_eq!(spend_of(&app, &t.member, &p).await.0, 7);
    assert_eq!(report_total(&out, "unallocated"), 123);
    assert_eq!(out["sources"][0]["billing_period"], "2024-11-01");
    assert_eq!(out["sources"][0]["totals"][0]["total_exact"], "1.3014999999");
    // Again: nothing new.
    let again = json_of(
        post_bill(
            &app,
            &t.member,
            "/v1/spend-sources/openai",
            report.as_bytes().to_vec(),
            "o2",
        )
        .await,
    )
    .await;
    assert_eq!(again["status"], "unchanged");
    let bad = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/openai",
        br#"{"data": [{"start_time": 1730419200, "results": [{"amount": {"value": "x", "currency": "usd"}}]}]}"#
            .to_vec(),
        "o3",
    )
    .await;
    assert_eq!(
        assert_problem(bad, 422, "import_rejected").await["errors"][0]["field"],
        "amount.value"
    );
}

#[actix_web::test]
async fn an_anthropic_cost_report_in_fractional_cents_stays_exact() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Anthropic").await;
    let a = app.create_pilot(&t.member, "agents").await;
    let b = app.create_pilot(&t.member, "search").await;
    create_rule(
        &app,
        &t.admin,
        json!({"match": {"provider": "Anthropic", "sub_account_id": "wrkspc_01A"}, "pilot_id": a}),
    )
    .await;
    create_rule(
        &app,
        &t.admin,
        json!({"match": {"sub_account_id": "wrkspc_01B"},
        "split": [{"pilot_id": a, "percent": "50"}, {"pilot_id": b, "percent": "50"}]}),
    )
    .await;
    // The documented shape of GET /v1/organizations/cost_report grouped by workspace_id and description.
    let report = r#"{"data": [
      {"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z", "results": [
        {"currency": "USD", "amount": "123.456", "workspace_id": "wrkspc_01A", "description": "Claude Sonnet 4 Usage - Input Tokens",
         "cost_type": "tokens", "context_window": "0-200k", "model": "claude-sonnet-4-20250514", "service_tier": "standard", "token_type": "uncached_input_tokens"},
        {"currency": "USD", "amount": "0.5", "workspace_id": "wrkspc_01A", "description": "Claude Sonnet 4 Usage - Input Tokens",
         "cost_type": "tokens", "model": "claude-sonnet-4-20250514"},
        {"currency": "USD", "amount": "301", "workspace_id": "wrkspc_01B", "description": "Web Search", "cost_type": "web_search"},
        {"currency": "USD", "amount": "99.99", "workspace_id": null, "description": "Claude Opus 4 Usage - Output Tokens", "cost_type": "tokens"}]}
    ], "has_more": false, "next_page": null}"#;
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/anthropic",
        report.as_bytes().to_vec(),
        "a1",
    )
    .await;
    assert_eq!(res.status(), 201);
    let out = json_of(res).await;
    // Cents: wrkspc_01A 123.456 + 0.5 = 123.956 → 1.23956 USD → 1.24;
    // wrkspc_01B 301 → 3.01, split 50/50 → 1.51 (first) + 1.50;
    // the default workspace 99.99 → 0.9999 unallocated; total 5.24946 → 5.25 − 4.25 = 1.00.
    assert_eq!(spend_of(&app, &t.member, &a).await.0, 124 + 151);
    assert_eq!(spend_of(&app, &t.member, &b).await.0, 150);
    assert_eq!(report_total(&out, "unallocated"), 100);
    assert_eq!(out["sources"][0]["totals"][0]["total_exact"], "5.24946");
    assert_eq!(out["sources"][0]["totals"][0]["unallocated_exact"], "0.9999");
}

#[actix_web::test]
async fn the_cli_imports_a_bill_with_a_progress_bar_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database_url(dir.path());
    let app = TestApp::spawn_with(test_settings(&db, dir.path()), tempfile::tempdir().unwrap()).await;
    let t = app.tenant("CLI bills").await;
    let (pilots, rules) = sample_rules(&app, &t).await;
    let want = oracle(std::path::Path::new(SAMPLE), &rules, "EffectiveCost");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_pilotledger"))
            .args(["import-focus", SAMPLE, "--org", &t.org])
            .env("PILOTLEDGER_DATA_DIR", dir.path())
            .env("DATABASE_URL", &db)
            .env("PILOTLEDGER_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rows/s") && stderr.contains("1000 rows"), "{stderr}");
    for p in &pilots {
        assert_eq!(
            spend_of(&app, &t.member, p).await.0,
            want["pilots"][p].as_i64().unwrap()
        );
    }
    let again = run();
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["status"], "unchanged");
}

#[actix_web::test]
async fn a_rule_change_is_applied_to_a_period_by_importing_its_bill_again() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Rule change").await;
    let (pilots, _) = sample_rules(&app, &t).await;
    post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        std::fs::read(SAMPLE).unwrap(),
        "x1",
    )
    .await;
    // Replace every rule by one: the "trey" rows now go to the third pilot.
    let rules = json_of(app.get("/v1/allocation-rules", &t.admin).await).await;
    for r in rules["items"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let res = app
            .request(
                reqwest::Method::DELETE,
                &format!("/v1/allocation-rules/{id}"),
                Some(&t.admin),
                None,
            )
            .await;
        assert_eq!(res.status(), 204);
    }
    create_rule(
        &app,
        &t.admin,
        json!({"match": {"tag_key": " org", "tag_value": "trey"}, "pilot_id": pilots[2]}),
    )
    .await;
    let want = oracle(
        std::path::Path::new(SAMPLE),
        &[TagRule {
            key: "org",
            value: "trey",
            to: vec![(pilots[2].clone(), 10_000)],
        }],
        "EffectiveCost",
    );
    let res = post_bill(
        &app,
        &t.member,
        "/v1/spend-sources/focus",
        std::fs::read(SAMPLE).unwrap(),
        "x2",
    )
    .await;
    assert_eq!(res.status(), 201);
    let report = json_of(res).await;
    assert!(report["entries_reversed"].as_u64().unwrap() > 0);
    for p in &pilots {
        let expected = want["pilots"].get(p).and_then(Value::as_i64).unwrap_or(0);
        assert_eq!(spend_of(&app, &t.member, p).await.0, expected, "pilot {p}");
    }
    assert_eq!(
        report_total(&report, "unallocated"),
        want["unallocated"].as_i64().unwrap()
    );
}

#[actix_web::test]
async fn an_idempotency_key_replays_the_same_bill_and_refuses_another() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Keys").await;
    sample_rules(&app, &t).await;
    let bill = std::fs::read(SAMPLE).unwrap();
    let first = post_bill(&app, &t.member, "/v1/spend-sources/focus", bill.clone(), "same").await;
    assert_eq!(first.status(), 201);
    let first = json_of(first).await;
    let again = post_bill(&app, &t.member, "/v1/spend-sources/focus", bill.clone(), "same").await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again).await, first);
    let mut other = bill;
    other.extend_from_slice(b"\n");
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", other, "same").await;
    assert_problem(res, 422, "idempotency_key_reused").await;
}

#[actix_web::test]
async fn a_bill_past_the_size_limit_is_refused_sent_or_uncompressed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    settings.max_focus_bytes = 1 << 20;
    let app = TestApp::spawn_with(settings, dir).await;
    let t = app.tenant("Limits").await;
    let sample = std::fs::read(SAMPLE).unwrap();
    // Sent: twice the sample is more than 1 MiB.
    let twice = [
        sample.clone(),
        sample[sample.iter().position(|b| *b == b'\n').unwrap() + 1..].to_vec(),
    ]
    .concat();
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", twice.clone(), "l1").await;
    assert_problem(res, 413, "payload_too_large").await;
    // Uncompressed: the same as gzip is small on the wire, but not once read.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&twice).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 1 << 20);
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", gz, "l2").await;
    assert_problem(res, 413, "payload_too_large").await;
    let sources = json_of(app.get("/v1/spend-sources", &t.finance).await).await;
    assert_eq!(sources["sources"], json!([]));
    // The sample alone fits.
    let res = post_bill(&app, &t.member, "/v1/spend-sources/focus", sample, "l3").await;
    assert_eq!(res.status(), 201);
}
