//! Pilots: the validated shapes a handler hands to storage, and the rules that
//! make them valid (lengths, date ranges, evaluation dates).

use chrono::NaiveDate;

use super::enums::{AiKind, BusinessFunction, Sourcing, Stage};

/// Earliest and latest dates the ledger accepts; anything outside is a typo.
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1990, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// A rule broken by one field of the input; the route layer turns it into a 422
/// naming `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Checks a date lies in the range the ledger accepts.
pub fn check_date(field: &'static str, d: NaiveDate) -> Result<NaiveDate, FieldError> {
    if d < MIN_DATE || d > MAX_DATE {
        return Err(FieldError::new(field, format!("{d} is outside {MIN_DATE}..{MAX_DATE}")));
    }
    Ok(d)
}

/// Checks a required text field: trimmed, non-empty, at most `max` characters,
/// no control characters.
pub fn check_text(field: &'static str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if let Some(c) = t.chars().find(|c| is_invisible_format(*c)) {
        return Err(FieldError::new(
            field,
            format!(
                "must not contain invisible formatting characters (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    check_optional_text(field, t, max).map(|_| t.to_owned())
}

/// Bidi controls and zero-width characters: a name holding them can read
/// differently from what it is (`"Acme\u{202E}gnp.exe"`) or look the same as
/// another name. The OpenAPI patterns for names exclude the same set.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Checks an optional free-text field (notes, evidence): at most `max` characters,
/// no control characters other than newline and tab.
pub fn check_optional_text(field: &'static str, s: &str, max: usize) -> Result<String, FieldError> {
    if s.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// A pilot ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPilot {
    pub name: String,
    pub business_function: BusinessFunction,
    pub sourcing: Sourcing,
    pub ai_kind: AiKind,
    pub stage: Stage,
    /// When it entered `stage`, if the caller knows (else: today for a stage
    /// that is not evaluated; unknown for one that is).
    pub stage_entered_on: Option<NaiveDate>,
    pub started_on: Option<NaiveDate>,
    pub evaluated_on: Option<NaiveDate>,
    pub owner_team: Option<String>,
    pub tags: Vec<String>,
    pub external_ref: Option<String>,
}

/// A validated partial update; `Some(None)` clears a nullable field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PilotPatch {
    pub name: Option<String>,
    pub business_function: Option<BusinessFunction>,
    pub sourcing: Option<Sourcing>,
    pub ai_kind: Option<AiKind>,
    pub stage: Option<Stage>,
    /// When the pilot entered its (new or current) stage; today if absent
    /// when the stage changes.
    pub stage_entered_on: Option<NaiveDate>,
    pub started_on: Option<Option<NaiveDate>>,
    pub evaluated_on: Option<Option<NaiveDate>>,
    pub owner_team: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub external_ref: Option<Option<String>>,
}

/// Tags: at most 32, each 1–64 characters, no duplicates.
pub fn check_tags(tags: Vec<String>) -> Result<Vec<String>, FieldError> {
    if tags.len() > 32 {
        return Err(FieldError::new("tags", "at most 32 tags"));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for t in tags {
        let t = check_text("tags", &t, 64)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// `evaluated_on` may not precede `started_on`.
pub fn check_evaluation_order(
    started_on: Option<NaiveDate>,
    evaluated_on: Option<NaiveDate>,
) -> Result<(), FieldError> {
    match (started_on, evaluated_on) {
        (Some(s), Some(e)) if e < s => Err(FieldError::new("evaluated_on", format!("{e} is before started_on {s}"))),
        _ => Ok(()),
    }
}

/// docs/DEFINITIONS.md#evaluated: a pilot is evaluated when `evaluated_on` is set or its stage is
/// production, scaled or abandoned; the evaluation date is `evaluated_on`, else
/// the date it first entered one of those stages (`evaluation_stage_on`; None
/// when unknown, and then the pilot is not dated at all).
pub fn evaluation_date(
    evaluated_on: Option<NaiveDate>,
    stage: Stage,
    evaluation_stage_on: Option<NaiveDate>,
) -> Option<NaiveDate> {
    evaluated_on.or(if stage.is_evaluating() {
        evaluation_stage_on
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn evaluation_date_prefers_evaluated_on_then_stage_entry() {
        assert_eq!(
            evaluation_date(Some(d("2026-03-01")), Stage::Piloting, Some(d("2026-01-01"))),
            Some(d("2026-03-01"))
        );
        assert_eq!(
            evaluation_date(None, Stage::Abandoned, Some(d("2026-01-05"))),
            Some(d("2026-01-05"))
        );
        assert_eq!(evaluation_date(None, Stage::Piloting, Some(d("2026-01-05"))), None);
        assert_eq!(
            evaluation_date(Some(d("2026-02-01")), Stage::Scaled, Some(d("2026-05-05"))),
            Some(d("2026-02-01"))
        );
    }

    #[test]
    fn names_refuse_bidi_controls_and_zero_width_characters() {
        for bad in [
            "Acme\u{202E}gnp",
            "Ac\u{200B}me",
            "\u{FEFF}Acme",
            "A\u{2066}b\u{2069}",
            "x\u{200F}",
            "a\u{061C}b",
            "a\u{2060}b",
        ] {
            let err = check_text("name", bad, 200).unwrap_err();
            assert_eq!(err.field, "name");
            assert!(err.reason.contains("invisible"), "{bad:?}: {}", err.reason);
        }
        assert_eq!(
            check_text("name", " Zoë – Ünïcode 名前 ", 200).unwrap(),
            "Zoë – Ünïcode 名前"
        );
        // Free text (notes) may quote such characters.
        assert!(check_optional_text("note", "a\u{200B}b", 10).is_ok());
    }

    #[test]
    fn dates_outside_the_ledger_range_are_rejected() {
        assert!(check_date("started_on", d("1989-12-31")).is_err());
        assert!(check_date("started_on", d("2101-01-01")).is_err());
        assert!(check_date("started_on", d("2026-01-01")).is_ok());
    }

    #[test]
    fn texts_are_trimmed_bounded_and_free_of_controls() {
        assert_eq!(check_text("name", "  a ", 10).unwrap(), "a");
        assert!(check_text("name", "   ", 10).is_err());
        assert!(check_text("name", "abcdefghijk", 10).is_err());
        assert!(check_text("name", "a\u{0}b", 10).is_err());
        assert_eq!(check_tags(vec!["x".into(), "x".into()]).unwrap(), vec!["x".to_string()]);
    }
}
