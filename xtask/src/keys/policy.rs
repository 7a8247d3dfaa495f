//! What `keys check` adds to the build's checks: the `[policy]` relative to now, and
//! the contents of `keys/`.
//!
//! The build checks that a manifest is well formed; it cannot know what time it is.
//! These checks can, so they say whether the keyring is safe to ship today:
//!
//! - **lifetime**: a key's signing window (`not_before` to `sign_until`) may not be
//!   longer than `max_key_lifetime_days`; an open-ended one always is.
//! - **overlap**: when key B takes over signing from key A (B starts after A and signs
//!   past A's `sign_until`; of several, the earliest to start), licenses signed by A
//!   must keep verifying at least `min_overlap_days` after B could sign the replacement
//!   licenses: `A.not_after - B.not_before >= min_overlap_days`. That is the dual-key
//!   time customers have to switch.
//! - **bricking horizon**: a build made now must keep at least one non-revoked key that
//!   verifies until `now + support_window_days`.
//! - **keys/**: no file anywhere under it holds a private key, and every PEM in it is
//!   one the manifest names.
//!
//! Keys whose `not_after` has passed are history: they are reported, not judged
//! (`keys remove` takes them out). Revoked keys are never judged either. Nothing here
//! reads the clock or writes a file; `now` is passed in.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use caio_keyring::OPEN_END;
use caio_keyring::manifest::{KeyStatus, Manifest, ManifestKey, Place};

use crate::time::{DAY, format_days, format_instant};

/// Where a key stands at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Its signing window has not begun.
    Pending,
    /// It may sign licenses now.
    Signing,
    /// It no longer signs, but licenses it signed still verify.
    VerifyOnly,
    /// Nothing it signed verifies any more.
    Expired,
    /// Revoked: never embedded, its fingerprint is in the revoked list.
    Revoked,
}

/// One problem (or warning) found by the checks in this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFinding {
    /// A failure makes `keys check` fail; a warning does not.
    pub severity: Severity,
    /// The file at fault: the manifest, or a file under keys/.
    pub file: PathBuf,
    /// The manifest line of the key, when the finding is about a key.
    pub line: Option<usize>,
    /// The key's id, when the finding is about a key.
    pub key: Option<String>,
    /// What is wrong, and what to do.
    pub message: String,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `keys check` fails.
    Failure,
    /// Worth knowing; `keys check` still passes.
    Warning,
}

/// How long a build made now keeps verifying licenses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// The latest `not_after` of a non-revoked key ([`OPEN_END`] for none).
    pub verifies_until: i64,
    /// `now + support_window_days`, when the policy sets it.
    pub required: Option<i64>,
}

impl KeyState {
    /// The state of `key` at `now`.
    pub fn of(key: &ManifestKey, now: i64) -> Self {
        let v = key.validity;
        if key.status == KeyStatus::Revoked {
            Self::Revoked
        } else if now < v.not_before {
            Self::Pending
        } else if now <= v.sign_until {
            Self::Signing
        } else if now <= v.not_after {
            Self::VerifyOnly
        } else {
            Self::Expired
        }
    }

    /// The name shown by `keys list` and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Signing => "signing",
            Self::VerifyOnly => "verify-only",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Horizon {
    /// Whether the horizon satisfies `support_window_days`.
    pub fn holds(&self) -> bool {
        self.required.is_none_or(|r| self.verifies_until >= r)
    }
}

impl fmt::Display for PolicyFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = Place {
            file: &self.file,
            line: self.line,
            key: self.key.as_deref(),
        };
        write!(f, "{place}: {}", self.message)
    }
}

/// The bricking horizon of `manifest` at `now`.
pub fn horizon(manifest: &Manifest, now: i64) -> Horizon {
    let verifies_until = manifest
        .keys()
        .iter()
        .filter(|k| k.status == KeyStatus::Active)
        .map(|k| k.validity.not_after)
        .max()
        .unwrap_or(i64::MIN);
    let required = manifest
        .policy()
        .support_window_days
        .map(|days| now.saturating_add(i64::from(days) * DAY));
    Horizon {
        verifies_until,
        required,
    }
}

/// The key that takes over signing from `key`, as the overlap rule defines it.
pub fn successor<'a>(manifest: &'a Manifest, key: &ManifestKey) -> Option<&'a ManifestKey> {
    let v = key.validity;
    if v.sign_until == OPEN_END {
        return None;
    }
    manifest
        .keys()
        .iter()
        .filter(|b| b.status == KeyStatus::Active && b.id != key.id)
        .filter(|b| b.validity.not_before > v.not_before && b.validity.sign_until > v.sign_until)
        .min_by(|a, b| {
            (a.validity.not_before, a.id.as_str()).cmp(&(b.validity.not_before, b.id.as_str()))
        })
}

