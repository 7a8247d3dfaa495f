//! `keys check --licenses FILE`: would the keyring orphan an outstanding license?
//!
//! A license is fine when it verifies against the manifest's keyring now and keeps
//! verifying until it expires: its key's `not_after` is at or after the license's `exp`,
//! or, for a perpetual license (no `exp`), the key has no `not_after` at all. A license
//! whose `nbf` is still ahead is judged from its `nbf` instead of now. Anything else is
//! an orphan, now (it does not verify: the verifier's reason code) or to be (reason
//! `outlives_key`: its key's deadline comes first), and must be re-issued with a key
//! that signs now. Nothing here prints or writes; `keys check` reports.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, Result};
use caio_keyring::{Keyring, OPEN_END};
use caio_verify::{Options, Reason, Rejection, VerifiedLicense, Verifier};
use rayon::prelude::*;
use serde_json::Value;

use crate::license::LicenseLines;
use crate::time::format_instant;

/// The reason code of a license that verifies now but whose key stops verifying
/// before the license expires.
pub const OUTLIVES_KEY: &str = "outlives_key";

/// How many lines are judged in parallel at a time.
const CHUNK_LINES: usize = 2048;

/// A license the keyring does not carry to its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// The 1-based line in the licenses file.
    pub line: usize,
    /// The license id, when the signature verified and the payload has one.
    pub lid: Option<String>,
    /// A `caio-verify` reason code, or [`OUTLIVES_KEY`].
    pub reason: &'static str,
    /// What exactly, naming the key.
    pub detail: String,
}

/// The verdict on a licenses file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Licenses read (blank lines are not licenses).
    pub total: usize,
    /// The orphans, in line order.
    pub orphans: Vec<Orphan>,
}

/// Judges every license in `file` (one per line) against `keyring` at `now`.
pub fn check_file(keyring: &Keyring, file: &Path, now: i64) -> Result<Report> {
    let reader = File::open(file)
        .map(|f| BufReader::with_capacity(1 << 16, f))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let mut lines = LicenseLines::new(reader);
    let mut report = Report::default();
    loop {
        let chunk: Vec<(usize, Vec<u8>)> = lines
            .by_ref()
            .take(CHUNK_LINES)
            .collect::<Result<_>>()
            .with_context(|| format!("cannot read {}", file.display()))?;
        if chunk.is_empty() {
            return Ok(report);
        }
        report.total += chunk.len();
        let orphans: Vec<Orphan> = chunk
            .par_iter()
            .filter_map(|(line, token)| judge(keyring, token, now).err().map(|o| o.at(*line)))
            .collect();
        report.orphans.extend(orphans);
    }
}

/// Judges one license; the error is an [`Orphan`] with line 0.
pub fn judge(keyring: &Keyring, token: &[u8], now: i64) -> Result<(), Orphan> {
    let license = match Verifier::new(keyring, Options::at(now)).verify(token) {
        Ok(license) => license,
        // Not valid yet: judge it from the instant it is meant to start.
        Err(rejection) if rejection.reason == Reason::NotYetValid => {
            let nbf = rejection
                .signed_payload
                .as_ref()
                .and_then(|p| p.get("nbf"))
                .and_then(Value::as_i64)
                .ok_or_else(|| orphan(rejection.clone(), ""))?;
            Verifier::new(keyring, Options::at(nbf))
                .verify(token)
                .map_err(|r| orphan(r, &format!(" from its nbf {}", format_instant(nbf))))?
        }
        Err(rejection) => return Err(orphan(rejection, "")),
    };
    outlives_key(keyring, &license)
}

impl Orphan {
    fn at(self, line: usize) -> Self {
        Self { line, ..self }
    }
}

impl fmt::Display for Orphan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.lid {
            Some(lid) => write!(f, "license {lid:?}: ")?,
            None => f.write_str("license (id unknown): ")?,
        }
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

/// Whether the license's key stops verifying before the license expires.
fn outlives_key(keyring: &Keyring, license: &VerifiedLicense) -> Result<(), Orphan> {
    let Some(key) = keyring.key_by_fingerprint(&license.fingerprint()) else {
        return Ok(());
    };
    let not_after = key.validity().not_after;
    let carried = match license.exp() {
        Some(exp) => not_after >= exp,
        None => not_after == OPEN_END,
    };
    if carried {
        return Ok(());
    }
    let expires = license.exp().map_or_else(
        || "never expires".to_owned(),
        |exp| format!("expires {}", format_instant(exp)),
    );
    Err(Orphan {
        line: 0,
        lid: Some(license.lid().to_owned()),
        reason: OUTLIVES_KEY,
        detail: format!(
            "{expires}, but key {:?} stops verifying at {} (its not_after); re-issue it with the key that signs now",
            key.id().as_str(),
            format_instant(not_after)
        ),
    })
}

fn orphan(rejection: Rejection, context: &str) -> Orphan {
    Orphan {
        line: 0,
        lid: rejection.signed_lid().map(str::to_owned),
        reason: rejection.reason.code(),
        detail: format!("does not verify{context}: {}", rejection.detail),
    }
}
