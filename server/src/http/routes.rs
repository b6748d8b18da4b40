//! The `/v1` route table (compat §1.4–1.5) as a pure function of method and path segments.
//!
//! axum's path router cannot express innernet's rules (extra components ignored after a
//! route, but not after a collection; 404 instead of 405; a session before routing), so the
//! dispatcher splits the path itself and asks [`scope`] and [`resolve`] what it names.

use axum::http::Method;
use wiremesh_shared::{AssociationId, CidrId, PeerId, RuleId};

/// The second path component: which half of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/v1/user/...`: each route checks its own capability.
    User,
    /// `/v1/admin/...`: the caller must be admin-capable before any routing.
    Admin,
}

/// One operation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    State,
    Capabilities,
    Redeem,
    Endpoint,
    Candidates,
    ListPeers,
    CreatePeer,
    UpdatePeer(PeerId),
    DisablePeer(PeerId),
    /// `PATCH /v2/admin/peers/{id}` (wiremesh's own; routed by the `/v2` dispatcher).
    PatchPeer(PeerId),
    ListCidrs,
    CreateCidr,
    RenameCidr(CidrId),
    DeleteCidr(CidrId),
    ListAssociations,
    CreateAssociation,
    DeleteAssociation(AssociationId),
    /// wiremesh's own `/v2` routes of the port and protocol policy (`plan`: a dry run).
    Report,
    ListRules,
    AddRule {
        plan: bool,
    },
    DeleteRule {
        id: RuleId,
        plan: bool,
    },
    SetIsolation {
        id: CidrId,
        plan: bool,
    },
    Explain,
    /// wiremesh's own `/v2` routes of routes: a gateway's own offer, an admin's offer for a
    /// peer, approval, auto-approval, the listing.
    OfferOwnRoutes,
    OfferRoutes(PeerId),
    ApproveRoutes(PeerId),
    SetAutoApproval(CidrId),
    ListRoutes,
    /// wiremesh's own `/v2` routes of devices: the listing, creating one, and issuing a
    /// device's configuration again.
    ListDevices,
    CreateDevice,
    ReissueDevice(PeerId),
    /// `DELETE /v2/admin/peers/{id}`: deletion for good (`/v1`'s DELETE only disables).
    DeletePeer(PeerId),
    /// `DELETE /v2/user`: the caller deletes itself.
    Deregister,
    /// `POST /v2/admin/peers`: a new peer with wiremesh's options (ephemeral).
    CreatePeerV2,
}

