//! Exact currency conversion: [`FxRate`], a positive decimal rate to USD, and
//! [`convert`] / [`to_usd_minor`], which turn minor units of one currency
//! into minor units of another with a single half-to-even rounding.
//!
//! All arithmetic is on integers (`u128` magnitudes, every step checked), so
//! a result is either the exactly rounded value or [`MoneyError::Overflow`].

use std::fmt;
use std::str::FromStr;

use super::currency::Currency;
use super::money::split_decimal;
use super::money_error::{excerpt, MoneyError};

/// Most integer digits, and most decimal places, an [`FxRate`] may have.
const MAX_RATE_DIGITS: usize = 12;

/// An exact, strictly positive exchange rate: 1 unit of a currency = `rate` USD.
///
/// Stored as `digits / 10^scale`, normalised so `digits` has no trailing
/// decimal zeros: "1.50" and "1.5" are the same (equal) rate, and
/// [`Display`](fmt::Display) prints the shortest form ("1.5"; "2.000" prints
/// "2"). A canonical string such as "1.0842" round-trips unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FxRate {
    digits: u128,
    scale: u32,
}

impl FxRate {
    /// The rate 1 (USD itself).
    pub const ONE: FxRate = FxRate { digits: 1, scale: 0 };

    /// Parses a plain decimal such as `"1.0842"` or `"0.006712"`: digits,
    /// optionally `.` and 1..=12 decimal places, at most 12 integer digits.
    /// Zero, negatives, exponents, NaN, signs, whitespace and anything else
    /// give [`MoneyError::InvalidRate`] saying why.
    pub fn parse(s: &str) -> Result<FxRate, MoneyError> {
        let invalid = |why: &str| MoneyError::InvalidRate(format!("{:?}: {why}", excerpt(s)));
        let (negative, int_part, frac) = split_decimal(s).map_err(|why| invalid(&why))?;
        if negative {
            return Err(invalid("must be positive"));
        }
        if int_part.len() > MAX_RATE_DIGITS {
            return Err(invalid("more than 12 integer digits"));
        }
        if frac.len() > MAX_RATE_DIGITS {
            return Err(invalid("more than 12 decimal places"));
        }
        // At most 24 digits < 10^24 < 2^80: cannot overflow u128.
        let mut digits = int_part
            .bytes()
            .chain(frac.bytes())
            .fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'));
        if digits == 0 {
            return Err(invalid("must be positive"));
        }
        // Normalise so equal rates compare equal and Display is canonical.
        let mut scale = frac.len() as u32;
        while scale > 0 && digits % 10 == 0 {
            digits /= 10;
            scale -= 1;
        }
        Ok(FxRate { digits, scale })
    }
}

impl fmt::Display for FxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.digits);
        }
        let unit = 10u128.pow(self.scale);
        let width = self.scale as usize;
        write!(f, "{}.{:0width$}", self.digits / unit, self.digits % unit)
    }
}

impl FromStr for FxRate {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FxRate::parse(s)
    }
}

