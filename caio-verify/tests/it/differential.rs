//! Differential tests of the prepared signature check ([`PreparedKey::verify_strict`],
//! what [`Verifier`] runs) against ed25519-dalek's `verify_strict`, the reference: the
//! verdicts must be identical on every input, including what a malicious signer can
//! make. The corpus: the hostile-license corpus made with OpenSSL
//! (`caio-cli/tests/corpus/`) under every key, with each bit of each signature flipped;
//! every encoding of every small-order point (the eight canonical ones, `y >= p`, the
//! sign bit on `x = 0`) as `R` and as `A`; mixed-order `R` and `A`; equations that hold
//! with a small-order or mixed-order `R`; `s = L`, `L + 1`, `s + L`, high bits; random
//! bytes; signatures under the wrong key; and a property over random keys, messages and
//! mutations. Every input is checked again in batches (`verify_strict_batch`, what
//! `Verifier::verify_batch` runs) of mixed keys and verdicts. The fuzz target
//! `verify_differential` does the same with libFuzzer.

use std::path::Path;

use base64::Engine as _;
use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use caio_verify::verify::prepared::verify_strict_batch;
use caio_verify::{Claims, Options, PreparedKey, Reason, Verifier};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Verdict counts, to show that a corpus reached both answers, and every input checked,
/// to check them again in batches ([`batches_agree`]).
#[derive(Debug, Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    /// Every input of [`Tally::check`], with `verify_strict`'s verdict.
    seen: Vec<Seen>,
}

/// Key, message, signature and `verify_strict`'s verdict.
type Seen = ([u8; 32], Vec<u8>, [u8; 64], bool);

impl Tally {
    /// Both checks on one input; panics when they disagree. Returns the verdict.
    fn check(&mut self, key: &Key, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = Signature::from_bytes(signature);
        let reference = key.public.verify_strict(message, &signature).is_ok();
        let fast = key.prepared.verify_strict(message, &signature).is_ok();
        assert_eq!(
            fast,
            reference,
            "verdicts differ: key {}, message {}, signature {}",
            hex(key.public.as_bytes()),
            hex(message),
            hex(&signature.to_bytes())
        );
        if reference {
            self.accepted += 1;
        } else {
            self.rejected += 1;
        }
        self.seen.push((
            key.public.to_bytes(),
            message.to_vec(),
            signature.to_bytes(),
            reference,
        ));
        reference
    }

    fn total(&self) -> usize {
        self.accepted + self.rejected
    }
}

/// Checks every input the tallies saw again through [`verify_strict_batch`], in
/// batches of mixed keys and verdicts (the inputs ordered by their signature bytes, so
/// valid and forged ones sit side by side), with batch sizes from 1 to 97: each verdict
/// must be `verify_strict`'s, whatever else its batch holds.
fn batches_agree(tallies: &[&Tally]) {
    let mut seen: Vec<&Seen> = tallies.iter().flat_map(|tally| &tally.seen).collect();
    seen.sort_by_key(|(_, _, signature, _)| *signature);
    let mut prepared = std::collections::HashMap::new();
    for (key, ..) in &seen {
        prepared.entry(*key).or_insert_with(|| {
            PreparedKey::new(&VerifyingKey::from_bytes(key).expect("a key the tally verified"))
        });
    }
    let signatures: Vec<Signature> = seen
        .iter()
        .map(|(_, _, sig, _)| Signature::from_bytes(sig))
        .collect();
    let mut at = 0;
    let mut size = 1;
    let (mut accepted, mut rejected) = (0, 0);
    while at < seen.len() {
        let end = (at + size).min(seen.len());
        let checks: Vec<(&PreparedKey, &[u8], &Signature)> = (at..end)
            .map(|i| (&prepared[&seen[i].0], seen[i].1.as_slice(), &signatures[i]))
            .collect();
        for (i, verdict) in (at..end).zip(verify_strict_batch(&checks)) {
            let (key, message, signature, reference) = seen[i];
            assert_eq!(
                verdict.is_ok(),
                *reference,
                "batch verdict differs: key {}, message {}, signature {}, batch of {}",
                hex(key),
                hex(message),
                hex(signature),
                end - at
            );
            if *reference {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
        at = end;
        size = size % 97 + 1;
    }
    assert_eq!(accepted + rejected, seen.len());
}

/// A public key, its prepared form, and its discrete log when the test knows it.
struct Key {
    public: VerifyingKey,
    prepared: PreparedKey,
    /// `A = [a]B + torsion`.
    secret: Option<(Scalar, EdwardsPoint)>,
}

impl Key {
    fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let public = VerifyingKey::from_bytes(bytes).ok()?;
        Some(Self {
            prepared: PreparedKey::new(&public),
            public,
            secret: None,
        })
    }

    /// `[a]B + torsion`, with `a` known.
    fn mixed(a: Scalar, torsion: EdwardsPoint) -> Self {
        let point = EdwardsPoint::mul_base(&a) + torsion;
        let mut key = Self::from_bytes(&point.compress().to_bytes()).expect("a point");
        key.secret = Some((a, torsion));
        key
    }

    /// A signature whose `R` is `r_bytes` and whose `s` is `r + k a`, so that
    /// `[s]B - [k]A = [r]B - [k]torsion`: the equation holds exactly when `r_bytes`
    /// encodes that point, canonically.
    fn sign_with_r(&self, r: &Scalar, r_bytes: [u8; 32], message: &[u8]) -> [u8; 64] {
        let (a, _) = self.secret.expect("a key with a known secret");
        let k = challenge(&r_bytes, self.public.as_bytes(), message);
        signature(r_bytes, (r + k * a).to_bytes())
    }

    /// An honest-looking signature: `R = [r]B + r_torsion`.
    fn sign(&self, r: &Scalar, r_torsion: EdwardsPoint, message: &[u8]) -> [u8; 64] {
        let point = EdwardsPoint::mul_base(r) + r_torsion;
        self.sign_with_r(r, point.compress().to_bytes(), message)
    }
}

fn challenge(r_bytes: &[u8; 32], a_bytes: &[u8; 32], message: &[u8]) -> Scalar {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(a_bytes)
        .chain_update(message)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

fn signature(r: [u8; 32], s: [u8; 32]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(&s);
    out
}

/// Deterministic bytes: SHA-512 of a label and a counter.
fn bytes64(label: &str, n: u64) -> [u8; 64] {
    Sha512::new()
        .chain_update(label)
        .chain_update(n.to_le_bytes())
        .finalize()
        .into()
}

fn scalar(label: &str, n: u64) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&bytes64(label, n))
}

