//! The fleet's WireGuard side: one TUN device carrying every fleet address, and one UDP
//! socket to the server's endpoint. Each identity has its own `boringtun` [`Tunn`] (a sans-IO
//! WireGuard state machine); packets from the TUN are encrypted by the identity their source
//! address belongs to, datagrams from the server are handed to the identity named by the
//! receiver index in their header (each `Tunn` is created with its position as index, which
//! boringtun puts in the upper 24 bits of its session indexes).
//!
//! Three threads: TUN → UDP, UDP → TUN, and a timer tick for every `Tunn` (keepalives,
//! rekeying, handshake retries). The kernel's TCP over the TUN serves the simulated daemons.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use boringtun::noise::{Tunn, TunnResult};
use boringtun::x25519::{PublicKey, StaticSecret};

/// Name of the fleet's TUN device (in the fleet's own namespace).
pub const TUN_NAME: &str = "fleet0";
/// The tunnel MTU, as a WireGuard interface has by default.
const MTU: usize = 1420;
/// Room for any datagram or packet.
const BUF: usize = 65536;

/// Counters of the fleet's WireGuard traffic.
#[derive(Debug, Default)]
pub struct Counters {
    /// UDP payload bytes sent to and received from the server.
    pub udp_tx: AtomicU64,
    pub udp_rx: AtomicU64,
    /// Datagrams that matched no identity or failed to decrypt.
    pub dropped: AtomicU64,
    /// Handshake initiations from the server (answered by the identity they are for).
    pub initiations: AtomicU64,
}

pub struct Tunnel {
    tun: File,
    udp: UdpSocket,
    server: SocketAddr,
    tunns: Vec<Mutex<Tunn>>,
    by_address: HashMap<Ipv4Addr, usize>,
    pub counters: Counters,
    stop: AtomicBool,
    /// Handshake initiations from the server, handed to their own thread: finding the
    /// identity means trying every one, which must not hold up the data path.
    initiations: Mutex<Option<std::sync::mpsc::SyncSender<Vec<u8>>>>,
}

