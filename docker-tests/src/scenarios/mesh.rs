//! Building blocks of the scenarios: a coordination server with its network, invitations,
//! installed peers with their daemons, and the checks made on them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use wiremesh_shared::config::{ClientConfig, InvitationConfig};

use crate::harness::{wait_until, Daemon, Host, World};

/// The address family of the mesh network (the underlay is always IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn root(self) -> &'static str {
        match self {
            Family::V4 => "10.66.0.0/16",
            Family::V6 => "fd00:66::/48",
        }
    }

    /// The `n`th child CIDR of the root (humans = 1, robots = 2, …).
    pub fn child(self, n: u8) -> String {
        match self {
            Family::V4 => format!("10.66.{n}.0/24"),
            Family::V6 => format!("fd00:66:0:{n}::/64"),
        }
    }
}

pub const LISTEN_PORT: &str = "51820";

/// A server host serving one network.
pub struct Mesh {
    pub family: Family,
    pub server: Host,
    /// The network's name, which is also the server's interface name.
    pub net: String,
    pub serve: Daemon,
}

/// A peer host with the network installed.
pub struct Peer {
    pub host: Host,
    pub iface: String,
    pub ip: IpAddr,
    pub daemon: Option<Daemon>,
}

impl Mesh {
    /// `new` + `add-cidr humans` + `serve` under a restarting supervisor.
    pub fn start(world: &mut World, family: Family) -> Result<Mesh> {
        let server = world.public_host("server")?;
        let net = world.iface("s");
        let endpoint = format!(
            "{}:{LISTEN_PORT}",
            server.address.context("server has no address")?
        );
        server
            .server(&[
                "new",
                "--network-name",
                &net,
                "--network-cidr",
                family.root(),
                "--external-endpoint",
                &endpoint,
                "--listen-port",
                LISTEN_PORT,
            ])?
            .ok()?;
        server
            .server(&[
                "add-cidr",
                &net,
                "--name",
                "humans",
                "--cidr",
                &family.child(1),
                "--parent",
                &net,
                "--yes",
            ])?
            .ok()?;
        let serve = start_serve(&server, &net)?;
        let mesh = Mesh {
            family,
            server,
            net,
            serve,
        };
        mesh.wait_serving()?;
        Ok(mesh)
    }

    /// Waits until the server's interface is up and its API answers (its own `list` works
    /// on the database; the interface shows in `wg show`).
    pub fn wait_serving(&self) -> Result<()> {
        wait_until(
            "the server interface is up",
            Duration::from_secs(20),
            || Ok(self.server.run(&["wg", "show", &self.net])?.success),
        )
    }

    /// Adds a CIDR through the server CLI.
    pub fn add_cidr(&self, name: &str, n: u8) -> Result<()> {
        self.server
            .server(&[
                "add-cidr",
                &self.net,
                "--name",
                name,
                "--cidr",
                &self.family.child(n),
                "--parent",
                &self.net,
                "--yes",
            ])?
            .ok()?;
        Ok(())
    }

    /// Invites a peer through the server CLI; returns the invitation's path.
    pub fn invite(&self, name: &str, cidr: &str, admin: bool, expires: &str) -> Result<PathBuf> {
        let path = self.server.path(&format!("{name}.toml"));
        self.server
            .server(&[
                "add-peer",
                &self.net,
                "--name",
                name,
                "--cidr",
                cidr,
                "--admin",
                if admin { "true" } else { "false" },
                "--auto-ip",
                "--save-config",
                &path.to_string_lossy(),
                "--invite-expires",
                expires,
                "--yes",
            ])?
            .ok()?;
        Ok(path)
    }

    /// Waits until `serve` has put the invitation's key on the server's interface (it picks
    /// up CLI changes within 250 ms), so what follows sees the invitation in place.
    pub fn wait_for_invitation(&self, invitation: &std::path::Path) -> Result<()> {
        let (key, _) = invitation_key(invitation)?;
        wait_until(
            "the server has the invitation's key",
            Duration::from_secs(15),
            || Ok(self.server.wg_peer_keys(&self.net)?.contains(&key)),
        )
    }

    /// `wiremesh install` of `invitation` on `host` as interface `iface`, then the daemon.
    pub fn install(&self, host: &Host, invitation: &std::path::Path, iface: &str) -> Result<Peer> {
        install(host, invitation, iface)
    }
}

/// `wiremesh install` of `invitation` on `host` as interface `iface`, then its daemon —
/// against any server, wiremesh's or innernet's.
pub fn install(host: &Host, invitation: &std::path::Path, iface: &str) -> Result<Peer> {
    install_with_interval(host, invitation, iface, FAST_INTERVAL)
}

/// [`install`] with a daemon syncing every `interval` seconds.
pub fn install_with_interval(
    host: &Host,
    invitation: &std::path::Path,
    iface: &str,
    interval: &str,
) -> Result<Peer> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    host.client(&[
        "--backend",
        "userspace",
        "install",
        "--name",
        iface,
        "--delete-invite",
        "--hosts-path",
        &hosts,
        &invitation.to_string_lossy(),
    ])?
    .ok()?;
    let mut peer = Peer::load(host, iface)?;
    peer.daemon = Some(start_daemon_with_interval(host, iface, interval)?);
    Ok(peer)
}