fn bytes32(label: &str, n: u64) -> [u8; 32] {
    bytes64(label, n)[..32].try_into().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 256-bit little-endian addition, wrapping.
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}

/// Every encoding of a small-order point and of every point with `y < 19`: the
/// canonical encodings of the eight torsion points; `y` and `y + p` for `y < 19`, each
/// with either sign bit (so the sign bit on `x = 0`, for the identity `y = 1` and for
/// `(0, -1)`, whose `y = p - 1`, too); and a few that are not points.
fn special_encodings() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|t| t.compress().to_bytes())
        .collect();
    for y in 0..19u8 {
        let canonical = {
            let mut b = [0; 32];
            b[0] = y;
            b
        };
        // y + p = 2^255 - 19 + y.
        let plus_p = {
            let mut b = [0xff; 32];
            b[0] = 0xed + y;
            b[31] = 0x7f;
            b
        };
        for mut b in [canonical, plus_p] {
            out.push(b);
            b[31] |= 0x80;
            out.push(b);
        }
    }
    // (0, -1): y = p - 1, and with the sign bit set.
    let mut minus_one = [0xff; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    out.push(minus_one);
    minus_one[31] |= 0x80;
    out.push(minus_one);
    out.push([0xff; 32]);
    out.push([0; 32]);
    out
}

fn normal_key(seed: u8) -> Key {
    let signing = SigningKey::from_bytes(&[seed; 32]);
    let mut key = Key::from_bytes(&signing.verifying_key().to_bytes()).unwrap();
    key.secret = Some((signing.to_scalar(), EdwardsPoint::default()));
    key
}

#[test]
fn the_hostile_license_corpus_under_every_key_with_every_bit_flipped() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../caio-cli/tests/corpus");
    let mut keys: Vec<Key> = ["corpus-trusted", "corpus-second", "corpus-revoked"]
        .iter()
        .map(|id| {
            let pem = std::fs::read_to_string(corpus.join(format!("keys/{id}.pem"))).unwrap();
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            Key::from_bytes(&der[der.len() - 32..].try_into().unwrap()).unwrap()
        })
        .collect();
    keys.push(normal_key(1));
    let text = std::fs::read_to_string(corpus.join("licenses.jsonl")).unwrap();
    let mut tally = Tally::default();
    let mut flips = Tally::default();
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let token = case["token"].as_str().unwrap().as_bytes();
        let Some(dot) = token.iter().rposition(|&b| b == b'.') else {
            continue;
        };
        let Ok(decoded) = caio_verify::license::BASE64URL.decode(&token[dot + 1..]) else {
            continue;
        };
        let Ok(sig) = <[u8; 64]>::try_from(decoded) else {
            continue;
        };
        let message = &token[..dot];
        for key in &keys {
            if tally.check(key, message, &sig) {
                for bit in 0..512 {
                    let mut flipped = sig;
                    flipped[bit / 8] ^= 1 << (bit % 8);
                    flips.check(key, message, &flipped);
                }
                let mut other = message.to_vec();
                other[message.len() / 2] ^= 1;
                flips.check(key, &other, &sig);
            }
        }
    }
    // The valid cases and the OpenSSL-made forgeries (`malleable_s_plus_l` among them).
    assert!(tally.accepted >= 10, "{tally:?}");
    assert!(tally.rejected >= 150, "{tally:?}");
    assert_eq!(flips.accepted, 0, "{flips:?}");
    assert!(flips.rejected >= 5000, "{flips:?}");
    batches_agree(&[&tally, &flips]);
}

