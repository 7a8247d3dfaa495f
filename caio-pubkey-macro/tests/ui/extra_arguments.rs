//! Two paths where one is expected.

static KEYRING: &[u8] =
    caio_pubkey_macro::embed_keyring!("fixtures/good/keyring.toml", "keys/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
