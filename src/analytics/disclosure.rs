//! Disclosure control for anonymised aggregates (docs/DEFINITIONS.md#disclosure).
//!
//! Pure decisions on per-organisation contributions: which cells of a table may
//! be published, and the coarse money bands a published cell may show. Nothing
//! here sees an organisation id, a name or free text; organisations are opaque
//! indices used only to add their contributions up.
//!
//! A cell is judged on its organisations' summed contributions, by the first
//! primary rule it fails, in this order:
//!
//! 1. `empty`: no organisation contributes;
//! 2. `min_organisations`: fewer than `min_organisations` organisations;
//! 3. `dominance`: one organisation holds more than `max_org_share` of its pilots;
//! 4. (`p_percent` is a rule for money, not for counts: see below.)
//! 5. `one_sided`: fewer than `min_each_side` organisations contribute
//!    zero-impact pilots, or fewer than `min_each_side` contribute pilots with
//!    impact, or fewer than `min_each_side` have zero return. The last clause
//!    is stricter than the product contract's wording and is there for its stated aim: an
//!    organisation zero-return share of 0% would otherwise be publishable (every
//!    member mixed), revealing that every member had a pilot with impact.
//!
//! **Money bands and the p%-rule.** A published cell shows money only as
//! decade bands. With `a_i = |Σ spend of organisation i|`, total `T`, largest
//! `l1`, second `l2`, the spend band is shown only if `100·(T − l1 − l2) ≥
//! p·l1` (the same for measured impact); otherwise the band is null and every
//! count and rate of the cell stays published. Until `pilotledger-disclosure-2`
//! a failing p%-rule suppressed the whole cell (`p_percent`), so one member
//! could blank the research output: ten entries of 90 quadrillion USD, one a
//! quarter, made every quarterly total fail it (issue 18). The p%-rule protects
//! a magnitude, the largest contributor's spend, and only the band discloses
//! one; the counts are protected by the threshold and dominance rules.
//!
//! Complementary suppression ([`protect_breakdown`]) then works on one
//! quarter's total and the value cells of one breakdown. Anyone can compute
//! the *residual* `total − Σ published value cells`, which is the sum of the
//! suppressed value cells; so, while the total is published, the residual must
//! itself pass the primary rules, and while the total is suppressed, at least
//! one non-empty value cell must be suppressed so that the published cells of
//! any breakdown never add up to it. Until that holds, the published non-empty
//! value cell with the fewest organisations (ties: the lexicographically
//! smallest value) is suppressed as `complementary`. One failing value cell
//! beside a published total is itself the residual, so it always gets a
//! complement. Empty cells are never complements: their reason reveals that
//! they hold nothing.
//!
//! This runs twice. First with only the rules that do not depend on the
//! zero-impact definition (`min_organisations`, `dominance`),
//! then with all of them. The first pass picks the same complements for every
//! `min_impact`/`window_months` on the grid, so counts hidden for those rules
//! cannot be recovered by comparing responses for different parameters.
//! Totals are never suppressed by this procedure, so a quarter's total cell is
//! the same under every breakdown.
//!
//! **Counts** are published by the first pass alone ([`Protection::counts_hidden`]):
//! a cell withheld only in the second keeps its organisations and pilots,
//! which are the same at every grid point, so no count is shown at one point
//! and hidden at another (`pilotledger-disclosure-3`; comparing every point
//! recovered a hidden cell before, issue 18). The first pass also adds
//! complements until no hidden cell's count is pinned to one value by the
//! residual and the bounds its reason reveals ([`pinned`]).

use std::collections::BTreeMap;

use serde::Serialize;

/// Version of these rules, echoed in every aggregate response.
pub const DISCLOSURE_POLICY_VERSION: &str = "pilotledger-disclosure-3";

/// The floors (docs/DEFINITIONS.md#disclosure): thresholds may be raised by configuration, never lowered.
pub const FLOOR_MIN_ORGANISATIONS: u32 = 5;
/// Largest share of a cell's pilots one organisation may hold (a ceiling).
pub const FLOOR_MAX_ORG_SHARE: f64 = 0.5;
/// Smallest `p` of the p%-rule.
pub const FLOOR_P_PERCENT: u32 = 10;
/// Smallest number of organisations required on each side of the outcome.
pub const FLOOR_MIN_EACH_SIDE: u32 = 3;