/// Opens `/dev/net/tun` as [`TUN_NAME`] (IFF_TUN | IFF_NO_PI).
fn open_tun() -> Result<File> {
    let file = File::options()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .context("open /dev/net/tun")?;
    #[repr(C)]
    struct IfReq {
        name: [u8; libc::IFNAMSIZ],
        flags: libc::c_short,
        pad: [u8; 22],
    }
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short,
        pad: [0; 22],
    };
    req.name[..TUN_NAME.len()].copy_from_slice(TUN_NAME.as_bytes());
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    // SAFETY: TUNSETIFF reads an ifreq, which `req` is laid out as; the fd is open.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req) };
    if rc < 0 {
        bail!("TUNSETIFF: {}", std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Sets a socket buffer size beyond the sysctl maximum (root only; best effort).
fn force_buffer(socket: &UdpSocket, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: setsockopt with a c_int value of the right size on an open socket.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Runs `ip` with `commands` as its batch input.
pub fn ip_batch(commands: &str) -> Result<()> {
    let mut child = std::process::Command::new("ip")
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("ip -batch")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(commands.as_bytes())?;
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "ip -batch failed: {status}");
    Ok(())
}

impl Tunnel {
    /// Creates the TUN with every identity's address and a route to `server_ip` through it,
    /// and the tunnels to the server; nothing runs until [`Tunnel::start`].
    pub fn new(
        identities: &[([u8; 32], Ipv4Addr)],
        server_key: [u8; 32],
        server: SocketAddr,
        server_ip: Ipv4Addr,
    ) -> Result<Arc<Tunnel>> {
        let tun = open_tun()?;
        let mut batch = format!("link set {TUN_NAME} mtu {MTU} up\n");
        for (_, ip) in identities {
            batch.push_str(&format!("addr add {ip}/32 dev {TUN_NAME}\n"));
        }
        batch.push_str(&format!("route add {server_ip}/32 dev {TUN_NAME}\n"));
        ip_batch(&batch)?;
        let udp = UdpSocket::bind("0.0.0.0:0")?;
        force_buffer(&udp, libc::SO_RCVBUFFORCE, 32 << 20);
        force_buffer(&udp, libc::SO_SNDBUFFORCE, 32 << 20);
        let server_public = PublicKey::from(server_key);
        let mut tunns = Vec::with_capacity(identities.len());
        let mut by_address = HashMap::with_capacity(identities.len());
        for (index, (private, ip)) in identities.iter().enumerate() {
            let tunn = Tunn::new(
                StaticSecret::from(*private),
                server_public,
                None,
                Some(25),
                index as u32,
                None,
            );
            tunns.push(Mutex::new(tunn));
            by_address.insert(*ip, index);
        }
        Ok(Arc::new(Tunnel {
            tun,
            udp,
            server,
            tunns,
            by_address,
            counters: Counters::default(),
            stop: AtomicBool::new(false),
            initiations: Mutex::new(None),
        }))
    }

    /// Starts the three threads.
    pub fn start(self: &Arc<Self>) -> Result<()> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("tun-out".into())
            .spawn(move || me.outbound())?;
        let me = self.clone();
        std::thread::Builder::new()
            .name("udp-in".into())
            .spawn(move || me.inbound())?;
        let me = self.clone();
        std::thread::Builder::new()
            .name("wg-timers".into())
            .spawn(move || me.timers())?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(256);
        *self.initiations.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
        let me = self.clone();
        std::thread::Builder::new()
            .name("wg-initiations".into())
            .spawn(move || {
                let mut out = vec![0u8; BUF];
                while let Ok(datagram) = receiver.recv() {
                    if me.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    me.initiation(&datagram, &mut out);
                }
            })?;
        Ok(())
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn send(&self, datagram: &[u8]) {
        if self.udp.send_to(datagram, self.server).is_ok() {
            self.counters
                .udp_tx
                .fetch_add(datagram.len() as u64, Ordering::Relaxed);
        }
    }

    /// TUN → encrypt → UDP.
    fn outbound(&self) {
        let mut packet = vec![0u8; BUF];
        let mut out = vec![0u8; BUF];
        let mut tun = &self.tun;
        while !self.stop.load(Ordering::Relaxed) {
            let Ok(n) = tun.read(&mut packet) else {
                continue;
            };
            if n < 20 || packet[0] >> 4 != 4 {
                continue;
            }
            let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
            let Some(&index) = self.by_address.get(&src) else {
                continue;
            };
            let mut tunn = self.tunns[index].lock().unwrap_or_else(|e| e.into_inner());
            if let TunnResult::WriteToNetwork(datagram) = tunn.encapsulate(&packet[..n], &mut out) {
                self.send(datagram);
            }
        }
    }

    /// UDP → decrypt → TUN.
    fn inbound(&self) {
        let mut datagram = vec![0u8; BUF];
        let mut out = vec![0u8; BUF];
        let _ = self.udp.set_read_timeout(Some(Duration::from_millis(500)));
        let mut tun = &self.tun;
        while !self.stop.load(Ordering::Relaxed) {
            let Ok((n, _from)) = self.udp.recv_from(&mut datagram) else {
                continue;
            };
            self.counters.udp_rx.fetch_add(n as u64, Ordering::Relaxed);
            if n < 12 {
                continue;
            }
            let kind = datagram[0];
            let receiver = match kind {
                2 => u32::from_le_bytes(datagram[8..12].try_into().expect("4 bytes")),
                3 | 4 => u32::from_le_bytes(datagram[4..8].try_into().expect("4 bytes")),
                1 => {
                    let sender = self.initiations.lock().unwrap_or_else(|e| e.into_inner());
                    // A full queue drops it; the server sends it again.
                    if let Some(Err(_)) =
                        sender.as_ref().map(|s| s.try_send(datagram[..n].to_vec()))
                    {
                        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                _ => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            let Some(tunn) = self.tunns.get((receiver >> 8) as usize) else {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let mut tunn = tunn.lock().unwrap_or_else(|e| e.into_inner());
            match tunn.decapsulate(None, &datagram[..n], &mut out) {
                TunnResult::WriteToTunnelV4(packet, _) => {
                    let _ = tun.write(packet);
                }
                TunnResult::WriteToNetwork(reply) => {
                    self.send(reply);
                    // After a handshake: the packets queued while it ran.
                    while let TunnResult::WriteToNetwork(queued) =
                        tunn.decapsulate(None, &[], &mut out)
                    {
                        self.send(queued);
                    }
                }
                TunnResult::Err(_) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }

    /// A handshake initiation from the server (it has something to send and no session): the
    /// message names no receiver, but its first MAC is keyed with the receiver's public key, so
    /// every identity but the right one rejects it at once, before any Diffie-Hellman.
    fn initiation(&self, datagram: &[u8], out: &mut [u8]) {
        self.counters.initiations.fetch_add(1, Ordering::Relaxed);
        for tunn in &self.tunns {
            let mut tunn = tunn.lock().unwrap_or_else(|e| e.into_inner());
            match tunn.decapsulate(None, datagram, out) {
                TunnResult::Err(boringtun::noise::errors::WireGuardError::InvalidMac) => continue,
                TunnResult::WriteToNetwork(reply) => {
                    self.send(reply);
                    while let TunnResult::WriteToNetwork(queued) = tunn.decapsulate(None, &[], out)
                    {
                        self.send(queued);
                    }
                    return;
                }
                _ => return,
            }
        }
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Every identity's timers, every 250 ms.
    fn timers(&self) {
        let mut out = vec![0u8; BUF];
        while !self.stop.load(Ordering::Relaxed) {
            for tunn in &self.tunns {
                let mut tunn = tunn.lock().unwrap_or_else(|e| e.into_inner());
                if let TunnResult::WriteToNetwork(datagram) = tunn.update_timers(&mut out) {
                    self.send(datagram);
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
