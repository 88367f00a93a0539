//! Synthetic but realistic demo data for `pilotledger demo seed`, the tests and
//! the benchmarks: organisations, their AI pilots, spend and impact ledger
//! entries, and the FX rates needed to convert every entry to USD.
//!
//! # Determinism and streaming
//!
//! Nothing here reads a clock, the environment or a global RNG: the output is a
//! function of [`DemoConfig`] alone. Each organisation is generated on its own by
//! [`org_batch`], from `(seed, index)` only (not from `orgs`, and not from any
//! other organisation), so a caller can stream batches one at a time, in any
//! order or in parallel, and hold only one [`OrgBatch`] per worker in memory
//! (about `pilots_per_org × 10` entries). [`fx_rates`] is independent of the
//! batches and small (one month-end rate per currency and month, ~380 rows).
//!
//! # Seed derivation
//!
//! Every random draw comes from `rand_chacha::ChaCha20Rng` (rand_chacha 0.9),
//! created with `ChaCha20Rng::from_seed(key)` and then `set_stream(stream)`:
//!
//! - `key` (32 bytes) = `seed.to_le_bytes()` (8 bytes) followed by the 24-byte
//!   tag `b"pilotledger-demo-v2\0\0\0\0\0"`;
//! - `stream` = `index as u64` for organisation `index`, and `2^32` (beyond any
//!   `u32` index) for [`fx_rates`].
//!
//! ChaCha's 2^64 streams per key are independent, so batch `i` never shares
//! random numbers with batch `j` or with the FX walk. Values are then drawn in
//! program order with rand 0.9 (`random::<f64>()`, `random_bool`,
//! `random_range` on `u32`). Sampling uses only IEEE-754 `+ − × ÷`, `floor`,
//! `round` and exact powers of two — never `exp`/`ln`/`powf`, whose last bit
//! varies between platforms' maths libraries — so a seed gives the same data on
//! every platform. Any change to the generator that alters its output must bump
//! [`GENERATOR_VERSION`] (and the tag above), so benchmark data sets stay
//! identifiable.
//!
//! # Realism parameters
//!
//! Dates are relative to `today`; the window is the 36 months before it.
//!
//! - **Organisations**: all 14 industries (financials, IT and industrials
//!   weighted up); size bands skewed large (`lt250` 8%, `250_999` 17%,
//!   `1000_9999` 35%, `10000_plus` 40%); 15 regions with their reporting
//!   currencies, relative weights US 30, GB 8, DE 8, JP 7, FR 6, IN 6, CA 5,
//!   AU 4, BR 4, NL/IT/ES/CH/SG 3 each, BH 1; in every block of 40 indices,
//!   slot 1 is forced to Bahrain (BHD, 3 decimals) and slot 2 to Japan (JPY,
//!   0 decimals). Names are synthetic (`"Org 0042 Cobalt Harbour Ltd"`:
//!   index, two neutral words, the region's legal form). Each organisation
//!   draws an effect on the log-odds of its pilots' success, 1.5 × an
//!   approximately standard normal (Irwin–Hall of four uniforms, so within
//!   ±5.2) minus 0.8, which keeps the average success share near the base
//!   curve: companies that measure well (+2 SD: odds × 9) and companies
//!   that practically never do (−2 SD: odds × 0.02). It also draws its own
//!   trend, 0.8 × another such normal in log-odds per year around the
//!   window's middle: some companies learn to measure, others drift. Outcomes
//!   cluster within organisations as strongly as real portfolios' do, which
//!   is what the cluster bootstrap and the cluster-robust trends are for
//!   (issue 30; v1 scaled the probability by a uniform 0.6–1.4, which hid the
//!   clustering: robust and naive trend standard errors agreed).
//! - **Pilots**: started over the window, 60% uniformly and 40% skewed to
//!   recent dates (adoption grows); functions weighted towards customer
//!   service, sales and software; sourcing built 45% / bought 35% /
//!   partnered 20%; AI kind drifts from predictive ML towards agentic GenAI.
//!   Evaluation comes 60–300 days after the start (triangular, mean ~6
//!   months); 10% of pilots are never evaluated ("pilot purgatory"), so ~90%
//!   of pilots older than a year are evaluated and none younger than 60 days.
//!   Unevaluated pilots are `proposed` (half of those under 45 days old, 3% of
//!   older ones) or `piloting`. Names, owner teams, tags and `FIN-1234`-style
//!   references come from per-function lists.
//! - **Outcomes** of evaluated pilots: success with probability
//!   `b = 0.03 + 0.02·t` for built pilots and `2b` for bought and partnered
//!   ones, `t` being the evaluation date in years since the window start,
//!   turned into odds `b/(1 − b)`, multiplied by the organisation's
//!   `exp(effect + trend·(t − 1.5))` and back (`odds/(1 + odds)`), at most 0.6: about 95%
//!   zero-impact in the oldest quarter, falling a few points a year. A success logs 1–4 monthly impact entries,
//!   `measured = true`, with one rigorous method per pilot (controlled
//!   experiment 30%, difference in differences 25%, before/after 45%),
//!   confidence 0.60–0.95 and positive amounts (median $40k × size factor),
//!   in periods from 2 months before to 4 months after the evaluation month
//!   (inside the default 6-month window). A failure logs nothing (50%);
//!   estimated impact (35%: a model estimate with `measured = false`, a
//!   self-reported claim flagged measured 60% of the time, which the
//!   definition excludes anyway, or a rigorous method used as an unmeasured
//!   forecast); measured negative impact (8%); or (7%) measured positive
//!   impact that only arrives 7–11 months after evaluation — zero-impact with
//!   the default 6-month window, not with a 12-month one (if those months have
//!   not happened yet, nothing). Successes end `production` 55% / `scaled` 35%
//!   / still `piloting` 10%, failures `abandoned` 60% / `production` 30% /
//!   `piloting` 10%; 15% of `production` and `abandoned` pilots leave
//!   `evaluated_on` empty, their evaluation date being the stage entry date.
//!   10% of running pilots log one forecast.
//! - **Spend**: 3–12 entries per pilot (mean ~9, so ~10 entries per pilot in
//!   all), monthly periods from the start through the evaluation (abandoned),
//!   2–9 months past it (kept) or today (running); categories weighted by
//!   sourcing (built: labour and compute; bought: licences; partnered:
//!   external services); amounts log-normal-ish, median ~$12k per entry times
//!   the size factor (0.3 for `lt250` to 1.8 for `10000_plus`), clamped to
//!   $1k–$500k, converted at the nominal rate into the organisation's
//!   currency, or USD for half of bought licences and some cloud and partner
//!   invoices; licences and partner invoices are whole hundreds; capex for 35%
//!   of infrastructure and 3% of the rest.
//! - **FX**: month-end rates from the end of the month 37 months before
//!   `today` through `today`, for every non-USD currency above: a
//!   mean-reverting random walk around 2024–25 levels (1–3% a month; BHD,
//!   being pegged, barely moves), six significant digits. USD gets no rows: it
//!   is the quote currency, rate 1 by definition.