/// The disclosure thresholds in force. Fields are private so that a policy
/// looser than the floors cannot be built at all.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DisclosurePolicy {
    min_organisations: u32,
    max_org_share: f64,
    p_percent: u32,
    min_each_side: u32,
}

impl Default for DisclosurePolicy {
    /// The floors: 5 organisations, 50% dominance, p = 10, 3 per side.
    fn default() -> Self {
        Self {
            min_organisations: FLOOR_MIN_ORGANISATIONS,
            max_org_share: FLOOR_MAX_ORG_SHARE,
            p_percent: FLOOR_P_PERCENT,
            min_each_side: FLOOR_MIN_EACH_SIDE,
        }
    }
}

impl DisclosurePolicy {
    /// A policy at least as strict as the floors; anything looser (or a share
    /// that is not a number in `(0, 0.5]`) is refused with the offending field.
    pub fn new(min_organisations: u32, max_org_share: f64, p_percent: u32, min_each_side: u32) -> Result<Self, String> {
        if min_organisations < FLOOR_MIN_ORGANISATIONS {
            return Err(format!(
                "min_organisations must be at least {FLOOR_MIN_ORGANISATIONS}, got {min_organisations}"
            ));
        }
        // `!(..)` so NaN is refused too.
        if !(max_org_share > 0.0 && max_org_share <= FLOOR_MAX_ORG_SHARE) {
            return Err(format!(
                "max_org_share must be in (0, {FLOOR_MAX_ORG_SHARE}], got {max_org_share}"
            ));
        }
        if p_percent < FLOOR_P_PERCENT {
            return Err(format!("p_percent must be at least {FLOOR_P_PERCENT}, got {p_percent}"));
        }
        if min_each_side < FLOOR_MIN_EACH_SIDE {
            return Err(format!(
                "min_each_side must be at least {FLOOR_MIN_EACH_SIDE}, got {min_each_side}"
            ));
        }
        Ok(Self {
            min_organisations,
            max_org_share,
            p_percent,
            min_each_side,
        })
    }

    /// Fewest distinct organisations a published cell may have.
    pub fn min_organisations(&self) -> u32 {
        self.min_organisations
    }

    /// Largest share of a cell's pilots one organisation may hold.
    pub fn max_org_share(&self) -> f64 {
        self.max_org_share
    }

    /// The `p` of the p%-rule on the money bands.
    pub fn p_percent(&self) -> u32 {
        self.p_percent
    }

    /// Organisations required with zero-impact pilots, with impact, and with zero return.
    pub fn min_each_side(&self) -> u32 {
        self.min_each_side
    }
}

/// Why a cell is not published. Serialises as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// Fewer than the minimum number of organisations.
    MinOrganisations,
    /// One organisation holds too large a share of the pilots.
    Dominance,
    /// Too few organisations on one side of the outcome.
    OneSided,
    /// Suppressed so that another suppressed cell cannot be recovered by subtraction.
    Complementary,
    /// No data at all.
    Empty,
}

/// One organisation's summed contribution to a cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrgContribution {
    /// Evaluated pilots.
    pub pilots: u64,
    /// Of which zero-impact.
    pub zero_impact: u64,
    /// Summed spend in USD minor units (signed: reversals may make it negative).
    pub spend_usd_minor: i128,
    /// Summed measured net impact in USD minor units.
    pub impact_usd_minor: i128,
}

impl OrgContribution {
    /// Adds another contribution of the same organisation.
    pub fn add(&mut self, other: &OrgContribution) {
        self.pilots += other.pilots;
        self.zero_impact += other.zero_impact;
        self.spend_usd_minor += other.spend_usd_minor;
        self.impact_usd_minor += other.impact_usd_minor;
    }

    /// Every pilot it contributes is zero-impact (docs/DEFINITIONS.md#zero-return).
    pub fn zero_return(&self) -> bool {
        self.pilots > 0 && self.zero_impact == self.pilots
    }
}

/// A cell's contributions keyed by opaque organisation index; the key is what
/// lets contributions of several cells be re-added per organisation.
pub type Contributions = BTreeMap<u32, OrgContribution>;

/// Which primary rules a check applies (see the module docs for why two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rules {
    /// Only the rules independent of the zero-impact definition.
    Structural,
    All,
}

