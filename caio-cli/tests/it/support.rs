//! Shared fixtures for the end-to-end tests: OpenSSL keys and signatures, manifests on
//! disk, and `caio-verify` binaries built against them.
//!
//! Every key and signature here comes from the `openssl` command, so the tests prove
//! interop with the tool operators really use, not just agreement with ourselves.
//!
//! The `caio-verify` builds are dev builds, like the rotation tests' and the
//! endorsement test's `xtask`, in the target directory those share
//! (`test_support::shared_target`, under its lock): their dependencies are compiled
//! once for all of them, and a build for another keyring recompiles and links only the
//! binary crate, which alone embeds the keyring. The signature code and the verifier
//! are optimized even there (the workspace's `[profile.dev.package]` settings). The
//! release profile is what `cargo xtask release` builds, and `xtask/tests/it/release.rs`
//! tests that.

use std::path::{Path, PathBuf};

use test_support::shared_target::SharedTarget;
use xshell::cmd;

pub use test_support::keyring::{Entry, find_block, write_manifest, write_manifest_with};
pub use test_support::keys::{Key, openssl_sign};
pub use test_support::run::{Output, capture, kept_dir, shell, workspace_root};
pub use test_support::tokens::unix;

/// Where the tests' fixtures, scratch files and copies of built binaries go, under
/// `target/`.
pub const AREA: &str = "it-verifier";

/// Makes `dir/<name>-private.pem` and `dir/<name>.pem` with `openssl genpkey`.
pub fn openssl_keygen(dir: &Path, name: &str) -> Key {
    let private = dir.join(format!("{name}-private.pem"));
    let public = dir.join(format!("{name}.pem"));
    test_support::keys::openssl_keygen(&private, &public)
}

/// Signs `payload` as a CAIO-v2 license with `openssl pkeyutl -sign -rawin`.
pub fn openssl_license(key: &Key, payload: &serde_json::Value) -> String {
    let payload = serde_json::to_vec(payload).expect("json");
    let signing_input = caio_verify::license::signing_input(&payload);
    let signature = openssl_sign(&key.private, signing_input.as_bytes());
    caio_verify::license::token(&signing_input, &signature)
}

/// Holds the shared target directory: only one build (and one read of fresh build
/// output) at a time, in this process and in any other test process.
pub fn build_lock() -> SharedTarget {
    SharedTarget::lock()
}

/// Builds `caio-verify` with `CAIO_KEYRING=manifest` and copies it to `dest`, while
/// `lock` is held.
pub fn build_verifier_locked(
    lock: &SharedTarget,
    manifest: &Path,
    dest: &Path,
) -> Result<PathBuf, String> {
    let out = cargo_build(lock, manifest, &[])?;
    let exe = test_support::run::built_executable(&out, "caio-verify")
        .ok_or("cargo built no caio-verify executable")?;
    let copy = dest.join("caio-verify");
    std::fs::copy(&exe, &copy).map_err(|e| format!("copy {}: {e}", exe.display()))?;
    Ok(copy)
}

/// Builds `caio-verify` against `manifest` and copies it into `dest`.
pub fn build_verifier(manifest: &Path, dest: &Path) -> PathBuf {
    let lock = build_lock();
    build_verifier_locked(&lock, manifest, dest).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `cargo build` for the verifier in the shared target directory `lock` holds;
/// returns stdout (JSON messages) or the failure's stderr. `extra` adds flags such as
/// `-v`.
pub fn cargo_build(lock: &SharedTarget, manifest: &Path, extra: &[&str]) -> Result<String, String> {
    let sh = shell();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    sh.change_dir(workspace_root());
    let out = cmd!(
        sh,
        "{cargo} build --locked -p caio-cli --bin caio-verify --message-format=json-render-diagnostics {extra...}"
    )
    .env("CAIO_KEYRING", manifest)
    .env("CARGO_TARGET_DIR", lock.dir())
    .quiet()
    .ignore_status()
    .output()
    .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(format!("{stdout}\n{stderr}"))
    } else {
        Err(format!("{stdout}\n{stderr}"))
    }
}

/// Runs `exe` with `args`, feeding `stdin`, without `CAIO_LICENSE_PUBLIC_KEY`.
pub fn run(exe: &Path, args: &[&str], stdin: &str) -> Output {
    run_with_key(exe, args, stdin, None)
}

/// Runs `exe` with `args`, feeding `stdin`, with `CAIO_LICENSE_PUBLIC_KEY` set to
/// `runtime_key` (removed when `None`). With a key, logs are at the default level
/// (`RUST_LOG=warn`), so the verdict on the key shows on stderr.
pub fn run_with_key(exe: &Path, args: &[&str], stdin: &str, runtime_key: Option<&str>) -> Output {
    let sh = shell();
    let command = cmd!(sh, "{exe} {args...}").stdin(stdin);
    let command = match runtime_key {
        Some(value) => command
            .env("CAIO_LICENSE_PUBLIC_KEY", value)
            .env("RUST_LOG", "warn"),
        None => command.env_remove("CAIO_LICENSE_PUBLIC_KEY"),
    };
    capture(command, "caio-verify")
}

/// Verifies one license at `at` with `--json`; returns the exit code and the result.
pub fn verify_json(exe: &Path, token: &str, at: &str) -> (i32, serde_json::Value) {
    let out = run(exe, &["license", token, "--json", "--at", at], "");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {:?}", out.stdout));
    (out.code, value)
}
