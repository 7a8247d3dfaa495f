//! `license verify`: judge licenses against `keys/keyring.toml`, not an embedded copy.
//!
//! The loop and the output are `caio-verify license`'s (`caio_cli::license::LicenseRun`):
//! one result per input in input order, a short human line or (with `--json`) the same
//! JSON object, with the same reason codes; so a script written against one reads the
//! other. The difference is the keyring: this one is what the manifest at this revision
//! describes, so an operator can ask "would a build made now accept these?" before
//! building one.

use anyhow::Result;
use caio_cli::Io;
use caio_cli::license::LicenseRun;
use caio_verify::{DEFAULT_LEEWAY_SECS, EffectiveKeyring};
use clap::Args;

use crate::Outcome;
use crate::time::{Clock, InstantArg};

/// Verify CAIO-v2 licenses against keys/keyring.toml.
///
/// Prints one line per license on stdout, in input order: a short human line, or with
/// --json one JSON object {"valid", "reason", "detail", "kid", "key_id", "payload"}
/// (the shape `caio-verify license --json` prints). Exits 0 only when every license is
/// valid, 1 otherwise.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The license (CAIO-v2.PAYLOAD.SIGNATURE), or `-` to read one license per line
    /// from stdin (every line is a result, empty ones included; a trailing CR is
    /// ignored).
    #[arg(value_name = "TOKEN|-")]
    token: String,
    /// Print one JSON object per license instead of a human line.
    #[arg(long)]
    json: bool,
    /// Verify as of this instant (RFC 3339, a date, or `now`) [default: now].
    #[arg(long, value_name = "T")]
    at: Option<InstantArg>,
    /// Seconds of clock skew forgiven on the license's iat, nbf and exp (not on the
    /// key's windows).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LEEWAY_SECS)]
    leeway: u64,
}

impl VerifyArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = crate::keys::load()? else {
            return Ok(Outcome::Failure);
        };
        let run = LicenseRun {
            token: self.token,
            json: self.json,
            at: self.at.unwrap_or(InstantArg::Now).resolve(clock),
            leeway: self.leeway,
        };
        let keys = EffectiveKeyring::embedded_only(Ok(manifest.keyring()));
        Io::with_process_streams(|io| run.run(&keys, io))
    }
}
