//! The zero-impact rates per evaluation quarter (docs/DEFINITIONS.md#rates),
//! with intervals, trends and disclosure control.
//!
//! Input is already defined: one [`Observation`] per evaluated pilot with its
//! zero-impact flag computed under the request's [`DefinitionParams`]. No ids,
//! names or free text come in; organisations are opaque indices.
//!
//! **Cells.** Every quarter in `from..=to` gets one `all` cell and, with `by`,
//! one cell per value of that dimension that enough organisations have in the
//! whole input, in or out of the window ([`Listed`]), so which cells exist
//! reveals nothing about the window. Each cell covers exactly one quarter, and everything in it
//! — counts, rates, bootstrap seed, suppression — depends only on that
//! quarter's observations, never on `from`/`to`. Overlapping or neighbouring
//! windows therefore agree on every shared quarter (given `org` indices whose
//! relative order is stable), and no multi-quarter cell exists to be
//! differenced against a single-quarter one.
//!
//! **Bootstrap seeds.** Organisations enter the bootstrap in ascending `org`
//! order. A cell's seed is the 64-bit FNV-1a hash (offset basis
//! `0xcbf29ce484222325`, prime `0x100000001b3`) of the UTF-8 text
//! `"{seed}|{quarter}|{dimension}|{value}"`, e.g. `"42|2026Q1|region|DE"` or
//! `"42|2026Q1|all|all"`; the pilot rate and the organisation average of a
//! cell use that same seed (the same resamples). See [`cell_seed`]. Over
//! HTTP the base seed is the deployment's secret (`db::secrets`), never chosen
//! by a caller nor published, and every bootstrap bound is rounded to 0.001
//! ([`coarse`]): with a known seed and full-precision bounds, a researcher
//! could rebuild the resampling offline and find the one per-organisation
//! breakdown that reproduces them (issue 18).
//!
//! **Trends** use only quarters whose `all` cell is published. Over a window
//! of two quarters the organisation trend is a closed-form function of the two
//! quarters' shares, and `n` is a sum of per-quarter counts, so fitting over a
//! suppressed quarter would hand its figures back by differencing windows.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};

use super::bootstrap::{self, Cluster};
use super::definitions::{years_since_2000, DefinitionParams, Quarter, DEFINITION_VERSION};
use super::disclosure::{
    money_band, p_percent_holds, protect_breakdown, Contributions, DisclosurePolicy, OrgContribution,
    SuppressionReason, DISCLOSURE_POLICY_VERSION,
};
use super::intervals::{wilson, Interval};
use super::logistic::{self, Estimate, LogitFit};
use crate::domain::enums::{AiKind, BusinessFunction, Industry, SizeBand, Sourcing};
use crate::domain::region::RegionCode;

/// Quarters projected after `to` by the organisation trend.
pub const PROJECTION_QUARTERS: usize = 8;

/// One evaluated pilot, as the aggregate sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Opaque organisation index, never an id. Only the relative order matters
    /// (it orders the bootstrap), so derive it from a stable per-organisation
    /// key rather than numbering per request, or windows would disagree.
    pub org: u32,
    /// The organisation's sector.
    pub industry: Industry,
    /// The organisation's size band.
    pub size_band: SizeBand,
    /// The organisation's ISO 3166-1 alpha-2 region.
    pub region: RegionCode,
    /// The pilot's business function.
    pub business_function: BusinessFunction,
    /// How the pilot was sourced.
    pub sourcing: Sourcing,
    /// What kind of AI the pilot uses.
    pub ai_kind: AiKind,
    /// The pilot's evaluation date.
    pub evaluation_date: NaiveDate,
    /// Measured net impact at most `min_impact`.
    pub zero_impact: bool,
    /// Total spend in USD minor units.
    pub spend_usd_minor: i64,
    /// Measured net impact in USD minor units.
    pub measured_net_usd_minor: i64,
}

/// What a breakdown splits cells by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The pilot's business function.
    Function,
    /// The pilot's sourcing.
    Sourcing,
    /// The pilot's AI kind.
    AiKind,
    /// The organisation's industry.
    Industry,
    /// The organisation's size band.
    SizeBand,
    /// The organisation's region.
    Region,
}

