//! LLM providers' cost reports, in the shapes their public API documents,
//! read into the same lines a FOCUS bill gives (so the same rules apply).
//!
//! **OpenAI** — `GET /v1/organization/costs` (grouped by `project_id`, and
//! optionally `line_item`): a page `{"object": "page", "data": [bucket…],
//! "has_more", "next_page"}`, each bucket `{"object": "bucket",
//! "start_time": <unix s>, "end_time", "results": [{"object":
//! "organization.costs.result", "amount": {"value": <number>, "currency":
//! "usd"}, "line_item": <string|null>, "project_id": <string|null>}]}`.
//! The number is read from its JSON text, exactly.
//!
//! **Anthropic** — `GET /v1/organizations/cost_report` (grouped by
//! `workspace_id`, and optionally `description`): `{"data": [bucket…],
//! "has_more", "next_page"}`, each bucket `{"starting_at": <RFC 3339>,
//! "ending_at", "results": [{"currency": "USD", "amount": "<decimal string
//! in the currency's lowest unit, i.e. cents, possibly fractional>",
//! "workspace_id": <string|null>, "description": <string|null>,
//! "cost_type": …, "model": …}]}`.
//!
//! Either may also be sent as a JSON array of such pages (every page of a
//! paged export). Mapping: the project or workspace id is the line's
//! sub-account id (`null`: `default`), `line_item` / `description` (else
//! `cost_type`, `model`) its service name, the provider `OpenAI` or
//! `Anthropic`, the service category `AI and Machine Learning`; the bill
//! (source) is the provider and the month the bucket starts in.

use chrono::{DateTime, Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::aggregate::{Accumulator, Line, Plan, SourceKey};
use super::decimal::Exact;
use super::rules::{first_match, LineFacts, Rule};
use super::{BillError, Errors, Rejected};
use crate::domain::currency::Currency;

/// Which provider's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Anthropic,
}

impl Provider {
    pub fn kind(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "OpenAI",
            Provider::Anthropic => "Anthropic",
        }
    }
}

const CATEGORY: &str = "AI and Machine Learning";

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<Bucket<'a>>,
}

#[derive(Deserialize)]
struct Bucket<'a> {
    // OpenAI
    start_time: Option<i64>,
    // Anthropic
    starting_at: Option<String>,
    #[serde(default, borrow)]
    results: Vec<CostResult<'a>>,
}

#[derive(Deserialize)]
struct CostResult<'a> {
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    currency: Option<String>,
    project_id: Option<String>,
    workspace_id: Option<String>,
    line_item: Option<String>,
    description: Option<String>,
    cost_type: Option<String>,
    model: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiAmount<'a> {
    #[serde(borrow)]
    value: &'a RawValue,
    currency: String,
}

/// Reads a cost report into a plan. Rows of the report are numbered by
/// result, in order, from 1.
pub fn read(provider: Provider, body: &[u8], rules: &[Rule]) -> Result<Plan, Rejected> {
    let not_a_report = |e: serde_json::Error| Rejected::Unsupported {
        field: "body".into(),
        reason: format!(
            "not a {} cost report (see docs/spend-sources.md for the accepted shape): {e}",
            provider.name()
        ),
    };
    // One page, or an array of pages (every page of a paged export).
    let pages: Vec<Page<'_>> = match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body).map_err(not_a_report)?,
        _ => vec![serde_json::from_slice(body).map_err(not_a_report)?],
    };
    let mut acc = Accumulator::default();
    let mut errors = Errors::default();
    let mut row = 0usize;
    for bucket in pages.iter().flat_map(|p| &p.data) {
        let month = match provider {
            Provider::OpenAi => bucket
                .start_time
                .and_then(|t| DateTime::from_timestamp(t, 0))
                .map(|t| t.date_naive()),
            Provider::Anthropic => bucket
                .starting_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.naive_utc().date()),
        }
        .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1));
        for r in &bucket.results {
            row += 1;
            let Some(month) = month else {
                let field = match provider {
                    Provider::OpenAi => "start_time",
                    Provider::Anthropic => "starting_at",
                };
                errors.push(BillError::new(row, Some(field), "the bucket has no valid start"));
                continue;
            };
            let (amount, currency) = match amount_of(provider, r) {
                Ok(a) => a,
                Err((field, reason)) => {
                    errors.push(BillError::new(row, Some(field), reason));
                    continue;
                }
            };
            let (sub_account, service) = match provider {
                Provider::OpenAi => (r.project_id.as_deref(), r.line_item.as_deref()),
                Provider::Anthropic => (
                    r.workspace_id.as_deref(),
                    r.description
                        .as_deref()
                        .or(r.cost_type.as_deref())
                        .or(r.model.as_deref()),
                ),
            };
            let facts = LineFacts {
                provider: provider.name(),
                service_name: service.unwrap_or(""),
                sub_account_id: sub_account.unwrap_or("default"),
                resource_id: "",
                tags: &[],
            };
            let source = SourceKey {
                kind: provider.kind().into(),
                provider: provider.name().into(),
                billing_account: String::new(),
                billing_period: month,
            };
            let line = Line {
                source: &source,
                rule: first_match(rules, &facts),
                month,
                service_category: CATEGORY,
                currency,
                cost: amount,
            };
            if !acc.add(line) {
                errors.push(BillError::new(
                    row,
                    Some("amount"),
                    "the sum passes the largest exact amount",
                ));
            }
        }
    }
    if row == 0 {
        errors.push(BillError::new(0, Some("data"), "the report has no results"));
    }
    if !errors.is_empty() {
        return Err(Rejected::Rows(errors));
    }
    acc.plan(rules).map_err(|e| {
        let mut errors = Errors::default();
        errors.push(BillError::new(0, Some("amount"), e));
        Rejected::Rows(errors)
    })
}

type Field = (&'static str, String);

fn currency_of(field: &'static str, code: &str) -> Result<Currency, Field> {
    Currency::parse(&code.to_ascii_uppercase()).map_err(|e| (field, e.to_string()))
}

/// The result's exact amount in major units, and its currency.
fn amount_of(provider: Provider, r: &CostResult<'_>) -> Result<(Exact, Currency), Field> {
    let raw = r.amount.ok_or(("amount", "is missing".to_owned()))?;
    match provider {
        Provider::OpenAi => {
            let a: OpenAiAmount<'_> = serde_json::from_str(raw.get()).map_err(|_| {
                (
                    "amount",
                    "must be {\"value\": <number>, \"currency\": \"usd\"}".to_owned(),
                )
            })?;
            let text = a.value.get();
            // A number as JSON writes it, or the same as a string.
            let text = text.trim_matches('"');
            let value = Exact::parse(text).map_err(|e| ("amount.value", e))?;
            Ok((value, currency_of("amount.currency", &a.currency)?))
        }
        Provider::Anthropic => {
            let text: String = serde_json::from_str(raw.get()).map_err(|_| {
                (
                    "amount",
                    "must be a decimal string of the currency's lowest unit (cents)".to_owned(),
                )
            })?;
            let code = r.currency.as_deref().ok_or(("currency", "is missing".to_owned()))?;
            let currency = currency_of("currency", code)?;
            let lowest = Exact::parse(&text).map_err(|e| ("amount", e))?;
            let major = lowest
                .div_exact(10i128.pow(currency.exponent()))
                .ok_or(("amount", format!("{text:?} has too many decimal places")))?;
            Ok((major, currency))
        }
    }
}
