//! `cargo xtask dev ...`: a development key and keyring for this checkout, so a developer
//! builds a binary that accepts licenses they issue themselves, without the production key.
//!
//! `dev init` makes, once, `target/caio-dev/private.pem` (written by `cargo xtask keygen`
//! itself, run as a child process: PKCS#8 v1, mode 0600, never overwritten) and the
//! keyring `target/caio-dev/keyring/keyring.toml` (`channel = "development"`, one key
//! `caio-dev` from the moment of `init`, with no end, `runtime_override = "deny"`), and
//! prints `export CAIO_KEYRING=...` for `eval`; run again, it reuses both. `dev license`
//! signs a license with that key and verifies it against that keyring before printing
//! it. `dev status` says which keyring the next build embeds. The private key sits
//! outside the keyring's directory, so `keys check` on the development keyring passes.
//!
//! Not here: anything a release ships. A development keyring is refused by `release` and
//! by the gate (channel `development`), and a production build never trusts the
//! development key, so a development license earns `unknown_key` there.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use caio_keyring::manifest::Manifest;
use caio_keyring::{Channel, Fingerprint};
use caio_verify::{Claims, Options, Verifier};
use clap::{Args, Subcommand};
use xshell::{Shell, cmd};

use crate::signer::{KeyArg, KeyringSigner};
use crate::time::{Clock, DAY, InstantArg, format_instant};
use crate::{Outcome, fsutil, keygen, verify_artifact, workspace};

/// The id of the development key in the development keyring.
pub const KEY_ID: &str = "caio-dev";

/// How long a development license verifies when `--expires` is not given.
pub const DEFAULT_LIFETIME_DAYS: i64 = 30;

/// A development key and keyring for this checkout (under target/caio-dev/): init,
/// license, status.
///
/// Three commands from a fresh clone to a binary that accepts your own license:
/// `eval "$(cargo xtask dev init)"`, `cargo build -p caio-cli`,
/// `target/debug/caio-verify license "$(cargo xtask dev license)"`. Release builds refuse
/// a development keyring, and production builds reject development licenses
/// (`unknown_key`).
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The development directory [default: target/caio-dev under the workspace root]
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: DevCommand,
}

/// The `dev` commands. Each command's help is the doc of its arguments struct.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    Init(InitArgs),
    License(LicenseArgs),
    Status(StatusArgs),
}

/// Create (once) the development key and keyring, and print the line that makes builds
/// embed the keyring: `export CAIO_KEYRING=<absolute path>` (use it with
/// `eval "$(cargo xtask dev init)"`).
///
/// Writes DIR/private.pem (PKCS#8 v1, mode 0600, with `cargo xtask keygen`),
/// DIR/public.pem, and DIR/keyring/keyring.toml with DIR/keyring/caio-dev.pem: channel
/// "development", runtime_override "deny", one key `caio-dev` valid from now on, with no
/// end. Run again, it reuses what exists and says so; it never overwrites a private key.
/// Notes go to stderr; stdout holds the export line only.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// Issue a development license: sign it with the development key, verify it against the
/// development keyring, and print it on stdout.
///
/// Needs `cargo xtask dev init` first (exit 2 otherwise). Only builds that embed the
/// development keyring accept the license; production builds reject it (`unknown_key`).
/// Instants are RFC 3339 (2027-01-17T00:00:00Z), a date (midnight UTC) or `now`.
#[derive(Debug, Args)]
pub struct LicenseArgs {
    /// The licensee (`sub`)
    #[arg(long, value_name = "NAME", default_value = "developer")]
    licensee: String,
    /// A licensed feature; repeat for several
    #[arg(long = "feature", value_name = "F")]
    features: Vec<String>,
    /// The number of seats
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
    seats: Option<i64>,
    /// When the license stops verifying (`exp`) [default: 30 days from now]
    #[arg(long, value_name = "T")]
    expires: Option<InstantArg>,
}

/// Show which keyring the next build embeds: CAIO_KEYRING if set and not empty
/// (relative paths against the workspace root), else keys/keyring.toml; with its
/// channel, fingerprint and keys, and whether it is this checkout's development keyring.
#[derive(Debug, Args)]
pub struct StatusArgs {}

impl DevArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let dev = DevDir::new(self.dir.as_deref())?;
        match self.command {
            DevCommand::Init(args) => args.run(&dev),
            DevCommand::License(args) => args.run(&dev, Clock::new(None)),
            DevCommand::Status(args) => args.run(&dev),
        }
    }
}

