//! `cargo xtask release`: the runbook's step 5 in one command. Check the manifest,
//! build every binary that embeds the keyring, prove each one carries exactly the
//! manifest's keyring, and write them to `dist/` with `SHA256SUMS` and an in-toto
//! release statement.
//!
//! The steps, each of which stops the release on failure (exit 1 for a failed check,
//! 2 for an error; nothing is written to the output directory until every check held):
//!
//! 1. `keys check` (the build's checks, the policy at the current time, `keys/`), and
//!    the channel: a development keyring (or `runtime_override = "allow"`) is refused
//!    unless `--allow-development`.
//! 2. [`build::plan`]: from `cargo metadata`, every binary target of each workspace
//!    package that embeds a keyring (depends on `caio-verify` or `caio-pubkey-macro`,
//!    or is `caio-verify`), with its `required-features`.
//! 3. [`build::build`]: one `cargo build --release --locked` for all of them, with
//!    `--remap-path-prefix` flags so that two checkouts at different paths build the
//!    same bytes; the binaries' paths come from cargo's JSON messages, and a binary
//!    that cargo did not report is a failure. Then, unless `--no-wheel`, [`wheel::build`]:
//!    the Python wheel (`caio-verify-py/`, by maturin, with the same rustflags); unless
//!    `--no-image`, [`image::build`]: `caio-verify` statically linked, in an OCI image
//!    archive that `docker load` also reads.
//! 4. The gate (`caio_gate`) on each binary, the wheel and the image, in process; then
//!    each built `caio-verify` (the image's too) is run (`keyring --json`) and its runtime
//!    view must equal the manifest's keyring.
//! 5. [`dist`]: the binaries, the wheel, the image, `SHA256SUMS` and `release.intoto.json`
//!    ([`statement`]) into the output directory; with `--sign KEY`, also
//!    `release.intoto.jsonl`, the statement in a DSSE envelope signed by the release
//!    key ([`dsse`]), which may not be a key of the keyring (it is opened, and refused,
//!    before the build).
//!
//! Not here: publishing, or the product's own archives and images (`verify-artifact`
//! gates those). A shell that still exports a development
//! `CAIO_KEYRING` (`cargo xtask dev init`) earns a warning first.

mod build;
mod dist;
mod dsse;
mod image;
mod provenance;
mod statement;
mod wheel;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use caio_gate::{Gate, GateOptions, Limits, Status};
use caio_keyring::manifest::Manifest;
use caio_keyring::view::KeyringView;
use caio_keyring::{Channel, RuntimeOverride};
use caio_verify::KeySource;
use clap::Args;
use serde::Deserialize as _;
use xshell::{Shell, cmd};

use caio_gate::GithubEnv;

pub use self::dsse::VerifyStatementArgs;
use crate::signer::{KeyArg, Signer};
use crate::verify_artifact;
use crate::{Outcome, dev, keys, workspace};

/// Build, gate and package the release binaries into dist/.
///
/// Runs `keys check` (a failure stops the release), refuses a development keyring
/// unless --allow-development, finds every binary of a workspace package that embeds
/// the keyring (with cargo metadata), builds them with `cargo build --release --locked`,
/// gates each one against the manifest, checks that each built caio-verify reports the
/// manifest's keyring at run time (`keyring --json`), then writes to DIR: the binaries,
/// the Python wheel, caio-verify-image.tar (an OCI image of a static caio-verify that
/// `docker load` also reads), SHA256SUMS (`sha256sum -c` format) and release.intoto.json
/// (an in-toto Statement v1 with the keyring, the git commit, rustc and the target);
/// with --sign, also
/// release.intoto.jsonl (the statement in a signed DSSE envelope). See docs/release.md.
///
/// DIR must be missing, empty, or hold only a previous release's files (the names in
/// its SHA256SUMS, SHA256SUMS, release.intoto.json and .jsonl), which are replaced; any other
/// file there is an error, so nothing but a release is ever deleted.
///
/// Exit 0 when the release was written; 1 when a check failed (the manifest, the
/// development channel, a missing binary, the gate, the runtime view); 2 for a usage,
/// build or I/O error.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Where to write the release (default: dist/ under the workspace root)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Build for this target triple (passed to cargo build --target)
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// Release a development-channel keyring, or one with runtime_override = "allow"
    #[arg(long)]
    allow_development: bool,

    /// Also write release.intoto.jsonl: the statement in a DSSE envelope signed with KEY,
    /// a release key (PKCS#8 PEM file or pkcs11: URI, as `license issue --key` takes),
    /// never a key of the keyring. Check it with `cargo xtask verify-statement`.
    #[arg(long, value_name = "KEY")]
    sign: Option<KeyArg>,

    /// Do not build the Python wheel (caio_verify, with maturin)
    #[arg(long)]
    no_wheel: bool,

    /// Do not build the container image (caio-verify-image.tar: a static caio-verify)
    #[arg(long)]
    no_image: bool,
}

