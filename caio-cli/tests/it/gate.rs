//! The release gate end to end: `caio-verify check` and `inspect` on a real built
//! binary, on copies tampered in each way the gate must catch, on the same binaries
//! packed by the real `tar`, `gzip` and `zstd` into tarballs, a wheel and a
//! `docker save` style image, and on artifacts that ship an OpenSSL private key.
//! The binary is a dev build against the fixture's manifest (`support.rs` says why);
//! the release profile's binary, wheel and image are gated by `cargo xtask release` in
//! `xtask/tests/it/release.rs`.
//!
//! The tampered copies and archives are made once and shared; every check runs the
//! fixture's own `caio-verify` against the fixture's manifest.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};
use xshell::cmd;

use test_support::run::assert_contains;

use crate::fixture;
use crate::support::{
    Entry, Output, build_verifier, capture, find_block, shell, workspace_root, write_manifest,
};

/// Copies of the fixture binary, each wrong in one way, and a binary with another
/// keyring.
struct Tampered {
    /// One key's 32 bytes replaced by another key's, the digest recomputed: a valid
    /// block that is not the manifest's.
    key_swapped: PathBuf,
    /// One byte of a key record flipped: the digest no longer matches.
    byte_flipped: PathBuf,
    /// The first magic bytes zeroed: no block at all.
    magic_erased: PathBuf,
    /// Built from scratch against a manifest with another key.
    other_keyring: PathBuf,
}

/// One artifact packed around a binary, and where the binary shows inside it.
struct Packed {
    what: &'static str,
    path: PathBuf,
    inner: String,
}

