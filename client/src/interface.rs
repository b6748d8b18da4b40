//! Bringing a network's WireGuard interface up and down (compat §6.7).
//!
//! Up: create the interface, set the private key and listen port (random when the config
//! has none) and one peer — the server, reached at its external endpoint, allowed exactly
//! its internal address, keepalive 25 s — then the address, MTU and link state, and the
//! route to the whole network unless routing is off. Every other peer is added by the sync
//! cycle. A failure after this call created the interface deletes it again, so a failed
//! `up` leaves nothing half-configured behind.
//!
//! The link plumbing (address, MTU, route) goes through [`LinkControl`], so tests can run
//! the whole client on the in-memory fake backend, which has no kernel link.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use wireguard_control::link::{self, RouteAdded};
use wireguard_control::{Created, DeviceUpdate, InterfaceName, PeerUpdate, PrivateKey};
use wiremesh_shared::config::ClientConfig;
use wiremesh_shared::wire::PERSISTENT_KEEPALIVE_INTERVAL_SECS;

use crate::context::Context;
use crate::error::ClientError;

/// Interface plumbing besides WireGuard itself. [`NetlinkLinks`] is the real one.
pub trait LinkControl: Send + Sync + fmt::Debug {
    /// Sets `address` (the peer's IP with the network's prefix) on the link.
    fn set_address(&self, iface: &InterfaceName, address: IpNet) -> wireguard_control::Result<()>;
    /// Sets the MTU and brings the link up.
    fn set_up(&self, iface: &InterfaceName, mtu: u32) -> wireguard_control::Result<()>;
    /// Routes `network` through the link; an existing route is fine. Returns whether this
    /// call added it.
    fn add_route(&self, iface: &InterfaceName, network: IpNet) -> wireguard_control::Result<bool>;
    /// Deletes the route to `network` through the link; returns whether there was one.
    fn delete_route(
        &self,
        iface: &InterfaceName,
        network: IpNet,
    ) -> wireguard_control::Result<bool>;
    /// What the host looks like besides `iface`: its networks and default gateways.
    fn host_networks(&self, iface: &InterfaceName) -> HostNetworks;
    /// Whether a host-wide switch is on.
    fn switch(&self, which: Switch) -> std::io::Result<bool>;
    /// Turns a host-wide switch on or off.
    fn set_switch(&self, which: Switch, on: bool) -> std::io::Result<()>;
    /// Whether the exit routing of a family is in place for the link (the exit table's
    /// default route and both rules).
    fn exit_routing_present(
        &self,
        iface: &InterfaceName,
        v6: bool,
    ) -> wireguard_control::Result<bool>;
    /// Sends a liveness probe (a small UDP datagram) to `addr`; failures are ignored.
    fn probe(&self, addr: IpAddr);
    /// Sends everything of a family through the link (`on`), or stops: a default route in
    /// the exit table and the two rules in front of the main table ([`exit_rules`]). Both
    /// directions are idempotent.
    fn exit_routing(
        &self,
        iface: &InterfaceName,
        v6: bool,
        on: bool,
    ) -> wireguard_control::Result<()>;
}

/// The host-wide switches routes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Switch {
    /// `net.ipv4.ip_forward` / `net.ipv6.conf.all.forwarding`.
    Forwarding { v6: bool },
    /// `net.ipv4.conf.all.src_valid_mark`: reverse path checks use the packet's mark.
    SrcValidMark,
}

impl Switch {
    /// The sysctl's file.
    pub fn path(self) -> &'static str {
        match self {
            Switch::Forwarding { v6: false } => "/proc/sys/net/ipv4/ip_forward",
            Switch::Forwarding { v6: true } => "/proc/sys/net/ipv6/conf/all/forwarding",
            Switch::SrcValidMark => "/proc/sys/net/ipv4/conf/all/src_valid_mark",
        }
    }
}

/// The routing table an exit node's default route goes in, and the firewall mark of the
/// tunnel's own UDP (the same number, as wg-quick does): "wm".
pub const EXIT_TABLE: u32 = 0x776d;
/// See [`EXIT_TABLE`].
pub const EXIT_MARK: u32 = 0x776d;

