//! `cargo xtask license ...`: issue, verify and re-issue CAIO-v2 licenses (runbook
//! step 4, and the checks of step 6) against `keys/keyring.toml`.
//!
//! Every verdict comes from `caio-verify`'s own [`Verifier`](caio_verify::Verifier),
//! given the keyring the manifest describes (the keyring a build made from this
//! revision would embed), so an operator sees exactly the reasons a shipped binary
//! would give. Signing goes through [`KeyringSigner`](crate::signer::KeyringSigner): the
//! private key's public fingerprint picks the manifest entry, a key that is unknown,
//! revoked or outside its signing window never signs, and every token signed is
//! verified again before anyone sees it (fail closed). `--key` is a PKCS#8 PEM file or
//! a `pkcs11:` URI of a key on a token (see [`crate::signer`]); a private key or PIN is
//! never printed or logged.
//!
//! Not here: what a license means to the product, or editing the manifest (that is
//! `keys`). `--now T` replaces the clock, as it does for `keys`.

mod issue;
mod reissue;
pub(crate) mod token;
mod verify;

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::Outcome;
use crate::time::{Clock, InstantArg};

/// Issue, verify and re-issue CAIO-v2 licenses against keys/keyring.toml (or the
/// manifest that CAIO_KEYRING names).
#[derive(Debug, Args)]
pub struct LicenseArgs {
    /// Pretend the current time is T (RFC 3339 or a date), to rehearse or to test:
    /// licenses are issued at T (`iat`) and verified at T.
    #[arg(long, global = true, value_name = "T")]
    now: Option<InstantArg>,
    #[command(subcommand)]
    command: LicenseCommand,
}

/// The `license` commands. Each command's help is the doc of its arguments struct.
#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    Issue(issue::IssueArgs),
    Verify(verify::VerifyArgs),
    Reissue(reissue::ReissueArgs),
}

impl LicenseArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let clock = Clock::new(self.now);
        match self.command {
            LicenseCommand::Issue(args) => args.run(clock),
            LicenseCommand::Verify(args) => args.run(clock),
            LicenseCommand::Reissue(args) => args.run(clock),
        }
    }
}

/// Reads a file of licenses, one per line, as `(line number, bytes)`: line endings
/// (LF or CRLF) removed, blank lines skipped but counted, so a line number is the
/// one an editor shows.
pub struct LicenseLines<R> {
    reader: R,
    line: usize,
    /// Bytes read so far, line endings and blank lines included: progress.
    pub bytes_read: u64,
}

impl<R: BufRead> LicenseLines<R> {
    /// Reads licenses from `reader`.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: 0,
            bytes_read: 0,
        }
    }
}

impl<R: BufRead> Iterator for LicenseLines<R> {
    type Item = Result<(usize, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut buf = Vec::new();
            let read = match self
                .reader
                .read_until(b'\n', &mut buf)
                .with_context(|| format!("cannot read line {}", self.line + 1))
            {
                Ok(read) => read,
                Err(e) => return Some(Err(e)),
            };
            if read == 0 {
                return None;
            }
            self.line += 1;
            self.bytes_read += read as u64;
            while let Some(b'\n' | b'\r') = buf.last() {
                buf.pop();
            }
            if !buf.trim_ascii().is_empty() {
                return Some(Ok((self.line, buf)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[(usize, &str)]) {
        let got: Vec<(usize, String)> = LicenseLines::new(input.as_bytes())
            .map(|r| r.map(|(n, b)| (n, String::from_utf8(b).expect("utf-8"))))
            .collect::<Result<_>>()
            .expect("reads");
        let expected: Vec<(usize, String)> = expected
            .iter()
            .map(|(n, s)| (*n, (*s).to_owned()))
            .collect();
        assert_eq!(got, expected, "{input:?}");
    }

    #[test]
    fn license_lines_skip_blanks_but_count_them() {
        check("", &[]);
        check("a", &[(1, "a")]);
        check("a\nb\n", &[(1, "a"), (2, "b")]);
        check("a\r\n\r\n  \nb", &[(1, "a"), (4, "b")]);
        check(" a \n", &[(1, " a ")]);
    }
}
