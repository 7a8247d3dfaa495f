//! The bytes the gate scans are the bytes the program trusts: patch a built
//! binary's block on disk and watch the program follow the patch, or refuse a block
//! whose digest no longer matches.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use test_support::run::assert_contains;

use crate::fixture;
use crate::support::{find_block, openssl_keygen, openssl_license, run, unix, verify_json};

const AT: &str = "2026-07-01T00:00:00Z";

fn write_exe(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).expect("write patched binary");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_owned()
}

fn license_for(key: &crate::support::Key) -> String {
    openssl_license(
        key,
        &json!({"kid": key.fingerprint, "lid": "l1", "sub": "s", "iat": unix("2026-06-01T00:00:00Z")}),
    )
}

#[test]
fn built_block_is_the_manifest_encoding_byte_for_byte() {
    let f = fixture();
    let bytes = std::fs::read(&f.exe).expect("read binary");
    let (at, len) = find_block(&bytes);
    let manifest = caio_keyring::manifest::Manifest::load(&f.manifest).expect("manifest");
    let expected = caio_keyring::block::encode(manifest.keyring());
    assert_eq!(&bytes[at..at + len], expected.as_slice());
}

#[test]
fn a_patched_key_with_a_fixed_digest_is_trusted_in_place_of_the_old_one() {
    let f = fixture();
    let mut bytes = std::fs::read(&f.exe).expect("read binary");
    let (at, len) = find_block(&bytes);
    let newcomer = openssl_keygen(&f.dir, "patched-in");
    let raw = {
        let der = std::process::Command::new("openssl")
            .args(["pkey", "-pubin", "-outform", "DER", "-in"])
            .arg(&newcomer.public)
            .output()
            .expect("openssl")
            .stdout;
        der[12..].to_vec()
    };
    let old_raw = {
        let keyring = caio_keyring::block::decode(&bytes[at..at + len]).expect("block");
        keyring.keys()[0].public_key().to_bytes()
    };
    let block = &mut bytes[at..at + len];
    let key_at = block
        .windows(32)
        .position(|w| w == old_raw)
        .expect("the old key's bytes are in the block");
    block[key_at..key_at + 32].copy_from_slice(&raw);
    let digest = Sha256::digest(&block[..len - 32]);
    block[len - 32..].copy_from_slice(&digest);
    let exe = write_exe(&f.dir.join("caio-verify-patched-key"), &bytes);

    let (code, result) = verify_json(&exe, &license_for(&newcomer), AT);
    assert_eq!((code, &result["reason"]), (0, &json!(null)), "{result}");
    let (code, result) = verify_json(&exe, &license_for(&f.active), AT);
    assert_eq!(
        (code, &result["reason"]),
        (1, &json!("unknown_key")),
        "{result}"
    );
}

#[test]
fn a_flipped_byte_without_a_fixed_digest_refuses_everything() {
    let f = fixture();
    let mut bytes = std::fs::read(&f.exe).expect("read binary");
    let (at, _) = find_block(&bytes);
    bytes[at + 40] ^= 0x01; // inside the first key record
    let exe = write_exe(&f.dir.join("caio-verify-flipped"), &bytes);

    let (code, result) = verify_json(&exe, &license_for(&f.active), AT);
    assert_eq!(
        (code, &result["reason"]),
        (1, &json!("keyring_corrupt")),
        "{result}"
    );
    let out = run(&exe, &["keyring"], "");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_contains(&out.stderr, "keyring_corrupt");
}
