//! Tenant isolation as a matrix over every registered route: another
//! organisation's admin gets 404 on our objects and never sees our data; roles
//! that may not call a route get 403; nothing of ours changes. A route missing
//! from the matrix fails the test.

use pilotledger::auth::Role;
use pilotledger::routes::ROUTES;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    Public,
    /// Any valid token.
    Authenticated,
    /// Researcher or operator.
    Research,
    Operator,
    /// Operator, or an admin for their own organisation.
    OperatorOrOwnAdmin,
    /// Operator, or any role of the organisation for its own record.
    OperatorOrOwnOrg,
    OrgAdmin,
    OrgRead,
    OrgWrite,
    /// Finance or admin of the organisation.
    OrgFinance,
}

fn access(path: &str, method: &str) -> Option<Access> {
    use Access::*;
    Some(match (path, method) {
        ("/" | "/assets/{file}" | "/healthz" | "/readyz" | "/openapi.json", "GET") => Public,
        ("/v1/orgs", "POST") | ("/metrics", "GET") => Operator,
        ("/v1/orgs", "GET") | ("/v1/orgs/{org_id}", "PATCH") => OperatorOrOwnAdmin,
        ("/v1/orgs/{org_id}", "GET") => OperatorOrOwnOrg,
        ("/v1/tokens", "GET" | "POST") | ("/v1/tokens/{token_id}", "DELETE") | ("/v1/audit", "GET") => OrgAdmin,
        ("/v1/pilots", "GET")
        | ("/v1/pilots/{pilot_id}", "GET")
        | ("/v1/pilots/{pilot_id}/spend", "GET")
        | ("/v1/pilots/{pilot_id}/impact", "GET")
        | ("/v1/pilots/{pilot_id}/entries/{entry_id}", "GET")
        | ("/v1/pilots/{pilot_id}/roi" | "/v1/pilots/{pilot_id}/roi.csv", "GET") => OrgRead,
        ("/v1/summary" | "/v1/summary.csv", "GET") => OrgFinance,
        ("/v1/budgets", "GET") => OrgRead,
        ("/v1/budgets", "POST")
        | ("/v1/budgets/{budget_id}", "DELETE")
        | ("/v1/alert-rules", "GET" | "POST")
        | ("/v1/alert-rules/{rule_id}", "DELETE")
        | ("/v1/alerts", "GET") => OrgFinance,
        ("/v1/audit.csv" | "/v1/webhooks" | "/v1/webhooks/{webhook_id}", "GET")
        | ("/v1/webhooks/{webhook_id}/deliveries", "GET")
        | ("/v1/webhooks", "POST")
        | ("/v1/webhooks/{webhook_id}/pause" | "/v1/webhooks/{webhook_id}/resume", "POST")
        | ("/v1/webhooks/{webhook_id}/rotate-secret", "POST") => OrgAdmin,
        ("/v1/spend-sources" | "/v1/spend-sources/settings", "GET") => OrgRead,
        ("/v1/spend-sources/focus" | "/v1/spend-sources/openai" | "/v1/spend-sources/anthropic", "POST") => OrgWrite,
        ("/v1/spend-sources/settings", "PUT")
        | ("/v1/allocation-rules", "GET" | "POST")
        | ("/v1/allocation-rules/{allocation_rule_id}", "DELETE") => OrgAdmin,
        ("/v1/pilots", "POST")
        | ("/v1/pilots/{pilot_id}", "PATCH")
        | ("/v1/pilots/{pilot_id}/spend", "POST")
        | ("/v1/pilots/{pilot_id}/impact", "POST")
        | ("/v1/pilots/{pilot_id}/entries/{entry_id}/reverse", "POST")
        | ("/v1/import", "POST") => OrgWrite,
        ("/v1/fx-rates", "PUT") | ("/v1/orgs/{org_id}/idp-bindings", "PUT") => Operator,
        ("/v1/auth/config", "GET") => Public,
        ("/v1/projections/gap" | "/v1/projections/gap.csv", "POST") | ("/v1/auth/whoami", "GET") => Authenticated,
        (
            "/v1/aggregates/zero-impact-rate"
            | "/v1/aggregates/zero-impact-rate.csv"
            | "/v1/aggregates/export"
            | "/v1/aggregates/export.json"
            | "/v1/aggregates/export.parquet"
            | "/v1/aggregates/definitions",
            "GET",
        ) => Research,
        _ => return None,
    })
}

