//! A manifest version this toolchain does not read.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/unknown_version/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
