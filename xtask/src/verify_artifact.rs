//! `cargo xtask verify-artifact`: the CI fingerprint gate against the workspace's
//! manifest.
//!
//! The gate is `caio_cli::check::GateArgs::run`, the very code path of `caio-verify
//! check`: this module only picks the manifest (`keys/keyring.toml`, or `CAIO_KEYRING`)
//! and names it relative to the workspace root. It decides no verdict.

use std::path::Path;

use anyhow::Result;
use caio_cli::Io;
use caio_cli::check::GateArgs;
use caio_gate::GithubEnv;
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
    #[command(flatten)]
    gate: GateArgs,
}

impl VerifyArtifactArgs {
    /// Runs the gate over every path and prints the report.
    pub fn run(self) -> Result<Outcome> {
        let path = workspace::manifest_path();
        let label = manifest_label(&path);
        Io::with_process_streams(|io| self.gate.run(&path, label, &GithubEnv::from_process(), io))
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

#[cfg(test)]
mod tests {
    use super::*;

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