fn tampered() -> &'static Tampered {
    static TAMPERED: OnceLock<Tampered> = OnceLock::new();
    TAMPERED.get_or_init(|| {
        let f = fixture();
        let dir = f.dir.join("gate-tampered");
        std::fs::create_dir_all(&dir).expect("dir");
        let original = std::fs::read(&f.exe).expect("read binary");
        let (at, len) = find_block(&original);

        let mut bytes = original.clone();
        let block = &mut bytes[at..at + len];
        let old = caio_keyring::block::decode(block).expect("block").keys()[0]
            .public_key()
            .to_bytes();
        let new = raw_public_key(&f.stranger.public);
        let key_at = block.windows(32).position(|w| w == old).expect("key bytes");
        block[key_at..key_at + 32].copy_from_slice(&new);
        let digest = Sha256::digest(&block[..len - 32]);
        block[len - 32..].copy_from_slice(&digest);
        let key_swapped = write(&dir, "key-swapped", &bytes);

        let mut bytes = original.clone();
        bytes[at + 40] ^= 0x01;
        let byte_flipped = write(&dir, "byte-flipped", &bytes);

        let mut bytes = original;
        bytes[at..at + 15].fill(0);
        let magic_erased = write(&dir, "magic-erased", &bytes);

        let other_dir = f.dir.join("gate-other-keyring");
        let keys = other_dir.join("keys");
        std::fs::create_dir_all(&keys).expect("keys dir");
        let manifest = write_manifest(
            &keys,
            5,
            &[Entry {
                id: "caio-active",
                key: &f.stranger,
                not_before: crate::NOT_BEFORE,
                sign_until: Some(crate::SIGN_UNTIL),
                not_after: Some(crate::NOT_AFTER),
                revoked: false,
            }],
        );
        let other_keyring = build_verifier(&manifest, &other_dir);
        Tampered {
            key_swapped,
            byte_flipped,
            magic_erased,
            other_keyring,
        }
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write copy");
    path
}

fn raw_public_key(pem: &Path) -> Vec<u8> {
    test_support::keys::openssl_public_der(pem)[12..].to_vec()
}

/// Packs `exe` as usr/bin/caio-verify into a tar, tar.gz, tar.zst, a wheel and a
/// `docker save` style image (gzip'd layer tarballs under blobs/, manifest.json,
/// index.json, oci-layout), with the real tools, under `dir`.
fn pack(exe: &Path, dir: &Path) -> Vec<Packed> {
    let sh = shell();
    std::fs::create_dir_all(dir.join("root/usr/bin")).expect("dir");
    std::fs::copy(exe, dir.join("root/usr/bin/caio-verify")).expect("copy");
    std::fs::create_dir_all(dir.join("base/etc")).expect("dir");
    std::fs::write(dir.join("base/etc/os-release"), "ID=test\n").expect("write");
    sh.change_dir(dir);
    cmd!(sh, "tar -C root -cf app.tar usr/bin/caio-verify")
        .quiet()
        .run()
        .expect("tar");
    cmd!(sh, "gzip -kn app.tar").quiet().run().expect("gzip");
    cmd!(sh, "zstd -q app.tar -o app.tar.zst")
        .quiet()
        .run()
        .expect("zstd");
    cmd!(sh, "tar -C base -cf base.tar etc/os-release")
        .quiet()
        .run()
        .expect("tar");
    cmd!(sh, "gzip -n base.tar").quiet().run().expect("gzip");

    let wheel = dir.join("caio-1.0-py3-none-manylinux_2_17_x86_64.whl");
    write_wheel(&wheel, &std::fs::read(exe).expect("read"));

    // The image: both layers gzip'd, named by digest, plus the config and manifests.
    let blobs = dir.join("image/blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("dir");
    let blob = |bytes: &[u8]| {
        let digest = hex::encode(Sha256::digest(bytes));
        std::fs::write(blobs.join(&digest), bytes).expect("write blob");
        digest
    };
    let base = blob(&std::fs::read(dir.join("base.tar.gz")).expect("read"));
    let app = blob(&std::fs::read(dir.join("app.tar.gz")).expect("read"));
    let config = blob(br#"{"architecture":"amd64","os":"linux"}"#);
    let manifest = format!(
        r#"[{{"Config":"blobs/sha256/{config}","RepoTags":["caio:test"],"Layers":["blobs/sha256/{base}","blobs/sha256/{app}"]}}]"#
    );
    std::fs::write(dir.join("image/manifest.json"), manifest).expect("write");
    std::fs::write(
        dir.join("image/index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .expect("write");
    std::fs::write(
        dir.join("image/oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    cmd!(
        sh,
        "tar -C image -cf image.tar manifest.json index.json oci-layout blobs"
    )
    .quiet()
    .run()
    .expect("tar image");

    let at = |name: &str| dir.join(name);
    let shown = |path: &Path, inner: &str| format!("{}!{inner}", path.display());
    vec![
        Packed {
            what: "tar",
            inner: shown(&at("app.tar"), "usr/bin/caio-verify"),
            path: at("app.tar"),
        },
        Packed {
            what: "tar.gz",
            inner: shown(&at("app.tar.gz"), "usr/bin/caio-verify"),
            path: at("app.tar.gz"),
        },
        Packed {
            what: "tar.zst",
            inner: shown(&at("app.tar.zst"), "usr/bin/caio-verify"),
            path: at("app.tar.zst"),
        },
        Packed {
            what: "wheel",
            inner: shown(&wheel, "caio/bin/caio-verify"),
            path: wheel.clone(),
        },
        Packed {
            what: "docker save image",
            inner: shown(
                &at("image.tar"),
                &format!("blobs/sha256/{app}!usr/bin/caio-verify"),
            ),
            path: at("image.tar"),
        },
        Packed {
            what: "OCI layout directory",
            inner: format!(
                "{}!usr/bin/caio-verify",
                at("image").join("blobs/sha256").join(&app).display()
            ),
            path: at("image"),
        },
    ]
}

/// A wheel as pip builds it: the package, the binary, and the dist-info.
fn write_wheel(path: &Path, exe: &[u8]) {
    write_wheel_with(path, exe, &[]);
}

/// [`write_wheel`], with `extra` entries after the binary.
fn write_wheel_with(path: &Path, exe: &[u8], extra: &[(&str, &[u8])]) {
    use std::io::Write as _;
    let file = std::fs::File::create(path).expect("create wheel");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    let mut entries: Vec<(&str, &[u8])> =
        vec![("caio/__init__.py", b""), ("caio/bin/caio-verify", exe)];
    entries.extend_from_slice(extra);
    entries.extend_from_slice(&[
        ("caio-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
        ("caio-1.0.dist-info/RECORD", b""),
    ]);
    for (name, data) in entries {
        zip.start_file(name, options).expect("start file");
        zip.write_all(data).expect("write entry");
    }
    zip.finish().expect("finish wheel");
}

fn packed_good() -> &'static [Packed] {
    static PACKED: OnceLock<Vec<Packed>> = OnceLock::new();
    PACKED.get_or_init(|| pack(&fixture().exe, &fixture().dir.join("gate-packed-good")))
}

fn packed_tampered() -> &'static [Packed] {
    static PACKED: OnceLock<Vec<Packed>> = OnceLock::new();
    PACKED.get_or_init(|| {
        pack(
            &tampered().key_swapped,
            &fixture().dir.join("gate-packed-tampered"),
        )
    })
}

/// Runs the fixture's `caio-verify` with `args` and `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let sh = shell();
    let exe = &fixture().exe;
    let mut command = cmd!(sh, "{exe} {args...}")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    for (key, value) in env {
        command = command.env(key, value);
    }
    let output = capture(command, "caio-verify");
    assert!(!output.stderr.contains("panicked"), "{}", output.stderr);
    output
}

/// `check PATHS --manifest M --json`: the exit code and the report.
fn check_json(paths: &[&Path]) -> (i32, Value) {
    let manifest = fixture().manifest.to_str().expect("utf-8 path");
    let mut args = vec!["check", "--json", "--manifest", manifest];
    args.extend(paths.iter().map(|p| p.to_str().expect("utf-8 path")));
    let out = run(&args, &[]);
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out.stdout, out.stderr));
    (out.code, report)
}

/// `check PATHS --manifest M` in text.
fn check_text(paths: &[&Path]) -> Output {
    let manifest = fixture().manifest.to_str().expect("utf-8 path");
    let mut args = vec!["check", "--manifest", manifest];
    args.extend(paths.iter().map(|p| p.to_str().expect("utf-8 path")));
    run(&args, &[])
}

fn reasons(artifact: &Value) -> Vec<&str> {
    artifact["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("reason"))
        .collect()
}

#[test]
fn the_gate_passes_the_real_built_binary() {
    let f = fixture();
    let (code, report) = check_json(&[&f.exe]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "pass");
    let artifact = &report["artifacts"][0];
    let findings = artifact["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["section"], ".caio_keys");
    assert_eq!(
        artifact["private_keys"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(artifact["private_key_count"], 0, "{report:#}");
    assert_eq!(
        findings[0]["keyring"]["fingerprint"],
        report["manifest"]["fingerprint"]
    );

    let out = check_text(&[&f.exe]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .starts_with(&format!("{}: keyring sha256:", f.manifest.display()))
    );
    assert_contains(&out.stdout, &format!("PASS  {}", f.exe.display()));
}

#[test]
fn the_gate_fails_each_tampered_copy() {
    let t = tampered();
    let cases: [(&str, &Path, &[&str]); 4] = [
        (
            "one key swapped, digest fixed",
            &t.key_swapped,
            &["mismatch"],
        ),
        (
            "one block byte flipped",
            &t.byte_flipped,
            &["corrupt_block"],
        ),
        ("magic erased", &t.magic_erased, &["no_block"]),
        (
            "built against another keyring",
            &t.other_keyring,
            &["mismatch"],
        ),
    ];
    for (what, path, expected) in cases {
        let (code, report) = check_json(&[path]);
        assert_eq!(code, 1, "{what}: {report:#}");
        assert_eq!(
            reasons(&report["artifacts"][0]),
            expected,
            "{what}: {report:#}"
        );
    }

    // The mismatch names the key that differs and both fingerprints.
    let (_, report) = check_json(&[&t.key_swapped]);
    let failure = &report["artifacts"][0]["findings"][0]["failures"][0];
    assert_eq!(
        failure["expected_fingerprint"],
        report["manifest"]["fingerprint"]
    );
    assert_ne!(
        failure["found_fingerprint"],
        failure["expected_fingerprint"]
    );
    let difference = &failure["differences"][0];
    assert_eq!(difference["key"], "caio-active", "{failure:#}");
    assert_eq!(difference["kind"], "public_key", "{failure:#}");
    assert_eq!(difference["found"], fixture().stranger.fingerprint.as_str());
    let out = check_text(&[&t.key_swapped]);
    assert_contains(&out.stdout, "key caio-active: public key");
    let out = check_text(&[&t.byte_flipped]);
    assert_contains(&out.stdout, "corrupt keyring block");
}

#[test]
fn no_path_or_a_missing_file_is_an_error() {
    let manifest = fixture().manifest.to_str().expect("utf-8 path");
    let out = run(&["check", "--manifest", manifest], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run(&["inspect"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);

    let missing = fixture().dir.join("no-such-artifact");
    let (code, report) = check_json(&[&missing]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(reasons(&report["artifacts"][0]), ["unreadable"]);

    let out = run(
        &["check", "--manifest", "/no/such/keyring.toml", manifest],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_contains(&out.stderr, "cannot use the manifest");
}

#[test]
fn every_path_is_examined_and_reported_before_the_exit() {
    let f = fixture();
    let t = tampered();
    let (code, report) = check_json(&[&t.byte_flipped, &f.exe]);
    assert_eq!(code, 1, "{report:#}");
    let statuses: Vec<&Value> = report["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, ["fail", "pass"]);
    let out = check_text(&[&f.exe, &t.byte_flipped]);
    assert_eq!(out.code, 1);
    assert_contains(&out.stdout, &format!("PASS  {}", f.exe.display()));
    assert!(
        out.stdout
            .contains(&format!("FAIL  {}", t.byte_flipped.display())),
        "{}",
        out.stdout
    );

    // An error anywhere outranks a failure: exit 2, and still every path reported.
    let missing = f.dir.join("no-such-artifact");
    let (code, report) = check_json(&[&t.byte_flipped, &missing, &f.exe]);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["artifacts"].as_array().map(Vec::len), Some(3));
}

#[test]
fn packed_binaries_pass_and_packed_tampered_ones_fail_naming_the_inner_path() {
    for packed in packed_good() {
        let (code, report) = check_json(&[&packed.path]);
        assert_eq!(code, 0, "{}: {report:#}", packed.what);
        let findings = report["artifacts"][0]["findings"]
            .as_array()
            .expect("findings");
        let locations: Vec<&Value> = findings.iter().map(|f| &f["location"]).collect();
        assert_eq!(locations, [packed.inner.as_str()], "{}", packed.what);
    }
    for packed in packed_tampered() {
        let out = check_text(&[&packed.path]);
        assert_eq!(out.code, 1, "{}: {}", packed.what, out.stdout);
        assert!(
            out.stdout.contains(&format!("FAIL {}", packed.inner)),
            "{}: {}",
            packed.what,
            out.stdout
        );
        assert_contains(&out.stdout, "key caio-active: public key");
    }
}

#[test]
fn the_shipped_binaries_hold_only_the_blocks_they_embed() {
    let f = fixture();
    // The binary built against the fixture: one block, the manifest's own.
    let out = run(&["inspect", "--json", f.exe.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let findings = report["artifacts"][0]["findings"]
        .as_array()
        .expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
    // It carries the scanner, yet no private-key needle: the gate passes itself.
    assert_eq!(report["artifacts"][0]["private_key_count"], 0, "{report:#}");
    let keyring = &findings[0]["keyring"];
    assert_eq!(keyring["keys"][0]["id"], "caio-active");
    assert_eq!(
        keyring["keys"][0]["fingerprint"],
        f.active.fingerprint.as_str()
    );
    assert_eq!(keyring["revoked"][0], f.revoked.fingerprint.as_str());
    let manifest = caio_keyring::manifest::Manifest::load(&f.manifest).expect("manifest");
    assert_eq!(
        keyring["fingerprint"],
        manifest.keyring().fingerprint().to_string()
    );

    // The debug binary cargo built for these tests embeds the workspace's keys/.
    let debug = Path::new(env!("CARGO_BIN_EXE_caio-verify"));
    let out = run(&["inspect", "--json", debug.to_str().expect("utf-8")], &[]);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(out.code, 0, "{report:#}");
    assert_eq!(
        report["artifacts"][0]["findings"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(report["artifacts"][0]["private_key_count"], 0, "{report:#}");

    // xtask embeds no keyring, though it carries the scanner: no block at all. It is
    // checked wherever cargo has built it.
    for profile in ["debug", "release"] {
        let xtask = workspace_root().join("target").join(profile).join("xtask");
        if !xtask.is_file() {
            continue;
        }
        let out = run(&["inspect", "--json", xtask.to_str().expect("utf-8")], &[]);
        let report: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(
            report["artifacts"][0]["private_key_count"], 0,
            "xtask ({profile}) holds a private key's encoding or a PEM private key header, \
             so `cargo xtask verify-artifact` fails on it: {:#}",
            report["artifacts"][0]["private_keys"]
        );
        assert_eq!(out.code, 1, "{report:#}");
        assert_eq!(reasons(&report["artifacts"][0]), ["no_block"], "{report:#}");
    }
}

#[test]
fn under_github_actions_failures_are_annotations_and_a_summary() {
    let f = fixture();
    let t = tampered();
    let summary = f.dir.join("gate-step-summary.md");
    let _ = std::fs::remove_file(&summary);
    let summary_env = summary.to_str().expect("utf-8");
    let manifest = f.manifest.to_str().expect("utf-8");
    let args = [
        "check",
        "--manifest",
        manifest,
        f.exe.to_str().expect("utf-8"),
        t.key_swapped.to_str().expect("utf-8"),
    ];
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_env),
    ];
    let out = run(&args, &env);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let annotations = error_annotations(&out.stdout);
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    let escaped_manifest = manifest.replace(':', "%3A").replace(',', "%2C");
    assert!(
        annotations[0].starts_with(&format!("::error file={escaped_manifest},title=")),
        "{}",
        annotations[0]
    );
    assert_contains(annotations[0], "key-swapped");
    let table = std::fs::read_to_string(&summary).expect("summary written");
    assert!(table.contains("| Artifact | Result |"), "{table}");
    assert!(
        table.contains("✅ pass") && table.contains("❌ fail"),
        "{table}"
    );

    // With --json, stdout stays one JSON document and the annotations go to stderr.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = run(&json_args, &[("GITHUB_ACTIONS", "true")]);
    let _: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_contains(&out.stderr, "::error file=");

    // Without GITHUB_ACTIONS, no workflow command.
    let out = run(&args, &[]);
    assert!(!out.stdout.contains("::error"), "{}", out.stdout);
}

/// Artifacts around the fixture's binary that ship a key made by OpenSSL (the
/// stranger's `openssl genpkey -algorithm ed25519`), or only its public half.
struct WithKeys {
    /// The binary with the PEM private key appended.
    pem: PathBuf,
    /// The binary with the DER private key (`openssl pkey -outform DER`) appended.
    der: PathBuf,
    /// The binary with the public key PEM appended.
    public_pem: PathBuf,
    /// The binary with the public key's SPKI DER appended.
    public_der: PathBuf,
    /// `tar -czf` of the binary and the PEM private key under etc/caio/.
    tarball: PathBuf,
    /// A wheel holding the binary and the DER private key.
    wheel: PathBuf,
    /// Where the key sits in the binaries with a key appended: the binary's length.
    appended_at: u64,
    /// The PEM private key file, whose body no output may hold.
    private_pem: String,
    /// The DER private key, whose seed no output may hold.
    private_der: Vec<u8>,
}

fn with_keys() -> &'static WithKeys {
    static WITH_KEYS: OnceLock<WithKeys> = OnceLock::new();
    WITH_KEYS.get_or_init(|| {
        let f = fixture();
        let sh = shell();
        let dir = f.dir.join("gate-private-keys");
        std::fs::create_dir_all(dir.join("root/usr/bin")).expect("dir");
        std::fs::create_dir_all(dir.join("root/etc/caio")).expect("dir");
        let exe = std::fs::read(&f.exe).expect("read binary");
        let (private, public) = (&f.stranger.private, &f.stranger.public);
        let private_pem = std::fs::read_to_string(private).expect("read private key");
        assert!(private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let private_der = test_support::keys::openssl_private_der(private);
        let public_der = test_support::keys::openssl_public_der(public);
        let public_pem = std::fs::read(public).expect("read public key");
        let appended = |name: &str, tail: &[u8]| write(&dir, name, &[&exe[..], tail].concat());

        std::fs::copy(&f.exe, dir.join("root/usr/bin/caio-verify")).expect("copy");
        std::fs::copy(private, dir.join("root/etc/caio/private.pem")).expect("copy");
        sh.change_dir(&dir);
        cmd!(
            sh,
            "tar -C root -czf app-with-key.tar.gz usr/bin/caio-verify etc/caio/private.pem"
        )
        .quiet()
        .run()
        .expect("tar");
        let wheel = dir.join("caio-1.0-py3-none-any.whl");
        write_wheel_with(&wheel, &exe, &[("caio/keys/signing.der", &private_der)]);

        WithKeys {
            pem: appended("with-private-pem", private_pem.as_bytes()),
            der: appended("with-private-der", &private_der),
            public_pem: appended("with-public-pem", &public_pem),
            public_der: appended("with-public-der", &public_der),
            tarball: dir.join("app-with-key.tar.gz"),
            wheel,
            appended_at: exe.len() as u64,
            private_pem,
            private_der,
        }
    })
}

/// Fails unless `text` holds no part of the key: not a line of the PEM body nor any
/// 16 characters of it, not the seed in hex or base64.
fn assert_no_key_material(text: &str, keys: &WithKeys) {
    use base64::Engine as _;
    let body: String = keys
        .private_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(body.len() >= 64, "{body}");
    for piece in body.as_bytes().chunks(16) {
        let piece = std::str::from_utf8(piece).expect("base64");
        assert!(!text.contains(piece), "the output holds {piece:?}: {text}");
    }
    let seed = &keys.private_der[keys.private_der.len() - 32..];
    let hex = hex::encode(seed);
    assert!(
        !text.contains(&hex[..16]),
        "the output holds the seed: {text}"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(seed);
    assert!(
        !text.contains(&b64[..16]),
        "the output holds the seed: {text}"
    );
}

#[test]
fn a_private_key_fails_every_command_and_its_bytes_are_never_shown() {
    let k = with_keys();
    let pem = k.pem.to_str().expect("utf-8");

    // `check --json`: a fail, though the block is the manifest's own.
    let (code, report) = check_json(&[&k.pem]);
    assert_eq!(code, 1, "{report:#}");
    let artifact = &report["artifacts"][0];
    assert_eq!(reasons(artifact), ["private_key"], "{report:#}");
    assert_eq!(artifact["findings"][0]["status"], "pass", "{report:#}");
    assert_eq!(artifact["private_key_count"], 1);
    assert_eq!(
        artifact["private_keys"],
        serde_json::json!([{
            "location": pem, "file": pem, "members": [], "offset": k.appended_at,
            "kind": "pem_private_key", "label": "PRIVATE KEY", "pkcs8_version": null,
        }])
    );
    assert_no_key_material(&report.to_string(), k);

    // `check` in text, and `inspect` (no manifest), text and JSON.
    let out = check_text(&[&k.pem]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_contains(
        &out.stdout,
        &format!(
            "FAIL {pem} @ {:#x}: private key, PEM \"PRIVATE KEY\"",
            k.appended_at
        ),
    );
    assert_no_key_material(&(out.stdout + &out.stderr), k);
    let out = run(&["inspect", pem], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_contains(&out.stdout, &format!("FAIL  {pem}: private_key\n"));
    assert_no_key_material(&(out.stdout + &out.stderr), k);
    let out = run(&["inspect", "--json", pem], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(reasons(&report["artifacts"][0]), ["private_key"]);

    // Under GitHub Actions: an annotation that says where, not what.
    let manifest = fixture().manifest.to_str().expect("utf-8");
    let out = run(
        &["check", "--manifest", manifest, pem],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let annotations = error_annotations(&out.stdout);
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    assert_contains(annotations[0], "%3A private_key::");
    assert_no_key_material(&(out.stdout + &out.stderr), k);
}

#[test]
fn a_der_private_key_fails_and_public_keys_do_not() {
    let k = with_keys();
    let (code, report) = check_json(&[&k.der]);
    assert_eq!(code, 1, "{report:#}");
    let artifact = &report["artifacts"][0];
    assert_eq!(reasons(artifact), ["private_key"], "{report:#}");
    let key = &artifact["private_keys"][0];
    assert_eq!(key["kind"], "pkcs8_ed25519_private_key", "{report:#}");
    assert_eq!(key["pkcs8_version"], 1, "{report:#}");
    assert_eq!(key["offset"], k.appended_at, "{report:#}");
    assert_no_key_material(&report.to_string(), k);
    let out = check_text(&[&k.der]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_no_key_material(&(out.stdout + &out.stderr), k);

    // A public key, as PEM or as SPKI DER, is no secret: the binary still passes.
    for public in [&k.public_pem, &k.public_der] {
        let (code, report) = check_json(&[public]);
        assert_eq!(code, 0, "{}: {report:#}", public.display());
        assert_eq!(report["artifacts"][0]["private_key_count"], 0);
    }
}

#[test]
fn a_private_key_inside_a_tarball_or_a_wheel_fails_naming_the_inner_path() {
    let k = with_keys();
    let cases = [
        (&k.tarball, "etc/caio/private.pem", "pem_private_key"),
        (
            &k.wheel,
            "caio/keys/signing.der",
            "pkcs8_ed25519_private_key",
        ),
    ];
    for (path, inner, kind) in cases {
        let (code, report) = check_json(&[path]);
        assert_eq!(code, 1, "{}: {report:#}", path.display());
        let artifact = &report["artifacts"][0];
        assert_eq!(reasons(artifact), ["private_key"], "{report:#}");
        let key = &artifact["private_keys"][0];
        assert_eq!(
            key["location"],
            format!("{}!{inner}", path.display()),
            "{report:#}"
        );
        assert_eq!(key["members"], serde_json::json!([inner]), "{report:#}");
        assert_eq!(key["offset"], 0, "{report:#}");
        assert_eq!(key["kind"], kind, "{report:#}");
        // The binary beside it is found and passes, as ever.
        assert_eq!(artifact["findings"][0]["status"], "pass", "{report:#}");
        assert_no_key_material(&report.to_string(), k);
        let out = check_text(&[path]);
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert_contains(
            &out.stdout,
            &format!("FAIL {}!{inner} @ 0x0: private key", path.display()),
        );
    }
}

/// The `::error` workflow commands (GitHub annotations) among `stdout`'s lines.
fn error_annotations(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect()
}
