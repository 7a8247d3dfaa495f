//! The hostile-license corpus (`tests/corpus/`, made with OpenSSL by `generate.py`): every
//! case is rejected for exactly its stated reason, or accepted, by the library and by
//! the shipped command alike.

use std::path::PathBuf;

use caio_verify::{Options, Verifier};
use serde::Deserialize;

use crate::support::{build_verifier, run, unix};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    reason: Option<String>,
    at: String,
    token: String,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("corpus")
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("licenses.jsonl")).expect("corpus");
    let cases: Vec<Case> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("corpus line"))
        .collect();
    assert!(cases.len() >= 30, "the corpus holds at least 30 cases");
    cases
}

#[test]
fn library_gives_each_case_its_reason() {
    let manifest = caio_keyring::manifest::Manifest::load(&corpus_dir().join("keys/keyring.toml"))
        .expect("corpus manifest");
    let mut wrong = Vec::new();
    for case in cases() {
        let verifier = Verifier::new(manifest.keyring(), Options::at(unix(&case.at)));
        let got = verifier
            .verify(&case.token)
            .err()
            .map(|r| r.reason.code().to_owned());
        if got != case.reason {
            wrong.push(format!(
                "{}: expected {:?}, got {got:?}",
                case.name, case.reason
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn command_gives_each_case_its_reason_and_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build_verifier(&corpus_dir().join("keys/keyring.toml"), dir.path());
    let mut wrong = Vec::new();
    for case in cases() {
        // Through stdin, so that the empty token is a line like any other.
        let out = run(
            &exe,
            &["license", "-", "--json", "--at", &case.at],
            &format!("{}\n", case.token),
        );
        let line: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {:?} {}",
                case.name, out.stdout, out.stderr
            )
        });
        let got = line["reason"].as_str().map(str::to_owned);
        let expected_code = if case.reason.is_some() { 1 } else { 0 };
        if got != case.reason || out.code != expected_code || out.stderr.contains("panicked") {
            wrong.push(format!(
                "{}: expected {:?} (exit {expected_code}), got {got:?} (exit {})",
                case.name, case.reason, out.code
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
