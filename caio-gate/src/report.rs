//! How a [`GateReport`] is shown: human text, one JSON document, GitHub workflow
//! commands (`::error`) and a Markdown table for the job summary. One renderer serves
//! `caio-verify check`, `caio-verify inspect` and `cargo xtask verify-artifact`, so the
//! three cannot drift apart.
//!
//! Rendering, plus [`GateReport::write_to`], the one routing of those renderings that
//! every gate command shares (which stream, when to annotate, the step summary). The JSON field names and the reason codes are an interface (CI scripts
//! read them, `docs/gate.md` lists them); the human text is for people and may change.
//! A private key is shown by where it is and what kind it is, in every rendering, and
//! never by any of its bytes.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use caio_keyring::{Keyring, OPEN_END, TrustedKey, Validity};
use serde_json::{Value, json};

use super::gate::Expectation;
use super::{
    ArtifactVerdict, Change, Failure, GateReport, JudgedFinding, KeyDifference, KeyringDiff,
    PrivateKeyFinding, Status,
};

/// What a report says to do about a private key. It names the key's place and kind
/// only: a report is a CI log, kept and shared, and must not spread the secret.
const PRIVATE_KEY_ADVICE: &str = "a private key must never ship: remove it from the artifact, \
     and replace the key, since whoever has the artifact has it";

/// What GitHub Actions asks of a gate, read from the environment.
#[derive(Debug, Clone, Default)]
pub struct GithubEnv {
    /// `GITHUB_ACTIONS=true`: print `::error` workflow commands.
    pub annotations: bool,
    /// `GITHUB_STEP_SUMMARY`: the file to append a Markdown summary to.
    pub step_summary: Option<PathBuf>,
}

impl GithubEnv {
    /// Reads `GITHUB_ACTIONS` and `GITHUB_STEP_SUMMARY`.
    pub fn from_process() -> Self {
        Self {
            annotations: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }
}

impl GateReport {
    /// Writes the report as every gate command does: text (or with `json` one JSON
    /// document) to `out`; `::error` annotations when `github` asks, to `out`, or to
    /// `err` beside a JSON report so that `out` stays one document; a Markdown table
    /// appended to the step summary, where a failure to append is a warning on `err`,
    /// never a change of verdict. Fails only when `out` or `err` cannot be written.
    pub fn write_to(
        &self,
        json: bool,
        github: &GithubEnv,
        out: &mut dyn io::Write,
        err: &mut dyn io::Write,
    ) -> io::Result<()> {
        if json {
            let text = serde_json::to_string_pretty(&self.to_json()).map_err(io::Error::other)?;
            writeln!(out, "{text}")?;
        } else {
            write!(out, "{}", self.human())?;
        }
        if github.annotations {
            let annotations: &mut dyn io::Write = if json { &mut *err } else { &mut *out };
            for line in self.github_annotations() {
                writeln!(annotations, "{line}")?;
            }
        }
        if let Some(path) = &github.step_summary {
            let appended = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| {
                    io::Write::write_fmt(&mut file, format_args!("{}\n", self.markdown_summary()))
                });
            if let Err(e) = appended {
                writeln!(
                    err,
                    "warning: cannot append the job summary to {}: {e}",
                    path.display()
                )?;
            }
        }
        Ok(())
    }

    /// One JSON document describing the whole run (see `docs/gate.md` for the shape).
    /// Against a manifest, found keyrings are shown by fingerprint, serial, channel and
    /// runtime override; without one (`inspect`), in full, keys and windows included.
    pub fn to_json(&self) -> Value {
        let keys = self.lists_keys();
        let manifest = self.expected.as_ref().map(|e| {
            json!({
                "path": e.manifest,
                "fingerprint": e.keyring.fingerprint().to_string(),
                "serial": e.keyring.serial(),
                "channel": e.keyring.channel().name(),
                "runtime_override": e.keyring.runtime_override().name(),
            })
        });
        json!({
            "status": self.status().name(),
            "exit_code": self.exit_code(),
            "manifest": manifest,
            "allow_development": self.options.allow_development,
            "artifacts": self.artifacts.iter().map(|a| artifact_json(a, keys)).collect::<Vec<_>>(),
        })
    }

