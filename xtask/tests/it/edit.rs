//! The editing commands as edits: dry runs write nothing, comments survive, `serial`
//! goes up by one, a manifest the build would reject is never written, and a key made
//! by OpenSSL goes in as it is.

use std::os::unix::fs::PermissionsExt;

use test_support::run::assert_contains;

use crate::{Fixture, Key, listed, openssl_fingerprint, path};

const NOW: &str = "2026-06-01T00:00:00Z";

#[test]
fn dry_run_leaves_every_byte_unchanged() {
    let f = Fixture::new(
        crate::POLICY,
        &[
            Key {
                id: "caio-2026-01",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-04-01T00:00:00Z\n",
            },
            Key {
                id: "caio-2025-01",
                seed: 2,
                windows: "not_before = 2025-01-01T00:00:00Z\nsign_until = 2026-01-01T00:00:00Z\nnot_after = 2026-03-01T00:00:00Z\n",
            },
        ],
    );
    let (_, public) = f.openssl_keypair("new");
    let public = path(&public);
    let commands: [&[&str]; 6] = [
        &["keys", "add", public, "--id", "caio-2026-06"],
        &[
            "keys",
            "add",
            public,
            "--id",
            "later",
            "--not-before",
            "2026-07-01",
        ],
        &[
            "keys",
            "rotate",
            public,
            "--id",
            "caio-2026-06",
            "--grace",
            "60d",
        ],
        &[
            "keys",
            "retire",
            "caio-2026-01",
            "--at",
            "2026-12-01T00:00:00Z",
        ],
        &["keys", "revoke", "caio-2026-01"],
        &["keys", "remove", "caio-2025-01"],
    ];
    let before = f.snapshot();
    for command in commands {
        let mut args = command.to_vec();
        args.extend(["--dry-run", "--now", NOW]);
        let run = f.xtask(&args).expect(0);
        assert!(
            run.stdout
                .contains("\n+serial = 2 # bumped by every edit\n"),
            "{command:?}: {}",
            run.stdout
        );
        assert_contains(&run.stderr, "nothing was written");
        assert_eq!(f.snapshot(), before, "{command:?} changed a file");
    }
}

#[test]
fn an_edit_keeps_comments_and_every_line_it_does_not_change() {
    let f = Fixture::one_key();
    let before = f.manifest_text();
    f.cmd(
        "keys retire caio-2026-01 --at 2026-12-01T00:00:00Z --now {}",
        &[NOW],
    )
    .expect(0);
    let after = f.manifest_text();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [
            (
                "serial = 1 # bumped by every edit",
                "serial = 2 # bumped by every edit"
            ),
            (
                "sign_until = 2027-01-01T00:00:00Z # one year",
                "sign_until = 2026-12-01T00:00:00Z # one year"
            ),
            (
                "not_after = 2027-04-01T00:00:00Z",
                "not_after = 2026-12-01T00:00:00Z"
            ),
        ]
    );
    assert_eq!(before.lines().count(), after.lines().count());
    let mode = std::fs::metadata(f.manifest())
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o644,
        "the atomic write keeps the file's mode"
    );
}

#[test]
fn add_accepts_a_key_made_by_openssl() {
    let f = Fixture::one_key();
    let (private, public) = f.openssl_keypair("ossl");
    let run = f
        .cmd("keys add {} --id caio-ossl --not-before 2026-07-01T00:00:00Z --sign-until 2027-07-01T00:00:00Z --not-after 2027-10-01T00:00:00Z --now {}", &[path(&public), NOW])
        .expect(0);
    assert_contains(&run.stderr, "serial 1 -> 2");
    let stored = f.keys_dir().join("caio-ossl.pem");
    assert_eq!(
        std::fs::read(&stored).expect("copied"),
        std::fs::read(&public).expect("pem")
    );
    let list = f.list(NOW);
    let key = listed(&list, "caio-ossl");
    assert_eq!(key["fingerprint"], openssl_fingerprint(&public));
    assert_eq!(key["state"], "pending");
    assert_eq!(key["not_after"], "2027-10-01T00:00:00Z");
    assert_eq!(list["serial"], 2);
    f.xtask(&["keys", "check", "--now", NOW]).expect(0);

    // The private half is refused, before anything is written.
    f.refused(
        "keys add {} --id oops --now {}",
        &[path(&private), NOW],
        2,
        &["private key"],
    );
}

