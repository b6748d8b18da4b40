//! The verdicts of `doctor`: pure functions from what was read (file modes, sysctl values,
//! the device, the server's answer, an injected `now`) to a [`Finding`]. Nothing here reads
//! the system. This module judges files, `rp_filter` and errors; `tunnel` judges the
//! interface, the implementation, the server and the handshakes.

use std::error::Error as StdError;
use std::io;
use std::path::Path;

use wireguard_control::InterfaceName;

use super::Status;

mod firewall;
mod routes;
mod tunnel;

pub use firewall::{firewall, FirewallFacts};
pub use routes::{routes, ExitFacts, RoutesFacts};

pub use tunnel::{
    backend_error, handshake, implementation, interface, interface_down, server, HandshakePeer,
};

/// What one check found: the verdict, a detail for a person, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub detail: String,
    pub advice: Option<String>,
}

impl Finding {
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            detail: detail.into(),
            advice: None,
        }
    }

    pub fn warn(detail: impl Into<String>, advice: Option<String>) -> Self {
        Self {
            status: Status::Warn,
            detail: detail.into(),
            advice,
        }
    }

    pub fn fail(detail: impl Into<String>, advice: Option<String>) -> Self {
        Self {
            status: Status::Fail,
            detail: detail.into(),
            advice,
        }
    }
}

/// What to do about a permission error: the checks need root (netlink, UAPI sockets,
/// private files).
pub const SUDO_ADVICE: &str = "run it as root: `sudo wiremesh doctor`";

/// Mode bits and owner of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    /// The permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
}

/// Which file a permission or read verdict is about; each has its own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// The config directory: must not be writable by others (they could swap a config).
    ConfigDir,
    /// A network's config, which holds the private key: no group or other bits at all.
    Config,
    /// A peer cache (peer list and pins): other users' access is a warning.
    Cache,
}

/// "root", "you (uid 1000)" or "uid 1000".
pub fn owner_text(uid: u32, current_uid: u32) -> String {
    match uid {
        0 => "root".to_owned(),
        uid if uid == current_uid => format!("you (uid {uid})"),
        uid => format!("uid {uid}"),
    }
}

/// Whether a file's mode and owner are right for its role: `Ok` with a short description
/// ("mode 0600, owned by root"), or the finding that says what is wrong and how to fix it.
pub fn permissions(
    role: FileRole,
    path: &Path,
    facts: FileFacts,
    current_uid: u32,
) -> Result<String, Finding> {
    let mode = facts.mode & 0o7777;
    let owner = owner_text(facts.uid, current_uid);
    let described = format!("mode {mode:04o}, owned by {owner}");
    let shown = path.display();
    let mut problems = Vec::new();
    let mut advice = Vec::new();
    let mode_problem = match role {
        FileRole::ConfigDir if mode & 0o022 != 0 => {
            Some("other users can write to it and replace a network's config")
        }
        FileRole::Config if mode & 0o044 != 0 => Some("other users can read its private key"),
        FileRole::Config if mode & 0o077 != 0 => Some("other users have access to it"),
        FileRole::Cache if mode & 0o077 != 0 => {
            Some("other users can read the network's peers and key pins")
        }
        _ => None,
    };
    if let Some(problem) = mode_problem {
        problems.push(format!("mode {mode:04o}: {problem}"));
        let wanted = if role == FileRole::ConfigDir {
            700
        } else {
            600
        };
        advice.push(format!("`chmod {wanted} {shown}`"));
    }
    if facts.uid != 0 && facts.uid != current_uid {
        problems.push(format!("owned by {owner}, neither root nor you"));
        advice.push(format!("`chown root {shown}`"));
    }
    if problems.is_empty() {
        return Ok(described);
    }
    let detail = format!("{shown}: {}", problems.join("; "));
    let advice = Some(format!("run {}", advice.join(" and ")));
    Err(match role {
        FileRole::Cache => Finding::warn(detail, advice),
        FileRole::Config | FileRole::ConfigDir => Finding::fail(detail, advice),
    })
}

