//! sign_until comes after not_after.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/sign_until_after_not_after/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
