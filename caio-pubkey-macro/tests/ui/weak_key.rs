//! A weak (small-order) Ed25519 key: the identity point.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/weak_key/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
