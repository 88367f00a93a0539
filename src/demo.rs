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

// ---------------------------------------------------------------------------
// Reference tables
// ---------------------------------------------------------------------------

/// A region: code, currency code, sampling weight, legal-form suffix.
struct Region {
    code: &'static str,
    currency: &'static str,
    weight: u32,
    suffix: &'static str,
}

#[rustfmt::skip]
const REGIONS: [Region; 15] = [
    Region { code: "US", currency: "USD", weight: 30, suffix: "Inc." },
    Region { code: "GB", currency: "GBP", weight: 8, suffix: "Ltd" },
    Region { code: "DE", currency: "EUR", weight: 8, suffix: "GmbH" },
    Region { code: "FR", currency: "EUR", weight: 6, suffix: "SA" },
    Region { code: "NL", currency: "EUR", weight: 3, suffix: "B.V." },
    Region { code: "IT", currency: "EUR", weight: 3, suffix: "S.p.A." },
    Region { code: "ES", currency: "EUR", weight: 3, suffix: "S.L." },
    Region { code: "JP", currency: "JPY", weight: 7, suffix: "K.K." },
    Region { code: "CH", currency: "CHF", weight: 3, suffix: "AG" },
    Region { code: "CA", currency: "CAD", weight: 5, suffix: "Corp." },
    Region { code: "AU", currency: "AUD", weight: 4, suffix: "Pty Ltd" },
    Region { code: "IN", currency: "INR", weight: 6, suffix: "Pvt Ltd" },
    Region { code: "BR", currency: "BRL", weight: 4, suffix: "Ltda." },
    Region { code: "SG", currency: "SGD", weight: 3, suffix: "Pte Ltd" },
    Region { code: "BH", currency: "BHD", weight: 1, suffix: "W.L.L." },
];

/// Index into [`REGIONS`] of Bahrain and Japan, forced in every block of 40.
const BH: usize = 14;
const JP: usize = 7;

/// Non-USD currencies: code, nominal USD per unit, decimals kept in the
/// rate, monthly volatility of the walk.
#[rustfmt::skip]
const FX: [(&str, f64, u32, f64); 10] = [
    ("AUD", 0.66, 6, 0.020), ("BHD", 2.659574, 6, 0.0002), ("BRL", 0.185, 7, 0.030),
    ("CAD", 0.73, 6, 0.012), ("CHF", 1.13, 6, 0.015), ("EUR", 1.09, 6, 0.015),
    ("GBP", 1.27, 6, 0.015), ("INR", 0.0119, 8, 0.008), ("JPY", 0.0067, 8, 0.020),
    ("SGD", 0.745, 6, 0.010),
];

#[rustfmt::skip]
const INDUSTRIES: [(Industry, u32); 14] = [
    (Industry::Energy, 5), (Industry::Materials, 4), (Industry::Industrials, 10),
    (Industry::ConsumerDiscretionary, 8), (Industry::ConsumerStaples, 6),
    (Industry::HealthCare, 9), (Industry::Financials, 14),
    (Industry::InformationTechnology, 13), (Industry::CommunicationServices, 6),
    (Industry::Utilities, 4), (Industry::RealEstate, 3), (Industry::PublicSector, 7),
    (Industry::Education, 4), (Industry::Other, 3),
];

/// Size band, weight, multiplier on money amounts.
#[rustfmt::skip]
const SIZES: [(SizeBand, u32, f64); 4] = [
    (SizeBand::Lt250, 8, 0.3), (SizeBand::B250To999, 17, 0.6),
    (SizeBand::B1000To9999, 35, 1.0), (SizeBand::B10000Plus, 40, 1.8),
];

const NAME_WORDS_A: [&str; 24] = [
    "Amber", "Basalt", "Cobalt", "Copper", "Coral", "Crimson", "Ember", "Flint", "Granite", "Harbour", "Indigo",
    "Juniper", "Kestrel", "Larch", "Marble", "Meadow", "Obsidian", "Quartz", "Saffron", "Sable", "Tamarind", "Umber",
    "Willow", "Zephyr",
];
const NAME_WORDS_B: [&str; 16] = [
    "Analytics",
    "Bay",
    "Bridge",
    "Crest",
    "Fields",
    "Forge",
    "Harbour",
    "Holdings",
    "Industries",
    "Lane",
    "Mills",
    "Point",
    "Ridge",
    "Trust",
    "Vale",
    "Works",
];

