//! Generic netlink: family ids resolved by name through the controller and cached.
//!
//! Family ids are global to the kernel (not per network namespace) and stay the same while the
//! module providing the family stays loaded, so one lookup per process is enough. If the
//! module is reloaded the id changes; [`request_genl`] notices the kernel refusing a cached id
//! (`ENOENT`/`EOPNOTSUPP`), looks the family up again, and retries once when the id changed.
//! Ids are allocated cyclically, so a stale id is not handed to another family soon after.

use std::fmt::Debug;
use std::sync::Mutex;

use netlink_packet_core::{
    DecodeError, Emitable, NetlinkMessage, NetlinkPayload, NlasIterator, ParseableParametrized,
};
use netlink_packet_generic::constants::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, GENL_ID_CTRL,
};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};

use crate::{align, exchange, inner, request, Error, Protocol};

/// Resolved families of this process. Held only to read or update the list, never across a
/// netlink exchange.
static FAMILIES: Mutex<Vec<(String, u16)>> = Mutex::new(Vec::new());

fn cached(name: &str) -> Option<u16> {
    let families = FAMILIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    families
        .iter()
        .find(|(family, _)| family == name)
        .map(|(_, id)| *id)
}

fn remember(name: &str, id: u16) {
    let mut families = FAMILIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    families.retain(|(family, _)| family != name);
    families.push((name.to_owned(), id));
}

fn forget(name: &str) {
    let mut families = FAMILIES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    families.retain(|(family, _)| family != name);
}

/// The id of the generic-netlink family `name` (e.g. `"wireguard"`), from the cache or the
/// controller. A family the kernel does not know gives an error whose
/// [`Error::is_not_found`] is true (`ENOENT`).
pub fn resolve_family(name: &str) -> Result<u16, Error> {
    if let Some(id) = cached(name) {
        return Ok(id);
    }
    let wrap = |source| Error::Family {
        family: name.to_owned(),
        source: Box::new(source),
    };
    let message = NetlinkMessage::from(GenlMessage::from_payload(GetFamily {
        name: name.to_owned(),
        attributes: Vec::new(),
    }));
    let answers = request(Protocol::Generic, message, 0).map_err(wrap)?;
    let id = answers
        .into_iter()
        .filter_map(|answer| inner(answer.payload))
        .find_map(|answer| answer.payload.family_id())
        .ok_or_else(|| Error::FamilyIdMissing {
            family: name.to_owned(),
        })?;
    remember(name, id);
    Ok(id)
}

/// Sends a generic-netlink message and returns the payload messages of the answer.
///
/// When the message carries no family id (neither a static one nor a resolved one), the id of
/// `F::family_name()` is resolved first ([`resolve_family`]). `flags` are as for
/// [`crate::request`].
pub fn request_genl<F>(
    mut message: GenlMessage<F>,
    flags: u16,
) -> Result<Vec<GenlMessage<F>>, Error>
where
    F: GenlFamily + Emitable + ParseableParametrized<[u8], GenlHeader> + Debug,
{
    message.finalize();
    let family = F::family_name();
    let resolved_here = message.family_id() == 0;
    let id = if resolved_here {
        resolve_family(family)?
    } else {
        message.family_id()
    };
    if resolved_here {
        message.set_resolved_family_id(id);
    }
    let mut message = NetlinkMessage::from(message);
    let answers = match exchange::exchange(Protocol::Generic, &mut message, flags) {
        Err(err) if resolved_here && (err.is_not_found() || err.is_not_supported()) => {
            forget(family);
            let fresh = resolve_family(family)?;
            if fresh == id {
                return Err(err);
            }
            if let NetlinkPayload::InnerMessage(inner) = &mut message.payload {
                inner.set_resolved_family_id(fresh);
            }
            exchange::exchange(Protocol::Generic, &mut message, flags)?
        }
        other => other?,
    };
    Ok(answers
        .into_iter()
        .filter_map(|answer| inner(answer.payload))
        .collect())
}

