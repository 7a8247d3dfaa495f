//! One public key under two ids.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/same_key_twice/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
