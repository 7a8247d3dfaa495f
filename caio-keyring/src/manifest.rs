//! `keys/keyring.toml` and the PEM files it names: reading, every check, and the
//! [`Keyring`] it describes.
//!
//! This is the only place that reads the manifest format, so the macro, the gate and the
//! operator commands cannot disagree about what a manifest means. Every error names the
//! file, the line where the manifest has one, the key and the field. Checks on one key
//! do not stop the checks on the others: a build shows every mistake at once.
//!
//! Not here: policy checks that depend on the current time (lifetimes, overlap, the
//! bricking horizon) and editing; those belong to the operator commands.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use spki::der::Decode;
use toml::Spanned;
use toml::value::{Datetime, Offset};

use crate::fingerprint::{ED25519_SPKI_PREFIX, Fingerprint, FingerprintParseError};
use crate::keyring::{
    Algorithm, Channel, KeyId, KeyIdError, Keyring, KeyringError, OPEN_END, PublicKeyError,
    RuntimeOverride, TrustedKey, Validity, ed25519_public_key,
};

/// The manifest format this crate reads (`version = 1`).
pub const MANIFEST_VERSION: i64 = 1;

/// The largest manifest read: 1 MiB. One with the 32 keys a keyring holds at most is a
/// few kilobytes.
pub const MAX_MANIFEST_LEN: u64 = 1 << 20;

/// The largest public key file read: 64 KiB. An Ed25519 SPKI PEM is about 113 bytes.
pub const MAX_PEM_LEN: u64 = 64 << 10;

/// The manifest's text at `path`: a regular file (see [`read_public_key_file`]) of at
/// most [`MAX_MANIFEST_LEN`] bytes of UTF-8.
pub fn read_manifest_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_regular_file(path, MAX_MANIFEST_LEN)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The bytes of a public key file a manifest names: a regular file (a symlink is
/// followed) of at most [`MAX_PEM_LEN`] bytes. Anything else (a device such as
/// `/dev/zero`, a FIFO, a directory, a larger file) is an error, so that no manifest
/// makes its reader (a command, the build's macro) block or read without end: the
/// manifest and its key files are reviewed text in a repository, where a symlink to
/// `/dev/zero` is one line of a change.
pub fn read_public_key_file(path: &Path) -> io::Result<Vec<u8>> {
    read_regular_file(path, MAX_PEM_LEN)
}

/// The regular file at `path` ([`crate::file::open_regular`]), refused past `max` bytes.
fn read_regular_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = crate::file::open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// The OID of Ed25519 (RFC 8410).
const ED25519_OID: &str = "1.3.101.112";

/// A checked manifest: every key read, every fingerprint recomputed, the keyring built.
#[derive(Debug, Clone)]
pub struct Manifest {
    path: PathBuf,
    serial: u32,
    channel: Channel,
    policy: Policy,
    keys: Vec<ManifestKey>,
    keyring: Keyring,
    inputs: Vec<PathBuf>,
}

/// The optional `[policy]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// `keys check` fails a signing window longer than this.
    pub max_key_lifetime_days: Option<u32>,
    /// A rotation must leave at least this much dual-key time.
    pub min_overlap_days: Option<u32>,
    /// Builds must keep verifying this long after release.
    pub support_window_days: Option<u32>,
    /// What a binary does with `CAIO_LICENSE_PUBLIC_KEY`.
    pub runtime_override: RuntimeOverride,
}

/// Whether a key is embedded or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStatus {
    /// Embedded and trusted within its windows.
    #[default]
    Active,
    /// Never embedded; its fingerprint is embedded in the revoked list.
    Revoked,
}

