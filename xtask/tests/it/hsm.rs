//! Keys on a PKCS#11 token: a real SoftHSM2 token per test, keys made on it by OpenSC's
//! `pkcs11-tool`, and the `pkcs11:` URIs `keys add`, `license issue` and `license
//! reissue` take. OpenSSL is the referee for every signature the token makes, and
//! `pkcs11-tool`'s own listing for the public key `keys add` exports.
//!
//! SoftHSM2 and OpenSC are Debian packages (`softhsm2`, `opensc`) that `.ci/run`
//! installs; without them these tests fail, never skip. Each test has its own token
//! directory (a `softhsm2.conf` in its temporary directory, named by `SOFTHSM2_CONF`),
//! so tests run in parallel and nothing touches the machine's tokens.
//!
//! The user PIN is distinctive (`pin-wxyz-caio`), so that "the PIN never shows" can be
//! checked on output that holds random fingerprints and tokens. Error output is also
//! checked for the bare `wxyz` and for the other PINs the tests give (`uvts`): letters
//! past `f`, which no hex serial or fingerprint and no decimal slot id in a message can
//! hold by chance (SoftHSM makes each token's serial, and so its slot id, at random).

use std::path::PathBuf;

use xshell::cmd;

use test_support::keys::write_private;
use test_support::run::assert_contains;

use crate::license::{TestIssuer, openssl_verifies, payload_of, unix};
use crate::{Fixture, Run, openssl_fingerprint, path};

/// The token's user PIN.
const PIN: &str = "pin-wxyz-caio";
/// The token's security officer PIN.
const SO_PIN: &str = "so-5678-caio";
/// The instant every command runs at.
const NOW: &str = "2026-03-01T00:00:00Z";

/// A SoftHSM2 token directory of the test's own, set up on a fixture's shell.
struct Hsm {
    module: PathBuf,
}

impl Hsm {
    /// Writes `softhsm2.conf` and a token directory into the fixture's directory and
    /// points the fixture's shell (and so every command it runs) at them. (The fixture
    /// sets the `CAIO_PKCS11_*` variables empty, which means unset.)
    fn new(f: &Fixture) -> Self {
        let module = softhsm_module();
        let tokens = f.path().join("tokens");
        std::fs::create_dir(&tokens).expect("token dir");
        let conf = f.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .expect("softhsm2.conf");
        f.sh.set_var("SOFTHSM2_CONF", &conf);
        Self { module }
    }

    /// `softhsm2-util --init-token` with `label` and the test PINs.
    fn init_token(&self, f: &Fixture, label: &str) {
        let sh = &f.sh;
        cmd!(
            sh,
            "softhsm2-util --init-token --free --label {label} --pin {PIN} --so-pin {SO_PIN}"
        )
        .quiet()
        .ignore_stdout()
        .run()
        .expect("softhsm2-util --init-token");
    }

    /// A key pair of `key_type` (`EC:edwards25519`, `EC:prime256v1`) made on the token
    /// by `pkcs11-tool`, with `label` and `id` (hex).
    fn keypair(&self, f: &Fixture, token: &str, key_type: &str, label: &str, id: &str) {
        let sh = &f.sh;
        let module = &self.module;
        cmd!(
            sh,
            "pkcs11-tool --module {module} --token-label {token} --login --pin {PIN} --keypairgen --key-type {key_type} --label {label} --id {id}"
        )
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .expect("pkcs11-tool --keypairgen");
    }

    /// `pkcs11:<path>?module-path=<module>&<query>`.
    fn uri(&self, path: &str, query: &str) -> String {
        let mut uri = format!("pkcs11:{path}?module-path={}", self.module.display());
        if !query.is_empty() {
            uri.push('&');
            uri.push_str(query);
        }
        uri
    }

