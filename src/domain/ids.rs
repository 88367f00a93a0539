//! Id newtypes. A raw `String` or `Uuid` never crosses a function boundary, so an
//! organisation id cannot be passed where a pilot id belongs.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7), so ids sort by creation.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the canonical hyphenated form; anything else is `None`.
            pub fn parse(s: &str) -> Option<Self> {
                if s.len() != 36 {
                    return None;
                }
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// An organisation (tenant).
    OrgId
);
id_type!(
    /// A pilot inside one organisation.
    PilotId
);
id_type!(
    /// A spend or impact entry.
    EntryId
);
id_type!(
    /// An issued token; equal to the token's `jti`.
    TokenId
);
id_type!(
    /// An audit event.
    AuditId
);
id_type!(
    /// A budget of a pilot or an organisation.
    BudgetId
);
id_type!(
    /// An alert rule; the alerts it fires carry [`AlertId`]s.
    AlertRuleId
);
id_type!(
    /// One firing of an alert rule.
    AlertId
);
id_type!(
    /// A webhook endpoint.
    WebhookId
);
id_type!(
    /// A webhook message of the outbox (its `webhook-id` is `msg_` + this) or a delivery attempt.
    MessageId
);
