//! `license verify`: judge licenses against `keys/keyring.toml`, not an embedded copy.
//!
//! The output is `caio-verify license`'s, line for line: one result per input in input
//! order, a short human line or (with `--json`) the same JSON object, with the same
//! reason codes; so a script written against one reads the other. The difference is
//! the keyring: this one is what the manifest at this revision describes, so an
//! operator can ask "would a build made now accept these?" before building one.

use std::io::{BufRead, BufWriter, Write};

use anyhow::{Context, Result, bail};
use caio_verify::{
    DEFAULT_LEEWAY_SECS, Keyring, Options, Rejection, VerdictJson, VerifiedLicense, Verifier,
};
use clap::Args;

use crate::Outcome;
use crate::time::{Clock, Instant};

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
    at: Option<Instant>,
    /// Seconds of clock skew forgiven on the license's iat, nbf and exp (not on the
    /// key's windows).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LEEWAY_SECS)]
    leeway: u64,
}

impl VerifyArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = crate::keys::load()? else {
            return Ok(Outcome::CheckFailed);
        };
        let at = self.at.unwrap_or(Instant::Now).resolve(clock);
        let keyring = manifest.keyring();
        let verifier = Verifier::new(keyring, Options::at(at).with_leeway(self.leeway));
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let mut report = |token: &[u8]| -> Result<bool> {
            let result = verifier.verify(token);
            let line = if self.json {
                json_line(keyring, &result)
            } else {
                human_line(&result)
            };
            writeln!(out, "{line}").context("cannot write the result to stdout")?;
            Ok(result.is_ok())
        };
        let all_valid = if self.token == "-" {
            let mut all_valid = true;
            let mut count = 0_usize;
            let mut stdin = std::io::stdin().lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                let read = stdin
                    .read_until(b'\n', &mut line)
                    .with_context(|| format!("cannot read line {} of stdin", count + 1))?;
                if read == 0 {
                    break;
                }
                count += 1;
                while let Some(b'\n' | b'\r') = line.last() {
                    line.pop();
                }
                all_valid &= report(&line)?;
            }
            if count == 0 {
                bail!("no license on stdin: give one license per line, or a TOKEN argument");
            }
            all_valid
        } else {
            report(self.token.as_bytes())?
        };
        out.flush().context("cannot write the result to stdout")?;
        Ok(if all_valid {
            Outcome::Ok
        } else {
            Outcome::CheckFailed
        })
    }
}

/// The `--json` line for one result.
pub fn json_line(keyring: &Keyring, result: &Result<VerifiedLicense, Rejection>) -> String {
    let rejected_key_id = result
        .as_ref()
        .err()
        .and_then(|r| r.kid)
        .and_then(|fp| keyring.key_by_fingerprint(&fp))
        .map(|key| key.id().as_str());
    let line = VerdictJson::new(result, rejected_key_id);
    // Strings, integers and JSON values always serialize.
    serde_json::to_string(&line).unwrap_or_else(|_| unreachable!("a result always serializes"))
}

/// The human line for one result, as `caio-verify license` prints it.
pub fn human_line(result: &Result<VerifiedLicense, Rejection>) -> String {
    match result {
        Ok(license) => {
            let until = license.exp().map_or_else(
                || "never expires".to_owned(),
                // As `caio-verify license` writes an instant outside jiff's range.
                |t| {
                    jiff::Timestamp::from_second(t).map_or_else(
                        |_| format!("expires unix:{t}"),
                        |ts| format!("expires {ts}"),
                    )
                },
            );
            format!(
                "valid: license {:?} for {:?}, key {}, {until}",
                license.lid(),
                license.sub(),
                license.key_id()
            )
        }
        Err(rejection) => format!("invalid ({}): {}", rejection.reason, rejection.detail),
    }
}