/// The rules of an exit node's policy routing: the main table without its default routes
/// first (local, LAN and mesh routes stay in use), then everything not carrying the
/// tunnel's mark to the exit table.
pub fn exit_rules(v6: bool) -> [link::PolicyRule; 2] {
    [
        link::PolicyRule::MainWithoutDefault { v6, priority: 5290 },
        link::PolicyRule::UnmarkedToTable {
            v6,
            priority: 5291,
            mark: EXIT_MARK,
            table: EXIT_TABLE,
        },
    ]
}

/// The networks of a host's other interfaces and its default gateways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNetworks {
    pub nets: Vec<IpNet>,
    pub default_gateways: Vec<IpAddr>,
}

/// [`LinkControl`] through rtnetlink, for the kernel and userspace backends.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetlinkLinks;

impl LinkControl for NetlinkLinks {
    fn set_address(&self, iface: &InterfaceName, address: IpNet) -> wireguard_control::Result<()> {
        link::set_address(iface, address)
    }

    fn set_up(&self, iface: &InterfaceName, mtu: u32) -> wireguard_control::Result<()> {
        link::set_up(iface, mtu)
    }

    fn add_route(&self, iface: &InterfaceName, network: IpNet) -> wireguard_control::Result<bool> {
        link::add_route(iface, network).map(|added| added == RouteAdded::Added)
    }

    fn delete_route(
        &self,
        iface: &InterfaceName,
        network: IpNet,
    ) -> wireguard_control::Result<bool> {
        link::delete_route(iface, network)
    }

    fn host_networks(&self, iface: &InterfaceName) -> HostNetworks {
        let nets = match link::local_addresses() {
            Ok(addresses) => addresses
                .into_iter()
                .filter(|a| a.iface != iface.as_str() && !a.loopback && a.universe_scope)
                .filter_map(|a| IpNet::new(a.addr, a.prefix_len).ok())
                .map(|n| n.trunc())
                .collect(),
            Err(error) => {
                tracing::warn!(%iface, "failed to list this host's networks: {error}");
                Vec::new()
            }
        };
        let default_gateways = link::default_gateways().unwrap_or_else(|error| {
            tracing::warn!(%iface, "failed to list this host's default gateways: {error}");
            Vec::new()
        });
        HostNetworks {
            nets,
            default_gateways,
        }
    }

    fn switch(&self, which: Switch) -> std::io::Result<bool> {
        let text = std::fs::read_to_string(which.path())?;
        Ok(text.trim() != "0")
    }

    fn set_switch(&self, which: Switch, on: bool) -> std::io::Result<()> {
        std::fs::write(which.path(), if on { "1\n" } else { "0\n" })
    }

