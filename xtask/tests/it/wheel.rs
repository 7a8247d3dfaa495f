//! The Python wheel of `cargo xtask release`, with real clients: pip installs it into a
//! fresh venv, Python verifies licenses that OpenSSL signed (valid, forged, expired, of
//! an unknown key), `python -m caio_verify license` prints what the released
//! `caio-verify license` prints (human and `--json`, the same exit codes), `keyring()`
//! is the command's `keyring --json`, and the gate fails a copy of the wheel whose
//! extension module carries another key.
//!
//! It shares the release of `release.rs` (one build per test process). Not here: the
//! reproducibility of the wheel across checkouts (`scripts/check-reproducible.sh`
//! compares whole release directories, the wheel included).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use xshell::{Shell, cmd};

use test_support::keys::{fingerprint, public_raw};
use test_support::run::{Output, RawOutput, capture, capture_bytes, path};
use test_support::tokens::{signature_of, with_signature};

use super::release::{at, openssl_license, private_key, released, verify_artifact, wheel_name};

/// A venv under `target/it-release/` with the released wheel installed, made afresh
/// once per test process.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dist = &released().dist;
        let venv = released().fresh_dir("venv");
        let sh = Shell::new().expect("shell");
        cmd!(sh, "python3 -m venv {venv}")
            .quiet()
            .run()
            .expect("python3 -m venv");
        let wheel = dist.join(wheel_name(dist));
        let pip = venv.join("bin/pip");
        cmd!(
            sh,
            "{pip} install --quiet --no-index --disable-pip-version-check {wheel}"
        )
        .quiet()
        .run()
        .expect("pip install the wheel");
        venv
    })
}

/// Licenses: valid, forged (another licensee under the valid one's signature),
/// expired, and signed by a key the keyring does not hold; with the expected reason.
fn licenses() -> Vec<(String, Option<&'static str>)> {
    let keys = tempfile::tempdir().expect("tempdir");
    let dir = keys.path();
    let at = at();
    // Signed by the key of `seed`.
    let license = |seed: u8, sub: &str, exp: i64| {
        let payload = json!({"kid": fingerprint(seed), "lid": "L-42", "sub": sub,
                             "iat": at - 86_400, "exp": exp,
                             "features": ["export", "sso"], "seats": 25});
        openssl_license(&private_key(dir, seed), &payload)
    };
    let valid = license(7, "ACME", at + 86_400);
    let forged = with_signature(&license(7, "EVIL", at + 86_400), &signature_of(&valid));
    vec![
        (valid, None),
        (forged, Some("bad_signature")),
        (license(7, "ACME", at - 3_600), Some("expired")),
        (license(9, "ACME", at + 86_400), Some("unknown_key")),
    ]
}

/// Runs `python SCRIPT ARGS...` in the venv.
fn python(venv: &Path, script: &str, args: &[&str]) -> Output {
    let sh = Shell::new().expect("shell");
    let python = venv.join("bin/python");
    capture(
        cmd!(sh, "{python} -c {script} {args...}").env_remove("CAIO_LICENSE_PUBLIC_KEY"),
        "python",
    )
}

/// Runs `EXE ARGS...` with `stdin`, bytes out.
fn run_with_stdin(exe: &[&str], stdin: &str) -> RawOutput {
    let sh = Shell::new().expect("shell");
    let (program, args) = exe.split_first().expect("a program");
    capture_bytes(
        cmd!(sh, "{program} {args...}")
            .env_remove("CAIO_LICENSE_PUBLIC_KEY")
            .env("RUST_LOG", "off")
            .stdin(stdin),
        "license run",
    )
}

