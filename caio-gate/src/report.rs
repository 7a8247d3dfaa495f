//! How a [`GateReport`] is shown: human text, one JSON document, GitHub workflow
//! commands (`::error`) and a Markdown table for the job summary. One renderer serves
//! `caio-verify check`, `caio-verify inspect` and `cargo xtask verify-artifact`, so the
//! three cannot drift apart.
//!
//! Rendering, plus [`GateReport::write_to`], the one routing of those renderings that
//! every gate command shares (which stream, when to annotate, the step summary). The
//! JSON field names and the reason codes are an interface (CI scripts read them,
//! `docs/gate.md` lists them): the document is built from typed structs, with keyrings
//! and instants in `caio_keyring::view`'s shape, and a test pins its bytes. The human
//! text is for people and may change.
//! A private key is shown by where it is and what kind it is, in every rendering, and
//! never by any of its bytes.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;

use caio_keyring::view::{KeyringSummary, KeyringView, WindowView, instant_text};
use caio_keyring::{Keyring, Validity};
use serde::Serialize;
use serde_json::Value;

use super::gate::Expectation;
use super::{
    ArtifactVerdict, BlockFailure, Change, GateReport, JudgedFinding, KeyDifference, KeyringDiff,
    Location, PrivateKeyFinding, Status,
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

/// The JSON document of a run: the interface `docs/gate.md` describes. Each type
/// below is one object of it.
#[derive(Serialize)]
struct ReportJson<'a> {
    status: &'static str,
    exit_code: u8,
    manifest: Option<ManifestJson<'a>>,
    allow_development: bool,
    artifacts: Vec<ArtifactJson<'a>>,
}

/// The manifest judged against: its path, and its keyring's summary.
#[derive(Serialize)]
struct ManifestJson<'a> {
    path: &'a str,
    #[serde(flatten)]
    keyring: KeyringSummary,
}

#[derive(Serialize)]
struct ArtifactJson<'a> {
    path: String,
    status: &'static str,
    reasons: Vec<&'static str>,
    error: Option<ErrorJson>,
    stats: StatsJson,
    findings: Vec<FindingJson<'a>>,
    private_keys: Vec<PrivateKeyJson<'a>>,
    private_key_count: u64,
}

#[derive(Serialize)]
struct ErrorJson {
    code: &'static str,
    message: String,
    location: Option<String>,
}

#[derive(Serialize)]
struct StatsJson {
    scanned: u64,
    scanned_bytes: u64,
    entries: u64,
    unpacked_bytes: u64,
}

/// Where a block or a private key was found: the place as one string, then its parts.
/// Flattened into both, so the two name a place with the same fields.
#[derive(Serialize)]
struct PlaceJson<'a> {
    location: String,
    file: String,
    members: &'a [String],
    offset: u64,
}

/// A block: where it is, its keyring (`null` when it is corrupt) and its failures.
#[derive(Serialize)]
struct FindingJson<'a> {
    #[serde(flatten)]
    place: PlaceJson<'a>,
    section: Option<&'a str>,
    status: &'static str,
    keyring: Option<FoundKeyring>,
    failures: Vec<FailureJson<'a>>,
}

/// A found keyring: its summary against a manifest, in full without one (`inspect`).
#[derive(Serialize)]
#[serde(untagged)]
enum FoundKeyring {
    Summary(KeyringSummary),
    Full(KeyringView),
}

/// Where a private key is and what it is; never any of its bytes.
#[derive(Serialize)]
struct PrivateKeyJson<'a> {
    #[serde(flatten)]
    place: PlaceJson<'a>,
    kind: &'static str,
    label: Option<&'a str>,
    pkcs8_version: Option<u8>,
}

/// Why a block fails: the reason code, then what that reason says.
#[derive(Serialize)]
struct FailureJson<'a> {
    reason: &'static str,
    #[serde(flatten)]
    detail: FailureDetail<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum FailureDetail<'a> {
    Corrupt {
        detail: String,
    },
    Development {
        channel: &'static str,
        runtime_override: &'static str,
    },
    Mismatch {
        expected_fingerprint: String,
        found_fingerprint: String,
        differences: Vec<DifferenceJson<'a>>,
    },
}

/// One difference of a mismatch: a `field` (`serial`, `channel`, `runtime_override`,
/// `revoked`) or a `key`, the `kind` of change where there are several, and the
/// `expected` (manifest's) and `found` (artifact's) values where each applies. A field
/// that does not apply is left out, never `null`.
#[derive(Serialize)]
struct DifferenceJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Shown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    found: Option<Shown>,
}

