//! What both binaries tell a person about devices: where the QR image goes, what to do with
//! a configuration, and the device listing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use wiremesh_shared::devices::{DeviceInfo, KeySource};
use wiremesh_shared::wire::Peer;

use crate::style::{pad, Style};

/// The PNG image beside configuration `config` (`phone.conf` → `phone.png`).
pub fn png_path(config: &Path) -> PathBuf {
    config.with_extension("png")
}

/// Where a device's configuration goes when `--save-config` is not given.
pub fn default_config_path(device: &str) -> PathBuf {
    PathBuf::from(format!("{device}.conf"))
}

/// What the person must do with a configuration of a device whose key came from `key`.
pub fn handover_note(key: KeySource) -> &'static str {
    match key {
        KeySource::Generated => {
            "the configuration holds the device's private key, and wiremesh kept no copy: move it \
             to the device and delete it here"
        }
        KeySource::Supplied => {
            "add the device's own private key where the configuration leaves a line for it"
        }
    }
}

/// `list-devices`: one aligned line per device, `<ip> <name> via <hub>` and its flags in
/// brackets (`own key` or `generated key`, `psk`, `stale config`, `disabled`).
pub fn render_devices(devices: &[DeviceInfo], peers: &[Peer], style: Style) -> String {
    let hub_name = |id| {
        peers
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| format!("<peer {id}>"), |p| p.name.to_string())
    };
    let mut sorted: Vec<&DeviceInfo> = devices.iter().collect();
    sorted.sort_by_key(|d| (d.peer.ip, d.peer.id));
    let ip_width = sorted
        .iter()
        .map(|d| d.peer.ip.to_string().len())
        .max()
        .unwrap_or(0);
    let name_width = sorted
        .iter()
        .map(|d| d.peer.name.as_str().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for device in sorted {
        let mut flags = vec![match device.key {
            KeySource::Supplied => "own key".to_owned(),
            KeySource::Generated => "generated key".to_owned(),
        }];
        if device.preshared_key {
            flags.push("psk".to_owned());
        }
        if device.stale {
            flags.push(style.yellow("stale config"));
        }
        if device.peer.is_disabled {
            flags.push(style.red("disabled"));
        }
        let _ = writeln!(
            out,
            "{} {} via {} [{}]",
            pad(&device.peer.ip.to_string(), ip_width),
            pad(device.peer.name.as_str(), name_width),
            hub_name(device.hub),
            flags.join(", ")
        );
    }
    out
}
