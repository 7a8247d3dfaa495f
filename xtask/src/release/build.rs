//! Which binaries a release ships, and building them: `cargo metadata` picks the
//! binaries, one `cargo build --release --locked` builds them, and cargo's JSON
//! messages say where each one is.
//!
//! A binary ships when its package embeds a keyring: it depends (a normal dependency, on
//! any platform) on `caio-verify` or `caio-pubkey-macro`, as `caio-cli` (the
//! `caio-verify` command) does.
//! `xtask` never ships. Nothing here knows where cargo puts its output: every path comes
//! from a `compiler-artifact` message, so `CARGO_TARGET_DIR`, `--target` and
//! `build.target-dir` all just work, and a binary that cargo does not report is
//! missing, never guessed.
//!
//! The build is reproducible across checkouts: `CARGO_ENCODED_RUSTFLAGS` carries
//! `--remap-path-prefix` for the cargo home (`/cargo`), the workspace root (`/caio`)
//! and the target directory (`/target`), after any flags already in
//! `CARGO_ENCODED_RUSTFLAGS` or `RUSTFLAGS`. Rustflags from cargo configuration files
//! (`build.rustflags`) are not applied, as cargo ignores them when the variable is set.
//! [`build_static`] builds `caio-verify` once more with the same flags and `+crt-static`,
//! for the container image (`image.rs`); the released binary itself stays as cargo links it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cargo_metadata::{DependencyKind, Message, Metadata, MetadataCommand, Package};
use xshell::{Shell, cmd};

/// A binary target the release must ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// Its package's name.
    pub package: String,
    /// The binary target's name.
    pub bin: String,
    /// Its `required-features`, enabled for the build.
    pub required_features: Vec<String>,
}

/// A binary that cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    /// Its package's name.
    pub package: String,
    /// The binary target's name.
    pub bin: String,
    /// The executable, where cargo put it.
    pub path: PathBuf,
}

/// What a build produced, against what it had to.
#[derive(Debug)]
pub struct Built {
    /// Every binary of the plan that cargo reported, in the plan's order.
    pub binaries: Vec<Binary>,
    /// The binaries of the plan that cargo did not report.
    pub missing: Vec<Shipped>,
}

/// The packages whose dependents embed a keyring.
const EMBEDDERS: [&str; 2] = ["caio-verify", "caio-pubkey-macro"];

impl fmt::Display for Shipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (package {})", self.bin, self.package)
    }
}

impl Binary {
    /// The `caio-verify` command, which can show its keyring (`keyring --json`).
    pub fn is_caio_verify(&self) -> bool {
        self.package == "caio-cli" && self.bin == "caio-verify"
    }

    /// Its file name in the release: the executable's own (`caio-verify`,
    /// `caio-verify.exe`).
    pub fn file_name(&self) -> Result<String> {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .with_context(|| format!("{} has no UTF-8 file name", self.path.display()))
    }
}

/// The workspace's packages (`cargo metadata --no-deps`).
pub fn metadata(sh: &Shell, cargo: &str) -> Result<Metadata> {
    let json = cmd!(sh, "{cargo} metadata --format-version 1 --no-deps --locked")
        .quiet()
        .read()
        .context("cargo metadata failed")?;
    MetadataCommand::parse(json).context("cannot read the output of cargo metadata")
}

/// Every binary the release ships, sorted by package and name. Two binaries with one
/// name would overwrite each other in the release: an error.
pub fn plan(metadata: &Metadata) -> Result<Vec<Shipped>> {
    let mut plan: Vec<Shipped> = metadata
        .workspace_packages()
        .into_iter()
        .filter(|package| embeds_keyring(package))
        .flat_map(|package| {
            package
                .targets
                .iter()
                .filter(|target| target.is_bin())
                .map(|target| Shipped {
                    package: package.name.to_string(),
                    bin: target.name.clone(),
                    required_features: target.required_features.clone(),
                })
        })
        .collect();
    plan.sort_by(|a, b| (&a.package, &a.bin).cmp(&(&b.package, &b.bin)));
    let mut seen = BTreeMap::new();
    for shipped in &plan {
        if let Some(other) = seen.insert(shipped.bin.as_str(), shipped) {
            bail!(
                "two shipped binaries are both named {:?}: {other} and {shipped}; rename one",
                shipped.bin
            );
        }
    }
    Ok(plan)
}

/// Builds every binary of `plan` in one `cargo build --release --locked`, for `target`
/// (the host when `None`), and finds each one in cargo's messages.
pub fn build(
    sh: &Shell,
    cargo: &str,
    metadata: &Metadata,
    plan: &[Shipped],
    target: Option<&str>,
) -> Result<Built> {
    let rustflags = release_rustflags(metadata, target)?;
    run_build(sh, cargo, metadata, plan, target, &rustflags, None)
}