/// One `[[key]]` entry, checked.
#[derive(Debug, Clone)]
pub struct ManifestKey {
    /// The label.
    pub id: KeyId,
    /// The algorithm (always Ed25519 in format 1).
    pub algorithm: Algorithm,
    /// The `public_key` value: a bare file name inside the manifest's directory.
    pub public_key_file: String,
    /// The PEM's path as read.
    pub pem_path: PathBuf,
    /// The fingerprint, recomputed from the PEM and equal to the stated one.
    pub fingerprint: Fingerprint,
    /// The raw 32 public key bytes.
    pub raw_public_key: [u8; 32],
    /// The windows, with defaults applied.
    pub validity: Validity,
    /// Whether `sign_until` was written (rather than defaulted to `not_after`).
    pub sign_until_explicit: bool,
    /// Active or revoked.
    pub status: KeyStatus,
    /// The line of the key's `id` in the manifest.
    pub line: usize,
}

/// One problem in a manifest, with where it is.
#[derive(Debug)]
pub struct ManifestError {
    /// The file at fault: the manifest, or a PEM it names.
    pub file: PathBuf,
    /// The 1-based line in the manifest, when known.
    pub line: Option<usize>,
    /// The id of the key at fault, when the problem is in a key.
    pub key: Option<String>,
    /// The field at fault, when there is one.
    pub field: Option<&'static str>,
    /// The file the field names, when the problem is in it (a PEM file).
    pub named_file: Option<PathBuf>,
    /// What is wrong.
    pub kind: ManifestErrorKind,
}

/// Where in a manifest a problem is, as every message about one starts:
/// `keys/keyring.toml:12: key "caio-2026-01"`. The manifest's errors and the policy
/// findings of the operator commands name their places through it, so they read alike.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The file at fault: the manifest, or a file beside it.
    pub file: &'a Path,
    /// The 1-based line in the manifest, when known.
    pub line: Option<usize>,
    /// The id of the key at fault, when the problem is in a key.
    pub key: Option<&'a str>,
}

/// Every problem found in a manifest; never empty.
#[derive(Debug)]
pub struct ManifestErrors(pub Vec<ManifestError>);

