//! Key hygiene: `caio-verify` never prints a private key, wherever one is handed to it.
//!
//! The shipped verifier never reads a private key on purpose, but an operator can hand
//! it one by mistake: a key file pasted where licenses go, a private PEM in
//! `CAIO_LICENSE_PUBLIC_KEY`, a key left in a release tarball, a key file given as the
//! manifest. Its output lands in terminals, CI logs and pasted bug reports, so echoing
//! any of that input back would expose the key. The test makes private keys whose bytes
//! it knows, hands them to every entry point in every form, and searches what each run
//! wrote to stdout and stderr (and the GitHub step summary the gate appends to) for
//! every representation of every key. The search is on bytes, so a raw seed written to
//! a terminal is found as surely as a PEM line; logs run at `RUST_LOG=trace`, so no log
//! level hides an echo. A failure names the command, the stream and the representation,
//! never the secret (a failure message that would hold one is withheld).
//!
//! # The keys
//!
//! Two `openssl genpkey -algorithm ed25519` keys: the private half of the key the
//! builds embed (the shared fixture's `active` key, the likeliest one to be mishandled)
//! and a fresh one. Each is written in every form an operator may hold: OpenSSL's PEM
//! (PKCS#8 v1), the same with CRLF line ends, a PKCS#8 v2 PEM (RFC 5958, the public key
//! inside, as ed25519-dalek and ring write it), the DER, the base64 of the DER on one
//! line (the PEM body alone), and the seed as hex. The seed is the last 32 bytes of
//! `openssl pkey -outform DER`. Searched for, per key: the seed as raw bytes, lowercase
//! and uppercase hex, standard and url-safe base64, padded and unpadded; the v1 and v2
//! DER as raw bytes and as lowercase and uppercase hex; the v1 and v2 PEM bodies, whole
//! and line by line (the audit of `test_support::leak`). Fragments shorter than
//! `MIN_FRAGMENT` bytes are not searched: they occur by chance.
//!
//! # The entry points, and why the list is complete
//!
//! `caio-verify` reads outside input in these places only (`src/main.rs` and
//! `src/*.rs`): the arguments (clap), stdin (`license -` alone), the environment
//! (`CAIO_LICENSE_PUBLIC_KEY` in `main` through `src/runtime_key.rs`; `RUST_LOG` for
//! logging; `GITHUB_ACTIONS` and `GITHUB_STEP_SUMMARY` for the gate's output), and
//! files: the runtime key file that variable may name, the artifacts of `inspect` and
//! `check` (walked into directories and archives), and `check`'s manifest with the PEMs
//! it names. The embedded block is the binary's own public keys. Each place a key can
//! arrive runs here with each key in each form:
//!
//! - a license (`src/license.rs`): `license TOKEN` with the PEM text itself (which
//!   starts with `-----`, as a flag would), each PEM line, the seed and the DER in
//!   hex and base64, and token-shaped strings built from them (wrong shape, wrong
//!   signature length, a DER payload, a payload with the key pasted into its claims
//!   under a signature made of the seed, one over the length limit; exit 2 for those
//!   that start with a hyphen, 1 for the rest); and `license -`
//!   with each key file on stdin, and with a licenses file that has a valid license,
//!   the PEM and those tokens pasted into it. Text and `--json` each; exit 1 (stdin).
//! - the runtime key (`src/runtime_key.rs`, `src/runtime.rs`): `CAIO_LICENSE_PUBLIC_KEY`
//!   holding each text form (the PEMs, also behind a byte order mark or blank lines as
//!   a Windows editor or a shell heredoc leaves them, the base64, the hex seed,
//!   endorsement-shaped strings made of key material), or the path of each key file
//!   and of a directory, under the three policies: the shared `deny` build and the
//!   `endorsed` and `allow` builds of `endorse.rs`. The commands that resolve it run:
//!   `license` (a valid license, which must still verify: exit 0) and `keyring`, text
//!   and `--json` each; `inspect` and `check` never read it.
//! - an artifact (`src/inspect.rs`, `src/check.rs`): `inspect PATH` and `check PATH
//!   --manifest M`, text and `--json`, on each key file, a directory of them, a
//!   `.tar.gz` of that directory, and a built binary with the PEM and the DER
//!   appended; then all of them at once with `GITHUB_ACTIONS=true` and a step summary,
//!   whose file is searched too. The gate reports a private key in an artifact (as a
//!   failure), so no exit code is asserted there: only that no byte of the key shows.
//! - the manifest (`check --manifest`, `caio-keyring`'s manifest loader): each key file
//!   given as the manifest, and a copy of the fixture's manifest whose `public_key`
//!   names a private key file beside it; text and `--json`. The manifest is read before
//!   any artifact, so this exit code is the manifest's alone: 2.
//!
//! No run may panic, and each exits as said above.
//!
//! Not run, on purpose: a key in argument values that name something rather than carry
//! content. A PATH, `--manifest FILE`, `--at T` or an extra argument is echoed by the
//! report and by clap's usage errors ("unreadable", "invalid value", "unexpected
//! argument"), since naming what the caller typed is how such errors help; a key
//! typed there is already in the caller's shell history and process list. Likewise
//! the manifest's own values (a fingerprint, a file name) in its error messages, and
//! tracing's diagnostic of a malformed `RUST_LOG`. A TOKEN is different: it is
//! content, and the one argument a pasted key is likely to land in.
//!
//! # What it found
//!
//! Two echoes: `license "$(cat private.pem)"` was taken by clap as an unknown flag (the
//! PEM starts with `-----`, like a long flag) and the whole key printed twice in its
//! usage error (a rejected argument is now named only when it is shaped like an
//! option, `caio_cli::redact`; it is still a usage error, exit 2); and under `endorsed` and
//! `allow`, a `CAIO_LICENSE_PUBLIC_KEY` that is neither key text nor a readable file
//! (the base64 or hex of a key, a PEM behind a byte order mark) was logged verbatim as
//! the unreadable `path` (the warning no longer shows the value).

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use test_support::keys::{openssl_private_der, seed_of, write_private};
use test_support::leak::{self, Expect, base64_engines, pem_body, pem_text};
use test_support::run::{RawOutput, capture_bytes};
use xshell::{Shell, cmd};

