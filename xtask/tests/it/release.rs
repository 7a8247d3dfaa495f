//! `cargo xtask release` and `cargo xtask verify-artifact` end to end, on a copy of the
//! workspace, as a fresh clone would run them.
//!
//! The copy holds the files git would commit (tracked, and untracked but not ignored),
//! with `keys/` replaced by a generated keyring whose windows depend only on the year,
//! so no test depends on today and the real `keys/` is never touched. The copy is its
//! own git repository, so the statement's commit can be checked. It lives at a fixed
//! place, `target/it-release/workspace`, and is synced file by file (unchanged files
//! keep their mtimes); it builds into its own `target/`, as a fresh clone does. The
//! release's `--remap-path-prefix` flags name the checkout and the target directory, so
//! fixed paths keep them, and with them every compiled dependency, the same from one
//! test run to the next. Only what changed is rebuilt.
//!
//! The copy cannot share a target directory with this workspace or another copy: cargo
//! hashes a workspace crate by its path relative to the workspace root, so two copies'
//! `xtask` builds would be one unit, and one copy's `cargo xtask` could run the other's.
//!
//! Reproducibility across checkouts (two full builds, minutes) is not tested here but
//! by `scripts/check-reproducible.sh`, which CI runs as its own job.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use caio_keyring::manifest::Manifest;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use xshell::{Shell, cmd};

use test_support::run::capture;

use test_support::run::assert_contains;

use super::{Run, fingerprint, public_pem};

/// The copy of the workspace, synced and committed once per test process.
pub(super) struct Copy {
    /// Held (an exclusive `flock`) until this test process exits: another `cargo test`
    /// waits rather than syncing, committing or building the copy under this one.
    _lock: std::fs::File,
    /// The copy's root; it builds into its own `target/`, as a fresh clone does.
    pub(super) workspace: PathBuf,
    /// `HEAD` of the copy.
    head: String,
    /// Held by every test while it builds in the copy and runs what it built: a build
    /// with another keyring replaces the binaries there.
    builds: Mutex<()>,
}

/// The copy, made once by the first test that needs it (`release.rs` releases it,
/// `image.rs` and `wheel.rs` share that release, `dsse.rs` signs one, and `dev.rs` runs
/// the README's developer commands in it).
pub(super) fn copy() -> &'static Copy {
    static COPY: OnceLock<Copy> = OnceLock::new();
    COPY.get_or_init(|| {
        let base = workspace_root().join("target").join("it-release");
        let workspace = base.join("workspace");
        std::fs::create_dir_all(&base).expect("target/it-release");
        let lock = std::fs::File::create(base.join("lock")).expect("lock file");
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).expect("flock");
        // The workspace's files, but `keys/`: the generated keyring replaces it.
        test_support::run::sync_workspace(&workspace, &["keys/"]);
        write_keyring(&workspace.join("keys"), "production");
        let head = commit_all(&workspace);
        Copy {
            _lock: lock,
            workspace,
            head,
            builds: Mutex::new(()),
        }
    })
}

impl Copy {
    /// Holds the copy's `target/`: no other test builds there until the guard drops.
    pub(super) fn hold(&self) -> MutexGuard<'_, ()> {
        self.builds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `cargo xtask ARGS...` in the copy with `env` added, holding its `target/`: what
    /// is built already is reused.
    pub(super) fn xtask(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
        let _held = self.hold();
        cargo_xtask(&self.workspace, args, env)
    }
}

/// The copy, released once by the first test that needs it.
pub(super) struct Released {
    /// The copy of the workspace.
    pub(super) copy: &'static Copy,
    /// The release (`dist/` in the copy).
    pub(super) dist: PathBuf,
    /// The run of `cargo xtask release`.
    pub(super) run: Run,
}

/// The shared release, which every test that asks for it needs to have passed.
pub(super) fn released() -> &'static Released {
    static RELEASED: OnceLock<Released> = OnceLock::new();
    let r = RELEASED.get_or_init(|| {
        let copy = copy();
        Released {
            copy,
            dist: copy.workspace.join("dist"),
            run: copy.xtask(&["release"], &[]),
        }
    });
    assert_eq!(r.run.code, 0, "release failed:\n{}", r.run.stderr);
    r
}