/// What is wrong with a manifest.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// The file cannot be read.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// Not TOML, a field of the wrong type, an unknown field, a missing field.
    #[error("{0}")]
    Toml(String),
    /// A `version` this reader does not know.
    #[error("version {0} is not supported; this toolchain reads version 1")]
    UnsupportedVersion(i64),
    /// A bad key id.
    #[error("{0}")]
    Id(#[from] KeyIdError),
    /// `public_key` is not a bare file name.
    #[error("{0:?} is not a bare file name inside keys/; no directories, no absolute paths")]
    PublicKeyPath(String),
    /// The PEM file cannot be read.
    #[error("cannot read the public key file: {0}")]
    PemRead(#[source] io::Error),
    /// The file has no PEM header at all.
    #[error("not a PEM file: no `-----BEGIN PUBLIC KEY-----` line")]
    NoPemHeader,
    /// The file looks like PEM but does not parse.
    #[error("not a valid PEM file: {0}")]
    NotPem(pem_rfc7468::Error),
    /// A private key where a public key belongs.
    #[error(
        "holds a private key ({label}); only the public half belongs in keys/; move the private key out now and treat it as exposed"
    )]
    PrivateKey {
        /// The PEM label.
        label: String,
    },
    /// A PEM of another kind.
    #[error("PEM label is {label:?}, expected \"PUBLIC KEY\" (an SPKI public key)")]
    NotPublicKey {
        /// The PEM label.
        label: String,
    },
    /// The DER is not a SubjectPublicKeyInfo.
    #[error("not a SubjectPublicKeyInfo: {0}")]
    NotSpki(String),
    /// A key of another algorithm.
    #[error("the key's algorithm is {oid}, only Ed25519 ({ED25519_OID}) is supported")]
    NotEd25519 {
        /// The algorithm OID found.
        oid: String,
    },
    /// The algorithm field names another algorithm.
    #[error("algorithm {0:?} is not supported; use \"ed25519\"")]
    Algorithm(String),
    /// The fingerprint is not `sha256:<64 lowercase hex>`.
    #[error("{0}")]
    FingerprintSyntax(#[from] FingerprintParseError),
    /// The stated fingerprint is not the PEM's.
    #[error("{stated} does not match the public key file, whose fingerprint is {computed}")]
    FingerprintMismatch {
        /// What the manifest says.
        stated: Fingerprint,
        /// What the PEM hashes to.
        computed: Fingerprint,
    },
    /// A weak or invalid public key.
    #[error("{0}")]
    PublicKey(#[from] PublicKeyError),
    /// An instant that is not an offset date-time with whole seconds.
    #[error("{0} is not an offset date-time with whole seconds, like 2026-01-17T00:00:00Z")]
    Instant(String),
    /// Windows out of order.
    #[error("windows out of order: need not_before <= sign_until <= not_after")]
    WindowOrder,
    /// The keys do not make a keyring.
    #[error("{0}")]
    Keyring(#[from] KeyringError),
}

impl Manifest {
    /// Reads and checks the manifest at `path` and every PEM it names.
    pub fn load(path: &Path) -> Result<Self, ManifestErrors> {
        let text = read_manifest_text(path).map_err(|e| {
            ManifestErrors(vec![ManifestError::file(path, ManifestErrorKind::Read(e))])
        })?;
        Self::parse(path, &text, read_public_key_file)
    }

    /// Checks manifest `text`, said to be at `path`; `read` fetches each PEM file.
    pub fn parse(
        path: &Path,
        text: &str,
        mut read: impl FnMut(&Path) -> io::Result<Vec<u8>>,
    ) -> Result<Self, ManifestErrors> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start);
            ManifestErrors(vec![ManifestError {
                line: offset.map(|at| line_of(text, at)),
                key: offset.and_then(|at| key_containing(text, at)),
                ..ManifestError::file(path, ManifestErrorKind::Toml(e.message().to_owned()))
            }])
        })?;
        let mut errors = Vec::new();
        let version = raw.version.get_ref();
        if *version != MANIFEST_VERSION {
            errors.push(ManifestError {
                line: Some(line_of(text, raw.version.span().start)),
                field: Some("version"),
                ..ManifestError::file(path, ManifestErrorKind::UnsupportedVersion(*version))
            });
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut inputs = vec![path.to_owned()];
        let mut keys = Vec::new();
        for raw_key in raw.key {
            let mut ctx = KeyContext {
                path,
                text,
                id: raw_key.id.get_ref().clone(),
                errors: &mut errors,
            };
            if let Some(key) = ctx.check(raw_key, dir, &mut read, &mut inputs) {
                keys.push(key);
            }
        }
        let policy = raw.policy.map(RawPolicy::into_policy).unwrap_or_default();
        let serial = raw.serial.unwrap_or(0);
        let channel = raw.channel.unwrap_or_default();
        if !errors.is_empty() {
            return Err(ManifestErrors(errors));
        }
        let trusted: Result<Vec<TrustedKey>, KeyringError> = keys
            .iter()
            .filter(|k| k.status == KeyStatus::Active)
            .map(|k| TrustedKey::ed25519(k.id.clone(), &k.raw_public_key, k.validity))
            .collect();
        let revoked = keys
            .iter()
            .filter(|k| k.status == KeyStatus::Revoked)
            .map(|k| k.fingerprint)
            .collect();
        let keyring = trusted
            .and_then(|t| Keyring::new(serial, channel, policy.runtime_override, t, revoked))
            .map_err(|e| ManifestErrors(vec![keyring_error(path, &keys, e)]))?;
        Ok(Self {
            path: path.to_owned(),
            serial,
            channel,
            policy,
            keys,
            keyring,
            inputs,
        })
    }

    /// The manifest's path, as given to [`Manifest::load`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Production or development.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The `[policy]` table, with defaults.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every key, active and revoked, in manifest order.
    pub fn keys(&self) -> &[ManifestKey] {
        &self.keys
    }

    /// The keyring this manifest embeds.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// Every file read: the manifest, then each PEM. A build that embeds the manifest
    /// must be redone when any of them changes.
    pub fn inputs(&self) -> &[PathBuf] {
        &self.inputs
    }
}

