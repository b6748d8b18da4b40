//! The `wiremesh-server` binary: parses the command line, resolves prompts and calls the
//! library; an error becomes a message on stderr and exit status 1 (2 for usage errors).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

mod cli;

use cli::{Cli, Command};
use wiremesh_cli::UsageError;

/// Log filter of `serve` when `RUST_LOG` is unset: our crates at info, the rest at warn.
const SERVE_LOG_FILTER: &str =
    "warn,wiremesh_server=info,wiremesh_shared=info,wireguard_control=info,hostsfile=info,publicip=info";
/// Log filter of the other commands when `RUST_LOG` is unset: they print their own results.
const COMMAND_LOG_FILTER: &str = "warn";

/// Keeps the server's memory from creeping up with the size of the network: serialised states
/// of a large network are megabytes each, and glibc would otherwise raise its mmap threshold
/// after the first one is freed and keep later ones in per-thread arenas that are never given
/// back. Allocations of 1 MiB and more are always mapped (and unmapped when freed), and two
/// arenas serve the threads.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let default_filter = match cli.command {
        Command::Serve(_) => SERVE_LOG_FILTER,
        _ => COMMAND_LOG_FILTER,
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "error: {}",
                wiremesh_cli::advice::describe(error.chain(), "wiremesh-server")
            );
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
