//! The admin subcommands: prompts for what the flags left out (choices fetched from the
//! server only when a question is really asked), a confirmation unless `--yes`, then one call
//! into `wiremesh::admin` and a line saying what happened.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use wiremesh::admin::{self, AddCidrOptions, AddPeerOptions, Admin, PeerUpdateOutcome};
use wiremesh::Context;
use wiremesh_shared::{listing, Hostname, Timestring};

use super::args::{
    AddCidrOpts, AddPeerOpts, AssociationOpts, DeleteCidrOpts, ListOpts, PeerOpts, RenameCidrOpts,
    RenamePeerOpts,
};
use wiremesh_cli::{cancelled, Prompter};

/// The invitation lifetime when none is given.
const DEFAULT_INVITE_EXPIRES: &str = "14d";

/// `given`, else one of the items `list` returns, picked from a list. Without a terminal the
/// list is never fetched: the flag is missing.
fn choose(
    prompter: Prompter,
    given: Option<&String>,
    flag: &str,
    prompt: &str,
    list: impl FnOnce() -> Result<Vec<String>>,
) -> Result<String> {
    if let Some(value) = given {
        return Ok(value.clone());
    }
    if !prompter.is_interactive() {
        return Err(Prompter::missing(flag));
    }
    prompter.select(None, flag, prompt, &list()?)
}

fn cidr_names(admin: &Admin) -> Result<Vec<String>> {
    Ok(admin
        .cidrs()?
        .into_iter()
        .map(|cidr| cidr.contents.name)
        .collect())
}

pub fn add_peer(ctx: &Context, opts: &AddPeerOpts, prompter: Prompter) -> Result<()> {
    let name =
        prompter.input::<Hostname>(opts.name.clone(), "--name", "Name of the new peer", None)?;
    let admin = Admin::open(ctx, &opts.interface)?;
    let cidr = choose(
        prompter,
        opts.cidr.as_ref(),
        "--cidr",
        "CIDR of the new peer",
        || {
            let cidrs = admin.cidrs()?;
            let peers = admin.peers()?;
            Ok(admin
                .invitable_cidrs(&cidrs, &peers)
                .into_iter()
                .map(|c| c.contents.name)
                .collect())
        },
    )?;
    let ip = match (opts.ip, opts.auto_ip) {
        (Some(ip), _) => Some(ip),
        (None, true) => None,
        (None, false) if !prompter.is_interactive() => {
            return Err(Prompter::missing("--ip (or --auto-ip)"))
        }
        (None, false) => {
            let default = admin.default_peer_ip(&cidr)?;
            Some(prompter.input::<IpAddr>(None, "--ip", "IP address", Some(default.to_string()))?)
        }
    };
    let is_admin = prompter.yes_no(opts.admin, "--admin", "Make the peer an admin?", false)?;
    let invite_expires = match &opts.invite_expires {
        Some(expires) => *expires,
        None if prompter.is_interactive() => prompter.input::<Timestring>(
            None,
            "--invite-expires",
            "Invitation valid for (e.g. 30m, 12h, 14d, 2w)",
            Some(DEFAULT_INVITE_EXPIRES.to_owned()),
        )?,
        None => DEFAULT_INVITE_EXPIRES.parse()?,
    };
    let save_path = prompter.input::<PathBuf>(
        opts.save_config.clone(),
        "--save-config",
        "Save the invitation to",
        Some(format!("{name}.toml")),
    )?;
    let ip_text = ip.map_or_else(|| "the first free address".to_owned(), |ip| ip.to_string());
    let role = if is_admin { "an admin peer" } else { "a peer" };
    let question = format!(
        "Invite {name} as {role} with {ip_text} in CIDR {cidr} on {}?",
        opts.interface
    );
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    let options = AddPeerOptions {
        name,
        cidr,
        ip,
        admin: is_admin,
        invite_expires,
        save_path,
        ephemeral: opts.ephemeral,
    };
    let added = admin.add_peer(&options)?;
    println!(
        "peer {} ({}) added to {} in CIDR {}",
        added.peer.name, added.peer.ip, opts.interface, options.cidr
    );
    println!(
        "invitation saved to {} (valid for {}); give it to the new peer over a secure channel, who joins with: \
         wiremesh install {}",
        added.invitation_path.display(),
        options.invite_expires,
        added.invitation_path.display()
    );
    if let Some(window) = &options.ephemeral {
        println!("it is ephemeral: the server deletes it once it has been offline for {window}");
    }
    Ok(())
}