impl Dimension {
    /// The name cells carry in `dimension`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Function => "function",
            Dimension::Sourcing => "sourcing",
            Dimension::AiKind => "ai_kind",
            Dimension::Industry => "industry",
            Dimension::SizeBand => "size_band",
            Dimension::Region => "region",
        }
    }

    fn value_of(self, o: &Observation) -> &str {
        match self {
            Dimension::Function => o.business_function.as_str(),
            Dimension::Sourcing => o.sourcing.as_str(),
            Dimension::AiKind => o.ai_kind.as_str(),
            Dimension::Industry => o.industry.as_str(),
            Dimension::SizeBand => o.size_band.as_str(),
            Dimension::Region => o.region.as_str(),
        }
    }

    /// Every breakdown, in the order the export lists them.
    pub const ALL: [Dimension; 6] = [
        Dimension::Function,
        Dimension::Sourcing,
        Dimension::AiKind,
        Dimension::Industry,
        Dimension::SizeBand,
        Dimension::Region,
    ];

    /// Every value a cell is emitted for, whether or not it has data in the
    /// window: the values `listed` holds, in vocabulary order (regions sorted).
    fn vocabulary(self, listed: &Listed) -> Vec<String> {
        fn names<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
            all.iter().map(ToString::to_string).collect()
        }
        let all = match self {
            Dimension::Function => names(BusinessFunction::ALL),
            Dimension::Sourcing => names(Sourcing::ALL),
            Dimension::AiKind => names(AiKind::ALL),
            Dimension::Industry => names(Industry::ALL),
            Dimension::SizeBand => names(SizeBand::ALL),
            Dimension::Region => listed.values(self).cloned().collect(),
        };
        all.into_iter().filter(|v| listed.contains(self, v)).collect()
    }

    fn index(self) -> usize {
        Dimension::ALL.iter().position(|d| *d == self).unwrap_or(0)
    }
}

#[cfg(test)]
mod attack_tests;
mod cuts;
mod trend;
pub use cuts::{Cuts, Listed, ListedBuilder, QuarterSums};
use trend::{trend, UsedQuarter};

/// A request for rates.
#[derive(Clone, Debug, PartialEq)]
pub struct RateQuery {
    /// First quarter, inclusive.
    pub from: Quarter,
    /// Last quarter, inclusive.
    pub to: Quarter,
    /// Optional breakdown.
    pub by: Option<Dimension>,
    /// The definition the zero-impact flags were computed with (echoed).
    pub params: DefinitionParams,
    /// Base seed of every cell's bootstrap.
    pub seed: u64,
    /// Bootstrap replicates; 0 leaves the bootstrap rates null.
    pub bootstrap_reps: u32,
}

/// The full answer, field names as in the API spec (api-spec/openapi.json).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateResponse {
    /// Version of the definitions.
    pub definition_version: &'static str,
    /// Version of the disclosure rules.
    pub disclosure_policy_version: &'static str,
    /// Everything that determined these numbers.
    pub parameters: Parameters,
    /// Quarter by quarter, `all` first, then the breakdown's values.
    pub cells: Vec<Cell>,
    /// Logistic trends and the projection.
    pub trend: Trend,
}

/// The echoed request and thresholds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Parameters {
    /// First quarter, e.g. `"2026Q1"`.
    #[serde(serialize_with = "as_text")]
    pub from: Quarter,
    /// Last quarter.
    #[serde(serialize_with = "as_text")]
    pub to: Quarter,
    /// The breakdown, if any.
    pub by: Option<Dimension>,
    /// Whole USD.
    pub min_impact: i64,
    /// Months after evaluation that impact counts.
    pub window_months: u32,
    /// Bootstrap replicates.
    pub bootstrap_reps: u32,
    /// Disclosure threshold.
    pub min_organisations: u32,
    /// Disclosure threshold.
    pub max_org_share: f64,
    /// Disclosure threshold.
    pub p_percent: u32,
    /// Disclosure threshold.
    pub min_each_side: u32,
}