/// A value in a difference.
#[derive(Serialize)]
#[serde(untagged)]
enum Shown {
    Serial(u32),
    Name(&'static str),
    Fingerprint(String),
    Window(WindowView),
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
    ///
    /// The document is a [`Value`], whose objects keep their keys sorted: on the wire
    /// every object's fields are in alphabetical order, whatever order the types below
    /// declare them in.
    pub fn to_json(&self) -> Value {
        let keys = self.lists_keys();
        let document = ReportJson {
            status: self.status().name(),
            exit_code: self.exit_code(),
            manifest: self.expected.as_ref().map(|e| ManifestJson {
                path: &e.manifest,
                keyring: KeyringSummary::of(&e.keyring),
            }),
            allow_development: self.options.allow_development,
            artifacts: self
                .artifacts
                .iter()
                .map(|a| ArtifactJson::of(a, keys))
                .collect(),
        };
        // Cannot fail: every map key is a string and every number fits JSON.
        serde_json::to_value(document).unwrap_or(Value::Null)
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
                        BlockFailure::Mismatch(_) => "",
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

impl<'a> ArtifactJson<'a> {
    fn of(artifact: &'a ArtifactVerdict, keys: bool) -> Self {
        let s = &artifact.stats;
        Self {
            path: artifact.artifact.display().to_string(),
            status: artifact.status.name(),
            reasons: artifact.reasons(),
            error: artifact.error.as_ref().map(|e| ErrorJson {
                code: e.code(),
                message: e.to_string(),
                location: error_location(e),
            }),
            stats: StatsJson {
                scanned: s.scanned,
                scanned_bytes: s.scanned_bytes,
                entries: s.entries,
                unpacked_bytes: s.unpacked_bytes,
            },
            findings: artifact
                .findings
                .iter()
                .map(|f| FindingJson::of(f, keys))
                .collect(),
            private_keys: artifact
                .private_keys
                .iter()
                .map(PrivateKeyJson::of)
                .collect(),
            private_key_count: artifact.private_key_count,
        }
    }
}

impl<'a> PlaceJson<'a> {
    fn of(location: &'a Location, offset: u64) -> Self {
        Self {
            location: location.to_string(),
            file: location.file.display().to_string(),
            members: &location.members,
            offset,
        }
    }
}

impl<'a> FindingJson<'a> {
    fn of(judged: &'a JudgedFinding, keys: bool) -> Self {
        let finding = &judged.finding;
        Self {
            place: PlaceJson::of(&finding.location, finding.offset),
            section: finding.section.as_deref(),
            status: if judged.failures.is_empty() {
                "pass"
            } else {
                "fail"
            },
            keyring: finding.keyring.as_ref().ok().map(|k| {
                if keys {
                    FoundKeyring::Full(KeyringView::of(k))
                } else {
                    FoundKeyring::Summary(KeyringSummary::of(k))
                }
            }),
            failures: judged.failures.iter().map(FailureJson::of).collect(),
        }
    }
}

impl<'a> PrivateKeyJson<'a> {
    fn of(key: &'a PrivateKeyFinding) -> Self {
        let (label, pkcs8_version) = match &key.kind {
            super::PrivateKeyKind::Pem { label } => (Some(label.as_str()), None),
            super::PrivateKeyKind::Pkcs8Ed25519 { version } => (None, *version),
        };
        Self {
            place: PlaceJson::of(&key.location, key.offset),
            kind: key.kind.code(),
            label,
            pkcs8_version,
        }
    }
}

impl<'a> FailureJson<'a> {
    fn of(failure: &'a BlockFailure) -> Self {
        let detail = match failure {
            BlockFailure::Corrupt(error) => FailureDetail::Corrupt {
                detail: error.to_string(),
            },
            BlockFailure::Development {
                channel,
                runtime_override,
            } => FailureDetail::Development {
                channel: channel.name(),
                runtime_override: runtime_override.name(),
            },
            BlockFailure::Mismatch(diff) => FailureDetail::Mismatch {
                expected_fingerprint: diff.expected_fingerprint.to_string(),
                found_fingerprint: diff.found_fingerprint.to_string(),
                differences: DifferenceJson::all(diff),
            },
        };
        Self {
            reason: failure.code(),
            detail,
        }
    }
}

impl<'a> DifferenceJson<'a> {
    /// Every difference of `diff`: the keyring's fields, its keys, its revocations.
    fn all(diff: &'a KeyringDiff) -> Vec<Self> {
        let field = |field, expected, found| Self {
            field: Some(field),
            key: None,
            kind: None,
            expected: Some(expected),
            found: Some(found),
        };
        let mut out = Vec::new();
        if let Some(Change { expected, found }) = diff.serial {
            out.push(field(
                "serial",
                Shown::Serial(expected),
                Shown::Serial(found),
            ));
        }
        if let Some(Change { expected, found }) = diff.channel {
            let (expected, found) = (expected.name(), found.name());
            out.push(field("channel", Shown::Name(expected), Shown::Name(found)));
        }
        if let Some(Change { expected, found }) = diff.runtime_override {
            let (expected, found) = (expected.name(), found.name());
            out.push(field(
                "runtime_override",
                Shown::Name(expected),
                Shown::Name(found),
            ));
        }
        let fingerprint = |f: &caio_keyring::Fingerprint| Shown::Fingerprint(f.to_string());
        for key in &diff.keys {
            let (expected, found) = match key {
                KeyDifference::Added { fingerprint: f, .. } => (None, Some(fingerprint(f))),
                KeyDifference::Missing { fingerprint: f, .. } => (Some(fingerprint(f)), None),
                KeyDifference::PublicKey { change, .. } => (
                    Some(fingerprint(&change.expected)),
                    Some(fingerprint(&change.found)),
                ),
                KeyDifference::Window { change, .. } => (
                    Some(Shown::Window(WindowView::of(change.expected))),
                    Some(Shown::Window(WindowView::of(change.found))),
                ),
            };
            out.push(Self {
                field: None,
                key: Some(key.id().as_str()),
                kind: Some(key.code()),
                expected,
                found,
            });
        }
        let revoked = |kind, expected, found| Self {
            field: Some("revoked"),
            key: None,
            kind: Some(kind),
            expected,
            found,
        };
        for f in &diff.revoked_added {
            out.push(revoked("added", None, Some(fingerprint(f))));
        }
        for f in &diff.revoked_missing {
            out.push(revoked("missing", Some(fingerprint(f)), None));
        }
        out
    }
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
            instant_text(w.not_before),
            instant_text(w.sign_until),
            instant_text(w.not_after),
        );
    }
    for fingerprint in keyring.revoked() {
        let _ = writeln!(out, "    revoked {fingerprint}");
    }
}

/// What is wrong, one line per difference.
fn failure_lines(failure: &BlockFailure, expected: Option<&Expectation>) -> Vec<String> {
    let manifest = expected.map_or("the manifest", |e| e.manifest.as_str());
    match failure {
        BlockFailure::Corrupt(error) => vec![format!("corrupt keyring block: {error}")],
        BlockFailure::Development {
            channel,
            runtime_override,
        } => vec![format!(
            "development keyring (channel {}, runtime override {}): a release gate refuses it; \
             pass --allow-development to permit it",
            channel.name(),
            runtime_override.name()
        )],
        BlockFailure::Mismatch(diff) => {
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
        instant_text(w.not_before),
        instant_text(w.sign_until),
        instant_text(w.not_after)
    )
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use caio_keyring::block::DecodeError;
    use caio_keyring::{Channel, Fingerprint, KeyId, Keyring, OPEN_END, RuntimeOverride, Validity};
    use test_support::keyring::trusted_key;

    use super::super::{
        ArtifactError, ArtifactVerdict, BlockFailure, BlockFinding, Change, Expectation,
        GateOptions, GateReport, JudgedFinding, KeyDifference, KeyringDiff, LimitExceeded,
        Location, PrivateKeyFinding, PrivateKeyKind, Stats, Status,
    };

    fn keyring(serial: u32, channel: Channel) -> Keyring {
        let closed = Validity {
            not_before: 1_800_000_000,
            sign_until: 1_850_000_000,
            not_after: 1_900_000_000,
        };
        let open = Validity {
            not_before: 1_700_000_000,
            sign_until: OPEN_END,
            not_after: OPEN_END,
        };
        let revoked = vec![Fingerprint::from_bytes([0xcd; 32])];
        let keys = vec![
            trusted_key([1; 32], "a-key", closed),
            trusted_key([2; 32], "b-key", open),
        ];
        Keyring::new(serial, channel, RuntimeOverride::Deny, keys, revoked).unwrap()
    }

    fn location(file: &str, members: &[&str]) -> Location {
        Location {
            file: PathBuf::from(file),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    /// One artifact with every kind of finding: a mismatching block (every kind of
    /// difference), a development block, a corrupt block, two private keys listed and
    /// one not, and the error that stopped the walk.
    fn artifact() -> ArtifactVerdict {
        let found = keyring(6, Channel::Development);
        let fp = |seed: u8| Fingerprint::from_bytes([seed; 32]);
        let id = |id: &str| KeyId::new(id).unwrap();
        let window = |not_after| Validity {
            not_before: 1_800_000_000,
            sign_until: 1_800_000_000,
            not_after,
        };
        let diff = KeyringDiff {
            expected_fingerprint: fp(0x11),
            found_fingerprint: found.fingerprint(),
            serial: Some(Change {
                expected: 7,
                found: 6,
            }),
            channel: Some(Change {
                expected: Channel::Production,
                found: Channel::Development,
            }),
            runtime_override: Some(Change {
                expected: RuntimeOverride::Endorsed,
                found: RuntimeOverride::Deny,
            }),
            keys: vec![
                KeyDifference::Added {
                    id: id("added"),
                    fingerprint: fp(0x21),
                },
                KeyDifference::Missing {
                    id: id("missing"),
                    fingerprint: fp(0x22),
                },
                KeyDifference::PublicKey {
                    id: id("other"),
                    change: Change {
                        expected: fp(0x23),
                        found: fp(0x24),
                    },
                },
                KeyDifference::Window {
                    id: id("window"),
                    change: Change {
                        expected: window(1_900_000_000),
                        found: window(OPEN_END),
                    },
                },
            ],
            revoked_added: vec![fp(0x31)],
            revoked_missing: vec![fp(0x32)],
        };
        let block = |members: &[&str], offset, keyring, failures| JudgedFinding {
            finding: BlockFinding {
                location: location("dist/image.tar", members),
                offset,
                section: None,
                bytes: Vec::new(),
                keyring,
            },
            failures,
        };
        ArtifactVerdict {
            artifact: PathBuf::from("dist/image.tar"),
            status: Status::Error,
            findings: vec![
                block(
                    &["layer.tar", "usr/bin/caio"],
                    436_496,
                    Ok(found),
                    vec![
                        BlockFailure::Mismatch(Box::new(diff)),
                        BlockFailure::Development {
                            channel: Channel::Development,
                            runtime_override: RuntimeOverride::Deny,
                        },
                    ],
                ),
                block(
                    &["layer.tar", "usr/bin/other"],
                    16,
                    Err(DecodeError::DigestMismatch),
                    vec![BlockFailure::Corrupt(DecodeError::DigestMismatch)],
                ),
            ],
            private_keys: vec![
                PrivateKeyFinding {
                    location: location("dist/image.tar", &["layer.tar", "etc/signing.pem"]),
                    offset: 0,
                    kind: PrivateKeyKind::Pem {
                        label: "OPENSSH PRIVATE KEY".to_owned(),
                    },
                },
                PrivateKeyFinding {
                    location: location("dist/image.tar", &["layer.tar", "etc/key.der"]),
                    offset: 32,
                    kind: PrivateKeyKind::Pkcs8Ed25519 { version: Some(1) },
                },
            ],
            private_key_count: 3,
            error: Some(ArtifactError::Limit {
                location: location("dist/image.tar", &["layer.tar"]),
                limit: LimitExceeded::Entries { max: 10 },
            }),
            stats: Stats {
                scanned: 4,
                scanned_bytes: 5000,
                entries: 11,
                unpacked_bytes: 6000,
            },
        }
    }

    /// A pass, an artifact that is not a file, and [`artifact`].
    fn artifacts() -> Vec<ArtifactVerdict> {
        let pass = ArtifactVerdict {
            artifact: PathBuf::from("dist/caio"),
            status: Status::Pass,
            findings: vec![JudgedFinding {
                finding: BlockFinding {
                    location: location("dist/caio", &[]),
                    offset: 4096,
                    section: Some(".caio_keys".to_owned()),
                    bytes: Vec::new(),
                    keyring: Ok(keyring(7, Channel::Production)),
                },
                failures: Vec::new(),
            }],
            private_keys: Vec::new(),
            private_key_count: 0,
            error: None,
            stats: Stats::default(),
        };
        let fifo = ArtifactVerdict {
            artifact: PathBuf::from("dist/fifo"),
            status: Status::Error,
            findings: Vec::new(),
            private_keys: Vec::new(),
            private_key_count: 0,
            error: Some(ArtifactError::NotAFile {
                path: PathBuf::from("dist/fifo"),
            }),
            stats: Stats::default(),
        };
        vec![pass, artifact(), fifo]
    }

    fn check(report: &GateReport, expected: &str) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        report
            .write_to(true, &super::GithubEnv::default(), &mut out, &mut err)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert!(err.is_empty());
    }

    /// The JSON document is an interface: these are its bytes, field for field, as
    /// `docs/gate.md` describes them. The files hold whole documents, byte for byte (the
    /// first captured from the `json!` renderer that the typed one replaced), so a change
    /// to the interface shows as a diff of JSON.
    #[test]
    fn the_json_report_is_unchanged_on_the_wire() {
        let against = GateReport {
            expected: Some(Expectation {
                manifest: "keys/keyring.toml".to_owned(),
                keyring: keyring(7, Channel::Production),
            }),
            options: GateOptions::default(),
            artifacts: artifacts(),
        };
        check(&against, include_str!("report/check.json"));
        // Without a manifest, only a found keyring is shown otherwise: in full.
        let inspect = GateReport {
            expected: None,
            options: GateOptions {
                allow_development: true,
            },
            artifacts: artifacts().into_iter().take(1).collect(),
        };
        check(&inspect, include_str!("report/inspect.json"));
    }
}
