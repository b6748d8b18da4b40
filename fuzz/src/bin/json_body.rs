//! A request body of the server's API, decoded as `read_json` decodes it once its length is
//! checked (`serde_json::from_slice` into the route's type), for every body type.

use wiremesh_shared::wire::{
    AssociationContents, CidrContents, EndpointContents, PeerContents, RedeemContents,
};
use wiremesh_shared::Endpoint;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = serde_json::from_slice::<RedeemContents>(data);
        let _ = serde_json::from_slice::<EndpointContents>(data);
        let _ = serde_json::from_slice::<Vec<Endpoint>>(data);
        let _ = serde_json::from_slice::<PeerContents>(data);
        let _ = serde_json::from_slice::<CidrContents>(data);
        let _ = serde_json::from_slice::<AssociationContents>(data);
    });
}