/// The first primary rule the cell fails, or `None` if it may be published.
pub fn primary_suppression(cell: &Contributions, policy: &DisclosurePolicy) -> Option<SuppressionReason> {
    check(cell, policy, Rules::All)
}

fn check(cell: &Contributions, policy: &DisclosurePolicy, rules: Rules) -> Option<SuppressionReason> {
    use SuppressionReason::*;
    let orgs = cell.values().filter(|c| c.pilots > 0).count() as u64;
    if orgs == 0 {
        return Some(Empty);
    }
    if orgs < u64::from(policy.min_organisations) {
        return Some(MinOrganisations);
    }
    let pilots: u64 = cell.values().map(|c| c.pilots).sum();
    let largest = cell.values().map(|c| c.pilots).max().unwrap_or(0);
    // Exact for counts below 2^53, and exact at the 0.5 floor.
    if largest as f64 > policy.max_org_share * pilots as f64 {
        return Some(Dominance);
    }
    if rules == Rules::All {
        let k = u64::from(policy.min_each_side);
        let count = |f: fn(&OrgContribution) -> bool| cell.values().filter(|c| f(c)).count() as u64;
        let with_zero = count(|c| c.zero_impact > 0);
        let with_impact = count(|c| c.zero_impact < c.pilots);
        let zero_return = count(OrgContribution::zero_return);
        if with_zero < k || with_impact < k || zero_return < k {
            return Some(OneSided);
        }
    }
    None
}

/// The p%-rule on absolute per-organisation values: the total minus the two
/// largest must be at least `p`% of the largest. Integer arithmetic, so the
/// boundary is exact; an all-zero cell passes (there is nothing to reveal).
pub fn p_percent_holds(abs_values: impl IntoIterator<Item = u128>, p: u32) -> bool {
    let (mut total, mut l1, mut l2) = (0u128, 0u128, 0u128);
    for v in abs_values {
        total = total.saturating_add(v);
        if v > l1 {
            (l1, l2) = (v, l1);
        } else if v > l2 {
            l2 = v;
        }
    }
    let rest = total - l1 - l2;
    rest.saturating_mul(100) >= l1.saturating_mul(u128::from(p))
}

/// Decisions for one quarter's total and the value cells of one breakdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Protection {
    /// The total's reason (primary rules only; totals are never complements).
    pub total: Option<SuppressionReason>,
    /// Each value cell's reason, in the order given.
    pub parts: Vec<Option<SuppressionReason>>,
    /// Whether the total's counts (organisations, pilots) are withheld too.
    pub total_counts_hidden: bool,
    /// Whether each value cell's counts are withheld too. A cell withheld
    /// only for a rule that depends on the definition (`one_sided`, or as its
    /// complement) keeps its counts: they are the same at every point of the
    /// grid, and hiding them at some points and not others is what let them
    /// be recovered (issue 18).
    pub counts_hidden: Vec<bool>,
}

/// Primary and complementary suppression for a total and its parts, which must
/// partition the total's pilots (see the module docs for the procedure).
/// `parts` pairs each value's name (used for tie-breaking) with its cell.
pub fn protect_breakdown(
    total: &Contributions,
    parts: &[(&str, &Contributions)],
    policy: &DisclosurePolicy,
) -> Protection {
    let primary: Vec<_> = parts.iter().map(|(_, c)| check(c, policy, Rules::All)).collect();
    let structural: Vec<_> = parts.iter().map(|(_, c)| check(c, policy, Rules::Structural)).collect();
    let mut suppressed: Vec<bool> = structural.iter().map(Option::is_some).collect();
    let total_reason = check(total, policy, Rules::All);
    let total_structural = check(total, policy, Rules::Structural).is_some();
    complete(parts, &mut suppressed, total_structural, policy, Rules::Structural);
    // The counts' pattern: decided on counts alone, then never widened by
    // the definition-dependent pass, so it is the same at every grid point.
    while !total_structural && pinned(parts, &suppressed, &structural, policy).is_some() {
        let Some(i) = smallest_published(parts, &suppressed) else {
            break;
        };
        suppressed[i] = true;
    }
    let counts_hidden = suppressed.clone();
    for (s, p) in suppressed.iter_mut().zip(&primary) {
        *s |= p.is_some();
    }
    complete(parts, &mut suppressed, total_reason.is_some(), policy, Rules::All);
    let parts = primary
        .iter()
        .zip(&structural)
        .zip(&suppressed)
        .zip(&counts_hidden)
        .map(|(((p, st), &s), &c)| {
            // A cell whose counts are hidden shows the counts' reason.
            if c {
                st.or(Some(SuppressionReason::Complementary))
            } else {
                p.or(s.then_some(SuppressionReason::Complementary))
            }
        })
        .collect();
    Protection {
        total: total_reason,
        parts,
        total_counts_hidden: total_structural,
        counts_hidden,
    }
}

