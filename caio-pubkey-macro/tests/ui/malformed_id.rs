//! An id with characters outside [A-Za-z0-9._-].

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/malformed_id/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
