//! `advertise-routes` (this host's own offer, or an admin's for another peer with
//! `--peer`), and for admins `approve-routes`, `auto-approve-routes` and `list-routes`.

use anyhow::{anyhow, Result};
use wiremesh::admin::Admin;
use wiremesh::Context;
use wiremesh_cli::routes::{render_book, render_offer};
use wiremesh_cli::{Prompter, Style};

use super::args::{AdvertiseRoutesOpts, ApproveRoutesOpts, AutoApproveRoutesOpts, ListOpts};

pub fn advertise_routes(ctx: &Context, opts: &AdvertiseRoutesOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let who = opts
        .peer
        .clone()
        .unwrap_or_else(|| format!("this host ({})", admin.config().interface.address.addr()));
    if !opts.withdraw && opts.routes.is_empty() && !opts.exit_node {
        return Err(anyhow!(
            "say what to offer: --routes NETS, --exit-node, or --withdraw"
        ));
    }
    let (routes, exit) = if opts.withdraw {
        (&[][..], false)
    } else {
        (&opts.routes[..], opts.exit_node)
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
