//! The differencing attacker (issue 18): everything a researcher can fetch —
//! every breakdown and the total, at every point of the min_impact × window
//! grid, for every quarter — gathered and solved for the counts of every cell
//! that is never published. Each hidden count must keep at least two
//! feasible values, and a count published at one grid point must be
//! published at all of them.
//!
//! The solver is exact over the constraints it models and shares no code
//! with `disclosure`: per quarter and breakdown, the hidden cells' pilots sum
//! to the published total minus the published cells (organisations too for
//! the organisation-level breakdowns, where every organisation is in exactly
//! one value), each hidden count lies in the box its reasons reveal
//! (`min_organisations`: 1 to min − 1 organisations; `dominance`: at least
//! min), and the feasible values of each are found by enumerating reachable
//! sums of the others (a subset-sum table), not by interval arithmetic.

use std::collections::BTreeMap;

use super::*;
use crate::analytics::definitions::{MIN_IMPACT_GRID_USD, WINDOW_GRID_MONTHS};
use crate::domain::region::RegionCode;

/// A small seeded generator (xorshift), so the datasets are fixed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Index into `weights`, drawn in proportion to them.
    fn pick(&mut self, weights: &[u64]) -> usize {
        let mut r = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// One pilot with its measured net impact at each window of the grid.
struct Pilot {
    base: Observation,
    net: [i64; 3],
}

/// A dataset built to tempt the attacker: skewed breakdowns (a few values
/// with a handful of organisations), organisations that never measure beside
/// ones that measure well, and impacts spread over the min_impact grid so
/// that cells turn one-sided at some grid points and not at others.
fn tempting(seed: u64) -> Vec<Pilot> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let regions = ["DE", "FR", "US", "GB", "JP", "BR"];
    let orgs = 20 + rng.below(21) as u32;
    let mut out = Vec::new();
    for org in 0..orgs {
        let industry = Industry::ALL[rng.pick(&[6, 3, 2, 1]) % Industry::ALL.len()];
        let size_band = SizeBand::ALL[rng.pick(&[8, 6, 3, 1]) % SizeBand::ALL.len()];
        let region = RegionCode::parse(regions[rng.pick(&[8, 6, 5, 2, 1, 1])]).unwrap();
        let measures = rng.pick(&[2, 3, 3]); // never, sometimes, well
        for date in ["2025-11-12", "2026-02-10"] {
            for _ in 0..rng.below(5) {
                let business_function = BusinessFunction::ALL[rng.pick(&[6, 4, 2, 1, 1]) % BusinessFunction::ALL.len()];
                let sourcing = Sourcing::ALL[rng.pick(&[3, 2, 1]) % Sourcing::ALL.len()];
                let ai_kind = AiKind::ALL[rng.pick(&[4, 2, 1]) % AiKind::ALL.len()];
                // USD cents at 3, 6 and 12 months; never decreasing.
                let scale = [0, 50_000, 500_000, 5_000_000, 50_000_000][rng.pick(&[4, 2, 2, 2, 1])];
                let measured = match measures {
                    0 => false,
                    1 => rng.below(3) == 0,
                    _ => rng.below(4) != 0,
                };
                let n3 = if measured { (scale * rng.below(3) as i64) / 2 } else { 0 };
                let n6 = n3 + if measured { scale * rng.below(2) as i64 } else { 0 };
                let n12 = n6 + if measured { scale * rng.below(3) as i64 } else { 0 };
                let base = Observation {
                    org,
                    industry,
                    size_band,
                    region,
                    business_function,
                    sourcing,
                    ai_kind,
                    evaluation_date: date.parse().unwrap(),
                    zero_impact: false,
                    spend_usd_minor: 1_000_000,
                    measured_net_usd_minor: 0,
                };
                out.push(Pilot {
                    base,
                    net: [n3, n6, n12],
                });
            }
        }
    }
    out
}

/// The observations a grid point sees.
fn observed(pilots: &[Pilot], params: &DefinitionParams) -> Vec<Observation> {
    let w = WINDOW_GRID_MONTHS
        .iter()
        .position(|m| *m == params.window_months)
        .unwrap();
    pilots
        .iter()
        .map(|p| Observation {
            zero_impact: crate::analytics::definitions::is_zero_impact(p.net[w], params),
            measured_net_usd_minor: p.net[w],
            ..p.base.clone()
        })
        .collect()
}

const DIMENSIONS: [Dimension; 6] = [
    Dimension::Function,
    Dimension::Sourcing,
    Dimension::AiKind,
    Dimension::Industry,
    Dimension::SizeBand,
    Dimension::Region,
];

/// What the attacker learnt of one cell over every answer.
#[derive(Default, Debug)]
struct Learnt {
    /// Published (organisations, pilots), with how many answers showed them.
    counts: Option<(u64, u64)>,
    shown: usize,
    hidden: usize,
    reasons: Vec<SuppressionReason>,
}

/// Every count a hidden cell could have: feasible values of each unknown.
fn feasible(boxes: &[(u64, u64)], sum: u64) -> Vec<Vec<u64>> {
    (0..boxes.len())
        .map(|i| {
            // Sums the other unknowns can reach, one at a time.
            let mut reach = vec![false; sum as usize + 1];
            reach[0] = true;
            for (j, &(lo, hi)) in boxes.iter().enumerate() {
                if j == i {
                    continue;
                }
                let mut next = vec![false; sum as usize + 1];
                for (s, _) in reach.iter().enumerate().filter(|(_, r)| **r) {
                    for v in lo..=hi {
                        if s as u64 + v <= sum {
                            next[s + v as usize] = true;
                        }
                    }
                }
                reach = next;
            }
            let (lo, hi) = boxes[i];
            (lo..=hi.min(sum)).filter(|v| reach[(sum - v) as usize]).collect()
        })
        .collect()
}

