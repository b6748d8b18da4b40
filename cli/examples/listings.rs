//! Prints the seeded test network as `wiremesh-server list` and `wiremesh list-peers` would,
//! coloured when standard output is a terminal (and `NO_COLOR` is unset).
//!
//! `cargo run -p wiremesh-cli --example listings`

use std::time::SystemTime;

use wiremesh_cli::listing::{render_associations, render_peer_table, render_tree};
use wiremesh_cli::Style;
use wiremesh_shared::fixture::{Family, Fixture, DEVELOPER, USER};
use wiremesh_shared::listing::{peer_entries, PeerNotes};

fn main() {
    let mut network = Fixture::new(Family::V4);
    network.associate(DEVELOPER, USER);
    let style = Style::for_stdout();
    let now = SystemTime::now();
    println!(
        "{}",
        render_tree(
            &network.cidrs,
            &network.peers,
            &PeerNotes::default(),
            now,
            style
        )
    );
    println!(
        "{}",
        render_peer_table(
            &peer_entries(&network.peers, &network.cidrs, &PeerNotes::default(), now),
            style
        )
    );
    print!(
        "{}",
        render_associations(&network.associations, &network.cidrs)
    );
}
