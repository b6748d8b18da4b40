//! The text listings both binaries print: the CIDR tree with its peers (`wiremesh-server
//! list`), the aligned peer table (`wiremesh list-peers`) and associations. Their `--json`
//! shapes are [`wiremesh_shared::listing`]'s; this module only lays them out for a terminal.
//!
//! Order is by address (CIDRs and peers), so the output changes only when the network does.

use std::fmt::Write;
use std::time::SystemTime;

use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::listing::{invite_state, InviteState, PeerEntry, PeerNotes};
use wiremesh_shared::wire::{Association, Cidr, Peer};
use wiremesh_shared::{CidrId, Timestring};

use crate::style::{pad, Style};

/// The CIDR tree: one line per CIDR, `<name> <network>`, indented two spaces per level
/// below the root, and under each CIDR its peers as `- <name> <ip>` with flags in
/// parentheses (`admin`, `device via <hub>`, `stale config`, `disabled`, `invite pending`,
/// `invite expired`). CIDR names are bold and flags coloured when `style` says so.
pub fn render_tree(
    cidrs: &[Cidr],
    peers: &[Peer],
    notes: &PeerNotes,
    now: SystemTime,
    style: Style,
) -> String {
    let tree = CidrTree::new(cidrs);
    let mut out = String::new();
    let mut roots: Vec<&Cidr> = cidrs.iter().filter(|c| c.parent.is_none()).collect();
    roots.sort_by_key(|c| c.cidr);
    for root in roots {
        render_cidr(&tree, (peers, notes), root.id, 0, (now, style), &mut out);
    }
    out
}

fn render_cidr(
    tree: &CidrTree<'_>,
    (peers, notes): (&[Peer], &PeerNotes),
    id: CidrId,
    depth: usize,
    (now, style): (SystemTime, Style),
    out: &mut String,
) {
    let Some(cidr) = tree.get(id) else { return };
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "{indent}{} {}", style.bold(&cidr.name), cidr.cidr);
    let mut members: Vec<&Peer> = peers.iter().filter(|p| p.cidr_id == id).collect();
    members.sort_by_key(|p| p.ip);
    for peer in members {
        let mut flags = Vec::new();
        if peer.is_admin {
            flags.push(style.cyan("admin"));
        }
        if let Some(device) = notes.devices.iter().find(|d| d.peer == peer.id) {
            flags.push(style.cyan(&format!("device via {}", device.hub)));
            if device.stale {
                flags.push(style.yellow("stale config"));
            }
        }
        if let Some(secs) = notes.ephemeral.get(&peer.id) {
            flags.push(style.yellow(&format!("ephemeral {}", Timestring::from_secs(*secs))));
        }
        if peer.is_disabled {
            flags.push(style.red("disabled"));
        }
        match invite_state(peer, now) {
            InviteState::Redeemed => {}
            InviteState::Pending => flags.push(style.yellow("invite pending")),
            InviteState::Expired => flags.push(style.red("invite expired")),
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", flags.join(", "))
        };
        let _ = writeln!(out, "{indent}  - {} {}{flags}", peer.name, peer.ip);
    }
    let mut children: Vec<&Cidr> = tree
        .children(id)
        .iter()
        .filter_map(|child| tree.get(*child))
        .collect();
    children.sort_by_key(|c| c.cidr);
    for child in children {
        render_cidr(tree, (peers, notes), child.id, depth + 1, (now, style), out);
    }
}

/// One line per association: `<id>: <name1> <=> <name2>` (innernet's format).
pub fn render_associations(associations: &[Association], cidrs: &[Cidr]) -> String {
    let name = |id: CidrId| {
        cidrs
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("<CIDR {id}>"), |c| c.name.clone())
    };
    let mut out = String::new();
    for association in associations {
        let _ = writeln!(
            out,
            "{}: {} <=> {}",
            association.id,
            name(association.cidr_id_1),
            name(association.cidr_id_2)
        );
    }
    out
}

