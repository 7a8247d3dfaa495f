//! `cargo xtask dev`: the development key and keyring, the licenses it signs, and the
//! README's three commands from a fresh clone to a binary that accepts such a license.
//!
//! Most tests run the xtask under test with `dev --dir` in a temporary directory, so the
//! checkout's own `target/caio-dev/` is never touched. The end-to-end test runs the
//! README's block, word for word, with bash, in the copy of the workspace that
//! `release.rs` releases (the files git would commit, with a generated production
//! keyring), building into the copy's own `target/` as a fresh clone does; the copy stays
//! between runs, so later runs rebuild only what changed, and the release shares what the
//! block compiled. Not here: release builds (`release.rs`, `dsse.rs`).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use test_support::leak::{Audit, Expect};
use test_support::run::{
    Output, RawOutput, assert_contains, capture, capture_bytes, workspace_root,
};
use xshell::{Shell, cmd};

use super::{path, payload_of};

/// A development directory in a temporary directory, and the runs of the xtask on it.
struct Dev {
    tmp: tempfile::TempDir,
}

impl Dev {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().join("caio-dev")
    }

    fn manifest(&self) -> PathBuf {
        self.dir().join("keyring").join("keyring.toml")
    }

    /// `xtask dev --dir DIR ARGS...` with `CAIO_KEYRING` as given (removed when `None`).
    fn run(&self, args: &[&str], keyring: Option<&Path>) -> RawOutput {
        let dir = self.dir();
        let mut all = vec!["dev", "--dir", path(&dir)];
        all.extend_from_slice(args);
        xtask(&all, keyring)
    }
}

/// The xtask under test with `CAIO_KEYRING` as given (removed when `None`).
fn xtask(args: &[&str], keyring: Option<&Path>) -> RawOutput {
    let sh = Shell::new().expect("shell");
    let exe = env!("CARGO_BIN_EXE_xtask");
    let command = cmd!(sh, "{exe} {args...}")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    let command = match keyring {
        Some(keyring) => command.env("CAIO_KEYRING", keyring),
        None => command.env_remove("CAIO_KEYRING"),
    };
    capture_bytes(command, "xtask")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The production keyring of this checkout.
fn production() -> PathBuf {
    workspace_root().join("keys").join("keyring.toml")
}

#[test]
fn dev_init_writes_the_key_once_and_prints_only_the_export_line() {
    let dev = Dev::new();
    let mut audit = Audit::new();
    let first = dev.run(&["init"], None);
    let private = dev.dir().join("private.pem");
    let key = std::fs::read(&private).expect("private.pem");
    audit.learn_pem("the development key", &key);
    audit.judge("dev init", Expect::Code(0), &first);

    let export = format!("export CAIO_KEYRING='{}'\n", path(&dev.manifest()));
    assert_eq!(text(&first.stdout), export);
    assert_contains(&text(&first.stderr), "created the development key");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&private), 0o600);
    assert_eq!(mode(&dev.dir()), 0o700);
    // PKCS#8 v1, as keygen writes it: OpenSSL reads it and derives the public key.
    let der = test_support::keys::openssl_private_der(&private);
    assert_eq!(der[..16], test_support::keys::PKCS8_V1_PREFIX);
    let manifest = std::fs::read_to_string(dev.manifest()).expect("keyring");
    assert_contains(&manifest, "channel = \"development\"");
    assert_contains(&manifest, "runtime_override = \"deny\"");
    let files: BTreeSet<String> = std::fs::read_dir(dev.dir().join("keyring"))
        .expect("keyring dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["caio-dev.pem".into(), "keyring.toml".into()])
    );

    // Run again: the same line, the same key, and it says so.
    let again = dev.run(&["init"], None);
    audit.judge("dev init again", Expect::Code(0), &again);
    assert_eq!(text(&again.stdout), export);
    assert_contains(&text(&again.stderr), "reusing the development key");
    assert_contains(&text(&again.stderr), "reusing the development keyring");
    assert_eq!(std::fs::read(&private).expect("private.pem"), key);

    // The development keyring passes every check a build and `keys check` make.
    let check = xtask(&["keys", "check"], Some(&dev.manifest()));
    audit.judge("keys check", Expect::Code(0), &check);

    // A keyring that does not trust the key is never silently replaced.
    std::fs::write(
        dev.manifest(),
        manifest.replace("channel = \"development\"", "channel = \"production\""),
    )
    .expect("manifest");
    let refused = dev.run(&["init"], None);
    audit.judge(
        "dev init on a production keyring",
        Expect::Code(1),
        &refused,
    );
    assert_contains(&text(&refused.stderr), "channel is not \"development\"");
    assert!(refused.stdout.is_empty(), "nothing to eval");
    assert_eq!(std::fs::read(&private).expect("private.pem"), key);
    audit.finish();
}

