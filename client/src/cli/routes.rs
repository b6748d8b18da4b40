//! `advertise-routes` (this host's own offer, or an admin's for another peer with
//! `--peer`), this host's own route settings (`accept-routes`, `set-exit-node`, source NAT),
//! and for admins `approve-routes`, `auto-approve-routes` and `list-routes`.

use anyhow::{anyhow, Result};
use wireguard_control::InterfaceName;
use wiremesh::admin::Admin;
use wiremesh::sync::{sync, SyncMode};
use wiremesh::{files, interface, Context};
use wiremesh_cli::routes::{render_book, render_offer};
use wiremesh_cli::{Prompter, Style};
use wiremesh_shared::config::RouteSettings;

use super::args::{
    AcceptRoutesOpts, ApproveRoutesOpts, AutoApproveRoutesOpts, ClientAdvertiseRoutesOpts,
    ListOpts, SetExitNodeOpts,
};

pub fn advertise_routes(ctx: &Context, client_opts: &ClientAdvertiseRoutesOpts) -> Result<()> {
    let opts = &client_opts.offer;
    let admin = Admin::open(ctx, &opts.interface)?;
    if client_opts.no_snat || client_opts.snat {
        let snat = client_opts.snat;
        change_settings(ctx, &opts.interface, |s| s.snat = snat)?;
        println!(
            "{}: {}",
            opts.interface,
            if snat {
                "mesh traffic toward this host's routes is masqueraded"
            } else {
                "mesh traffic toward this host's routes keeps its mesh source address (the routed networks need a route back to the mesh)"
            }
        );
        if opts.routes.is_empty()
            && !opts.exit_node
            && !opts.withdraw
            && !client_opts.docker_networks
        {
            // Only the setting: the offer stays as it is.
            return apply_now(ctx, &opts.interface);
        }
    }
    let who = opts
        .peer
        .clone()
        .unwrap_or_else(|| format!("this host ({})", admin.config().interface.address.addr()));
    let mut routes_wanted = opts.routes.clone();
    if client_opts.docker_networks {
        let v6 = admin.config().interface.address.addr().is_ipv6();
        let found = wiremesh::docker::network_subnets().map_err(|e| anyhow!("{e}"))?;
        let (ours, other): (Vec<_>, Vec<_>) =
            found.into_iter().partition(|n| n.addr().is_ipv6() == v6);
        if !other.is_empty() {
            let list: Vec<String> = other.iter().map(ToString::to_string).collect();
            println!(
                "leaving out Docker networks of the other address family than the mesh's: {}",
                list.join(", ")
            );
        }
        if ours.is_empty() {
            return Err(anyhow!(
                "--docker-networks: Docker has no network of the mesh's address family here"
            ));
        }
        for net in ours {
            if !routes_wanted.contains(&net) {
                routes_wanted.push(net);
            }
        }
    }
    if !opts.withdraw && routes_wanted.is_empty() && !opts.exit_node {
        return Err(anyhow!(
            "say what to offer: --routes NETS, --exit-node, or --withdraw"
        ));
    }
    let (routes, exit) = if opts.withdraw {
        (&[][..], false)
    } else {
        (&routes_wanted[..], opts.exit_node)
    };
    let offered = admin.offer_routes(opts.peer.as_deref(), routes, exit)?;
    print!("{}", render_offer(&who, &offered, Style::for_stdout()));
    if offered.iter().any(|r| !r.approved) {
        println!("an admin approves them with `wiremesh-server approve-routes` or `wiremesh approve-routes`");
    }
    Ok(())
}

pub fn approve_routes(ctx: &Context, opts: &ApproveRoutesOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = match &opts.peer {
        Some(name) => name.clone(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("--peer")),
        None => {
            let book = admin.route_book()?;
            let peers = admin.peers()?;
            let names: Vec<String> = peers
                .iter()
                .filter(|p| book.is_gateway(p.id))
                .map(|p| p.name.to_string())
                .collect();
            if names.is_empty() {
                return Err(anyhow!("no peer offers routes"));
            }
            prompter.select(None, "--peer", "gateway peer", &names)?
        }
    };
    let routes = admin.approve_routes(&name, &opts.routes, !opts.revoke)?;
    print!("{}", render_offer(&name, &routes, Style::for_stdout()));
    Ok(())
}

