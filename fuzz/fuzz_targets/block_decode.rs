//! Fuzz target: the block decoder never panics, and whatever it accepts re-encodes to
//! the very same bytes (the encoding is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(keyring) = caio_keyring::block::decode(data) {
        assert_eq!(caio_keyring::block::encode(&keyring), data);
    }
});
