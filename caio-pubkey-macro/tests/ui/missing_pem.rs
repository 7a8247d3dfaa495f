//! public_key names a file that does not exist.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/missing_pem/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