use chrono::{Datelike, Days, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::domain::currency::Currency;
use crate::domain::entries::EntryKind;
use crate::domain::enums::{
    AiKind, AttributionMethod, BusinessFunction, ImpactKind, Industry, SizeBand, Sourcing, SpendCategory, Stage,
};
use crate::domain::fx::FxRate;

mod pilots;
mod sampling;
mod tables;

pub use pilots::org_batch;
use sampling::*;
use tables::*;

/// Version of the generator's output; bumped whenever the same seed would
/// produce different data. Part of the ChaCha key tag.
pub const GENERATOR_VERSION: u32 = 2;

/// The 24 key bytes after the seed (see the module docs).
const KEY_TAG: &[u8; 24] = b"pilotledger-demo-v2\0\0\0\0\0";

/// ChaCha stream used by [`fx_rates`]; organisation streams are `0..2^32`.
const FX_STREAM: u64 = 1 << 32;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of organisations (indices `0..orgs`).
    pub orgs: u32,
    /// Pilots generated for every organisation.
    pub pilots_per_org: u32,
    /// The seed; the same seed and `today` give the same data.
    pub seed: u64,
    /// The "current" date: every date generated is on or before it, and pilots
    /// start in the 36 months before it.
    pub today: NaiveDate,
}

/// A synthetic organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOrg {
    /// Position in `0..orgs`; the name embeds it.
    pub index: u32,
    /// Synthetic name, e.g. `"Org 0042 Cobalt Harbour Ltd"`.
    pub name: String,
    /// Sector.
    pub industry: Industry,
    /// Employee size band.
    pub size_band: SizeBand,
    /// ISO 3166-1 alpha-2 region code.
    pub region: &'static str,
    /// The region's currency.
    pub reporting_currency: Currency,
}