/// Function, weight, external-ref prefix, pilot name templates, owner teams.
type FunctionRow = (
    BusinessFunction,
    u32,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const FUNCTIONS: [FunctionRow; 10] = [
    (
        BusinessFunction::CustomerService,
        16,
        "CS",
        &[
            "Ticket triage assistant",
            "Agent reply copilot",
            "Returns chatbot",
            "Call summarisation",
            "Self-service deflection bot",
        ],
        &["Customer Care Ops", "Contact Centre", "Support Tooling"],
    ),
    (
        BusinessFunction::SalesMarketing,
        14,
        "MKT",
        &[
            "Campaign copy generator",
            "Lead scoring model",
            "Proposal drafting agent",
            "Churn propensity model",
            "Product description writer",
        ],
        &["Growth Marketing", "Sales Ops", "Revenue Analytics"],
    ),
    (
        BusinessFunction::SoftwareEngineering,
        14,
        "ENG",
        &[
            "Code assistant rollout",
            "Test generation agent",
            "Code review bot",
            "Legacy migration assistant",
            "Incident postmortem writer",
        ],
        &["Platform Engineering", "Developer Productivity", "Core Services"],
    ),
    (
        BusinessFunction::ItOperations,
        10,
        "ITO",
        &[
            "Alert correlation model",
            "Service desk agent",
            "Capacity forecasting",
            "Runbook automation agent",
        ],
        &["IT Service Management", "Infrastructure Ops", "SRE"],
    ),
    (
        BusinessFunction::FinanceAccounting,
        10,
        "FIN",
        &[
            "Invoice triage agent",
            "Cash forecasting model",
            "Expense audit assistant",
            "Close commentary drafting",
            "Reconciliation matcher",
        ],
        &["Accounts Payable", "FP&A", "Financial Control"],
    ),
    (
        BusinessFunction::Hr,
        7,
        "HR",
        &[
            "Policy Q&A assistant",
            "Job description writer",
            "Attrition risk model",
            "Onboarding companion",
        ],
        &["People Ops", "Talent Acquisition", "HR Systems"],
    ),
    (
        BusinessFunction::Legal,
        6,
        "LGL",
        &[
            "Contract review assistant",
            "Clause extraction model",
            "Regulatory change tracker",
        ],
        &["Legal Ops", "Commercial Legal", "Compliance"],
    ),
    (
        BusinessFunction::ProcurementSupplyChain,
        8,
        "PSC",
        &[
            "Demand forecasting model",
            "Supplier risk scoring",
            "Purchase order agent",
            "Spend classification",
        ],
        &["Procurement Excellence", "Supply Chain Planning", "Logistics"],
    ),
    (
        BusinessFunction::Rnd,
        8,
        "RND",
        &[
            "Literature review assistant",
            "Experiment design copilot",
            "Materials property model",
            "Patent landscape search",
        ],
        &["Research Informatics", "Product R&D", "Innovation Lab"],
    ),
    (
        BusinessFunction::Other,
        7,
        "GEN",
        &[
            "Enterprise search assistant",
            "Meeting notes copilot",
            "Document translation",
            "Knowledge base chatbot",
        ],
        &["Digital Office", "Enterprise Architecture", "AI Centre of Excellence"],
    ),
];

const SOURCING: [(Sourcing, u32); 3] = [(Sourcing::Built, 45), (Sourcing::Bought, 35), (Sourcing::Partnered, 20)];

const TAGS: [&str; 14] = [
    "cost-out",
    "growth",
    "regulated",
    "customer-facing",
    "internal",
    "quick-win",
    "board-priority",
    "poc",
    "rag",
    "forecasting",
    "automation",
    "eu-ai-act",
    "data-foundation",
    "hackathon",
];

/// Spend category weights for built, bought and partnered pilots.
#[rustfmt::skip]
const CATEGORIES: [[(SpendCategory, u32); 8]; 3] = [
    [(SpendCategory::InternalLabour, 30), (SpendCategory::ComputeInference, 20),
     (SpendCategory::Infrastructure, 15), (SpendCategory::Data, 12),
     (SpendCategory::ExternalServices, 5), (SpendCategory::Licences, 8),
     (SpendCategory::ChangeManagement, 6), (SpendCategory::Other, 4)],
    [(SpendCategory::Licences, 40), (SpendCategory::InternalLabour, 15),
     (SpendCategory::ExternalServices, 10), (SpendCategory::ComputeInference, 8),
     (SpendCategory::Infrastructure, 5), (SpendCategory::Data, 5),
     (SpendCategory::ChangeManagement, 12), (SpendCategory::Other, 5)],
    [(SpendCategory::ExternalServices, 40), (SpendCategory::Licences, 10),
     (SpendCategory::InternalLabour, 15), (SpendCategory::ComputeInference, 10),
     (SpendCategory::Infrastructure, 5), (SpendCategory::Data, 8),
     (SpendCategory::ChangeManagement, 8), (SpendCategory::Other, 4)],
];

/// Typical size of one month's spend in a category, relative to the pilot's
/// scale, and whether its invoices are whole hundreds.
fn category_profile(c: SpendCategory) -> (f64, bool, &'static [&'static str]) {
    match c {
        SpendCategory::Licences => (1.0, true, &["Vendor seats", "Platform subscription", "API plan"]),
        SpendCategory::ComputeInference => (0.6, false, &["Inference usage", "GPU hours", "Token usage"]),
        SpendCategory::Infrastructure => (1.3, false, &["Vector database", "Hosting", "Network and storage"]),
        SpendCategory::InternalLabour => (1.5, false, &["Engineering time", "Analyst time", "Product owner time"]),
        SpendCategory::ExternalServices => (
            1.6,
            true,
            &["Integrator invoice", "Consulting sprint", "Partner milestone"],
        ),
        SpendCategory::Data => (0.7, false, &["Data labelling", "Data licence", "Data cleaning"]),
        SpendCategory::ChangeManagement => (
            0.5,
            false,
            &["Training sessions", "Change champions", "Process redesign"],
        ),
        SpendCategory::Other => (0.4, false, &["Travel", "Security review", "Miscellaneous"]),
    }
}

