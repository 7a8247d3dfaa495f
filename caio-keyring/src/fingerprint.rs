//! Key and keyring fingerprints: `sha256:` and 64 lowercase hex digits.
//!
//! A key's fingerprint is the SHA-256 of its SubjectPublicKeyInfo DER, so anyone can
//! reproduce it with `openssl pkey -pubin -outform DER | sha256sum`. For Ed25519 that
//! DER is a fixed 12-byte prefix and the 32 raw key bytes, so the runtime computes it
//! without an ASN.1 parser. This module does not read PEM; see `manifest` for that.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

/// The DER bytes that precede the 32 raw key bytes in every Ed25519 SPKI (RFC 8410).
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A SHA-256 fingerprint, shown as `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint([u8; 32]);

/// Why a string is not a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintParseError {
    /// The text does not start with `sha256:`.
    #[error("a fingerprint starts with `sha256:`")]
    MissingPrefix,
    /// The hex part is not 64 lowercase hex digits.
    #[error("a fingerprint is `sha256:` and 64 lowercase hex digits")]
    BadHex,
}

impl Fingerprint {
    /// Wraps 32 digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The SHA-256 of `der`, whatever it holds.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// The fingerprint of a raw Ed25519 public key: SHA-256 of its SPKI DER.
    pub fn of_ed25519(raw: &[u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(ED25519_SPKI_PREFIX);
        hasher.update(raw);
        Self(hasher.finalize().into())
    }
}

impl FromStr for Fingerprint {
    type Err = FingerprintParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s
            .strip_prefix("sha256:")
            .ok_or(FingerprintParseError::MissingPrefix)?;
        // `hex` accepts upper case; the format does not, so one key has one spelling.
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(FingerprintParseError::BadHex);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| FingerprintParseError::BadHex)?;
        Ok(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_other_spellings() {
        let text = format!("sha256:{}", "ab".repeat(32));
        let fp: Fingerprint = text.parse().expect("valid fingerprint");
        assert_eq!(fp.to_string(), text);
        for bad in [
            "ab".repeat(32),
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", "ab".repeat(31)),
            format!("SHA256:{}", "ab".repeat(32)),
            format!("sha256:{}g", "ab".repeat(31)),
        ] {
            assert!(bad.parse::<Fingerprint>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn ed25519_fingerprint_hashes_the_spki_der() {
        let raw = [7u8; 32];
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&raw);
        assert_eq!(Fingerprint::of_ed25519(&raw), Fingerprint::of_der(&der));
    }
}
