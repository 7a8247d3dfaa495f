//! `license reissue` and `keys check --licenses`: bad lines are reported by number
//! while the good ones are written, every field survives a re-issue, the output file
//! appears whole or not at all, each orphaned license is named; and a rotation end to
//! end (runbook steps 1, 3, 4, 6 and 7) that re-issues 1,000 licenses.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::{Value, json};

use test_support::run::assert_contains;

use crate::license::{TestIssuer, openssl_verifies, payload_of, private_pem, unix};
use crate::{Fixture, Key, Run, fingerprint, path};

const DAY: i64 = 86_400;

/// Two keys mid-rotation: "old" (seed 1) signed until 2026-10-01 and verifies until
/// 2026-12-31; "new" (seed 2) signs from 2026-10-01.
fn mid_rotation() -> Fixture {
    Fixture::new(
        "",
        &[
            Key {
                id: "old",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2026-10-01T00:00:00Z\nnot_after = 2026-12-31T00:00:00Z\n",
            },
            Key {
                id: "new",
                seed: 2,
                windows: "not_before = 2026-10-01T00:00:00Z\nsign_until = 2027-10-01T00:00:00Z\nnot_after = 2027-12-31T00:00:00Z\n",
            },
        ],
    )
}

const AT: &str = "2026-10-15T00:00:00Z";

fn write_lines(f: &Fixture, name: &str, lines: &[String]) -> std::path::PathBuf {
    let file = f.path().join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&file, text).expect("licenses file");
    file
}

/// `license reissue --key KEY INPUT [-o OUTPUT] EXTRA... --now AT` on `f`'s keyring.
fn reissue(f: &Fixture, key: &Path, input: &Path, output: Option<&Path>, extra: &[&str]) -> Run {
    let mut args = vec!["license", "reissue", "--key", path(key), path(input)];
    if let Some(output) = output {
        args.extend(["-o", path(output)]);
    }
    args.extend(extra);
    args.extend(["--now", AT]);
    f.xtask(&args)
}

/// The payload a re-issue must produce from `old`: the same, with `kid` and `iat` new.
fn reissued_payload(old: &Value, kid: &str, iat: i64) -> Value {
    let mut expected = old.clone();
    expected["kid"] = json!(kid);
    expected["iat"] = json!(iat);
    expected
}

