//! `add-device` and `export-device`: a phone, router or appliance that runs a plain WireGuard
//! configuration through a hub. The configuration goes to a file (mode 0600) and, with
//! `--qr`, to the terminal and a PNG image as a QR code for a phone app to scan.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wiremesh_cli::args::{AddDeviceOpts, ExportDeviceOpts};
use wiremesh_cli::devices::{default_config_path, handover_note, png_path};
use wiremesh_cli::{qr, Prompter};
use wiremesh_server::admin::{self, AddDeviceOptions};
use wiremesh_server::paths::ServerPaths;
use wiremesh_server::service::devices::IssuedDevice;
use wiremesh_shared::devices::KeySource;

use super::commands::{cancelled, open, require_choices};
use super::edit::{ask_cidr, ask_ip};

/// Who runs this command, for the server's log.
fn actor() -> String {
    wiremesh_server::audit::Actor::cli_user().to_string()
}

pub fn add_device(paths: &ServerPaths, prompter: &Prompter, opts: AddDeviceOpts) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let cidr = ask_cidr(&network, prompter, opts.cidr, "CIDR for devices")?;
    let name = prompter.input(opts.name, "--name", "Device name", None)?;
    let ip = ask_ip(&network, prompter, &cidr, (opts.ip, opts.auto_ip))?;
    let save_path = prompter.ask(
        opts.save_config
            .as_deref()
            .map(|path| path.to_string_lossy().into_owned())
            .as_deref(),
        "--save-config",
        "Save the configuration to",
        Some(default_config_path(name.as_str()).display().to_string()),
        |text| Ok(PathBuf::from(text.trim())),
    )?;
    let ip_text = ip.map_or_else(|| "the first free address".to_owned(), |ip| ip.to_string());
    let keys = if opts.public_key.is_some() {
        "its own key"
    } else {
        "a key pair generated here"
    };
    let question = format!("Create device {name} with {ip_text} in CIDR {cidr}, with {keys}?");
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    let png = reserve_png(opts.qr, &save_path)?;
    let issued = admin::add_device(
        &network,
        &AddDeviceOptions {
            name,
            cidr: cidr.clone(),
            ip,
            public_key: opts.public_key,
            preshared_key: opts.psk,
            hub: opts.hub,
            full_tunnel: opts.full_tunnel,
            save_path: save_path.clone(),
            actor: actor(),
        },
    )?;
    println!(
        "created device {} ({}) in CIDR {cidr}, joining through {}; its wg-quick configuration is in {}",
        issued.peer.name,
        issued.peer.ip,
        issued.config.hub_name,
        save_path.display()
    );
    hand_over(network.name.as_str(), &issued, png)
}

/// The PNG's place, taken before the device changes, like the configuration's.
fn reserve_png(qr: bool, config: &Path) -> Result<Option<(PathBuf, privatefile::Reserved)>> {
    if !qr {
        return Ok(None);
    }
    let path = png_path(config);
    let file = privatefile::reserve(&path)
        .with_context(|| format!("failed to create QR code image {}", path.display()))?;
    Ok(Some((path, file)))
}

/// What to do with the configuration now, and the QR code.
fn hand_over(
    network: &str,
    issued: &IssuedDevice,
    png: Option<(PathBuf, privatefile::Reserved)>,
) -> Result<()> {
    let text = issued.config.render();
    println!("{}", handover_note(issued.device.key));
    if let Some((path, file)) = png {
        let reissue = || {
            format!(
                "the device exists; `wiremesh-server export-device {network} --name {} --qr` issues its configuration again",
                issued.peer.name
            )
        };
        let image = qr::png(&text).with_context(reissue)?;
        file.fill(&image)
            .with_context(|| format!("failed to write QR code image {}", path.display()))
            .with_context(reissue)?;
        print!("{}", qr::terminal(&text)?);
        println!("the QR code is also in {}", path.display());
    }
    Ok(())
}

pub fn export_device(
    paths: &ServerPaths,
    prompter: &Prompter,
    opts: ExportDeviceOpts,
) -> Result<()> {
    let network = open(paths, opts.interface.as_str())?;
    let model = network.model();
    let name = match opts.name {
        Some(name) => name,
        None => {
            let names: Vec<String> = model
                .devices()
                .devices
                .iter()
                .filter_map(|d| model.peer(d.peer))
                .filter(|p| !p.is_disabled)
                .map(|p| p.name.to_string())
                .collect();
            if prompter.is_interactive() {
                require_choices(&names, "device", "add one with `add-device`")?;
            }
            prompter.select(None, "--name", "Device", &names)?
        }
    };
    let peer = network.peer_by_name(&name)?;
    let device = model.device(peer.id).with_context(|| {
        format!("{name} is a peer, not a device; peers are invited with add-peer")
    })?;
    let save_path = prompter.ask(
        opts.save_config
            .as_deref()
            .map(|path| path.to_string_lossy().into_owned())
            .as_deref(),
        "--save-config",
        "Save the configuration to",
        Some(default_config_path(&name).display().to_string()),
        |text| Ok(PathBuf::from(text.trim())),
    )?;
    let question = match device.key {
        KeySource::Supplied => format!("Issue device {name}'s configuration again?"),
        KeySource::Generated => format!(
            "Device {name}'s key was generated here and never kept, so it gets a new identity: \
             a new key and a new address, and its old identity ({}) is disabled now. Go on?",
            peer.ip
        ),
    };
    if !prompter.confirm(opts.yes, &question)? {
        return Err(cancelled());
    }
    let png = reserve_png(opts.qr, &save_path)?;
    let issued = admin::export_device(&network, &name, &save_path, &actor())?;
    if issued.peer.id == peer.id {
        println!(
            "issued device {name}'s configuration again into {}",
            save_path.display()
        );
    } else {
        println!(
            "device {name} is a new identity: address {} (was {}), a new key; the old identity is \
             disabled and named {}; its configuration is in {}",
            issued.peer.ip,
            peer.ip,
            retired_label(&network, peer.id),
            save_path.display()
        );
    }
    hand_over(network.name.as_str(), &issued, png)
}

/// The name peer `id` has now.
fn retired_label(network: &admin::Network, id: wiremesh_shared::PeerId) -> String {
    network
        .model()
        .peer(id)
        .map_or_else(|| format!("<peer {id}>"), |p| p.name.to_string())
}
