//! The client's peer cache, `<data-dir>/<iface>.json` (compat §3.1): the last peers and CIDRs it
//! applied, as pretty-printed JSON tagged `"version": "1"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ConfigError, ConfigKind};
use crate::wire::{Cidr, Peer};

/// What the client last applied, kept to pin peer keys and to start without the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerCache {
    pub peers: Vec<Peer>,
    pub cidrs: Vec<Cidr>,
}

/// The file's shape when read: internally tagged by `version`, so a later version is a clear
/// error instead of a silent misread.
#[derive(Deserialize)]
#[serde(tag = "version")]
enum PeerCacheFile {
    #[serde(rename = "1")]
    V1 { peers: Vec<Peer>, cidrs: Vec<Cidr> },
}

/// The file's shape when written, borrowing the cache.
#[derive(Serialize)]
struct PeerCacheFileRef<'a> {
    version: &'static str,
    peers: &'a [Peer],
    cidrs: &'a [Cidr],
}

impl Serialize for PeerCache {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PeerCacheFileRef {
            version: "1",
            peers: &self.peers,
            cidrs: &self.cidrs,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PeerCache {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match PeerCacheFile::deserialize(deserializer)? {
            PeerCacheFile::V1 { peers, cidrs } => Ok(Self { peers, cidrs }),
        }
    }
}

impl PeerCache {
    /// Pretty-printed JSON, as innernet writes it. Fails only for a timestamp before 1970.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        serde_json::to_string_pretty(self).map_err(|error| ConfigError::Encode {
            kind: ConfigKind::PeerCache,
            message: error.to_string(),
        })
    }

    /// Parses the cache file.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|error| ConfigError::Parse {
            kind: ConfigKind::PeerCache,
            message: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is the number of peers and CIDRs, or a fragment of the error.
    fn check(input: &str, expected: Result<(usize, usize), &str>) {
        match (PeerCache::from_json_str(input), expected) {
            (Ok(cache), Ok(counts)) => assert_eq!((cache.peers.len(), cache.cidrs.len()), counts),
            (Err(error), Err(fragment)) => {
                let message = error.to_string();
                assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
            }
            (got, expected) => panic!("{input}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn versions() {
        let cidr = r#"{"id":1,"name":"evilcorp","cidr":"10.66.0.0/16","parent":null}"#;
        check(r#"{"version":"1","peers":[],"cidrs":[]}"#, Ok((0, 0)));
        check(
            &format!(r#"{{"cidrs":[{cidr}],"peers":[],"version":"1"}}"#),
            Ok((0, 1)),
        );
        check(
            r#"{"version":"2","peers":[],"cidrs":[]}"#,
            Err("unknown variant `2`"),
        );
        check(
            r#"{"version":1,"peers":[],"cidrs":[]}"#,
            Err("failed to parse peer cache"),
        );
        check(r#"{"peers":[],"cidrs":[]}"#, Err("missing field `version`"));
        check("", Err("failed to parse peer cache"));
    }

    #[test]
    fn empty_cache_text() {
        let text = PeerCache::default().to_json_string().unwrap();
        assert_eq!(
            text,
            "{\n  \"version\": \"1\",\n  \"peers\": [],\n  \"cidrs\": []\n}"
        );
    }
}
