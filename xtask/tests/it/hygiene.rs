//! Key hygiene: no command ever prints a private key, on any path.
//!
//! The test makes private keys whose bytes it knows, runs every `cargo xtask` command
//! that reads or writes a private key (or can be handed one where something else
//! belongs), on its success paths and on its failure paths, and searches what each run
//! wrote to stdout and stderr (and the files it writes for an operator to read) for
//! every representation of every one of those keys. The search is on bytes, so a raw
//! seed written to a terminal is found as surely as a PEM line. A private key in a
//! terminal, a CI log or a pasted bug report is an exposed key, and the only proof
//! that no message, `Debug` output or echo of bad input ever holds one is to look.
//!
//! # The keys
//!
//! - `keygen`: written by `cargo xtask keygen DIR` (PKCS#8 v1), read back from the file.
//! - `openssl`: written by `openssl genpkey -algorithm ed25519` (PKCS#8 v1), and the
//!   same key in the other forms `signer/pem.rs` accepts: PKCS#8 v2 (the public key
//!   inside, as ed25519-dalek writes it) and v1 with CRLF line ends. Refused forms
//!   come from it too: encrypted PKCS#8 (`openssl pkcs8 -topk8`), a copy readable by
//!   others, PEMs truncated in the middle of the body.
//! - `stranger`: an `openssl genpkey` key whose fingerprint is not in the keyring.
//! - `script`: written by `scripts/licensing/generate_keypair.sh DIR`.
//!
//! The seed of each is the last 32 bytes of its PKCS#8 v1 DER as `openssl pkey
//! -outform DER` writes it. Searched for, per key: the seed as raw bytes, lowercase
//! and uppercase hex, standard and url-safe base64, padded and unpadded; the v1 and
//! v2 DER as raw bytes and as lowercase and uppercase hex; the v1 and v2 PEM bodies,
//! whole and line by line. Per key file the test writes (truncated and encrypted ones
//! included): its PEM body, whole and line by line. Fragments shorter than
//! [`MIN_FRAGMENT`] bytes (the tail line of a PEM body) are not searched: they occur
//! by chance. A failure names the command, the stream and the representation, never
//! the secret.
//!
//! # The commands, and why the list is complete
//!
//! The options that take a private key, from the `--help` of every subcommand:
//! `license issue --key`, `license reissue --key` and `keys endorse --by`; all three
//! read it through `signer::pem::read_private_key`, the only reader of private key
//! files. Each runs here with every key form on its success path (`issue` also with
//! `--json`, `reissue` also with `-o` and `--json`, whose output file is searched too),
//! and with a key that is not in the keyring, a missing file, a directory, a copy with
//! mode 0644, a copy with mode 0000, PEMs truncated mid-body (with and without the
//! END line), an encrypted PKCS#8 and a public key PEM.
//!
//! Commands that write a private key: `keygen DIR` (success, and a DIR that already
//! holds private.pem, which it refuses) and `generate_keypair.sh DIR`, its runbook
//! wrapper (success, and again into the same DIR). `bench` writes a throwaway key of
//! its own under `target/bench/` and takes no key argument; it takes minutes and is
//! left out.
//!
//! Places a private key may be handed where something else belongs, each with every
//! key form:
//! - a public key argument: `keys add PUBLIC_PEM`, `keys rotate PUBLIC_PEM`, `keys
//!   endorse PUBLIC_PEM` (the error must name the file and the problem);
//! - license input: `license verify TOKEN` (each PEM line, the seed as hex; the whole
//!   PEM, also as an extra argument and where `keys add` and `license issue` take
//!   none, which the parser rejects without showing it), `license
//!   verify -` and `license reissue INPUT` / `-` (the key file itself, and a license
//!   file with the key pasted into it), `keys check --licenses FILE`;
//! - an artifact: `verify-artifact PATH` (text and `--json`), as a file, in a
//!   directory and in a `.tar.gz`; no exit code is asserted there;
//! - the manifest: a `public_key` that names a private PEM under `keys/`, for every
//!   command that loads the manifest (`keys check`, `list`, `timeline`, `retire`,
//!   `revoke`, `remove`, `endorse`, `license verify`, `license issue`,
//!   `verify-artifact`, and `release`, which stops at its `keys check`), and
//!   `CAIO_KEYRING` naming the private PEM itself.
//!
//! `--key pkcs11:...` keys never leave the token; that the PIN of a URI is never
//! shown is hsm.rs's business. keygen's file hygiene (private.pem created 0600, never
//! overwritten, never inside `keys/`) is asserted in keygen.rs
//! (`keygen_writes_a_keypair_that_openssl_reads_and_derives_exactly`,
//! `keygen_refuses_to_overwrite_either_file`, `keygen_refuses_keys_dir`). Zeroizing
//! the key in memory is not visible from outside the process; `signer/pem.rs` and
//! `keygen.rs` keep every copy in zeroizing buffers.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use test_support::keys::{openssl_private_der, pkcs8_v2_pem, seed_of, write_private};
use test_support::leak::{self, Expect, find, pem_body};
use test_support::run::{RawOutput, capture_bytes};
use xshell::cmd;