/// One quarter × one value. When suppressed every figure is `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// The evaluation quarter.
    #[serde(serialize_with = "as_text")]
    pub quarter: Quarter,
    /// `"all"` or the dimension's name.
    pub dimension: &'static str,
    /// `"all"` or the value.
    pub value: String,
    /// Organisations with an evaluated pilot.
    pub organisations: Option<u64>,
    /// Evaluated pilots.
    pub pilots: Option<u64>,
    /// Organisations all of whose pilots in the cell are zero-impact.
    pub zero_return_organisations: Option<u64>,
    /// Zero-return organisations ÷ organisations, Wilson 95%.
    pub org_zero_return_share: Option<Interval>,
    /// Zero-impact pilots ÷ pilots, cluster bootstrap 95%.
    pub pilot_rate: Option<Interval>,
    /// Mean of per-organisation rates, cluster bootstrap 95%.
    pub org_average_rate: Option<Interval>,
    /// Band of Σ over organisations of |their summed spend|.
    pub spend_band: Option<&'static str>,
    /// Band of Σ over organisations of |their summed measured impact|; also
    /// null when that sum fails the p%-rule, as a band could then reveal the
    /// largest organisation's scale.
    pub measured_impact_band: Option<&'static str>,
    /// Whether the figures are withheld.
    pub suppressed: bool,
    /// Why, when suppressed.
    pub suppression_reason: Option<SuppressionReason>,
}

/// Both trends and the projection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    /// The quarters whose observations were fitted (published `all` cells).
    pub quarters_used: Vec<String>,
    /// Fit of each pilot's zero-impact on its evaluation date.
    pub pilot: TrendFit,
    /// Fit of each (organisation, quarter) zero return on the quarter's middle.
    pub organisation: TrendFit,
    /// The organisation trend's rate for the quarters after `to`, when available.
    pub projection: Option<Vec<ProjectedRate>>,
}

/// A fitted trend or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TrendFit {
    /// The fit.
    Available(FittedTrend),
    /// `{"available": false, "reason": …}`.
    Unavailable {
        /// Always `false`.
        available: bool,
        /// The fit error's text, or too few organisations.
        reason: String,
    },
}

/// Coefficients on t = years since 2000-01-01, with 95% intervals
/// cluster-robust by organisation (Student's t, G − 1 degrees of freedom);
/// with too few organisations, the estimates alone and the reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedTrend {
    /// Always `true`.
    pub available: bool,
    /// Log-odds at t = 0.
    pub intercept: Estimate,
    /// Change in log-odds per year.
    pub slope: Estimate,
    /// Percentage points per year at the middle of `at_quarter` (delta method).
    pub pp_change_per_year: Estimate,
    /// The request's `to`.
    pub at_quarter: String,
    /// Observations fitted.
    pub n: usize,
    /// Why every `low`/`high` of this trend (and of the projection, for the
    /// organisation trend) is null; `None` when the intervals are given.
    pub intervals_unavailable_reason: Option<String>,
    /// Degrees of freedom of the intervals' t (organisations − 1), when they
    /// are given. Not published: it is the count of distinct organisations
    /// across the window, which differencing windows could turn into who
    /// evaluated when; the gap projection's Monte Carlo reads it.
    #[serde(skip)]
    pub degrees_of_freedom: Option<u32>,
}

/// One projected quarter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectedRate {
    /// The quarter, predicted at its middle.
    pub quarter: String,
    /// Predicted organisation zero-return share.
    pub estimate: f64,
    /// Lower 95% bound, null when the trend has no intervals.
    pub low: Option<f64>,
    /// Upper 95% bound, null when the trend has no intervals.
    pub high: Option<f64>,
}

fn as_text<S: Serializer>(q: &Quarter, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(q)
}

/// 64-bit FNV-1a of `bytes`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Fewest organisations a cell needs for its bootstrap rates (`pilot_rate`,
/// `org_average_rate`) to be shown; below it both are null and the cell shows
/// its counts and the Wilson share, which are functions of the counts alone.
/// A cluster bootstrap's bounds are close to a deterministic function of the
/// per-organisation breakdown: for issue 18's cell of 6 organisations (pilots
/// [2,1,1,1,2,5], zero-impact [1,1,1,1,1,2]) only 2 of the 66 breakdowns with
/// its counts give the pooled rate's bounds under any seed, whether the
/// bounds are rounded to 0.001 or to 0.1; and the organisation average alone
/// (a sum of small fractions) fits 1 of them.
pub const BOOTSTRAP_MIN_ORGANISATIONS: u64 = 20;

