//! [`diagnose`]: reads this host's networks — files, the backend's device, the server's API,
//! and the [`SystemProbe`] — and turns each thing read into a check through the pure
//! verdicts of [`super::evaluate`].

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use wireguard_control::{Device, InterfaceName};
use wiremesh_shared::config::{ClientConfig, PeerCache};

use super::evaluate::{self, FileFacts, FileRole, Finding, HandshakePeer};
use super::system::{Implementation, SystemProbe};
use super::{CheckKind, Report};
use crate::context::Context;

/// Upper bound on the server check's request (the context's API timeout applies when
/// shorter): long enough for a healthy tunnel, short enough not to keep a person waiting.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks every installed network, or only `only`. Never fails: what cannot be read is
/// itself a failed check. `now` is the time handshakes are compared with.
pub fn diagnose(
    ctx: &Context,
    system: &dyn SystemProbe,
    only: Option<&InterfaceName>,
    now: SystemTime,
) -> Report {
    let mut report = Report::default();
    let uid = system.effective_uid();
    if !check_config_dir(ctx, uid, &mut report) {
        return report;
    }
    let names = match only {
        Some(iface) => vec![iface.clone()],
        None => match ctx.paths.installed() {
            Ok(names) if names.is_empty() => {
                let finding = Finding::fail(
                    format!(
                        "no network is installed in {}",
                        ctx.paths.config_dir.display()
                    ),
                    Some("join a network with `wiremesh install <invitation>`".to_owned()),
                );
                report.push(None, CheckKind::Installed, finding);
                return report;
            }
            Ok(names) => {
                let list: Vec<&str> = names.iter().map(InterfaceName::as_str).collect();
                let finding = Finding::pass(format!(
                    "{} network{} installed: {}",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    list.join(", ")
                ));
                report.push(None, CheckKind::Installed, finding);
                names
            }
            Err(error) => {
                let finding = evaluate::read_failure(
                    FileRole::ConfigDir,
                    &ctx.paths.config_dir,
                    None,
                    &error,
                );
                report.push(None, CheckKind::Installed, finding);
                return report;
            }
        },
    };
    for iface in &names {
        check_network(ctx, system, iface, uid, now, &mut report);
    }
    report
}

fn file_facts(path: &Path) -> io::Result<FileFacts> {
    let metadata = fs::metadata(path)?;
    Ok(FileFacts {
        mode: metadata.mode() & 0o7777,
        uid: metadata.uid(),
    })
}

/// The config directory; `false` when it is unusable (missing, unreadable, not a directory)
/// and nothing else can be checked.
fn check_config_dir(ctx: &Context, uid: u32, report: &mut Report) -> bool {
    let dir = &ctx.paths.config_dir;
    let finding = match fs::metadata(dir) {
        Err(error) => {
            let finding = evaluate::read_failure(FileRole::ConfigDir, dir, None, &error);
            report.push(None, CheckKind::ConfigDir, finding);
            return false;
        }
        Ok(metadata) if !metadata.is_dir() => {
            let finding = Finding::fail(
                format!("{} is not a directory", dir.display()),
                Some("pass the config directory with `-c DIR`".to_owned()),
            );
            report.push(None, CheckKind::ConfigDir, finding);
            return false;
        }
        Ok(metadata) => {
            let facts = FileFacts {
                mode: metadata.mode() & 0o7777,
                uid: metadata.uid(),
            };
            match evaluate::permissions(FileRole::ConfigDir, dir, facts, uid) {
                Ok(described) => Finding::pass(format!("{}: {described}", dir.display())),
                Err(finding) => finding,
            }
        }
    };
    report.push(None, CheckKind::ConfigDir, finding);
    true
}

