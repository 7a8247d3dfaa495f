//! The signature check with per-key precomputation: `verify_strict`'s verdict, faster.
//!
//! A keyring holds a handful of keys and a run verifies thousands of licenses against
//! them, so the work that depends on the key alone is done once per key. A
//! [`PreparedKey`] keeps the key's bytes as stored, whether it is weak, and a
//! variable-time Straus table ([`VartimeEdwardsPrecomputation`], width-8 NAF) over the
//! two static points `[B, -A]`. A check is then one SHA-512, one double-scalar
//! multiplication `[s]B + [k](-A)` over the two tables, one compression and a
//! small-order test of the result.
//!
//! # What it saves over `verify_strict`
//!
//! [`VerifyingKey::verify_strict`] (ed25519-dalek 3.0, with its `RCompute`) decompresses `R`
//! (a field square root), tests `R` and `A` for small order, builds a width-5 table of
//! `-A` and runs `vartime_double_scalar_mul_basepoint` (width 5 for `A`, width 8 for
//! `B`), then compresses. Here `R` is never decompressed, `A`'s table is width 8 and
//! built once, and `A`'s small order is known in advance.
//!
//! The compression, a field inversion, is about a fifth of what is left (more with the
//! AVX-512 IFMA backend, whose curve arithmetic is the fastest). [`verify_strict_batch`]
//! runs the checks of a batch up to `P`, then compresses every `P` at once with one
//! inversion (Montgomery's trick, [`EdwardsPoint::compress_batch_alloc`]) and decides
//! each check from its own `P` and `R_bytes`, so each verdict is exactly the one check's:
//! a batch shares arithmetic, never an equation, and one forged signature in it changes
//! no other verdict. (Batch *verification*, one random linear combination of all the
//! equations, would be faster still but is not exact: with torsion in `R` it accepts
//! what the cofactorless `verify_strict` refuses, with probability up to 1/2.)
//!
//! # Why the verdicts are identical
//!
//! `verify_strict(M, (R_bytes, s_bytes))` under a key stored as `A_bytes`, decoding to
//! the point `A`, accepts exactly when all of these hold (it checks them in this order,
//! and every failure is the same `Err`):
//!
//! 1. `s_bytes` is a canonical scalar (`s < L`; `check_scalar` is
//!    `Scalar::from_canonical_bytes` without the `legacy_compatibility` feature);
//! 2. `R_bytes` decompresses, to a point `R`;
//! 3. neither `R` nor `A` is of small order;
//! 4. `compress([s]B - [k]A) == R_bytes` as bytes, where `k` is
//!    `SHA-512(R_bytes || A_bytes || M)` reduced mod `L`.
//!
//! [`PreparedKey::verify_strict`] accepts exactly when (1) holds (the same
//! `Scalar::from_canonical_bytes`), `A` is not of small order (`is_weak`, computed once
//! from the same point), and, with `P = [s]B + [k](-A)` computed from the same `k` (the
//! same hash input: `R_bytes` as given and `A_bytes` as stored), `compress(P) ==
//! R_bytes` and `P` is not of small order. These are the same conditions:
//!
//! - `P` and `[s]B - [k]A` are the same group element (multiscalar multiplication is a
//!   function of the scalars and points, whatever the algorithm), and `compress` is a
//!   function of the group element, so the byte comparisons agree.
//! - When `compress(P) == R_bytes`, `R_bytes` is the canonical encoding of `P`, so it
//!   decompresses, and to `P` itself: (2) holds and "R is of small order" is "P is of
//!   small order". When the comparison fails, both reject whatever (2) and (3) say.
//!
//! So a non-canonical `R` (`y >= p`, or the sign bit set on `x = 0`) never matches a
//! compression and is refused, as by `verify_strict`; a small-order `R` that satisfies
//! the equation is refused by the small-order test; a mixed-order `R` or `A` is accepted
//! exactly when the cofactorless equation holds, as by `verify_strict`. The differential
//! tests (`tests/it/differential.rs`, the fuzz target `verify_differential`) hold the two
//! to this on every kind of input; `verify_strict` stays the reference, and the fallback
//! when no prepared key is at hand.
//!
//! # Memory, and where prepared keys live
//!
//! A table is 64 precomputed points per static point: 2 x 64 x 160 bytes = 20 KiB per
//! key with the AVX2 or AVX-512 IFMA backend, 2 x 64 x 120 bytes = 15 KiB with the
//! portable one. The verifier keeps prepared keys in a process-wide cache of
//! [`CACHE_SLOTS`] slots keyed by the key's 32 bytes (a prepared key is a function of
//! those bytes alone, so keyrings that share a key share its table): a key is prepared
//! the first time a license names it and its signature is checked, so only trusted keys
//! (embedded or the accepted runtime key) ever take a slot, never a `kid` from a token.
//! Lookups are lock-free (slots are `OnceLock`s filled in order); filling one takes a
//! mutex. When every slot is taken, the verifier falls back to `verify_strict`: the same
//! verdict, without the speed. At most `CACHE_SLOTS` x 20 KiB = 1.25 MiB, for the life
//! of the process.

