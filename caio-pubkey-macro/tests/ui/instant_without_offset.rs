//! An instant without a time and offset.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/instant_without_offset/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
