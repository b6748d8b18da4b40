//! The subcommands that change a network: peers, CIDRs and associations. Each opens the
//! network, resolves missing values (flags, else prompts), confirms unless `--yes`, and calls
//! one [`wiremesh_server::admin`] function; a running `serve` picks the change up by itself.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use ipnet::IpNet;
use wiremesh_server::admin::{self, invite, AddCidrOptions, AddPeerOptions, Outcome};
use wiremesh_server::paths::ServerPaths;
use wiremesh_shared::cidr::{check_cidr_name, CidrTree};
use wiremesh_shared::wire::Cidr;
use wiremesh_shared::Timestring;

use super::commands::{cancelled, default_invitation_path, open, require_choices};
use super::{
    AddCidrOpts, AddPeerOpts, Allowance, AssociationOpts, DeleteCidrOpts, PeerOpts, RenameCidrOpts,
    RenamePeerOpts, SetEndpointOpts, SettingsOpts,
};
use wiremesh_cli::Prompter;

/// How long an invitation is valid when `--invite-expires` is not given.
const DEFAULT_INVITE_EXPIRES: &str = "14d";

fn parse_cidr_name(text: &str) -> Result<String> {
    let name = text.trim();
    check_cidr_name(name)?;
    Ok(name.to_owned())
}

fn parse_net(text: &str) -> Result<IpNet> {
    text.trim()
        .parse()
        .with_context(|| format!("invalid CIDR {text:?}: write it like 10.42.1.0/24"))
}

fn parse_ip(text: &str) -> Result<IpAddr> {
    text.trim()
        .parse()
        .with_context(|| format!("invalid IP address {text:?}"))
}

fn parse_timestring(text: &str) -> Result<Timestring> {
    Ok(text.trim().parse::<Timestring>()?)
}

/// `given`, else one of `names` chosen from a menu.
fn choose(
    prompter: &Prompter,
    given: Option<String>,
    flag: &str,
    prompt: &str,
    names: Vec<String>,
    hint: &str,
) -> Result<String> {
    if let Some(name) = given {
        return Ok(name);
    }
    if prompter.is_interactive() {
        require_choices(&names, prompt, hint)?;
    }
    let index = prompter.select_index(None, flag, prompt, &names)?;
    names
        .into_iter()
        .nth(index)
        .context("the chosen entry is not in the list")
}

fn cidr_label(cidr: &Cidr) -> String {
    format!("{} ({})", cidr.name, cidr.cidr)
}

/// The leaf CIDR a new peer or device joins (`--cidr`, else chosen from a menu of `what`).
pub(super) fn ask_cidr(
    network: &admin::Network,
    prompter: &Prompter,
    given: Option<String>,
    what: &str,
) -> Result<String> {
    if let Some(cidr) = given {
        return Ok(cidr);
    }
    let cidrs = admin::peer_cidrs(&network.model());
    let labels: Vec<String> = cidrs.iter().map(cidr_label).collect();
    if prompter.is_interactive() {
        require_choices(&labels, what, "add one with `add-cidr` first")?;
    }
    let index = prompter.select_index(None, "--cidr", "CIDR", &labels)?;
    cidrs
        .get(index)
        .map(|c| c.name.clone())
        .context("the chosen CIDR is not in the list")
}

/// The address of a new peer or device in `cidr`: `--ip`, none with `--auto-ip` (the first
/// free one), else asked (offering the first free one).
pub(super) fn ask_ip(
    network: &admin::Network,
    prompter: &Prompter,
    cidr: &str,
    (ip, auto_ip): (Option<IpAddr>, bool),
) -> Result<Option<IpAddr>> {
    Ok(match (ip, auto_ip) {
        (Some(ip), _) => Some(ip),
        (None, true) => None,
        (None, false) if prompter.is_interactive() => {
            let default = invite::default_peer_ip(network, cidr)?;
            Some(prompter.ask(
                None,
                "--ip",
                "IP address",
                Some(default.to_string()),
                parse_ip,
            )?)
        }
        (None, false) => Some(prompter.ask(None, "--ip or --auto-ip", "", None, parse_ip)?),
    })
}

