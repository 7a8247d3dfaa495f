//! The runtime key: the value of `CAIO_LICENSE_PUBLIC_KEY`, judged once against the
//! embedded keyring's runtime-override policy, and the [`EffectiveKeyring`] it yields.
//!
//! The policy is in the block's flags, fixed at compile time:
//!
//! | `runtime_override` | a key endorsement (`CAIO-key-v1...`) | a plain SPKI PEM |
//! |---|---|---|
//! | `deny` (default) | ignored, with a warning | ignored, with a warning |
//! | `endorsed` | trusted if [`endorsement::verify`] accepts it | rejected (`endorsement_required`) |
//! | `allow` (development) | trusted if [`endorsement::verify`] accepts it | trusted, open windows |
//!
//! An endorsed key verifies licenses under the windows its endorsement gives. A plain
//! key has open windows: `not_before` the unix epoch, no `sign_until` and no
//! `not_after`, since nobody vouched for any narrower ones; its id is `runtime-` and
//! the first 16 hex digits of its fingerprint. Under every policy a revoked
//! fingerprint is refused (`revoked_key`), as is a key that is already embedded
//! (`already_embedded`) or an id an embedded key has (`id_in_use`): the runtime key
//! only ever adds one key, and never changes what an embedded key means.
//!
//! The runtime key is one extra trusted key beside the embedded [`Keyring`], which stays
//! exactly what the block says (its invariants are untouched): a [`Verifier`] over an
//! [`EffectiveKeyring`] looks a `kid` up among the embedded keys, then the revoked list,
//! then the runtime key, and says which one verified ([`KeySource`]).
//!
//! The text is the key itself: surrounding whitespace is ignored, and it is at most
//! [`MAX_RUNTIME_KEY_LEN`] bytes. Reading the environment variable, and the file it may
//! name, is the caller's job (the `caio-verify` command does it once at startup);
//! this module does no I/O. [`EffectiveKeyring::new`] logs its verdict through
//! `tracing`: a rejection as a warning with its stable [`code`](RuntimeKeyError::code),
//! an accepted plain key as a warning, an accepted endorsement at info level.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use caio_keyring::block::DecodeError;
use caio_keyring::{
    ED25519_SPKI_PREFIX, Fingerprint, KeyId, Keyring, OPEN_END, PublicKeyError, RuntimeOverride,
    TrustedKey, Validity,
};

use crate::endorsement::{self, Endorsement, EndorsementError};
use crate::verify::{Options, Verifier};

/// The environment variable a runtime key comes from: the key text, or the path of a
/// file holding it.
pub const ENV_VAR: &str = "CAIO_LICENSE_PUBLIC_KEY";

/// The longest runtime key text accepted, in bytes (an endorsement is at most 4096, a
/// PEM about 113).
pub const MAX_RUNTIME_KEY_LEN: usize = 8192;

/// The windows of a plain (unendorsed) runtime key: from the unix epoch, no end.
pub const PLAIN_KEY_VALIDITY: Validity = Validity {
    not_before: 0,
    sign_until: OPEN_END,
    not_after: OPEN_END,
};

/// Where a trusted key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// The keyring block embedded at compile time.
    Embedded,
    /// `CAIO_LICENSE_PUBLIC_KEY`, accepted at run time.
    Runtime,
}

/// A runtime key the embedded policy accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeKey {
    /// An endorsement by an embedded key (policies `endorsed` and `allow`).
    Endorsed(Endorsement),
    /// A plain SPKI PEM (policy `allow` only), with [`PLAIN_KEY_VALIDITY`].
    Plain(TrustedKey),
}

