//! The demo generator's reference tables: regions and currencies, industries,
//! sizes, names, functions with their pilots and impact kinds, tags, spend categories.

use super::*;

/// A region: code, currency code, sampling weight, legal-form suffix.
pub(super) struct Region {
    pub(super) code: &'static str,
    pub(super) currency: &'static str,
    pub(super) weight: u32,
    pub(super) suffix: &'static str,
}

#[rustfmt::skip]
pub(super) const REGIONS: [Region; 15] = [
    Region { code: "US", currency: "USD", weight: 30, suffix: "Inc." },
    Region { code: "GB", currency: "GBP", weight: 8, suffix: "Ltd" },
    Region { code: "DE", currency: "EUR", weight: 8, suffix: "GmbH" },
    Region { code: "FR", currency: "EUR", weight: 6, suffix: "SA" },
    Region { code: "NL", currency: "EUR", weight: 3, suffix: "B.V." },
    Region { code: "IT", currency: "EUR", weight: 3, suffix: "S.p.A." },
    Region { code: "ES", currency: "EUR", weight: 3, suffix: "S.L." },
    Region { code: "JP", currency: "JPY", weight: 7, suffix: "K.K." },
    Region { code: "CH", currency: "CHF", weight: 3, suffix: "AG" },
    Region { code: "CA", currency: "CAD", weight: 5, suffix: "Corp." },
    Region { code: "AU", currency: "AUD", weight: 4, suffix: "Pty Ltd" },
    Region { code: "IN", currency: "INR", weight: 6, suffix: "Pvt Ltd" },
    Region { code: "BR", currency: "BRL", weight: 4, suffix: "Ltda." },
    Region { code: "SG", currency: "SGD", weight: 3, suffix: "Pte Ltd" },
    Region { code: "BH", currency: "BHD", weight: 1, suffix: "W.L.L." },
];

/// Index into [`REGIONS`] of Bahrain and Japan, forced in every block of 40.
pub(super) const BH: usize = 14;
pub(super) const JP: usize = 7;

/// Non-USD currencies: code, nominal USD per unit, decimals kept in the
/// rate, monthly volatility of the walk.
#[rustfmt::skip]
pub(super) const FX: [(&str, f64, u32, f64); 10] = [
    ("AUD", 0.66, 6, 0.020), ("BHD", 2.659574, 6, 0.0002), ("BRL", 0.185, 7, 0.030),
    ("CAD", 0.73, 6, 0.012), ("CHF", 1.13, 6, 0.015), ("EUR", 1.09, 6, 0.015),
    ("GBP", 1.27, 6, 0.015), ("INR", 0.0119, 8, 0.008), ("JPY", 0.0067, 8, 0.020),
    ("SGD", 0.745, 6, 0.010),
];

#[rustfmt::skip]
pub(super) const INDUSTRIES: [(Industry, u32); 14] = [
    (Industry::Energy, 5), (Industry::Materials, 4), (Industry::Industrials, 10),
    (Industry::ConsumerDiscretionary, 8), (Industry::ConsumerStaples, 6),
    (Industry::HealthCare, 9), (Industry::Financials, 14),
    (Industry::InformationTechnology, 13), (Industry::CommunicationServices, 6),
    (Industry::Utilities, 4), (Industry::RealEstate, 3), (Industry::PublicSector, 7),
    (Industry::Education, 4), (Industry::Other, 3),
];

/// Size band, weight, multiplier on money amounts.
#[rustfmt::skip]
pub(super) const SIZES: [(SizeBand, u32, f64); 4] = [
    (SizeBand::Lt250, 8, 0.3), (SizeBand::B250To999, 17, 0.6),
    (SizeBand::B1000To9999, 35, 1.0), (SizeBand::B10000Plus, 40, 1.8),
];

pub(super) const NAME_WORDS_A: [&str; 24] = [
    "Amber", "Basalt", "Cobalt", "Copper", "Coral", "Crimson", "Ember", "Flint", "Granite", "Harbour", "Indigo",
    "Juniper", "Kestrel", "Larch", "Marble", "Meadow", "Obsidian", "Quartz", "Saffron", "Sable", "Tamarind", "Umber",
    "Willow", "Zephyr",
];
pub(super) const NAME_WORDS_B: [&str; 16] = [
    "Analytics",
    "Bay",
    "Bridge",
    "Crest",
    "Fields",
    "Forge",
    "Harbour",
    "Holdings",
    "Industries",
    "Lane",
    "Mills",
    "Point",
    "Ridge",
    "Trust",
    "Vale",
    "Works",
];