/// Converts a TOML offset date-time with whole seconds to unix seconds.
pub fn datetime_to_unix(dt: &Datetime) -> Option<i64> {
    let (date, time, offset) = (dt.date?, dt.time?, dt.offset?);
    if time.nanosecond.is_some_and(|n| n != 0) {
        return None;
    }
    let civil = jiff::civil::DateTime::new(
        i16::try_from(date.year).ok()?,
        i8::try_from(date.month).ok()?,
        i8::try_from(date.day).ok()?,
        i8::try_from(time.hour).ok()?,
        i8::try_from(time.minute).ok()?,
        i8::try_from(time.second?).ok()?,
        0,
    )
    .ok()?;
    let minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i32::from(minutes),
    };
    let offset = jiff::tz::Offset::from_seconds(minutes * 60).ok()?;
    Some(offset.to_timestamp(civil).ok()?.as_second())
}

impl ManifestError {
    /// The file, line and key of the problem.
    pub fn place(&self) -> Place<'_> {
        Place {
            file: &self.file,
            line: self.line,
            key: self.key.as_deref(),
        }
    }

    fn file(path: &Path, kind: ManifestErrorKind) -> Self {
        Self {
            file: path.to_owned(),
            line: None,
            key: None,
            field: None,
            named_file: None,
            kind,
        }
    }
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = self.key {
            write!(f, ": key {key:?}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place())?;
        if let Some(field) = self.field {
            write!(f, ": field `{field}`")?;
        }
        if let Some(named) = &self.named_file {
            write!(f, ": {}", named.display())?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ManifestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(e, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    version: Spanned<i64>,
    serial: Option<u32>,
    channel: Option<Channel>,
    policy: Option<RawPolicy>,
    #[serde(default)]
    key: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    max_key_lifetime_days: Option<u32>,
    min_overlap_days: Option<u32>,
    support_window_days: Option<u32>,
    runtime_override: Option<RuntimeOverride>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    id: Spanned<String>,
    algorithm: Spanned<String>,
    public_key: Spanned<String>,
    fingerprint: Spanned<String>,
    not_before: Spanned<Datetime>,
    sign_until: Option<Spanned<Datetime>>,
    not_after: Option<Spanned<Datetime>>,
    #[serde(default)]
    status: KeyStatus,
}

impl RawPolicy {
    fn into_policy(self) -> Policy {
        Policy {
            max_key_lifetime_days: self.max_key_lifetime_days,
            min_overlap_days: self.min_overlap_days,
            support_window_days: self.support_window_days,
            runtime_override: self.runtime_override.unwrap_or_default(),
        }
    }
}

/// Deserializes the manifest spellings of the enums.
macro_rules! manifest_enum {
    ($ty:ty, $what:literal, $($name:literal => $variant:expr),+ $(,)?) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                match s.as_str() {
                    $($name => Ok($variant),)+
                    other => Err(serde::de::Error::custom(format!(
                        concat!("unknown ", $what, " {:?}, expected one of: ", $($name, " "),+),
                        other
                    ))),
                }
            }
        }
    };
}

manifest_enum!(Channel, "channel", "production" => Channel::Production, "development" => Channel::Development);
manifest_enum!(RuntimeOverride, "runtime_override",
    "deny" => RuntimeOverride::Deny, "endorsed" => RuntimeOverride::Endorsed, "allow" => RuntimeOverride::Allow);
manifest_enum!(KeyStatus, "status", "active" => KeyStatus::Active, "revoked" => KeyStatus::Revoked);

struct KeyContext<'a> {
    path: &'a Path,
    text: &'a str,
    id: String,
    errors: &'a mut Vec<ManifestError>,
}