/// Converts `amount_minor` of `from` (worth `from_rate` USD per unit) into
/// minor units of `to` (worth `to_rate` USD per unit).
///
/// Computes the exact rational `amount × from_rate ÷ to_rate ×
/// 10^(to.exp − from.exp)` and rounds it once, half to even, symmetrically
/// about zero (2.5 → 2, 3.5 → 4, -2.5 → -2, -3.5 → -4). If `from == to`
/// the amount is returned unchanged whatever the rates say. Returns
/// [`MoneyError::Overflow`] if the result leaves `i64`, or if the exact
/// intermediate `|amount| × rate digits × 10^k` exceeds `u128` (~3.4e38),
/// which needs both an extreme amount and an extreme rate.
pub fn convert(
    amount_minor: i64,
    from: Currency,
    from_rate: FxRate,
    to: Currency,
    to_rate: FxRate,
) -> Result<i64, MoneyError> {
    if from == to {
        return Ok(amount_minor);
    }
    // amount × (fd / 10^fs) / (td / 10^ts) × 10^te / 10^fe
    //   = amount × fd × 10^(ts + te)  /  (td × 10^(fs + fe));
    // the two powers of ten are netted so only one side gets multiplied.
    let up = to_rate.scale + to.exponent();
    let down = from_rate.scale + from.exponent();
    let pow10 = |e: u32| 10u128.checked_pow(e).ok_or(MoneyError::Overflow);
    let numerator = u128::from(amount_minor.unsigned_abs())
        .checked_mul(from_rate.digits)
        .and_then(|n| n.checked_mul(pow10(up.saturating_sub(down)).ok()?))
        .ok_or(MoneyError::Overflow)?;
    let denominator = to_rate
        .digits
        .checked_mul(pow10(down.saturating_sub(up))?)
        .ok_or(MoneyError::Overflow)?;
    // denominator > 0: rates are positive by construction.
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    // Round the magnitude, then reapply the sign: that makes the rounding
    // symmetric. Compare remainder with denominator - remainder rather than
    // 2 × remainder with denominator, which could overflow.
    let rest = denominator - remainder;
    let round_up = remainder > rest || (remainder == rest && quotient % 2 == 1);
    let magnitude = if round_up {
        quotient.checked_add(1).ok_or(MoneyError::Overflow)?
    } else {
        quotient
    };
    let magnitude = i128::try_from(magnitude).map_err(|_| MoneyError::Overflow)?;
    let signed = if amount_minor < 0 { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| MoneyError::Overflow)
}

