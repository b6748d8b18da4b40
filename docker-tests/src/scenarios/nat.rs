//! Scenario 6: two peers, each behind its own masquerading NAT router, end up with a direct
//! tunnel between them through the candidates the server relays — no endpoint overrides.

use std::time::Duration;

use anyhow::{ensure, Context as _, Result};

use super::in_world;
use super::mesh::{Family, Mesh};
use crate::harness::{wait_until, Settings};

/// Scenario 6 (IPv4 underlay with NAT; the mesh network in either family).
pub fn nat(settings: &Settings, family: Family) -> Result<()> {
    in_world(settings, "nat", |world| {
        let mesh = Mesh::start(world, family)?;
        let mut peers = Vec::new();
        for name in ["left", "right"] {
            let invitation = mesh.invite(name, "humans", false, "30d")?;
            let host = world.natted_host(name)?;
            let iface = world.iface(&name[..1]);
            peers.push(mesh.install(&host, &invitation, &iface)?);
        }
        let (left, right) = (&peers[0], &peers[1]);
        wait_until(
            "the NATed peers see each other",
            Duration::from_secs(20),
            || Ok(left.sees(right)? && right.sees(left)?),
        )?;

        // A direct handshake between the two peers: the server has no route for their
        // tunnel addresses (each peer's server entry allows only the server's own address),
        // so a handshake on this entry can only have come from the other peer.
        let right_key = right.public_key()?;
        wait_until(
            "left completes a handshake with right",
            Duration::from_secs(90),
            || {
                let dump = left.host.wg_dump(&left.iface)?;
                Ok(dump.lines().skip(1).any(|line| {
                    let fields: Vec<&str> = line.split('\t').collect();
                    fields.first() == Some(&right_key.as_str())
                        && fields.get(4).is_some_and(|t| *t != "0")
                }))
            },
        )?;
        left.host.ping_within(right.ip, Duration::from_secs(20))?;
        right.host.ping_within(left.ip, Duration::from_secs(20))?;

        // The endpoint left uses for right is right's router (its public, translated address),
        // not the server's.
        let dump = left.host.wg_dump(&left.iface)?;
        let line = dump
            .lines()
            .skip(1)
            .find(|l| l.starts_with(right_key.as_str()))
            .context("right is not on left")?;
        let endpoint = line.split('\t').nth(2).unwrap_or_default();
        let server = mesh.server.address.context("server address")?.to_string();
        ensure!(
            endpoint.starts_with("192.0.2.") && !endpoint.starts_with(&format!("{server}:")),
            "left reaches right through {endpoint}, not right's NAT router"
        );
        Ok(())
    })
}
