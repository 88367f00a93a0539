//! Limits and observability: per-token and research budgets answer 429 with
//! Retry-After; /metrics reports by matched route without tenant data.

use pilotledger::auth::Role;

use crate::helpers::*;

async fn app_with(f: impl FnOnce(&mut pilotledger::config::Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(&fresh_database_url(dir.path()), dir.path());
    f(&mut settings);
    TestApp::spawn_with(settings, dir).await
}

#[actix_web::test]
async fn research_queries_beyond_the_budget_get_429_with_retry_after() {
    let app = app_with(|s| s.research_queries_per_minute = 2).await;
    let researcher = mint(&app.keys, None, Role::Researcher);
    for _ in 0..2 {
        assert_eq!(
            app.get("/v1/aggregates/zero-impact-rate", &researcher).await.status(),
            200
        );
    }
    let res = app.get("/v1/aggregates/zero-impact-rate", &researcher).await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_problem(res, 429, "rate_limited").await;
    // Another researcher's budget is separate.
    let other = mint(&app.keys, None, Role::Researcher);
    assert_eq!(app.get("/v1/aggregates/zero-impact-rate", &other).await.status(), 200);
}

#[actix_web::test]
async fn a_token_beyond_its_request_budget_gets_429() {
    let app = app_with(|s| s.requests_per_minute_per_token = 5).await;
    let t = app.tenant("Busy").await;
    for _ in 0..5 {
        assert_eq!(app.get("/v1/pilots", &t.member).await.status(), 200);
    }
    let res = app.get("/v1/pilots", &t.member).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(app.get("/v1/pilots", &t.finance).await.status(), 200);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_only() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Observed").await;
    let pid = app.create_pilot(&t.member, "p").await;
    app.get(&format!("/v1/pilots/{pid}"), &t.member).await;
    // Activity counts are for the operator only (PILOTLEDGER_METRICS_ACCESS).
    assert_problem(
        app.request(reqwest::Method::GET, "/metrics", None, None).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(app.get("/metrics", &t.admin).await, 403, "forbidden").await;
    let res = app.get("/metrics", &app.operator).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            "pilotledger_http_requests_total{route=\"/v1/pilots/{pilot_id}\",method=\"GET\",status=\"2xx\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains(
        "pilotledger_http_request_duration_seconds_bucket{route=\"/v1/pilots\",method=\"POST\",le=\"+Inf\"} 1"
    ));
    assert!(text.contains("pilotledger_db_pool_max"));
    assert!(
        !text.contains(&t.org) && !text.contains(&pid),
        "no tenant ids in labels"
    );
}

#[actix_web::test]
async fn a_request_whose_database_work_runs_too_long_gets_503() {
    let app = app_with(|s| s.request_timeout = std::time::Duration::from_millis(1)).await;
    crate::research::seed(&app, 40, 25, 3);
    let researcher = mint(&app.keys, None, Role::Researcher);
    // Every quarter of three years by industry, the published cells each
    // bootstrapped 1,000 times over 1,000 pilots' rollups: far beyond 1 ms.
    let res = app
        .get("/v1/aggregates/zero-impact-rate?by=industry", &researcher)
        .await;
    assert_eq!(res.headers()["retry-after"], "5");
    assert_problem(res, 503, "request_timeout").await;
}

#[actix_web::test]
async fn overload_sheds_with_503_instead_of_queueing_without_bound() {
    let app = app_with(|s| {
        s.pool_size = Some(2);
        s.db_acquire_timeout = std::time::Duration::from_millis(1);
    })
    .await;
    crate::research::seed(&app, 2, 20, 4);
    let org = crate::research::inputs(&app).orgs[0].id.clone();
    let finance = mint(&app.keys, Some(&org), Role::Finance);
    let started = std::time::Instant::now();
    // Each asks for another period, so none is answered from the summary
    // cache: every one needs a connection for a whole summary, and how many
    // overlap does not hang on how fast a busy machine sends them.
    let paths: Vec<String> = (0..40)
        .map(|i| {
            let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i);
            format!("/v1/summary?from={from}")
        })
        .collect();
    let answers = futures_util::future::join_all(paths.iter().map(|p| app.get(p, &finance))).await;
    let took = started.elapsed();
    let mut shed = 0;
    for res in answers {
        match res.status().as_u16() {
            200 => {}
            503 => {
                assert_eq!(json_of(res).await["code"], "database_unavailable");
                shed += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        shed > 0,
        "40 concurrent reads on 2 connections with a 1 ms wait shed some"
    );
    assert!(took < std::time::Duration::from_secs(10), "answered promptly: {took:?}");
}
