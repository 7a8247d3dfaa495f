//! `caio-verify check`: the release gate. Every keyring block in every artifact must be
//! byte for byte the block the manifest encodes to; the same gate as `cargo xtask
//! verify-artifact`.
//!
//! Also home of what `check` and `inspect` share: printing a report to stdout (text or
//! JSON), GitHub workflow annotations, the job summary, and the outcome. The verdicts
//! themselves come from `caio_gate`; nothing here decides one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use caio_gate::{Gate, GateOptions, GateReport, GithubEnv, Limits, Status};
use caio_keyring::manifest::Manifest;

use crate::{Io, Outcome};

/// Gate artifacts against a keyring manifest (the CI fingerprint gate).
///
/// Scans each PATH (a binary, a tar / tar.gz / tar.zst, a zip or wheel, a `docker save`
/// tarball or OCI image layout, or a directory of them; recognised by content, nested
/// to any depth within the limits) for embedded keyring blocks, and compares each block
/// with the block that --manifest encodes to.
///
/// A path passes when it holds at least one block and every block is identical to the
/// manifest's encoding, and no private key is in it. It fails (exit 1) when it holds a
/// private key (a PEM private key, or the DER of an Ed25519 private key; where it is is
/// reported, never its bytes), when no block is found, a block is corrupt, a
/// block differs (each differing key is named: added, missing, other public key, other
/// window, and both keyring fingerprints), or a block is a development keyring (channel
/// "development" or runtime override "allow") without --allow-development. A path that
/// cannot be read, a malformed archive or an artifact over a limit is an error (exit 2),
/// never a pass. Every path is examined and reported before exiting; the exit code is
/// the worst result: 2 if any path is an error, else 1 if any failed, else 0.
///
/// Results go to stdout: text, or with --json one JSON document. Findings inside
/// archives are shown as PATH!member!member. When GITHUB_ACTIONS=true each failure is
/// also an `::error` workflow command naming the artifact and the manifest (on stdout,
/// or on stderr with --json so stdout stays JSON); when GITHUB_STEP_SUMMARY is set, a
/// Markdown table of the results is appended to that file. See docs/gate.md.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The keyring manifest every block must match (keys/keyring.toml)
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,

    #[command(flatten)]
    gate: GateArgs,
}

/// The gate's arguments, the same in `caio-verify check` and `cargo xtask
/// verify-artifact`.
#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// Artifacts to gate: files or directories
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,

    /// Let development-channel keyrings and the `allow` runtime override pass
    #[arg(long)]
    allow_development: bool,
}

impl CheckArgs {
    pub(crate) fn run(self, io: &mut Io<'_>) -> anyhow::Result<Outcome> {
        let label = self.manifest.display().to_string();
        self.gate
            .run(&self.manifest, label, &GithubEnv::from_process(), io)
    }
}

impl GateArgs {
    /// Gates every path against the manifest at `manifest` (named `label` in messages
    /// and annotations) and prints the report as `github` asks.
    pub fn run(
        self,
        manifest: &Path,
        label: String,
        github: &GithubEnv,
        io: &mut Io<'_>,
    ) -> anyhow::Result<Outcome> {
        let manifest =
            Manifest::load(manifest).with_context(|| format!("cannot use the manifest {label}"))?;
        let options = GateOptions {
            allow_development: self.allow_development,
        };
        let gate = Gate::against(manifest.keyring(), label, options);
        let report = gate.run(&self.paths, &Limits::default());
        emit(&report, self.json, github, &mut *io.stdout, &mut *io.stderr)
    }
}

/// Prints `report` (text or JSON on `out`; annotations beside a JSON report on `err`),
/// the GitHub annotations and summary that `github` asks for, and returns the outcome.
pub fn emit(
    report: &GateReport,
    json: bool,
    github: &GithubEnv,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    report
        .write_to(json, github, out, err)
        .context("cannot write the report")?;
    Ok(match report.status() {
        Status::Pass => Outcome::Success,
        Status::Fail => Outcome::Failure,
        Status::Error => Outcome::Error,
    })
}

#[cfg(test)]
mod tests {
    use caio_gate::Gate;

    use super::*;

    fn emit_to_buffers(
        report: &GateReport,
        json: bool,
        github: &GithubEnv,
    ) -> (Outcome, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = emit(report, json, github, &mut out, &mut err).unwrap();
        (
            outcome,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// The routing itself is the library's (`GateReport::write_to`, tested there);
    /// here, that the gate maps an error to exit 2 and passes the GitHub settings on.
    #[test]
    fn an_unreadable_path_exits_2_with_the_annotations_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let report = Gate::inspect_only().run(std::slice::from_ref(&missing), &Limits::default());
        let github = GithubEnv {
            annotations: true,
            step_summary: None,
        };
        let (outcome, out, _) = emit_to_buffers(&report, false, &github);
        assert_eq!(outcome, Outcome::Error);
        assert!(out.lines().any(|l| l.starts_with("::error file=")), "{out}");
    }
}
