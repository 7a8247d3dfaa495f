//! public_key names a file in a subdirectory.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/public_key_in_directory/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
