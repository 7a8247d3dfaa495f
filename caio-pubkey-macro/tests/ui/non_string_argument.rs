//! The argument is not a string literal.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!(fixtures / good / keyring);

fn main() {
    assert!(!KEYRING.is_empty());
}
