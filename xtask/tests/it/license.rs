//! `license issue` and `license verify`: OpenSSL keys sign, OpenSSL verifies what is
//! signed, a key outside its window (or unknown, or revoked) never signs, and verify
//! prints what `caio-verify license` prints. Also the helpers the re-issue tests share:
//! private keys for the fixtures' seeds, an independent license signer, and OpenSSL as
//! the referee for signatures.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use xshell::cmd;

use test_support::run::assert_contains;

use crate::{Fixture, Key, fingerprint, openssl_fingerprint, path};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Unix seconds of an RFC 3339 instant.
pub fn unix(instant: &str) -> i64 {
    instant
        .parse::<jiff::Timestamp>()
        .expect("an RFC 3339 instant")
        .as_second()
}

/// Writes the private key with seed `[seed; 32]` to `<name>.pem` in the fixture's
/// directory, as ed25519-dalek writes it (PKCS#8 v2, the public key inside), mode 0600.
pub fn private_pem(f: &Fixture, seed: u8, name: &str) -> PathBuf {
    let path = f.path().join(format!("{name}.pem"));
    let pem = SigningKey::from_bytes(&[seed; 32])
        .to_pkcs8_pem(pem_rfc7468::LineEnding::LF)
        .expect("encodes");
    std::fs::write(&path, pem.as_bytes()).expect("private pem");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// A license signer that shares no code with xtask: what a second issuer (or an
/// attacker) would write. It reads the same private PEM files.
pub struct TestIssuer {
    key: SigningKey,
    /// The key's fingerprint, every license's `kid`.
    pub kid: String,
}

impl TestIssuer {
    /// The issuer for the private key in `path`.
    pub fn from_pem(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).expect("private pem");
        let key = SigningKey::from_pkcs8_pem(&text).expect("a PKCS#8 Ed25519 key");
        let kid = caio_keyring::Fingerprint::of_ed25519(&key.verifying_key().to_bytes());
        Self {
            key,
            kid: kid.to_string(),
        }
    }

    /// The issuer for the key with seed `[seed; 32]`.
    pub fn from_seed(seed: u8) -> Self {
        Self {
            key: SigningKey::from_bytes(&[seed; 32]),
            kid: fingerprint(seed),
        }
    }

    /// Signs `payload` (a JSON object) as a CAIO-v2 token.
    pub fn sign(&self, payload: &Value) -> String {
        let input = format!("CAIO-v2.{}", B64.encode(payload.to_string()));
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature.to_bytes()))
    }
}

/// The decoded payload of a token.
pub fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a payload part");
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON")
}

/// Whether `openssl pkeyutl -verify -rawin` accepts the token's signature under
/// `public_pem`. Scratch files go to `dir`.
pub fn openssl_verifies(f: &Fixture, public_pem: &Path, token: &str) -> bool {
    let dir = f.path().join("openssl-scratch");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let (input, signature) = token.rsplit_once('.').expect("three parts");
    let (input_file, sig_file) = (dir.join("signing_input"), dir.join("sig"));
    std::fs::write(&input_file, input).expect("signing input");
    std::fs::write(&sig_file, B64.decode(signature).expect("base64url")).expect("signature");
    let sh = &f.sh;
    cmd!(
        sh,
        "openssl pkeyutl -verify -rawin -pubin -inkey {public_pem} -sigfile {sig_file} -in {input_file}"
    )
    .quiet()
    .ignore_stdout()
    .ignore_stderr()
    .run()
    .is_ok()
}