/// Decimal places of a published bootstrap bound.
pub const BOUND_DECIMALS: i32 = 3;

/// A bootstrap interval as published: the estimate (a ratio of published
/// counts) exact, the bounds rounded to 0.001, which is all a rate in 0..1
/// needs and leaves the resampling unrecoverable from them.
pub fn coarse(i: Interval) -> Interval {
    let scale = 10f64.powi(BOUND_DECIMALS);
    let round = |x: f64| (x * scale).round() / scale;
    Interval {
        estimate: i.estimate,
        low: round(i.low),
        high: round(i.high),
    }
}

/// A cell's bootstrap seed: FNV-1a 64 of `"{seed}|{quarter}|{dimension}|{value}"`.
/// Depending on nothing else keeps a cell's interval the same whichever window
/// or breakdown it was requested with.
pub fn cell_seed(seed: u64, quarter: Quarter, dimension: &str, value: &str) -> u64 {
    fnv1a64(format!("{seed}|{quarter}|{dimension}|{value}").as_bytes())
}

/// The echoed request and thresholds.
fn parameters(q: &RateQuery, policy: &DisclosurePolicy) -> Parameters {
    Parameters {
        from: q.from,
        to: q.to,
        by: q.by,
        min_impact: q.params.min_impact,
        window_months: q.params.window_months,
        bootstrap_reps: q.bootstrap_reps,
        min_organisations: policy.min_organisations(),
        max_org_share: policy.max_org_share(),
        p_percent: policy.p_percent(),
        min_each_side: policy.min_each_side(),
    }
}

/// A response's versions and parameters, with no cells and no trend fitted
/// (it says unavailable): the head of an export, whose cells follow quarter
/// by quarter.
pub fn response_head(q: &RateQuery, policy: &DisclosurePolicy) -> RateResponse {
    RateResponse {
        definition_version: DEFINITION_VERSION,
        disclosure_policy_version: DISCLOSURE_POLICY_VERSION,
        parameters: parameters(q, policy),
        cells: Vec::new(),
        trend: trend(&[], q, policy),
    }
}

/// Computes every cell and the trend. Pure and deterministic: the same
/// observations (in any order), query and policy give the same bits.
pub fn zero_impact_rates(obs: &[Observation], q: &RateQuery, policy: &DisclosurePolicy) -> RateResponse {
    // Counted first, so each quarter's list is allocated once at its size
    // (these references are as many as the observations).
    let mut sizes: BTreeMap<Quarter, usize> = BTreeMap::new();
    for o in obs {
        *sizes.entry(Quarter::of(o.evaluation_date)).or_default() += 1;
    }
    let mut by_quarter: BTreeMap<Quarter, Vec<&Observation>> =
        sizes.into_iter().map(|(q, n)| (q, Vec::with_capacity(n))).collect();
    for o in obs {
        by_quarter.entry(Quarter::of(o.evaluation_date)).or_default().push(o);
    }
    let cuts = Cuts::new(q.by.as_slice(), &Listed::of(obs, policy.min_organisations()));
    let mut cells = Vec::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut jobs: Vec<CellJob> = Vec::new();
    let mut used: Vec<UsedQuarter> = Vec::new();
    let mut quarter = q.from;
    while quarter <= q.to {
        let mut sums = cuts.sums();
        for o in by_quarter.get(&quarter).into_iter().flatten() {
            sums.add(o, &cuts);
        }
        let (quarter_jobs, quarter_used) = jobs_of(quarter, sums, &cuts, policy);
        jobs.extend(quarter_jobs);
        used.extend(quarter_used);
        // Cells are computed as soon as there are enough to keep every core
        // busy (a breakdown: each quarter; totals only: a few quarters), so
        // memory holds a few quarters' per-organisation sums, not the window's.
        if jobs.len() >= threads {
            cells.extend(cells_in_parallel(&jobs, q, policy));
            jobs.clear();
        }
        quarter = quarter.next();
    }
    cells.extend(cells_in_parallel(&jobs, q, policy));
    RateResponse {
        cells,
        trend: trend(&used, q, policy),
        ..response_head(q, policy)
    }
}

