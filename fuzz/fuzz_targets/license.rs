//! Fuzz target: license parsing and verification never panic, and whatever verifies
//! carries a signature that ed25519-dalek's `verify_strict` accepts on its own over the
//! bytes before the second dot.
#![no_main]

use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use caio_verify::{Options, Verifier};
use ed25519_dalek::{Signature, SigningKey};
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The seed corpus holds tokens signed by this key, so mutations reach every check.
    let public = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let window = Validity { not_before: 0, sign_until: 1_900_000_000, not_after: i64::MAX };
    let key = TrustedKey::ed25519(KeyId::new("fuzz").unwrap(), &public.to_bytes(), window)
        .unwrap();
    let keyring =
        Keyring::new(1, Channel::Production, RuntimeOverride::Deny, vec![key], vec![]).unwrap();
    let verifier = Verifier::new(&keyring, Options::at(1_800_000_000));
    if verifier.verify(data).is_ok() {
        let at = data.iter().rposition(|&b| b == b'.').unwrap();
        let signature = caio_verify::license::BASE64URL.decode(&data[at + 1..]).unwrap();
        let signature = Signature::from_slice(&signature).unwrap();
        public.verify_strict(&data[..at], &signature).unwrap();
    }
});
