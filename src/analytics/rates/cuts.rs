//! Which cells a rate response has and what each one sums: the breakdown
//! values listed (only those enough organisations have, [`Listed`]), the cuts
//! of one pass ([`Cuts`]) and one quarter's per-organisation sums
//! ([`QuarterSums`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{Dimension, Observation};
use crate::analytics::disclosure::{Contributions, OrgContribution};

/// The breakdown values that get cells: those with at least the disclosure
/// threshold of organisations in the whole input, in or out of the window.
/// A value with fewer would show, quarter by quarter, whether its few
/// organisations evaluated anything (`empty` against `min_organisations`):
/// a single-customer region published its customer's activity (issue 18).
/// Whether a value is listed says only that at least that many organisations
/// have it, ever.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    values: [BTreeSet<String>; 6],
}

impl Listed {
    /// The listed values of every dimension in `obs`, with at least
    /// `min_organisations` distinct organisations each.
    pub fn of(obs: &[Observation], min_organisations: u32) -> Self {
        let mut b = ListedBuilder::new(min_organisations);
        obs.iter().for_each(|o| b.add(o));
        b.finish()
    }

    pub(super) fn contains(&self, d: Dimension, value: &str) -> bool {
        self.values[d.index()].contains(value)
    }

    pub(super) fn values(&self, d: Dimension) -> impl Iterator<Item = &String> {
        self.values[d.index()].iter()
    }
}

/// Builds a [`Listed`] from observations streamed one at a time. Per value it
/// keeps at most `min_organisations` distinct organisations: enough to decide.
pub struct ListedBuilder {
    min: usize,
    orgs: [BTreeMap<String, Vec<u32>>; 6],
}

impl ListedBuilder {
    pub fn new(min_organisations: u32) -> Self {
        Self {
            min: min_organisations as usize,
            orgs: Default::default(),
        }
    }

    pub fn add(&mut self, o: &Observation) {
        for d in Dimension::ALL {
            let seen = &mut self.orgs[d.index()];
            let value = d.value_of(o);
            match seen.get_mut(value) {
                Some(orgs) => {
                    if orgs.len() < self.min && !orgs.contains(&o.org) {
                        orgs.push(o.org);
                    }
                }
                None => {
                    seen.insert(value.to_owned(), vec![o.org]);
                }
            }
        }
    }

    pub fn finish(self) -> Listed {
        let mut listed = Listed::default();
        for (i, seen) in self.orgs.into_iter().enumerate() {
            listed.values[i] = seen
                .into_iter()
                .filter(|(_, orgs)| orgs.len() >= self.min)
                .map(|(value, _)| value)
                .collect();
        }
        listed
    }
}

/// The breakdowns one pass computes, each with the values it emits cells for.
pub struct Cuts {
    pub(super) cuts: Vec<(Dimension, Vec<String>)>,
}

impl Cuts {
    /// `listed` must come from every observation of the input, in or out of
    /// the window, so which cells exist reveals nothing about the window
    /// (module docs).
    pub fn new(dims: &[Dimension], listed: &Listed) -> Self {
        Self {
            cuts: dims.iter().map(|&d| (d, d.vocabulary(listed))).collect(),
        }
    }

    /// Whether a region breakdown is among the cuts (it needs the regions).
    pub fn needs_regions(dims: &[Dimension]) -> bool {
        dims.contains(&Dimension::Region)
    }

    /// Empty sums for one quarter.
    pub fn sums(&self) -> QuarterSums {
        QuarterSums {
            total: Contributions::new(),
            parts: self
                .cuts
                .iter()
                .map(|(_, values)| vec![Contributions::new(); values.len()])
                .collect(),
            runs: BTreeMap::new(),
            count_runs: true,
        }
    }
}

/// One quarter's observations summed per organisation — the total and one
/// sum per value of each cut — and its pilots counted per (evaluation date,
/// outcome, organisation) for the clustered trend: everything the quarter's
/// cells and trend points need, in memory that grows with the quarter's
/// organisations (times their evaluation dates), not with its pilots.
pub struct QuarterSums {
    pub(super) total: Contributions,
    pub(super) parts: Vec<Vec<Contributions>>,
    pub(super) runs: BTreeMap<(NaiveDate, bool, u32), u64>,
    /// Whether `runs` is kept: an export fits no trend, so it skips them.
    pub(super) count_runs: bool,
}

impl QuarterSums {
    /// Adds one observation of the quarter.
    pub fn add(&mut self, o: &Observation, cuts: &Cuts) {
        let c = OrgContribution {
            pilots: 1,
            zero_impact: u64::from(o.zero_impact),
            spend_usd_minor: i128::from(o.spend_usd_minor),
            impact_usd_minor: i128::from(o.measured_net_usd_minor),
        };
        self.total.entry(o.org).or_default().add(&c);
        for ((d, values), parts) in cuts.cuts.iter().zip(&mut self.parts) {
            let value = d.value_of(o);
            if let Some(i) = values.iter().position(|v| v == value) {
                parts[i].entry(o.org).or_default().add(&c);
            }
        }
        if self.count_runs {
            *self.runs.entry((o.evaluation_date, o.zero_impact, o.org)).or_default() += 1;
        }
    }
}