// ---------------------------------------------------------------------------
// Deterministic sampling helpers (no platform-dependent maths)
// ---------------------------------------------------------------------------

/// The generator for one stream (see the module docs).
fn rng_for(seed: u64, stream: u64) -> ChaCha20Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..].copy_from_slice(KEY_TAG);
    let mut rng = ChaCha20Rng::from_seed(key);
    rng.set_stream(stream);
    rng
}

/// Picks an item with probability proportional to its weight.
fn pick<T: Copy>(rng: &mut ChaCha20Rng, items: &[(T, u32)]) -> T {
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
fn pick_str(rng: &mut ChaCha20Rng, items: &'static [&'static str]) -> &'static str {
    items[rng.random_range(0..items.len() as u32) as usize]
}

/// Uniform integer in `lo..=hi`.
fn between(rng: &mut ChaCha20Rng, lo: u32, hi: u32) -> u32 {
    rng.random_range(lo..=hi)
}

/// Uniform `f64` in `lo..hi`.
fn uniform(rng: &mut ChaCha20Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Bounded approximately standard normal value: Irwin–Hall sum of four
/// uniforms, rescaled to variance 1 (support ±3.46).
fn normalish(rng: &mut ChaCha20Rng) -> f64 {
    let s: f64 = (0..4).map(|_| rng.random::<f64>()).sum();
    (s - 2.0) * 1.732_050_807_568_877_2
}

/// `2^x` from exact powers of two and a degree-7 Taylor polynomial (relative
/// error < 2e-6), using only basic IEEE operations so it is bit-identical on
/// every platform. For sampling only.
fn exp2(x: f64) -> f64 {
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
fn log_normal(rng: &mut ChaCha20Rng, median: f64, sigma_log10: f64) -> f64 {
    median * exp2(sigma_log10 * normalish(rng) * std::f64::consts::LOG2_10)
}

/// Confidence in `lo..hi`, rounded to two decimals.
fn confidence(rng: &mut ChaCha20Rng, lo: f64, hi: f64) -> f64 {
    (uniform(rng, lo, hi) * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------
// Calendar helpers
// ---------------------------------------------------------------------------

/// Months since year 0: `year × 12 + month0`.
fn month_index(d: NaiveDate) -> i32 {
    d.year() * 12 + d.month0() as i32
}

fn month_first(m: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        .expect("demo dates stay within chrono's range")
}

fn month_last(m: i32) -> NaiveDate {
    month_first(m + 1)
        .pred_opt()
        .expect("demo dates stay within chrono's range")
}

/// Dates every batch shares.
struct Calendar {
    today: NaiveDate,
    today_month: i32,
    /// 36 months before today: the earliest start date.
    window_start: NaiveDate,
    /// Days from `window_start` to `today`.
    span_days: u32,
}

impl Calendar {
    fn new(today: NaiveDate) -> Self {
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
    fn day(&self, offset: u32) -> NaiveDate {
        self.window_start + Days::new(u64::from(offset))
    }

    /// The period for month `m` of a pilot that started on `started_on`:
    /// clipped to start no earlier than the pilot and end no later than today.
    fn period(&self, m: i32, started_on: NaiveDate) -> (NaiveDate, NaiveDate) {
        (month_first(m).max(started_on), month_last(m).min(self.today))
    }
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// Success probability of a built pilot at the window start, and its rise per
/// year; bought and partnered pilots succeed twice as often.
const SUCCESS_BASE: f64 = 0.03;
const SUCCESS_PER_YEAR: f64 = 0.02;
/// SD of an organisation's effect on the log-odds of success.
const ORG_EFFECT_SD: f64 = 1.5;
/// Subtracted from every organisation's effect: E[exp(1.5·Z)] ≈ 3, so
/// without it the average success share would triple; 0.8 keeps it near
/// the base curve for base probabilities of 0.05–0.1.
const ORG_EFFECT_SHIFT: f64 = 0.8;
/// SD of an organisation's own trend in the log-odds of success, per year,
/// centred on the middle of the 3-year window.
const ORG_TREND_SD: f64 = 0.8;

/// How an evaluated pilot turned out (drives its stage and impact entries).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Running,
    Success,
    NoImpact,
    Estimated,
    Negative,
    Late,
}

/// Per-organisation state the pilots need.
struct OrgCtx {
    currency: Currency,
    /// Multiplier on USD-equivalent amounts (size band).
    size: f64,
    /// Multiplier on the odds of success: exp of the organisation effect.
    success_odds: f64,
    /// The organisation's own change in the log-odds of success per year.
    trend_per_year: f64,
    /// Units of the organisation's currency per USD (nominal).
    per_usd: f64,
    /// Base of the external references.
    ref_base: u32,
}

/// Local units per USD and the currency, for a code in [`FX`] or USD.
fn nominal_per_usd(code: &str) -> f64 {
    FX.iter()
        .find(|(c, ..)| *c == code)
        .map_or(1.0, |(_, usd_per_unit, ..)| 1.0 / usd_per_unit)
}

/// Converts a USD-equivalent amount into minor units of `currency`
/// (`per_usd` local units per USD), optionally rounded to whole hundreds.
fn to_minor(usd: f64, currency: Currency, per_usd: f64, hundreds: bool) -> i64 {
    let local = usd * per_usd;
    let unit = 10f64.powi(currency.exponent() as i32);
    if hundreds {
        ((local / 100.0).round().max(1.0) * 100.0 * unit) as i64
    } else {
        (local * unit).round() as i64
    }
}

/// Deterministically generates organisation `index` with its pilots and
/// entries, from `cfg.seed`, `cfg.today`, `cfg.pilots_per_org` and `index`
/// only (stream `index` of the seed's key, see the module docs).
pub fn org_batch(cfg: &DemoConfig, index: u32) -> OrgBatch {
    let mut rng = rng_for(cfg.seed, u64::from(index));
    let cal = Calendar::new(cfg.today);

    let region = match index % 40 {
        1 => &REGIONS[BH],
        2 => &REGIONS[JP],
        _ => {
            let weights: [(usize, u32); 15] = std::array::from_fn(|i| (i, REGIONS[i].weight));
            &REGIONS[pick(&mut rng, &weights)]
        }
    };
    let currency = Currency::parse(region.currency).expect("region currencies are ISO 4217");
    let industry = pick(&mut rng, &INDUSTRIES);
    let size_weights: [((SizeBand, f64), u32); 4] = SIZES.map(|(b, w, m)| ((b, m), w));
    let (size_band, size) = pick(&mut rng, &size_weights);
    let a = NAME_WORDS_A[rng.random_range(0..NAME_WORDS_A.len() as u32) as usize];
    let b = NAME_WORDS_B[rng.random_range(0..NAME_WORDS_B.len() as u32) as usize];
    let org = DemoOrg {
        index,
        name: format!("Org {index:04} {a} {b} {}", region.suffix),
        industry,
        size_band,
        region: region.code,
        reporting_currency: currency,
    };
    let ctx = OrgCtx {
        currency,
        size,
        success_odds: exp2((ORG_EFFECT_SD * normalish(&mut rng) - ORG_EFFECT_SHIFT) * std::f64::consts::LOG2_E),
        trend_per_year: ORG_TREND_SD * normalish(&mut rng),
        per_usd: nominal_per_usd(region.currency),
        ref_base: between(&mut rng, 100, 8_999),
    };

    let n = cfg.pilots_per_org as usize;
    let mut pilots = Vec::with_capacity(n);
    let mut entries = Vec::with_capacity(n * 10);
    for k in 0..cfg.pilots_per_org {
        let pilot = gen_pilot(&mut rng, &cal, &ctx, k, pilots.len(), &mut entries);
        pilots.push(pilot);
    }
    OrgBatch { org, pilots, entries }
}

/// Generates pilot number `k` (at position `ix` of the batch), appending its
/// entries to `entries`.
fn gen_pilot(
    rng: &mut ChaCha20Rng,
    cal: &Calendar,
    ctx: &OrgCtx,
    k: u32,
    ix: usize,
    entries: &mut Vec<DemoEntry>,
) -> DemoPilot {
    let (function, _, prefix, names, teams) = FUNCTIONS[pick(rng, &FUNCTION_WEIGHTS)];
    let sourcing = pick(rng, &SOURCING);

    // Start date: 60% uniform over the window, 40% skewed towards today.
    let mut u = rng.random::<f64>();
    if rng.random_bool(0.4) {
        u = u.max(rng.random::<f64>());
    }
    let offset = ((u * f64::from(cal.span_days + 1)) as u32).min(cal.span_days);
    let started_on = cal.day(offset);
    let age = cal.span_days - offset;
    let years_in = f64::from(offset) / 365.25;

    // AI kind drifts from predictive ML towards agentic GenAI.
    let agentic = 4 + (8.0 * years_in) as u32;
    let predictive = 40 - (8.0 * years_in) as u32;
    let ai_kind = pick(
        rng,
        &[
            (AiKind::GenaiAssistant, 36),
            (AiKind::GenaiAgentic, agentic),
            (AiKind::PredictiveMl, predictive),
            (AiKind::Other, 10),
        ],
    );

    // Evaluation 60..=300 days after the start, unless stuck in pilot purgatory.
    let eval_after = 60 + (120.0 * (rng.random::<f64>() + rng.random::<f64>())) as u32;
    let stuck = rng.random_bool(0.10);
    let evaluated = !stuck && eval_after <= age;
    let eval_offset = offset + eval_after;
    let eval_date = cal.day(eval_offset.min(cal.span_days));
    let eval_month = month_index(eval_date);

    let outcome = if !evaluated {
        Outcome::Running
    } else {
        let t = f64::from(eval_offset) / 365.25;
        let built = SUCCESS_BASE + SUCCESS_PER_YEAR * t;
        let base = match sourcing {
            Sourcing::Built => built,
            Sourcing::Bought | Sourcing::Partnered => 2.0 * built,
        };
        let own = exp2(ctx.trend_per_year * (t - 1.5) * std::f64::consts::LOG2_E);
        let odds = base / (1.0 - base) * ctx.success_odds * own;
        let p = odds / (1.0 + odds);
        if rng.random_bool(p.min(0.6)) {
            Outcome::Success
        } else {
            let r = rng.random::<f64>();
            if r < 0.50 {
                Outcome::NoImpact
            } else if r < 0.85 {
                Outcome::Estimated
            } else if r < 0.93 {
                Outcome::Negative
            } else if eval_month + 7 <= cal.today_month {
                Outcome::Late
            } else {
                Outcome::NoImpact
            }
        }
    };

    // Stage, stage entry and evaluated_on.
    let days_left = cal.span_days - eval_offset.min(cal.span_days);
    let (stage, stage_entered_on, evaluated_on) = if outcome == Outcome::Running {
        let proposed = if age < 45 {
            rng.random_bool(0.5)
        } else {
            rng.random_bool(0.03)
        };
        if proposed {
            (Stage::Proposed, started_on, None)
        } else {
            let entered = offset + between(rng, 0, age.min(30));
            (Stage::Piloting, cal.day(entered), None)
        }
    } else {
        let weights: &[(Stage, u32)] = match outcome {
            Outcome::Success => &[(Stage::Production, 55), (Stage::Scaled, 35), (Stage::Piloting, 10)],
            Outcome::Late => &[(Stage::Production, 60), (Stage::Scaled, 15), (Stage::Piloting, 25)],
            _ => &[(Stage::Abandoned, 60), (Stage::Production, 30), (Stage::Piloting, 10)],
        };
        match pick(rng, weights) {
            Stage::Piloting => {
                let entered = offset + between(rng, 0, 30.min(eval_after));
                (Stage::Piloting, cal.day(entered), Some(eval_date))
            }
            Stage::Scaled if days_left >= 30 => {
                let entered = eval_offset + between(rng, 30, days_left.min(270));
                (Stage::Scaled, cal.day(entered), Some(eval_date))
            }
            Stage::Abandoned if rng.random_bool(0.15) => (Stage::Abandoned, eval_date, None),
            Stage::Abandoned => {
                let entered = eval_offset + between(rng, 0, days_left.min(21));
                (Stage::Abandoned, cal.day(entered), Some(eval_date))
            }
            // Production, or scaled with no time left to scale yet.
            _ if rng.random_bool(0.15) => (Stage::Production, eval_date, None),
            _ => {
                let entered = eval_offset + between(rng, 0, days_left.min(21));
                (Stage::Production, cal.day(entered), Some(eval_date))
            }
        }
    };

    // Descriptive fields.
    let mut tags = Vec::new();
    if matches!(ai_kind, AiKind::GenaiAssistant | AiKind::GenaiAgentic) {
        tags.push("genai".to_owned());
    }
    for _ in 0..between(rng, 0, 3) {
        let tag = pick_str(rng, &TAGS);
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    let pilot = DemoPilot {
        name: format!("{} #{}", pick_str(rng, names), k + 1),
        business_function: function,
        sourcing,
        ai_kind,
        stage,
        stage_entered_on,
        started_on,
        evaluated_on,
        owner_team: pick_str(rng, teams).to_owned(),
        tags,
        external_ref: format!("{prefix}-{}", ctx.ref_base + k),
    };

    // Spend: 3..=12 entries spread over the months the pilot incurred costs.
    let start_month = month_index(started_on);
    let end_month = match (outcome, stage) {
        (Outcome::Running, _) => cal.today_month,
        (_, Stage::Abandoned) => month_index(cal.day(eval_offset + between(rng, 0, days_left.min(30)))),
        _ => (eval_month + between(rng, 2, 9) as i32).min(cal.today_month),
    };
    let months = (end_month - start_month + 1) as u32;
    // 3..=12, skewed up (mean ~9): longer pilots log more months.
    let n_spend = 3 + between(rng, 0, 9).max(between(rng, 0, 9));
    let scale = log_normal(rng, 12_000.0, 0.35) * ctx.size;
    let categories = &CATEGORIES[match sourcing {
        Sourcing::Built => 0,
        Sourcing::Bought => 1,
        Sourcing::Partnered => 2,
    }];
    for i in 0..n_spend {
        let m = start_month + (i * months / n_spend) as i32;
        let (period_start, period_end) = cal.period(m, started_on);
        let category = pick(rng, categories);
        let (factor, hundreds, notes) = category_profile(category);
        let usd = (scale * factor * log_normal(rng, 1.0, 0.2)).clamp(1_000.0, 500_000.0);
        let in_usd = match category {
            SpendCategory::Licences => sourcing == Sourcing::Bought && rng.random_bool(0.5),
            SpendCategory::ComputeInference => rng.random_bool(0.3),
            SpendCategory::ExternalServices => sourcing == Sourcing::Partnered && rng.random_bool(0.3),
            _ => false,
        };
        let (currency, per_usd) = if in_usd {
            (Currency::USD, 1.0)
        } else {
            (ctx.currency, ctx.per_usd)
        };
        let capex = rng.random_bool(if category == SpendCategory::Infrastructure {
            0.35
        } else {
            0.03
        });
        entries.push(DemoEntry {
            pilot: ix,
            kind: EntryKind::Spend { category, capex },
            confidence: None,
            period_start,
            period_end,
            amount_minor: to_minor(usd, currency, per_usd, hundreds),
            currency,
            note: pick_str(rng, notes).to_owned(),
        });
    }

    // Impact.
    let impact = ImpactPlan {
        cal,
        ctx,
        ix,
        started_on,
        function,
    };
    let lo = (eval_month - 2).max(start_month);
    let in_window = (lo, (eval_month + 4).min(cal.today_month));
    match outcome {
        Outcome::Running => {
            if age >= 30 && rng.random_bool(0.10) {
                let range = (start_month, cal.today_month);
                impact.push(
                    rng,
                    entries,
                    range,
                    1,
                    Evidence::Forecast(AttributionMethod::ModelEstimate),
                );
            }
        }
        Outcome::NoImpact => {}
        Outcome::Success => {
            let method = pick(rng, &RIGOROUS);
            let n = between(rng, 1, 4);
            impact.push(rng, entries, in_window, n, Evidence::Measured(method));
        }
        Outcome::Negative => {
            let method = pick(rng, &RIGOROUS);
            let n = between(rng, 1, 2);
            impact.push(rng, entries, in_window, n, Evidence::Harm(method));
        }
        Outcome::Late => {
            let method = pick(rng, &RIGOROUS);
            let range = (eval_month + 7, (eval_month + 11).min(cal.today_month));
            let n = between(rng, 1, 3);
            impact.push(rng, entries, range, n, Evidence::Measured(method));
        }
        Outcome::Estimated => {
            let r = rng.random::<f64>();
            let evidence = if r < 0.50 {
                Evidence::Forecast(AttributionMethod::ModelEstimate)
            } else if r < 0.90 {
                Evidence::SelfReported
            } else {
                Evidence::Forecast(pick(rng, &RIGOROUS))
            };
            let range = (lo, (eval_month + 9).min(cal.today_month));
            let n = between(rng, 1, 3);
            impact.push(rng, entries, range, n, evidence);
        }
    }
    pilot
}

/// Function rows' indices with their weights.
const FUNCTION_WEIGHTS: [(usize, u32); 10] = {
    let mut out = [(0, 0); 10];
    let mut i = 0;
    while i < 10 {
        out[i] = (i, FUNCTIONS[i].1);
        i += 1;
    }
    out
};

/// The rigorous attribution methods and how often each is used.
const RIGOROUS: [(AttributionMethod, u32); 3] = [
    (AttributionMethod::ControlledExperiment, 30),
    (AttributionMethod::DifferenceInDifferences, 25),
    (AttributionMethod::BeforeAfter, 45),
];

/// What kind of impact evidence a pilot logs.
#[derive(Clone, Copy)]
enum Evidence {
    /// Measured positive impact with a rigorous method.
    Measured(AttributionMethod),
    /// Measured negative impact with a rigorous method.
    Harm(AttributionMethod),
    /// An unmeasured forecast (`measured = false`), positive.
    Forecast(AttributionMethod),
    /// The team's own claim, positive; sometimes flagged measured.
    SelfReported,
}

/// Context for one pilot's impact entries.
struct ImpactPlan<'a> {
    cal: &'a Calendar,
    ctx: &'a OrgCtx,
    ix: usize,
    started_on: NaiveDate,
    function: BusinessFunction,
}

impl ImpactPlan<'_> {
    /// Appends up to `n` entries in consecutive months within `lo..=hi`
    /// (fewer if the range is shorter).
    fn push(
        &self,
        rng: &mut ChaCha20Rng,
        entries: &mut Vec<DemoEntry>,
        (lo, hi): (i32, i32),
        n: u32,
        evidence: Evidence,
    ) {
        let months = (hi - lo + 1) as u32;
        let n = n.min(months);
        let first = lo + between(rng, 0, months - n) as i32;
        let kinds = impact_kinds(self.function);
        let self_measured = rng.random_bool(0.6);
        for i in 0..n {
            let (period_start, period_end) = self.cal.period(first + i as i32, self.started_on);
            let (method, measured, usd, confidence, notes): (_, _, _, _, &[&str]) = match evidence {
                Evidence::Measured(m) => (
                    m,
                    true,
                    log_normal(rng, 40_000.0, 0.45).clamp(2_000.0, 2_000_000.0),
                    confidence(rng, 0.6, 0.95),
                    method_notes(m),
                ),
                Evidence::Harm(m) => (
                    m,
                    true,
                    -log_normal(rng, 8_000.0, 0.4).clamp(500.0, 200_000.0),
                    confidence(rng, 0.5, 0.9),
                    &[
                        "Error rate rose against control; rework costs",
                        "Conversion fell in treated cohort",
                        "Escalations increased after rollout",
                    ],
                ),
                Evidence::Forecast(m) => (
                    m,
                    false,
                    log_normal(rng, 60_000.0, 0.5).clamp(1_000.0, 3_000_000.0),
                    confidence(rng, 0.3, 0.7),
                    &[
                        "Vendor business case projection",
                        "Forecast from pilot usage extrapolated to all users",
                        "Planned benefit in the investment case",
                    ],
                ),
                Evidence::SelfReported => (
                    AttributionMethod::SelfReported,
                    self_measured,
                    log_normal(rng, 50_000.0, 0.5).clamp(1_000.0, 3_000_000.0),
                    confidence(rng, 0.2, 0.6),
                    &[
                        "Team estimate of hours saved",
                        "Survey of pilot users",
                        "Stakeholder feedback at steering committee",
                    ],
                ),
            };
            entries.push(DemoEntry {
                pilot: self.ix,
                kind: EntryKind::Impact {
                    kind: pick(rng, kinds),
                    method,
                    measured,
                },
                confidence: Some(confidence),
                period_start,
                period_end,
                amount_minor: to_minor(usd * self.ctx.size, self.ctx.currency, self.ctx.per_usd, false),
                currency: self.ctx.currency,
                note: pick_str(rng, notes).to_owned(),
            });
        }
    }
}

/// Impact kind weights by function: sales and R&D mostly move revenue.
fn impact_kinds(f: BusinessFunction) -> &'static [(ImpactKind, u32)] {
    match f {
        BusinessFunction::SalesMarketing | BusinessFunction::Rnd => &[
            (ImpactKind::RevenueUplift, 60),
            (ImpactKind::CostReduction, 15),
            (ImpactKind::CostAvoidance, 25),
        ],
        _ => &[
            (ImpactKind::RevenueUplift, 15),
            (ImpactKind::CostReduction, 50),
            (ImpactKind::CostAvoidance, 35),
        ],
    }
}

fn method_notes(m: AttributionMethod) -> &'static [&'static str] {
    match m {
        AttributionMethod::ControlledExperiment => &[
            "A/B test across two regions, 8 weeks",
            "Randomised rollout by team, holdout kept",
        ],
        AttributionMethod::DifferenceInDifferences => &[
            "Difference in differences against matched sites",
            "Staggered rollout compared with not-yet-treated units",
        ],
        AttributionMethod::BeforeAfter => &[
            "Handle time before vs after, seasonally adjusted",
            "Unit cost 3 months before vs 3 months after go-live",
        ],
        AttributionMethod::ModelEstimate => &["Cost model estimate"],
        AttributionMethod::SelfReported => &["Team estimate"],
    }
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
#[path = "demo_tests.rs"]
mod tests;