impl KeyContext<'_> {
    fn push(&mut self, span: std::ops::Range<usize>, field: &'static str, kind: ManifestErrorKind) {
        self.push_in(None, span, field, kind);
    }

    fn push_in(
        &mut self,
        named_file: Option<PathBuf>,
        span: std::ops::Range<usize>,
        field: &'static str,
        kind: ManifestErrorKind,
    ) {
        self.errors.push(ManifestError {
            file: self.path.to_owned(),
            named_file,
            line: Some(line_of(self.text, span.start)),
            key: Some(self.id.clone()),
            field: Some(field),
            kind,
        });
    }

    fn instant(&mut self, value: &Spanned<Datetime>, field: &'static str) -> Option<i64> {
        let unix = datetime_to_unix(value.get_ref());
        if unix.is_none() {
            let kind = ManifestErrorKind::Instant(value.get_ref().to_string());
            self.push(value.span(), field, kind);
        }
        unix
    }

    fn check(
        &mut self,
        raw: RawKey,
        dir: &Path,
        read: &mut impl FnMut(&Path) -> io::Result<Vec<u8>>,
        inputs: &mut Vec<PathBuf>,
    ) -> Option<ManifestKey> {
        let errors_before = self.errors.len();
        let id = KeyId::new(raw.id.get_ref())
            .map_err(|e| self.push(raw.id.span(), "id", e.into()))
            .ok();
        if raw.algorithm.get_ref() != Algorithm::Ed25519.name() {
            let kind = ManifestErrorKind::Algorithm(raw.algorithm.get_ref().clone());
            self.push(raw.algorithm.span(), "algorithm", kind);
        }
        let stated = raw
            .fingerprint
            .get_ref()
            .parse::<Fingerprint>()
            .map_err(|e| self.push(raw.fingerprint.span(), "fingerprint", e.into()))
            .ok();
        let not_before = self.instant(&raw.not_before, "not_before");
        let not_after = match &raw.not_after {
            Some(v) => self.instant(v, "not_after"),
            None => Some(OPEN_END),
        };
        let sign_until = match &raw.sign_until {
            Some(v) => self.instant(v, "sign_until"),
            None => not_after,
        };
        let raw_key = self.public_key(&raw.public_key, dir, read, inputs);
        if let (Some(stated), Some((_, computed))) = (stated, raw_key)
            && stated != computed
        {
            let kind = ManifestErrorKind::FingerprintMismatch { stated, computed };
            self.push(raw.fingerprint.span(), "fingerprint", kind);
        }
        let validity = Validity {
            not_before: not_before?,
            sign_until: sign_until?,
            not_after: not_after?,
        };
        if !validity.is_ordered() {
            // Blame the field that was written: sign_until, else not_after.
            let (span, field) = match (&raw.sign_until, &raw.not_after) {
                (Some(v), _) => (v.span(), "sign_until"),
                (None, Some(v)) => (v.span(), "not_after"),
                (None, None) => (raw.not_before.span(), "not_before"),
            };
            self.push(span, field, ManifestErrorKind::WindowOrder);
        }
        let (raw_public_key, fingerprint) = raw_key?;
        if self.errors.len() != errors_before {
            return None;
        }
        Some(ManifestKey {
            id: id?,
            algorithm: Algorithm::Ed25519,
            public_key_file: raw.public_key.get_ref().clone(),
            pem_path: dir.join(raw.public_key.get_ref()),
            fingerprint,
            raw_public_key,
            validity,
            sign_until_explicit: raw.sign_until.is_some(),
            status: raw.status,
            line: line_of(self.text, raw.id.span().start),
        })
    }

    fn public_key(
        &mut self,
        file: &Spanned<String>,
        dir: &Path,
        read: &mut impl FnMut(&Path) -> io::Result<Vec<u8>>,
        inputs: &mut Vec<PathBuf>,
    ) -> Option<([u8; 32], Fingerprint)> {
        let name = file.get_ref();
        let span = file.span();
        if !is_bare_file_name(name) {
            self.push(
                span,
                "public_key",
                ManifestErrorKind::PublicKeyPath(name.clone()),
            );
            return None;
        }
        let pem_path = dir.join(name);
        let bytes = match read(&pem_path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.push_in(
                    Some(pem_path),
                    span,
                    "public_key",
                    ManifestErrorKind::PemRead(e),
                );
                return None;
            }
        };
        inputs.push(pem_path.clone());
        match parse_public_pem(&bytes) {
            Ok(raw) => match ed25519_public_key(&raw) {
                Ok(_) => Some((raw, Fingerprint::of_ed25519(&raw))),
                Err(e) => {
                    self.push_in(Some(pem_path), span, "public_key", e.into());
                    None
                }
            },
            Err(kind) => {
                self.push_in(Some(pem_path), span, "public_key", kind);
                None
            }
        }
    }
}

