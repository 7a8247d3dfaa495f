//! `keys check` and broken manifests: every command fails with the file and the key
//! named (exit 1 or 2, never a panic), stray files in `keys/` are found, and each
//! policy rule fails when it should.

use crate::{Fixture, Key, POLICY, public_pem};

const NOW: &str = "2026-06-01T00:00:00Z";

const GOOD: &str = "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-09-01T00:00:00Z\n";

/// Turns a good manifest into a broken one.
type Breaker = fn(&str) -> String;

/// The manifest with the first hex digit of the fingerprint changed.
fn flip_fingerprint(text: &str) -> String {
    let at = text.find("sha256:").expect("a fingerprint") + "sha256:".len();
    let digit = if text[at..].starts_with('0') {
        "1"
    } else {
        "0"
    };
    format!("{}{digit}{}", &text[..at], &text[at + 1..])
}

/// Runs `keys check` at NOW on a keyring of `keys` and expects `failures` (substrings
/// of the error lines, each naming the manifest), or a pass when empty.
fn check(policy: &str, keys: &[Key<'_>], failures: &[&str]) {
    let f = Fixture::new(policy, keys);
    let run = f.xtask(&["keys", "check", "--now", NOW]);
    if failures.is_empty() {
        run.expect(0);
        return;
    }
    let run = run.expect(1);
    let errors = run.stderr_lines(|l| l.starts_with("error:"));
    for failure in failures {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(failure) && e.contains("keyring.toml")),
            "expected an error with {failure:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(errors.len(), failures.len(), "{}", run.stderr);
}

#[test]
fn policy_rules() {
    let key = |id, seed, windows| Key { id, seed, windows };
    // One good key.
    check(POLICY, &[key("a", 1, GOOD)], &[]);
    // A signing window longer than max_key_lifetime_days, and one with no end.
    check(
        POLICY,
        &[key(
            "a",
            1,
            "not_before = 2026-01-01T00:00:00Z\nsign_until = 2028-05-01T00:00:00Z\nnot_after = 2028-06-01T00:00:00Z\n",
        )],
        &["key \"a\": signs for 851d"],
    );
    check(
        POLICY,
        &[key("a", 1, "not_before = 2026-01-01T00:00:00Z\n")],
        &["key \"a\": the signing window has no end"],
    );
    // Without the policy, an open key passes.
    check(
        "",
        &[key("a", 1, "not_before = 2026-01-01T00:00:00Z\n")],
        &[],
    );
    // A successor that starts 10 days before the old key stops verifying.
    check(
        POLICY,
        &[
            key(
                "old",
                1,
                "not_before = 2026-01-01T00:00:00Z\nsign_until = 2026-05-01T00:00:00Z\nnot_after = 2026-06-10T00:00:00Z\n",
            ),
            key(
                "new",
                2,
                "not_before = 2026-05-31T00:00:00Z\nsign_until = 2027-05-01T00:00:00Z\nnot_after = 2027-08-01T00:00:00Z\n",
            ),
        ],
        &["key \"old\": \"new\" takes over signing at 2026-05-31T00:00:00Z"],
    );
    // The same hand-over with 30 days of overlap passes.
    check(
        POLICY,
        &[
            key(
                "old",
                1,
                "not_before = 2026-01-01T00:00:00Z\nsign_until = 2026-05-01T00:00:00Z\nnot_after = 2026-06-30T00:00:00Z\n",
            ),
            key(
                "new",
                2,
                "not_before = 2026-05-31T00:00:00Z\nsign_until = 2027-05-01T00:00:00Z\nnot_after = 2027-08-01T00:00:00Z\n",
            ),
        ],
        &[],
    );
    // The bricking horizon: nothing verifies 365 days after NOW.
    check(
        POLICY,
        &[key(
            "a",
            1,
            "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-05-01T00:00:00Z\n",
        )],
        &["support_window_days = 365"],
    );
    // A revoked key does not count for the horizon.
    check(
        POLICY,
        &[
            key(
                "a",
                1,
                "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-05-01T00:00:00Z\n",
            ),
            key(
                "b",
                2,
                "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2028-01-01T00:00:00Z\nstatus = \"revoked\"\n",
            ),
        ],
        &["support_window_days = 365"],
    );
}

#[test]
fn check_finds_a_private_key_and_an_unnamed_pem_under_keys() {
    let f = good_key();
    f.xtask(&["keys", "check", "--now", NOW]).expect(0);
    let (private, _) = f.openssl_keypair("ossl");
    std::fs::create_dir(f.keys_dir().join("backup")).expect("dir");
    std::fs::copy(&private, f.keys_dir().join("backup/notes.txt")).expect("copy");
    std::fs::write(f.keys_dir().join("extra.pem"), public_pem(9)).expect("write");
    let run = f.xtask(&["keys", "check", "--now", NOW]).expect(1);
    let errors = run.stderr_lines(|l| l.starts_with("error:"));
    assert_eq!(errors.len(), 2, "{}", run.stderr);
    for (file, problem) in [
        ("backup/notes.txt", "private key"),
        ("extra.pem", "does not name"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(file) && e.contains(problem)),
            "{file}: {problem}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_broken_manifest_names_the_file_and_the_key_in_every_command() {
    let good = Key {
        id: "caio-bad",
        seed: 1,
        windows: GOOD,
    };
    let cases: [(&str, Breaker); 6] = [
        ("fingerprint", flip_fingerprint),
        ("window order", |t| {
            t.replace(
                "not_after = 2027-09-01T00:00:00Z",
                "not_after = 2026-09-01T00:00:00Z",
            )
        }),
        ("unknown field", |t| {
            t.replace(
                "algorithm = \"ed25519\"",
                "algorithm = \"ed25519\"\ncolour = \"blue\"",
            )
        }),
        ("missing PEM", |t| {
            t.replace("public_key = \"caio-bad.pem\"", "public_key = \"gone.pem\"")
        }),
        ("bad instant", |t| {
            t.replace(
                "not_before = 2026-01-01T00:00:00Z",
                "not_before = 2026-01-01T00:00:00.5Z",
            )
        }),
        ("algorithm", |t| {
            t.replace("algorithm = \"ed25519\"", "algorithm = \"rsa\"")
        }),
    ];
    let commands: [&[&str]; 8] = [
        &["keys", "check"],
        &["keys", "list"],
        &["keys", "list", "--json"],
        &["keys", "timeline"],
        &["keys", "add", "/nonexistent.pem", "--id", "x"],
        &["keys", "rotate", "/nonexistent.pem", "--id", "x"],
        &["keys", "retire", "caio-bad", "--at", "2026-12-01"],
        &["keys", "remove", "caio-bad", "--force"],
    ];
    for (what, breaker) in cases {
        let f = Fixture::new(POLICY, &[Key { ..good }]);
        let broken = breaker(&f.manifest_text());
        assert_ne!(broken, f.manifest_text(), "{what}: the case breaks nothing");
        f.write_manifest(&broken);
        let before = f.snapshot();
        for command in commands {
            let mut args = command.to_vec();
            args.extend(["--now", NOW]);
            let run = f.xtask(&args);
            assert!(
                matches!(run.code, 1 | 2),
                "{what} {command:?}: exit {}\n{}",
                run.code,
                run.stderr
            );
            assert!(
                !run.stderr.contains("panicked"),
                "{what} {command:?}: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains("keyring.toml") && run.stderr.contains("caio-bad"),
                "{what} {command:?}: the file and the key are named:\n{}",
                run.stderr
            );
            assert_eq!(f.snapshot(), before, "{what} {command:?} wrote something");
        }
    }
}

#[test]
fn a_manifest_that_is_not_toml_fails_with_its_line() {
    let f = good_key();
    f.write_manifest("version = 1\n[[key]\n");
    for command in [
        &["keys", "check"][..],
        &["keys", "list"],
        &["keys", "rotate", "x.pem", "--id", "b"],
    ] {
        let run = f.xtask(command);
        assert!(matches!(run.code, 1 | 2), "{command:?}");
        assert!(
            run.stderr.contains("keyring.toml:2"),
            "{command:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"));
    }
    std::fs::remove_file(f.manifest()).expect("rm");
    let run = f.xtask(&["keys", "check"]);
    assert!(
        matches!(run.code, 1 | 2) && run.stderr.contains("keyring.toml"),
        "{}",
        run.stderr
    );
}

/// The shipped policy and one key `a` with [`GOOD`] windows.
fn good_key() -> Fixture {
    Fixture::new(
        POLICY,
        &[Key {
            id: "a",
            seed: 1,
            windows: GOOD,
        }],
    )
}
