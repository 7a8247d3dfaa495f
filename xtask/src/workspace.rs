//! Where the workspace and its manifest are: the facts every command starts from.
//!
//! Commands run from `cargo xtask`, so `CARGO_MANIFEST_DIR` of this crate sits one level
//! below the workspace root. `CAIO_KEYRING` overrides the manifest path as it does for
//! the macro, so operators and tests can point every command at another keyring.

use std::path::PathBuf;

/// The workspace root: the parent of the xtask crate.
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// The manifest the commands work on: `CAIO_KEYRING` if set and not empty (relative
/// paths against the workspace root), else `keys/keyring.toml`.
pub fn manifest_path() -> PathBuf {
    match std::env::var_os("CAIO_KEYRING") {
        Some(value) if !value.is_empty() => root().join(value),
        _ => root().join("keys").join("keyring.toml"),
    }
}

/// The directory that holds the manifest and the PEM files it names: `keys/`, or the
/// directory of `CAIO_KEYRING`.
pub fn keys_dir(manifest: &std::path::Path) -> PathBuf {
    crate::fsutil::parent_dir(manifest).to_owned()
}
