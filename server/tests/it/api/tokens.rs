//! The automation API's tokens: made with scopes, checked on every use (missing, malformed,
//! wrong, unknown, expired, revoked, lacking the scope, right), never stored in the clear.

use std::time::Duration;

use wiremesh_server::service::TokenCheck;
use wiremesh_server::tokens::{Rejection, Scope};
use wiremesh_shared::fixture::Family;

use crate::support::api::*;

fn rejection(result: Result<wiremesh_server::store::StoredToken, TokenCheck>) -> String {
    match result {
        Ok(token) => format!("ok {}", token.name),
        Err(TokenCheck::Rejected(r)) => r.to_string(),
        Err(TokenCheck::Store(e)) => panic!("store error: {e}"),
    }
}

#[test]
fn tokens_are_checked_on_every_use() {
    let h = Harness::new(Family::V4);
    let (devices, _) = h
        .service
        .create_token(
            "provisioner",
            &[Scope::Devices],
            Some(Duration::from_secs(3600)),
        )
        .unwrap();
    let (admin, _) = h
        .service
        .create_token("ops", &[Scope::Admin], None)
        .unwrap();
    assert!(devices.starts_with("wmt_1_"), "{devices}");

    // Never in the database in the clear.
    let db = std::fs::read(&h.db_path).unwrap();
    for token in [&devices, &admin] {
        let (_, secret) = wiremesh_server::tokens::parse(token).unwrap();
        assert_eq!(secret.len(), 43);
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a token's secret is in the database file"
        );
    }

    let check = |token: Option<&str>, scope| rejection(h.service.check_token(token, scope));
    assert_eq!(check(Some(&devices), Scope::Devices), "ok provisioner");
    assert_eq!(check(Some(&devices), Scope::Read), "ok provisioner");
    assert_eq!(check(Some(&admin), Scope::Policy), "ok ops");
    assert_eq!(
        check(Some(&devices), Scope::Peers),
        "token \"provisioner\" lacks the scope peers (it has: devices)"
    );
    assert_eq!(
        check(None, Scope::Read),
        "no token: send it as `Authorization: Bearer wmt_…`"
    );
    assert_eq!(
        check(Some("Bearer abc"), Scope::Read),
        Rejection::Malformed.to_string()
    );
    let wrong = format!("{}x", &devices[..devices.len() - 1]);
    assert_eq!(check(Some(&wrong), Scope::Read), "unknown or wrong token");
    let unknown = devices.replacen("wmt_1_", "wmt_9_", 1);
    assert_eq!(check(Some(&unknown), Scope::Read), "unknown or wrong token");

    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        check(Some(&devices), Scope::Devices),
        "token \"provisioner\" has expired"
    );
    assert!(h.service.revoke_token("ops").unwrap());
    assert!(!h.service.revoke_token("ops").unwrap(), "revoked already");
    assert_eq!(
        check(Some(&admin), Scope::Read),
        "token \"ops\" was revoked"
    );

    // Refusals of bad requests to make or revoke one change nothing.
    let before = h.service.tokens().unwrap();
    for error in [
        h.service
            .create_token("ops", &[Scope::Read], None)
            .unwrap_err(),
        h.service
            .create_token("two words", &[Scope::Read], None)
            .unwrap_err(),
        h.service.create_token("none", &[], None).unwrap_err(),
        h.service.revoke_token("nobody").unwrap_err(),
    ] {
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(h.service.tokens().unwrap(), before);

    // Made and revoked by whoever acted, in the audit log (never the secret).
    let log = h.service.audit_log(3).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["token.revoke", "token.create", "token.create"]);
    assert!(log.iter().all(|e| e.actor == "server"));
    assert!(log.iter().all(|e| !e.detail.contains("wmt_")));
}
