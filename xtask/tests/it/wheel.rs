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

use test_support::keys::{Key, PKCS8_V1_PREFIX, fingerprint, public_raw, write_private};
use test_support::leak::pem_text;
use test_support::run::{Output, RawOutput, capture, capture_bytes, path};

use super::release::{released, wheel_name};

/// When every license below is checked: within the generated key's windows.
fn at() -> i64 {
    let utc = jiff::tz::Offset::UTC;
    let year = utc.to_datetime(jiff::Timestamp::now()).year();
    utc.to_timestamp(jiff::civil::date(year, 6, 1).at(0, 0, 0, 0))
        .expect("1 June")
        .as_second()
}

/// A venv under `target/it-release/` with the released wheel installed, made afresh
/// once per test process.
fn venv(dist: &Path) -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = released()
            .workspace
            .parent()
            .expect("target/it-release")
            .join("venv");
        if venv.exists() {
            std::fs::remove_dir_all(&venv).expect("remove the old venv");
        }
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

/// The key of seed `[seed; 32]` as a PKCS#8 v1 PEM (as OpenSSL writes it); seed 7 is the
/// released keyring's `caio-test`.
fn signing_key(dir: &Path, seed: u8) -> Key {
    let private = dir.join(format!("key-{seed}.pem"));
    let mut der = PKCS8_V1_PREFIX.to_vec();
    der.extend_from_slice(&[seed; 32]);
    write_private(&private, pem_text("PRIVATE KEY", &der).as_bytes(), 0o600);
    Key {
        private,
        public: dir.join("unused.pem"),
        fingerprint: fingerprint(seed),
    }
}

/// `payload` signed with `openssl pkeyutl -sign -rawin` as a CAIO-v2 license.
fn openssl_license(key: &Key, payload: &Value) -> String {
    let payload = serde_json::to_vec(payload).expect("json");
    let signing_input = caio_verify::license::signing_input(&payload);
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input");
    std::fs::write(&input, signing_input.as_bytes()).expect("write the signing input");
    let private = &key.private;
    let sh = Shell::new().expect("shell");
    let signature = cmd!(
        sh,
        "openssl pkeyutl -sign -rawin -inkey {private} -in {input}"
    )
    .quiet()
    .output()
    .expect("openssl pkeyutl -sign")
    .stdout;
    let signature: [u8; 64] = signature.try_into().expect("64 bytes");
    caio_verify::license::token(&signing_input, &signature)
}

/// Licenses: valid, forged (another licensee under the valid one's signature),
/// expired, and signed by a key the keyring does not hold; with the expected reason.
fn licenses(dir: &Path) -> Vec<(String, Option<&'static str>)> {
    let key = signing_key(dir, 7);
    let stranger = signing_key(dir, 9);
    let at = at();
    let payload = |kid: &str, sub: &str, exp: i64| {
        json!({"kid": kid, "lid": "L-42", "sub": sub, "iat": at - 86_400, "exp": exp,
               "features": ["export", "sso"], "seats": 25})
    };
    let valid = openssl_license(&key, &payload(&key.fingerprint, "ACME", at + 86_400));
    let other = openssl_license(&key, &payload(&key.fingerprint, "EVIL", at + 86_400));
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').expect("parts").0,
        valid.rsplit_once('.').expect("parts").1
    );
    vec![
        (valid, None),
        (forged, Some("bad_signature")),
        (
            openssl_license(&key, &payload(&key.fingerprint, "ACME", at - 3_600)),
            Some("expired"),
        ),
        (
            openssl_license(
                &stranger,
                &payload(&stranger.fingerprint, "ACME", at + 86_400),
            ),
            Some("unknown_key"),
        ),
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
    let r = released();
    assert_eq!(r.run.code, 0, "release failed:\n{}", r.run.stderr);
    let venv = venv(&r.dist);
    let dir = tempfile::tempdir().expect("tempdir");
    let licenses = licenses(dir.path());
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
    assert_eq!(r.run.code, 0, "release failed:\n{}", r.run.stderr);
    let venv = venv(&r.dist);
    let dir = tempfile::tempdir().expect("tempdir");
    let licenses = licenses(dir.path());
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
    assert_eq!(r.run.code, 0, "release failed:\n{}", r.run.stderr);
    let venv = venv(&r.dist);
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
    assert_eq!(r.run.code, 0, "release failed:\n{}", r.run.stderr);
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
    let manifest = r.workspace.join("keys/keyring.toml");
    let exe = env!("CARGO_BIN_EXE_xtask");
    let gate = |artifact: &Path| {
        capture(
            cmd!(sh, "{exe} verify-artifact {artifact}")
                .env("CAIO_KEYRING", &manifest)
                .env_remove("GITHUB_ACTIONS")
                .env_remove("GITHUB_STEP_SUMMARY"),
            "xtask verify-artifact",
        )
    };
    let shipped = gate(&wheel);
    assert_eq!(shipped.code, 0, "{}{}", shipped.stdout, shipped.stderr);
    let tampered = gate(&patched);
    assert_eq!(tampered.code, 1, "{}{}", tampered.stdout, tampered.stderr);
    assert!(
        format!("{}{}", tampered.stdout, tampered.stderr).contains("FAIL"),
        "{}{}",
        tampered.stdout,
        tampered.stderr
    );
}
