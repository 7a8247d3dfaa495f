//! Every input of the embedding is tracked: an edit to the manifest or to a PEM it
//! names rebuilds the binary, and a build with no edit stays fresh.

use crate::support::{
    Entry, build_lock, build_verifier_locked, cargo_build, find_block, openssl_keygen,
    write_manifest,
};

#[test]
fn manifest_and_pem_edits_rebuild_and_no_edit_stays_fresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = openssl_keygen(dir.path(), "rebuild");
    let other = openssl_keygen(dir.path(), "other");
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let entry = |not_after| Entry {
        id: "caio-rebuild",
        key: &key,
        not_before: "2026-01-01T00:00:00Z",
        sign_until: None,
        not_after: Some(not_after),
        revoked: false,
    };
    let manifest = write_manifest(&keys, 1, &[entry("2027-01-01T00:00:00Z")]);

    let lock = build_lock();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let block_of = |exe: &std::path::Path| {
        let bytes = std::fs::read(exe).expect("binary");
        let (at, len) = find_block(&bytes);
        bytes[at..at + len].to_vec()
    };
    let first = block_of(&build_verifier_locked(&lock, &manifest, &out).expect("first build"));

    // No edit: cargo reports the crate fresh.
    let verbose = cargo_build(&lock, &manifest, &["-v"]).expect("rebuild");
    assert!(verbose.contains("Fresh caio-cli"), "{verbose}");
    assert!(!verbose.contains("Compiling caio-cli"), "{verbose}");

    // A manifest edit changes the embedded block.
    write_manifest(&keys, 2, &[entry("2027-02-01T00:00:00Z")]);
    let second = block_of(&build_verifier_locked(&lock, &manifest, &out).expect("second build"));
    assert_ne!(first, second, "the block follows the manifest");
    let decoded = caio_keyring::block::decode(&second).expect("block");
    assert_eq!(decoded.serial(), 2);

    // A PEM swapped under an unchanged manifest is noticed: the build now fails on the
    // fingerprint rather than silently embedding the old key.
    std::fs::copy(&other.public, keys.join("caio-rebuild.pem")).expect("swap pem");
    let failed =
        cargo_build(&lock, &manifest, &[]).expect_err("fingerprint mismatch fails the build");
    assert!(failed.contains("fingerprint"), "{failed}");
    assert!(failed.contains("caio-rebuild"), "{failed}");
}