#[test]
fn small_order_and_non_canonical_encodings_as_r_and_as_a() {
    let encodings = special_encodings();
    let honest = normal_key(2);
    let mixed = Key::mixed(scalar("mixed a", 0), EIGHT_TORSION[1]);
    let message = b"CAIO-v2.eyJ9";
    let mut tally = Tally::default();
    let scalars: Vec<[u8; 32]> = vec![
        [0; 32],
        Scalar::ONE.to_bytes(),
        (-Scalar::ONE).to_bytes(),
        L,
        scalar("s", 0).to_bytes(),
    ];
    // As R, with assorted s, under a prime-order key and a mixed-order key.
    for r in &encodings {
        for s in &scalars {
            for key in [&honest, &mixed] {
                tally.check(key, message, &signature(*r, *s));
            }
        }
        // s = k a: [s]B - [k]A is the identity (or -k torsion), so for the identity's
        // canonical encoding the equation holds and only R's small order refuses it.
        for key in [&honest, &mixed] {
            let sig = key.sign_with_r(&Scalar::ZERO, *r, message);
            tally.check(key, message, &sig);
        }
    }
    // As A: a key that is any of these encodings (where they decode at all), against
    // signatures whose equation holds when A is the identity or of small order.
    let mut weak = 0;
    for a in &encodings {
        let Some(key) = Key::from_bytes(a) else {
            continue;
        };
        weak += usize::from(key.public.is_weak());
        for n in 0..16 {
            let r = scalar("r as A", n);
            let point = EdwardsPoint::mul_base(&r);
            let message = bytes64("message", n);
            // s = r: [s]B - [k]A = R exactly when [k]A is the identity.
            let sig = signature(point.compress().to_bytes(), r.to_bytes());
            tally.check(&key, &message, &sig);
            if n < 2 {
                for s in &scalars {
                    for r in &encodings {
                        tally.check(&key, &message[..8], &signature(*r, *s));
                    }
                }
            }
        }
    }
    assert!(weak >= 10, "{weak} weak encodings decoded");
    assert_eq!(tally.accepted, 0, "{tally:?}");
    assert!(tally.total() > 10_000, "{tally:?}");
    batches_agree(&[&tally]);
}