impl ReleaseArgs {
    /// Runs the release, step by step; see the module documentation.
    pub fn run(self) -> Result<Outcome> {
        let root = workspace::root();
        let out = self.out.clone().unwrap_or_else(|| root.join("dist"));
        let sh = Shell::new()?;
        sh.change_dir(&root);

        dev::warn_if_a_development_keyring_is_exported();
        eprintln!("release: checking the manifest (cargo xtask keys check)");
        if keys::check_now()? == Outcome::Failure {
            eprintln!("error: release stopped: `cargo xtask keys check` failed");
            return Ok(Outcome::Failure);
        }
        let manifest_path = workspace::manifest_path();
        let label = verify_artifact::manifest_label(&manifest_path);
        let manifest = Manifest::load(&manifest_path)
            .with_context(|| format!("cannot use the manifest {label}"))?;
        if let Some(why) = development(&manifest)
            && !self.allow_development
        {
            eprintln!(
                "error: release stopped: {label} is a development keyring ({why}); \
                 release builds need channel = \"production\" and a runtime_override other \
                 than \"allow\", or pass --allow-development for a development release"
            );
            return Ok(Outcome::Failure);
        }
        // Refused before the build, which takes minutes.
        let signer = match &self.sign {
            Some(key) => match release_signer(key, &manifest)? {
                Some(signer) => Some(signer),
                None => return Ok(Outcome::Failure),
            },
            None => None,
        };
        let previous = dist::prepare(&out)?;
        // Before anything is written: a release directory inside the tree is not a change.
        let git_commit = provenance::git_commit(&sh);

        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let rustc = provenance::rustc(&sh)?;
        let target = self.target.clone().unwrap_or_else(|| rustc.host.clone());
        let metadata = build::metadata(&sh, &cargo)?;
        let plan = build::plan(&metadata)?;
        if plan.is_empty() {
            bail!("no workspace package embeds a keyring: nothing to release");
        }
        let names: Vec<String> = plan.iter().map(ToString::to_string).collect();
        eprintln!("release: building {} for {target}", names.join(", "));
        let built = build::build(&sh, &cargo, &metadata, &plan, self.target.as_deref())?;
        if !built.missing.is_empty() {
            for bin in &built.missing {
                eprintln!("error: cargo built no executable for {bin}");
            }
            return Ok(Outcome::Failure);
        }

        // The packages: built after the binaries, gated with them, before anything is written.
        let epoch = wheel::source_date_epoch(&sh)?;
        let wheel = if self.no_wheel {
            None
        } else {
            eprintln!("release: building the Python wheel ({})", wheel::CRATE_DIR);
            Some(wheel::build(&sh, &metadata, self.target.as_deref(), epoch)?)
        };
        let image = if self.no_image {
            None
        } else {
            let description = image::Description::new(
                &metadata,
                git_commit.clone(),
                manifest.keyring(),
                epoch,
                &target,
            )?;
            eprintln!("release: building the container image (a static caio-verify for {target})");
            let image = image::build(&sh, &cargo, &metadata, &plan, &target, &description)?;
            eprintln!("release: image {} ({})", image.digest, image::FILE_NAME);
            Some(image)
        };
        let mut artifacts: Vec<PathBuf> = built.binaries.iter().map(|b| b.path.clone()).collect();
        artifacts.extend(wheel.iter().map(|w| w.path.clone()));
        artifacts.extend(image.iter().map(|i| i.path.clone()));

        let options = GateOptions {
            allow_development: self.allow_development,
        };
        if !gate(&artifacts, &manifest, &label, options)? {
            return Ok(Outcome::Failure);
        }
        let in_image = image.iter().map(|i| &i.binary);
        for binary in built
            .binaries
            .iter()
            .filter(|b| b.is_caio_verify())
            .chain(in_image)
        {
            if target != rustc.host {
                eprintln!(
                    "warning: {}: built for {target}, which this {} host cannot run: its \
                     runtime view of the keyring was not checked",
                    binary.path.display(),
                    rustc.host
                );
            } else if !runtime_view_matches(&sh, binary, &manifest, &label)? {
                return Ok(Outcome::Failure);
            }
        }

        let build = statement::Build {
            git_commit,
            rustc,
            target,
        };
        let mut subjects = dist::copy_binaries(&out, &previous, &built.binaries)?;
        if let Some(wheel) = &wheel {
            subjects.push(dist::copy_artifact(&out, &wheel.path, &wheel.name, 0o644)?);
        }
        if let Some(image) = &image {
            subjects.push(dist::copy_artifact(
                &out,
                &image.path,
                image::FILE_NAME,
                0o644,
            )?);
        }
        let statement = statement::Statement::new(subjects.clone(), manifest.keyring(), build)?;
        let envelope = match &signer {
            Some(signer) => {
                let payload = statement.to_json()?;
                Some(dsse::Envelope::sign(payload.as_bytes(), signer)?.to_line()?)
            }
            None => None,
        };
        let written = dist::write_listings(&out, &subjects, &statement, envelope.as_deref())?;
        eprintln!(
            "release: wrote {} ({}) for keyring {} (serial {})",
            out.display(),
            written.join(", "),
            manifest.keyring().fingerprint(),
            manifest.keyring().serial()
        );
        Ok(Outcome::Success)
    }
}