use crate::{Fixture, path};

const NOW: &str = "2026-03-01T00:00:00Z";

#[test]
fn no_command_prints_private_key_material() {
    let f = Fixture::one_key();
    let mut audit = Audit::new(&f);

    let mut keygen = audit.keygen_key();
    let mut openssl = audit.openssl_key("openssl");
    let stranger = audit.openssl_key("stranger");
    audit.add_to_keyring(&mut keygen, "caio-keygen");
    audit.add_to_keyring(&mut openssl, "caio-openssl");
    let v2 = audit.converted(&openssl, "openssl-v2", Form::Pkcs8V2);
    let crlf = audit.converted(&openssl, "openssl-crlf", Form::Crlf);

    for key in [&keygen, &openssl, &v2, &crlf] {
        audit.signing_succeeds(key);
        audit.signing_refuses_bad_copies(key);
        audit.private_key_as_public_key(key);
        audit.private_key_as_license_input(key);
        audit.private_key_as_artifact(key);
        audit.private_key_in_the_manifest(key);
        audit.keygen_refuses_existing(key);
    }
    audit.signing_refuses_other_files(&openssl, &stranger);
    audit.runbook_script();
    audit.leak.finish();
}

/// A private key the test knows: the file, its public half, and the seed.
struct KeyFile {
    /// What failure messages call it.
    name: String,
    dir: PathBuf,
    private: PathBuf,
    public: PathBuf,
    seed: [u8; 32],
    /// The keyring id of its public half, once added.
    id: Option<&'static str>,
}

/// The forms of a key that `signer/pem.rs` accepts besides OpenSSL's own.
enum Form {
    /// PKCS#8 v2 (OneAsymmetricKey, the public key inside), as ed25519-dalek writes it.
    Pkcs8V2,
    /// PKCS#8 v1 with CRLF line ends, as a file edited on Windows has.
    Crlf,
}

/// The runs of the test, the secrets it knows, and what went wrong so far.
struct Audit<'f> {
    f: &'f Fixture,
    /// The secrets, the runs judged and what went wrong.
    leak: leak::Audit,
    /// A fresh public key to endorse with `keys endorse --by`.
    endorsee: PathBuf,
    /// A file with one valid license, for `license reissue`.
    licenses: Option<PathBuf>,
}

impl<'f> Audit<'f> {
    fn new(f: &'f Fixture) -> Self {
        let endorsee = f.path().join("endorsee.pem");
        std::fs::write(&endorsee, crate::public_pem(7)).expect("endorsee pem");
        Self {
            f,
            leak: leak::Audit::new(),
            endorsee,
            licenses: None,
        }
    }

    // ---- the keys -------------------------------------------------------------------

    /// `keygen DIR`; its output is judged once the key it wrote is known.
    fn keygen_key(&mut self) -> KeyFile {
        let dir = self.f.path().join("keygen");
        let args = ["keygen", path(&dir)];
        let output = self.spawn(&self.f.manifest(), &args, None);
        let key = self.learn_key("keygen key", &dir);
        let label = self.label(&args, None);
        self.leak.judge(&label, Expect::Code(0), &output);
        key
    }

    /// `openssl genpkey` into `name/`.
    fn openssl_key(&mut self, name: &str) -> KeyFile {
        let (private, _) = self.f.openssl_keypair(name);
        let dir = private.parent().expect("dir").to_owned();
        self.learn_key(&format!("{name} key"), &dir)
    }