#[test]
fn equations_that_hold_with_torsion_in_r_or_a() {
    let message = |n: u64| bytes64("torsion message", n);
    let mut tally = Tally::default();
    // R is a small-order point and the equation holds: [s]B - [k]A = -[k]T_A = R.
    // verify_strict refuses it for R's small order, and so must the prepared check.
    let mut small_r_equations = 0;
    for (t_a, torsion_a) in (1u64..).zip(&EIGHT_TORSION[1..]) {
        let key = Key::mixed(scalar("small R key", t_a), *torsion_a);
        for (t_r, torsion) in EIGHT_TORSION.iter().enumerate() {
            for n in 0..64 {
                let r_bytes = torsion.compress().to_bytes();
                let k = challenge(&r_bytes, key.public.as_bytes(), &message(n));
                if -(torsion_a * k) != *torsion {
                    continue;
                }
                small_r_equations += 1;
                let sig = key.sign_with_r(&Scalar::ZERO, r_bytes, &message(n));
                assert!(!tally.check(&key, &message(n), &sig), "R = T{t_r}");
                break;
            }
        }
    }
    assert!(small_r_equations >= 20, "{small_r_equations}");
    // Mixed-order A, honest R: the cofactorless equation holds when [k]T_A = 0.
    // Mixed-order R and A: it holds when T_R = -[k]T_A. Both accept those, and only those.
    let mut mixed_accepts = 0;
    for (t_a, torsion_a) in (0u64..).zip(&EIGHT_TORSION) {
        let key = Key::mixed(scalar("mixed key", t_a), *torsion_a);
        for n in 0..48 {
            let r = scalar("mixed r", n);
            for t_r in &EIGHT_TORSION {
                let sig = key.sign(&r, *t_r, &message(n));
                let accepted = tally.check(&key, &message(n), &sig);
                let k = challenge(
                    &sig[..32].try_into().unwrap(),
                    key.public.as_bytes(),
                    &message(n),
                );
                let holds = -(torsion_a * k) == *t_r;
                // R = [r]B + T_R is never of small order, so the equation decides.
                assert_eq!(accepted, holds);
                mixed_accepts += usize::from(accepted && (t_a != 0 || *t_r != EIGHT_TORSION[0]));
            }
        }
    }
    assert!(mixed_accepts >= 30, "{mixed_accepts}");
    // R with y >= p or the sign bit on x = 0: the identity's other encodings, with the
    // equation holding as points: refused for not being the canonical encoding.
    let key = normal_key(3);
    let identity_encodings = [
        {
            let mut b = [0xff; 32];
            b[0] = 0xee; // p + 1
            b[31] = 0x7f;
            b
        },
        {
            let mut b = [0; 32];
            b[0] = 1;
            b[31] = 0x80; // sign bit on x = 0
            b
        },
    ];
    for r_bytes in identity_encodings {
        assert_eq!(
            CompressedEdwardsY(r_bytes).decompress(),
            Some(EdwardsPoint::default())
        );
        let sig = key.sign_with_r(&Scalar::ZERO, r_bytes, &message(0));
        assert!(!tally.check(&key, &message(0), &sig));
    }
    assert!(tally.accepted >= 30 && tally.rejected >= 100, "{tally:?}");
    batches_agree(&[&tally]);
}

#[test]
fn scalars_out_of_range_random_bytes_and_the_wrong_key() {
    let mut tally = Tally::default();
    let keys: Vec<Key> = (10..14).map(normal_key).collect();
    let signers: Vec<SigningKey> = (10..14).map(|s| SigningKey::from_bytes(&[s; 32])).collect();
    for n in 0..64 {
        let message = bytes64("range message", n);
        let message = &message[..(n as usize % 64)];
        for (i, signer) in signers.iter().enumerate() {
            let good = signer.sign(message).to_bytes();
            assert!(tally.check(&keys[i], message, &good));
            let wrong = &keys[(i + 1) % keys.len()];
            assert!(!tally.check(wrong, message, &good));
            let r: [u8; 32] = good[..32].try_into().unwrap();
            let s: [u8; 32] = good[32..].try_into().unwrap();
            let mut one = [0; 32];
            one[0] = 1;
            let l_plus_one = add_le(&L, &one);
            let s_plus_l = add_le(&s, &L);
            let s_plus_2l = add_le(&s_plus_l, &L);
            let mut high = s;
            high[31] |= 0xe0;
            let mut top = s;
            top[31] |= 0x80;
            for bad in [L, l_plus_one, s_plus_l, s_plus_2l, high, top, [0xff; 32]] {
                assert!(!tally.check(&keys[i], message, &signature(r, bad)));
            }
            // Random R and s, random everything.
            tally.check(&keys[i], message, &bytes64("random sig", n));
            let random = signature(bytes32("random r", n), s);
            tally.check(&keys[i], message, &random);
        }
    }
    assert!(tally.accepted >= 256 && tally.rejected >= 2000, "{tally:?}");
    batches_agree(&[&tally]);
}