pub fn add_peer(paths: &ServerPaths, prompter: &Prompter, opts: AddPeerOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let cidr = ask_cidr(&network, prompter, opts.cidr, "CIDR for peers")?;
    let name = prompter.input(opts.name, "--name", "Peer name", None)?;
    let ip = ask_ip(&network, prompter, &cidr, (opts.ip, opts.auto_ip))?;
    let admin = prompter.yes_no(opts.admin, "--admin", "Make the peer an admin?", false)?;
    let invite_expires = match (opts.invite_expires, prompter.is_interactive()) {
        (Some(expires), _) => expires,
        (None, true) => prompter.ask(
            None,
            "--invite-expires",
            "Invitation expires after",
            Some(DEFAULT_INVITE_EXPIRES.to_owned()),
            parse_timestring,
        )?,
        (None, false) => parse_timestring(DEFAULT_INVITE_EXPIRES)?,
    };
    let save_path = prompter.ask(
        opts.save_config
            .as_deref()
            .map(|path| path.to_string_lossy().into_owned())
            .as_deref(),
        "--save-config",
        "Save the invitation to",
        Some(default_invitation_path(name.as_str()).display().to_string()),
        |text| Ok(PathBuf::from(text.trim())),
    )?;
    let ip_text = ip.map_or_else(|| "the first free address".to_owned(), |ip| ip.to_string());
    let role = if admin { "admin " } else { "" };
    let question = format!("Create {role}peer {name} with {ip_text} in CIDR {cidr}?");
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    let added = admin::add_peer(
        &network,
        &AddPeerOptions {
            name,
            cidr,
            ip,
            admin,
            invite_expires,
            save_path,
            ephemeral: opts.ephemeral,
        },
    )?;
    let path = added.invitation_path.display();
    println!(
        "created peer {} ({}); its invitation, valid for {invite_expires}, is in {path}",
        added.peer.name, added.peer.ip
    );
    if let Some(window) = &opts.ephemeral {
        println!("it is ephemeral: the server deletes it once it has been offline for {window}");
    }
    println!("on the new host run `wiremesh install {path}` (innernet: `innernet install {path}`)");
    Ok(())
}

pub fn rename_peer(paths: &ServerPaths, prompter: &Prompter, opts: RenamePeerOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let names = network
        .model()
        .peers()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    let name = choose(
        prompter,
        opts.name,
        "--name",
        "Peer",
        names,
        "add one with `add-peer`",
    )?;
    let new_name = prompter.input(opts.new_name, "--new-name", "New name", None)?;
    if !prompter.confirm(opts.yes, &format!("Rename peer {name} to {new_name}?"))? {
        return Err(cancelled());
    }
    admin::rename_peer(&network, &name, &new_name)?;
    println!("renamed peer {name} to {new_name}");
    Ok(())
}

pub fn set_disabled(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: PeerOpts,
    disabled: bool,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let server = model.roles().server_peer;
    let names = model
        .peers()
        .iter()
        .filter(|p| p.is_disabled != disabled && p.id != server)
        .map(|p| p.name.to_string())
        .collect();
    let (verb, done) = if disabled {
        ("Disable", "disabled")
    } else {
        ("Enable", "enabled")
    };
    let hint = format!(
        "no peer is {}",
        if disabled { "enabled" } else { "disabled" }
    );
    let name = choose(prompter, opts.name, "--name", "Peer", names, &hint)?;
    if !prompter.confirm(opts.yes, &format!("{verb} peer {name}?"))? {
        return Err(cancelled());
    }
    match admin::set_peer_disabled(&network, &name, disabled)? {
        Outcome::Changed => println!("peer {name} {done}"),
        Outcome::Unchanged => println!("peer {name} was already {done}; nothing changed"),
    }
    Ok(())
}

pub fn delete_peer(paths: &ServerPaths, prompter: &Prompter, opts: PeerOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let server = model.roles().server_peer;
    let names = model
        .peers()
        .iter()
        .filter(|p| p.id != server)
        .map(|p| p.name.to_string())
        .collect();
    let name = choose(
        prompter,
        opts.name,
        "--name",
        "Peer",
        names,
        "no peer to delete",
    )?;
    let peer = network.peer_by_name(&name)?;
    let question = if peer.is_redeemed {
        format!(
            "Delete peer {name} for good? Its address {} is never given to another peer.",
            peer.ip
        )
    } else {
        format!(
            "Delete the unredeemed invitation {name}? Its address {} becomes free.",
            peer.ip
        )
    };
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    let deleted = admin::delete_peer(&network, &name)?;
    if deleted.is_redeemed {
        println!(
            "deleted peer {name}; its address {} stays reserved (addresses are never reused)",
            deleted.ip
        );
    } else {
        println!(
            "deleted the invitation {name}; its address {} is free",
            deleted.ip
        );
    }
    Ok(())
}

pub fn set_endpoint(paths: &ServerPaths, prompter: &Prompter, opts: SetEndpointOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let endpoint = opts.endpoint;
    let question = format!(
        "Move the public endpoint of {} to {endpoint}? Keep the old one working until every \
         host has followed",
        opts.interface
    );
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    match admin::set_server_endpoint(&network, endpoint.clone())? {
        Some(old) if old == endpoint => {
            println!("the public endpoint is {endpoint} already; nothing changed")
        }
        old => {
            let old = old.map_or_else(|| "none".to_owned(), |e| e.to_string());
            println!("public endpoint moved from {old} to {endpoint}");
            println!(
                "wiremesh clients that reach the server record it in their configs and follow at \
                 once; keep {old} working until they have (`wiremesh-server list` shows who \
                 synced); hosts offline until then, and innernet clients, need the old endpoint \
                 or a DNS name that follows the move"
            );
        }
    }
    Ok(())
}

