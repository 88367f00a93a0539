//! Spend and impact entries and their reversal. The ledger is append-only: no
//! route updates or deletes an entry; a reversal negates one and may carry a
//! replacement. Every create needs `Idempotency-Key`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::extract::{finish_page, paging, parse_json, path_id, Json, Query};
use super::idempotency::{fresh, idempotent_write, in_flight, Keyed};
use super::pilots::{field_error, pilot_not_found};
use super::views::{EntryJson, MoneyJson};
use super::AppState;
use crate::auth::{AuthContext, PendingAuth};
use crate::db::entries::EntryView;
use crate::db::entry_batch::{EntryWrite, Outcome};
use crate::db::{DbConnection, DbError};
use crate::domain::currency::Currency;
use crate::domain::entries::{check_confidence, EntryDetail, NewEntry, Period};
use crate::domain::enums::{AttributionMethod, EntryType, ImpactKind, SpendCategory};
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::domain::money::parse_amount;
use crate::domain::pilots::check_optional_text;
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    pub category: SpendCategory,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub amount: String,
    pub currency: String,
    #[serde(default)]
    pub capex: bool,
    pub note: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactBody {
    pub kind: ImpactKind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub amount: String,
    pub currency: String,
    pub attribution_method: AttributionMethod,
    pub confidence: Option<f64>,
    pub measured: bool,
    pub evidence: Option<String>,
}

/// Parses the currency then the amount in it; errors name `prefix` + field.
fn money(prefix: &str, amount: &str, currency: &str) -> ApiResult<(i64, Currency)> {
    let currency = Currency::parse(currency)
        .map_err(|e| ApiError::field(Code::UNKNOWN_CURRENCY, format!("{prefix}currency"), e.to_string()))?;
    let minor = parse_amount(amount, currency)
        .map_err(|e| ApiError::field(Code::INVALID_AMOUNT, format!("{prefix}amount"), e.to_string()))?;
    Ok((minor, currency))
}

fn prefixed(prefix: &str, e: crate::domain::pilots::FieldError) -> ApiError {
    ApiError::field(Code::INVALID_FIELD, format!("{prefix}{}", e.field), e.reason)
}

impl SpendBody {
    pub fn validate(self, prefix: &str) -> ApiResult<NewEntry> {
        let period = Period::new(self.period_start, self.period_end).map_err(|e| prefixed(prefix, e))?;
        let (amount_minor, currency) = money(prefix, &self.amount, &self.currency)?;
        let note = self
            .note
            .map(|n| check_optional_text("note", &n, 2000))
            .transpose()
            .map_err(|e| prefixed(prefix, e))?;
        Ok(NewEntry {
            period,
            amount_minor,
            currency,
            detail: EntryDetail::Spend {
                category: self.category,
                capex: self.capex,
            },
            note,
        })
    }
}

impl ImpactBody {
    pub fn validate(self, prefix: &str) -> ApiResult<NewEntry> {
        let period = Period::new(self.period_start, self.period_end).map_err(|e| prefixed(prefix, e))?;
        let (amount_minor, currency) = money(prefix, &self.amount, &self.currency)?;
        let confidence = self
            .confidence
            .map(check_confidence)
            .transpose()
            .map_err(|e| prefixed(prefix, e))?;
        let note = self
            .evidence
            .map(|n| check_optional_text("evidence", &n, 2000))
            .transpose()
            .map_err(|e| prefixed(prefix, e))?;
        Ok(NewEntry {
            period,
            amount_minor,
            currency,
            detail: EntryDetail::Impact {
                kind: self.kind,
                attribution_method: self.attribution_method,
                confidence,
                measured: self.measured,
            },
            note,
        })
    }
}

/// The stored row for a new entry.
pub fn entry_row(org: OrgId, pilot: PilotId, id: EntryId, e: &NewEntry, created_by: &str) -> EntryView {
    EntryView::new_row(org, pilot, id, e, created_by)
}

