//! Validated peer names ([`Hostname`]): what may appear in `/etc/hosts` as `<name>.<network>`.
//!
//! The rule is innernet's: lowercase ASCII letters and digits, single dashes between them, no
//! leading or trailing dash, no dots, 1 to 63 characters. Deserialization validates too, so a
//! bad name in a JSON body or file is rejected with the reason instead of slipping through.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest allowed hostname, in bytes (one DNS label).
pub const MAX_HOSTNAME_LEN: usize = 63;

/// A peer name that follows the hostname rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hostname(String);

/// Why a string is not a valid hostname.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostnameError {
    #[error("invalid hostname: it is empty; use 1 to 63 lowercase letters, digits and dashes")]
    Empty,
    #[error("invalid hostname {name:?}: it is {len} characters long, at most 63 are allowed")]
    TooLong { name: String, len: usize },
    #[error(
        "invalid hostname {name:?}: {character:?} is not allowed; use lowercase letters, digits \
         and single dashes"
    )]
    InvalidCharacter { name: String, character: char },
    #[error("invalid hostname {name:?}: it must not start with a dash")]
    LeadingDash { name: String },
    #[error("invalid hostname {name:?}: it must not end with a dash")]
    TrailingDash { name: String },
    #[error("invalid hostname {name:?}: dashes must not follow each other")]
    DoubleDash { name: String },
}

impl Hostname {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// `<name>-<word>-<number>`, the name cut short enough that the whole still fits one
    /// label: what an identity that gave its name up is called (`retired`, `deleted`).
    /// `word` must be lowercase letters.
    pub fn suffixed(&self, word: &str, number: i64) -> Hostname {
        debug_assert!(word.bytes().all(|b| b.is_ascii_lowercase()));
        let suffix = format!("-{word}-{}", number.unsigned_abs());
        let keep = MAX_HOSTNAME_LEN.saturating_sub(suffix.len());
        let base: String = self.0.chars().take(keep).collect();
        // A valid name starts with a letter or digit, so something is left.
        let base = base.trim_end_matches('-');
        Hostname(format!("{base}{suffix}"))
    }
}

impl FromStr for Hostname {
    type Err = HostnameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.is_empty() {
            return Err(HostnameError::Empty);
        }
        if let Some(character) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(HostnameError::InvalidCharacter {
                name: shorten(name),
                character,
            });
        }
        // Only ASCII is left, so bytes and characters agree.
        if name.len() > MAX_HOSTNAME_LEN {
            return Err(HostnameError::TooLong {
                name: shorten(name),
                len: name.len(),
            });
        }
        if name.starts_with('-') {
            return Err(HostnameError::LeadingDash {
                name: name.to_owned(),
            });
        }
        if name.ends_with('-') {
            return Err(HostnameError::TrailingDash {
                name: name.to_owned(),
            });
        }
        if name.contains("--") {
            return Err(HostnameError::DoubleDash {
                name: name.to_owned(),
            });
        }
        Ok(Self(name.to_owned()))
    }
}

impl TryFrom<String> for Hostname {
    type Error = HostnameError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl From<Hostname> for String {
    fn from(name: Hostname) -> Self {
        name.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for Hostname {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Hostname {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Hostname {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hostname {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Cuts user input down to a size that fits an error message.
pub(crate) fn shorten(input: &str) -> String {
    const LIMIT: usize = 80;
    if input.len() <= LIMIT {
        return input.to_owned();
    }
    let mut end = LIMIT;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &input[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, HostnameError>) {
        let got = input.parse::<Hostname>();
        assert_eq!(
            got.as_ref().map(Hostname::as_str),
            expected.as_deref(),
            "input {input:?}"
        );
    }

    #[test]
    fn hostname_rule() {
        let name = |s: &str| s.to_owned();
        let long_ok = "a".repeat(63);
        let long_bad = "a".repeat(64);
        check("a", Ok("a"));
        check("0", Ok("0"));
        check("peer-1", Ok("peer-1"));
        check("innernet-server", Ok("innernet-server"));
        check("a-b-c-9", Ok("a-b-c-9"));
        check(&long_ok, Ok(&long_ok));
        check(
            &long_bad,
            Err(HostnameError::TooLong {
                name: long_bad.clone(),
                len: 64,
            }),
        );
        check("", Err(HostnameError::Empty));
        check("-", Err(HostnameError::LeadingDash { name: name("-") }));
        check("-a", Err(HostnameError::LeadingDash { name: name("-a") }));
        check("a-", Err(HostnameError::TrailingDash { name: name("a-") }));
        check(
            "a--b",
            Err(HostnameError::DoubleDash { name: name("a--b") }),
        );
        check(
            "A",
            Err(HostnameError::InvalidCharacter {
                name: name("A"),
                character: 'A',
            }),
        );
        check(
            "a.b",
            Err(HostnameError::InvalidCharacter {
                name: name("a.b"),
                character: '.',
            }),
        );
        check(
            "a b",
            Err(HostnameError::InvalidCharacter {
                name: name("a b"),
                character: ' ',
            }),
        );
        check(
            "a_b",
            Err(HostnameError::InvalidCharacter {
                name: name("a_b"),
                character: '_',
            }),
        );
        check(
            "é",
            Err(HostnameError::InvalidCharacter {
                name: name("é"),
                character: 'é',
            }),
        );
    }

    #[test]
    fn long_input_is_shortened_in_messages() {
        let huge = "x".repeat(10_000);
        let message = huge.parse::<Hostname>().unwrap_err().to_string();
        assert!(message.len() < 300, "{message}");
        assert!(message.contains("10000 characters"), "{message}");
    }

    #[test]
    fn serde_validates() {
        let ok: Hostname = serde_json::from_str("\"peer-1\"").unwrap();
        assert_eq!(ok.as_str(), "peer-1");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"peer-1\"");
        let err = serde_json::from_str::<Hostname>("\"Bad.Name\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid hostname \"Bad.Name\""), "{err}");
    }
}
