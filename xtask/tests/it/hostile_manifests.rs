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
