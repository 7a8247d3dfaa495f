//! Fuzz target: the block decoder never panics, and whatever it accepts re-encodes to
//! the very same bytes (the encoding is canonical).
//!
//! Random bytes rarely carry a valid digest, which would keep the fuzzer at the door, so
//! each input is also decoded "resealed": its length field and digest rewritten to fit,
//! which lets mutations reach every structural check behind the digest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn check(block: &[u8]) {
    if let Ok(keyring) = caio_keyring::block::decode(block) {
        assert_eq!(caio_keyring::block::encode(&keyring), block);
    }
}

fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    let mut block = caio_keyring::block::magic().to_vec();
    block.extend_from_slice(&((data.len() + 16 + 4 + 32) as u32).to_le_bytes());
    block.extend_from_slice(data);
    let digest = Sha256::digest(&block);
    block.extend_from_slice(&digest);
    (block.len() <= 65536).then_some(block)
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if let Some(block) = reseal(data) {
        check(&block);
    }
});
