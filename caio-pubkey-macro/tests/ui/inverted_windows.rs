//! not_after comes before not_before.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/inverted_windows/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
