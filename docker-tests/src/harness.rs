//! The harness: a "world" of hosts joined by a switch, NAT routers, daemons, and cleanup
//! that runs on success, on failure and on Ctrl-C.
//!
//! Topology: every world has a switch (a host holding a Linux bridge) that plays the public
//! internet, 192.0.2.0/24. A public host gets one veth into the switch. A NATed host sits
//! behind its own router host: the router has a public leg on the switch and a private
//! 10.201.N.0/24 leg to the host, and masquerades with nftables.

pub mod driver;
pub mod engine;
pub mod host;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, Result};

pub use driver::{Driver, NetnsDriver};
pub use host::{wait_until, Host, Ran};

/// State shared by a world and its hosts and daemons.
pub struct Shared {
    pub driver: Arc<dyn Driver>,
    /// Directory of this world's files and logs.
    pub dir: PathBuf,
    /// Where the wiremesh binaries are.
    pub bin_dir: PathBuf,
    /// The userspace WireGuard program.
    pub userspace: String,
    /// Short unique tag of this world, part of every namespace and interface name.
    pub tag: String,
    hosts: Mutex<Vec<String>>,
    daemons: Mutex<Vec<Daemon>>,
    interfaces: Mutex<Vec<String>>,
}

pub(crate) struct DaemonState {
    pub(crate) child: Option<Child>,
    pub(crate) stopped: bool,
}

/// A process started on a host; see [`Host::spawn`].
#[derive(Clone)]
pub struct Daemon {
    pub label: String,
    pub log: PathBuf,
    state: Arc<Mutex<DaemonState>>,
}

impl Daemon {
    fn with_child<T>(&self, f: impl FnOnce(&mut DaemonState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sends `signal` and waits up to 10 s for the exit; SIGKILL after that. The supervisor
    /// (if any) stops restarting it.
    pub fn stop_with(&self, signal: i32) -> Option<i32> {
        self.with_child(|state| {
            state.stopped = true;
            let child = state.child.as_mut()?;
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, signal) };
            for _ in 0..100 {
                if let Ok(Some(status)) = child.try_wait() {
                    return status.code();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            child.wait().ok().and_then(|s| s.code())
        })
    }

    /// SIGTERM, then wait.
    pub fn stop(&self) -> Option<i32> {
        self.stop_with(libc::SIGTERM)
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&self) {
        self.stop_with(libc::SIGKILL);
    }

    /// The process id of the running process (a restarted one gets a new id); the benchmark
    /// reads its CPU time and memory.
    #[allow(dead_code)]
    pub fn pid(&self) -> Option<u32> {
        self.with_child(|state| state.child.as_ref().map(Child::id))
    }

    /// Whether the process is still running.
    pub fn running(&self) -> bool {
        self.with_child(|state| matches!(state.child.as_mut().map(Child::try_wait), Some(Ok(None))))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Everything registered for cleanup by any world, for the Ctrl-C path.
static LIVE: OnceLock<Mutex<Vec<Arc<Shared>>>> = OnceLock::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Run on SIGINT/SIGTERM before the worlds are cleaned up (the parallel runner's: stop its
/// children, which clean up their own worlds).
static INTERRUPT_HOOK: OnceLock<fn()> = OnceLock::new();

/// Sets what runs first on SIGINT/SIGTERM.
pub fn on_interrupt(hook: fn()) {
    let _ = INTERRUPT_HOOK.set(hook);
}

/// Whether SIGINT/SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Installs SIGINT/SIGTERM handling: a watcher thread cleans up every live world and exits.
pub fn install_interrupt_cleanup() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    std::thread::spawn(|| loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            eprintln!("\ninterrupted: removing namespaces, links and processes");
            if let Some(hook) = INTERRUPT_HOOK.get() {
                hook();
            }
            if let Some(live) = LIVE.get() {
                for shared in live.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    cleanup(shared);
                }
            }
            std::process::exit(130);
        }
        std::thread::sleep(Duration::from_millis(100));
    });
}

fn cleanup(shared: &Shared) {
    for daemon in shared
        .daemons
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        daemon.stop();
    }
    for host in shared
        .hosts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .rev()
    {
        shared.driver.destroy_host(host);
    }
    // Userspace sockets outlive their namespace only until the implementation notices; make
    // sure none of ours are left.
    for iface in shared
        .interfaces
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        for dir in ["/var/run/wireguard", "/run/wireguard"] {
            let _ = std::fs::remove_file(format!("{dir}/{iface}.sock"));
            let _ = std::fs::remove_file(format!("{dir}/{iface}.name"));
        }
    }
}

