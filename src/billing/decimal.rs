//! Exact decimals for bill amounts: an `i128` count of 10⁻¹⁸ units, enough
//! for FOCUS's 11 decimal places and Anthropic's fractional cents, summed
//! without loss and rounded once, half-to-even, to a currency's minor unit.
//! No floating point anywhere.

use std::fmt;

/// Fraction digits an [`Exact`] keeps.
pub const SCALE: u32 = 18;
const ONE: i128 = 1_000_000_000_000_000_000;

/// An exact decimal amount (`value × 10⁻¹⁸`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exact(pub i128);

impl Exact {
    pub const ZERO: Exact = Exact(0);

    /// Parses a decimal as bills write it: `[-+]digits[.digits]`, optionally
    /// with an exponent (`1.5E-7`, as some exporters write tiny costs).
    /// More than 18 significant fraction digits (after the exponent) is an
    /// error, not a rounding; so is anything past ±10²⁰.
    pub fn parse(s: &str) -> Result<Exact, String> {
        let s = s.trim();
        let (mantissa, exponent) = match s.find(['e', 'E']) {
            Some(at) => {
                let e: i32 = s[at + 1..]
                    .parse()
                    .map_err(|_| format!("{s:?} is not a decimal number"))?;
                (&s[..at], e)
            }
            None => (s, 0),
        };
        let (negative, body) = match mantissa.as_bytes().first() {
            Some(b'-') => (true, &mantissa[1..]),
            Some(b'+') => (false, &mantissa[1..]),
            _ => (false, mantissa),
        };
        let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
        let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !digits_ok(whole) || !digits_ok(fraction) {
            return Err(format!("{s:?} is not a decimal number"));
        }
        // The digits as one integer, and where the decimal point sits.
        let fraction = fraction.trim_end_matches('0');
        let places = fraction.len() as i64 - i64::from(exponent);
        if places > i64::from(SCALE) {
            return Err(format!("{s:?} has more than {SCALE} decimal places"));
        }
        let shift = u32::try_from(i64::from(SCALE) - places).map_err(|_| format!("{s:?} is too large"))?;
        let mut value: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .ok_or_else(|| format!("{s:?} is too large"))?;
        }
        let value = 10i128
            .checked_pow(shift)
            .and_then(|p| value.checked_mul(p))
            .filter(|v| v.unsigned_abs() <= 100_000_000_000_000_000_000u128 * ONE as u128)
            .ok_or_else(|| format!("{s:?} is too large"))?;
        Ok(Exact(if negative { -value } else { value }))
    }

    /// An amount of whole minor units of a currency with `exponent` digits.
    pub fn from_minor(minor: i64, exponent: u32) -> Exact {
        Exact(i128::from(minor) * 10i128.pow(SCALE - exponent))
    }

    pub fn checked_add(self, other: Exact) -> Option<Exact> {
        self.0.checked_add(other.0).map(Exact)
    }

    /// Divides by `divisor` (a positive power of ten or a count), exactly
    /// when it divides, else `None`.
    pub fn div_exact(self, divisor: i128) -> Option<Exact> {
        (divisor != 0 && self.0 % divisor == 0).then(|| Exact(self.0 / divisor))
    }

    /// Rounds once, half-to-even, to minor units of a currency with
    /// `exponent` digits; `None` when the result leaves `i64`.
    pub fn round_minor(self, exponent: u32) -> Option<i64> {
        let unit = 10i128.pow(SCALE - exponent);
        let (q, r) = (self.0.div_euclid(unit), self.0.rem_euclid(unit));
        // q is the floor; r in [0, unit).
        let up = match (2 * r).cmp(&unit) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => q % 2 != 0,
        };
        i64::try_from(if up { q + 1 } else { q }).ok()
    }
}

impl fmt::Display for Exact {
    /// The shortest plain decimal: `-0.000000800000` → `-0.0000008`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let m = self.0.unsigned_abs();
        let (whole, fraction) = (m / ONE as u128, m % ONE as u128);
        if fraction == 0 {
            return write!(f, "{sign}{whole}");
        }
        let digits = format!("{fraction:018}");
        write!(f, "{sign}{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(s: &str) -> Exact {
        Exact::parse(s).unwrap()
    }

    #[test]
    fn bill_decimals_parse_exactly() {
        assert_eq!(x("0.00000080000"), Exact(800_000_000_000));
        assert_eq!(x("-3.00000000000").to_string(), "-3");
        assert_eq!(x("1.5E-7").to_string(), "0.00000015");
        assert_eq!(x("12"), Exact(12 * ONE));
        assert_eq!(x(".5").to_string(), "0.5");
        for bad in ["", "-", "1.2.3", "1,5", "NaN", "0.0000000000000000001", "1e999"] {
            assert!(Exact::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounding_is_half_to_even_once() {
        assert_eq!(x("0.005").round_minor(2), Some(0));
        assert_eq!(x("0.015").round_minor(2), Some(2));
        assert_eq!(x("0.0050000001").round_minor(2), Some(1));
        assert_eq!(x("-0.005").round_minor(2), Some(0));
        assert_eq!(x("-0.015").round_minor(2), Some(-2));
        assert_eq!(x("-0.0151").round_minor(2), Some(-2));
        assert_eq!(x("2.5").round_minor(0), Some(2));
        assert_eq!(x("1.0005").round_minor(3), Some(1000));
    }
}
