//! Hostile archives against the gate: a gzip bomb, a huge zip entry, tar nested 40
//! deep, a truncated gzip, 100,000 tiny entries, links and `../` names. Each run ends
//! with exit 1 or 2, never 0, without a panic, and within bounded memory (peak RSS
//! read by `/usr/bin/time`, asserted well under 256 MiB). No assertion is made on time.

use std::io::Write as _;
use std::path::Path;

use xshell::cmd;

use crate::fixture;
use crate::support::shell;

/// Peak RSS allowed for one gate run, in KiB.
const MAX_RSS_KIB: u64 = 128 * 1024;

/// Runs `caio-verify check PATH --manifest M` under `/usr/bin/time`; returns the exit
/// code, the peak RSS in KiB and the output.
fn gate(path: &Path) -> (i32, u64, String) {
    let f = fixture();
    let sh = shell();
    let (exe, manifest) = (&f.exe, &f.manifest);
    let out = cmd!(
        sh,
        "/usr/bin/time -f %M {exe} check {path} --manifest {manifest}"
    )
    .quiet()
    .ignore_status()
    .output()
    .expect("run the gate");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure in: {stderr}"));
    let text = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    (out.status.code().unwrap_or(-1), rss, text)
}

fn check(path: &Path, allowed_codes: &[i32], expect_in_output: &str) {
    let (code, rss, text) = gate(path);
    assert!(!text.contains("panicked"), "{text}");
    assert!(allowed_codes.contains(&code), "exit {code}: {text}");
    assert!(rss < MAX_RSS_KIB, "peak RSS {rss} KiB: {text}");
    assert!(
        text.contains(expect_in_output),
        "{expect_in_output:?} not in: {text}"
    );
}

/// Writes `bytes` as `name` in a temporary directory and [`check`]s it: the output
/// must name the file.
fn check_bytes(name: &str, bytes: &[u8], allowed_codes: &[i32]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    check(&path, allowed_codes, name);
}

fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_path(name).unwrap_or_else(|_| {
            // `set_path` refuses `..`; write the name bytes directly, as a hostile tool would.
            let raw = &mut header.as_old_mut().name;
            raw.fill(0);
            raw[..name.len()].copy_from_slice(name.as_bytes());
        });
        header.set_cksum();
        builder.append(&header, *data).expect("append");
    }
    builder.into_inner().expect("tar")
}

#[test]
fn gzip_bomb_of_a_gib_of_zeros() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sh = shell();
    let zeros = dir.path().join("bomb");
    // A sparse GiB of zeros, squeezed by the real gzip to about a MiB.
    std::fs::File::create(&zeros)
        .and_then(|f| f.set_len(1 << 30))
        .expect("sparse file");
    cmd!(sh, "gzip -1 {zeros}").quiet().run().expect("gzip");
    check(&dir.path().join("bomb.gz"), &[1, 2], "bomb.gz");
}

#[test]
fn zip_with_one_entry_of_300_mib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sh = shell();
    let path = dir.path().join("big.whl");
    // Python's zipfile (C zlib) writes the 300 MiB entry quickly; the test's own
    // unoptimized build would not.
    let script = "import sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n\
        \x20   with z.open('caio/big.bin', 'w', force_zip64=True) as f:\n\
        \x20       chunk = bytes([0x5a]) * (1 << 20)\n\
        \x20       for _ in range(300): f.write(chunk)\n";
    cmd!(sh, "python3 -c {script} {path}")
        .quiet()
        .run()
        .expect("python3 zipfile");
    check(&path, &[1, 2], "big.whl");
}

#[test]
fn tar_nested_40_deep_is_over_the_depth_limit() {
    let mut inner = tar_of(&[("leaf.txt", b"hello")]);
    for level in 0..40 {
        let name = format!("level{level}.tar");
        inner = tar_of(&[(name.as_str(), inner.as_slice())]);
    }
    check_bytes("deep.tar", &inner, &[2]);
}

#[test]
fn truncated_gzip_is_malformed() {
    let exe = std::fs::read(&fixture().exe).expect("binary");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_of(&[("usr/bin/caio-verify", &exe)]))
        .expect("gzip");
    let mut bytes = gz.finish().expect("finish");
    bytes.truncate(bytes.len() / 2);
    check_bytes("cut.tar.gz", &bytes, &[2]);
}

#[test]
fn a_hundred_thousand_tiny_entries() {
    let names: Vec<String> = (0..100_000).map(|i| format!("f/{i}")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    check_bytes("many.tar", &tar_of(&entries), &[1, 2]);
}

#[test]
fn links_and_dot_dot_names_are_reported_not_followed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sh = shell();
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("usr/bin")).expect("dirs");
    std::os::unix::fs::symlink("/etc/passwd", root.join("usr/bin/caio-link")).expect("link");
    std::os::unix::fs::symlink(&fixture().exe, root.join("usr/bin/caio-verify")).expect("link");
    let tarball = dir.path().join("links.tar");
    cmd!(sh, "tar -C {root} -cf {tarball} usr")
        .quiet()
        .run()
        .expect("tar");
    // The real binary is only behind a link: the gate must not follow it, so no block.
    check(&tarball, &[1], "links.tar");

    check_bytes(
        "escape.tar",
        &tar_of(&[("../../etc/caio", b"not a binary")]),
        &[1],
    );
}