/// The JSON on the stdout of a run.
fn json_out(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

const NOW: &str = "2026-03-01T00:00:00Z";

#[test]
fn a_key_made_by_openssl_signs_through_issue_and_openssl_verifies_the_license() {
    let f = Fixture::one_key();
    let (private, public) = f.openssl_keypair("ossl");
    f.cmd("keys add {} --id ossl --not-before 2026-02-01 --sign-until 2027-02-01 --not-after 2027-06-01 --now {}", &[path(&public), NOW])
    .expect(0);
    let run = f
        .cmd("license issue --key {} --licensee {} --expires 2027-01-01 --feature pro --feature sso --seats 25 --license-id L-acme-1 --json --now {}", &[path(&private), "ACME Corp", NOW])
        .expect(0);
    let out = json_out(&run.stdout);
    let kid = openssl_fingerprint(&public);
    assert_eq!(out["kid"], kid.as_str());
    assert_eq!(out["key_id"], "ossl");
    assert_eq!(out["lid"], "L-acme-1");
    let token = out["token"].as_str().expect("a token");
    let expected = json!({
        "kid": kid, "lid": "L-acme-1", "sub": "ACME Corp", "iat": unix(NOW),
        "exp": unix("2027-01-01T00:00:00Z"), "features": ["pro", "sso"], "seats": 25,
    });
    assert_eq!(payload_of(token), expected);
    assert_eq!(out["payload"], expected);
    assert!(openssl_verifies(&f, &public, token));
    // The referee is not a rubber stamp: the same signature over another payload fails.
    let other = TestIssuer::from_seed(1).sign(&json!({"lid": "x"}));
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').expect("dots").0,
        token.rsplit_once('.').expect("dots").1
    );
    assert!(!openssl_verifies(&f, &public, &forged));
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    // Without --json: the bare token, one line, and it verifies against the manifest.
    let run = f
        .cmd(
            "license issue --key {} --licensee Beta --now {}",
            &[path(&private), NOW],
        )
        .expect(0);
    let token = run.stdout.trim_end();
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(openssl_verifies(&f, &public, token));
    let payload = payload_of(token);
    assert!(
        payload["lid"].as_str().expect("a lid").starts_with("L-"),
        "{payload}"
    );
    assert_eq!(payload.as_object().expect("object").len(), 4, "{payload}");
    f.xtask(&["license", "verify", token, "--at", "2027-05-01"])
        .expect(0);
}

#[test]
fn issue_accepts_pkcs8_v2_and_the_keygen_form() {
    let f = Fixture::one_key();
    let v2 = private_pem(&f, 1, "v2");
    let run = f
        .cmd(
            "license issue --key {} --licensee A --now {}",
            &[path(&v2), NOW],
        )
        .expect(0);
    assert_eq!(
        payload_of(run.stdout.trim())["kid"],
        fingerprint(1).as_str()
    );

    let dir = f.path().join("fresh");
    f.xtask(&["keygen", path(&dir)]).expect(0);
    f.cmd(
        "keys add {} --id fresh --not-before 2026-02-01 --not-after 2027-02-01 --now {}",
        &[path(&dir.join("public.pem")), NOW],
    )
    .expect(0);
    let run = f
        .cmd(
            "license issue --key {} --licensee B --now {}",
            &[path(&dir.join("private.pem")), NOW],
        )
        .expect(0);
    assert!(openssl_verifies(
        &f,
        &dir.join("public.pem"),
        run.stdout.trim()
    ));
}

/// Runs `license issue` with the key of `seed` at `now` and expects `code`, with each
/// of `messages` on stderr and nothing on stdout unless it passed.
fn check_issue(f: &Fixture, seed: u8, now: &str, code: i32, messages: &[&str]) {
    let key = private_pem(f, seed, &format!("seed-{seed}"));
    let run = f
        .cmd(
            "license issue --key {} --licensee ACME --now {}",
            &[path(&key), now],
        )
        .expect(code);
    for message in messages {
        assert!(
            run.stderr.contains(message),
            "seed {seed} at {now}: expected {message:?} in:\n{}",
            run.stderr
        );
    }
    assert_eq!(run.stdout.is_empty(), code != 0, "{}", run.stdout);
}

#[test]
fn issue_refuses_outside_the_window_and_unknown_or_revoked_keys() {
    let f = Fixture::new(
        "",
        &[
            Key {
                id: "old",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2026-06-01T00:00:00Z\nnot_after = 2026-09-01T00:00:00Z\n",
            },
            Key {
                id: "gone",
                seed: 2,
                windows: "not_before = 2026-01-01T00:00:00Z\nstatus = \"revoked\"\n",
            },
            Key {
                id: "next",
                seed: 3,
                windows: "not_before = 2026-06-01T00:00:00Z\nsign_until = 2027-06-01T00:00:00Z\nnot_after = 2027-09-01T00:00:00Z\n",
            },
        ],
    );
    let unknown = fingerprint(9);
    check_issue(&f, 1, "2026-03-01", 0, &["with key old"]);
    check_issue(&f, 1, "2026-06-01", 0, &[]);
    check_issue(
        &f,
        1,
        "2026-06-01T00:00:01Z",
        1,
        &[
            "keyring.toml:",
            "key \"old\"",
            "stopped signing at 2026-06-01T00:00:00Z",
        ],
    );
    check_issue(
        &f,
        3,
        "2026-05-31",
        1,
        &[
            "keyring.toml:",
            "key \"next\"",
            "signs from 2026-06-01T00:00:00Z",
        ],
    );
    check_issue(&f, 3, "2026-07-01", 0, &["with key next"]);
    check_issue(
        &f,
        2,
        "2026-03-01",
        1,
        &["keyring.toml:", "key \"gone\"", "revoked"],
    );
    check_issue(
        &f,
        9,
        "2026-03-01",
        1,
        &["keyring.toml", "no key has fingerprint", &unknown],
    );
}

