//! The release directory (`dist/`): what may be in it before a release, and writing one.
//!
//! A release writes the binaries (mode 0755), the wheel and the image archive (0644, by
//! [`copy_artifact`]: each is one file, so the rules below hold for them unchanged),
//! `SHA256SUMS` (`sha256sum` format, one `<hex>  <name>` line per file, by name),
//! `release.intoto.json` and, when signed, `release.intoto.jsonl` (its DSSE envelope);
//! nothing else, and no timestamp in any of them. The directory must be missing, empty,
//! or hold only a previous release: the files its `SHA256SUMS` names, `SHA256SUMS`,
//! `release.intoto.json` and `release.intoto.jsonl`. Those are replaced; anything else
//! makes the release stop before building, so it never deletes a file it did not write.
//! Each file is written through a temporary file and renamed into place, and the
//! envelope, `SHA256SUMS` and the statement come last, so an interrupted release never
//! leaves a directory that checks out. `SHA256SUMS` lists the released files only: the
//! envelope carries its own proof.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest as _, Sha256};

use super::build::Binary;
use super::statement::{Digest, Statement, Subject};
use crate::fsutil;

/// The checksum file.
pub const SUMS: &str = "SHA256SUMS";

/// The release statement.
pub const STATEMENT: &str = "release.intoto.json";

/// The signed statement (a DSSE envelope, one JSON line), written by `release --sign`.
pub const ENVELOPE: &str = "release.intoto.jsonl";

/// The files of a previous release found in the directory, to be replaced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Previous {
    files: Vec<PathBuf>,
}

/// Checks that `out` may receive a release; returns the previous release's files.
pub fn prepare(out: &Path) -> Result<Previous> {
    let entries = match fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Previous::default()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot use {} as the release directory", out.display()));
        }
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", out.display()))?;
        names.insert(entry.file_name().to_string_lossy().into_owned());
    }
    let mut ours: BTreeSet<String> = [SUMS, STATEMENT, ENVELOPE].map(str::to_owned).into();
    if names.contains(SUMS) {
        let sums = fs::read_to_string(out.join(SUMS))
            .with_context(|| format!("cannot read {}", out.join(SUMS).display()))?;
        ours.extend(sums.lines().filter_map(sums_name).map(str::to_owned));
    }
    let strays: Vec<&String> = names.iter().filter(|n| !ours.contains(*n)).collect();
    if !strays.is_empty() {
        let list: Vec<&str> = strays.iter().map(|s| s.as_str()).collect();
        bail!(
            "{} holds files that no release wrote ({}); release writes only into a missing \
             or empty directory or over a previous release: move them away or pass another --out",
            out.display(),
            list.join(", ")
        );
    }
    Ok(Previous {
        files: names.into_iter().map(|n| out.join(n)).collect(),
    })
}

/// Removes the previous release and copies `binaries` into `out` (mode 0755), hashing
/// each copy as it is written: the subjects of the statement.
pub fn copy_binaries(out: &Path, previous: &Previous, binaries: &[Binary]) -> Result<Vec<Subject>> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // The sums and the statement go first: a half-replaced release never checks out.
    let mut old: Vec<&PathBuf> = previous.files.iter().collect();
    old.sort_by_key(|p| !is_listing(p));
    for file in old {
        match fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove {}", file.display()));
            }
            _ => {}
        }
    }
    let mut subjects = Vec::new();
    for binary in binaries {
        let name = binary.file_name()?;
        let sha256 = copy_hashed(&binary.path, &out.join(&name), 0o755)?;
        subjects.push(Subject {
            name,
            digest: Digest { sha256 },
        });
    }
    fsutil::sync_dir(out)?;
    Ok(subjects)
}

/// Copies one more release file (the wheel, the image archive) from `from` into `out` as
/// `name`, with permission bits `mode`, after [`copy_binaries`]; returns its subject.
pub fn copy_artifact(out: &Path, from: &Path, name: &str, mode: u32) -> Result<Subject> {
    let sha256 = copy_hashed(from, &out.join(name), mode)?;
    Ok(Subject {
        name: name.to_owned(),
        digest: Digest { sha256 },
    })
}

/// Writes the envelope (when the release is signed), `SHA256SUMS` and the statement,
/// last; returns every file name written.
pub fn write_listings(
    out: &Path,
    subjects: &[Subject],
    statement: &Statement,
    envelope: Option<&str>,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = subjects.iter().map(|s| s.name.clone()).collect();
    if let Some(envelope) = envelope {
        fsutil::write_atomic(&out.join(ENVELOPE), envelope.as_bytes())?;
        names.push(ENVELOPE.to_owned());
    }
    fsutil::write_atomic(&out.join(SUMS), sha256sums(subjects).as_bytes())?;
    fsutil::write_atomic(&out.join(STATEMENT), statement.to_json()?.as_bytes())?;
    names.extend([SUMS.to_owned(), STATEMENT.to_owned()]);
    Ok(names)
}

