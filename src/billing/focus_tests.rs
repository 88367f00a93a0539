//! The FOCUS reader on small files made here, and on the real sample.

use super::focus::{read, CostColumn, Options};
use super::rules::{Match, Rule, Target};
use super::Rejected;

const HEADER: &str = "BilledCost,EffectiveCost,BillingAccountId,BillingCurrency,BillingPeriodStart,ChargeCategory,\
ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceCategory,ServiceName,SubAccountId,Tags";

fn opts(rules: &[Rule]) -> Options<'_> {
    Options {
        cost: CostColumn::EffectiveCost,
        version: None,
        rules,
        max_rows: 1000,
    }
}

fn tag_rule(value: &str, pilot: &str) -> Rule {
    Rule {
        id: value.into(),
        priority: 0,
        matcher: Match {
            tag_key: Some("team".into()),
            tag_value: Some(value.into()),
            ..Match::default()
        },
        target: Target::Pilot(pilot.into()),
    }
}

#[test]
fn null_and_empty_cells_and_credits_are_read() {
    let file = format!(
        "{HEADER}\n\
         1.5,1.005,A,USD,2024-09-01 00:00:00,Usage,2024-09-30 23:00:00,2024-10-01 00:00:00,AWS,Compute,EC2,NULL,\"{{\"\" team\"\": \"\"x\"\"}}\"\n\
         -1,-0.001,A,USD,2024-09-01 00:00:00,Credit,2024-09-02T00:00:00Z,2024-09-03T00:00:00Z,AWS,Compute,EC2,,NULL\n"
    );
    let rules = [tag_rule("x", "p1")];
    let plan = read(file.as_bytes(), &opts(&rules), |_| {}).unwrap();
    let s = &plan.sources[0];
    // Row 1 (tag key " team", trimmed) goes to p1: 1.005 → 1.00 (half to even).
    assert_eq!(s.entries.len(), 1);
    assert_eq!(s.entries[0].amount_minor, 100);
    // The month is the charge's start (its end, 1 October, is exclusive).
    assert_eq!(s.entries[0].month.to_string(), "2024-09-01");
    let t = &s.currencies[0];
    // Total 1.004 → 1.00; the credit row is unallocated: 0 left.
    assert_eq!(
        (
            t.total_minor,
            t.allocated_minor,
            t.unallocated_minor,
            t.unallocated_rows
        ),
        (100, 100, 0, 1)
    );
    assert_eq!(t.unallocated_exact.to_string(), "-0.001");
}

#[test]
fn a_missing_column_or_unknown_version_is_refused_before_any_row() {
    let file = "BilledCost,EffectiveCost\n1,1\n";
    match read(file.as_bytes(), &opts(&[]), |_| {}) {
        Err(Rejected::Unsupported { field, .. }) => assert_eq!(field, "BillingAccountId"),
        other => panic!("{other:?}"),
    }
    let mut o = opts(&[]);
    o.version = Some("0.5");
    match read(format!("{HEADER}\n").as_bytes(), &o, |_| {}) {
        Err(Rejected::Unsupported { field, .. }) => assert_eq!(field, "focus_version"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_rows_are_each_reported_with_row_and_column() {
    let file = format!(
        "{HEADER}\n\
         1,abc,A,USD,2024-09-01,Usage,2024-09-01,2024-09-02,AWS,Compute,EC2,,\n\
         1,1,A,XYZ,2024-09-01,Refund,2024-09-03,2024-09-02,AWS,Compute,EC2,,\n"
    );
    let Err(Rejected::Rows(errors)) = read(file.as_bytes(), &opts(&[]), |_| {}) else {
        panic!("rows should be refused")
    };
    let got: Vec<(usize, Option<String>)> = errors.into_listed().into_iter().map(|e| (e.row, e.column)).collect();
    assert_eq!(
        got,
        vec![
            (2, Some("EffectiveCost".into())),
            (3, Some("BillingCurrency".into())),
            (3, Some("ChargePeriodEnd".into())),
            (3, Some("ChargeCategory".into())),
        ]
    );
}

#[test]
fn gzip_is_read_like_plain() {
    use std::io::Write;
    let file = format!("{HEADER}\n2,2,A,JPY,2024-09-01,Usage,2024-09-01,2024-09-02,AWS,Compute,EC2,,\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(file.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let reader = super::focus::decompressed(&gz[..]).unwrap();
    let plan = read(reader, &opts(&[]), |_| {}).unwrap();
    assert_eq!(plan.sources[0].currencies[0].total_minor, 2);
    assert_eq!(plan.sources[0].currencies[0].currency.code(), "JPY");
}

#[test]
fn the_real_sample_reads_with_the_billed_cost_too() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/focus/focus-1.0-sample.csv");
    let file = std::fs::File::open(path).expect("the FOCUS sample is in tests/fixtures/focus");
    let mut o = opts(&[]);
    o.cost = CostColumn::BilledCost;
    let plan = read(std::io::BufReader::new(file), &o, |_| {}).unwrap();
    assert_eq!(plan.lines, 1000);
    // Four bills: AWS, Microsoft, Oracle September and Oracle October.
    assert_eq!(plan.sources.len(), 4);
}