/// Organisation A's objects.
struct Victim {
    org: String,
    pilot: String,
    entry: String,
    token: String,
    budget: String,
    rule: String,
    webhook: String,
    allocation_rule: String,
}

fn body_for(path: &str, method: &str, v: &Victim) -> Option<Value> {
    if path == "/v1/import" {
        let mut row = spend_body("1.00", "USD");
        row["type"] = json!("spend");
        row["pilot_id"] = json!(v.pilot);
        return Some(Value::String(row.to_string()));
    }
    if path == "/v1/spend-sources/focus" {
        return Some(Value::String(
            "BilledCost,EffectiveCost,BillingAccountId,BillingCurrency,BillingPeriodStart,ChargeCategory,\
             ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceCategory,ServiceName\n\
             1,1,A,USD,2024-09-01,Usage,2024-09-01,2024-09-02,AWS,Compute,EC2\n"
                .into(),
        ));
    }
    Some(match (path, method) {
        ("/v1/orgs", "POST") => org_body("Probe"),
        ("/v1/spend-sources/openai", "POST") => json!({"data": [{"start_time": 1730419200, "results": [
            {"amount": {"value": 1, "currency": "usd"}, "project_id": "p"}]}]}),
        ("/v1/spend-sources/anthropic", "POST") => json!({"data": [{"starting_at": "2025-08-01T00:00:00Z",
            "results": [{"amount": "100", "currency": "USD", "workspace_id": null}]}]}),
        ("/v1/spend-sources/settings", "PUT") => json!({"cost_column": "BilledCost"}),
        ("/v1/allocation-rules", "POST") => json!({"match": {"provider": "AWS"}, "pilot_id": v.pilot}),
        ("/v1/tokens", "POST") => json!({"role": "member", "label": "probe"}),
        ("/v1/pilots", "POST") => pilot_body("probe"),
        ("/v1/pilots/{pilot_id}", "PATCH") => json!({"name": "hijacked"}),
        ("/v1/orgs/{org_id}", "PATCH") => json!({"fx_rate_required": true}),
        ("/v1/pilots/{pilot_id}/spend", "POST") => spend_body("1.00", "USD"),
        ("/v1/pilots/{pilot_id}/impact", "POST") => impact_body("1.00", "USD"),
        ("/v1/pilots/{pilot_id}/entries/{entry_id}/reverse", "POST") => json!({"reason": "probe"}),
        ("/v1/budgets", "POST") => json!({"amount": "1.00", "currency": "EUR", "period": "month"}),
        ("/v1/alert-rules", "POST") => json!({"kind": "budget_threshold", "threshold_pct": 1000}),
        ("/v1/webhooks", "POST") => json!({"url": "http://93.184.216.34/probe"}),
        ("/v1/webhooks/{webhook_id}/pause" | "/v1/webhooks/{webhook_id}/resume", "POST") => json!({}),
        ("/v1/webhooks/{webhook_id}/rotate-secret", "POST") => json!({}),
        ("/v1/fx-rates", "PUT") => {
            json!({"rates": [{"currency": "EUR", "date": "2026-01-31", "rate_to_usd": "1.1"}]})
        }
        ("/v1/orgs/{org_id}/idp-bindings", "PUT") => json!({"bindings": [{"claim": "tid", "value": "probe"}]}),
        _ => return None,
    })
}

fn fill(path: &str, v: &Victim) -> String {
    path.replace("{org_id}", &v.org)
        .replace("{pilot_id}", &v.pilot)
        .replace("{entry_id}", &v.entry)
        .replace("{token_id}", &v.token)
        .replace("{budget_id}", &v.budget)
        .replace("{rule_id}", &v.rule)
        .replace("{webhook_id}", &v.webhook)
        .replace("{allocation_rule_id}", &v.allocation_rule)
}

async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Option<&Value>) -> reqwest::Response {
    let mut req = app
        .client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{}", app.base, path),
        )
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .header("If-Match", "*");
    match body {
        // The import takes NDJSON: one row per line.
        Some(Value::String(ndjson)) => {
            req = req.header("content-type", "application/x-ndjson").body(ndjson.clone());
        }
        Some(b) => req = req.json(b),
        None => {}
    }
    req.send().await.unwrap()
}

