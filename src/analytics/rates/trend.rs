//! The trends of a rate response: logistic fits of the pilot flags and of
//! (organisation, quarter) zero return over the published quarters only, and
//! the organisation trend projected past `to`. Both are clustered by
//! organisation (`logistic::fit_clustered`): a company's pilots, and its
//! quarters, are not independent draws.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;
use crate::analytics::logistic::ClusterRun;

fn unavailable(reason: String) -> TrendFit {
    TrendFit::Unavailable {
        available: false,
        reason,
    }
}

fn summarise(fit: Result<LogitFit, logistic::FitError>, q: &RateQuery) -> (TrendFit, Option<LogitFit>) {
    match fit {
        Err(e) => (unavailable(e.to_string()), None),
        Ok(f) => {
            let trend = FittedTrend {
                available: true,
                intercept: f.intercept_estimate(),
                slope: f.slope_estimate(),
                pp_change_per_year: f.pp_change_per_year_at(q.to.middle_t()),
                at_quarter: q.to.to_string(),
                n: f.n,
                intervals_unavailable_reason: f.intervals_unavailable.clone(),
                degrees_of_freedom: f.df.filter(|_| f.critical.is_some()),
            };
            (TrendFit::Available(trend), Some(f))
        }
    }
}

/// A published quarter for the trends: its pilots counted per (evaluation
/// date, outcome, organisation) and, per organisation in ascending order,
/// whether it had zero return.
pub(super) type UsedQuarter = (Quarter, BTreeMap<(NaiveDate, bool, u32), u64>, Vec<(u32, bool)>);

pub(super) fn trend(used: &[UsedQuarter], q: &RateQuery, policy: &DisclosurePolicy) -> Trend {
    let quarters_used = used.iter().map(|(qq, _, _)| qq.to_string()).collect();
    let orgs: BTreeSet<u32> = used
        .iter()
        .flat_map(|(_, _, c)| c.iter().map(|(org, _)| *org))
        .collect();
    if orgs.len() < policy.min_organisations() as usize {
        let reason = format!(
            "too few organisations: {} in the window's published quarters, need at least {}",
            orgs.len(),
            policy.min_organisations()
        );
        return Trend {
            quarters_used,
            pilot: unavailable(reason.clone()),
            organisation: unavailable(reason),
            projection: None,
        };
    }
    // Sorted so the floating-point sums in the fit do not depend on input
    // order, and counted per (evaluation date, outcome, organisation): the
    // fit runs over the counts exactly as over the pilots written out in
    // (date, outcome) order, and the organisation in the key is what the
    // cluster-robust covariance sums scores by — memory that grows with
    // organisations × dates, not with the pilots.
    let mut counts: BTreeMap<(NaiveDate, bool, u32), u64> = BTreeMap::new();
    for (key, n) in used.iter().flat_map(|(_, runs, _)| runs) {
        *counts.entry(*key).or_default() += n;
    }
    let pilot_runs: Vec<ClusterRun> = counts
        .into_iter()
        .map(|((date, zero, org), count)| ClusterRun {
            cluster: org,
            t: years_since_2000(date),
            y: zero,
            count,
        })
        .collect();
    let org_runs: Vec<ClusterRun> = used
        .iter()
        .flat_map(|(qq, _, c)| {
            c.iter().map(|&(org, zero)| ClusterRun {
                cluster: org,
                t: qq.middle_t(),
                y: zero,
                count: 1,
            })
        })
        .collect();
    let (pilot, _) = summarise(logistic::fit_clustered(&pilot_runs), q);
    let (organisation, org_fit) = summarise(logistic::fit_clustered(&org_runs), q);
    let projection = org_fit.map(|f| {
        std::iter::successors(Some(q.to.next()), |qq| Some(qq.next()))
            .take(PROJECTION_QUARTERS)
            .map(|qq| {
                let i = f.predict_interval(qq.middle_t());
                ProjectedRate {
                    quarter: qq.to_string(),
                    estimate: i.estimate,
                    low: i.low,
                    high: i.high,
                }
            })
            .collect()
    });
    Trend {
        quarters_used,
        pilot,
        organisation,
        projection,
    }
}

#[cfg(test)]
#[path = "trend_tests.rs"]
mod tests;
