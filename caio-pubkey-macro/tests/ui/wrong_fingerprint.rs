//! The stated fingerprint is another key's.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/wrong_fingerprint/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
