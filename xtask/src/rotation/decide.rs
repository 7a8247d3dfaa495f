//! The sunset decision on evidence already read: may OLD go? Plain data in, a
//! [`Decision`] out, so every rule is a unit test on canned evidence.
//!
//! Ready means no [`Blocker`]: a successor exists and signs now, every evidence source
//! shows at least `--min-coverage` percent of its deployments trusting a successor,
//! no deployment verified a license by OLD in the window, and no outstanding license
//! in `--licenses` still needs OLD. Error rates and OLD's deadline are notes: they
//! explain, they do not decide. Nothing here does I/O or reads the clock; how evidence
//! is gathered is `prometheus.rs` and `scrape.rs`.

use std::fmt;

use caio_keyring::OPEN_END;

use crate::time::format_instant;

/// The manifest's side: OLD, its successors, and now.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The key to retire.
    pub old: KeyFacts,
    /// Its successors (see [`is_successor`]), earliest `not_before` first.
    pub successors: Vec<KeyFacts>,
    /// Now, unix seconds (the clock or `--now`).
    pub now: i64,
}

/// What the decision needs of a manifest key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// The key's id.
    pub id: String,
    /// `sha256:` and hex: how deployments are matched.
    pub fingerprint: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds; [`OPEN_END`] for none.
    pub sign_until: i64,
    /// Unix seconds; [`OPEN_END`] for none.
    pub not_after: i64,
    /// `status = "revoked"`.
    pub revoked: bool,
}

/// What one source (a Prometheus server, or the scraped URLs) says about the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// `prometheus` or `scrape`.
    pub kind: &'static str,
    /// The Prometheus URL, or the scraped URLs joined by spaces.
    pub url: String,
    /// Every deployment that reported within the window, reporting now or not.
    pub deployments: Vec<Deployment>,
    /// Successful verifications by OLD, by deployment (only those above zero).
    pub dependence: Vec<(String, f64)>,
    /// Whether the counts cover `--window` or each deployment's life.
    pub dependence_scope: Scope,
    /// Rejections by reason, with a non-zero value now or before.
    pub errors: Vec<ErrorRate>,
}

/// One deployment: a Prometheus target (`job`/`instance`) or one scraped URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// `job/instance`, or the URL.
    pub name: String,
    /// Whether it reports now; one that stopped is not covered.
    pub reporting: bool,
    /// Its trusted keys now (`caio_key_info`): (id label, fingerprint, source).
    pub keys: Vec<(String, String, String)>,
    /// Why it does not report, or what else is odd about it.
    pub note: Option<String>,
}

/// What the verification and rejection figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `increase`/`rate` over `--window` (Prometheus).
    Window,
    /// The counters as they stand: since each deployment started (`--scrape`).
    SinceStart,
}

/// Rejections of one reason: per second over the last hour and over the hour before the
/// first successor's `not_before` (Prometheus), or totals since start (`--scrape`).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRate {
    /// The reason code (`unknown_key`, `key_expired`, ...).
    pub reason: String,
    /// Now.
    pub now: f64,
    /// Before the rotation; `None` when there is no data for then.
    pub before: Option<f64>,
}

/// Outstanding licenses that would be orphaned with OLD gone but are carried now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licenses {
    /// The file read.
    pub file: String,
    /// Licenses read.
    pub total: usize,
    /// (line, license id) of each license that needs OLD.
    pub need_old: Vec<(usize, Option<String>)>,
}

/// How the coverage of one evidence source came out.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Deployments that report now and trust a successor.
    pub covered: usize,
    /// Every deployment of the evidence.
    pub total: usize,
    /// `covered / total` in percent.
    pub percent: f64,
    /// The names of the deployments not covered.
    pub uncovered: Vec<String>,
}

