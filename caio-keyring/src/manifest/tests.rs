//! Unit tests for the manifest reader: one line per mistake, and the happy path.

use std::collections::HashMap;

use super::*;

fn raw_key(seed: u8) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes()
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .expect("pem")
        .into_bytes()
}

fn spki_pem(raw: &[u8; 32]) -> Vec<u8> {
    pem("PUBLIC KEY", &[&ED25519_SPKI_PREFIX[..], raw].concat())
}

fn files() -> HashMap<PathBuf, Vec<u8>> {
    let mut files = HashMap::new();
    files.insert(PathBuf::from("keys/a.pem"), spki_pem(&raw_key(1)));
    files.insert(PathBuf::from("keys/b.pem"), spki_pem(&raw_key(2)));
    let mut weak = [0u8; 32];
    weak[0] = 1;
    files.insert(PathBuf::from("keys/weak.pem"), spki_pem(&weak));
    files.insert(
        PathBuf::from("keys/private.pem"),
        pem("PRIVATE KEY", &[0x30, 0x00]),
    );
    files.insert(
        PathBuf::from("keys/cert.pem"),
        pem("CERTIFICATE", &[0x30, 0x00]),
    );
    files.insert(PathBuf::from("keys/junk.pem"), b"hello".to_vec());
    // An RSA SPKI: the rsaEncryption algorithm with NULL parameters, an empty bit string.
    let rsa_spki = [
        0x30, 0x12, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00, 0x03, 0x01, 0x00,
    ];
    files.insert(PathBuf::from("keys/rsa.pem"), pem("PUBLIC KEY", &rsa_spki));
    files
}

fn fp(seed: u8) -> String {
    Fingerprint::of_ed25519(&raw_key(seed)).to_string()
}

fn key_toml(id: &str, file: &str, fingerprint: &str, extra: &str) -> String {
    format!(
        "[[key]]\nid = \"{id}\"\nalgorithm = \"ed25519\"\npublic_key = \"{file}\"\n\
         fingerprint = \"{fingerprint}\"\nnot_before = 2026-01-17T00:00:00Z\n{extra}\n"
    )
}

fn good() -> String {
    format!(
        "version = 1\nserial = 3\n\n[policy]\nruntime_override = \"endorsed\"\n\n{}{}",
        key_toml(
            "caio-2026-01",
            "a.pem",
            &fp(1),
            "not_after = 2027-04-30T00:00:00Z"
        ),
        key_toml("caio-2025-01", "b.pem", &fp(2), "status = \"revoked\""),
    )
}

fn parse(text: &str) -> Result<Manifest, ManifestErrors> {
    let files = files();
    Manifest::parse(Path::new("keys/keyring.toml"), text, |p| {
        files
            .get(p)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    })
}

/// Parses `text` and expects one error whose message contains every part of `expected`.
fn check(text: &str, expected: &[&str]) {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(errors) => {
            let message = errors.to_string();
            for part in expected {
                assert!(message.contains(part), "{message:?} lacks {part:?}");
            }
        }
    }
}

#[test]
fn good_manifest_builds_its_keyring() {
    let m = parse(&good()).expect("good manifest");
    assert_eq!(m.serial(), 3);
    assert_eq!(m.keys().len(), 2);
    let k = m.keyring();
    assert_eq!(k.keys().len(), 1, "the revoked key is not embedded");
    assert_eq!(k.revoked(), [Fingerprint::of_ed25519(&raw_key(2))]);
    assert_eq!(k.runtime_override(), RuntimeOverride::Endorsed);
    let v = k.keys()[0].validity();
    assert_eq!(v.not_before, 1_768_608_000);
    assert_eq!(
        v.sign_until, v.not_after,
        "sign_until defaults to not_after"
    );
    assert_eq!(v.not_after, 1_809_043_200);
    assert_eq!(
        m.inputs(),
        [
            PathBuf::from("keys/keyring.toml"),
            PathBuf::from("keys/a.pem"),
            PathBuf::from("keys/b.pem")
        ]
    );
}

