//! Fuzz target: the manifest reader never panics on any text, with any PEM bytes.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// The public key of seed `[7; 32]`, whose fingerprint the seed corpus uses, so that
/// mutations reach the checks past the PEM.
const PEM: &[u8] = b"-----BEGIN PUBLIC KEY-----\n\
MCowBQYDK2VwAyEA6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=\n\
-----END PUBLIC KEY-----\n";

fuzz_target!(|data: &[u8]| {
    // Before a NUL byte: the manifest. After it: the bytes every PEM file holds.
    let (text, pem) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, PEM),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    if let Ok(manifest) =
        caio_keyring::manifest::Manifest::parse(Path::new("keys/keyring.toml"), text, |_| {
            Ok(pem.to_vec())
        })
    {
        // Whatever the reader accepts encodes to a block the decoder accepts back.
        let block = caio_keyring::block::encode(manifest.keyring());
        assert_eq!(&caio_keyring::block::decode(&block).unwrap(), manifest.keyring());
    }
});
