//! `cargo xtask rotation status --retire OLD`: may the old key go? The sunset decision of
//! runbook step 7, made on fleet evidence rather than on the calendar.
//!
//! The manifest says which keys succeed OLD and when OLD stops verifying; the evidence
//! (`--prometheus URL`, the Prometheus query API, and/or `--scrape URL...`, each
//! deployment's `/metrics` from `caio-verify serve`) says how many deployments trust a
//! successor and whether anything still verifies licenses by OLD; `--licenses FILE`
//! says which outstanding licenses still need OLD (with the judge of `keys check
//! --licenses`). [`decide`] turns that into ready (exit 0), not ready with every reason
//! (exit 1), and evidence that could not be read is exit 2: the manifest alone never
//! says ready. This module gathers and prints; it edits nothing (`keys retire` and
//! `keys remove` do that).

mod decide;
mod exposition;
mod fetch;
mod prometheus;
mod scrape;

// The judge of `keys check --licenses`.
use crate::keys::outstanding;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use caio_keyring::Keyring;
use caio_keyring::manifest::{KeyStatus, Manifest, ManifestKey};
use caio_keyring::view::instant;
use clap::{ArgGroup, Args, Subcommand};
use serde_json::{Value, json};

use self::decide::{Blocker, Decision, Evidence, KeyFacts, Licenses, Plan, Scope, decide};
use self::fetch::Limits;
use crate::Outcome;
use crate::time::{Clock, DurationArg, InstantArg, format_instant};

/// Decide, on fleet evidence, when an old key can be retired (runbook step 7).
#[derive(Debug, Args)]
pub struct RotationArgs {
    /// Pretend the current time is T (RFC 3339 or a date) for the manifest's side
    /// (which keys sign now, OLD's deadline, the licenses); the evidence is always
    /// read as it stands now.
    #[arg(long, global = true, value_name = "T")]
    now: Option<InstantArg>,
    #[command(subcommand)]
    command: RotationCommand,
}

/// The `rotation` commands.
#[derive(Debug, Subcommand)]
pub enum RotationCommand {
    Status(StatusArgs),
}

/// Say whether OLD_ID can be retired: exit 0 "ready to retire OLD_ID", 1 "not ready"
/// with every reason, 2 for a usage error or evidence that could not be read.
///
/// Ready needs all of: a successor (another non-revoked key of the manifest whose
/// signing window ends after OLD's) that signs now; at least --min-coverage percent of
/// the deployments in each evidence source reporting now and trusting a successor
/// (by fingerprint, from caio_key_info; a deployment that reported within --window
/// and stopped counts as not covered); no successful verification by OLD within
/// --window (with --scrape: since each deployment started); and, with --licenses, no
/// outstanding license that only OLD verifies. Rejection rates by reason (the last
/// hour against the hour before the first successor's not_before) and OLD's
/// not_after are shown as notes. At least one of --prometheus and --scrape is
/// required: the manifest alone never says ready. Plain http:// only.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("evidence").required(true).multiple(true)
    .args(["prometheus", "scrape"])))]
pub struct StatusArgs {
    /// The id of the key to retire, as in keys/keyring.toml.
    #[arg(long, value_name = "OLD_ID")]
    retire: String,

    /// The Prometheus server that scrapes the fleet's `caio-verify serve` (its root URL,
    /// such as http://prometheus:9090); read through /api/v1/query.
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,

    /// The /metrics URL of each deployment, for a fleet without Prometheus (repeat the
    /// flag or give several URLs); every one must answer.
    #[arg(long, value_name = "URL", num_args = 1..)]
    scrape: Vec<String>,

    /// How far back deployments and verifications by OLD count (units up to weeks).
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    window: DurationArg,

    /// The share of deployments, in percent, that must trust a successor.
    #[arg(long, value_name = "PCT", default_value_t = 100.0, value_parser = parse_percent)]
    min_coverage: f64,

    /// Outstanding licenses, one per line: any that only OLD verifies blocks.
    #[arg(long, value_name = "FILE")]
    licenses: Option<PathBuf>,

    /// The time-out of each HTTP request, connecting to the last byte.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    timeout: DurationArg,

    /// Print the decision as one JSON object on stdout (fields in docs/telemetry.md).
    #[arg(long)]
    json: bool,
}

impl RotationArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let clock = Clock::new(self.now);
        match self.command {
            RotationCommand::Status(args) => args.run(clock),
        }
    }
}

