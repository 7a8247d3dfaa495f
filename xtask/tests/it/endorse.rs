//! `keys endorse`: the endorsement it prints is accepted by the builds' own verifier and
//! its signature by OpenSSL; each refusal exits 1 naming the manifest, and nothing is
//! printed on stdout then; the manifest is never edited.

use std::path::Path;

use caio_verify::endorsement;
use serde_json::Value;

use test_support::run::assert_contains;

use crate::license::{openssl_verifies, payload_of, private_pem, unix};
use crate::{Fixture, Key, POLICY, fingerprint, path};

const NOW: &str = "2026-03-01T00:00:00Z";

/// Key 1 signs 2026-01-01..2027-01-01 and verifies until 2027-04-01; key 2 is revoked;
/// key 3 has open windows.
fn fixture() -> Fixture {
    let policy = POLICY.replace(
        "runtime_override = \"deny\"",
        "runtime_override = \"endorsed\"",
    );
    Fixture::new(
        &policy,
        &[
            Key {
                id: "caio-2026-01",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-04-01T00:00:00Z\n",
            },
            Key {
                id: "caio-old",
                seed: 2,
                windows: "not_before = 2025-01-01T00:00:00Z\nstatus = \"revoked\"\n",
            },
            Key {
                id: "caio-open",
                seed: 3,
                windows: "not_before = 2025-06-01T00:00:00Z\n",
            },
        ],
    )
}

/// Writes the public PEM of the key with this seed; returns its path.
fn new_public(f: &Fixture, seed: u8) -> std::path::PathBuf {
    let file = f.path().join(format!("new-{seed}.pem"));
    std::fs::write(&file, crate::public_pem(seed)).expect("pem");
    file
}

/// `keys endorse PUBLIC --id ID --by BY --now NOW`.
fn endorse_as(f: &Fixture, public: &Path, id: &str, by: &Path) -> crate::Run {
    f.cmd(
        "keys endorse {} --id {} --by {} --now {}",
        &[path(public), id, path(by), NOW],
    )
}

/// `keys endorse` of key 7 as `next`, signed by the key with `by_seed`, with `extra`
/// (and `--now NOW` unless `extra` has a `--now`).
fn endorse(f: &Fixture, by_seed: u8, extra: &[&str]) -> crate::Run {
    let public = new_public(f, 7);
    let by = private_pem(f, by_seed, &format!("by-{by_seed}"));
    let mut args = vec![
        "keys",
        "endorse",
        path(&public),
        "--id",
        "next",
        "--by",
        path(&by),
    ];
    if !extra.contains(&"--now") {
        args.extend(["--now", NOW]);
    }
    args.extend_from_slice(extra);
    f.xtask(&args)
}

#[test]
fn the_endorsement_verifies_with_the_defaults_of_the_endorser() {
    let f = fixture();
    let before = f.snapshot();
    let run = endorse(&f, 1, &[]).expect(0);
    let token = run.stdout.trim();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(token.starts_with("CAIO-key-v1."), "{token}");
    assert_contains(&run.stderr, "endorsed key next");

    let manifest = caio_keyring::manifest::Manifest::load(&f.manifest()).expect("manifest");
    let endorsed = endorsement::verify(manifest.keyring(), token.as_bytes()).expect("accepted");
    assert_eq!(endorsed.key().fingerprint().to_string(), fingerprint(7));
    assert_eq!(endorsed.endorser().to_string(), fingerprint(1));
    let window = endorsed.key().validity();
    assert_eq!(window.not_before, unix(NOW));
    assert_eq!(window.not_after, unix("2027-04-01T00:00:00Z"));
    assert_eq!(window.sign_until, window.not_after);
    assert_eq!(endorsed.iat(), unix(NOW));

    // The payload has exactly the documented fields, written in the documented order.
    let payload = payload_of(token);
    assert_eq!(
        payload.as_object().expect("object").len(),
        endorsement::FIELDS.len()
    );
    let text = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.split('.').nth(1).expect("payload part"),
        )
        .expect("base64url"),
    )
    .expect("utf-8");
    let positions: Vec<usize> = endorsement::FIELDS
        .iter()
        .map(|field| text.find(&format!("\"{field}\":")).expect(field))
        .collect();
    assert!(positions.is_sorted(), "{text}");
    // OpenSSL, knowing nothing of this toolchain, accepts the endorser's signature.
    let endorser_pem = f.keys_dir().join("caio-2026-01.pem");
    assert!(openssl_verifies(&f, &endorser_pem, token));
    // Endorsing edits nothing.
    let after = f.snapshot();
    let changed: Vec<_> = after
        .keys()
        .filter(|p| p.starts_with(f.keys_dir()) && before.get(*p) != after.get(*p))
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
}