/// What a hidden cell's reason tells about its organisation count: at least,
/// and at most (None: unbounded).
fn revealed_organisations(reason: Option<SuppressionReason>, policy: &DisclosurePolicy) -> (u64, Option<u64>) {
    let m = u64::from(policy.min_organisations());
    match reason {
        Some(SuppressionReason::MinOrganisations) => (1, Some(m - 1)),
        Some(SuppressionReason::Dominance) => (m, None),
        _ => (1, None),
    }
}

/// The first hidden non-empty cell whose organisation or pilot count the
/// published total and cells pin to a single value, given what each hidden
/// cell's reason reveals (module docs): the exact bounds of one sum over
/// boxes. Counts are integers, so a range of one value is pinned.
fn pinned(
    parts: &[(&str, &Contributions)],
    suppressed: &[bool],
    structural: &[Option<SuppressionReason>],
    policy: &DisclosurePolicy,
) -> Option<usize> {
    let hidden: Vec<usize> = (0..parts.len())
        .filter(|&i| suppressed[i] && parts[i].1.values().any(|c| c.pilots > 0))
        .collect();
    let orgs = |i: usize| parts[i].1.values().filter(|c| c.pilots > 0).count() as u64;
    let pilots = |i: usize| parts[i].1.values().map(|c| c.pilots).sum::<u64>();
    // (low, high) per hidden cell for each count, and the hidden sum.
    let reason = |i: usize| structural[i].or(Some(SuppressionReason::Complementary));
    let org_boxes: Vec<(u64, Option<u64>)> = hidden
        .iter()
        .map(|&i| revealed_organisations(reason(i), policy))
        .collect();
    let pilot_boxes: Vec<(u64, Option<u64>)> = org_boxes.iter().map(|&(lo, _)| (lo, None)).collect();
    let org_sum: u64 = hidden.iter().map(|&i| orgs(i)).sum();
    let pilot_sum: u64 = hidden.iter().map(|&i| pilots(i)).sum();
    for (boxes, sum) in [(&org_boxes, org_sum), (&pilot_boxes, pilot_sum)] {
        for (k, &i) in hidden.iter().enumerate() {
            let others_low: u64 = boxes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, b)| b.0)
                .sum();
            let others_high: Option<u64> = boxes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .try_fold(0u64, |acc, (_, b)| Some(acc + b.1?));
            let (lo, hi) = boxes[k];
            let low = others_high.map_or(lo, |h| lo.max(sum.saturating_sub(h)));
            let high = hi.map_or(sum - others_low, |h| h.min(sum - others_low));
            if high <= low {
                return Some(i);
            }
        }
    }
    None
}

/// The published non-empty cell with the fewest organisations (ties: the
/// smallest value): the next complement.
fn smallest_published(parts: &[(&str, &Contributions)], suppressed: &[bool]) -> Option<usize> {
    (0..parts.len())
        .filter(|&i| !suppressed[i] && parts[i].1.values().any(|c| c.pilots > 0))
        .min_by_key(|&i| (parts[i].1.values().filter(|c| c.pilots > 0).count(), parts[i].0))
}

/// Adds complements until the residual is safe (module docs).
fn complete(
    parts: &[(&str, &Contributions)],
    suppressed: &mut [bool],
    total_suppressed: bool,
    policy: &DisclosurePolicy,
    rules: Rules,
) {
    let non_empty = |i: usize| parts[i].1.values().any(|c| c.pilots > 0);
    loop {
        let hidden: Vec<usize> = (0..parts.len()).filter(|&i| suppressed[i] && non_empty(i)).collect();
        let unsafe_residual = if total_suppressed {
            hidden.is_empty()
        } else {
            !hidden.is_empty() && check(&union(parts, &hidden), policy, rules).is_some()
        };
        if !unsafe_residual {
            return;
        }
        match smallest_published(parts, suppressed) {
            Some(i) => suppressed[i] = true,
            // Everything non-empty is hidden: the residual is the total itself,
            // which passed, or there is nothing to protect.
            None => return,
        }
    }
}

