//! The command line of `wiremesh`: clap definitions ([`args`]), the signal handler of the
//! daemon ([`signal`]) and one function per subcommand ([`local`] for this host's networks, [`admin`] for the admin commands). Each
//! command turns its options into the library's plain option structs, calls the library and
//! prints what it returns.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Result;
use tracing_subscriber::EnvFilter;
use wiremesh::backends::HostBackend;
use wiremesh::{Context, HostsOptions, NatOptions, NetworkOptions, Paths};

pub mod admin;
pub mod args;
pub mod devices;
pub mod doctor;
pub mod local;
pub mod policy;
pub mod routes;
pub mod signal;

use args::{Cli, Command, HostsOpts, NatOpts, ShowOpts};
pub use wiremesh_cli::UsageError;

/// Logs to standard error: `RUST_LOG` when set, else by `-v` count.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,wiremesh=info",
        1 => "info,wiremesh=debug,wireguard_control=debug,wiremesh_shared=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The context every command runs in, from the global options and the command's HOSTS and
/// NAT options (defaults where the command has none).
fn context(cli: &Cli, hosts: Option<&HostsOpts>, nat: Option<&NatOpts>) -> Context {
    let paths = Paths::new(&cli.config_dir, &cli.data_dir);
    let backend = HostBackend::new(paths.clone(), cli.backend.map(Into::into));
    let mut ctx = Context::new(paths, Arc::new(backend));
    ctx.network = NetworkOptions {
        mtu: cli.mtu,
        no_routing: cli.no_routing,
        ..NetworkOptions::default()
    };
    if let Some(hosts) = hosts {
        ctx.hosts = HostsOptions {
            path: (!hosts.no_write_hosts).then(|| hosts.hosts_path.clone()),
            suffix: hosts.host_suffix.clone(),
        };
    }
    if let Some(nat) = nat {
        ctx.nat = NatOptions {
            no_traversal: nat.no_nat_traversal,
            no_candidates: nat.no_nat_candidates,
            exclude: nat.exclude_nat_candidates.clone(),
        };
    }
    ctx.api_override = cli.api_address;
    ctx.policy.enforce = !cli.no_firewall;
    ctx
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let prompter = wiremesh_cli::Prompter::detect();
    let full_keys = cli.verbose > 0;
    let Some(command) = &cli.command else {
        let show = ShowOpts {
            short: false,
            tree: false,
            json: false,
            interface: None,
        };
        return local::show(&context(&cli, None, None), &show, full_keys);
    };
    let plain = |cli: &Cli| context(cli, None, None);
    match command {
        Command::Install(opts) => local::install(
            &context(&cli, Some(&opts.hosts), Some(&opts.nat)),
            opts,
            prompter,
        ),
        Command::Show(opts) => local::show(&plain(&cli), opts, full_keys),
        Command::Up(opts) => {
            let mut ctx = context(&cli, Some(&opts.hosts), Some(&opts.nat));
            ctx.network.max_cache_age = opts.max_cache_age.0;
            local::up(&ctx, opts, cli.backend.map(Into::into))
        }
        Command::Fetch(opts) => {
            local::fetch(&context(&cli, Some(&opts.hosts), Some(&opts.nat)), opts)
        }
        Command::Down(opts) => local::down(&plain(&cli), &opts.interface),
        Command::Uninstall(opts) => local::uninstall(&plain(&cli), opts, prompter),
        Command::ResetCache(opts) => local::reset_cache(&plain(&cli), opts, prompter),
        Command::Doctor(opts) => doctor::doctor(&plain(&cli), opts),
        Command::ListCidrs(opts) => local::list_cidrs(&plain(&cli), opts),
        Command::SetListenPort(opts) => local::set_listen_port(&plain(&cli), opts, prompter),
        Command::OverrideEndpoint(opts) => local::override_endpoint(&plain(&cli), opts, prompter),
        Command::OverridePeerEndpoint(opts) => {
            local::override_peer_endpoint(&plain(&cli), opts, prompter)
        }
        Command::Completions { shell } => local::completions(*shell),
        Command::AddPeer(opts) => admin::add_peer(&plain(&cli), opts, prompter),
        Command::AddDevice(opts) => devices::add_device(&plain(&cli), opts, prompter),
        Command::ExportDevice(opts) => devices::export_device(&plain(&cli), opts, prompter),
        Command::ListDevices(opts) => devices::list_devices(&plain(&cli), opts),
        Command::RenamePeer(opts) => admin::rename_peer(&plain(&cli), opts, prompter),
        Command::DisablePeer(opts) => admin::set_peer_disabled(&plain(&cli), opts, true, prompter),
        Command::EnablePeer(opts) => admin::set_peer_disabled(&plain(&cli), opts, false, prompter),
        Command::DeletePeer(opts) => admin::delete_peer(&plain(&cli), opts, prompter),
        Command::ListPeers(opts) => admin::list_peers(&plain(&cli), opts),
        Command::AddCidr(opts) => admin::add_cidr(&plain(&cli), opts, prompter),
        Command::RenameCidr(opts) => admin::rename_cidr(&plain(&cli), opts, prompter),
        Command::DeleteCidr(opts) => admin::delete_cidr(&plain(&cli), opts, prompter),
        Command::AddAssociation(opts) => admin::add_association(&plain(&cli), opts, prompter),
        Command::DeleteAssociation(opts) => admin::delete_association(&plain(&cli), opts, prompter),
        Command::ListAssociations(opts) => admin::list_associations(&plain(&cli), opts),
        Command::AddRule(opts) => policy::add_rule(&plain(&cli), opts, prompter),
        Command::DeleteRule(opts) => policy::delete_rule(&plain(&cli), opts, prompter),
        Command::ListRules(opts) => policy::list_rules(&plain(&cli), opts),
        Command::IsolateCidr(opts) => policy::isolate_cidr(&plain(&cli), opts, prompter),
        Command::Explain(opts) => policy::explain(&plain(&cli), opts),
        Command::AdvertiseRoutes(opts) => routes::advertise_routes(&plain(&cli), opts),
        Command::AcceptRoutes(opts) => routes::accept_routes(&plain(&cli), opts),
        Command::SetExitNode(opts) => routes::set_exit_node(&plain(&cli), opts),
        Command::ApproveRoutes(opts) => routes::approve_routes(&plain(&cli), opts, prompter),
        Command::AutoApproveRoutes(opts) => {
            routes::auto_approve_routes(&plain(&cli), opts, prompter)
        }
        Command::ListRoutes(opts) => routes::list_routes(&plain(&cli), opts),
    }
}
