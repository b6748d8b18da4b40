//! `advertise-routes`, `approve-routes`, `auto-approve-routes` and `list-routes` on the
//! server's database. A running `serve` picks the change up by itself and pushes it to the
//! clients that see the gateway.

use anyhow::{anyhow, Result};
use wiremesh_cli::args::{AdvertiseRoutesOpts, ApproveRoutesOpts, AutoApproveRoutesOpts, ListOpts};
use wiremesh_cli::routes::{render_book, render_offer};
use wiremesh_cli::{Prompter, Style};
use wiremesh_server::admin::Network;
use wiremesh_server::paths::ServerPaths;
use wiremesh_shared::wire::Peer;

use super::commands::open;

/// The peer named by `--peer` (asked for when interactive).
fn gateway(network: &Network, prompter: &Prompter, name: Option<&str>) -> Result<Peer> {
    let model = network.model();
    let name = match name {
        Some(name) => name.to_owned(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("--peer")),
        None => {
            let names: Vec<String> = model
                .peers()
                .iter()
                .filter(|p| p.id != model.roles().server_peer)
                .map(|p| p.name.to_string())
                .collect();
            prompter.select(None, "--peer", "gateway peer", &names)?
        }
    };
    model
        .peer_by_name(&name)
        .cloned()
        .ok_or_else(|| anyhow!("no peer is named {name:?} (list shows them)"))
}

pub fn advertise_routes(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: AdvertiseRoutesOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let peer = gateway(&network, prompter, opts.peer.as_deref())?;
    let routes = if opts.withdraw {
        network.service.withdraw_routes(peer.id)?
    } else if opts.routes.is_empty() && !opts.exit_node {
        return Err(anyhow!(
            "say what {} offers: --routes NETS, --exit-node, or --withdraw",
            peer.name
        ));
    } else {
        network
            .service
            .offer_routes(peer.id, &opts.routes, opts.exit_node)?
    };
    print!(
        "{}",
        render_offer(peer.name.as_str(), &routes, Style::for_stdout())
    );
    Ok(())
}

pub fn approve_routes(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: ApproveRoutesOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let peer = gateway(&network, prompter, opts.peer.as_deref())?;
    let routes = network
        .service
        .approve_routes(peer.id, &opts.routes, !opts.revoke)?;
    print!(
        "{}",
        render_offer(peer.name.as_str(), &routes, Style::for_stdout())
    );
    Ok(())
}

pub fn auto_approve_routes(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: AutoApproveRoutesOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let name = match &opts.cidr {
        Some(name) => name.clone(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("CIDR")),
        None => {
            let names: Vec<String> = model.cidrs().iter().map(|c| c.name.clone()).collect();
            prompter.select(None, "CIDR", "CIDR", &names)?
        }
    };
    let cidr = model
        .cidr_by_name(&name)
        .ok_or_else(|| anyhow!("no CIDR is named {name:?} (list shows them)"))?
        .id;
    if !opts.off && opts.routes.is_empty() && !opts.exit_node {
        return Err(anyhow!(
            "say what peers of {name} may offer: --routes PREFIXES, --exit-node, or --off"
        ));
    }
    network
        .service
        .set_auto_approval(cidr, &opts.routes, opts.exit_node)?;
    if opts.off {
        println!("{name}: offers wait for an admin's approval");
    } else {
        let mut what: Vec<String> = opts.routes.iter().map(|p| p.to_string()).collect();
        if opts.exit_node {
            what.push("exit nodes".to_owned());
        }
        println!(
            "{name}: offers are approved at once for {}",
            what.join(", ")
        );
    }
    Ok(())
}

pub fn list_routes(paths: &ServerPaths, opts: ListOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let book = network.service.route_book();
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&*book)?);
        return Ok(());
    }
    let model = network.model();
    let peers: Vec<Peer> = model.peers().iter().map(|p| Peer::clone(p)).collect();
    print!(
        "{}",
        render_book(&book, &peers, model.cidrs(), Style::for_stdout())
    );
    Ok(())
}
