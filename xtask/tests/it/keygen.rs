//! `keygen` and the runbook script: OpenSSL reads what they write, the private key is
//! 0600 from the start, and nothing is ever overwritten or put in `keys/`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use xshell::cmd;

use test_support::run::assert_contains;

use crate::{Fixture, openssl_fingerprint, path};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// The two files, checked against OpenSSL: it reads the private key, derives exactly
/// `public.pem` from it, and hashes the public key to the printed fingerprint.
fn check_keypair(f: &Fixture, dir: &Path, stdout: &str) {
    let private = dir.join("private.pem");
    let public = dir.join("public.pem");
    let sh = &f.sh;
    let text = cmd!(sh, "openssl pkey -in {private} -text -noout")
        .quiet()
        .read()
        .expect("OpenSSL reads private.pem");
    assert!(text.contains("ED25519 Private-Key"), "{text}");
    let derived = cmd!(sh, "openssl pkey -in {private} -pubout")
        .quiet()
        .output()
        .expect("openssl pkey -pubout")
        .stdout;
    assert_eq!(derived, std::fs::read(&public).expect("public.pem"));
    let fp = openssl_fingerprint(&public);
    assert!(stdout.contains(&format!("fingerprint: {fp}")), "{stdout}");
    let openssh = stdout
        .lines()
        .find_map(|l| l.strip_prefix("openssh:"))
        .expect("an OpenSSH fingerprint line")
        .trim();
    assert!(
        openssh.starts_with("SHA256:") && openssh.len() == 7 + 43,
        "{openssh}"
    );
    assert_eq!(mode(&private), 0o600);
    assert!(
        !stdout.contains("PRIVATE KEY"),
        "the private key was printed"
    );
}

#[test]
fn keygen_writes_a_keypair_that_openssl_reads_and_derives_exactly() {
    let f = Fixture::one_key();
    let dir = f.path().join("rotation");
    let run = f.xtask(&["keygen", path(&dir)]).expect(0);
    check_keypair(&f, &dir, &run.stdout);
    assert_eq!(mode(&dir), 0o700, "a new DIR is private too");
}

#[test]
fn keygen_refuses_to_overwrite_either_file() {
    let f = Fixture::one_key();
    let dir = f.path().join("rotation");
    let dir_arg = path(&dir);
    f.xtask(&["keygen", dir_arg]).expect(0);
    f.refused("keygen {}", &[dir_arg], 2, &["refusing to overwrite"]);

    // A lone public.pem is not overwritten either, and no private.pem appears.
    let other = f.path().join("other");
    std::fs::create_dir(&other).expect("dir");
    std::fs::write(other.join("public.pem"), "keep me").expect("write");
    f.xtask(&["keygen", path(&other)]).expect(2);
    assert_eq!(
        std::fs::read_to_string(other.join("public.pem")).expect("read"),
        "keep me"
    );
    assert!(!other.join("private.pem").exists());
}

#[test]
fn keygen_refuses_keys_dir() {
    let f = Fixture::one_key();
    let before = f.snapshot();
    for dir in [
        f.keys_dir(),
        f.keys_dir().join("rotation"),
        f.path().join("x/../keys/y"),
    ] {
        let run = f.xtask(&["keygen", path(&dir)]).expect(2);
        assert_contains(&run.stderr, "inside");
    }
    assert_eq!(f.snapshot(), before);
    assert!(!f.keys_dir().join("rotation").exists());

    // The workspace's own keys/ is refused whatever CAIO_KEYRING says.
    let workspace_keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys/rotation-test");
    let run = f.xtask(&["keygen", path(&workspace_keys)]);
    let created = workspace_keys.exists();
    if created {
        let _ = std::fs::remove_dir_all(&workspace_keys);
    }
    run.expect(2);
    assert!(
        !created,
        "keygen created a directory inside the workspace's keys/"
    );
}

#[test]
fn keygen_warns_inside_a_git_work_tree() {
    let f = Fixture::one_key();
    std::fs::create_dir(f.path().join(".git")).expect("fake .git");
    let dir = f.path().join("secrets");
    let run = f.xtask(&["keygen", path(&dir)]).expect(0);
    assert!(
        run.stderr.contains("warning") && run.stderr.contains("git work tree"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_runbook_script_creates_the_same_two_files_as_keygen() {
    let f = Fixture::one_key();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/licensing/generate_keypair.sh");
    let sh = &f.sh;
    // The script builds xtask with cargo; the tests' shared target directory keeps that
    // build from replacing the binary the other tests are running.
    let shared = test_support::shared_target::SharedTarget::lock();
    // As the runbook writes it: a directory relative to where the operator stands.
    let output = cmd!(sh, "{script} ./keys-rotation-20260117")
        .env("CARGO_TARGET_DIR", shared.dir())
        .quiet()
        .output()
        .expect("the script runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = f.path().join("keys-rotation-20260117");
    check_keypair(&f, &dir, &stdout);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(names, ["private.pem", "public.pem"]);

    let usage = cmd!(sh, "{script}")
        .quiet()
        .ignore_status()
        .output()
        .expect("runs");
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage"));
}
