//! FOCUS (FinOps Open Cost and Usage Specification) 1.0–1.2 CSV, read as a
//! stream: one record at a time into the [`Accumulator`], so memory stays
//! flat whatever the file's size. Plain or gzip (recognised by its magic
//! bytes). `NULL` and empty cells are absent values.
//!
//! Columns read (all present in 1.0, 1.1 and 1.2): `BilledCost`,
//! `EffectiveCost` (which one counts is the organisation's choice),
//! `BillingCurrency` (any ISO 4217 code), `BillingAccountId`,
//! `BillingPeriodStart`, `ChargeCategory` (`Usage`, `Purchase`, `Tax`,
//! `Credit`, `Adjustment`; amounts are taken with the sign the bill gives
//! them), `ChargePeriodStart`, `ChargePeriodEnd` (exclusive: a charge
//! ending at `2024-10-01 00:00` is September's; the month of a charge is the
//! month its start falls in, UTC), `ProviderName`, `ServiceCategory`,
//! `ServiceName`, and, when the file has them, `SubAccountId`, `ResourceId`
//! and `Tags` (a JSON object; keys are trimmed).

use std::io::Read;

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::aggregate::{Accumulator, Line, Plan, SourceKey};
use super::decimal::Exact;
use super::rules::{first_match, LineFacts, Rule};
use super::{BillError, Rejected};
use crate::domain::currency::Currency;

/// The FOCUS versions this reader takes.
pub const VERSIONS: &[&str] = &["1.0", "1.1", "1.2"];

/// Columns every accepted file must have.
pub const REQUIRED: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceCategory",
    "ServiceName",
];

/// Which cost column counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CostColumn {
    EffectiveCost,
    BilledCost,
}

impl CostColumn {
    pub fn as_str(self) -> &'static str {
        match self {
            CostColumn::EffectiveCost => "EffectiveCost",
            CostColumn::BilledCost => "BilledCost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EffectiveCost" => Some(CostColumn::EffectiveCost),
            "BilledCost" => Some(CostColumn::BilledCost),
            _ => None,
        }
    }
}

/// How to read one file.
pub struct Options<'a> {
    pub cost: CostColumn,
    /// The version the sender declares; `None`: taken from the columns.
    pub version: Option<&'a str>,
    pub rules: &'a [Rule],
    pub max_rows: u64,
}

/// The version a header shows: columns added in 1.1 and 1.2 name them.
pub fn detect_version(columns: &[&str]) -> &'static str {
    let has = |c: &str| columns.contains(&c);
    if has("InvoiceId") || has("PricingCurrency") || has("BillingAccountType") || has("SubAccountType") {
        "1.2"
    } else if has("ServiceSubcategory") || has("CapacityReservationId") || has("SkuMeter") || has("SkuPriceDetails") {
        "1.1"
    } else {
        "1.0"
    }
}

/// The file's reader, decompressed when it starts with gzip's magic bytes.
pub fn decompressed<'r>(mut reader: impl Read + 'r) -> std::io::Result<Box<dyn Read + 'r>> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        let n = reader.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let chained = std::io::Cursor::new(head[..got].to_vec()).chain(reader);
    if got == 2 && head == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(chained)))
    } else {
        Ok(Box::new(chained))
    }
}

struct Columns {
    billed: usize,
    effective: usize,
    account: usize,
    currency: usize,
    period: usize,
    category: usize,
    start: usize,
    end: usize,
    provider: usize,
    service_category: usize,
    service_name: usize,
    sub_account: Option<usize>,
    resource: Option<usize>,
    tags: Option<usize>,
}

