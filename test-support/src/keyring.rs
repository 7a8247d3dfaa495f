//! Keyrings made in memory from seeds: the usual one-key keyring and its key.

use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use ed25519_dalek::SigningKey;

/// The window of the keys made here: may sign 2023-11-14..2027-01-15, verifies until
/// 2030-03-17 (unix 1.7e9, 1.8e9, 1.9e9).
pub const WINDOW: Validity = Validity {
    not_before: 1_700_000_000,
    sign_until: 1_800_000_000,
    not_after: 1_900_000_000,
};

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
    with_keys(
        1,
        RuntimeOverride::Deny,
        vec![trusted_key(seed, id, WINDOW)],
    )
}

/// A production keyring with these keys and no revoked fingerprint.
pub fn with_keys(serial: u32, policy: RuntimeOverride, keys: Vec<TrustedKey>) -> Keyring {
    Keyring::new(serial, Channel::Production, policy, keys, vec![]).expect("a valid keyring")
}
