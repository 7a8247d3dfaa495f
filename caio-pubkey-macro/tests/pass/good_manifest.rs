//! The good manifest embeds as a block that decodes to its keyring, as a `static`
//! initializer of type `&'static [u8; N]`, and twice in one scope without a clash.

static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!("../ui/fixtures/good/keyring.toml");

fn block_len<const N: usize>(_: &'static [u8; N]) -> usize {
    N
}

fn main() {
    let keyring = caio_keyring::block::decode(KEYRING).expect("the embedded block decodes");
    let ids: Vec<&str> = keyring.keys().iter().map(|k| k.id().as_str()).collect();
    assert_eq!(ids, ["caio-test-a"]);
    assert_eq!(keyring.revoked().len(), 1);
    assert_eq!(keyring.serial(), 3);

    let again = caio_pubkey_macro::embed_keyring!("../ui/fixtures/good/keyring.toml",);
    assert_eq!(block_len(again), KEYRING.len());
    assert_eq!(&again[..], KEYRING);
}