/// A reason OLD cannot go yet.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Blocker {
    /// No manifest key qualifies as a successor.
    NoSuccessor,
    /// Successors exist, and none signs now (none has begun, or all have ended).
    NoSuccessorSigning,
    /// Fewer deployments than `--min-coverage` trust a successor.
    Coverage {
        /// `prometheus` or `scrape`.
        kind: &'static str,
        /// The coverage found.
        coverage: Coverage,
        /// The minimum asked for.
        min: f64,
    },
    /// Deployments verified licenses by OLD.
    Dependence {
        /// `prometheus` or `scrape`.
        kind: &'static str,
        /// Their sum.
        total: f64,
        /// (deployment, count).
        by: Vec<(String, f64)>,
        /// Over what.
        scope: Scope,
    },
    /// Outstanding licenses need OLD.
    Licenses(Licenses),
}

/// The verdict and everything behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// No blocker.
    pub ready: bool,
    /// One per evidence source, in the order given.
    pub coverage: Vec<Coverage>,
    /// Every reason OLD cannot go yet.
    pub blockers: Vec<Blocker>,
    /// What else the operator should know.
    pub notes: Vec<String>,
}

/// Whether `candidate` succeeds `old`: another key, not revoked, whose signing window
/// continues after OLD's (its `sign_until` later than OLD's; no `sign_until` is later
/// than any instant, and nothing is later than OLD's open end).
pub fn is_successor(old: &KeyFacts, candidate: &KeyFacts) -> bool {
    candidate.id != old.id
        && candidate.fingerprint != old.fingerprint
        && !candidate.revoked
        && old.sign_until != OPEN_END
        && candidate.sign_until > old.sign_until
}

/// Decides on `evidence` (at least one source) and the outstanding licenses.
pub fn decide(
    plan: &Plan,
    evidence: &[Evidence],
    licenses: Option<&Licenses>,
    min_coverage: f64,
) -> Decision {
    let mut blockers = Vec::new();
    let mut notes = Vec::new();
    if plan.successors.is_empty() {
        blockers.push(Blocker::NoSuccessor);
    } else if !plan
        .successors
        .iter()
        .any(|s| s.not_before <= plan.now && plan.now <= s.sign_until)
    {
        blockers.push(Blocker::NoSuccessorSigning);
    }
    let mut coverages = Vec::new();
    for source in evidence {
        let coverage = coverage(plan, source);
        if coverage.total == 0 || coverage.percent < min_coverage {
            blockers.push(Blocker::Coverage {
                kind: source.kind,
                coverage: coverage.clone(),
                min: min_coverage,
            });
        }
        coverages.push(coverage);
        let total = source.dependence.iter().fold(0.0, |sum, (_, n)| sum + n);
        if total > 0.0 {
            blockers.push(Blocker::Dependence {
                kind: source.kind,
                total,
                by: source.dependence.clone(),
                scope: source.dependence_scope,
            });
        }
        notes.extend(error_notes(source));
    }
    if let Some(licenses) = licenses.filter(|l| !l.need_old.is_empty()) {
        blockers.push(Blocker::Licenses(licenses.clone()));
    }
    notes.extend(manifest_notes(plan));
    Decision {
        ready: blockers.is_empty(),
        coverage: coverages,
        blockers,
        notes,
    }
}

/// The share of `evidence`'s deployments that report now and trust a successor, by
/// fingerprint.
pub fn coverage(plan: &Plan, evidence: &Evidence) -> Coverage {
    let mut uncovered = Vec::new();
    for deployment in &evidence.deployments {
        if !covers(plan, deployment) {
            uncovered.push(deployment.name.clone());
        }
    }
    let total = evidence.deployments.len();
    let covered = total - uncovered.len();
    // Display and comparison only; counts are far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let percent = if total == 0 {
        0.0
    } else {
        covered as f64 * 100.0 / total as f64
    };
    Coverage {
        covered,
        total,
        percent,
        uncovered,
    }
}

/// Whether `deployment` reports now and trusts a successor.
pub fn covers(plan: &Plan, deployment: &Deployment) -> bool {
    deployment.reporting
        && deployment
            .keys
            .iter()
            .any(|(_, fp, _)| plan.successors.iter().any(|s| &s.fingerprint == fp))
}

