//! The published studies pilotledger's figures are compared with, each as a
//! definition researchers can ask for by key (`GET /v1/aggregates/definitions`,
//! `definition=` on the rate route). Facts as the studies published them,
//! with how far each is verified; a definition pilotledger cannot compute yet
//! says what data it needs, instead of answering with a look-alike figure.

use serde::Serialize;

use super::definitions::Measure;

/// One study's definition and where pilotledger stands on it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PublishedDefinition {
    /// The key researchers pass as `definition=`.
    pub key: &'static str,
    /// The study, as cited.
    pub study: &'static str,
    /// Who it asked.
    pub sample: &'static str,
    /// Its headline, worded as published.
    pub headline: &'static str,
    /// The headline as a share of its unit, when it is one (0.95 for "95%").
    pub headline_share: Option<f64>,
    /// What the share is of: `organisations` or `pilots`.
    pub unit: &'static str,
    /// The rule that makes it a function of pilotledger's data.
    pub rule: &'static str,
    /// How far the headline is verified: `primary` (read in the study's own
    /// text), `secondary` (reported consistently by coverage), or none.
    pub status: Option<&'static str>,
    /// The rate-response field that carries pilotledger's figure, when it is
    /// computed.
    pub figure: Option<&'static str>,
    /// What pilotledger does not record yet, when it is not computed.
    pub needs: Option<&'static str>,
    /// The outcome each pilot is flagged with (the rate response's
    /// `zero_return_organisations`, `org_zero_return_share` and `pilot_rate`
    /// then count that outcome).
    #[serde(skip)]
    pub measure: Measure,
}

impl PublishedDefinition {
    pub fn computed(&self) -> bool {
        self.figure.is_some()
    }
}

/// The default definition of the rate route.
pub const DEFAULT_DEFINITION: &str = "mit_nanda_2025";

/// Every definition, the default first.
pub const DEFINITIONS: [PublishedDefinition; 5] = [
    PublishedDefinition {
        key: "mit_nanda_2025",
        study: "MIT Project NANDA, The GenAI Divide: State of AI in Business 2025 (July 2025; press 18 Aug 2025)",
        sample: "300+ public initiatives, 52 organisation interviews, 153 leader surveys, Jan-Jun 2025",
        headline: "95% of organizations are getting zero return",
        headline_share: Some(0.95),
        unit: "organisations",
        rule: "share of organisations with an evaluated pilot in the quarter whose every evaluated pilot there has no \
               measured P&L impact above min_impact within window_months of its evaluation",
        status: Some(
            "primary wording via verbatim quotes; the 95% has no published data exhibit (the report calls its \
             results preliminary)",
        ),
        figure: Some("org_zero_return_share"),
        needs: None,
        measure: Measure::ZeroImpact,
    },
    PublishedDefinition {
        key: "pilot_zero_impact",
        study: "pilotledger's own, no external study",
        sample: "",
        headline: "",
        headline_share: None,
        unit: "pilots",
        rule: "share of evaluated pilots with no measured P&L impact above min_impact within window_months of their \
               evaluation",
        status: None,
        figure: Some("pilot_rate"),
        needs: None,
        measure: Measure::ZeroImpact,
    },
    PublishedDefinition {
        key: "sp_global_2025",
        study: "S&P Global Market Intelligence (451 Research), Voice of the Enterprise: AI & Machine Learning, Use \
                Cases 2025 (Mar 2025)",
        sample: "1,006 organisations, North America and Europe",
        headline: "42% of companies abandoned most of their AI initiatives (17% a year earlier); on average 46% of \
                   proofs of concept scrapped before production",
        headline_share: Some(0.46),
        unit: "pilots",
        rule: "share of evaluated pilots abandoned without ever having reached production (production or scaled) \
               by their stage history; evaluated in the quarter of their evaluation date",
        status: Some("secondary"),
        figure: Some("pilot_rate"),
        needs: None,
        measure: Measure::AbandonedBeforeProduction,
    },
    PublishedDefinition {
        key: "ibm_ceo_2025",
        study: "IBM Institute for Business Value, 2025 CEO Study (6 May 2025)",
        sample: "2,000 CEOs, 33 countries, 24 industries, Q1 2025",
        headline: "25% of AI initiatives delivered the expected ROI over the last three years; 16% scaled \
                   enterprise-wide",
        headline_share: Some(0.25),
        unit: "pilots",
        rule: "share of evaluated pilots whose measured net impact within window_months of evaluation reaches the \
               expected annual benefit recorded at approval (converted to USD at the rate for the evaluation \
               date); a pilot with none recorded has not met it, and how many have none is in data_quality",
        status: Some("secondary"),
        figure: Some("pilot_rate"),
        needs: None,
        measure: Measure::MetExpectedBenefit,
    },
    PublishedDefinition {
        key: "pwc_ceo_2026",
        study: "PwC, 29th Annual Global CEO Survey (Jan 2026)",
        sample: "4,454 CEOs, 95 countries, fielded 30 Sep-10 Nov 2025",
        headline: "56% saw neither a revenue increase nor a cost decrease from AI in the last 12 months; 30% revenue \
                   up, 26% cost down, 12% both",
        headline_share: Some(0.56),
        unit: "organisations",
        rule: "share of organisations with an evaluated pilot in the quarter none of whose pilots there shows a \
               measured revenue_uplift above zero or a measured cost_reduction plus cost_avoidance above zero \
               within window_months of its evaluation (window_months=12 is closest to the survey's last 12 \
               months)",
        status: Some("secondary"),
        figure: Some("org_zero_return_share"),
        needs: None,
        measure: Measure::NeitherRevenueNorCost,
    },
];

/// The definition with `key`.
pub fn find(key: &str) -> Option<&'static PublishedDefinition> {
    DEFINITIONS.iter().find(|d| d.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_the_default_is_computed_and_the_rest_say_why_not() {
        let mut keys: Vec<_> = DEFINITIONS.iter().map(|d| d.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEFINITIONS.len());
        assert_eq!(DEFINITIONS[0].key, DEFAULT_DEFINITION);
        for d in &DEFINITIONS {
            assert_ne!(
                d.figure.is_some(),
                d.needs.is_some(),
                "{}: computed or says what it needs",
                d.key
            );
            assert!(d.headline_share.is_none_or(|s| (0.0..=1.0).contains(&s)));
            assert!(matches!(d.unit, "organisations" | "pilots"));
        }
        assert_eq!(
            find("mit_nanda_2025").and_then(|d| d.figure),
            Some("org_zero_return_share")
        );
        assert!(find("gartner").is_none());
    }
}
