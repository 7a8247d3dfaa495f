//! Tidy: the conventions reviewers would otherwise nag about, as failing tests.
//!
//! Each test walks the source tree (not `target/`, not `.git/`) and names every file that
//! breaks a rule, so one run shows every offence.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

/// Every file under `dir`, skipping build output, VCS data and fuzzing artifacts.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if matches!(name.as_ref(), "target" | ".git" | "dist") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rust_sources() -> Vec<PathBuf> {
    files_under(&root())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn assert_none(offenders: Vec<String>, rule: &str) {
    assert!(
        offenders.is_empty(),
        "{rule}:\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn every_source_file_opens_with_a_module_doc() {
    let offenders = rust_sources()
        .into_iter()
        // trybuild cases are minimal by design: their line numbers are in .stderr files.
        .filter(|p| !relative(p).contains("/tests/ui/"))
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|p| relative(&p))
        .collect();
    assert_none(offenders, "files that do not open with a `//!` paragraph");
}

#[test]
fn the_block_magic_is_never_one_literal_in_the_sources() {
    // Assembled here at run time for the same reason the sources may not hold it.
    let needle = ["CAIO", "-KEY", "RING"].concat();
    let offenders = rust_sources()
        .into_iter()
        .filter(|p| {
            fs::read_to_string(p)
                .unwrap_or_default()
                .contains(needle.as_str())
        })
        .map(|p| relative(&p))
        .collect();
    assert_none(offenders, "sources that spell out the block magic");
}

#[test]
fn no_private_key_under_keys() {
    let keys = root().join("keys");
    let all = files_under(&keys);
    assert!(!all.is_empty(), "keys/ is empty or missing");
    let offenders = all
        .into_iter()
        .filter(|p| {
            let bytes = fs::read(p).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            text.contains("PRIVATE KEY") || p.file_name().is_some_and(|n| n == "private.pem")
        })
        .map(|p| relative(&p))
        .collect();
    assert_none(offenders, "private keys under keys/");
}

/// The subcommand names in a clap `--help` page's `Commands:` section.
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--help")
        .output()
        .expect("xtask --help runs");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn every_xtask_command_is_documented_in_the_readme() {
    let readme = fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut offenders = Vec::new();
    let top = subcommands(&[]);
    assert!(top.len() >= 5, "parsed no commands from --help: {top:?}");
    for command in top {
        let nested = subcommands(&[command.as_str()]);
        if nested.is_empty() && !readme.contains(&format!("cargo xtask {command}")) {
            offenders.push(format!("cargo xtask {command}"));
        }
        for sub in nested {
            // A row may list siblings after a slash: `keys retire ID` / `keys revoke ID`.
            let spelled = [
                format!("cargo xtask {command} {sub}"),
                format!("`{command} {sub}"),
                format!("{command} {sub} "),
            ];
            if !spelled.iter().any(|s| readme.contains(s.as_str())) {
                offenders.push(format!("cargo xtask {command} {sub}"));
            }
        }
    }
    assert_none(offenders, "commands missing from README.md");
}
