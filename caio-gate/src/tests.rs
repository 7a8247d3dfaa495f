//! Unit tests of the artifact inspector: the scanner at read boundaries, corrupt and
//! truncated blocks, private keys (PEM and DER, at read boundaries, in containers,
//! bounded), every container format built in memory, every limit, the diff, the gate
//! and the renderings. End-to-end tests on real binaries and archives made by
//! the real `tar`, `gzip` and `zstd` are in `tests/it/gate.rs`.

use std::io::{Cursor, Read, Write as _};
use std::path::{Path, PathBuf};

use caio_keyring::block::{self, DecodeError};
use caio_keyring::{Channel, Fingerprint, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
use ed25519_dalek::SigningKey;

use test_support::run::assert_contains;

use super::*;

const WINDOW: Validity = Validity {
    not_before: 1_700_000_000,
    sign_until: 1_800_000_000,
    not_after: 1_900_000_000,
};

fn key(id: &str, seed: u8, window: Validity) -> TrustedKey {
    let raw = SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes();
    TrustedKey::ed25519(KeyId::new(id).unwrap(), &raw, window).unwrap()
}

fn keyring(serial: u32) -> Keyring {
    Keyring::new(
        serial,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![key("caio-a", 1, WINDOW), key("caio-b", 2, WINDOW)],
        vec![],
    )
    .unwrap()
}

fn block_of(serial: u32) -> Vec<u8> {
    block::encode(&keyring(serial))
}

/// Bytes that hold no magic: a repeating pattern, so offsets are easy to check.
fn filler(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A reader that hands out at most `step` bytes per read, to force short reads.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn inspect_with(bytes: &[u8], limits: Limits, chunk: usize, step: usize) -> Inspection {
    let mut inspector = Inspector::with_chunk(limits, chunk);
    let mut reader = Dribble { data: bytes, step };
    inspector.inspect_reader(Path::new("mem"), &mut reader)
}

/// `bytes` under `limits`, scanned in 4 KiB chunks: the limit tests' inspection.
fn inspect_limited(bytes: &[u8], limits: Limits) -> Inspection {
    inspect_with(bytes, limits, 4096, usize::MAX)
}

fn inspect_bytes(bytes: &[u8]) -> Inspection {
    inspect_with(bytes, Limits::default(), scan::DEFAULT_CHUNK, usize::MAX)
}

/// Each finding as (location, offset, decoded serial or the error).
fn summary(inspection: &Inspection) -> Vec<(String, u64, Result<u32, DecodeError>)> {
    inspection
        .findings
        .iter()
        .map(|f| {
            let decoded = f
                .keyring
                .as_ref()
                .map(Keyring::serial)
                .map_err(Clone::clone);
            (f.location.to_string(), f.offset, decoded)
        })
        .collect()
}

fn check(bytes: &[u8], expected: &[(&str, u64, Result<u32, DecodeError>)]) {
    let inspection = inspect_bytes(bytes);
    assert!(inspection.error.is_none(), "{:?}", inspection.error);
    let expected: Vec<_> = expected
        .iter()
        .map(|(l, o, r)| (l.to_string(), *o, r.clone()))
        .collect();
    assert_eq!(summary(&inspection), expected);
}

fn limit_of(inspection: &Inspection) -> (String, LimitExceeded) {
    match &inspection.error {
        Some(ArtifactError::Limit { location, limit }) => (location.to_string(), *limit),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn binary_with_block(serial: u32) -> Vec<u8> {
    [filler(1000), block_of(serial), filler(500)].concat()
}

// ---- the scanner --------------------------------------------------------------------

#[test]
fn a_block_straddling_any_read_boundary_is_found_whole() {
    let block = block_of(7);
    let limits = Limits {
        max_block_len: 256,
        ..Limits::default()
    };
    for chunk in [15, 16, 31, 100] {
        for step in [1, 7, 64, usize::MAX] {
            for at in (0..400).step_by(13) {
                let bytes = [filler(at), block.clone(), filler(300)].concat();
                let inspection = inspect_with(&bytes, limits, chunk, step);
                assert_eq!(
                    summary(&inspection),
                    vec![("mem".to_owned(), at as u64, Ok(7))],
                    "chunk {chunk}, step {step}, block at {at}"
                );
            }
        }
    }
}

#[test]
fn two_blocks_in_one_stream_are_both_found() {
    let (a, b) = (block_of(1), block_of(2));
    let gap = filler(77);
    let bytes = [filler(10), a.clone(), gap.clone(), b.clone()].concat();
    let second = (10 + a.len() + gap.len()) as u64;
    check(&bytes, &[("mem", 10, Ok(1)), ("mem", second, Ok(2))]);
    // Back to back, and across small chunks.
    let bytes = [a.clone(), b].concat();
    let limits = Limits {
        max_block_len: 256,
        ..Limits::default()
    };
    let inspection = inspect_with(&bytes, limits, 20, 3);
    let expected = vec![
        ("mem".to_owned(), 0, Ok(1)),
        ("mem".to_owned(), a.len() as u64, Ok(2)),
    ];
    assert_eq!(summary(&inspection), expected);
}

#[test]
fn a_block_truncated_at_the_end_of_the_stream_is_corrupt() {
    let block = block_of(3);
    let cut = &block[..block.len() - 10];
    let bytes = [filler(5), cut.to_vec()].concat();
    let inspection = inspect_bytes(&bytes);
    assert!(inspection.error.is_none());
    let [finding] = &inspection.findings[..] else {
        panic!("{:?}", inspection.findings)
    };
    assert_eq!(finding.offset, 5);
    assert!(
        matches!(finding.keyring, Err(DecodeError::BadLength { available, .. }) if available == cut.len()),
        "{:?}",
        finding.keyring
    );
    // Even the bare magic prefix at the very end is a finding.
    let prefix = block::scan_prefix();
    let inspection = inspect_bytes(&[filler(3), prefix.to_vec()].concat());
    assert_eq!(
        summary(&inspection),
        vec![("mem".to_owned(), 3, Err(DecodeError::TooShort { len: 15 }))]
    );
}

#[test]
fn the_magic_with_an_unknown_format_byte_is_corrupt_not_skipped() {
    let mut block = block_of(3);
    block[15] = 2;
    check(
        &[filler(9), block].concat(),
        &[("mem", 9, Err(DecodeError::UnknownFormat { format: 2 }))],
    );
}

#[test]
fn an_altered_byte_is_corrupt() {
    let mut block = block_of(3);
    block[40] ^= 1;
    check(&block, &[("mem", 0, Err(DecodeError::DigestMismatch))]);
}

#[test]
fn bytes_without_the_magic_have_no_finding() {
    check(&filler(100_000), &[]);
    check(&[], &[]);
    // The magic without its first byte, and with its last prefix byte changed.
    let prefix = block::scan_prefix();
    let mut near = prefix.to_vec();
    near[14] ^= 1;
    check(&[prefix[1..].to_vec(), near].concat(), &[]);
}

// ---- containers ---------------------------------------------------------------------

#[test]
fn formats_are_recognised_by_their_leading_bytes() {
    let cases: &[(&[u8], Format)] = &[
        (&[0x1f, 0x8b, 8, 0], Format::Gzip),
        (&[0x28, 0xb5, 0x2f, 0xfd, 0], Format::Zstd),
        (&[0x50, 0x2a, 0x4d, 0x18], Format::Zstd),
        (b"PK\x03\x04", Format::Zip),
        (b"PK\x05\x06", Format::Zip),
        (b"\x7fELF\x02\x01", Format::Elf),
        (&[0xcf, 0xfa, 0xed, 0xfe], Format::MachO),
        (b"MZ\x90\x00", Format::Pe),
        (b"#!/bin/sh\n", Format::Data),
        (b"", Format::Data),
    ];
    for (head, format) in cases {
        assert_eq!(Format::detect(head), *format, "{head:?}");
    }
    assert_eq!(
        Format::detect(&tar(&[("MZ-named-first", b"x")])),
        Format::Tar
    );
}

#[test]
fn blocks_inside_every_container_are_found_with_their_inner_path() {
    let bin = binary_with_block(4);
    let at = 1000;
    let app = tar(&[("usr/bin/caio", &bin), ("README", b"hello")]);
    check(&app, &[("mem!usr/bin/caio", at, Ok(4))]);
    check(&gzip(&app), &[("mem!usr/bin/caio", at, Ok(4))]);
    check(&zstd(&app), &[("mem!usr/bin/caio", at, Ok(4))]);
    check(&gzip(&bin), &[("mem", at, Ok(4))]);
    let wheel = zip(&[("caio/__init__.py", b""), ("caio/bin/caio", &bin)]);
    check(&wheel, &[("mem!caio/bin/caio", at, Ok(4))]);

    // A `docker save` style image: manifest.json, gzip'd layer tarballs under blobs/.
    let layer = gzip(&app);
    let image = tar(&[
        ("manifest.json", br#"[{"Layers":["blobs/sha256/aa"]}]"#),
        ("blobs/sha256/aa", &layer),
        ("blobs/sha256/bb", &gzip(&tar(&[("etc/os-release", b"x")]))),
    ]);
    check(&image, &[("mem!blobs/sha256/aa!usr/bin/caio", at, Ok(4))]);

    // A wheel and the image inside one more tarball, zstd'd.
    let outer = zstd(&tar(&[
        ("dist/caio.whl", &wheel),
        ("dist/image.tar", &image),
    ]));
    check(
        &outer,
        &[
            ("mem!dist/caio.whl!caio/bin/caio", at, Ok(4)),
            ("mem!dist/image.tar!blobs/sha256/aa!usr/bin/caio", at, Ok(4)),
        ],
    );
}

#[test]
fn a_top_level_zip_file_is_read_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("caio-1.0-py3-none-any.whl");
    std::fs::write(&path, zip(&[("caio/bin/caio", &binary_with_block(6))])).unwrap();
    let inspection = inspect(&path, &Limits::default());
    assert!(inspection.error.is_none(), "{:?}", inspection.error);
    let shown = format!("{}!caio/bin/caio", path.display());
    assert_eq!(summary(&inspection), vec![(shown, 1000, Ok(6))]);
}

#[test]
fn member_names_are_shown_as_stored_and_links_are_not_followed() {
    let bin = binary_with_block(4);
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(bin.len() as u64);
    header.set_mode(0o644);
    let name = b"../../escape/caio";
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.set_cksum();
    builder.append(&header, &bin[..]).unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    builder
        .append_link(&mut link, "usr/bin/caio-link", "../../escape/caio")
        .unwrap();
    let bytes = builder.into_inner().unwrap();
    check(&bytes, &[("mem!../../escape/caio", 1000, Ok(4))]);
}

#[test]
fn a_directory_is_walked_in_name_order_without_following_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    std::fs::write(
        dir.path().join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let layer = gzip(&tar(&[("usr/bin/caio", &binary_with_block(8))]));
    std::fs::write(dir.path().join("blobs/sha256/cc"), layer).unwrap();
    std::fs::write(dir.path().join("a-binary"), binary_with_block(9)).unwrap();
    std::os::unix::fs::symlink(dir.path().join("a-binary"), dir.path().join("z-link")).unwrap();
    let inspection = inspect(dir.path(), &Limits::default());
    assert!(inspection.error.is_none(), "{:?}", inspection.error);
    let d = dir.path().display();
    assert_eq!(
        summary(&inspection),
        vec![
            (format!("{d}/a-binary"), 1000, Ok(9)),
            (format!("{d}/blobs/sha256/cc!usr/bin/caio"), 1000, Ok(8)),
        ]
    );
}

#[test]
fn malformed_containers_are_errors_naming_the_format() {
    let app = tar(&[("usr/bin/caio", &binary_with_block(4))]);
    let cases: Vec<(&str, Vec<u8>, Format)> = vec![
        (
            "gzip header, then garbage",
            [vec![0x1f, 0x8b], filler(100)].concat(),
            Format::Gzip,
        ),
        ("truncated gzip", gzip(&app)[..200].to_vec(), Format::Gzip),
        ("truncated zstd", zstd(&app)[..50].to_vec(), Format::Zstd),
        ("truncated tar", app[..700].to_vec(), Format::Tar),
        (
            "zip without its directory",
            zip(&[("a", b"abc")])[..30].to_vec(),
            Format::Zip,
        ),
    ];
    for (what, bytes, format) in cases {
        let inspection = inspect_bytes(&bytes);
        match &inspection.error {
            Some(ArtifactError::Malformed { format: f, .. }) => assert_eq!(*f, format, "{what}"),
            other => panic!("{what}: expected a malformed {format} error, got {other:?}"),
        }
        assert_eq!(
            inspection.error.as_ref().unwrap().code(),
            "malformed_archive"
        );
    }
}

#[test]
fn a_corrupted_gzip_checksum_is_an_error() {
    let mut bytes = gzip(&binary_with_block(4));
    let crc = bytes.len() - 8;
    bytes[crc] ^= 0xff;
    let inspection = inspect_bytes(&bytes);
    assert!(
        matches!(
            inspection.error,
            Some(ArtifactError::Malformed {
                format: Format::Gzip,
                ..
            })
        ),
        "{:?}",
        inspection.error
    );
}

#[test]
fn paths_that_cannot_be_read_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let inspection = inspect(&missing, &Limits::default());
    assert!(matches!(
        inspection.error,
        Some(ArtifactError::Unreadable { .. })
    ));
    assert_eq!(inspection.error.unwrap().code(), "unreadable");
    let inspection = inspect(Path::new("/dev/null"), &Limits::default());
    assert!(matches!(
        inspection.error,
        Some(ArtifactError::NotAFile { .. })
    ));
}

// ---- limits -------------------------------------------------------------------------

#[test]
fn too_many_decompressed_bytes_is_an_error() {
    let bomb = gzip(&vec![0; 1 << 20]);
    let limits = Limits {
        max_unpacked_bytes: 100_000,
        ..Limits::default()
    };
    let inspection = inspect_limited(&bomb, limits);
    assert_eq!(
        limit_of(&inspection),
        ("mem".into(), LimitExceeded::UnpackedBytes { max: 100_000 })
    );
    // The same within the bound passes.
    let limits = Limits {
        max_unpacked_bytes: 1 << 20,
        ..Limits::default()
    };
    assert!(inspect_limited(&bomb, limits).error.is_none());
}

/// A tar of one GNU sparse member named `name`: a hole of `hole` bytes, then `data`
/// (the only bytes stored), as `tar --sparse` writes one (the map in the header).
fn sparse_tar(name: &str, hole: u64, data: &[u8]) -> Vec<u8> {
    let octal = |n: u64| {
        let mut field = [0_u8; 12];
        field[..11].copy_from_slice(format!("{n:011o}").as_bytes());
        field
    };
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::GNUSparse);
    header.set_size(data.len() as u64);
    let gnu = header.as_gnu_mut().unwrap();
    gnu.sparse[0].offset = octal(hole);
    gnu.sparse[0].numbytes = octal(data.len() as u64);
    gnu.realsize = octal(hole + data.len() as u64);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn a_sparse_members_holes_count_as_unpacked_bytes() {
    // 16 KiB in the file, 8 MiB once the reader fills the hole.
    let hole = 8 << 20;
    let block = binary_with_block(6);
    let bytes = sparse_tar("sparse.bin", hole, &block);
    assert!(bytes.len() < 16 << 10, "{}", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.tar");
    std::fs::write(&path, &bytes).unwrap();
    let streamed = |limits| inspect_limited(&bytes, limits);
    let mapped = |limits| Inspector::with_chunk(limits, 4096).inspect(&path);
    for inspect in [&streamed as &dyn Fn(Limits) -> Inspection, &mapped] {
        // Under the bound: the block is found past the hole, where the member holds it.
        let whole = inspect(Limits::default());
        assert!(whole.error.is_none(), "{:?}", whole.error);
        let found = summary(&whole);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.ends_with("!sparse.bin"), "{found:?}");
        assert!(found[0].1 >= hole, "{found:?}");
        assert_eq!(found[0].2, Ok(6));
        // Over it: an error, though the file is a few KiB.
        let limits = Limits {
            max_unpacked_bytes: 1 << 20,
            ..Limits::default()
        };
        let (_, limit) = limit_of(&inspect(limits));
        assert_eq!(limit, LimitExceeded::UnpackedBytes { max: 1 << 20 });
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error() {
    let mut bytes = binary_with_block(4);
    for _ in 0..3 {
        bytes = gzip(&bytes);
    }
    let at = |max_depth| {
        let limits = Limits {
            max_depth,
            ..Limits::default()
        };
        inspect_limited(&bytes, limits)
    };
    assert_eq!(
        limit_of(&at(2)),
        ("mem".into(), LimitExceeded::Depth { max: 2 })
    );
    let inspection = at(3);
    assert!(inspection.error.is_none());
    assert_eq!(inspection.findings.len(), 1);
}

#[test]
fn too_many_entries_is_an_error() {
    let bytes = tar(&[("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4")]);
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let (location, limit) = limit_of(&inspect_limited(&bytes, limits));
    assert_eq!(location, "mem");
    assert_eq!(limit, LimitExceeded::Entries { max: 3 });
}

#[test]
fn tar_headers_over_the_limit_are_an_error() {
    let long = format!("usr/{}/caio", "d".repeat(2000));
    let bytes = tar(&[(long.as_str(), &binary_with_block(4))]);
    let limits = Limits {
        max_tar_header_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        limit_of(&inspect_limited(&bytes, limits)),
        ("mem".into(), LimitExceeded::TarHeaderBytes { max: 1000 })
    );
    // Within the default, the long name is read and shown.
    check(&bytes, &[(&format!("mem!{long}"), 1000, Ok(4))]);
}

#[test]
fn too_many_blocks_is_an_error() {
    let bytes = [block_of(1), block_of(2), block_of(3)].concat();
    let limits = Limits {
        max_findings: 2,
        ..Limits::default()
    };
    let inspection = inspect_limited(&bytes, limits);
    assert_eq!(
        limit_of(&inspection),
        ("mem".into(), LimitExceeded::Findings { max: 2 })
    );
    assert_eq!(inspection.findings.len(), 2, "the findings before are kept");
}

#[test]
fn a_nested_zip_over_the_spill_limit_is_an_error() {
    let wheel = zip(&[("caio/bin/caio", &binary_with_block(4))]);
    let bytes = tar(&[("dist/caio.whl", &wheel)]);
    let limits = Limits {
        max_spill_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        limit_of(&inspect_limited(&bytes, limits)),
        (
            "mem!dist/caio.whl".into(),
            LimitExceeded::SpillBytes { max: 100 }
        )
    );
}

#[test]
fn limit_messages_say_which_field_to_raise() {
    let text = LimitExceeded::Depth { max: 8 }.to_string();
    assert!(
        text.contains("deeper than 8") && text.contains("max_depth"),
        "{text}"
    );
    assert_eq!(Limits::default().max_block_len, 65536);
}

// ---- compare and gate ---------------------------------------------------------------

fn keyring_with(
    serial: u32,
    channel: Channel,
    runtime_override: RuntimeOverride,
    keys: Vec<TrustedKey>,
    revoked: Vec<Fingerprint>,
) -> Keyring {
    Keyring::new(serial, channel, runtime_override, keys, revoked).unwrap()
}

#[test]
fn compare_names_every_difference() {
    let expected = keyring(5);
    assert_eq!(compare(&expected, &keyring(5)), None);

    let longer = Validity {
        not_after: 2_000_000_000,
        ..WINDOW
    };
    let revoked = Fingerprint::from_bytes([0xee; 32]);
    let found = keyring_with(
        6,
        Channel::Development,
        RuntimeOverride::Allow,
        vec![
            key("caio-a", 9, WINDOW),
            key("caio-b", 2, longer),
            key("caio-c", 3, WINDOW),
        ],
        vec![revoked],
    );
    let diff = compare(&expected, &found).unwrap();
    assert_eq!(diff.expected_fingerprint, expected.fingerprint());
    assert_eq!(diff.found_fingerprint, found.fingerprint());
    assert_eq!(
        diff.serial,
        Some(Change {
            expected: 5,
            found: 6
        })
    );
    assert_eq!(
        diff.channel,
        Some(Change {
            expected: Channel::Production,
            found: Channel::Development
        })
    );
    assert_eq!(
        diff.runtime_override.map(|c| c.found),
        Some(RuntimeOverride::Allow)
    );
    let keys: Vec<(&str, &str)> = diff
        .keys
        .iter()
        .map(|k| (k.id().as_str(), k.code()))
        .collect();
    assert_eq!(
        keys,
        [
            ("caio-a", "public_key"),
            ("caio-b", "window"),
            ("caio-c", "added")
        ]
    );
    assert_eq!(diff.revoked_added, [revoked]);

    let fewer = keyring_with(
        5,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![key("caio-a", 1, WINDOW)],
        vec![],
    );
    let diff = compare(&expected, &fewer).unwrap();
    assert!(
        matches!(&diff.keys[..], [KeyDifference::Missing { id, .. }] if id.as_str() == "caio-b")
    );
    assert_eq!(diff.serial, None);
}

fn finding(keyring: Result<Keyring, DecodeError>) -> BlockFinding {
    BlockFinding {
        location: Location {
            file: "dist/image.tar".into(),
            members: vec!["blobs/sha256/aa".into(), "usr/bin/caio".into()],
        },
        offset: 0x40,
        section: None,
        bytes: Vec::new(),
        keyring,
    }
}

fn inspection(findings: Vec<BlockFinding>, error: Option<ArtifactError>) -> Inspection {
    Inspection {
        artifact: "dist/image.tar".into(),
        findings,
        private_keys: Vec::new(),
        private_key_count: 0,
        error,
        stats: Stats::default(),
    }
}

fn verdict(gate: &Gate, findings: Vec<BlockFinding>) -> (Status, Vec<&'static str>) {
    let verdict = gate.judge(inspection(findings, None));
    (verdict.status, verdict.reasons())
}

#[test]
fn the_gate_applies_the_rules() {
    let expected = keyring(5);
    let gate = Gate::against(&expected, "keys/keyring.toml", GateOptions::default());
    let dev = keyring_with(
        5,
        Channel::Development,
        RuntimeOverride::Deny,
        keyring(5).keys().to_vec(),
        vec![],
    );
    let allow = keyring_with(
        5,
        Channel::Production,
        RuntimeOverride::Allow,
        keyring(5).keys().to_vec(),
        vec![],
    );
    let cases: Vec<(Vec<BlockFinding>, Status, Vec<&str>)> = vec![
        (vec![finding(Ok(keyring(5)))], Status::Pass, vec![]),
        (
            vec![finding(Ok(keyring(5))), finding(Ok(keyring(5)))],
            Status::Pass,
            vec![],
        ),
        (vec![], Status::Fail, vec!["no_block"]),
        (
            vec![finding(Err(DecodeError::DigestMismatch))],
            Status::Fail,
            vec!["corrupt_block"],
        ),
        (
            vec![finding(Ok(keyring(5))), finding(Ok(keyring(6)))],
            Status::Fail,
            vec!["mismatch"],
        ),
        (
            vec![finding(Ok(dev.clone()))],
            Status::Fail,
            vec!["mismatch", "development_keyring"],
        ),
        (
            vec![finding(Ok(allow))],
            Status::Fail,
            vec!["mismatch", "development_keyring"],
        ),
    ];
    for (findings, status, reasons) in cases {
        assert_eq!(verdict(&gate, findings), (status, reasons));
    }

    // A development manifest: its own keyring passes only with permission.
    let strict = Gate::against(&dev, "keys/dev.toml", GateOptions::default());
    assert_eq!(
        verdict(&strict, vec![finding(Ok(dev.clone()))]),
        (Status::Fail, vec!["development_keyring"])
    );
    let permissive = Gate::against(
        &dev,
        "keys/dev.toml",
        GateOptions {
            allow_development: true,
        },
    );
    assert_eq!(
        verdict(&permissive, vec![finding(Ok(dev.clone()))]),
        (Status::Pass, vec![])
    );

    // Without a manifest, a block passes when it decodes.
    let inspect = Gate::inspect_only();
    assert_eq!(
        verdict(&inspect, vec![finding(Ok(dev))]),
        (Status::Pass, vec![])
    );
    assert_eq!(verdict(&inspect, vec![]), (Status::Fail, vec!["no_block"]));
}

#[test]
fn an_error_is_never_a_pass_and_the_worst_status_decides() {
    let gate = Gate::against(&keyring(5), "keys/keyring.toml", GateOptions::default());
    let limit = ArtifactError::Limit {
        location: Location::file("dist/image.tar"),
        limit: LimitExceeded::Entries { max: 3 },
    };
    let errored = gate.judge(inspection(vec![finding(Ok(keyring(5)))], Some(limit)));
    assert_eq!(
        (errored.status, errored.reasons()),
        (Status::Error, vec!["limit_exceeded"])
    );
    let failed = gate.judge(inspection(vec![], None));
    let passed = gate.judge(inspection(vec![finding(Ok(keyring(5)))], None));
    assert_eq!(gate.report(vec![]).exit_code(), 2, "no path is an error");
    assert_eq!(
        gate.report(vec![
            gate.judge(inspection(vec![finding(Ok(keyring(5)))], None))
        ])
        .exit_code(),
        0
    );
    let report = gate.report(vec![passed, failed]);
    assert_eq!(report.exit_code(), 1);
    let report = gate.report(vec![errored, gate.judge(inspection(vec![], None))]);
    assert_eq!((report.status(), report.exit_code()), (Status::Error, 2));
}

// ---- renderings ---------------------------------------------------------------------

fn failing_report() -> GateReport {
    let gate = Gate::against(&keyring(5), "keys/keyring.toml", GateOptions::default());
    gate.report(vec![
        gate.judge(inspection(vec![finding(Ok(keyring(6)))], None)),
        gate.judge(Inspection {
            artifact: PathBuf::from("dist/missing, really"),
            findings: vec![],
            private_keys: vec![],
            private_key_count: 0,
            error: Some(ArtifactError::NotAFile {
                path: "dist/missing, really".into(),
            }),
            stats: Stats::default(),
        }),
    ])
}

#[test]
fn github_annotations_name_the_artifact_and_the_manifest_escaped() {
    let lines = failing_report().github_annotations();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "::error file=keys/keyring.toml,title=CAIO keyring gate%3A dist/image.tar%3A mismatch::"
        ),
        "{}",
        lines[0]
    );
    assert_contains(&lines[0], "dist/image.tar!blobs/sha256/aa!usr/bin/caio");
    assert_contains(
        &lines[0],
        "serial: 5 in keys/keyring.toml, 6 in the artifact",
    );
    assert_contains(
        &lines[1],
        "title=CAIO keyring gate%3A dist/missing%2C really%3A unreadable::",
    );
    assert!(lines.iter().all(|l| !l.contains('\n')));
}

#[test]
fn json_and_markdown_carry_every_result() {
    let report = failing_report();
    let json = report.to_json();
    assert_eq!(json["status"], "error");
    assert_eq!(json["exit_code"], 2);
    assert_eq!(json["manifest"]["path"], "keys/keyring.toml");
    let first = &json["artifacts"][0];
    assert_eq!(first["status"], "fail");
    assert_eq!(first["reasons"], serde_json::json!(["mismatch"]));
    let finding = &first["findings"][0];
    assert_eq!(
        finding["location"],
        "dist/image.tar!blobs/sha256/aa!usr/bin/caio"
    );
    assert_eq!(finding["members"][1], "usr/bin/caio");
    assert_eq!(finding["failures"][0]["reason"], "mismatch");
    assert_eq!(
        finding["failures"][0]["differences"][0],
        serde_json::json!({"field": "serial", "expected": 5, "found": 6})
    );
    assert_eq!(json["artifacts"][1]["error"]["code"], "unreadable");

    let markdown = report.markdown_summary();
    assert!(
        markdown.contains("| `dist/image.tar` | ❌ fail |"),
        "{markdown}"
    );
    assert!(markdown.contains("⚠️ error"), "{markdown}");

    let human = report.human();
    assert!(human.contains("FAIL  dist/image.tar: mismatch"), "{human}");
    assert!(
        human.contains("ERROR dist/missing, really: unreadable"),
        "{human}"
    );
    assert!(
        human.contains("2 artifact(s): 0 passed, 1 failed, 1 error(s)"),
        "{human}"
    );
}

#[test]
fn locations_join_members_with_bangs() {
    let location = Location {
        file: "image.tar".into(),
        members: vec!["blobs/sha256/ab".into(), "usr/bin/caio".into()],
    };
    assert_eq!(
        location.to_string(),
        "image.tar!blobs/sha256/ab!usr/bin/caio"
    );
    assert_eq!(Location::file("caio").to_string(), "caio");
}

#[test]
fn results_cross_threads_so_callers_can_inspect_in_parallel() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Inspection>();
    send_sync::<Gate>();
    send_sync::<GateReport>();
    send::<Inspector>();
}

// ---- private keys -------------------------------------------------------------------

/// A seed no report may show, in any form.
const SEED: [u8; 32] = [0x11; 32];

/// The PKCS#8 v1 DER of [`SEED`], as `openssl pkey -outform DER` writes it.
fn pkcs8_v1() -> Vec<u8> {
    [
        &[0x30, 0x2e, 0x02, 0x01, 0x00][..],
        &scan::needles::pkcs8(),
        &SEED,
    ]
    .concat()
}

/// The base64 body of a PEM private key holding [`SEED`].
fn pem_body() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pkcs8_v1())
}

