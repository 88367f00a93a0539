//! The hyperscalers' side of the gap, computed beside Cahn's run-rate
//! arithmetic: depreciation by capex vintage and the revenue it requires,
//! capital intensity, capex–revenue growth divergence, the funding gap, and
//! payback per vintage. Pure functions over year series; no scenario logic.

use serde::Serialize;

/// Capex by vintage year over `first ..= first + capex.len() - 1`.
pub(super) struct Vintages {
    pub first: i32,
    pub capex: Vec<f64>,
}

/// Share of a vintage's cost depreciated in its `k`-th year (0 = the year it
/// is spent): straight line over `life` years, full-year convention, a
/// fractional life ending with a part year. The shares sum to 1.
pub(super) fn depreciation_share(k: i32, life: f64) -> f64 {
    if k < 0 {
        return 0.0;
    }
    (life - f64::from(k)).clamp(0.0, 1.0) / life
}

impl Vintages {
    /// Capex of vintage `year` (0 outside the series).
    pub fn at(&self, year: i32) -> f64 {
        usize::try_from(year - self.first)
            .ok()
            .and_then(|i| self.capex.get(i))
            .copied()
            .unwrap_or(0.0)
    }

    /// Depreciation charged in `year` and the net book value at its start
    /// (cost less depreciation of earlier years), summed over vintages.
    pub fn depreciation(&self, year: i32, life: f64) -> (f64, f64) {
        let mut dep = 0.0;
        let mut opening = 0.0;
        for (i, c) in self.capex.iter().enumerate() {
            let k = year - (self.first + i as i32);
            if k < 0 {
                break;
            }
            dep += c * depreciation_share(k, life);
            opening += c * (1.0 - f64::from(k) / life).max(0.0);
        }
        (dep, opening)
    }
}

/// How a vintage's payback came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaybackStatus {
    /// Its share of cash covered its cost within its useful life.
    PaidBack,
    /// Its useful life ended first.
    NotWithinUsefulLife,
    /// The horizon ended before either.
    BeyondHorizon,
    /// The vintage cost nothing.
    NoCapex,
}

/// Payback of one capex vintage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payback {
    /// The year the capex was spent.
    pub vintage: i32,
    /// Its capex, $bn.
    pub capex_usd_bn: f64,
    /// Years from the start of the vintage year until its cash covers its
    /// cost (fraction of the last year interpolated), or `null`.
    pub payback_years: Option<f64>,
    /// Cash allocated to it ÷ its cost, up to payback, the end of its life or
    /// the horizon.
    pub recovered_share: f64,
    /// Which of those ended the count.
    pub status: PaybackStatus,
}

/// Payback of every vintage in `from ..= to`. `cash(year)` is the revenue
/// that pays for infrastructure that year (revenue × (1 − margin) ÷ cost
/// multiplier: Cahn's required revenue read backwards), for years
/// `from ..= to`; each year's cash is shared among vintages in proportion to
/// their depreciation charge that year (the capacity they provide).
pub(super) fn payback(v: &Vintages, life: f64, from: i32, to: i32, cash: impl Fn(i32) -> f64) -> Vec<Payback> {
    (from..=to)
        .map(|vintage| {
            let cost = v.at(vintage);
            let mut out = Payback {
                vintage,
                capex_usd_bn: cost,
                payback_years: None,
                recovered_share: 0.0,
                status: PaybackStatus::NoCapex,
            };
            if cost <= 0.0 {
                return out;
            }
            let mut recovered = 0.0;
            out.status = PaybackStatus::NotWithinUsefulLife;
            let mut k = 0;
            while f64::from(k) < life {
                let year = vintage + k;
                if year > to {
                    out.status = PaybackStatus::BeyondHorizon;
                    break;
                }
                let (total, _) = v.depreciation(year, life);
                let own = cost * depreciation_share(k, life);
                let share = if total > 0.0 { cash(year) * own / total } else { 0.0 };
                if share > 0.0 && recovered + share >= cost {
                    out.payback_years = Some(f64::from(k) + (cost - recovered) / share);
                    recovered = cost;
                    out.status = PaybackStatus::PaidBack;
                    break;
                }
                recovered += share;
                k += 1;
            }
            out.recovered_share = recovered / cost;
            out
        })
        .collect()
}

/// `now ÷ before − 1`, or `None` when `before` is not positive.
pub(super) fn growth(before: f64, now: f64) -> Option<f64> {
    (before > 0.0).then(|| now / before - 1.0)
}