/// `CTRL_CMD_GETFAMILY` by name; the answer keeps its attributes as raw bytes and only the id
/// is read from them, so attributes a newer kernel adds cannot break the lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetFamily {
    name: String,
    /// Attributes of an answer (empty in a request).
    attributes: Vec<u8>,
}

impl GetFamily {
    pub(crate) fn family_id(&self) -> Option<u16> {
        NlasIterator::new(&self.attributes[..])
            .filter_map(Result::ok)
            .find(|nla| nla.kind() == CTRL_ATTR_FAMILY_ID)
            .and_then(|nla| <[u8; 2]>::try_from(nla.value()).ok())
            .map(u16::from_ne_bytes)
    }
}

impl GenlFamily for GetFamily {
    fn family_name() -> &'static str {
        "nlctrl"
    }

    fn family_id(&self) -> u16 {
        GENL_ID_CTRL
    }

    fn command(&self) -> u8 {
        CTRL_CMD_GETFAMILY
    }

    fn version(&self) -> u8 {
        2
    }
}

impl Emitable for GetFamily {
    fn buffer_len(&self) -> usize {
        4 + align(self.name.len() + 1)
    }

    fn emit(&self, buffer: &mut [u8]) {
        // CTRL_ATTR_FAMILY_NAME: NUL-terminated string, padded to 4 bytes.
        let value_len = self.name.len() + 1;
        let nla_len = u16::try_from(4 + value_len).unwrap_or(u16::MAX);
        buffer[0..2].copy_from_slice(&nla_len.to_ne_bytes());
        buffer[2..4].copy_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
        let value = &mut buffer[4..];
        value.fill(0);
        value[..self.name.len()].copy_from_slice(self.name.as_bytes());
    }
}

impl ParseableParametrized<[u8], GenlHeader> for GetFamily {
    fn parse_with_param(buf: &[u8], _header: GenlHeader) -> Result<Self, DecodeError> {
        Ok(Self {
            name: String::new(),
            attributes: buf.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_get_family_request() {
        let request = GetFamily {
            name: "wireguard".into(),
            attributes: Vec::new(),
        };
        let mut bytes = vec![0xff; request.buffer_len()];
        request.emit(&mut bytes);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0x0e, 0x00,       // nla_len 14 = 4 + "wireguard\0"
            0x02, 0x00,       // CTRL_ATTR_FAMILY_NAME
            b'w', b'i', b'r', b'e', b'g', b'u', b'a', b'r', b'd', 0x00,
            0x00, 0x00,       // padding to 16
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn reads_family_id_from_answer() {
        #[rustfmt::skip]
        let attributes = vec![
            0x0e, 0x00, 0x02, 0x00, b'w', b'i', b'r', b'e', b'g', b'u', b'a', b'r', b'd', 0, 0, 0,
            0x06, 0x00, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, // CTRL_ATTR_FAMILY_ID = 21
            0x08, 0x00, 0x63, 0x00, 0x01, 0x02, 0x03, 0x04, // unknown attribute 99: ignored
        ];
        let answer = GetFamily {
            name: String::new(),
            attributes,
        };
        assert_eq!(answer.family_id(), Some(21));
        let malformed = GetFamily {
            name: String::new(),
            attributes: vec![0x05, 0x00, 0x01, 0x00, 0x15],
        };
        assert_eq!(malformed.family_id(), None);
    }

    /// Needs no privilege: the controller answers every process.
    #[test]
    fn resolves_controller_and_caches() {
        assert_eq!(
            resolve_family("nlctrl").expect("nlctrl family"),
            GENL_ID_CTRL
        );
        assert_eq!(cached("nlctrl"), Some(GENL_ID_CTRL));
    }

    #[test]
    fn unknown_family_is_not_found() {
        let err = resolve_family("wiremesh-nope").expect_err("no such family");
        assert!(err.is_not_found(), "{err:?}");
        assert!(matches!(err, Error::Family { .. }));
        assert_eq!(cached("wiremesh-nope"), None);
    }
}
