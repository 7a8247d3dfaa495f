//! A rotation end to end on a copy of a keyring (runbook steps 1, 3 and 7): keygen,
//! rotate with a grace period, check, retire, remove after the deadline; and the
//! policy limits a rotation honours.

use test_support::run::assert_contains;

use crate::{Fixture, Key, listed, path};

#[test]
fn rotation_add_rotate_check_retire_remove() {
    let f = Fixture::one_key();
    let new_dir = f.path().join("keys-rotation-20261001");
    f.xtask(&["keygen", path(&new_dir)]).expect(0);
    let public = new_dir.join("public.pem");
    let public = path(&public);

    // Before: the only key stops verifying within the support window.
    let run = f
        .xtask(&["keys", "check", "--now", "2026-10-01T00:00:00Z"])
        .expect(1);
    assert_contains(&run.stderr, "support_window_days");

    let run = f
        .cmd("keys rotate {} --id caio-2026-10 --grace 60d --lifetime 365d --now 2026-10-01T00:00:00Z", &[public])
        .expect(0);
    for id in ["caio-2026-01", "caio-2026-10"] {
        assert!(
            run.stdout.contains(id),
            "the timeline shows {id}: {}",
            run.stdout
        );
    }
    let list = f.list("2026-10-15T00:00:00Z");
    let old = listed(&list, "caio-2026-01");
    assert_eq!(old["state"], "verify-only");
    assert_eq!(old["sign_until"], "2026-10-01T00:00:00Z");
    assert_eq!(old["not_after"], "2026-11-30T00:00:00Z");
    let new = listed(&list, "caio-2026-10");
    assert_eq!(new["state"], "signing");
    assert_eq!(new["not_before"], "2026-10-01T00:00:00Z");
    assert_eq!(new["sign_until"], "2027-10-01T00:00:00Z");
    assert_eq!(new["not_after"], "2027-11-30T00:00:00Z");
    assert_eq!(list["serial"], 2);

    let run = f
        .xtask(&["keys", "check", "--now", "2026-10-15T00:00:00Z"])
        .expect(0);
    assert_contains(&run.stderr, "bricking horizon");

    // A deadline that leaves less dual-key time than the policy is shown, not hidden.
    let run = f
        .cmd(
            "keys retire caio-2026-01 --at 2026-10-20 --dry-run --now 2026-10-15",
            &[],
        )
        .expect(0);
    assert_contains(&run.stderr, "min_overlap_days");

    f.cmd(
        "keys retire caio-2026-01 --at 2026-11-15T00:00:00Z --now 2026-10-15",
        &[],
    )
    .expect(0);
    f.xtask(&["keys", "check", "--now", "2026-10-15"]).expect(0);
    assert_eq!(
        listed(&f.list("2026-10-15"), "caio-2026-01")["not_after"],
        "2026-11-15T00:00:00Z"
    );

    // Not before the deadline...
    f.refused(
        "keys remove caio-2026-01 --now 2026-11-01",
        &[],
        1,
        &["keyring.toml", "caio-2026-01"],
    );
    // ...but after it, with its PEM.
    f.xtask(&["keys", "remove", "caio-2026-01", "--now", "2026-11-16"])
        .expect(0);
    assert!(!f.keys_dir().join("caio-2026-01.pem").exists());
    let list = f.list("2026-11-16");
    assert_eq!(list["keys"].as_array().expect("keys").len(), 1);
    assert_eq!(list["serial"], 4);
    f.xtask(&["keys", "check", "--now", "2026-11-16"]).expect(0);
}

#[test]
fn rotate_refuses_a_grace_below_min_overlap_and_a_lifetime_above_the_maximum() {
    let f = Fixture::one_key();
    let (_, public) = f.openssl_keypair("new");
    let public = path(&public);
    f.refused(
        "keys rotate {} --id n --grace 29d --now 2026-10-01",
        &[public],
        1,
        &["keyring.toml", "min_overlap_days = 30"],
    );
    f.refused(
        "keys rotate {} --id n --lifetime 826d --now 2026-10-01",
        &[public],
        1,
        &["max_key_lifetime_days = 825"],
    );
}

#[test]
fn rotate_defaults_to_90_days_grace_and_the_policy_lifetime() {
    let f = Fixture::one_key();
    let (_, public) = f.openssl_keypair("new");
    f.cmd("keys rotate {} --id n --now 2026-10-01", &[path(&public)])
        .expect(0);
    let list = f.list("2026-10-01");
    assert_eq!(
        listed(&list, "caio-2026-01")["not_after"],
        "2026-12-30T00:00:00Z"
    );
    // 825 days of signing, then 90 days of grace.
    assert_eq!(listed(&list, "n")["sign_until"], "2029-01-03T00:00:00Z");
    assert_eq!(listed(&list, "n")["not_after"], "2029-04-03T00:00:00Z");
}

#[test]
fn rotate_without_a_policy_leaves_the_new_key_open() {
    let f = Fixture::open_key();
    let (_, public) = f.openssl_keypair("new");
    f.cmd(
        "keys rotate {} --id b --grace 2w --now 2026-10-01",
        &[path(&public)],
    )
    .expect(0);
    let list = f.list("2026-10-01");
    let a = listed(&list, "a");
    assert_eq!(a["sign_until"], "2026-10-01T00:00:00Z");
    assert_eq!(a["not_after"], "2026-10-15T00:00:00Z");
    let b = listed(&list, "b");
    assert_eq!(b["sign_until"], serde_json::Value::Null);
    assert_eq!(b["not_after"], serde_json::Value::Null);
    // The old key had no sign_until: it is added in its place, before not_after.
    let text = f.manifest_text();
    let a_table = &text[text.find("id = \"a\"").expect("a")..text.find("id = \"b\"").expect("b")];
    let (su, na) = (
        a_table.find("sign_until").expect("su"),
        a_table.find("not_after").expect("na"),
    );
    assert!(su < na, "{a_table}");
}

#[test]
fn rotate_refuses_while_a_key_is_pending() {
    let f = Fixture::new(
        crate::POLICY,
        &[
            Key {
                id: "now",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-12-01T00:00:00Z\n",
            },
            Key {
                id: "scheduled",
                seed: 2,
                windows: "not_before = 2026-12-01T00:00:00Z\nsign_until = 2027-12-01T00:00:00Z\nnot_after = 2028-03-01T00:00:00Z\n",
            },
        ],
    );
    let (_, public) = f.openssl_keypair("new");
    f.refused(
        "keys rotate {} --id n --now 2026-10-01",
        &[path(&public)],
        1,
        &["scheduled", "keyring.toml"],
    );
}