#[test]
fn offsets_and_open_ends() {
    let text = format!(
        "version = 1\n{}",
        key_toml(
            "k",
            "a.pem",
            &fp(1),
            "not_before = 2026-01-17T02:00:00+02:00"
        )
        .replace("not_before = 2026-01-17T00:00:00Z\n", "")
    );
    let m = parse(&text).expect("manifest");
    let v = m.keyring().keys()[0].validity();
    assert_eq!(v.not_before, 1_768_608_000);
    assert_eq!((v.sign_until, v.not_after), (OPEN_END, OPEN_END));
}

#[test]
fn each_mistake_is_named_with_file_line_key_and_field() {
    let k = |extra: &str| key_toml("k1", "a.pem", &fp(1), extra);
    let base = "version = 1\n";
    check(
        "version = 1\nkey = [",
        &["keys/keyring.toml:2", "unclosed array"],
    );
    check("not toml at all", &["keys/keyring.toml:1"]);
    check(
        &format!("version = 2\n{}", k("")),
        &["keys/keyring.toml:1", "field `version`", "version 2"],
    );
    check(&k(""), &["missing field `version`"]);
    check(&format!("{base}colour = 1\n"), &["unknown field `colour`"]);
    check(
        &format!("{base}channel = \"staging\"\n{}", k("")),
        &["unknown channel \"staging\""],
    );
    check(
        &format!("{base}[policy]\nruntime_override = \"maybe\"\n"),
        &["unknown runtime_override"],
    );
    check(
        &format!("{base}serial = -1\n{}", k("")),
        &["keys/keyring.toml:2"],
    );
    let policy_after_key = format!("{base}{}[policy]\nshade = 1\n", k(""));
    match parse(&policy_after_key) {
        Ok(_) => panic!("unknown policy field accepted"),
        Err(e) => assert!(!e.to_string().contains("key \"k1\""), "{e}"),
    }
    check(base, &["no key to embed"]);
    check(
        &format!("{base}{}", key_toml("bad id", "a.pem", &fp(1), "")),
        &[
            "keys/keyring.toml:3",
            "key \"bad id\"",
            "field `id`",
            "found ' '",
        ],
    );
    check(
        &format!("{base}{}{}", k(""), key_toml("k1", "b.pem", &fp(2), "")),
        &["key \"k1\"", "used twice"],
    );
    check(
        &format!("{base}{}{}", k(""), key_toml("k2", "a.pem", &fp(1), "")),
        &["\"k1\" and \"k2\" are the same public key"],
    );
    check(
        &format!("{base}{}", key_toml("k1", "a.pem", &fp(2), "")),
        &[
            "key \"k1\"",
            "field `fingerprint`",
            "does not match",
            &fp(1),
        ],
    );
    check(
        &format!("{base}{}", key_toml("k1", "a.pem", "sha1:abc", "")),
        &["field `fingerprint`", "starts with `sha256:`"],
    );
    // The file `public_key` names, and what the error says of it.
    let pems: [(&str, &[&str]); 8] = [
        (
            "missing.pem",
            &[
                "keys/keyring.toml:5",
                "key \"k1\"",
                "keys/missing.pem: cannot read",
            ],
        ),
        ("../a.pem", &["field `public_key`", "bare file name"]),
        ("/etc/a.pem", &["bare file name"]),
        (
            "private.pem",
            &[
                "keys/keyring.toml:5: key \"k1\": field `public_key`: keys/private.pem: holds a private key",
            ],
        ),
        ("cert.pem", &["keys/cert.pem", "\"CERTIFICATE\""]),
        ("junk.pem", &["not a PEM file"]),
        ("rsa.pem", &["keys/rsa.pem", "1.2.840.113549.1.1.1"]),
        ("weak.pem", &["keys/weak.pem", "weak (small-order)"]),
    ];
    for (pem, expected) in pems {
        check(
            &format!("{base}{}", key_toml("k1", pem, &fp(1), "")),
            expected,
        );
    }
    check(
        &format!(
            "{base}{}",
            k("algorithm = \"rsa\"").replace("algorithm = \"ed25519\"\n", "")
        ),
        &["field `algorithm`", "\"rsa\""],
    );
    // Lines added to the key's table, and what the error says of them.
    let lines: [(&str, &[&str]); 9] = [
        (
            "colour = 1",
            &["keys/keyring.toml:8: key \"k1\": unknown field `colour`"],
        ),
        (
            "not_after = \"soon\"",
            &["keys/keyring.toml:8: key \"k1\": "],
        ),
        ("status = \"gone\"", &["unknown status \"gone\""]),
        ("status = \"revoked\"", &["no key to embed"]),
        (
            "not_after = 2025-01-01T00:00:00Z",
            &["field `not_after`", "out of order"],
        ),
        (
            "sign_until = 2028-01-01T00:00:00Z\nnot_after = 2027-01-01T00:00:00Z",
            &["out of order"],
        ),
        (
            "not_after = 2027-01-01T00:00:00.5Z",
            &["field `not_after`", "whole seconds"],
        ),
        ("not_after = 2027-01-01", &["field `not_after`"]),
        ("not_after = 2027-01-01T00:00:00", &["field `not_after`"]),
    ];
    for (added, expected) in lines {
        check(&format!("{base}{}", k(added)), expected);
    }
    check(
        &format!(
            "{base}{}",
            key_toml("k1", "a.pem", &fp(1), "").replace("id = \"k1\"\n", "")
        ),
        &["missing field `id`"],
    );
}