/// Builds `shipped` once more for `target` (always passed to cargo, so build scripts and
/// proc-macros, built for the host, get none of these flags), statically linked: the
/// [`release_rustflags`] and `-C target-feature=+crt-static`, into `static/` under the
/// target directory, so it never replaces the release build's binary (the remap of the
/// target directory covers it, so it is as reproducible). The container image's binary.
pub fn build_static(
    sh: &Shell,
    cargo: &str,
    metadata: &Metadata,
    shipped: &Shipped,
    target: &str,
) -> Result<Binary> {
    let rustflags = static_rustflags(release_rustflags(metadata, Some(target))?);
    let target_dir = metadata.target_directory.as_std_path().join("static");
    let plan = std::slice::from_ref(shipped);
    let mut built = run_build(
        sh,
        cargo,
        metadata,
        plan,
        Some(target),
        &rustflags,
        Some(&target_dir),
    )?;
    match built.binaries.pop() {
        Some(binary) => Ok(binary),
        None => bail!("cargo built no static executable for {shipped} ({target})"),
    }
}

/// The `CARGO_ENCODED_RUSTFLAGS` of a release build for `target` (the host when `None`):
/// the inherited flags, the curve25519-dalek backend cfg and the path remaps. The wheel
/// build (`wheel.rs`) uses them too, so the extension module is as reproducible.
pub fn release_rustflags(metadata: &Metadata, target: Option<&str>) -> Result<String> {
    rustflags(
        with_backend_flags(inherited_rustflags(), target),
        &[
            (cargo_home()?, "/cargo"),
            (metadata.workspace_root.clone().into_std_path_buf(), "/caio"),
            (
                metadata.target_directory.clone().into_std_path_buf(),
                "/target",
            ),
        ],
    )
}

/// `cargo build` of `plan` with `rustflags` (and `CARGO_TARGET_DIR=target_dir` when given),
/// and each binary of the plan found in cargo's messages.
fn run_build(
    sh: &Shell,
    cargo: &str,
    metadata: &Metadata,
    plan: &[Shipped],
    target: Option<&str>,
    rustflags: &str,
    target_dir: Option<&Path>,
) -> Result<Built> {
    let args = build_args(plan, target);
    let mut command = cmd!(sh, "{cargo} build {args...}").env("CARGO_ENCODED_RUSTFLAGS", rustflags);
    if let Some(dir) = target_dir {
        command = command.env("CARGO_TARGET_DIR", dir);
    }
    let stdout = command
        .quiet()
        .read()
        .context("cargo build failed (its errors are above)")?;
    let names: BTreeMap<&str, &str> = metadata
        .packages
        .iter()
        .map(|p| (p.id.repr.as_str(), p.name.as_str()))
        .collect();
    Ok(match_plan(plan, reported_binaries(&stdout, &names)?))
}

/// `CARGO_ENCODED_RUSTFLAGS` `flags` with `-Ctarget-feature=+crt-static` after them.
fn static_rustflags(flags: String) -> String {
    const STATIC: &str = "-Ctarget-feature=+crt-static";
    if flags.is_empty() {
        STATIC.to_owned()
    } else {
        format!("{flags}\x1f{STATIC}")
    }
}

/// Every executable of a workspace package (`names`: package id to name) that cargo's
/// JSON `messages` report.
fn reported_binaries(messages: &str, names: &BTreeMap<&str, &str>) -> Result<Vec<Binary>> {
    let mut reported = Vec::new();
    for message in Message::parse_stream(messages.as_bytes()) {
        let message = message.context("cannot read cargo's build messages")?;
        if let Message::CompilerArtifact(artifact) = message
            && artifact.target.is_bin()
            && let Some(exe) = artifact.executable
            && let Some(package) = names.get(artifact.package_id.repr.as_str())
        {
            reported.push(Binary {
                package: (*package).to_owned(),
                bin: artifact.target.name.clone(),
                path: exe.into_std_path_buf(),
            });
        }
    }
    Ok(reported)
}

/// The arguments of `cargo build`: release, locked, JSON messages (diagnostics still
/// rendered on stderr), the target, and each package and binary with the features its
/// binaries require.
fn build_args(plan: &[Shipped], target: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--release",
        "--locked",
        "--message-format=json-render-diagnostics",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(target) = target {
        args.extend(["--target".to_owned(), target.to_owned()]);
    }
    let mut packages: Vec<&str> = plan.iter().map(|s| s.package.as_str()).collect();
    packages.dedup();
    for package in packages {
        args.extend(["-p".to_owned(), package.to_owned()]);
    }
    for shipped in plan {
        args.extend(["--bin".to_owned(), shipped.bin.clone()]);
    }
    let mut features: Vec<String> = plan
        .iter()
        .flat_map(|s| {
            s.required_features
                .iter()
                .map(|f| format!("{}/{f}", s.package))
        })
        .collect();
    features.sort();
    features.dedup();
    if !features.is_empty() {
        args.extend(["--features".to_owned(), features.join(",")]);
    }
    args
}

