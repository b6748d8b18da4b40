//! `doctor` against a live in-process server and a client on the fake backend: a healthy
//! network passes, and each broken thing — config mode, a disabled peer, a server that is
//! gone, an interface that is down, a server that never handshook — fails its check with
//! advice. Host facts (`rp_filter`, addresses, the user) come from an injected probe.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use wireguard_control::{Backend, BackendKind, InterfaceName};
use wiremesh::doctor::{self, CheckKind, Implementation, Report, Status, SystemProbe};

use crate::support::testnet::*;

/// Fixed host facts: `rp_filter` values and the interface's addresses.
struct Probe {
    all: u8,
    own: u8,
    addresses: Vec<IpNet>,
}

impl SystemProbe for Probe {
    fn effective_uid(&self) -> u32 {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }

    fn rp_filter(&self, conf: &str) -> Result<u8, String> {
        Ok(if conf == "all" { self.all } else { self.own })
    }

    fn interfaces(&self) -> Result<Vec<String>, String> {
        Ok(vec!["eth0".to_owned()])
    }

    fn addresses(&self, _iface: &InterfaceName) -> Result<Vec<IpNet>, String> {
        Ok(self.addresses.clone())
    }

    fn implementation(&self, backend: BackendKind, _iface: &InterfaceName) -> Implementation {
        assert_eq!(backend, BackendKind::Fake);
        Implementation::Fake
    }
}

/// A strict host whose interface carries the client's configured address.
fn probe(client: &TestClient) -> Probe {
    let config = wiremesh::files::load_config(&client.ctx.paths, &client.iface).unwrap();
    Probe {
        all: 1,
        own: 0,
        addresses: vec![config.interface.address],
    }
}

/// A joined client whose server peer handshook a moment ago, and a peer `bob` that never did.
fn healthy(net: &TestNet) -> TestClient {
    let humans = net.humans();
    net.add_peer("bob", &humans);
    let (client, _) = net.join("laptop", &humans);
    client.sync().unwrap();
    let server = net.server_public_key();
    let at = SystemTime::now() - Duration::from_secs(5);
    assert!(client
        .backend
        .set_handshake(&client.iface, &server, Some(at)));
    client
}

fn diagnose(client: &TestClient, probe: &Probe) -> Report {
    doctor::diagnose(&client.ctx, probe, Some(&client.iface), SystemTime::now())
}

/// The one check of `kind` for the client's network, asserted to have `status`; returns it
/// as `(detail, advice)`.
fn expect(
    report: &Report,
    client: &TestClient,
    kind: CheckKind,
    status: Status,
) -> (String, String) {
    let check = report
        .find(Some(&client.iface), kind)
        .unwrap_or_else(|| panic!("no {kind} check:\n{}", doctor::render_text(report)));
    assert_eq!(
        check.status,
        status,
        "{kind}:\n{}",
        doctor::render_text(report)
    );
    (
        check.detail.clone(),
        check.advice.clone().unwrap_or_default(),
    )
}

#[test]
fn a_healthy_network_passes() {
    for family in Family::BOTH {
        let net = TestNet::new(family);
        let client = healthy(&net);
        let report = diagnose(&client, &probe(&client));
        let text = doctor::render_text(&report);
        assert!(report.ok(), "{text}");
        for kind in [
            CheckKind::Config,
            CheckKind::Cache,
            CheckKind::Interface,
            CheckKind::Implementation,
            CheckKind::Server,
            CheckKind::Firewall,
            CheckKind::RpFilter,
        ] {
            expect(&report, &client, kind, Status::Pass);
        }
        assert_eq!(
            report.find(None, CheckKind::ConfigDir).unwrap().status,
            Status::Pass
        );
        let (server, _) = expect(&report, &client, CheckKind::Server, Status::Pass);
        assert!(
            server.contains("wiremesh server") && server.contains("v2-state"),
            "{server}"
        );
        assert!(server.contains("(--api-address)"), "{server}");
        let (config, _) = expect(&report, &client, CheckKind::Config, Status::Pass);
        assert!(config.contains("valid, mode 0600"), "{config}");
        // The server handshook; bob never did, which only warns.
        let handshakes: Vec<_> = report
            .checks
            .iter()
            .filter(|c| c.kind == CheckKind::Handshake)
            .collect();
        assert_eq!(handshakes.len(), 2, "{text}");
        assert_eq!(handshakes[0].status, Status::Pass);
        assert!(handshakes[0].detail.starts_with("server ("), "{text}");
        assert_eq!(handshakes[1].status, Status::Warn);
        assert!(handshakes[1].detail.starts_with("bob ("), "{text}");
        assert!(text.ends_with("1 warning, 0 failed\n"), "{text}");
    }
}