#[test]
fn every_key_mistake_is_reported_in_one_pass() {
    let text = format!(
        "version = 1\n{}{}",
        key_toml("k1", "a.pem", &fp(2), ""),
        key_toml("k 2", "missing.pem", &fp(1), ""),
    );
    let errors = parse(&text).expect_err("two bad keys").0;
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn more_than_32_keys_do_not_fit() {
    let mut files = HashMap::new();
    let mut text = "version = 1\n".to_owned();
    for seed in 1..=33u8 {
        let name = format!("k{seed}.pem");
        files.insert(
            PathBuf::from(format!("keys/{name}")),
            spki_pem(&raw_key(seed)),
        );
        text += &key_toml(&format!("k{seed}"), &name, &fp(seed), "");
    }
    let err = Manifest::parse(Path::new("keys/keyring.toml"), &text, |p| {
        files
            .get(p)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    })
    .expect_err("33 keys");
    assert!(err.to_string().contains("33 keys"), "{err}");
}

#[test]
fn key_and_manifest_files_are_read_only_when_regular_and_small() {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("k.pem");
    std::fs::write(&pem, spki_pem(&raw_key(1))).unwrap();
    assert_eq!(read_public_key_file(&pem).unwrap(), spki_pem(&raw_key(1)));
    // A link to a regular file is followed.
    let link = dir.path().join("link.pem");
    std::os::unix::fs::symlink(&pem, &link).unwrap();
    assert_eq!(read_public_key_file(&link).unwrap(), spki_pem(&raw_key(1)));
    // A device (endless), a link to one, a directory: refused before any read.
    let zero = dir.path().join("zero.pem");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [Path::new("/dev/zero"), &zero, dir.path()] {
        let error = read_public_key_file(path).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a regular file",
            "{}",
            path.display()
        );
        assert!(read_manifest_text(path).is_err());
    }
    // The bounds: MAX_PEM_LEN bytes are read, one more is refused.
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'\n'; MAX_PEM_LEN as usize]).unwrap();
    assert_eq!(
        read_public_key_file(&big).unwrap().len() as u64,
        MAX_PEM_LEN
    );
    std::fs::write(&big, vec![b'\n'; MAX_PEM_LEN as usize + 1]).unwrap();
    let error = read_public_key_file(&big).unwrap_err();
    assert_eq!(error.to_string(), "larger than 65536 bytes");
    std::fs::write(&big, vec![b'#'; MAX_MANIFEST_LEN as usize + 1]).unwrap();
    assert_eq!(
        read_manifest_text(&big).unwrap_err().to_string(),
        "larger than 1048576 bytes"
    );
    std::fs::write(&big, b"version = 1\n\xff\n").unwrap();
    assert_eq!(
        read_manifest_text(&big).unwrap_err().to_string(),
        "not UTF-8 text"
    );
}
