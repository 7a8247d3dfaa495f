//! `cargo xtask keys ...`: inspect and edit `keys/keyring.toml` (runbook steps 3 and 7).
//!
//! `check` runs every check the build makes (through `caio-keyring`, never a second
//! parser), then the policy relative to now and the contents of `keys/`
//! ([`policy`]). `list` and `timeline` show each key's state now. The editing
//! commands (`add`, `rotate`, `retire`, `revoke`, `remove`) go through [`edit::Edit`],
//! which keeps comments, bumps `serial`, refuses to write a manifest the build would
//! reject, and writes atomically. `endorse` signs a key endorsement and edits nothing.
//!
//! Output: a command's product (the list, the chart, a dry run's diff) goes to stdout,
//! `--json` output too; progress, warnings and errors go to stderr. `--now T` replaces
//! the clock for rehearsals and tests. The manifest is `CAIO_KEYRING` if set, else
//! `keys/keyring.toml`; its directory holds the PEM files.

mod add;
mod edit;
mod endorse;
mod lifecycle;
pub(crate) mod outstanding;
mod policy;
mod timeline;

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use caio_keyring::manifest::{Manifest, ManifestErrors, ManifestKey};
use caio_keyring::view::instant;
use clap::{Args, Subcommand};
use serde_json::json;

use self::policy::{KeyState, Severity};
use crate::time::{Clock, InstantArg, format_instant};
use crate::{Outcome, fsutil, workspace};

/// Inspect and edit keys/keyring.toml (or the manifest that CAIO_KEYRING names).
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Pretend the current time is T (RFC 3339 or a date), to rehearse a rotation or
    /// to test; every command reads "now" from it.
    #[arg(long, global = true, value_name = "T")]
    now: Option<InstantArg>,
    #[command(subcommand)]
    command: KeysCommand,
}

/// The `keys` commands. Each command's help is the doc of its arguments struct.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    List(ListArgs),
    Check(CheckArgs),
    Timeline(TimelineArgs),
    Add(add::AddArgs),
    Rotate(add::RotateArgs),
    Retire(lifecycle::RetireArgs),
    Revoke(lifecycle::RevokeArgs),
    Remove(lifecycle::RemoveArgs),
    Endorse(endorse::EndorseArgs),
}

/// List every key with its state now (pending, signing, verify-only, expired,
/// revoked), its windows (RFC 3339; an open end is "none", or null with --json) and
/// fingerprint.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON on stdout: {"manifest", "serial", "channel", "now", "keys": [{"id",
    /// "state", "status", "fingerprint", "public_key", "not_before", "sign_until",
    /// "not_after"}]}, instants as RFC 3339 and null for no end.
    #[arg(long)]
    json: bool,
}

/// Check keys/keyring.toml as the build does, plus the policy relative to now and the
/// contents of keys/; exit 1 on any failure.
///
/// Policy checks: max_key_lifetime_days (a longer signing window fails),
/// min_overlap_days (a key that hands signing to a successor must keep verifying at
/// least that long after the successor starts), support_window_days (a build made now
/// must keep a non-revoked key verifying that long: the bricking horizon). Every file
/// under keys/ is scanned: no private key, and no PEM the manifest does not name.
///
/// With --licenses FILE, every outstanding license in FILE (one per line) must verify
/// now and stay verifiable until its exp: its key's not_after at or after the exp, or
/// no not_after for a perpetual license. Each orphan is listed with its line, license
/// id and reason (a caio-verify reason code, or `outlives_key`).
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The outstanding licenses, one per line (blank lines are skipped).
    #[arg(long, value_name = "FILE")]
    licenses: Option<PathBuf>,
}

/// Chart every key's signing and verification windows, with now marked.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Also write the chart as an SVG picture to FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

impl KeysArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let clock = Clock::new(self.now);
        match self.command {
            KeysCommand::List(args) => args.run(clock),
            KeysCommand::Check(args) => args.run(clock),
            KeysCommand::Timeline(args) => args.run(clock),
            KeysCommand::Add(args) => args.run(clock),
            KeysCommand::Rotate(args) => args.run(clock),
            KeysCommand::Retire(args) => args.run(clock),
            KeysCommand::Revoke(args) => args.run(clock),
            KeysCommand::Remove(args) => args.run(clock),
            KeysCommand::Endorse(args) => args.run(clock),
        }
    }
}

