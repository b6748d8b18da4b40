//! OpenAPI schemas (feature `openapi`) of the types whose JSON form is not what their Rust
//! form would suggest: names, durations, endpoints and port ranges are strings or pairs on
//! the wire. The derived schemas of the other wire types refer to these.

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::endpoint::Endpoint;
use crate::names::Hostname;
use crate::policy::PortRange;
use crate::timestring::Timestring;

fn string(description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples([serde_json::json!(example)])
        .into()
}

impl PartialSchema for Hostname {
    fn schema() -> RefOr<Schema> {
        string(
            "A peer's name: lowercase letters, digits and dashes, not starting or ending with a \
             dash.",
            "alice-laptop",
        )
    }
}

impl ToSchema for Hostname {}

impl PartialSchema for Timestring {
    fn schema() -> RefOr<Schema> {
        string(
            "A duration: a whole number and a unit, s, m, h, d or w.",
            "14d",
        )
    }
}

impl ToSchema for Timestring {}

impl PartialSchema for Endpoint {
    fn schema() -> RefOr<Schema> {
        string(
            "HOST:PORT: an IP address (IPv6 in brackets) or a DNS name, and a UDP port.",
            "vpn.example.com:51820",
        )
    }
}

impl ToSchema for Endpoint {}

impl PartialSchema for PortRange {
    fn schema() -> RefOr<Schema> {
        let port = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(65535));
        ArrayBuilder::new()
            .items(port)
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some("An inclusive range of ports: [first, last]."))
            .examples([serde_json::json!([8000, 8080])])
            .into()
    }
}

impl ToSchema for PortRange {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PortRange")
    }
}

/// How a point in time travels in peers' `invite_expires` (innernet's form).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SystemTimeWire {
    pub secs_since_epoch: u64,
    pub nanos_since_epoch: u32,
}
