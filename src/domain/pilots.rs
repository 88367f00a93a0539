//! Pilots: the validated shapes a handler hands to storage, and the rules that
//! make them valid (lengths, date ranges, evaluation dates).

use chrono::NaiveDate;

use serde::{Deserialize, Serialize};

use super::currency::Currency;
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
    /// Every stage it has been in, oldest first, the current one last (empty
    /// when the caller gave none: then its history starts with `stage`).
    pub stage_history: Vec<StageStep>,
    /// The net benefit a year expected of it when it was approved.
    pub expected_benefit: Option<(i64, Currency)>,
}

/// One stage a pilot entered, on which date, and (for `abandoned`) why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageStep {
    pub stage: Stage,
    #[serde(deserialize_with = "super::dates::strict")]
    pub entered_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The most steps a stage history may hold.
pub const MAX_STAGE_STEPS: usize = 32;

/// Checks a stage history sent by a client: 1 to [`MAX_STAGE_STEPS`] steps,
/// dates in range, none in the future, never earlier than the step before, no
/// step repeating the stage before it, a reason only on `abandoned` (at most
/// 500 characters). Reasons are trimmed; an empty one is none.
pub fn check_stage_history(steps: Vec<StageStep>, today: NaiveDate) -> Result<Vec<StageStep>, FieldError> {
    const F: &str = "stage_history";
    if steps.is_empty() || steps.len() > MAX_STAGE_STEPS {
        return Err(FieldError::new(F, format!("must hold 1 to {MAX_STAGE_STEPS} steps")));
    }
    let mut out: Vec<StageStep> = Vec::with_capacity(steps.len());
    for (i, mut s) in steps.into_iter().enumerate() {
        check_date(F, s.entered_on).map_err(|e| FieldError::new(F, format!("step {}: {}", i + 1, e.reason)))?;
        if s.entered_on > today {
            return Err(FieldError::new(
                F,
                format!("step {}: {} is in the future", i + 1, s.entered_on),
            ));
        }
        if let Some(prev) = out.last() {
            if s.entered_on < prev.entered_on {
                return Err(FieldError::new(
                    F,
                    format!(
                        "step {}: {} is before the step before it ({})",
                        i + 1,
                        s.entered_on,
                        prev.entered_on
                    ),
                ));
            }
            if s.stage == prev.stage {
                return Err(FieldError::new(
                    F,
                    format!("step {}: repeats the stage before it ({})", i + 1, s.stage.as_str()),
                ));
            }
        }
        s.reason = check_abandon_reason(F, s.stage, s.reason)?;
        out.push(s);
    }
    Ok(out)
}

/// A reason for abandoning, trimmed (empty is none), at most 500 characters,
/// given only with the stage `abandoned`.
pub fn check_abandon_reason(
    field: &'static str,
    stage: Stage,
    reason: Option<String>,
) -> Result<Option<String>, FieldError> {
    let Some(r) = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if stage != Stage::Abandoned {
        return Err(FieldError::new(
            field,
            "a reason is recorded only for the stage abandoned",
        ));
    }
    check_optional_text(field, &r, 500).map(Some)
}

/// The stage history stored for a pilot (JSON; `[]` for pilots written
/// before histories were kept, read as their current stage alone).
pub fn stored_history(json: &str, stage: Stage, stage_entered_on: NaiveDate) -> Vec<StageStep> {
    match serde_json::from_str::<Vec<StageStep>>(json) {
        Ok(steps) if !steps.is_empty() => steps,
        _ => vec![StageStep {
            stage,
            entered_on: stage_entered_on,
            reason: None,
        }],
    }
}

/// The date a pilot whose stages were `steps` entered an evaluated stage,
/// by the rule a stage change follows (`ledger::pilots::apply_patch`): the
/// first evaluated stage of its latest run of them; `None` when its current
/// stage is not evaluated.
pub fn evaluation_stage_on(steps: &[StageStep]) -> Option<NaiveDate> {
    let mut on = None;
    for s in steps {
        on = match (on, s.stage.is_evaluating()) {
            (Some(d), true) => Some(d),
            (None, true) => Some(s.entered_on),
            (_, false) => None,
        };
    }
    on
}

/// Whether a pilot whose stages were `steps` ever reached production
/// (production or scaled).
pub fn reached_production(steps: &[StageStep]) -> bool {
    steps
        .iter()
        .any(|s| matches!(s.stage, Stage::Production | Stage::Scaled))
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
    /// Why it was abandoned: with `stage: abandoned`, or alone for a pilot
    /// already abandoned (then it replaces the reason recorded).
    pub abandon_reason: Option<String>,
    pub expected_benefit: Option<Option<(i64, Currency)>>,
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
