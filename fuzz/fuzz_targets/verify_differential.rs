//! Fuzz target: the prepared signature check (`caio_verify::PreparedKey`, what the
//! verifier runs), alone and in a batch (`verify_strict_batch`), gives ed25519-dalek's
//! `verify_strict` verdict on every input.
//!
//! Raw bytes would almost never carry a valid signature, so the input also describes
//! keys and signatures with known secrets and torsion components, which reach the
//! verdicts that matter (mixed-order keys and `R`s that verify, small-order `R`s that
//! satisfy the equation):
//!
//! - byte 0, bit 0: the key is the 32 raw bytes of key material; else it is
//!   `[a]B + T` with `a` from them. Bit 1: the signature is the 64 raw bytes of
//!   signature material; else `R = [r]B + T'` (`r` from its first 32 bytes) and
//!   `s = r + k a`. Bits 2-4: `T`'s index among the 8 torsion points; bits 5-7: `T'`'s.
//! - bytes 1, 2: then byte `[1] % 64` of the signature is XORed with `[2]`, and
//!   `[1] >= 192` adds L to `s`.
//! - bytes 3..35: key material; 35..99: signature material; 99..: the message.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "verify_differential/case.rs"]
mod case;

fuzz_target!(|data: &[u8]| {
    let _ = case::check(data);
});