#[test]
fn a_config_other_users_can_read_fails_with_chmod_advice() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    let path = client.config_path();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let report = diagnose(&client, &probe(&client));
    assert!(!report.ok());
    let (detail, advice) = expect(&report, &client, CheckKind::Config, Status::Fail);
    assert!(
        detail.contains("mode 0644: other users can read its private key"),
        "{detail}"
    );
    assert_eq!(advice, format!("run `chmod 600 {}`", path.display()));
    // The config still parses, so everything else is checked and passes.
    expect(&report, &client, CheckKind::Server, Status::Pass);
    assert_eq!(report.n_with(Status::Fail), 1);
    let json = doctor::render_json(&report);
    assert!(json.starts_with("{\n  \"ok\": false,"), "{json}");
    assert!(
        json.contains("\"check\": \"config\",\n      \"status\": \"fail\""),
        "{json}"
    );
}

#[test]
fn a_disabled_peer_is_told_why_the_server_refuses_it() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    net.service
        .set_disabled(net.peer("laptop").id, true)
        .unwrap();
    let report = diagnose(&client, &probe(&client));
    let (detail, advice) = expect(&report, &client, CheckKind::Server, Status::Fail);
    assert!(detail.contains("HTTP 401"), "{detail}");
    assert!(
        detail.contains("it may be disabled, or its invitation expired"),
        "{detail}"
    );
    assert!(advice.contains("enable it"), "{advice}");
}

#[test]
fn a_server_that_does_not_listen_is_a_failure_with_advice() {
    let net = TestNet::new(Family::V6);
    let client = healthy(&net);
    // The listener's port now refuses connections, as a server host without `serve` does.
    net.stop_listener(client.ip);
    let report = diagnose(&client, &probe(&client));
    let (detail, advice) = expect(&report, &client, CheckKind::Server, Status::Fail);
    assert!(
        detail.starts_with("the server's host answers through the tunnel, but nothing listens"),
        "{detail}"
    );
    assert!(
        advice.contains("is `wiremesh-server serve` running"),
        "{advice}"
    );
    assert!(!report.ok());
}

#[test]
fn an_interface_that_is_down_says_how_to_bring_it_up() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    client.backend.delete(&client.iface).unwrap();
    let report = diagnose(&client, &probe(&client));
    let (detail, advice) = expect(&report, &client, CheckKind::Interface, Status::Fail);
    assert_eq!(detail, "interface testnet is not up");
    assert_eq!(advice, "run `wiremesh up testnet`");
    // Nothing that needs the interface is checked.
    for kind in [CheckKind::Server, CheckKind::Handshake, CheckKind::RpFilter] {
        assert!(report.find(Some(&client.iface), kind).is_none(), "{kind}");
    }
}

#[test]
fn a_server_that_never_handshook_fails() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    client
        .backend
        .set_handshake(&client.iface, &net.server_public_key(), None);
    let report = diagnose(&client, &probe(&client));
    let server = report
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Handshake && c.detail.starts_with("server"))
        .unwrap();
    assert_eq!(server.status, Status::Fail, "{server:?}");
    assert!(server.detail.ends_with("no handshake ever"), "{server:?}");
    assert!(
        server.advice.as_deref().unwrap().contains("UDP"),
        "{server:?}"
    );
}

