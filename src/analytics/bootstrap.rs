//! Seeded cluster (organisation-level) percentile bootstrap.
//!
//! Pilots within one organisation are not independent, so intervals resample
//! whole organisations. Percentile intervals are not forced to contain the
//! estimate (with very skewed resampling distributions they need not). The
//! procedure is fully specified so a researcher can reproduce any published
//! interval bit for bit:
//!
//! 1. Let `k` be the number of organisations, indexed `0..k` in input order.
//! 2. Create `rand_chacha::ChaCha20Rng::seed_from_u64(seed)` (rand_chacha 0.9).
//! 3. For each of the `reps` replicates in turn, draw `k` indices one after
//!    another with `rng.random_range(0..k)` on `u64` (rand 0.9, without its
//!    `unbiased` feature), all from that single stream; the drawn
//!    organisations, with repetition, form the resample.
//! 4. Compute the statistic on the resample: for the pilot rate, the exact
//!    integer sum of drawn `zero` divided by the exact integer sum of drawn
//!    `total` (each converted to `f64` once); for the organisation average,
//!    each drawn `zero as f64 / total as f64`, added in draw order, divided
//!    by `k`.
//! 5. Sort the `reps` replicate values ascending. The bounds are the type 7
//!    quantiles (Hyndman & Fan 1996; R's and NumPy's default) at 0.025 and
//!    0.975: with zero-based sorted values `x`, `h = (reps − 1)·q`,
//!    `bound = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋])`.
//!
//! With a single organisation every resample equals the data, so the interval
//! is returned as the estimate itself without drawing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use super::intervals::Interval;

/// One organisation's pilots in the evaluation quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cluster {
    /// Pilots with zero measurable P&L impact.
    pub zero: u64,
    /// Pilots evaluated (must be > 0 and ≥ `zero`).
    pub total: u64,
}

/// Pooled share of pilots with zero impact, `Σzero / Σtotal`, with a 95%
/// cluster-bootstrap percentile interval (see the module docs).
///
/// Returns `None` for empty input, `reps = 0`, or any cluster with
/// `total = 0` or `zero > total`.
pub fn pilot_rate(clusters: &[Cluster], reps: u32, seed: u64) -> Option<Interval> {
    bootstrap(clusters, reps, seed, pooled_rate)
}

/// Mean over organisations of each one's zero-impact share `zero / total`,
/// with a 95% cluster-bootstrap percentile interval (see the module docs).
///
/// Returns `None` under the same conditions as [`pilot_rate`].
pub fn org_average_rate(clusters: &[Cluster], reps: u32, seed: u64) -> Option<Interval> {
    bootstrap(clusters, reps, seed, mean_rate)
}

fn pooled_rate(sample: &mut dyn Iterator<Item = Cluster>) -> f64 {
    // Integer sums are exact (u128 cannot overflow here), so the statistic
    // does not depend on draw order.
    let (zero, total) = sample.fold((0u128, 0u128), |(z, t), c| {
        (z + u128::from(c.zero), t + u128::from(c.total))
    });
    zero as f64 / total as f64
}

fn mean_rate(sample: &mut dyn Iterator<Item = Cluster>) -> f64 {
    let (sum, count) = sample.fold((0.0, 0u64), |(s, k), c| (s + c.zero as f64 / c.total as f64, k + 1));
    sum / count as f64
}

type Statistic = fn(&mut dyn Iterator<Item = Cluster>) -> f64;

fn bootstrap(clusters: &[Cluster], reps: u32, seed: u64, stat: Statistic) -> Option<Interval> {
    if clusters.is_empty() || reps == 0 || clusters.iter().any(|c| c.total == 0 || c.zero > c.total) {
        return None;
    }
    let estimate = stat(&mut clusters.iter().copied());
    if clusters.len() == 1 {
        return Some(Interval {
            estimate,
            low: estimate,
            high: estimate,
        });
    }
    let mut values = replicates(clusters, reps, seed, stat);
    values.sort_by(f64::total_cmp);
    Some(Interval {
        estimate,
        low: type7_quantile(&values, 0.025),
        high: type7_quantile(&values, 0.975),
    })
}

/// Replicate statistics in generation order (steps 2–4 of the module docs).
fn replicates(clusters: &[Cluster], reps: u32, seed: u64, stat: Statistic) -> Vec<f64> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let k = clusters.len() as u64;
    (0..reps)
        .map(|_| {
            // Draws happen lazily inside `stat`, exactly k per replicate, in order.
            let mut draws = (0..k).map(|_| clusters[rng.random_range(0..k) as usize]);
            stat(&mut draws)
        })
        .collect()
}

