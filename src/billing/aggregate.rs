//! Bill lines summed into ledger entries: exactly per (source, allocation,
//! month, service category, currency), rounded once half-to-even to the
//! currency's minor unit, split rules applied to the rounded minor units by
//! largest remainder, and per (pilot, month, service category, currency)
//! the result of one source. A source is one bill: (kind, provider, billing
//! account, billing period). What no rule allocates is the rest: the bill's
//! total rounded once, less what went to pilots, so the two always add up
//! to the bill's total to the minor unit. Memory grows with the number of
//! such groups, never with the number of lines.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::decimal::Exact;
use super::rules::{split, Rule, Target};
use crate::domain::currency::Currency;
use crate::domain::money::MAX_AMOUNT_MINOR;

/// One bill: where a set of lines came from. A later import of the same
/// source replaces what an earlier one wrote.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SourceKey {
    /// `focus`, `openai` or `anthropic`.
    pub kind: String,
    pub provider: String,
    pub billing_account: String,
    pub billing_period: NaiveDate,
}

impl SourceKey {
    /// The stored form, one string.
    pub fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.kind, self.provider, self.billing_account, self.billing_period
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct GroupKey {
    source: u32,
    /// Index into the rules plus one; 0 = unallocated.
    target: u32,
    month: NaiveDate,
    category: u32,
    currency: Currency,
}

#[derive(Default, Clone, Copy)]
struct Sum {
    exact: Exact,
    rows: u64,
}

impl Sum {
    fn add(&mut self, cost: Exact) -> bool {
        match self.exact.checked_add(cost) {
            Some(e) => {
                self.exact = e;
                self.rows += 1;
                true
            }
            None => false,
        }
    }
}

/// Sums lines as they are read.
#[derive(Default)]
pub struct Accumulator {
    sources: Vec<SourceKey>,
    source_at: HashMap<SourceKey, u32>,
    categories: Vec<String>,
    category_at: HashMap<String, u32>,
    groups: HashMap<GroupKey, Sum>,
    lines: u64,
}

/// One line, as the rules have placed it.
pub struct Line<'a> {
    pub source: &'a SourceKey,
    /// `first_match` over the rules: `None` = unallocated.
    pub rule: Option<usize>,
    /// First day of the month the charge belongs to.
    pub month: NaiveDate,
    pub service_category: &'a str,
    pub currency: Currency,
    pub cost: Exact,
}

impl Accumulator {
    /// Adds a line; `false` when a sum would pass what an `Exact` holds.
    pub fn add(&mut self, line: Line<'_>) -> bool {
        let source = match self.source_at.get(line.source) {
            Some(i) => *i,
            None => {
                let i = self.sources.len() as u32;
                self.sources.push(line.source.clone());
                self.source_at.insert(line.source.clone(), i);
                i
            }
        };
        let category = match self.category_at.get(line.service_category) {
            Some(i) => *i,
            None => {
                let i = self.categories.len() as u32;
                self.categories.push(line.service_category.to_owned());
                self.category_at.insert(line.service_category.to_owned(), i);
                i
            }
        };
        let key = GroupKey {
            source,
            target: line.rule.map_or(0, |r| r as u32 + 1),
            month: line.month,
            category,
            currency: line.currency,
        };
        self.lines += 1;
        self.groups.entry(key).or_default().add(line.cost)
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// The entries and totals of every source, or why they cannot be
    /// written exactly.
    pub fn plan(self, rules: &[Rule]) -> Result<Plan, String> {
        let mut by_source: BTreeMap<u32, SourcePlan> = BTreeMap::new();
        let mut entries: BTreeMap<(u32, String, NaiveDate, u32, Currency), i64> = BTreeMap::new();
        let mut groups: Vec<(GroupKey, Sum)> = self.groups.into_iter().collect();
        groups.sort_by_key(|(k, _)| *k);
        for (k, sum) in groups {
            let plan = by_source.entry(k.source).or_insert_with(|| SourcePlan {
                source: self.sources[k.source as usize].clone(),
                currencies: Vec::new(),
                entries: Vec::new(),
                unallocated: Vec::new(),
            });
            let at = plan.totals_at(k.currency);
            let totals = &mut plan.currencies[at];
            totals.rows += sum.rows;
            totals.total_exact = totals.total_exact.checked_add(sum.exact).ok_or(TOO_LARGE)?;
            let category = &self.categories[k.category as usize];
            if k.target == 0 {
                totals.unallocated_exact = totals.unallocated_exact.checked_add(sum.exact).ok_or(TOO_LARGE)?;
                totals.unallocated_rows += sum.rows;
                plan.unallocated.push(UnallocatedGroup {
                    month: k.month,
                    service_category: category.clone(),
                    currency: k.currency.code().to_owned(),
                    exact: sum.exact.to_string(),
                    rows: sum.rows,
                });
                continue;
            }
            let minor = sum.exact.round_minor(k.currency.exponent()).ok_or(TOO_LARGE)?;
            let shares: Vec<(String, i64)> = match &rules[k.target as usize - 1].target {
                Target::Pilot(p) => vec![(p.clone(), minor)],
                Target::Split(parts) => {
                    let weights: Vec<u32> = parts.iter().map(|(_, w)| *w).collect();
                    parts
                        .iter()
                        .map(|(p, _)| p.clone())
                        .zip(split(minor, &weights))
                        .collect()
                }
            };
            for (pilot, amount) in shares {
                totals.allocated_minor = totals.allocated_minor.checked_add(amount).ok_or(TOO_LARGE)?;
                let e = entries
                    .entry((k.source, pilot, k.month, k.category, k.currency))
                    .or_insert(0);
                *e = e.checked_add(amount).ok_or(TOO_LARGE)?;
            }
        }
        for ((source, pilot, month, category, currency), amount) in entries {
            if amount == 0 {
                continue;
            }
            if amount.unsigned_abs() > MAX_AMOUNT_MINOR as u64 {
                return Err(TOO_LARGE.into());
            }
            if let Some(plan) = by_source.get_mut(&source) {
                plan.entries.push(PlannedEntry {
                    pilot,
                    month,
                    service_category: self.categories[category as usize].clone(),
                    currency,
                    amount_minor: amount,
                });
            }
        }
        let mut sources: Vec<SourcePlan> = by_source.into_values().collect();
        for s in &mut sources {
            for t in &mut s.currencies {
                t.total_minor = t.total_exact.round_minor(t.currency.exponent()).ok_or(TOO_LARGE)?;
                t.unallocated_minor = t.total_minor.checked_sub(t.allocated_minor).ok_or(TOO_LARGE)?;
            }
            s.entries.sort_by(|a, b| {
                (&a.pilot, a.month, &a.service_category, a.currency).cmp(&(
                    &b.pilot,
                    b.month,
                    &b.service_category,
                    b.currency,
                ))
            });
        }
        sources.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(Plan {
            lines: self.lines,
            sources,
        })
    }
}

const TOO_LARGE: &str = "a sum of this bill passes the largest exact amount";

/// What an import means for the ledger.
#[derive(Debug, Clone)]
pub struct Plan {
    pub lines: u64,
    pub sources: Vec<SourcePlan>,
}

/// One bill's entries and totals.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    pub source: SourceKey,
    pub currencies: Vec<CurrencyTotals>,
    /// Sorted by (pilot, month, category, currency); no zero amounts.
    pub entries: Vec<PlannedEntry>,
    pub unallocated: Vec<UnallocatedGroup>,
}

