//! Shared fixtures for the end-to-end tests: OpenSSL keys and signatures, manifests on
//! disk, and `caio-verify` binaries built against them.
//!
//! Every key and signature here comes from the `openssl` command, so the tests prove
//! interop with the tool operators really use, not just agreement with ourselves.
//! Builds go to their own target directory and are serialized: two builds of one crate
//! with different `CAIO_KEYRING` values would otherwise overwrite each other.
//!
//! They use the release profile (optimized, no debug assertions, so no test hooks)
//! without its link-time optimization and with 16 codegen units: the keyring is
//! embedded by the binary crate alone, so a build for another keyring recompiles and
//! links only `main.rs`, under a second instead of the 18 s a thin-LTO link of the
//! whole program takes (measured on a 2-core AMD EPYC). The release profile itself is
//! what `cargo xtask release` builds, and `xtask/tests/it/release.rs` tests that.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use xshell::cmd;

pub use test_support::keyring::{Entry, find_block, write_manifest, write_manifest_with};
pub use test_support::keys::{Key, openssl_sign};
pub use test_support::run::{Output, capture, kept_dir, shell, workspace_root};
pub use test_support::tokens::unix;

/// Where the tests' builds, fixtures and scratch files go, under `target/`.
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

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Holds the build lock: only one test builds (and reads fresh build output) at a time.
pub fn build_lock() -> std::sync::MutexGuard<'static, ()> {
    BUILD_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Builds the release `caio-verify` with `CAIO_KEYRING=manifest` and copies it to
/// `dest`. The caller holds [`build_lock`].
pub fn build_verifier_locked(manifest: &Path, dest: &Path) -> Result<PathBuf, String> {
    let out = cargo_build(manifest, &[])?;
    let exe = test_support::run::built_executable(&out, "caio-verify")
        .ok_or("cargo built no caio-verify executable")?;
    let copy = dest.join("caio-verify");
    std::fs::copy(&exe, &copy).map_err(|e| format!("copy {}: {e}", exe.display()))?;
    Ok(copy)
}

/// Builds the release `caio-verify` against `manifest` and copies it into `dest`.
pub fn build_verifier(manifest: &Path, dest: &Path) -> PathBuf {
    let _guard = build_lock();
    build_verifier_locked(manifest, dest).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `cargo build` for the verifier; returns stdout (JSON messages) or the failure's
/// stderr. `extra` adds flags such as `-v`.
pub fn cargo_build(manifest: &Path, extra: &[&str]) -> Result<String, String> {
    let sh = shell();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = workspace_root();
    let target = root.join("target").join(AREA);
    sh.change_dir(&root);
    let out = cmd!(
        sh,
        "{cargo} build --release --locked -p caio-cli --bin caio-verify --message-format=json-render-diagnostics {extra...}"
    )
    .env("CAIO_KEYRING", manifest)
    .env("CARGO_TARGET_DIR", &target)
    .env("CARGO_PROFILE_RELEASE_LTO", "false")
    .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
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
