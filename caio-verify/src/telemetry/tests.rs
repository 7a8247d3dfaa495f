//! Telemetry: which (result, key) pair each kind of verdict lands in, that the label
//! set is fixed whatever the tokens say, and (feature `metrics`) the exposition.

use super::*;
use crate::license::Claims;
use crate::verify::Options;
use caio_keyring::{Keyring, RuntimeOverride, TrustedKey, Validity};
use ed25519_dalek::SigningKey;

const NOW: i64 = 1_760_000_000;

fn signer(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn fingerprint(seed: u8) -> Fingerprint {
    Fingerprint::of_ed25519(&signer(seed).verifying_key().to_bytes())
}

/// Keys "a" (seed 1, open end) and "b" (seed 2, ends at 1.9e9); seed 9 revoked.
fn keyring() -> Keyring {
    let key = |id: &str, seed: u8, not_after| {
        let window = Validity {
            not_before: 1_700_000_000,
            sign_until: 1_800_000_000,
            not_after,
        };
        let raw = signer(seed).verifying_key().to_bytes();
        TrustedKey::ed25519(KeyId::new(id).unwrap(), &raw, window).unwrap()
    };
    Keyring::new(
        4,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![key("a", 1, OPEN_END), key("b", 2, 1_900_000_000)],
        vec![fingerprint(9)],
    )
    .unwrap()
}

/// A license naming the key of `kid_seed`, signed with the key of `signer_seed`.
fn token(kid_seed: u8, signer_seed: u8) -> String {
    Claims::new(fingerprint(kid_seed), "L-1", "ACME", 1_750_000_000).sign(&signer(signer_seed))
}

/// Verifies `token` and checks the one pair whose count moved.
fn check(token: &str, result: &str, key: &str) {
    let keyring = keyring();
    let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
    let telemetry = Telemetry::new(&keys);
    let _ = telemetry.verify(&keys.verifier(Options::at(NOW)), token);
    let moved: Vec<_> = telemetry
        .snapshot()
        .verifications
        .into_iter()
        .filter(|c| c.count != 0)
        .map(|c| (c.result, c.key_label().to_owned(), c.count))
        .collect();
    assert_eq!(moved, [(result, key.to_owned(), 1)], "{token}");
}

#[test]
fn each_verdict_lands_under_its_result_and_trusted_key() {
    check(&token(1, 1), "ok", "a");
    check(&token(2, 2), "ok", "b");
    // A forgery naming a trusted key is that key's bad signature.
    check(&token(2, 7), "bad_signature", "b");
    // A kid no trusted key has: an unknown key, a revoked one, a forged one.
    check(&token(7, 7), "unknown_key", NO_KEY);
    check(&token(9, 9), "revoked_key", NO_KEY);
    let forged_kid = Claims::new(Fingerprint::from_bytes([0x5a; 32]), "L", "X", 1).sign(&signer(1));
    check(&forged_kid, "unknown_key", NO_KEY);
    check("not a license", "bad_prefix", NO_KEY);
    check(&"x".repeat(5000), "too_long", NO_KEY);
}

#[test]
fn every_pair_exists_from_the_start_and_forged_kids_add_none() {
    let keyring = keyring();
    let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
    let telemetry = Telemetry::new(&keys);
    let before = telemetry.snapshot();
    assert_eq!(before.verifications.len(), (1 + Reason::ALL.len()) * 3);
    assert!(before.verifications.iter().all(|c| c.count == 0));
    let verifier = keys.verifier(Options::at(NOW));
    for n in 0..50_u8 {
        let kid = Fingerprint::from_bytes([n; 32]);
        let _ = telemetry.verify(&verifier, &Claims::new(kid, "L", "X", 1).sign(&signer(n)));
    }
    let after = telemetry.snapshot();
    let labels = |s: &Snapshot| -> Vec<(&str, String)> {
        s.verifications
            .iter()
            .map(|c| (c.result, c.key_label().to_owned()))
            .collect()
    };
    assert_eq!(labels(&before), labels(&after));
    let total: u64 = after.verifications.iter().map(|c| c.count).sum();
    assert_eq!(total, 50);
}

#[test]
fn results_are_ok_then_every_reason_in_check_order_with_distinct_rows() {
    // `reason as usize` indexes the rows: every reason must have its own row.
    let mut rows: Vec<usize> = Reason::ALL.iter().map(|&r| r as usize).collect();
    rows.sort_unstable();
    assert_eq!(rows, (0..Reason::ALL.len()).collect::<Vec<_>>());
    let keyring = keyring();
    let telemetry = Telemetry::new(&EffectiveKeyring::embedded_only(Ok(&keyring)));
    let mut results: Vec<&str> = telemetry
        .snapshot()
        .verifications
        .iter()
        .map(|c| c.result)
        .collect();
    results.dedup();
    let expected: Vec<&str> = core::iter::once(OK)
        .chain(Reason::ALL.iter().map(|r| r.code()))
        .collect();
    assert_eq!(results, expected);
}

#[test]
fn last_success_is_the_latest_verification_instant_per_key() {
    let keyring = keyring();
    let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
    let telemetry = Telemetry::new(&keys);
    let good = token(1, 1);
    for now in [NOW + 10, NOW, NOW + 5] {
        let _ = telemetry.verify(&keys.verifier(Options::at(now)), &good);
    }
    let snapshot = telemetry.snapshot();
    let last: Vec<_> = snapshot
        .keys
        .iter()
        .map(|k| (k.key.id.as_str(), k.last_success))
        .collect();
    assert_eq!(last, [("a", Some(NOW + 10)), ("b", None)]);
    assert_eq!(snapshot.keys[0].key.not_after, None);
    assert_eq!(snapshot.keys[1].key.not_after, Some(1_900_000_000));
    let info = snapshot.keyring.unwrap();
    assert_eq!((info.serial, info.fingerprint), (4, keyring.fingerprint()));
}

#[test]
fn a_corrupt_keyring_counts_everything_under_none() {
    let error = caio_keyring::block::DecodeError::DigestMismatch;
    let keys = EffectiveKeyring::embedded_only(Err(&error));
    let telemetry = Telemetry::new(&keys);
    let _ = telemetry.verify(&keys.verifier(Options::at(NOW)), &token(1, 1));
    let snapshot = telemetry.snapshot();
    assert_eq!(snapshot.keyring, None);
    assert!(snapshot.keys.is_empty());
    let moved: Vec<_> = snapshot
        .verifications
        .iter()
        .filter(|c| c.count != 0)
        .map(|c| (c.result, c.key_label()))
        .collect();
    assert_eq!(moved, [("keyring_corrupt", NO_KEY)]);
}

#[cfg(feature = "metrics")]
#[test]
fn the_registry_exposes_every_series_with_the_documented_names() {
    use prometheus_client::registry::Registry;
    use std::sync::Arc;

    let keyring = keyring();
    let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
    let telemetry = Arc::new(Telemetry::new(&keys));
    let mut registry = Registry::default();
    Arc::clone(&telemetry).register(&mut registry);
    let _ = telemetry.verify(&keys.verifier(Options::at(NOW)), &token(1, 1));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let fp = keyring.fingerprint();
    for line in [
        "# TYPE caio_license_verifications counter",
        "caio_license_verifications_total{result=\"ok\",key=\"a\"} 1",
        "caio_license_verifications_total{result=\"ok\",key=\"none\"} 0",
        "caio_license_verifications_total{result=\"bad_signature\",key=\"b\"} 0",
        &format!("caio_keyring_info{{keyring=\"{fp}\",serial=\"4\",channel=\"production\"}} 1"),
        &format!(
            "caio_key_info{{key=\"b\",fingerprint=\"{}\",source=\"embedded\"}} 1",
            fingerprint(2)
        ),
        "caio_key_not_after_timestamp_seconds{key=\"b\"} 1900000000",
        "caio_license_last_success_timestamp_seconds{key=\"a\"} 1760000000",
        "caio_license_last_success_timestamp_seconds{key=\"b\"} 0",
        "# EOF",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    // An open end has no sample.
    assert!(
        !text.contains("caio_key_not_after_timestamp_seconds{key=\"a\"}"),
        "{text}"
    );
    let series = text
        .lines()
        .filter(|l| l.starts_with("caio_license_verifications_total"))
        .count();
    assert_eq!(series, (1 + Reason::ALL.len()) * 3);
}
