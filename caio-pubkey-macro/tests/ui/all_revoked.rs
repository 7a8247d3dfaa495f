//! Every key revoked: nothing left to embed.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/all_revoked/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