/// Reads a whole FOCUS file into a plan, or says why nothing may be
/// written: a file-level problem (version, columns: 422), a limit (413), or
/// every bad row (capped list, all counted). `progress` gets the rows read,
/// every 10,000 and at the end.
pub fn read(reader: impl Read, opts: &Options<'_>, mut progress: impl FnMut(u64)) -> Result<Plan, Rejected> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let header = csv
        .byte_headers()
        .map_err(|e| Rejected::io_or(e, "the header is not CSV"))?
        .clone();
    let names: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let s = std::str::from_utf8(h).unwrap_or("");
            // A UTF-8 byte-order mark is not part of the first name.
            (if i == 0 { s.trim_start_matches('\u{feff}') } else { s }).trim()
        })
        .collect();
    let version = match opts.version {
        Some(v) if VERSIONS.contains(&v) => v,
        Some(v) => {
            return Err(Rejected::Unsupported {
                field: "focus_version".into(),
                reason: format!("FOCUS {v:?} is not supported; send one of {}", VERSIONS.join(", ")),
            })
        }
        None => detect_version(&names),
    };
    let at = |c: &str| names.iter().position(|n| *n == c);
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| at(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(Rejected::Unsupported {
            field: missing[0].into(),
            reason: format!("a FOCUS {version} file needs the column(s) {}", missing.join(", ")),
        });
    }
    let col = |c: &str| at(c).unwrap_or(0);
    let cols = Columns {
        billed: col("BilledCost"),
        effective: col("EffectiveCost"),
        account: col("BillingAccountId"),
        currency: col("BillingCurrency"),
        period: col("BillingPeriodStart"),
        category: col("ChargeCategory"),
        start: col("ChargePeriodStart"),
        end: col("ChargePeriodEnd"),
        provider: col("ProviderName"),
        service_category: col("ServiceCategory"),
        service_name: col("ServiceName"),
        sub_account: at("SubAccountId"),
        resource: at("ResourceId"),
        tags: at("Tags"),
    };
    let wants_tags = opts.rules.iter().any(|r| r.matcher.tag_key.is_some());
    let mut acc = Accumulator::default();
    let mut errors = super::Errors::default();
    let mut record = csv::ByteRecord::new();
    let mut rows: u64 = 0;
    let mut source = SourceKey {
        kind: "focus".into(),
        provider: String::new(),
        billing_account: String::new(),
        billing_period: NaiveDate::MIN,
    };
    let mut tags: Vec<(String, String)> = Vec::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let row = rows as usize + 2;
                match Rejected::io_or(e, "") {
                    Rejected::Rows(_) => {
                        errors.push(BillError::new(
                            row,
                            None,
                            "this row is not valid CSV (a stray quote, or a different number of cells than the header)",
                        ));
                        rows += 1;
                        continue;
                    }
                    other => return Err(other),
                }
            }
        }
        rows += 1;
        if rows > opts.max_rows {
            return Err(Rejected::TooLarge(format!("at most {} rows per import", opts.max_rows)));
        }
        let row = rows as usize + 1;
        if rows.is_multiple_of(10_000) {
            progress(rows);
        }
        let before = errors.total();
        let r = &record;
        let cost_col = match opts.cost {
            CostColumn::EffectiveCost => cols.effective,
            CostColumn::BilledCost => cols.billed,
        };
        let cost = need(r, cost_col, opts.cost.as_str(), row, &mut errors).and_then(|c| match Exact::parse(c) {
            Ok(x) => Some(x),
            Err(reason) => {
                errors.push(BillError::new(row, Some(opts.cost.as_str()), reason));
                None
            }
        });
        let currency =
            need(r, cols.currency, "BillingCurrency", row, &mut errors).and_then(|c| match Currency::parse(c) {
                Ok(x) => Some(x),
                Err(e) => {
                    errors.push(BillError::new(row, Some("BillingCurrency"), e.to_string()));
                    None
                }
            });
        let period = time(r, cols.period, "BillingPeriodStart", row, &mut errors).map(|t| t.date());
        let start = time(r, cols.start, "ChargePeriodStart", row, &mut errors);
        let end = time(r, cols.end, "ChargePeriodEnd", row, &mut errors);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.push(BillError::new(
                    row,
                    Some("ChargePeriodEnd"),
                    "is before ChargePeriodStart",
                ));
            }
        }
        if let Some(c) = need(r, cols.category, "ChargeCategory", row, &mut errors) {
            if !["usage", "purchase", "tax", "credit", "adjustment"].contains(&c.to_ascii_lowercase().as_str()) {
                errors.push(BillError::new(
                    row,
                    Some("ChargeCategory"),
                    format!("{c:?} is not Usage, Purchase, Tax, Credit or Adjustment"),
                ));
            }
        }
        let provider = need(r, cols.provider, "ProviderName", row, &mut errors);
        let account = need(r, cols.account, "BillingAccountId", row, &mut errors);
        let service_category = need(r, cols.service_category, "ServiceCategory", row, &mut errors);
        let service_name = need(r, cols.service_name, "ServiceName", row, &mut errors);
        tags.clear();
        if wants_tags {
            if let Some(t) = cols.tags.and_then(|i| cell(r, i)) {
                match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t) {
                    Ok(map) => tags.extend(map.into_iter().map(|(k, v)| {
                        let v = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k.trim().to_owned(), v)
                    })),
                    Err(_) => errors.push(BillError::new(row, Some("Tags"), "is not a JSON object")),
                }
            }
        }
        if errors.total() != before {
            continue;
        }
        let (
            Some(cost),
            Some(currency),
            Some(period),
            Some(start),
            Some(provider),
            Some(account),
            Some(category),
            Some(service),
        ) = (
            cost,
            currency,
            period,
            start,
            provider,
            account,
            service_category,
            service_name,
        )
        else {
            continue;
        };
        if source.provider != provider || source.billing_account != account || source.billing_period != period {
            source.provider = provider.to_owned();
            source.billing_account = account.to_owned();
            source.billing_period = period;
        }
        let facts = LineFacts {
            provider,
            service_name: service,
            sub_account_id: cols.sub_account.and_then(|i| cell(r, i)).unwrap_or(""),
            resource_id: cols.resource.and_then(|i| cell(r, i)).unwrap_or(""),
            tags: &tags,
        };
        let rule = first_match(opts.rules, &facts);
        let month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start.date());
        let line = Line {
            source: &source,
            rule,
            month,
            service_category: category,
            currency,
            cost,
        };
        if !acc.add(line) {
            errors.push(BillError::new(
                row,
                Some(opts.cost.as_str()),
                "the sum passes the largest exact amount",
            ));
        }
    }
    progress(rows);
    if rows == 0 {
        errors.push(BillError::new(0, None, "the file has no rows"));
    }
    if !errors.is_empty() {
        return Err(Rejected::Rows(errors));
    }
    acc.plan(opts.rules).map_err(|e| {
        let mut errors = super::Errors::default();
        errors.push(BillError::new(0, Some(opts.cost.as_str()), e));
        Rejected::Rows(errors)
    })
}