impl StatusArgs {
    fn run(self, clock: Clock) -> Result<Outcome> {
        if self.window.seconds() == 0 {
            bail!("--window 0 looks at nothing; give a length such as 30d");
        }
        if self.timeout.seconds() == 0 {
            bail!("--timeout 0 allows no request; give a length such as 30s");
        }
        if self.scrape.len() > scrape::MAX_URLS {
            bail!(
                "{} --scrape URLs; at most {} at once",
                self.scrape.len(),
                scrape::MAX_URLS
            );
        }
        let mut distinct = BTreeSet::new();
        if let Some(twice) = self.scrape.iter().find(|u| !distinct.insert(u.as_str())) {
            bail!("--scrape {twice} is given twice: each URL is one deployment");
        }
        let Some(manifest) = crate::keys::load()? else {
            return Ok(Outcome::Error);
        };
        let now = clock.now();
        let plan = plan(&manifest, &self.retire, now)?;
        let licenses = match &self.licenses {
            Some(file) => Some(licenses_needing_old(&manifest, &plan, file, now)?),
            None => None,
        };

        let limits = Limits {
            timeout: Duration::from_secs(self.timeout.seconds().unsigned_abs()),
            max_bytes: prometheus::MAX_BYTES,
        };
        let mut evidence = Vec::new();
        if let Some(url) = &self.prometheus {
            let wall_now = jiff::Timestamp::now().as_second();
            evidence.push(prometheus::gather(
                limits,
                url,
                &plan,
                self.window.seconds(),
                wall_now,
            )?);
        }
        if !self.scrape.is_empty() {
            evidence.push(scrape::gather(limits, &self.scrape, &plan)?);
        }
        let decision = decide(&plan, &evidence, licenses.as_ref(), self.min_coverage);
        if self.json {
            let report = report_json(
                &self,
                &manifest,
                &plan,
                &evidence,
                licenses.as_ref(),
                &decision,
            );
            println!("{report}");
        } else {
            print_text(&self, &plan, &evidence, licenses.as_ref(), &decision);
        }
        Ok(if decision.ready {
            Outcome::Success
        } else {
            Outcome::Failure
        })
    }
}

/// OLD and its successors from the manifest; an unknown OLD is a usage error.
fn plan(manifest: &Manifest, old_id: &str, now: i64) -> Result<Plan> {
    let Some(old) = manifest.keys().iter().find(|k| k.id.as_str() == old_id) else {
        let ids: Vec<&str> = manifest.keys().iter().map(|k| k.id.as_str()).collect();
        bail!(
            "{}: no key {old_id:?} to retire; its keys are {}",
            manifest.path().display(),
            ids.join(", ")
        );
    };
    let old = facts(old);
    let mut successors: Vec<KeyFacts> = manifest
        .keys()
        .iter()
        .map(facts)
        .filter(|k| decide::is_successor(&old, k))
        .collect();
    successors.sort_by_key(|k| k.not_before);
    Ok(Plan {
        old,
        successors,
        now,
    })
}

fn facts(key: &ManifestKey) -> KeyFacts {
    KeyFacts {
        id: key.id.as_str().to_owned(),
        fingerprint: key.fingerprint.to_string(),
        not_before: key.validity.not_before,
        sign_until: key.validity.sign_until,
        not_after: key.validity.not_after,
        revoked: key.status == KeyStatus::Revoked,
    }
}

/// The outstanding licenses that the keyring carries now but would orphan without OLD:
/// `keys check --licenses` run twice, with and without OLD.
fn licenses_needing_old(
    manifest: &Manifest,
    plan: &Plan,
    file: &std::path::Path,
    now: i64,
) -> Result<Licenses> {
    let keyring = manifest.keyring();
    let with_old = outstanding::check_file(keyring, file, now)?;
    let others: Vec<_> = keyring
        .keys()
        .iter()
        .filter(|k| k.id().as_str() != plan.old.id)
        .cloned()
        .collect();
    let need_old = match Keyring::new(
        keyring.serial(),
        keyring.channel(),
        keyring.runtime_override(),
        others,
        keyring.revoked().to_vec(),
    ) {
        Ok(without_old) => {
            let orphaned_now: BTreeSet<usize> = with_old.orphans.iter().map(|o| o.line).collect();
            outstanding::check_file(&without_old, file, now)?
                .orphans
                .into_iter()
                .filter(|o| !orphaned_now.contains(&o.line))
                .map(|o| (o.line, o.lid))
                .collect()
        }
        // OLD is the only key trusted, so nothing succeeds it: `decide` already says
        // `no_successor`, whatever the licenses.
        Err(_) => Vec::new(),
    };
    Ok(Licenses {
        file: file.display().to_string(),
        total: with_old.total,
        need_old,
    })
}

/// `--min-coverage`: a percentage from 0 to 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?} is not between 0 and 100"))
    }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Window => "window",
        Scope::SinceStart => "since_start",
    }
}

