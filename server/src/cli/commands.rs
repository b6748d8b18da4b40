//! One function per network-level subcommand (`new`, `import`, `uninstall`, `serve`, `list`,
//! `list-associations`, `completions`), plus the dispatcher; the editing subcommands live in
//! [`super::edit`]. Each resolves its prompts into a plain options value and calls the
//! library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use ipnet::IpNet;
use wiremesh_cli::listing;
use wiremesh_cli::Style;
use wiremesh_server::admin::{self, Network};

use super::{devices, policy, routes};
use wiremesh_server::init::{self, InnernetSource, NewNetworkOptions};
use wiremesh_server::interface::{BackendChoice, InterfaceSettings, DEFAULT_MTU};
use wiremesh_server::paths::ServerPaths;
use wiremesh_server::serve::{self, HostsFile, LimitOptions, ServeOptions};
use wiremesh_server::service::devices::peer_notes;
use wiremesh_shared::listing as shared_listing;
use wiremesh_shared::wire::Peer;
use wiremesh_shared::{Endpoint, InterfaceName};

use super::{
    edit, AuditOpts, BackendArg, BackupOpts, Cli, Command, ImportOpts, ListOpts, NetworkOpts,
    NewOpts, ServeOpts, UninstallOpts,
};
use wiremesh_cli::{Prompter, UsageError};

/// How long `new` waits for each public-IP resolver.
const PUBLIC_IP_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let paths = ServerPaths {
        config_dir: cli.config_dir,
        data_dir: cli.data_dir,
    };
    let prompter = Prompter::detect();
    if matches!(cli.command, Command::Serve(_)) {
        // The server's own changes are its own; the command line's are its user's.
        return run_command(cli.command, &paths, &prompter, &cli.network);
    }
    let network = cli.network;
    wiremesh_server::audit::acting_as(wiremesh_server::audit::Actor::cli_user(), || {
        run_command(cli.command, &paths, &prompter, &network)
    })
}

