//! Subcommands about this host's networks: `install`, `show`, `up`, `fetch`, `down`,
//! `uninstall`, `reset-cache`, `list-cidrs`, `set-listen-port`, `override-endpoint`,
//! `override-peer-endpoint` and `completions`.

use std::fs;
use std::io::{ErrorKind, Read};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _, Result};
use clap::CommandFactory;
use wireguard_control::{BackendKind, InterfaceName};
use wiremesh::install::{install_invitation, InstallOptions};
use wiremesh::overrides::{self, EndpointOutcome, ListenPortOutcome, PeerEndpointOutcome};
use wiremesh::show::{self, Emphasis, RenderOptions};
use wiremesh::sync::{self, SyncMode, SyncReport};
use wiremesh::{backends, daemon, files, interface, ClientError, Context};
use wiremesh_shared::Endpoint;

use super::args::{
    Cli, FetchOpts, InstallOpts, ListCidrsOpts, OverrideEndpointOpts, OverridePeerEndpointOpts,
    ResetCacheOpts, SetListenPortOpts, ShowOpts, UninstallOpts, UpOpts,
};
use super::signal;
use wiremesh_cli::{cancelled, Prompter, UsageError};

pub fn install(ctx: &Context, opts: &InstallOpts, prompter: Prompter) -> Result<()> {
    // Parsed first, so a malformed invitation fails before any question. `-` reads it from
    // standard input, so the secret never needs to be a file on this host.
    let from_stdin = opts.invite.as_os_str() == "-";
    if from_stdin && opts.delete_invite {
        return Err(UsageError(
            "--delete-invite: an invitation read from standard input is no file to delete".into(),
        )
        .into());
    }
    let invitation = if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("failed to read the invitation from standard input")?;
        files::parse_invitation(&text, &opts.invite)?
    } else {
        files::load_invitation(&opts.invite)?
    };
    let name = match (&opts.name, opts.default_name) {
        (Some(name), _) => Some(name.clone()),
        (None, true) => None,
        (None, false) => Some(prompter.input::<InterfaceName>(
            None,
            "--name (or --default-name)",
            "Interface name",
            Some(invitation.interface.network_name.clone()),
        )?),
    };
    let options = InstallOptions {
        name,
        delete_invite: opts.delete_invite,
    };
    let source = (!from_stdin).then_some(opts.invite.as_path());
    let report = install_invitation(ctx, invitation, source, &options)?;
    match (&report.sync, &report.sync_error) {
        (Some(sync), _) => print_sync(sync),
        (None, Some(error)) => eprintln!("warning: {error}"),
        (None, None) => {}
    }
    if !from_stdin && !report.invitation_deleted && prompter.is_interactive() {
        let delete = prompter.yes_no(
            None,
            "--delete-invite",
            "Delete the used invitation file?",
            true,
        )?;
        if delete {
            fs::remove_file(&opts.invite).with_context(|| {
                format!("failed to delete the invitation {}", opts.invite.display())
            })?;
        }
    }
    println!("{}", report.hint());
    Ok(())
}

pub fn show(ctx: &Context, opts: &ShowOpts, full_keys: bool) -> Result<()> {
    let views = show::collect(ctx, opts.interface.as_ref())?;
    let now = SystemTime::now();
    let text = if opts.json {
        show::render_json(&views, now)
    } else if opts.tree {
        show::render_tree(&views, now)
    } else if opts.short {
        show::render_short(&views, now)
    } else {
        let style = wiremesh_cli::Style::for_stdout();
        // Names bold, handshakes green when recent and yellow when not.
        let paint = |emphasis: Emphasis, text: &str| match emphasis {
            Emphasis::Name => style.bold(text),
            Emphasis::Recent => style.green(text),
            Emphasis::Stale => style.yellow(text),
        };
        show::render_plain(
            &views,
            now,
            RenderOptions {
                full_keys,
                paint: &paint,
            },
        )
    };
    if views.is_empty() && !opts.json {
        eprintln!(
            "no wiremesh network is up (configs in {}); bring one up with `wiremesh up`",
            ctx.paths.config_dir.display()
        );
    }
    print!("{text}");
    Ok(())
}

fn print_sync(report: &SyncReport) {
    println!("{}", report.summary());
    if let Some(error) = &report.cache_error {
        eprintln!("warning: {error}");
    }
}