fn print_text(
    args: &StatusArgs,
    plan: &Plan,
    evidence: &[Evidence],
    licenses: Option<&Licenses>,
    decision: &Decision,
) {
    let old = &plan.old;
    println!(
        "retire {} ({}) as of {}",
        old.id,
        old.fingerprint,
        format_instant(plan.now)
    );
    if plan.successors.is_empty() {
        println!("successors: none");
    }
    for s in &plan.successors {
        println!(
            "successor: {} ({}), signs {} to {}",
            s.id,
            s.fingerprint,
            format_instant(s.not_before),
            format_instant(s.sign_until)
        );
    }
    for (source, coverage) in evidence.iter().zip(&decision.coverage) {
        println!(
            "{} {}: coverage {:.1}% ({} of {} deployments trust a successor)",
            source.kind, source.url, coverage.percent, coverage.covered, coverage.total
        );
        for d in &source.deployments {
            let ids: Vec<&str> = d.keys.iter().map(|k| k.0.as_str()).collect();
            let state = if decide::covers(plan, d) {
                "covered"
            } else {
                "NOT covered"
            };
            let note = d
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            println!("  {}: {state}; trusts [{}]{note}", d.name, ids.join(", "));
        }
        let total = source.dependence.iter().fold(0.0, |sum, (_, n)| sum + n);
        let scope = match source.dependence_scope {
            Scope::Window => format!("within {}", args.window),
            Scope::SinceStart => {
                "since each deployment started (no history without Prometheus)".to_owned()
            }
        };
        println!(
            "  successful verifications by {}: {total:.0} {scope}",
            old.id
        );
        for e in &source.errors {
            match (source.dependence_scope, e.before) {
                (Scope::SinceStart, _) => {
                    println!("  rejections {}: {:.0} since start", e.reason, e.now)
                }
                (Scope::Window, Some(b)) => println!(
                    "  rejections {}: {:.4}/s over the last {} (before the rotation: {b:.4}/s)",
                    e.reason,
                    e.now,
                    prometheus::ERROR_RANGE
                ),
                (Scope::Window, None) => println!(
                    "  rejections {}: {:.4}/s over the last {} (before the rotation: no data)",
                    e.reason,
                    e.now,
                    prometheus::ERROR_RANGE
                ),
            }
        }
    }
    if let Some(l) = licenses {
        println!(
            "licenses {}: {} read, {} need {}",
            l.file,
            l.total,
            l.need_old.len(),
            old.id
        );
    }
    for note in &decision.notes {
        println!("note: {note}");
    }
    if decision.ready {
        println!("ready to retire {}", old.id);
    } else {
        println!("not ready to retire {}:", old.id);
        for blocker in &decision.blockers {
            println!("  - {blocker}");
        }
    }
}

fn report_json(
    args: &StatusArgs,
    manifest: &Manifest,
    plan: &Plan,
    evidence: &[Evidence],
    licenses: Option<&Licenses>,
    decision: &Decision,
) -> Value {
    let key = |k: &KeyFacts| {
        json!({
            "id": k.id,
            "fingerprint": k.fingerprint,
            "not_before": format_instant(k.not_before),
            "sign_until": instant(k.sign_until),
            "not_after": instant(k.not_after),
            "revoked": k.revoked,
        })
    };
    let evidence: Vec<Value> = evidence
        .iter()
        .zip(&decision.coverage)
        .map(|(source, coverage)| {
            let deployments: Vec<Value> = source
                .deployments
                .iter()
                .map(|d| {
                    let keys: Vec<Value> = d
                        .keys
                        .iter()
                        .map(|(id, fp, src)| json!({"key": id, "fingerprint": fp, "source": src}))
                        .collect();
                    json!({
                        "name": d.name,
                        "reporting": d.reporting,
                        "covered": decide::covers(plan, d),
                        "keys": keys,
                        "note": d.note,
                    })
                })
                .collect();
            let by: Vec<Value> = source
                .dependence
                .iter()
                .map(|(d, n)| json!({"deployment": d, "ok": n}))
                .collect();
            let errors: Vec<Value> = source
                .errors
                .iter()
                .map(|e| json!({"reason": e.reason, "now": e.now, "before": e.before}))
                .collect();
            json!({
                "kind": source.kind,
                "url": source.url,
                "coverage": {
                    "covered": coverage.covered,
                    "total": coverage.total,
                    "percent": coverage.percent,
                },
                "deployments": deployments,
                "dependence": {
                    "scope": scope_name(source.dependence_scope),
                    "ok": source.dependence.iter().fold(0.0, |sum, (_, n)| sum + n),
                    "by_deployment": by,
                },
                "errors": {
                    "unit": match source.dependence_scope {
                        Scope::Window => "per_second",
                        Scope::SinceStart => "total",
                    },
                    "range": match source.dependence_scope {
                        Scope::Window => Some(prometheus::ERROR_RANGE),
                        Scope::SinceStart => None,
                    },
                    "by_reason": errors,
                },
            })
        })
        .collect();
    let licenses = licenses.map(|l| {
        let need: Vec<Value> = l
            .need_old
            .iter()
            .map(|(line, lid)| json!({"line": line, "lid": lid}))
            .collect();
        json!({"file": l.file, "total": l.total, "need_old": need})
    });
    let reasons: Vec<Value> = decision
        .blockers
        .iter()
        .map(|b: &Blocker| json!({"code": b.code(), "detail": b.to_string()}))
        .collect();
    json!({
        "manifest": manifest.path().display().to_string(),
        "now": format_instant(plan.now),
        "ready": decision.ready,
        "old": key(&plan.old),
        "successors": plan.successors.iter().map(key).collect::<Vec<_>>(),
        "window": args.window.to_string(),
        "min_coverage": args.min_coverage,
        "evidence": evidence,
        "licenses": licenses,
        "reasons": reasons,
        "notes": decision.notes,
    })
}
