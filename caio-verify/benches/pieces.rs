//! Criterion benches for the pieces the end-to-end numbers of `cargo xtask bench` are
//! made of: token parse, one full verification (and 64 in one batch), the signature
//! check alone (the prepared check beside `verify_strict`, and preparing a key), block
//! decode. The artifact scan's are in `caio-gate/benches/scan.rs`.
//!
//! They measure, they assert nothing; `cargo test` builds them without running them.
//! Run them with `cargo bench -p caio-verify --bench pieces`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use base64::Engine as _;
use caio_keyring::Keyring;
use caio_verify::{Claims, Fingerprint, Options, PreparedKey, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signature, SigningKey};

const SECRET: [u8; 32] = [9; 32];
const NOW: i64 = 1_760_000_000;

fn keyring() -> Keyring {
    test_support::keyring::one_key(SECRET, "caio-bench")
}

fn claims(keyring: &Keyring) -> Claims {
    Claims {
        exp: Some(1_850_000_000),
        features: Some(vec!["pro".into(), "sso".into()]),
        seats: Some(25),
        ..Claims::new(
            keyring.keys()[0].fingerprint(),
            "L-000001",
            "ACME Corp",
            1_750_000_000,
        )
    }
}

fn token(keyring: &Keyring) -> String {
    claims(keyring).sign(&SigningKey::from_bytes(&SECRET))
}

/// The non-crypto part of a license check: split, base64url and strict JSON, then the
/// key lookup, which fails for a `kid` no keyring holds.
fn token_parse(c: &mut Criterion) {
    let keyring = keyring();
    let stranger = Fingerprint::of_ed25519(&[1; 32]);
    let unknown = Claims {
        kid: stranger,
        ..claims(&keyring)
    }
    .sign(&SigningKey::from_bytes(&SECRET));
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    c.bench_function("token_parse", |b| {
        b.iter(|| verifier.verify(black_box(&unknown)).is_err());
    });
    let token = token(&keyring);
    // A token that fails at the signature: everything but the time checks and the
    // curve arithmetic of a valid one, and the rejection path's own cost.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    c.bench_function("verify_bad_signature", |b| {
        b.iter(|| verifier.verify(black_box(&forged)).is_err());
    });
}

/// One full verification of a valid license: parse, key lookup, the signature check
/// (through the key's prepared tables), claims, windows.
fn verify_one(c: &mut Criterion) {
    let keyring = keyring();
    let token = token(&keyring);
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    assert!(verifier.verify(&token).is_ok());
    c.bench_function("verify_one", |b| {
        b.iter(|| verifier.verify(black_box(&token)).is_ok());
    });
    // The same, 64 distinct licenses at a time through `verify_batch` (divide by 64
    // for the time per license).
    let signer = SigningKey::from_bytes(&SECRET);
    let tokens: Vec<String> = (0..64)
        .map(|n| {
            Claims {
                lid: format!("L-{n:06}"),
                ..claims(&keyring)
            }
            .sign(&signer)
        })
        .collect();
    assert!(verifier.verify_batch(&tokens).iter().all(Result::is_ok));
    c.bench_function("verify_batch_64", |b| {
        b.iter(|| verifier.verify_batch(black_box(&tokens)).len());
    });
}

/// The signature check alone, side by side: ed25519-dalek's `verify_strict` (the
/// reference) and the prepared check the verifier runs, over one license's signing
/// input and signature; and the one-time cost of preparing a key.
fn signature_check(c: &mut Criterion) {
    let keyring = keyring();
    let token = token(&keyring);
    let public = keyring.keys()[0].public_key();
    let dot = token.rfind('.').expect("a signature");
    let message = &token.as_bytes()[..dot];
    let signature = caio_verify::license::BASE64URL
        .decode(&token[dot + 1..])
        .expect("base64url");
    let signature = Signature::from_slice(&signature).expect("64 bytes");
    let prepared = PreparedKey::new(public);
    assert!(public.verify_strict(message, &signature).is_ok());
    assert!(prepared.verify_strict(message, &signature).is_ok());
    c.bench_function("verify_strict_reference", |b| {
        b.iter(|| {
            public
                .verify_strict(black_box(message), black_box(&signature))
                .is_ok()
        });
    });
    c.bench_function("verify_one_prepared", |b| {
        b.iter(|| {
            prepared
                .verify_strict(black_box(message), black_box(&signature))
                .is_ok()
        });
    });
    c.bench_function("prepare_key", |b| {
        b.iter(|| PreparedKey::new(black_box(public)));
    });
}

/// Decoding an encoded block, digest check included.
fn block_decode(c: &mut Criterion) {
    let bytes = caio_keyring::block::encode(&keyring());
    c.bench_function("block_decode", |b| {
        b.iter(|| caio_keyring::block::decode(black_box(&bytes)).is_ok());
    });
}

criterion_group!(
    pieces,
    token_parse,
    verify_one,
    signature_check,
    block_decode
);
criterion_main!(pieces);