/// A file that could not be read. A missing peer cache is no problem and is not handled
/// here.
pub fn read_failure(
    role: FileRole,
    path: &Path,
    iface: Option<&InterfaceName>,
    error: &io::Error,
) -> Finding {
    let shown = path.display();
    match error.kind() {
        io::ErrorKind::NotFound if role == FileRole::ConfigDir => Finding::fail(
            format!("{shown} does not exist: no network is installed"),
            Some("join a network with `wiremesh install <invitation>`".to_owned()),
        ),
        io::ErrorKind::NotFound => {
            let what = iface.map_or_else(|| "the network".to_owned(), ToString::to_string);
            Finding::fail(
                format!("{shown} does not exist: {what} is not installed"),
                Some("install it with `wiremesh install <invitation>`".to_owned()),
            )
        }
        io::ErrorKind::PermissionDenied => Finding::fail(
            format!("cannot read {shown}: permission denied"),
            Some(SUDO_ADVICE.to_owned()),
        ),
        _ => Finding::fail(format!("failed to read {shown}: {error}"), None),
    }
}

/// The value of an `rp_filter` file: 0, 1 or 2.
pub fn parse_rp_filter(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(value @ 0..=2) => Ok(value),
        _ => Err(format!("unexpected value {:?}", text.trim())),
    }
}

fn rp_filter_name(value: u8) -> &'static str {
    match value {
        0 => "off",
        1 => "strict",
        _ => "loose",
    }
}

/// Reverse-path filtering of the network namespace: `all` and each interface's own value
/// (the WireGuard interface and every other one but `lo`); the kernel applies the higher of
/// `all` and an interface's own. Strict (1) everywhere passes. Anything else warns: a packet
/// that claims a mesh source address but arrives on a loose or unfiltered interface (an
/// uplink, say) is accepted there. The advice gives the sysctl settings that make every
/// interface strict.
pub fn rp_filter(all: Result<u8, String>, interfaces: &[(String, Result<u8, String>)]) -> Finding {
    let key = |conf: &str| format!("net.ipv4.conf.{conf}.rp_filter");
    let shown = |conf: &str, value: &Result<u8, String>| match value {
        Ok(value) => format!("{}={value}", key(conf)),
        Err(error) => format!("{} unreadable ({error})", key(conf)),
    };
    let values: Vec<String> = std::iter::once(shown("all", &all))
        .chain(interfaces.iter().map(|(name, value)| shown(name, value)))
        .collect();
    let values = values.join(", ");
    let mut strict: Vec<&str> = Vec::new();
    let mut weak: Vec<(&str, u8, &Result<u8, String>)> = Vec::new();
    for (name, own) in interfaces {
        let effective = match (&all, own) {
            (Ok(a), Ok(b)) => Some(*a.max(b)),
            (Ok(value), Err(_)) | (Err(_), Ok(value)) => Some(*value),
            (Err(_), Err(_)) => None,
        };
        match effective {
            Some(1) => strict.push(name),
            Some(value) => weak.push((name, value, own)),
            None => {}
        }
    }
    if strict.is_empty() && weak.is_empty() {
        return Finding::warn(format!("could not read rp_filter: {values}"), None);
    }
    let context = format!(
        "({values}; an interface gets the higher of `all` and its own, in this network namespace)"
    );
    if weak.is_empty() {
        return Finding::pass(format!("strict on {} {context}", strict.join(", ")));
    }
    let listed: Vec<String> = weak
        .iter()
        .map(|(name, value, _)| format!("{name} ({})", rp_filter_name(*value)))
        .collect();
    // `all` must become strict when it is loose itself, or when an interface's own value is
    // not what makes it weak; each loose own value must be lowered to strict.
    let all_needed = all == Ok(2) || weak.iter().any(|(_, _, own)| **own != Ok(2));
    let mut settings: Vec<String> = Vec::new();
    if all_needed {
        settings.push(format!("`sysctl -w {}=1`", key("all")));
    }
    settings.extend(
        weak.iter()
            .filter(|(_, _, own)| **own == Ok(2))
            .map(|(name, _, _)| format!("`sysctl -w {}=1`", key(name))),
    );
    Finding::warn(
        format!(
            "not strict on {}: packets with forged mesh source addresses are not dropped there {context}",
            listed.join(", ")
        ),
        Some(format!(
            "run {} (and make it permanent in /etc/sysctl.d/)",
            settings.join(" and ")
        )),
    )
}

/// Whether an error (or one of its causes) is a permission refusal (EACCES, EPERM).
pub fn is_permission_denied(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::PermissionDenied {
                return true;
            }
        }
        let text = error.to_string();
        if text.contains("Operation not permitted") || text.contains("Permission denied") {
            return true;
        }
        current = error.source();
    }
    false
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
