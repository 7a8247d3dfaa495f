//! A key without a fingerprint.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/missing_fingerprint/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
