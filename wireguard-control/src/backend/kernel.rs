//! The Linux kernel backend: WireGuard links through rtnetlink, their configuration through the
//! `wireguard` generic-netlink family.
//!
//! - list: `RTM_GETLINK` dump, links whose `IFLA_INFO_KIND` is `wireguard`;
//! - create: `RTM_NEWLINK` kind `wireguard` with CREATE|EXCL;
//! - get: `WG_CMD_GET_DEVICE` dump; the parts are merged (see [`parse`]);
//! - apply: `WG_CMD_SET_DEVICE`, split into as many messages as the buffer needs (see [`build`]);
//! - delete: `RTM_DELLINK`, only for links of kind `wireguard`.
//!
//! Submodules: `build` (update → messages) and `parse` (answer bytes → device) are pure, so
//! they are tested without a kernel module.

mod build;
mod parse;
#[cfg(test)]
mod tests;

use netlink_packet_core::{
    DecodeError, Emitable, ParseableParametrized, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_wireguard::WireguardAttribute;
use netlink_request::{max_genl_payload_size, request_genl, request_route};

use crate::link::{find_link, link_kind, link_name};
use crate::{Backend, BackendKind, Created, Device, DeviceUpdate, Error, InterfaceName, Result};

/// How often `get` repeats a dump that a concurrent change interrupted.
const DUMP_ATTEMPTS: usize = 5;
const WG_CMD_GET_DEVICE: u8 = 0;

/// Kernel WireGuard through netlink. Stateless: every call opens its own socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelBackend;

impl KernelBackend {
    pub fn new() -> Self {
        Self
    }
}

fn is_wireguard(link: &LinkMessage) -> bool {
    matches!(link_kind(link), Some(InfoKind::Wireguard))
}

/// Errors of the `wireguard` family that mean "no such WireGuard interface": no device
/// (`ENODEV`), a device of another kind (`EOPNOTSUPP`), or no family at all (`ENOENT`: the
/// module is not loaded, so no WireGuard interface can exist).
fn genl_error<'a>(
    iface: &'a InterfaceName,
    action: &'static str,
) -> impl FnOnce(netlink_request::Error) -> Error + 'a {
    move |source| {
        if source.is_not_found() || source.is_not_supported() {
            Error::NotFound {
                iface: iface.clone(),
            }
        } else {
            Error::Netlink {
                iface: iface.clone(),
                action,
                source,
            }
        }
    }
}

impl Backend for KernelBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Kernel
    }

    fn list(&self) -> Result<Vec<InterfaceName>> {
        let links = request_route(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )
        .map_err(|source| Error::NetlinkList {
            action: "list links",
            source,
        })?;
        let mut names: Vec<InterfaceName> = links
            .iter()
            .filter_map(|answer| match answer {
                RouteNetlinkMessage::NewLink(link) if is_wireguard(link) => link_name(link),
                _ => None,
            })
            .filter_map(|name| name.parse().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, iface: &InterfaceName) -> Result<bool> {
        Ok(find_link(iface)?.is_some_and(|link| is_wireguard(&link)))
    }

    fn create(&self, iface: &InterfaceName) -> Result<Created> {
        let mut link = LinkMessage::default();
        link.attributes
            .push(LinkAttribute::IfName(iface.as_str().to_owned()));
        link.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Wireguard,
            )]));
        match request_route(
            RouteNetlinkMessage::NewLink(link),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) => Ok(Created::New),
            // Only a WireGuard link of that name counts as "already there".
            Err(source) if source.is_exists() => match self.exists(iface)? {
                true => Ok(Created::AlreadyExisted),
                false => Err(Error::Netlink {
                    iface: iface.clone(),
                    action: "create",
                    source,
                }),
            },
            Err(source) if source.is_not_supported() => Err(Error::KernelModuleMissing {
                iface: iface.clone(),
            }),
            Err(source) => Err(Error::Netlink {
                iface: iface.clone(),
                action: "create",
                source,
            }),
        }
    }

    fn get(&self, iface: &InterfaceName) -> Result<Device> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match request_genl(get_device_message(iface), NLM_F_DUMP) {
                Ok(parts) => {
                    return device_from_parts(
                        iface,
                        parts.iter().map(|part| &part.payload.attributes[..]),
                    )
                }
                Err(netlink_request::Error::DumpInterrupted) if attempt < DUMP_ATTEMPTS => continue,
                Err(source) => return Err(genl_error(iface, "read")(source)),
            }
        }
    }

    fn apply(&self, iface: &InterfaceName, update: &DeviceUpdate) -> Result<()> {
        let messages = build::set_device_messages(iface, update, max_genl_payload_size())?;
        for message in messages {
            request_genl(message, 0).map_err(genl_error(iface, "configure"))?;
        }
        Ok(())
    }

    fn delete(&self, iface: &InterfaceName) -> Result<()> {
        match find_link(iface)? {
            Some(link) if is_wireguard(&link) => crate::link::delete_link(iface),
            _ => Err(Error::NotFound {
                iface: iface.clone(),
            }),
        }
    }
}

/// The sizes in bytes (netlink header included) of the `WG_CMD_SET_DEVICE` messages that
/// [`KernelBackend`] would send for `update`, in order, without sending anything: how the
/// benchmark reports the kernel side of applying a large state where no module is loaded.
pub fn set_device_message_sizes(
    iface: &InterfaceName,
    update: &DeviceUpdate,
) -> Result<Vec<usize>> {
    use netlink_packet_core::Emitable;
    let messages = build::set_device_messages(iface, update, max_genl_payload_size())?;
    Ok(messages
        .iter()
        .map(|message| netlink_request::NETLINK_HEADER_LEN + message.buffer_len())
        .collect())
}

/// `WG_CMD_GET_DEVICE` for `iface` (sent with `NLM_F_DUMP`).
fn get_device_message(iface: &InterfaceName) -> GenlMessage<RawWireguard> {
    let ifname = WireguardAttribute::IfName(iface.as_str().to_owned());
    let mut attributes = vec![0; ifname.buffer_len()];
    ifname.emit(&mut attributes);
    GenlMessage::from_payload(RawWireguard {
        cmd: WG_CMD_GET_DEVICE,
        attributes,
    })
}

/// Parses and merges the attribute bytes of every part of a `WG_CMD_GET_DEVICE` answer.
pub(crate) fn device_from_parts<'a>(
    iface: &InterfaceName,
    parts: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Device> {
    let parsed = parts
        .into_iter()
        .map(parse::parse_device)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|detail| Error::NetlinkDecode {
            iface: iface.clone(),
            detail,
        })?;
    Ok(parse::into_device(iface, parse::merge(parsed)))
}

/// A `wireguard` family message whose attributes stay raw bytes: answers are decoded by
/// [`parse`], which checks every length, instead of a general parser that may panic on
/// malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawWireguard {
    pub cmd: u8,
    pub attributes: Vec<u8>,
}

impl GenlFamily for RawWireguard {
    fn family_name() -> &'static str {
        "wireguard"
    }

    fn command(&self) -> u8 {
        self.cmd
    }

    fn version(&self) -> u8 {
        1
    }
}

impl Emitable for RawWireguard {
    fn buffer_len(&self) -> usize {
        self.attributes.len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        buffer.copy_from_slice(&self.attributes);
    }
}

impl ParseableParametrized<[u8], GenlHeader> for RawWireguard {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> std::result::Result<Self, DecodeError> {
        Ok(Self {
            cmd: header.cmd,
            attributes: buf.to_vec(),
        })
    }
}