fn peer_names(
    admin: &Admin,
    keep: impl Fn(&wiremesh_shared::wire::Peer) -> bool,
) -> Result<Vec<String>> {
    Ok(admin
        .peers()?
        .into_iter()
        .filter(|p| keep(p))
        .map(|p| p.name.to_string())
        .collect())
}

pub fn rename_peer(ctx: &Context, opts: &RenamePeerOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = choose(
        prompter,
        opts.name.as_ref(),
        "--name",
        "Peer to rename",
        || peer_names(&admin, |_| true),
    )?;
    let new_name =
        prompter.input::<Hostname>(opts.new_name.clone(), "--new-name", "New name", None)?;
    if !prompter.confirm(opts.yes, &format!("Rename peer {name} to {new_name}?"))? {
        return cancelled();
    }
    match admin.rename_peer(&name, &new_name)? {
        PeerUpdateOutcome::Unchanged(_) => {
            println!("no change: the peer is already called {new_name}")
        }
        PeerUpdateOutcome::Updated(_) => println!("peer {name} renamed to {new_name}"),
    }
    Ok(())
}

pub fn set_peer_disabled(
    ctx: &Context,
    opts: &PeerOpts,
    disabled: bool,
    prompter: Prompter,
) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let (verb, done, prompt) = if disabled {
        ("Disable", "disabled", "Peer to disable")
    } else {
        ("Enable", "enabled", "Peer to enable")
    };
    let name = choose(prompter, opts.name.as_ref(), "--name", prompt, || {
        peer_names(&admin, |p| p.is_disabled != disabled)
    })?;
    if !prompter.confirm(opts.yes, &format!("{verb} peer {name}?"))? {
        return cancelled();
    }
    match admin.set_peer_disabled(&name, disabled)? {
        PeerUpdateOutcome::Unchanged(_) => println!("no change: peer {name} is already {done}"),
        PeerUpdateOutcome::Updated(_) => println!("peer {name} {done}"),
    }
    Ok(())
}

pub fn delete_peer(ctx: &Context, opts: &PeerOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = choose(
        prompter,
        opts.name.as_ref(),
        "--name",
        "Peer to delete",
        || peer_names(&admin, |_| true),
    )?;
    let question = format!(
        "Delete peer {name} for good? It leaves every interface, and its address is never given \
         to another peer"
    );
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    let peer = admin.delete_peer(&name)?;
    if peer.is_redeemed {
        println!(
            "deleted peer {name}; its address {} stays reserved (addresses are never reused)",
            peer.ip
        );
    } else {
        println!(
            "deleted the invitation {name}; its address {} is free",
            peer.ip
        );
    }
    Ok(())
}

pub fn list_peers(ctx: &Context, opts: &ListOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let (peers, cidrs) = (admin.peers()?, admin.cidrs()?);
    let now = SystemTime::now();
    if opts.json {
        print!("{}", listing::peers_json(&peers, &cidrs, now));
    } else {
        let entries = listing::peer_entries(&peers, &cidrs, &listing::PeerNotes::default(), now);
        print!(
            "{}",
            wiremesh_cli::listing::render_peer_table(&entries, wiremesh_cli::Style::for_stdout())
        );
    }
    Ok(())
}