async fn id_of(res: reqwest::Response) -> String {
    let body = json_of(res).await;
    body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {body}"))
        .to_owned()
}

async fn snapshot(app: &TestApp, a: &Tenant, v: &Victim) -> Value {
    json!({
        "pilot": json_of(app.get(&format!("/v1/pilots/{}", v.pilot), &a.admin).await).await,
        "spend": json_of(app.get(&format!("/v1/pilots/{}/spend", v.pilot), &a.admin).await).await,
        "impact": json_of(app.get(&format!("/v1/pilots/{}/impact", v.pilot), &a.admin).await).await,
        "tokens": json_of(app.get("/v1/tokens", &a.admin).await).await,
        "pilots": json_of(app.get("/v1/pilots", &a.admin).await).await,
        "org": json_of(app.get(&format!("/v1/orgs/{}", v.org), &a.admin).await).await,
        "budgets": json_of(app.get("/v1/budgets", &a.admin).await).await,
        "rules": json_of(app.get("/v1/alert-rules", &a.admin).await).await,
        "webhooks": json_of(app.get("/v1/webhooks", &a.admin).await).await,
        "allocation_rules": json_of(app.get("/v1/allocation-rules", &a.admin).await).await,
        "spend_sources": json_of(app.get("/v1/spend-sources", &a.admin).await).await,
        "settings": json_of(app.get("/v1/spend-sources/settings", &a.admin).await).await,
    })
}