/// Converts `amount_minor` of `from` into US cents; `convert` with
/// `to = USD` at rate 1. A USD amount comes back unchanged whatever
/// `from_rate` is.
pub fn to_usd_minor(amount_minor: i64, from: Currency, from_rate: FxRate) -> Result<i64, MoneyError> {
    convert(amount_minor, from, from_rate, Currency::USD, FxRate::ONE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn rate(s: &str) -> FxRate {
        FxRate::parse(s).unwrap()
    }

    fn conv(a: i64, from: &str, from_rate: &str, to: &str, to_rate: &str) -> Result<i64, MoneyError> {
        convert(a, cur(from), rate(from_rate), cur(to), rate(to_rate))
    }

    #[test]
    fn rates_parse_normalise_and_round_trip() {
        #[rustfmt::skip]
        let cases = [
            ("1.0842", "1.0842"), ("1.50", "1.5"), ("2.000", "2"), ("007.25", "7.25"),
            ("150", "150"), ("0.000000000001", "0.000000000001"),
            ("999999999999.999999999999", "999999999999.999999999999"),
        ];
        for (s, shown) in cases {
            let r = rate(s);
            assert_eq!(r.to_string(), shown);
            assert_eq!(rate(shown), r);
        }
        assert_eq!(rate("1"), FxRate::ONE);
        assert_eq!("1.10".parse::<FxRate>(), Ok(rate("1.1")));
    }

    #[test]
    fn bad_rates_are_invalid_rate() {
        #[rustfmt::skip]
        let cases = [
            "", "0", "0.0", "000.000000000000", "-1", "-0.5", "1e3", "1E-3", "NaN", "Infinity",
            "inf", "+1", " 1", "1 ", "1.", ".5", "1,5", "1.2.3", "0x1",
            "1.0000000000001", "1234567890123", // 13 decimals, 13 integer digits
        ];
        for s in cases {
            let got = FxRate::parse(s);
            assert!(matches!(got, Err(MoneyError::InvalidRate(_))), "{s:?} {got:?}");
        }
    }

    #[test]
    fn exact_halves_round_to_even_symmetrically() {
        #[rustfmt::skip]
        let cases = [
            // USD→EUR, 1 EUR = 2 USD: n cents → n/2. 2.5 → 2, 3.5 → 4.
            (5, "USD", "1", "EUR", "2", 2), (7, "USD", "1", "EUR", "2", 4),
            (-5, "USD", "1", "EUR", "2", -2), (-7, "USD", "1", "EUR", "2", -4),
            (6, "USD", "1", "EUR", "2", 3), (1, "USD", "1", "EUR", "2", 0),
            // EUR→JPY at 1.1 / 0.01: 1 cent = 1.1 yen. 5.5 → 6, 16.5 → 16.
            (5, "EUR", "1.1", "JPY", "0.01", 6), (15, "EUR", "1.1", "JPY", "0.01", 16),
            (-5, "EUR", "1.1", "JPY", "0.01", -6), (-15, "EUR", "1.1", "JPY", "0.01", -16),
            // JPY→BHD at 0.0025 / 1: 1 yen = 2.5 fils. 2.5 → 2, 7.5 → 8.
            (1, "JPY", "0.0025", "BHD", "1", 2), (3, "JPY", "0.0025", "BHD", "1", 8),
            (-1, "JPY", "0.0025", "BHD", "1", -2), (-3, "JPY", "0.0025", "BHD", "1", -8),
        ];
        for (a, from, fr, to, tr, want) in cases {
            assert_eq!(conv(a, from, fr, to, tr), Ok(want), "{a} {from}->{to}");
        }
    }

    #[test]
    fn exponent_changing_conversions() {
        // 100.00 EUR × 1.0842 / 0.0067 = 108.42 / 0.0067 = 16182.0895.. → 16182
        // (6700 × 16182 = 108419400, remainder 600 of 6700 < half).
        assert_eq!(conv(10_000, "EUR", "1.0842", "JPY", "0.0067"), Ok(16182));
        // 1500 JPY × 0.0067 / 2.659 = 3.779616.. BHD → 3780 fils
        // (10050000 / 2659 = 3779 r 1639, 1639 > 2659 / 2 → up).
        assert_eq!(conv(1500, "JPY", "0.0067", "BHD", "2.659"), Ok(3780));
        assert_eq!(conv(-1500, "JPY", "0.0067", "BHD", "2.659"), Ok(-3780));
        // To USD: 100.00 EUR at 1.0842 = 108.42 USD; 1500 JPY at 0.0067 = 10.05.
        assert_eq!(to_usd_minor(10_000, cur("EUR"), rate("1.0842")), Ok(10_842));
        assert_eq!(to_usd_minor(1500, cur("JPY"), rate("0.0067")), Ok(1005));
    }

    #[test]
    fn same_currency_is_identity_whatever_the_rates() {
        for a in [0, 1, -1, 12_345, i64::MAX, i64::MIN] {
            assert_eq!(conv(a, "EUR", "1.5", "EUR", "3"), Ok(a));
            assert_eq!(to_usd_minor(a, Currency::USD, rate("1.2")), Ok(a));
        }
        // The full range also survives the arithmetic path at parity.
        assert_eq!(conv(i64::MIN, "EUR", "1", "USD", "1"), Ok(i64::MIN));
        assert_eq!(conv(i64::MAX, "EUR", "1", "USD", "1"), Ok(i64::MAX));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let overflow = Err(MoneyError::Overflow);
        let (tiny, huge) = ("0.000000000001", "999999999999.999999999999");
        // Result ~9.2e28 yen: fits u128, not i64.
        assert_eq!(conv(i64::MAX, "USD", "1", "JPY", tiny), overflow);
        assert_eq!(conv(i64::MIN, "USD", "1", "JPY", tiny), overflow);
        // Intermediate 9.2e18 × 1e24 × 1e15 exceeds u128.
        assert_eq!(conv(i64::MAX, "JPY", huge, "BHD", tiny), overflow);
        assert_eq!(conv(i64::MIN, "JPY", huge, "BHD", tiny), overflow);
        // At 0.02 USD/yen one yen is 2 cents. -2^62 yen → -2^63 = i64::MIN
        // cents, representable; +2^62 yen → 2^63 cents is one past i64::MAX.
        let (jpy, two_62) = (cur("JPY"), 1i64 << 62);
        assert_eq!(to_usd_minor(-two_62, jpy, rate("0.02")), Ok(i64::MIN));
        assert_eq!(to_usd_minor(two_62, jpy, rate("0.02")), overflow);
        assert_eq!(to_usd_minor(two_62 - 1, jpy, rate("0.02")), Ok(i64::MAX - 1));
    }

    /// Independent reference: signed i128, powers of ten cancelled by a loop,
    /// floor via div_euclid, then the nearer of floor / floor+1 (even on a
    /// tie). Production instead rounds the unsigned magnitude. Returns the
    /// rounded value and whether it was an exact half.
    fn reference(a: i64, fe: u32, fm: u64, fk: u32, te: u32, tm: u64, tk: u32) -> (i128, bool) {
        let mut n = i128::from(a) * i128::from(fm) * 10i128.pow(tk) * 10i128.pow(te);
        let mut d = i128::from(tm) * 10i128.pow(fk) * 10i128.pow(fe);
        while n % 10 == 0 && d % 10 == 0 {
            n /= 10;
            d /= 10;
        }
        let (floor, rem) = (n.div_euclid(d), n.rem_euclid(d));
        match (2 * rem).cmp(&d) {
            Ordering::Less => (floor, false),
            Ordering::Greater => (floor + 1, false),
            Ordering::Equal => (if floor % 2 == 0 { floor } else { floor + 1 }, true),
        }
    }

    #[test]
    fn matches_reference_on_pseudo_random_cases() {
        let mut state: u64 = 0x5EED_F00D;
        let mut next = move |bound: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % bound
        };
        let currencies = ["USD", "EUR", "JPY", "BHD", "KWD", "CLP", "GBP"].map(cur);
        let (mut ties, mut negative_ties) = (0, 0);
        for _ in 0..5000 {
            let (from, to) = (currencies[next(7) as usize], currencies[next(7) as usize]);
            // Small amounts and short rates make exact halves common.
            let a = [next(2000), next(10u64.pow(12))][next(2) as usize] as i64;
            let a = if next(2) == 0 { -a } else { a };
            let mut pick_rate = || {
                // Half the time a power-of-2/5 mantissa with a short scale.
                let easy = [1, 2, 4, 5, 8, 16, 25, 40, 50, 125, 250, 625];
                let (mantissa, scale) = match next(2) {
                    0 => (easy[next(12) as usize], next(4) as u32),
                    _ => (1 + next(10u64.pow(8) - 1), next(9) as u32),
                };
                // Rate text built from (mantissa, scale) digit by digit, so
                // it may carry trailing zeros that FxRate must normalise.
                let mut text = format!("{mantissa:0>w$}", w = scale as usize + 1);
                text.insert(text.len() - scale as usize, '.');
                let text = text.trim_end_matches('.');
                (mantissa, scale, rate(text))
            };
            let ((fm, fk, fr), (tm, tk, tr)) = (pick_rate(), pick_rate());
            let got = convert(a, from, fr, to, tr);
            if from == to {
                assert_eq!(got, Ok(a));
                continue;
            }
            let (want, tie) = reference(a, from.exponent(), fm, fk, to.exponent(), tm, tk);
            let want = i64::try_from(want).map_err(|_| MoneyError::Overflow);
            assert_eq!(got, want, "{a} {from}@{fr} -> {to}@{tr}");
            ties += usize::from(tie);
            negative_ties += usize::from(tie && a < 0);
        }
        // Guard against the generator drifting into never testing halves.
        assert!(ties > 60 && negative_ties > 25, "{ties} ties, {negative_ties} negative");
    }
}