/// Opens the release signing key; refuses (on stderr, returning `None`) a key that the
/// released keyring or keys/keyring.toml lists, revoked or not: a license key signs
/// licenses only, and a release key never verifies a license.
fn release_signer(key: &KeyArg, manifest: &Manifest) -> Result<Option<Signer>> {
    let signer = Signer::open(key)?;
    let fingerprint = signer.fingerprint();
    let workspace_keys = Manifest::load(&workspace::root().join("keys").join("keyring.toml")).ok();
    for listed in std::iter::once(manifest).chain(workspace_keys.as_ref()) {
        if let Some(entry) = listed.keys().iter().find(|k| k.fingerprint == fingerprint) {
            eprintln!(
                "error: release stopped: --sign {}: {}:{}: key {:?} has this fingerprint                  ({fingerprint}); that is a license key, and the release statement must be                  signed with a separate release key (docs/release.md)",
                signer.name(),
                listed.path().display(),
                entry.line,
                entry.id.as_str()
            );
            return Ok(None);
        }
    }
    eprintln!(
        "release: the statement will be signed by {fingerprint} ({})",
        signer.name()
    );
    Ok(Some(signer))
}

/// `1 binary`, `2 binaries`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why `manifest` is a development keyring, if it is one.
fn development(manifest: &Manifest) -> Option<String> {
    let keyring = manifest.keyring();
    let mut why = Vec::new();
    if keyring.channel() == Channel::Development {
        why.push("channel = \"development\"".to_owned());
    }
    if keyring.runtime_override() == RuntimeOverride::Allow {
        why.push("runtime_override = \"allow\"".to_owned());
    }
    (!why.is_empty()).then(|| why.join(", "))
}

