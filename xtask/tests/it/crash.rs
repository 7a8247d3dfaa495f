//! Manifest edits under a kill and under contention: a `keys` edit killed at any step
//! leaves the old manifest or the new one, byte for byte; `keys check` finds nothing
//! wrong with it but, at some steps, a PEM file the manifest does not name; a rerun of
//! the same edit finishes it as if nothing had happened. Two concurrent edits are
//! serialized by the lock, so neither change is lost.
//!
//! The edit is stopped at an exact step through the test hook (`CAIO_XTASK_TEST_PAUSE_AT`,
//! see `xtask/src/test_hook.rs`): the process announces the pause on stderr and waits
//! on stdin, and the test either SIGKILLs it there or lets it go on. The expected new
//! manifest comes from running the same edit to completion on a twin fixture.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::{Fixture, Key, path, public_pem};

const NOW: &str = "2026-06-01T00:00:00Z";

/// Every pause point of an edit, in the order an edit reaches them.
const POINTS: [&str; 5] = [
    "opened",
    "files-created",
    "manifest-half-written",
    "manifest-synced",
    "manifest-replaced",
];

/// The last point at which the manifest on disk is still the old one.
const LAST_OLD: &str = "manifest-synced";

/// Two keys: one current, long enough for the policy's support window, and one whose
/// `not_after` is past (so it can be removed).
fn two_keys() -> Fixture {
    Fixture::new(
        crate::POLICY,
        &[
            Key {
                id: "caio-2026-01",
                seed: 1,
                windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2027-01-01T00:00:00Z\nnot_after = 2027-07-01T00:00:00Z\n",
            },
            Key {
                id: "caio-2025-01",
                seed: 2,
                windows: "not_before = 2025-01-01T00:00:00Z\nsign_until = 2026-01-01T00:00:00Z\nnot_after = 2026-03-01T00:00:00Z\n",
            },
        ],
    )
}

/// Writes the public key of seed `seed` outside `keys/`, as an operator's input.
fn input_pem(f: &Fixture, seed: u8) -> PathBuf {
    let path = f.path().join(format!("input-{seed}.pem"));
    std::fs::write(&path, public_pem(seed)).expect("input pem");
    path
}

/// The arguments of an edit that creates a PEM file (`add`) or deletes one (`remove`).
fn edit_args(f: &Fixture, edit: &str) -> Vec<String> {
    match edit {
        "add" => add_args(f, 9, "caio-2026-06"),
        "remove" => ["keys", "remove", "caio-2025-01", "--now", NOW]
            .map(String::from)
            .to_vec(),
        other => panic!("no edit {other}"),
    }
}

/// `keys add` of the public key of seed `seed` as `id`, with every window given.
fn add_args(f: &Fixture, seed: u8, id: &str) -> Vec<String> {
    let pem = input_pem(f, seed);
    let pem = path(&pem);
    [
        "keys",
        "add",
        pem,
        "--id",
        id,
        "--not-before",
        "2026-06-01",
        "--sign-until",
        "2027-06-01",
        "--not-after",
        "2027-09-01",
        "--now",
        NOW,
    ]
    .map(String::from)
    .to_vec()
}

/// `xtask ARGS...` on `f`'s keyring, started with piped stdin and stderr, paused at
/// `pause` if given.
fn spawn(f: &Fixture, args: &[String], pause: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(f.path())
        .env("CAIO_KEYRING", f.manifest())
        .env_remove("CAIO_XTASK_TEST_PAUSE_AT")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(point) = pause {
        command.env("CAIO_XTASK_TEST_PAUSE_AT", point);
    }
    command.spawn().expect("xtask starts")
}

/// Reads `stderr` line by line until one contains `marker`; returns what was read.
/// Panics, with everything read, if the stream ends first.
fn read_until(stderr: &mut BufReader<ChildStderr>, marker: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = stderr.read_line(&mut line).expect("read stderr");
        seen.push_str(&line);
        if line.contains(marker) {
            return seen;
        }
        assert!(
            n > 0,
            "the process ended before {marker:?}; stderr:\n{seen}"
        );
    }
}

/// The temporary files an interrupted manifest write can leave in `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(".keyring.toml.") && name.ends_with(".tmp")
        })
        .collect();
    found.sort();
    found
}

