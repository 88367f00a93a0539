//! Ledger entries: spend and impact, validated. Entries are append-only; a wrong
//! one is corrected by a reversal that references it.

use chrono::NaiveDate;

use super::enums::{AttributionMethod, ImpactKind, SpendCategory};
use super::money::Money;
use super::pilots::{check_date, FieldError};

/// A reporting period, start ≤ end, both inside the ledger's date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, FieldError> {
        let start = check_date("period_start", start)?;
        let end = check_date("period_end", end)?;
        if end < start {
            return Err(FieldError::new(
                "period_end",
                format!("{end} is before period_start {start}"),
            ));
        }
        Ok(Self { start, end })
    }
}

/// Whether an entry is spend or impact, with the attributes each kind has:
/// the one spend-or-impact type the ledger, the analytics and the demo data
/// share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Money spent on the pilot.
    Spend {
        /// What it was spent on.
        category: SpendCategory,
        /// Capital rather than operating expenditure.
        capex: bool,
    },
    /// P&L impact attributed to the pilot (negative for harm).
    Impact {
        /// The P&L line it lands on.
        kind: ImpactKind,
        /// How it was attributed.
        method: AttributionMethod,
        /// Backed by a measurement (false for a forecast).
        measured: bool,
    },
}

/// A validated entry ready to append to the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub period: Period,
    /// The exact amount, in its currency's minor units.
    pub amount: Money,
    pub kind: EntryKind,
    /// How sure the team is of an impact (0–1); never set on spend.
    pub confidence: Option<f64>,
    /// The spend note or the impact evidence.
    pub note: Option<String>,
}

/// Confidence is a probability.
pub fn check_confidence(c: f64) -> Result<f64, FieldError> {
    if !c.is_finite() || !(0.0..=1.0).contains(&c) {
        return Err(FieldError::new("confidence", "must be a number from 0 to 1"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_must_not_end_before_it_starts() {
        let a: NaiveDate = "2026-02-01".parse().unwrap();
        let b: NaiveDate = "2026-01-31".parse().unwrap();
        assert_eq!(Period::new(a, b).unwrap_err().field, "period_end");
        assert!(Period::new(b, a).is_ok());
        assert!(Period::new(a, a).is_ok());
    }

    #[test]
    fn confidence_is_a_probability() {
        assert!(check_confidence(1.01).is_err());
        assert!(check_confidence(-0.1).is_err());
        assert!(check_confidence(f64::NAN).is_err());
        assert_eq!(check_confidence(0.8), Ok(0.8));
    }
}