impl Blocker {
    /// A stable code for `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSuccessor => "no_successor",
            Self::NoSuccessorSigning => "no_successor_signing",
            Self::Coverage { .. } => "coverage",
            Self::Dependence { .. } => "dependence",
            Self::Licenses(_) => "outstanding_licenses",
        }
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuccessor => f.write_str(
                "no successor: no other non-revoked key signs past this key's sign_until; \
                 add one with `cargo xtask keys rotate` or `keys add`",
            ),
            Self::NoSuccessorSigning => f.write_str(
                "no successor signs now: licenses cannot be re-issued away from OLD yet",
            ),
            Self::Coverage {
                kind,
                coverage,
                min,
            } if coverage.total == 0 => write!(
                f,
                "{kind}: no deployment reported, so nothing shows coverage (minimum {min}%)"
            ),
            Self::Coverage {
                kind,
                coverage,
                min,
            } => write!(
                f,
                "{kind}: coverage {:.1}% ({} of {} deployments trust a successor), below \
                 the minimum {min}%; not covered: {}",
                coverage.percent,
                coverage.covered,
                coverage.total,
                coverage.uncovered.join(", ")
            ),
            Self::Dependence {
                kind,
                total,
                by,
                scope,
            } => {
                let scope = match scope {
                    Scope::Window => "within the window",
                    Scope::SinceStart => "since each deployment started",
                };
                let by: Vec<String> = by.iter().map(|(d, n)| format!("{d}: {n:.0}")).collect();
                write!(
                    f,
                    "{kind}: {total:.0} successful verifications by OLD {scope} ({}); \
                     re-issue those licenses with a successor",
                    by.join(", ")
                )
            }
            Self::Licenses(licenses) => {
                let lines: Vec<String> = licenses
                    .need_old
                    .iter()
                    .map(|(line, lid)| match lid {
                        Some(lid) => format!("{}:{line} ({lid})", licenses.file),
                        None => format!("{}:{line}", licenses.file),
                    })
                    .collect();
                write!(
                    f,
                    "{} of {} outstanding licenses verify only with OLD: {}; re-issue them \
                     (`cargo xtask license reissue`)",
                    licenses.need_old.len(),
                    licenses.total,
                    lines.join(", ")
                )
            }
        }
    }
}

/// Rejections worth a word: any `unknown_key` rise (old builds meeting new licenses),
/// and every other reason that rose.
fn error_notes(evidence: &Evidence) -> Vec<String> {
    let mut notes = Vec::new();
    for e in &evidence.errors {
        let rising = match e.before {
            Some(before) => e.now > before,
            None => e.now > 0.0,
        };
        if !rising {
            continue;
        }
        let figures = match (evidence.dependence_scope, e.before) {
            (Scope::SinceStart, _) => format!("{:.0} since start", e.now),
            (Scope::Window, Some(before)) => {
                format!(
                    "{:.4}/s now against {before:.4}/s before the rotation",
                    e.now
                )
            }
            (Scope::Window, None) => {
                format!("{:.4}/s now, no data from before the rotation", e.now)
            }
        };
        let why = if e.reason == "unknown_key" {
            ": deployments meet licenses signed by a key they do not trust \
             (old builds meeting new licenses?)"
        } else {
            ""
        };
        notes.push(format!(
            "{}: {} rejections {figures}{why}",
            evidence.kind, e.reason
        ));
    }
    notes
}