/// The cells' contributions re-added per organisation.
fn union(parts: &[(&str, &Contributions)], which: &[usize]) -> Contributions {
    let mut out = Contributions::new();
    for &i in which {
        for (org, c) in parts[i].1 {
            out.entry(*org).or_default().add(c);
        }
    }
    out
}

/// Decade bands over whole USD, upper bound exclusive.
const BANDS: [(u128, &str); 10] = [
    (1_000, "0-1K USD"),
    (10_000, "1K-10K USD"),
    (100_000, "10K-100K USD"),
    (1_000_000, "100K-1M USD"),
    (10_000_000, "1M-10M USD"),
    (100_000_000, "10M-100M USD"),
    (1_000_000_000, "100M-1B USD"),
    (10_000_000_000, "1B-10B USD"),
    (100_000_000_000, "10B-100B USD"),
    (1_000_000_000_000, "100B-1T USD"),
];

/// The coarse band of a non-negative USD amount in minor units (cents), so a
/// published cell conveys scale without an exact sum that could be differenced.
pub fn money_band(total_usd_minor: u128) -> &'static str {
    BANDS
        .iter()
        .find(|(upper_usd, _)| total_usd_minor < upper_usd * 100)
        .map_or("1T+ USD", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::SuppressionReason::*;
    use super::*;

    /// Organisations `first`, `first + 1`, … each with the pilots of one
    /// space-separated word (`z` zero-impact, `i` with impact) and spend 100.
    fn cell_at(first: u32, spec: &str) -> Contributions {
        let org = |w: &str| OrgContribution {
            pilots: w.len() as u64,
            zero_impact: w.matches('z').count() as u64,
            spend_usd_minor: 100,
            impact_usd_minor: 0,
        };
        (first..).zip(spec.split_whitespace().map(org)).collect()
    }

    fn cell(spec: &str) -> Contributions {
        cell_at(0, spec)
    }

    /// `n` organisations alternating zero-return and with impact, 2 pilots each.
    fn balanced(first: u32, n: usize) -> Contributions {
        cell_at(first, &["zz", "ii"].repeat(n)[..n].join(" "))
    }

    fn p() -> DisclosurePolicy {
        DisclosurePolicy::default()
    }

    #[test]
    fn policy_refuses_loosening_and_defaults_to_the_floors() {
        assert_eq!(DisclosurePolicy::new(5, 0.5, 10, 3), Ok(p()));
        let refused = |m, s, pp, e| DisclosurePolicy::new(m, s, pp, e).unwrap_err();
        assert!(refused(4, 0.5, 10, 3).contains("min_organisations"));
        assert!(refused(5, 0.51, 10, 3).contains("max_org_share"));
        assert!(refused(5, f64::NAN, 10, 3).contains("max_org_share"));
        assert!(refused(5, 0.0, 10, 3).contains("max_org_share"));
        assert!(refused(5, 0.5, 9, 3).contains("p_percent"));
        assert!(refused(5, 0.5, 10, 2).contains("min_each_side"));
        let s = DisclosurePolicy::new(10, 0.3, 20, 4).unwrap();
        let got = (
            s.min_organisations(),
            s.max_org_share(),
            s.p_percent(),
            s.min_each_side(),
        );
        assert_eq!(got, (10, 0.3, 20, 4));
    }

    #[test]
    fn min_organisations_fires_below_and_not_at_the_threshold() {
        assert_eq!(primary_suppression(&cell(""), &p()), Some(Empty));
        // 4 organisations fail before anything else is looked at.
        assert_eq!(primary_suppression(&cell("z z z z"), &p()), Some(MinOrganisations));
        // 6 = the fewest that can satisfy one_sided at 3 per side.
        assert_eq!(primary_suppression(&balanced(0, 6), &p()), None);
        let strict = DisclosurePolicy::new(7, 0.5, 10, 3).unwrap();
        assert_eq!(primary_suppression(&balanced(0, 6), &strict), Some(MinOrganisations));
    }

    #[test]
    fn dominance_fires_above_half_and_not_at_half() {
        let with_first = |n: usize| cell(&format!("{} ii zz ii zz ii", "z".repeat(n)));
        // 11 of 21 pilots: more than half; 10 of 20: exactly half.
        assert_eq!(primary_suppression(&with_first(11), &p()), Some(Dominance));
        assert_eq!(primary_suppression(&with_first(10), &p()), None);
    }

    #[test]
    fn p_percent_fires_when_the_rest_is_under_ten_percent_of_the_largest() {
        // Largest 1000, second 100; the other four add up to 99 (fails) or 100.
        let with_spends = |spends: [i128; 6]| {
            let mut c = balanced(0, 6);
            for (org, s) in c.values_mut().zip(spends) {
                org.spend_usd_minor = s;
            }
            c
        };
        let spends = |c: &Contributions| c.values().map(|o| o.spend_usd_minor.unsigned_abs()).collect::<Vec<_>>();
        let fails = with_spends([1000, 100, 25, 25, 25, 24]);
        assert!(!p_percent_holds(spends(&fails), 10));
        assert!(p_percent_holds(spends(&with_spends([1000, 100, 25, 25, 25, 25])), 10));
        // Absolute values: a negative largest contributor is just as revealing.
        assert!(!p_percent_holds(spends(&with_spends([-1000, 100, 25, 25, 25, 24])), 10));
        // It withholds money bands, never the cell: the counts stay published.
        assert_eq!(primary_suppression(&fails, &p()), None);
        assert!(p_percent_holds([0, 0, 0], 10));
        assert!(!p_percent_holds([5], 10));
    }

    #[test]
    fn one_sided_fires_on_each_side_and_on_a_zero_percent_headline() {
        let reason = |spec| primary_suppression(&cell(spec), &p());
        assert_eq!(reason("z z i i i i"), Some(OneSided)); // 2 zero-return
        assert_eq!(reason("z z z i i i"), None);
        assert_eq!(reason("z z z z i i"), Some(OneSided)); // 2 with impact
                                                           // Everyone mixed: pilot rate 50%, but an organisation share of 0%.
        assert_eq!(reason("zi zi zi zi zi zi"), Some(OneSided));
    }

    /// `(value, first org index, organisations)`: balanced cells over disjoint orgs.
    fn breakdown(spec: &[(&'static str, u32, usize)]) -> Vec<(&'static str, Contributions)> {
        spec.iter().map(|&(v, first, n)| (v, balanced(first, n))).collect()
    }

    /// Protects `parts` under their total (organisations are disjoint or added up).
    fn protect(parts: &[(&'static str, Contributions)]) -> Vec<Option<SuppressionReason>> {
        let mut total = Contributions::new();
        for (org, c) in parts.iter().flat_map(|(_, c)| c) {
            total.entry(*org).or_default().add(c);
        }
        let refs: Vec<(&str, &Contributions)> = parts.iter().map(|(v, c)| (*v, c)).collect();
        let got = protect_breakdown(&total, &refs, &p());
        [vec![got.total], got.parts].concat()
    }

    const M: Option<SuppressionReason> = Some(MinOrganisations);
    const C: Option<SuppressionReason> = Some(Complementary);

    #[test]
    fn one_failing_part_gets_the_smallest_published_sibling_as_complement() {
        let parts = breakdown(&[("de", 0, 8), ("fr", 10, 2), ("it", 20, 7), ("nl", 30, 7), ("pl", 40, 0)]);
        // it and nl tie on 7 organisations: "it" sorts first.
        assert_eq!(protect(&parts), [None, None, M, C, None, Some(Empty)]);
    }

    #[test]
    fn complements_are_added_until_the_residual_passes() {
        // Two failing cells of 2 organisations: their sum (4) still fails, so a
        // third is needed although two are already hidden.
        let parts = breakdown(&[("a", 0, 2), ("b", 10, 2), ("c", 20, 6), ("d", 30, 9)]);
        assert_eq!(protect(&parts), [None, M, M, C, None]);
        // Two failing cells of 4 whose sum (4 zero-return, 4 with impact)
        // passes the rules, but not the count: 8 hidden organisations in two
        // cells that each say "fewer than 5" are 4 and 4. Until
        // pilotledger-disclosure-3 they were published that way.
        let parts = breakdown(&[("a", 0, 4), ("b", 10, 4), ("c", 20, 6), ("d", 30, 9)]);
        assert_eq!(protect(&parts), [None, M, M, C, None]);
    }

    #[test]
    fn no_hidden_count_is_pinned_by_the_published_total_and_reasons() {
        // One cell of 4 ("fewer than 5") beside a complement of 6: 10 hidden,
        // so the first is 4 or fewer and the second 6 or more — not pinned.
        let parts = breakdown(&[("a", 0, 4), ("b", 10, 6), ("c", 20, 9)]);
        let got = protect(&parts);
        assert_eq!(got, [None, M, C, None]);
        // Three cells of 4, 4 and 3 (11 hidden, each "fewer than 5"): each
        // ranges over at least two values (3 or 4; 3 or 4; 3, 2 … 4), so no
        // complement is needed.
        let parts = breakdown(&[("a", 0, 4), ("b", 10, 4), ("c", 20, 3), ("d", 30, 9), ("e", 40, 9)]);
        assert_eq!(protect(&parts), [None, M, M, M, None, None]);
    }

    #[test]
    fn counts_of_a_cell_withheld_only_for_its_outcome_stay_published() {
        // "c" is one-sided (all zero-return): its figures are withheld, its
        // counts are not, and its complement "a" keeps its counts too, as at
        // every other point of the grid where neither is withheld.
        let mut parts = breakdown(&[("a", 0, 6), ("b", 10, 7), ("c", 20, 6), ("d", 30, 9)]);
        for c in parts[2].1.values_mut() {
            c.zero_impact = c.pilots;
        }
        let mut total = Contributions::new();
        for (org, c) in parts.iter().flat_map(|(_, c)| c) {
            total.entry(*org).or_default().add(c);
        }
        let refs: Vec<(&str, &Contributions)> = parts.iter().map(|(v, c)| (*v, c)).collect();
        let got = protect_breakdown(&total, &refs, &p());
        assert_eq!(got.parts, [C, None, Some(OneSided), None]);
        assert_eq!(got.counts_hidden, [false, false, false, false]);
        assert!(!got.total_counts_hidden);
        // A structural failure hides the counts, and its complement's.
        let parts = breakdown(&[("a", 0, 6), ("b", 10, 2), ("c", 20, 7), ("d", 30, 9)]);
        let mut total = Contributions::new();
        for (org, c) in parts.iter().flat_map(|(_, c)| c) {
            total.entry(*org).or_default().add(c);
        }
        let refs: Vec<(&str, &Contributions)> = parts.iter().map(|(v, c)| (*v, c)).collect();
        let got = protect_breakdown(&total, &refs, &p());
        assert_eq!(got.parts, [C, M, None, None]);
        assert_eq!(got.counts_hidden, [true, true, false, false]);
    }

    #[test]
    fn a_suppressed_total_is_never_the_sum_of_published_parts() {
        // Pilot-level breakdown: each organisation has impact in one function
        // and only zero-impact pilots in the other, so the total has no
        // zero-return organisation (one_sided) while both functions pass.
        let parts = vec![
            ("sales", cell("z z z i i i")),
            ("customer", cell("i i i z z z")),
            ("hr", cell("")),
        ];
        assert_eq!(protect(&parts), [Some(OneSided), None, C, Some(Empty)]);
    }

    #[test]
    fn structural_complements_do_not_depend_on_the_definition() {
        // "b" fails min_organisations under any definition; its complement must
        // not change when "c" turns one-sided (which depends on min_impact), or
        // comparing two responses would reveal "b".
        let mut parts = breakdown(&[("a", 0, 6), ("b", 10, 2), ("c", 20, 6), ("d", 30, 9)]);
        assert_eq!(protect(&parts), [None, C, M, None, None]);
        // "c" loses a zero-return organisation. The residual b + c (3 zero-return,
        // 5 with impact) would then pass, so a single pass would publish "a".
        parts[2].1.get_mut(&24).unwrap().zero_impact = 0;
        assert_eq!(protect(&parts), [None, C, M, Some(OneSided), None]);
    }

    #[test]
    fn money_bands_have_exact_decade_boundaries() {
        assert_eq!(money_band(0), "0-1K USD");
        assert_eq!(money_band(99_999), "0-1K USD");
        assert_eq!(money_band(100_000), "1K-10K USD");
        assert_eq!(money_band(999_999_999), "1M-10M USD");
        assert_eq!(money_band(1_000_000_000), "10M-100M USD");
        assert_eq!(money_band(99_999_999_999_999), "100B-1T USD");
        assert_eq!(money_band(100_000_000_000_000), "1T+ USD");
    }
}