/// Why a runtime key is not trusted. [`code`](Self::code) is the stable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeKeyError {
    /// The build's policy is `deny`.
    #[error(
        "this build's policy is runtime_override = \"deny\", so a runtime key is ignored; ship the key in a new build instead"
    )]
    Denied,
    /// The embedded keyring is corrupt: nothing is trusted, a runtime key neither.
    #[error("the embedded keyring is corrupt, so no runtime key is considered")]
    KeyringCorrupt,
    /// Longer than [`MAX_RUNTIME_KEY_LEN`].
    #[error("the runtime key is {len} bytes, at most {MAX_RUNTIME_KEY_LEN} are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Neither an endorsement nor a PEM.
    #[error(
        "a runtime key is a key endorsement (CAIO-key-v1...) or an SPKI PEM (-----BEGIN PUBLIC KEY-----), and this is neither"
    )]
    Unrecognized,
    /// A plain PEM under the `endorsed` policy.
    #[error(
        "this build's policy is runtime_override = \"endorsed\", so a plain public key is not trusted; give an endorsement made with `cargo xtask keys endorse`"
    )]
    EndorsementRequired,
    /// The endorsement was not accepted.
    #[error("the key endorsement is not accepted: {0}")]
    Endorsement(EndorsementError),
    /// The PEM is not an Ed25519 SPKI public key.
    #[error("the PEM is not an Ed25519 public key: {reason}")]
    BadPem {
        /// What is wrong.
        reason: &'static str,
    },
    /// The PEM's key is not a curve point.
    #[error("the PEM's 32 bytes are not an Ed25519 public key")]
    BadKey,
    /// The PEM's key is weak (small-order).
    #[error("the PEM holds a weak (small-order) Ed25519 key")]
    WeakKey,
    /// The PEM's key is revoked in this build.
    #[error("the key {fingerprint} is revoked in this build")]
    RevokedKey {
        /// Its fingerprint.
        fingerprint: Fingerprint,
    },
    /// The PEM's key is already embedded.
    #[error("the key {fingerprint} is already embedded, as key {id}")]
    AlreadyEmbedded {
        /// Its fingerprint.
        fingerprint: Fingerprint,
        /// The embedded key's id.
        id: KeyId,
    },
    /// The plain key's derived id is the id of an embedded key.
    #[error("the runtime key's id {id} is the id of an embedded key")]
    IdInUse {
        /// The id.
        id: KeyId,
    },
}

/// The keys a verifier trusts: the embedded keyring (or why it is corrupt) and at most
/// one runtime key, judged against the embedded policy when this was built.
#[derive(Debug, Clone)]
pub struct EffectiveKeyring<'k> {
    embedded: Result<&'k Keyring, &'k DecodeError>,
    runtime: Option<RuntimeKey>,
}

impl KeySource {
    /// `"embedded"` or `"runtime"`: the spelling in `caio-verify keyring --json`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Runtime => "runtime",
        }
    }
}

impl RuntimeKey {
    /// Judges `text` (the key itself, not a path) against `keyring`'s policy, as the
    /// module docs say. Pure: it logs nothing.
    pub fn resolve(keyring: &Keyring, text: &str) -> Result<Self, RuntimeKeyError> {
        let policy = keyring.runtime_override();
        if policy == RuntimeOverride::Deny {
            return Err(RuntimeKeyError::Denied);
        }
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.len() > MAX_RUNTIME_KEY_LEN {
            return Err(RuntimeKeyError::TooLong { len: text.len() });
        }
        if text.starts_with(endorsement::PREFIX) {
            return endorsement::verify(keyring, text.as_bytes())
                .map(Self::Endorsed)
                .map_err(RuntimeKeyError::Endorsement);
        }
        if !text.starts_with("-----BEGIN ") {
            return Err(RuntimeKeyError::Unrecognized);
        }
        match policy {
            RuntimeOverride::Allow => plain_key(keyring, text).map(Self::Plain),
            RuntimeOverride::Endorsed | RuntimeOverride::Deny => {
                Err(RuntimeKeyError::EndorsementRequired)
            }
        }
    }

    /// The key, with its id and windows.
    pub fn key(&self) -> &TrustedKey {
        match self {
            Self::Endorsed(endorsement) => endorsement.key(),
            Self::Plain(key) => key,
        }
    }

    /// The endorsement, for an endorsed key.
    pub fn endorsement(&self) -> Option<&Endorsement> {
        match self {
            Self::Endorsed(endorsement) => Some(endorsement),
            Self::Plain(_) => None,
        }
    }
}

impl RuntimeKeyError {
    /// The stable code shown in logs: an endorsement's own code (such as
    /// `unknown_endorser`), or `denied`, `keyring_corrupt`, `too_long`, `unrecognized`,
    /// `endorsement_required`, `bad_pem`, `bad_key`, `weak_key`, `revoked_key`,
    /// `already_embedded`, `id_in_use`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::KeyringCorrupt => "keyring_corrupt",
            Self::TooLong { .. } => "too_long",
            Self::Unrecognized => "unrecognized",
            Self::EndorsementRequired => "endorsement_required",
            Self::Endorsement(e) => e.code(),
            Self::BadPem { .. } => "bad_pem",
            Self::BadKey => "bad_key",
            Self::WeakKey => "weak_key",
            Self::RevokedKey { .. } => "revoked_key",
            Self::AlreadyEmbedded { .. } => "already_embedded",
            Self::IdInUse { .. } => "id_in_use",
        }
    }

    /// The fingerprint of the offered key, when the check that failed knew it.
    pub const fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Self::RevokedKey { fingerprint } | Self::AlreadyEmbedded { fingerprint, .. } => {
                Some(*fingerprint)
            }
            Self::Endorsement(e) => e.fingerprint(),
            _ => None,
        }
    }
}

