//! Writes a wiremesh section into a hosts file and says whether anything changed.
//!
//! ```text
//! cargo run -p hostsfile --example hostsfile -- /tmp/hosts wg0 10.66.0.1=server fd00::2=alice
//! ```
//!
//! With no `IP=PEER` pairs the section is removed. Run it twice to see `unchanged`.

use std::process::ExitCode;

use hostsfile::{peer_hostname, HostsBuilder, Tag, Written};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, interface, pairs @ ..] = args.as_slice() else {
        eprintln!("usage: hostsfile <hosts file> <interface> [IP=PEER]...");
        return ExitCode::from(2);
    };
    match run(path, interface, pairs) {
        Ok(Written::Changed) => {
            println!("{path}: updated");
            ExitCode::SUCCESS
        }
        Ok(Written::Unchanged) => {
            println!("{path}: unchanged");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: &str,
    interface: &str,
    pairs: &[String],
) -> Result<Written, Box<dyn std::error::Error>> {
    let mut hosts = HostsBuilder::new(Tag::wiremesh(interface)?);
    for pair in pairs {
        let (ip, peer) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected IP=PEER, got {pair:?}"))?;
        hosts.add_hostname(ip.parse()?, peer_hostname(peer, interface, None))?;
    }
    Ok(hosts.write_to(path)?)
}
