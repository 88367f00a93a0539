//! One organisation's pilots and their ledger entries: the outcome model
//! (organisation effects on the log-odds of success), spend and impact plans.

use super::*;

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// Success probability of a built pilot at the window start, and its rise per
/// year; bought and partnered pilots succeed twice as often.
pub(super) const SUCCESS_BASE: f64 = 0.03;
pub(super) const SUCCESS_PER_YEAR: f64 = 0.02;
/// SD of an organisation's effect on the log-odds of success.
pub(super) const ORG_EFFECT_SD: f64 = 1.5;
/// Subtracted from every organisation's effect: E[exp(1.5·Z)] ≈ 3, so
/// without it the average success share would triple; 0.8 keeps it near
/// the base curve for base probabilities of 0.05–0.1.
pub(super) const ORG_EFFECT_SHIFT: f64 = 0.8;
/// SD of an organisation's own trend in the log-odds of success, per year,
/// centred on the middle of the 3-year window.
pub(super) const ORG_TREND_SD: f64 = 0.8;

/// How an evaluated pilot turned out (drives its stage and impact entries).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Running,
    Success,
    NoImpact,
    Estimated,
    Negative,
    Late,
}

/// Per-organisation state the pilots need.
pub(super) struct OrgCtx {
    pub(super) currency: Currency,
    /// Multiplier on USD-equivalent amounts (size band).
    pub(super) size: f64,
    /// Multiplier on the odds of success: exp of the organisation effect.
    pub(super) success_odds: f64,
    /// The organisation's own change in the log-odds of success per year.
    pub(super) trend_per_year: f64,
    /// Units of the organisation's currency per USD (nominal).
    pub(super) per_usd: f64,
    /// Base of the external references.
    pub(super) ref_base: u32,
}

/// Local units per USD and the currency, for a code in [`FX`] or USD.
pub(super) fn nominal_per_usd(code: &str) -> f64 {
    FX.iter()
        .find(|(c, ..)| *c == code)
        .map_or(1.0, |(_, usd_per_unit, ..)| 1.0 / usd_per_unit)
}

/// Converts a USD-equivalent amount into minor units of `currency`
/// (`per_usd` local units per USD), optionally rounded to whole hundreds.
pub(super) fn to_minor(usd: f64, currency: Currency, per_usd: f64, hundreds: bool) -> i64 {
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
pub(super) fn gen_pilot(
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
pub(super) const FUNCTION_WEIGHTS: [(usize, u32); 10] = {
    let mut out = [(0, 0); 10];
    let mut i = 0;
    while i < 10 {
        out[i] = (i, FUNCTIONS[i].1);
        i += 1;
    }
    out
};

/// The rigorous attribution methods and how often each is used.
pub(super) const RIGOROUS: [(AttributionMethod, u32); 3] = [
    (AttributionMethod::ControlledExperiment, 30),
    (AttributionMethod::DifferenceInDifferences, 25),
    (AttributionMethod::BeforeAfter, 45),
];

/// What kind of impact evidence a pilot logs.
#[derive(Clone, Copy)]
pub(super) enum Evidence {
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
pub(super) struct ImpactPlan<'a> {
    pub(super) cal: &'a Calendar,
    pub(super) ctx: &'a OrgCtx,
    pub(super) ix: usize,
    pub(super) started_on: NaiveDate,
    pub(super) function: BusinessFunction,
}

impl ImpactPlan<'_> {
    /// Appends up to `n` entries in consecutive months within `lo..=hi`
    /// (fewer if the range is shorter).
    pub(super) fn push(
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
pub(super) fn impact_kinds(f: BusinessFunction) -> &'static [(ImpactKind, u32)] {
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

pub(super) fn method_notes(m: AttributionMethod) -> &'static [&'static str] {
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
