//! Dates on the wire: exactly `YYYY-MM-DD`, nothing chrono would also accept
//! (`+2026-01-01`, `2026-1-1`, a leading space). Every date a client sends goes
//! through [`parse`], through the serde helpers below in request bodies and
//! query strings, so one rule holds for the API, imports and the CLI.

use chrono::NaiveDate;
use serde::de::{Deserialize, Deserializer, Error};

/// `s` as a calendar date if it is exactly four digits, `-`, two, `-`, two.
pub fn parse(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn from_text<E: Error>(s: &str) -> Result<NaiveDate, E> {
    parse(s).ok_or_else(|| {
        let shown: String = s.chars().take(32).collect();
        E::custom(format!("expected a calendar date as YYYY-MM-DD, got {shown:?}"))
    })
}

/// `#[serde(deserialize_with = "dates::strict")]` for a required date.
pub fn strict<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    from_text(&s)
}

/// `#[serde(default, deserialize_with = "dates::strict_option")]`: absent or
/// `null` is `None`.
pub fn strict_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(d)?.map(|s| from_text(&s)).transpose()
}

/// For PATCH fields: absent is `None` (with `#[serde(default)]`), `null` is
/// `Some(None)`, a date is `Some(Some(date))`.
pub fn strict_nested<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<NaiveDate>>, D::Error> {
    strict_option(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_the_canonical_form_is_a_date() {
        assert_eq!(parse("2026-01-31"), chrono::NaiveDate::from_ymd_opt(2026, 1, 31));
        for bad in [
            "+2026-01-01",
            "2026-1-1",
            "2026-01-1",
            " 2026-01-01",
            "2026-01-01 ",
            "2026/01/01",
            "20260101",
            "2026-02-30",
            "2026-13-01",
            "02026-01-01",
            "2026-01-01T00:00:00",
            "",
            "２０２６-01-01",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} must not parse");
        }
    }
}