impl Released {
    /// The copy's manifest, the one the release embeds.
    pub(super) fn manifest(&self) -> PathBuf {
        self.copy.workspace.join("keys/keyring.toml")
    }

    /// `cargo xtask ARGS...` in the copy (see [`Copy::xtask`]).
    pub(super) fn xtask(&self, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
        self.copy.xtask(args, env)
    }

    /// `target/it-release/NAME`, beside the copy, for what a test process derives from
    /// the release once; what an earlier process left there is removed first.
    pub(super) fn fresh_dir(&self, name: &str) -> PathBuf {
        let dir = self
            .copy
            .workspace
            .parent()
            .expect("target/it-release")
            .join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        dir
    }
}

#[test]
fn release_writes_binaries_sums_and_a_statement_naming_the_manifests_keyring() {
    let r = released();

    let files: BTreeSet<String> = std::fs::read_dir(&r.dist)
        .expect("dist")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let wheel = wheel_name(&r.dist);
    let expected: BTreeSet<String> = [
        "SHA256SUMS",
        "caio-verify",
        "caio-verify-image.tar",
        "release.intoto.json",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([wheel.clone()])
    .collect();
    assert_eq!(files, expected);
    let mode = std::fs::metadata(r.dist.join("caio-verify"))
        .expect("binary")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    // The real sha256sum is the referee of SHA256SUMS.
    let sh = Shell::new().expect("shell");
    sh.change_dir(&r.dist);
    let checked = cmd!(sh, "sha256sum --check --strict SHA256SUMS")
        .quiet()
        .read()
        .expect("sha256sum -c passes");
    assert_eq!(
        checked,
        format!("caio-verify: OK\ncaio-verify-image.tar: OK\n{wheel}: OK")
    );

    let statement: Value = serde_json::from_str(
        &std::fs::read_to_string(r.dist.join("release.intoto.json")).expect("statement"),
    )
    .expect("the statement is JSON");
    let manifest = Manifest::load(&r.manifest()).expect("manifest");
    let keyring = manifest.keyring();
    let binary = std::fs::read(r.dist.join("caio-verify")).expect("binary");
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://caio.example/keyring-release/v1"
    );
    let wheel_bytes = std::fs::read(r.dist.join(&wheel)).expect("wheel");
    let image = std::fs::read(r.dist.join("caio-verify-image.tar")).expect("image");
    assert_eq!(
        statement["subject"],
        serde_json::json!([
            {"name": "caio-verify", "digest": {"sha256": hex::encode(Sha256::digest(&binary))}},
            {"name": "caio-verify-image.tar",
             "digest": {"sha256": hex::encode(Sha256::digest(&image))}},
            {"name": wheel, "digest": {"sha256": hex::encode(Sha256::digest(&wheel_bytes))}},
        ])
    );
    let ring = &statement["predicate"]["keyring"];
    assert_eq!(ring["fingerprint"], keyring.fingerprint().to_string());
    assert_eq!(ring["serial"], keyring.serial());
    assert_eq!(ring["channel"], "production");
    assert_eq!(ring["runtime_override"], "deny");
    let key = &keyring.keys()[0];
    assert_eq!(ring["keys"][0]["id"], key.id().as_str());
    assert_eq!(ring["keys"][0]["fingerprint"], fingerprint(7));
    let (not_before, sign_until, not_after) = windows();
    assert_eq!(ring["keys"][0]["not_before"], not_before);
    assert_eq!(ring["keys"][0]["sign_until"], sign_until);
    assert_eq!(ring["keys"][0]["not_after"], not_after);
    assert_eq!(ring["bricking_horizon"], not_after);
    assert_eq!(ring["revoked"], serde_json::json!([]));

    let build = &statement["predicate"]["build"];
    assert_eq!(
        build["git_commit"],
        r.copy.head.as_str(),
        "a clean checkout"
    );
    let host = cmd!(sh, "rustc -vV").quiet().read().expect("rustc -vV");
    let host = host
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("host line");
    assert_eq!(build["target"], host);
    assert_eq!(build["rustc"]["host"], host);
    assert!(
        build["rustc"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("rustc ")),
        "{build}"
    );
    let text = std::fs::read_to_string(r.dist.join("release.intoto.json")).expect("statement");
    assert!(
        !text.contains(&*r.copy.workspace.to_string_lossy()),
        "no local path: {text}"
    );

    for step in [
        "keys check",
        "the manifest's keyring",
        "PASS",
        "release: wrote",
    ] {
        assert!(r.run.stderr.contains(step), "{step}:\n{}", r.run.stderr);
    }
}

