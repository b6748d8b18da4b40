//! Invitation, client and server TOML files against the ones innernet 2.0.0 wrote: each parses,
//! what we write holds the same keys and values, and it parses back to the same value.

use std::path::Path;

use wireguard_control::PrivateKey;
use wiremesh_shared::config::{ClientConfig, InvitationConfig, ServerConfig};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/innernet-2.0.0")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `ours` and the golden text hold the same tables, keys and values (comments aside).
fn check_same_toml(ours: &str, golden_file: &str) {
    let ours: toml::Table = ours
        .parse()
        .unwrap_or_else(|e| panic!("our {golden_file}: {e}"));
    let golden: toml::Table = fixture(golden_file).parse().unwrap();
    assert_eq!(ours, golden, "{golden_file}");
}

#[test]
fn golden_invitation() {
    let invitation = InvitationConfig::from_toml_str(&fixture("invitation.toml")).unwrap();
    assert_eq!(invitation.interface.network_name, "evilcorp");
    assert_eq!(invitation.interface.address.to_string(), "10.66.1.1/16");
    assert_eq!(invitation.interface.listen_port, None);
    assert_eq!(
        invitation.interface.private_key.to_base64(),
        "qE5lI7FlFjTz2krRiYS4+NCHvSe2yWxtykB6ItJGk3A="
    );
    assert_eq!(
        invitation.server.public_key.to_base64(),
        "i/c82isZ8Dgl8rCA4UN0+rr2Zlo9T/3OLeSpaZFDHg4="
    );
    assert_eq!(
        invitation.server.external_endpoint.to_string(),
        "192.0.2.1:51820"
    );
    assert_eq!(
        invitation.server.internal_endpoint.to_string(),
        "10.66.0.1:51820"
    );

    let ours = invitation.to_toml_string();
    assert!(
        ours.lines().take(3).all(|line| line.starts_with('#')),
        "{ours}"
    );
    check_same_toml(&ours, "invitation.toml");
    assert_eq!(InvitationConfig::from_toml_str(&ours).unwrap(), invitation);
}

#[test]
fn golden_client_config_is_the_redeemed_invitation() {
    let golden = ClientConfig::from_toml_str(&fixture("client-config.toml")).unwrap();
    assert!(golden.peer_endpoint_overrides.is_empty());
    let invitation = InvitationConfig::from_toml_str(&fixture("invitation.toml")).unwrap();
    let key = PrivateKey::from_base64("wCDKMwDGrAhY0W/Uy6bNRY2Eiq0aa+mhRKTg7C8BWkM=").unwrap();
    let redeemed = ClientConfig::from_invitation(invitation, key);
    assert_eq!(redeemed, golden);

    let ours = golden.to_toml_string();
    check_same_toml(&ours, "client-config.toml");
    assert_eq!(ClientConfig::from_toml_str(&ours).unwrap(), golden);
    // A client config is also readable as an invitation: extra keys are ignored.
    assert!(InvitationConfig::from_toml_str(&ours).is_ok());
}

#[test]
fn golden_server_config() {
    let config = ServerConfig::from_toml_str(&fixture("server-config.toml")).unwrap();
    assert_eq!(config.listen_port, 51820);
    assert_eq!(config.address.to_string(), "10.66.0.1");
    assert_eq!(config.network_cidr_prefix, 16);
    assert_eq!(config.network().to_string(), "10.66.0.0/16");
    assert_eq!(config.interface_address().to_string(), "10.66.0.1/16");
    let ours = config.to_toml_string();
    assert_eq!(ours, fixture("server-config.toml"));
    check_same_toml(&ours, "server-config.toml");
    assert_eq!(ServerConfig::from_toml_str(&ours).unwrap(), config);
}

/// `expected` is a fragment of the error message.
fn check(input: &str, expected: &str) {
    let message = InvitationConfig::from_toml_str(input)
        .unwrap_err()
        .to_string();
    assert!(message.contains(expected), "{message:?} lacks {expected:?}");
}

#[test]
fn bad_invitations_say_what_is_wrong() {
    let golden = fixture("invitation.toml");
    check(
        &golden.replace("192.0.2.1:51820", "192.0.2.1"),
        "\"external-endpoint\"",
    );
    check(
        &golden.replace("10.66.1.1/16", "10.66.1.1/33"),
        "\"address\"",
    );
    check(&golden.replace("\"evilcorp\"", "7"), "\"network-name\"");
    check(
        &golden.replace("[server]", "[servers]"),
        "missing field `server`",
    );
    check(
        &golden.replace("qE5lI7Fl", "qE5lI7F"),
        "invalid private key (value not shown)",
    );
    check("", "failed to parse invitation");
}