impl ListArgs {
    fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = load()? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        if self.json {
            let keys: Vec<_> = manifest
                .keys()
                .iter()
                .map(|k| {
                    json!({
                        "id": k.id.as_str(),
                        "state": KeyState::of(k, now).name(),
                        "status": if KeyState::of(k, now) == KeyState::Revoked { "revoked" } else { "active" },
                        "fingerprint": k.fingerprint.to_string(),
                        "public_key": k.public_key_file,
                        "not_before": format_instant(k.validity.not_before),
                        "sign_until": instant(k.validity.sign_until),
                        "not_after": instant(k.validity.not_after),
                    })
                })
                .collect();
            let out = json!({
                "manifest": manifest.path().display().to_string(),
                "serial": manifest.serial(),
                "channel": manifest.channel().name(),
                "now": format_instant(now),
                "keys": keys,
            });
            println!("{out}");
            return Ok(Outcome::Success);
        }
        eprintln!(
            "{} (serial {}, {}) at {}",
            manifest.path().display(),
            manifest.serial(),
            manifest.channel().name(),
            format_instant(now)
        );
        let id_width = manifest
            .keys()
            .iter()
            .map(|k| k.id.as_str().len())
            .max()
            .unwrap_or(2)
            .max(2);
        println!(
            "{:id_width$}  {:11}  {:20}  {:20}  {:20}  FINGERPRINT",
            "ID", "STATE", "NOT_BEFORE", "SIGN_UNTIL", "NOT_AFTER"
        );
        for k in manifest.keys() {
            println!(
                "{:id_width$}  {:11}  {:20}  {:20}  {:20}  {}",
                k.id.as_str(),
                KeyState::of(k, now).name(),
                format_instant(k.validity.not_before),
                format_instant(k.validity.sign_until),
                format_instant(k.validity.not_after),
                k.fingerprint
            );
        }
        Ok(Outcome::Success)
    }
}

impl CheckArgs {
    fn run(self, clock: Clock) -> Result<Outcome> {
        let path = workspace::manifest_path();
        let keys_dir = workspace::keys_dir(&path);
        let now = clock.now();
        let mut failed = false;
        let loaded = Manifest::load(&path);
        let named: BTreeSet<String> = match &loaded {
            Ok(manifest) => manifest
                .keys()
                .iter()
                .map(|k| k.public_key_file.clone())
                .collect(),
            Err(errors) => {
                print_manifest_errors(errors);
                failed = true;
                named_files_leniently(&path)
            }
        };
        let mut findings = policy::scan_keys_dir(&keys_dir, &path, &named);
        if let Ok(manifest) = &loaded {
            findings.extend(policy::check(manifest, now));
        }
        for finding in &findings {
            match finding.severity {
                Severity::Failure => {
                    failed = true;
                    eprintln!("error: {finding}");
                }
                Severity::Warning => eprintln!("warning: {finding}"),
            }
        }
        if let Some(file) = &self.licenses {
            match &loaded {
                Ok(manifest) => failed |= !check_licenses(manifest, file, now)?,
                Err(_) => eprintln!(
                    "error: {}: not checked: the manifest must load before its keys can judge licenses",
                    file.display()
                ),
            }
        }
        if let Ok(manifest) = &loaded {
            let keyring = manifest.keyring();
            let h = policy::horizon(manifest, now);
            eprintln!(
                "bricking horizon: a build made at {} verifies licenses until {}{}",
                format_instant(now),
                format_instant(h.verifies_until),
                match (h.required, manifest.policy().support_window_days) {
                    (Some(r), Some(days)) => format!(
                        " (support_window_days = {days} needs {}: {})",
                        format_instant(r),
                        if h.holds() { "ok" } else { "too short" }
                    ),
                    _ => String::new(),
                }
            );
            eprintln!(
                "{}: {}: {} embedded key(s), {} revoked, serial {}, keyring {}",
                path.display(),
                if failed { "FAILED" } else { "ok" },
                keyring.keys().len(),
                keyring.revoked().len(),
                keyring.serial(),
                keyring.fingerprint()
            );
        }
        Ok(if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        })
    }
}

impl TimelineArgs {
    fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = load()? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        print!("{}", timeline::render_text(&manifest, now));
        if let Some(svg) = self.svg {
            fsutil::write_atomic(&svg, timeline::render_svg(&manifest, now).as_bytes())?;
            eprintln!("wrote {}", svg.display());
        }
        Ok(Outcome::Success)
    }
}

