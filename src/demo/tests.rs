//! Tests of the parent module.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use super::*;
use crate::domain::fx::to_usd_minor;
use crate::domain::money::{format_amount, parse_amount};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn cfg(orgs: u32, pilots_per_org: u32, seed: u64) -> DemoConfig {
    DemoConfig {
        orgs,
        pilots_per_org,
        seed,
        today: d("2026-11-15"),
    }
}

fn batches(cfg: &DemoConfig) -> Vec<OrgBatch> {
    (0..cfg.orgs).map(|i| org_batch(cfg, i)).collect()
}

/// Rates by currency code, sorted by date.
struct Rates(BTreeMap<&'static str, Vec<(NaiveDate, FxRate)>>);

impl Rates {
    fn new(rates: &[DemoRate]) -> Self {
        let mut map: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for r in rates {
            map.entry(r.currency.code()).or_default().push((r.date, r.rate_to_usd));
        }
        for v in map.values_mut() {
            v.sort_by_key(|(date, _)| *date);
        }
        Rates(map)
    }

    /// docs/DEFINITIONS.md#fx: the latest rate dated on or before `on`; USD is 1.
    fn on_or_before(&self, currency: Currency, on: NaiveDate) -> Option<FxRate> {
        if currency == Currency::USD {
            return Some(FxRate::ONE);
        }
        let v = self.0.get(currency.code())?;
        let n = v.partition_point(|(date, _)| *date <= on);
        (n > 0).then(|| v[n - 1].1)
    }

    fn usd_minor(&self, e: &DemoEntry) -> i64 {
        let rate = self
            .on_or_before(e.currency, e.period_end)
            .unwrap_or_else(|| panic!("no {} rate for {}", e.currency, e.period_end));
        to_usd_minor(e.amount_minor, e.currency, rate).unwrap()
    }
}

/// The "measured net impact" (docs/DEFINITIONS.md#measured-net-impact) of each pilot of a batch, in US
/// cents, with the default 6-month window; `None` for unevaluated pilots.
fn measured_net_impact(batch: &OrgBatch, rates: &Rates) -> Vec<Option<i64>> {
    let mut out: Vec<Option<i64>> = batch.pilots.iter().map(|p| p.evaluation_date().map(|_| 0)).collect();
    for e in &batch.entries {
        let EntryKind::Impact { method, measured, .. } = e.kind else {
            continue;
        };
        let Some(eval) = batch.pilots[e.pilot].evaluation_date() else {
            continue;
        };
        let limit = eval.checked_add_months(Months::new(6)).unwrap();
        if measured && method != AttributionMethod::SelfReported && e.period_end <= limit {
            let sum = out[e.pilot].as_mut().unwrap();
            *sum = sum.checked_add(rates.usd_minor(e)).unwrap();
        }
    }
    out
}

#[test]
fn same_seed_same_data_in_any_order() {
    let c = cfg(30, 12, 7);
    let forward = format!("{:?}", batches(&c));
    let backward: Vec<OrgBatch> = (0..c.orgs).rev().map(|i| org_batch(&c, i)).collect();
    let backward: Vec<OrgBatch> = backward.into_iter().rev().collect();
    assert_eq!(forward, format!("{backward:?}"));
    assert_eq!(forward, format!("{:?}", batches(&c)));
    // A batch depends on (seed, index), not on how many orgs there are.
    let more = DemoConfig { orgs: 500, ..c };
    assert_eq!(
        format!("{:?}", org_batch(&more, 17)),
        format!("{:?}", org_batch(&c, 17))
    );
    assert_eq!(format!("{:?}", fx_rates(&c)), format!("{:?}", fx_rates(&more)));
}

#[test]
fn different_seeds_or_indices_differ() {
    let (a, b) = (cfg(10, 10, 1), cfg(10, 10, 2));
    for i in 0..a.orgs {
        assert_ne!(
            format!("{:?}", org_batch(&a, i).pilots),
            format!("{:?}", org_batch(&b, i).pilots)
        );
    }
    assert_ne!(format!("{:?}", fx_rates(&a)), format!("{:?}", fx_rates(&b)));
    // Streams of one seed are independent too.
    let p = |i| format!("{:?}", org_batch(&a, i).pilots);
    assert_ne!(p(3), p(4));
}

#[test]
fn generated_values_are_valid() {
    let region_currency: HashMap<&str, &str> = [
        ("US", "USD"),
        ("DE", "EUR"),
        ("FR", "EUR"),
        ("NL", "EUR"),
        ("IT", "EUR"),
        ("ES", "EUR"),
        ("GB", "GBP"),
        ("JP", "JPY"),
        ("CH", "CHF"),
        ("CA", "CAD"),
        ("AU", "AUD"),
        ("IN", "INR"),
        ("BR", "BRL"),
        ("SG", "SGD"),
        ("BH", "BHD"),
    ]
    .into_iter()
    .collect();
    for today in ["2026-11-15", "2028-02-29", "2026-01-31", "2025-12-31"] {
        let c = DemoConfig {
            today: d(today),
            ..cfg(80, 15, 42)
        };
        let window_start = c.today.checked_sub_months(Months::new(36)).unwrap();
        let rates = Rates::new(&fx_rates(&c));
        let mut usd_by_currency: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for i in 0..c.orgs {
            let b = org_batch(&c, i);
            let o = &b.org;
            assert_eq!(o.index, i);
            assert!(o.name.starts_with(&format!("Org {i:04} ")), "{}", o.name);
            assert_eq!(region_currency[o.region], o.reporting_currency.code(), "{}", o.region);
            if i % 40 == 1 {
                assert_eq!(o.region, "BH");
            }
            assert_eq!(b.pilots.len(), c.pilots_per_org as usize);
            let (mut names, mut refs) = (HashSet::new(), HashSet::new());
            for p in &b.pilots {
                assert!(names.insert(&p.name) && refs.insert(&p.external_ref), "{p:?}");
                assert!(!p.owner_team.is_empty());
                assert!(p.started_on >= window_start && p.started_on <= c.today, "{p:?}");
                assert!(
                    p.stage_entered_on >= p.started_on && p.stage_entered_on <= c.today,
                    "{p:?}"
                );
                if let Some(e) = p.evaluated_on {
                    assert!(e >= p.started_on && e <= c.today, "{p:?}");
                    if p.stage != Stage::Piloting {
                        assert!(p.stage_entered_on >= e, "{p:?}");
                    }
                }
                if p.stage == Stage::Proposed {
                    assert_eq!(p.evaluated_on, None);
                }
                assert!(p.tags.len() <= 32);
                assert_eq!(p.tags.iter().collect::<HashSet<_>>().len(), p.tags.len());
                assert!(p.tags.iter().all(|t| (1..=64).contains(&t.len())));
            }
            let mut spend_per_pilot = vec![0; b.pilots.len()];
            let mut last_pilot = 0;
            for e in &b.entries {
                assert!(e.pilot < b.pilots.len() && e.pilot >= last_pilot);
                last_pilot = e.pilot;
                let p = &b.pilots[e.pilot];
                assert!(e.period_start <= e.period_end, "{e:?}");
                assert!(e.period_start >= p.started_on && e.period_end <= c.today, "{e:?}");
                assert!(e.currency == o.reporting_currency || e.currency == Currency::USD);
                let text = format_amount(e.amount_minor, e.currency);
                assert_eq!(parse_amount(&text, e.currency), Ok(e.amount_minor));
                // FX coverage: the rate the service would use exists.
                let usd = rates.usd_minor(e);
                match &e.kind {
                    EntryKind::Spend { category, .. } => {
                        spend_per_pilot[e.pilot] += 1;
                        assert!(e.amount_minor > 0);
                        // Exponent respected: $1k..$500k at nominal rates,
                        // which the walk keeps within ~±40%.
                        assert!((50_000..=80_000_000).contains(&usd), "{e:?} = {usd} cents");
                        if matches!(category, SpendCategory::Licences | SpendCategory::ExternalServices) {
                            let hundred = 100 * 10i64.pow(e.currency.exponent());
                            assert_eq!(e.amount_minor % hundred, 0, "{e:?}");
                        }
                        usd_by_currency.entry(e.currency.code()).or_default().push(usd);
                    }
                    EntryKind::Impact { method, measured, .. } => {
                        let confidence = e.confidence.expect("an impact has a confidence");
                        assert!((0.0..=1.0).contains(&confidence), "{e:?}");
                        assert!(e.amount_minor != 0 && usd.abs() <= 1_000_000_000, "{e:?}");
                        if *measured && *method != AttributionMethod::SelfReported && e.amount_minor > 0 {
                            assert!(p.evaluation_date().is_some(), "{p:?} {e:?}");
                        }
                    }
                }
            }
            assert!(
                spend_per_pilot.iter().all(|n| (3..=12).contains(n)),
                "{spend_per_pilot:?}"
            );
        }
        // Typical spend sits around $10k whatever the currency's exponent.
        for (code, mut v) in usd_by_currency {
            v.sort_unstable();
            let median = v[v.len() / 2];
            assert!((300_000..=6_000_000).contains(&median), "{code} median {median} cents");
        }
    }
}

#[test]
fn fx_rates_cover_the_window_with_plausible_month_ends() {
    for today in ["2026-11-15", "2026-11-30", "2028-02-29"] {
        let c = DemoConfig {
            today: d(today),
            ..cfg(1, 1, 9)
        };
        let rates = fx_rates(&c);
        let by = Rates::new(&rates);
        let codes: Vec<_> = by.0.keys().copied().collect();
        assert_eq!(
            codes,
            ["AUD", "BHD", "BRL", "CAD", "CHF", "EUR", "GBP", "INR", "JPY", "SGD"]
        );
        let earliest = c.today.checked_sub_months(Months::new(36)).unwrap();
        for (code, series) in &by.0 {
            let nominal = FX.iter().find(|f| f.0 == *code).unwrap().1;
            assert!(series[0].0 < earliest, "{code} starts {}", series[0].0);
            let last = series.last().unwrap().0;
            assert!(
                last <= c.today && (c.today - last).num_days() < 31,
                "{code} ends {last}"
            );
            for pair in series.windows(2) {
                assert!(pair[0].0 < pair[1].0);
                let (a, b) = (
                    pair[0].1.to_string().parse::<f64>().unwrap(),
                    pair[1].1.to_string().parse::<f64>().unwrap(),
                );
                assert!((b / a - 1.0).abs() < 0.12, "{code} jumps {a} -> {b}");
            }
            for (date, r) in series {
                assert_eq!(date.succ_opt().unwrap().day(), 1, "{date} is a month end");
                let v: f64 = r.to_string().parse().unwrap();
                assert!((v / nominal - 1.0).abs() < 0.4, "{code} {date} {v} vs {nominal}");
            }
        }
        assert!(rates.iter().all(|r| r.currency != Currency::USD));
    }
}

/// Outcome counts as `[evaluated, with measured positive impact]`.
#[derive(Debug, Default)]
struct Outcomes {
    all: [u32; 2],
    built: [u32; 2],
    bought_partnered: [u32; 2],
    first_year: [u32; 2],
    last_year: [u32; 2],
    /// `[pilots older than a year, evaluated]`.
    old: [u32; 2],
    /// `[pilots younger than 60 days, evaluated]`.
    young: [u32; 2],
    measured_negative: u32,
}

fn share(c: [u32; 2]) -> f64 {
    f64::from(c[1]) / f64::from(c[0])
}

impl Outcomes {
    fn of(c: &DemoConfig) -> Self {
        let rates = Rates::new(&fx_rates(c));
        let window_start = c.today.checked_sub_months(Months::new(36)).unwrap();
        let first_year_end = window_start + Days::new(365);
        let last_year_start = c.today - Days::new(365);
        let mut o = Outcomes::default();
        for i in 0..c.orgs {
            let b = org_batch(c, i);
            let impact = measured_net_impact(&b, &rates);
            for (p, net) in b.pilots.iter().zip(&impact) {
                let age = (c.today - p.started_on).num_days();
                let evaluated = u32::from(net.is_some());
                if age > 365 {
                    o.old[0] += 1;
                    o.old[1] += evaluated;
                }
                if age < 60 {
                    o.young[0] += 1;
                    o.young[1] += evaluated;
                }
                let Some(net) = *net else { continue };
                let eval = p.evaluation_date().unwrap();
                let success = u32::from(net > 0);
                o.measured_negative += u32::from(net < 0);
                let count = |c: &mut [u32; 2]| {
                    c[0] += 1;
                    c[1] += success;
                };
                count(&mut o.all);
                count(if p.sourcing == Sourcing::Built {
                    &mut o.built
                } else {
                    &mut o.bought_partnered
                });
                if eval < first_year_end {
                    count(&mut o.first_year);
                }
                if eval > last_year_start {
                    count(&mut o.last_year);
                }
            }
        }
        o
    }

    /// The realism properties the research aggregates rely on.
    fn check(&self) -> Result<(), String> {
        let success = share(self.all);
        let ratio = share(self.bought_partnered) / share(self.built);
        let (first, last) = (share(self.first_year), share(self.last_year));
        let checks = [
            (self.all[0] > 2_000, format!("only {} evaluated", self.all[0])),
            ((0.03..=0.20).contains(&success), format!("success share {success}")),
            // Twice the base probability, but the pooled ratio is lower and
            // varies more between seeds since organisation effects (SD 1.5 on
            // the log-odds, generator v2) are strong: the organisations that
            // carry most successes sit where the logistic curve (and the 0.6
            // cap) flattens, and 200 organisations are a small sample of them.
            // Over seeds 0–49 it ranges 1.35–2.2 (`realism_holds_across_seeds`).
            (
                (1.25..=3.0).contains(&ratio),
                format!("bought+partnered / built = {ratio}"),
            ),
            (last > first, format!("last year {last} <= first year {first}")),
            (first <= 0.12, format!("first-year zero-impact share {}", 1.0 - first)),
            (
                share(self.old) >= 0.8,
                format!("older than a year evaluated: {}", share(self.old)),
            ),
            (
                self.young[0] > 0 && self.young[1] == 0,
                format!("young {:?}", self.young),
            ),
            (self.measured_negative > 0, "no measured negative impact".to_owned()),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err(why),
            None => Ok(()),
        }
    }
}

#[test]
fn outcomes_look_like_the_public_evidence() {
    let o = Outcomes::of(&cfg(200, 20, 2026));
    eprintln!("{o:?}");
    o.check().unwrap();
}

/// The realism checks are not an accident of one seed. Slow in debug
/// builds: `cargo test --release -- --ignored realism_holds`.
#[test]
#[ignore]
fn realism_holds_across_seeds() {
    let failures: Vec<String> = (0..50)
        .filter_map(|seed| {
            let o = Outcomes::of(&cfg(200, 20, seed));
            eprintln!(
                "seed {seed}: success {:.3} ratio {:.2} first {:.3} last {:.3}",
                share(o.all),
                share(o.bought_partnered) / share(o.built),
                share(o.first_year),
                share(o.last_year)
            );
            o.check().err().map(|e| format!("seed {seed}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_vocabulary_value_occurs_in_a_modest_dataset() {
    let c = cfg(40, 20, 3);
    let (mut functions, mut sourcing, mut kinds, mut stages) =
        (HashSet::new(), HashSet::new(), HashSet::new(), HashSet::new());
    let (mut methods, mut impacts, mut categories) = (HashSet::new(), HashSet::new(), HashSet::new());
    let (mut industries, mut sizes, mut regions) = (HashSet::new(), HashSet::new(), HashSet::new());
    let (mut capex, mut measured, mut foreign_usd, mut negative) = (HashSet::new(), HashSet::new(), false, false);
    for b in batches(&c) {
        industries.insert(b.org.industry);
        sizes.insert(b.org.size_band);
        regions.insert(b.org.region);
        for p in &b.pilots {
            functions.insert(p.business_function);
            sourcing.insert(p.sourcing);
            kinds.insert(p.ai_kind);
            stages.insert(p.stage);
        }
        for e in &b.entries {
            match e.kind {
                EntryKind::Spend { category, capex: x } => {
                    categories.insert(category);
                    capex.insert(x);
                    foreign_usd |= e.currency == Currency::USD && b.org.reporting_currency != Currency::USD;
                }
                EntryKind::Impact {
                    kind,
                    method,
                    measured: m,
                    ..
                } => {
                    impacts.insert(kind);
                    methods.insert(method);
                    measured.insert(m);
                    negative |= e.amount_minor < 0;
                }
            }
        }
    }
    assert_eq!(functions.len(), BusinessFunction::ALL.len());
    assert_eq!(sourcing.len(), Sourcing::ALL.len());
    assert_eq!(kinds.len(), AiKind::ALL.len());
    assert_eq!(stages.len(), Stage::ALL.len());
    assert_eq!(methods.len(), AttributionMethod::ALL.len(), "{methods:?}");
    assert_eq!(impacts.len(), ImpactKind::ALL.len());
    assert_eq!(categories.len(), SpendCategory::ALL.len());
    assert_eq!((capex.len(), measured.len()), (2, 2));
    assert!(foreign_usd && negative);
    assert!(regions.contains("BH") && regions.contains("JP"));
    // Organisation attributes need more organisations; they cost nothing
    // without pilots.
    let orgs = batches(&cfg(400, 0, 3));
    let industries: HashSet<_> = orgs.iter().map(|b| b.org.industry).collect();
    let sizes: Vec<usize> = SizeBand::ALL
        .iter()
        .map(|s| orgs.iter().filter(|b| b.org.size_band == *s).count())
        .collect();
    let regions: HashSet<_> = orgs.iter().map(|b| b.org.region).collect();
    assert_eq!(industries.len(), Industry::ALL.len());
    assert_eq!(regions.len(), REGIONS.len());
    assert!(
        sizes[3] > sizes[1] && sizes[2] > sizes[0] && sizes[0] > 0,
        "skewed large: {sizes:?}"
    );
}

#[test]
fn sourcing_and_stage_mix() {
    let c = cfg(200, 20, 11);
    let mut counts: HashMap<Sourcing, u32> = HashMap::new();
    let (mut recent, mut recent_running) = (0, 0);
    for b in batches(&c) {
        for p in &b.pilots {
            *counts.entry(p.sourcing).or_default() += 1;
            if (c.today - p.started_on).num_days() < 90 {
                recent += 1;
                recent_running += u32::from(matches!(p.stage, Stage::Proposed | Stage::Piloting));
            }
        }
    }
    let n = f64::from(pilot_count(&c) as u32);
    for (s, want) in [
        (Sourcing::Built, 0.45),
        (Sourcing::Bought, 0.35),
        (Sourcing::Partnered, 0.20),
    ] {
        let got = f64::from(counts[&s]) / n;
        assert!((got - want).abs() < 0.03, "{s}: {got}");
    }
    assert!(recent > 0 && f64::from(recent_running) / f64::from(recent) > 0.9);
}

#[test]
fn pilot_count_and_empty_batches() {
    assert_eq!(pilot_count(&cfg(10_000, 100, 0)), 1_000_000);
    assert_eq!(
        pilot_count(&cfg(u32::MAX, u32::MAX, 0)),
        u64::from(u32::MAX) * u64::from(u32::MAX)
    );
    let b = org_batch(&cfg(1, 0, 0), 0);
    assert!(b.pilots.is_empty() && b.entries.is_empty());
    // The organisation does not depend on how many pilots it gets.
    assert_eq!(b.org, org_batch(&cfg(1, 50, 0), 0).org);
    // The key tag names the generator version.
    let tag = format!("pilotledger-demo-v{GENERATOR_VERSION}\0");
    assert!(KEY_TAG.starts_with(tag.as_bytes()));
}

#[test]
fn portable_exp2_is_accurate() {
    for i in -400..=400 {
        let x = f64::from(i) / 37.0;
        let (got, want) = (exp2(x), x.exp2());
        assert!((got / want - 1.0).abs() < 2e-6, "{x}: {got} vs {want}");
    }
    assert_eq!(exp2(3.0), 8.0);
}

/// Run with `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_one_million_pilots() {
    let c = cfg(10_000, 100, 1);
    let started = Instant::now();
    let (mut pilots, mut entries) = (0usize, 0usize);
    for i in 0..c.orgs {
        let b = std::hint::black_box(org_batch(&c, i));
        pilots += b.pilots.len();
        entries += b.entries.len();
    }
    let took = started.elapsed();
    eprintln!("{pilots} pilots, {entries} entries in {took:?}");
    assert_eq!(pilots as u64, pilot_count(&c));
    assert!(took.as_secs() < 60);
}