#[test]
fn add_defaults_not_before_to_now_and_leaves_the_rest_open() {
    let f = Fixture::open_key();
    let (_, public) = f.openssl_keypair("b");
    f.cmd("keys add {} --id b --now {}", &[path(&public), NOW])
        .expect(0);
    let list = f.list(NOW);
    let b = listed(&list, "b");
    assert_eq!(b["not_before"], NOW);
    assert_eq!(b["sign_until"], serde_json::Value::Null);
    assert_eq!(b["not_after"], serde_json::Value::Null);
    assert!(
        f.manifest_text().contains("\n\n[[key]]\nid = \"b\"\n"),
        "{}",
        f.manifest_text()
    );
}

#[test]
fn add_refuses_an_existing_pem_and_a_manifest_the_build_would_reject() {
    let f = Fixture::one_key();
    let (_, public) = f.openssl_keypair("new");
    let public = path(&public);
    std::fs::write(f.keys_dir().join("taken.pem"), "not mine").expect("write");
    f.refused(
        "keys add {} --id taken --now {}",
        &[public, NOW],
        2,
        &["refusing to overwrite"],
    );

    // Windows out of order: the build's own check refuses it, and no PEM is left over.
    f.refused(
        "keys add {} --id backwards --not-before 2027-01-01 --not-after 2026-01-01 --now {}",
        &[public, NOW],
        1,
        &["backwards", "nothing was written"],
    );

    // The same key under a second id.
    let embedded = f.keys_dir().join("caio-2026-01.pem");
    f.refused(
        "keys add {} --id again --now {}",
        &[path(&embedded), NOW],
        2,
        &["already in"],
    );
    f.refused(
        "keys add {} --id ../escape --now {}",
        &[public, NOW],
        2,
        &["--id"],
    );
}

#[test]
fn revoke_moves_the_key_to_the_revoked_list() {
    let f = Fixture::one_key();
    let (_, public) = f.openssl_keypair("new");
    f.cmd(
        "keys add {} --id next --sign-until 2027-06-01 --not-after 2027-09-01 --now {}",
        &[path(&public), NOW],
    )
    .expect(0);
    f.xtask(&["keys", "revoke", "caio-2026-01", "--now", NOW])
        .expect(0);
    assert!(f.manifest_text().contains("status = \"revoked\""));
    let list = f.list(NOW);
    assert_eq!(listed(&list, "caio-2026-01")["state"], "revoked");
    assert_eq!(list["serial"], 3);
    let run = f.xtask(&["keys", "check", "--now", NOW]).expect(0);
    assert_contains(&run.stderr, "1 embedded key(s), 1 revoked");
    // Revoking twice changes nothing.
    f.xtask(&["keys", "revoke", "caio-2026-01", "--now", NOW])
        .expect(0);
    assert_eq!(f.list(NOW)["serial"], 3);
    // A revoked key stays, so its fingerprint stays in the revoked list.
    let run = f
        .xtask(&["keys", "remove", "caio-2026-01", "--now", "2030-01-01"])
        .expect(1);
    assert_contains(&run.stderr, "revoked list");
}

#[test]
fn unknown_ids_and_bad_flags_are_usage_errors() {
    let f = Fixture::one_key();
    let before = f.snapshot();
    for args in [
        &["keys", "retire", "nope", "--at", "2026-12-01"][..],
        &["keys", "revoke", "nope"],
        &["keys", "remove", "nope"],
        &["keys", "retire", "caio-2026-01", "--at", "someday"],
        &["keys", "rotate", "x.pem", "--id", "x", "--grace", "1y"],
        &["keys", "list", "--now", "2026-06-01T00:00:00.5Z"],
        &["keys", "frobnicate"],
    ] {
        let run = f.xtask(args).expect(2);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(f.snapshot(), before);
}
