//! A channel other than production and development.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/unknown_channel/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