#[test]
fn a_dev_license_verifies_on_the_dev_keyring_and_never_on_the_production_one() {
    let dev = Dev::new();
    dev.run(&["init"], None);
    let mut audit = Audit::new();
    audit.learn_pem(
        "the development key",
        &std::fs::read(dev.dir().join("private.pem")).expect("private.pem"),
    );

    let issued = dev.run(&["license"], None);
    audit.judge("dev license", Expect::Code(0), &issued);
    let token = text(&issued.stdout).trim().to_owned();
    assert_eq!(
        text(&issued.stdout),
        format!("{token}\n"),
        "one token, one line"
    );
    // Without CAIO_KEYRING, a build from this shell would not accept it: a note says so.
    assert_contains(&text(&issued.stderr), "note: CAIO_KEYRING does not name");
    let payload = payload_of(&token);
    assert_eq!(payload["sub"], "developer");
    let lifetime = payload["exp"].as_i64().expect("exp") - payload["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 30 * 86_400);
    assert!(payload["lid"].as_str().expect("lid").starts_with("DEV-"));

    let ok = xtask(&["license", "verify", &token], Some(&dev.manifest()));
    audit.judge("license verify (development)", Expect::Code(0), &ok);
    assert_contains(&text(&ok.stdout), "valid: license");

    // The production keyring never trusts the development key.
    let refused = xtask(
        &["license", "verify", &token, "--json"],
        Some(&production()),
    );
    audit.judge("license verify (production)", Expect::Code(1), &refused);
    let verdict: Value = serde_json::from_slice(&refused.stdout).expect("one JSON line");
    assert_eq!(verdict["reason"], "unknown_key");
    let unset = xtask(&["license", "verify", &token, "--json"], None);
    audit.judge("license verify (default keyring)", Expect::Code(1), &unset);
    assert_contains(&text(&unset.stdout), "\"reason\":\"unknown_key\"");

    // Every option, and no note once CAIO_KEYRING names the development keyring.
    let custom = dev.run(
        &[
            "license",
            "--licensee",
            "Ada",
            "--feature",
            "export",
            "--feature",
            "audit",
            "--seats",
            "3",
            "--expires",
            "2099-01-01",
        ],
        Some(&dev.manifest()),
    );
    audit.judge("dev license with options", Expect::Code(0), &custom);
    assert!(
        !text(&custom.stderr).contains("note:"),
        "{}",
        text(&custom.stderr)
    );
    let payload = payload_of(text(&custom.stdout).trim());
    assert_eq!(payload["sub"], "Ada");
    assert_eq!(payload["features"], serde_json::json!(["export", "audit"]));
    assert_eq!(payload["seats"], 3);
    assert_eq!(payload["exp"], super::unix("2099-01-01T00:00:00Z"));

    let past = dev.run(&["license", "--expires", "2001-01-01"], None);
    audit.judge("dev license expired", Expect::Code(2), &past);
    assert!(past.stdout.is_empty());
    audit.finish();
}

#[test]
fn dev_license_without_init_tells_to_run_init() {
    let dev = Dev::new();
    let run = dev.run(&["license"], None);
    let out = Output {
        code: run.code,
        stdout: text(&run.stdout),
        stderr: text(&run.stderr),
    }
    .expect(2);
    assert!(out.stdout.is_empty());
    assert_contains(&out.stderr, "run `cargo xtask dev init` first");
    assert!(!dev.dir().exists(), "nothing created");
}

#[test]
fn dev_status_names_the_keyring_the_next_build_embeds() {
    let dev = Dev::new();
    dev.run(&["init"], None);
    let status = dev.run(&["status"], Some(&dev.manifest()));
    assert_eq!(status.code, 0, "{}", text(&status.stderr));
    let stdout = text(&status.stdout);
    assert_contains(
        &stdout,
        &format!(
            "next build embeds: {} (from CAIO_KEYRING)",
            path(&dev.manifest())
        ),
    );
    assert_contains(&stdout, "channel:           development");
    assert_contains(&stdout, "(this is it)");
    assert_contains(&text(&status.stderr), "unset CAIO_KEYRING");

    let status = dev.run(&["status"], None);
    assert_eq!(status.code, 0, "{}", text(&status.stderr));
    let stdout = text(&status.stdout);
    assert_contains(&stdout, "next build embeds: keys/keyring.toml (the default");
    assert_contains(&stdout, "channel:           production");
    assert_contains(&stdout, "exists, not in use");

    // An empty CAIO_KEYRING is unset, as for the build.
    let status = dev.run(&["status"], Some(Path::new("")));
    assert_contains(
        &text(&status.stdout),
        "next build embeds: keys/keyring.toml",
    );
}

#[test]
fn release_warns_when_the_shell_exports_a_development_keyring_and_still_refuses_it() {
    let dev = Dev::new();
    dev.run(&["init"], None);
    let out = dev.tmp.path().join("dist");
    let run = xtask(&["release", "--out", path(&out)], Some(&dev.manifest()));
    let stderr = text(&run.stderr);
    assert_eq!(run.code, 1, "{stderr}");
    assert_contains(&stderr, "warning: this shell exports CAIO_KEYRING=");
    assert_contains(&stderr, "unset CAIO_KEYRING");
    assert_contains(&stderr, "release stopped");
    assert!(!stderr.contains("Compiling"), "refused before building");
    assert!(!out.exists(), "nothing written");
}

/// The README's "Developing with a local key" block, run by bash in a copy of the
/// workspace with no `target/caio-dev/`: the binary it builds accepts the license it
/// issues; the same binary built without `CAIO_KEYRING` rejects it (`unknown_key`).
#[test]
fn the_readme_takes_a_fresh_clone_to_a_binary_that_accepts_its_own_license() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    let block = readme_block(&readme, "## Developing with a local key");
    let commands: Vec<&str> = block
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert!(commands.len() <= 3, "at most three commands: {commands:?}");

    // The copy `release.rs` makes (a git checkout with a production keyring of its
    // own), held: the block's commands build into its `target/` and run from there.
    let checkout = super::release::copy();
    let _held = checkout.hold();
    let copy = checkout.workspace.as_path();
    let dev_dir = copy.join("target").join("caio-dev");
    if dev_dir.exists() {
        std::fs::remove_dir_all(&dev_dir).expect("a fresh clone has no development key");
    }

    let script = format!("set -euo pipefail\n{block}");
    let run = in_copy(copy, "bash", &["-c", &script]).expect(0);
    assert_contains(&run.stdout, "valid: license \"DEV-");
    assert_contains(&run.stdout, "for \"developer\", key caio-dev");
    assert!(dev_dir.join("private.pem").exists());

    // The same sources built without the development keyring: a production build.
    let token = in_copy(copy, "cargo", &["xtask", "dev", "license"])
        .expect(0)
        .stdout;
    let token = token.trim();
    in_copy(copy, "cargo", &["build", "-p", "caio-cli"]).expect(0);
    let exe = copy.join("target").join("debug").join("caio-verify");
    let refused = in_copy(copy, path(&exe), &["license", token, "--json"]).expect(1);
    let verdict: Value = serde_json::from_str(&refused.stdout).expect("one JSON line");
    assert_eq!(verdict["reason"], "unknown_key");
}

/// The first ```sh block after `heading` in `readme`.
fn readme_block(readme: &str, heading: &str) -> String {
    let section = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no {heading:?} section"))
        .1;
    let start = section.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let len = section[start..].find("```").expect("the block ends");
    section[start..start + len].to_owned()
}

/// Runs `program ARGS...` in `copy` as a developer's shell would: no CAIO_KEYRING,
/// no target directory or rustflags of the test run, cargo on the PATH.
fn in_copy(copy: &Path, program: &str, args: &[&str]) -> Output {
    let sh = Shell::new().expect("shell");
    sh.change_dir(copy);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut search = std::env::var_os("PATH").unwrap_or_default();
    if let Some(bin) = Path::new(&cargo)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        let mut dirs = vec![bin.to_owned()];
        dirs.extend(std::env::split_paths(&search));
        search = std::env::join_paths(dirs).expect("PATH");
    }
    let command = cmd!(sh, "{program} {args...}")
        .env("PATH", search)
        .env_remove("CAIO_KEYRING")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CAIO_LICENSE_PUBLIC_KEY");
    capture(command, program)
}
