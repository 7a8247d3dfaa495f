//! `cargo xtask release --sign KEY` and `cargo xtask verify-statement`: the release
//! statement in a DSSE envelope, checked by our verifier, by `openssl pkeyutl -verify` and
//! by Python's securesystemslib, an independent DSSE implementation.
//!
//! One signed release is made per test process, by `cargo xtask release --sign` in the
//! copy of the workspace that `release.rs` releases (its generated production keyring,
//! its target directory): the binary is already built there, so only the gate and the
//! signature run. securesystemslib comes from
//! `target/ci-tools`, where `.ci/run` installs it; the test fails, never skips, without
//! it. Not here: the unsigned release and the gate (`release.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use test_support::run::{Output, assert_contains, capture, workspace_root};
use xshell::{Shell, cmd};

use super::release::{released, write_keyring};
use super::{fingerprint, path};

/// The signed release shared by the tests of this process.
struct Signed {
    /// The release signing key (made by OpenSSL).
    key: test_support::keys::Key,
    /// The release directory.
    dist: PathBuf,
    /// The run of `release --sign`.
    run: Output,
}

/// The signed release, which every test here needs to have passed.
fn signed() -> &'static Signed {
    static SIGNED: OnceLock<Signed> = OnceLock::new();
    let s = SIGNED.get_or_init(|| {
        let released = released();
        let work = released.fresh_dir("dsse");
        std::fs::create_dir_all(&work).expect("target/it-release/dsse");
        let key = test_support::keys::openssl_keygen(
            &work.join("release-private.pem"),
            &work.join("release-public.pem"),
        );
        let dist = work.join("dist");
        let run = released.xtask(
            &[
                "release",
                "--out",
                path(&dist),
                // The signature covers whatever the statement lists; the binary is enough.
                "--no-wheel",
                "--no-image",
                "--sign",
                path(&key.private),
            ],
            &[],
        );
        Signed { key, dist, run }
    });
    assert_eq!(s.run.code, 0, "release --sign failed:\n{}", s.run.stderr);
    s
}

#[test]
fn release_sign_writes_a_dsse_envelope_of_the_statement() {
    let s = signed();
    let files = test_support::run::file_names(&s.dist);
    let expected = [
        "SHA256SUMS",
        "caio-verify",
        "release.intoto.json",
        "release.intoto.jsonl",
    ];
    assert_eq!(files, expected.map(str::to_owned).into());
    // SHA256SUMS lists the binaries only.
    let sums = std::fs::read_to_string(s.dist.join("SHA256SUMS")).expect("sums");
    assert_eq!(sums.lines().count(), 1, "{sums}");

    let line = std::fs::read_to_string(s.dist.join("release.intoto.jsonl")).expect("envelope");
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "one line: {line}"
    );
    let envelope: Value = serde_json::from_str(&line).expect("JSON");
    let keys: BTreeSet<&String> = envelope.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 3, "{line}");
    assert!(
        line.starts_with("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\""),
        "{line}"
    );
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let payload = STANDARD
        .decode(envelope["payload"].as_str().expect("payload"))
        .expect("standard base64");
    let statement = std::fs::read(s.dist.join("release.intoto.json")).expect("statement");
    assert_eq!(
        payload, statement,
        "the payload is the statement, byte for byte"
    );
    let signatures = envelope["signatures"].as_array().expect("signatures");
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0]["keyid"], s.key.fingerprint.as_str());

    // OpenSSL, the outside referee, verifies the signature over the DSSE PAE.
    let sig = STANDARD
        .decode(signatures[0]["sig"].as_str().expect("sig"))
        .expect("standard base64");
    let dir = tempfile::tempdir().expect("tempdir");
    let pae = [
        format!("DSSEv1 28 application/vnd.in-toto+json {} ", payload.len()).into_bytes(),
        payload.clone(),
    ]
    .concat();
    std::fs::write(dir.path().join("pae"), &pae).expect("pae");
    std::fs::write(dir.path().join("sig"), &sig).expect("sig");
    let sh = Shell::new().expect("shell");
    sh.change_dir(dir.path());
    let public = &s.key.public;
    capture(
        cmd!(
            sh,
            "openssl pkeyutl -verify -rawin -pubin -inkey {public} -in pae -sigfile sig"
        ),
        "openssl pkeyutl -verify",
    )
    .expect(0);
    assert_contains(&s.run.stderr, "the statement will be signed by");
}