/// OLD's deadline and status, as the manifest has them.
fn manifest_notes(plan: &Plan) -> Vec<String> {
    let old = &plan.old;
    let mut notes = Vec::new();
    if old.revoked {
        notes.push(format!(
            "{} is revoked: no build trusts it any more",
            old.id
        ));
    }
    if old.not_after == OPEN_END {
        notes.push(format!(
            "{} has no not_after: set the deadline with `cargo xtask keys retire {} --at T`",
            old.id, old.id
        ));
    } else if old.not_after <= plan.now {
        notes.push(format!(
            "{} stopped verifying at {} (its not_after): `cargo xtask keys remove {}`",
            old.id,
            format_instant(old.not_after),
            old.id
        ));
    } else {
        notes.push(format!(
            "{} verifies until {} (its not_after)",
            old.id,
            format_instant(old.not_after)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 2_000_000;

    fn key(id: &str, windows: [i64; 3], revoked: bool) -> KeyFacts {
        KeyFacts {
            id: id.to_owned(),
            fingerprint: format!("sha256:{id}"),
            not_before: windows[0],
            sign_until: windows[1],
            not_after: windows[2],
            revoked,
        }
    }

    fn plan() -> Plan {
        let old = key("old", [0, 1_000_000, 3_000_000], false);
        Plan {
            successors: vec![key("new", [900_000, 5_000_000, 6_000_000], false)],
            old,
            now: NOW,
        }
    }

    /// A deployment named `name`, reporting or not, trusting the keys `ids`.
    fn deployment(name: &str, reporting: bool, ids: &[&str]) -> Deployment {
        Deployment {
            name: name.to_owned(),
            reporting,
            keys: ids
                .iter()
                .map(|id| {
                    (
                        (*id).to_owned(),
                        format!("sha256:{id}"),
                        "embedded".to_owned(),
                    )
                })
                .collect(),
            note: None,
        }
    }

    fn evidence(deployments: Vec<Deployment>) -> Evidence {
        Evidence {
            kind: "prometheus",
            url: "http://127.0.0.1:9090".to_owned(),
            deployments,
            dependence: vec![],
            dependence_scope: Scope::Window,
            errors: vec![],
        }
    }

    /// A decision's blocker codes (empty: ready) and its coverage percentages.
    type Expected<'a> = (&'a [&'a str], &'a [f64]);

    /// Asserts what `decide` makes of these inputs.
    fn check(
        plan: &Plan,
        evidence: &[Evidence],
        licenses: Option<&Licenses>,
        min: f64,
        expected: Expected<'_>,
    ) {
        let decision = decide(plan, evidence, licenses, min);
        let codes: Vec<&str> = decision.blockers.iter().map(Blocker::code).collect();
        let percents: Vec<f64> = decision.coverage.iter().map(|c| c.percent).collect();
        assert_eq!(
            (codes.as_slice(), percents.as_slice()),
            expected,
            "{decision:#?}"
        );
        assert_eq!(decision.ready, expected.0.is_empty());
    }

    #[test]
    fn coverage_counts_deployments_by_successor_fingerprint() {
        let both = deployment("a", true, &["old", "new"]);
        let only_old = deployment("b", true, &["old"]);
        // A deployment that stopped reporting is not covered, whatever it trusted.
        let silent = deployment("c", false, &[]);
        let silent_new = deployment("d", false, &["new"]);
        // Matched by fingerprint: a key called "new" with another fingerprint is not it.
        let mut impostor = deployment("e", true, &["old"]);
        impostor
            .keys
            .push(("new".into(), "sha256:other".into(), "runtime".into()));
        // A runtime key with the successor's fingerprint under another id is.
        let mut endorsed = deployment("f", true, &["old"]);
        endorsed
            .keys
            .push(("caio-next".into(), "sha256:new".into(), "runtime".into()));
        // The deployments each source shows, the minimum, and what `check` expects.
        let cases: [(Vec<Vec<Deployment>>, f64, Expected<'_>); 9] = [
            (vec![vec![both.clone()]], 100.0, (&[], &[100.0])),
            (
                vec![vec![both.clone(), only_old.clone()]],
                100.0,
                (&["coverage"], &[50.0]),
            ),
            (vec![vec![both.clone(), only_old]], 50.0, (&[], &[50.0])),
            (
                vec![vec![both.clone(), silent]],
                100.0,
                (&["coverage"], &[50.0]),
            ),
            (
                vec![vec![both.clone(), silent_new]],
                100.0,
                (&["coverage"], &[50.0]),
            ),
            // No deployment at all is no evidence, never ready, even with a minimum of 0.
            (vec![vec![]], 0.0, (&["coverage"], &[0.0])),
            (vec![vec![impostor]], 100.0, (&["coverage"], &[0.0])),
            (vec![vec![endorsed]], 100.0, (&[], &[100.0])),
            // Every source must show the coverage.
            (
                vec![vec![both.clone()], vec![deployment("g", true, &["old"])]],
                100.0,
                (&["coverage"], &[100.0, 0.0]),
            ),
        ];
        let p = plan();
        for (sources, min, expected) in cases {
            let shown: Vec<Evidence> = sources.into_iter().map(evidence).collect();
            check(&p, &shown, None, min, expected);
        }
    }

    #[test]
    fn successors_must_exist_and_sign_now() {
        let covered = [evidence(vec![deployment("a", true, &["old", "new"])])];
        let mut p = plan();
        p.successors.clear();
        check(
            &p,
            &covered,
            None,
            100.0,
            (&["no_successor", "coverage"], &[0.0]),
        );
        let mut p = plan();
        p.successors[0].not_before = NOW + 1;
        check(
            &p,
            &covered,
            None,
            100.0,
            (&["no_successor_signing"], &[100.0]),
        );
    }

    #[test]
    fn dependence_and_outstanding_licenses_block() {
        let p = plan();
        let mut e = evidence(vec![deployment("a", true, &["old", "new"])]);
        e.dependence = vec![("a".into(), 2.0)];
        check(&p, &[e.clone()], None, 100.0, (&["dependence"], &[100.0]));
        e.dependence = vec![("a".into(), 0.0)];
        check(&p, &[e.clone()], None, 100.0, (&[], &[100.0]));
        let mut licenses = Licenses {
            file: "out.txt".into(),
            total: 3,
            need_old: vec![(2, Some("L-2".into()))],
        };
        check(
            &p,
            &[e.clone()],
            Some(&licenses),
            100.0,
            (&["outstanding_licenses"], &[100.0]),
        );
        licenses.need_old.clear();
        check(&p, &[e], Some(&licenses), 100.0, (&[], &[100.0]));
    }

    #[test]
    fn error_rises_are_notes_not_blockers() {
        let p = plan();
        let mut e = evidence(vec![deployment("a", true, &["old", "new"])]);
        e.errors = vec![
            ErrorRate {
                reason: "unknown_key".into(),
                now: 0.5,
                before: Some(0.1),
            },
            ErrorRate {
                reason: "expired".into(),
                now: 0.1,
                before: Some(0.2),
            },
            ErrorRate {
                reason: "bad_signature".into(),
                now: 0.1,
                before: None,
            },
        ];
        let decision = decide(&p, &[e], None, 100.0);
        assert!(decision.ready);
        let notes = decision.notes.join("\n");
        assert!(
            notes.contains("unknown_key rejections 0.5000/s now against 0.1000/s"),
            "{notes}"
        );
        assert!(notes.contains("old builds meeting new licenses"), "{notes}");
        assert!(!notes.contains("expired"), "{notes}");
        assert!(
            notes.contains("bad_signature rejections 0.1000/s now, no data"),
            "{notes}"
        );
        assert!(notes.contains("old verifies until"), "{notes}");
    }

    #[test]
    fn successor_definition() {
        let old = key("old", [0, 100, 200], false);
        let check_successor = |candidate: KeyFacts, expected: bool| {
            assert_eq!(is_successor(&old, &candidate), expected, "{candidate:?}");
        };
        check_successor(key("new", [50, 300, 400], false), true);
        check_successor(key("new", [150, OPEN_END, OPEN_END], false), true);
        // Started before OLD: still a successor if it signs on after OLD stops.
        check_successor(key("earlier", [-10, 101, 400], false), true);
        check_successor(key("same-end", [50, 100, 400], false), false);
        check_successor(key("revoked", [50, 300, 400], true), false);
        check_successor(key("old", [50, 300, 400], false), false);
        let open = key("open", [0, OPEN_END, OPEN_END], false);
        assert!(!is_successor(
            &open,
            &key("new", [0, OPEN_END, OPEN_END], false)
        ));
    }
}