/// The file names and bytes in `dir`, hidden files included.
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_edit_killed_at_any_step_leaves_the_old_or_the_new_manifest() {
    for edit in ["add", "remove"] {
        // The edit run to completion on a twin: what "the new manifest" is.
        let twin = two_keys();
        let old = twin.manifest_text();
        let args = edit_args(&twin, edit);
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        twin.xtask(&arg_refs).expect(0);
        let new = twin.manifest_text();
        assert_ne!(new, old, "{edit} changes the manifest");
        let finished = listing(&twin.keys_dir());

        for point in POINTS {
            let f = two_keys();
            assert_eq!(f.manifest_text(), old, "the twins start equal");
            let args = edit_args(&f, edit);
            let mut child = spawn(&f, &args, Some(point));
            let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
            read_until(&mut stderr, &format!("test hook: paused at {point}"));

            if point == "manifest-half-written" {
                // Proof the kill lands mid-write: half the new bytes are on disk.
                let tmp = temporaries(&f.keys_dir());
                assert_eq!(tmp.len(), 1, "{edit}@{point}: one temporary file");
                let partial = std::fs::read(&tmp[0]).expect("temporary");
                assert_eq!(partial, &new.as_bytes()[..new.len() / 2], "{edit}@{point}");
            }

            child.kill().expect("SIGKILL");
            let status = child.wait().expect("wait");
            assert_eq!(status.code(), None, "{edit}@{point}: killed by a signal");

            let after = f.manifest_text();
            let expected = if POINTS.iter().position(|p| *p == point)
                <= POINTS.iter().position(|p| *p == LAST_OLD)
            {
                &old
            } else {
                &new
            };
            assert!(
                after == *expected,
                "{edit} killed at {point}: the manifest is neither the expected one nor intact:\n{after}"
            );
            // The build accepts what is left. `keys check` is stricter: it names a PEM
            // file the manifest does not (yet, or any more) name, and nothing else.
            let stray = match (edit, point) {
                ("add", "files-created" | "manifest-half-written" | "manifest-synced") => {
                    Some("caio-2026-06.pem")
                }
                ("remove", "manifest-replaced") => Some("caio-2025-01.pem"),
                _ => None,
            };
            let check = f.xtask(&["keys", "check", "--now", NOW]);
            let errors: Vec<&str> = check
                .stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .collect();
            match stray {
                None => {
                    check.expect(0);
                }
                Some(name) => {
                    assert_eq!(check.code, 1, "{edit}@{point}:\n{}", check.stderr);
                    assert!(
                        errors.len() == 1
                            && errors[0].contains(name)
                            && errors[0].contains("does not name"),
                        "{edit}@{point}: only the stray {name} is reported:\n{}",
                        check.stderr
                    );
                }
            }

            if after == old {
                // A rerun of the same edit tidies up and finishes it, exactly as if
                // nothing had happened.
                let run = f.xtask(&arg_refs_of(&args)).expect(0);
                f.xtask(&["keys", "check", "--now", NOW]).expect(0);
                assert_eq!(f.manifest_text(), new, "{edit}@{point}: rerun");
                assert_eq!(
                    listing(&f.keys_dir()),
                    finished,
                    "{edit}@{point}: the rerun leaves exactly the files of an uninterrupted edit; stderr:\n{}",
                    run.stderr
                );
            }
            assert!(
                temporaries(&f.keys_dir()).is_empty() || after == new,
                "{edit}@{point}: no temporary file is left after a rerun"
            );
        }
    }
}

fn arg_refs_of(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn concurrent_edits_are_serialized_by_the_lock() {
    let f = two_keys();
    let old = f.manifest_text();
    let first = add_args(&f, 7, "first");
    let second = add_args(&f, 8, "second");

    // The first edit has read the manifest and holds the lock.
    let mut a = spawn(&f, &first, Some("opened"));
    let mut a_err = BufReader::new(a.stderr.take().expect("stderr"));
    read_until(&mut a_err, "test hook: paused at opened");

    // The second one must wait for it rather than read the same old manifest.
    let mut b = spawn(&f, &second, None);
    let mut b_err = BufReader::new(b.stderr.take().expect("stderr"));
    read_until(&mut b_err, "waiting for another edit");
    assert_eq!(f.manifest_text(), old, "nothing is written while both wait");

    a.stdin
        .take()
        .expect("stdin")
        .write_all(b"\n")
        .expect("resume");
    let mut rest = String::new();
    a_err.read_to_string(&mut rest).expect("stderr");
    assert!(a.wait().expect("wait").success(), "first edit:\n{rest}");
    let mut rest = String::new();
    b_err.read_to_string(&mut rest).expect("stderr");
    assert!(b.wait().expect("wait").success(), "second edit:\n{rest}");

    let list = f.list(NOW);
    for id in ["first", "second", "caio-2026-01", "caio-2025-01"] {
        crate::listed(&list, id);
    }
    let text = f.manifest_text();
    assert!(
        text.contains("serial = 3 "),
        "two edits, two serial bumps:\n{text}"
    );
    f.xtask(&["keys", "check", "--now", NOW]).expect(0);
}
