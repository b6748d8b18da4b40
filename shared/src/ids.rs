//! Identifiers of peers, CIDRs and associations: database row ids, never mixed up.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// A peer's row id.
    PeerId
);
id_type!(
    /// A CIDR's row id.
    CidrId
);
id_type!(
    /// An association's row id.
    AssociationId
);
id_type!(
    /// A policy rule's row id.
    RuleId
);
id_type!(
    /// A route offer's row id.
    RouteId
);