/// [`pilot_rate`] and [`org_average_rate`] together, from one stream of
/// resamples: bit for bit what the two give separately with the same seed
/// (they draw the same resamples), at half the draws, with each cluster's
/// share divided once instead of once per draw.
pub fn both_rates(clusters: &[Cluster], reps: u32, seed: u64) -> (Option<Interval>, Option<Interval>) {
    if clusters.is_empty() || reps == 0 || clusters.iter().any(|c| c.total == 0 || c.zero > c.total) {
        return (None, None);
    }
    let pooled = pooled_rate(&mut clusters.iter().copied());
    let mean = mean_rate(&mut clusters.iter().copied());
    let point = |estimate| Interval {
        estimate,
        low: estimate,
        high: estimate,
    };
    if clusters.len() == 1 {
        return (Some(point(pooled)), Some(point(mean)));
    }
    let shares: Vec<f64> = clusters.iter().map(|c| c.zero as f64 / c.total as f64).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let k = clusters.len() as u64;
    let mut pooled_values = Vec::with_capacity(reps as usize);
    let mut mean_values = Vec::with_capacity(reps as usize);
    for _ in 0..reps {
        let (mut zero, mut total, mut sum) = (0u128, 0u128, 0.0f64);
        for _ in 0..k {
            let i = rng.random_range(0..k) as usize;
            zero += u128::from(clusters[i].zero);
            total += u128::from(clusters[i].total);
            sum += shares[i];
        }
        pooled_values.push(zero as f64 / total as f64);
        mean_values.push(sum / k as f64);
    }
    let interval = |estimate, mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        Interval {
            estimate,
            low: type7_quantile(&values, 0.025),
            high: type7_quantile(&values, 0.975),
        }
    };
    (Some(interval(pooled, pooled_values)), Some(interval(mean, mean_values)))
}

