//! The route table is the truth: every listed method answers (not 404/405),
//! every other method answers 405 with the right Allow, and the served OpenAPI
//! document lists exactly these routes.

use std::collections::BTreeSet;

use pilotledger::routes::ROUTES;
use reqwest::Method;

use crate::helpers::*;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// A concrete path for a pattern, with random ids.
pub fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|seg| match seg {
            "{file}" => "app.js".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::new_v4().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_web::test]
async fn every_route_answers_its_methods_and_405s_the_rest() {
    let app = TestApp::spawn().await;
    for route in ROUTES {
        let path = concrete(route.path);
        for m in METHODS {
            let res = app
                .request(Method::from_bytes(m.as_bytes()).unwrap(), &path, None, None)
                .await;
            let status = res.status().as_u16();
            if route.methods.contains(&m) {
                assert!(status != 404 && status != 405, "{m} {} answered {status}", route.path);
            } else {
                assert_eq!(status, 405, "{m} {}", route.path);
                assert_eq!(res.headers()["allow"], route.methods.join(", "), "{m} {}", route.path);
            }
        }
    }
}

#[actix_web::test]
async fn the_openapi_document_lists_exactly_the_registered_routes() {
    let app = TestApp::spawn().await;
    let res = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(res.status(), 200);
    let spec = json_of(res).await;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().unwrap() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                documented.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    let registered: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|r| r.methods.iter().map(move |m| (r.path.to_owned(), (*m).to_owned())))
        .collect();
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(missing.is_empty(), "routes missing from the spec: {missing:?}");
    assert!(
        extra.is_empty(),
        "spec lists routes the server does not have: {extra:?}"
    );
    // Every error code the server can answer is documented.
    let text = spec.to_string();
    for code in pilotledger::error::ALL_CODES {
        assert!(
            text.contains(&format!("\"{}\"", code.code)),
            "code {} not in the spec",
            code.code
        );
    }
}

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.request(Method::GET, "/healthz", None, None).await.status(), 200);
    let res = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_of(res).await["status"], "ready");
}
