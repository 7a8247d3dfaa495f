//! `cargo xtask verify-artifact`: the CI fingerprint gate against the workspace's
//! manifest, and the report output that `release` shares with it.
//!
//! The gate itself is `caio_gate` (the library behind `caio-verify check`);
//! this module only picks the manifest (`keys/keyring.toml`, or `CAIO_KEYRING`) and
//! prints the report exactly as `caio-verify check` does: text or JSON on stdout,
//! `::error` annotations when `GITHUB_ACTIONS=true` (on stderr with `--json`), a
//! Markdown table appended to `GITHUB_STEP_SUMMARY` (all through the library's
//! `GateReport::write_to`, which `caio-verify check` uses too). It decides no verdict.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use caio_gate::{Gate, GateOptions, GateReport, GithubEnv, Limits, Status};
use caio_keyring::manifest::Manifest;
use clap::Args;

use crate::{Outcome, workspace};

/// Gate artifacts against keys/keyring.toml (the CI fingerprint gate).
///
/// Scans each PATH (a binary, a tar / tar.gz / tar.zst, a zip or wheel, a `docker save`
/// tarball or OCI image layout, or a directory of them; recognised by content, nested
/// to any depth within the limits) for embedded keyring blocks, and compares each block
/// with the block that the workspace's manifest (keys/keyring.toml, or CAIO_KEYRING)
/// encodes to. The same gate as `caio-verify check --manifest keys/keyring.toml`.
///
/// A path passes when it holds at least one block and every block is identical to the
/// manifest's encoding, and no private key is in it. It fails (exit 1) when it holds a
/// private key (a PEM private key, or the DER of an Ed25519 private key; where it is is
/// reported, never its bytes), when no block is found, a block is corrupt, a
/// block differs (each differing key is named, and both keyring fingerprints), or a
/// block is a development keyring (channel "development" or runtime override "allow")
/// without --allow-development. A path that cannot be read, a malformed archive or an
/// artifact over a limit is an error (exit 2), never a pass. Every path is examined and
/// reported before exiting; the exit code is the worst result.
///
/// Results go to stdout: text, or with --json one JSON document. When
/// GITHUB_ACTIONS=true each failure is also an `::error` workflow command naming the
/// artifact and the manifest (on stdout, or on stderr with --json); when
/// GITHUB_STEP_SUMMARY is set, a Markdown table of the results is appended to that file.
/// See docs/gate.md.
#[derive(Debug, Args)]
pub struct VerifyArtifactArgs {
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

/// Where a report goes: results to `out`, diagnostics to `err`. `release` passes
/// stderr for both, since its product is the `dist/` directory.
pub struct Streams<'a> {
    /// The report (text or JSON), and annotations unless it is JSON.
    pub out: &'a mut dyn Write,
    /// Annotations that accompany a JSON report; warnings.
    pub err: &'a mut dyn Write,
}

impl VerifyArtifactArgs {
    /// Runs the gate over every path and prints the report.
    pub fn run(self) -> Result<Outcome> {
        let path = workspace::manifest_path();
        let label = manifest_label(&path);
        let manifest =
            Manifest::load(&path).with_context(|| format!("cannot use the manifest {label}"))?;
        let options = GateOptions {
            allow_development: self.allow_development,
        };
        let report =
            Gate::against(manifest.keyring(), label, options).run(&self.paths, &Limits::default());
        let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr());
        let streams = Streams {
            out: &mut stdout,
            err: &mut stderr,
        };
        emit(&report, self.json, &GithubEnv::from_process(), streams)
    }
}

/// The manifest as messages and annotations name it: relative to the workspace root
/// when it is inside it (`keys/keyring.toml`, which GitHub shows on the file in a pull
/// request), else as it is.
pub fn manifest_label(path: &Path) -> String {
    path.strip_prefix(workspace::root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Prints `report` (text or JSON), the GitHub annotations and summary that `github`
/// asks for, and returns the outcome: as `caio-verify check` does, line for line.
pub fn emit(
    report: &GateReport,
    json: bool,
    github: &GithubEnv,
    streams: Streams<'_>,
) -> Result<Outcome> {
    let Streams { out, err } = streams;
    report
        .write_to(json, github, out, err)
        .context("cannot write the report")?;
    Ok(match report.status() {
        Status::Pass => Outcome::Ok,
        Status::Fail => Outcome::CheckFailed,
        Status::Error => Outcome::Incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit_to_buffers(
        report: &GateReport,
        json: bool,
        github: &GithubEnv,
    ) -> (Outcome, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let streams = Streams {
            out: &mut out,
            err: &mut err,
        };
        let outcome = emit(report, json, github, streams).unwrap();
        (
            outcome,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// The routing itself is the library's (`GateReport::write_to`, tested there);
    /// here, that an error is `Incomplete` (exit 2) and the GitHub settings are passed.
    #[test]
    fn an_unreadable_path_is_incomplete_with_the_annotations_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let report = Gate::inspect_only().run(std::slice::from_ref(&missing), &Limits::default());
        let github = GithubEnv {
            annotations: true,
            step_summary: None,
        };
        let (outcome, out, _) = emit_to_buffers(&report, false, &github);
        assert_eq!(outcome, Outcome::Incomplete);
        assert!(out.lines().any(|l| l.starts_with("::error file=")), "{out}");
    }

    #[test]
    fn a_manifest_inside_the_workspace_is_named_from_its_root() {
        let inside = workspace::root().join("keys").join("keyring.toml");
        assert_eq!(manifest_label(&inside), "keys/keyring.toml");
        assert_eq!(
            manifest_label(Path::new("/elsewhere/k.toml")),
            "/elsewhere/k.toml"
        );
    }
}
