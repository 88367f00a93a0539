//! Deterministic sampling helpers (no platform-dependent maths) and the
//! month calendar the generator works in.

use super::*;

/// The generator for one stream (see the module docs).
pub(super) fn rng_for(seed: u64, stream: u64) -> ChaCha20Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(KEY_TAG);
    let mut rng = ChaCha20Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Picks an item with probability proportional to its weight.
pub(super) fn pick<T: Copy>(rng: &mut ChaCha20Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Picks a uniformly random element of a non-empty slice.
pub(super) fn pick_str(rng: &mut ChaCha20Rng, items: &'static [&'static str]) -> &'static str {
    items[rng.random_range(0..items.len() as u32) as usize]
}

/// Uniform integer in `lo..=hi`.
pub(super) fn between(rng: &mut ChaCha20Rng, lo: u32, hi: u32) -> u32 {
    rng.random_range(lo..=hi)
}

/// Uniform `f64` in `lo..hi`.
pub(super) fn uniform(rng: &mut ChaCha20Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Bounded approximately standard normal value: Irwin–Hall sum of four
/// uniforms, rescaled to variance 1 (support ±3.46).
pub(super) fn normalish(rng: &mut ChaCha20Rng) -> f64 {
    let s: f64 = (0..4).map(|_| rng.random::<f64>()).sum();
    (s - 2.0) * 1.732_050_807_568_877_2
}

/// `2^x` from exact powers of two and a degree-7 Taylor polynomial (relative
/// error < 2e-6), using only basic IEEE operations so it is bit-identical on
/// every platform. For sampling only.
pub(super) fn exp2(x: f64) -> f64 {
    let n = x.floor();
    let y = (x - n) * std::f64::consts::LN_2;
    let mut p = 1.0;
    for k in (1..=7).rev() {
        p = 1.0 + p * y / f64::from(k);
    }
    // n is small (|n| < 64): powi of 2.0 is an exact power of two.
    p * 2f64.powi(n as i32)
}

/// Log-normal-ish value: `median × 10^(sigma × normalish)`, bounded.
pub(super) fn log_normal(rng: &mut ChaCha20Rng, median: f64, sigma_log10: f64) -> f64 {
    median * exp2(sigma_log10 * normalish(rng) * std::f64::consts::LOG2_10)
}

/// Confidence in `lo..hi`, rounded to two decimals.
pub(super) fn confidence(rng: &mut ChaCha20Rng, lo: f64, hi: f64) -> f64 {
    (uniform(rng, lo, hi) * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------
// Calendar helpers
// ---------------------------------------------------------------------------

/// Months since year 0: `year × 12 + month0`.
pub(super) fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

pub(super) fn month_first(m: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        .expect("demo dates stay within chrono's range")
}

pub(super) fn month_last(m: i32) -> NaiveDate {
    month_first(m + 1)
        .pred_opt()
        .expect("demo dates stay within chrono's range")
}

/// Dates every batch shares.
pub(super) struct Calendar {
    pub(super) today: NaiveDate,
    pub(super) today_month: i32,
    /// 36 months before today: the earliest start date.
    pub(super) window_start: NaiveDate,
    /// Days from `window_start` to `today`.
    pub(super) span_days: u32,
}

impl Calendar {
    pub(super) fn new(today: NaiveDate) -> Self {
        let window_start = today
            .checked_sub_months(Months::new(36))
            .expect("demo dates stay within chrono's range");
        Calendar {
            today,
            today_month: month_index(today),
            window_start,
            span_days: (today - window_start).num_days() as u32,
        }
    }

    /// `window_start + offset` days.
    pub(super) fn day(&self, offset: u32) -> NaiveDate {
        self.window_start + Days::new(u64::from(offset))
    }

    /// The period for month `m` of a pilot that started on `started_on`:
    /// clipped to start no earlier than the pilot and end no later than today.
    pub(super) fn period(&self, m: i32, started_on: NaiveDate) -> (NaiveDate, NaiveDate) {
        (month_first(m).max(started_on), month_last(m).min(self.today))
    }
}
