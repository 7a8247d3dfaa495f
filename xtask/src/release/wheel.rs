//! The Python wheel of a release: `caio_verify`, built from `caio-verify-py/` by
//! maturin, whose extension module embeds the keyring with the same macro as the
//! binaries (so the gate judges it as it judges them).
//!
//! The build is reproducible as the binaries' is: `CARGO_ENCODED_RUSTFLAGS` carries the
//! same flags ([`build::release_rustflags`]), and `SOURCE_DATE_EPOCH` (the commit's time
//! unless the caller set one) fixes the timestamps maturin writes into the zip. maturin
//! is `$MATURIN`, else `maturin` on `PATH`, else the copy `.ci/run` installs under
//! `target/ci-tools/maturin/`; it runs through `xshell::cmd!`, never a shell. A missing
//! maturin or a failed build stops the release (exit 2).
//!
//! Not here: uploading to an index, or wheels for other platforms or interpreters (the
//! extension uses the stable ABI, so one wheel serves CPython 3.9 and later on this
//! platform).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cargo_metadata::Metadata;
use xshell::{Shell, cmd};

use super::build;

/// The crate maturin builds, relative to the workspace root.
pub const CRATE_DIR: &str = "caio-verify-py";

/// A built wheel, in a temporary directory that lives as long as this.
#[derive(Debug)]
pub struct Wheel {
    /// The wheel file.
    pub path: PathBuf,
    /// Its file name, as maturin named it (`caio_verify-0.1.0-cp39-abi3-<platform>.whl`).
    pub name: String,
    _dir: tempfile::TempDir,
}

/// Builds the wheel for `target` (the host when `None`) at `source_date_epoch`.
pub fn build(
    sh: &Shell,
    metadata: &Metadata,
    target: Option<&str>,
    source_date_epoch: i64,
) -> Result<Wheel> {
    let maturin = maturin(metadata.workspace_root.as_std_path())?;
    let manifest = metadata
        .workspace_root
        .as_std_path()
        .join(CRATE_DIR)
        .join("Cargo.toml");
    let target_dir = metadata.target_directory.as_std_path();
    std::fs::create_dir_all(target_dir)
        .with_context(|| format!("cannot create {}", target_dir.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("release-wheel.")
        .tempdir_in(target_dir)
        .with_context(|| format!("cannot create a directory in {}", target_dir.display()))?;
    let out = dir.path();
    let target_args: Vec<&str> = target.map(|t| vec!["--target", t]).unwrap_or_default();
    let rustflags = build::release_rustflags(metadata, target)?;
    cmd!(
        sh,
        "{maturin} build --release --locked --manifest-path {manifest} --out {out} {target_args...}"
    )
    .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
    .env("SOURCE_DATE_EPOCH", source_date_epoch.to_string())
    .quiet()
    .read()
    .with_context(|| format!("{} build failed (its errors are above)", maturin.display()))?;
    let (path, name) = the_wheel(out)?;
    Ok(Wheel {
        path,
        name,
        _dir: dir,
    })
}

/// `SOURCE_DATE_EPOCH` for the release's packages: the caller's, else the commit's time
/// (`git log -1 --format=%ct`), else 1980-01-01 (the earliest time a zip can hold).
pub fn source_date_epoch(sh: &Shell) -> Result<i64> {
    if let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH").filter(|v| !v.is_empty()) {
        let text = value.to_string_lossy();
        return text.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH={text:?} is not a number of seconds since the epoch")
        });
    }
    let commit_time = cmd!(sh, "git log -1 --format=%ct")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
        .and_then(|t| t.trim().parse().ok());
    Ok(commit_time.unwrap_or(ZIP_EPOCH))
}

/// 1980-01-01T00:00:00Z, the earliest instant a zip entry can hold.
const ZIP_EPOCH: i64 = 315_532_800;

/// The maturin to run: `$MATURIN`, `maturin` on `PATH`, or the copy under
/// `target/ci-tools/maturin`, which `.ci/maturin` installs from PyPI when none of these
/// exists, so `cargo xtask release` works on a fresh clone. A failed install stops the
/// release.
fn maturin(root: &Path) -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("MATURIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("maturin"))
        .find(|candidate| candidate.is_file());
    let ci_tools = root.join("target/ci-tools/maturin/bin/maturin");
    if let Some(path) = on_path.or_else(|| ci_tools.is_file().then_some(ci_tools)) {
        return Ok(path);
    }
    eprintln!(
        "release: maturin not found ($MATURIN, PATH, target/ci-tools); installing it under \
         target/ci-tools/maturin from PyPI (.ci/maturin)"
    );
    let sh = Shell::new()?;
    let install = root.join(".ci/maturin");
    let dir = cmd!(sh, "{install}").quiet().read().with_context(|| {
        "maturin is needed to build the wheel, and `.ci/maturin` could not install it \
         (python3 -m pip, from PyPI): install maturin, or pass --no-wheel"
    })?;
    let path = Path::new(dir.trim()).join("maturin");
    if !path.is_file() {
        bail!(
            "`.ci/maturin` ran but {} is not there: install maturin, or pass --no-wheel",
            path.display()
        );
    }
    Ok(path)
}

/// The one `.whl` maturin wrote into `out`, and its name.
fn the_wheel(out: &Path) -> Result<(PathBuf, String)> {
    let mut wheels = Vec::new();
    for entry in std::fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", out.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".whl") {
            wheels.push((entry.path(), name));
        }
    }
    match wheels.len() {
        1 => Ok(wheels.remove(0)),
        n => bail!(
            "maturin wrote {n} wheels into {} where one was expected",
            out.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wheel_is_found_and_none_or_two_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(the_wheel(dir.path()).is_err());
        std::fs::write(dir.path().join("caio_verify-0.1.0-cp39-abi3-x.whl"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let (_, name) = the_wheel(dir.path()).unwrap();
        assert_eq!(name, "caio_verify-0.1.0-cp39-abi3-x.whl");
        std::fs::write(dir.path().join("caio_verify-0.1.0-cp39-abi3-y.whl"), b"").unwrap();
        assert!(the_wheel(dir.path()).is_err());
    }
}
