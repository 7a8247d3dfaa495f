//! An RSA public key.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/rsa_key/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