#[test]
fn verify_artifact_passes_the_release_and_fails_a_tampered_copy() {
    let r = released();
    let manifest = r.manifest();
    let released = r.dist.join("caio-verify");
    let dir = tempfile::tempdir().expect("tempdir");
    let tampered = dir.path().join("caio-verify-tampered");
    let mut bytes = std::fs::read(&released).expect("binary");
    let (at, _) = test_support::keyring::find_block(&bytes);
    // A byte of the first key's public key: the digest no longer matches.
    bytes[at + 28 + 1 + 16 + 1 + 5] ^= 0x01;
    std::fs::write(&tampered, bytes).expect("tampered copy");

    let pass = verify_artifact(&manifest, &[&released], &[]).expect(0);
    assert_contains(&pass.stdout, "PASS");

    let fail = verify_artifact(&manifest, &[&tampered], &[]).expect(1);
    assert_contains(&fail.stdout, "corrupt");

    let both = verify_artifact(&manifest, &[&tampered, &released], &["--json"]).expect(1);
    let report: Value = serde_json::from_str(&both.stdout).expect("one JSON document");
    let statuses: Vec<&str> = report["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["fail", "pass"]);
    assert_eq!(
        report["artifacts"][0]["reasons"],
        serde_json::json!(["corrupt_block"])
    );

    verify_artifact(&manifest, &[&dir.path().join("missing")], &[]).expect(2);
}

#[test]
fn verify_artifact_prints_what_caio_verify_check_prints() {
    let r = released();
    let manifest = r.manifest();
    // How both commands name the manifest: from the workspace root, as given to check.
    let label = manifest
        .strip_prefix(workspace_root())
        .expect("the copy is under target/");
    let released = r.dist.join("caio-verify");
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"no block here").expect("file");
    let summary_xtask = dir.path().join("xtask.md");
    let summary_check = dir.path().join("check.md");

    for json in [false, true] {
        let mut args: Vec<&std::ffi::OsStr> = vec![released.as_os_str(), empty.as_os_str()];
        if json {
            args.push("--json".as_ref());
        }
        let sh = Shell::new().expect("shell");
        sh.change_dir(workspace_root());
        let xtask_exe = env!("CARGO_BIN_EXE_xtask");
        let theirs_args = args.clone();
        let ours = cmd!(sh, "{xtask_exe} verify-artifact {args...}")
            .env("CAIO_KEYRING", &manifest)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary_xtask)
            .quiet()
            .ignore_status()
            .output()
            .expect("xtask runs");
        let theirs = cmd!(sh, "{released} check {theirs_args...} --manifest {label}")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary_check)
            .env("RUST_LOG", "off")
            .quiet()
            .ignore_status()
            .output()
            .expect("caio-verify runs");
        assert_eq!(ours.status.code(), Some(1));
        assert_eq!(theirs.status.code(), Some(1));
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            text(&ours.stdout),
            text(&theirs.stdout),
            "stdout, json={json}"
        );
        assert_eq!(
            text(&ours.stderr),
            text(&theirs.stderr),
            "stderr, json={json}"
        );
        let annotations = if json { &ours.stderr } else { &ours.stdout };
        assert!(text(annotations).contains("::error file="), "json={json}");
    }
    assert_eq!(
        std::fs::read_to_string(&summary_xtask).expect("summary"),
        std::fs::read_to_string(&summary_check).expect("summary"),
    );
}

#[test]
fn verify_artifact_without_a_path_is_a_usage_error() {
    let fixture = super::Fixture::one_key();
    let run = fixture.xtask(&["verify-artifact"]).expect(2);
    assert_contains(&run.stderr, "PATH");
    let run = fixture
        .xtask(&["verify-artifact", "no-such-file"])
        .expect(2);
    assert_contains(&run.stdout, "unreadable");
}

