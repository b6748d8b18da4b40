//! The quick start: a server and two peers, each in its own network namespace, left running
//! so a newcomer can look around; and the teardown that removes them again.

use anyhow::{Context as _, Result};

use crate::harness::{Settings, World};
use crate::scenarios::mesh::{Family, Mesh};

/// Namespaces are `wmdemo-*`, interfaces `mdemo*`.
const TAG: &str = "demo";

pub fn up(settings: &Settings) -> Result<()> {
    down()?;
    let mut world = World::with_tag(settings, "demo", TAG)?;
    let result = build(&mut world, settings);
    match result {
        Ok(()) => {
            world.keep_quietly();
            Ok(())
        }
        Err(error) => Err(error.context(world.report())),
    }
}

fn build(world: &mut World, settings: &Settings) -> Result<()> {
    println!("starting the coordination server (namespace wmdemo-server)…");
    let mesh = Mesh::start(world, Family::V4)?;
    let mut peers = Vec::new();
    for (name, admin) in [("alice", true), ("bob", false)] {
        println!("inviting {name} and installing the invitation (namespace wmdemo-{name})…");
        let invitation = mesh.invite(name, "humans", admin, "1d")?;
        let host = world.public_host(name)?;
        let iface = world.iface(&name[..1]);
        peers.push(mesh.install(&host, &invitation, &iface)?);
    }
    let (alice, bob) = (&peers[0], &peers[1]);
    crate::harness::wait_until("alice sees bob", std::time::Duration::from_secs(20), || {
        alice.sees(bob)
    })?;
    let tree = alice
        .host
        .client(&["--backend", "userspace", "list", "--tree", &alice.iface])?
        .ok()?
        .stdout;
    println!(
        "\n$ wiremesh list --tree {}   (on alice)\n{tree}",
        alice.iface
    );
    let ping = alice
        .host
        .ok(&["ping", "-c", "3", &bob.ip.to_string()])?
        .stdout;
    println!(
        "$ ping -c 3 {}   (alice → bob, through the mesh)\n{ping}",
        bob.ip
    );
    let bin = settings.bin_dir.display();
    let dir = world.shared.dir.display();
    println!(
        "The demo mesh is running. Try, as root:\n\
         \x20 ip netns exec wmdemo-bob ping {alice_ip}\n\
         \x20 ip netns exec wmdemo-alice {bin}/wiremesh -c {dir}/alice/wiremesh/etc -d {dir}/alice/wiremesh/lib --backend userspace list\n\
         \x20 ip netns exec wmdemo-server {bin}/wiremesh-server -c {dir}/server/wiremesh-server/etc -d {dir}/server/wiremesh-server/lib list {net}\n\
         \x20 wg show {alice_iface}\n\
         Logs are in {dir}. Tear it all down with: sudo scripts/demo.sh down",
        alice_ip = alice.ip,
        alice_iface = alice.iface,
        net = mesh.net,
    );
    Ok(())
}

/// Removes every demo namespace, its processes and its WireGuard sockets.
pub fn down() -> Result<()> {
    let listing = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .context("ip netns list")?;
    let text = String::from_utf8_lossy(&listing.stdout).into_owned();
    let mut removed = 0;
    for ns in text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("wmdemo-"))
    {
        crate::harness::Driver::destroy_host(&crate::harness::NetnsDriver, ns);
        removed += 1;
    }
    for dir in ["/var/run/wireguard", "/run/wireguard"] {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with("mdemo") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join("wiremesh-demo"));
    if removed > 0 {
        println!("removed the demo mesh ({removed} namespaces) and its files");
    }
    Ok(())
}