/// The export's passes over each quarter without `by`: the total and every
/// breakdown, grouped so that no pass holds more than about five sums per
/// organisation (an organisation has one industry, size band and region, but
/// its pilots in a quarter may span several functions, sourcings and kinds).
pub const EXPORT_PASSES: [&[Dimension]; 3] = [
    &[Dimension::Function],
    &[Dimension::Sourcing, Dimension::AiKind],
    &[Dimension::Industry, Dimension::SizeBand, Dimension::Region],
];

/// The cuts of each pass of an export: `by` alone, or [`EXPORT_PASSES`].
/// `listed` as for [`Cuts::new`].
pub fn export_passes(by: Option<Dimension>, listed: &Listed) -> Vec<Cuts> {
    match by {
        Some(d) => vec![Cuts::new(&[d], listed)],
        None => EXPORT_PASSES.iter().map(|dims| Cuts::new(dims, listed)).collect(),
    }
}

/// One quarter of an export: its `all` cell, then each pass's cuts' values,
/// the same bits [`zero_impact_rates`] gives each cell (with the same region
/// vocabulary). `read` hands every observation of the quarter to its argument
/// and is called once per pass, so what is held is one pass's per-
/// organisation sums — memory that grows with the organisations evaluating
/// pilots in the quarter, never with the pilots, the entries or the window.
pub fn export_quarter<E>(
    quarter: Quarter,
    passes: &[Cuts],
    q: &RateQuery,
    policy: &DisclosurePolicy,
    mut read: impl FnMut(&mut dyn FnMut(&Observation)) -> Result<(), E>,
) -> Result<Vec<Cell>, E> {
    let mut cells = Vec::new();
    for (i, cuts) in passes.iter().enumerate() {
        let mut sums = cuts.sums();
        // No trend in an export: the per-(date, outcome, organisation)
        // counts would be memory spent for nothing.
        sums.count_runs = false;
        read(&mut |o: &Observation| {
            if Quarter::of(o.evaluation_date) == quarter {
                sums.add(o, cuts);
            }
        })?;
        let (mut jobs, _) = jobs_of(quarter, sums, cuts, policy);
        if i > 0 {
            jobs.remove(0); // the total, computed by the first pass
        }
        cells.extend(cells_in_parallel(&jobs, q, policy));
    }
    Ok(cells)
}

/// A quarter's cells to compute, `all` first and then each cut's values, and
/// — when its `all` cell is published — what the trends use of the quarter.
fn jobs_of<'c>(
    quarter: Quarter,
    sums: QuarterSums,
    cuts: &'c Cuts,
    policy: &DisclosurePolicy,
) -> (Vec<CellJob<'c>>, Option<UsedQuarter>) {
    let QuarterSums { total, parts, runs, .. } = sums;
    // The total's own check does not depend on the parts.
    let alone = protect_breakdown(&total, &[], policy);
    let total_reason = alone.total;
    let mut part_jobs = Vec::new();
    for ((d, values), parts) in cuts.cuts.iter().zip(parts) {
        let protection = {
            let named: Vec<(&str, &Contributions)> = values.iter().map(String::as_str).zip(&parts).collect();
            protect_breakdown(&total, &named, policy)
        };
        let decisions = protection.parts.into_iter().zip(protection.counts_hidden);
        for ((value, part), (reason, counts_hidden)) in values.iter().zip(parts).zip(decisions) {
            let shown = Shown { reason, counts_hidden };
            part_jobs.push((quarter, d.as_str(), value.as_str(), part, shown));
        }
    }
    let used = total_reason.is_none().then(|| {
        let orgs = total.iter().map(|(org, c)| (*org, c.zero_return())).collect();
        (quarter, runs, orgs)
    });
    let shown = Shown {
        reason: total_reason,
        counts_hidden: alone.total_counts_hidden,
    };
    let mut jobs = vec![(quarter, "all", "all", total, shown)];
    jobs.extend(part_jobs);
    (jobs, used)
}