/// A PEM private key under `label`, as `openssl genpkey` writes one.
fn pem_key(label: &str) -> Vec<u8> {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        pem_body()
    )
    .into_bytes()
}

fn pem(label: &str) -> PrivateKeyKind {
    PrivateKeyKind::Pem {
        label: label.to_owned(),
    }
}

fn der(version: Option<u8>) -> PrivateKeyKind {
    PrivateKeyKind::Pkcs8Ed25519 { version }
}

/// Each private key as (location, offset, kind).
fn keys_of(inspection: &Inspection) -> Vec<(String, u64, PrivateKeyKind)> {
    inspection
        .private_keys
        .iter()
        .map(|k| (k.location.to_string(), k.offset, k.kind.clone()))
        .collect()
}

/// A private key expected: (location, offset, kind).
type ExpectedKey<'a> = (&'a str, u64, PrivateKeyKind);

fn check_keys(bytes: &[u8], expected: &[ExpectedKey<'_>]) {
    let inspection = inspect_bytes(bytes);
    assert!(inspection.error.is_none(), "{:?}", inspection.error);
    let expected: Vec<_> = expected
        .iter()
        .map(|(l, o, k)| (l.to_string(), *o, k.clone()))
        .collect();
    assert_eq!(
        keys_of(&inspection),
        expected,
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
    assert_eq!(inspection.private_key_count, expected.len() as u64);
}

#[test]
fn the_needles_are_what_the_masked_constants_say() {
    assert_eq!(scan::needles::pem(), *b"PRIVATE KEY-----");
    assert_eq!(
        scan::needles::pkcs8(),
        [
            0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
        ]
    );
    // One finder serves the magic and the PEM needle: both hold its anchor.
    let (anchor, in_magic, in_pem) = scan::needles::ANCHOR;
    assert_eq!(
        &block::scan_prefix()[in_magic..in_magic + anchor.len()],
        anchor
    );
    assert_eq!(&scan::needles::pem()[in_pem..in_pem + anchor.len()], anchor);
}

#[test]
fn pem_private_keys_are_found_with_their_label() {
    for label in [
        "PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "RSA PRIVATE KEY",
        "DSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ANY PRIVATE KEY",
    ] {
        check_keys(
            &[filler(10), pem_key(label)].concat(),
            &[("mem", 10, pem(label))],
        );
    }
    // A key in a JSON string (a cloud service account file), a CRLF file, the header
    // alone at the very end, a longest label prefix, extra dashes before.
    let json = format!(
        r#"{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n"}}"#,
        pem_body()
    );
    let begin = json.find("-----BEGIN").unwrap() as u64;
    check_keys(json.as_bytes(), &[("mem", begin, pem("PRIVATE KEY"))]);
    let crlf = String::from_utf8(pem_key("EC PRIVATE KEY"))
        .unwrap()
        .replace('\n', "\r\n");
    check_keys(crlf.as_bytes(), &[("mem", 0, pem("EC PRIVATE KEY"))]);
    check_keys(
        b"xyz -----BEGIN PRIVATE KEY-----",
        &[("mem", 4, pem("PRIVATE KEY"))],
    );
    let longest = format!("{} PRIVATE KEY", "A".repeat(39));
    check_keys(
        format!("-----BEGIN {longest}-----").as_bytes(),
        &[("mem", 0, pem(&longest))],
    );
    check_keys(
        b"-------BEGIN RSA PRIVATE KEY-----",
        &[("mem", 2, pem("RSA PRIVATE KEY"))],
    );
    // Two keys, one after the other.
    let two = [pem_key("PRIVATE KEY"), pem_key("OPENSSH PRIVATE KEY")].concat();
    let second = pem_key("PRIVATE KEY").len() as u64;
    check_keys(
        &two,
        &[
            ("mem", 0, pem("PRIVATE KEY")),
            ("mem", second, pem("OPENSSH PRIVATE KEY")),
        ],
    );
}

#[test]
fn public_keys_certificates_and_near_misses_are_not_private_keys() {
    let cases: &[&[u8]] = &[
        b"-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        b"-----BEGIN OPENSSH PUBLIC KEY-----",
        // The label alone, as libraries and messages hold it.
        b"PRIVATE KEY\0ENCRYPTED PRIVATE KEY\0RSA PRIVATE KEY\0-----BEGIN \0-----\0",
        // The end of the header without its start, or with something else before.
        b"PRIVATE KEY-----",
        b"-----END PRIVATE KEY-----",
        b"-----BEGINPRIVATE KEY-----",
        b"-----BEGIN rsa PRIVATE KEY-----",
        b"-----BEGIN RSA-PRIVATE KEY-----",
        b"----BEGIN PRIVATE KEY-----",
        b"-----BEGIN PRIVATE KEY----",
    ];
    for bytes in cases {
        check_keys(bytes, &[]);
    }
    // A label prefix longer than 40 bytes is not looked for.
    let long = format!("-----BEGIN {} PRIVATE KEY-----", "A".repeat(40));
    check_keys(long.as_bytes(), &[]);
}

#[test]
fn der_ed25519_private_keys_are_found_and_public_ones_are_not() {
    let wrapper = scan::needles::pkcs8().to_vec();
    // OneAsymmetricKey (v2): the seed, then the public key as [1] IMPLICIT BIT STRING.
    let public = [&[0x81, 0x21, 0x00][..], &[0x22; 32]].concat();
    let v2 = |len: u8| [&[0x30, len, 0x02, 0x01, 0x01][..], &wrapper, &SEED, &public].concat();
    let cases: Vec<(Vec<u8>, Vec<ExpectedKey<'_>>)> = vec![
        (
            [filler(7), pkcs8_v1(), filler(9)].concat(),
            vec![("mem", 7, der(Some(1)))],
        ),
        (pkcs8_v1(), vec![("mem", 0, der(Some(1)))]),
        (v2(0x51), vec![("mem", 0, der(Some(2)))]),
        (
            [filler(3), v2(0x53)].concat(),
            vec![("mem", 3, der(Some(2)))],
        ),
        // A long-form SEQUENCE length.
        (
            [&[0x30, 0x81, 0x2e, 0x02, 0x01, 0x00][..], &wrapper, &SEED].concat(),
            vec![("mem", 0, der(Some(1)))],
        ),
        // The wrapper alone counts, at its own offset: it is only ever a private key.
        (
            [filler(5), wrapper.clone()].concat(),
            vec![("mem", 5, der(None))],
        ),
        (wrapper.clone(), vec![("mem", 0, der(None))]),
        (
            [&[0x02, 0x01, 0x07][..], &wrapper, &SEED].concat(),
            vec![("mem", 3, der(None))],
        ),
        // A public key's SPKI, and the wrapper cut short, are not.
        (
            [
                &[
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ][..],
                &[0x22; 32],
            ]
            .concat(),
            vec![],
        ),
        (wrapper[..10].to_vec(), vec![]),
        ([&wrapper[1..], &SEED[..]].concat(), vec![]),
    ];
    for (bytes, expected) in cases {
        check_keys(&bytes, &expected);
    }
}

#[test]
fn a_private_key_straddling_any_read_boundary_is_found_once() {
    let limits = Limits {
        max_block_len: 256,
        ..Limits::default()
    };
    let block = block_of(7);
    let key = pem_key("OPENSSH PRIVATE KEY");
    let gap = filler(50);
    let tail = scan::needles::TAIL;
    for chunk in [1, tail + 1, tail + 7, 100, 257] {
        for step in [1, 7, 64, usize::MAX] {
            for at in (0..420).step_by(5) {
                // A block, a PEM key and a DER key, each crossing some boundary.
                let bytes = [
                    filler(at),
                    block.clone(),
                    key.clone(),
                    gap.clone(),
                    pkcs8_v1(),
                    filler(300),
                ]
                .concat();
                let pem_at = (at + block.len()) as u64;
                let der_at = pem_at + (key.len() + gap.len()) as u64;
                let inspection = inspect_with(&bytes, limits, chunk, step);
                let what = format!("chunk {chunk}, step {step}, block at {at}");
                assert!(inspection.error.is_none(), "{what}");
                assert_eq!(
                    summary(&inspection),
                    vec![("mem".to_owned(), at as u64, Ok(7))],
                    "{what}"
                );
                assert_eq!(
                    keys_of(&inspection),
                    vec![
                        ("mem".to_owned(), pem_at, pem("OPENSSH PRIVATE KEY")),
                        ("mem".to_owned(), der_at, der(Some(1))),
                    ],
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn a_private_key_straddling_the_default_chunk_boundary_is_found() {
    // The first read fills the chunk and the block window; the next starts there.
    let boundary = scan::DEFAULT_CHUNK + Limits::default().block_window();
    let key = pem_key("PRIVATE KEY");
    for before in [1, 5, 11, 15, 16, 20, 40, 60, 100] {
        let pem_at = boundary - before;
        let bytes = [filler(pem_at), key.clone()].concat();
        check_keys(&bytes, &[("mem", pem_at as u64, pem("PRIVATE KEY"))]);
        let der_at = boundary - before.min(40);
        let bytes = [filler(der_at), pkcs8_v1()].concat();
        check_keys(&bytes, &[("mem", der_at as u64, der(Some(1)))]);
    }
}

#[test]
fn private_keys_inside_containers_are_found_with_their_inner_path() {
    let key = pem_key("PRIVATE KEY");
    let bin = binary_with_block(4);
    let app = tar(&[
        ("usr/bin/caio", &bin),
        ("etc/caio/private.pem", &key),
        ("etc/caio/private.der", &pkcs8_v1()),
    ]);
    let expected = [
        ("mem!etc/caio/private.pem", 0, pem("PRIVATE KEY")),
        ("mem!etc/caio/private.der", 0, der(Some(1))),
    ];
    check_keys(&app, &expected);
    check_keys(&gzip(&app), &expected);
    check_keys(&zstd(&app), &expected);
    let wheel = zip(&[
        ("caio/bin/caio", &bin),
        ("caio/keys/signing.pem", &[filler(3), key.clone()].concat()),
    ]);
    check_keys(
        &wheel,
        &[("mem!caio/keys/signing.pem", 3, pem("PRIVATE KEY"))],
    );
    // A wheel inside a gzip'd tarball: the nested zip is spilled, then read.
    check_keys(
        &gzip(&tar(&[("dist/caio.whl", &wheel)])),
        &[(
            "mem!dist/caio.whl!caio/keys/signing.pem",
            3,
            pem("PRIVATE KEY"),
        )],
    );
    // The blocks are found beside them, as ever.
    check(&app, &[("mem!usr/bin/caio", 1000, Ok(4))]);
}

#[test]
fn private_keys_beyond_the_bound_are_counted_not_recorded() {
    let many = pem_key("PRIVATE KEY").repeat(1000);
    let limits = Limits {
        max_private_keys: 10,
        ..Limits::default()
    };
    let inspection = inspect_limited(&many, limits);
    assert!(inspection.error.is_none(), "no error: the count says it");
    assert_eq!(inspection.private_keys.len(), 10);
    assert_eq!(inspection.private_key_count, 1000);
    // The bound holds over the whole artifact, not per member.
    let five = pem_key("RSA PRIVATE KEY").repeat(5);
    let app = tar(&[("a.pem", &five), ("b.pem", &five), ("c.pem", &five)]);
    let inspection = inspect_limited(&app, limits);
    assert_eq!(inspection.private_keys.len(), 10);
    assert_eq!(inspection.private_key_count, 15);
    assert_eq!(inspection.private_keys[9].location.to_string(), "mem!b.pem");
}

fn with_keys(mut inspection: Inspection, count: u64) -> Inspection {
    let key = PrivateKeyFinding {
        location: Location {
            file: "dist/image.tar".into(),
            members: vec!["etc/key.pem".into()],
        },
        offset: 0x10,
        kind: pem("PRIVATE KEY"),
    };
    inspection.private_keys = vec![key; count.min(2) as usize];
    inspection.private_key_count = count;
    inspection
}

#[test]
fn a_private_key_fails_the_gate_whatever_the_blocks() {
    let gate = Gate::against(&keyring(5), "keys/keyring.toml", GateOptions::default());
    let permissive = Gate::against(
        &keyring(5),
        "keys/keyring.toml",
        GateOptions {
            allow_development: true,
        },
    );
    let judged = |gate: &Gate, findings: Vec<BlockFinding>, error, keys| {
        let verdict = gate.judge(with_keys(inspection(findings, error), keys));
        (verdict.status, verdict.reasons())
    };
    let good = || vec![finding(Ok(keyring(5)))];
    // (gate, blocks, private keys, status, reasons)
    type Case<'a> = (&'a Gate, Vec<BlockFinding>, u64, Status, Vec<&'a str>);
    let cases: Vec<Case<'_>> = vec![
        (&gate, good(), 0, Status::Pass, vec![]),
        (&gate, good(), 1, Status::Fail, vec!["private_key"]),
        (&gate, good(), 5000, Status::Fail, vec!["private_key"]),
        (&permissive, good(), 1, Status::Fail, vec!["private_key"]),
        (
            &gate,
            vec![],
            1,
            Status::Fail,
            vec!["private_key", "no_block"],
        ),
        (
            &gate,
            vec![finding(Ok(keyring(6)))],
            2,
            Status::Fail,
            vec!["private_key", "mismatch"],
        ),
    ];
    for (gate, findings, keys, status, reasons) in cases {
        assert_eq!(judged(gate, findings, None, keys), (status, reasons));
    }
    // Without a manifest too.
    let inspect = Gate::inspect_only();
    assert_eq!(
        judged(&inspect, good(), None, 1),
        (Status::Fail, vec!["private_key"])
    );
    // An error still outranks it, and both are said.
    let limit = ArtifactError::Limit {
        location: Location::file("dist/image.tar"),
        limit: LimitExceeded::Entries { max: 3 },
    };
    assert_eq!(
        judged(&gate, good(), Some(limit), 1),
        (Status::Error, vec!["limit_exceeded", "private_key"])
    );
    let report = gate.report(vec![gate.judge(with_keys(inspection(good(), None), 1))]);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn private_keys_are_reported_by_place_and_kind_never_by_their_bytes() {
    let bytes = [
        binary_with_block(5),
        pem_key("PRIVATE KEY"),
        pkcs8_v1(),
        pem_key("OPENSSH PRIVATE KEY"),
    ]
    .concat();
    let pem_at = binary_with_block(5).len() as u64;
    let der_at = pem_at + pem_key("PRIVATE KEY").len() as u64;
    let limits = Limits {
        max_private_keys: 2,
        ..Limits::default()
    };
    let mut inspector = Inspector::new(limits);
    let inspected = inspector.inspect_reader(Path::new("dist/caio"), &mut &bytes[..]);
    let gate = Gate::against(&keyring(5), "keys/keyring.toml", GateOptions::default());
    let report = gate.report(vec![gate.judge(inspected)]);
    assert_eq!(report.exit_code(), 1);

    let json = report.to_json();
    let artifact = &json["artifacts"][0];
    assert_eq!(artifact["status"], "fail");
    assert_eq!(artifact["reasons"], serde_json::json!(["private_key"]));
    assert_eq!(artifact["private_key_count"], 3);
    assert_eq!(
        artifact["private_keys"],
        serde_json::json!([
            {"location": "dist/caio", "file": "dist/caio", "members": [], "offset": pem_at,
             "kind": "pem_private_key", "label": "PRIVATE KEY", "pkcs8_version": null},
            {"location": "dist/caio", "file": "dist/caio", "members": [], "offset": der_at,
             "kind": "pkcs8_ed25519_private_key", "label": null, "pkcs8_version": 1},
        ])
    );
    // The existing fields are all there, meaning what they meant: the block passes.
    for field in ["path", "status", "reasons", "error", "stats", "findings"] {
        assert!(artifact.get(field).is_some(), "{field}");
    }
    assert_eq!(artifact["findings"][0]["status"], "pass");
    assert_eq!(json["status"], "fail");
    assert_eq!(json["exit_code"], 1);

    let human = report.human();
    assert!(human.contains("FAIL  dist/caio: private_key\n"), "{human}");
    assert!(
        human.contains(&format!(
            "FAIL dist/caio @ {pem_at:#x}: private key, PEM \"PRIVATE KEY\""
        )),
        "{human}"
    );
    assert!(
        human.contains(&format!(
            "FAIL dist/caio @ {der_at:#x}: private key, DER PKCS#8 v1 Ed25519 private key"
        )),
        "{human}"
    );
    assert!(human.contains("and 1 more private key(s)"), "{human}");
    assert!(human.contains("must never ship"), "{human}");

    let annotations = report.github_annotations();
    assert_eq!(annotations.len(), 3, "{annotations:#?}");
    assert!(annotations.iter().all(|a| a.starts_with(
        "::error file=keys/keyring.toml,title=CAIO keyring gate%3A dist/caio%3A private_key::"
    )));
    assert_contains(&annotations[0], &format!("dist/caio @ {pem_at:#x}"));
    let markdown = report.markdown_summary();
    assert!(
        markdown.contains("private_key: PEM \"PRIVATE KEY\""),
        "{markdown}"
    );

    // No rendering holds the key: not its base64 body or any line of it, not the
    // seed in hex, not the seed's bytes.
    let body = pem_body();
    let seed_hex: String = SEED.iter().map(|b| format!("{b:02x}")).collect();
    let renderings = [
        ("json", serde_json::to_string(&json).unwrap()),
        ("human", human),
        ("annotations", annotations.join("\n")),
        ("markdown", markdown),
    ];
    for (what, text) in renderings {
        for piece in body.as_bytes().chunks(12) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(!text.contains(piece), "{what} holds {piece:?}: {text}");
        }
        assert!(!text.contains(&seed_hex), "{what}");
        assert!(!text.contains(&seed_hex[..16]), "{what}");
        assert!(
            !text.as_bytes().windows(8).any(|w| w == &SEED[..8]),
            "{what}"
        );
    }
}

/// `write_to` routes what every gate command prints: annotations beside text on `out`,
/// or on `err` so that a JSON report stays one document; the step summary appended,
/// and a summary that cannot be appended a warning, never a change of verdict.
#[test]
fn write_to_routes_the_report_the_annotations_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let report = Gate::inspect_only().run(std::slice::from_ref(&missing), &Limits::default());
    let write = |json: bool, github: &GithubEnv| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        report.write_to(json, github, &mut out, &mut err).unwrap();
        (
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let unwritable = GithubEnv {
        annotations: true,
        step_summary: Some(dir.path().join("no-such-dir").join("summary.md")),
    };

    let (out, err) = write(false, &unwritable);
    assert!(
        out.contains(&format!("{}: unreadable", missing.display())),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("::error file=")), "{out}");
    assert!(
        err.contains("warning: cannot append the job summary"),
        "{err}"
    );

    let (out, err) = write(true, &unwritable);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["exit_code"], 2);
    assert!(err.contains("::error file="), "{err}");

    let summary = dir.path().join("summary.md");
    let quiet = GithubEnv {
        annotations: false,
        step_summary: Some(summary.clone()),
    };
    let (out, _) = write(false, &quiet);
    assert!(!out.contains("::error"), "{out}");
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.contains("⚠️ error"), "{table}");
    write(false, &quiet);
    let twice = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(twice.len(), 2 * table.len(), "appended, not replaced");
}

// ---- files read through a map ---------------------------------------------------------

/// Inspects `bytes` written to a file, through the map (`inspect`) and as a stream
/// (`inspect_reader`), and says what each found.
fn mapped_and_streamed(bytes: &[u8], chunk: usize) -> [String; 2] {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("artifact");
    std::fs::write(&path, bytes).unwrap();
    let limits = Limits {
        max_block_len: 256,
        ..Limits::default()
    };
    let describe = |inspection: Inspection| {
        format!(
            "{:?}\n{:?}\n{}\n{:?}\n{:?}",
            summary(&inspection),
            keys_of(&inspection),
            inspection.private_key_count,
            inspection.stats,
            inspection.error.as_ref().map(ArtifactError::code),
        )
    };
    let mapped = describe(Inspector::with_chunk(limits, chunk).inspect(&path));
    let mut file = std::fs::File::open(&path).unwrap();
    let streamed = describe(Inspector::with_chunk(limits, chunk).inspect_reader(&path, &mut file));
    [mapped, streamed]
}

#[test]
fn a_mapped_file_gives_what_its_stream_gives() {
    let block = block_of(7);
    let layer = tar(&[
        ("usr/bin/caio", &binary_with_block(3)),
        ("etc/key.pem", &pem_key("PRIVATE KEY")),
    ]);
    let long_name = "d/".repeat(80) + "caio";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "plain",
            [
                filler(5000),
                block.clone(),
                filler(20),
                pkcs8_v1(),
                filler(3000),
            ]
            .concat(),
        ),
        (
            "tar",
            tar(&[
                ("a", &binary_with_block(1)),
                ("dir/b.der", &pkcs8_v1()),
                ("c", &[]),
            ]),
        ),
        ("tar in tar", tar(&[("layer.tar", &layer), ("z", &block)])),
        (
            "gzip in tar",
            tar(&[("layer.tar.gz", &gzip(&layer)), ("zst", &zstd(&layer))]),
        ),
        (
            "zip in tar",
            tar(&[("w.whl", &zip(&[("bin/caio", &block)]))]),
        ),
        (
            "long names",
            tar(&[(long_name.as_str(), &binary_with_block(2))]),
        ),
        ("truncated tar", {
            let whole = tar(&[("a", &binary_with_block(1))]);
            whole[..whole.len() - 1200].to_vec()
        }),
    ];
    for (name, bytes) in &cases {
        for chunk in [15, 31, 100, scan::DEFAULT_CHUNK] {
            let [mapped, streamed] = mapped_and_streamed(bytes, chunk);
            assert_eq!(mapped, streamed, "{name}, chunk {chunk}");
        }
    }
    // Blocks and keys at every boundary of the mapped windows.
    let key = pem_key("EC PRIVATE KEY");
    for at in (0..400).step_by(7) {
        let bytes = [
            filler(at),
            block.clone(),
            filler(40),
            key.clone(),
            filler(1700),
        ]
        .concat();
        let [mapped, streamed] = mapped_and_streamed(&bytes, 100);
        assert_eq!(mapped, streamed, "at {at}");
    }
}

/// Set in the child process of the truncation test, to the case it runs.
const TRUNCATE_CHILD: &str = "CAIO_GATE_TEST_TRUNCATE_CHILD";

/// The mapped file: a tar of a large member with a block at its end, large enough to be
/// scanned in parts, on several threads, where there are several cores.
fn write_large_tar(path: &Path) {
    let member = [filler(2 * scan::MIN_PART + (8 << 20)), block_of(5)].concat();
    std::fs::write(path, tar(&[("big.bin", &member)])).unwrap();
}

fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_file_truncated_while_mapped_is_an_error_not_a_crash() {
    // A read past the new end of a mapped file raises SIGBUS, which kills a process by
    // default: run each case in a child so that a crash fails this test, not the run.
    for case in ["between-map-and-scan", "during-scan"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::truncated_mapped_file_child",
                "--nocapture",
            ])
            .env(TRUNCATE_CHILD, case)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{case}: {:?}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_contains(&stdout, &format!("truncation case {case} held"));
    }
}

