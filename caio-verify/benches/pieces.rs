//! Criterion benches for the pieces the end-to-end numbers of `cargo xtask bench` are
//! made of: token parse, one full verification, block decode. The artifact scan's are
//! in `caio-gate/benches/scan.rs`.
//!
//! They measure, they assert nothing; `cargo test` builds them without running them.
//! Run them with `cargo bench -p caio-verify --bench pieces`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use base64::Engine as _;
use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use caio_verify::json::parse_payload;
use caio_verify::license::BASE64URL;
use caio_verify::{Options, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};

const SECRET: [u8; 32] = [9; 32];
const NOW: i64 = 1_760_000_000;

fn keyring() -> Keyring {
    let raw = SigningKey::from_bytes(&SECRET).verifying_key().to_bytes();
    let window = Validity {
        not_before: 1_700_000_000,
        sign_until: 1_800_000_000,
        not_after: 1_900_000_000,
    };
    let key =
        TrustedKey::ed25519(KeyId::new("caio-bench").expect("id"), &raw, window).expect("key");
    Keyring::new(
        1,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![key],
        vec![],
    )
    .expect("keyring")
}

fn token(keyring: &Keyring) -> String {
    let kid = keyring.keys()[0].fingerprint();
    let payload = format!(
        r#"{{"kid":"{kid}","lid":"L-000001","sub":"ACME Corp","iat":1750000000,"exp":1850000000,"features":["pro","sso"],"seats":25}}"#
    );
    let input = format!("CAIO-v2.{}", BASE64URL.encode(payload));
    let signature = SigningKey::from_bytes(&SECRET).sign(input.as_bytes());
    format!("{input}.{}", BASE64URL.encode(signature.to_bytes()))
}

/// The non-crypto part of a license check: split, base64url and strict JSON.
fn token_parse(c: &mut Criterion) {
    let keyring = keyring();
    let token = token(&keyring);
    let payload = token.split('.').nth(1).expect("payload part").to_owned();
    let signature = token.split('.').nth(2).expect("signature part").to_owned();
    c.bench_function("token_parse", |b| {
        b.iter(|| {
            let json = BASE64URL.decode(black_box(&payload)).expect("base64");
            let sig = BASE64URL.decode(black_box(&signature)).expect("base64");
            (parse_payload(&json).expect("json"), sig)
        });
    });
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

/// One full verification of a valid license: parse, key lookup, `verify_strict`,
/// claims, windows.
fn verify_one(c: &mut Criterion) {
    let keyring = keyring();
    let token = token(&keyring);
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    assert!(verifier.verify(&token).is_ok());
    c.bench_function("verify_one", |b| {
        b.iter(|| verifier.verify(black_box(&token)).is_ok());
    });
}

/// Decoding an encoded block, digest check included.
fn block_decode(c: &mut Criterion) {
    let bytes = caio_keyring::block::encode(&keyring());
    c.bench_function("block_decode", |b| {
        b.iter(|| caio_keyring::block::decode(black_box(&bytes)).is_ok());
    });
}

criterion_group!(pieces, token_parse, verify_one, block_decode);
criterion_main!(pieces);