pub fn auto_approve_routes(
    ctx: &Context,
    opts: &AutoApproveRoutesOpts,
    prompter: Prompter,
) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = match &opts.cidr {
        Some(name) => name.clone(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("CIDR")),
        None => {
            let names: Vec<String> = admin.cidrs()?.iter().map(|c| c.name.clone()).collect();
            prompter.select(None, "CIDR", "CIDR", &names)?
        }
    };
    if !opts.off && opts.routes.is_empty() && !opts.exit_node {
        return Err(anyhow!(
            "say what peers of {name} may offer: --routes PREFIXES, --exit-node, or --off"
        ));
    }
    admin.set_auto_approval(&name, &opts.routes, opts.exit_node)?;
    if opts.off {
        println!("{name}: offers wait for an admin's approval");
    } else {
        println!("{name}: offers inside the given prefixes are approved at once");
    }
    Ok(())
}

pub fn list_routes(ctx: &Context, opts: &ListOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let book = admin.route_book()?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&book)?);
        return Ok(());
    }
    let peers = admin.peers()?;
    let cidrs = admin.cidrs()?;
    print!(
        "{}",
        render_book(&book, &peers, &cidrs, Style::for_stdout())
    );
    Ok(())
}

pub fn accept_routes(ctx: &Context, opts: &AcceptRoutesOpts) -> Result<()> {
    let accept = !opts.off;
    change_settings(ctx, &opts.interface, |s| s.accept = accept)?;
    if accept {
        println!("{}: using the subnet routes gateways offer", opts.interface);
    } else {
        println!("{}: not using subnet routes", opts.interface);
    }
    apply_now(ctx, &opts.interface)
}

pub fn set_exit_node(ctx: &Context, opts: &SetExitNodeOpts) -> Result<()> {
    let iface = &opts.interface;
    let exit = match &opts.gateway {
        None => None,
        Some(name) => Some(find_peer(ctx, iface, name)?),
    };
    change_settings(ctx, iface, |s| {
        s.exit_node = exit.as_ref().map(|(ip, _)| *ip)
    })?;
    match &exit {
        Some((ip, name)) => println!("{iface}: exit node {name} ({ip})"),
        None => println!("{iface}: no exit node"),
    }
    apply_now(ctx, iface)
}

/// The peer `name` (a name or a mesh address) among those this host sees: the server's
/// current view, else (unreachable) the peer cache. Returns its address and name.
pub(super) fn find_peer(
    ctx: &Context,
    iface: &InterfaceName,
    name: &str,
) -> Result<(std::net::IpAddr, String)> {
    let config = files::load_config(&ctx.paths, iface)?;
    let peers = match ctx.api(&config).state() {
        Ok(state) => state.peers,
        Err(_) => {
            files::load_cache(&ctx.paths, iface)?
                .unwrap_or_default()
                .peers
        }
    };
    let peer = peers
        .iter()
        .filter(|p| !p.is_disabled)
        .find(|p| p.name.as_str() == name || p.ip.to_string() == *name)
        .ok_or_else(|| anyhow!("{iface} has no peer named {name:?} that this host sees"))?;
    Ok((peer.ip, peer.name.to_string()))
}

/// Changes the `[routes]` table of a network's config.
pub(super) fn change_settings(
    ctx: &Context,
    iface: &InterfaceName,
    change: impl FnOnce(&mut RouteSettings),
) -> Result<()> {
    let mut config = files::load_config(&ctx.paths, iface)?;
    change(&mut config.routes);
    files::save_config(&ctx.paths, iface, &config)?;
    Ok(())
}

/// Syncs once when the interface is up, so a changed setting applies at once (a daemon
/// would otherwise apply it at its next sync).
fn apply_now(ctx: &Context, iface: &InterfaceName) -> Result<()> {
    if !interface::is_up(ctx, iface)? {
        println!("{iface} is down: the setting applies when it comes up");
        return Ok(());
    }
    let report = sync(ctx, iface, SyncMode::Fetch)?;
    println!("{}", report.summary());
    Ok(())
}