#[test]
fn release_refuses_a_development_keyring_unless_allowed() {
    let r = released();
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys");
    let manifest = write_keyring(&keys, "development");
    let out = dir.path().join("dist");
    let env = [("CAIO_KEYRING", manifest.as_os_str())];

    let refused = r
        .xtask(&["release", "--out", path_str(&out)], &env)
        .expect(1);
    assert_contains(&refused.stderr, "development keyring");
    assert!(!out.exists(), "nothing written");

    // An untracked file makes the checkout dirty, and the statement says so.
    let scratch = r.copy.workspace.join("scratch.txt");
    std::fs::write(&scratch, b"not committed").expect("scratch");
    // The binary is enough here: the refusal comes before any build, and the wheel and
    // the image are held to the channel by the same check (`wheel.rs`, `image.rs` test
    // their gate).
    let allowed = r.xtask(
        &[
            "release",
            "--allow-development",
            "--no-wheel",
            "--no-image",
            "--out",
            path_str(&out),
        ],
        &env,
    );
    std::fs::remove_file(&scratch).expect("scratch");
    let allowed = allowed.expect(0);
    assert_contains(&allowed.stderr, "PASS");
    let statement: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("release.intoto.json")).expect("statement"),
    )
    .expect("JSON");
    assert_eq!(statement["predicate"]["keyring"]["channel"], "development");
    assert_eq!(
        statement["predicate"]["build"]["git_commit"],
        format!("{}-dirty", r.copy.head)
    );
    // The gate holds a development build to the same flag.
    let dev_binary = out.join("caio-verify");
    verify_artifact(&manifest, &[&dev_binary], &[]).expect(1);
    verify_artifact(&manifest, &[&dev_binary], &["--allow-development"]).expect(0);
}

#[test]
fn release_never_deletes_files_it_did_not_write() {
    let r = released();
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"keep me").expect("notes");
    let run = r
        .xtask(&["release", "--out", path_str(dir.path())], &[])
        .expect(2);
    assert_contains(&run.stderr, "notes.txt");
    assert!(
        !run.stderr.contains("Compiling caio-verify"),
        "refused before building"
    );
    assert_eq!(std::fs::read(&notes).expect("notes"), b"keep me");
}

/// The name of the one wheel in `dist`.
pub(super) fn wheel_name(dist: &Path) -> String {
    let wheels: Vec<String> = std::fs::read_dir(dist)
        .expect("dist")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("caio_verify-") && n.ends_with(".whl"))
        .collect();
    assert_eq!(
        wheels.len(),
        1,
        "one wheel in {}: {wheels:?}",
        dist.display()
    );
    wheels.into_iter().next().expect("one wheel")
}

/// When the released binaries judge licenses: 1 June of this year, inside the generated
/// key's windows (see [`windows`]).
pub(super) fn at() -> i64 {
    jiff::tz::Offset::UTC
        .to_timestamp(jiff::civil::date(year(), 6, 1).at(0, 0, 0, 0))
        .expect("1 June")
        .as_second()
}

/// "This year" for [`at`] and [`windows`]: read once per test run, so a run that crosses
/// New Year's Eve judges with the same year it wrote the keyring with.
fn year() -> i16 {
    static YEAR: OnceLock<i16> = OnceLock::new();
    *YEAR.get_or_init(|| {
        jiff::tz::Offset::UTC
            .to_datetime(jiff::Timestamp::now())
            .year()
    })
}

/// The private key of seed `[seed; 32]` in `dir`, as OpenSSL writes one (PKCS#8 v1);
/// seed 7 is the released keyring's `caio-test`.
pub(super) fn private_key(dir: &Path, seed: u8) -> PathBuf {
    let private = dir.join(format!("key-{seed}.pem"));
    let pem = test_support::keys::pkcs8_v1_pem(&[seed; 32]);
    test_support::keys::write_private(&private, pem.as_bytes(), 0o600);
    private
}

