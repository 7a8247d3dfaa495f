//! `cargo xtask keys ...`: checks on the keyring manifest.
//!
//! `keys check` runs every check the macro makes (syntax, fingerprints recomputed from
//! the PEM files, weak keys, windows, duplicates) and reports all problems at once. It
//! reads and never writes; the editing commands live beside it.

use anyhow::Result;
use caio_keyring::manifest::Manifest;
use clap::Subcommand;

use crate::{Outcome, workspace};

/// Commands on keys/keyring.toml.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Check the manifest as the build does: every key, fingerprint and window.
    Check,
}

impl KeysCommand {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        match self {
            Self::Check => check(),
        }
    }
}

fn check() -> Result<Outcome> {
    let path = workspace::manifest_path();
    match Manifest::load(&path) {
        Ok(manifest) => {
            let keyring = manifest.keyring();
            eprintln!(
                "{}: ok: {} embedded key(s), {} revoked, serial {}, keyring {}",
                path.display(),
                keyring.keys().len(),
                keyring.revoked().len(),
                keyring.serial(),
                keyring.fingerprint()
            );
            Ok(Outcome::Ok)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            Ok(Outcome::CheckFailed)
        }
    }
}