fn run_command(
    command: Command,
    paths: &ServerPaths,
    prompter: &Prompter,
    network: &NetworkOpts,
) -> Result<()> {
    let paths = paths.clone();
    match command {
        Command::New(opts) => new(&paths, prompter, opts),
        Command::Import(opts) => import(&paths, opts),
        Command::Uninstall(opts) => uninstall(&paths, prompter, network, opts),
        Command::Serve(opts) => serve(paths, network, opts),
        Command::Audit(opts) => audit(&paths, opts),
        Command::CreateToken(opts) => super::tokens::create_token(&paths, opts),
        Command::ListTokens(opts) => super::tokens::list_tokens(&paths, opts),
        Command::RevokeToken(opts) => super::tokens::revoke_token(&paths, opts),
        Command::AddPeer(opts) => edit::add_peer(&paths, prompter, opts),
        Command::AddDevice(opts) => devices::add_device(&paths, prompter, opts),
        Command::ExportDevice(opts) => devices::export_device(&paths, prompter, opts),
        Command::RenamePeer(opts) => edit::rename_peer(&paths, prompter, opts),
        Command::DisablePeer(opts) => edit::set_disabled(&paths, prompter, opts, true),
        Command::EnablePeer(opts) => edit::set_disabled(&paths, prompter, opts, false),
        Command::DeletePeer(opts) => edit::delete_peer(&paths, prompter, opts),
        Command::Settings(opts) => edit::settings(&paths, opts),
        Command::SetEndpoint(opts) => edit::set_endpoint(&paths, prompter, opts),
        Command::AddCidr(opts) => edit::add_cidr(&paths, prompter, opts),
        Command::RenameCidr(opts) => edit::rename_cidr(&paths, prompter, opts),
        Command::DeleteCidr(opts) => edit::delete_cidr(&paths, prompter, opts),
        Command::AddAssociation(opts) => edit::add_association(&paths, prompter, opts),
        Command::DeleteAssociation(opts) => edit::delete_association(&paths, prompter, opts),
        Command::ListAssociations(opts) => list_associations(&paths, opts),
        Command::AddRule(opts) => policy::add_rule(&paths, prompter, opts),
        Command::DeleteRule(opts) => policy::delete_rule(&paths, prompter, opts),
        Command::ListRules(opts) => policy::list_rules(&paths, opts),
        Command::IsolateCidr(opts) => policy::isolate_cidr(&paths, prompter, opts),
        Command::AdvertiseRoutes(opts) => routes::advertise_routes(&paths, prompter, opts),
        Command::ApproveRoutes(opts) => routes::approve_routes(&paths, prompter, opts),
        Command::AutoApproveRoutes(opts) => routes::auto_approve_routes(&paths, prompter, opts),
        Command::ListRoutes(opts) => routes::list_routes(&paths, opts),
        Command::Explain(opts) => policy::explain(&paths, opts),
        Command::List(opts) => list(&paths, opts),
        Command::Backup(opts) => backup(&paths, opts),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(
                shell,
                &mut command,
                "wiremesh-server",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

/// `audit`: the newest entries of the audit log, oldest first.
fn audit(paths: &ServerPaths, opts: AuditOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let mut entries = wiremesh_server::admin::audit_log(&network, opts.limit)?;
    entries.reverse();
    if opts.json {
        println!("{}", serde_json::json!({ "entries": entries }));
        return Ok(());
    }
    if entries.is_empty() {
        println!("the audit log of {} is empty", opts.interface);
    }
    for entry in &entries {
        println!(
            "{}  {}  {}  {}",
            wiremesh_shared::timestring::format_utc(entry.at),
            entry.actor,
            entry.action,
            entry.detail
        );
    }
    Ok(())
}

/// The INTERFACE argument of a command on an existing network.
pub fn network_name(text: &str) -> Result<InterfaceName> {
    text.parse::<InterfaceName>()
        .with_context(|| format!("invalid network name {text:?}"))
}

/// Opens an existing network for an admin command.
pub fn open(paths: &ServerPaths, interface: &str) -> Result<Network> {
    let name = network_name(interface)?;
    Ok(Network::open(paths, &name)?)
}

/// A declined confirmation.
pub fn cancelled() -> anyhow::Error {
    anyhow::anyhow!("cancelled; nothing was changed")
}

fn backend(arg: Option<BackendArg>) -> Option<BackendChoice> {
    arg.map(|arg| match arg {
        BackendArg::Kernel => BackendChoice::Kernel,
        BackendArg::Userspace => BackendChoice::Userspace,
    })
}

fn new(paths: &ServerPaths, prompter: &Prompter, opts: NewOpts) -> Result<()> {
    let name = prompter.ask(
        opts.network_name.as_deref(),
        "--network-name",
        "Network name",
        None,
        |text| Ok(init::check_network_name(text.trim())?),
    )?;
    let root = prompter.ask(
        opts.network_cidr.as_deref(),
        "--network-cidr",
        "Network CIDR",
        Some(init::DEFAULT_NETWORK_CIDR.to_owned()),
        |text| {
            let root: IpNet = text.trim().parse().with_context(|| {
                format!("invalid network CIDR {text:?}: write it like 10.42.0.0/16")
            })?;
            init::server_address(root)?;
            Ok(root)
        },
    )?;
    let listen_port = prompter.ask(
        opts.listen_port.map(|port| port.to_string()).as_deref(),
        "--listen-port",
        "Listen port",
        Some(init::DEFAULT_LISTEN_PORT.to_string()),
        |text| {
            let port: u16 = text
                .trim()
                .parse()
                .with_context(|| format!("invalid listen port {text:?}: use 1 to 65535"))?;
            Ok(init::check_listen_port(port)?)
        },
    )?;
    let parse_endpoint = |text: &str| -> Result<Endpoint> { Ok(text.trim().parse::<Endpoint>()?) };
    let external_endpoint = if opts.auto_external_endpoint {
        init::auto_external_endpoint(listen_port, PUBLIC_IP_TIMEOUT)?
    } else if let Some(text) = &opts.external_endpoint {
        parse_endpoint(text)?
    } else if prompter.is_interactive() {
        let default = init::discover_public_ip(PUBLIC_IP_TIMEOUT)
            .map(|ip| SocketAddr::new(ip, listen_port).to_string());
        prompter.ask(
            None,
            "--external-endpoint",
            "External endpoint (HOST:PORT)",
            default,
            parse_endpoint,
        )?
    } else {
        return Err(UsageError(
            "missing --external-endpoint or --auto-external-endpoint: standard input \
                      is not a terminal, so it cannot be asked for; pass one of them on the \
                      command line"
                .to_owned(),
        )
        .into());
    };
    let created = init::create_network(
        paths,
        &NewNetworkOptions {
            name,
            root,
            external_endpoint: external_endpoint.clone(),
            listen_port,
        },
    )?;
    let name = &created.name;
    println!("created network {name} ({root})");
    println!("  config:   {}", created.config_path.display());
    println!("  database: {}", created.database_path.display());
    println!(
        "  server:   {} inside the network, {external_endpoint} outside (UDP and TCP port {listen_port})",
        created.server_address
    );
    println!(
        "next: start it with `systemctl enable --now wiremesh-server@{name}` (or \
         `wiremesh-server serve {name}`), then add CIDRs and peers with `wiremesh-server \
         add-cidr {name}` and `wiremesh-server add-peer {name}`"
    );
    Ok(())
}

fn import(paths: &ServerPaths, opts: ImportOpts) -> Result<()> {
    let name = match (&opts.interface, &opts.innernet_config) {
        (Some(name), _) => network_name(name)?,
        (None, Some(config)) => {
            let stem = config
                .file_stem()
                .and_then(|stem| stem.to_str())
                .with_context(|| {
                    format!("failed to take a network name from {}", config.display())
                })?;
            network_name(stem)?
        }
        (None, None) => {
            return Err(UsageError(
                "missing INTERFACE: name the innernet network to import, or pass \
                          --innernet-config PATH"
                    .to_owned(),
            )
            .into())
        }
    };
    let defaults = InnernetSource::default_for(&name);
    let source = InnernetSource {
        config: opts.innernet_config.unwrap_or(defaults.config),
        database: opts.innernet_db.unwrap_or(defaults.database),
    };
    let created = init::import_innernet(paths, &name, &source)?;
    println!(
        "imported innernet network {name} from {} and {}",
        source.config.display(),
        source.database.display()
    );
    println!("  config:   {}", created.config_path.display());
    println!("  database: {}", created.database_path.display());
    println!(
        "next: stop innernet-server@{name}, then start `wiremesh-server serve {name}` \
         (or `systemctl enable --now wiremesh-server@{name}`)"
    );
    Ok(())
}

fn uninstall(
    paths: &ServerPaths,
    prompter: &Prompter,
    global: &NetworkOpts,
    opts: UninstallOpts,
) -> Result<()> {
    let name = network_name(opts.interface.as_str())?;
    let question =
        format!("Delete network {name} for good: its WireGuard interface, config and database?");
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    let choice = backend(global.backend).unwrap_or_default();
    let done = admin::uninstall(paths, &name, choice)?;
    if done.interface_deleted {
        println!("deleted interface {name}");
    }
    if done.firewall_removed {
        println!("removed firewall table inet wiremesh_{name}");
    }
    for v6 in &done.forwarding_restored {
        let family = if *v6 { "IPv6" } else { "IPv4" };
        println!("turned {family} forwarding off again (it was on for the network's devices)");
    }
    for path in &done.removed_files {
        println!("removed {}", path.display());
    }
    println!("network {name} uninstalled");
    Ok(())
}

fn serve(paths: ServerPaths, global: &NetworkOpts, opts: ServeOpts) -> Result<()> {
    let network = network_name(opts.interface.as_str())?;
    let api_socket = (!opts.no_api_socket).then(|| {
        opts.api_socket
            .clone()
            .unwrap_or_else(|| serve::default_api_socket(&network))
    });
    // The options after `serve` win over those before it; innernet ignored the latter.
    let options = ServeOptions {
        paths,
        network,
        backend: backend(opts.network.backend.or(global.backend)).unwrap_or_default(),
        interface: InterfaceSettings {
            mtu: opts.network.mtu.or(global.mtu).unwrap_or(DEFAULT_MTU),
            routing: !(opts.network.no_routing || global.no_routing),
        },
        hosts: (!opts.hosts.no_write_hosts).then(|| HostsFile {
            path: opts.hosts.hosts_path.clone(),
            suffix: opts.hosts.host_suffix.clone(),
        }),
        limits: LimitOptions {
            max_connections: opts.limits.max_connections,
            max_connections_per_peer: opts.limits.max_connections_per_peer.map(|n| n as usize),
            max_polls_per_peer: opts.limits.max_polls_per_peer.map(|n| n as usize),
        },
        firewall: !opts.no_firewall,
        api_socket,
        api_tls: match (opts.api_listen, &opts.api_tls_cert, &opts.api_tls_key) {
            (Some(address), Some(cert), Some(key)) => Some(serve::ApiTls {
                address,
                files: wiremesh_server::http::tls::TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                },
            }),
            _ => None,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    runtime.block_on(serve::run(options))?;
    Ok(())
}

fn list(paths: &ServerPaths, opts: ListOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let now = SystemTime::now();
    let peers: Vec<Peer> = model.peers().iter().map(|p| Peer::clone(p)).collect();
    let notes = peer_notes(&model);
    if opts.json {
        let name = network.name.to_string();
        print!(
            "{}",
            shared_listing::network_json(&name, model.cidrs(), &peers, &notes, now)
        );
    } else {
        print!(
            "{}",
            listing::render_tree(model.cidrs(), &peers, &notes, now, Style::for_stdout())
        );
    }
    Ok(())
}

fn list_associations(paths: &ServerPaths, opts: ListOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    if opts.json {
        print!(
            "{}",
            shared_listing::associations_json(model.associations(), model.cidrs())
        );
    } else {
        print!(
            "{}",
            listing::render_associations(model.associations(), model.cidrs())
        );
    }
    Ok(())
}

fn backup(paths: &ServerPaths, opts: BackupOpts) -> Result<()> {
    let name = network_name(opts.interface.as_str())?;
    let report = admin::backup(paths, &name, &opts.dest)?;
    println!(
        "backed up network {name} ({} CIDRs, {} peers) from {} to {}",
        report.cidrs,
        report.peers,
        report.database.display(),
        report.dest.display()
    );
    Ok(())
}

/// Where an invitation goes by default: `<peer-name>.toml` in the working directory.
pub fn default_invitation_path(peer: &str) -> PathBuf {
    PathBuf::from(format!("{peer}.toml"))
}

/// Refuses an empty list of choices with a hint instead of an empty menu.
pub fn require_choices(items: &[String], what: &str, hint: &str) -> Result<()> {
    match (items.is_empty(), hint.is_empty()) {
        (false, _) => {}
        (true, true) => bail!("there is no {what} to choose from"),
        (true, false) => bail!("there is no {what} to choose from; {hint}"),
    }
    Ok(())
}