impl InitArgs {
    fn run(self, dev: &DevDir) -> Result<Outcome> {
        let private = dev.private_pem();
        if private.symlink_metadata().is_ok() {
            eprintln!(
                "dev init: reusing the development key {}",
                private.display()
            );
        } else {
            keygen_into(&dev.root)?;
            eprintln!(
                "dev init: created the development key {} (PKCS#8 v1, mode 0600) and {}",
                private.display(),
                dev.public_pem().display()
            );
        }
        let raw = crate::signer::pem::read_private_key(&private)?
            .verifying_key()
            .to_bytes();
        let fingerprint = Fingerprint::of_ed25519(&raw);

        let manifest_path = dev.manifest();
        if manifest_path.symlink_metadata().is_ok() {
            let Some(manifest) = load(&manifest_path) else {
                eprintln!(
                    "error: {} is not a usable keyring; delete {} and run `cargo xtask dev init` again",
                    manifest_path.display(),
                    dev.keyring_dir().display()
                );
                return Ok(Outcome::Failure);
            };
            if let Some(problem) = not_the_dev_keyring(&manifest, fingerprint) {
                eprintln!(
                    "error: {}: {problem}; delete {} and run `cargo xtask dev init` again",
                    manifest_path.display(),
                    dev.keyring_dir().display()
                );
                return Ok(Outcome::Failure);
            }
            eprintln!(
                "dev init: reusing the development keyring {}",
                manifest_path.display()
            );
        } else {
            let keyring_dir = dev.keyring_dir();
            std::fs::create_dir_all(&keyring_dir)
                .with_context(|| format!("cannot create {}", keyring_dir.display()))?;
            let pem = keyring_dir.join(format!("{KEY_ID}.pem"));
            fsutil::write_atomic(&pem, keygen::spki_pem(&raw).as_bytes())?;
            let text = keyring_text(fingerprint, Clock::new(None).now());
            fsutil::write_atomic(&manifest_path, text.as_bytes())?;
            let Some(manifest) = load(&manifest_path) else {
                bail!(
                    "{}: the development keyring just written does not load",
                    manifest_path.display()
                );
            };
            eprintln!(
                "dev init: wrote the development keyring {} (channel \"development\", key {KEY_ID} {fingerprint}, keyring {})",
                manifest_path.display(),
                manifest.keyring().fingerprint()
            );
        }

        println!(
            "export CAIO_KEYRING={}",
            shell_quote(manifest_path.as_os_str())?
        );
        eprintln!(
            "dev init: builds embed it once CAIO_KEYRING is exported: \
             eval \"$(cargo xtask dev init)\"; cargo build -p caio-cli; \
             target/debug/caio-verify license \"$(cargo xtask dev license)\". \
             Before `cargo xtask release`: unset CAIO_KEYRING"
        );
        Ok(Outcome::Success)
    }
}

impl LicenseArgs {
    fn run(self, dev: &DevDir, clock: Clock) -> Result<Outcome> {
        let private = dev.private_pem();
        let manifest_path = dev.manifest();
        for needed in [&private, &manifest_path] {
            if needed.symlink_metadata().is_err() {
                bail!(
                    "{} does not exist: there is no development key yet; run `cargo xtask dev init` first",
                    needed.display()
                );
            }
        }
        if self.licensee.trim().is_empty() {
            bail!("--licensee is empty; name the licensee");
        }
        let Some(manifest) = load(&manifest_path) else {
            return Ok(Outcome::Failure);
        };
        if manifest.channel() != Channel::Development {
            eprintln!(
                "error: {}: channel is not \"development\"; `dev license` signs for the development keyring only",
                manifest_path.display()
            );
            return Ok(Outcome::Failure);
        }
        let now = clock.now();
        let exp = self
            .expires
            .map_or(now + DEFAULT_LIFETIME_DAYS * DAY, |t| t.resolve(clock));
        if exp <= now {
            bail!(
                "--expires {} is not after now ({}); a license must expire in the future",
                format_instant(exp),
                format_instant(now)
            );
        }
        let Some(signer) = KeyringSigner::open(&manifest, &KeyArg::Path(private), now)? else {
            return Ok(Outcome::Failure);
        };
        let lid = format!("DEV-{}", hex::encode(random_bytes()?));
        let claims = Claims {
            exp: Some(exp),
            features: (!self.features.is_empty()).then(|| self.features.clone()),
            seats: self.seats,
            ..Claims::new(signer.kid(), lid.clone(), self.licensee.clone(), now)
        };
        let token = crate::license::token::sign(&signer, &claims)?;

        // Fail closed: the development keyring must accept the license now.
        if let Err(rejection) = Verifier::new(manifest.keyring(), Options::at(now)).verify(&token) {
            eprintln!(
                "error: {}: the development license just signed does not verify ({}): {}; nothing was printed",
                manifest_path.display(),
                rejection.reason,
                rejection.detail
            );
            return Ok(Outcome::Failure);
        }
        println!("{token}");
        eprintln!(
            "dev license: {lid:?} for {:?}, key {KEY_ID} ({}), expires {}; only builds that embed {} accept it",
            self.licensee,
            signer.kid(),
            format_instant(exp),
            manifest_path.display()
        );
        if !same_file(&workspace::manifest_path(), &manifest_path) {
            eprintln!(
                "note: CAIO_KEYRING does not name the development keyring, so a build from this \
                 shell embeds {} and rejects this license (unknown_key); run \
                 eval \"$(cargo xtask dev init)\" first",
                verify_artifact::manifest_label(&workspace::manifest_path())
            );
        }
        Ok(Outcome::Success)
    }
}

