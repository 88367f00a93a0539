//! What can go wrong with money, shared by `currency`, `money` and `fx`
//! without either of the first two importing the other.

/// Everything that can go wrong parsing, adding or converting money.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// The amount string is not a plain decimal number; the text says why.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// The amount has more decimal places than the currency's minor unit.
    #[error("{currency} amounts take at most {max} decimal places")]
    TooManyDecimals {
        /// Code of the currency the amount was parsed for.
        currency: &'static str,
        /// That currency's exponent.
        max: u32,
    },
    /// Not an accepted ISO 4217 code (holds the offending code, shortened).
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
    /// A written amount with more than 18 digits of minor units: past
    /// [`super::money::MAX_AMOUNT_MINOR`] either way (so its negation, the reversal, is an
    /// amount too, and the spec's pattern describes every accepted amount).
    #[error("amount out of range: at most 18 digits of minor units (±999999999999999999)")]
    TooLarge,
    /// The result does not fit in an `i64` count of minor units.
    #[error("amount out of range")]
    Overflow,
    /// The FX rate string is not a positive decimal within limits; says why.
    #[error("invalid exchange rate: {0}")]
    InvalidRate(String),
    /// Tried to combine amounts in two different currencies.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// Currency of the left-hand amount.
        left: &'static str,
        /// Currency of the right-hand amount.
        right: &'static str,
    },
}

/// Caps user input echoed into error messages so a huge bad string cannot
/// bloat logs or API responses.
pub(super) fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 32;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}