/// What of a cell may be shown: nothing but its counts when `reason` is
/// set and `counts_hidden` is not (disclosure::Protection), nothing at all
/// when both are.
#[derive(Clone, Copy, Debug)]
struct Shown {
    reason: Option<SuppressionReason>,
    counts_hidden: bool,
}

/// A cell to compute: quarter, dimension, value, data, suppression.
type CellJob<'a> = (Quarter, &'static str, &'a str, Contributions, Shown);

/// Computes the cells (each one's bootstrap is the cost) on every core, in
/// their original order. Each cell depends only on its own data and seed, so
/// the result is the same bits as one after another.
fn cells_in_parallel(jobs: &[CellJob], q: &RateQuery, policy: &DisclosurePolicy) -> Vec<Cell> {
    let one = |(quarter, dim, value, data, reason): &CellJob| cell(*quarter, dim, value, data, *reason, q, policy);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(one).collect();
    }
    let mut out: Vec<Option<Cell>> = vec![None; jobs.len()];
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                // Interleaved, so the large `all` cells spread over the threads.
                s.spawn(move || {
                    jobs.iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, j)| (i, one(j)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for w in workers {
            for (i, c) in w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                out[i] = Some(c);
            }
        }
    });
    out.into_iter().flatten().collect()
}

fn cell(
    quarter: Quarter,
    dimension: &'static str,
    value: &str,
    data: &Contributions,
    shown: Shown,
    q: &RateQuery,
    policy: &DisclosurePolicy,
) -> Cell {
    let reason = shown.reason;
    let mut out = Cell {
        quarter,
        dimension,
        value: value.to_owned(),
        organisations: None,
        pilots: None,
        zero_return_organisations: None,
        org_zero_return_share: None,
        pilot_rate: None,
        org_average_rate: None,
        spend_band: None,
        measured_impact_band: None,
        suppressed: reason.is_some(),
        suppression_reason: reason,
    };
    if reason.is_some() {
        // Nothing about the outcome of a suppressed cell is computed, let
        // alone shown; its counts only when they are published at every
        // point of the grid alike.
        if !shown.counts_hidden {
            out.organisations = Some(data.values().filter(|c| c.pilots > 0).count() as u64);
            out.pilots = Some(data.values().map(|c| c.pilots).sum());
        }
        return out;
    }
    let orgs = data.len() as u64;
    let zero_return = data.values().filter(|c| c.zero_return()).count() as u64;
    // BTreeMap order: ascending org index, the documented bootstrap order.
    let clusters: Vec<Cluster> = data
        .values()
        .map(|c| Cluster {
            zero: c.zero_impact,
            total: c.pilots,
        })
        .collect();
    let seed = cell_seed(q.seed, quarter, dimension, value);
    // Per-organisation sums first, then absolute values (docs/DEFINITIONS.md#disclosure).
    let band = |f: fn(&OrgContribution) -> i128| {
        let abs = || data.values().map(move |c| f(c).unsigned_abs());
        let total = abs().fold(0u128, u128::saturating_add);
        (total, p_percent_holds(abs(), policy.p_percent()))
    };
    let (spend, spend_safe) = band(|c| c.spend_usd_minor);
    let (impact, impact_safe) = band(|c| c.impact_usd_minor);
    out.organisations = Some(orgs);
    out.pilots = Some(data.values().map(|c| c.pilots).sum());
    out.zero_return_organisations = Some(zero_return);
    out.org_zero_return_share = wilson(zero_return, orgs);
    let (pilot_rate, org_average_rate) = bootstrap::both_rates(&clusters, q.bootstrap_reps, seed);
    let shown = |i: Option<Interval>| i.filter(|_| orgs >= BOOTSTRAP_MIN_ORGANISATIONS).map(coarse);
    (out.pilot_rate, out.org_average_rate) = (shown(pilot_rate), shown(org_average_rate));
    out.spend_band = spend_safe.then(|| money_band(spend));
    out.measured_impact_band = impact_safe.then(|| money_band(impact));
    out
}

#[cfg(test)]
#[path = "rates_tests.rs"]
mod tests;