/// The binaries of `plan` found among those cargo `reported`, and those not found.
fn match_plan(plan: &[Shipped], reported: Vec<Binary>) -> Built {
    let mut binaries = Vec::new();
    let mut missing = Vec::new();
    for shipped in plan {
        match reported
            .iter()
            .find(|b| b.package == shipped.package && b.bin == shipped.bin)
        {
            Some(binary) => binaries.push(binary.clone()),
            None => missing.push(shipped.clone()),
        }
    }
    Built { binaries, missing }
}

/// Whether `package` puts a keyring block in its binaries.
fn embeds_keyring(package: &Package) -> bool {
    package.name.as_str() != "xtask"
        && package
            .dependencies
            .iter()
            .any(|d| d.kind == DependencyKind::Normal && EMBEDDERS.contains(&d.name.as_str()))
}

/// The flags already asked for: `CARGO_ENCODED_RUSTFLAGS` (split on 0x1f) if set,
/// else `RUSTFLAGS` (split on whitespace), as cargo reads them.
fn inherited_rustflags() -> Vec<String> {
    match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\x1f').map(str::to_owned).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    }
}

/// `inherited`, and for an x86_64 `target` (the host when `None`) the cfg that compiles
/// curve25519-dalek's AVX-512 IFMA backend in, to be chosen at run time (see
/// `.cargo/config.toml`, which cargo ignores here since `CARGO_ENCODED_RUSTFLAGS` is
/// set). A backend the caller already chose is kept.
fn with_backend_flags(mut inherited: Vec<String>, target: Option<&str>) -> Vec<String> {
    let x86_64 = match target {
        Some(triple) => triple.starts_with("x86_64-"),
        None => cfg!(target_arch = "x86_64"),
    };
    let chosen = inherited
        .iter()
        .any(|flag| flag.contains("curve25519_dalek_backend"));
    if x86_64 && !chosen {
        inherited.extend(["--cfg".to_owned(), DALEK_BACKEND.to_owned()]);
    }
    inherited
}

/// The cfg value that compiles in curve25519-dalek's run-time-selected AVX-512 backend.
const DALEK_BACKEND: &str = "curve25519_dalek_backend=\"avx512\"";

/// `inherited` and a `--remap-path-prefix=FROM=TO` for each of `remaps`, encoded for
/// `CARGO_ENCODED_RUSTFLAGS`. The remaps go shortest path first: rustc applies the last
/// one that matches, so a directory inside another (the target directory inside the
/// workspace) gets its own name.
fn rustflags(inherited: Vec<String>, remaps: &[(PathBuf, &str)]) -> Result<String> {
    let mut remaps: Vec<&(PathBuf, &str)> = remaps.iter().collect();
    remaps.sort_by_key(|(from, _)| from.components().count());
    let mut flags = inherited;
    for (from, to) in remaps {
        let from = from
            .to_str()
            .with_context(|| format!("{} is not UTF-8: cannot remap it", from.display()))?;
        flags.push(format!("--remap-path-prefix={from}={to}"));
    }
    Ok(flags.join("\x1f"))
}

