//! Where a release comes from: the git commit of the workspace and the compiler.
//!
//! Both are facts about the inputs, read from `git` and `rustc -vV`; nothing here reads
//! the clock, so a statement made twice from one checkout is the same bytes.

use anyhow::{Context, Result};
use serde::Serialize;
use xshell::{Shell, cmd};

/// `rustc -vV`, as the release statement records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rustc {
    /// The first line: `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub version: String,
    /// `release`: `1.95.0`.
    pub release: String,
    /// `commit-hash`, when the compiler knows it.
    pub commit_hash: Option<String>,
    /// `host`: the triple the compiler runs on and builds for by default.
    pub host: String,
    /// `LLVM version`, when the compiler reports one.
    pub llvm_version: Option<String>,
}

/// The compiler cargo uses (`RUSTC`, else `rustc` on the path, which rustup resolves
/// with the workspace's toolchain file as cargo does), from the workspace root.
pub fn rustc(sh: &Shell) -> Result<Rustc> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let text = cmd!(sh, "{rustc} -vV")
        .quiet()
        .read()
        .with_context(|| format!("cannot run `{rustc} -vV`"))?;
    parse_rustc(&text).with_context(|| format!("cannot read the output of `{rustc} -vV`"))
}

/// The commit the workspace is checked out at, with `-dirty` when a file under the
/// workspace root differs from it (untracked files included: they could be built);
/// `None` when the workspace is not in a git checkout or git is not installed.
pub fn git_commit(sh: &Shell) -> Option<String> {
    let commit = cmd!(sh, "git rev-parse --verify HEAD")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    let status = cmd!(sh, "git status --porcelain -- .")
        .quiet()
        .ignore_stderr()
        .read();
    match status {
        Ok(status) if status.trim().is_empty() => Some(commit),
        Ok(_) => Some(format!("{commit}-dirty")),
        Err(e) => {
            eprintln!(
                "warning: cannot tell whether the checkout is dirty ({e}): commit not recorded"
            );
            None
        }
    }
}

/// Reads `rustc -vV` output.
fn parse_rustc(text: &str) -> Option<Rustc> {
    let mut lines = text.lines();
    let version = lines.next()?.trim().to_owned();
    let field = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once(": "))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty() && value != "unknown")
    };
    Some(Rustc {
        version,
        release: field("release")?,
        commit_hash: field("commit-hash"),
        host: field("host")?,
        llvm_version: field("LLVM version"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustc_vv_is_read_field_by_field() {
        let text = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 59807616e1fa2540724bfbac14d7976d7e4a3860\ncommit-date: 2026-04-14\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        assert_eq!(
            parse_rustc(text),
            Some(Rustc {
                version: "rustc 1.95.0 (59807616e 2026-04-14)".to_owned(),
                release: "1.95.0".to_owned(),
                commit_hash: Some("59807616e1fa2540724bfbac14d7976d7e4a3860".to_owned()),
                host: "x86_64-unknown-linux-gnu".to_owned(),
                llvm_version: Some("22.1.2".to_owned()),
            })
        );
        let source_build = "rustc 1.95.0-dev\nbinary: rustc\ncommit-hash: unknown\nhost: aarch64-apple-darwin\nrelease: 1.95.0-dev\n";
        let parsed = parse_rustc(source_build).unwrap();
        assert_eq!((parsed.commit_hash, parsed.llvm_version), (None, None));
        assert_eq!(parse_rustc("rustc 1.95.0\nbinary: rustc\n"), None);
    }
}
