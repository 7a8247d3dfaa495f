//! The runtime key, end to end: binaries built with `runtime_override =
//! "endorsed"` and `"allow"` (development) here, and the shared fixture's (`"deny"`, the
//! default) with the same keys, a new key N that none of them embeds, and
//! `CAIO_LICENSE_PUBLIC_KEY` holding N's endorsement (signed by OpenSSL, and once by
//! `cargo xtask keys endorse`), N's plain PEM, or endorsements that must not be trusted.
//! A license from N verifies only where the embedded policy accepts the key; every
//! refused key is logged with its reason on stderr.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use xshell::cmd;

use test_support::run::{assert_contains, capture};

use crate::support::{
    AREA, Entry, Key, Output, build_verifier, kept_dir, openssl_keygen, openssl_license,
    openssl_sign, run_with_key, shell, unix, workspace_root, write_manifest_with,
};
use test_support::tokens::b64;

use crate::{NOT_AFTER, NOT_BEFORE, SIGN_UNTIL};

/// When the licenses are verified: inside every window below.
const AT: &str = "2026-07-01T00:00:00Z";

/// Keys and the builds, shared by the tests.
pub(crate) struct Endorsed {
    dir: PathBuf,
    /// Embedded: signs 2026-01-01..2027-01-01, verifies until 2027-06-01 (the shared
    /// fixture's `active` key).
    endorser: &'static Key,
    /// Embedded as revoked (the shared fixture's).
    revoked: &'static Key,
    /// In no keyring (the shared fixture's).
    stranger: &'static Key,
    /// In no keyring: the key the endorsements are about.
    new: Key,
    /// The manifest of the `endorsed` build.
    manifest: PathBuf,
    /// `runtime_override = "endorsed"`.
    pub(crate) endorsed: PathBuf,
    /// The shared fixture's build: `runtime_override = "deny"`, the same keys.
    deny: &'static Path,
    /// `runtime_override = "allow"`, channel development.
    pub(crate) allow: PathBuf,
}

pub(crate) fn fixture() -> &'static Endorsed {
    static FIXTURE: OnceLock<Endorsed> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = kept_dir(AREA, "endorse-");
        let shared = crate::fixture();
        let (endorser, revoked) = (&shared.active, &shared.revoked);
        let new = openssl_keygen(&dir, "new");
        let build = |name: &str, top: &str| -> (PathBuf, PathBuf) {
            let out = dir.join(name);
            std::fs::create_dir_all(&out).expect("build dir");
            let entries = [
                Entry {
                    id: "caio-endorser",
                    key: endorser,
                    not_before: NOT_BEFORE,
                    sign_until: Some(SIGN_UNTIL),
                    not_after: Some(NOT_AFTER),
                    revoked: false,
                },
                Entry {
                    id: "caio-revoked",
                    key: revoked,
                    not_before: "2025-01-01T00:00:00Z",
                    sign_until: None,
                    not_after: None,
                    revoked: true,
                },
            ];
            let manifest = write_manifest_with(&out, 3, top, &entries);
            let exe = build_verifier(&manifest, &out);
            (manifest, exe)
        };
        let (manifest, endorsed) =
            build("endorsed", "\n[policy]\nruntime_override = \"endorsed\"\n");
        let (_, allow) = build(
            "allow",
            "channel = \"development\"\n\n[policy]\nruntime_override = \"allow\"\n",
        );
        Endorsed {
            dir,
            endorser,
            revoked,
            stranger: &shared.stranger,
            new,
            manifest,
            endorsed,
            deny: &shared.exe,
            allow,
        }
    })
}

/// base64url of a public key's SPKI DER, as OpenSSL writes it.
fn spki(key: &Key) -> String {
    b64(test_support::keys::openssl_public_der(&key.public))
}

/// N's endorsement payload: signs from 2026-03-01 to 2027-01-01, verifies until the
/// endorser's not_after, signed 2026-02-01 by the endorser; `changes` replace fields.
fn claims(f: &Endorsed, changes: Value) -> Value {
    let mut payload = json!({
        "spki": spki(&f.new),
        "id": "caio-next",
        "not_before": unix("2026-03-01T00:00:00Z"),
        "sign_until": unix(SIGN_UNTIL),
        "not_after": unix(NOT_AFTER),
        "iat": unix("2026-02-01T00:00:00Z"),
        "endorser": f.endorser.fingerprint,
    });
    if let (Some(fields), Value::Object(changes)) = (payload.as_object_mut(), changes) {
        fields.extend(changes);
    }
    payload
}

/// `payload` as a CAIO-key-v1 endorsement signed by `signer` with OpenSSL.
fn openssl_endorsement(signer: &Key, payload: &Value) -> String {
    let input = format!("CAIO-key-v1.{}", b64(payload.to_string()));
    let signature = openssl_sign(&signer.private, input.as_bytes());
    format!("{input}.{}", b64(signature))
}

/// A license signed by N, issued 2026-06-01.
fn license_from_new(f: &Endorsed) -> String {
    openssl_license(
        &f.new,
        &json!({
            "kid": f.new.fingerprint,
            "lid": "lic-next",
            "sub": "Example Corp",
            "iat": unix("2026-06-01T00:00:00Z"),
        }),
    )
}

