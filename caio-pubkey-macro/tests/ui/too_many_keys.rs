//! 33 keys; a block holds at most 32.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/too_many_keys/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
