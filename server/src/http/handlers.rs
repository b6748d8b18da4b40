//! One thin handler per [`Route`]: check the route's capability, read the body, make one
//! service call, map the result to a status (spec §1.5, §1.10).
//!
//! Capabilities are checked before the body is read, as innernet does. Service writes block
//! on SQLite and the WireGuard device, so they run in `spawn_blocking`; reads come from the
//! in-memory model and run inline.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use wiremesh_shared::wire::{
    AssociationContents, CidrContents, EndpointContents, Peer, PeerContents, RedeemContents,
};
use wiremesh_shared::Endpoint;

use super::body::read_json;
use super::error::ApiError;
use super::routes::Route;
use crate::error::{Denied, ServiceError};
use crate::service::Service;

/// Runs `route` for `caller` (already authenticated; admin routes already checked).
pub async fn handle(
    service: &Arc<Service>,
    route: Route,
    caller: Peer,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match route {
        Route::State => Ok(json(StatusCode::OK, service.state(&caller)?)),
        Route::Capabilities => Ok(json(StatusCode::OK, service.capabilities())),
        Route::Redeem => {
            // Only an invitation not yet redeemed may redeem (disabled callers never get here).
            if caller.is_redeemed {
                return Err(ServiceError::Denied(Denied::AlreadyRedeemed).into());
            }
            let contents: RedeemContents = read_json(headers, body).await?;
            blocking(service, move |s| s.redeem(caller.id, contents.public_key)).await?;
            Ok(no_content())
        }
        Route::Endpoint => {
            Service::require_user(&caller)?;
            let contents: EndpointContents = read_json(headers, body).await?;
            blocking(service, move |s| s.set_endpoint(&caller, contents)).await?;
            Ok(no_content())
        }
        Route::Candidates => {
            Service::require_user(&caller)?;
            let candidates: Vec<Endpoint> = read_json(headers, body).await?;
            blocking(service, move |s| s.set_candidates(&caller, candidates)).await?;
            Ok(no_content())
        }
        Route::ListPeers => Ok(json(StatusCode::OK, service.admin_peers())),
        Route::CreatePeer => {
            let contents: PeerContents = read_json(headers, body).await?;
            let peer = blocking(service, move |s| s.create_peer(contents)).await?;
            Ok(json(StatusCode::CREATED, peer))
        }
        Route::UpdatePeer(id) => {
            let contents: PeerContents = read_json(headers, body).await?;
            blocking(service, move |s| s.update_peer(id, contents)).await?;
            Ok(no_content())
        }
        Route::DisablePeer(id) => {
            blocking(service, move |s| s.set_disabled(id, true)).await?;
            Ok(no_content())
        }
        Route::ListCidrs => Ok(json(StatusCode::OK, service.cidrs())),
        Route::CreateCidr => {
            let contents: CidrContents = read_json(headers, body).await?;
            let cidr = blocking(service, move |s| s.create_cidr(contents)).await?;
            Ok(json(StatusCode::CREATED, cidr))
        }
        Route::RenameCidr(id) => {
            let contents: CidrContents = read_json(headers, body).await?;
            blocking(service, move |s| s.rename_cidr(id, contents.name)).await?;
            Ok(no_content())
        }
        Route::DeleteCidr(id) => {
            blocking(service, move |s| s.delete_cidr(id)).await?;
            Ok(no_content())
        }
        Route::ListAssociations => Ok(json(StatusCode::OK, service.associations())),
        Route::CreateAssociation => {
            let contents: AssociationContents = read_json(headers, body).await?;
            blocking(service, move |s| s.create_association(contents)).await?;
            // innernet answers 201 with an empty body here.
            Ok(StatusCode::CREATED.into_response())
        }
        Route::DeleteAssociation(id) => {
            blocking(service, move |s| s.delete_association(id)).await?;
            Ok(no_content())
        }
    }
}

/// Runs a blocking service operation off the async threads.
async fn blocking<T, F>(service: &Arc<Service>, op: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Service) -> crate::error::Result<T> + Send + 'static,
{
    let service = Arc::clone(service);
    let outcome = tokio::task::spawn_blocking(move || op(&service))
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
