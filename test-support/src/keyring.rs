//! Keyrings for tests: made in memory from seeds (the usual one-key keyring and its
//! key), and written to disk as a manifest with its PEM files.
//!
//! Only the test side of a keyring: the model and its checks are `caio-keyring`'s.

use std::path::{Path, PathBuf};

use caio_keyring::{Channel, Fingerprint, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use ed25519_dalek::SigningKey;

use crate::keys::{self, Key};

/// The window of the keys made here: may sign 2023-11-14..2027-01-15, verifies until
/// 2030-03-17 (unix 1.7e9, 1.8e9, 1.9e9).
pub const WINDOW: Validity = Validity {
    not_before: 1_700_000_000,
    sign_until: 1_800_000_000,
    not_after: 1_900_000_000,
};

/// A window open at both ends: verifies from the beginning of time, forever.
pub const OPEN_WINDOW: Validity = Validity {
    not_before: i64::MIN,
    sign_until: caio_keyring::OPEN_END,
    not_after: caio_keyring::OPEN_END,
};

/// One `[[key]]` entry of a manifest on disk, for a key made by OpenSSL.
pub struct Entry<'a> {
    /// The key's id; its PEM is copied to `<id>.pem`.
    pub id: &'a str,
    /// The key.
    pub key: &'a Key,
    /// `not_before`, RFC 3339.
    pub not_before: &'a str,
    /// `sign_until`, if any.
    pub sign_until: Option<&'a str>,
    /// `not_after`, if any.
    pub not_after: Option<&'a str>,
    /// `status = "revoked"`.
    pub revoked: bool,
}

/// A key of a manifest written as text: its id, the seed its public key is derived
/// from, and the window lines of its `[[key]]` table.
pub struct SeedKey<'a> {
    /// The key's id; its PEM is `<id>.pem`.
    pub id: &'a str,
    /// The public key is that of the signing key `[seed; 32]`.
    pub seed: u8,
    /// The lines after `fingerprint`: windows and maybe `status`.
    pub windows: &'a str,
}

/// The signing key whose 32-byte seed is `seed`.
pub fn signing_key(seed: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&seed)
}

/// The key of `seed` under `id`, with `window`.
pub fn trusted_key(seed: [u8; 32], id: &str, window: Validity) -> TrustedKey {
    let raw = signing_key(seed).verifying_key().to_bytes();
    let id = KeyId::new(id).expect("a valid key id");
    TrustedKey::ed25519(id, &raw, window).expect("a strong key")
}

/// A production keyring, serial 1, `deny`, holding only the key of `seed` under `id`
/// with [`WINDOW`].
pub fn one_key(seed: [u8; 32], id: &str) -> Keyring {
    one_key_in(seed, id, WINDOW)
}

/// [`one_key`] with `window`.
pub fn one_key_in(seed: [u8; 32], id: &str, window: Validity) -> Keyring {
    with_keys(
        1,
        RuntimeOverride::Deny,
        vec![trusted_key(seed, id, window)],
    )
}

/// A production keyring with these keys and no revoked fingerprint.
pub fn with_keys(serial: u32, policy: RuntimeOverride, keys: Vec<TrustedKey>) -> Keyring {
    with_revoked(serial, policy, keys, &[])
}

/// A production keyring with these keys and the fingerprints of the keys of `revoked`
/// (seeds) in its revoked list.
pub fn with_revoked(
    serial: u32,
    policy: RuntimeOverride,
    keys: Vec<TrustedKey>,
    revoked: &[[u8; 32]],
) -> Keyring {
    let revoked = revoked.iter().map(|seed| fingerprint(*seed)).collect();
    Keyring::new(serial, Channel::Production, policy, keys, revoked).expect("a valid keyring")
}

/// The fingerprint of the public key of `seed`.
pub fn fingerprint(seed: [u8; 32]) -> Fingerprint {
    Fingerprint::of_ed25519(&signing_key(seed).verifying_key().to_bytes())
}

/// Writes `dir/keyring.toml` and copies each PEM beside it.
pub fn write_manifest(dir: &Path, serial: u32, entries: &[Entry<'_>]) -> PathBuf {
    write_manifest_with(dir, serial, "", entries)
}

/// [`write_manifest`] with `top` (such as `channel = "development"` or a `[policy]`
/// table) written after `serial`, before the keys.
pub fn write_manifest_with(dir: &Path, serial: u32, top: &str, entries: &[Entry<'_>]) -> PathBuf {
    let mut text = format!("version = 1\nserial = {serial}\n{top}");
    for e in entries {
        let file = format!("{}.pem", e.id);
        std::fs::copy(&e.key.public, dir.join(&file)).expect("copy pem");
        text += &format!(
            "\n[[key]]\nid = \"{}\"\nalgorithm = \"ed25519\"\npublic_key = \"{file}\"\n\
             fingerprint = \"{}\"\nnot_before = {}\n",
            e.id, e.key.fingerprint, e.not_before
        );
        if let Some(t) = e.sign_until {
            text += &format!("sign_until = {t}\n");
        }
        if let Some(t) = e.not_after {
            text += &format!("not_after = {t}\n");
        }
        if e.revoked {
            text += "status = \"revoked\"\n";
        }
    }
    let path = dir.join("keyring.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

/// The `[[key]]` table of `key`, with a comment above it.
pub fn key_table(key: &SeedKey<'_>) -> String {
    format!(
        "\n# key {id}\n[[key]]\nid = \"{id}\"\nalgorithm = \"ed25519\"\npublic_key = \"{id}.pem\"\nfingerprint = \"{fp}\"\n{windows}",
        id = key.id,
        fp = keys::fingerprint(key.seed),
        windows = key.windows
    )
}

/// Writes `dir/<id>.pem` for each key and returns the `[[key]]` tables of them all.
pub fn write_seed_keys(dir: &Path, keys: &[SeedKey<'_>]) -> String {
    let mut text = String::new();
    for key in keys {
        std::fs::write(
            dir.join(format!("{}.pem", key.id)),
            keys::public_pem(key.seed),
        )
        .expect("pem");
        text.push_str(&key_table(key));
    }
    text
}

/// The offset and length of the one keyring block in `bytes` (a binary).
pub fn find_block(bytes: &[u8]) -> (usize, usize) {
    let needle = caio_keyring::block::scan_prefix();
    let hits: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "exactly one block in the binary, found {hits:?}"
    );
    let at = hits[0];
    let len = caio_keyring::block::block_len(&bytes[at..]).expect("block length");
    (at, len)
}
