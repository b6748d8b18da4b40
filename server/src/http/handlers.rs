//! One thin handler per [`Route`]: check the route's capability, read the body, make one
//! service call, map the result to a status (compat §1.5, §1.10).
//!
//! Capabilities are checked before the body is read, as innernet does. Service writes block
//! on SQLite and the WireGuard device, so they run in `spawn_blocking`; reads come from the
//! in-memory model and run inline, except the states, whose answers are serialised on the
//! blocking pool (once per revision and CIDR, shared by every caller that asks the same).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::net::IpAddr;

use wiremesh_shared::devices::NewDeviceContents;
use wiremesh_shared::policy::{RuleContents, Transport};
use wiremesh_shared::wire::{
    AssociationContents, AutoApprovalContents, CidrContents, ClientReport, EndpointContents,
    IsolationContents, Peer, PeerContents, PeerPatch, RedeemContents, RouteApproval, RouteOffer,
};
use wiremesh_shared::Endpoint;

use super::body::read_json;
use super::error::ApiError;
use super::routes::Route;
use crate::audit::{acting_as, Actor};
use crate::error::{Denied, ServiceError};
use crate::service::Service;

/// Runs `route` for `caller` (already authenticated; admin routes already checked).
pub async fn handle(
    service: &Arc<Service>,
    route: Route,
    caller: Peer,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Every change this request makes is the caller's in the audit log.
    let actor = Actor::peer(&caller);
    match route {
        Route::State => {
            // Built once per revision and CIDR, but a cold build of a large network is
            // milliseconds of serialising: never on the async threads.
            let body = blocking(service, &actor, move |s| s.state_body(&caller)).await?;
            Ok((
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response())
        }
        Route::Capabilities => Ok(json(StatusCode::OK, service.capabilities())),
        Route::Redeem => {
            // Only an invitation not yet redeemed may redeem (disabled callers never get here).
            if caller.is_redeemed {
                return Err(ServiceError::Denied(Denied::AlreadyRedeemed).into());
            }
            let contents: RedeemContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| {
                s.redeem(caller.id, contents.public_key)
            })
            .await?;
            Ok(no_content())
        }
        Route::Endpoint => {
            Service::require_user(&caller)?;
            let contents: EndpointContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.set_endpoint(&caller, contents)).await?;
            Ok(no_content())
        }
        Route::Candidates => {
            Service::require_user(&caller)?;
            let candidates: Vec<Endpoint> = read_json(headers, body).await?;
            blocking(service, &actor, move |s| {
                s.set_candidates(&caller, candidates)
            })
            .await?;
            Ok(no_content())
        }
        Route::ListPeers => Ok(json(StatusCode::OK, service.admin_peers())),
        Route::CreatePeer => {
            let contents: PeerContents = read_json(headers, body).await?;
            let peer = blocking(service, &actor, move |s| s.create_peer(contents)).await?;
            Ok(json(StatusCode::CREATED, peer))
        }
        Route::UpdatePeer(id) => {
            let contents: PeerContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.update_peer(id, contents)).await?;
            Ok(no_content())
        }
        Route::DisablePeer(id) => {
            blocking(service, &actor, move |s| s.set_disabled(id, true)).await?;
            Ok(no_content())
        }
        Route::PatchPeer(id) => {
            let patch: PeerPatch = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.patch_peer(id, &patch)).await?;
            Ok(no_content())
        }
        Route::ListCidrs => Ok(json(StatusCode::OK, service.cidrs())),
        Route::CreateCidr => {
            let contents: CidrContents = read_json(headers, body).await?;
            let cidr = blocking(service, &actor, move |s| s.create_cidr(contents)).await?;
            Ok(json(StatusCode::CREATED, cidr))
        }
        Route::RenameCidr(id) => {
            let contents: CidrContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.rename_cidr(id, contents.name)).await?;
            Ok(no_content())
        }
        Route::DeleteCidr(id) => {
            blocking(service, &actor, move |s| s.delete_cidr(id)).await?;
            Ok(no_content())
        }
        Route::ListAssociations => Ok(json(StatusCode::OK, service.associations())),
        Route::CreateAssociation => {
            let contents: AssociationContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.create_association(contents)).await?;
            // innernet answers 201 with an empty body here.
            Ok(StatusCode::CREATED.into_response())
        }
        Route::DeleteAssociation(id) => {
            blocking(service, &actor, move |s| s.delete_association(id)).await?;
            Ok(no_content())
        }
        Route::Report => {
            let report: ClientReport = read_json(headers, body).await?;
            blocking(service, &actor, move |s| s.record_report(&caller, report)).await?;
            Ok(no_content())
        }
        Route::ListRules => Ok(json(StatusCode::OK, service.policy_listing())),
        Route::AddRule { plan } => {
            let contents: RuleContents = read_json(headers, body).await?;
            let change = blocking(service, &actor, move |s| s.add_rule(contents, plan)).await?;
            let status = if change.committed {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, change))
        }
        Route::DeleteRule { id, plan } => {
            let change = blocking(service, &actor, move |s| s.delete_rule(id, plan)).await?;
            Ok(json(StatusCode::OK, change))
        }
        Route::SetIsolation { id, plan } => {
            let contents: IsolationContents = read_json(headers, body).await?;
            let change = blocking(service, &actor, move |s| {
                s.set_isolation(id, contents.isolated, plan)
            })
            .await?;
            Ok(json(StatusCode::OK, change))
        }
        Route::Explain => {
            let (src, dst, transport) = explain_query(query)?;
            Ok(json(StatusCode::OK, service.explain(src, dst, transport)?))
        }
        Route::OfferOwnRoutes | Route::OfferRoutes(_) => {
            let gateway = match route {
                Route::OfferRoutes(id) => id,
                _ => {
                    // A gateway offers for itself only once it is a full member.
                    if !caller.is_redeemed {
                        return Err(ServiceError::Denied(Denied::NotRedeemed).into());
                    }
                    caller.id
                }
            };
            let offer: RouteOffer = read_json(headers, body).await?;
            let routes =
                blocking(service, &actor, move |s| s.replace_offer(gateway, &offer)).await?;
            Ok(json(StatusCode::OK, routes))
        }
        Route::ApproveRoutes(id) => {
            let approval: RouteApproval = read_json(headers, body).await?;
            let routes = blocking(service, &actor, move |s| {
                s.approve_routes(id, &approval.routes, approval.approved)
            })
            .await?;
            Ok(json(StatusCode::OK, routes))
        }
        Route::SetAutoApproval(id) => {
            let contents: AutoApprovalContents = read_json(headers, body).await?;
            blocking(service, &actor, move |s| {
                s.set_auto_approval(id, &contents.prefixes, contents.exit)
            })
            .await?;
            Ok(no_content())
        }
        Route::ListRoutes => Ok(json(StatusCode::OK, &*service.route_book())),
        Route::ListDevices => Ok(json(StatusCode::OK, service.device_listing())),
        Route::CreateDevice => {
            let contents: NewDeviceContents = read_json(headers, body).await?;
            let who = actor.to_string();
            let issued = blocking(service, &actor, move |s| {
                let network = s.network_name();
                s.create_device(contents.into(), &network, &who)
                    .map(|issued| s.issued_body(&issued))
            })
            .await?;
            Ok(json(StatusCode::CREATED, issued))
        }
        Route::ReissueDevice(id) => {
            let who = actor.to_string();
            let issued = blocking(service, &actor, move |s| {
                let network = s.network_name();
                s.reissue_device(id, &network, &who)
                    .map(|issued| s.issued_body(&issued))
            })
            .await?;
            Ok(json(StatusCode::OK, issued))
        }
        Route::DeletePeer(id) => {
            let deleted = blocking(service, &actor, move |s| {
                s.delete_peer(id, crate::store::DeletionReason::Deleted)
            })
            .await?;
            tracing::info!(admin = %caller.name, peer = %deleted.name, "deleted through the API");
            Ok(no_content())
        }
        Route::CreatePeerV2 => {
            let new: wiremesh_shared::wire::NewPeer = read_json(headers, body).await?;
            let window = new.ephemeral_secs.map(std::time::Duration::from_secs);
            let peer = blocking(service, &actor, move |s| {
                s.create_peer_with(new.contents, window)
            })
            .await?;
            Ok(json(StatusCode::CREATED, peer))
        }
        Route::Deregister => {
            let delay = service.deregister(&caller)?;
            Ok(json(
                StatusCode::ACCEPTED,
                wiremesh_shared::wire::Deregistered {
                    delete_after_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                },
            ))
        }
    }
}

