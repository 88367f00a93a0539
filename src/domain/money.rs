//! Exact money: amounts as `i64` counts of a currency's minor unit, the strict
//! decimal-string wire format, overflow-checked sums, and [`MoneyError`], the
//! error type shared by `currency`, `money` and `fx`.
//!
//! Nothing here rounds. A string that does not denote an exact amount in the
//! currency's minor unit is an error, and so is any sum outside `i64`.

use std::fmt;

use super::currency::Currency;

use super::money_error::excerpt;
pub use super::money_error::MoneyError;

/// Splits a plain decimal `[-]digits[.digits]` into (negative, integer
/// digits, fraction digits), or says why `s` is not one. Amounts and FX rates
/// both go through here so they accept exactly the same syntax.
pub(super) fn split_decimal(s: &str) -> Result<(bool, &str, &str), String> {
    if s.is_empty() {
        return Err("empty string".into());
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    // Checked first so "1e3", "NaN" or "1,000" name the offending character.
    if let Some(c) = body.chars().find(|c| !c.is_ascii_digit() && *c != '.') {
        return Err(format!("unexpected character {c:?}"));
    }
    let (int_part, frac) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() {
        return Err("missing digits before the decimal point".into());
    }
    if frac.is_empty() && body.contains('.') {
        return Err("missing digits after the decimal point".into());
    }
    if frac.contains('.') {
        return Err("more than one decimal point".into());
    }
    Ok((negative, int_part, frac))
}

/// The largest magnitude a written amount may have, in minor units: 18 nines.
/// Sums may go further (up to `i64`); single amounts may not.
pub const MAX_AMOUNT_MINOR: i64 = 999_999_999_999_999_999;

/// Parses a wire amount such as `"12500.00"`, `"-0.30"` or `"12500"` into
/// minor units of `currency`.
///
/// Grammar: optional `-`, one or more ASCII digits, then optionally `.` and
/// 1..=exponent digits. Fewer decimals than the exponent are fine ("12500.5"
/// USD = 1250050). Anything else is an error rather than a rounding: exponents,
/// `+`, whitespace, separators, NaN/Infinity, "1.", ".5" give
/// [`MoneyError::InvalidAmount`]; extra decimals ("1.500" USD, "1.5" JPY) give
/// [`MoneyError::TooManyDecimals`]; magnitudes past [`MAX_AMOUNT_MINOR`]
/// give [`MoneyError::TooLarge`]. Leading zeros ("007.50") are accepted as they
/// are unambiguous. "-0" is 0.
pub fn parse_amount(s: &str, currency: Currency) -> Result<i64, MoneyError> {
    let (negative, int_part, frac) =
        split_decimal(s).map_err(|why| MoneyError::InvalidAmount(format!("{:?}: {why}", excerpt(s))))?;
    let exp = currency.exponent() as usize;
    if frac.len() > exp {
        return Err(MoneyError::TooManyDecimals {
            currency: currency.code(),
            max: currency.exponent(),
        });
    }
    // Missing trailing decimals are zeros: "12500.5" USD is 1250050 cents.
    let padding = std::iter::repeat_n(b'0', exp - frac.len());
    // u64 holds 2^63 (|i64::MIN|); any checked overflow is out of range anyway.
    let mut magnitude: u64 = 0;
    for digit in int_part.bytes().chain(frac.bytes()).chain(padding) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(digit - b'0')))
            .ok_or(MoneyError::TooLarge)?;
    }
    if magnitude > MAX_AMOUNT_MINOR as u64 {
        return Err(MoneyError::TooLarge);
    }
    // In range of i64 either way now: the bound is below i64::MAX.
    let magnitude = magnitude as i64;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Formats minor units as the wire string with exactly `exponent` decimals:
/// `-30` USD is `"-0.30"`, `1500` JPY is `"1500"`. Exact for the whole `i64`
/// range (including `i64::MIN`), and `parse_amount` reads it back unchanged.
pub fn format_amount(minor: i64, currency: Currency) -> String {
    // unsigned_abs: negating i64::MIN would overflow.
    let magnitude = minor.unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let exp = currency.exponent();
    if exp == 0 {
        return format!("{sign}{magnitude}");
    }
    let unit = 10u64.pow(exp);
    let (whole, fraction) = (magnitude / unit, magnitude % unit);
    format!("{sign}{whole}.{fraction:0width$}", width = exp as usize)
}

/// An exact amount: a count of `currency` minor units.
///
/// Deliberately not `Serialize`: the wire form is a decimal string plus the
/// currency (see [`Money::format`]), not the raw minor-unit integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    /// Amount in minor units (cents for USD, yen for JPY).
    pub minor: i64,
    /// Currency the minor units belong to.
    pub currency: Currency,
}

impl Money {
    /// Parses a wire amount for `currency`; see [`parse_amount`].
    pub fn parse(amount: &str, currency: Currency) -> Result<Money, MoneyError> {
        Ok(Money {
            minor: parse_amount(amount, currency)?,
            currency,
        })
    }

