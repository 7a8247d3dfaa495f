//! Shared fixtures for the end-to-end tests: OpenSSL keys and signatures, manifests on
//! disk, and `caio-verify` binaries built against them.
//!
//! Every key and signature here comes from the `openssl` command, so the tests prove
//! interop with the tool operators really use, not just agreement with ourselves.
//! Builds go to their own target directory and are serialized: two builds of one crate
//! with different `CAIO_KEYRING` values would otherwise overwrite each other.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

/// An Ed25519 keypair made by `openssl genpkey`.
pub struct Key {
    pub private: PathBuf,
    pub public: PathBuf,
    pub fingerprint: String,
}

/// One `[[key]]` entry to write.
pub struct Entry<'a> {
    pub id: &'a str,
    pub key: &'a Key,
    pub not_before: &'a str,
    pub sign_until: Option<&'a str>,
    pub not_after: Option<&'a str>,
    pub revoked: bool,
}

/// What a finished command printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn shell() -> Shell {
    Shell::new().expect("shell")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("caio-cli sits in the workspace")
        .to_owned()
}

pub fn openssl_keygen(dir: &Path, name: &str) -> Key {
    let sh = shell();
    let private = dir.join(format!("{name}-private.pem"));
    let public = dir.join(format!("{name}.pem"));
    cmd!(sh, "openssl genpkey -algorithm ed25519 -out {private}")
        .quiet()
        .run()
        .expect("openssl genpkey");
    cmd!(sh, "openssl pkey -in {private} -pubout -out {public}")
        .quiet()
        .run()
        .expect("openssl pkey -pubout");
    let der = cmd!(sh, "openssl pkey -pubin -in {public} -outform DER")
        .quiet()
        .output()
        .expect("openssl pkey -outform DER")
        .stdout;
    Key {
        fingerprint: format!("sha256:{}", hex(&Sha256::digest(&der))),
        private,
        public,
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `payload` as a CAIO-v2 license with `openssl pkeyutl -sign -rawin`.
pub fn openssl_license(key: &Key, payload: &serde_json::Value) -> String {
    let signing_input = format!(
        "CAIO-v2.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("json"))
    );
    let signature = openssl_sign(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub fn openssl_sign(key: &Key, message: &[u8]) -> Vec<u8> {
    let sh = shell();
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input");
    std::fs::write(&input, message).expect("write signing input");
    let private = &key.private;
    let signature = cmd!(
        sh,
        "openssl pkeyutl -sign -rawin -inkey {private} -in {input}"
    )
    .quiet()
    .output()
    .expect("openssl pkeyutl -sign")
    .stdout;
    assert_eq!(signature.len(), 64, "an Ed25519 signature is 64 bytes");
    signature
}

/// Unix seconds of an RFC 3339 instant.
pub fn unix(instant: &str) -> i64 {
    let sh = shell();
    cmd!(sh, "date -u -d {instant} +%s")
        .quiet()
        .read()
        .expect("date")
        .parse()
        .expect("unix seconds")
}

/// Writes `dir/keyring.toml` and copies each PEM beside it.
pub fn write_manifest(dir: &Path, serial: u32, entries: &[Entry<'_>]) -> PathBuf {
    write_manifest_with(dir, serial, "", entries)
}

/// [`write_manifest`] with `top` (such as `channel = "development"` or a `[policy]`
/// table) written after `serial`, before the keys.
pub fn write_manifest_with(dir: &Path, serial: u32, top: &str, entries: &[Entry<'_>]) -> PathBuf {
    let mut text = format!("version = 1\nserial = {serial}\n{top}");
    for e in entries {
        let file = format!("{}.pem", e.id);
        std::fs::copy(&e.key.public, dir.join(&file)).expect("copy pem");
        text += &format!(
            "\n[[key]]\nid = \"{}\"\nalgorithm = \"ed25519\"\npublic_key = \"{file}\"\n\
             fingerprint = \"{}\"\nnot_before = {}\n",
            e.id, e.key.fingerprint, e.not_before
        );
        if let Some(t) = e.sign_until {
            text += &format!("sign_until = {t}\n");
        }
        if let Some(t) = e.not_after {
            text += &format!("not_after = {t}\n");
        }
        if e.revoked {
            text += "status = \"revoked\"\n";
        }
    }
    let path = dir.join("keyring.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
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
    let exe = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "caio-verify")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
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
    let target = root.join("target").join("it-verifier");
    sh.change_dir(&root);
    let out = cmd!(
        sh,
        "{cargo} build --release --locked -p caio-cli --bin caio-verify --message-format=json-render-diagnostics {extra...}"
    )
    .env("CAIO_KEYRING", manifest)
    .env("CARGO_TARGET_DIR", &target)
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
    let out = command
        .quiet()
        .ignore_status()
        .output()
        .expect("run caio-verify");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Verifies one license at `at` with `--json`; returns the exit code and the result.
pub fn verify_json(exe: &Path, token: &str, at: &str) -> (i32, serde_json::Value) {
    let out = run(exe, &["license", token, "--json", "--at", at], "");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {:?}", out.stdout));
    (out.code, value)
}

/// The offset of the one keyring block in `bytes`.
pub fn find_block(bytes: &[u8]) -> (usize, usize) {
    let needle = caio_keyring::block::scan_prefix();
    let hits: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "exactly one block in the binary, found {hits:?}"
    );
    let at = hits[0];
    let len = caio_keyring::block::block_len(&bytes[at..]).expect("block length");
    (at, len)
}