/// Through the whole verifier: a trusted key of mixed order (a keyring accepts one: it
/// is not weak) and licenses signed with torsion in R, so that some verify and some
/// earn `bad_signature`, each exactly as `verify_strict` says.
#[test]
fn the_verifier_gives_verify_strict_verdicts_end_to_end() {
    let key = Key::mixed(scalar("e2e key", 0), EIGHT_TORSION[3]);
    let window = Validity {
        not_before: 0,
        sign_until: 2_000_000_000,
        not_after: i64::MAX,
    };
    let trusted =
        TrustedKey::ed25519(KeyId::new("mixed").unwrap(), key.public.as_bytes(), window).unwrap();
    let kid = trusted.fingerprint();
    let keyring = Keyring::new(
        1,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![trusted],
        vec![],
    )
    .unwrap();
    let verifier = Verifier::new(&keyring, Options::at(1_800_000_000));
    let mut tally = Tally::default();
    let mut tokens = Vec::new();
    for n in 0..64 {
        let claims = Claims::new(kid, format!("L-{n}"), "Mixed", 1_700_000_000);
        let input = claims.signing_input();
        let r = scalar("e2e r", n);
        for t_r in [0, 1, 5] {
            let sig = key.sign(&r, EIGHT_TORSION[t_r], input.as_bytes());
            let reference = tally.check(&key, input.as_bytes(), &sig);
            tokens.push(claims.token(&sig));
            match verifier.verify(&claims.token(&sig)) {
                Ok(_) => assert!(reference),
                Err(rejection) => {
                    assert!(!reference);
                    assert_eq!(rejection.reason, Reason::BadSignature);
                }
            }
        }
    }
    assert!(tally.accepted >= 5 && tally.rejected >= 50, "{tally:?}");
    // The batch path gives each token exactly what `verify` gives it.
    let one_by_one: Vec<_> = tokens.iter().map(|token| verifier.verify(token)).collect();
    assert_eq!(verifier.verify_batch(&tokens), one_by_one);
    for size in [1, 2, 7, 64] {
        for (chunk, expected) in tokens.chunks(size).zip(one_by_one.chunks(size)) {
            assert_eq!(verifier.verify_batch(chunk), expected);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    None,
    FlipBit(usize),
    SetByte(usize, u8),
    /// R becomes one of the special encodings.
    SpecialR(usize),
    /// A torsion point added to R, s unchanged.
    AddTorsionToR(usize),
    /// s + L (and more L while it fits).
    SPlusL(u8),
    Random([u8; 32], [u8; 32]),
    /// Verified under the key of another seed.
    OtherKey(u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (0..512usize).prop_map(Mutation::FlipBit),
        (0..64usize, any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        (0..special_encodings().len()).prop_map(Mutation::SpecialR),
        (0..8usize).prop_map(Mutation::AddTorsionToR),
        (1..8u8).prop_map(Mutation::SPlusL),
        (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(r, s)| Mutation::Random(r, s)),
        any::<u8>().prop_map(Mutation::OtherKey),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Random keys (some of mixed order), messages and mutations of a signature: the
    /// prepared check and `verify_strict` agree.
    #[test]
    fn prepared_and_reference_agree_on_random_mutations(
        secret in any::<[u8; 32]>(),
        key_torsion in prop_oneof![3 => Just(0usize), 1 => 1..8usize],
        r_seed in any::<[u8; 32]>(),
        r_torsion in prop_oneof![3 => Just(0usize), 1 => 1..8usize],
        message in proptest::collection::vec(any::<u8>(), 0..300),
        m in mutation(),
    ) {
        let key = Key::mixed(Scalar::from_bytes_mod_order(secret), EIGHT_TORSION[key_torsion]);
        let r = Scalar::from_bytes_mod_order(r_seed);
        let mut sig = key.sign(&r, EIGHT_TORSION[r_torsion], &message);
        let mut verifying_key = &key;
        let other;
        match m {
            Mutation::None => {}
            Mutation::FlipBit(bit) => sig[bit / 8] ^= 1 << (bit % 8),
            Mutation::SetByte(i, b) => sig[i] = b,
            Mutation::SpecialR(i) => sig[..32].copy_from_slice(&special_encodings()[i]),
            Mutation::AddTorsionToR(t) => {
                let point = CompressedEdwardsY(sig[..32].try_into().unwrap()).decompress().unwrap();
                sig[..32].copy_from_slice((point + EIGHT_TORSION[t]).compress().as_bytes());
            }
            Mutation::SPlusL(times) => {
                let mut s: [u8; 32] = sig[32..].try_into().unwrap();
                for _ in 0..times {
                    s = add_le(&s, &L);
                }
                sig[32..].copy_from_slice(&s);
            }
            Mutation::Random(r_bytes, s_bytes) => sig = signature(r_bytes, s_bytes),
            Mutation::OtherKey(seed) => {
                other = normal_key(seed);
                verifying_key = &other;
            }
        }
        Tally::default().check(verifying_key, &message, &sig);
    }
}

/// The fuzz target's property, read exactly as the target reads an input.
#[path = "../../../fuzz/fuzz_targets/verify_differential/case.rs"]
mod fuzz_case;

/// Replays every input the fuzz target `verify_differential` keeps
/// (`fuzz/corpus/verify_differential/`), so each test run re-checks them without
/// cargo-fuzz.
#[test]
fn the_verify_differential_fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/verify_differential");
    let mut tally = Tally::default();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        match fuzz_case::check(&data) {
            Some(true) => tally.accepted += 1,
            Some(false) => tally.rejected += 1,
            None => {}
        }
    }
    assert!(tally.accepted >= 20 && tally.rejected >= 100, "{tally:?}");
}