/// Verifies N's license with `exe` at [`AT`] and the runtime key `key`.
fn verify(exe: &Path, key: Option<&str>) -> (i32, Value, String) {
    let token = license_from_new(fixture());
    let out: Output = run_with_key(exe, &["license", &token, "--json", "--at", AT], "", key);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let value: Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {:?}", out.stdout));
    (out.code, value, out.stderr)
}

/// N's license is accepted by `exe` with the runtime key `key`.
#[track_caller]
fn check_accepted(exe: &Path, key: &str) {
    let (code, result, stderr) = verify(exe, Some(key));
    assert_eq!(
        (code, &result["valid"]),
        (0, &json!(true)),
        "{result}\n{stderr}"
    );
    assert_eq!(result["key_id"], "caio-next", "{result}");
}

/// N's license is still `unknown_key` with the runtime key `key`, and stderr logs the
/// rejected key with `reason` (when given).
#[track_caller]
fn check_rejected(exe: &Path, key: Option<&str>, reason: Option<&str>) {
    let (code, result, stderr) = verify(exe, key);
    assert_eq!(code, 1, "{result}\n{stderr}");
    assert_eq!(result["reason"], "unknown_key", "{result}\n{stderr}");
    if let Some(reason) = reason {
        assert!(
            stderr.contains("CAIO_LICENSE_PUBLIC_KEY") && stderr.contains(reason),
            "expected {reason} in:\n{stderr}"
        );
    }
}

#[test]
fn an_endorsed_build_follows_a_valid_endorsement_from_the_value_or_a_file() {
    let f = fixture();
    check_rejected(&f.endorsed, None, None);
    let endorsement = openssl_endorsement(f.endorser, &claims(f, json!({})));
    check_accepted(&f.endorsed, &endorsement);
    let file = f.dir.join("next-key.txt");
    std::fs::write(&file, format!("{endorsement}\n")).expect("write endorsement");
    check_accepted(&f.endorsed, file.to_str().expect("utf-8 path"));
    // The endorsed windows bound the new key: after its not_after, key_expired.
    let token = license_from_new(f);
    let out = run_with_key(
        &f.endorsed,
        &["license", &token, "--json", "--at", "2027-06-01T00:00:01Z"],
        "",
        Some(&endorsement),
    );
    let result: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(result["reason"], "key_expired", "{result}");
    // A file that cannot be read changes nothing, and says so.
    check_rejected(
        &f.endorsed,
        Some(f.dir.join("missing.txt").to_str().expect("utf-8")),
        Some("unreadable"),
    );
    // Nor does a FIFO, which is not opened (the open would wait for a writer).
    let fifo = f.dir.join("next-key.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    check_rejected(
        &f.endorsed,
        Some(fifo.to_str().expect("utf-8")),
        Some("not a regular file"),
    );
}

#[test]
fn an_endorsed_build_refuses_everything_but_a_valid_endorsement() {
    let f = fixture();
    let exe = &f.endorsed;
    let pem = std::fs::read_to_string(&f.new.public).expect("pem");
    check_rejected(exe, Some(&pem), Some("endorsement_required"));
    let by_stranger = claims(f, json!({"endorser": f.stranger.fingerprint}));
    check_rejected(
        exe,
        Some(&openssl_endorsement(f.stranger, &by_stranger)),
        Some("unknown_endorser"),
    );
    let by_revoked = claims(f, json!({"endorser": f.revoked.fingerprint}));
    check_rejected(
        exe,
        Some(&openssl_endorsement(f.revoked, &by_revoked)),
        Some("revoked_endorser"),
    );
    // One signature character changed, away from the end (whose spare bits must be 0).
    let good = openssl_endorsement(f.endorser, &claims(f, json!({})));
    let mut broken = good.clone().into_bytes();
    let at = broken.len() - 10;
    broken[at] = if broken[at] == b'A' { b'B' } else { b'A' };
    let broken = String::from_utf8(broken).expect("ascii");
    check_rejected(exe, Some(&broken), Some("bad_signature"));
    // Windows wider than the endorser's verification window, at either end.
    for changes in [
        json!({"not_after": unix(NOT_AFTER) + 1}),
        json!({"not_after": null, "sign_until": i64::MAX}),
        json!({"not_before": unix(NOT_BEFORE) - 1}),
    ] {
        let wide = openssl_endorsement(f.endorser, &claims(f, changes));
        check_rejected(exe, Some(&wide), Some("outside_endorser_window"));
    }
    // Signed outside the endorser's signing window.
    let late = claims(f, json!({"iat": unix(SIGN_UNTIL) + 1}));
    check_rejected(
        exe,
        Some(&openssl_endorsement(f.endorser, &late)),
        Some("issued_outside_endorser_window"),
    );
    // A revoked key is never brought back, however it is endorsed.
    let revoked_key = claims(f, json!({"spki": spki(f.revoked)}));
    let (_, result, stderr) = verify(exe, Some(&openssl_endorsement(f.endorser, &revoked_key)));
    assert_eq!(result["reason"], "unknown_key", "{result}");
    assert!(stderr.contains("revoked_key"), "{stderr}");
    check_rejected(exe, Some("not a key, not a file"), Some("unreadable"));
}