/// A cell's value: `None` for `NULL`, empty or not UTF-8.
fn cell(record: &csv::ByteRecord, i: usize) -> Option<&str> {
    let s = std::str::from_utf8(record.get(i)?).ok()?;
    (!s.is_empty() && s != "NULL").then_some(s)
}

/// A required cell, or a problem of the row.
fn need<'r>(
    record: &'r csv::ByteRecord,
    i: usize,
    name: &str,
    row: usize,
    errors: &mut super::Errors,
) -> Option<&'r str> {
    let v = cell(record, i);
    if v.is_none() {
        errors.push(BillError::new(row, Some(name), "is empty or NULL (or not UTF-8)"));
    }
    v
}

/// A required date and time.
fn time(
    record: &csv::ByteRecord,
    i: usize,
    name: &str,
    row: usize,
    errors: &mut super::Errors,
) -> Option<NaiveDateTime> {
    need(record, i, name, row, errors).and_then(|c| {
        let t = parse_time(c);
        if t.is_none() {
            errors.push(BillError::new(row, Some(name), format!("{c:?} is not a date and time")));
        }
        t
    })
}

/// `2024-09-18 23:00:00`, `2024-09-18T23:00:00Z`, with an offset, or a
/// date alone; in UTC.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%MZ",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    if let Some(stripped) = s.strip_suffix('Z') {
        if let Ok(t) = NaiveDateTime::parse_from_str(stripped, "%Y-%m-%dT%H:%M:%S") {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}