pub fn settings(paths: &ServerPaths, opts: SettingsOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let mut settings = network.model().settings();
    if let Some(allowance) = opts.self_deletion {
        settings.self_deletion = allowance == Allowance::Allow;
        admin::set_settings(&network, settings)?;
    }
    println!(
        "self-deletion: {}",
        if settings.self_deletion {
            "allowed (a peer may delete itself: `wiremesh uninstall` deregisters its host)"
        } else {
            "forbidden (only admins delete peers)"
        }
    );
    Ok(())
}

pub fn add_cidr(paths: &ServerPaths, prompter: &Prompter, opts: AddCidrOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let name = prompter.ask(
        opts.name.as_deref(),
        "--name",
        "CIDR name",
        None,
        parse_cidr_name,
    )?;
    let cidr = match opts.cidr {
        Some(cidr) => cidr,
        None => prompter.ask(None, "--cidr", "CIDR", None, parse_net)?,
    };
    let parent = match opts.parent {
        Some(parent) => parent,
        None => {
            // The parent must be the closest CIDR containing the new one, so it is known.
            let closest = CidrTree::new(model.cidrs())
                .closest_container(&cidr)
                .cloned();
            match closest {
                Some(closest) => closest.name.clone(),
                None => {
                    let names = admin::parent_cidrs(&model)
                        .iter()
                        .map(|c| c.name.clone())
                        .collect();
                    choose(prompter, None, "--parent", "Parent CIDR", names, "")?
                }
            }
        }
    };
    if !prompter.confirm(
        opts.yes,
        &format!("Create CIDR {name} ({cidr}) under {parent}?"),
    )? {
        return Err(cancelled());
    }
    let created = admin::add_cidr(&network, &AddCidrOptions { name, cidr, parent })?;
    println!("created CIDR {} ({})", created.name, created.cidr);
    Ok(())
}

pub fn rename_cidr(paths: &ServerPaths, prompter: &Prompter, opts: RenameCidrOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let names = network
        .model()
        .cidrs()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let name = choose(prompter, opts.name, "--name", "CIDR", names, "")?;
    let new_name = prompter.ask(
        opts.new_name.as_deref(),
        "--new-name",
        "New name",
        None,
        parse_cidr_name,
    )?;
    if !prompter.confirm(opts.yes, &format!("Rename CIDR {name} to {new_name}?"))? {
        return Err(cancelled());
    }
    admin::rename_cidr(&network, &name, &new_name)?;
    println!("renamed CIDR {name} to {new_name}");
    Ok(())
}

pub fn delete_cidr(paths: &ServerPaths, prompter: &Prompter, opts: DeleteCidrOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let infra = model.roles().infra_cidr;
    let names = model
        .cidrs()
        .iter()
        .filter(|c| c.parent.is_some() && c.id != infra)
        .map(|c| c.name.clone())
        .collect();
    let name = choose(
        prompter,
        opts.name,
        "--name",
        "CIDR",
        names,
        "there are no CIDRs to delete",
    )?;
    if !prompter.confirm(opts.yes, &format!("Delete CIDR {name}?"))? {
        return Err(cancelled());
    }
    admin::delete_cidr(&network, &name)?;
    println!("deleted CIDR {name}");
    Ok(())
}

/// Both CIDR names of an association command.
fn association_names(
    prompter: &Prompter,
    network: &admin::Network,
    opts: &AssociationOpts,
) -> Result<(String, String)> {
    let names: Vec<String> = network
        .model()
        .cidrs()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let first = choose(
        prompter,
        opts.cidr1.clone(),
        "CIDR1",
        "First CIDR",
        names.clone(),
        "",
    )?;
    let second = choose(
        prompter,
        opts.cidr2.clone(),
        "CIDR2",
        "Second CIDR",
        names,
        "",
    )?;
    Ok((first, second))
}

pub fn add_association(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: AssociationOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let (first, second) = association_names(prompter, &network, &opts)?;
    // As innernet: no question when both names were given.
    let named = opts.cidr1.is_some() && opts.cidr2.is_some();
    let question = format!("Let the peers of {first} and {second} see each other?");
    if !prompter.confirm(opts.yes || named, &question)? {
        return Err(cancelled());
    }
    let association = admin::add_association(&network, &first, &second)?;
    println!("{}: {first} <=> {second}", association.id);
    Ok(())
}

pub fn delete_association(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: AssociationOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let (first, second) = association_names(prompter, &network, &opts)?;
    let question = format!("Delete the association of {first} and {second}?");
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    admin::delete_association(&network, &first, &second)?;
    println!("deleted the association of {first} and {second}");
    Ok(())
}
