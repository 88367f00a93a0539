//! Authentication and authorisation: the `AuthContext` extractor (bearer JWT,
//! verified with the configured key, refused when its `jti` is revoked), its
//! two-step form `PendingAuth` for handlers that fold the revocation check into
//! their own database read, and the role checks handlers call. Key handling
//! lives in `keys`.

pub mod claims;
pub mod errors;
pub mod keys;
pub mod secret;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub use keys::{Claims, JwtKeys, Role};

use crate::db::audit::Actor;
use crate::db::executor::Executor;
use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult, Code};

/// What verifying a request's token needs: the keys, the per-token request
/// budget and the database (for the revocation list). Registered as its own
/// application data, so this module needs nothing from the layers above.
pub struct Verifier {
    pub keys: std::sync::Arc<JwtKeys>,
    /// Per-token budget for every authenticated request.
    pub token_limiter: governor::DefaultKeyedRateLimiter<String>,
    pub exec: Executor,
}

impl Verifier {
    /// Spends one unit of the token's request budget; 429 when empty.
    pub fn check_token_rate(&self, token: &str) -> ApiResult<()> {
        spend_budget(&self.token_limiter, token, "request budget for this token")
    }
}

/// Spends one unit of `key`'s budget in `limiter`; 429 with `Retry-After`
/// when it is empty.
pub fn spend_budget(limiter: &governor::DefaultKeyedRateLimiter<String>, key: &str, what: &str) -> ApiResult<()> {
    match limiter.check_key(&key.to_owned()) {
        Ok(()) => Ok(()),
        Err(not_until) => {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            let secs = wait.as_secs() + 1;
            Err(
                ApiError::new(Code::RATE_LIMITED, format!("{what} spent; retry in {secs} s"))
                    .with_header(header::RETRY_AFTER, secs.to_string()),
            )
        }
    }
}

/// Who made a request, as the request log line records it (set here, once
/// the token is confirmed; read by the logging middleware).
#[derive(Clone, Debug)]
pub struct Caller {
    pub role: &'static str,
    pub org: Option<String>,
}

/// "a member, finance or admin token".
fn or_list(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let list = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => return "no token".to_owned(),
    };
    let article = if list.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {list} token")
}

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
            _ => Err(self.forbidden(&format!("{} of an organisation", or_list(allowed)))),
        }
    }

    /// 403 for this caller, naming what the route needs.
    pub fn forbidden(&self, allowed: &str) -> ApiError {
        ApiError::forbidden(self.role.as_str(), allowed)
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
            Err(self.forbidden("an operator token"))
        }
    }

    /// Researcher or operator: cross-organisation aggregates.
    pub fn researcher(&self) -> ApiResult<()> {
        if matches!(self.role, Role::Researcher | Role::Operator) {
            Ok(())
        } else {
            Err(self.forbidden("a researcher or operator token"))
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

/// A bearer token whose signature and claims are verified, but whose `jti`
/// has not yet been checked against the revocation list. The only way to an
/// [`AuthContext`] is [`PendingAuth::confirm`] with that check's answer; a
/// handler takes this instead of `AuthContext` when it reads the database
/// anyway and wants the revocation check in the same round trip.
pub struct PendingAuth {
    claims: Claims,
    org: Option<OrgId>,
    verifier: web::Data<Verifier>,
    req: HttpRequest,
}

impl PendingAuth {
    /// The token's id, to look up in the revocation list.
    pub fn jti(&self) -> &str {
        &self.claims.jti
    }

    /// The token's organisation when its role is one of `allowed` (what the
    /// caller may be shown once the token is confirmed).
    pub fn org_if(&self, allowed: &[Role]) -> Option<OrgId> {
        self.org.filter(|_| allowed.contains(&self.claims.role))
    }

    /// Completes authentication with whether the `jti` is revoked: refuses a
    /// revoked token (401), spends one unit of the token's request budget
    /// (429 when empty) and records the caller for the request log.
    pub fn confirm(self, revoked: bool) -> ApiResult<AuthContext> {
        if revoked {
            return Err(ApiError::unauthorized("invalid token: revoked"));
        }
        self.verifier.check_token_rate(&self.claims.jti)?;
        // For the request log line: who (role, organisation), never the token.
        {
            use actix_web::HttpMessage;
            self.req.extensions_mut().insert(Caller {
                role: self.claims.role.as_str(),
                org: self.org.map(|o| o.to_string()),
            });
        }
        Ok(AuthContext {
            sub: self.claims.sub,
            org: self.org,
            role: self.claims.role,
            jti: self.claims.jti,
        })
    }

    /// Completes authentication for a write that checks the revocation list
    /// itself, in the transaction that writes (`db::entry_batch` does, and
    /// answers `TokenRevoked` before anything is written): spends the request
    /// budget and records the caller as [`PendingAuth::confirm`] does. Saves
    /// the entry routes a database round trip per request.
    pub fn confirm_in_write(self) -> ApiResult<AuthContext> {
        self.confirm(false)
    }

    fn verify(req: &HttpRequest) -> ApiResult<PendingAuth> {
        let verifier = req
            .app_data::<web::Data<Verifier>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the verifier is not registered"))?;
        let token = match req.headers().get(header::AUTHORIZATION).map(|v| v.to_str()) {
            None => return Err(ApiError::unauthorized("send Authorization: Bearer <token>")),
            Some(Err(_)) => return Err(ApiError::unauthorized("the Authorization header is not text")),
            Some(Ok(h)) => bearer(h).ok_or_else(|| ApiError::unauthorized("use the Bearer scheme"))?,
        };
        let claims = verifier
            .keys
            .verify(token)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        let org = match (&claims.org, claims.role) {
            (Some(o), Role::Member | Role::Finance | Role::Admin) => {
                Some(OrgId::parse(o).ok_or_else(|| ApiError::unauthorized("invalid token: org is not a UUID"))?)
            }
            (None, Role::Researcher | Role::Operator) => None,
            _ => return Err(ApiError::unauthorized("invalid token: org claim does not fit the role")),
        };
        // The request's database work counts against this organisation's
        // share of the pool from here on (`db::org_share`).
        crate::db::org_share::claim(org);
        Ok(PendingAuth {
            claims,
            org,
            verifier,
            req: req.clone(),
        })
    }
}

impl FromRequest for PendingAuth {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(PendingAuth::verify(req))
    }
}

impl FromRequest for AuthContext {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pending = PendingAuth::verify(req);
        Box::pin(async move {
            let pending = pending?;
            let jti = pending.jti().to_owned();
            let verifier = pending.verifier.clone();
            let revoked = verifier
                .exec
                .run(move |conn| crate::db::tokens::is_revoked(conn, &jti).map_err(ApiError::from))
                .await?;
            pending.confirm(revoked)
        })
    }
}

fn bearer(h: &str) -> Option<&str> {
    let (scheme, token) = h.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