use std::sync::{Mutex, OnceLock, PoisonError};

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint, VartimeEdwardsPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimePrecomputedMultiscalarMul;
use ed25519_dalek::{Signature, SignatureError, VerifyingKey};
use sha2::{Digest, Sha512};

/// How many keys the process-wide cache prepares: a keyring embeds at most 32 keys,
/// plus one runtime key, with room for a second keyring in the same process.
pub const CACHE_SLOTS: usize = 64;

/// An Ed25519 public key with its verification tables: its
/// [`verify_strict`](Self::verify_strict) gives [`VerifyingKey::verify_strict`]'s
/// verdict on every input (see the module docs for why), in less time.
pub struct PreparedKey {
    /// The key's bytes as stored (the hash input; they may be a non-canonical encoding).
    compressed: [u8; 32],
    /// `[B, -A]`, or `None` for a weak (small-order) key, which verifies nothing.
    table: Option<VartimeEdwardsPrecomputation>,
}

impl PreparedKey {
    /// Prepares `key`: two width-8 tables, about 130 point additions (roughly the cost of
    /// two verifications). A weak key gets no table: it verifies nothing.
    pub fn new(key: &VerifyingKey) -> Self {
        let table = (!key.is_weak()).then(|| {
            VartimeEdwardsPrecomputation::new([ED25519_BASEPOINT_POINT, -key.to_edwards()])
        });
        Self {
            compressed: key.to_bytes(),
            table,
        }
    }

    /// The key's 32 bytes, as stored.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.compressed
    }

    /// Verifies `signature` over `message`: `Ok` exactly when
    /// [`VerifyingKey::verify_strict`] is `Ok` for the key this was prepared from.
    pub fn verify_strict(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let pending = self.recompute(message, signature)?;
        if pending.accepts(&pending.point.compress()) {
            Ok(())
        } else {
            Err(SignatureError::new())
        }
    }

    /// Everything of a check but the compression: conditions (1) and (3) for `A`, then
    /// `P = [s]B + [k](-A)`. An `Err` is the verdict already (a rejection); an `Ok` is
    /// decided by [`Recomputed::accepts`] once `P` is compressed, alone or in a batch.
    fn recompute(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<Recomputed, SignatureError> {
        // (1) s < L, as ed25519-dalek's `check_scalar` demands.
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))
            .ok_or_else(SignatureError::new)?;
        // (3) for A: a weak key verifies nothing.
        let table = self.table.as_ref().ok_or_else(SignatureError::new)?;
        let r_bytes = *signature.r_bytes();
        let k = challenge(&r_bytes, &self.compressed, message);
        // (4): [s]B - [k]A, to be compressed and compared with R's bytes as given.
        let point = table.vartime_multiscalar_mul([&s, &k]);
        Ok(Recomputed { point, r_bytes })
    }
}

/// A check whose curve work is done and whose compression (a field inversion) is not:
/// compressing many at once takes one inversion for all of them (Montgomery's trick,
/// [`EdwardsPoint::compress_batch_alloc`]), which saves about a fifth of a check.
struct Recomputed {
    /// `P = [s]B - [k]A`.
    point: EdwardsPoint,
    /// `R`'s bytes as the signature carries them.
    r_bytes: [u8; 32],
}

impl Recomputed {
    /// The verdict, given `P`'s compression: (2), (3) for `R`, and (4). `R_bytes` is the
    /// canonical encoding of `P` once they match, so `R` is `P` (see the module docs).
    fn accepts(&self, compressed: &CompressedEdwardsY) -> bool {
        compressed.as_bytes() == &self.r_bytes && !self.point.is_small_order()
    }
}

/// Several checks at once: `verdicts[i]` is [`PreparedKey::verify_strict`]'s verdict on
/// `checks[i]` (so [`VerifyingKey::verify_strict`]'s), in less time per check when
/// there are several, because the compressions of all the checks share one field
/// inversion. Each check's curve work is its own: a bad signature never changes another
/// one's verdict, whatever the batch holds.
pub fn verify_strict_batch(
    checks: &[(&PreparedKey, &[u8], &Signature)],
) -> Vec<Result<(), SignatureError>> {
    let recomputed: Vec<Result<Recomputed, SignatureError>> = checks
        .iter()
        .map(|(key, message, signature)| key.recompute(message, signature))
        .collect();
    let mut compressed = compress_all(recomputed.iter().filter_map(|r| r.as_ref().ok()));
    recomputed
        .into_iter()
        .map(|check| {
            let check = check?;
            let compressed = compressed.next().ok_or_else(SignatureError::new)?;
            if check.accepts(&compressed) {
                Ok(())
            } else {
                Err(SignatureError::new())
            }
        })
        .collect()
}

