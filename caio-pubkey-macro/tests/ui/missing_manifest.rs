//! The manifest file does not exist.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/missing_manifest/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