    /// `of`'s key written in `form` to `name/private.pem` (mode 0600), with its public.pem.
    fn converted(&mut self, of: &KeyFile, name: &str, form: Form) -> KeyFile {
        let dir = self.f.path().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let text = match form {
            Form::Pkcs8V2 => pkcs8_v2_pem(&of.seed),
            Form::Crlf => read(&of.private).replace('\n', "\r\n"),
        };
        let private = dir.join("private.pem");
        write_private(&private, text.as_bytes(), 0o600);
        let public = dir.join("public.pem");
        std::fs::copy(&of.public, &public).expect("public.pem");
        self.learn_pem_file(&private);
        KeyFile {
            name: format!("{} ({name})", of.name),
            dir,
            private,
            public,
            seed: of.seed,
            id: of.id,
        }
    }

    /// Reads `dir/private.pem` (PKCS#8 v1): the seed through OpenSSL, and every
    /// representation of it and of the file.
    fn learn_key(&mut self, name: &str, dir: &Path) -> KeyFile {
        let private = dir.join("private.pem");
        let seed = seed_of(&openssl_private_der(&private));
        self.leak.learn_seed(name, &seed);
        self.learn_pem_file(&private);
        KeyFile {
            name: name.to_owned(),
            dir: dir.to_owned(),
            public: dir.join("public.pem"),
            private,
            seed,
            id: None,
        }
    }

    /// The PEM body of a key file the test wrote, whole and line by line.
    fn learn_pem_file(&mut self, file: &Path) {
        let name = format!("file {}: PEM", self.relative(file));
        self.leak
            .learn_pem(&name, &std::fs::read(file).expect("key file"));
    }

    /// `keys add` of the key's public half, signing now.
    fn add_to_keyring(&mut self, key: &mut KeyFile, id: &'static str) {
        let added = self.run(
            Expect::Code(0),
            &[
                "keys",
                "add",
                path(&key.public),
                "--id",
                id,
                "--not-before",
                "2026-01-01T00:00:00Z",
                "--sign-until",
                "2027-01-01T00:00:00Z",
                "--not-after",
                "2027-04-01T00:00:00Z",
                "--now",
                NOW,
            ],
        );
        // Everything after depends on it: stop here (with what went wrong) if it failed.
        assert_eq!(added.code, 0, "keys add: {}", self.leak.failures());
        key.id = Some(id);
    }

    // ---- the commands ---------------------------------------------------------------

    /// `license issue` (text and `--json`), `license reissue` (stdout, and `-o` with
    /// `--json`) and `keys endorse --by`, each signing with `key`.
    fn signing_succeeds(&mut self, key: &KeyFile) {
        let k = path(&key.private);
        self.run(Expect::Code(0), &issue(k));
        let json = self.run(Expect::Code(0), &[&issue(k)[..], &["--json"]].concat());
        if self.licenses.is_none() {
            let issued: serde_json::Value =
                serde_json::from_slice(&json.stdout).expect("issue --json prints JSON");
            let token = issued["token"].as_str().expect("a token");
            let file = self.f.path().join("licenses.txt");
            std::fs::write(&file, format!("{token}\n")).expect("licenses");
            self.licenses = Some(file);
        }
        let licenses = self.licenses.clone().expect("licenses");
        self.run(Expect::Code(0), &reissue(k, path(&licenses)));
        let out = self.f.path().join("reissued.txt");
        let args = [
            &reissue(k, path(&licenses))[..],
            &["-o", path(&out), "--json"],
        ]
        .concat();
        self.run(Expect::Code(0), &args);
        self.inspect_file(&args, &out);
        let endorsee = self.endorsee.clone();
        self.run(Expect::Code(0), &endorse(path(&endorsee), k));
    }

    /// The three signing commands with copies of `key` that must be refused: readable
    /// by others, truncated; and mode 0000, which only root can still read (and then
    /// signs with, since no one else can).
    fn signing_refuses_bad_copies(&mut self, key: &KeyFile) {
        let text = std::fs::read(&key.private).expect("key");
        let end = find(&text, b"-----END").expect("an END line");
        let body_start = find(&text, b"\n").expect("a header line") + 1;
        let middle = body_start + (end - body_start) / 2;
        let truncated = &text[..middle];
        let truncated_with_end = [&text[..middle], b"\n", &text[end..]].concat();
        let copies: [(&str, &[u8], u32); 4] = [
            ("mode-644.pem", &text, 0o644),
            ("truncated.pem", truncated, 0o600),
            ("truncated-with-end.pem", &truncated_with_end, 0o600),
            ("mode-000.pem", &text, 0o000),
        ];
        for (name, bytes, mode) in copies {
            let file = key.dir.join(name);
            write_private(&file, bytes, mode);
            self.learn_pem_file(&file);
            let expect = if mode == 0 && std::fs::read(&file).is_ok() {
                Expect::Code(0)
            } else {
                Expect::Code(2)
            };
            self.every_signing_command(&file, expect);
        }
    }