use crate::support::{AREA, Key, kept_dir, openssl_keygen, openssl_license, shell, unix};

/// When licenses are verified: inside the embedded key's windows in every build.
const AT: &str = "2026-07-01T00:00:00Z";

#[test]
fn no_command_prints_private_key_material() {
    let shared = crate::fixture();
    let endorse = crate::endorse::fixture();
    let builds = [
        Build {
            policy: "deny",
            exe: &shared.exe,
        },
        Build {
            policy: "endorsed",
            exe: &endorse.endorsed,
        },
        Build {
            policy: "allow",
            exe: &endorse.allow,
        },
    ];
    let mut audit = Audit::new(builds);
    let fresh = openssl_keygen(&audit.dir, "fresh");
    let keys = [
        audit.learn_key("embedded key", &shared.active),
        audit.learn_key("fresh key", &fresh),
    ];
    for key in &keys {
        audit.as_license_argument(key);
        audit.as_license_stdin(key);
        audit.as_runtime_key(key);
        audit.as_artifact(key);
        audit.as_manifest(key);
    }
    audit.leak.finish();
}

/// A `caio-verify` built against a keyring, and the runtime-key policy its keyring embeds.
#[derive(Clone, Copy)]
struct Build {
    policy: &'static str,
    exe: &'static Path,
}

/// A private key the test knows, written in every form.
struct KeyForms {
    /// What failure messages call it.
    name: String,
    /// Where its files are.
    dir: PathBuf,
    seed: [u8; 32],
    /// PKCS#8 v1, as OpenSSL writes it.
    der: Vec<u8>,
    /// PKCS#8 v2, the public key inside.
    der_v2: Vec<u8>,
    /// Every file form of the key.
    files: Vec<KeyFile>,
}

