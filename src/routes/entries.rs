//! Spend and impact entries and their reversal. The ledger is append-only: no
//! route updates or deletes an entry; a reversal negates one and may carry a
//! replacement. Every create needs `Idempotency-Key`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::common::{field_error, pilot_not_found};
use super::extract::{finish_page, paging, parse_json, path_id, Json, Query};
use super::idempotency::{fresh, idempotent_write, in_flight, Keyed};
use super::views::{EntryJson, MoneyJson, ReversalJson};
use super::AppState;
use crate::auth::{AuthContext, PendingAuth};
use crate::db::entry_batch::{EntryWrite, Outcome};
use crate::db::DbError;
use crate::domain::entries::NewEntry;
use crate::domain::enums::EntryType;
use crate::domain::ids::{EntryId, PilotId};
use crate::error::{ApiError, ApiResult};
use crate::ledger::entries::{
    entry_not_found, entry_row, fx_rate_missing, reverse, total_overflow, ImpactBody, SpendBody,
};

/// Creates one entry through the batching writer (`db::entry_batch`): the
/// rows and the response are prepared here, the writer decides whether the
/// key replays, the pilot exists and the running total stays exact.
async fn create_entry(
    state: web::Data<AppState>,
    pending: PendingAuth,
    req: HttpRequest,
    path: web::Path<String>,
    raw: web::Bytes,
    entry: ApiResult<NewEntry>,
) -> ApiResult<HttpResponse> {
    // The token's revocation is checked by the batch, in the write's transaction.
    let auth = pending.confirm_in_write()?;
    let org = auth.org_writer()?;
    let pilot = path_id("pilot_id", &path, PilotId::parse)?;
    let entry = entry?;
    let actor = auth.actor();
    let keyed = Keyed::enter(&state, &auth, &req, &raw)?;
    let row = entry_row(org, pilot, EntryId::new(), &entry, &actor.sub);
    let json = serde_json::to_value(EntryJson::from(row.clone())).map_err(ApiError::internal)?;
    let action = format!("{}.create", row.entry_type);
    let audit = crate::db::audit::event(Some(org), &actor, &action, "entry", &row.id, None, Some(&json));
    let body = json.to_string();
    let write = EntryWrite {
        idempotency: keyed.record(StatusCode::CREATED, body.clone(), row.created_at),
        audit,
        entry: row.clone(),
    };
    match state.append_entry(write).await? {
        Outcome::Written => Ok(fresh(StatusCode::CREATED, body)),
        Outcome::Replay(rec) => keyed.replay(&rec),
        Outcome::PilotNotFound => Err(pilot_not_found(DbError::NotFound)),
        Outcome::TotalOverflow => Err(total_overflow(&row)),
        Outcome::FxRateMissing => Err(fx_rate_missing("", &row)),
        Outcome::KeyInFlight => Err(in_flight()),
        Outcome::KeyCommitted => keyed.replay_committed(&state).await,
        Outcome::TokenRevoked => Err(ApiError::unauthorized("invalid token: revoked")),
    }
}

pub async fn create_spend(
    state: web::Data<AppState>,
    pending: PendingAuth,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<SpendBody>,
) -> ApiResult<HttpResponse> {
    let entry = body.value.validate("");
    create_entry(state, pending, req, path, body.raw, entry).await
}