impl StatusArgs {
    fn run(self, dev: &DevDir) -> Result<Outcome> {
        let path = workspace::manifest_path();
        let from = match std::env::var_os("CAIO_KEYRING") {
            Some(value) if !value.is_empty() => "from CAIO_KEYRING",
            _ => "the default; CAIO_KEYRING is not set",
        };
        println!(
            "next build embeds: {} ({from})",
            verify_artifact::manifest_label(&path)
        );
        let Some(manifest) = load(&path) else {
            return Ok(Outcome::Failure);
        };
        let keyring = manifest.keyring();
        println!("channel:           {}", keyring.channel().name());
        println!("runtime_override:  {}", keyring.runtime_override().name());
        println!("fingerprint:       {}", keyring.fingerprint());
        println!("serial:            {}", keyring.serial());
        for key in manifest.keys() {
            println!(
                "key:               {} {} ({})",
                key.id.as_str(),
                key.fingerprint,
                if key.status == caio_keyring::manifest::KeyStatus::Revoked {
                    "revoked"
                } else {
                    "embedded"
                }
            );
        }
        let dev_state = if same_file(&path, &dev.manifest()) {
            "this is it"
        } else if dev.manifest().exists() {
            "exists, not in use"
        } else {
            "none yet (`cargo xtask dev init`)"
        };
        println!(
            "development keyring: {} ({dev_state})",
            dev.manifest().display()
        );
        if keyring.channel() == Channel::Development {
            eprintln!(
                "note: a development keyring: `cargo xtask release` refuses it; run \
                 `unset CAIO_KEYRING` to build with keys/keyring.toml"
            );
        }
        Ok(Outcome::Success)
    }
}

/// For `release`: a warning on stderr when the shell exports a `CAIO_KEYRING` that
/// names a development keyring (as `eval "$(cargo xtask dev init)"` leaves it), since
/// every build from that shell embeds it. `release` itself still refuses it.
pub fn warn_if_a_development_keyring_is_exported() {
    match std::env::var_os("CAIO_KEYRING") {
        Some(value) if !value.is_empty() => {}
        _ => return,
    }
    let path = workspace::manifest_path();
    let development = Manifest::load(&path).is_ok_and(|m| m.channel() == Channel::Development)
        || DevDir::new(None).is_ok_and(|dev| same_file(&path, &dev.manifest()));
    if development {
        eprintln!(
            "warning: this shell exports CAIO_KEYRING={}, a development keyring (as \
             `cargo xtask dev init` prints it); release builds embed what CAIO_KEYRING names: \
             run `unset CAIO_KEYRING` to release keys/keyring.toml",
            path.display()
        );
    }
}

/// Where the development files live.
#[derive(Debug)]
struct DevDir {
    /// Absolute: the directory of private.pem and public.pem.
    root: PathBuf,
}

impl DevDir {
    /// `dir`, or `target/caio-dev` under the workspace root, made absolute.
    fn new(dir: Option<&Path>) -> Result<Self> {
        let root = match dir {
            Some(dir) => std::path::absolute(dir)
                .with_context(|| format!("cannot resolve --dir {}", dir.display()))?,
            None => workspace::root().join("target").join("caio-dev"),
        };
        Ok(Self { root })
    }

    fn private_pem(&self) -> PathBuf {
        self.root.join("private.pem")
    }

    fn public_pem(&self) -> PathBuf {
        self.root.join("public.pem")
    }