/// The compressions of `checks`' points, in order, with one field inversion.
fn compress_all<'a>(
    checks: impl Iterator<Item = &'a Recomputed>,
) -> std::vec::IntoIter<CompressedEdwardsY> {
    let points: Vec<EdwardsPoint> = checks.map(|check| check.point).collect();
    EdwardsPoint::compress_batch_alloc(&points).into_iter()
}

impl core::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreparedKey")
            .field("compressed", &self.compressed)
            .field("weak", &self.table.is_none())
            .finish_non_exhaustive()
    }
}

/// `k = SHA-512(R_bytes || A_bytes || M) mod L`, as ed25519-dalek's `RCompute` has it.
fn challenge(r_bytes: &[u8; 32], a_bytes: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(r_bytes);
    hash.update(a_bytes);
    hash.update(message);
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// The process-wide prepared keys, filled in order (see the module docs).
static CACHE: [OnceLock<PreparedKey>; CACHE_SLOTS] = [const { OnceLock::new() }; CACHE_SLOTS];

/// Taken to fill a slot, so that two threads never prepare one key into two slots.
static FILLING: Mutex<()> = Mutex::new(());

/// The prepared form of `key`, prepared now if it is not yet; `None` once every slot
/// holds another key (the caller then uses `verify_strict`).
pub(crate) fn cached(key: &VerifyingKey) -> Option<&'static PreparedKey> {
    if let Some(found) = lookup(key.as_bytes()) {
        return Some(found);
    }
    let _filling = FILLING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = lookup(key.as_bytes()) {
        return Some(found);
    }
    let slot = CACHE.iter().find(|slot| slot.get().is_none())?;
    Some(slot.get_or_init(|| PreparedKey::new(key)))
}

/// The filled slot holding `bytes`, without a lock.
fn lookup(bytes: &[u8; 32]) -> Option<&'static PreparedKey> {
    CACHE
        .iter()
        .map_while(OnceLock::get)
        .find(|prepared| prepared.as_bytes() == bytes)
}

/// `verify_strict`'s verdict for `key`, through its prepared form when the cache has
/// (or has room for) it.
pub(crate) fn verify_strict(
    key: &VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    match cached(key) {
        Some(prepared) => prepared.verify_strict(message, signature),
        None => key.verify_strict(message, signature),
    }
}

/// [`verify_strict`] for several checks: the prepared ones in one batch
/// ([`verify_strict_batch`]), the others (no cache slot left) through `verify_strict`.
pub(crate) fn verify_strict_many(
    checks: &[(&VerifyingKey, &[u8], &Signature)],
) -> Vec<Result<(), SignatureError>> {
    let prepared: Vec<Option<&'static PreparedKey>> =
        checks.iter().map(|(key, ..)| cached(key)).collect();
    let batch: Vec<(&PreparedKey, &[u8], &Signature)> = checks
        .iter()
        .zip(&prepared)
        .filter_map(|(&(_, message, signature), prepared)| Some(((*prepared)?, message, signature)))
        .collect();
    let mut batched = verify_strict_batch(&batch).into_iter();
    checks
        .iter()
        .zip(prepared)
        .map(|(&(key, message, signature), prepared)| match prepared {
            Some(_) => batched.next().unwrap_or_else(|| Err(SignatureError::new())),
            None => key.verify_strict(message, signature),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    #[test]
    fn the_cache_prepares_a_key_once_and_finds_it_again() {
        let key = SigningKey::from_bytes(&[41; 32]).verifying_key();
        let first = cached(&key).unwrap();
        let again = cached(&key).unwrap();
        assert!(core::ptr::eq(first, again));
        assert_eq!(first.as_bytes(), key.as_bytes());
        let other = SigningKey::from_bytes(&[42; 32]).verifying_key();
        assert!(!core::ptr::eq(first, cached(&other).unwrap()));
    }

    #[test]
    fn a_signature_verifies_through_the_cache_and_a_flipped_bit_does_not() {
        let signer = SigningKey::from_bytes(&[43; 32]);
        let key = signer.verifying_key();
        let signature = signer.sign(b"message");
        assert!(verify_strict(&key, b"message", &signature).is_ok());
        assert!(verify_strict(&key, b"messagf", &signature).is_err());
        let mut bytes = signature.to_bytes();
        bytes[0] ^= 1;
        assert!(verify_strict(&key, b"message", &Signature::from_bytes(&bytes)).is_err());
    }

    #[test]
    fn debug_shows_the_key_and_not_the_table() {
        let key = SigningKey::from_bytes(&[44; 32]).verifying_key();
        let text = format!("{:?}", PreparedKey::new(&key));
        assert!(text.contains("weak: false"), "{text}");
    }
}