/// The child half of `a_file_truncated_while_mapped_is_an_error_not_a_crash`; does
/// nothing unless that test runs it.
#[test]
fn truncated_mapped_file_child() {
    let Ok(case) = std::env::var(TRUNCATE_CHILD) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("artifact.tar");
    write_large_tar(&path);
    match case.as_str() {
        "between-map-and-scan" => {
            // Deterministic: the file is cut right after it is mapped.
            let target = path.clone();
            mapped::AFTER_MAP
                .with(|hook| *hook.borrow_mut() = Some(Box::new(move || cut(&target, 4096))));
            let inspection = inspect(&path, &Limits::default());
            mapped::AFTER_MAP.with(|hook| hook.borrow_mut().take());
            match &inspection.error {
                Some(ArtifactError::Unreadable { location, source }) => {
                    assert_eq!(location.to_string(), path.display().to_string());
                    assert_contains(&source.to_string(), "shrank");
                }
                other => panic!("expected unreadable, got {other:?}"),
            }
            assert!(inspection.findings.is_empty(), "the block was cut off");
        }
        "during-scan" => {
            // Racing: another thread cuts the file while the gate reads it. Whenever
            // the cut lands, the result is the whole file's or an error, never a pass
            // on part of it, and never a crash.
            let mut errors = 0;
            for delay_us in [0, 500, 2000, 8000, 20_000, 50_000, 200_000] {
                write_large_tar(&path);
                let target = path.clone();
                let cutter = std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_micros(delay_us));
                    cut(&target, 1000);
                });
                let inspection = inspect(&path, &Limits::default());
                cutter.join().unwrap();
                match &inspection.error {
                    None => assert_eq!(summary(&inspection).len(), 1),
                    Some(e) => {
                        assert!(
                            ["unreadable", "malformed_archive"].contains(&e.code()),
                            "{e}"
                        );
                        errors += 1;
                        println!("cut after {delay_us} us: {}", e.code());
                    }
                }
            }
            println!("{errors} of 7 scans were cut short");
        }
        other => panic!("unknown case {other}"),
    }
    println!("truncation case {case} held");
}