#[test]
fn a_deny_build_ignores_even_a_valid_endorsement_with_a_warning() {
    let f = fixture();
    let endorsement = openssl_endorsement(f.endorser, &claims(f, json!({})));
    check_rejected(f.deny, Some(&endorsement), Some("denied"));
    let (_, _, stderr) = verify(f.deny, Some(&endorsement));
    assert!(stderr.contains("WARN"), "{stderr}");
    // Under deny the value is not even read as a path.
    check_rejected(f.deny, Some("/nonexistent/key.txt"), Some("denied"));
}

#[test]
fn an_allow_build_accepts_a_plain_pem_and_an_endorsement_but_never_a_revoked_key() {
    let f = fixture();
    let pem = std::fs::read_to_string(&f.new.public).expect("pem");
    let (code, result, stderr) = verify(&f.allow, Some(&pem));
    assert_eq!(code, 0, "{result}\n{stderr}");
    assert!(
        result["key_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("runtime-")),
        "{result}"
    );
    assert!(stderr.contains("development builds only"), "{stderr}");
    let endorsement = openssl_endorsement(f.endorser, &claims(f, json!({})));
    check_accepted(&f.allow, &endorsement);
    let revoked = std::fs::read_to_string(&f.revoked.public).expect("pem");
    let token = openssl_license(
        f.revoked,
        &json!({"kid": f.revoked.fingerprint, "lid": "L", "sub": "S", "iat": unix("2026-06-01T00:00:00Z")}),
    );
    let out = run_with_key(
        &f.allow,
        &["license", &token, "--json", "--at", AT],
        "",
        Some(&revoked),
    );
    let result: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(result["reason"], "revoked_key", "{result}");
    assert_contains(&out.stderr, "revoked_key");
}

#[test]
fn keyring_lists_an_accepted_runtime_key_as_runtime() {
    let f = fixture();
    let endorsement = openssl_endorsement(f.endorser, &claims(f, json!({})));
    let out = run_with_key(&f.endorsed, &["keyring", "--json"], "", Some(&endorsement));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let keys = v["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2, "{v}");
    assert_eq!(keys[0]["id"], "caio-endorser");
    assert_eq!(keys[0]["source"], "embedded");
    assert_eq!(keys[1]["id"], "caio-next");
    assert_eq!(keys[1]["source"], "runtime");
    assert_eq!(keys[1]["fingerprint"], f.new.fingerprint.as_str());
    assert_eq!(keys[1]["not_before"], "2026-03-01T00:00:00Z");
    assert_eq!(keys[1]["not_after"], NOT_AFTER);
    assert_eq!(
        keys[1]["endorsed_by"]["fingerprint"],
        f.endorser.fingerprint.as_str()
    );
    let out = run_with_key(&f.endorsed, &["keyring"], "", Some(&endorsement));
    assert_contains(&out.stdout, "key caio-next (ed25519, runtime key");
    // Without the variable, or with a refused key, only the embedded keys.
    let out = run_with_key(&f.endorsed, &["keyring", "--json"], "", None);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["keys"].as_array().expect("keys").len(), 1);
}

#[test]
fn an_endorsement_made_by_cargo_xtask_keys_endorse_is_followed() {
    let f = fixture();
    let xtask = xtask_exe();
    let sh = shell();
    let (public, private, manifest) = (&f.new.public, &f.endorser.private, &f.manifest);
    // xtask signs only with a private key its owner alone can read.
    std::fs::set_permissions(private, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod 600");
    let out = cmd!(
        sh,
        "{xtask} keys endorse {public} --id caio-next --by {private} --now 2026-02-01T00:00:00Z"
    )
    .env("CAIO_KEYRING", manifest)
    .quiet()
    .ignore_status()
    .output()
    .expect("cargo xtask keys endorse");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("endorsed key caio-next"), "{stderr}");
    let token = String::from_utf8(out.stdout).expect("utf-8");
    let token = token.trim();
    assert!(token.starts_with("CAIO-key-v1."), "{token}");
    check_accepted(&f.endorsed, token);
    check_rejected(f.deny, Some(token), Some("denied"));
}

/// The `xtask` binary, built (debug) with the workspace's cargo into the shared target
/// directory and copied out of it, into this area, while that is held.
fn xtask_exe() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let shared = test_support::shared_target::SharedTarget::lock();
        let sh = shell();
        sh.change_dir(workspace_root());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = capture(
            cmd!(
                sh,
                "{cargo} build --locked -p xtask --bin xtask --message-format=json-render-diagnostics"
            )
            .env("CARGO_TARGET_DIR", shared.dir()),
            "cargo build -p xtask",
        )
        .expect(0);
        let built = test_support::run::built_executable(&out.stdout, "xtask")
            .expect("cargo built an xtask executable");
        let dir = kept_dir(AREA, "xtask-");
        let exe = dir.join("xtask");
        std::fs::copy(&built, &exe).expect("copy xtask");
        exe
    })
    .clone()
}
