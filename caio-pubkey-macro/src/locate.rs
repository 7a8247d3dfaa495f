//! Where the manifest is: the rules of `README.md` ("Embedding the keyring in a
//! product") as plain functions of what the compiler tells the macro, and how a path is shown in messages.
//!
//! The only files read here are `Cargo.toml`s, to find the workspace root. The manifest
//! itself is read in `expand.rs`, through `caio_keyring::manifest`; whether it exists is
//! not this file's concern.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The build-time variable that overrides the manifest path.
pub const ENV_OVERRIDE: &str = "CAIO_KEYRING";

/// The manifest `embed_keyring!()` embeds, relative to the workspace root.
pub const DEFAULT_MANIFEST: &str = "keys/keyring.toml";

/// What the compiler tells the macro about one invocation.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `CARGO_MANIFEST_DIR` of the crate that invokes the macro, absolute.
    pub crate_dir: Option<PathBuf>,
    /// The source file holding the invocation, absolute.
    pub invoking_file: Option<PathBuf>,
    /// `CAIO_KEYRING`, when set and not empty.
    pub env_override: Option<OsString>,
}

/// The manifest to embed, and how it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The manifest's absolute path.
    pub manifest: PathBuf,
    /// The workspace root of the invoking crate, when known: paths inside it are shown
    /// relative to it, as rustc shows source paths.
    pub workspace_root: Option<PathBuf>,
    /// Which rule chose the manifest.
    pub origin: Origin,
}

/// Which rule chose the manifest; messages about a missing manifest say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `CAIO_KEYRING`, with its value.
    EnvOverride(PathBuf),
    /// The macro's argument as written, relative to the invoking file.
    Argument(String),
    /// `keys/keyring.toml` at the workspace root.
    WorkspaceDefault,
}

/// Why the manifest cannot be located.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LocateError {
    /// A path relative to the workspace is needed, but Cargo did not say where the
    /// invoking crate is.
    #[error(
        "CARGO_MANIFEST_DIR is not set, so {what} cannot be found; build with cargo, or give an absolute path"
    )]
    NoCrateDir {
        /// What needed the workspace root.
        what: String,
    },
    /// A relative argument, but the compiler did not say which file invokes the macro.
    #[error(
        "the compiler does not say which file invokes embed_keyring!, so {written:?} cannot be resolved; give an absolute path or set {ENV_OVERRIDE}"
    )]
    NoInvokingFile {
        /// The argument as written.
        written: String,
    },
    /// A `Cargo.toml` on the way up from the crate cannot be read or parsed.
    #[error("cannot tell whether {path} is the workspace root: {reason}")]
    CargoToml {
        /// The file, as shown.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl Context {
    /// Asks the compiler and Cargo. Only callable while the macro expands.
    pub fn from_compiler() -> Self {
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
        Self {
            crate_dir: std::env::var_os("CARGO_MANIFEST_DIR").map(|d| absolute(d.into())),
            invoking_file: proc_macro::Span::call_site().local_file().map(absolute),
            env_override: std::env::var_os(ENV_OVERRIDE).filter(|v| !v.is_empty()),
        }
    }
}

/// Applies the rules: `CAIO_KEYRING` (absolute, or relative to the workspace root), else
/// the argument (relative to the invoking file), else `keys/keyring.toml` at the
/// workspace root.
pub fn locate(argument: Option<&str>, context: &Context) -> Result<Location, LocateError> {
    let root = context.crate_dir.as_deref().map(workspace_root);
    let required_root = |what: String| match &root {
        Some(Ok(root)) => Ok(root.clone()),
        Some(Err(e)) => Err(e.clone()),
        None => Err(LocateError::NoCrateDir { what }),
    };
    let (manifest, origin) = if let Some(value) = &context.env_override {
        let value = PathBuf::from(value);
        let manifest = if value.is_absolute() {
            value.clone()
        } else {
            let what = format!("the relative {ENV_OVERRIDE}={}", value.display());
            required_root(what)?.join(&value)
        };
        (manifest, Origin::EnvOverride(value))
    } else if let Some(written) = argument {
        let manifest =
            if Path::new(written).is_absolute() {
                PathBuf::from(written)
            } else {
                let file = context.invoking_file.as_deref().ok_or_else(|| {
                    LocateError::NoInvokingFile {
                        written: written.to_owned(),
                    }
                })?;
                file.parent().unwrap_or(Path::new("")).join(written)
            };
        (manifest, Origin::Argument(written.to_owned()))
    } else {
        let what = format!("{DEFAULT_MANIFEST} of the workspace");
        let manifest = required_root(what)?.join(DEFAULT_MANIFEST);
        (manifest, Origin::WorkspaceDefault)
    };
    Ok(Location {
        // Drops `.` components; `..` stays, as it may cross a symlink.
        manifest: manifest.components().collect(),
        workspace_root: root.and_then(Result::ok),
        origin,
    })
}

