//! The keyring: the keys a build trusts, with their windows, and the fingerprints it
//! must never trust.
//!
//! A [`Keyring`] is valid by construction: [`Keyring::new`] is the only way in, and both
//! the block decoder and the manifest reader go through it, so every invariant lives in
//! one place. This module does no I/O and knows nothing of TOML or of the byte format.

use core::fmt;

use ed25519_dalek::VerifyingKey;

use crate::fingerprint::Fingerprint;

/// Unix seconds that stand for "no end": the encoding of an absent `not_after`.
pub const OPEN_END: i64 = i64::MAX;

/// The most keys one keyring embeds.
pub const MAX_KEYS: usize = 32;

/// The most revoked fingerprints one keyring carries.
pub const MAX_REVOKED: usize = 64;

/// The longest key id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// A key label: 1 to 64 bytes of `[A-Za-z0-9._-]`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

/// Why a string is not a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyIdError {
    /// Empty, or longer than [`MAX_ID_LEN`] bytes.
    #[error("a key id is 1 to 64 characters long, this one has {len}")]
    Length {
        /// The length found.
        len: usize,
    },
    /// A character outside `[A-Za-z0-9._-]`.
    #[error("a key id uses only A-Z, a-z, 0-9, `.`, `_` and `-`; found {found:?}")]
    Character {
        /// The first character that is not allowed.
        found: char,
    },
}

impl KeyId {
    /// Checks `id` against the id syntax.
    pub fn new(id: &str) -> Result<Self, KeyIdError> {
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(KeyIdError::Length { len: id.len() });
        }
        if let Some(found) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(KeyIdError::Character { found });
        }
        Ok(Self(id.to_owned()))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The signature algorithm of a key. Format 1 knows one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), verified with `verify_strict`.
    Ed25519,
}

impl Algorithm {
    /// The byte that stands for the algorithm in a block.
    pub const fn code(self) -> u8 {
        match self {
            Self::Ed25519 => 1,
        }
    }

    /// The algorithm a block byte stands for, if any.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Ed25519),
            _ => None,
        }
    }

    /// The manifest spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
        }
    }
}

/// When a key may sign and when licenses signed by it verify, in unix seconds.
///
/// A license is accepted only if `not_before <= iat <= sign_until` and
/// `now <= not_after`. Always `not_before <= sign_until <= not_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Validity {
    /// The first instant a license may be issued at.
    pub not_before: i64,
    /// The last instant a license may be issued at.
    pub sign_until: i64,
    /// The last instant any license from this key verifies; [`OPEN_END`] for none.
    pub not_after: i64,
}

impl Validity {
    /// Whether the three instants are in order.
    pub const fn is_ordered(&self) -> bool {
        self.not_before <= self.sign_until && self.sign_until <= self.not_after
    }
}

/// Whether a keyring is for shipping or for development builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Channel {
    /// Release builds. The default.
    #[default]
    Production,
    /// Development builds, which the release gate refuses.
    Development,
}

impl Channel {
    /// The manifest spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Development => "development",
        }
    }
}

/// What a binary does with `CAIO_LICENSE_PUBLIC_KEY` at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RuntimeOverride {
    /// Ignore it, with a warning. The default.
    #[default]
    Deny,
    /// Accept it only as a key endorsement signed by an embedded key.
    Endorsed,
    /// Accept a plain public key: development builds only.
    Allow,
}

impl RuntimeOverride {
    /// The value of flag bits 0-1 in a block.
    pub const fn code(self) -> u16 {
        match self {
            Self::Deny => 0,
            Self::Endorsed => 1,
            Self::Allow => 2,
        }
    }

    /// The policy that flag bits 0-1 stand for, if any.
    pub const fn from_code(code: u16) -> Option<Self> {
        match code {
            0 => Some(Self::Deny),
            1 => Some(Self::Endorsed),
            2 => Some(Self::Allow),
            _ => None,
        }
    }

    /// The manifest spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Endorsed => "endorsed",
            Self::Allow => "allow",
        }
    }
}

/// One trusted key.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedKey {
    id: KeyId,
    algorithm: Algorithm,
    public_key: VerifyingKey,
    fingerprint: Fingerprint,
    validity: Validity,
}

/// Why a public key cannot be trusted, whatever its windows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The 32 bytes are not a point on the curve.
    #[error("the 32 bytes are not an Ed25519 public key")]
    NotAPoint,
    /// A small-order point: signatures under it prove nothing.
    #[error("the public key is a weak (small-order) Ed25519 point; generate a real key")]
    Weak,
}

/// Parses 32 raw bytes as an Ed25519 key that signatures can mean something under.
pub fn ed25519_public_key(raw: &[u8; 32]) -> Result<VerifyingKey, PublicKeyError> {
    let key = VerifyingKey::from_bytes(raw).map_err(|_| PublicKeyError::NotAPoint)?;
    if key.is_weak() {
        return Err(PublicKeyError::Weak);
    }
    Ok(key)
}

impl TrustedKey {
    /// A trusted Ed25519 key. Refuses weak keys and windows out of order.
    pub fn ed25519(id: KeyId, raw: &[u8; 32], validity: Validity) -> Result<Self, KeyringError> {
        let public_key = ed25519_public_key(raw).map_err(|source| KeyringError::PublicKey {
            id: id.clone(),
            source,
        })?;
        if !validity.is_ordered() {
            return Err(KeyringError::WindowOrder { id });
        }
        Ok(Self {
            fingerprint: Fingerprint::of_ed25519(raw),
            id,
            algorithm: Algorithm::Ed25519,
            public_key,
            validity,
        })
    }

    /// The key's label.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The parsed public key, ready to verify with.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// SHA-256 of the key's SPKI DER.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The signing and verification windows.
    pub fn validity(&self) -> Validity {
        self.validity
    }
}