/// `keys check` as the operator runs it (no `--licenses`, the system clock): the first
/// step of `release`.
pub(crate) fn check_now() -> Result<Outcome> {
    CheckArgs { licenses: None }.run(Clock::new(None))
}

/// `keys check --licenses FILE`: reports each orphan on stderr; true when none.
fn check_licenses(manifest: &Manifest, file: &std::path::Path, now: i64) -> Result<bool> {
    let report = outstanding::check_file(manifest.keyring(), file, now)?;
    for orphan in &report.orphans {
        eprintln!("error: {}:{}: {orphan}", file.display(), orphan.line);
    }
    eprintln!(
        "{}: {} outstanding license(s), {} orphaned by {}{}",
        file.display(),
        report.total,
        report.orphans.len(),
        manifest.path().display(),
        if report.orphans.is_empty() {
            ""
        } else {
            ": re-issue them with `cargo xtask license reissue` before the keys' deadlines"
        }
    );
    Ok(report.orphans.is_empty())
}

/// Loads the manifest the commands work on; on errors prints them and returns `None`.
pub(crate) fn load() -> Result<Option<Manifest>> {
    let path = workspace::manifest_path();
    match Manifest::load(&path) {
        Ok(manifest) => Ok(Some(manifest)),
        Err(errors) => {
            print_manifest_errors(&errors);
            Ok(None)
        }
    }
}

/// Prints every manifest error, one per line, on stderr.
///
/// A TOML-level error (an unknown or missing field) carries a line but no key; the
/// key whose table holds that line is named here, so every message says which key.
fn print_manifest_errors(errors: &ManifestErrors) {
    for e in &errors.0 {
        let owner = match (e.line, &e.key, e.field, &e.named_file) {
            (Some(line), None, None, None) => key_at_line(&e.file, line),
            _ => None,
        };
        match (owner, e.line) {
            (Some(id), Some(line)) => {
                eprintln!("error: {}:{line}: key {id:?}: {}", e.file.display(), e.kind);
            }
            _ => eprintln!("error: {e}"),
        }
    }
}

/// The id of the `[[key]]` table that holds 1-based `line` of the manifest at `path`.
fn key_at_line(path: &std::path::Path, line: usize) -> Option<String> {
    let text = caio_keyring::manifest::read_manifest_text(path).ok()?;
    let doc = toml_edit::Document::parse(text.as_str()).ok()?;
    let line_of = |offset: usize| text.get(..offset).map(|t| t.matches('\n').count() + 1);
    let mut starts: Vec<(usize, Option<String>)> = Vec::new();
    for (_, item) in doc.as_table().iter() {
        if let Some(keys) = item.as_array_of_tables() {
            for table in keys.iter() {
                let id = table
                    .get("id")
                    .and_then(toml_edit::Item::as_str)
                    .map(str::to_owned);
                starts.extend(table.span().and_then(|s| line_of(s.start)).map(|l| (l, id)));
            }
        } else if let Some(table) = item.as_table() {
            starts.extend(
                table
                    .span()
                    .and_then(|s| line_of(s.start))
                    .map(|l| (l, None)),
            );
        }
    }
    starts
        .into_iter()
        .filter(|(start, _)| *start <= line)
        .max_by_key(|(start, _)| *start)
        .and_then(|(_, id)| id)
}

/// The key `id` of `manifest`.
fn find_key<'a>(manifest: &'a Manifest, id: &str) -> Result<&'a ManifestKey> {
    manifest
        .keys()
        .iter()
        .find(|k| k.id.as_str() == id)
        .with_context(|| {
            let ids: Vec<_> = manifest.keys().iter().map(|k| k.id.as_str()).collect();
            format!(
                "{} has no key {id:?}; its keys are: {}",
                manifest.path().display(),
                ids.join(", ")
            )
        })
}

/// The `public_key` values of a manifest that does not load, read as plain TOML, so
/// the scan of keys/ still knows which PEM files are named.
fn named_files_leniently(path: &std::path::Path) -> BTreeSet<String> {
    let text = caio_keyring::manifest::read_manifest_text(path).unwrap_or_default();
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return BTreeSet::new();
    };
    doc.get("key")
        .and_then(toml_edit::Item::as_array_of_tables)
        .map(|keys| {
            keys.iter()
                .filter_map(|t| t.get("public_key").and_then(toml_edit::Item::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