#[test]
fn verify_statement_accepts_the_release_and_fails_every_tampering() {
    let s = signed();
    let public = path(&s.key.public);
    let ok = verify(&s.dist, public).expect(0);
    assert_eq!(ok.stdout, "caio-verify: OK\n");
    assert_contains(&ok.stderr, &s.key.fingerprint);

    let copy = tempfile::tempdir().expect("tempdir");
    let fresh = || {
        for name in [
            "caio-verify",
            "release.intoto.json",
            "release.intoto.jsonl",
            "SHA256SUMS",
        ] {
            std::fs::copy(s.dist.join(name), copy.path().join(name)).expect("copy");
        }
        copy.path()
    };

    // Another key.
    let other = tempfile::tempdir().expect("tempdir");
    let stranger = test_support::keys::openssl_keygen(
        &other.path().join("private.pem"),
        &other.path().join("public.pem"),
    );
    let run = verify(fresh(), path(&stranger.public)).expect(1);
    assert_contains(&run.stderr, "no signature verifies with the key");

    // A changed binary.
    let dist = fresh();
    let mut bytes = std::fs::read(dist.join("caio-verify")).expect("binary");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(dist.join("caio-verify"), bytes).expect("tamper");
    let run = verify(dist, public).expect(1);
    assert_contains(&run.stderr, "but the signed statement says");

    // A statement edited inside the envelope, and one edited beside it.
    let dist = fresh();
    let line = std::fs::read_to_string(dist.join("release.intoto.jsonl")).expect("envelope");
    let mut envelope: Value = serde_json::from_str(&line).expect("JSON");
    let statement = std::fs::read_to_string(dist.join("release.intoto.json")).expect("statement");
    let forged = statement.replace("\"production\"", "\"development\"");
    assert_ne!(forged, statement);
    envelope["payload"] = STANDARD.encode(&forged).into();
    std::fs::write(dist.join("release.intoto.jsonl"), format!("{envelope}\n")).expect("forge");
    verify(dist, public).expect(1);
    let dist = fresh();
    std::fs::write(dist.join("release.intoto.json"), &forged).expect("edit");
    let run = verify(dist, public).expect(1);
    assert_contains(&run.stderr, "differs from the statement signed");

    // Unreadable inputs are errors, not verdicts.
    let dist = fresh();
    std::fs::remove_file(dist.join("release.intoto.jsonl")).expect("remove");
    verify(dist, public).expect(2);
    verify(fresh(), path(&copy.path().join("missing.pem"))).expect(2);
}

#[test]
fn securesystemslib_verifies_the_envelope_and_the_subjects() {
    let s = signed();
    let tools = workspace_root().join("target").join("ci-tools");
    let raw = public_raw(&s.key.public);
    let sh = Shell::new().expect("shell");
    let script = PYTHON_VERIFIER;
    let dist = &s.dist;
    let keyid = &s.key.fingerprint;
    let hex_key = hex::encode(raw);
    let run = capture(
        cmd!(sh, "python3 -c {script} {dist} {keyid} {hex_key}").env("PYTHONPATH", &tools),
        "python3",
    );
    assert!(
        !run.stderr.contains("No module named 'securesystemslib'"),
        "securesystemslib is not installed in {}: run .ci/run, or `python3 -m pip install \
         --target target/ci-tools 'securesystemslib[crypto]'`\n{}",
        tools.display(),
        run.stderr
    );
    let run = run.expect(0);
    let binary = std::fs::read(dist.join("caio-verify")).expect("binary");
    assert_eq!(
        run.stdout,
        format!(
            "verified by {keyid}\ncaio-verify {}\n",
            hex::encode(Sha256::digest(&binary))
        )
    );
}

#[test]
fn release_refuses_to_sign_with_a_license_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = write_keyring(&dir.path().join("keys"), "production");
    let key = dir.path().join("license-private.pem");
    test_support::keys::write_private(
        &key,
        test_support::keys::pkcs8_v2_pem(&[7; 32]).as_bytes(),
        0o600,
    );
    let out = dir.path().join("dist");
    let run = xtask(
        &["release", "--out", path(&out), "--sign", path(&key)],
        &manifest,
    )
    .expect(1);
    assert_contains(&run.stderr, "that is a license key");
    assert_contains(&run.stderr, &fingerprint(7));
    assert!(!run.stderr.contains("Compiling"), "refused before building");
    assert!(!out.exists(), "nothing written");
}

/// Verifies DIST with securesystemslib's DSSE verifier, then each subject's SHA-256:
/// prints `verified by KEYID`, then `name sha256` per subject.
const PYTHON_VERIFIER: &str = r#"
import base64, hashlib, json, os, sys
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
dist, keyid, public = sys.argv[1:4]
with open(os.path.join(dist, "release.intoto.jsonl")) as f:
    envelope = Envelope.from_dict(json.loads(f.read()))
key = SSlibKey(keyid, "ed25519", "ed25519", {"public": public})
accepted = envelope.verify([key], 1)
print("verified by", ",".join(accepted))
statement = json.loads(envelope.payload)
assert statement["_type"] == "https://in-toto.io/Statement/v1", statement["_type"]
for subject in statement["subject"]:
    with open(os.path.join(dist, subject["name"]), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == subject["digest"]["sha256"], subject
    print(subject["name"], digest)
"#;

/// `xtask verify-statement DIST --key PUBLIC`.
fn verify(dist: &Path, public: &str) -> Output {
    let sh = Shell::new().expect("shell");
    let exe = env!("CARGO_BIN_EXE_xtask");
    capture(
        cmd!(sh, "{exe} verify-statement {dist} --key {public}"),
        "xtask",
    )
}

/// The xtask under test with `CAIO_KEYRING=manifest`.
fn xtask(args: &[&str], manifest: &Path) -> Output {
    let sh = Shell::new().expect("shell");
    let exe = env!("CARGO_BIN_EXE_xtask");
    let command = cmd!(sh, "{exe} {args...}")
        .env("CAIO_KEYRING", manifest)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    capture(command, "xtask")
}

/// The raw Ed25519 key of an SPKI PEM file.
fn public_raw(pem: &Path) -> [u8; 32] {
    let text = std::fs::read(pem).expect("public PEM");
    let (_, der) = pem_rfc7468::decode_vec(&text).expect("PEM");
    der[der.len() - 32..].try_into().expect("32 bytes")
}
