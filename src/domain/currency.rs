//! ISO 4217 currencies: the closed set of codes pilotledger accepts, each with
//! its exponent (how many minor-unit digits it has: USD 2, JPY 0, BHD 3).
//!
//! The table is ISO 4217 list one as published 2026-01-01, cut down to
//! currencies people actually pay with. Fund codes (BOV, CHE, CHW, CLF, COU,
//! MXV, USN, UYI, UYW) and the X-units that are not spendable money (XAU, XAG,
//! XPD, XPT, XDR, XAD, XSU, XUA, XBA..XBD, XTS, XXX) are left out, so a ledger
//! can never hold an amount "in gold". Withdrawn codes (BGN, ANG, HRK, SLL,
//! ZWL, CUC, ...) are absent too; a ledger that must read old records in one
//! of them needs that code added here deliberately.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::money_error::{excerpt, MoneyError};

/// An active ISO 4217 currency with its minor-unit exponent.
///
/// Values only come from [`Currency::parse`], [`Currency::all`] or the
/// constants, so every `Currency` names a code in the table together with
/// that code's exponent. Serialised as its code string (`"USD"`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

// Sorted by code so `parse` can binary-search; a test checks the order.
#[rustfmt::skip]
const TABLE: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2), ("AWG", 2),
    ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2),
    ("BOB", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2),
    ("CDF", 2), ("CHF", 2), ("CLP", 0), ("CNY", 2), ("COP", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2),
    ("CZK", 2), ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2),
    ("EUR", 2), ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2),
    ("GNF", 0), ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2),
    ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0),
    ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2),
    ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2),
    ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2),
    ("MVR", 2), ("MWK", 2), ("MXN", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2),
    ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("UYU", 2), ("UZS", 2), ("VED", 2), ("VES", 2), ("VND", 0),
    ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0), ("XPF", 0), ("YER", 2),
    ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

impl Currency {
    /// US dollar, the reporting currency that FX rates are quoted against.
    pub const USD: Currency = Currency {
        code: "USD",
        exponent: 2,
    };

    /// Looks up an ISO 4217 code. Only exact uppercase codes from the table
    /// are accepted ("usd" is an error) so that one currency has one spelling.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        TABLE
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .map(|i| Currency {
                code: TABLE[i].0,
                exponent: TABLE[i].1,
            })
            .map_err(|_| MoneyError::UnknownCurrency(excerpt(code)))
    }

    /// The three-letter ISO 4217 code, e.g. `"USD"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of minor-unit digits: 2 for USD (cents), 0 for JPY, 3 for BHD.
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }

    /// Every accepted currency, in code order (e.g. to fill a picker).
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().map(|&(code, exponent)| Currency { code, exponent })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor (rather than deserialising a &str) accepts both borrowed
        // and owned strings, so it works with streaming deserialisers too.
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code such as \"USD\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(CodeVisitor)
    }
}

/// How `db` reads a stored currency code: an unknown one is an error.
impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(code: String) -> Result<Currency, MoneyError> {
        Currency::parse(&code)
    }
}

/// How `db` writes a currency: its ISO 4217 code.
impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    #[test]
    fn table_is_sorted_unique_uppercase_and_sane() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} !< {}", pair[0].0, pair[1].0);
        }
        for (code, exp) in TABLE {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(*exp <= 3, "{code}");
        }
        // The 2026-01-01 list one has 178 distinct codes; minus the 9 fund
        // codes and 14 non-money X-units named in the module docs = 155.
        assert_eq!(TABLE.len(), 155);
        assert_eq!(Currency::all().count(), TABLE.len());
        assert!(Currency::all().all(|c| Currency::parse(c.code()) == Ok(c)));
    }

    #[test]
    fn known_exponents() {
        #[rustfmt::skip]
        let cases = [
            ("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3), ("KWD", 3), ("CLP", 0), ("KRW", 0),
            ("IQD", 3), ("ISK", 0), ("XAF", 0), ("XOF", 0), ("XPF", 0), ("XCD", 2), ("XCG", 2),
        ];
        for (code, exp) in cases {
            assert_eq!(Currency::parse(code).unwrap().exponent(), exp, "{code}");
        }
        assert_eq!(Currency::parse("USD"), Ok(Currency::USD));
    }

    #[test]
    fn rejects_unknown_lowercase_and_non_money_codes() {
        for bad in [
            "usd", "Usd", "", "US", "USDX", " USD", "ABC", "XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX", "XSU",
            "XUA", "XBA", "XBD", "CLF", "USN", "BGN", "HRK",
        ] {
            assert_eq!(
                Currency::parse(bad),
                Err(MoneyError::UnknownCurrency(bad.to_string())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn display_and_from_str() {
        let jpy: Currency = "JPY".parse().unwrap();
        assert_eq!(jpy.to_string(), "JPY");
        assert_eq!(jpy.code(), "JPY");
    }

    #[test]
    fn deserialize_goes_through_parse() {
        let ok: StrDeserializer<'_, DeError> = "BHD".into_deserializer();
        assert_eq!(Currency::deserialize(ok).unwrap().exponent(), 3);
        let bad: StrDeserializer<'_, DeError> = "XYZ".into_deserializer();
        let msg = Currency::deserialize(bad).unwrap_err().to_string();
        assert!(msg.contains("XYZ"), "{msg}");
    }
}