#[test]
fn python_verifies_openssl_licenses_with_the_wheels_embedded_keys() {
    let venv = venv();
    let licenses = licenses();
    let script = r#"
import json, sys, datetime, caio_verify
at = int(sys.argv[1])
out = []
for token in sys.argv[2:]:
    try:
        lic = caio_verify.verify(token, at=at)
        out.append({"lid": lic.lid, "sub": lic.sub, "features": lic.features,
                    "seats": lic.seats, "key_id": lic.key_id, "kid": lic.kid,
                    "exp": lic.exp, "payload": lic.payload, "source": lic.source})
    except caio_verify.InvalidLicense as e:
        assert isinstance(e, ValueError)
        out.append({"reason": e.reason, "detail": e.detail})
many = caio_verify.verify_many(sys.argv[2:], at=datetime.datetime.fromtimestamp(at, datetime.timezone.utc))
out.append([m.reason if isinstance(m, caio_verify.InvalidLicense) else m.lid for m in many])
print(json.dumps(out))
"#;
    let at = at().to_string();
    let mut args = vec![at.as_str()];
    args.extend(licenses.iter().map(|(t, _)| t.as_str()));
    let run = python(venv, script, &args);
    assert_eq!(run.code, 0, "python:\n{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let valid = &out[0];
    assert_eq!(valid["lid"], "L-42");
    assert_eq!(valid["sub"], "ACME");
    assert_eq!(valid["features"], json!(["export", "sso"]));
    assert_eq!(valid["seats"], 25);
    assert_eq!(valid["key_id"], "caio-test");
    assert_eq!(valid["kid"], fingerprint(7));
    assert_eq!(valid["source"], "embedded");
    assert_eq!(valid["payload"]["sub"], "ACME");
    for (i, (_, reason)) in licenses.iter().enumerate().skip(1) {
        assert_eq!(out[i]["reason"], json!(reason), "license {i}: {}", out[i]);
    }
    assert_eq!(
        out[licenses.len()],
        json!(["L-42", "bad_signature", "expired", "unknown_key"])
    );
}

#[test]
fn python_m_caio_verify_license_prints_what_caio_verify_license_prints() {
    let r = released();
    let venv = venv();
    let licenses = licenses();
    let at = jiff::Timestamp::from_second(at())
        .expect("instant")
        .to_string();
    let python = path(&venv.join("bin/python")).to_owned();
    let binary = path(&r.dist.join("caio-verify")).to_owned();
    let all: String = licenses.iter().map(|(t, _)| format!("{t}\n")).collect();
    let only_valid = format!("{}\r\n", licenses[0].0);
    for (stdin, code) in [(all.as_str(), 1), (only_valid.as_str(), 0), ("", 2)] {
        for json in [&[][..], &["--json"][..]] {
            let mut tail = vec!["license", "-", "--at", at.as_str(), "--leeway", "60"];
            tail.extend(json);
            let ours = run_with_stdin(
                &[&[python.as_str(), "-m", "caio_verify"][..], &tail].concat(),
                stdin,
            );
            let theirs = run_with_stdin(&[&[binary.as_str()][..], &tail].concat(), stdin);
            assert_eq!(ours.code, code, "python -m caio_verify {tail:?}");
            assert_eq!(theirs.code, code, "caio-verify {tail:?}");
            assert_eq!(
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&theirs.stdout),
                "{tail:?}"
            );
        }
    }
    // One token as an argument; a bad --at is a usage error.
    let one = |exe: &[&str]| {
        let args = [
            exe,
            &["license", licenses[1].0.as_str(), "--at", at.as_str()][..],
        ]
        .concat();
        run_with_stdin(&args, "")
    };
    let (ours, theirs) = (
        one(&[python.as_str(), "-m", "caio_verify"]),
        one(&[binary.as_str()]),
    );
    assert_eq!((ours.code, &ours.stdout), (theirs.code, &theirs.stdout));
    let bad = run_with_stdin(
        &[
            python.as_str(),
            "-m",
            "caio_verify",
            "license",
            "x",
            "--at",
            "noon",
        ],
        "",
    );
    assert_eq!(bad.code, 2);
}

#[test]
fn python_keyring_is_the_commands_keyring_json() {
    let r = released();
    let venv = venv();
    let run = python(
        venv,
        "import json, caio_verify; print(json.dumps(caio_verify.keyring()))",
        &[],
    );
    assert_eq!(run.code, 0, "python:\n{}", run.stderr);
    let ours: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let binary = path(&r.dist.join("caio-verify")).to_owned();
    let theirs = run_with_stdin(&[binary.as_str(), "keyring", "--json"], "");
    let theirs: Value = serde_json::from_slice(&theirs.stdout).expect("JSON");
    assert_eq!(ours, theirs);
    assert_eq!(ours["keys"][0]["source"], "embedded");
}

#[test]
fn the_gate_fails_a_wheel_whose_extension_carries_another_key() {
    let r = released();
    let wheel = r.dist.join(wheel_name(&r.dist));
    let dir = tempfile::tempdir().expect("tempdir");
    let patched = dir.path().join(wheel_name(&r.dist));
    // Python's zipfile rewrites the wheel with another public key in the module's block.
    let script = r#"
import sys, zipfile
src, dst, old, new = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3]), bytes.fromhex(sys.argv[4])
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    patched = 0
    for info in zin.infolist():
        data = zin.read(info)
        if info.filename.endswith(".so"):
            patched += data.count(old)
            data = data.replace(old, new)
        zout.writestr(info, data)
assert patched == 1, patched
"#;
    let (old, new) = (hex::encode(public_raw(7)), hex::encode(public_raw(8)));
    let sh = Shell::new().expect("shell");
    cmd!(sh, "python3 -c {script} {wheel} {patched} {old} {new}")
        .quiet()
        .run()
        .expect("patch the wheel");
    verify_artifact(&r.manifest(), &[&wheel], &[]).expect(0);
    let tampered = verify_artifact(&r.manifest(), &[&patched], &[]).expect(1);
    assert!(
        format!("{}{}", tampered.stdout, tampered.stderr).contains("FAIL"),
        "{}{}",
        tampered.stdout,
        tampered.stderr
    );
}
