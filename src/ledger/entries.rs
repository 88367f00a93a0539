//! Appending to the ledger and reversing. Every entry is written through the
//! ledger invariant in `db::append` — one at a time by [`append`], many at
//! once by the batch writer (`db::entry_batch`) and by imports — so the
//! pilot's running total of that type and currency stays exact, its rollup
//! is updated and the entry is inserted, the same way on every path. Entries
//! are never updated or deleted; a reversal negates one and may carry a
//! replacement.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::pilot_not_found;
use super::views::{EntryJson, ReversalJson};
use crate::db::append::{Appended, Rates};
use crate::db::audit::Actor;
use crate::db::entries::EntryView;
use crate::db::{DbConnection, DbError};
use crate::domain::currency::Currency;
use crate::domain::entries::{check_confidence, EntryKind, NewEntry, Period};
use crate::domain::enums::{AttributionMethod, EntryType, ImpactKind, SpendCategory};
use crate::domain::ids::{EntryId, OrgId, PilotId};
use crate::domain::money::{parse_amount, Money};
use crate::domain::pilots::check_optional_text;
use crate::error::{ApiError, ApiResult, Code};

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendBody {
    pub category: SpendCategory,
    #[serde(deserialize_with = "crate::domain::dates::strict")]
    pub period_start: NaiveDate,
    #[serde(deserialize_with = "crate::domain::dates::strict")]
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
    #[serde(deserialize_with = "crate::domain::dates::strict")]
    pub period_start: NaiveDate,
    #[serde(deserialize_with = "crate::domain::dates::strict")]
    pub period_end: NaiveDate,
    pub amount: String,
    pub currency: String,
    pub attribution_method: AttributionMethod,
    pub confidence: Option<f64>,
    pub measured: bool,
    pub evidence: Option<String>,
}

/// Parses the currency then the amount in it; errors name `prefix` + field.
fn money(prefix: &str, amount: &str, currency: &str) -> ApiResult<Money> {
    let currency = Currency::parse(currency)
        .map_err(|e| ApiError::field(Code::UNKNOWN_CURRENCY, format!("{prefix}currency"), e.to_string()))?;
    let minor = parse_amount(amount, currency)
        .map_err(|e| ApiError::field(Code::INVALID_AMOUNT, format!("{prefix}amount"), e.to_string()))?;
    Ok(Money { minor, currency })
}

fn prefixed(prefix: &str, e: crate::domain::pilots::FieldError) -> ApiError {
    ApiError::field(Code::INVALID_FIELD, format!("{prefix}{}", e.field), e.reason)
}

impl SpendBody {
    pub fn validate(self, prefix: &str) -> ApiResult<NewEntry> {
        let period = Period::new(self.period_start, self.period_end).map_err(|e| prefixed(prefix, e))?;
        let amount = money(prefix, &self.amount, &self.currency)?;
        let note = self
            .note
            .map(|n| check_optional_text("note", &n, 2000))
            .transpose()
            .map_err(|e| prefixed(prefix, e))?;
        Ok(NewEntry {
            period,
            amount,
            kind: EntryKind::Spend {
                category: self.category,
                capex: self.capex,
            },
            confidence: None,
            note,
        })
    }
}

impl ImpactBody {
    pub fn validate(self, prefix: &str) -> ApiResult<NewEntry> {
        let period = Period::new(self.period_start, self.period_end).map_err(|e| prefixed(prefix, e))?;
        let amount = money(prefix, &self.amount, &self.currency)?;
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
            amount,
            kind: EntryKind::Impact {
                kind: self.kind,
                method: self.attribution_method,
                measured: self.measured,
            },
            confidence,
            note,
        })
    }
}

/// The stored row for a new entry.
pub fn entry_row(org: OrgId, pilot: PilotId, id: EntryId, e: &NewEntry, created_by: &str) -> EntryView {
    EntryView::new_row(org, pilot, id, e, created_by)
}

