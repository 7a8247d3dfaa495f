//! Two keys under one id.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/duplicate_id/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