/// Appends an entry after checking that the pilot's running total of that type
/// and currency still fits in i64, so every later sum of one pilot is exact.
pub fn append(conn: &mut DbConnection, org: OrgId, pilot: PilotId, row: &EntryView) -> ApiResult<()> {
    let total = crate::db::totals::add(conn, org, pilot, &row.entry_type, &row.currency, row.amount_minor, 1)?;
    if total.is_none() {
        return Err(total_overflow(row));
    }
    crate::db::rollups::apply_entry(conn, row)?;
    crate::db::entries::insert(conn, row).map_err(|e| {
        // The unique index on `reverses` decides a race between two reversals.
        if row.reverses.is_some() && e.is_unique_violation() {
            ApiError::new(Code::ENTRY_ALREADY_REVERSED, "this entry has already been reversed")
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// 422 for an entry that would take its pilot's running total past i64.
fn total_overflow(row: &EntryView) -> ApiError {
    ApiError::field(
        Code::AMOUNT_OVERFLOW,
        "amount",
        format!(
            "this entry would take the pilot's {} total in {} past the largest exact amount",
            row.entry_type, row.currency
        ),
    )
}

fn entry_not_found(e: DbError) -> ApiError {
    match e {
        DbError::NotFound => ApiError::new(Code::ENTRY_NOT_FOUND, "no such entry"),
        other => other.into(),
    }
}

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
            let rows = crate::db::entries::list(conn, org, pilot, entry_type.as_str(), page.after, page.limit + 1)?;
            let totals = crate::db::totals::for_pilot(conn, org, pilot, entry_type.as_str())?;
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

#[derive(Serialize)]
pub struct ReversalJson {
    pub reversal: EntryJson,
    pub replacement: Option<EntryJson>,
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
    let replacement = body.value.replacement;
    let actor = auth.actor();
    idempotent_write(&state, &auth, &req, &body.raw, move |conn| {
        crate::db::pilots::find(conn, org, pilot).map_err(pilot_not_found)?;
        let original = crate::db::entries::find(conn, org, pilot, id).map_err(entry_not_found)?;
        if original.reverses.is_some() {
            return Err(ApiError::new(
                Code::CANNOT_REVERSE_REVERSAL,
                "a reversal cannot itself be reversed",
            ));
        }
        if crate::db::entries::reversal_of(conn, org, id)?.is_some() {
            return Err(ApiError::new(
                Code::ENTRY_ALREADY_REVERSED,
                "this entry has already been reversed",
            ));
        }
        // The replacement must be of the original's type; parse it only now that
        // the original is known, naming its fields `replacement.*`.
        let replacement = match replacement {
            None => None,
            Some(v) => {
                let raw = v.to_string();
                let parsed = if original.entry_type == EntryType::Spend.as_str() {
                    parse_json::<SpendBody>(raw.as_bytes()).and_then(|b| b.validate("replacement."))
                } else {
                    parse_json::<ImpactBody>(raw.as_bytes()).and_then(|b| b.validate("replacement."))
                };
                Some(parsed.map_err(|mut e| {
                    e.field = Some(match e.field.take() {
                        Some(f) if f.starts_with("replacement.") => f,
                        Some(f) => format!("replacement.{f}"),
                        None => "replacement".into(),
                    });
                    e
                })?)
            }
        };
        let negated = original
            .amount_minor
            .checked_neg()
            .ok_or_else(|| ApiError::new(Code::AMOUNT_OVERFLOW, "this amount cannot be negated exactly"))?;
        let reversal = EntryView {
            id: EntryId::new().to_string(),
            amount_minor: negated,
            reverses: Some(original.id.clone()),
            replaces: None,
            reason: Some(reason.clone()),
            created_by: actor.sub.clone(),
            created_at: crate::db::now(),
            ..original.clone()
        };
        append(conn, org, pilot, &reversal)?;
        let replacement_row = match replacement {
            None => None,
            Some(new) => {
                let mut row = entry_row(org, pilot, EntryId::new(), &new, &actor.sub);
                row.replaces = Some(original.id.clone());
                row.reason = Some(reason.clone());
                append(conn, org, pilot, &row)?;
                Some(row)
            }
        };
        let out = ReversalJson {
            reversal: EntryJson::from(reversal),
            replacement: replacement_row.map(EntryJson::from),
        };
        let json = serde_json::to_value(&out).map_err(ApiError::internal)?;
        let before = serde_json::to_value(EntryJson::from(original)).ok();
        crate::db::audit::record(
            conn,
            Some(org),
            &actor,
            "entry.reverse",
            "entry",
            &id.to_string(),
            before.as_ref(),
            Some(&json),
        )?;
        Ok((StatusCode::CREATED, json))
    })
    .await
}
