//! A manifest with no key.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/no_keys/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
