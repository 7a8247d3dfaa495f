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

/// Every `//!` and `///` line, with where it is.
fn doc_lines() -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for path in rust_sources() {
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//!") || trimmed.starts_with("///") {
                out.push((relative(&path), n + 1, line.to_owned()));
            }
        }
    }
    out
}

#[test]
fn doc_lines_fit_in_100_columns() {
    let offenders = doc_lines()
        .into_iter()
        // A line whose overlong part is one word (a URI, a path) cannot wrap.
        .filter(|(_, _, line)| {
            line.chars().count() > 100
                && line
                    .trim_end()
                    .rfind(' ')
                    .is_none_or(|space| line[..space].chars().count() > 100)
        })
        .map(|(file, n, line)| format!("{file}:{n} ({} columns)", line.chars().count()))
        .collect();
    assert_none(offenders, "doc lines over 100 columns");
}

/// The files a comment or a document cites: words ending in the extension of a
/// document, a source or a script, without wildcards, placeholders or a URL scheme.
/// (Keys and manifests are named in examples as files the reader makes, so `.pem` and
/// `.toml` are not citations.)
fn cited_files(text: &str) -> Vec<String> {
    const EXTENSIONS: [&str; 5] = [".md", ".rs", ".sh", ".py", ".yml"];
    text.split(|c: char| c.is_whitespace() || "`()[]\"',;<>".contains(c))
        .map(|word| word.trim_end_matches(['.', ':', '!', '?']))
        .filter(|word| EXTENSIONS.iter().any(|e| word.ends_with(e)))
        .filter(|word| !word.contains("://") && !word.contains(['*', '{', '}', '$', '<', '=']))
        .filter(|word| word.len() > 3 && !word.starts_with('.') && !word.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn comments_and_docs_cite_only_files_that_exist() {
    let all: Vec<String> = files_under(&root()).iter().map(|p| relative(p)).collect();
    let exists = |cited: &str, from: &Path| {
        let cited = cited.trim_start_matches("./");
        // A path from the root or from the citing file's folder, or a file name (or the
        // tail of a path) that some file in the tree has.
        root().join(cited).exists()
            || from.parent().is_some_and(|dir| dir.join(cited).exists())
            || all
                .iter()
                .any(|f| f == cited || f.ends_with(&format!("/{cited}")))
    };
    let mut offenders = Vec::new();
    for path in files_under(&root()) {
        let rel = relative(&path);
        let is_doc = rel.ends_with(".md");
        if !(is_doc || rel.ends_with(".rs")) || rel.starts_with("fuzz/corpus") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let cites = if is_doc {
                line
            } else {
                match line.find("//") {
                    Some(at) => &line[at..],
                    None => continue,
                }
            };
            for cited in cited_files(cites) {
                if !exists(&cited, &path) {
                    offenders.push(format!("{rel}:{}: {cited}", n + 1));
                }
            }
        }
    }
    assert_none(
        offenders,
        "comments and docs that cite a file the tree does not have",
    );
}

#[test]
fn the_lean_verifier_links_no_tooling_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .current_dir(root())
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            "caio-verify",
            "--no-default-features",
            // The proc-macro's own dependencies (TOML and PEM, to read the manifest) run
            // in the compiler and never reach the product's binary.
            "-e",
            "normal,no-proc-macro",
            "--prefix",
            "none",
            "--format",
            "{lib}",
        ])
        .output()
        .expect("cargo tree runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && tree.contains("caio_verify"),
        "{tree}"
    );
    // Command line, TOML, PEM and ASN.1, archives and compression, HTTP, async, metrics.
    const TOOLING: [&str; 21] = [
        "clap",
        "toml",
        "toml_edit",
        "pem_rfc7468",
        "spki",
        "der",
        "tar",
        "zip",
        "zstd",
        "flate2",
        "object",
        "hyper",
        "http",
        "axum",
        "tokio",
        "reqwest",
        "tower",
        "rayon",
        "tracing_subscriber",
        "prometheus_client",
        "pyo3",
    ];
    let offenders = tree
        .lines()
        .map(|line| line.split_whitespace().next().unwrap_or_default())
        .filter(|lib| TOOLING.contains(lib))
        .map(str::to_owned)
        .collect();
    assert_none(
        offenders,
        "tooling crates in the lean verifier's dependency tree",
    );
}
