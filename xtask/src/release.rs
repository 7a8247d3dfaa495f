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
//!    that cargo did not report is a failure.
//! 4. The gate (`caio_gate`) on each binary, in process; then each built
//!    `caio-verify` is run (`keyring --json`) and its runtime view must equal the
//!    manifest's keyring.
//! 5. [`dist`]: the binaries, `SHA256SUMS` and `release.intoto.json`
//!    ([`statement`]) into the output directory.
//!
//! Not here: signing the statement (a release pipeline signs `release.intoto.json`
//! with its own identity, e.g. Sigstore), publishing, or archives and images (the
//! product's packaging; `verify-artifact` gates those).

mod build;
mod dist;
mod provenance;
mod statement;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use caio_gate::{Gate, GateOptions, Limits, Status, keyring_json};
use caio_keyring::manifest::Manifest;
use caio_keyring::{Channel, RuntimeOverride};
use clap::Args;
use xshell::{Shell, cmd};

use caio_gate::GithubEnv;

use crate::verify_artifact;
use crate::{Outcome, keys, workspace};

/// Build, gate and package the release binaries into dist/.
///
/// Runs `keys check` (a failure stops the release), refuses a development keyring
/// unless --allow-development, finds every binary of a workspace package that embeds
/// the keyring (with cargo metadata), builds them with `cargo build --release --locked`,
/// gates each one against the manifest, checks that each built caio-verify reports the
/// manifest's keyring at run time (`keyring --json`), then writes to DIR: the binaries,
/// SHA256SUMS (`sha256sum -c` format) and release.intoto.json (an in-toto Statement v1
/// with the keyring, the git commit, rustc and the target). See docs/release.md.
///
/// DIR must be missing, empty, or hold only a previous release's files (the names in
/// its SHA256SUMS, SHA256SUMS and release.intoto.json), which are replaced; any other
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
}

impl ReleaseArgs {
    /// Runs the release, step by step; see the module documentation.
    pub fn run(self) -> Result<Outcome> {
        let root = workspace::root();
        let out = self.out.clone().unwrap_or_else(|| root.join("dist"));
        let sh = Shell::new()?;
        sh.change_dir(&root);

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

        let options = GateOptions {
            allow_development: self.allow_development,
        };
        if !gate(&built.binaries, &manifest, &label, options)? {
            return Ok(Outcome::Failure);
        }
        for binary in built.binaries.iter().filter(|b| b.is_caio_verify()) {
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
        let subjects = dist::copy_binaries(&out, &previous, &built.binaries)?;
        let statement = statement::Statement::new(subjects.clone(), manifest.keyring(), build)?;
        let written = dist::write_listings(&out, &subjects, &statement)?;
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

/// The fingerprint gate on every built binary, in process, reported on stderr (with
/// GitHub annotations and summary where asked); true when all pass.
fn gate(
    binaries: &[build::Binary],
    manifest: &Manifest,
    label: &str,
    options: GateOptions,
) -> Result<bool> {
    eprintln!(
        "release: gating {} against {label}",
        plural(binaries.len(), "binary", "binaries")
    );
    let paths: Vec<PathBuf> = binaries.iter().map(|b| b.path.clone()).collect();
    let report = Gate::against(manifest.keyring(), label, options).run(&paths, &Limits::default());
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
            eprintln!("error: release stopped: a built binary failed the gate");
            Ok(false)
        }
        Status::Error => bail!("a built binary could not be examined"),
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
    let expected = keyring_json(manifest.keyring());
    let fingerprint = |v: &serde_json::Value| v["fingerprint"].as_str().unwrap_or("?").to_owned();
    if output.status.success() && restrict_to(&expected, &shown) == expected {
        eprintln!(
            "release: {} keyring --json: {} (the manifest's keyring)",
            exe.display(),
            fingerprint(&expected)
        );
        return Ok(true);
    }
    eprintln!(
        "error: {} reports keyring {} at run time, but {label} is {}:\n  run time: {shown}\n  manifest: {expected}",
        exe.display(),
        fingerprint(&shown),
        fingerprint(&expected)
    );
    Ok(false)
}

/// `value` with only the object fields that `shape` has, at every level: what the
/// runtime shows beyond the keyring's own facts (a key's `source`) is not compared.
/// Arrays keep every element, so an extra key (a runtime key) still differs.
fn restrict_to(shape: &serde_json::Value, value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match (shape, value) {
        (Value::Object(shape), Value::Object(value)) => Value::Object(
            value
                .iter()
                .filter_map(|(k, v)| shape.get(k).map(|s| (k.clone(), restrict_to(s, v))))
                .collect(),
        ),
        (Value::Array(shape), Value::Array(value)) => Value::Array(
            value
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    shape
                        .get(i)
                        .map_or_else(|| v.clone(), |s| restrict_to(s, v))
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_runtime_view_is_compared_on_the_keyrings_own_fields() {
        let expected =
            json!({"fingerprint": "sha256:aa", "keys": [{"id": "a", "not_after": null}]});
        let check = |shown: serde_json::Value, equal: bool| {
            assert_eq!(restrict_to(&expected, &shown) == expected, equal, "{shown}");
        };
        check(
            json!({"fingerprint": "sha256:aa", "keys": [{"id": "a", "not_after": null, "source": "embedded"}], "x": 1}),
            true,
        );
        check(
            json!({"fingerprint": "sha256:aa", "keys": [{"id": "a", "not_after": null}, {"id": "r", "source": "runtime"}]}),
            false,
        );
        check(
            json!({"fingerprint": "sha256:aa", "keys": [{"id": "a"}]}),
            false,
        );
        check(
            json!({"fingerprint": "sha256:bb", "keys": [{"id": "a", "not_after": null}]}),
            false,
        );
        check(json!({"fingerprint": "sha256:aa", "keys": []}), false);
    }
}