/// What the scanner's callbacks saw, kept as `archive.rs` keeps it: every magic hit
/// until `max_hits` (the next one stops the scan), the first `max_keys` private keys
/// and the count of all of them.
#[derive(Debug, PartialEq)]
struct Seen {
    hits: Vec<(u64, Vec<u8>)>,
    keys: Vec<(u64, PrivateKeyKind)>,
    key_count: u64,
    /// Bytes scanned, or `None` when the hit limit stopped the scan.
    scanned: Option<u64>,
}

/// Scans `bytes` as one slice, or in `parts` parts when `parts > 1`.
fn scan_seen(bytes: &[u8], chunk: usize, parts: usize, max_hits: usize, max_keys: usize) -> Seen {
    let mut scanner = scan::Scanner::new(600, chunk);
    let mut hits = Vec::new();
    let mut keys = Vec::new();
    let mut key_count = 0;
    let mut on_hit = |offset: u64, window: &[u8]| {
        if hits.len() >= max_hits {
            return Err(());
        }
        hits.push((offset, window.to_vec()));
        Ok(())
    };
    let mut on_key = |offset: u64, hit: scan::KeyHit<'_>| {
        key_count += 1;
        if keys.len() < max_keys {
            keys.push((offset, PrivateKeyKind::from(hit)));
        }
    };
    let scanned = if parts > 1 {
        let bounds = scan::PartBounds { max_hits, max_keys };
        let release = |from: usize, upto: usize| assert!(from <= upto && upto <= bytes.len());
        scanner.scan_slice_parts(bytes, parts, bounds, &release, &mut on_hit, &mut on_key)
    } else {
        scanner.scan_slice(bytes, &mut |_| {}, &mut on_hit, &mut on_key)
    };
    let scanned = scanned.ok();
    Seen {
        hits,
        keys,
        key_count,
        scanned,
    }
}

