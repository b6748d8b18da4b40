//! Tokens of the automation API: what they look like, their scopes, and how a presented one is
//! checked.
//!
//! A token is `wmt_<id>_<secret>`: the id finds its row, the secret (32 random bytes,
//! base64url) proves it. Only the secret's SHA-256 is stored, so the database (and its
//! backups) cannot be used to call the API; the comparison takes the same time however much
//! of it matches. A secret this long needs no slow hash: nobody guesses 256 random bits.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read everything: peers, devices, CIDRs, associations, rules, routes, status, audit.
    Read,
    /// Read, and create, delete, enable, disable devices and issue their configurations.
    Devices,
    /// Read, and create, delete, enable, disable and rename peers.
    Peers,
    /// Read, and change CIDRs, associations, rules and routes.
    Policy,
    /// Everything.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Devices,
        Scope::Peers,
        Scope::Policy,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Devices => "devices",
            Scope::Peers => "peers",
            Scope::Policy => "policy",
            Scope::Admin => "admin",
        }
    }

    /// Whether a token holding `held` may do what needs `self`: `admin` may do everything,
    /// every scope may read.
    pub fn granted_by(self, held: &[Scope]) -> bool {
        held.iter()
            .any(|h| *h == Scope::Admin || *h == self || self == Scope::Read)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                format!("unknown scope {text:?}: use read, devices, peers, policy or admin")
            })
    }
}

/// What every token starts with (so that secret scanners and people recognise one).
pub const PREFIX: &str = "wmt_";

/// A new secret and the SHA-256 to store (hex).
pub fn new_secret() -> (String, String) {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = secret_sha256(&secret);
    (secret, hash)
}

/// The token handed out for row `id` with `secret`.
pub fn token_text(id: i64, secret: &str) -> String {
    format!("{PREFIX}{id}_{secret}")
}

/// The SHA-256 of a secret, hex.
pub fn secret_sha256(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A presented token split into its row id and secret; `None` when it is not shaped like one.
pub fn parse(text: &str) -> Option<(i64, &str)> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    (!secret.is_empty()).then_some((id, secret))
}

/// Whether `secret` hashes to `stored`, in time that does not depend on where they differ.
pub fn secret_matches(secret: &str, stored: &str) -> bool {
    secret_sha256(secret)
        .as_bytes()
        .ct_eq(stored.as_bytes())
        .into()
}

/// Why a request's token was refused (401, except a missing scope: 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no token: send it as `Authorization: Bearer wmt_…`")]
    Missing,
    #[error("this is not a wiremesh token (they look like wmt_<id>_<secret>)")]
    Malformed,
    #[error("unknown or wrong token")]
    Wrong,
    #[error("token {name:?} was revoked")]
    Revoked { name: String },
    #[error("token {name:?} has expired")]
    Expired { name: String },
    #[error("token {name:?} lacks the scope {needed} (it has: {held})")]
    Scope {
        name: String,
        needed: Scope,
        held: String,
    },
}

/// A token's name: 1 to 64 letters, digits, `-`, `_` and `.`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid token name {name:?}: use 1 to 64 letters, digits, dashes, dots and underscores"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_parsed_and_checked() {
        let (secret, hash) = new_secret();
        assert_eq!(secret.len(), 43);
        assert_eq!(hash.len(), 64);
        let text = token_text(7, &secret);
        assert_eq!(parse(&text), Some((7, secret.as_str())));
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches(&format!("{secret}x"), &hash));
        assert!(!secret_matches("", &hash));
        for bad in [
            "",
            "wmt_",
            "wmt_7",
            "wmt_7_",
            "wmt_x_abc",
            "wmt_-1_abc",
            "xyz_7_abc",
            "wmt_0_a",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        // A known value: the SHA-256 of "abc".
        assert_eq!(
            secret_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes() {
        use Scope::*;
        assert!(Read.granted_by(&[Devices]));
        assert!(Devices.granted_by(&[Devices]));
        assert!(!Peers.granted_by(&[Devices]));
        assert!(!Devices.granted_by(&[Read]));
        assert!(Policy.granted_by(&[Admin]));
        assert!(!Admin.granted_by(&[Read, Devices, Peers, Policy]));
        assert_eq!("policy".parse::<Scope>(), Ok(Policy));
        assert!("everything".parse::<Scope>().is_err());
        assert!(check_name("ci-runner_1.prod").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("has space").is_err());
    }
}
