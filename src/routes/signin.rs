//! `/v1/auth/config` and `/v1/auth/whoami`: what the dashboard needs to sign
//! in through the company's identity provider (authorization code with PKCE,
//! as a public client), and who the server takes the caller to be once the
//! provider's claims are mapped.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::extract::{NoParams, Query};
use super::AppState;
use crate::auth::oidc::SignInConfig;
use crate::auth::AuthContext;
use crate::error::ApiResult;

#[derive(Serialize)]
pub struct SignInConfigJson {
    /// `null` when the server does not verify an identity provider's tokens.
    pub oidc: Option<SignInConfig>,
}

/// The dashboard's sign-in settings: present when an issuer was discovered
/// and a client id configured. No authentication: it is what the sign-in
/// page shows before anyone has a token.
pub async fn config(_: Query<NoParams>, state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .json(SignInConfigJson {
            oidc: state.verifier.oidc.as_ref().and_then(|o| o.sign_in()),
        })
}

#[derive(Serialize)]
pub struct WhoAmIJson {
    pub sub: String,
    pub email: Option<String>,
    pub role: &'static str,
    pub org: Option<String>,
}

/// The caller as the server maps it: role and organisation after claim
/// mapping (for the identity provider's tokens, which carry groups, not a role).
pub async fn whoami(_: Query<NoParams>, auth: AuthContext) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(WhoAmIJson {
        sub: auth.sub.clone(),
        email: auth.email.clone(),
        role: auth.role.as_str(),
        org: auth.org.map(|o| o.to_string()),
    }))
}