/// One file holding a key.
struct KeyFile {
    /// What it is, for failure messages: `PEM`, `DER`, `hex seed`...
    form: &'static str,
    path: PathBuf,
    bytes: Vec<u8>,
}

/// One invocation: what runs, and what a failure message shows of it.
struct Run {
    build: Build,
    args: Vec<OsString>,
    /// The arguments as shown: paths relative to the test's directory, key material
    /// by its name.
    shown: Vec<String>,
    /// Standard input: what it is, and its bytes.
    stdin: Option<(String, Vec<u8>)>,
    /// `CAIO_LICENSE_PUBLIC_KEY`: what it is, and its value.
    runtime_key: Option<(String, OsString)>,
    /// With `GITHUB_ACTIONS=true`, the `GITHUB_STEP_SUMMARY` file.
    step_summary: Option<PathBuf>,
}

/// The runs of the test, the secrets it knows, and what went wrong so far.
struct Audit {
    sh: Shell,
    /// This test's own directory: key files, artifacts, manifests.
    dir: PathBuf,
    /// `deny` (the shared fixture's), `endorsed` and `allow`.
    builds: [Build; 3],
    /// The secrets, the runs judged and what went wrong.
    leak: leak::Audit,
    /// A license the embedded key signed: valid at [`AT`] in every build.
    license: String,
    /// The shared fixture's manifest, which the `deny` build embeds.
    manifest: PathBuf,
}

impl Run {
    fn new(build: Build) -> Self {
        Self {
            build,
            args: Vec::new(),
            shown: Vec::new(),
            stdin: None,
            runtime_key: None,
            step_summary: None,
        }
    }

    /// Arguments that hold no key material (paths are shown relative later).
    fn args(mut self, args: &[&str]) -> Self {
        for arg in args {
            self.args.push(arg.into());
            self.shown.push((*arg).to_owned());
        }
        self
    }

    fn path(self, path: &Path) -> Self {
        self.args(&[path.to_str().expect("utf-8 path")])
    }

    /// An argument shown by a name rather than its text: key material, or a license
    /// too long to read in a failure message.
    fn named(mut self, value: &str, name: &str) -> Self {
        self.args.push(value.into());
        self.shown.push(format!("<{name}>"));
        self
    }

    fn stdin(mut self, name: String, bytes: Vec<u8>) -> Self {
        self.stdin = Some((name, bytes));
        self
    }

    fn runtime_key(mut self, name: String, value: OsString) -> Self {
        self.runtime_key = Some((name, value));
        self
    }

    fn github(mut self, step_summary: PathBuf) -> Self {
        self.step_summary = Some(step_summary);
        self
    }
}

impl Audit {
    fn new(builds: [Build; 3]) -> Self {
        let shared = crate::fixture();
        let dir = kept_dir(AREA, "hygiene-");
        let license = openssl_license(
            &shared.active,
            &json!({
                "kid": shared.active.fingerprint,
                "lid": "lic-hygiene",
                "sub": "Example Corp",
                "iat": unix("2026-06-01T00:00:00Z"),
            }),
        );
        Self {
            sh: shell(),
            dir,
            builds,
            leak: leak::Audit::new(),
            license,
            manifest: shared.manifest.clone(),
        }
    }

    // ---- the keys -------------------------------------------------------------------