#[actix_web::test]
async fn tenant_isolation_matrix_covers_every_route() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Victim AG").await;
    let b = app.tenant("Intruder Ltd").await;
    let pilot = app.create_pilot(&a.member, "secret pilot").await;
    let entry = json_of(
        app.post_idem(
            &format!("/v1/pilots/{pilot}/spend"),
            &a.member,
            &spend_body("9.99", "USD"),
        )
        .await,
    )
    .await;
    let token = json_of(
        app.post("/v1/tokens", &a.admin, &json!({"role": "member", "label": "victim-ci"}))
            .await,
    )
    .await;
    let pilot_id = pilot.clone();
    let v = Victim {
        budget: id_of(
            app.post(
                "/v1/budgets",
                &a.finance,
                &json!({"pilot_id": &pilot, "amount": "5.00", "currency": "EUR", "period": "year"}),
            )
            .await,
        )
        .await,
        org: a.org.clone(),
        pilot,
        entry: entry["id"].as_str().unwrap().to_owned(),
        token: token["id"].as_str().unwrap().to_owned(),
        rule: id_of(
            app.post(
                "/v1/alert-rules",
                &a.finance,
                &json!({"kind": "budget_threshold", "threshold_pct": 1000}),
            )
            .await,
        )
        .await,
        webhook: id_of(
            app.post("/v1/webhooks", &a.admin, &json!({"url": "http://93.184.216.34/victim"}))
                .await,
        )
        .await,
        allocation_rule: json_of(
            app.post(
                "/v1/allocation-rules",
                &a.admin,
                &json!({"match": {"provider": "AWS"}, "pilot_id": pilot_id}),
            )
            .await,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let researcher = mint(&app.keys, None, Role::Researcher);
    let before = snapshot(&app, &a, &v).await;
    let secrets = [
        v.org.as_str(),
        v.pilot.as_str(),
        v.entry.as_str(),
        v.token.as_str(),
        "secret pilot",
        "Victim AG",
        v.budget.as_str(),
        v.rule.as_str(),
        v.webhook.as_str(),
        v.allocation_rule.as_str(),
    ];

    for route in ROUTES {
        for method in route.methods {
            let kind = access(route.path, method)
                .unwrap_or_else(|| panic!("{method} {} is not in the tenant-isolation matrix", route.path));
            let path = fill(route.path, &v);
            let body = body_for(route.path, method, &v);
            let org_scoped = matches!(
                kind,
                Access::OrgAdmin | Access::OrgRead | Access::OrgWrite | Access::OrgFinance
            );
            let has_id = route.path.contains('{');

            // B's admin on A's objects: 404; on id-less org routes: only B's data.
            if org_scoped || matches!(kind, Access::OperatorOrOwnAdmin | Access::OperatorOrOwnOrg) {
                let res = call(&app, method, &path, &b.admin, body.as_ref()).await;
                let status = res.status().as_u16();
                let text = res.text().await.unwrap();
                if route.path == "/v1/allocation-rules" && *method == "POST" {
                    // A rule naming A's pilot is refused as unknown.
                    assert_eq!(status, 422, "B admin rule on A's pilot: {text}");
                    assert!(text.contains("no such pilot"), "{text}");
                } else if route.path == "/v1/import" {
                    // An import row naming A's pilot by id is refused as unknown.
                    assert_eq!(status, 422, "B admin import into A's pilot: {text}");
                    assert!(text.contains("no such pilot"), "{text}");
                } else if has_id {
                    assert_eq!(status, 404, "B admin {method} {}: {text}", route.path);
                } else {
                    assert!(
                        status < 300,
                        "B admin {method} {} answered {status}: {text}",
                        route.path
                    );
                }
                for s in secrets {
                    assert!(!text.contains(s), "B admin {method} {} saw {s}", route.path);
                }
            }
            // Roles that may not call the route: 403.
            let forbidden: Vec<(&str, &str)> = match kind {
                Access::Public | Access::Authenticated => vec![],
                Access::Research => vec![("admin", &a.admin), ("member", &a.member), ("finance", &a.finance)],
                Access::Operator => vec![
                    ("admin", &a.admin),
                    ("member", &a.member),
                    ("finance", &a.finance),
                    ("researcher", &researcher),
                ],
                Access::OperatorOrOwnOrg => vec![("researcher", &researcher)],
                Access::OperatorOrOwnAdmin => vec![
                    ("member", &a.member),
                    ("finance", &a.finance),
                    ("researcher", &researcher),
                ],
                Access::OrgAdmin => vec![
                    ("member", &a.member),
                    ("finance", &a.finance),
                    ("researcher", &researcher),
                    ("operator", &app.operator),
                ],
                Access::OrgWrite => vec![
                    ("finance", &a.finance),
                    ("researcher", &researcher),
                    ("operator", &app.operator),
                ],
                Access::OrgRead => vec![("researcher", &researcher), ("operator", &app.operator)],
                Access::OrgFinance => vec![
                    ("member", &a.member),
                    ("researcher", &researcher),
                    ("operator", &app.operator),
                ],
            };
            for (who, token) in forbidden {
                let res = call(&app, method, &path, token, body.as_ref()).await;
                assert_eq!(res.status(), 403, "{who} {method} {}", route.path);
                let problem = json_of(res).await;
                assert_eq!(problem["code"], "forbidden");
                // The detail names the caller's role and what the route needs.
                let detail = problem["detail"].as_str().unwrap();
                let article = if who.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                assert!(
                    detail.starts_with(&format!("{article} {who} token may not call this route; it needs ")),
                    "{who} {method} {}: {detail}",
                    route.path
                );
                let needs = detail.split("it needs ").nth(1).unwrap();
                assert!(!needs.contains(who), "{who} {method} {}: {detail}", route.path);
            }
        }
    }
    assert_eq!(snapshot(&app, &a, &v).await, before, "A's data changed");
}

/// Every route that is not public refuses a missing, garbage or expired token
/// with 401 and WWW-Authenticate; a route missing from the matrix fails.
#[actix_web::test]
async fn auth_matrix_covers_every_route() {
    let app = TestApp::spawn().await;
    let t = app.tenant("Auth Matrix").await;
    let expired = {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": "u", "org": t.org, "role": "admin", "iat": now - 7200, "exp": now - 3600,
                            "jti": uuid::Uuid::new_v4().to_string(), "iss": "pilotledger", "aud": "pilotledger"});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    let mut checked = 0;
    for route in ROUTES {
        for method in route.methods {
            let kind = access(route.path, method)
                .unwrap_or_else(|| panic!("{method} {} is not in the auth matrix", route.path));
            if kind == Access::Public {
                continue;
            }
            let path = crate::routes_table::concrete(route.path);
            for (case, token) in [
                ("no token", None),
                ("garbage", Some("not.a.jwt")),
                ("expired", Some(expired.as_str())),
            ] {
                let res = app
                    .request(Method::from_bytes(method.as_bytes()).unwrap(), &path, token, None)
                    .await;
                assert_eq!(res.status(), 401, "{case}: {method} {}", route.path);
                assert!(
                    res.headers().contains_key("www-authenticate"),
                    "{case}: {method} {}",
                    route.path
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3 * 20, "{checked}");
}