/// `list-peers`: one aligned line per peer, `<ip> <name> <cidr>` and its flags in brackets
/// (`admin`, `disabled`, `invited`, `invite expired`); flags are coloured when `style` is.
pub fn render_peer_table(entries: &[PeerEntry], style: Style) -> String {
    let ip_width = entries
        .iter()
        .map(|e| e.ip.to_string().len())
        .max()
        .unwrap_or(0);
    let name_width = entries
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0);
    let cidr_text = |e: &PeerEntry| e.cidr.clone().unwrap_or_else(|| format!("#{}", e.cidr_id));
    let cidr_width = entries
        .iter()
        .map(|e| cidr_text(e).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for entry in entries {
        let mut flags = Vec::new();
        if entry.is_admin {
            flags.push(style.cyan("[admin]"));
        }
        if entry.is_disabled {
            flags.push(style.red("[disabled]"));
        }
        match entry.invite {
            InviteState::Redeemed => {}
            InviteState::Pending => flags.push(style.yellow("[invited]")),
            InviteState::Expired => flags.push(style.red("[invite expired]")),
        }
        let mut line = format!(
            "{}  {}  {}",
            pad(&entry.ip.to_string(), ip_width),
            style.bold(&pad(&entry.name, name_width)),
            pad(&cidr_text(entry), cidr_width),
        );
        if !flags.is_empty() {
            line.push_str("  ");
            line.push_str(&flags.join(" "));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use wiremesh_shared::fixture::{Family, Fixture};
    use wiremesh_shared::listing::peer_entries;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// evilcorp with humans (alice admin, bob disabled) and robots (r2 invited until 100 s,
    /// c3po disabled with an invitation that lapsed at 50 s), humans and robots associated.
    fn network() -> Fixture {
        let mut fx = Fixture::empty(Family::V4);
        let root = fx.add_cidr("evilcorp", "10.66.0.0/16", None);
        let infra = fx.add_cidr("innernet-server", "10.66.0.1/32", Some(root));
        let robots = fx.add_cidr("robots", "10.66.2.0/24", Some(root));
        let humans = fx.add_cidr("humans", "10.66.1.0/24", Some(root));
        let server = fx.add_peer("innernet-server", "10.66.0.1", infra);
        fx.peer_mut(server).contents.is_admin = true;
        let bob = fx.add_peer("bob", "10.66.1.2", humans);
        fx.peer_mut(bob).contents.is_disabled = true;
        let alice = fx.add_peer("alice", "10.66.1.1", humans);
        fx.peer_mut(alice).contents.is_admin = true;
        let r2 = fx.add_peer("r2", "10.66.2.1", robots);
        fx.peer_mut(r2).contents.is_redeemed = false;
        fx.peer_mut(r2).contents.invite_expires = Some(at(100));
        let c3po = fx.add_peer("c3po", "10.66.2.2", robots);
        fx.peer_mut(c3po).contents.is_redeemed = false;
        fx.peer_mut(c3po).contents.is_disabled = true;
        fx.peer_mut(c3po).contents.invite_expires = Some(at(50));
        fx.associate(humans, robots);
        fx
    }

    #[test]
    fn tree_is_indented_sorted_and_flagged() {
        let fx = network();
        let expected = "\
evilcorp 10.66.0.0/16
  innernet-server 10.66.0.1/32
    - innernet-server 10.66.0.1 (admin)
  humans 10.66.1.0/24
    - alice 10.66.1.1 (admin)
    - bob 10.66.1.2 (disabled)
  robots 10.66.2.0/24
    - r2 10.66.2.1 (invite pending)
    - c3po 10.66.2.2 (disabled, invite expired)
";
        assert_eq!(
            render_tree(
                &fx.cidrs,
                &fx.peers,
                &PeerNotes::default(),
                at(60),
                Style::PLAIN
            ),
            expected
        );
        let coloured = render_tree(
            &fx.cidrs,
            &fx.peers,
            &PeerNotes::default(),
            at(60),
            Style::COLOUR,
        );
        assert!(coloured.contains("(\x1b[31mdisabled\x1b[0m)"), "{coloured}");
        let late = render_tree(
            &fx.cidrs,
            &fx.peers,
            &PeerNotes::default(),
            at(1000),
            Style::PLAIN,
        );
        assert!(late.contains("r2 10.66.2.1 (invite expired)"), "{late}");
    }

    #[test]
    fn associations_name_both_cidrs() {
        let fx = network();
        assert_eq!(
            render_associations(&fx.associations, &fx.cidrs),
            "1: humans <=> robots\n"
        );
        assert_eq!(
            render_associations(&fx.associations, &[]),
            "1: <CIDR 4> <=> <CIDR 3>\n"
        );
    }

    #[test]
    fn peer_table_is_aligned_and_coloured_only_on_request() {
        let fx = network();
        let entries = peer_entries(&fx.peers, &fx.cidrs, &PeerNotes::default(), at(60));
        let expected = "\
10.66.0.1  innernet-server  innernet-server  [admin]
10.66.1.1  alice            humans           [admin]
10.66.1.2  bob              humans           [disabled]
10.66.2.1  r2               robots           [invited]
10.66.2.2  c3po             robots           [disabled] [invite expired]
";
        assert_eq!(render_peer_table(&entries, Style::PLAIN), expected);
        let coloured = render_peer_table(&entries, Style::COLOUR);
        assert!(coloured.contains("\x1b[31m[disabled]\x1b[0m"), "{coloured}");
        assert_eq!(render_peer_table(&[], Style::COLOUR), "");
    }
}
