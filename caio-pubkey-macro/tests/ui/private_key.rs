//! A private key where the public key belongs.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/private_key/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
