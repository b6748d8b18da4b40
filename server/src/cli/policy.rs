//! `add-rule`, `delete-rule`, `list-rules`, `isolate-cidr` and `explain` on the server's
//! database. Changes are planned first (who gains and who loses access) and confirmed unless
//! `--yes`; `--plan` stops after the plan. A running `serve` picks the change up by itself.

use anyhow::{anyhow, Result};
use wiremesh_cli::args::{AddRuleOpts, DeleteRuleOpts, ExplainOpts, IsolateCidrOpts, ListOpts};
use wiremesh_cli::policy::{
    address_of, plan_then_commit, render_explanation, render_listing, rule_from_opts, rule_id,
    transport_of, Names,
};
use wiremesh_cli::{Prompter, Style};
use wiremesh_server::admin::Network;
use wiremesh_server::paths::ServerPaths;
use wiremesh_shared::wire::{Peer, PolicyChange};
use wiremesh_shared::RuleId;

use super::commands::open;

fn names_of(
    network: &Network,
) -> (
    Vec<wiremesh_shared::wire::Cidr>,
    Vec<Peer>,
    Vec<wiremesh_shared::wire::Association>,
) {
    let model = network.model();
    (
        model.cidrs().to_vec(),
        model.peers().iter().map(|p| Peer::clone(p)).collect(),
        model.associations().to_vec(),
    )
}

/// Plans, shows, asks and commits a change (see `wiremesh_cli::policy::plan_then_commit`).
fn commit(
    network: &Network,
    prompter: &Prompter,
    plan_only: bool,
    yes: bool,
    change: impl Fn(bool) -> Result<PolicyChange>,
) -> Result<()> {
    let (cidrs, peers, associations) = names_of(network);
    let names = Names {
        cidrs: &cidrs,
        peers: &peers,
        associations: &associations,
    };
    plan_then_commit(&names, prompter, plan_only, yes, change)
}

pub fn add_rule(paths: &ServerPaths, prompter: &Prompter, opts: AddRuleOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let route_gateway =
        |net| wiremesh_shared::routes::gateway_cidr(model.routes(), model.view().peers, net);
    let contents = rule_from_opts(&opts, prompter, &model.view(), &route_gateway)?;
    commit(&network, prompter, opts.plan, opts.yes, |dry| {
        Ok(network.service.add_rule(contents.clone(), dry)?)
    })
}

pub fn delete_rule(paths: &ServerPaths, prompter: &Prompter, opts: DeleteRuleOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let id = rule_id(prompter, opts.id)?;
    commit(&network, prompter, opts.plan, opts.yes, |dry| {
        Ok(network.service.delete_rule(RuleId(id), dry)?)
    })
}

pub fn isolate_cidr(paths: &ServerPaths, prompter: &Prompter, opts: IsolateCidrOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let names: Vec<String> = model.cidrs().iter().map(|c| c.name.clone()).collect();
    let name = match &opts.cidr {
        Some(name) => name.clone(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("CIDR")),
        None => prompter.select(None, "CIDR", "CIDR", &names)?,
    };
    let cidr = model
        .cidr_by_name(&name)
        .ok_or_else(|| anyhow!("no CIDR is named {name:?} (list shows them)"))?
        .id;
    commit(&network, prompter, opts.plan, opts.yes, |dry| {
        Ok(network.service.set_isolation(cidr, !opts.off, dry)?)
    })
}

pub fn list_rules(paths: &ServerPaths, opts: ListOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let listing = network.service.policy_listing();
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    let (cidrs, peers, associations) = names_of(&network);
    let names = Names {
        cidrs: &cidrs,
        peers: &peers,
        associations: &associations,
    };
    print!("{}", render_listing(&listing, &names, Style::for_stdout()));
    Ok(())
}

pub fn explain(paths: &ServerPaths, opts: ExplainOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let (cidrs, peers, associations) = names_of(&network);
    let src = address_of(&peers, &opts.source)?;
    let dst = address_of(&peers, &opts.destination.target)?;
    let explanation = network
        .service
        .explain(src, dst, transport_of(&opts.destination, src))?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
        return Ok(());
    }
    let names = Names {
        cidrs: &cidrs,
        peers: &peers,
        associations: &associations,
    };
    print!(
        "{}",
        render_explanation(&explanation, &names, Style::for_stdout())
    );
    Ok(())
}
