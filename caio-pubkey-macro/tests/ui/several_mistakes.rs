//! Three mistakes in one manifest: one build reports all of them.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("fixtures/several_mistakes/keyring.toml");

fn main() {
    assert!(!KEYRING.is_empty());
}