    /// Reads `key`'s seed with OpenSSL, writes the key in every form to its own
    /// directory, and learns every representation of it.
    fn learn_key(&mut self, name: &str, key: &Key) -> KeyForms {
        let dir = self.dir.join(name.replace(' ', "-"));
        std::fs::create_dir_all(&dir).expect("key dir");
        let (sh, private) = (&self.sh, &key.private);
        let der = openssl_private_der(private);
        let seed = seed_of(&der);
        let der_v2 = leak::pkcs8_v2_der(&seed);
        let public = &der_v2[der_v2.len() - 32..];
        let spki = cmd!(sh, "openssl pkey -in {private} -pubout -outform DER")
            .quiet()
            .output()
            .expect("openssl pkey -pubout")
            .stdout;
        assert!(
            spki.ends_with(public),
            "the last 32 bytes of the DER are the seed of {name}"
        );
        let pem = std::fs::read_to_string(private).expect("read the key");
        let forms: [(&'static str, &str, Vec<u8>); 6] = [
            ("PEM", "private.pem", pem.clone().into_bytes()),
            (
                "CRLF PEM",
                "private-crlf.pem",
                pem.replace('\n', "\r\n").into_bytes(),
            ),
            (
                "PKCS#8 v2 PEM",
                "private-v2.pem",
                pem_text("PRIVATE KEY", &der_v2).into_bytes(),
            ),
            ("DER", "private.der", der.clone()),
            (
                "base64 DER",
                "private.b64",
                format!("{}\n", STANDARD.encode(&der)).into_bytes(),
            ),
            (
                "hex seed",
                "seed.hex",
                format!("{}\n", hex::encode(seed)).into_bytes(),
            ),
        ];
        let files: Vec<KeyFile> = forms
            .into_iter()
            .map(|(form, file, bytes)| {
                let path = dir.join(file);
                write_private(&path, &bytes, 0o600);
                KeyFile { form, path, bytes }
            })
            .collect();
        // The v2 form is well-formed DER (OpenSSL 3.0 parses it, though it does not take
        // a v2 key as a key).
        let v2 = &files[2].path;
        cmd!(sh, "openssl asn1parse -in {v2} -noout")
            .quiet()
            .run()
            .expect("the PKCS#8 v2 PEM is well-formed DER");

        self.leak.learn_seed(name, &seed);
        for file in &files {
            if file.form.ends_with("PEM") {
                self.leak
                    .learn_pem(&format!("{name}: the {}", file.form), &file.bytes);
            }
        }
        KeyForms {
            name: name.to_owned(),
            dir,
            seed,
            der,
            der_v2,
            files,
        }
    }

    // ---- the entry points -----------------------------------------------------------

    /// `license TOKEN`, text and `--json`, with each token made of the key.
    fn as_license_argument(&mut self, key: &KeyForms) {
        let deny = self.builds[0];
        for (name, token) in hostile_tokens(key) {
            for json in [false, true] {
                let mut run = Run::new(deny).args(&["license"]).named(&token, &name);
                run = run.args(&["--at", AT]);
                if json {
                    run = run.args(&["--json"]);
                }
                // A token that starts with a hyphen is taken for an option: a usage
                // error, whose message must not show it; or, when its first letter is
                // `h` or `V` (the subcommand's only short options), help or the version,
                // exit 0, which show nothing of it either. A base64url seed starts so
                // about twice in 4096 keys.
                let code = if token.starts_with("-h") || token.starts_with("-V") {
                    0
                } else if token.starts_with('-') {
                    2
                } else {
                    1
                };
                self.check(Expect::Code(code), run);
            }
        }
    }

    /// `license -`, text and `--json`, with each key file on stdin, and with a
    /// licenses file that has the key pasted into it.
    fn as_license_stdin(&mut self, key: &KeyForms) {
        let mut pasted = format!("{}\n", self.license).into_bytes();
        pasted.extend_from_slice(&key.files[0].bytes);
        for (_, token) in hostile_tokens(key) {
            if !token.contains('\n') {
                pasted.extend_from_slice(format!("{token}\n").as_bytes());
            }
        }
        pasted.extend_from_slice(format!("{}\n", self.license).as_bytes());
        let mut inputs: Vec<(String, Vec<u8>)> = key
            .files
            .iter()
            .map(|f| (format!("{}'s {} file", key.name, f.form), f.bytes.clone()))
            .collect();
        inputs.push((
            format!("licenses with {}'s PEM and tokens pasted in", key.name),
            pasted,
        ));
        let deny = self.builds[0];
        for (name, bytes) in inputs {
            for json in [false, true] {
                let mut run = Run::new(deny).args(&["license", "-", "--at", AT]);
                if json {
                    run = run.args(&["--json"]);
                }
                self.check(Expect::Code(1), run.stdin(name.clone(), bytes.clone()));
            }
        }
    }

    /// `CAIO_LICENSE_PUBLIC_KEY` holding the key (as text, or as the path of a file
    /// holding it) under each policy, for `license` and `keyring`: the embedded keys
    /// still verify, and nothing of the key shows.
    fn as_runtime_key(&mut self, key: &KeyForms) {
        let mut values: Vec<(String, OsString)> = Vec::new();
        for file in &key.files {
            // An environment variable cannot hold a NUL byte (the DER has some).
            if let Ok(text) = std::str::from_utf8(&file.bytes)
                && !text.contains('\0')
            {
                values.push((format!("{}'s {} text", key.name, file.form), text.into()));
            }
        }
        let pem = String::from_utf8(key.files[0].bytes.clone()).expect("PEM text");
        values.push((
            format!("{}'s PEM behind a byte order mark", key.name),
            format!("\u{feff}{pem}").into(),
        ));
        values.push((
            format!("{}'s PEM behind blank lines", key.name),
            format!("\n\n{pem}").into(),
        ));
        for (name, token) in hostile_tokens(key) {
            if token.starts_with("CAIO-key-v1.") {
                values.push((name, token.into()));
            }
        }
        for file in &key.files {
            values.push((
                format!("the path of {}'s {} file", key.name, file.form),
                file.path.clone().into(),
            ));
        }
        values.push((
            format!("the path of {}'s directory", key.name),
            key.dir.clone().into(),
        ));
        let license = self.license.clone();
        for build in self.builds {
            for (name, value) in &values {
                let verify = |json: bool| {
                    let run = Run::new(build)
                        .args(&["license"])
                        .named(&license, "a valid license")
                        .args(&["--at", AT]);
                    if json { run.args(&["--json"]) } else { run }
                };
                let runs = [
                    verify(false),
                    verify(true),
                    Run::new(build).args(&["keyring"]),
                    Run::new(build).args(&["keyring", "--json"]),
                ];
                for run in runs {
                    self.check(
                        Expect::Code(0),
                        run.runtime_key(name.clone(), value.clone()),
                    );
                }
            }
        }
    }

    /// `inspect` and `check`, text and `--json`, on each key file, a directory of them,
    /// a `.tar.gz` of it and a binary with the key appended; then all at once under
    /// GitHub Actions, with a step summary.
    fn as_artifact(&mut self, key: &KeyForms) {
        let shared = crate::fixture();
        let artifacts_dir = key.dir.join("artifacts");
        std::fs::create_dir_all(&artifacts_dir).expect("dir");
        for file in &key.files {
            let name = file.path.file_name().expect("file name");
            std::fs::copy(&file.path, artifacts_dir.join(name)).expect("copy");
        }
        let tarball = key.dir.join("artifacts.tar.gz");
        let sh = &self.sh;
        let _ = std::fs::remove_file(&tarball);
        cmd!(sh, "tar czf {tarball} -C {artifacts_dir} .")
            .quiet()
            .run()
            .expect("tar czf");
        let binary = key.dir.join("caio-verify-with-key");
        let mut bytes = std::fs::read(&shared.exe).expect("read the binary");
        bytes.extend_from_slice(&key.files[0].bytes);
        bytes.extend_from_slice(&key.der);
        std::fs::write(&binary, bytes).expect("write the binary");

        let mut artifacts: Vec<PathBuf> = key.files.iter().map(|f| f.path.clone()).collect();
        artifacts.extend([artifacts_dir, tarball, binary]);
        let deny = self.builds[0];
        let manifest = self.manifest.clone();
        let commands = |paths: &[PathBuf]| -> Vec<Run> {
            let with_paths = |run: Run| paths.iter().fold(run, |run, p| run.path(p));
            let check = |json: bool| {
                let run = Run::new(deny).args(&["check"]);
                let run = if json { run.args(&["--json"]) } else { run };
                with_paths(run).args(&["--manifest"]).path(&manifest)
            };
            vec![
                with_paths(Run::new(deny).args(&["inspect"])),
                with_paths(Run::new(deny).args(&["inspect", "--json"])),
                check(false),
                check(true),
            ]
        };
        for artifact in &artifacts {
            for run in commands(std::slice::from_ref(artifact)) {
                self.check(Expect::Any, run);
            }
        }
        let summary = key.dir.join("step-summary.md");
        for run in commands(&artifacts) {
            let _ = std::fs::remove_file(&summary);
            let run = run.github(summary.clone());
            let label = self.label(&run);
            self.check(Expect::Any, run);
            let written = std::fs::read(&summary).unwrap_or_default();
            self.leak.inspect(&label, "the step summary", &written);
        }
    }

    /// `check --manifest` with each key file as the manifest, and with a manifest whose
    /// `public_key` names a key file: exit 2, the manifest does not load.
    fn as_manifest(&mut self, key: &KeyForms) {
        let shared = crate::fixture();
        let keys_dir = shared.manifest.parent().expect("keys dir");
        let original = std::fs::read_to_string(&shared.manifest).expect("manifest");
        let mut manifests: Vec<PathBuf> = key.files.iter().map(|f| f.path.clone()).collect();
        for (i, file) in key.files.iter().enumerate() {
            let dir = key.dir.join(format!("planted-{i}"));
            std::fs::create_dir_all(&dir).expect("dir");
            for entry in std::fs::read_dir(keys_dir).expect("keys dir") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy");
            }
            let planted = format!(
                "caio-active-private.{}",
                file.path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("pem")
            );
            std::fs::copy(&file.path, dir.join(&planted)).expect("plant the key");
            let text = original.replace(
                "public_key = \"caio-active.pem\"",
                &format!("public_key = \"{planted}\""),
            );
            assert_ne!(text, original, "the manifest names caio-active.pem");
            let manifest = dir.join("keyring.toml");
            std::fs::write(&manifest, text).expect("write the manifest");
            manifests.push(manifest);
        }
        let deny = self.builds[0];
        for manifest in &manifests {
            for json in [false, true] {
                let run = Run::new(deny).args(&["check"]).path(deny.exe);
                let run = if json { run.args(&["--json"]) } else { run };
                self.check(Expect::Code(2), run.args(&["--manifest"]).path(manifest));
            }
        }
    }