#[test]
fn reissue_reports_bad_lines_by_number_and_writes_the_good_ones() {
    let f = mid_rotation();
    let new_key = private_pem(&f, 2, "new-private");
    let old = TestIssuer::from_seed(1);
    let iat = unix("2026-09-01T00:00:00Z");
    let payloads = [
        json!({"kid": old.kid, "lid": "L-1", "sub": "ACME", "iat": iat, "exp": unix("2027-06-01T00:00:00Z"),
               "tier": {"level": 2, "tags": ["a", "b"]}, "note": "kept as is"}),
        json!({"kid": old.kid, "lid": "L-3", "sub": "Beta", "iat": iat, "nbf": iat, "exp": unix("2027-01-01T00:00:00Z"),
               "features": ["pro", "sso"], "seats": 12}),
        json!({"kid": old.kid, "lid": "L-7", "sub": "Gamma", "iat": iat}),
    ];
    let good: Vec<String> = payloads.iter().map(|p| old.sign(p)).collect();
    let mut tampered = old
        .sign(&json!({"kid": old.kid, "lid": "L-5", "sub": "T", "iat": iat}))
        .into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let lines = vec![
        good[0].clone(),
        "garbage".to_owned(),
        good[1].clone(),
        String::new(),
        String::from_utf8(tampered).expect("ascii"),
        old.sign(&json!({"kid": old.kid, "lid": "L-6", "sub": "Late", "iat": iat, "exp": unix("2026-10-01T00:00:00Z")})),
        good[2].clone(),
        TestIssuer::from_seed(9).sign(
            &json!({"kid": fingerprint(9), "lid": "L-8", "sub": "Stranger", "iat": iat}),
        ),
    ];
    let input = write_lines(&f, "input.txt", &lines);
    let output = f.path().join("out.txt");
    let run = reissue(&f, &new_key, &input, Some(&output), &[]).expect(1);
    let rejected = run.stderr_lines(|l| l.contains(": rejected ("));
    let expected = [
        ("input.txt:2:", "(bad_prefix)"),
        ("input.txt:5:", "(bad_signature)"),
        ("input.txt:6: license \"L-6\":", "(expired)"),
        ("input.txt:8:", "(unknown_key)"),
    ];
    assert_eq!(rejected.len(), expected.len(), "{}", run.stderr);
    for ((place, reason), line) in expected.iter().zip(&rejected) {
        assert!(
            line.contains(place) && line.contains(reason),
            "{line}\n{}",
            run.stderr
        );
    }
    assert_contains(&run.stderr, "holds the 3 good one(s) only");

    let written = std::fs::read_to_string(&output).expect("the good ones are written");
    let written: Vec<&str> = written.lines().collect();
    assert_eq!(written.len(), 3);
    let new_public = f.keys_dir().join("new.pem");
    for (token, old_payload) in written.iter().zip(&payloads) {
        assert_eq!(
            payload_of(token),
            reissued_payload(old_payload, &fingerprint(2), unix(AT))
        );
        assert!(openssl_verifies(&f, &new_public, token), "{token}");
    }
    let stdin = std::fs::read(&output).expect("output");
    f.xtask_stdin(&["license", "verify", "-", "--at", AT], &stdin)
        .expect(0);

    // To stdout, with the same verdicts; --json needs a file for its summary.
    let run = reissue(&f, &new_key, &input, None, &[]).expect(1);
    assert_eq!(run.stdout.lines().count(), 3);
    let run = reissue(&f, &new_key, &input, Some(&output), &["--json"]).expect(1);
    let summary: Value = serde_json::from_str(&run.stdout).expect("a JSON summary");
    assert_eq!(
        (&summary["total"], &summary["reissued"]),
        (&json!(7), &json!(3))
    );
    let lines: Vec<&Value> = summary["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| &r["line"])
        .collect();
    assert_eq!(lines, [&json!(2), &json!(5), &json!(6), &json!(8)]);
    f.cmd(
        "license reissue --key {} {} --json",
        &[path(&new_key), path(&input)],
    )
    .expect(2);
}

#[test]
fn reissue_writes_the_output_whole_or_not_at_all() {
    let f = mid_rotation();
    let new_key = private_pem(&f, 2, "new-private");
    let old_key = private_pem(&f, 1, "old-private");
    let old = TestIssuer::from_seed(1);
    let token = old.sign(
        &json!({"kid": old.kid, "lid": "L-1", "sub": "A", "iat": unix("2026-09-01T00:00:00Z")}),
    );
    let input = write_lines(&f, "input.txt", &[token]);
    let output = f.path().join("out.txt");
    std::fs::write(&output, "the previous output\n").expect("output");
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let empty = f.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").expect("empty");
    let into_output = |key: &Path, input: &Path| reissue(&f, key, input, Some(&output), &[]);

    let before = f.snapshot();
    // A read error half way (a directory reads as EISDIR), an empty input, a key that
    // may not sign: each leaves every file as it was, and no temporary file behind.
    let run = into_output(&new_key, f.keys_dir().as_path()).expect(2);
    assert_contains(&run.stderr, "cannot read");
    assert_eq!(f.snapshot(), before);
    let run = into_output(&new_key, &empty).expect(2);
    assert_contains(&run.stderr, "no license in");
    assert_eq!(f.snapshot(), before);
    let run = into_output(&old_key, &input).expect(1);
    assert!(
        run.stderr.contains("stopped signing") && run.stderr.contains("key \"old\""),
        "{}",
        run.stderr
    );
    assert_eq!(f.snapshot(), before);

    into_output(&new_key, &input).expect(0);
    let written = std::fs::read_to_string(&output).expect("output");
    assert_eq!(written.lines().count(), 1);
    assert_eq!(payload_of(written.trim())["kid"], fingerprint(2).as_str());
    let mode = std::fs::metadata(&output)
        .expect("output")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the old file's mode is kept");
    let after = f.snapshot();
    assert_eq!(after.len(), before.len(), "no temporary file left behind");
}

#[test]
fn keys_check_licenses_names_each_orphaned_license() {
    let f = Fixture::new(
        "",
        &[
            Key {
                id: "a",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-04-01T00:00:00Z\n",
            },
            Key {
                id: "open",
                seed: 2,
                windows: "not_before = 2026-01-01T00:00:00Z\n",
            },
        ],
    );
    let (a, open) = (TestIssuer::from_seed(1), TestIssuer::from_seed(2));
    let iat = unix("2026-02-01T00:00:00Z");
    let license = |issuer: &TestIssuer, lid: &str, extra: Value| {
        let mut payload = json!({"kid": issuer.kid, "lid": lid, "sub": "S", "iat": iat});
        for (k, v) in extra.as_object().expect("object") {
            payload[k] = v.clone();
        }
        issuer.sign(&payload)
    };
    let exp = |t: &str| json!({"exp": unix(t)});
    let lines = vec![
        license(&a, "L-ok", exp("2027-03-01T00:00:00Z")),
        license(&a, "L-edge", exp("2027-04-01T00:00:00Z")),
        license(&a, "L-late", exp("2027-05-01T00:00:00Z")),
        license(&a, "L-forever-a", json!({})),
        license(&open, "L-forever-open", json!({})),
        license(&a, "L-gone", exp("2026-05-01T00:00:00Z")),
        "garbage".to_owned(),
        license(
            &a,
            "L-soon",
            json!({"nbf": unix("2026-09-01T00:00:00Z"), "exp": unix("2027-01-01T00:00:00Z")}),
        ),
        license(
            &a,
            "L-never",
            json!({"nbf": unix("2027-05-01T00:00:00Z"), "exp": unix("2027-06-01T00:00:00Z")}),
        ),
        TestIssuer::from_seed(9)
            .sign(&json!({"kid": fingerprint(9), "lid": "L-stranger", "sub": "S", "iat": iat})),
    ];
    let file = write_lines(&f, "outstanding.txt", &lines);
    let run = f
        .cmd("keys check --licenses {} --now 2026-06-01", &[path(&file)])
        .expect(1);
    let errors = run.stderr_lines(|l| l.starts_with("error:"));
    let expected = [
        "outstanding.txt:3: license \"L-late\": outlives_key: expires 2027-05-01T00:00:00Z, but key \"a\" stops verifying at 2027-04-01T00:00:00Z",
        "outstanding.txt:4: license \"L-forever-a\": outlives_key: never expires, but key \"a\"",
        "outstanding.txt:6: license \"L-gone\": expired:",
        "outstanding.txt:7: license (id unknown): bad_prefix:",
        "outstanding.txt:9: license \"L-never\": key_expired: does not verify from its nbf 2027-05-01T00:00:00Z",
        "outstanding.txt:10: license (id unknown): unknown_key:",
    ];
    assert_eq!(errors.len(), expected.len(), "{}", run.stderr);
    for (line, want) in errors.iter().zip(expected) {
        assert!(line.contains(want), "expected {want:?} in {line:?}");
    }
    assert_contains(&run.stderr, "10 outstanding license(s), 6 orphaned");

    let fine: Vec<String> = [0, 1, 4, 7].iter().map(|&i| lines[i].clone()).collect();
    let file = write_lines(&f, "fine.txt", &fine);
    let run = f
        .cmd("keys check --licenses {} --now 2026-06-01", &[path(&file)])
        .expect(0);
    assert_contains(&run.stderr, "4 outstanding license(s), 0 orphaned");
    f.cmd(
        "keys check --licenses {}",
        &[path(&f.path().join("missing.txt"))],
    )
    .expect(2);
}

/// The exp of the i-th of the 1,000 licenses: spread over 2026-12-01 + 0..300 days.
fn thousand_exp(i: i64) -> i64 {
    unix("2026-12-01T00:00:00Z") + (i % 300) * DAY
}

#[test]
fn rotation_end_to_end_reissues_a_thousand_licenses() {
    let f = Fixture::one_key(); // caio-2026-01: signs 2026-01-01..2027-01-01, verifies to 2027-04-01
    let old_private = private_pem(&f, 1, "old-private");
    let issued_at = "2026-09-01T00:00:00Z";

    // 1,000 outstanding licenses: one through `license issue`, 999 signed by the test
    // from the same private PEM.
    let first = f
        .cmd("license issue --key {} --licensee {} --license-id L-0000 --expires 2026-12-01 --now {}", &[path(&old_private), "Customer 0", issued_at])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let issuer = TestIssuer::from_pem(&old_private);
    let mut licenses = vec![first];
    for i in 1..1000_i64 {
        let mut payload = json!({
            "kid": issuer.kid, "lid": format!("L-{i:04}"), "sub": format!("Customer {i}"),
            "iat": unix(issued_at), "exp": thousand_exp(i), "seats": i % 50 + 1,
        });
        if i % 3 == 0 {
            payload["features"] = json!(["pro", "sso"]);
        }
        if i % 7 == 0 {
            payload["region"] = json!({"code": "eu", "dc": [1, 2]});
        }
        licenses.push(issuer.sign(&payload));
    }
    let outstanding = write_lines(&f, "outstanding.txt", &licenses);
    let old_payloads: Vec<Value> = licenses.iter().map(|t| payload_of(t)).collect();

    // Before the rotation: the licenses that expire after the old key's deadline are
    // orphans-to-be, each named.
    let run = f
        .cmd(
            "keys check --licenses {} --now 2026-09-15",
            &[path(&outstanding)],
        )
        .expect(1);
    let deadline = unix("2027-04-01T00:00:00Z");
    let to_be: Vec<String> = (0..1000_i64)
        .filter(|&i| thousand_exp(i) > deadline)
        .map(|i| format!("license \"L-{i:04}\": outlives_key"))
        .collect();
    assert!(!to_be.is_empty());
    let orphan_lines = run
        .stderr
        .lines()
        .filter(|l| l.contains("outlives_key"))
        .count();
    assert_eq!(orphan_lines, to_be.len(), "{}", run.stderr);
    for orphan in &to_be {
        assert!(run.stderr.contains(orphan.as_str()), "{orphan}");
    }

    // Steps 1 and 3: a new keypair, rotated in with 60 days of dual-key validation.
    let new_dir = f.path().join("keys-rotation-20261001");
    f.xtask(&["keygen", path(&new_dir)]).expect(0);
    let new_private = new_dir.join("private.pem");
    let new_public = new_dir.join("public.pem");
    f.cmd(
        "keys rotate {} --id caio-2026-10 --grace 60d --lifetime 365d --now 2026-10-01",
        &[path(&new_public)],
    )
    .expect(0);
    f.xtask(&["keys", "check", "--now", AT]).expect(0);
    // The old key no longer signs.
    f.cmd(
        "license issue --key {} --licensee X --now {}",
        &[path(&old_private), AT],
    )
    .expect(1);

    // Step 4: re-issue all of them with the new key.
    let reissued_file = f.path().join("reissued.txt");
    let run = reissue(&f, &new_private, &outstanding, Some(&reissued_file), &[]).expect(0);
    assert_contains(&run.stderr, "re-issued 1000 of 1000");
    let reissued_text = std::fs::read_to_string(&reissued_file).expect("reissued");
    let reissued: Vec<&str> = reissued_text.lines().collect();
    assert_eq!(reissued.len(), 1000);
    let new_kid = crate::openssl_fingerprint(&new_public);
    for (token, old) in reissued.iter().zip(&old_payloads) {
        assert_eq!(payload_of(token), reissued_payload(old, &new_kid, unix(AT)));
    }
    // OpenSSL, the outside referee, accepts every signature.
    for token in &reissued {
        assert!(openssl_verifies(&f, &new_public, token), "{token}");
    }

    // Step 6: every re-issued license verifies, with the new key.
    let run = f
        .xtask_stdin(
            &["license", "verify", "-", "--json", "--at", "2026-10-16"],
            reissued_text.as_bytes(),
        )
        .expect(0);
    let verdicts: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(verdicts.len(), 1000);
    assert!(
        verdicts
            .iter()
            .all(|v| v["valid"] == true && v["key_id"] == "caio-2026-10")
    );
    f.cmd(
        "keys check --licenses {} --now {}",
        &[path(&reissued_file), AT],
    )
    .expect(0);

    // Step 7: the deadline, then every old license is an orphan; after it, removal.
    f.cmd(
        "keys retire caio-2026-01 --at 2026-11-15T00:00:00Z --now {}",
        &[AT],
    )
    .expect(0);
    let run = f
        .cmd(
            "keys check --licenses {} --now {}",
            &[path(&outstanding), AT],
        )
        .expect(1);
    assert!(
        run.stderr
            .contains("1000 outstanding license(s), 1000 orphaned"),
        "{}",
        run.stderr
    );
    f.xtask(&["keys", "remove", "caio-2026-01", "--now", "2026-11-01"])
        .expect(1);
    f.xtask(&["keys", "remove", "caio-2026-01", "--now", "2026-11-16"])
        .expect(0);
    let run = f
        .xtask_stdin(
            &["license", "verify", "-", "--json", "--at", "2026-11-16"],
            licenses.join("\n").as_bytes(),
        )
        .expect(1);
    assert!(
        run.stdout
            .lines()
            .all(|l| l.contains("\"reason\":\"unknown_key\"")),
        "the old licenses name a key no build trusts"
    );
    f.xtask_stdin(
        &["license", "verify", "-", "--at", "2026-11-16"],
        reissued_text.as_bytes(),
    )
    .expect(0);
    f.cmd(
        "keys check --licenses {} --now 2026-11-16",
        &[path(&reissued_file)],
    )
    .expect(0);
}

#[test]
fn no_output_ever_replaces_a_private_key() {
    let f = mid_rotation();
    let new_key = private_pem(&f, 2, "new-private");
    let old = TestIssuer::from_seed(1);
    let license = old.sign(&json!({"kid": old.kid, "lid": "L-1", "sub": "ACME",
                                   "iat": unix("2026-09-01T00:00:00Z")}));
    let input = write_lines(&f, "input.txt", &[license]);
    let key_bytes = std::fs::read(&new_key).expect("key");
    // The DER form too (PKCS#8 v1 of the seed [2; 32]): the release gate's check.
    let der = f.path().join("key.der");
    let mut der_bytes = hex::decode("302e020100300506032b657004220420").expect("hex");
    der_bytes.extend([2_u8; 32]);
    std::fs::write(&der, &der_bytes).expect("der");

    // The signing key itself as the output: the mistake that would lose it.
    let run = reissue(&f, &new_key, &input, Some(&new_key), &[]).expect(2);
    assert!(
        run.stderr.contains("holds a private key") && run.stderr.contains("refusing to replace it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&new_key).expect("key"),
        key_bytes,
        "the key is untouched"
    );

    let run = reissue(&f, &new_key, &input, Some(&der), &[]).expect(2);
    assert_contains(&run.stderr, "holds a private key");
    assert_eq!(std::fs::read(&der).expect("der"), der_bytes);

    let run = f
        .xtask(&["keys", "timeline", "--svg", path(&new_key), "--now", AT])
        .expect(2);
    assert_contains(&run.stderr, "holds a private key");
    assert_eq!(std::fs::read(&new_key).expect("key"), key_bytes);

    // An ordinary output file is replaced as before.
    let out = write_lines(&f, "out.txt", &["stale".to_owned()]);
    reissue(&f, &new_key, &input, Some(&out), &[]).expect(0);
    assert!(
        std::fs::read_to_string(&out)
            .expect("out")
            .starts_with("CAIO-v2.")
    );
}