impl<'k> EffectiveKeyring<'k> {
    /// The embedded keys and, when `runtime_key` is given and the policy accepts it, the
    /// runtime key. Logs the verdict on `runtime_key` (see the module docs); a rejected
    /// one leaves the embedded keys alone, exactly as if it had not been given.
    pub fn new(embedded: Result<&'k Keyring, &'k DecodeError>, runtime_key: Option<&str>) -> Self {
        let Some(text) = runtime_key else {
            return Self::embedded_only(embedded);
        };
        let resolved = match embedded {
            Ok(keyring) => RuntimeKey::resolve(keyring, text),
            Err(_) => Err(RuntimeKeyError::KeyringCorrupt),
        };
        let runtime = match resolved {
            Ok(key) => {
                log_accepted(&key);
                Some(key)
            }
            Err(error) => {
                log_rejected(&error);
                None
            }
        };
        Self { embedded, runtime }
    }

    /// The embedded keys and what `CAIO_LICENSE_PUBLIC_KEY` adds, read from the
    /// process environment now (unset and empty are the same): see
    /// [`from_variable`](Self::from_variable).
    pub fn from_env(embedded: Result<&'k Keyring, &'k DecodeError>) -> Self {
        let value = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty());
        Self::from_variable(embedded, value.as_deref())
    }

    /// The embedded keys and what a `CAIO_LICENSE_PUBLIC_KEY` value adds. The value is
    /// the key text itself when it starts (after whitespace) with `CAIO-key-v1.` or
    /// `-----BEGIN `; anything else is the path of a file holding the text, read (at
    /// most [`MAX_RUNTIME_KEY_LEN`] bytes and one more) only when the embedded policy
    /// may use it: under `deny`, or with a corrupt block, it is never opened. A file
    /// that cannot be read is logged (reason `unreadable`) and changes nothing.
    pub fn from_variable(
        embedded: Result<&'k Keyring, &'k DecodeError>,
        value: Option<&std::ffi::OsStr>,
    ) -> Self {
        let Some(value) = value else {
            return Self::embedded_only(embedded);
        };
        let lossy = value.to_string_lossy();
        let denied = embedded.is_ok_and(|k| k.runtime_override() == RuntimeOverride::Deny);
        if embedded.is_err() || denied || is_key_text(&lossy) {
            // Decided (and logged) without a file being read.
            return Self::new(embedded, Some(&lossy));
        }
        match read_key_file(std::path::Path::new(value)) {
            Ok(text) => Self::new(embedded, Some(&text)),
            Err(error) => {
                tracing::warn!(
                    reason = "unreadable",
                    detail = %error,
                    "{ENV_VAR} is neither a key endorsement, a PEM, nor a readable file holding one; only the embedded keys are trusted"
                );
                Self::embedded_only(embedded)
            }
        }
    }

    /// The embedded keys only.
    pub const fn embedded_only(embedded: Result<&'k Keyring, &'k DecodeError>) -> Self {
        Self {
            embedded,
            runtime: None,
        }
    }

    /// The embedded keyring, or why the block is corrupt.
    pub const fn embedded(&self) -> Result<&'k Keyring, &'k DecodeError> {
        self.embedded
    }

    /// The accepted runtime key, if any.
    pub const fn runtime_key(&self) -> Option<&RuntimeKey> {
        self.runtime.as_ref()
    }

    /// The embedded or runtime key with this fingerprint, if this keyring trusts one.
    /// (Revoked fingerprints name no trusted key.)
    pub fn trusted_key(&self, fingerprint: &Fingerprint) -> Option<&TrustedKey> {
        let embedded = self
            .embedded
            .ok()
            .and_then(|k| k.key_by_fingerprint(fingerprint));
        let runtime = self
            .runtime
            .as_ref()
            .map(RuntimeKey::key)
            .filter(|k| k.fingerprint() == *fingerprint);
        embedded.or(runtime)
    }

    /// A verifier over the embedded keys and the runtime key; a corrupt block rejects
    /// every license as `keyring_corrupt`.
    pub fn verifier(&self, options: Options) -> Verifier<'_> {
        Verifier::with_runtime_key(
            self.embedded,
            self.runtime.as_ref().map(RuntimeKey::key),
            options,
        )
    }
}

/// Whether a `CAIO_LICENSE_PUBLIC_KEY` value is the key text rather than a path.
fn is_key_text(value: &str) -> bool {
    let value = value.trim_start();
    value.starts_with(endorsement::PREFIX) || value.starts_with("-----BEGIN ")
}

