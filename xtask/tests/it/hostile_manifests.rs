//! The macro's hostile manifests (`caio-pubkey-macro/tests/ui/fixtures/`) through
//! `cargo xtask keys check`: every broken manifest that fails the build also fails the
//! operator's check, naming the manifest, and none makes it panic. The good fixture
//! passes, so the two agree in both directions.

use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../caio-pubkey-macro/tests/ui/fixtures")
}

fn keys_check(manifest: &Path) -> (i32, String) {
    let sh = Shell::new().expect("shell");
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let out = cmd!(sh, "{xtask} keys check --now 2026-07-01T00:00:00Z")
        .env("CAIO_KEYRING", manifest)
        .ignore_status()
        .quiet()
        .output()
        .expect("xtask runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_manifest_the_macro_refuses_fails_keys_check() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .flatten()
        .map(|e| e.path().join("keyring.toml"))
        .filter(|p| p.is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "at least 15 hostile manifests, found {}",
        cases.len()
    );
    let mut wrong = Vec::new();
    for manifest in &cases {
        let name = manifest.parent().and_then(Path::file_name).expect("name");
        let (code, text) = keys_check(manifest);
        if text.contains("panicked") {
            wrong.push(format!("{name:?}: panicked: {text}"));
        } else if name == "good" {
            if code != 0 {
                wrong.push(format!(
                    "{name:?}: the good manifest failed: exit {code}: {text}"
                ));
            }
        } else if !(code == 1 || code == 2) || !text.contains("keyring.toml") {
            wrong.push(format!("{name:?}: exit {code}: {text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_key_file_or_manifest_that_is_no_regular_file_is_an_error_not_a_hang() {
    let good = fixtures().join("good");
    let copy = |dir: &Path| {
        for name in ["keyring.toml", "caio-test-a.pem", "caio-test-b.pem"] {
            std::fs::copy(good.join(name), dir.join(name)).expect("copy the good fixture");
        }
    };
    // A key file linked to /dev/zero (endless), a key file that is a FIFO (an open
    // waits for a writer), a manifest linked to /dev/zero, a key file over 64 KiB, and a
    // FIFO beside them that the manifest does not name (the scan of keys/ fails it).
    fn link_to_dev_zero(path: &Path) {
        std::fs::remove_file(path).expect("remove");
        std::os::unix::fs::symlink("/dev/zero", path).expect("symlink");
    }
    type Break = fn(&Path);
    let cases: [(&str, Break); 5] = [
        ("caio-test-a.pem", |dir| {
            link_to_dev_zero(&dir.join("caio-test-a.pem"));
        }),
        ("caio-test-b.pem", |dir| {
            let pem = dir.join("caio-test-b.pem");
            std::fs::remove_file(&pem).expect("remove");
            let made = std::process::Command::new("mkfifo")
                .arg(&pem)
                .status()
                .expect("mkfifo");
            assert!(made.success());
        }),
        ("keyring.toml", |dir| {
            link_to_dev_zero(&dir.join("keyring.toml"))
        }),
        ("caio-test-a.pem", |dir| {
            let pem = dir.join("caio-test-a.pem");
            let mut text = std::fs::read(&pem).expect("read");
            text.extend(vec![b'\n'; 64 << 10]);
            std::fs::write(&pem, text).expect("write");
        }),
        ("stray.fifo", |dir| {
            let made = std::process::Command::new("mkfifo")
                .arg(dir.join("stray.fifo"))
                .status()
                .expect("mkfifo");
            assert!(made.success());
        }),
    ];
    for (n, (file, break_it)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        copy(dir.path());
        break_it(dir.path());
        let (code, text) = keys_check(&dir.path().join("keyring.toml"));
        // As for every broken manifest: a failed check (1) or an unreadable one (2).
        assert!(code == 1 || code == 2, "case {n}: exit {code}: {text}");
        assert!(text.contains(file), "case {n}: {text}");
        let why = if n == 3 {
            "larger than 65536 bytes"
        } else {
            "not a regular file"
        };
        assert!(text.contains(why), "case {n}: {text}");
    }
}
