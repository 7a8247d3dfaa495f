//! The property of the fuzz target `verify_differential`, shared with its replay in
//! `caio-verify/tests/it/differential.rs` (which includes this file), so that the
//! corpus is replayed with exactly the target's reading of an input. The input layout is
//! in the target's docs.

use caio_verify::PreparedKey;
use caio_verify::verify::prepared::verify_strict_batch;
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Checks one input: panics if the prepared check, alone or in a batch, and
/// `verify_strict` disagree.
/// Returns the verdict, or `None` for an input that describes no key.
pub fn check(data: &[u8]) -> Option<bool> {
    if data.len() < 99 {
        return None;
    }
    let mode = data[0];
    let key_material: [u8; 32] = data[3..35].try_into().unwrap();
    let sig_material: [u8; 64] = data[35..99].try_into().unwrap();
    let message = &data[99..];
    let key_torsion = EIGHT_TORSION[usize::from((mode >> 2) & 7)];
    let r_torsion = EIGHT_TORSION[usize::from(mode >> 5)];

    let (public, secret) = if mode & 1 == 1 {
        let Ok(public) = VerifyingKey::from_bytes(&key_material) else {
            return None;
        };
        (public, None)
    } else {
        let a = Scalar::from_bytes_mod_order(key_material);
        let point = EdwardsPoint::mul_base(&a) + key_torsion;
        let Ok(public) = VerifyingKey::from_bytes(&point.compress().to_bytes()) else {
            return None;
        };
        (public, Some(a))
    };
    let mut signature = match secret {
        Some(a) if mode & 2 == 0 => {
            let r = Scalar::from_bytes_mod_order(sig_material[..32].try_into().unwrap());
            let r_bytes = (EdwardsPoint::mul_base(&r) + r_torsion)
                .compress()
                .to_bytes();
            let digest: [u8; 64] = Sha512::new()
                .chain_update(r_bytes)
                .chain_update(public.as_bytes())
                .chain_update(message)
                .finalize()
                .into();
            let k = Scalar::from_bytes_mod_order_wide(&digest);
            let mut out = [0; 64];
            out[..32].copy_from_slice(&r_bytes);
            out[32..].copy_from_slice((r + k * a).as_bytes());
            out
        }
        _ => sig_material,
    };
    signature[usize::from(data[1] % 64)] ^= data[2];
    if data[1] >= 192 {
        let mut carry = 0u16;
        for (byte, l) in signature[32..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
    }
    let signature = Signature::from_bytes(&signature);
    let reference = public.verify_strict(message, &signature).is_ok();
    let key = PreparedKey::new(&public);
    let prepared = key.verify_strict(message, &signature).is_ok();
    assert_eq!(
        prepared, reference,
        "the prepared check disagrees with verify_strict"
    );
    // The batch path, with the input beside a signature flipped from it (whose verdict
    // `verify_strict` gives as well): each keeps its own verdict.
    let mut flipped = signature.to_bytes();
    flipped[usize::from(data[2] % 64)] ^= 0x80;
    let flipped = Signature::from_bytes(&flipped);
    let flipped_reference = public.verify_strict(message, &flipped).is_ok();
    let batch = verify_strict_batch(&[
        (&key, message, &signature),
        (&key, message, &flipped),
        (&key, message, &signature),
    ]);
    let batch: Vec<bool> = batch.iter().map(Result::is_ok).collect();
    assert_eq!(
        batch,
        [reference, flipped_reference, reference],
        "the batch check disagrees with verify_strict"
    );
    Some(reference)
}
