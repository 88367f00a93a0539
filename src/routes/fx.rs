//! `PUT /v1/fx-rates`: the operator loads rates to USD by currency and date.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::AppState;
use crate::auth::AuthContext;
use crate::db::fx::FxRateView;
use crate::domain::currency::Currency;
use crate::domain::fx::FxRate;
use crate::domain::pilots::check_date;
use crate::error::{ApiError, ApiResult, Code};

/// Most rates one request may load.
pub const MAX_RATES: usize = 10_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutRatesBody {
    pub rates: Vec<RateBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateBody {
    pub currency: String,
    #[serde(deserialize_with = "crate::domain::dates::strict")]
    pub date: NaiveDate,
    pub rate_to_usd: String,
}

#[derive(Serialize)]
pub struct RateJson {
    pub currency: String,
    pub date: NaiveDate,
    pub rate_to_usd: String,
}

pub async fn put_fx_rates(
    state: web::Data<AppState>,
    auth: AuthContext,
    body: Json<PutRatesBody>,
) -> ApiResult<HttpResponse> {
    auth.operator()?;
    let rates = body.value.rates;
    if rates.is_empty() || rates.len() > MAX_RATES {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "rates",
            format!("send 1 to {MAX_RATES} rates"),
        ));
    }
    let now = crate::db::now();
    let mut rows = Vec::with_capacity(rates.len());
    for (i, r) in rates.into_iter().enumerate() {
        let currency = Currency::parse(&r.currency)
            .map_err(|e| ApiError::field(Code::UNKNOWN_CURRENCY, format!("rates[{i}].currency"), e.to_string()))?;
        let rate = FxRate::parse(&r.rate_to_usd)
            .map_err(|e| ApiError::field(Code::INVALID_FIELD, format!("rates[{i}].rate_to_usd"), e.to_string()))?;
        check_date("date", r.date)
            .map_err(|e| ApiError::field(Code::INVALID_FIELD, format!("rates[{i}].date"), e.reason))?;
        rows.push(FxRateView {
            currency: currency.code().to_owned(),
            rate_date: r.date,
            rate_to_usd: rate.to_string(),
            loaded_at: now,
        });
    }
    let actor = auth.actor();
    let rows = state
        .write(move |conn| {
            for row in &rows {
                let before = crate::db::fx::upsert(conn, row)?;
                let object = format!("{}@{}", row.currency, row.rate_date);
                let b = before.map(|r| serde_json::json!({"rate_to_usd": r}));
                let a = serde_json::json!({"rate_to_usd": row.rate_to_usd});
                crate::db::audit::record(
                    conn,
                    None,
                    &actor,
                    "fx_rate.put",
                    "fx_rate",
                    &object,
                    b.as_ref(),
                    Some(&a),
                )?;
            }
            let keys: Vec<_> = rows.iter().map(|r| (r.currency.clone(), r.rate_date)).collect();
            crate::db::rollups::refresh_for_rates(conn, &keys)?;
            Ok(rows)
        })
        .await?;
    let out: Vec<RateJson> = rows
        .into_iter()
        .map(|r| RateJson {
            currency: r.currency,
            date: r.rate_date,
            rate_to_usd: r.rate_to_usd,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"loaded": out.len(), "rates": out})))
}
