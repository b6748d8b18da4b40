//! The `firewall` check: does the interface's nftables table hold the ruleset the server
//! compiled for this host?

use wireguard_control::InterfaceName;
use wiremesh_firewall::{NftError, TableState};

use super::Finding;

/// What `doctor` learned about the policy of one network.
#[derive(Debug)]
pub enum FirewallFacts {
    /// `--no-firewall`: enforcement is off on this host.
    Off,
    /// The server answered and has no policy (innernet, an older wiremesh-server).
    NotOffered,
    /// Neither the server's ruleset nor a saved one is at hand.
    Unknown,
    /// The table compared with the ruleset (`saved`: the one kept from the last sync,
    /// because the server did not answer).
    Compared {
        digest: String,
        saved: bool,
        state: Result<TableState, NftError>,
    },
}

/// The verdict of the `firewall` check.
pub fn firewall(iface: &InterfaceName, facts: &FirewallFacts) -> Finding {
    let table = format!("inet wiremesh_{iface}");
    match facts {
        FirewallFacts::Off => Finding::warn(
            "enforcement of the network's port and protocol policy is turned off on this host (--no-firewall)",
            Some(format!("run the daemon without --no-firewall to enforce the policy on {iface}")),
        ),
        FirewallFacts::NotOffered => Finding::pass(
            "the server has no port and protocol policy (an innernet server or an older wiremesh-server): nothing to enforce",
        ),
        FirewallFacts::Unknown => Finding::warn(
            "cannot check the firewall table: the server did not answer and no ruleset was saved",
            Some(format!("run `wiremesh fetch {iface}` once the server is reachable")),
        ),
        FirewallFacts::Compared {
            digest,
            saved,
            state,
        } => {
            let source = if *saved {
                "the last ruleset the server sent (it did not answer now)"
            } else {
                "the ruleset the server compiled for this host"
            };
            match state {
                Ok(TableState::InSync) => Finding::pass(format!("{table} holds {source} (digest {digest})")),
                Ok(TableState::Missing) => Finding::fail(
                    format!("there is no {table}: the network's policy is not enforced on this host"),
                    Some(format!("run `wiremesh fetch {iface}` (or start the daemon), which programs it")),
                ),
                Ok(TableState::Drifted(why)) => Finding::fail(
                    format!("{table} differs from {source}: {why}"),
                    Some(format!("the daemon repairs it at its next sync; `wiremesh fetch {iface}` repairs it now")),
                ),
                Err(NftError::Missing) => Finding::fail(
                    "nft is not installed, so the network's policy cannot be enforced on this host",
                    Some("install Debian's nftables package (apt-get install nftables)".to_owned()),
                ),
                Err(error) => Finding::fail(
                    format!("failed to read {table}: {error}"),
                    Some("run doctor as root".to_owned()),
                ),
            }
        }
    }
}