/// A synthetic pilot of one organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoPilot {
    /// Name, unique within the organisation (ends in `#n`).
    pub name: String,
    /// Business function served.
    pub business_function: BusinessFunction,
    /// Built, bought or partnered.
    pub sourcing: Sourcing,
    /// Kind of AI.
    pub ai_kind: AiKind,
    /// Current stage.
    pub stage: Stage,
    /// When the pilot entered `stage` (≥ `started_on`, ≤ today).
    pub stage_entered_on: NaiveDate,
    /// Start date, within the 36 months before today.
    pub started_on: NaiveDate,
    /// When the team judged the outcome; `None` while it runs, and for some
    /// production/abandoned pilots whose evaluation date is `stage_entered_on`.
    pub evaluated_on: Option<NaiveDate>,
    /// Owning team.
    pub owner_team: String,
    /// 0–4 distinct short tags.
    pub tags: Vec<String>,
    /// Ticket-style reference, unique within the organisation.
    pub external_ref: String,
}

impl DemoPilot {
    /// Its evaluation date (docs/DEFINITIONS.md#evaluated); `None` while running.
    pub fn evaluation_date(&self) -> Option<NaiveDate> {
        crate::domain::pilots::evaluation_date(self.evaluated_on, self.stage, Some(self.stage_entered_on))
    }
}

/// One ledger entry of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoEntry {
    /// Index into the batch's `pilots`.
    pub pilot: usize,
    /// Spend or impact details.
    pub kind: EntryKind,
    /// An impact's confidence, 0–1 with two decimals; `None` on spend.
    pub confidence: Option<f64>,
    /// First day of the period (≥ the pilot's start).
    pub period_start: NaiveDate,
    /// Last day of the period (≥ `period_start`, ≤ today).
    pub period_end: NaiveDate,
    /// Exact amount in minor units of `currency` (spend is positive).
    pub amount_minor: i64,
    /// Currency of the amount: the organisation's, or USD.
    pub currency: Currency,
    /// Spend note or impact evidence.
    pub note: String,
}

/// Everything generated for one organisation.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgBatch {
    /// The organisation.
    pub org: DemoOrg,
    /// Its pilots, `pilots_per_org` of them.
    pub pilots: Vec<DemoPilot>,
    /// Their entries, grouped by pilot in pilot order, spend before impact.
    pub entries: Vec<DemoEntry>,
}

/// A month-end FX rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoRate {
    /// The currency quoted (never USD).
    pub currency: Currency,
    /// A month end, on or before today.
    pub date: NaiveDate,
    /// USD per unit of `currency`, six significant digits.
    pub rate_to_usd: FxRate,
}

/// Total pilots the configuration generates (`orgs × pilots_per_org`).
pub fn pilot_count(cfg: &DemoConfig) -> u64 {
    u64::from(cfg.orgs) * u64::from(cfg.pilots_per_org)
}

/// Month-end FX rates to USD for every non-USD currency the demo uses, from
/// the end of the month 37 months before `cfg.today` to the last month end on
/// or before it, sorted by currency then date. Deterministic from `cfg.seed`
/// and `cfg.today` (stream `2^32`, see the module docs): a mean-reverting
/// random walk around nominal levels. USD itself gets no rows.
pub fn fx_rates(cfg: &DemoConfig) -> Vec<DemoRate> {
    let mut rng = rng_for(cfg.seed, FX_STREAM);
    let last = month_index(cfg.today);
    let first = last - 37;
    let mut out = Vec::with_capacity(FX.len() * 38);
    for (code, nominal, decimals, vol) in FX {
        let currency = Currency::parse(code).expect("demo currencies are ISO 4217");
        let mut rate = nominal * (1.0 + 2.0 * vol * normalish(&mut rng));
        for m in first..=last {
            rate += 0.1 * (nominal - rate);
            rate *= 1.0 + vol * normalish(&mut rng);
            let date = month_last(m);
            if date > cfg.today {
                continue;
            }
            out.push(DemoRate {
                currency,
                date,
                rate_to_usd: fx_rate(rate, decimals),
            });
        }
    }
    out
}

/// `rate` rounded to `decimals` places, as an exact [`FxRate`].
fn fx_rate(rate: f64, decimals: u32) -> FxRate {
    let unit = 10u64.pow(decimals);
    let digits = ((rate * unit as f64).round() as u64).max(1);
    let text = format!("{}.{:0width$}", digits / unit, digits % unit, width = decimals as usize);
    FxRate::parse(&text).expect("a positive decimal with at most 12 places")
}

#[cfg(test)]
mod tests;