pub async fn create_impact(
    state: web::Data<AppState>,
    pending: PendingAuth,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<ImpactBody>,
) -> ApiResult<HttpResponse> {
    let entry = body.value.validate("");
    create_entry(state, pending, req, path, body.raw, entry).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListEntriesQuery {
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// A page of entries plus the pilot's net totals per currency over all of them.
#[derive(Serialize)]
pub struct EntryPage {
    pub items: Vec<EntryJson>,
    pub next_cursor: Option<String>,
    pub totals: Vec<MoneyJson>,
}

async fn list_entries(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    q: ListEntriesQuery,
    entry_type: EntryType,
) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let pilot = path_id("pilot_id", &path, PilotId::parse)?;
    let page = paging(q.cursor.as_deref(), q.limit, EntryId::parse)?;
    let (rows, totals) = state
        .read(move |conn| {
            crate::db::pilots::find(conn, org, pilot).map_err(pilot_not_found)?;
            let rows = crate::db::entries::list(conn, org, pilot, entry_type, page.after, page.limit + 1)?;
            let totals = crate::db::totals::for_pilot(conn, org, pilot, entry_type)?;
            Ok((rows, totals))
        })
        .await?;
    let totals = totals
        .into_iter()
        .map(|t| MoneyJson::stored(t.total_minor, &t.currency))
        .collect();
    let (rows, next) = finish_page(rows, page.limit, |r| r.id.as_str());
    Ok(HttpResponse::Ok().json(EntryPage {
        items: rows.into_iter().map(EntryJson::from).collect(),
        next_cursor: next,
        totals,
    }))
}

pub async fn list_spend(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    q: Query<ListEntriesQuery>,
) -> ApiResult<HttpResponse> {
    list_entries(state, auth, path, q.0, EntryType::Spend).await
}

pub async fn list_impact(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<String>,
    q: Query<ListEntriesQuery>,
) -> ApiResult<HttpResponse> {
    list_entries(state, auth, path, q.0, EntryType::Impact).await
}

pub async fn get_entry(
    state: web::Data<AppState>,
    auth: AuthContext,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_reader()?;
    let pilot = path_id("pilot_id", &path.0, PilotId::parse)?;
    let id = path_id("entry_id", &path.1, EntryId::parse)?;
    let row = state
        .db(move |conn| {
            crate::db::pilots::find(conn, org, pilot).map_err(pilot_not_found)?;
            crate::db::entries::find(conn, org, pilot, id).map_err(entry_not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(EntryJson::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    pub reason: String,
    pub replacement: Option<serde_json::Value>,
}

pub async fn reverse_entry(
    state: web::Data<AppState>,
    auth: AuthContext,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Json<ReverseBody>,
) -> ApiResult<HttpResponse> {
    let org = auth.org_writer()?;
    let pilot = path_id("pilot_id", &path.0, PilotId::parse)?;
    let id = path_id("entry_id", &path.1, EntryId::parse)?;
    let reason = crate::domain::pilots::check_text("reason", &body.value.reason, 500).map_err(field_error)?;
    let replacement = body
        .value
        .replacement
        .map(|v| move |entry_type| parse_replacement(&v, entry_type));
    let actor = auth.actor();
    idempotent_write(&state, &auth, &req, &body.raw, move |conn| {
        let reversal = reverse(conn, org, pilot, id, &reason, replacement, &actor)?;
        let json = serde_json::to_value(ReversalJson {
            reversal: EntryJson::from(reversal.reversal),
            replacement: reversal.replacement.map(EntryJson::from),
        })
        .map_err(ApiError::internal)?;
        Ok((StatusCode::CREATED, json))
    })
    .await
}

/// Parses a replacement as an entry of the original's type, naming its
/// fields `replacement.*`.
fn parse_replacement(v: &serde_json::Value, entry_type: EntryType) -> ApiResult<NewEntry> {
    let raw = v.to_string();
    let parsed = match entry_type {
        EntryType::Spend => parse_json::<SpendBody>(raw.as_bytes()).and_then(|b| b.validate("replacement.")),
        EntryType::Impact => parse_json::<ImpactBody>(raw.as_bytes()).and_then(|b| b.validate("replacement.")),
    };
    parsed.map_err(|mut e| {
        e.field = Some(match e.field.take() {
            Some(f) if f.starts_with("replacement.") => f,
            Some(f) => format!("replacement.{f}"),
            None => "replacement".into(),
        });
        e
    })
}
