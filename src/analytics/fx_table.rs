//! An in-memory table of FX rates to USD, answering "the latest rate dated on
//! or before a date" by binary search, so summaries never query per entry.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::roi::FxSource;
use crate::domain::currency::Currency;
use crate::domain::fx::FxRate;

/// Rates by currency, each list sorted by date.
#[derive(Debug, Default, Clone)]
pub struct FxTable {
    by_currency: BTreeMap<Currency, Vec<(NaiveDate, FxRate)>>,
}

impl FxTable {
    /// Builds the table; rows with unknown currencies or unparsable rates (which
    /// the API never stores) are skipped.
    pub fn new<'a>(rows: impl IntoIterator<Item = (&'a str, NaiveDate, &'a str)>) -> Self {
        let mut by_currency: BTreeMap<Currency, Vec<(NaiveDate, FxRate)>> = BTreeMap::new();
        for (code, date, rate) in rows {
            if let (Ok(c), Ok(r)) = (Currency::parse(code), FxRate::parse(rate)) {
                by_currency.entry(c).or_default().push((date, r));
            }
        }
        for list in by_currency.values_mut() {
            list.sort_by_key(|(d, _)| *d);
        }
        Self { by_currency }
    }
}

impl FxSource for FxTable {
    fn rate_on_or_before(&self, currency: Currency, on: NaiveDate) -> Option<(NaiveDate, FxRate)> {
        let list = self.by_currency.get(&currency)?;
        let n = list.partition_point(|(d, _)| *d <= on);
        n.checked_sub(1).map(|i| list[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_rate_on_or_before_the_date_is_used() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let t = FxTable::new([
            ("EUR", d("2026-01-31"), "1.08"),
            ("EUR", d("2025-12-31"), "1.10"),
            ("EUR", d("2026-02-28"), "1.05"),
        ]);
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(t.rate_on_or_before(eur, d("2025-12-30")), None);
        assert_eq!(t.rate_on_or_before(eur, d("2025-12-31")).unwrap().1.to_string(), "1.1");
        assert_eq!(t.rate_on_or_before(eur, d("2026-02-27")).unwrap().0, d("2026-01-31"));
        assert_eq!(t.rate_on_or_before(eur, d("2027-01-01")).unwrap().0, d("2026-02-28"));
        assert_eq!(t.rate_on_or_before(Currency::USD, d("2026-01-01")), None);
    }
}
