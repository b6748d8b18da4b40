//! The `wiremesh` binary: parse the command line, run the command, and turn an error into
//! `error: <message>` on standard error with exit status 1 (2 for usage errors; clap's own
//! usage errors exit 2 by themselves). Everything else lives in [`cli`] and the library.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    cli::init_logging(args.verbose);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref::<cli::UsageError>().is_some() => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!(
                "error: {}",
                wiremesh_cli::advice::describe(error.chain(), "wiremesh")
            );
            ExitCode::from(1)
        }
    }
}