/// Splits a path into components: one leading `/` dropped, then split on `/` (so a
/// trailing slash yields an empty last component).
pub fn segments(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

/// Which scope the component after `v1` names, if any.
pub fn scope(segment: Option<&str>) -> Option<Scope> {
    match segment {
        Some("user") => Some(Scope::User),
        Some("admin") => Some(Scope::Admin),
        _ => None,
    }
}

/// The route for `method` and the components after the scope; `None` is a 404.
pub fn resolve(method: &Method, scope: Scope, rest: &[&str]) -> Option<Route> {
    match scope {
        Scope::User => resolve_user(method, rest),
        Scope::Admin => resolve_admin(method, rest),
    }
}

fn resolve_user(method: &Method, rest: &[&str]) -> Option<Route> {
    // Components after the route's own are ignored: `/v1/user/state/x` is the state.
    let route = match (method, rest.first().copied()?) {
        (&Method::GET, "state") => Route::State,
        (&Method::GET, "capabilities") => Route::Capabilities,
        (&Method::POST, "redeem") => Route::Redeem,
        (&Method::PUT, "endpoint") => Route::Endpoint,
        (&Method::PUT, "candidates") => Route::Candidates,
        _ => return None,
    };
    Some(route)
}

fn resolve_admin(method: &Method, rest: &[&str]) -> Option<Route> {
    match rest {
        // A collection route matches only with nothing after it (no trailing slash).
        [collection] => match (method, *collection) {
            (&Method::GET, "peers") => Some(Route::ListPeers),
            (&Method::POST, "peers") => Some(Route::CreatePeer),
            (&Method::GET, "cidrs") => Some(Route::ListCidrs),
            (&Method::POST, "cidrs") => Some(Route::CreateCidr),
            (&Method::GET, "associations") => Some(Route::ListAssociations),
            (&Method::POST, "associations") => Some(Route::CreateAssociation),
            _ => None,
        },
        // An item route takes an i64 id; anything after it is ignored.
        [collection, id, ..] => {
            let id: i64 = id.parse().ok()?;
            match (method, *collection) {
                (&Method::PUT, "peers") => Some(Route::UpdatePeer(PeerId(id))),
                (&Method::DELETE, "peers") => Some(Route::DisablePeer(PeerId(id))),
                (&Method::PUT, "cidrs") => Some(Route::RenameCidr(CidrId(id))),
                (&Method::DELETE, "cidrs") => Some(Route::DeleteCidr(CidrId(id))),
                (&Method::DELETE, "associations") => {
                    Some(Route::DeleteAssociation(AssociationId(id)))
                }
                _ => None,
            }
        }
        [] => None,
    }
}

/// wiremesh's `/v2/admin/...` policy routes, matched exactly; `Ok(None)` is a 404.
pub fn resolve_v2_admin(
    method: &Method,
    rest: &[&str],
    query: Option<&str>,
) -> Result<Option<Route>, super::error::ApiError> {
    let plan = query_flag(query, "plan")?;
    let id = |text: &str| text.parse::<i64>().ok();
    Ok(match (method, rest) {
        (&Method::GET, ["rules"]) => Some(Route::ListRules),
        (&Method::POST, ["rules"]) => Some(Route::AddRule { plan }),
        (&Method::DELETE, ["rules", n]) => id(n).map(|n| Route::DeleteRule {
            id: RuleId(n),
            plan,
        }),
        (&Method::PUT, ["cidrs", n, "isolation"]) => id(n).map(|n| Route::SetIsolation {
            id: CidrId(n),
            plan,
        }),
        (&Method::GET, ["explain"]) => Some(Route::Explain),
        (&Method::GET, ["routes"]) => Some(Route::ListRoutes),
        (&Method::PUT, ["peers", n, "routes"]) => id(n).map(|n| Route::OfferRoutes(PeerId(n))),
        (&Method::PUT, ["peers", n, "routes", "approval"]) => {
            id(n).map(|n| Route::ApproveRoutes(PeerId(n)))
        }
        (&Method::PUT, ["cidrs", n, "auto-approval"]) => {
            id(n).map(|n| Route::SetAutoApproval(CidrId(n)))
        }
        (&Method::DELETE, ["peers", n]) => id(n).map(|n| Route::DeletePeer(PeerId(n))),
        (&Method::POST, ["peers"]) => Some(Route::CreatePeerV2),
        (&Method::GET, ["devices"]) => Some(Route::ListDevices),
        (&Method::POST, ["devices"]) => Some(Route::CreateDevice),
        (&Method::POST, ["devices", n, "config"]) => id(n).map(|n| Route::ReissueDevice(PeerId(n))),
        _ => None,
    })
}

/// A `name=true|false` query flag (absent: false).
pub(super) fn query_flag(query: Option<&str>, name: &str) -> Result<bool, super::error::ApiError> {
    for (key, value) in query_pairs(query) {
        if key == name {
            return match value.as_str() {
                "true" | "1" | "" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(
                    crate::error::ServiceError::Invalid(crate::error::Invalid::Query {
                        parameter: key.chars().take(32).collect(),
                        value: value.chars().take(32).collect(),
                    })
                    .into(),
                ),
            };
        }
    }
    Ok(false)
}

/// The `name=value` pairs of a query string, percent-decoded (`+` is not a space here:
/// nothing the API takes contains one).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: Method, path: &str, expected: Option<Route>) {
        let parts = segments(path);
        assert_eq!(parts.first().copied(), Some("v1"), "{path}");
        let route = scope(parts.get(1).copied())
            .and_then(|scope| resolve(&method, scope, parts.get(2..).unwrap_or(&[])));
        assert_eq!(route, expected, "{method} {path}");
    }

    #[test]
    fn routes() {
        check(Method::GET, "/v1/user/state", Some(Route::State));
        check(Method::GET, "/v1/user/state/extra", Some(Route::State));
        check(Method::GET, "/v1/user/state/", Some(Route::State));
        check(Method::POST, "/v1/user/state", None);
        check(Method::GET, "/v1/user", None);
        check(Method::GET, "/v1/user/", None);
        check(Method::GET, "/v1/user/nothing", None);
        check(Method::GET, "/v1/other/state", None);
        check(Method::GET, "/v1/admin/peers", Some(Route::ListPeers));
        check(Method::GET, "/v1/admin/peers/", None);
        check(Method::POST, "/v1/admin/peers/", None);
        check(
            Method::PUT,
            "/v1/admin/peers/3",
            Some(Route::UpdatePeer(PeerId(3))),
        );
        check(
            Method::PUT,
            "/v1/admin/peers/3/x",
            Some(Route::UpdatePeer(PeerId(3))),
        );
        check(Method::PUT, "/v1/admin/peers/abc", None);
        check(Method::PUT, "/v1/admin/peers/", None);
        check(Method::GET, "/v1/admin/peers/3", None);
        check(Method::PATCH, "/v1/admin/peers/3", None);
        check(
            Method::DELETE,
            "/v1/admin/peers/-4",
            Some(Route::DisablePeer(PeerId(-4))),
        );
        check(
            Method::DELETE,
            "/v1/admin/cidrs/7",
            Some(Route::DeleteCidr(CidrId(7))),
        );
        check(
            Method::PUT,
            "/v1/admin/cidrs/7",
            Some(Route::RenameCidr(CidrId(7))),
        );
        check(Method::PUT, "/v1/admin/associations/7", None);
        check(
            Method::DELETE,
            "/v1/admin/associations/7",
            Some(Route::DeleteAssociation(AssociationId(7))),
        );
        check(
            Method::POST,
            "/v1/admin/associations",
            Some(Route::CreateAssociation),
        );
        check(Method::GET, "/v1/admin", None);
        check(Method::GET, "/v1/admin/", None);
    }

    #[test]
    fn policy_routes_and_queries() {
        let v2 = |method: Method, rest: &[&str], query: Option<&str>| {
            resolve_v2_admin(&method, rest, query).map_err(|e| e.to_string())
        };
        assert_eq!(
            v2(Method::GET, &["rules"], None),
            Ok(Some(Route::ListRules))
        );
        assert_eq!(
            v2(Method::POST, &["rules"], Some("plan=true")),
            Ok(Some(Route::AddRule { plan: true }))
        );
        assert_eq!(
            v2(Method::DELETE, &["rules", "4"], None),
            Ok(Some(Route::DeleteRule {
                id: RuleId(4),
                plan: false
            }))
        );
        assert_eq!(
            v2(Method::PUT, &["cidrs", "3", "isolation"], Some("plan")),
            Ok(Some(Route::SetIsolation {
                id: CidrId(3),
                plan: true
            }))
        );
        assert_eq!(v2(Method::DELETE, &["rules", "x"], None), Ok(None));
        assert_eq!(v2(Method::GET, &["rules", "4"], None), Ok(None));
        assert!(v2(Method::POST, &["rules"], Some("plan=maybe")).is_err());
        assert_eq!(
            query_pairs(Some("src=fd00%3A%3A1&dst=10.0.0.1&x")),
            vec![
                ("src".to_owned(), "fd00::1".to_owned()),
                ("dst".to_owned(), "10.0.0.1".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
        assert_eq!(
            query_pairs(Some("a=%4")),
            vec![("a".to_owned(), "%4".to_owned())]
        );
    }
}