    // ---- running and judging --------------------------------------------------------

    /// Runs `run` and judges what it printed and how it exited.
    fn check(&mut self, expect: Expect, run: Run) -> RawOutput {
        let output = self.spawn(&run);
        let label = self.label(&run);
        self.leak.judge(&label, expect, &output);
        output
    }

    fn spawn(&self, run: &Run) -> RawOutput {
        let sh = &self.sh;
        let (exe, args) = (run.build.exe, &run.args);
        let stdin = run
            .stdin
            .as_ref()
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        let mut command = cmd!(sh, "{exe} {args...}")
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env_remove("CAIO_LICENSE_PUBLIC_KEY")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(stdin);
        if let Some((_, value)) = &run.runtime_key {
            command = command.env("CAIO_LICENSE_PUBLIC_KEY", value);
        }
        if let Some(summary) = &run.step_summary {
            command = command
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", summary);
        }
        capture_bytes(command, "caio-verify")
    }

    /// The command line as a failure message shows it: the build, the arguments
    /// (paths relative to the test's directory, key material by name), stdin and the
    /// environment.
    fn label(&self, run: &Run) -> String {
        let prefix = format!("{}/", self.dir.display());
        let args = run.shown.join(" ").replace(&prefix, "");
        let mut label = format!("`caio-verify {args}` ({} build", run.build.policy);
        if let Some((name, _)) = &run.runtime_key {
            label.push_str(&format!(", CAIO_LICENSE_PUBLIC_KEY = {name}"));
        }
        if run.step_summary.is_some() {
            label.push_str(", GITHUB_ACTIONS=true with a step summary");
        }
        if let Some((name, _)) = &run.stdin {
            label.push_str(&format!(", stdin: {name}"));
        }
        label.push(')');
        label
    }
}