/// `src=A&dst=B&proto=tcp|udp|icmp|N&port=P&type=T` of `GET /v2/admin/explain`.
fn explain_query(query: Option<&str>) -> Result<(IpAddr, IpAddr, Transport), ApiError> {
    let pairs = super::routes::query_pairs(query);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let bad = |parameter: &str, value: &str, expected: &str| -> ApiError {
        ApiError::BadRequest(format!(
            "invalid query parameter {parameter}={:?}: expected {expected}",
            value.chars().take(64).collect::<String>()
        ))
    };
    let address = |name: &str| -> Result<IpAddr, ApiError> {
        let value = get(name).ok_or_else(|| bad(name, "", "an IP address"))?;
        value.parse().map_err(|_| bad(name, value, "an IP address"))
    };
    let (src, dst) = (address("src")?, address("dst")?);
    let number = |name: &str, max: u32| -> Result<Option<u32>, ApiError> {
        get(name)
            .map(|v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| bad(name, v, &format!("a number up to {max}")))
            })
            .transpose()
    };
    let proto = get("proto").unwrap_or("tcp");
    let transport = match proto.to_ascii_lowercase().as_str() {
        "tcp" | "udp" => {
            let port = number("port", 65535)?
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("port", get("port").unwrap_or(""), "a port from 1 to 65535"))?
                as u16;
            if proto.eq_ignore_ascii_case("tcp") {
                Transport::Tcp { port }
            } else {
                Transport::Udp { port }
            }
        }
        "icmp" | "icmpv6" => {
            let echo = if src.is_ipv6() { 128 } else { 8 };
            Transport::Icmp {
                kind: number("type", 255)?.map_or(echo, |t| t as u8),
            }
        }
        other => match other.parse::<u8>() {
            Ok(protocol) => Transport::Other { protocol },
            Err(_) => return Err(bad("proto", proto, "tcp, udp, icmp or a protocol number")),
        },
    };
    Ok((src, dst, transport))
}

