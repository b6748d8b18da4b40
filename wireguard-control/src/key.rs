//! X25519 keys in the three roles WireGuard gives them: private, public and preshared.
//!
//! Keys travel as standard padded base64 (configs, the API) and as lowercase hex (the UAPI).
//! Secret keys never print their value through `Debug`, so they cannot leak into logs.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use x25519_dalek::{PublicKey as DalekPublic, StaticSecret};

/// Length of every WireGuard key in bytes.
pub const KEY_LEN: usize = 32;

/// Why a string is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("invalid key {input:?}: not valid base64")]
    Base64 { input: String },
    #[error("invalid key {input:?}: not valid hex")]
    Hex { input: String },
    #[error("invalid key {input:?}: decodes to {len} bytes, a WireGuard key has 32")]
    Length { input: String, len: usize },
}

fn decode_base64(input: &str) -> Result<[u8; KEY_LEN], KeyError> {
    // A 32-byte key is always exactly 44 characters of padded base64; anything else is
    // rejected before decoding so that over-long input costs nothing.
    if input.len() != 44 {
        return match STANDARD.decode(input.as_bytes()) {
            Ok(bytes) => Err(KeyError::Length {
                input: input.to_owned(),
                len: bytes.len(),
            }),
            Err(_) => Err(KeyError::Base64 {
                input: truncate(input),
            }),
        };
    }
    let bytes = STANDARD
        .decode(input.as_bytes())
        .map_err(|_| KeyError::Base64 {
            input: truncate(input),
        })?;
    bytes.as_slice().try_into().map_err(|_| KeyError::Length {
        input: truncate(input),
        len: bytes.len(),
    })
}

fn decode_hex(input: &str) -> Result<[u8; KEY_LEN], KeyError> {
    if input.len() != 2 * KEY_LEN {
        return Err(KeyError::Length {
            input: truncate(input),
            len: input.len() / 2,
        });
    }
    let mut out = [0u8; KEY_LEN];
    hex::decode_to_slice(input, &mut out).map_err(|_| KeyError::Hex {
        input: truncate(input),
    })?;
    Ok(out)
}

/// Keeps error messages short when the input is huge.
fn truncate(input: &str) -> String {
    if input.len() <= 64 {
        input.to_owned()
    } else {
        let mut end = 64;
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &input[..end])
    }
}

macro_rules! key_common {
    ($name:ident) => {
        impl $name {
            /// The raw 32 bytes.
            pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
                &self.0
            }

            /// Builds a key from raw bytes.
            pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                Self(bytes)
            }

            /// Standard padded base64, as in configs and the API.
            pub fn to_base64(&self) -> String {
                STANDARD.encode(self.0)
            }

            /// Parses standard padded base64 (44 characters).
            pub fn from_base64(input: &str) -> Result<Self, KeyError> {
                decode_base64(input).map(Self)
            }

            /// Lowercase hex, as in the UAPI.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex digits.
            pub fn from_hex(input: &str) -> Result<Self, KeyError> {
                decode_hex(input).map(Self)
            }
        }

        impl FromStr for $name {
            type Err = KeyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_base64(s)
            }
        }
    };
}

/// A WireGuard private key (clamped X25519 scalar). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey([u8; KEY_LEN]);

/// A WireGuard public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; KEY_LEN]);

/// A WireGuard preshared key (symmetric secret). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PresharedKey([u8; KEY_LEN]);

key_common!(PrivateKey);
key_common!(PublicKey);
key_common!(PresharedKey);

impl PrivateKey {
    /// A fresh key from the operating system's random number generator, clamped as X25519 requires.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        // Clamping (RFC 7748 §5) so the stored value is exactly what `wg genkey` would print.
        bytes[0] &= 248;
        bytes[31] &= 127;
        bytes[31] |= 64;
        Self(bytes)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let secret = StaticSecret::from(self.0);
        PublicKey(DalekPublic::from(&secret).to_bytes())
    }
}

impl PresharedKey {
    /// A fresh random preshared key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl fmt::Debug for PresharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresharedKey(<redacted>)")
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_PRIVATE: &str = "SGb+ojrRNDuMePufwtIYhXzA//k6wF3R21tEBgKlzlM=";
    const VECTOR_PUBLIC: &str = "DD5yKRfzExcV5+kDnTroDgCU15latdMjiQ59j1hEuk8=";

    #[test]
    fn derives_public_key_of_test_vector() {
        let private = PrivateKey::from_base64(VECTOR_PRIVATE).unwrap();
        assert_eq!(private.public_key().to_base64(), VECTOR_PUBLIC);
    }

    #[test]
    fn base64_and_hex_round_trip() {
        let key = PublicKey::from_base64(VECTOR_PUBLIC).unwrap();
        assert_eq!(PublicKey::from_hex(&key.to_hex()).unwrap(), key);
        assert_eq!(PublicKey::from_base64(&key.to_base64()).unwrap(), key);
        assert_eq!(key.to_hex().len(), 64);
    }

    #[test]
    fn rejects_malformed_keys() {
        fn check(input: &str) {
            let err = PublicKey::from_base64(input).unwrap_err();
            assert!(err.to_string().starts_with("invalid key"), "{input}: {err}");
        }
        check("");
        check("not a key");
        check(&VECTOR_PUBLIC.chars().rev().collect::<String>());
        check("AAAA");
        check(&"A".repeat(44));
        check(&format!("{VECTOR_PUBLIC}AAAA"));
        check(&"é".repeat(100));
        assert!(matches!(
            PublicKey::from_hex("zz"),
            Err(KeyError::Length { .. })
        ));
        assert!(matches!(
            PublicKey::from_hex(&"zz".repeat(32)),
            Err(KeyError::Hex { .. })
        ));
    }

    #[test]
    fn generated_keys_are_clamped_and_distinct() {
        let a = PrivateKey::generate();
        let b = PrivateKey::generate();
        assert_ne!(a, b);
        assert_ne!(a.public_key(), b.public_key());
        assert_eq!(a.as_bytes()[0] & 7, 0);
        assert_eq!(a.as_bytes()[31] & 0xc0, 0x40);
    }

    #[test]
    fn debug_redacts_secrets() {
        let key = PrivateKey::generate();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.to_base64()));
        assert!(!format!("{:?}", PresharedKey::generate()).contains('='));
    }
}
