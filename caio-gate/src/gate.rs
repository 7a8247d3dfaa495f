//! The gate: turns inspections into verdicts under the gate rules of `docs/gate.md`, the
//! one policy behind `caio-verify check`, `caio-verify inspect` and `cargo xtask
//! verify-artifact`.
//!
//! Per artifact: an inspection error is an error (exit 2), never a pass; a private key,
//! no block found, a corrupt block, a block that differs from the manifest's encoding,
//! or a development keyring without permission fails (exit 1); otherwise it passes.
//! Without a manifest (`inspect`) only the first three failures apply. A private key
//! fails on its own, whatever the blocks: an artifact that ships a secret is never a
//! release, even with the right keyring in it. A report's status is the worst of its
//! artifacts', and a report with no artifact is an error. Rendering is in `report.rs`;
//! this module does no I/O beyond what [`Gate::run`] asks the inspector to do.

use std::path::PathBuf;

use caio_keyring::block::DecodeError;
use caio_keyring::{Channel, Keyring, RuntimeOverride};

use super::{
    ArtifactError, BlockFinding, Inspection, Inspector, KeyringDiff, Limits, PrivateKeyFinding,
    Stats, compare,
};

/// What the gate may let through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateOptions {
    /// Let a development-channel keyring, or one whose runtime override is `allow`,
    /// pass. Off for release gates.
    pub allow_development: bool,
}

/// Judges artifacts, against a manifest's keyring or (for `inspect`) on their own.
#[derive(Debug, Clone)]
pub struct Gate {
    expected: Option<Expectation>,
    options: GateOptions,
}

/// The keyring every block must equal, and the manifest it comes from.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The manifest as it should be named in messages and annotations, e.g.
    /// `keys/keyring.toml`.
    pub manifest: String,
    /// The keyring it encodes.
    pub keyring: Keyring,
}

/// The outcome of an artifact or of a whole run, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Every check held.
    Pass,
    /// A check failed: a private key, no block, a corrupt block, a mismatch, a
    /// development keyring.
    Fail,
    /// The artifact could not be examined to the end, or there was none.
    Error,
}

/// One artifact judged.
#[derive(Debug)]
pub struct ArtifactVerdict {
    /// The path as given.
    pub artifact: PathBuf,
    /// Pass, fail or error.
    pub status: Status,
    /// Every block found, with what is wrong with each (nothing, for a good one).
    pub findings: Vec<JudgedFinding>,
    /// The private keys recorded (at most [`Limits::max_private_keys`]); each one is a
    /// failure.
    pub private_keys: Vec<PrivateKeyFinding>,
    /// How many private keys were found in all, recorded or not.
    pub private_key_count: u64,
    /// What stopped the inspection, if anything.
    pub error: Option<ArtifactError>,
    /// How much was read.
    pub stats: Stats,
}

/// A block and its failures; no failure means it passed.
#[derive(Debug)]
pub struct JudgedFinding {
    /// Where it is and what it decodes to.
    pub finding: BlockFinding,
    /// Why it fails the gate, if it does.
    pub failures: Vec<BlockFailure>,
}

/// Why one block fails the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockFailure {
    /// The magic is there but the bytes are not a valid block: altered, truncated, or
    /// of an unknown format.
    Corrupt(DecodeError),
    /// A valid block that is not the manifest's encoding.
    Mismatch(Box<KeyringDiff>),
    /// A development-channel keyring or an `allow` runtime override, without
    /// [`GateOptions::allow_development`].
    Development {
        /// The block's channel.
        channel: Channel,
        /// The block's runtime override.
        runtime_override: RuntimeOverride,
    },
}

/// Every artifact of one run, judged.
#[derive(Debug)]
pub struct GateReport {
    /// The manifest's keyring, when judging against one.
    pub expected: Option<Expectation>,
    /// The options in force.
    pub options: GateOptions,
    /// One verdict per path, in the order given.
    pub artifacts: Vec<ArtifactVerdict>,
}

impl Gate {
    /// The release gate: every block must be `expected`'s encoding, and (unless
    /// `options` allow it) not a development keyring. `manifest` names the manifest in
    /// messages, as the user should see it (`keys/keyring.toml`).
    pub fn against(expected: &Keyring, manifest: impl Into<String>, options: GateOptions) -> Self {
        Self {
            expected: Some(Expectation {
                manifest: manifest.into(),
                keyring: expected.clone(),
            }),
            options,
        }
    }

