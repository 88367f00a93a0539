//! A table of bad inputs: each answers its problem+json naming what is wrong,
//! and none writes anything.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn with_entry(body: &serde_json::Value, field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut b = body.clone();
    b[field] = value;
    b
}

fn case(
    name: &'static str,
    path: &str,
    body: serde_json::Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method: Method::POST,
        path: path.to_owned(),
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        status,
        code,
        field,
    }
}

#[actix_web::test]
async fn bad_inputs_get_their_problem_and_write_nothing() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Bad").await;
    let pid = app.create_pilot(&t.member, "the only pilot").await;
    let spend = format!("/v1/pilots/{pid}/spend");
    let with = |field: &str, value: serde_json::Value| {
        let mut b = pilot_body("x");
        b[field] = value;
        b
    };
    let mut s_unknown = spend_body("1.00", "USD");
    s_unknown["colour"] = json!("red");
    let mut s_missing = spend_body("1.00", "USD");
    s_missing.as_object_mut().unwrap().remove("period_end");
    let mut s_backwards = spend_body("1.00", "USD");
    s_backwards["period_end"] = json!("2025-12-01");
    let mut cases = vec![
        Case {
            content_type: Some("application/json"),
            body: b"{\"name\": ".to_vec(),
            ..case("malformed json", "/v1/pilots", json!(null), 400, "malformed_json", None)
        },
        Case {
            body: Vec::new(),
            ..case("empty body", "/v1/pilots", json!(null), 400, "malformed_json", None)
        },
        Case {
            body: format!("{} {{}}", pilot_body("x")).into_bytes(),
            ..case("trailing data", "/v1/pilots", json!(null), 400, "malformed_json", None)
        },
        Case {
            content_type: Some("text/plain"),
            ..case(
                "wrong content type",
                "/v1/pilots",
                pilot_body("x"),
                415,
                "unsupported_media_type",
                Some("Content-Type"),
            )
        },
        case(
            "unknown field",
            "/v1/pilots",
            with("colour", json!("red")),
            422,
            "unknown_field",
            Some("colour"),
        ),
        case(
            "wrong type",
            "/v1/pilots",
            with("name", json!(5)),
            422,
            "invalid_field",
            Some("name"),
        ),
        case(
            "wrong type in array",
            "/v1/pilots",
            with("tags", json!(["a", 1])),
            422,
            "invalid_field",
            Some("tags[1]"),
        ),
        case(
            "unknown enum value",
            "/v1/pilots",
            with("business_function", json!("astrology")),
            422,
            "invalid_field",
            Some("business_function"),
        ),
        case(
            "date out of range",
            "/v1/pilots",
            with("started_on", json!("1900-01-01")),
            422,
            "invalid_field",
            Some("started_on"),
        ),
        case(
            "impossible date",
            "/v1/pilots",
            with("started_on", json!("2026-02-30")),
            422,
            "invalid_field",
            Some("started_on"),
        ),
        case(
            "empty name",
            "/v1/pilots",
            with("name", json!("   ")),
            422,
            "invalid_field",
            Some("name"),
        ),
        case(
            "missing field",
            "/v1/pilots",
            json!({"name": "x"}),
            422,
            "missing_field",
            Some("business_function"),
        ),
        case(
            "unknown field in entry",
            &spend,
            s_unknown,
            422,
            "unknown_field",
            Some("colour"),
        ),
        case(
            "missing field in entry",
            &spend,
            s_missing,
            422,
            "missing_field",
            Some("period_end"),
        ),
        case(
            "period ends before it starts",
            &spend,
            s_backwards,
            422,
            "invalid_field",
            Some("period_end"),
        ),
        case(
            "bad uuid in path",
            "/v1/pilots/not-a-uuid/spend",
            spend_body("1.00", "USD"),
            400,
            "invalid_id",
            Some("pilot_id"),
        ),
        case(
            "unknown pilot",
            &format!("/v1/pilots/{}/spend", uuid::Uuid::new_v4()),
            spend_body("1.00", "USD"),
            404,
            "pilot_not_found",
            None,
        ),
        Case {
            // serde keeps the last of two equal keys; the ledger must not.
            body: br#"{"category": "licences", "period_start": "2026-01-01", "period_end": "2026-01-31",
                "amount": "1.00", "currency": "USD", "amount": "999.00"}"#
                .to_vec(),
            ..case("duplicate key", &spend, json!(null), 422, "invalid_field", Some("amount"))
        },
        Case {
            body: br#"{"name": "a", "name": "b", "business_function": "finance_accounting", "sourcing": "bought", "ai_kind": "genai_agentic"}"#.to_vec(),
            ..case("duplicate key in pilot", "/v1/pilots", json!(null), 422, "invalid_field", Some("name"))
        },
        case(
            "date with a plus sign",
            &spend,
            with_entry(&spend_body("1.00", "USD"), "period_start", json!("+2026-01-01")),
            422,
            "invalid_field",
            Some("period_start"),
        ),
        case(
            "date without leading zeros",
            &spend,
            with_entry(&spend_body("1.00", "USD"), "period_end", json!("2026-1-31")),
            422,
            "invalid_field",
            Some("period_end"),
        ),
        case(
            "pilot date without leading zeros",
            "/v1/pilots",
            with("started_on", json!("2026-1-1")),
            422,
            "invalid_field",
            Some("started_on"),
        ),
        case(
            "the most negative amount, which could never be reversed",
            &spend,
            spend_body("-92233720368547758.08", "USD"),
            422,
            "invalid_amount",
            Some("amount"),
        ),
        case(
            "an amount past the spec's 18 digits",
            &spend,
            spend_body("10000000000000000.00", "USD"),
            422,
            "invalid_amount",
            Some("amount"),
        ),
        case(
            "bidi override in a name",
            "/v1/pilots",
            with("name", json!("invoice\u{202E}fdp.exe")),
            422,
            "invalid_field",
            Some("name"),
        ),
        case(
            "zero-width space in a name",
            "/v1/pilots",
            with("name", json!("In\u{200B}voice")),
            422,
            "invalid_field",
            Some("name"),
        ),
        case("unknown route", "/v1/nothing-here", json!({}), 404, "not_found", None),
        Case {
            method: Method::PUT,
            ..case(
                "wrong method",
                "/v1/pilots",
                pilot_body("x"),
                405,
                "method_not_allowed",
                None,
            )
        },
        Case {
            body: vec![b' '; 70 * 1024],
            ..case(
                "oversized body",
                "/v1/pilots",
                json!(null),
                413,
                "payload_too_large",
                None,
            )
        },
        Case {
            body: format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024)).into_bytes(),
            ..case(
                "oversized json",
                "/v1/pilots",
                json!(null),
                413,
                "payload_too_large",
                None,
            )
        },
        Case {
            body: format!(
                "{{\"reason\": \"x\", \"replacement\": {}{}}}",
                "[".repeat(200),
                "]".repeat(200)
            )
            .into_bytes(),
            ..case(
                "deeply nested",
                &format!("/v1/pilots/{pid}/entries/{}/reverse", uuid::Uuid::new_v4()),
                json!(null),
                400,
                "malformed_json",
                None,
            )
        },
    ];
    for c in cases.drain(..) {
        let mut req = app
            .client
            .request(c.method.clone(), format!("{}{}", app.base, c.path))
            .bearer_auth(&t.member)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .body(c.body);
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), c.status, "case {}", c.name);
        if c.status == 405 {
            assert_eq!(res.headers()["allow"], "GET, POST", "case {}", c.name);
        }
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "application/problem+json", "case {}", c.name);
        let body = json_of(res).await;
        assert_eq!(body["code"], c.code, "case {}: {body}", c.name);
        if let Some(f) = c.field {
            assert_eq!(body["field"], f, "case {}: {body}", c.name);
        }
        let detail = body["detail"].as_str().unwrap_or("");
        for leak in ["SELECT", "INSERT", "diesel", "sqlite", "postgres", "panicked"] {
            assert!(!detail.contains(leak), "case {} leaks {leak}: {detail}", c.name);
        }
    }
    // Nothing was written: still one pilot, no entries, and the audit log holds
    // only the org and pilot creation.
    let pilots = json_of(app.get("/v1/pilots", &t.member).await).await;
    assert_eq!(pilots["items"].as_array().unwrap().len(), 1);
    let entries = json_of(app.get(&spend, &t.member).await).await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 0);
    let audit = json_of(app.get("/v1/audit", &t.admin).await).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn positional_arrays_nulls_and_malformed_etags_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Shapes").await;
    // serde would read a struct from an array by position; the API does not.
    let res = app
        .post(
            "/v1/orgs",
            &app.operator,
            &json!(["Array Org", "industrials", "1000_9999", "DE", "EUR"]),
        )
        .await;
    assert_eq!(assert_problem(res, 422, "invalid_field").await["field"], "body");
    let res = app
        .post("/v1/projections/gap", &t.member, &json!({"monte_carlo": [null, null]}))
        .await;
    assert_eq!(assert_problem(res, 422, "invalid_field").await["field"], "monte_carlo");
    let orgs = json_of(app.get("/v1/orgs", &app.operator).await).await;
    assert_eq!(
        orgs["items"].as_array().unwrap().len(),
        1,
        "no org was created from the array"
    );

    // A whole number written as a float is still a whole number.
    let res = app
        .post(
            "/v1/tokens",
            &t.admin,
            &json!({"role": "member", "label": "f", "ttl_days": 30.0}),
        )
        .await;
    assert_eq!(res.status(), 201);

    let pid = app.create_pilot(&t.member, "p").await;
    let patch = |body: serde_json::Value, etag: &'static str| {
        app.client
            .patch(format!("{}/v1/pilots/{pid}", app.base))
            .bearer_auth(&t.member)
            .header("If-Match", etag)
            .json(&body)
            .send()
    };
    let res = patch(json!({"name": null}), "\"1\"").await.unwrap();
    assert_eq!(assert_problem(res, 422, "invalid_field").await["field"], "name");
    let res = patch(json!({"stage": null}), "\"1\"").await.unwrap();
    assert_eq!(assert_problem(res, 422, "invalid_field").await["field"], "stage");
    let res = patch(json!({"name": "x"}), "W/\"1\"").await.unwrap();
    assert_eq!(assert_problem(res, 400, "invalid_header").await["field"], "If-Match");
    let res = patch(json!({"owner_team": null}), "\"1\"").await.unwrap();
    assert_eq!(res.status(), 200, "nullable fields may be cleared");
    let p = json_of(app.get(&format!("/v1/pilots/{pid}"), &t.member).await).await;
    assert_eq!(
        (p["name"].as_str(), p["version"].as_i64(), p["owner_team"].is_null()),
        (Some("p"), Some(2), true)
    );
}
