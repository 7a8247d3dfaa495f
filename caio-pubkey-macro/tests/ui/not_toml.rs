//! A manifest that is not TOML.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/not_toml/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
