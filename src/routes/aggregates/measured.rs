//! The measured success rate behind the gap projection's `measured` source.

use std::collections::BTreeMap;

use super::super::AppState;
use super::compute;
use super::query::{rate_query, RateParams};
use crate::analytics::definitions::Quarter;
use crate::analytics::projection::{MeasuredBasis, MeasuredKind, MeasuredRate, RateEstimate};
use crate::analytics::rates::TrendFit;
use crate::error::{ApiError, ApiResult, Code};

/// The measured success rate (1 − organisation zero-return share) by year, for
/// the gap projection's `measured` source: each year takes its latest
/// quarter, the published (unsuppressed) share for quarters up to the current
/// one and the organisation trend's projection for later quarters, each with
/// its provenance. Disclosure control applies: only published figures are used.
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
    let current = Quarter::of(chrono::Utc::now().date_naive());
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
    // Each year takes its latest quarter: a published (unsuppressed) share
    // for quarters up to the current one, the trend's projection for later
    // ones, so past years rest on what was measured and only the future on
    // the trend. Cells come in quarter order and the projection starts after
    // the current quarter, so later inserts are later quarters.
    let mut by_year = BTreeMap::new();
    let mut basis = BTreeMap::new();
    for c in r
        .cells
        .iter()
        .filter(|c| c.dimension == "all" && !c.suppressed && c.quarter <= current)
    {
        if let Some(s) = c.org_zero_return_share {
            by_year.insert(c.quarter.year, flip(s.estimate, Some(s.low), Some(s.high), None));
            basis.insert(
                c.quarter.year,
                MeasuredBasis {
                    kind: MeasuredKind::Published,
                    quarter: c.quarter.to_string(),
                },
            );
        }
    }
    if let Some(projection) = &r.trend.projection {
        let df = match &r.trend.organisation {
            TrendFit::Available(f) => f.degrees_of_freedom,
            TrendFit::Unavailable { .. } => None,
        };
        for p in projection {
            if let Some(q) = Quarter::parse(&p.quarter).filter(|q| *q > current) {
                by_year.insert(q.year, flip(p.estimate, p.low, p.high, df));
                basis.insert(
                    q.year,
                    MeasuredBasis {
                        kind: MeasuredKind::Trend,
                        quarter: q.to_string(),
                    },
                );
            }
        }
    }
    if by_year.is_empty() {
        return Err(ApiError::field(
            Code::INVALID_FIELD,
            "success_rate.source",
            "no measured rate is published yet (too few organisations with evaluated pilots); use source fixed",
        ));
    }
    Ok(MeasuredRate { by_year, basis })
}