/// Runs a blocking service operation off the async threads.
async fn blocking<T, F>(service: &Arc<Service>, actor: &Actor, op: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> crate::error::Result<T> + Send + 'static,
{
    let service = Arc::clone(service);
    let actor = actor.clone();
    let outcome = tokio::task::spawn_blocking(move || acting_as(actor, || op(&service)))
        .await
        .map_err(|error| ApiError::Internal(format!("service task failed: {error}")))?;
    Ok(outcome?)
}

fn json<T: Serialize>(status: StatusCode, value: T) -> Response {
    (status, Json(value)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Parameters of `GET /v2/user/state?epoch=E&revision=R&wait=S`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct V2Params {
    epoch: Option<u64>,
    revision: Option<u64>,
    wait_secs: u64,
}

impl V2Params {
    pub(super) fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = V2Params::default();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    ServiceError::Invalid(crate::error::Invalid::Query {
                        parameter: name.chars().take(32).collect(),
                        value: value.chars().take(32).collect(),
                    })
                })
            };
            match name {
                "epoch" => params.epoch = Some(number()?),
                "revision" => params.revision = Some(number()?),
                "wait" => params.wait_secs = number()?.min(wiremesh_shared::wire::MAX_WAIT_SECS),
                _ => {} // unknown parameters are ignored, like unknown JSON fields
            }
        }
        Ok(params)
    }
}

/// `GET /v2/user/state`: answers at once when the caller's state changed since the revision
/// it named (or the server cannot tell), else waits until a change it can see or `wait`.
pub async fn state_v2(
    service: &Arc<Service>,
    caller: Peer,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    Service::require_user(&caller)?;
    let params = V2Params::parse(query)?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(params.wait_secs);
    let mut stopping = false;
    loop {
        // Registered before looking, so a change between the look and the wait still wakes it.
        let wake = service.watch(&caller);
        let lookup = service.state_delta_lookup(&caller, params.epoch, params.revision)?;
        let answer =
            lookup
                .cell
                .get_or_try_init(|| {
                    let service = service.clone();
                    let job = lookup.job;
                    async move {
                        tokio::task::spawn_blocking(move || service.build_delta_body(job)).await
                    }
                })
                .await
                .map_err(|error| {
                    ApiError::Internal(format!("building a state delta failed: {error}"))
                })?;
        if !answer.empty || stopping || tokio::time::Instant::now() >= deadline {
            // A peer holding a long poll was online all along: an ephemeral peer's window
            // starts again when the poll ends, not only when it began.
            service.saw(caller.id);
            return Ok((
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                answer.body.clone(),
            )
                .into_response());
        }
        tokio::select! {
            () = wake.changed() => {},
            _ = tokio::time::sleep_until(deadline) => {},
            // The server is stopping: answer as things stand (the client asks again, from
            // the same revision, once the server is back).
            () = service.stopped() => stopping = true,
        }
    }
}

#[cfg(test)]
mod v2_params_tests {
    use super::V2Params;

    #[test]
    fn parses_and_clamps() {
        assert_eq!(V2Params::parse(None).unwrap(), V2Params::default());
        let p = V2Params::parse(Some("epoch=7&revision=12&wait=999&x=y")).unwrap();
        assert_eq!((p.epoch, p.revision, p.wait_secs), (Some(7), Some(12), 60));
        assert!(V2Params::parse(Some("revision=-1")).is_err());
        assert!(V2Params::parse(Some("wait=soon")).is_err());
    }
}