/// How many values a breakdown can have (regions: every ISO 3166-1 code).
fn vocabulary(dimension: &str) -> u64 {
    (match dimension {
        "function" => BusinessFunction::ALL.len(),
        "sourcing" => Sourcing::ALL.len(),
        "ai_kind" => AiKind::ALL.len(),
        "industry" => Industry::ALL.len(),
        "size_band" => SizeBand::ALL.len(),
        _ => 249,
    }) as u64
}

#[test]
fn no_hidden_count_is_recovered_from_every_answer_together() {
    let policy = DisclosurePolicy::default();
    let m = u64::from(policy.min_organisations());
    let mut hidden_cells = 0;
    for seed in 0..40u64 {
        let pilots = tempting(seed);
        // (quarter, dimension) → value → what was learnt; and the totals.
        let mut cells: BTreeMap<(String, &str), BTreeMap<String, Learnt>> = BTreeMap::new();
        let mut totals: BTreeMap<String, Learnt> = BTreeMap::new();
        for min_impact in MIN_IMPACT_GRID_USD {
            for window in WINDOW_GRID_MONTHS {
                let params = DefinitionParams::on_grid(min_impact, window).unwrap();
                let obs = observed(&pilots, &params);
                for by in DIMENSIONS.iter().map(|d| Some(*d)).chain([None]) {
                    let q = RateQuery {
                        from: Quarter::parse("2025Q4").unwrap(),
                        to: Quarter::parse("2026Q1").unwrap(),
                        by,
                        params,
                        seed: 1,
                        bootstrap_reps: 0,
                    };
                    for c in zero_impact_rates(&obs, &q, &policy).cells {
                        let learnt = if c.dimension == "all" {
                            totals.entry(c.quarter.to_string()).or_default()
                        } else {
                            cells
                                .entry((c.quarter.to_string(), c.dimension))
                                .or_default()
                                .entry(c.value.clone())
                                .or_default()
                        };
                        match (c.organisations, c.pilots) {
                            (Some(o), Some(p)) => {
                                if let Some(before) = learnt.counts {
                                    assert_eq!(before, (o, p), "seed {seed}: one count, two values");
                                }
                                learnt.counts = Some((o, p));
                                learnt.shown += 1;
                            }
                            _ => learnt.hidden += 1,
                        }
                        learnt.reasons.extend(c.suppression_reason);
                    }
                }
            }
        }
        for ((quarter, dimension), values) in &cells {
            for (value, l) in values {
                assert!(
                    l.shown == 0 || l.hidden == 0,
                    "seed {seed} {quarter} {dimension}={value}: counts shown at {} grid answers, hidden at {}",
                    l.shown,
                    l.hidden
                );
            }
            let Some((total_orgs, total_pilots)) = totals[quarter].counts else {
                continue; // no published total: no equation to solve
            };
            let unknown: Vec<(&String, &Learnt)> = values
                .iter()
                .filter(|(_, l)| l.counts.is_none() && !l.reasons.contains(&SuppressionReason::Empty))
                .collect();
            hidden_cells += unknown.len();
            let org_box = |l: &Learnt| {
                if l.reasons.contains(&SuppressionReason::MinOrganisations) {
                    (1, m - 1)
                } else if l.reasons.contains(&SuppressionReason::Dominance) {
                    (m, total_orgs)
                } else {
                    (1, total_orgs)
                }
            };
            let published = |f: fn((u64, u64)) -> u64| values.values().filter_map(|l| l.counts.map(f)).sum::<u64>();
            let org_level = matches!(dimension, &"industry" | &"size_band" | &"region");
            let mut org_boxes: Vec<(u64, u64)> = unknown.iter().map(|(_, l)| org_box(l)).collect();
            let mut pilot_boxes: Vec<(u64, u64)> = org_boxes.iter().map(|b| (b.0, total_pilots)).collect();
            // Values with fewer than min organisations in the whole dataset
            // are not listed: their pilots are in the total and in no cell, so
            // one more unknown holds them (0 to min − 1 organisations each).
            let unlisted = vocabulary(dimension) - values.len() as u64;
            if unlisted > 0 {
                org_boxes.push((0, (unlisted * (m - 1)).min(total_orgs)));
                pilot_boxes.push((0, total_pilots));
            }
            let mut systems = vec![("pilots", pilot_boxes, total_pilots - published(|c| c.1))];
            if org_level {
                systems.push(("organisations", org_boxes, total_orgs - published(|c| c.0)));
            }
            for (what, boxes, sum) in systems {
                for ((value, _), values_left) in unknown.iter().zip(feasible(&boxes, sum)) {
                    assert!(
                        values_left.len() >= 2,
                        "seed {seed} {quarter} {dimension}={value}: {what} pinned to {values_left:?}"
                    );
                }
            }
        }
    }
    assert!(
        hidden_cells >= 40,
        "the datasets must tempt the attacker: {hidden_cells} hidden cells"
    );
}
