//! `doctor`: checks of this host's networks — files, interface, WireGuard implementation,
//! server, handshakes, the policy's firewall table and `rp_filter` — each a [`Check`] that passes, warns or fails, with
//! what to do about a problem.
//!
//! [`diagnose`] (in `gather`) reads the real system through the [`Context`](crate::Context)
//! and a [`SystemProbe`] (everything outside the context: `/proc`, `/sys`, link addresses,
//! the user id), and never fails: whatever goes wrong is itself a check. The verdicts are
//! pure functions of what was read ([`evaluate`]), and so is the output ([`render`]): plain
//! text whose status words the caller may colour, and JSON.
//!
//! # Checks
//!
//! In this order, per network (`interface` is null only for the first two):
//!
//! | `check` | what it looks at |
//! |---|---|
//! | `config-dir` | the config directory exists and is not writable by other users |
//! | `installed` | (without INTERFACE) at least one network is installed |
//! | `config` | `<iface>.conf` exists, parses, mode 0600 (no group/other bits), owned by root or you |
//! | `cache` | `<iface>.json`, if present, is readable, parses and is private (a warning otherwise) |
//! | `interface` | the backend lists the interface; its key, listen port, address and server peer match the config |
//! | `implementation` | kernel module (`/sys/module/wireguard`) or userspace program and its UAPI socket |
//! | `server` | `GET /v1/user/capabilities` through the tunnel answers; its features |
//! | `handshake` | one per peer: last handshake within 180 s (the server never having one fails) |
//! | `firewall` | the interface's nftables table holds the ruleset the server compiled for this host (or the last one it sent, when it does not answer) |
//! | `routes` | (only with routes) a gateway forwards the families it routes; an exit node's mark, table, rules and `src_valid_mark` are in place; granted routes refused (a warning) |
//! | `rp_filter` | every interface of this network namespace but `lo` (the tunnel and the uplinks) is strict (1) after `net.ipv4.conf.all.rp_filter` |
//!
//! The checks after `interface` are only made when the interface is up.
//!
//! # JSON output (`doctor --json`)
//!
//! A stable object; fields are only ever added. `wiremesh doctor` exits 1 exactly when
//! `ok` is false, with or without `--json`.
//!
//! ```json
//! {
//!   "ok": false,                      // no check failed (warnings are fine)
//!   "checks": [
//!     {
//!       "interface": "evilcorp",      // null for host-wide checks
//!       "check": "config",            // one of the names in the table above
//!       "status": "fail",             // "pass", "warn" or "fail"
//!       "detail": "/etc/wiremesh/evilcorp.conf: mode 0644: …",
//!       "advice": "run `chmod 600 /etc/wiremesh/evilcorp.conf`" // null: nothing to do
//!     }
//!   ]
//! }
//! ```

use std::fmt;

use wireguard_control::InterfaceName;

pub mod evaluate;
mod gather;
pub mod render;
mod system;

pub use evaluate::Finding;
pub use gather::{diagnose, SERVER_TIMEOUT};
pub use render::{render_json, render_text, render_text_with};
pub use system::{Implementation, LiveSystem, SystemProbe};

/// The verdict of one check. Ordered from good to bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    /// `PASS`, `WARN` or `FAIL`, for the text output.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// `pass`, `warn` or `fail`, for the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// Which check a [`Check`] is; its name is part of the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckKind {
    ConfigDir,
    Installed,
    Config,
    Cache,
    Interface,
    Implementation,
    Server,
    Handshake,
    Firewall,
    Routes,
    RpFilter,
}

impl CheckKind {
    /// The stable name (see the module doc).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::ConfigDir => "config-dir",
            CheckKind::Installed => "installed",
            CheckKind::Config => "config",
            CheckKind::Cache => "cache",
            CheckKind::Interface => "interface",
            CheckKind::Implementation => "implementation",
            CheckKind::Server => "server",
            CheckKind::Handshake => "handshake",
            CheckKind::Firewall => "firewall",
            CheckKind::Routes => "routes",
            CheckKind::RpFilter => "rp_filter",
        }
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One checked thing: its verdict, what was found, and what to do when it is not a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The network concerned; `None` for host-wide checks.
    pub interface: Option<InterfaceName>,
    pub kind: CheckKind,
    pub status: Status,
    pub detail: String,
    /// A short instruction for a person (a command to run, where possible).
    pub advice: Option<String>,
}

impl Check {
    pub fn new(interface: Option<&InterfaceName>, kind: CheckKind, finding: Finding) -> Self {
        Self {
            interface: interface.cloned(),
            kind,
            status: finding.status,
            detail: finding.detail,
            advice: finding.advice,
        }
    }
}

/// Every check made, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether no check failed (warnings are fine).
    pub fn ok(&self) -> bool {
        self.n_with(Status::Fail) == 0
    }

    /// How many checks have `status`.
    pub fn n_with(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// The first check of `kind` about `interface`.
    pub fn find(&self, interface: Option<&InterfaceName>, kind: CheckKind) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.kind == kind && c.interface.as_ref() == interface)
    }

    pub(crate) fn push(
        &mut self,
        interface: Option<&InterfaceName>,
        kind: CheckKind,
        finding: Finding,
    ) {
        self.checks.push(Check::new(interface, kind, finding));
    }
}