/// The fingerprint gate on every built artifact (the binaries and the wheel), in process,
/// reported on stderr (with GitHub annotations and summary where asked); true when all pass.
fn gate(paths: &[PathBuf], manifest: &Manifest, label: &str, options: GateOptions) -> Result<bool> {
    eprintln!(
        "release: gating {} against {label}",
        plural(paths.len(), "artifact", "artifacts")
    );
    let report = Gate::against(manifest.keyring(), label, options).run(paths, &Limits::default());
    // The product is `dist/`: the report and its warnings both go to stderr.
    let (mut report_to, mut warnings_to) = (std::io::stderr(), std::io::stderr());
    caio_cli::check::emit(
        &report,
        false,
        &GithubEnv::from_process(),
        &mut report_to,
        &mut warnings_to,
    )?;
    match report.status() {
        Status::Pass => Ok(true),
        Status::Fail => {
            eprintln!("error: release stopped: a built artifact failed the gate");
            Ok(false)
        }
        Status::Error => bail!("a built artifact could not be examined"),
    }
}

/// Runs `binary keyring --json` and compares what the program itself trusts with the
/// manifest's keyring; prints the difference and returns false when they differ.
fn runtime_view_matches(
    sh: &Shell,
    binary: &build::Binary,
    manifest: &Manifest,
    label: &str,
) -> Result<bool> {
    let exe = &binary.path;
    let output = cmd!(sh, "{exe} keyring --json")
        .env("RUST_LOG", "off")
        .env_remove("CAIO_LICENSE_PUBLIC_KEY")
        .quiet()
        .ignore_status()
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{} keyring --json printed no JSON (exit {:?}): {}",
            exe.display(),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    let expected = KeyringView::of(manifest.keyring());
    if output.status.success() && runtime_keyring(&shown).as_ref() == Some(&expected) {
        eprintln!(
            "release: {} keyring --json: {} (the manifest's keyring)",
            exe.display(),
            expected.summary.fingerprint
        );
        return Ok(true);
    }
    eprintln!(
        "error: {} reports keyring {} at run time, but {label} is {}:\n  run time: {shown}\n  manifest: {}",
        exe.display(),
        shown["fingerprint"].as_str().unwrap_or("?"),
        expected.summary.fingerprint,
        serde_json::to_string(&expected)?
    );
    Ok(false)
}

/// What `keyring --json` shows, as the keyring's own view: an embedded key's `source`
/// is left aside (the manifest's view has none), and a runtime key stays an extra key,
/// so it differs. `None` when the JSON is not a keyring (a corrupt block's report, a
/// key without a window end).
fn runtime_keyring(shown: &serde_json::Value) -> Option<KeyringView> {
    let mut view = KeyringView::deserialize(shown).ok()?;
    for key in &mut view.keys {
        if key.source.as_deref() == Some(KeySource::Embedded.name()) {
            key.source = None;
        }
    }
    Some(view)
}

#[cfg(test)]
mod tests {
    use caio_keyring::{OPEN_END, Validity};
    use serde_json::{Value, json};
    use test_support::keyring::one_key_in;

    use super::*;

    #[test]
    fn the_runtime_view_is_compared_on_the_keyrings_own_fields() {
        let window = Validity {
            not_before: 1_800_000_000,
            sign_until: OPEN_END,
            not_after: OPEN_END,
        };
        let keyring = one_key_in([1; 32], "a", window);
        let expected = KeyringView::of(&keyring);
        let check = |edit: &dyn Fn(&mut Value), equal: bool| {
            let mut shown = serde_json::to_value(&expected).unwrap();
            edit(&mut shown);
            let same = runtime_keyring(&shown).as_ref() == Some(&expected);
            assert_eq!(same, equal, "{shown}");
        };
        check(&|_| {}, true);
        check(
            &|v| {
                v["keys"][0]["source"] = "embedded".into();
                v["x"] = 1.into();
            },
            true,
        );
        check(&|v| v["keys"][0]["source"] = "runtime".into(), false);
        check(
            &|v| {
                let mut runtime = v["keys"][0].clone();
                runtime["source"] = "runtime".into();
                runtime["endorsed_by"] = Value::Null;
                v["keys"].as_array_mut().unwrap().push(runtime);
            },
            false,
        );
        check(
            &|v| {
                v["keys"][0].as_object_mut().unwrap().remove("not_after");
            },
            false,
        );
        check(&|v| v["fingerprint"] = "sha256:bb".into(), false);
        check(&|v| v["keys"] = json!([]), false);
        check(
            &|v| *v = json!({"reason": "keyring_corrupt", "detail": "x"}),
            false,
        );
    }
}