/// Function, weight, external-ref prefix, pilot name templates, owner teams.
pub(super) type FunctionRow = (
    BusinessFunction,
    u32,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

pub(super) const FUNCTIONS: [FunctionRow; 10] = [
    (
        BusinessFunction::CustomerService,
        16,
        "CS",
        &[
            "Ticket triage assistant",
            "Agent reply copilot",
            "Returns chatbot",
            "Call summarisation",
            "Self-service deflection bot",
        ],
        &["Customer Care Ops", "Contact Centre", "Support Tooling"],
    ),
    (
        BusinessFunction::SalesMarketing,
        14,
        "MKT",
        &[
            "Campaign copy generator",
            "Lead scoring model",
            "Proposal drafting agent",
            "Churn propensity model",
            "Product description writer",
        ],
        &["Growth Marketing", "Sales Ops", "Revenue Analytics"],
    ),
    (
        BusinessFunction::SoftwareEngineering,
        14,
        "ENG",
        &[
            "Code assistant rollout",
            "Test generation agent",
            "Code review bot",
            "Legacy migration assistant",
            "Incident postmortem writer",
        ],
        &["Platform Engineering", "Developer Productivity", "Core Services"],
    ),
    (
        BusinessFunction::ItOperations,
        10,
        "ITO",
        &[
            "Alert correlation model",
            "Service desk agent",
            "Capacity forecasting",
            "Runbook automation agent",
        ],
        &["IT Service Management", "Infrastructure Ops", "SRE"],
    ),
    (
        BusinessFunction::FinanceAccounting,
        10,
        "FIN",
        &[
            "Invoice triage agent",
            "Cash forecasting model",
            "Expense audit assistant",
            "Close commentary drafting",
            "Reconciliation matcher",
        ],
        &["Accounts Payable", "FP&A", "Financial Control"],
    ),
    (
        BusinessFunction::Hr,
        7,
        "HR",
        &[
            "Policy Q&A assistant",
            "Job description writer",
            "Attrition risk model",
            "Onboarding companion",
        ],
        &["People Ops", "Talent Acquisition", "HR Systems"],
    ),
    (
        BusinessFunction::Legal,
        6,
        "LGL",
        &[
            "Contract review assistant",
            "Clause extraction model",
            "Regulatory change tracker",
        ],
        &["Legal Ops", "Commercial Legal", "Compliance"],
    ),
    (
        BusinessFunction::ProcurementSupplyChain,
        8,
        "PSC",
        &[
            "Demand forecasting model",
            "Supplier risk scoring",
            "Purchase order agent",
            "Spend classification",
        ],
        &["Procurement Excellence", "Supply Chain Planning", "Logistics"],
    ),
    (
        BusinessFunction::Rnd,
        8,
        "RND",
        &[
            "Literature review assistant",
            "Experiment design copilot",
            "Materials property model",
            "Patent landscape search",
        ],
        &["Research Informatics", "Product R&D", "Innovation Lab"],
    ),
    (
        BusinessFunction::Other,
        7,
        "GEN",
        &[
            "Enterprise search assistant",
            "Meeting notes copilot",
            "Document translation",
            "Knowledge base chatbot",
        ],
        &["Digital Office", "Enterprise Architecture", "AI Centre of Excellence"],
    ),
];

pub(super) const SOURCING: [(Sourcing, u32); 3] =
    [(Sourcing::Built, 45), (Sourcing::Bought, 35), (Sourcing::Partnered, 20)];

pub(super) const TAGS: [&str; 14] = [
    "cost-out",
    "growth",
    "regulated",
    "customer-facing",
    "internal",
    "quick-win",
    "board-priority",
    "poc",
    "rag",
    "forecasting",
    "automation",
    "eu-ai-act",
    "data-foundation",
    "hackathon",
];

/// Spend category weights for built, bought and partnered pilots.
#[rustfmt::skip]
pub(super) const CATEGORIES: [[(SpendCategory, u32); 8]; 3] = [
    [(SpendCategory::InternalLabour, 30), (SpendCategory::ComputeInference, 20),
     (SpendCategory::Infrastructure, 15), (SpendCategory::Data, 12),
     (SpendCategory::ExternalServices, 5), (SpendCategory::Licences, 8),
     (SpendCategory::ChangeManagement, 6), (SpendCategory::Other, 4)],
    [(SpendCategory::Licences, 40), (SpendCategory::InternalLabour, 15),
     (SpendCategory::ExternalServices, 10), (SpendCategory::ComputeInference, 8),
     (SpendCategory::Infrastructure, 5), (SpendCategory::Data, 5),
     (SpendCategory::ChangeManagement, 12), (SpendCategory::Other, 5)],
    [(SpendCategory::ExternalServices, 40), (SpendCategory::Licences, 10),
     (SpendCategory::InternalLabour, 15), (SpendCategory::ComputeInference, 10),
     (SpendCategory::Infrastructure, 5), (SpendCategory::Data, 8),
     (SpendCategory::ChangeManagement, 8), (SpendCategory::Other, 4)],
];

/// Typical size of one month's spend in a category, relative to the pilot's
/// scale, and whether its invoices are whole hundreds.
pub(super) fn category_profile(c: SpendCategory) -> (f64, bool, &'static [&'static str]) {
    match c {
        SpendCategory::Licences => (1.0, true, &["Vendor seats", "Platform subscription", "API plan"]),
        SpendCategory::ComputeInference => (0.6, false, &["Inference usage", "GPU hours", "Token usage"]),
        SpendCategory::Infrastructure => (1.3, false, &["Vector database", "Hosting", "Network and storage"]),
        SpendCategory::InternalLabour => (1.5, false, &["Engineering time", "Analyst time", "Product owner time"]),
        SpendCategory::ExternalServices => (
            1.6,
            true,
            &["Integrator invoice", "Consulting sprint", "Partner milestone"],
        ),
        SpendCategory::Data => (0.7, false, &["Data labelling", "Data licence", "Data cleaning"]),
        SpendCategory::ChangeManagement => (
            0.5,
            false,
            &["Training sessions", "Change champions", "Process redesign"],
        ),
        SpendCategory::Other => (0.4, false, &["Travel", "Security review", "Miscellaneous"]),
    }
}