    fn keyring_dir(&self) -> PathBuf {
        self.root.join("keyring")
    }

    fn manifest(&self) -> PathBuf {
        self.keyring_dir().join("keyring.toml")
    }
}

/// Runs `cargo xtask keygen DIR` (this very binary), so the development key is written
/// by keygen's own writer; its report is shown only when it fails.
fn keygen_into(dir: &Path) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the xtask executable")?;
    let sh = Shell::new()?;
    let output = cmd!(sh, "{exe} keygen {dir}")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("cannot run {} keygen", exe.display()))?;
    if !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        bail!(
            "`cargo xtask keygen {}` failed (exit {:?}); nothing was exported",
            dir.display(),
            output.status.code()
        );
    }
    Ok(())
}

/// The development keyring: one key from `now` on, no end, no policy but the runtime
/// override (deny, as in production, so a development build differs only in its key).
fn keyring_text(fingerprint: Fingerprint, now: i64) -> String {
    format!(
        "# The development keyring of this checkout, written by `cargo xtask dev init`.\n\
         # Its private key is ../private.pem. It lives under target/ and is never committed;\n\
         # `cargo xtask release` and the gate refuse it (channel = \"development\").\n\
         version = 1\n\
         serial = 1\n\
         channel = \"development\"\n\
         \n\
         [policy]\n\
         runtime_override = \"deny\"\n\
         \n\
         [[key]]\n\
         id = \"{KEY_ID}\"\n\
         algorithm = \"ed25519\"\n\
         public_key = \"{KEY_ID}.pem\"\n\
         fingerprint = \"{fingerprint}\"\n\
         not_before = {}\n",
        format_instant(now)
    )
}

/// Why `manifest` is not the development keyring of the key `fingerprint`, if it is not.
fn not_the_dev_keyring(manifest: &Manifest, fingerprint: Fingerprint) -> Option<String> {
    if manifest.channel() != Channel::Development {
        return Some("channel is not \"development\"".to_owned());
    }
    if !manifest.keys().iter().any(|k| k.fingerprint == fingerprint) {
        return Some(format!(
            "no key has fingerprint {fingerprint}, the development key's"
        ));
    }
    None
}

/// Loads a manifest; on errors prints each (naming the file, line, key and field) and
/// returns `None`.
fn load(path: &Path) -> Option<Manifest> {
    match Manifest::load(path) {
        Ok(manifest) => Some(manifest),
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            None
        }
    }
}

/// Whether two paths name one file (both exist and resolve to the same place).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `value` quoted for a POSIX shell: in single quotes, each `'` as `'\''`.
fn shell_quote(value: &OsStr) -> Result<String> {
    let Some(text) = value.to_str() else {
        bail!(
            "{} is not UTF-8; use --dir with a UTF-8 path",
            value.to_string_lossy()
        );
    };
    Ok(format!("'{}'", text.replace('\'', "'\\''")))
}

/// Eight random bytes from the operating system, for a license id.
fn random_bytes() -> Result<[u8; 8]> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the operating system's random source failed: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell() {
        let check = |input: &str, expected: &str| {
            assert_eq!(shell_quote(OsStr::new(input)).unwrap(), expected, "{input}");
        };
        check(
            "/w/target/caio-dev/keyring/keyring.toml",
            "'/w/target/caio-dev/keyring/keyring.toml'",
        );
        check("/a b/$HOME/`x`", "'/a b/$HOME/`x`'");
        check("/it's", "'/it'\\''s'");
    }

    #[test]
    fn the_development_keyring_is_a_development_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let raw = ed25519_dalek::SigningKey::from_bytes(&[3; 32])
            .verifying_key()
            .to_bytes();
        let fingerprint = Fingerprint::of_ed25519(&raw);
        std::fs::write(dir.path().join("caio-dev.pem"), keygen::spki_pem(&raw)).unwrap();
        let path = dir.path().join("keyring.toml");
        std::fs::write(&path, keyring_text(fingerprint, 1_800_000_000)).unwrap();
        let manifest = Manifest::load(&path).expect("loads");
        assert_eq!(not_the_dev_keyring(&manifest, fingerprint), None);
        assert_eq!(manifest.keyring().runtime_override().name(), "deny");
        let other = Fingerprint::of_ed25519(
            &ed25519_dalek::SigningKey::from_bytes(&[4; 32])
                .verifying_key()
                .to_bytes(),
        );
        assert!(not_the_dev_keyring(&manifest, other).is_some());
    }
}