/// Every check of one network, in the order of the module doc.
fn check_network(
    ctx: &Context,
    system: &dyn SystemProbe,
    iface: &InterfaceName,
    uid: u32,
    now: SystemTime,
    report: &mut Report,
) {
    let here = Some(iface);
    let Some(config) = check_config(ctx, iface, uid, report) else {
        return;
    };
    let cache = check_cache(ctx, iface, uid, report);

    let backend = ctx.backend.kind_of(iface);
    let up = match ctx.backend.exists(iface) {
        Ok(up) => up,
        Err(error) => {
            let finding = evaluate::backend_error(iface, "look up WireGuard interface", &error);
            report.push(here, CheckKind::Interface, finding);
            return;
        }
    };
    let found = system.implementation(backend, iface);
    if !up {
        let socket = match &found {
            Implementation::Kernel {
                userspace_socket, ..
            } => userspace_socket.as_deref(),
            _ => None,
        };
        let finding = evaluate::interface_down(iface, backend, socket);
        report.push(here, CheckKind::Interface, finding);
        // Whether the kernel can drive it at all is worth knowing before `up`; a userspace
        // socket that is missing is only the interface being down again.
        if matches!(found, Implementation::Kernel { .. }) {
            let finding = evaluate::implementation(iface, &found, false);
            report.push(here, CheckKind::Implementation, finding);
        }
        return;
    }
    let device = match ctx.backend.get(iface) {
        Ok(device) => device,
        Err(error) => {
            let finding = evaluate::backend_error(iface, "read WireGuard interface", &error);
            report.push(here, CheckKind::Interface, finding);
            let finding = evaluate::implementation(iface, &found, true);
            report.push(here, CheckKind::Implementation, finding);
            return;
        }
    };
    let addresses = system.addresses(iface);
    let addresses: Result<&[IpNet], &str> = match &addresses {
        Ok(addresses) => Ok(addresses),
        Err(error) => Err(error),
    };
    let finding = evaluate::interface(iface, &config, &device, addresses);
    report.push(here, CheckKind::Interface, finding);
    let finding = evaluate::implementation(iface, &found, true);
    report.push(here, CheckKind::Implementation, finding);

    let api = ctx.api_with_timeout(&config, ctx.timings.api_timeout.min(SERVER_TIMEOUT));
    let answer = api.capabilities();
    let finding = evaluate::server(api.server(), ctx.api_override.is_some(), &answer);
    report.push(here, CheckKind::Server, finding);

    let hosted = crate::files::load_routes(&ctx.paths, iface)
        .view
        .map(|v| v.hosted)
        .unwrap_or_default();
    for peer in handshake_peers(&config, cache.as_ref(), &device, &hosted) {
        report.push(here, CheckKind::Handshake, evaluate::handshake(&peer, now));
    }

    let facts = firewall_facts(ctx, iface, &config, &api, answer.is_ok());
    report.push(here, CheckKind::Firewall, evaluate::firewall(iface, &facts));
    let facts = routes_facts(ctx, iface, &config, &device);
    if let Some(finding) = evaluate::routes(iface, &facts) {
        report.push(here, CheckKind::Routes, finding);
    }

    // The tunnel first, then every other interface (the uplinks are where forged mesh
    // sources would arrive); an unreadable list leaves the tunnel's own value.
    let mut interfaces = vec![(iface.to_string(), system.rp_filter(iface.as_str()))];
    for name in system.interfaces().unwrap_or_default() {
        if name != iface.as_str() {
            let value = system.rp_filter(&name);
            interfaces.push((name, value));
        }
    }
    let finding = evaluate::rp_filter(system.rp_filter("all"), &interfaces);
    report.push(here, CheckKind::RpFilter, finding);
}

/// What the last sync left for routes (its record) and what the host holds of it now.
fn routes_facts(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    device: &wireguard_control::Device,
) -> evaluate::RoutesFacts {
    let record = crate::files::load_routes(&ctx.paths, iface);
    let gateway = crate::routing::gateway_of(record.view.as_ref(), &config.routes, false);
    let duties = if ctx.policy.enforce {
        gateway.nets
    } else {
        Vec::new()
    };
    let forwarding = [false, true]
        .into_iter()
        .filter(|v6| duties.iter().any(|n| n.addr().is_ipv6() == *v6))
        .map(|v6| {
            let on = ctx
                .links
                .switch(crate::interface::Switch::Forwarding { v6 })
                .map_err(|e| e.to_string());
            (v6, on)
        })
        .collect();
    let exit = record.exit.map(|exit| evaluate::ExitFacts {
        v6: exit.v6,
        marked: device.fwmark == Some(crate::interface::EXIT_MARK),
        routing: ctx
            .links
            .exit_routing_present(iface, exit.v6)
            .map_err(|e| e.to_string()),
        src_valid_mark: (!exit.v6).then(|| {
            ctx.links
                .switch(crate::interface::Switch::SrcValidMark)
                .map_err(|e| e.to_string())
        }),
    });
    evaluate::RoutesFacts {
        duties,
        forwarding,
        active: record.chosen.len(),
        refused: record.refused.iter().copied().collect(),
        exit,
    }
}

/// The ruleset to compare the table with (the server's, else the one saved at the last
/// sync) and how the table compares.
fn firewall_facts(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    api: &crate::api::ApiClient,
    answered: bool,
) -> evaluate::FirewallFacts {
    use evaluate::FirewallFacts;
    if !ctx.policy.enforce {
        return FirewallFacts::Off;
    }
    let record = crate::files::load_routes(&ctx.paths, iface);
    let exit = record.exit.is_some();
    let (ruleset, saved, view) = match answered.then(|| api.state()) {
        Some(Ok(state)) => match state.policy {
            Some(ruleset) => (ruleset, false, state.routes),
            None => return FirewallFacts::NotOffered,
        },
        _ => match crate::files::load_policy(&ctx.paths, iface) {
            Some(ruleset) => (ruleset, true, record.view),
            None => return FirewallFacts::Unknown,
        },
    };
    let gateway = crate::routing::gateway_of(view.as_ref(), &config.routes, exit);
    FirewallFacts::Compared {
        digest: ruleset.digest(),
        saved,
        state: ctx.policy.firewall.check(iface, &ruleset, &gateway),
    }
}