/// A scan in parts (each on its own thread, as `caio-verify check` scans a large mapped
/// file) shows the callbacks exactly what one scan shows them, in order: blocks, PEM and
/// DER keys on every side of every cut and straddling it, under every bound (hits
/// stopping the scan in any part, keys kept or only counted).
#[test]
fn a_scan_in_parts_sees_what_one_scan_sees() {
    let block = block_of(3);
    let pem = pem_key("PRIVATE KEY");
    let der = pkcs8_v1();
    let len: usize = 9000;
    let mut cases = 0;
    for parts in [2, 3, 4, 7] {
        let step = len.div_ceil(parts);
        for (straddler, delta) in [&block, &pem, &der]
            .into_iter()
            .flat_map(|needle| (0..needle.len() + 60).step_by(11).map(move |d| (needle, d)))
        {
            let mut bytes = filler(len);
            // Around every cut: one needle across it (or just before or after it), the
            // others well before and after it.
            for cut in (1..parts).map(|i| i * step) {
                for (needle, at) in [
                    (straddler, (cut + 30).saturating_sub(delta)),
                    (&block, cut - 500),
                    (&pem, cut + 300),
                    (&der, cut - 800),
                ] {
                    if at + needle.len() <= len {
                        bytes[at..at + needle.len()].copy_from_slice(needle);
                    }
                }
            }
            // And at the very start and end.
            bytes[..der.len()].copy_from_slice(&der);
            bytes[len - block.len() + 9..].copy_from_slice(&block[..block.len() - 9]);
            for chunk in [1, 100, 1000] {
                for (max_hits, max_keys) in [(usize::MAX, usize::MAX), (0, 0), (1, 1), (2, 3)] {
                    let one = scan_seen(&bytes, chunk, 1, max_hits, max_keys);
                    let split = scan_seen(&bytes, chunk, parts, max_hits, max_keys);
                    assert_eq!(
                        split, one,
                        "{parts} parts, delta {delta}, chunk {chunk}, bounds {max_hits}/{max_keys}"
                    );
                    cases += 1;
                }
            }
            let all = scan_seen(&bytes, 1000, 1, usize::MAX, usize::MAX);
            assert!(
                all.hits.len() >= parts,
                "{parts} parts, delta {delta}: {all:?}"
            );
            assert!(
                all.key_count >= 2 * parts as u64 - 1,
                "{parts}, {delta}: {all:?}"
            );
        }
    }
    // More blocks (and keys) in the last part alone than the bounds allow: the limit
    // trips, and the keys past it are counted as one scan counts them.
    let mut bytes = filler(len);
    for at in [6500, 7100, 7700, 8300] {
        bytes[at..at + block.len()].copy_from_slice(&block);
        bytes[at + 300..at + 300 + der.len()].copy_from_slice(&der);
    }
    for parts in [2, 3, 4] {
        for (max_hits, max_keys) in [(2, 1), (3, 0), (4, 2), (5, 9)] {
            let one = scan_seen(&bytes, 100, 1, max_hits, max_keys);
            assert_eq!(one.scanned.is_none(), max_hits < 4, "{one:?}");
            let split = scan_seen(&bytes, 100, parts, max_hits, max_keys);
            assert_eq!(split, one, "{parts} parts, bounds {max_hits}/{max_keys}");
        }
    }
    assert!(cases > 500);
}