    /// The EC_POINT (hex) of the public key `label` as `pkcs11-tool` lists it: an
    /// independent reader of what is on the token.
    fn listed_ec_point(&self, f: &Fixture, token: &str, label: &str) -> String {
        let sh = &f.sh;
        let module = &self.module;
        let listing = cmd!(
            sh,
            "pkcs11-tool --module {module} --token-label {token} --list-objects --type pubkey"
        )
        .quiet()
        .ignore_stderr()
        .read()
        .expect("pkcs11-tool --list-objects");
        let mut point = None;
        for line in listing.lines() {
            let line = line.trim();
            if let Some(hex) = line.strip_prefix("EC_POINT:") {
                point = Some(hex.trim().to_owned());
            } else if line.strip_prefix("label:").map(str::trim) == Some(label) {
                return point.expect("EC_POINT comes before the label");
            } else if line.starts_with("Public Key Object") {
                point = None;
            }
        }
        panic!("no public key {label:?} in:\n{listing}");
    }
}

/// SoftHSM2's module, wherever Debian (or a source build) put it. Panics, failing the
/// test, when SoftHSM2 or OpenSC is missing.
fn softhsm_module() -> PathBuf {
    for tool in ["softhsm2-util", "pkcs11-tool"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        assert!(
            found,
            "{tool} is not installed: install the Debian packages softhsm2 and opensc (.ci/run does)"
        );
    }
    let arch = std::env::consts::ARCH;
    let candidates = [
        PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"),
        PathBuf::from(format!("/usr/lib/{arch}-linux-gnu/softhsm/libsofthsm2.so")),
        PathBuf::from("/usr/local/lib/softhsm/libsofthsm2.so"),
        PathBuf::from("/usr/lib64/softhsm/libsofthsm2.so"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("no libsofthsm2.so in {candidates:?}: install the Debian package softhsm2 (.ci/run does)"))
}

/// A fixture with the shipped key (seed 1) and a SoftHSM2 token "caio" holding the
/// Ed25519 key pair "lic" (id 01).
fn token_fixture() -> (Fixture, Hsm) {
    let f = Fixture::one_key();
    let hsm = Hsm::new(&f);
    hsm.init_token(&f, "caio");
    hsm.keypair(&f, "caio", "EC:edwards25519", "lic", "01");
    (f, hsm)
}

/// `keys add URI --id hsm` with windows around [`NOW`]; returns keys/hsm.pem.
fn add_token_key(f: &Fixture, uri: &str) -> PathBuf {
    let run = f
        .cmd("keys add {} --id hsm --not-before 2026-02-01 --sign-until 2027-02-01 --not-after 2027-06-01 --now {}", &[uri, NOW])
        .expect(0);
    assert_no_pin(&run);
    f.keys_dir().join("hsm.pem")
}

/// The PIN appears nowhere in the output of `run`.
#[track_caller]
fn assert_no_pin(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(PIN), "the PIN shows:\n{text}");
    }
}

