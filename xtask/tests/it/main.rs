//! Integration tests for `cargo xtask`: the built binary run against temporary
//! keyrings, exactly as an operator runs it.
//!
//! Every test makes its own keys directory (a manifest with comments and PEM files from
//! fixed seeds) and points `CAIO_KEYRING` at it, so nothing touches the workspace's
//! `keys/`. Commands that depend on the time get `--now`, so no test depends on
//! today. Subprocesses go through `xshell::cmd!`; OpenSSL is the outside referee.

mod check;
mod crash;
mod dev;
mod dsse;
mod edit;
mod endorse;
mod hostile_manifests;
mod hsm;
mod hygiene;
mod keygen;
mod license;
mod reissue;
mod release;
mod rotation;
mod rotation_status;
mod show;
mod wheel;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use test_support::keyring::SeedKey as Key;
pub use test_support::keys::{fingerprint, openssl_fingerprint, public_pem};
use test_support::run::capture;
pub use test_support::run::{Output as Run, path};
pub use test_support::tokens::{payload_of, unix};
use xshell::{Shell, cmd};

/// The policy most tests use: the one the workspace ships.
pub const POLICY: &str = "[policy]
max_key_lifetime_days = 825
min_overlap_days = 30 # dual-key time
support_window_days = 365
runtime_override = \"deny\"
";

/// A temporary directory holding `keys/keyring.toml` and its PEM files.
pub struct Fixture {
    /// The temporary directory; `keys/` is inside it.
    pub dir: tempfile::TempDir,
    /// A shell whose current directory is `dir`.
    pub sh: Shell,
}

impl Fixture {
    /// A keyring with `policy` and `keys`, and comments that edits must keep.
    pub fn new(policy: &str, keys: &[Key<'_>]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys_dir = dir.path().join("keys");
        std::fs::create_dir(&keys_dir).expect("keys dir");
        let mut text = String::from(
            "# Test keyring. Edit with `cargo xtask keys`.\nversion = 1\nserial = 1 # bumped by every edit\nchannel = \"production\"\n\n",
        );
        text.push_str(policy);
        text.push_str(&test_support::keyring::write_seed_keys(&keys_dir, keys));
        std::fs::write(keys_dir.join("keyring.toml"), text).expect("manifest");
        let sh = Shell::new().expect("shell");
        sh.change_dir(dir.path());
        // Empty means unset: the operator's PKCS#11 settings do not leak into tests.
        sh.set_var("CAIO_PKCS11_MODULE", "");
        sh.set_var("CAIO_PKCS11_PIN", "");
        Self { dir, sh }
    }

    /// The usual start: the shipped policy and one key signing through 2026.
    pub fn one_key() -> Self {
        Self::new(
            POLICY,
            &[Key {
                id: "caio-2026-01",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z # one year\nnot_after = 2027-04-01T00:00:00Z\n",
            }],
        )
    }

    /// No policy, and one key `a` with a `not_before` only: nothing bounds the windows
    /// an edit writes.
    pub fn open_key() -> Self {
        Self::new(
            "",
            &[Key {
                id: "a",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\n",
            }],
        )
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The keys directory.
    pub fn keys_dir(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// The manifest's path (`CAIO_KEYRING` of every run).
    pub fn manifest(&self) -> PathBuf {
        self.keys_dir().join("keyring.toml")
    }

    /// The manifest's text now.
    pub fn manifest_text(&self) -> String {
        std::fs::read_to_string(self.manifest()).expect("manifest")
    }

    /// Replaces the manifest's text.
    pub fn write_manifest(&self, text: &str) {
        std::fs::write(self.manifest(), text).expect("manifest");
    }

    /// Runs `xtask ARGS...` on this fixture's keyring.
    pub fn xtask(&self, args: &[&str]) -> Run {
        self.xtask_stdin(args, b"")
    }

    /// Runs `xtask` with the arguments of `template` and `values` (see
    /// [`test_support::run::args`]) on this fixture's keyring.
    pub fn cmd(&self, template: &str, values: &[&str]) -> Run {
        self.xtask(&test_support::run::args(template, values))
    }

    /// Runs `xtask ARGS...` on this fixture's keyring with `stdin` as standard input.
    pub fn xtask_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let xtask = env!("CARGO_BIN_EXE_xtask");
        let command = cmd!(self.sh, "{xtask} {args...}")
            .env("CAIO_KEYRING", self.manifest())
            .stdin(stdin);
        capture(command, "xtask")
    }

    /// Runs `xtask` with the arguments of `template` and `values` (as [`Fixture::cmd`])
    /// and asserts a refusal: exit `code`, each of `needles` on stderr, and every file
    /// of the fixture as it was.
    pub fn refused(&self, template: &str, values: &[&str], code: i32, needles: &[&str]) -> Run {
        let before = self.snapshot();
        let run = self.cmd(template, values).expect(code);
        for needle in needles {
            test_support::run::assert_contains(&run.stderr, needle);
        }
        assert_eq!(self.snapshot(), before, "{template} changed a file");
        run
    }

    /// Every file under the fixture with its bytes and mode: what "unchanged" means.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.path().to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let mode = entry.metadata().expect("metadata").permissions().mode();
                    out.insert(path.clone(), (std::fs::read(&path).expect("read"), mode));
                }
            }
        }
        out
    }

    /// A keypair made by `openssl genpkey` in `name/`: (private.pem, public.pem).
    pub fn openssl_keypair(&self, name: &str) -> (PathBuf, PathBuf) {
        let dir = self.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let key =
            test_support::keys::openssl_keygen(&dir.join("private.pem"), &dir.join("public.pem"));
        (key.private, key.public)
    }

    /// `keys list --json` at `now`, parsed.
    pub fn list(&self, now: &str) -> serde_json::Value {
        let run = self
            .xtask(&["keys", "list", "--json", "--now", now])
            .expect(0);
        serde_json::from_str(&run.stdout).expect("list --json prints JSON")
    }
}

/// The key with `id` in `keys list --json` output.
pub fn listed<'a>(list: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    list["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("no key {id} in {list}"))
}
mod image;
