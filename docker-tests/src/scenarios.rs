//! The scenarios of the suite, each run on a fresh world and, where it makes sense, for an
//! IPv4 and an IPv6 mesh network.

pub mod basic;
pub mod chaos;
pub mod devices;
pub mod docker;
pub mod doctor;
pub mod flood;
pub mod interop;
pub mod lifecycle;
pub mod mesh;
pub mod nat;
pub mod policy;
pub mod push;
pub mod resilience;
pub mod routes;

use anyhow::{anyhow, Result};

use crate::harness::{Settings, World};

/// One named scenario.
pub struct Scenario {
    pub name: &'static str,
    pub run: fn(&Settings) -> Result<()>,
}

/// Whether a scenario must run with no other world beside it (`--jobs`): those whose point
/// is timing under stress, where a neighbour's load could decide the outcome.
pub fn runs_alone(name: &str) -> bool {
    ["12-", "13-", "14-", "15-", "17-failover"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Runs `body` on a new world; on failure the error carries the world's logs and
/// WireGuard state, and the world is cleaned up either way (unless `--keep`).
pub fn in_world(
    settings: &Settings,
    name: &str,
    body: impl FnOnce(&mut World) -> Result<()>,
) -> Result<()> {
    let mut world = World::new(settings, name)?;
    match body(&mut world) {
        Ok(()) => Ok(()),
        Err(error) => {
            let report = world.report();
            if settings.keep {
                world.keep();
            }
            Err(anyhow!("{error:#}\n{report}"))
        }
    }
}

macro_rules! both_families {
    ($($name:literal => $f:path),* $(,)?) => {
        vec![$(
            Scenario { name: concat!($name, "-v4"), run: |s| $f(s, mesh::Family::V4) },
            Scenario { name: concat!($name, "-v6"), run: |s| $f(s, mesh::Family::V6) },
        )*]
    };
}

/// Every scenario, in the order they run.
pub fn all() -> Vec<Scenario> {
    let mut out = both_families![
        "1-bootstrap" => basic::bootstrap,
        "2-admin-from-peer" => basic::admin_from_peer,
        "3-acl" => basic::acl,
        "4-disable-enable" => basic::disable_enable,
    ];
    out.push(Scenario {
        name: "5-invitations-v4",
        run: |s| basic::invitations(s, mesh::Family::V4),
    });
    out.extend(both_families![
        "6-nat" => nat::nat,
        "7-server-outage" => resilience::server_outage,
        "8-restart-durability" => resilience::restart_durability,
        "9-innernet-client-on-wiremesh-server" => interop::innernet_client_on_wiremesh_server,
        "9-wiremesh-client-on-innernet-server" => interop::wiremesh_client_on_innernet_server,
        "10-push" => push::pushed_changes,
    ]);
    out.push(Scenario {
        name: "11-doctor-v4",
        run: |s| doctor::doctor(s, mesh::Family::V4),
    });
    out.push(Scenario {
        name: "12-flood-v4",
        run: |s| flood::flood(s, mesh::Family::V4),
    });
    out.extend(both_families![
        "13-lossy-underlay" => chaos::lossy_underlay,
    ]);
    out.push(Scenario {
        name: "14-kill-storm-v4",
        run: |s| chaos::kill_storm_scenario(s, mesh::Family::V4),
    });
    out.push(Scenario {
        name: "15-clock-jumps-v4",
        run: |s| chaos::clock_jumps(s, mesh::Family::V4),
    });
    out.extend(both_families![
        "16-policy" => policy::policy,
        "16-docker" => docker::docker_host,
        "17-gateway" => routes::gateway_lan,
        "17-exit-node" => routes::exit_node,
        "17-failover" => routes::failover,
        "17-docker-networks" => docker::docker_networks,
        "18-device" => devices::device_through_server,
    ]);
    out.push(Scenario {
        name: "18-device-hub-v4",
        run: |s| devices::device_through_gateway(s, mesh::Family::V4),
    });
    out.extend(both_families![
        "19-lifecycle" => lifecycle::delete_and_deregister,
        "19-server-move" => lifecycle::server_move,
        "19-automation" => lifecycle::automation,
    ]);
    out
}