#[test]
fn windows_may_be_given_and_an_open_endorser_endorses_an_open_key() {
    let f = fixture();
    let run = endorse(
        &f,
        1,
        &[
            "--not-before",
            "2026-06-01",
            "--sign-until",
            "2026-12-01",
            "--not-after",
            "2027-03-01",
        ],
    )
    .expect(0);
    let payload = payload_of(run.stdout.trim());
    assert_eq!(payload["not_before"], unix("2026-06-01T00:00:00Z"));
    assert_eq!(payload["sign_until"], unix("2026-12-01T00:00:00Z"));
    assert_eq!(payload["not_after"], unix("2027-03-01T00:00:00Z"));

    let run = endorse(&f, 3, &[]).expect(0);
    let payload = payload_of(run.stdout.trim());
    assert_eq!(payload["not_after"], Value::Null);
    assert_eq!(payload["sign_until"], i64::MAX);
}

/// Runs `endorse` and expects exit 1, nothing on stdout, and `message` on stderr.
fn check_refused(f: &Fixture, by_seed: u8, extra: &[&str], message: &str) {
    let run = endorse(f, by_seed, extra).expect(1);
    assert_eq!(run.stdout, "", "{extra:?}");
    assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
    assert!(
        run.stderr.contains(path(&f.manifest())),
        "{extra:?}: {}",
        run.stderr
    );
}

#[test]
fn refusals_exit_1_and_print_no_endorsement() {
    let f = fixture();
    check_refused(&f, 9, &[], "no key has fingerprint");
    check_refused(&f, 2, &[], "is revoked");
    check_refused(&f, 1, &["--now", "2027-02-01"], "stopped signing");
    check_refused(&f, 1, &["--now", "2025-12-01"], "signs from");
    check_refused(
        &f,
        1,
        &["--not-after", "2027-04-02"],
        "must lie inside the verification window",
    );
    check_refused(
        &f,
        1,
        &["--not-before", "2025-12-31"],
        "must lie inside the verification window",
    );
    check_refused(
        &f,
        1,
        &["--sign-until", "2027-05-01"],
        "windows out of order",
    );
}

#[test]
fn a_key_or_id_the_manifest_has_is_refused() {
    let f = fixture();
    let by = private_pem(&f, 1, "by");
    let embedded = new_public(&f, 3);
    let run = endorse_as(&f, &embedded, "x", &by).expect(1);
    assert_contains(&run.stderr, "already in the manifest");
    let public = new_public(&f, 7);
    for id in ["caio-open", "caio-old"] {
        let run = endorse_as(&f, &public, id, &by).expect(1);
        assert_contains(&run.stderr, "has that id");
    }
    // Usage errors: a bad id, a private key where the public one belongs.
    endorse_as(&f, &public, "a b", &by).expect(2);
    endorse_as(&f, &by, "x", &by).expect(2);
}

#[test]
fn a_deny_keyring_gets_a_warning_and_still_an_endorsement() {
    let f = Fixture::one_key();
    let by = private_pem(&f, 1, "by");
    let public = new_public(&f, 7);
    let run = endorse_as(&f, &public, "next", &by).expect(0);
    assert_contains(&run.stderr, "ignore endorsements");
    assert!(run.stdout.starts_with("CAIO-key-v1."));
}
