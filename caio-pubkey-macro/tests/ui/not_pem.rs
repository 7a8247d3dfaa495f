//! A public key file that is not PEM.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/not_pem/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
