//! A misspelt field.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/unknown_field/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