/// The config: exists, parses, private. `None` when it cannot be used for the other checks.
fn check_config(
    ctx: &Context,
    iface: &InterfaceName,
    uid: u32,
    report: &mut Report,
) -> Option<ClientConfig> {
    let here = Some(iface);
    let path = ctx.config_file(iface);
    // Read here rather than through `files`, whose warning about the mode would repeat
    // what the check says.
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            let finding = evaluate::read_failure(FileRole::Config, &path, here, &error);
            report.push(here, CheckKind::Config, finding);
            return None;
        }
    };
    let config = match ClientConfig::from_toml_str(&text) {
        Ok(config) => config,
        Err(error) => {
            let finding = Finding::fail(
                format!("{} does not parse: {error}", path.display()),
                Some(format!(
                    "fix it, or install the network again: `wiremesh uninstall {iface}`, then \
                     `wiremesh install <invitation>`"
                )),
            );
            report.push(here, CheckKind::Config, finding);
            return None;
        }
    };
    let finding = match file_facts(&path) {
        Ok(facts) => match evaluate::permissions(FileRole::Config, &path, facts, uid) {
            Ok(described) => Finding::pass(format!("{}: valid, {described}", path.display())),
            Err(finding) => finding,
        },
        Err(error) => evaluate::read_failure(FileRole::Config, &path, here, &error),
    };
    report.push(here, CheckKind::Config, finding);
    Some(config)
}

/// The peer cache, if there is one: readable, parses, private.
fn check_cache(
    ctx: &Context,
    iface: &InterfaceName,
    uid: u32,
    report: &mut Report,
) -> Option<PeerCache> {
    let here = Some(iface);
    let path = ctx.cache_file(iface);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let finding = Finding::pass(format!(
                "{}: none yet (the first sync writes it)",
                path.display()
            ));
            report.push(here, CheckKind::Cache, finding);
            return None;
        }
        Err(error) => {
            let finding = evaluate::read_failure(FileRole::Cache, &path, here, &error);
            report.push(here, CheckKind::Cache, finding);
            return None;
        }
    };
    let cache = match PeerCache::from_json_str(&text) {
        Ok(cache) => cache,
        Err(error) => {
            let finding = Finding::warn(
                format!(
                    "{} does not parse: {error}; syncs hold back every peer the interface \
                     does not already have until it is restored or set aside with `wiremesh \
                     reset-cache {iface}`",
                    path.display()
                ),
                None,
            );
            report.push(here, CheckKind::Cache, finding);
            return None;
        }
    };
    let finding = match file_facts(&path) {
        Ok(facts) => match evaluate::permissions(FileRole::Cache, &path, facts, uid) {
            Ok(described) => Finding::pass(format!(
                "{}: {} peers, {} CIDRs, {described}",
                path.display(),
                cache.peers.len(),
                cache.cidrs.len()
            )),
            Err(finding) => finding,
        },
        Err(error) => evaluate::read_failure(FileRole::Cache, &path, here, &error),
    };
    report.push(here, CheckKind::Cache, finding);
    Some(cache)
}

/// The device's peers as the handshake check sees them: the server first, then by label.
fn handshake_peers(
    config: &ClientConfig,
    cache: Option<&PeerCache>,
    device: &Device,
    hosted: &[wiremesh_shared::devices::HostedDevice],
) -> Vec<HandshakePeer> {
    let mut peers: Vec<HandshakePeer> = device
        .peers
        .iter()
        .map(|info| {
            let key = info.config.public_key;
            let is_server = key == config.server.public_key;
            let cached = cache.and_then(|c| c.peers.iter().find(|p| p.public_key == key));
            let ip = if is_server {
                Some(config.server.internal_endpoint.ip())
            } else {
                cached
                    .map(|p| p.ip)
                    .or_else(|| info.config.allowed_ips.first().map(IpNet::addr))
            };
            let device = hosted.iter().find(|d| d.public_key == key);
            let ip = ip.or(device.map(|d| d.ip));
            let name = match (is_server, cached) {
                (true, _) => "server".to_owned(),
                (false, Some(peer)) => peer.name.to_string(),
                (false, None) if device.is_some() => {
                    format!("device {}", device.map_or("", |d| d.name.as_str()))
                }
                (false, None) => {
                    let text = key.to_base64();
                    format!("unknown peer {}…", &text[..10])
                }
            };
            let label = match ip {
                Some(ip) => format!("{name} ({ip})"),
                None => name,
            };
            HandshakePeer {
                label,
                is_server,
                ip,
                endpoint: info.config.endpoint,
                last_handshake: info.stats.last_handshake_time,
            }
        })
        .collect();
    peers.sort_by(|a, b| (!a.is_server, &a.label).cmp(&(!b.is_server, &b.label)));
    peers
}
