//! Interface names as the Linux kernel accepts them.

use std::fmt;
use std::str::FromStr;

/// Longest interface name the kernel accepts (`IFNAMSIZ` − 1).
pub const MAX_INTERFACE_NAME_LEN: usize = 15;

/// Why a string is not a usable interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceNameError {
    #[error("invalid interface name: it is empty")]
    Empty,
    #[error("invalid interface name {name:?}: {len} bytes, at most 15 allowed")]
    TooLong { name: String, len: usize },
    #[error("invalid interface name {name:?}: it contains {what}")]
    BadCharacter { name: String, what: &'static str },
}

/// A validated network interface name: 1–15 bytes, no NUL, `/` or whitespace.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InterfaceName(String);

impl InterfaceName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for InterfaceName {
    type Err = InterfaceNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.is_empty() {
            return Err(InterfaceNameError::Empty);
        }
        if name.len() > MAX_INTERFACE_NAME_LEN {
            let shown: String = name.chars().take(32).collect();
            return Err(InterfaceNameError::TooLong {
                name: shown,
                len: name.len(),
            });
        }
        let bad = name.bytes().find_map(|b| match b {
            0 => Some("a NUL byte"),
            b'/' => Some("a '/'"),
            b if b.is_ascii_whitespace() => Some("whitespace"),
            _ => None,
        });
        match bad {
            Some(what) => Err(InterfaceNameError::BadCharacter {
                name: name.to_owned(),
                what,
            }),
            None => Ok(Self(name.to_owned())),
        }
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for InterfaceName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, ok: bool) {
        assert_eq!(input.parse::<InterfaceName>().is_ok(), ok, "{input:?}");
    }

    #[test]
    fn validates_names() {
        check("wg0", true);
        check("evilcorp", true);
        check("a", true);
        check("fifteen-chars-x", true);
        check("", false);
        check("sixteen-chars-xx", false);
        check("\0", false);
        check("wg\0x", false);
        check("wg 0", false);
        check("wg\t0", false);
        check("wg/0", false);
        assert!(matches!(
            "sixteen-chars-xx".parse::<InterfaceName>(),
            Err(InterfaceNameError::TooLong { len: 16, .. })
        ));
    }
}