/// `payload` as a CAIO-v2 license signed with `openssl pkeyutl -sign -rawin` by the key
/// file `private`.
pub(super) fn openssl_license(private: &Path, payload: &Value) -> String {
    let payload = serde_json::to_vec(payload).expect("JSON");
    let signing_input = caio_verify::license::signing_input(&payload);
    let signature = test_support::keys::openssl_sign(private, signing_input.as_bytes());
    caio_verify::license::token(&signing_input, &signature)
}

/// The real workspace root.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace")
        .to_owned()
}

/// `cargo xtask ARGS...` in `workspace`, building into its own `target/`.
fn cargo_xtask(workspace: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
    let sh = Shell::new().expect("shell");
    sh.change_dir(workspace);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = cmd!(sh, "{cargo} xtask {args...}")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CAIO_KEYRING")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    // The copy has no target/ci-tools: the maturin `.ci/run` installed serves it too.
    let maturin = workspace_root().join("target/ci-tools/maturin/bin/maturin");
    if std::env::var_os("MATURIN").is_none() && maturin.is_file() {
        command = command.env("MATURIN", maturin);
    }
    for (key, value) in env {
        command = command.env(key, value);
    }
    capture(command, "cargo")
}

/// `verify-artifact ARTIFACTS... FLAGS...` by the xtask under test (not the copy's),
/// with `CAIO_KEYRING=manifest`, outside GitHub Actions.
pub(super) fn verify_artifact(manifest: &Path, artifacts: &[&Path], flags: &[&str]) -> Run {
    let sh = Shell::new().expect("shell");
    let exe = env!("CARGO_BIN_EXE_xtask");
    let command = cmd!(sh, "{exe} verify-artifact {artifacts...} {flags...}")
        .env("CAIO_KEYRING", manifest)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    capture(command, "xtask verify-artifact")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temporary paths")
}

/// Commits everything in `workspace` (a git repository of its own, made on first use)
/// and returns the commit.
fn commit_all(workspace: &Path) -> String {
    let sh = Shell::new().expect("shell");
    sh.change_dir(workspace);
    if !workspace.join(".git").exists() {
        cmd!(sh, "git init -q").quiet().run().expect("git init");
    }
    cmd!(sh, "git add -A").quiet().run().expect("git add");
    cmd!(
        sh,
        "git -c user.name=xtask-tests -c user.email=tests@caio.invalid -c commit.gpgsign=false commit -q --allow-empty -m fixture"
    )
    .quiet()
    .run()
    .expect("git commit");
    cmd!(sh, "git rev-parse HEAD").quiet().read().expect("HEAD")
}

/// The generated key's windows: from 1 January of this year, signing for 800 days and
/// verifying 100 more. Every day of the year passes `keys check` under the shipped
/// policy (lifetime 825 days, support window 365 days), and the keyring, hence the
/// build, changes once a year.
fn windows() -> (String, String, String) {
    let start = jiff::tz::Offset::UTC
        .to_timestamp(jiff::civil::date(year(), 1, 1).at(0, 0, 0, 0))
        .expect("1 January");
    let day = jiff::SignedDuration::from_hours(24);
    let sign_until = start + day * 800;
    let not_after = sign_until + day * 100;
    (
        start.to_string(),
        sign_until.to_string(),
        not_after.to_string(),
    )
}

/// Writes `dir/keyring.toml` (the shipped policy, one key `caio-test` of seed 7, the
/// given channel) and its PEM, leaving files that already hold those bytes untouched;
/// returns the manifest's path. `dsse.rs` releases against it too.
pub(super) fn write_keyring(dir: &Path, channel: &str) -> PathBuf {
    let (not_before, sign_until, not_after) = windows();
    let manifest = format!(
        "version = 1\nserial = 3\nchannel = \"{channel}\"\n\n{policy}\n[[key]]\nid = \"caio-test\"\nalgorithm = \"ed25519\"\npublic_key = \"caio-test.pem\"\nfingerprint = \"{fp}\"\nnot_before = {not_before}\nsign_until = {sign_until}\nnot_after = {not_after}\n",
        policy = super::POLICY,
        fp = fingerprint(7),
    );
    let path = dir.join("keyring.toml");
    write_if_changed(&path, manifest.as_bytes());
    write_if_changed(&dir.join("caio-test.pem"), public_pem(7).as_bytes());
    path
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}