/// `SHA256SUMS` text: `<hex>  <name>` per subject, by name, as `sha256sum` prints it.
pub fn sha256sums(subjects: &[Subject]) -> String {
    let mut lines: Vec<String> = subjects
        .iter()
        .map(|s| format!("{}  {}\n", s.digest.sha256, s.name))
        .collect();
    lines.sort_by(|a, b| a.get(66..).cmp(&b.get(66..)));
    lines.concat()
}

/// The file name of a `SHA256SUMS` line (`<hex>  <name>` or binary mode
/// `<hex> *<name>`), if it is one.
fn sums_name(line: &str) -> Option<&str> {
    let (hex, rest) = line.split_once(' ')?;
    let name = rest.strip_prefix(' ').or_else(|| rest.strip_prefix('*'))?;
    (hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && !name.is_empty()
        && !name.contains('/'))
    .then_some(name)
}

fn is_listing(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == SUMS || n == STATEMENT || n == ENVELOPE)
}

/// Copies `from` to `to` through a temporary file beside `to`, with permission bits
/// `mode`, and returns the hex SHA-256 of the bytes written.
fn copy_hashed(from: &Path, to: &Path, mode: u32) -> Result<String> {
    let dir = fsutil::parent_dir(to);
    let mut source = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let digest = read_hashed(&mut source, from, |chunk| {
        tmp.write_all(chunk)
            .with_context(|| format!("cannot write a temporary file for {}", to.display()))
    })?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temporary file for {}", to.display()))?;
    tmp.persist(to)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(digest)
}

/// Reads `source` (the file at `path`) to its end in 1 MiB chunks, handing each to
/// `each`, and returns the lowercase hex SHA-256 of what it read.
pub(super) fn read_hashed(
    source: &mut File,
    path: &Path,
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = source
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        hasher.update(chunk);
        each(chunk)?;
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str, byte: u8) -> Subject {
        Subject {
            name: name.to_owned(),
            digest: Digest {
                sha256: hex::encode([byte; 32]),
            },
        }
    }

    #[test]
    fn sums_are_sha256sum_lines_by_name() {
        let sums = sha256sums(&[subject("zeta", 1), subject("alpha", 2)]);
        assert_eq!(
            sums,
            format!("{}  alpha\n{}  zeta\n", "02".repeat(32), "01".repeat(32))
        );
        for line in sums.lines() {
            assert!(sums_name(line).is_some(), "{line}");
        }
    }

    #[test]
    fn sums_lines_name_their_files() {
        let hex = "ab".repeat(32);
        let check =
            |line: &str, expected: Option<&str>| assert_eq!(sums_name(line), expected, "{line}");
        check(&format!("{hex}  caio-verify"), Some("caio-verify"));
        check(&format!("{hex} *caio-verify.exe"), Some("caio-verify.exe"));
        check(&format!("{hex} caio-verify"), None);
        check(&format!("{hex}  ../etc/passwd"), None);
        check(&format!("{}  short", "ab"), None);
        check("", None);
    }

    #[test]
    fn only_a_missing_empty_or_released_directory_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        assert_eq!(prepare(&out).unwrap(), Previous::default());
        fs::create_dir(&out).unwrap();
        assert_eq!(prepare(&out).unwrap(), Previous::default());

        fs::write(out.join("caio-verify"), b"old").unwrap();
        let error = format!("{:#}", prepare(&out).unwrap_err());
        assert!(error.contains("caio-verify"), "{error}");

        fs::write(out.join(SUMS), sha256sums(&[subject("caio-verify", 1)])).unwrap();
        fs::write(out.join(STATEMENT), "{}").unwrap();
        fs::write(out.join(ENVELOPE), "{}\n").unwrap();
        let previous = prepare(&out).unwrap();
        assert_eq!(previous.files.len(), 4);

        fs::write(out.join("notes.txt"), b"mine").unwrap();
        let error = format!("{:#}", prepare(&out).unwrap_err());
        assert!(
            error.contains("notes.txt") && !error.contains("caio-verify,"),
            "{error}"
        );

        let file = dir.path().join("file");
        fs::write(&file, b"").unwrap();
        assert!(prepare(&file).is_err());
    }

    #[test]
    fn a_release_replaces_the_previous_one_and_hashes_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("dist");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("old-tool"), b"old").unwrap();
        fs::write(out.join(SUMS), sha256sums(&[subject("old-tool", 1)])).unwrap();
        let previous = prepare(&out).unwrap();

        let exe = dir.path().join("caio-verify");
        fs::write(&exe, b"new binary").unwrap();
        let binary = Binary {
            package: "caio-verify".to_owned(),
            bin: "caio-verify".to_owned(),
            path: exe,
        };
        let subjects = copy_binaries(&out, &previous, &[binary]).unwrap();
        assert_eq!(subjects.len(), 1);
        assert_eq!(
            subjects[0].digest.sha256,
            hex::encode(Sha256::digest(b"new binary"))
        );
        let left: BTreeSet<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, BTreeSet::from(["caio-verify".to_owned()]));
        let mode = fs::metadata(out.join("caio-verify"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }
}
