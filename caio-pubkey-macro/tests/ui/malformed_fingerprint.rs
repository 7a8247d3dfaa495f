//! A fingerprint in upper-case hex.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/malformed_fingerprint/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
