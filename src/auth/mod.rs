//! Authentication and authorisation: the `AuthContext` extractor (bearer JWT,
//! verified with the configured key, refused when its `jti` is revoked), its
//! two-step form `PendingAuth` for handlers that fold the revocation check into
//! their own database read, and the role checks handlers call. Key handling
//! lives in `keys`; tokens of the company's identity provider (OpenID
//! Connect) are verified by `oidc` and mapped to a role and organisation by
//! `mapping`.

pub mod claims;
pub mod errors;
pub mod keys;
pub mod mapping;
pub mod oidc;
pub mod secret;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

pub use keys::{Claims, JwtKeys, Role};

use crate::db::audit::Actor;
use crate::db::executor::Executor;
use crate::db::idp_bindings::IdpBinding;
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
    /// OpenID Connect verification, when configured; `keys` then only
    /// verify locally minted tokens, and only as `local_tokens` allows.
    pub oidc: Option<std::sync::Arc<oidc::Oidc>>,
    /// The identity-provider bindings, read again when older than
    /// [`BINDINGS_TTL`] (or after this process changed them).
    pub bindings: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<Vec<IdpBinding>>)>>,
}

/// How long a process trusts its copy of the identity-provider bindings; a
/// change made through another process is seen within this time.
pub const BINDINGS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Verifier {
    /// Forgets the cached bindings, so the next sign-in reads them again.
    pub fn bindings_changed(&self) {
        *self.bindings.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn current_bindings(&self) -> ApiResult<std::sync::Arc<Vec<IdpBinding>>> {
        let cached = self.bindings.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((at, bindings)) = cached {
            if at.elapsed() < BINDINGS_TTL {
                return Ok(bindings);
            }
        }
        let loaded = std::sync::Arc::new(
            self.exec
                .run(|conn| crate::db::idp_bindings::all(conn).map_err(ApiError::from))
                .await?,
        );
        *self.bindings.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), loaded.clone()));
        Ok(loaded)
    }

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
    /// The person's email, from an identity-provider token that has one.
    pub email: Option<String>,
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

    /// The caller as recorded in the audit log: the token's `sub`, with
    /// the person's email after it when the token carries one
    /// (`00u1abcd <ana@example.com>`).
    pub fn actor(&self) -> Actor {
        let sub = match &self.email {
            Some(email) => format!("{} <{email}>", self.sub),
            None => self.sub.clone(),
        };
        Actor {
            sub,
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
    email: Option<String>,
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
            email: self.email,
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

    fn verifier_of(req: &HttpRequest) -> ApiResult<web::Data<Verifier>> {
        req.app_data::<web::Data<Verifier>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the verifier is not registered"))
    }

    fn token_of(req: &HttpRequest) -> ApiResult<&str> {
        match req.headers().get(header::AUTHORIZATION).map(|v| v.to_str()) {
            None => Err(ApiError::unauthorized("send Authorization: Bearer <token>")),
            Some(Err(_)) => Err(ApiError::unauthorized("the Authorization header is not text")),
            Some(Ok(h)) => bearer(h).ok_or_else(|| ApiError::unauthorized("use the Bearer scheme")),
        }
    }

    /// Verifies a token minted with this server's own keys.
    fn verify_local(req: &HttpRequest) -> ApiResult<PendingAuth> {
        let verifier = Self::verifier_of(req)?;
        let token = Self::token_of(req)?;
        let claims = verifier
            .keys
            .verify(token)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        Self::pending(req, verifier, claims, None)
    }

    /// With OIDC on: a token of the identity provider, mapped to a role and
    /// organisation; or, as `PILOTLEDGER_OIDC_LOCAL_TOKENS` allows, one
    /// minted here (HS256, told apart by its header before any check).
    async fn verify_oidc(req: HttpRequest, oidc: std::sync::Arc<oidc::Oidc>) -> ApiResult<PendingAuth> {
        use crate::config::LocalTokens;
        let verifier = Self::verifier_of(&req)?;
        let token = Self::token_of(&req)?;
        if oidc::header_alg(token).as_deref() == Some("HS256") {
            return match oidc.local_tokens {
                LocalTokens::Off => Err(ApiError::unauthorized(
                    "invalid token: HS256 tokens are not accepted while sign-in through the identity provider is on",
                )),
                LocalTokens::Operator => {
                    let pending = Self::verify_local(&req)?;
                    if pending.claims.role != Role::Operator {
                        return Err(ApiError::unauthorized(
                            "invalid token: only operator tokens minted here are accepted while sign-in through \
                             the identity provider is on",
                        ));
                    }
                    Ok(pending)
                }
                LocalTokens::All => Self::verify_local(&req),
            };
        }
        let id = oidc
            .verify(token)
            .await
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))?;
        let bindings = verifier.current_bindings().await?;
        let (role, org) = oidc
            .mapping
            .map(&id.claims, &bindings)
            .map_err(|e| ApiError::new(Code::FORBIDDEN, e.to_string()))?;
        let claims = Claims {
            sub: id.sub,
            org: org.map(|o| o.to_string()),
            role,
            exp: id.exp,
            iat: id.iat,
            jti: id.jti,
            iss: oidc.issuer.clone(),
            aud: oidc.audience.clone(),
            nbf: id.nbf,
        };
        Self::pending(&req, verifier, claims, id.email)
    }

    fn pending(
        req: &HttpRequest,
        verifier: web::Data<Verifier>,
        claims: Claims,
        email: Option<String>,
    ) -> ApiResult<PendingAuth> {
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
            email,
            org,
            verifier,
            req: req.clone(),
        })
    }

    /// Verifies the request's token: synchronously for local keys, with a
    /// possible short wait for the provider's keys with OIDC on.
    fn verify(req: &HttpRequest) -> LocalBoxFuture<'static, ApiResult<PendingAuth>> {
        let oidc = req.app_data::<web::Data<Verifier>>().and_then(|v| v.oidc.clone());
        match oidc {
            None => Box::pin(std::future::ready(Self::verify_local(req))),
            Some(oidc) => Box::pin(Self::verify_oidc(req.clone(), oidc)),
        }
    }
}

impl FromRequest for PendingAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        PendingAuth::verify(req)
    }
}

impl FromRequest for AuthContext {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pending = PendingAuth::verify(req);
        Box::pin(async move {
            let pending = pending.await?;
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