/// Where cargo keeps registry sources: `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return std::path::absolute(Path::new(&home)).context("cannot resolve CARGO_HOME");
    }
    std::env::home_dir()
        .map(|home| home.join(".cargo"))
        .context("neither CARGO_HOME nor a home directory is set: cannot find the cargo home")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_builds_get_the_run_time_selected_avx512_backend_unless_one_was_chosen() {
        let cfg = ["--cfg".to_owned(), DALEK_BACKEND.to_owned()];
        assert_eq!(
            with_backend_flags(vec![], Some("x86_64-unknown-linux-gnu")),
            cfg
        );
        assert!(with_backend_flags(vec![], Some("aarch64-unknown-linux-gnu")).is_empty());
        let simd = vec![
            "--cfg".to_owned(),
            "curve25519_dalek_backend=\"simd\"".to_owned(),
        ];
        assert_eq!(
            with_backend_flags(simd.clone(), Some("x86_64-unknown-linux-gnu")),
            simd
        );
        assert_eq!(
            with_backend_flags(vec![], None).is_empty(),
            !cfg!(target_arch = "x86_64")
        );
    }

    fn shipped(package: &str, bin: &str, features: &[&str]) -> Shipped {
        Shipped {
            package: package.to_owned(),
            bin: bin.to_owned(),
            required_features: features.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    fn binary(package: &str, bin: &str) -> Binary {
        Binary {
            package: package.to_owned(),
            bin: bin.to_owned(),
            path: PathBuf::from(format!("/t/release/{bin}")),
        }
    }

    #[test]
    fn the_workspace_ships_caio_verify_from_caio_cli() {
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::workspace::root());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let plan = plan(&metadata(&sh, &cargo).unwrap()).unwrap();
        assert_eq!(plan, [shipped("caio-cli", "caio-verify", &[])]);
    }

    #[test]
    fn cargo_gets_each_package_binary_and_required_feature_once() {
        let plan = [
            shipped("caio-verify", "caio-verify", &["cli"]),
            shipped("product", "product", &[]),
            shipped("product", "product-admin", &["admin", "cli"]),
        ];
        let args = build_args(&plan, Some("aarch64-unknown-linux-gnu")).join(" ");
        assert_eq!(
            args,
            "--release --locked --message-format=json-render-diagnostics \
             --target aarch64-unknown-linux-gnu -p caio-verify -p product \
             --bin caio-verify --bin product --bin product-admin \
             --features caio-verify/cli,product/admin,product/cli"
        );
        let host = build_args(&plan[1..2], None).join(" ");
        assert_eq!(
            host,
            "--release --locked --message-format=json-render-diagnostics -p product --bin product"
        );
    }

    #[test]
    fn the_static_build_adds_crt_static_after_every_other_flag() {
        assert_eq!(
            static_rustflags(String::new()),
            "-Ctarget-feature=+crt-static"
        );
        assert_eq!(
            static_rustflags("--cfg\x1fx".to_owned()),
            "--cfg\x1fx\x1f-Ctarget-feature=+crt-static"
        );
    }

    #[test]
    fn a_binary_cargo_did_not_report_is_missing() {
        let plan = [shipped("a", "one", &[]), shipped("b", "two", &[])];
        let built = match_plan(&plan, vec![binary("b", "two"), binary("c", "one")]);
        assert_eq!(built.binaries, [binary("b", "two")]);
        assert_eq!(built.missing, [shipped("a", "one", &[])]);
    }

    #[test]
    fn remaps_follow_inherited_flags_the_innermost_directory_last() {
        let flags = rustflags(
            vec!["-Ctarget-cpu=native".to_owned()],
            &[
                (PathBuf::from("/w/target"), "/target"),
                (PathBuf::from("/w"), "/caio"),
                (PathBuf::from("/home/u/.cargo"), "/cargo"),
            ],
        )
        .unwrap();
        let flags: Vec<&str> = flags.split('\x1f').collect();
        assert_eq!(
            flags,
            [
                "-Ctarget-cpu=native",
                "--remap-path-prefix=/w=/caio",
                "--remap-path-prefix=/w/target=/target",
                "--remap-path-prefix=/home/u/.cargo=/cargo",
            ]
        );
    }

    #[test]
    fn executables_come_from_cargo_messages_of_workspace_packages() {
        let artifact = |id: &str, kind: &str, name: &str, exe: &str| {
            format!(
                r#"{{"reason":"compiler-artifact","package_id":"{id}","manifest_path":"/w/Cargo.toml","target":{{"kind":["{kind}"],"crate_types":["{kind}"],"name":"{name}","src_path":"/w/src/main.rs","edition":"2024","doc":true,"doctest":false,"test":true}},"profile":{{"opt_level":"3","debuginfo":0,"debug_assertions":false,"overflow_checks":false,"test":false}},"features":[],"filenames":["{exe}"],"executable":{exe_json},"fresh":true}}"#,
                exe_json = if exe.is_empty() {
                    "null".to_owned()
                } else {
                    format!("{exe:?}")
                },
            )
        };
        let messages = [
            "   Compiling caio-verify v0.1.0".to_owned(),
            artifact("path+file:///w/caio-verify#0.1.0", "lib", "caio_verify", ""),
            artifact(
                "path+file:///w/caio-verify#0.1.0",
                "bin",
                "caio-verify",
                "/t/release/caio-verify",
            ),
            artifact(
                "registry+https://x#tool@1.0.0",
                "bin",
                "tool",
                "/t/release/tool",
            ),
            r#"{"reason":"build-finished","success":true}"#.to_owned(),
        ]
        .join("\n");
        let names = BTreeMap::from([("path+file:///w/caio-verify#0.1.0", "caio-verify")]);
        let reported = reported_binaries(&messages, &names).unwrap();
        assert_eq!(
            reported,
            [Binary {
                package: "caio-verify".to_owned(),
                bin: "caio-verify".to_owned(),
                path: PathBuf::from("/t/release/caio-verify"),
            }]
        );
    }
}
