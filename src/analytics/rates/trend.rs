//! The trends of a rate response: logistic fits of the pilot flags and of
//! (organisation, quarter) zero return over the published quarters only, and
//! the organisation trend projected past `to`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;

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
                intercept: Interval {
                    estimate: f.intercept,
                    low: f.intercept_ci.0,
                    high: f.intercept_ci.1,
                },
                slope: Interval {
                    estimate: f.slope,
                    low: f.slope_ci.0,
                    high: f.slope_ci.1,
                },
                pp_change_per_year: f.pp_change_per_year_at(q.to.middle_t()),
                at_quarter: q.to.to_string(),
                n: f.n,
            };
            (TrendFit::Available(trend), Some(f))
        }
    }
}

/// A published quarter for the trends: its pilots counted per (evaluation
/// date, outcome) and, per organisation in ascending order, whether it had
/// zero return.
pub(super) type UsedQuarter = (Quarter, BTreeMap<(NaiveDate, bool), u64>, Vec<(u32, bool)>);

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
    // order, and counted per (evaluation date, outcome): the fit runs over
    // the counts exactly as over the pilots written out in that order, in
    // memory that grows with the dates, not with the pilots.
    let mut counts: BTreeMap<(NaiveDate, bool), u64> = BTreeMap::new();
    for (key, n) in used.iter().flat_map(|(_, runs, _)| runs) {
        *counts.entry(*key).or_default() += n;
    }
    let pilot_runs: Vec<(f64, bool, u64)> = counts
        .into_iter()
        .map(|((date, zero), n)| (years_since_2000(date), zero, n))
        .collect();
    let (ot, oy): (Vec<f64>, Vec<bool>) = used
        .iter()
        .flat_map(|(qq, _, c)| c.iter().map(|(_, zero)| (qq.middle_t(), *zero)))
        .unzip();
    let (pilot, _) = summarise(logistic::fit_runs(&pilot_runs), q);
    let (organisation, org_fit) = summarise(logistic::fit(&ot, &oy), q);
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
