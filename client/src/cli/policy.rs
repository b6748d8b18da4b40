//! `add-rule`, `delete-rule`, `list-rules`, `isolate-cidr` and `explain` from an admin peer:
//! the network's names are read from the server, changes are planned first (who gains and
//! who loses access) and confirmed unless `--yes`; `--plan` stops after the plan.

use anyhow::Result;
use wiremesh::admin::Admin;
use wiremesh::Context;
use wiremesh_cli::policy::{
    address_of, plan_then_commit, render_explanation, render_listing, rule_from_opts, rule_id,
    transport_of, Names,
};
use wiremesh_cli::{Prompter, Style};
use wiremesh_shared::acl::{NetworkRoles, NetworkView};
use wiremesh_shared::wire::{Association, Cidr, Peer};
use wiremesh_shared::RuleId;

use super::args::{AddRuleOpts, DeleteRuleOpts, ExplainOpts, IsolateCidrOpts, ListOpts};

/// The network's CIDRs, peers and associations, as the server lists them.
struct Network {
    cidrs: Vec<Cidr>,
    peers: Vec<Peer>,
    associations: Vec<Association>,
}

impl Network {
    fn read(admin: &Admin) -> Result<Self> {
        Ok(Self {
            cidrs: admin.cidrs()?,
            peers: admin.peers()?,
            associations: admin.associations()?,
        })
    }

    fn names(&self) -> Names<'_> {
        Names {
            cidrs: &self.cidrs,
            peers: &self.peers,
            associations: &self.associations,
        }
    }
}

pub fn add_rule(ctx: &Context, opts: &AddRuleOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let network = Network::read(&admin)?;
    let view = NetworkView {
        cidrs: &network.cidrs,
        associations: &network.associations,
        peers: &network.peers,
        roles: NetworkRoles::CREATED_BY_NEW,
    };
    let route_gateway = |net| {
        let book = admin.route_book().ok()?;
        wiremesh_shared::routes::gateway_cidr(&book, &network.peers, net)
    };
    let rule = rule_from_opts(opts, &prompter, &view, &route_gateway)?;
    plan_then_commit(&network.names(), &prompter, opts.plan, opts.yes, |dry| {
        Ok(admin.add_rule(&rule, dry)?)
    })
}

pub fn delete_rule(ctx: &Context, opts: &DeleteRuleOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let id = rule_id(&prompter, opts.id)?;
    let network = Network::read(&admin)?;
    plan_then_commit(&network.names(), &prompter, opts.plan, opts.yes, |dry| {
        Ok(admin.delete_rule(RuleId(id), dry)?)
    })
}

pub fn isolate_cidr(ctx: &Context, opts: &IsolateCidrOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let network = Network::read(&admin)?;
    let name = match &opts.cidr {
        Some(name) => name.clone(),
        None if !prompter.is_interactive() => return Err(Prompter::missing("CIDR")),
        None => {
            let names: Vec<String> = network.cidrs.iter().map(|c| c.name.clone()).collect();
            prompter.select(None, "CIDR", "CIDR", &names)?
        }
    };
    plan_then_commit(&network.names(), &prompter, opts.plan, opts.yes, |dry| {
        Ok(admin.set_isolation(&name, !opts.off, dry)?)
    })
}

pub fn list_rules(ctx: &Context, opts: &ListOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let listing = admin.policy_listing()?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    let network = Network::read(&admin)?;
    print!(
        "{}",
        render_listing(&listing, &network.names(), Style::for_stdout())
    );
    Ok(())
}

pub fn explain(ctx: &Context, opts: &ExplainOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let network = Network::read(&admin)?;
    let src = address_of(&network.peers, &opts.source)?;
    let dst = address_of(&network.peers, &opts.destination.target)?;
    let explanation = admin.explain(src, dst, transport_of(&opts.destination, src))?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&explanation)?);
        return Ok(());
    }
    print!(
        "{}",
        render_explanation(&explanation, &network.names(), Style::for_stdout())
    );
    Ok(())
}