    /// Text for people: one status line per artifact, one line per block, the
    /// differences under each failing block, a closing count. Without a manifest
    /// (`inspect`) every found keyring is listed key by key.
    pub fn human(&self) -> String {
        let keys = self.lists_keys();
        let mut out = String::new();
        if let Some(e) = &self.expected {
            let k = &e.keyring;
            let _ = writeln!(
                out,
                "{}: keyring {} (serial {}, {}, runtime override {})",
                e.manifest,
                k.fingerprint(),
                k.serial(),
                k.channel().name(),
                k.runtime_override().name(),
            );
        }
        for artifact in &self.artifacts {
            let label = match artifact.status {
                Status::Pass => "PASS ",
                Status::Fail => "FAIL ",
                Status::Error => "ERROR",
            };
            let reasons = artifact.reasons();
            let _ = write!(out, "{label} {}", artifact.artifact.display());
            if !reasons.is_empty() {
                let _ = write!(out, ": {}", reasons.join(", "));
            }
            out.push('\n');
            let stats = &artifact.stats;
            if artifact.findings.is_empty() && artifact.error.is_none() {
                let _ = writeln!(
                    out,
                    "  no keyring block found in {} scanned stream(s), {} bytes",
                    stats.scanned, stats.scanned_bytes
                );
            }
            for key in &artifact.private_keys {
                let _ = writeln!(out, "  FAIL {}: private key, {}", key.describe(), key.kind);
            }
            let unlisted = unlisted_private_keys(artifact);
            if unlisted > 0 {
                let _ = writeln!(
                    out,
                    "  FAIL and {unlisted} more private key(s), not listed (max_private_keys)"
                );
            }
            if artifact.private_key_count > 0 {
                let _ = writeln!(out, "    {PRIVATE_KEY_ADVICE}");
            }
            for judged in &artifact.findings {
                human_finding(&mut out, judged, self.expected.as_ref(), keys);
            }
            if let Some(error) = &artifact.error {
                let _ = writeln!(out, "  error: {error}");
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    let _ = writeln!(out, "    caused by: {cause}");
                    source = cause.source();
                }
            }
        }
        let count = |status| self.artifacts.iter().filter(|a| a.status == status).count();
        let _ = writeln!(
            out,
            "{} artifact(s): {} passed, {} failed, {} error(s)",
            self.artifacts.len(),
            count(Status::Pass),
            count(Status::Fail),
            count(Status::Error),
        );
        out
    }

    /// Whether found keyrings are shown key by key: when there is no manifest to
    /// compare them with, the keys are the answer.
    fn lists_keys(&self) -> bool {
        self.expected.is_none()
    }

    /// GitHub workflow commands, one `::error` line per problem: each private key
    /// recorded (and one for those not recorded), each failing block, each artifact
    /// with no block, each artifact that could not be examined. Against a
    /// manifest, `file=` names the manifest (so the annotation lands on it) and the
    /// title and message name the artifact; otherwise `file=` names the artifact.
    pub fn github_annotations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let manifest = self.expected.as_ref().map(|e| e.manifest.as_str());
        for artifact in &self.artifacts {
            let path = artifact.artifact.display().to_string();
            let file = manifest.unwrap_or(&path);
            let against = self.expected.as_ref().map_or(String::new(), |e| {
                format!(
                    " (expected keyring {} of {})",
                    e.keyring.fingerprint(),
                    e.manifest
                )
            });
            let mut push = |reason: &str, message: String| {
                out.push(format!(
                    "::error file={},title={}::{}",
                    escape_property(file),
                    escape_property(&format!("CAIO keyring gate: {path}: {reason}")),
                    escape_data(&message),
                ));
            };
            for key in &artifact.private_keys {
                push(
                    "private_key",
                    format!(
                        "{}: private key, {}; {PRIVATE_KEY_ADVICE}",
                        key.describe(),
                        key.kind
                    ),
                );
            }
            let unlisted = unlisted_private_keys(artifact);
            if unlisted > 0 {
                push(
                    "private_key",
                    format!("{path}: {unlisted} more private key(s), not listed"),
                );
            }
            if let Some(error) = &artifact.error {
                push(error.code(), format!("{error}{against}"));
            } else if artifact.findings.is_empty() {
                push(
                    "no_block",
                    format!("{path}: no keyring block found{against}"),
                );
            }
            for judged in &artifact.findings {
                for failure in &judged.failures {
                    let detail = failure_lines(failure, self.expected.as_ref()).join("; ");
                    // A mismatch already names the manifest and both fingerprints.
                    let suffix = match failure {
                        Failure::Mismatch(_) => "",
                        _ => against.as_str(),
                    };
                    push(
                        failure.code(),
                        format!("{}: {detail}{suffix}", judged.finding.describe()),
                    );
                }
            }
        }
        out
    }

    /// A Markdown section for `$GITHUB_STEP_SUMMARY`: a heading, the manifest, and a
    /// table with one row per block (or per artifact without one).
    pub fn markdown_summary(&self) -> String {
        let mut out = String::from("### CAIO keyring gate\n\n");
        match &self.expected {
            Some(e) => {
                let _ = writeln!(
                    out,
                    "Manifest `{}`: keyring `{}` (serial {}, {}). Result: **{}**.\n",
                    cell(&e.manifest),
                    e.keyring.fingerprint(),
                    e.keyring.serial(),
                    e.keyring.channel().name(),
                    self.status().name(),
                );
            }
            None => {
                let _ = writeln!(out, "No manifest. Result: **{}**.\n", self.status().name());
            }
        }
        out += "| Artifact | Result | Block | Keyring | Detail |\n|---|---|---|---|---|\n";
        for artifact in &self.artifacts {
            let path = cell(&artifact.artifact.display().to_string());
            let result = match artifact.status {
                Status::Pass => "✅ pass",
                Status::Fail => "❌ fail",
                Status::Error => "⚠️ error",
            };
            if let Some(error) = &artifact.error {
                let _ = writeln!(
                    out,
                    "| `{path}` | {result} | | | {}: {} |",
                    error.code(),
                    cell(&error.to_string())
                );
            } else if artifact.findings.is_empty() {
                let _ = writeln!(
                    out,
                    "| `{path}` | {result} | none | | no_block: no keyring block found |"
                );
            }
            for key in &artifact.private_keys {
                let _ = writeln!(
                    out,
                    "| `{path}` | {result} | `{}` | | private_key: {} |",
                    cell(&key.describe()),
                    cell(&key.kind.to_string())
                );
            }
            let unlisted = unlisted_private_keys(artifact);
            if unlisted > 0 {
                let _ = writeln!(
                    out,
                    "| `{path}` | {result} | | | private_key: {unlisted} more, not listed |"
                );
            }
            for judged in &artifact.findings {
                let finding = &judged.finding;
                let keyring = finding
                    .keyring
                    .as_ref()
                    .map_or_else(|_| String::new(), |k| format!("`{}`", k.fingerprint()));
                let detail = if judged.failures.is_empty() {
                    "ok".to_owned()
                } else {
                    judged
                        .failures
                        .iter()
                        .map(|f| {
                            format!(
                                "{}: {}",
                                f.code(),
                                failure_lines(f, self.expected.as_ref()).join("; ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                };
                let _ = writeln!(
                    out,
                    "| `{path}` | {result} | `{}` | {keyring} | {} |",
                    cell(&finding.describe()),
                    cell(&detail)
                );
            }
        }
        out
    }
}

/// The keyring as `caio-verify keyring --json` shows it.
pub fn keyring_json(keyring: &Keyring) -> Value {
    json!({
        "fingerprint": keyring.fingerprint().to_string(),
        "serial": keyring.serial(),
        "channel": keyring.channel().name(),
        "runtime_override": keyring.runtime_override().name(),
        "keys": keyring.keys().iter().map(key_json).collect::<Vec<_>>(),
        "revoked": keyring.revoked().iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn key_json(key: &TrustedKey) -> Value {
    let mut value = json!({
        "id": key.id().as_str(),
        "algorithm": key.algorithm().name(),
        "fingerprint": key.fingerprint().to_string(),
    });
    if let Value::Object(map) = &mut value
        && let Value::Object(window) = window_json(key.validity())
    {
        map.extend(window);
    }
    value
}

fn window_json(window: Validity) -> Value {
    json!({
        "not_before": instant(window.not_before),
        "sign_until": instant(window.sign_until),
        "not_after": instant(window.not_after),
    })
}

fn artifact_json(artifact: &ArtifactVerdict, keys: bool) -> Value {
    let error = artifact.error.as_ref().map(|e| {
        json!({
            "code": e.code(),
            "message": e.to_string(),
            "location": error_location(e),
        })
    });
    let s = &artifact.stats;
    json!({
        "path": artifact.artifact.display().to_string(),
        "status": artifact.status.name(),
        "reasons": artifact.reasons(),
        "error": error,
        "stats": {
            "scanned": s.scanned,
            "scanned_bytes": s.scanned_bytes,
            "entries": s.entries,
            "unpacked_bytes": s.unpacked_bytes,
        },
        "findings": artifact.findings.iter().map(|f| finding_json(f, keys)).collect::<Vec<_>>(),
        "private_keys": artifact.private_keys.iter().map(private_key_json).collect::<Vec<_>>(),
        "private_key_count": artifact.private_key_count,
    })
}

/// Where a private key is and what it is; never any of its bytes.
fn private_key_json(key: &PrivateKeyFinding) -> Value {
    let (label, pkcs8_version) = match &key.kind {
        super::PrivateKeyKind::Pem { label } => (Some(label.as_str()), None),
        super::PrivateKeyKind::Pkcs8Ed25519 { version } => (None, *version),
    };
    json!({
        "location": key.location.to_string(),
        "file": key.location.file.display().to_string(),
        "members": key.location.members,
        "offset": key.offset,
        "kind": key.kind.code(),
        "label": label,
        "pkcs8_version": pkcs8_version,
    })
}

/// How many private keys an artifact holds beyond those its verdict lists.
fn unlisted_private_keys(artifact: &ArtifactVerdict) -> u64 {
    artifact
        .private_key_count
        .saturating_sub(artifact.private_keys.len() as u64)
}

fn error_location(error: &super::ArtifactError) -> Option<String> {
    use super::ArtifactError as E;
    match error {
        E::Unreadable { location, .. }
        | E::Malformed { location, .. }
        | E::Limit { location, .. }
        | E::Spill { location, .. } => Some(location.to_string()),
        E::NotAFile { path } => Some(path.display().to_string()),
    }
}

fn finding_json(judged: &JudgedFinding, keys: bool) -> Value {
    let finding = &judged.finding;
    let keyring = finding.keyring.as_ref().ok().map(|k| {
        if keys {
            keyring_json(k)
        } else {
            json!({
                "fingerprint": k.fingerprint().to_string(),
                "serial": k.serial(),
                "channel": k.channel().name(),
                "runtime_override": k.runtime_override().name(),
            })
        }
    });
    json!({
        "location": finding.location.to_string(),
        "file": finding.location.file.display().to_string(),
        "members": finding.location.members,
        "offset": finding.offset,
        "section": finding.section,
        "status": if judged.failures.is_empty() { "pass" } else { "fail" },
        "keyring": keyring,
        "failures": judged.failures.iter().map(failure_json).collect::<Vec<_>>(),
    })
}

fn failure_json(failure: &Failure) -> Value {
    match failure {
        Failure::Corrupt(error) => json!({
            "reason": failure.code(),
            "detail": error.to_string(),
        }),
        Failure::Development {
            channel,
            runtime_override,
        } => json!({
            "reason": failure.code(),
            "channel": channel.name(),
            "runtime_override": runtime_override.name(),
        }),
        Failure::Mismatch(diff) => json!({
            "reason": failure.code(),
            "expected_fingerprint": diff.expected_fingerprint.to_string(),
            "found_fingerprint": diff.found_fingerprint.to_string(),
            "differences": differences_json(diff),
        }),
    }
}

fn differences_json(diff: &KeyringDiff) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(Change { expected, found }) = diff.serial {
        out.push(json!({"field": "serial", "expected": expected, "found": found}));
    }
    if let Some(Change { expected, found }) = diff.channel {
        out.push(json!({"field": "channel", "expected": expected.name(), "found": found.name()}));
    }
    if let Some(Change { expected, found }) = diff.runtime_override {
        out.push(json!({"field": "runtime_override", "expected": expected.name(), "found": found.name()}));
    }
    for key in &diff.keys {
        let id = key.id().as_str();
        out.push(match key {
            KeyDifference::Added { fingerprint, .. } => {
                json!({"key": id, "kind": key.code(), "found": fingerprint.to_string()})
            }
            KeyDifference::Missing { fingerprint, .. } => {
                json!({"key": id, "kind": key.code(), "expected": fingerprint.to_string()})
            }
            KeyDifference::PublicKey { change, .. } => json!({
                "key": id, "kind": key.code(),
                "expected": change.expected.to_string(), "found": change.found.to_string(),
            }),
            KeyDifference::Window { change, .. } => json!({
                "key": id, "kind": key.code(),
                "expected": window_json(change.expected), "found": window_json(change.found),
            }),
        });
    }
    for fingerprint in &diff.revoked_added {
        out.push(json!({"field": "revoked", "kind": "added", "found": fingerprint.to_string()}));
    }
    for fingerprint in &diff.revoked_missing {
        out.push(
            json!({"field": "revoked", "kind": "missing", "expected": fingerprint.to_string()}),
        );
    }
    out
}

fn human_finding(
    out: &mut String,
    judged: &JudgedFinding,
    expected: Option<&Expectation>,
    keys: bool,
) {
    let finding = &judged.finding;
    let verdict = if judged.failures.is_empty() {
        "ok"
    } else {
        "FAIL"
    };
    match &finding.keyring {
        Ok(keyring) => {
            let _ = writeln!(
                out,
                "  {verdict} {}: keyring {} (serial {}, {}, runtime override {})",
                finding.describe(),
                keyring.fingerprint(),
                keyring.serial(),
                keyring.channel().name(),
                keyring.runtime_override().name(),
            );
            if keys {
                human_keys(out, keyring);
            }
        }
        Err(_) => {
            let _ = writeln!(out, "  {verdict} {}: corrupt block", finding.describe());
        }
    }
    for failure in &judged.failures {
        for line in failure_lines(failure, expected) {
            let _ = writeln!(out, "    {line}");
        }
    }
}

fn human_keys(out: &mut String, keyring: &Keyring) {
    for key in keyring.keys() {
        let w = key.validity();
        let _ = writeln!(
            out,
            "    key {} ({}) {}\n      not_before {}  sign_until {}  not_after {}",
            key.id(),
            key.algorithm().name(),
            key.fingerprint(),
            instant_or_none(w.not_before),
            instant_or_none(w.sign_until),
            instant_or_none(w.not_after),
        );
    }
    for fingerprint in keyring.revoked() {
        let _ = writeln!(out, "    revoked {fingerprint}");
    }
}

/// What is wrong, one line per difference.
fn failure_lines(failure: &Failure, expected: Option<&Expectation>) -> Vec<String> {
    let manifest = expected.map_or("the manifest", |e| e.manifest.as_str());
    match failure {
        Failure::Corrupt(error) => vec![format!("corrupt keyring block: {error}")],
        Failure::Development {
            channel,
            runtime_override,
        } => vec![format!(
            "development keyring (channel {}, runtime override {}): a release gate refuses it; \
             pass --allow-development to permit it",
            channel.name(),
            runtime_override.name()
        )],
        Failure::Mismatch(diff) => {
            let mut lines = vec![format!(
                "keyring {} differs from {manifest} ({})",
                diff.found_fingerprint, diff.expected_fingerprint
            )];
            let both = |what: &str, e: &dyn std::fmt::Display, f: &dyn std::fmt::Display| {
                format!("{what}: {e} in {manifest}, {f} in the artifact")
            };
            for key in &diff.keys {
                lines.push(match key {
                    KeyDifference::Added { id, fingerprint } => {
                        format!("key {id}: in the artifact only ({fingerprint})")
                    }
                    KeyDifference::Missing { id, fingerprint } => {
                        format!("key {id}: missing from the artifact ({fingerprint})")
                    }
                    KeyDifference::PublicKey { id, change } => both(
                        &format!("key {id}: public key"),
                        &change.expected,
                        &change.found,
                    ),
                    KeyDifference::Window { id, change } => both(
                        &format!("key {id}: window"),
                        &window_text(change.expected),
                        &window_text(change.found),
                    ),
                });
            }
            if let Some(c) = diff.serial {
                lines.push(both("serial", &c.expected, &c.found));
            }
            if let Some(c) = diff.channel {
                lines.push(both("channel", &c.expected.name(), &c.found.name()));
            }
            if let Some(c) = diff.runtime_override {
                lines.push(both(
                    "runtime override",
                    &c.expected.name(),
                    &c.found.name(),
                ));
            }
            for f in &diff.revoked_added {
                lines.push(format!("revoked {f}: in the artifact only"));
            }
            for f in &diff.revoked_missing {
                lines.push(format!("revoked {f}: missing from the artifact"));
            }
            lines
        }
    }
}

fn window_text(w: Validity) -> String {
    format!(
        "[{} .. sign until {} .. {}]",
        instant_or_none(w.not_before),
        instant_or_none(w.sign_until),
        instant_or_none(w.not_after)
    )
}

/// RFC 3339 in UTC, `None` for an open end; `unix:<seconds>` outside what RFC 3339
/// can show (only a hand-made block holds such instants).
fn instant(secs: i64) -> Option<String> {
    (secs != OPEN_END).then(|| {
        jiff::Timestamp::from_second(secs)
            .map_or_else(|_| format!("unix:{secs}"), |t| t.to_string())
    })
}

fn instant_or_none(secs: i64) -> String {
    instant(secs).unwrap_or_else(|| "none".to_owned())
}

/// Escapes a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Makes text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('`', "'")
}