pub fn up(ctx: &Context, opts: &UpOpts, backend: Option<BackendKind>) -> Result<()> {
    if let Some(iface) = &opts.interface {
        // A network that is not installed is a mistake to report now, not to retry forever.
        files::load_config(&ctx.paths, iface)?;
    }
    if let Some(kind) = backend {
        // The operator's latest word on the implementation holds for later commands too.
        let ifaces = match &opts.interface {
            Some(iface) => vec![iface.clone()],
            None => ctx
                .paths
                .installed()
                .context("failed to list the installed networks")?,
        };
        for iface in ifaces {
            // A config that cannot be rewritten is reported by the sync below, network by
            // network; it must not keep the other networks down.
            match backends::record(&ctx.paths, &iface, kind) {
                Ok(true) => println!("{iface}: recorded the {kind} backend in its config"),
                Ok(false) => {}
                Err(error) => eprintln!("warning: {iface}: the backend was not recorded: {error}"),
            }
        }
    }
    if opts.accept_routes || opts.exit_node.is_some() {
        let ifaces = match &opts.interface {
            Some(iface) => vec![iface.clone()],
            None => ctx
                .paths
                .installed()
                .context("failed to list the installed networks")?,
        };
        for iface in ifaces {
            if opts.accept_routes {
                super::routes::change_settings(ctx, &iface, |s| s.accept = true)?;
                println!(
                    "{iface}: using the subnet routes gateways offer (recorded in its config)"
                );
            }
            if let Some(name) = &opts.exit_node {
                let (ip, name) = super::routes::find_peer(ctx, &iface, name)?;
                super::routes::change_settings(ctx, &iface, |s| s.exit_node = Some(ip))?;
                println!("{iface}: exit node {name} ({ip}) (recorded in its config)");
            }
        }
    }
    if opts.daemon {
        let stop =
            signal::install_stop_handler().context("failed to install the SIGTERM handler")?;
        let interval = Duration::from_secs(opts.interval.max(1));
        let summary = daemon::run_daemon(ctx, opts.interface.as_ref(), interval, stop);
        tracing::info!(?summary, "daemon stopped");
        return Ok(());
    }
    let results = sync::up_all(ctx, opts.interface.as_ref())?;
    if results.is_empty() {
        bail!(
            "no network is installed in {}; join one with `wiremesh install <invitation>`",
            ctx.paths.config_dir.display()
        );
    }
    let mut failed = 0;
    for (iface, result) in results {
        match result {
            Ok(report) => print_sync(&report),
            Err(error) => {
                failed += 1;
                eprintln!("error: {iface}: {error}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} network(s) failed to come up");
    }
    Ok(())
}

pub fn fetch(ctx: &Context, opts: &FetchOpts) -> Result<()> {
    let report = sync::sync(ctx, &opts.interface, SyncMode::Fetch)?;
    print_sync(&report);
    Ok(())
}

pub fn down(ctx: &Context, iface: &InterfaceName) -> Result<()> {
    match interface::down(ctx, iface) {
        Ok(()) => println!("{iface} is down"),
        Err(ClientError::AlreadyDown { .. }) => println!("{iface} is already down"),
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

pub fn uninstall(ctx: &Context, opts: &UninstallOpts, prompter: Prompter) -> Result<()> {
    let iface = &opts.interface;
    let config = files::load_config(&ctx.paths, iface)?;
    let question = if opts.keep_registration {
        format!(
            "Uninstall {iface}? Its interface, config (with its private key) and peer cache are \
             deleted; joining again needs a new invitation"
        )
    } else {
        format!(
            "Uninstall {iface}? This host is deleted from the server, and its interface, config \
             (with its private key) and peer cache from this host; joining again needs a new \
             invitation"
        )
    };
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    if opts.keep_registration {
        println!("{iface}: left registered on the server (--keep-registration)");
    } else {
        println!("{iface}: {}", deregister(ctx, &config));
    }
    match interface::down(ctx, iface) {
        Ok(()) | Err(ClientError::AlreadyDown { .. }) => {}
        Err(error) => return Err(error.into()),
    }
    files::remove_pending_redeem(&ctx.paths, iface)?;
    files::remove_policy(&ctx.paths, iface)?;
    files::remove_routes(&ctx.paths, iface)?;
    files::remove_config(&ctx.paths, iface)?;
    let cache = ctx.paths.cache_file(iface);
    match fs::remove_file(&cache) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            return Err(e)
                .with_context(|| format!("failed to remove the peer cache {}", cache.display()));
        }
        _ => {}
    }
    println!("{iface} uninstalled");
    Ok(())
}

/// Deletes this host's peer on the server, through its tunnel (before the interface goes
/// down); says what happened. Never fails: a host that cannot deregister still uninstalls.
fn deregister(ctx: &Context, config: &wiremesh_shared::config::ClientConfig) -> String {
    let name = config.interface.address.addr();
    let api = ctx.api_with_timeout(config, std::time::Duration::from_secs(5));
    let ask_admin = "ask an admin to delete this peer (`wiremesh-server delete-peer`)";
    match api.deregister() {
        Ok(answer) => format!(
            "deregistered: the server deletes this peer ({name}) in {:.1} s; its address is never \
             given to another peer",
            answer.delete_after_ms as f64 / 1000.0
        ),
        Err(error) if error.status() == Some(404) => "not deregistered: the server cannot delete \
                                                      peers (innernet, or an older \
                                                      wiremesh-server); ask an admin to disable \
                                                      this peer"
            .to_owned(),
        Err(error) if error.status().is_some() => {
            format!("not deregistered: the server refused ({error}); {ask_admin}")
        }
        Err(error) => format!("not deregistered: the server is unreachable ({error}); {ask_admin}"),
    }
}

pub fn reset_cache(ctx: &Context, opts: &ResetCacheOpts, prompter: Prompter) -> Result<()> {
    let iface = &opts.interface;
    files::load_config(&ctx.paths, iface)?;
    let question = format!(
        "Set the peer cache of {iface} aside? The key pins it holds are no longer checked: the \
         next sync trusts the keys the server offers, as at install"
    );
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    match files::set_cache_aside(&ctx.paths, iface)? {
        Some(to) => println!(
            "{iface}: peer cache moved to {}; the next sync (`wiremesh up {iface}` or the daemon's) \
             fetches a fresh one",
            to.display()
        ),
        None => println!("{iface}: there is no peer cache to set aside"),
    }
    Ok(())
}

pub fn list_cidrs(ctx: &Context, opts: &ListCidrsOpts) -> Result<()> {
    let cidrs = show::list_cidrs(ctx, &opts.interface)?;
    let text = if opts.json {
        wiremesh_shared::listing::cidrs_json(&cidrs)
    } else if opts.tree {
        show::render_cidrs_tree(&cidrs)
    } else {
        show::render_cidrs_plain(&cidrs)
    };
    print!("{text}");
    Ok(())
}

fn port_text(port: Option<u16>) -> String {
    port.map_or_else(|| "random".to_owned(), |p| p.to_string())
}

pub fn set_listen_port(ctx: &Context, opts: &SetListenPortOpts, prompter: Prompter) -> Result<()> {
    let iface = &opts.interface;
    let port = if opts.unset {
        None
    } else {
        Some(prompter.input::<u16>(
            opts.listen_port,
            "--listen-port (or --unset)",
            "Listen port",
            None,
        )?)
    };
    let question = format!("Set the listen port of {iface} to {}?", port_text(port));
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    match overrides::set_listen_port(ctx, iface, port)? {
        ListenPortOutcome::Unchanged { port } => println!(
            "no change: the listen port of {iface} is {}",
            port_text(port)
        ),
        ListenPortOutcome::Changed { from, to, live } => {
            let applied = if live {
                "on the interface and in the config"
            } else {
                "in the config (the interface is down)"
            };
            println!(
                "listen port of {iface} changed from {} to {} {applied}",
                port_text(from),
                port_text(to)
            );
        }
    }
    Ok(())
}

pub fn override_endpoint(
    ctx: &Context,
    opts: &OverrideEndpointOpts,
    prompter: Prompter,
) -> Result<()> {
    let iface = &opts.interface;
    let endpoint = if opts.unset {
        None
    } else {
        Some(prompter.input::<Endpoint>(
            opts.endpoint.clone(),
            "--endpoint (or --unset)",
            "Endpoint (HOST:PORT)",
            None,
        )?)
    };
    let question = match &endpoint {
        Some(endpoint) => {
            format!("Tell the other peers of {iface} to reach this host at {endpoint}?")
        }
        None => format!(
            "Let the server report the endpoint it observes for this host on {iface} again?"
        ),
    };
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    match overrides::override_endpoint(ctx, iface, endpoint)? {
        EndpointOutcome::Set(endpoint) => {
            println!("endpoint of this host on {iface} set to {endpoint}")
        }
        EndpointOutcome::Unset => println!("endpoint override of this host on {iface} removed"),
    }
    Ok(())
}

pub fn override_peer_endpoint(
    ctx: &Context,
    opts: &OverridePeerEndpointOpts,
    prompter: Prompter,
) -> Result<()> {
    let iface = &opts.interface;
    let name = prompter.input::<String>(opts.name.clone(), "--name", "Peer name", None)?;
    let endpoint = if opts.unset {
        None
    } else {
        Some(prompter.input::<Endpoint>(
            opts.endpoint.clone(),
            "--endpoint (or --unset)",
            "Endpoint (HOST:PORT)",
            None,
        )?)
    };
    let question = match &endpoint {
        Some(endpoint) => format!("Reach peer {name} of {iface} at {endpoint} from this host?"),
        None => format!("Remove the local endpoint override of peer {name} on {iface}?"),
    };
    if !prompter.confirm(opts.yes, &question)? {
        return cancelled();
    }
    match overrides::override_peer_endpoint(ctx, iface, &name, endpoint)? {
        PeerEndpointOutcome::Unchanged => {
            println!("no change: the override of peer {name} is already that")
        }
        PeerEndpointOutcome::Set {
            peer,
            endpoint,
            live,
        } => {
            let when = if live {
                "now and after every fetch"
            } else {
                "from the next time the interface is up"
            };
            println!("peer {peer} of {iface} is reached at {endpoint} {when}");
        }
        PeerEndpointOutcome::Unset { peer } => {
            println!(
                "override of peer {peer} removed; the next fetch restores the server's endpoint"
            )
        }
    }
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "wiremesh", &mut std::io::stdout());
    Ok(())
}