/// The workspace root of the crate in `crate_dir`: the nearest directory at or above
/// it whose `Cargo.toml` has a `[workspace]` table, or `crate_dir` itself if none has.
pub fn workspace_root(crate_dir: &Path) -> Result<PathBuf, LocateError> {
    for dir in crate_dir.ancestors() {
        let cargo_toml = dir.join("Cargo.toml");
        let text = match std::fs::read_to_string(&cargo_toml) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(cargo_toml_error(&cargo_toml, crate_dir, e.to_string())),
        };
        match declares_workspace(&text) {
            Ok(true) => return Ok(dir.to_owned()),
            Ok(false) => {}
            Err(e) => return Err(cargo_toml_error(&cargo_toml, crate_dir, e.to_string())),
        }
    }
    Ok(crate_dir.to_owned())
}

/// Whether a `Cargo.toml` has a `[workspace]` table.
pub fn declares_workspace(cargo_toml: &str) -> Result<bool, toml::de::Error> {
    let table: toml::Table = cargo_toml.parse()?;
    Ok(table.get("workspace").is_some_and(toml::Value::is_table))
}

/// `path` as messages show it: relative to the workspace root when inside it (the way
/// rustc shows source paths, so it reads the same on every machine), else as is.
pub fn display_path(path: &Path, workspace_root: Option<&Path>) -> String {
    match workspace_root.and_then(|root| path.strip_prefix(root).ok()) {
        Some(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
        _ => path.display().to_string(),
    }
}

fn cargo_toml_error(cargo_toml: &Path, crate_dir: &Path, reason: String) -> LocateError {
    LocateError::CargoToml {
        path: display_path(cargo_toml, Some(crate_dir)),
        reason: reason.trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree: `files` are (relative path, contents).
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        dir
    }

    const WORKSPACE: &str = "[workspace]\nmembers = [\"app\"]\n";
    const PACKAGE: &str = "[package]\nname = \"app\"\n";

    #[test]
    fn workspace_root_is_the_nearest_workspace_manifest() {
        fn check(files: &[(&str, &str)], crate_dir: &str, expected: &str) {
            let dir = tree(files);
            let root = workspace_root(&dir.path().join(crate_dir)).unwrap();
            assert_eq!(
                root,
                dir.path().join(expected),
                "crate {crate_dir} in {files:?}"
            );
        }
        check(
            &[("Cargo.toml", WORKSPACE), ("app/Cargo.toml", PACKAGE)],
            "app",
            "",
        );
        check(
            &[("Cargo.toml", "[workspace]\n[package]\nname = \"a\"\n")],
            "",
            "",
        );
        check(&[("app/Cargo.toml", PACKAGE)], "app", "app");
        check(
            &[
                ("Cargo.toml", WORKSPACE),
                ("a/Cargo.toml", WORKSPACE),
                ("a/b/Cargo.toml", PACKAGE),
            ],
            "a/b",
            "a",
        );
        // `workspace` as a package key, not a table, does not make a root.
        check(
            &[
                ("Cargo.toml", "workspace = 1\n"),
                ("app/Cargo.toml", PACKAGE),
            ],
            "app",
            "app",
        );
        check(
            &[
                ("Cargo.toml", WORKSPACE),
                ("app/nested/Cargo.toml", PACKAGE),
            ],
            "app/nested",
            "",
        );
    }

    #[test]
    fn an_unparsable_cargo_toml_is_an_error() {
        let dir = tree(&[("Cargo.toml", "[workspace\n"), ("app/Cargo.toml", PACKAGE)]);
        let err = workspace_root(&dir.path().join("app")).unwrap_err();
        let message = err.to_string();
        let expected_path = dir.path().join("Cargo.toml").display().to_string();
        assert!(
            message.starts_with(&format!(
                "cannot tell whether {expected_path} is the workspace root: "
            )),
            "{message}"
        );
    }

    #[test]
    fn rules_in_order_of_precedence() {
        let dir = tree(&[("Cargo.toml", WORKSPACE), ("app/Cargo.toml", PACKAGE)]);
        let root = dir.path();
        let context = |env: Option<&str>| Context {
            crate_dir: Some(root.join("app")),
            invoking_file: Some(root.join("app/src/main.rs")),
            env_override: env.map(OsString::from),
        };
        let check =
            |argument: Option<&str>, env: Option<&str>, manifest: PathBuf, origin: Origin| {
                let location = locate(argument, &context(env)).unwrap();
                let expected = Location {
                    manifest,
                    workspace_root: Some(root.to_owned()),
                    origin,
                };
                assert_eq!(location, expected, "argument {argument:?}, env {env:?}");
            };
        check(
            None,
            None,
            root.join("keys/keyring.toml"),
            Origin::WorkspaceDefault,
        );
        let arg = "../keys/dev.toml";
        check(
            Some(arg),
            None,
            root.join("app/src/../keys/dev.toml"),
            Origin::Argument(arg.into()),
        );
        check(
            Some("./dev.toml"),
            None,
            root.join("app/src/dev.toml"),
            Origin::Argument("./dev.toml".into()),
        );
        let env = "keys/staging.toml";
        check(
            Some(arg),
            Some(env),
            root.join(env),
            Origin::EnvOverride(env.into()),
        );
        check(
            None,
            Some(env),
            root.join(env),
            Origin::EnvOverride(env.into()),
        );
        let absolute = root.join("elsewhere/keyring.toml");
        let absolute_str = absolute.to_str().unwrap();
        check(
            None,
            Some(absolute_str),
            absolute.clone(),
            Origin::EnvOverride(absolute.clone()),
        );
        check(
            Some(absolute_str),
            None,
            absolute.clone(),
            Origin::Argument(absolute_str.into()),
        );
    }

    #[test]
    fn missing_context_is_a_clean_error() {
        fn check(argument: Option<&str>, context: Context, expected: &str) {
            let err = locate(argument, &context).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
        check(
            None,
            Context::default(),
            "CARGO_MANIFEST_DIR is not set, so keys/keyring.toml of the workspace cannot be found; build with cargo, or give an absolute path",
        );
        check(
            Some("ignored.toml"),
            Context {
                env_override: Some("keys/x.toml".into()),
                ..Context::default()
            },
            "CARGO_MANIFEST_DIR is not set, so the relative CAIO_KEYRING=keys/x.toml cannot be found; build with cargo, or give an absolute path",
        );
        check(
            Some("fixtures/keyring.toml"),
            Context::default(),
            "the compiler does not say which file invokes embed_keyring!, so \"fixtures/keyring.toml\" cannot be resolved; give an absolute path or set CAIO_KEYRING",
        );
    }

    #[test]
    fn display_is_relative_inside_the_workspace() {
        fn check(path: &str, root: Option<&str>, expected: &str) {
            assert_eq!(display_path(Path::new(path), root.map(Path::new)), expected);
        }
        check("/w/keys/keyring.toml", Some("/w"), "keys/keyring.toml");
        check("/w/keys/keyring.toml", Some("/w/"), "keys/keyring.toml");
        check(
            "/elsewhere/keyring.toml",
            Some("/w"),
            "/elsewhere/keyring.toml",
        );
        check("/wx/keyring.toml", Some("/w"), "/wx/keyring.toml");
        check("/w", Some("/w"), "/w");
        check("/w/keys/keyring.toml", None, "/w/keys/keyring.toml");
    }
}