impl SourcePlan {
    fn totals_at(&mut self, currency: Currency) -> usize {
        match self.currencies.iter().position(|t| t.currency == currency) {
            Some(at) => at,
            None => {
                self.currencies.push(CurrencyTotals::new(currency));
                self.currencies.len() - 1
            }
        }
    }
}

/// One bill's figures in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: Currency,
    pub rows: u64,
    pub total_exact: Exact,
    /// `total_exact` rounded once.
    pub total_minor: i64,
    /// What went to pilots (each entry rounded once, splits by largest remainder).
    pub allocated_minor: i64,
    /// The rest: `total_minor − allocated_minor`.
    pub unallocated_minor: i64,
    /// The exact sum of the lines no rule matched.
    pub unallocated_exact: Exact,
    pub unallocated_rows: u64,
}

impl CurrencyTotals {
    fn new(currency: Currency) -> Self {
        Self {
            currency,
            rows: 0,
            total_exact: Exact::ZERO,
            total_minor: 0,
            allocated_minor: 0,
            unallocated_minor: 0,
            unallocated_exact: Exact::ZERO,
            unallocated_rows: 0,
        }
    }
}

/// One spend entry to hold in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    pub pilot: String,
    pub month: NaiveDate,
    pub service_category: String,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// Lines no rule matched, per month and service category (exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnallocatedGroup {
    pub month: NaiveDate,
    pub service_category: String,
    pub currency: String,
    pub exact: String,
    pub rows: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::rules::Match;

    fn source() -> SourceKey {
        SourceKey {
            kind: "focus".into(),
            provider: "AWS".into(),
            billing_account: "1".into(),
            billing_period: NaiveDate::from_ymd_opt(2024, 9, 1).unwrap(),
        }
    }

    #[test]
    fn the_rest_is_unallocated_and_totals_add_up() {
        let rules = vec![
            Rule {
                id: "a".into(),
                priority: 0,
                matcher: Match::default(),
                target: Target::Pilot("p1".into()),
            },
            Rule {
                id: "b".into(),
                priority: 1,
                matcher: Match::default(),
                target: Target::Split(vec![("p1".into(), 5000), ("p2".into(), 5000)]),
            },
        ];
        let src = source();
        let month = NaiveDate::from_ymd_opt(2024, 9, 1).unwrap();
        let mut acc = Accumulator::default();
        for (rule, cost) in [
            (Some(0), "0.004"),
            (Some(0), "0.002"),
            (Some(1), "0.031"),
            (None, "0.0049"),
        ] {
            assert!(acc.add(Line {
                source: &src,
                rule,
                month,
                service_category: "Compute",
                currency: Currency::USD,
                cost: Exact::parse(cost).unwrap(),
            }));
        }
        let plan = acc.plan(&rules).unwrap();
        let s = &plan.sources[0];
        // p1: 0.006 → 1 cent, plus half of 3 cents (2, the tie goes first); p2: 1.
        assert_eq!(
            s.entries
                .iter()
                .map(|e| (e.pilot.as_str(), e.amount_minor))
                .collect::<Vec<_>>(),
            vec![("p1", 3), ("p2", 1)]
        );
        let t = &s.currencies[0];
        // Total 0.0419 → 4 cents; 4 allocated; the rest 0 (0.0049 exact).
        assert_eq!((t.total_minor, t.allocated_minor, t.unallocated_minor), (4, 4, 0));
        assert_eq!(t.unallocated_exact.to_string(), "0.0049");
        assert_eq!(t.rows, 4);
    }
}
