//! The fixed vocabularies of the data model (the data model in docs/ARCHITECTURE.md). Each is a
//! closed enum that serialises as its snake_case name; parsing an unknown value
//! fails, so nothing past the edge holds a free-form category string.

use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted values, for error messages and the API spec.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        /// How `db` reads a stored value (a text column): an unknown one
        /// is an error, never a guess.
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                $name::parse(&s).ok_or_else(|| format!("stored {} {s:?} is not one of {}", stringify!($name), $name::expected()))
            }
        }

        /// How `db` writes a value to its text column.
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Organisation sector.
    Industry {
        Energy = "energy", Materials = "materials", Industrials = "industrials",
        ConsumerDiscretionary = "consumer_discretionary", ConsumerStaples = "consumer_staples",
        HealthCare = "health_care", Financials = "financials",
        InformationTechnology = "information_technology",
        CommunicationServices = "communication_services", Utilities = "utilities",
        RealEstate = "real_estate", PublicSector = "public_sector", Education = "education",
        Other = "other",
    }
);

vocabulary!(
    /// Organisation size by employees.
    SizeBand { Lt250 = "lt250", B250To999 = "250_999", B1000To9999 = "1000_9999", B10000Plus = "10000_plus" }
);

vocabulary!(
    /// The business function a pilot serves.
    BusinessFunction {
        CustomerService = "customer_service", SalesMarketing = "sales_marketing",
        SoftwareEngineering = "software_engineering", ItOperations = "it_operations",
        FinanceAccounting = "finance_accounting", Hr = "hr", Legal = "legal",
        ProcurementSupplyChain = "procurement_supply_chain", Rnd = "rnd", Other = "other",
    }
);

vocabulary!(
    /// How the pilot's AI was sourced.
    Sourcing { Built = "built", Bought = "bought", Partnered = "partnered" }
);

vocabulary!(
    /// What kind of AI the pilot uses.
    AiKind { GenaiAssistant = "genai_assistant", GenaiAgentic = "genai_agentic", PredictiveMl = "predictive_ml", Other = "other" }
);

vocabulary!(
    /// Lifecycle stage of a pilot.
    Stage { Proposed = "proposed", Piloting = "piloting", Production = "production", Scaled = "scaled", Abandoned = "abandoned" }
);

impl Stage {
    /// Entering one of these stages evaluates a pilot (docs/DEFINITIONS.md#evaluated).
    pub fn is_evaluating(self) -> bool {
        matches!(self, Stage::Production | Stage::Scaled | Stage::Abandoned)
    }
}

vocabulary!(
    /// What money was spent on.
    SpendCategory {
        Licences = "licences", ComputeInference = "compute_inference", Infrastructure = "infrastructure",
        InternalLabour = "internal_labour", ExternalServices = "external_services", Data = "data",
        ChangeManagement = "change_management", Other = "other",
    }
);

vocabulary!(
    /// The P&L line an impact lands on.
    ImpactKind { RevenueUplift = "revenue_uplift", CostReduction = "cost_reduction", CostAvoidance = "cost_avoidance" }
);

vocabulary!(
    /// How an impact was attributed to the pilot.
    AttributionMethod {
        ControlledExperiment = "controlled_experiment", DifferenceInDifferences = "difference_in_differences",
        BeforeAfter = "before_after", ModelEstimate = "model_estimate", SelfReported = "self_reported",
    }
);

vocabulary!(
    /// Whether an entry is spend or impact.
    EntryType { Spend = "spend", Impact = "impact" }
);
