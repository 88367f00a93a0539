//! Allocation rules: which pilot a bill line belongs to. A rule matches on
//! any of tag key (and value), service name, provider, sub-account id and
//! resource id prefix — every condition it names must hold — and sends the
//! line to one pilot or splits it across pilots by percentages summing to
//! 100. Rules are tried in priority order (lowest first, then oldest); a
//! line no rule matches is unallocated. Tag keys are compared trimmed (bills
//! carry keys such as `" org"`); everything else is compared as written.

use serde::{Deserialize, Serialize};

/// Hundredths of a percent in a whole: percentages carry up to two decimals.
pub const WHOLE: u32 = 10_000;

/// The conditions of a rule; all that are present must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id_prefix: Option<String>,
}

/// Where a matched line goes: one pilot, or shares of it in hundredths of a
/// percent (summing to [`WHOLE`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Pilot(String),
    Split(Vec<(String, u32)>),
}

/// One rule, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub priority: i64,
    pub matcher: Match,
    pub target: Target,
}

/// What a bill line offers the rules.
pub struct LineFacts<'a> {
    pub provider: &'a str,
    pub service_name: &'a str,
    pub sub_account_id: &'a str,
    pub resource_id: &'a str,
    /// Keys already trimmed.
    pub tags: &'a [(String, String)],
}

impl Match {
    /// A rule must say something about the line.
    pub fn is_empty(&self) -> bool {
        self.tag_key.is_none()
            && self.service_name.is_none()
            && self.provider.is_none()
            && self.sub_account_id.is_none()
            && self.resource_id_prefix.is_none()
    }

    pub fn matches(&self, line: &LineFacts<'_>) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if !eq(&self.provider, line.provider)
            || !eq(&self.service_name, line.service_name)
            || !eq(&self.sub_account_id, line.sub_account_id)
        {
            return false;
        }
        if let Some(prefix) = &self.resource_id_prefix {
            if !line.resource_id.starts_with(prefix.as_str()) {
                return false;
            }
        }
        match &self.tag_key {
            None => true,
            Some(key) => {
                let key = key.trim();
                line.tags
                    .iter()
                    .any(|(k, v)| k == key && self.tag_value.as_deref().is_none_or(|want| want == v))
            }
        }
    }
}

/// The index of the first rule (in the given order) that matches.
pub fn first_match(rules: &[Rule], line: &LineFacts<'_>) -> Option<usize> {
    rules.iter().position(|r| r.matcher.matches(line))
}

/// Parses a percentage such as `"60"` or `"33.33"` into hundredths.
pub fn parse_percent(s: &str) -> Result<u32, String> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let ok = |d: &str, max: usize| !d.is_empty() && d.len() <= max && d.bytes().all(|b| b.is_ascii_digit());
    if !ok(whole, 3) || !(fraction.is_empty() || ok(fraction, 2)) {
        return Err(format!("{s:?} is not a percentage with at most two decimals"));
    }
    let w: u32 = whole.parse().map_err(|_| format!("{s:?} is not a percentage"))?;
    let f: u32 = format!("{fraction:0<2}")
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage"))?;
    let v = w * 100 + f;
    if v == 0 || v > WHOLE {
        return Err(format!("{s:?} must be more than 0 and at most 100"));
    }
    Ok(v)
}

/// Splits `amount` minor units by `weights` (hundredths of a percent,
/// summing to [`WHOLE`]) by largest remainder: every share is the exact
/// proportion rounded down or up, and the shares sum to `amount` exactly.
/// Ties go to the earlier share. Negative amounts split as their magnitude.
pub fn split(amount: i64, weights: &[u32]) -> Vec<i64> {
    let magnitude = i128::from(amount).abs();
    let whole = i128::from(WHOLE);
    let mut shares: Vec<i128> = weights.iter().map(|w| magnitude * i128::from(*w) / whole).collect();
    let mut left = magnitude - shares.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest remainder first; the sort is stable, so ties keep share order.
    order.sort_by_key(|i| std::cmp::Reverse(magnitude * i128::from(weights[*i]) % whole));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    let sign = if amount < 0 { -1 } else { 1 };
    // Each share is at most |amount|, so it fits i64.
    shares.into_iter().map(|s| (sign * s) as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn percentages_take_two_decimals() {
        assert_eq!(parse_percent("60"), Ok(6000));
        assert_eq!(parse_percent("33.33"), Ok(3333));
        assert_eq!(parse_percent("0.5"), Ok(50));
        for bad in ["", "0", "100.01", "1.234", "-5", "1e2", "50%"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_split_by_hand() {
        // 1 cent in thirds: the first third (tie) takes it.
        assert_eq!(split(1, &[3334, 3333, 3333]), vec![1, 0, 0]);
        assert_eq!(split(100, &[3334, 3333, 3333]), vec![34, 33, 33]);
        assert_eq!(split(-101, &[5000, 5000]), vec![-51, -50]);
        assert_eq!(split(7, &[10_000]), vec![7]);
    }

    /// Thousands of random amounts and random splits: the shares always sum
    /// to the amount, and each is within one minor unit of its exact share
    /// (computed here as a rational, independently of the code above).
    #[test]
    fn splits_lose_and_create_no_minor_unit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
        for _ in 0..20_000 {
            let parts = rng.random_range(1..=7usize);
            let mut cuts: Vec<u32> = (0..parts - 1).map(|_| rng.random_range(1..WHOLE)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut weights = Vec::new();
            let mut at = 0;
            for c in cuts.iter().chain(std::iter::once(&WHOLE)) {
                weights.push(c - at);
                at = *c;
            }
            let amount: i64 = match rng.random_range(0..4) {
                0 => rng.random_range(-100..100),
                1 => rng.random_range(-1_000_000_000..1_000_000_000),
                2 => rng.random_range(i64::MIN / 2..i64::MAX / 2),
                _ => *[i64::MAX, i64::MIN + 1, 0, 1, -1].get(rng.random_range(0..5)).unwrap(),
            };
            let shares = split(amount, &weights);
            assert_eq!(shares.iter().map(|s| i128::from(*s)).sum::<i128>(), i128::from(amount));
            for (s, w) in shares.iter().zip(&weights) {
                // |s·10000 − amount·w| < 10000 ⇔ s is the exact share rounded down or up.
                let exact = i128::from(amount) * i128::from(*w);
                assert!((i128::from(*s) * i128::from(WHOLE) - exact).abs() < i128::from(WHOLE));
            }
        }
    }

    #[test]
    fn tag_keys_are_trimmed_and_all_conditions_must_hold() {
        let tags = vec![("org".to_owned(), "trey".to_owned())];
        let line = LineFacts {
            provider: "AWS",
            service_name: "Amazon Elastic Compute Cloud",
            sub_account_id: "1",
            resource_id: "arn:aws:ec2:i-1",
            tags: &tags,
        };
        let m = Match {
            tag_key: Some(" org ".into()),
            tag_value: Some("trey".into()),
            ..Match::default()
        };
        assert!(m.matches(&line));
        let m2 = Match {
            provider: Some("Microsoft".into()),
            ..m.clone()
        };
        assert!(!m2.matches(&line));
        let m3 = Match {
            resource_id_prefix: Some("arn:aws:ec2".into()),
            ..Match::default()
        };
        assert!(m3.matches(&line));
    }
}
