//! `caio-verify inspect`: which keyring blocks an artifact holds, where, and what they
//! decode to (keys, windows, fingerprints), without a manifest to compare with.
//!
//! It answers "what does this artifact trust?"; whether that is right is `check`'s job.
//! The rendering and the GitHub output are shared with `check`.

use std::path::PathBuf;

use caio_gate::{Gate, Limits};

use caio_gate::GithubEnv;

use crate::check::emit;
use crate::{Io, Outcome};

/// Show the keyring blocks found in artifacts.
///
/// Scans each PATH (a binary, a tar / tar.gz / tar.zst, a zip or wheel, a `docker save`
/// tarball or OCI image layout, or a directory of them; recognised by content, nested
/// to any depth within the limits) and lists every keyring block found: where it is
/// (PATH!member!member, the offset, and for a native binary the section), the keyring
/// fingerprint, serial, channel and runtime override, and every key with its
/// fingerprint and windows. It also looks for private keys (a PEM private key, the DER
/// of an Ed25519 private key), which must never ship, and names where each is, never
/// its bytes.
///
/// Exits 0 when every path holds at least one block, every block decodes and no
/// private key is found; 1 when a path holds a private key, no block, or a corrupt one
/// (an occurrence of the magic that does not decode); 2 when a path cannot be read, an
/// archive is malformed or over a limit.
/// Every path is examined before exiting; the worst result decides. Results go to
/// stdout: text, or with --json one JSON document. Under GitHub Actions, failures are
/// also `::error` annotations, as with `check`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Artifacts to inspect: files or directories
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// Print one JSON document instead of text
    #[arg(long)]
    json: bool,
}

impl InspectArgs {
    pub fn run(self, io: &mut Io<'_>) -> anyhow::Result<Outcome> {
        let report = Gate::inspect_only().run(&self.paths, &Limits::default());
        emit(
            &report,
            self.json,
            &GithubEnv::from_process(),
            &mut *io.stdout,
            &mut *io.stderr,
        )
    }
}