/// `wiremesh install -` with the invitation on standard input (the way to keep it off the
/// host's disk and every command line), then its daemon. The invitation file is left alone.
pub fn install_from_stdin(host: &Host, invitation: &std::path::Path, iface: &str) -> Result<Peer> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    let argv = host.tool_argv(
        "wiremesh",
        &[
            "--backend",
            "userspace",
            "install",
            "-",
            "--name",
            iface,
            "--hosts-path",
            &hosts,
        ],
    );
    let invitation = invitation.to_string_lossy();
    // `sh` only redirects: the invitation's path is an argument, the program's argv follows.
    let mut full = vec![
        "sh",
        "-c",
        "f=$1; shift; exec \"$@\" < \"$f\"",
        "sh",
        &invitation,
    ];
    full.extend(argv.iter().map(String::as_str));
    host.run(&full)?.ok()?;
    let mut peer = Peer::load(host, iface)?;
    peer.daemon = Some(start_daemon(host, iface)?);
    Ok(peer)
}

/// `wiremesh-server serve` under a supervisor (systemd's Restart=always).
pub fn start_serve(server: &Host, net: &str) -> Result<Daemon> {
    start_serve_with(server, net, &[])
}

/// [`start_serve`] with more options.
pub fn start_serve_with(server: &Host, net: &str, extra: &[&str]) -> Result<Daemon> {
    // The automation API's socket in the host's own directory, not this machine's /run.
    let socket = server.path("api.sock").to_string_lossy().into_owned();
    let mut args = vec![
        "serve",
        net,
        "--backend",
        "userspace",
        "--no-write-hosts",
        "--api-socket",
        &socket,
    ];
    args.extend_from_slice(extra);
    let argv = server.tool_argv("wiremesh-server", &args);
    server.spawn("serve", argv, true)
}

/// The sync interval of the suite's daemons, in seconds: short, so that scenarios do not wait
/// (and below the interval at which daemons use the server's push).
pub const FAST_INTERVAL: &str = "2";

/// `wiremesh up <iface> --daemon` under a supervisor, syncing every [`FAST_INTERVAL`].
pub fn start_daemon(host: &Host, iface: &str) -> Result<Daemon> {
    start_daemon_with_interval(host, iface, FAST_INTERVAL)
}

/// `wiremesh up <iface> --daemon --interval <interval>` under a supervisor.
pub fn start_daemon_with_interval(host: &Host, iface: &str, interval: &str) -> Result<Daemon> {
    let hosts = host.hosts_file().to_string_lossy().into_owned();
    let argv = host.tool_argv(
        "wiremesh",
        &[
            "--backend",
            "userspace",
            "up",
            iface,
            "--daemon",
            "--interval",
            interval,
            "--hosts-path",
            &hosts,
        ],
    );
    host.spawn(&format!("up-{iface}"), argv, true)
}

impl Peer {
    /// Reads an installed peer's tunnel address from its config.
    pub fn load(host: &Host, iface: &str) -> Result<Peer> {
        let path = host.config_dir("wiremesh").join(format!("{iface}.conf"));
        let config = ClientConfig::from_toml_str(&host.read(&path)?).map_err(|e| anyhow!("{e}"))?;
        Ok(Peer {
            host: host.clone(),
            iface: iface.to_owned(),
            ip: config.interface.address.addr(),
            daemon: None,
        })
    }

    /// Public keys on this peer's interface.
    pub fn wg_keys(&self) -> Result<Vec<String>> {
        self.host.wg_peer_keys(&self.iface)
    }

    /// Whether `other` is configured on this peer's interface.
    pub fn sees(&self, other: &Peer) -> Result<bool> {
        let key = other.public_key()?;
        self.sees_key(&key)
    }

    /// Whether the peer with public key `key` is configured on this peer's interface.
    pub fn sees_key(&self, key: &str) -> Result<bool> {
        Ok(self.wg_keys()?.contains(&key.to_owned()))
    }

    /// This peer's public key, from its interface.
    pub fn public_key(&self) -> Result<String> {
        let dump = self.host.wg_dump(&self.iface)?;
        let first = dump.lines().next().context("empty wg dump")?;
        Ok(first
            .split('\t')
            .nth(1)
            .context("no public key in wg dump")?
            .to_owned())
    }

    /// Checks that this peer's interface holds exactly the peers the server last told it it
    /// may see (the enabled peers of its peer cache, which is the server's `/v1/user/state`
    /// answer), itself excepted.
    pub fn interface_matches_server_view(&self) -> Result<()> {
        let cache_path = self
            .host
            .data_dir("wiremesh")
            .join(format!("{}.json", self.iface));
        let cache =
            wiremesh_shared::config::PeerCache::from_json_str(&self.host.read(&cache_path)?)
                .map_err(|e| anyhow!("{e}"))?;
        let own = self.public_key()?;
        let mut allowed: Vec<String> = cache
            .peers
            .iter()
            .filter(|p| !p.is_disabled)
            .map(|p| p.public_key.to_base64())
            .filter(|key| *key != own)
            .collect();
        allowed.sort();
        let mut configured = self.wg_keys()?;
        configured.sort();
        anyhow::ensure!(
            configured == allowed,
            "{}'s interface holds {configured:?}, but the server lets it see {allowed:?}",
            self.host.name
        );
        Ok(())
    }
}

/// The temporary public key an invitation will use until it is redeemed.
pub fn invitation_key(path: &std::path::Path) -> Result<(String, IpAddr)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let invitation = InvitationConfig::from_toml_str(&text).map_err(|e| anyhow!("{e}"))?;
    Ok((
        invitation.interface.private_key.public_key().to_base64(),
        invitation.interface.address.addr(),
    ))
}

impl Mesh {
    /// The server's tunnel address: the first host address of the root CIDR.
    pub fn server_ip(&self) -> Result<IpAddr> {
        let root: ipnet::IpNet = self.family.root().parse()?;
        Ok(wiremesh_shared::alloc::first_free_ip(
            &root,
            &Default::default(),
        )?)
    }
}