    /// The three signing commands given files that hold no usable private key.
    fn signing_refuses_other_files(&mut self, openssl: &KeyFile, stranger: &KeyFile) {
        self.every_signing_command(&stranger.private, Expect::Code(1));
        self.every_signing_command(&openssl.public, Expect::Code(2));
        self.every_signing_command(&openssl.dir.join("missing.pem"), Expect::Code(2));
        self.every_signing_command(&openssl.dir, Expect::Code(2));
        let encrypted = openssl.dir.join("encrypted.pem");
        let (private, sh) = (&openssl.private, &self.f.sh);
        cmd!(
            sh,
            "openssl pkcs8 -topk8 -in {private} -v2 aes-256-cbc -passout pass:hygiene -out {encrypted}"
        )
        .quiet()
        .run()
        .expect("openssl pkcs8 -topk8");
        std::fs::set_permissions(&encrypted, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        self.learn_pem_file(&encrypted);
        self.every_signing_command(&encrypted, Expect::Code(2));
    }

    fn every_signing_command(&mut self, key: &Path, expect: Expect) {
        let licenses = self.licenses.clone().expect("licenses");
        let endorsee = self.endorsee.clone();
        let k = path(key);
        self.run(expect, &issue(k));
        self.run(expect, &reissue(k, path(&licenses)));
        self.run(expect, &endorse(path(&endorsee), k));
    }

    /// `keys add`, `rotate` and `endorse` given the private key where the public key
    /// belongs: refused, naming the file and the problem.
    fn private_key_as_public_key(&mut self, key: &KeyFile) {
        let k = path(&key.private);
        let commands = [
            vec!["keys", "add", k, "--id", "oops", "--now", NOW],
            vec![
                "keys",
                "rotate",
                k,
                "--id",
                "oops",
                "--now",
                NOW,
                "--dry-run",
            ],
            endorse(k, k),
        ];
        for args in commands {
            let output = self.run(Expect::Code(2), &args);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let names_it = stderr.contains(k) && stderr.contains("private key");
            // A leak is reported already, and its stderr must not be shown.
            if !(names_it || self.leak.leaked(&output)) {
                self.leak.fail(format!(
                    "{}: the error does not name {k} and the problem (a private key):\n{stderr}",
                    self.label(&args, None)
                ));
            }
        }
    }

    /// The key file, and a license file with the key pasted into it, where licenses
    /// are read.
    fn private_key_as_license_input(&mut self, key: &KeyFile) {
        let k = path(&key.private);
        let pasted = key.dir.join("pasted-licenses.txt");
        let licenses = read(self.licenses.as_ref().expect("licenses"));
        let seed_b64url = URL_SAFE_NO_PAD.encode(key.seed);
        let body_lines: Vec<String> = pem_body(read(&key.private).as_bytes())
            .into_iter()
            .filter(|(what, _)| what.starts_with("body line"))
            .map(|(_, line)| String::from_utf8(line).expect("base64"))
            .collect();
        let mut text = format!("{licenses}{}", read(&key.private));
        for line in &body_lines {
            text.push_str(&format!("CAIO-v2.{line}\nCAIO-v2.{line}.{seed_b64url}\n"));
        }
        text.push_str(&format!(
            "CAIO-v2.{seed_b64url}.{seed_b64url}\n{}\n",
            hex::encode(key.seed)
        ));
        std::fs::write(&pasted, text).expect("pasted licenses");

        for input in [&key.private, &pasted] {
            let i = path(input);
            self.run_stdin(
                Expect::Code(1),
                &["license", "verify", "--now", NOW, "-"],
                input,
            );
            self.run_stdin(
                Expect::Code(1),
                &["license", "verify", "--now", NOW, "--json", "-"],
                input,
            );
            self.run(Expect::Code(1), &reissue(k, i));
            self.run_stdin(Expect::Code(1), &reissue(k, "-"), input);
            self.run(
                Expect::Code(1),
                &["keys", "check", "--now", NOW, "--licenses", i],
            );
        }
        let hex_seed = hex::encode(key.seed);
        for token in body_lines.iter().chain([&hex_seed]) {
            self.run(Expect::Code(1), &["license", "verify", "--now", NOW, token]);
        }
        // The whole PEM pasted as an argument starts with `-----`, so the parser takes
        // it for an option: a usage error (2) that must describe it, not show it. Also
        // where a path goes, and as an extra argument.
        let pem = read(&key.private);
        self.run(Expect::Code(2), &["license", "verify", "--now", NOW, &pem]);
        self.run(
            Expect::Code(2),
            &["license", "verify", "--now", NOW, "x", &pem],
        );
        self.run(Expect::Code(2), &["keys", "add", &pem, "--id", "pasted"]);
        self.run(Expect::Code(2), &["license", "issue", "--key", k, &pem]);
    }

    /// `verify-artifact` on the key file, a directory holding it and a tarball of it.
    fn private_key_as_artifact(&mut self, key: &KeyFile) {
        let archive = key.dir.join("artifact.tar.gz");
        let (dir, sh) = (&key.dir, &self.f.sh);
        let _ = std::fs::remove_file(&archive);
        cmd!(sh, "tar czf {archive} -C {dir} private.pem")
            .quiet()
            .run()
            .expect("tar");
        let artifact_dir = key.dir.join("artifact-dir");
        std::fs::create_dir_all(&artifact_dir).expect("dir");
        std::fs::copy(&key.private, artifact_dir.join("private.pem")).expect("copy");
        for artifact in [&key.private, &archive, &artifact_dir] {
            let a = path(artifact);
            self.run(Expect::Any, &["verify-artifact", a]);
            self.run(Expect::Any, &["verify-artifact", "--json", a]);
        }
    }

    /// Every command that loads the manifest, when a `public_key` names a private PEM
    /// under `keys/`, and when `CAIO_KEYRING` names the private PEM itself.
    fn private_key_in_the_manifest(&mut self, key: &KeyFile) {
        let k = path(&key.private);
        let saved = self.f.manifest_text();
        let id = key.id.expect("a key of the keyring");
        let planted = self.f.keys_dir().join(format!("{id}-private.pem"));
        std::fs::copy(&key.private, &planted).expect("copy into keys/");
        self.f.write_manifest(&saved.replace(
            &format!("public_key = \"{id}.pem\""),
            &format!("public_key = \"{id}-private.pem\""),
        ));
        assert_ne!(self.f.manifest_text(), saved, "the manifest names {id}.pem");

        let token = self.any_license();
        let dist = self.f.path().join("dist");
        let endorsee = self.endorsee.clone();
        let commands: [Vec<&str>; 11] = [
            vec!["keys", "check", "--now", NOW],
            vec!["keys", "list", "--now", NOW],
            vec!["keys", "timeline", "--now", NOW],
            vec![
                "keys",
                "retire",
                id,
                "--at",
                "2027-03-01",
                "--now",
                NOW,
                "--dry-run",
            ],
            vec!["keys", "revoke", id, "--now", NOW, "--dry-run"],
            vec!["keys", "remove", id, "--force", "--now", NOW, "--dry-run"],
            vec!["license", "verify", "--now", NOW, &token],
            issue(k),
            endorse(path(&endorsee), k),
            vec!["verify-artifact", k],
            vec!["release", "--out", path(&dist)],
        ];
        for args in &commands {
            // Failures are 1 (a check) or 2 (the manifest does not load): not asserted.
            let output = self.run(Expect::Any, args);
            self.expect_failure(args, &output);
        }
        self.f.write_manifest(&saved);
        std::fs::remove_file(&planted).expect("remove the planted key");

        for args in &commands {
            let output = self.run_manifest(Expect::Any, &key.private, args);
            self.expect_failure(args, &output);
        }
    }

    /// `keygen` into a directory that already holds private.pem: refused.
    fn keygen_refuses_existing(&mut self, key: &KeyFile) {
        self.run(Expect::Code(2), &["keygen", path(&key.dir)]);
    }

    /// `scripts/licensing/generate_keypair.sh DIR`, then again into the same DIR.
    fn runbook_script(&mut self) {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/licensing/generate_keypair.sh");
        // The script builds xtask with cargo; the tests' shared target directory keeps
        // that build from replacing the binary the tests run.
        let shared = test_support::shared_target::SharedTarget::lock();
        let target = shared.dir();
        let dir = self.f.path().join("script");
        let label = format!(
            "`scripts/licensing/generate_keypair.sh {}`",
            self.relative(&dir)
        );
        let sh = &self.f.sh;
        let run = || {
            let command = cmd!(sh, "{script} {dir}")
                .env("CARGO_TARGET_DIR", target)
                .env("RUST_LOG", "trace")
                .env("RUST_BACKTRACE", "1");
            capture_bytes(command, "the script")
        };
        let first = run();
        let second = run();
        if dir.join("private.pem").exists() {
            self.learn_key("script key", &dir);
        }
        self.leak.judge(&label, Expect::Code(0), &first);
        self.leak
            .judge(&format!("{label} (again)"), Expect::Code(2), &second);
    }

    // ---- running and judging --------------------------------------------------------

    fn run(&mut self, expect: Expect, args: &[&str]) -> RawOutput {
        let manifest = self.f.manifest();
        self.run_manifest(expect, &manifest, args)
    }

    fn run_manifest(&mut self, expect: Expect, manifest: &Path, args: &[&str]) -> RawOutput {
        let output = self.spawn(manifest, args, None);
        let mut label = self.label(args, None);
        if manifest != self.f.manifest() {
            label = format!("CAIO_KEYRING={} {label}", self.relative(manifest));
        }
        self.leak.judge(&label, expect, &output);
        output
    }

    fn run_stdin(&mut self, expect: Expect, args: &[&str], stdin: &Path) -> RawOutput {
        let output = self.spawn(&self.f.manifest(), args, Some(stdin));
        let label = self.label(args, Some(stdin));
        self.leak.judge(&label, expect, &output);
        output
    }

    /// Runs `xtask ARGS` on `manifest`, with the file `stdin` as standard input.
    fn spawn(&self, manifest: &Path, args: &[&str], stdin: Option<&Path>) -> RawOutput {
        let xtask = env!("CARGO_BIN_EXE_xtask");
        let stdin = stdin.map_or_else(Vec::new, |p| std::fs::read(p).expect("stdin file"));
        let sh = &self.f.sh;
        let command = cmd!(sh, "{xtask} {args...}")
            .env("CAIO_KEYRING", manifest)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .stdin(stdin);
        capture_bytes(command, "xtask")
    }

    /// A failure path must fail: a 0 here means the test is not testing what it says.
    fn expect_failure(&mut self, args: &[&str], output: &RawOutput) {
        if output.code == 0 {
            let message = format!(
                "{}: exit 0, but the manifest names a private key",
                self.label(args, None)
            );
            self.leak.fail(message);
        }
    }

    fn inspect_file(&mut self, args: &[&str], file: &Path) {
        let bytes = std::fs::read(file).unwrap_or_default();
        let label = self.label(args, None);
        let stream = format!("the file {}", self.relative(file));
        self.leak.inspect(&label, &stream, &bytes);
    }

    // ---- small helpers --------------------------------------------------------------

    /// The command line as a failure message shows it, paths relative to the fixture,
    /// and an argument that holds key material by the name of what it holds.
    fn label(&self, args: &[&str], stdin: Option<&Path>) -> String {
        let prefix = format!("{}/", self.f.path().display());
        let shown: Vec<String> = args
            .iter()
            .map(|arg| match self.leak.secret_in(arg.as_bytes()) {
                Some(secret) => format!("<{secret}>"),
                None => arg.replace(&prefix, ""),
            })
            .collect();
        let mut label = format!("`cargo xtask {}", shown.join(" "));
        if let Some(stdin) = stdin {
            label.push_str(&format!(" < {}", self.relative(stdin)));
        }
        label.push('`');
        label
    }

    fn relative(&self, file: &Path) -> String {
        file.strip_prefix(self.f.path())
            .unwrap_or(file)
            .display()
            .to_string()
    }

    /// The first line of the licenses file.
    fn any_license(&self) -> String {
        read(self.licenses.as_ref().expect("licenses"))
            .lines()
            .next()
            .expect("a license")
            .to_owned()
    }
}

fn issue(key: &str) -> Vec<&str> {
    vec![
        "license",
        "issue",
        "--key",
        key,
        "--licensee",
        "Hygiene Corp",
        "--now",
        NOW,
    ]
}

fn reissue<'a>(key: &'a str, input: &'a str) -> Vec<&'a str> {
    vec!["license", "reissue", "--key", key, "--now", NOW, input]
}

fn endorse<'a>(public: &'a str, by: &'a str) -> Vec<&'a str> {
    vec![
        "keys", "endorse", public, "--id", "next", "--by", by, "--now", NOW,
    ]
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(file).expect("read")
}