pub fn add_cidr(ctx: &Context, opts: &AddCidrOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name =
        prompter.input::<String>(opts.name.clone(), "--name", "Name of the new CIDR", None)?;
    let cidr =
        prompter.input::<ipnet::IpNet>(opts.cidr, "--cidr", "Network (e.g. 10.42.1.0/24)", None)?;
    let parent = choose(
        prompter,
        opts.parent.as_ref(),
        "--parent",
        "Parent CIDR",
        || cidr_names(&admin),
    )?;
    if !prompter.confirm(
        opts.yes,
        &format!("Add CIDR {name} ({cidr}) under {parent}?"),
    )? {
        return cancelled();
    }
    let added = admin.add_cidr(&AddCidrOptions {
        name,
        cidr,
        parent: parent.clone(),
    })?;
    println!("CIDR {} ({}) added under {parent}", added.name, added.cidr);
    Ok(())
}

pub fn rename_cidr(ctx: &Context, opts: &RenameCidrOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = choose(
        prompter,
        opts.name.as_ref(),
        "--name",
        "CIDR to rename",
        || cidr_names(&admin),
    )?;
    let new_name =
        prompter.input::<String>(opts.new_name.clone(), "--new-name", "New name", None)?;
    if !prompter.confirm(opts.yes, &format!("Rename CIDR {name} to {new_name}?"))? {
        return cancelled();
    }
    match admin.rename_cidr(&name, &new_name)? {
        admin::cidrs::CidrRenameOutcome::Unchanged(_) => {
            println!("no change: the CIDR is already called {new_name}")
        }
        admin::cidrs::CidrRenameOutcome::Renamed(_) => {
            println!("CIDR {name} renamed to {new_name}")
        }
    }
    Ok(())
}

pub fn delete_cidr(ctx: &Context, opts: &DeleteCidrOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let name = choose(
        prompter,
        opts.name.as_ref(),
        "--name",
        "CIDR to delete",
        || cidr_names(&admin),
    )?;
    if !prompter.confirm(opts.yes, &format!("Delete CIDR {name}?"))? {
        return cancelled();
    }
    let deleted = admin.delete_cidr(&name)?;
    println!("CIDR {} ({}) deleted", deleted.name, deleted.cidr);
    Ok(())
}

/// The two CIDR names of an association command, asked for when missing.
fn association_names(
    admin: &Admin,
    opts: &AssociationOpts,
    prompter: Prompter,
) -> Result<(String, String)> {
    let first = choose(prompter, opts.cidr1.as_ref(), "CIDR1", "First CIDR", || {
        cidr_names(admin)
    })?;
    let second = choose(
        prompter,
        opts.cidr2.as_ref(),
        "CIDR2",
        "Second CIDR",
        || {
            Ok(cidr_names(admin)?
                .into_iter()
                .filter(|n| *n != first)
                .collect())
        },
    )?;
    Ok((first, second))
}

pub fn add_association(ctx: &Context, opts: &AssociationOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let (first, second) = association_names(&admin, opts, prompter)?;
    // Both names on the command line say it all; a picked pair is confirmed (innernet's way).
    let both_given = opts.cidr1.is_some() && opts.cidr2.is_some();
    let question = format!("Let the peers of {first} and {second} see each other?");
    if !both_given && !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    admin.add_association(&first, &second)?;
    println!("CIDRs {first} and {second} associated");
    Ok(())
}

pub fn delete_association(ctx: &Context, opts: &AssociationOpts, prompter: Prompter) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    let (first, second) = association_names(&admin, opts, prompter)?;
    if !prompter.confirm(
        opts.yes,
        &format!("Delete the association of {first} and {second}?"),
    )? {
        return cancelled();
    }
    let deleted = admin.delete_association(&first, &second)?;
    println!("association {deleted} deleted");
    Ok(())
}

pub fn list_associations(ctx: &Context, opts: &ListOpts) -> Result<()> {
    let admin = Admin::open(ctx, &opts.interface)?;
    if opts.json {
        let (associations, cidrs) = (admin.associations()?, admin.cidrs()?);
        print!("{}", listing::associations_json(&associations, &cidrs));
        return Ok(());
    }
    for association in admin.list_associations()? {
        println!("{association}");
    }
    Ok(())
}
