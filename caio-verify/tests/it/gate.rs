//! The release gate end to end: `caio-verify check` and `inspect` on a real release
//! binary, on copies tampered in each way the gate must catch, and on the same binaries
//! packed by the real `tar`, `gzip` and `zstd` into tarballs, a wheel and a
//! `docker save` style image.
//!
//! The tampered copies and archives are made once and shared; every check runs the
//! fixture's own release `caio-verify` against the fixture's manifest.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::fixture;
use crate::support::{
    Entry, Output, build_verifier, find_block, shell, workspace_root, write_manifest,
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
    let sh = shell();
    let der = cmd!(sh, "openssl pkey -pubin -in {pem} -outform DER")
        .quiet()
        .output()
        .expect("openssl")
        .stdout;
    der[12..].to_vec()
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
        let digest = crate::support::hex(&Sha256::digest(bytes));
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
    use std::io::Write as _;
    let file = std::fs::File::create(path).expect("create wheel");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    let entries: [(&str, &[u8]); 4] = [
        ("caio/__init__.py", b""),
        ("caio/bin/caio-verify", exe),
        ("caio-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
        ("caio-1.0.dist-info/RECORD", b""),
    ];
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
        .env_remove("GITHUB_STEP_SUMMARY")
        .quiet()
        .ignore_status();
    for (key, value) in env {
        command = command.env(key, value);
    }
    let out = command.output().expect("run caio-verify");
    let output = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
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
fn the_gate_passes_the_real_release_binary() {
    let f = fixture();
    let (code, report) = check_json(&[&f.exe]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["status"], "pass");
    let artifact = &report["artifacts"][0];
    let findings = artifact["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["section"], ".caio_keys");
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
    assert!(
        out.stdout.contains(&format!("PASS  {}", f.exe.display())),
        "{}",
        out.stdout
    );
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
    assert!(
        out.stdout.contains("key caio-active: public key"),
        "{}",
        out.stdout
    );
    let out = check_text(&[&t.byte_flipped]);
    assert!(
        out.stdout.contains("corrupt keyring block"),
        "{}",
        out.stdout
    );
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
    assert!(
        out.stderr.contains("cannot use the manifest"),
        "{}",
        out.stderr
    );
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
    assert!(
        out.stdout.contains(&format!("PASS  {}", f.exe.display())),
        "{}",
        out.stdout
    );
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
fn packed_release_binaries_pass_and_packed_tampered_ones_fail_naming_the_inner_path() {
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
        assert!(
            out.stdout.contains("key caio-active: public key"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn the_shipped_binaries_hold_only_the_blocks_they_embed() {
    let f = fixture();
    // The release binary built against the fixture: one block, the manifest's own.
    let out = run(&["inspect", "--json", f.exe.to_str().expect("utf-8")], &[]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    let findings = report["artifacts"][0]["findings"]
        .as_array()
        .expect("findings");
    assert_eq!(findings.len(), 1, "{report:#}");
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

    // xtask embeds no keyring, though it carries the scanner: no block at all. It is
    // checked wherever cargo has built it.
    for profile in ["debug", "release"] {
        let xtask = workspace_root().join("target").join(profile).join("xtask");
        if !xtask.is_file() {
            continue;
        }
        let out = run(&["inspect", "--json", xtask.to_str().expect("utf-8")], &[]);
        let report: Value = serde_json::from_str(&out.stdout).expect("json");
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
    let annotations: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(annotations.len(), 1, "{}", out.stdout);
    let escaped_manifest = manifest.replace(':', "%3A").replace(',', "%2C");
    assert!(
        annotations[0].starts_with(&format!("::error file={escaped_manifest},title=")),
        "{}",
        annotations[0]
    );
    assert!(annotations[0].contains("key-swapped"), "{}", annotations[0]);
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
    assert!(out.stderr.contains("::error file="), "{}", out.stderr);

    // Without GITHUB_ACTIONS, no workflow command.
    let out = run(&args, &[]);
    assert!(!out.stdout.contains("::error"), "{}", out.stdout);
}