/// The file's text, at most one byte more than [`RuntimeKey::resolve`] accepts (so that
/// it, not this reader, reports an oversized key).
fn read_key_file(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read as _;
    // Only a regular file (a link is followed, as to a mounted secret): opening a FIFO
    // would wait for a writer, and the process would hang at its first verification.
    let file = caio_keyring::file::open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_RUNTIME_KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        )
    })
}

/// A plain SPKI PEM as a trusted key with [`PLAIN_KEY_VALIDITY`].
fn plain_key(keyring: &Keyring, pem: &str) -> Result<TrustedKey, RuntimeKeyError> {
    let raw = spki_pem(pem)?;
    caio_keyring::ed25519_public_key(&raw).map_err(|e| match e {
        PublicKeyError::Weak => RuntimeKeyError::WeakKey,
        _ => RuntimeKeyError::BadKey,
    })?;
    let fingerprint = Fingerprint::of_ed25519(&raw);
    if keyring.is_revoked(&fingerprint) {
        return Err(RuntimeKeyError::RevokedKey { fingerprint });
    }
    if let Some(embedded) = keyring.key_by_fingerprint(&fingerprint) {
        return Err(RuntimeKeyError::AlreadyEmbedded {
            fingerprint,
            id: embedded.id().clone(),
        });
    }
    let hex = fingerprint.to_string();
    let short = hex.get(7..23).unwrap_or_default();
    let id = KeyId::new(&format!("runtime-{short}")).map_err(|_| RuntimeKeyError::BadKey)?;
    if keyring.key_by_id(id.as_str()).is_some() {
        return Err(RuntimeKeyError::IdInUse { id });
    }
    TrustedKey::ed25519(id, &raw, PLAIN_KEY_VALIDITY).map_err(|_| RuntimeKeyError::BadKey)
}

/// Canonical padded standard base64, the body of a PEM.
const PEM_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// The raw key of an Ed25519 SPKI PEM: `-----BEGIN PUBLIC KEY-----`, base64 lines,
/// `-----END PUBLIC KEY-----`, and inside exactly the RFC 8410 DER.
///
/// Written here rather than with a PEM crate so that the lean verifier links none
/// (`ARCHITECTURE.md`); an Ed25519 SPKI has one DER encoding, so no ASN.1 parser is needed
/// either. The text is never quoted back: it could be a private key given by mistake.
fn spki_pem(text: &str) -> Result<[u8; 32], RuntimeKeyError> {
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let mut lines = text.lines().map(str::trim_end);
    if lines.next() != Some(BEGIN) {
        let reason = if text.contains("PRIVATE KEY") {
            "it is a private key; give the public key (public.pem), and treat this private key as exposed"
        } else {
            "it does not start with -----BEGIN PUBLIC KEY-----"
        };
        return Err(RuntimeKeyError::BadPem { reason });
    }
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if ended {
            return Err(RuntimeKeyError::BadPem {
                reason: "text follows -----END PUBLIC KEY-----",
            });
        }
        if line == END {
            ended = true;
        } else {
            body.push_str(line);
        }
    }
    if !ended {
        return Err(RuntimeKeyError::BadPem {
            reason: "it does not end with -----END PUBLIC KEY-----",
        });
    }
    let der = PEM_BASE64
        .decode(body)
        .map_err(|_| RuntimeKeyError::BadPem {
            reason: "its body is not canonical base64",
        })?;
    der.strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|rest| <[u8; 32]>::try_from(rest).ok())
        .ok_or(RuntimeKeyError::BadPem {
            reason: "it is not the RFC 8410 encoding of an Ed25519 key",
        })
}

fn log_accepted(key: &RuntimeKey) {
    let trusted = key.key();
    let window = trusted.validity();
    match key {
        RuntimeKey::Endorsed(endorsement) => tracing::info!(
            key_id = %trusted.id(),
            fingerprint = %trusted.fingerprint(),
            endorser = %endorsement.endorser(),
            endorser_id = %endorsement.endorser_id(),
            not_before = window.not_before,
            sign_until = window.sign_until,
            not_after = window.not_after,
            "{ENV_VAR}: endorsed runtime key accepted"
        ),
        RuntimeKey::Plain(_) => tracing::warn!(
            key_id = %trusted.id(),
            fingerprint = %trusted.fingerprint(),
            "{ENV_VAR}: plain runtime key accepted with open windows (runtime_override = \"allow\"): for development builds only"
        ),
    }
}