#[test]
fn issue_refuses_bad_keys_and_bad_dates_as_usage_errors() {
    let f = Fixture::one_key();
    let key = private_pem(&f, 1, "old");
    let issue = |key: &str, extra: &[&str]| {
        let mut args = vec![
            "license",
            "issue",
            "--key",
            key,
            "--licensee",
            "A",
            "--now",
            NOW,
        ];
        args.extend_from_slice(extra);
        f.xtask(&args)
    };
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let run = issue(path(&key), &[]).expect(2);
    assert_contains(&run.stderr, "chmod 600");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    let public = f.keys_dir().join("caio-2026-01.pem");
    let run = issue(path(&public), &[]).expect(2);
    assert_contains(&run.stderr, "holds a public key");
    let run = issue("pkcs11:token=caio;object=k", &[]).expect(2);
    assert_contains(&run.stderr, "PKCS#11");
    let run = issue(path(&key), &["--expires", "2026-02-01"]).expect(2);
    assert_contains(&run.stderr, "not after now");
    let run = issue(
        path(&key),
        &["--not-before", "2026-08-01", "--expires", "2026-07-01"],
    )
    .expect(2);
    assert_contains(&run.stderr, "is after --expires");
    issue(path(&key), &["--seats", "-1"]).expect(2);

    // A license that could never verify (it starts after its key's not_after) is
    // refused by the verification that runs before printing.
    let run = issue(path(&key), &["--not-before", "2027-05-01"]).expect(1);
    assert!(
        run.stderr.contains("key_expired") && run.stdout.is_empty(),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_prints_what_caio_verify_license_prints() {
    let f = Fixture::one_key();
    let key = private_pem(&f, 1, "old");
    let good = f
        .cmd("license issue --key {} --licensee ACME --license-id L-1 --expires 2027-01-15T08:00:00Z --now {}", &[path(&key), NOW])
        .expect(0)
        .stdout
        .trim()
        .to_owned();
    let issuer = TestIssuer::from_seed(1);
    let expired = issuer.sign(&json!({
        "kid": issuer.kid, "lid": "L-2", "sub": "Old", "iat": unix(NOW), "exp": unix("2026-04-01T00:00:00Z"),
    }));
    // One signature character changed, away from the end (whose spare bits must be 0).
    let mut forged = good.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    let stdin = format!("{good}\r\n\nnot a license\n{expired}\n{forged}\n");

    let run = f
        .xtask_stdin(
            &["license", "verify", "-", "--json", "--at", "2026-06-01"],
            stdin.as_bytes(),
        )
        .expect(1);
    let lines: Vec<Value> = run.stdout.lines().map(json_out).collect();
    let reasons: Vec<&Value> = lines.iter().map(|l| &l["reason"]).collect();
    assert_eq!(
        reasons,
        [
            &Value::Null,
            &json!("bad_prefix"),
            &json!("bad_prefix"),
            &json!("expired"),
            &json!("bad_signature")
        ]
    );
    for line in run.stdout.lines() {
        assert!(line.starts_with("{\"valid\":"), "field order: {line}");
        let object = json_out(line);
        let keys: Vec<&str> = object
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["detail", "key_id", "kid", "payload", "reason", "valid"]
        );
    }
    assert_eq!(lines[0]["key_id"], "caio-2026-01");
    assert_eq!(lines[0]["payload"]["lid"], "L-1");
    // A license refused for its dates shows its signed payload; a forged one does not.
    assert_eq!(lines[3]["payload"]["lid"], "L-2");
    assert_eq!(lines[4]["payload"], Value::Null);
    assert_eq!(lines[4]["kid"], fingerprint(1).as_str());

    let run = f
        .xtask(&["license", "verify", &good, "--at", "2026-06-01"])
        .expect(0);
    assert_eq!(
        run.stdout,
        "valid: license \"L-1\" for \"ACME\", key caio-2026-01, expires 2027-01-15T08:00:00Z\n"
    );
    let run = f
        .xtask(&["license", "verify", &good, "--at", "2027-04-02"])
        .expect(1);
    assert!(
        run.stdout.starts_with("invalid (key_expired): "),
        "{}",
        run.stdout
    );
    // No license at all is an error, never a pass.
    f.xtask_stdin(&["license", "verify", "-"], b"").expect(2);
}
