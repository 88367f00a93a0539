//! The measured success rate behind the gap projection's `measured` source.

use std::collections::BTreeMap;

use super::super::AppState;
use super::compute;
use super::query::{rate_query, RateParams};
use crate::analytics::definitions::Quarter;
use crate::analytics::projection::{MeasuredRate, RateEstimate};
use crate::analytics::rates::TrendFit;
use crate::error::{ApiError, ApiResult, Code};

/// The measured success rate (1 − organisation zero-return share) by year, for
/// the gap projection's `measured` source: the organisation trend's projection
/// (each year takes its last projected quarter), or, when no trend can be
/// fitted, the latest published quarter's share. Disclosure control applies:
/// only published figures are used.
pub async fn measured_success_rate(state: &AppState) -> ApiResult<MeasuredRate> {
    // Cached per data version (and quarter, which moves the default window):
    // the aggregate reads every ledger, the stamp only sums a few columns.
    let quarter = Quarter::of(chrono::Utc::now().date_naive());
    // Read where the rate will be computed (the replica, when there is one),
    // so a lagging replica's answer is never cached under a newer version.
    let stamp = state
        .read_lagging(|conn| Ok(crate::db::changes::research_stamp(conn)?))
        .await?;
    let key = format!("{quarter}|{stamp:?}");
    if let Some((cached_key, rate)) = state.measured_cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        if *cached_key == key {
            return Ok(rate.clone());
        }
    }
    let rate = compute_measured_success_rate(state).await?;
    *state.measured_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, rate.clone()));
    Ok(rate)
}

pub(super) async fn compute_measured_success_rate(state: &AppState) -> ApiResult<MeasuredRate> {
    let query = rate_query(
        &RateParams {
            from: None,
            to: None,
            by: None,
            min_impact: None,
            window_months: None,
            format: None,
            definition: None,
        },
        state.research_seed,
    )?;
    let (mut responses, _) = compute(state, vec![query]).await?;
    let r = responses.pop().ok_or_else(|| ApiError::internal("no response"))?;
    // A trend without intervals (too few organisations) gives the rate
    // alone: the projection then shows no bands rather than invented ones.
    let flip = |estimate: f64, low: Option<f64>, high: Option<f64>, df: Option<u32>| match (low, high) {
        (Some(low), Some(high)) => RateEstimate {
            estimate: 1.0 - estimate,
            low: 1.0 - high,
            high: 1.0 - low,
            df,
        },
        _ => RateEstimate::exact(1.0 - estimate),
    };
    let mut by_year = BTreeMap::new();
    if let Some(projection) = &r.trend.projection {
        let df = match &r.trend.organisation {
            TrendFit::Available(f) => f.degrees_of_freedom,
            TrendFit::Unavailable { .. } => None,
        };
        for p in projection {
            if let Some(q) = Quarter::parse(&p.quarter) {
                by_year.insert(q.year, flip(p.estimate, p.low, p.high, df));
            }
        }
    }
    if by_year.is_empty() {
        if let Some((q, s)) = r
            .cells
            .iter()
            .rev()
            .find_map(|c| c.org_zero_return_share.map(|s| (c.quarter, s)))
        {
            by_year.insert(q.year, flip(s.estimate, Some(s.low), Some(s.high), None));
        }
    }
    if by_year.is_empty() {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "success_rate.source",
            "no measured rate is published yet (too few organisations with evaluated pilots); use source fixed",
        ));
    }
    Ok(MeasuredRate { by_year })
}