fn log_rejected(error: &RuntimeKeyError) {
    let fingerprint = error
        .fingerprint()
        .map_or_else(|| "none".to_owned(), |f| f.to_string());
    tracing::warn!(
        reason = error.code(),
        fingerprint = %fingerprint,
        detail = %error,
        "{ENV_VAR} rejected; only the embedded keys are trusted"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use caio_keyring::Channel;
    use ed25519_dalek::SigningKey;

    fn keyring(policy: RuntimeOverride) -> Keyring {
        let raw = SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
        let window = Validity {
            not_before: 0,
            sign_until: 100,
            not_after: 200,
        };
        let key = TrustedKey::ed25519(KeyId::new("a").unwrap(), &raw, window).unwrap();
        let revoked =
            Fingerprint::of_ed25519(&SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes());
        Keyring::new(1, Channel::Development, policy, vec![key], vec![revoked]).unwrap()
    }

    fn pem(seed: u8) -> String {
        let raw = SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes();
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&raw);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            PEM_BASE64.encode(der)
        )
    }

    /// Resolves `text` under `policy`: `Ok(id)` of the key, or the error's code.
    fn check(policy: RuntimeOverride, text: &str, expected: Result<&str, &str>) {
        let got = RuntimeKey::resolve(&keyring(policy), text)
            .map(|k| k.key().id().to_string())
            .map_err(|e| e.code());
        assert_eq!(
            got.as_deref().map_err(|e| *e),
            expected,
            "{policy:?} {text:?}"
        );
    }

    #[test]
    fn plain_keys_follow_the_policy() {
        use RuntimeOverride::{Allow, Deny, Endorsed};
        let fresh = pem(5);
        let fp =
            Fingerprint::of_ed25519(&SigningKey::from_bytes(&[5; 32]).verifying_key().to_bytes());
        let id = format!("runtime-{}", &fp.to_string()[7..23]);
        check(Allow, &fresh, Ok(&id));
        check(
            Allow,
            &format!("  \n{}\r\n", fresh.replace('\n', "\r\n")),
            Ok(&id),
        );
        check(Deny, &fresh, Err("denied"));
        check(Deny, "anything", Err("denied"));
        check(Endorsed, &fresh, Err("endorsement_required"));
        check(Allow, &pem(9), Err("revoked_key"));
        check(Allow, &pem(1), Err("already_embedded"));
        check(Allow, "ssh-ed25519 AAAA", Err("unrecognized"));
        check(Endorsed, "", Err("unrecognized"));
        check(Allow, &"x".repeat(MAX_RUNTIME_KEY_LEN + 1), Err("too_long"));
        check(Allow, "CAIO-key-v1.e30", Err("malformed"));
        check(
            Allow,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
            Err("bad_pem"),
        );
        check(
            Allow,
            &fresh.replace("-----END PUBLIC KEY-----\n", ""),
            Err("bad_pem"),
        );
        check(Allow, &format!("{fresh}x\n"), Err("bad_pem"));
        check(Allow, &fresh.replace("MC", "mC"), Err("bad_pem"));
        // The identity point: a weak key.
        let mut weak = ED25519_SPKI_PREFIX.to_vec();
        weak.extend_from_slice(&{
            let mut p = [0u8; 32];
            p[0] = 1;
            p
        });
        let weak = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            PEM_BASE64.encode(weak)
        );
        check(Allow, &weak, Err("weak_key"));
    }

    #[test]
    fn a_plain_key_has_open_windows_and_a_corrupt_keyring_trusts_nothing() {
        let keyring = keyring(RuntimeOverride::Allow);
        let key = RuntimeKey::resolve(&keyring, &pem(5)).unwrap();
        assert_eq!(key.key().validity(), PLAIN_KEY_VALIDITY);
        assert!(key.endorsement().is_none());
        let effective = EffectiveKeyring::new(Ok(&keyring), Some(&pem(5)));
        assert_eq!(effective.runtime_key(), Some(&key));
        let error = DecodeError::DigestMismatch;
        let corrupt = EffectiveKeyring::new(Err(&error), Some(&pem(5)));
        assert!(corrupt.runtime_key().is_none());
        let rejected = EffectiveKeyring::new(Ok(&keyring), Some("nonsense"));
        assert!(rejected.runtime_key().is_none());
    }

    #[test]
    fn key_text_is_told_from_a_path() {
        for (value, text) in [
            ("CAIO-key-v1.abc.def", true),
            ("  \nCAIO-key-v1.abc.def", true),
            ("-----BEGIN PUBLIC KEY-----\n...", true),
            ("/etc/caio/next-key.txt", false),
            ("next.pem", false),
            ("caio-key-v1.abc", false),
        ] {
            assert_eq!(is_key_text(value), text, "{value:?}");
        }
    }
}