#[test]
fn keys_add_exports_the_public_key_of_a_token_key() {
    let (f, hsm) = token_fixture();
    // A second token, so the URI has to choose.
    hsm.init_token(&f, "other");
    hsm.keypair(&f, "other", "EC:edwards25519", "lic", "01");

    // Public objects need no login: no PIN in the URI.
    let pem = add_token_key(&f, &hsm.uri("token=caio;object=lic", ""));
    let text = std::fs::read_to_string(&pem).expect("keys/hsm.pem");
    assert!(text.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{text}");
    let der = cmd!(f.sh, "openssl pkey -pubin -in {pem} -outform DER")
        .quiet()
        .output()
        .expect("OpenSSL reads the exported key")
        .stdout;
    // The key pkcs11-tool lists on the token: EC_POINT is 04 20 and the 32 bytes.
    let point = hsm.listed_ec_point(&f, "caio", "lic");
    assert_eq!(point.len(), 68, "{point}");
    assert_eq!(hex::encode(&der[der.len() - 32..]), point[4..]);
    let other = hsm.listed_ec_point(&f, "other", "lic");
    assert_ne!(point, other, "two tokens, two keys");

    let list = f.list(NOW);
    let key = crate::listed(&list, "hsm");
    assert_eq!(key["fingerprint"], openssl_fingerprint(&pem).as_str());
    assert_eq!(key["state"], "signing");
    f.xtask(&["keys", "check", "--now", NOW]).expect(0);

    // The same key named by id (percent-encoded bytes) and type=private, with the PIN:
    // already in the manifest, so refused, and the message shows no PIN.
    let run = f
        .cmd(
            "keys add {} --id again --now {}",
            &[
                &hsm.uri(
                    "token=caio;id=%01;type=private",
                    &format!("pin-value={PIN}"),
                ),
                NOW,
            ],
        )
        .expect(2);
    assert_contains(&run.stderr, "is already in");
    assert_contains(&run.stderr, "pin-value=<redacted>");
    assert_no_pin(&run);

    // `keys rotate` takes a URI as well: the other token's key, signing from now.
    let rotate = f
        .cmd(
            "keys rotate {} --id hsm-other --now {}",
            &[&hsm.uri("token=other;object=lic", ""), NOW],
        )
        .expect(0);
    assert_contains(&rotate.stderr, "hsm-other");
    let list = f.list(NOW);
    let rotated = crate::listed(&list, "hsm-other");
    let rotated_pem = f.keys_dir().join("hsm-other.pem");
    assert_eq!(
        rotated["fingerprint"],
        openssl_fingerprint(&rotated_pem).as_str()
    );
}

#[test]
fn a_license_signed_on_the_token_verifies_with_openssl_and_license_verify() {
    let (f, hsm) = token_fixture();
    let pem = add_token_key(&f, &hsm.uri("token=caio;object=lic", ""));
    let kid = openssl_fingerprint(&pem);
    let issue = |key: &str, licensee: &str| {
        f.cmd("license issue --key {} --licensee {} --expires 2027-01-01 --feature pro --json --now {}", &[key, licensee, NOW])
    };

    // The PIN in the URI: pin-value, percent-encoding and all.
    let uri = hsm.uri(
        "token=caio;object=lic;type=private",
        "pin-value=pin%2Dwxyz%2Dcaio",
    );
    let run = issue(&uri, "ACME").expect(0);
    assert_no_pin(&run);
    assert!(
        run.stderr
            .contains("warning: pin-value puts the PIN on the command line")
    );
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(out["kid"], kid.as_str());
    assert_eq!(out["key_id"], "hsm");
    let token = out["token"].as_str().expect("a token");
    let payload = payload_of(token);
    assert_eq!(payload["kid"], kid.as_str());
    assert_eq!(payload["iat"], unix(NOW));
    assert!(openssl_verifies(&f, &pem, token), "OpenSSL rejects {token}");
    // The referee is not a rubber stamp: another key's signature on the same input fails.
    let other = TestIssuer::from_seed(1).sign(&payload);
    assert_eq!(payload_of(&other), payload);
    assert!(!openssl_verifies(&f, &pem, &other));
    f.xtask(&["license", "verify", token, "--at", NOW])
        .expect(0);

    // The PIN from a pin-source file (file: URI, trailing newline), no warning.
    let pin_file = f.path().join("pin");
    write_private(&pin_file, format!("{PIN}\n").as_bytes(), 0o600);
    let uri = hsm.uri(
        "token=caio;object=lic",
        &format!("pin-source=file:{}", path(&pin_file)),
    );
    let run = issue(&uri, "Beta").expect(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let token = out["token"].as_str().expect("a token");
    assert!(openssl_verifies(&f, &pem, token));

    // Module and PIN from the environment, with a bare URI.
    f.sh.set_var("CAIO_PKCS11_MODULE", &hsm.module);
    f.sh.set_var("CAIO_PKCS11_PIN", PIN);
    let run = issue("pkcs11:token=caio;object=lic", "Gamma").expect(0);
    assert_no_pin(&run);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(openssl_verifies(
        &f,
        &pem,
        out["token"].as_str().expect("a token")
    ));

    // The URI wins over the environment: a wrong module and PIN there do not matter.
    f.sh.set_var("CAIO_PKCS11_MODULE", "/nonexistent/libnothing.so");
    f.sh.set_var("CAIO_PKCS11_PIN", "0000");
    let uri = hsm.uri("token=caio;object=lic", &format!("pin-value={PIN}"));
    issue(&uri, "Delta").expect(0);
    // And the environment's wrong PIN is what a bare URI gets.
    f.sh.set_var("CAIO_PKCS11_MODULE", &hsm.module);
    let run = issue("pkcs11:token=caio;object=lic", "Epsilon").expect(2);
    assert_contains(&run.stderr, "CKR_PIN_INCORRECT");
    assert_contains(&run.stderr, "CAIO_PKCS11_PIN");
}

#[test]
fn licenses_reissued_through_the_token_all_verify_with_openssl() {
    let (f, hsm) = token_fixture();
    let pem = add_token_key(&f, &hsm.uri("token=caio;object=lic", ""));
    let kid = openssl_fingerprint(&pem);
    let old = TestIssuer::from_seed(1);
    let iat = unix("2026-02-01T00:00:00Z");
    let originals: Vec<serde_json::Value> = (0..50)
        .map(|i| {
            serde_json::json!({"kid": old.kid, "lid": format!("L-{i}"), "sub": format!("Customer {i}"),
                "iat": iat, "exp": unix("2027-01-01T00:00:00Z"), "seats": i})
        })
        .collect();
    let mut input = originals
        .iter()
        .map(|p| old.sign(p))
        .collect::<Vec<_>>()
        .join("\n");
    input.push('\n');
    let input_file = f.path().join("outstanding.txt");
    std::fs::write(&input_file, input).expect("input");
    let output_file = f.path().join("reissued.txt");

    let pin_file = f.path().join("pin");
    write_private(&pin_file, PIN.as_bytes(), 0o600);
    let uri = hsm.uri(
        "token=caio;object=lic;type=private",
        &format!("pin-source={}", path(&pin_file)),
    );
    let run = f
        .cmd(
            "license reissue --key {} {} -o {} --json --now {}",
            &[&uri, path(&input_file), path(&output_file), NOW],
        )
        .expect(0);
    assert_no_pin(&run);
    let summary: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(summary["reissued"], 50);
    assert_eq!(summary["kid"], kid.as_str());

    let output = std::fs::read_to_string(&output_file).expect("output");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 50);
    for (token, original) in lines.iter().zip(&originals) {
        let mut expected = original.clone();
        expected["kid"] = kid.as_str().into();
        expected["iat"] = unix(NOW).into();
        assert_eq!(payload_of(token), expected);
        assert!(openssl_verifies(&f, &pem, token), "OpenSSL rejects {token}");
    }
    let verify = f
        .xtask_stdin(&["license", "verify", "-", "--at", NOW], output.as_bytes())
        .expect(0);
    assert_eq!(verify.stdout.lines().count(), 50);
}

#[test]
fn token_problems_are_clear_errors_that_show_no_pin() {
    let (f, hsm) = token_fixture();
    hsm.keypair(&f, "caio", "EC:prime256v1", "p256", "02");
    let pin = format!("pin-value={PIN}");
    let issue = |key: &str| {
        f.cmd(
            "license issue --key {} --licensee ACME --now {}",
            &[key, NOW],
        )
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            hsm.uri("token=caio;object=lic", "pin-value=uvts"),
            vec!["token \"caio\" refused the PIN from pin-value in the URI (CKR_PIN_INCORRECT)"],
        ),
        (
            hsm.uri("token=nope;object=lic", &pin),
            vec!["no token matches token=\"nope\"", "its tokens: \"caio\""],
        ),
        (
            hsm.uri("token=caio;object=nope", &pin),
            vec![
                "token \"caio\" has no private key with object=\"nope\"",
                "\"lic\" (id 01, CKK_EC_EDWARDS)",
            ],
        ),
        (
            hsm.uri("token=caio;id=%07", &pin),
            vec!["has no private key with id=07"],
        ),
        (
            hsm.uri("token=caio;object=p256", &pin),
            vec![
                "the private key \"p256\" (id 02) is a CKK_EC key on P-256",
                "not Ed25519",
                "--key-type EC:edwards25519",
            ],
        ),
        (
            // Two private keys, and the URI names neither.
            hsm.uri("token=caio", &pin),
            vec![
                "has 2 private keys with any label and id",
                "add id= to name one",
            ],
        ),
        (
            "pkcs11:token=caio;object=lic?module-path=/nonexistent/libnothing.so&pin-value=wxyz"
                .to_owned(),
            vec!["cannot load the PKCS#11 module /nonexistent/libnothing.so"],
        ),
        (
            "pkcs11:token=caio;object=lic?pin-value=wxyz".to_owned(),
            vec!["which PKCS#11 module?", "CAIO_PKCS11_MODULE"],
        ),
        (
            hsm.uri("token=caio;object=lic", ""),
            vec!["token \"caio\" needs the user PIN", "CAIO_PKCS11_PIN"],
        ),
        (
            hsm.uri("token=caio;object=lic", "pin-source=file:/nonexistent/pin"),
            vec!["cannot read the pin-source file /nonexistent/pin"],
        ),
        (
            hsm.uri("token=caio;object=lic;type=public", &pin),
            vec!["type=public names no private key"],
        ),
        (
            "pkcs11:token=caio;objet=lic?pin-value=wxyz".to_owned(),
            vec!["unknown path attribute \"objet\""],
        ),
        (
            "pkcs11:token=caio;object=lic?pin-value=wxyz&pin-source=file:/p".to_owned(),
            vec!["pin-value and pin-source are both given"],
        ),
    ];
    for (key, messages) in &cases {
        let run = issue(key).expect(2);
        for message in messages {
            assert!(
                run.stderr.contains(message),
                "{key}: expected {message:?} in:\n{}",
                run.stderr
            );
        }
        assert!(run.stdout.is_empty(), "{key}: {}", run.stdout);
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains("wxyz"), "{key}: the PIN shows:\n{text}");
            assert!(
                !text.contains("uvts"),
                "{key}: the wrong PIN shows:\n{text}"
            );
        }
    }

    // `keys add` and `license reissue` give the same errors.
    let run = f
        .cmd(
            "keys add {} --id p256 --now {}",
            &[&hsm.uri("token=caio;object=p256", ""), NOW],
        )
        .expect(2);
    assert_contains(&run.stderr, "is a CKK_EC key on P-256");
    let input = f.path().join("in.txt");
    std::fs::write(&input, "CAIO-v2.x.y\n").expect("input");
    let run = f
        .cmd(
            "license reissue --key {} {} --now {}",
            &[
                &hsm.uri("token=caio;object=lic", "pin-value=uvts"),
                path(&input),
                NOW,
            ],
        )
        .expect(2);
    assert_contains(&run.stderr, "CKR_PIN_INCORRECT");
    assert!(!run.stderr.contains("uvts"), "{}", run.stderr);

    // The token is still usable with the right PIN after the wrong ones.
    let pem = add_token_key(&f, &hsm.uri("token=caio;object=lic", ""));
    let run = issue(&hsm.uri("token=caio;object=lic", &pin)).expect(0);
    assert_no_pin(&run);
    assert!(openssl_verifies(&f, &pem, run.stdout.trim()));
}