    /// Exact sum; an error if the currencies differ or the sum leaves `i64`.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: self.currency.code(),
                right: other.currency.code(),
            });
        }
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// The wire decimal string of the amount (without the currency code).
    pub fn format(&self) -> String {
        format_amount(self.minor, self.currency)
    }
}

impl fmt::Display for Money {
    /// Human-readable `"12500.00 USD"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format(), self.currency)
    }
}

/// Sums minor-unit amounts (of one currency) exactly.
///
/// Accumulates in `i128` and range-checks only the final total, so the result
/// depends only on the values, never on their order: `[i64::MAX, 1, -1]` sums
/// to `i64::MAX` rather than failing on the transient `i64::MAX + 1`. The
/// `i128` cannot itself overflow short of 2^64 items, but it is checked anyway.
pub fn checked_sum<I: IntoIterator<Item = i64>>(iter: I) -> Result<i64, MoneyError> {
    let mut total: i128 = 0;
    for v in iter {
        total = total.checked_add(i128::from(v)).ok_or(MoneyError::Overflow)?;
    }
    i64::try_from(total).map_err(|_| MoneyError::Overflow)
}

/// Money on the wire: decimal string, integer minor units and currency.
#[derive(serde::Serialize, Debug, Clone, PartialEq, Eq)]
pub struct MoneyJson {
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
}