/// Where the built binaries and the userspace implementation come from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bin_dir: PathBuf,
    pub userspace: String,
    pub work_dir: PathBuf,
    /// Keep namespaces and files after a failure, for poking at.
    pub keep: bool,
}

/// A set of hosts for one scenario.
pub struct World {
    pub shared: Arc<Shared>,
    switch: String,
    next_public: u8,
    next_private: u8,
    next_port: u8,
    hosts: Vec<Host>,
    keep: bool,
}

impl World {
    /// Creates the switch of a new world named after `scenario`.
    pub fn new(settings: &Settings, scenario: &str) -> Result<World> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{:03x}{:x}", std::process::id() & 0xfff, n & 0xf);
        Self::with_tag(settings, scenario, &tag)
    }

    /// A world whose namespaces are `wm<tag>-*` and interfaces `m<tag>*` (`tag` ≤ 4 bytes).
    pub fn with_tag(settings: &Settings, scenario: &str, tag: &str) -> Result<World> {
        let tag = tag.to_owned();
        let dir = settings.work_dir.join(format!("{scenario}-{tag}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let shared = Arc::new(Shared {
            driver: Arc::new(NetnsDriver),
            dir,
            bin_dir: settings.bin_dir.clone(),
            userspace: settings.userspace.clone(),
            tag: tag.clone(),
            hosts: Mutex::new(Vec::new()),
            daemons: Mutex::new(Vec::new()),
            interfaces: Mutex::new(Vec::new()),
        });
        LIVE.get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared.clone());
        let switch = format!("wm{tag}-sw");
        let world = World {
            shared,
            switch: switch.clone(),
            next_public: 1,
            next_private: 1,
            next_port: 0,
            hosts: Vec::new(),
            keep: false,
        };
        world.add_ns(&switch)?;
        world.ns(&switch, &["ip", "link", "add", "br0", "type", "bridge"])?;
        world.ns(&switch, &["ip", "link", "set", "br0", "up"])?;
        Ok(world)
    }

    fn add_ns(&self, id: &str) -> Result<()> {
        self.shared.driver.create_host(id)?;
        self.shared
            .hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.to_owned());
        Ok(())
    }

    fn ns(&self, id: &str, argv: &[&str]) -> Result<String> {
        let mut full = vec!["ip", "netns", "exec", id];
        full.extend_from_slice(argv);
        driver::run_plain(&full)
    }

    /// A WireGuard interface name unique to this world (≤ 15 bytes; `label` ≤ 8 bytes).
    pub fn iface(&self, label: &str) -> String {
        let name = format!("m{}{label}", self.shared.tag);
        assert!(name.len() <= 15, "interface name {name} too long");
        self.shared
            .interfaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    fn new_host(&mut self, name: &str, address: Option<IpAddr>) -> Result<Host> {
        let id = format!("wm{}-{name}", self.shared.tag);
        let dir = self.shared.dir.join(name);
        std::fs::create_dir_all(&dir)?;
        let host = Host {
            name: name.to_owned(),
            id,
            address,
            dir,
            shared: self.shared.clone(),
            extra_env: Arc::default(),
        };
        self.hosts.push(host.clone());
        Ok(host)
    }

    /// Plugs namespace `id` into the switch with `address`/24 on a veth named `dev`.
    fn plug(&self, id: &str, dev: &str, address: Ipv4Addr) -> Result<()> {
        let outside = format!("v{}{}", self.shared.tag, address.octets()[3]);
        // Both ends are created directly in their namespaces: `dev` (eth0) would clash with
        // this machine's own links.
        driver::run_plain(&[
            "ip",
            "link",
            "add",
            "name",
            &outside,
            "netns",
            &self.switch,
            "type",
            "veth",
            "peer",
            "name",
            dev,
            "netns",
            id,
        ])?;
        self.ns(
            &self.switch,
            &["ip", "link", "set", &outside, "master", "br0", "up"],
        )?;
        self.ns(
            id,
            &["ip", "addr", "add", &format!("{address}/24"), "dev", dev],
        )?;
        self.ns(id, &["ip", "link", "set", dev, "up"])?;
        Ok(())
    }

    /// Drops `percent` % of the UDP packets crossing the switch (the public network), in
    /// both directions and at random, with an nftables rule on the switch's bridge (`tc
    /// netem` needs `sch_netem`, which this kernel lacks); 0 removes the rule. Returns how
    /// many packets the rule dropped before it was replaced or removed.
    pub fn set_underlay_loss(&self, percent: u8) -> Result<u64> {
        let dropped = self
            .ns(&self.switch, &["nft", "list", "table", "bridge", "wmloss"])
            .ok()
            .and_then(|listing| {
                let after = listing.split("counter packets ").nth(1)?;
                after.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or(0);
        let _ = self.ns(
            &self.switch,
            &["nft", "delete", "table", "bridge", "wmloss"],
        );
        if percent > 0 {
            let rules = format!(
                "table bridge wmloss {{\n chain forward {{\n  type filter hook forward priority filter; policy accept;\n  meta l4proto udp numgen random mod 100 < {percent} counter drop\n }}\n}}\n"
            );
            let file = self.shared.dir.join("loss.nft");
            std::fs::write(&file, rules)?;
            self.ns(&self.switch, &["nft", "-f", &file.to_string_lossy()])?;
        }
        Ok(dropped)
    }

    /// The world's directory (hosts' files, logs).
    pub fn dir(&self) -> &std::path::Path {
        &self.shared.dir
    }

    /// A host on the public network (192.0.2.N).
    pub fn public_host(&mut self, name: &str) -> Result<Host> {
        let address = Ipv4Addr::new(192, 0, 2, self.next_public);
        self.next_public += 1;
        let host = self.new_host(name, Some(address.into()))?;
        self.add_ns(&host.id)?;
        self.plug(&host.id, "eth0", address)?;
        Ok(host)
    }

    /// A host on a LAN behind `router`: a veth pair between the two, `router_address` on the
    /// router's end (`dev`), `address` on the host's. The host has no route beyond the LAN:
    /// it runs no WireGuard and knows nothing of the mesh. IPv6 addresses skip duplicate
    /// address detection, so they work at once.
    pub fn lan_host(
        &mut self,
        name: &str,
        router: &Host,
        dev: &str,
        router_address: ipnet::IpNet,
        address: ipnet::IpNet,
    ) -> Result<Host> {
        let host = self.new_host(name, Some(address.addr()))?;
        self.add_ns(&host.id)?;
        let inside = format!("n{}{}", self.shared.tag, self.hosts.len());
        driver::run_plain(&[
            "ip", "link", "add", "name", dev, "netns", &router.id, "type", "veth", "peer", "name",
            &inside, "netns", &host.id,
        ])?;
        for (id, link, addr) in [
            (&router.id, dev, router_address),
            (&host.id, inside.as_str(), address),
        ] {
            let text = addr.to_string();
            let mut argv = vec!["ip", "addr", "add", &text, "dev", link];
            if addr.addr().is_ipv6() {
                argv.push("nodad");
            }
            self.ns(id, &argv)?;
            self.ns(id, &["ip", "link", "set", link, "up"])?;
        }
        self.ns(&host.id, &["ip", "link", "set", "lo", "up"])?;
        Ok(host)
    }

    /// A LAN of its own: a namespace holding a bridge that [`World::plug_into_lan`] connects
    /// hosts to. Returns the LAN's namespace.
    pub fn lan(&mut self, name: &str) -> Result<String> {
        let id = format!("wm{}-{name}", self.shared.tag);
        self.add_ns(&id)?;
        self.ns(&id, &["ip", "link", "add", "br0", "type", "bridge"])?;
        self.ns(&id, &["ip", "link", "set", "br0", "up"])?;
        Ok(id)
    }

    /// Connects `host` to the LAN `lan` with `address` on a veth named `dev` (IPv6 without
    /// duplicate address detection).
    pub fn plug_into_lan(
        &mut self,
        lan: &str,
        host: &Host,
        dev: &str,
        address: ipnet::IpNet,
    ) -> Result<()> {
        self.next_port += 1;
        let outside = format!("b{}{}", self.shared.tag, self.next_port);
        driver::run_plain(&[
            "ip", "link", "add", "name", &outside, "netns", lan, "type", "veth", "peer", "name",
            dev, "netns", &host.id,
        ])?;
        self.ns(lan, &["ip", "link", "set", &outside, "master", "br0", "up"])?;
        let text = address.to_string();
        let mut argv = vec!["ip", "addr", "add", &text, "dev", dev];
        if address.addr().is_ipv6() {
            argv.push("nodad");
        }
        self.ns(&host.id, &argv)?;
        self.ns(&host.id, &["ip", "link", "set", dev, "up"])?;
        Ok(())
    }

    /// A host that lives on LAN `lan` only (no WireGuard, no route beyond the LAN).
    pub fn host_on_lan(&mut self, name: &str, lan: &str, address: ipnet::IpNet) -> Result<Host> {
        let host = self.new_host(name, Some(address.addr()))?;
        self.add_ns(&host.id)?;
        self.ns(&host.id, &["ip", "link", "set", "lo", "up"])?;
        self.plug_into_lan(lan, &host, "eth0", address)?;
        Ok(host)
    }

    /// A host behind its own masquerading NAT router; returns the host.
    pub fn natted_host(&mut self, name: &str) -> Result<Host> {
        let public = Ipv4Addr::new(192, 0, 2, self.next_public);
        self.next_public += 1;
        let k = self.next_private;
        self.next_private += 1;
        let router_id = format!("wm{}-r{k}", self.shared.tag);
        self.add_ns(&router_id)?;
        self.plug(&router_id, "wan", public)?;
        let (lan_router, lan_host) = (format!("10.201.{k}.1"), Ipv4Addr::new(10, 201, k, 2));
        let host = self.new_host(name, Some(lan_host.into()))?;
        self.add_ns(&host.id)?;
        let (a, b) = (
            format!("l{}{k}a", self.shared.tag),
            format!("l{}{k}b", self.shared.tag),
        );
        driver::run_plain(&[
            "ip", "link", "add", "name", &a, "netns", &router_id, "type", "veth", "peer", "name",
            &b, "netns", &host.id,
        ])?;
        self.ns(
            &router_id,
            &["ip", "addr", "add", &format!("{lan_router}/24"), "dev", &a],
        )?;
        self.ns(&router_id, &["ip", "link", "set", &a, "up"])?;
        self.ns(&router_id, &["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
        // A typical home router: masquerade out of the WAN, and a stateful firewall that drops
        // unsolicited packets coming in. The drop matters for hole punching: an unsolicited
        // packet that got through conntrack would be recorded, and the host's later outbound
        // packet to the same address would then clash with it and be given another port.
        let rules = "table ip nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname \"wan\" masquerade\n }\n}\n\
                     table inet filter {\n chain input {\n  type filter hook input priority filter; policy accept;\n  iifname \"wan\" ct state new drop\n }\n\
                     chain forward {\n  type filter hook forward priority filter; policy accept;\n  iifname \"wan\" ct state new drop\n }\n}\n";
        let rules_file = self.shared.dir.join(format!("nat-{k}.nft"));
        std::fs::write(&rules_file, rules)?;
        self.ns(&router_id, &["nft", "-f", &rules_file.to_string_lossy()])?;
        self.ns(
            &host.id,
            &["ip", "addr", "add", &format!("{lan_host}/24"), "dev", &b],
        )?;
        self.ns(&host.id, &["ip", "link", "set", &b, "up"])?;
        self.ns(
            &host.id,
            &["ip", "route", "add", "default", "via", &lan_router],
        )?;
        Ok(host)
    }

    /// Everything a person needs to see why a scenario failed: every daemon's log and every
    /// host's WireGuard state.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for daemon in self
            .shared
            .daemons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let log = daemon.log_text();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            out.push_str(&format!(
                "\n--- log of {} (last {} lines) ---\n",
                daemon.label,
                tail.len()
            ));
            for line in tail.iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        let interfaces = self
            .shared
            .interfaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // Userspace sockets live in one directory for all namespaces: any host can show any
        // interface, so each is shown once.
        if let Some(host) = self.hosts.first() {
            for iface in &interfaces {
                if let Ok(ran) = host.run(&["wg", "show", iface]) {
                    if ran.success && !ran.stdout.is_empty() {
                        out.push_str(&format!("\n--- wg show {iface} ---\n{}", ran.stdout));
                    }
                }
            }
        }
        out
    }
}

impl World {
    /// Leaves this world's namespaces, processes and files in place when it is dropped,
    /// without a word (the demo).
    pub fn keep_quietly(&mut self) {
        self.keep = true;
    }

    /// Leaves this world's namespaces, processes and files in place when it is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
        eprintln!(
            "keeping world {} (namespaces wm{}-*) for inspection",
            self.shared.dir.display(),
            self.shared.tag
        );
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        cleanup(&self.shared);
        if let Some(live) = LIVE.get() {
            live.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|s| !Arc::ptr_eq(s, &self.shared));
        }
    }
}