#[test]
fn a_mismatched_address_and_loose_rp_filter() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    let probe = Probe {
        all: 2,
        own: 0,
        addresses: vec!["10.99.0.1/16".parse().unwrap()],
    };
    let report = diagnose(&client, &probe);
    let (detail, advice) = expect(&report, &client, CheckKind::Interface, Status::Fail);
    assert!(
        detail.contains("its addresses are 10.99.0.1/16, the config says"),
        "{detail}"
    );
    assert!(advice.contains("`wiremesh down testnet`"), "{advice}");
    let (detail, advice) = expect(&report, &client, CheckKind::RpFilter, Status::Warn);
    assert!(
        detail.starts_with("not strict on testnet (loose), eth0 (loose)"),
        "{detail}"
    );
    assert_eq!(
        advice,
        "run `sysctl -w net.ipv4.conf.all.rp_filter=1` (and make it permanent in /etc/sysctl.d/)"
    );
}

#[test]
fn every_installed_network_or_none() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    let probe = probe(&client);
    let report = doctor::diagnose(&client.ctx, &probe, None, SystemTime::now());
    let installed = report.find(None, CheckKind::Installed).unwrap();
    assert_eq!(installed.detail, "1 network installed: testnet");
    assert!(report.ok(), "{}", doctor::render_text(&report));

    // A network that is not installed.
    let other: InterfaceName = "other".parse().unwrap();
    let report = doctor::diagnose(&client.ctx, &probe, Some(&other), SystemTime::now());
    let config = report.find(Some(&other), CheckKind::Config).unwrap();
    assert_eq!(config.status, Status::Fail);
    assert!(config
        .detail
        .ends_with("other.conf does not exist: other is not installed"));
    assert_eq!(report.checks.len(), 2, "nothing else to check");

    // No network at all.
    fs::remove_file(client.config_path()).unwrap();
    let report = doctor::diagnose(&client.ctx, &probe, None, SystemTime::now());
    let installed = report.find(None, CheckKind::Installed).unwrap();
    assert_eq!(installed.status, Status::Fail);
    assert_eq!(
        installed.advice.as_deref(),
        Some("join a network with `wiremesh install <invitation>`")
    );
}

#[test]
fn a_firewall_table_that_differs_from_the_policy_fails() {
    let net = TestNet::new(Family::V4);
    let client = healthy(&net);
    let (detail, _) = expect(
        &diagnose(&client, &probe(&client)),
        &client,
        CheckKind::Firewall,
        Status::Pass,
    );
    assert!(
        detail.contains("holds the ruleset the server compiled"),
        "{detail}"
    );

    // Someone removes the table: doctor fails and says how to repair it.
    client.firewall.drop_table(&client.iface);
    let (detail, advice) = expect(
        &diagnose(&client, &probe(&client)),
        &client,
        CheckKind::Firewall,
        Status::Fail,
    );
    assert!(detail.contains("not enforced"), "{detail}");
    assert!(advice.contains("wiremesh fetch"), "{advice}");

    // A rule the table does not have yet.
    let humans = net.humans();
    net.service.set_isolation(humans.id, true, false).unwrap();
    client.sync().unwrap();
    expect(
        &diagnose(&client, &probe(&client)),
        &client,
        CheckKind::Firewall,
        Status::Pass,
    );
    net.service.set_isolation(humans.id, false, false).unwrap();
    let (detail, _) = expect(
        &diagnose(&client, &probe(&client)),
        &client,
        CheckKind::Firewall,
        Status::Fail,
    );
    assert!(detail.contains("differs"), "{detail}");

    // With the server gone, the saved ruleset is the reference.
    client.sync().unwrap();
    net.stop_listener(client.ip);
    let (detail, _) = expect(
        &diagnose(&client, &probe(&client)),
        &client,
        CheckKind::Firewall,
        Status::Pass,
    );
    assert!(
        detail.contains("the last ruleset the server sent"),
        "{detail}"
    );

    // Turned off: a warning.
    let mut ctx = client.ctx.clone();
    ctx.policy.enforce = false;
    let report = doctor::diagnose(
        &ctx,
        &probe(&client),
        Some(&client.iface),
        SystemTime::now(),
    );
    expect(&report, &client, CheckKind::Firewall, Status::Warn);
}