/// Reads an SPKI PEM and returns the raw Ed25519 key. Refuses private keys, other PEM
/// labels, other algorithms and non-canonical DER.
pub fn parse_public_pem(bytes: &[u8]) -> Result<[u8; 32], ManifestErrorKind> {
    let (label, der) = pem_rfc7468::decode_vec(bytes).map_err(|e| {
        // A PEM with a private label may still fail strict parsing; name it anyway.
        match private_label(bytes) {
            Some(label) => ManifestErrorKind::PrivateKey { label },
            None if !bytes.windows(11).any(|w| w == b"-----BEGIN ") => {
                ManifestErrorKind::NoPemHeader
            }
            None => ManifestErrorKind::NotPem(e),
        }
    })?;
    if label.contains("PRIVATE KEY") {
        return Err(ManifestErrorKind::PrivateKey {
            label: label.to_owned(),
        });
    }
    if label != "PUBLIC KEY" {
        return Err(ManifestErrorKind::NotPublicKey {
            label: label.to_owned(),
        });
    }
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der)
        .map_err(|e| ManifestErrorKind::NotSpki(e.to_string()))?;
    let oid = spki.algorithm.oid.to_string();
    if oid != ED25519_OID {
        return Err(ManifestErrorKind::NotEd25519 { oid });
    }
    // RFC 8410 fixes the whole encoding: the prefix, no parameters, 32 key bytes.
    let raw = der
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|rest| <[u8; 32]>::try_from(rest).ok())
        .ok_or_else(|| {
            ManifestErrorKind::NotSpki("not the RFC 8410 encoding of an Ed25519 key".into())
        })?;
    Ok(raw)
}

fn private_label(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().find(|l| l.starts_with("-----BEGIN "))?;
    let label = line.strip_prefix("-----BEGIN ")?.strip_suffix("-----")?;
    label.contains("PRIVATE KEY").then(|| label.to_owned())
}

/// The `id` of the `[[key]]` table that holds byte `offset`, for naming the key in a
/// schema error (an unknown field, a wrong type) that serde reports without it.
fn key_containing(text: &str, offset: usize) -> Option<String> {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        key: Vec<Spanned<toml::Table>>,
    }
    let loose: Loose = toml::from_str(text).ok()?;
    // A table's span covers its `[[key]]` header: the owner is the last header before.
    let table = loose
        .key
        .iter()
        .filter(|k| k.span().start <= offset)
        .max_by_key(|k| k.span().start)?;
    // Unless another table (such as `[policy]`) starts in between.
    let between = text.get(table.span().end..offset)?;
    if between.lines().any(|l| l.trim_start().starts_with('[')) {
        return None;
    }
    table.get_ref().get("id")?.as_str().map(str::to_owned)
}

fn is_bare_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !Path::new(name).is_absolute()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .get(..offset)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

fn keyring_error(path: &Path, keys: &[ManifestKey], e: KeyringError) -> ManifestError {
    let id = match &e {
        KeyringError::DuplicateId { id }
        | KeyringError::RevokedAndTrusted { id }
        | KeyringError::WindowOrder { id }
        | KeyringError::PublicKey { id, .. } => Some(id.clone()),
        KeyringError::DuplicateKey { second, .. } => Some(second.clone()),
        _ => None,
    };
    let line = id
        .as_ref()
        .and_then(|id| keys.iter().rev().find(|k| &k.id == id))
        .map(|k| k.line);
    // The keyring error's own text names the key, so `key` stays unset for display.
    ManifestError {
        line,
        ..ManifestError::file(path, ManifestErrorKind::Keyring(e))
    }
}

#[cfg(test)]
mod tests;