/// Appends one entry of a reversal (the reversal itself, or its
/// replacement) through the ledger invariant (`db::append`): refused when
/// the pilot's running total of that type and currency would leave i64, so
/// every later sum of one pilot is exact, or (the replacement) when its
/// organisation requires an FX rate it has not got.
pub fn append(conn: &mut DbConnection, row: &EntryView) -> ApiResult<()> {
    let appended = crate::db::append::append(conn, &[], &[row], Rates::lookup()).map_err(|e| {
        // The unique index on `reverses` decides a race between two reversals.
        if row.reverses.is_some() && e.is_unique_violation() {
            ApiError::new(Code::ENTRY_ALREADY_REVERSED, "this entry has already been reversed")
        } else {
            e.into()
        }
    })?;
    match appended.first() {
        Some(Appended::Written) => Ok(()),
        Some(Appended::FxRateMissing) => Err(fx_rate_missing("replacement.", row)),
        _ => Err(total_overflow(row)),
    }
}

/// 422 for a new entry its organisation refuses: no FX rate converts it
/// (`fx_rate_required`). `prefix` locates the entry in the body.
pub fn fx_rate_missing(prefix: &str, row: &EntryView) -> ApiError {
    ApiError::field(
        Code::FX_RATE_MISSING,
        format!("{prefix}currency"),
        format!(
            "this organisation requires an FX rate for every money write, and {} has none on or before {}; \
             an operator loads one with PUT /v1/fx-rates",
            row.currency, row.period_end
        ),
    )
}

/// 422 for an entry that would take its pilot's running total past i64.
pub fn total_overflow(row: &EntryView) -> ApiError {
    ApiError::field(
        Code::AMOUNT_OVERFLOW,
        "amount",
        format!(
            "this entry would take the pilot's {} total in {} past the largest exact amount",
            row.entry_type, row.currency
        ),
    )
}

/// Maps "no such row" to the entry's own 404 code.
pub fn entry_not_found(e: DbError) -> ApiError {
    match e {
        DbError::NotFound => ApiError::new(Code::ENTRY_NOT_FOUND, "no such entry"),
        other => other.into(),
    }
}

/// What a reversal wrote: the negating entry and, when asked, its replacement.
pub struct Reversal {
    pub reversal: EntryView,
    pub replacement: Option<EntryView>,
}

/// Reverses entry `id` of `pilot`, optionally with a replacement, and audits
/// it. The rules: a reversal cannot itself be reversed; an entry is reversed
/// at most once (the unique index on `reverses` settles a race); the
/// replacement is of the original's type. `replacement` parses the
/// replacement's body once that type is known (its errors name
/// `replacement.*`).
pub fn reverse(
    conn: &mut DbConnection,
    org: OrgId,
    pilot: PilotId,
    id: EntryId,
    reason: &str,
    replacement: Option<impl FnOnce(EntryType) -> ApiResult<NewEntry>>,
    actor: &Actor,
) -> ApiResult<Reversal> {
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
    let entry_type = original.entry_type;
    let replacement = replacement.map(|parse| parse(entry_type)).transpose()?;
    let negated = original
        .amount_minor
        .checked_neg()
        .ok_or_else(|| ApiError::new(Code::AMOUNT_OVERFLOW, "this amount cannot be negated exactly"))?;
    let reversal = EntryView {
        id: EntryId::new().to_string(),
        amount_minor: negated,
        reverses: Some(original.id.clone()),
        replaces: None,
        reason: Some(reason.to_owned()),
        created_by: actor.sub.clone(),
        created_at: crate::db::now(),
        ..original.clone()
    };
    append(conn, &reversal)?;
    let replacement = match replacement {
        None => None,
        Some(new) => {
            let mut row = entry_row(org, pilot, EntryId::new(), &new, &actor.sub);
            row.replaces = Some(original.id.clone());
            row.reason = Some(reason.to_owned());
            append(conn, &row)?;
            Some(row)
        }
    };
    let after = serde_json::to_value(ReversalJson {
        reversal: EntryJson::from(reversal.clone()),
        replacement: replacement.clone().map(EntryJson::from),
    })
    .map_err(ApiError::internal)?;
    let before = serde_json::to_value(EntryJson::from(original)).ok();
    crate::db::audit::record(
        conn,
        Some(org),
        actor,
        "entry.reverse",
        "entry",
        &id.to_string(),
        before.as_ref(),
        Some(&after),
    )?;
    Ok(Reversal { reversal, replacement })
}