    fn exit_routing_present(
        &self,
        iface: &InterfaceName,
        v6: bool,
    ) -> wireguard_control::Result<bool> {
        if !link::has_default_route_in(iface, v6, EXIT_TABLE)? {
            return Ok(false);
        }
        for rule in exit_rules(v6) {
            if !link::has_rule(&rule)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn probe(&self, addr: IpAddr) {
        let local: std::net::SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        if let Ok(socket) = std::net::UdpSocket::bind(local) {
            let target = std::net::SocketAddr::new(addr, crate::routing::PROBE_PORT);
            let _ = socket.send_to(b"wiremesh liveness probe", target);
        }
    }

    fn exit_routing(
        &self,
        iface: &InterfaceName,
        v6: bool,
        on: bool,
    ) -> wireguard_control::Result<()> {
        if on {
            link::add_default_route_in(iface, v6, EXIT_TABLE)?;
            for rule in exit_rules(v6) {
                link::add_rule(&rule)?;
            }
        } else {
            // Rules first: without them nothing uses the table.
            for rule in exit_rules(v6).iter().rev() {
                link::delete_rule(rule)?;
            }
            link::delete_default_route_in(iface, v6, EXIT_TABLE)?;
        }
        Ok(())
    }
}

/// Whether the interface exists (innernet's "is up": it appears in the backend's list).
pub fn is_up(ctx: &Context, iface: &InterfaceName) -> Result<bool, ClientError> {
    ctx.backend
        .exists(iface)
        .map_err(ClientError::interface(iface, "look up"))
}

/// Brings `iface` up as `config` describes, with `private_key` instead of the config's key
/// when given (install uses the invitation's temporary key). An interface that exists
/// already is reconfigured. When the server's external endpoint does not resolve, the
/// server peer gets no endpoint (a warning is logged) and the next sync sets it.
pub fn bring_up(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    private_key: Option<&PrivateKey>,
) -> Result<(), ClientError> {
    let created = ctx
        .backend
        .create(iface)
        .map_err(ClientError::interface(iface, "create"))?;
    let configured = configure(ctx, iface, config, private_key);
    if configured.is_err() && created == Created::New {
        if let Err(error) = ctx.backend.delete(iface) {
            tracing::warn!(%iface, "failed to delete the half-configured interface: {error}");
        }
    }
    configured?;
    tracing::info!(%iface, address = %config.interface.address, backend = %ctx.backend.kind_of(iface), "interface up");
    Ok(())
}

fn configure(
    ctx: &Context,
    iface: &InterfaceName,
    config: &ClientConfig,
    private_key: Option<&PrivateKey>,
) -> Result<(), ClientError> {
    let server = &config.server;
    let mut server_peer = PeerUpdate::new(server.public_key)
        .replace_allowed_ips([host_net(server.internal_endpoint.ip())])
        .set_persistent_keepalive_interval(PERSISTENT_KEEPALIVE_INTERVAL_SECS);
    match (ctx.resolve)(&server.external_endpoint) {
        Some(addr) => server_peer = server_peer.set_endpoint(addr),
        None => tracing::warn!(
            %iface,
            endpoint = %server.external_endpoint,
            "failed to resolve the server's external endpoint; bringing the interface up without it"
        ),
    }
    let key = private_key.unwrap_or(&config.interface.private_key).clone();
    let update = DeviceUpdate::new()
        .set_private_key(key)
        .set_listen_port(config.interface.listen_port.unwrap_or(0))
        .add_peer(server_peer);
    ctx.backend
        .apply(iface, &update)
        .map_err(ClientError::interface(iface, "configure"))?;
    let address = config.interface.address;
    ctx.links
        .set_address(iface, address)
        .map_err(ClientError::interface(iface, "set the address of"))?;
    ctx.links
        .set_up(iface, ctx.network.mtu)
        .map_err(ClientError::interface(iface, "bring up the link of"))?;
    if !ctx.network.no_routing {
        ctx.links
            .add_route(iface, address.trunc())
            .map_err(ClientError::interface(
                iface,
                "add the network route through",
            ))?;
    }
    Ok(())
}

/// Deletes the interface, and its firewall table. A missing interface is
/// [`ClientError::AlreadyDown`] (its table is removed all the same).
pub fn down(ctx: &Context, iface: &InterfaceName) -> Result<(), ClientError> {
    let deleted = delete(ctx, iface);
    // Forwarding goes back before the table (its forward filter) goes; the routes went with
    // the interface.
    for error in crate::routing::tear_down(ctx, iface) {
        tracing::error!(%iface, "failed to {error}");
    }
    match crate::policy::remove(ctx, iface) {
        Ok(true) => tracing::info!(%iface, "firewall table removed"),
        Ok(false) => {}
        // Without nft there is no table of ours to remove.
        Err(wiremesh_firewall::NftError::Missing) => {}
        Err(source) => {
            return Err(ClientError::Firewall {
                iface: iface.clone(),
                source,
            })
        }
    }
    deleted
}

fn delete(ctx: &Context, iface: &InterfaceName) -> Result<(), ClientError> {
    match ctx.backend.delete(iface) {
        Ok(()) => {
            tracing::info!(%iface, "interface down");
            Ok(())
        }
        Err(wireguard_control::Error::NotFound { .. }) => Err(ClientError::AlreadyDown {
            iface: iface.clone(),
        }),
        Err(source) => Err(ClientError::Interface {
            iface: iface.clone(),
            step: "delete",
            source,
        }),
    }
}

/// `ip/32` or `ip/128`.
pub(crate) fn host_net(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}
