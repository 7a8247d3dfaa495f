//! Running a command as the end-to-end tests do: quietly, whatever its exit status,
//! keeping what it printed; the workspace root and scratch directories under `target/`;
//! what cargo built and where a server listens.
//!
//! Not a place for what a command is asked: the arguments and environment stay with the
//! test that chooses them.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::Child;

use xshell::{Cmd, Shell};

/// What a finished command printed, as text (lossy UTF-8).
#[derive(Debug)]
pub struct Output {
    /// The exit code (-1 for a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// What a finished command printed, as bytes: raw key bytes stay findable.
#[derive(Debug)]
pub struct RawOutput {
    /// The exit code (-1 for a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl Output {
    /// The lines of stderr that `keep` keeps, in order.
    pub fn stderr_lines(&self, keep: impl Fn(&str) -> bool) -> Vec<&str> {
        self.stderr.lines().filter(|l| keep(l)).collect()
    }

    /// Asserts the exit code and that nothing panicked, showing the output when not.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "a panic:\n{}",
            self.stderr
        );
        self
    }
}

/// A new shell in the current directory.
pub fn shell() -> Shell {
    Shell::new().expect("shell")
}

/// The workspace root (where `Cargo.lock` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support sits in the workspace")
        .to_owned()
}

/// A new directory `target/<area>/<prefix>XXXXXX` that outlives the test: for
/// fixtures shared by the tests of a process, and for what a failure leaves to look at.
pub fn kept_dir(area: &str, prefix: &str) -> PathBuf {
    let base = workspace_root().join("target").join(area);
    std::fs::create_dir_all(&base).expect("target dir");
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .expect("tempdir")
        .keep()
}

/// Runs `command` quietly whatever its exit status; `what` names it if it cannot start.
pub fn capture(command: Cmd<'_>, what: &str) -> Output {
    let raw = capture_bytes(command, what);
    Output {
        code: raw.code,
        stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&raw.stderr).into_owned(),
    }
}

/// [`capture`], keeping the bytes.
pub fn capture_bytes(command: Cmd<'_>, what: &str) -> RawOutput {
    let output = command
        .quiet()
        .ignore_status()
        .output()
        .unwrap_or_else(|e| panic!("{what} runs: {e}"));
    RawOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: output.stderr,
    }
}

/// The executable of the target `name` among cargo's `--message-format=json` messages
/// (one JSON object a line; other lines are passed over): where cargo put what it built.
pub fn built_executable(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// The address a `caio-verify serve` child announces on its first line of stdout,
/// `listening on ADDR`. Takes the child's piped stdout; nothing else is read from it.
pub fn listening_address(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("a piped stdout"))
        .read_line(&mut line)
        .expect("read the listening line");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no listening line: {line:?}"))
        .to_owned()
}

/// A path as the `&str` a command line takes.
pub fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The arguments of a command line written as `template`: its words split at white
/// space, each `{}` word replaced by the next of `values`, whole (a value is never
/// split, so it may hold spaces). Panics when the counts differ.
///
/// `args("keys add {} --id b --now {}", &[public, NOW])`
pub fn args<'a>(template: &'a str, values: &[&'a str]) -> Vec<&'a str> {
    let mut values = values.iter();
    let args: Vec<&str> = template
        .split_whitespace()
        .map(|word| match word {
            "{}" => values.next().expect("a value for each {}"),
            word => word,
        })
        .collect();
    assert!(values.next().is_none(), "a {{}} for each value: {template}");
    args
}

/// Asserts that `text` holds `needle`, showing `text` when not.
#[track_caller]
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

/// Makes `copy` hold exactly the files of the workspace that git would commit (tracked,
/// and untracked but not ignored), but those whose path starts with one of `except`:
/// files already equal are left alone, so cargo sees them unchanged, and a file the
/// workspace no longer has goes. `.git`, `target`, `dist` and whatever lies under one of
/// `except` are never removed, so a test can write its own files there.
pub fn sync_workspace(copy: &Path, except: &[&str]) {
    let root = workspace_root();
    let sh = shell();
    sh.change_dir(&root);
    let listed = xshell::cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .read()
        .expect("git ls-files (the tests run in a git checkout)");
    let mut wanted = std::collections::BTreeSet::new();
    for name in listed.split('\0').filter(|n| !n.is_empty()) {
        let source = root.join(name);
        if except.iter().any(|e| name.starts_with(e)) || !source.is_file() {
            continue;
        }
        let bytes = std::fs::read(&source).expect("read a workspace file");
        let target = copy.join(name);
        if std::fs::read(&target).map_or(true, |old| old != bytes) {
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::write(&target, &bytes).expect("write a workspace file");
        }
        let mode = std::fs::metadata(&source).expect("metadata").permissions();
        std::fs::set_permissions(&target, mode).expect("permissions");
        wanted.insert(PathBuf::from(name));
    }
    let kept = |relative: &Path| {
        [".git", "target", "dist"]
            .iter()
            .any(|k| relative == Path::new(k))
            || except.iter().any(|e| relative.starts_with(e))
    };
    let mut stack = vec![copy.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(copy).expect("inside").to_owned();
            if kept(&relative) {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                stack.push(path);
            } else if !wanted.contains(&relative) {
                std::fs::remove_file(&path).expect("remove a stale file");
            }
        }
    }
}

/// The names of the files in `dir`, sorted.
pub fn file_names(dir: &Path) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}