/// Every policy finding for `manifest` at `now`.
pub fn check(manifest: &Manifest, now: i64) -> Vec<PolicyFinding> {
    let policy = manifest.policy();
    let mut findings = Vec::new();
    let at_key = |key: &ManifestKey, severity, message: String| PolicyFinding {
        severity,
        file: manifest.path().to_owned(),
        line: Some(key.line),
        key: Some(key.id.to_string()),
        message,
    };
    for key in manifest.keys() {
        let v = key.validity;
        match KeyState::of(key, now) {
            KeyState::Revoked => continue,
            KeyState::Expired => {
                findings.push(at_key(
                    key,
                    Severity::Warning,
                    format!(
                        "expired at {}; take it out with `cargo xtask keys remove {}`",
                        format_instant(v.not_after),
                        key.id
                    ),
                ));
                continue;
            }
            _ => {}
        }
        if let Some(max) = policy.max_key_lifetime_days {
            let limit = i64::from(max) * DAY;
            if v.sign_until == OPEN_END {
                findings.push(at_key(
                    key,
                    Severity::Failure,
                    format!(
                        "the signing window has no end; policy.max_key_lifetime_days = {max} needs a `sign_until`"
                    ),
                ));
            } else if v.sign_until - v.not_before > limit {
                findings.push(at_key(
                    key,
                    Severity::Failure,
                    format!(
                        "signs for {} ({} to {}), longer than policy.max_key_lifetime_days = {max}; set an earlier `sign_until`",
                        format_days(v.sign_until - v.not_before),
                        format_instant(v.not_before),
                        format_instant(v.sign_until)
                    ),
                ));
            }
        }
        if let (Some(min), Some(next)) = (policy.min_overlap_days, successor(manifest, key)) {
            let overlap = v.not_after.saturating_sub(next.validity.not_before);
            if v.not_after != OPEN_END && overlap < i64::from(min) * DAY {
                findings.push(at_key(
                    key,
                    Severity::Failure,
                    format!(
                        "{:?} takes over signing at {}, and this key stops verifying at {}: {} of dual-key validation, less than policy.min_overlap_days = {min}; set a later `not_after`",
                        next.id.as_str(),
                        format_instant(next.validity.not_before),
                        format_instant(v.not_after),
                        format_days(overlap.max(0))
                    ),
                ));
            }
        }
    }
    let embedded_signing = manifest
        .keys()
        .iter()
        .any(|k| KeyState::of(k, now) == KeyState::Signing);
    if !embedded_signing {
        findings.push(PolicyFinding {
            severity: Severity::Warning,
            file: manifest.path().to_owned(),
            line: None,
            key: None,
            message: "no key can sign licenses now".into(),
        });
    }
    let horizon = horizon(manifest, now);
    if let (false, Some(required), Some(days)) = (
        horizon.holds(),
        horizon.required,
        policy.support_window_days,
    ) {
        findings.push(PolicyFinding {
            severity: Severity::Failure,
            file: manifest.path().to_owned(),
            line: None,
            key: None,
            message: format!(
                "a build made now stops verifying licenses at {}, before {} (policy.support_window_days = {days}); add a key, or extend a key's `not_after`",
                format_instant(horizon.verifies_until),
                format_instant(required)
            ),
        });
    }
    findings
}

/// Private keys anywhere under `keys_dir`, and PEM files the manifest does not name.
///
/// `named` holds the `public_key` values of the manifest.
pub fn scan_keys_dir(
    keys_dir: &Path,
    manifest_path: &Path,
    named: &BTreeSet<String>,
) -> Vec<PolicyFinding> {
    let mut findings = Vec::new();
    let mut stack = vec![keys_dir.to_owned()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(_) => files.push(path),
                Err(_) => {}
            }
        }
    }
    files.sort();
    let failure = |file: &Path, message: String| PolicyFinding {
        severity: Severity::Failure,
        file: file.to_owned(),
        line: None,
        key: None,
        message,
    };
    for file in files {
        if file == manifest_path {
            continue;
        }
        // Only a regular file is read (a link is followed): a device or a FIFO here, or
        // a link to one, would make the read block or never end.
        let bytes = match std::fs::metadata(&file) {
            Ok(meta) if !meta.is_file() => {
                findings.push(failure(
                    &file,
                    "is not a regular file (a device, a FIFO, or a link to one or to a directory); keys/ holds the manifest and public key files only".into(),
                ));
                continue;
            }
            _ => std::fs::read(&file).unwrap_or_default(),
        };
        if String::from_utf8_lossy(&bytes).contains("PRIVATE KEY") {
            findings.push(failure(
                &file,
                "holds a private key; only public keys belong in keys/: move it out now, and treat the key as exposed".into(),
            ));
            continue;
        }
        let is_pem = file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pem"));
        let is_named = file.parent() == Some(keys_dir)
            && file
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| named.contains(n));
        if is_pem && !is_named {
            findings.push(failure(
                &file,
                format!(
                    "a PEM that {} does not name; add it with `cargo xtask keys add`, or delete it",
                    manifest_path.display()
                ),
            ));
        }
    }
    findings
}