    /// No manifest: a block passes when it decodes. What `caio-verify inspect` uses.
    pub fn inspect_only() -> Self {
        Self {
            expected: None,
            options: GateOptions {
                allow_development: true,
            },
        }
    }

    /// Inspects each path in turn, every one to its end, and judges it.
    pub fn run(&self, paths: &[PathBuf], limits: &Limits) -> GateReport {
        let mut inspector = Inspector::new(*limits);
        let verdicts = paths
            .iter()
            .map(|path| self.judge(inspector.inspect(path)))
            .collect();
        self.report(verdicts)
    }

    /// Judges one inspection.
    pub fn judge(&self, inspection: Inspection) -> ArtifactVerdict {
        let findings: Vec<JudgedFinding> = inspection
            .findings
            .into_iter()
            .map(|finding| JudgedFinding {
                failures: self.failures(&finding),
                finding,
            })
            .collect();
        let status = if inspection.error.is_some() {
            Status::Error
        } else if inspection.private_key_count > 0
            || findings.is_empty()
            || findings.iter().any(|f| !f.failures.is_empty())
        {
            Status::Fail
        } else {
            Status::Pass
        };
        ArtifactVerdict {
            artifact: inspection.artifact,
            status,
            findings,
            private_keys: inspection.private_keys,
            private_key_count: inspection.private_key_count,
            error: inspection.error,
            stats: inspection.stats,
        }
    }

    /// Wraps verdicts (from [`Gate::judge`]) in a report.
    pub fn report(&self, artifacts: Vec<ArtifactVerdict>) -> GateReport {
        GateReport {
            expected: self.expected.clone(),
            options: self.options,
            artifacts,
        }
    }

    fn failures(&self, finding: &BlockFinding) -> Vec<BlockFailure> {
        let found = match &finding.keyring {
            Ok(keyring) => keyring,
            Err(error) => return vec![BlockFailure::Corrupt(error.clone())],
        };
        let mut failures = Vec::new();
        if let Some(expected) = &self.expected
            && let Some(diff) = compare(&expected.keyring, found)
        {
            failures.push(BlockFailure::Mismatch(Box::new(diff)));
        }
        let development = found.channel() == Channel::Development
            || found.runtime_override() == RuntimeOverride::Allow;
        if development && !self.options.allow_development {
            failures.push(BlockFailure::Development {
                channel: found.channel(),
                runtime_override: found.runtime_override(),
            });
        }
        failures
    }
}

impl Status {
    /// The exit code: 0 pass, 1 fail, 2 error.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Pass => 0,
            Self::Fail => 1,
            Self::Error => 2,
        }
    }

    /// `pass`, `fail` or `error`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Error => "error",
        }
    }
}

impl BlockFailure {
    /// The stable reason code: `corrupt_block`, `mismatch` or `development_keyring`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Corrupt(_) => "corrupt_block",
            Self::Mismatch(_) => "mismatch",
            Self::Development { .. } => "development_keyring",
        }
    }
}

impl ArtifactVerdict {
    /// The stable reason codes of this verdict, each once, worst first: an error's code
    /// (`unreadable`, `malformed_archive`, `limit_exceeded`), then `private_key`,
    /// `no_block`, `corrupt_block`, `mismatch`, `development_keyring`; empty for a pass.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(error) = &self.error {
            out.push(error.code());
        }
        if self.private_key_count > 0 {
            out.push("private_key");
        }
        if self.findings.is_empty() && self.error.is_none() {
            out.push("no_block");
        }
        for code in ["corrupt_block", "mismatch", "development_keyring"] {
            if self
                .findings
                .iter()
                .flat_map(|f| &f.failures)
                .any(|failure| failure.code() == code)
            {
                out.push(code);
            }
        }
        out
    }
}

impl GateReport {
    /// The worst status of any artifact; [`Status::Error`] when there is none.
    pub fn status(&self) -> Status {
        self.artifacts
            .iter()
            .map(|a| a.status)
            .max()
            .unwrap_or(Status::Error)
    }

    /// The process exit code: 2 if any artifact is an error (or none was given), else 1
    /// if any failed, else 0.
    pub fn exit_code(&self) -> u8 {
        self.status().exit_code()
    }
}
