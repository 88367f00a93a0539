//! `PUT /v1/orgs/{org_id}/idp-bindings`: the operator binds identity-provider
//! claim values (an Entra ID tenant id, an Okta or Keycloak group) to the
//! organisation whose people carry them. Replaces the organisation's whole
//! set; audited. Sign-ins see the change at once in this process and within
//! `auth::BINDINGS_TTL` in the others.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::extract::{path_id, Json};
use super::AppState;
use crate::auth::AuthContext;
use crate::db::idp_bindings::IdpBinding;
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult, Code};

/// Most bindings one organisation may have.
pub const MAX_BINDINGS: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBindingsBody {
    pub bindings: Vec<BindingBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingBody {
    pub claim: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct BindingJson {
    pub claim: String,
    pub value: String,
    pub created_at: String,
}

#[derive(Serialize)]
pub struct BindingsJson {
    pub org_id: String,
    pub bindings: Vec<BindingJson>,
}

/// A claim name: letters, digits and `_ - : .` (a dot reaches into an
/// object, as in `realm_access.roles`), at most 100 characters.
fn check_claim(claim: &str) -> Result<(), &'static str> {
    let ok = !claim.is_empty()
        && claim.len() <= 100
        && claim.chars().all(|c| c.is_ascii_alphanumeric() || "_-:.".contains(c))
        && !claim.starts_with('.')
        && !claim.ends_with('.')
        && !claim.contains("..");
    ok.then_some(())
        .ok_or("a claim name of 1 to 100 letters, digits, '_', '-', ':' or '.' (not at either end)")
}

/// A claim value: 1 to 512 characters, none of them a control character.
fn check_value(value: &str) -> Result<(), &'static str> {
    let ok = !value.is_empty() && value.chars().count() <= 512 && !value.chars().any(char::is_control);
    ok.then_some(())
        .ok_or("a value of 1 to 512 characters without control characters")
}

pub async fn put_bindings(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    body: Json<PutBindingsBody>,
) -> ApiResult<HttpResponse> {
    let org = path_id("org_id", &path, OrgId::parse)?;
    auth.operator()?;
    let bindings = body.value.bindings;
    if bindings.len() > MAX_BINDINGS {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "bindings",
            format!("send at most {MAX_BINDINGS} bindings"),
        ));
    }
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(bindings.len());
    for (i, b) in bindings.into_iter().enumerate() {
        check_claim(&b.claim).map_err(|e| ApiError::field(Code::INVALID_FIELD, format!("bindings[{i}].claim"), e))?;
        check_value(&b.value).map_err(|e| ApiError::field(Code::INVALID_FIELD, format!("bindings[{i}].value"), e))?;
        if pairs.iter().any(|(c, v)| *c == b.claim && *v == b.value) {
            return Err(ApiError::field(
                Code::INVALID_FIELD,
                format!("bindings[{i}]"),
                "this claim and value are listed twice",
            ));
        }
        pairs.push((b.claim, b.value));
    }
    let now = crate::db::now();
    let org_id = org.to_string();
    let actor = auth.actor();
    let rows = state
        .write(move |conn| {
            crate::db::orgs::find(conn, org).map_err(|e| match e {
                crate::db::DbError::NotFound => ApiError::new(Code::ORG_NOT_FOUND, "no such organisation"),
                other => other.into(),
            })?;
            if let Some((i, other)) = crate::db::idp_bindings::bound_elsewhere(conn, &org_id, &pairs)? {
                return Err(ApiError::field(
                    Code::CONFLICT,
                    format!("bindings[{i}]"),
                    format!(
                        "{} = {:?} is already bound to organisation {other}; a value names one organisation \
                         (remove it there first)",
                        pairs[i].0, pairs[i].1
                    ),
                ));
            }
            let before = crate::db::idp_bindings::of_org(conn, &org_id)?;
            let rows: Vec<IdpBinding> = pairs
                .iter()
                .map(|(claim, value)| {
                    let kept = before.iter().find(|b| b.claim == *claim && b.value == *value);
                    IdpBinding {
                        claim: claim.clone(),
                        value: value.clone(),
                        org_id: org_id.clone(),
                        created_at: kept.map_or(now, |b| b.created_at),
                    }
                })
                .collect();
            crate::db::idp_bindings::replace(conn, &org_id, &rows)?;
            let list = |bs: &[IdpBinding]| {
                serde_json::Value::Array(
                    bs.iter()
                        .map(|b| serde_json::json!({"claim": b.claim, "value": b.value}))
                        .collect(),
                )
            };
            crate::db::audit::record(
                conn,
                Some(org),
                &actor,
                "idp_bindings.replace",
                "org",
                &org_id,
                Some(&list(&before)),
                Some(&list(&rows)),
            )?;
            Ok(rows)
        })
        .await?;
    state.verifier.bindings_changed();
    Ok(HttpResponse::Ok().json(BindingsJson {
        org_id: org.to_string(),
        bindings: rows
            .into_iter()
            .map(|b| BindingJson {
                claim: b.claim,
                value: b.value,
                created_at: super::views::rfc3339(b.created_at),
            })
            .collect(),
    }))
}