impl MoneyJson {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self {
            amount: format_amount(minor, currency),
            amount_minor: minor,
            currency: currency.code().to_owned(),
        }
    }

    /// From stored columns; a currency that no longer parses (dropped from the
    /// ISO table since) is shown as its raw minor units rather than failing the
    /// whole response.
    pub fn stored(minor: i64, code: &str) -> Self {
        match Currency::parse(code) {
            Ok(c) => Self::new(minor, c),
            Err(_) => Self {
                amount: minor.to_string(),
                amount_minor: minor,
                currency: code.to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::USD).unwrap()
    }

    fn parse(s: &str, code: &str) -> Result<i64, MoneyError> {
        parse_amount(s, cur(code))
    }

    #[test]
    fn ten_cents_plus_twenty_cents_is_exactly_thirty() {
        let sum = usd("0.10").checked_add(usd("0.20")).unwrap();
        assert_eq!(sum, usd("0.30"));
        assert_eq!(sum.minor, 30);
        assert_eq!(sum.format(), "0.30");
        assert_eq!(sum.to_string(), "0.30 USD");
    }

    #[test]
    fn accepted_amounts() {
        // i64::MAX = 9223372036854775807 and i64::MIN = -9223372036854775808
        // minor units, written out by hand at each exponent.
        #[rustfmt::skip]
        let cases = [
            ("12500.00", "USD", 1_250_000), ("12500", "USD", 1_250_000),
            ("12500.5", "USD", 1_250_050), ("-300.00", "USD", -30_000), ("-0.30", "USD", -30),
            ("-0", "USD", 0), ("-0.00", "USD", 0), ("007.50", "USD", 750),
            ("1500", "JPY", 1500), ("-1500", "JPY", -1500), ("1.234", "BHD", 1234),
            ("1.2", "BHD", 1200), ("0.001", "KWD", 1), ("-5", "CLP", -5),
            ("9999999999999999.99", "USD", MAX_AMOUNT_MINOR), ("-9999999999999999.99", "USD", -MAX_AMOUNT_MINOR),
            ("999999999999999999", "JPY", MAX_AMOUNT_MINOR), ("-999999999999999999", "KRW", -MAX_AMOUNT_MINOR),
            ("999999999999999.999", "BHD", MAX_AMOUNT_MINOR), ("00009999999999999999.99", "USD", MAX_AMOUNT_MINOR),
        ];
        for (s, code, want) in cases {
            assert_eq!(parse(s, code), Ok(want), "{s} {code}");
        }
    }

    #[test]
    fn amounts_past_eighteen_digits_are_refused_so_every_amount_reverses() {
        #[rustfmt::skip]
        let cases = [
            ("10000000000000000.00", "USD"), ("-10000000000000000", "USD"), ("1000000000000000000", "JPY"),
            ("92233720368547758.07", "USD"), ("-92233720368547758.08", "USD"), ("-9223372036854775808", "KRW"),
            ("9223372036854775.807", "BHD"), ("99999999999999999999999999", "USD"),
        ];
        for (s, code) in cases {
            assert_eq!(parse(s, code), Err(MoneyError::TooLarge), "{s} {code}");
        }
        // Every accepted amount's negation is accepted too.
        let max = parse("9999999999999999.99", "USD").unwrap();
        assert_eq!(parse(&format_amount(-max, cur("USD")), "USD"), Ok(-max));
    }

    #[test]
    fn malformed_amounts_are_invalid() {
        for s in [
            "", "-", "1e3", "1E3", "1.5e2", "NaN", "nan", "Infinity", "-inf", "+1", "+1.00", " 1", "1 ", "1\n", "1.",
            "-1.", ".5", "-.5", "1,000", "1,000.00", "1_000", "1'000", "--1", "1-", "1.2.3", "0x10", "١٢", "$1",
        ] {
            let got = parse_amount(s, Currency::USD);
            assert!(matches!(got, Err(MoneyError::InvalidAmount(_))), "{s:?} {got:?}");
        }
    }

    #[test]
    fn extra_decimals_are_rejected_not_rounded() {
        #[rustfmt::skip]
        let cases = [
            ("1.5", "JPY", 0), ("1.0", "JPY", 0), ("1.500", "USD", 2), ("-0.001", "USD", 2),
            ("1.2345", "BHD", 3),
        ];
        for (s, code, max) in cases {
            let want = MoneyError::TooManyDecimals {
                currency: cur(code).code(),
                max,
            };
            assert_eq!(parse(s, code), Err(want), "{s} {code}");
        }
    }

    #[test]
    fn out_of_range_amounts_are_too_large() {
        #[rustfmt::skip]
        let cases = [
            ("92233720368547758.08", "USD"), ("-92233720368547758.09", "USD"),
            ("9223372036854775808", "JPY"), ("-9223372036854775809", "JPY"),
            ("99999999999999999999999999999999999999999", "JPY"),
            ("92233720368547759", "USD"), // fits as digits, not once ×100
        ];
        for (s, code) in cases {
            assert_eq!(parse(s, code), Err(MoneyError::TooLarge), "{s}");
        }
    }

    #[test]
    fn error_messages_are_readable_and_bounded() {
        let e = parse("1e3", "USD").unwrap_err().to_string();
        assert_eq!(e, "invalid amount: \"1e3\": unexpected character 'e'");
        let e = parse(&"x".repeat(10_000), "USD").unwrap_err().to_string();
        assert!(e.len() < 100, "{e}");
        let e = parse("1.5", "JPY").unwrap_err().to_string();
        assert_eq!(e, "JPY amounts take at most 0 decimal places");
    }

    #[test]
    fn format_examples_and_round_trip() {
        #[rustfmt::skip]
        let cases = [
            (30, "USD", "0.30"), (-30, "USD", "-0.30"), (0, "USD", "0.00"),
            (-5, "BHD", "-0.005"), (1234, "BHD", "1.234"), (1_250_000, "USD", "12500.00"),
            (1500, "JPY", "1500"), (-1, "JPY", "-1"), (i64::MAX, "USD", "92233720368547758.07"),
            (i64::MIN, "USD", "-92233720368547758.08"), (i64::MIN, "JPY", "-9223372036854775808"),
            (i64::MIN, "BHD", "-9223372036854775.808"),
        ];
        for (minor, code, want) in cases {
            assert_eq!(format_amount(minor, cur(code)), want);
        }
        #[rustfmt::skip]
        let values = [0, 1, -1, 9, -10, 99, 100, -101, 123_456, MAX_AMOUNT_MINOR, -MAX_AMOUNT_MINOR];
        for code in ["USD", "JPY", "BHD"] {
            for minor in values {
                let text = format_amount(minor, cur(code));
                assert_eq!(parse(&text, code), Ok(minor), "{minor} {code}");
            }
            // Totals past one amount's bound format exactly but are not inputs.
            for minor in [i64::MAX, i64::MIN, i64::MIN + 1, MAX_AMOUNT_MINOR + 1] {
                let text = format_amount(minor, cur(code));
                assert_eq!(parse(&text, code), Err(MoneyError::TooLarge), "{minor} {code}");
            }
        }
    }

    #[test]
    fn checked_add_mismatch_and_overflow() {
        let yen = Money::parse("100", cur("JPY")).unwrap();
        let mismatch = MoneyError::CurrencyMismatch {
            left: "USD",
            right: "JPY",
        };
        assert_eq!(usd("1.00").checked_add(yen), Err(mismatch));
        let max = Money {
            minor: i64::MAX,
            currency: Currency::USD,
        };
        assert_eq!(max.checked_add(usd("0.01")), Err(MoneyError::Overflow));
        assert_eq!(max.checked_add(usd("-0.01")).unwrap().minor, i64::MAX - 1);
    }

    #[test]
    fn checked_sum_is_exact_order_independent_and_range_checked() {
        let overflow = Err(MoneyError::Overflow);
        assert_eq!(checked_sum([10, 20, -5]), Ok(25));
        assert_eq!(checked_sum(Vec::new()), Ok(0));
        assert_eq!(checked_sum([i64::MAX, 1]), overflow);
        assert_eq!(checked_sum([i64::MIN, -1]), overflow);
        assert_eq!(checked_sum([i64::MAX, i64::MAX, i64::MAX]), overflow);
        // Documented choice: a transient excursion that comes back is fine.
        assert_eq!(checked_sum([i64::MAX, 1, -1]), Ok(i64::MAX));
        assert_eq!(checked_sum([i64::MIN, i64::MAX, 1]), Ok(0));
    }
}
