//! An algorithm other than ed25519.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/unknown_algorithm/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