/// Strings made of the key that someone could pass as a license (or, the
/// `CAIO-key-v1.` ones, as a runtime key), each with its name.
fn hostile_tokens(key: &KeyForms) -> Vec<(String, String)> {
    let n = &key.name;
    let b64url = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let seed_twice = [key.seed, key.seed].concat();
    let pem = String::from_utf8(key.files[0].bytes.clone()).expect("PEM text");
    let mut tokens = vec![
        (format!("{n}'s PEM text"), pem.clone()),
        (
            format!("{n}'s PEM behind a byte order mark"),
            format!("\u{feff}{pem}"),
        ),
        (format!("{n}'s seed as hex"), hex::encode(key.seed)),
        (
            format!("{n}'s seed as uppercase hex"),
            hex::encode(key.seed).to_uppercase(),
        ),
        (format!("{n}'s DER as hex"), hex::encode(&key.der)),
        (
            format!("{n}'s v2 DER as base64"),
            STANDARD.encode(&key.der_v2),
        ),
        (
            format!("CAIO-v2.<{n}'s DER>"),
            format!("CAIO-v2.{}", b64url(&key.der)),
        ),
        (
            format!("CAIO-v2.<{n}'s DER>.<its seed>"),
            format!("CAIO-v2.{}.{}", b64url(&key.der), b64url(&key.seed)),
        ),
        (
            format!("CAIO-v2.<{n}'s DER>.<its seed twice>"),
            format!("CAIO-v2.{}.{}", b64url(&key.der), b64url(&seed_twice)),
        ),
        (
            format!("CAIO-v2.<a payload holding {n}>.<its seed twice>"),
            format!(
                "CAIO-v2.{}.{}",
                b64url(&pasted_payload(key)),
                b64url(&seed_twice)
            ),
        ),
        (
            format!("CAIO-v2.<{n}'s PEM body, over the length limit>"),
            format!("CAIO-v2.{}", STANDARD.encode(&key.der).repeat(80)),
        ),
        (
            format!("CAIO-key-v1.<{n}'s DER>.<its seed twice>"),
            format!("CAIO-key-v1.{}.{}", b64url(&key.der), b64url(&seed_twice)),
        ),
        (
            format!("CAIO-key-v1.<an endorsement of {n}'s DER>.<its seed twice>"),
            format!(
                "CAIO-key-v1.{}.{}",
                b64url(&endorsement_payload(key)),
                b64url(&seed_twice)
            ),
        ),
    ];
    for (what, engine) in base64_engines() {
        tokens.push((format!("{n}'s seed as {what}"), engine.encode(key.seed)));
    }
    for file in &key.files {
        if file.form.ends_with("PEM") {
            tokens.push((
                format!("{n}'s {} text", file.form),
                String::from_utf8(file.bytes.clone()).expect("PEM text"),
            ));
            for (what, body) in pem_body(&file.bytes) {
                let body = String::from_utf8(body).expect("base64");
                tokens.push((format!("{n}'s {} {what}", file.form), body));
            }
        }
    }
    let mut seen = HashSet::new();
    tokens.retain(|(_, token)| seen.insert(token.clone()));
    tokens
}

/// A license payload with the key pasted into its claims, naming the embedded key.
fn pasted_payload(key: &KeyForms) -> Vec<u8> {
    let payload = json!({
        "kid": crate::fixture().active.fingerprint,
        "lid": "lic-pasted",
        "sub": STANDARD.encode(&key.der),
        "iat": unix("2026-06-01T00:00:00Z"),
        "note": hex::encode(key.seed),
    });
    serde_json::to_vec(&payload).expect("json")
}

/// An endorsement payload whose `spki` is the private key's DER, by the embedded key.
fn endorsement_payload(key: &KeyForms) -> Vec<u8> {
    let payload = json!({
        "spki": URL_SAFE_NO_PAD.encode(&key.der),
        "id": "caio-pasted",
        "not_before": unix("2026-03-01T00:00:00Z"),
        "sign_until": unix(crate::SIGN_UNTIL),
        "not_after": unix(crate::NOT_AFTER),
        "iat": unix("2026-02-01T00:00:00Z"),
        "endorser": crate::fixture().active.fingerprint,
    });
    serde_json::to_vec(&payload).expect("json")
}