/// A part whose thread the system refuses is scanned on the calling thread, after the
/// first part: the callbacks still see what one scan shows them, in order, and no
/// error comes of it.
#[test]
fn a_part_refused_a_thread_is_scanned_inline_and_sees_what_one_scan_sees() {
    let block = block_of(3);
    let der = pkcs8_v1();
    let pem = pem_key("PRIVATE KEY");
    let len: usize = 9000;
    let mut bytes = filler(len);
    // Needles in every part of every split below, some across a cut.
    for (at, needle) in [
        (0, &der),
        (1490, &block),
        (2240, &pem),
        (2990, &der),
        (4480, &block),
        (5990, &pem),
        (7500, &block),
        (8300, &der),
    ] {
        bytes[at..at + needle.len()].copy_from_slice(needle);
    }
    let refused = |parts, max_hits, max_keys| {
        scan::REFUSE_THREADS.set(true);
        let seen = scan_seen(&bytes, 100, parts, max_hits, max_keys);
        scan::REFUSE_THREADS.set(false);
        seen
    };
    for parts in [2, 3, 7] {
        for (max_hits, max_keys) in [(usize::MAX, usize::MAX), (0, 0), (2, 1), (3, 9)] {
            let one = scan_seen(&bytes, 100, 1, max_hits, max_keys);
            assert_eq!(
                refused(parts, max_hits, max_keys),
                one,
                "{parts} parts, bounds {max_hits}/{max_keys}"
            );
        }
    }
    let all = scan_seen(&bytes, 100, 1, usize::MAX, usize::MAX);
    assert_eq!((all.hits.len(), all.key_count), (3, 5), "{all:?}");
}
