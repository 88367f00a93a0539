//! Authentication and authorisation: the `AuthContext` extractor (bearer JWT,
//! verified with the configured key, refused when its `jti` is revoked) and the
//! role checks handlers call. Key handling lives in `keys`.

pub mod keys;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub use keys::{Claims, JwtKeys, Role};

use crate::db::audit::Actor;
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult};
use crate::routes::AppState;

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub sub: String,
    pub org: Option<OrgId>,
    pub role: Role,
    pub jti: String,
}

impl AuthContext {
    fn org_with(&self, allowed: &[Role]) -> ApiResult<OrgId> {
        match self.org {
            Some(org) if allowed.contains(&self.role) => Ok(org),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Member, finance or admin of an organisation: may read its ledger.
    pub fn org_reader(&self) -> ApiResult<OrgId> {
        self.org_with(&[Role::Member, Role::Finance, Role::Admin])
    }

    /// Member or admin: may write to its ledger (finance only reads).
    pub fn org_writer(&self) -> ApiResult<OrgId> {
        self.org_with(&[Role::Member, Role::Admin])
    }

    /// Finance or admin: may read summaries.
    pub fn org_finance(&self) -> ApiResult<OrgId> {
        self.org_with(&[Role::Finance, Role::Admin])
    }

    /// Admin of an organisation: tokens and the audit log.
    pub fn org_admin(&self) -> ApiResult<OrgId> {
        self.org_with(&[Role::Admin])
    }

    /// The service operator.
    pub fn operator(&self) -> ApiResult<()> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Researcher or operator: cross-organisation aggregates.
    pub fn researcher(&self) -> ApiResult<()> {
        if matches!(self.role, Role::Researcher | Role::Operator) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The caller as recorded in the audit log.
    pub fn actor(&self) -> Actor {
        Actor {
            sub: self.sub.clone(),
            role: self.role.as_str(),
        }
    }
}

impl FromRequest for AuthContext {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req_for_log = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState missing"))?;
            let token = match header {
                None => return Err(ApiError::unauthorized("send Authorization: Bearer <token>")),
                Some(Err(_)) => return Err(ApiError::unauthorized("the Authorization header is not text")),
                Some(Ok(h)) => bearer(&h).ok_or_else(|| ApiError::unauthorized("use the Bearer scheme"))?,
            };
            let claims = state
                .keys
                .verify(&token)
                .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
            let org = match (&claims.org, claims.role) {
                (Some(o), Role::Member | Role::Finance | Role::Admin) => {
                    Some(OrgId::parse(o).ok_or_else(|| ApiError::unauthorized("invalid token: org is not a UUID"))?)
                }
                (None, Role::Researcher | Role::Operator) => None,
                _ => return Err(ApiError::unauthorized("invalid token: org claim does not fit the role")),
            };
            let jti = claims.jti.clone();
            let revoked = state
                .db(move |conn| Ok(crate::db::tokens::is_revoked(conn, &jti)?))
                .await?;
            if revoked {
                return Err(ApiError::unauthorized("invalid token: revoked"));
            }
            state.check_token_rate(&claims.jti)?;
            // For the request log line: who (role, organisation), never the token.
            {
                use actix_web::HttpMessage;
                req_for_log.extensions_mut().insert(crate::telemetry::Caller {
                    role: claims.role.as_str(),
                    org: org.map(|o| o.to_string()),
                });
            }
            Ok(AuthContext {
                sub: claims.sub,
                org,
                role: claims.role,
                jti: claims.jti,
            })
        })
    }
}

fn bearer(h: &str) -> Option<String> {
    let (scheme, token) = h.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