impl fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKey")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .field("validity", &self.validity)
            .finish()
    }
}

/// A valid keyring: 1 to 32 trusted keys sorted by id, 0 to 64 revoked fingerprints
/// sorted ascending, no id or key twice, no key both trusted and revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    serial: u32,
    channel: Channel,
    runtime_override: RuntimeOverride,
    keys: Vec<TrustedKey>,
    revoked: Vec<Fingerprint>,
}

/// Why a set of keys is not a keyring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// No key to embed (all revoked, or none listed).
    #[error("the keyring has no key to embed; add a key that is not revoked")]
    NoKeys,
    /// More than [`MAX_KEYS`] keys.
    #[error("the keyring has {count} keys to embed, at most 32 fit; remove expired keys")]
    TooManyKeys {
        /// How many there are.
        count: usize,
    },
    /// More than [`MAX_REVOKED`] revoked fingerprints.
    #[error("the keyring has {count} revoked keys, at most 64 fit")]
    TooManyRevoked {
        /// How many there are.
        count: usize,
    },
    /// Two keys with one id.
    #[error("key {id:?}: the id is used twice; ids are unique")]
    DuplicateId {
        /// The repeated id.
        id: KeyId,
    },
    /// One public key under two ids.
    #[error("keys {first:?} and {second:?} are the same public key; list it once")]
    DuplicateKey {
        /// The first id.
        first: KeyId,
        /// The second id.
        second: KeyId,
    },
    /// A fingerprint both trusted and revoked.
    #[error("key {id:?} is both embedded and revoked")]
    RevokedAndTrusted {
        /// The trusted key's id.
        id: KeyId,
    },
    /// A revoked fingerprint listed twice.
    #[error("revoked fingerprint {fingerprint} is listed twice")]
    DuplicateRevoked {
        /// The repeated fingerprint.
        fingerprint: Fingerprint,
    },
    /// Windows out of order.
    #[error("key {id:?}: windows out of order; need not_before <= sign_until <= not_after")]
    WindowOrder {
        /// The key's id.
        id: KeyId,
    },
    /// The public key cannot be trusted.
    #[error("key {id:?}: {source}")]
    PublicKey {
        /// The key's id.
        id: KeyId,
        /// What is wrong with it.
        source: PublicKeyError,
    },
}

impl Keyring {
    /// Builds a keyring, sorting keys by id and revoked fingerprints ascending.
    pub fn new(
        serial: u32,
        channel: Channel,
        runtime_override: RuntimeOverride,
        mut keys: Vec<TrustedKey>,
        mut revoked: Vec<Fingerprint>,
    ) -> Result<Self, KeyringError> {
        if keys.is_empty() {
            return Err(KeyringError::NoKeys);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeyringError::TooManyKeys { count: keys.len() });
        }
        if revoked.len() > MAX_REVOKED {
            return Err(KeyringError::TooManyRevoked {
                count: revoked.len(),
            });
        }
        keys.sort_by(|a, b| a.id.as_str().as_bytes().cmp(b.id.as_str().as_bytes()));
        for pair in keys.windows(2) {
            if let [a, b] = pair
                && a.id == b.id
            {
                return Err(KeyringError::DuplicateId { id: b.id.clone() });
            }
        }
        for (i, a) in keys.iter().enumerate() {
            for b in keys.iter().skip(i + 1) {
                if a.fingerprint == b.fingerprint {
                    return Err(KeyringError::DuplicateKey {
                        first: a.id.clone(),
                        second: b.id.clone(),
                    });
                }
            }
        }
        revoked.sort_unstable();
        for pair in revoked.windows(2) {
            if let [a, b] = pair
                && a == b
            {
                return Err(KeyringError::DuplicateRevoked { fingerprint: *a });
            }
        }
        if let Some(key) = keys
            .iter()
            .find(|k| revoked.binary_search(&k.fingerprint).is_ok())
        {
            return Err(KeyringError::RevokedAndTrusted { id: key.id.clone() });
        }
        Ok(Self {
            serial,
            channel,
            runtime_override,
            keys,
            revoked,
        })
    }

    /// The manifest serial, bumped by every edit.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Production or development.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// What the binary does with `CAIO_LICENSE_PUBLIC_KEY`.
    pub fn runtime_override(&self) -> RuntimeOverride {
        self.runtime_override
    }

    /// The trusted keys, sorted by id.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The revoked fingerprints, sorted ascending.
    pub fn revoked(&self) -> &[Fingerprint] {
        &self.revoked
    }

    /// The trusted key with this fingerprint.
    pub fn key_by_fingerprint(&self, fingerprint: &Fingerprint) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.fingerprint == *fingerprint)
    }

    /// The trusted key with this id.
    pub fn key_by_id(&self, id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.id.as_str() == id)
    }

    /// Whether this fingerprint is revoked.
    pub fn is_revoked(&self, fingerprint: &Fingerprint) -> bool {
        self.revoked.binary_search(fingerprint).is_ok()
    }

    /// The keyring fingerprint: `sha256:` and the hex of the block digest.
    pub fn fingerprint(&self) -> Fingerprint {
        crate::block::digest_of(&crate::block::encode(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_id(id: &str, ok: bool) {
        assert_eq!(KeyId::new(id).is_ok(), ok, "{id:?}");
    }

    #[test]
    fn key_id_syntax() {
        check_id("caio-2026-01", true);
        check_id("A.b_c-9", true);
        check_id(&"x".repeat(64), true);
        check_id("", false);
        check_id(&"x".repeat(65), false);
        check_id("has space", false);
        check_id("slash/", false);
        check_id("é", false);
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(ed25519_public_key(&identity), Err(PublicKeyError::Weak));
    }
}
