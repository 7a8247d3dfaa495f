//! Replays the committed fuzzing corpus (`fuzz/corpus/<target>/`) as ordinary tests, with
//! the same properties the fuzz targets assert, so CI re-checks every input the fuzzer
//! ever kept without needing cargo-fuzz.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use caio_keyring::Validity;
use caio_verify::{Options, Verifier};
use ed25519_dalek::{Signature, SigningKey};

/// The public key of seed `[7; 32]`, as `fuzz/fuzz_targets/manifest.rs` has it.
const PEM: &[u8] = b"-----BEGIN PUBLIC KEY-----\n\
MCowBQYDK2VwAyEA6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=\n\
-----END PUBLIC KEY-----\n";

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("corpus file");
            (path, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} is empty", dir.display());
    inputs
}

#[test]
fn license_corpus_never_verifies_without_a_real_signature() {
    let public = SigningKey::from_bytes(&[7; 32]).verifying_key();
    let window = Validity {
        not_before: 0,
        sign_until: 1_900_000_000,
        not_after: i64::MAX,
    };
    let keyring = test_support::keyring::one_key_in([7; 32], "fuzz", window);
    let verifier = Verifier::new(&keyring, Options::at(1_800_000_000));
    let mut verified = 0;
    for (path, data) in corpus("license") {
        if verifier.verify(&data).is_ok() {
            verified += 1;
            let at = data.iter().rposition(|&b| b == b'.').expect("a dot");
            let signature = caio_verify::license::BASE64URL
                .decode(&data[at + 1..])
                .expect("base64url");
            let signature = Signature::from_slice(&signature).expect("64 bytes");
            public
                .verify_strict(&data[..at], &signature)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert!(verified >= 1, "the signed seeds verify");
}

#[test]
fn block_corpus_decodes_canonically_or_not_at_all() {
    use sha2::{Digest, Sha256};
    let mut accepted = 0;
    for (path, data) in corpus("block_decode") {
        // As the fuzz target does: the input as it is, and resealed behind a fresh
        // magic, length and digest.
        let mut sealed = caio_keyring::block::magic().to_vec();
        sealed.extend_from_slice(&((data.len() + 52) as u32).to_le_bytes());
        sealed.extend_from_slice(&data);
        let digest = Sha256::digest(&sealed);
        sealed.extend_from_slice(&digest);
        for block in [&data, &sealed] {
            if let Ok(keyring) = caio_keyring::block::decode(block) {
                accepted += 1;
                let again = caio_keyring::block::encode(&keyring);
                assert_eq!(&again, block, "{}", path.display());
            }
        }
    }
    assert!(
        accepted >= 2,
        "the production seed decodes as it is and resealed"
    );
}

#[test]
fn manifest_corpus_never_panics_and_accepted_manifests_round_trip() {
    for (path, data) in corpus("manifest") {
        let (text, pem) = match data.iter().position(|&b| b == 0) {
            Some(at) => (&data[..at], &data[at + 1..]),
            None => (&data[..], PEM),
        };
        let Ok(text) = std::str::from_utf8(text) else {
            continue;
        };
        let parsed =
            caio_keyring::manifest::Manifest::parse(Path::new("keys/keyring.toml"), text, |_| {
                Ok(pem.to_vec())
            });
        if let Ok(manifest) = parsed {
            let block = caio_keyring::block::encode(manifest.keyring());
            let decoded = caio_keyring::block::decode(&block).expect("round trip");
            assert_eq!(&decoded, manifest.keyring(), "{}", path.display());
        }
    }
}

#[test]
fn artifact_corpus_is_inspected_within_limits() {
    use caio_gate::{Inspector, Limits};
    let limits = Limits::fuzzing();
    let mut found = 0;
    for (_, data) in corpus("artifact") {
        let mut inspector = Inspector::new(limits);
        let inspection = inspector.inspect_reader(Path::new("fuzz.bin"), &mut &data[..]);
        assert!(inspection.findings.len() <= limits.max_findings);
        assert!(inspection.private_keys.len() <= limits.max_private_keys);
        assert!(inspection.private_key_count >= inspection.private_keys.len() as u64);
        found += inspection
            .findings
            .iter()
            .filter(|f| f.keyring.is_ok())
            .count();
    }
    assert!(
        found >= 6,
        "the seed archives' blocks are found, {found} were"
    );
}