/// Type 7 (linear interpolation) quantile of ascending, non-empty `sorted`.
fn type7_quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    match sorted.get(lo + 1) {
        Some(&next) => sorted[lo] + (h - lo as f64) * (next - sorted[lo]),
        None => sorted[lo],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(zero: u64, total: u64) -> Cluster {
        Cluster { zero, total }
    }

    fn sample() -> Vec<Cluster> {
        vec![c(1, 4), c(0, 2), c(3, 3), c(2, 10), c(5, 8), c(0, 1), c(4, 9)]
    }

    fn bits(i: Interval) -> [u64; 3] {
        [i.estimate.to_bits(), i.low.to_bits(), i.high.to_bits()]
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let big = [c(u64::MAX, u64::MAX), c(0, u64::MAX)];
        assert_eq!(pilot_rate(&big, 10, 0).unwrap().estimate, 0.5);
    }

    #[test]
    fn estimates_match_hand_computation() {
        let s = sample();
        // Σzero = 15, Σtotal = 37.
        assert_eq!(pilot_rate(&s, 200, 1).unwrap().estimate, 15.0 / 37.0);
        let mean = (0.25 + 0.0 + 1.0 + 0.2 + 0.625 + 0.0 + 4.0 / 9.0) / 7.0;
        assert!((org_average_rate(&s, 200, 1).unwrap().estimate - mean).abs() < 1e-15);
    }

    #[test]
    fn same_seed_is_bit_identical_and_seed_matters() {
        let s = sample();
        for f in [pilot_rate, org_average_rate] {
            assert_eq!(bits(f(&s, 999, 42).unwrap()), bits(f(&s, 999, 42).unwrap()));
            assert_ne!(bits(f(&s, 999, 42).unwrap()), bits(f(&s, 999, 43).unwrap()));
        }
    }

    #[test]
    fn documented_procedure_reproduces_output() {
        // Steps 2–5 of the module docs, written out literally.
        let s = sample();
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let mut vals = Vec::new();
        for _ in 0..500 {
            let (mut z, mut t) = (0u64, 0u64);
            for _ in 0..s.len() {
                let i: u64 = rng.random_range(0..s.len() as u64);
                z += s[i as usize].zero;
                t += s[i as usize].total;
            }
            vals.push(z as f64 / t as f64);
        }
        vals.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let q = |p: f64| {
            let h = 499.0 * p;
            let f = h.floor();
            vals[f as usize] + (h - f) * (vals[f as usize + 1] - vals[f as usize])
        };
        let got = pilot_rate(&s, 500, 7).unwrap();
        assert_eq!(
            (got.low.to_bits(), got.high.to_bits()),
            (q(0.025).to_bits(), q(0.975).to_bits())
        );
    }

    #[test]
    fn pinned_output_guards_against_dependency_drift() {
        // Bits reproduced by an independent Python implementation of the
        // documented procedure (ChaCha20 block function, PCG32 seed
        // expansion, rand's u64 range sampling, type 7): [0.40540540540540543,
        // 0.23684210526315788, 0.5882730015082956]. Also guards against a
        // rand/rand_chacha upgrade silently changing published intervals.
        let got = pilot_rate(&sample(), 1000, 2025).unwrap();
        assert_eq!(bits(got), PINNED);
    }
    const PINNED: [u64; 3] = [
        4_600_974_754_448_776_995,
        4_597_701_156_426_605_837,
        4_603_473_911_686_046_183,
    ];

    #[test]
    fn single_cluster_is_degenerate() {
        let one = [c(3, 7)];
        let e = 3.0 / 7.0;
        let want = Interval {
            estimate: e,
            low: e,
            high: e,
        };
        assert_eq!(pilot_rate(&one, 100, 0), Some(want));
        assert_eq!(org_average_rate(&one, 100, 0), Some(want));
    }

    #[test]
    fn invalid_input_gives_none() {
        assert_eq!(pilot_rate(&[], 100, 0), None);
        assert_eq!(org_average_rate(&[], 100, 0), None);
        assert_eq!(pilot_rate(&sample(), 0, 0), None);
        assert_eq!(pilot_rate(&[c(1, 2), c(0, 0)], 100, 0), None);
        assert_eq!(org_average_rate(&[c(3, 2), c(1, 1)], 100, 0), None);
    }

    #[test]
    fn intervals_contain_estimate() {
        let s = sample();
        for seed in 0..5 {
            for i in [
                pilot_rate(&s, 2000, seed).unwrap(),
                org_average_rate(&s, 2000, seed).unwrap(),
            ] {
                assert!(i.low <= i.estimate && i.estimate <= i.high && i.low < i.high, "{i:?}");
                assert!(i.low >= 0.0 && i.high <= 1.0);
            }
        }
    }

    #[test]
    fn both_rates_are_bit_identical_to_the_separate_ones() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for case in 0..60 {
            let n = rng.random_range(1..40);
            let clusters: Vec<Cluster> = (0..n)
                .map(|_| {
                    let total = rng.random_range(1..30);
                    c(rng.random_range(0..=total), total)
                })
                .collect();
            let (reps, seed) = (rng.random_range(1..400), case);
            let (p, o) = both_rates(&clusters, reps, seed);
            assert_eq!(p.map(bits), pilot_rate(&clusters, reps, seed).map(bits), "{case}");
            assert_eq!(o.map(bits), org_average_rate(&clusters, reps, seed).map(bits), "{case}");
        }
        assert_eq!(both_rates(&[], 10, 0), (None, None));
        assert_eq!(both_rates(&sample(), 0, 0), (None, None));
        assert_eq!(both_rates(&[c(2, 1)], 10, 0), (None, None));
    }

    #[test]
    fn type7_quantile_matches_r() {
        // R: quantile(c(1, 2, 3, 4), c(0, 0.25, 0.975, 1), type = 7)
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(type7_quantile(&x, 0.0), 1.0);
        assert_eq!(type7_quantile(&x, 0.25), 1.75);
        assert!((type7_quantile(&x, 0.975) - 3.925).abs() < 1e-15);
        assert_eq!(type7_quantile(&x, 1.0), 4.0);
        assert_eq!(type7_quantile(&[5.0], 0.025), 5.0);
    }

    #[test]
    fn bootstrap_se_matches_binomial_se_for_equal_clusters() {
        // 200 organisations × 20 pilots, each pilot zero-impact with p = 0.3
        // via a SplitMix64 stream (independent of the bootstrap's ChaCha).
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut uniform = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as f64 / 2f64.powi(64)
        };
        let clusters: Vec<Cluster> = (0..200)
            .map(|_| c((0..20).filter(|_| uniform() < 0.3).count() as u64, 20))
            .collect();
        let n = 4000.0;
        let p = clusters.iter().map(|c| c.zero).sum::<u64>() as f64 / n;
        let binomial_se = (p * (1.0 - p) / n).sqrt();
        // The bootstrap's own target: SD of the 200 cluster means (divisor k)
        // over sqrt(k); with equal sizes both statistics are that mean.
        let m: Vec<f64> = clusters.iter().map(|c| c.zero as f64 / 20.0).collect();
        let plug_in_se = (m.iter().map(|x| (x - p).powi(2)).sum::<f64>() / 200.0).sqrt() / 200f64.sqrt();
        for stat in [pooled_rate as Statistic, mean_rate] {
            let v = replicates(&clusters, 4000, 11, stat);
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let se = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
            assert!((se / binomial_se - 1.0).abs() < 0.15, "{se} vs binomial {binomial_se}");
            assert!((se / plug_in_se - 1.0).abs() < 0.05, "{se} vs plug-in {plug_in_se}");
        }
        let i = pilot_rate(&clusters, 4000, 11).unwrap();
        let half = (i.high - i.low) / 2.0;
        assert!(
            (half / (1.959_963_984_540_054 * binomial_se) - 1.0).abs() < 0.15,
            "{i:?}"
        );
    }
}
