//! Private keys that sign: a PEM file, or a key on a PKCS#11 token that never leaves it.
//!
//! A command that signs takes `--key PRIVATE` as a [`KeyArg`]: the path of a PKCS#8 PEM
//! file, or an RFC 7512 `pkcs11:` URI ([`uri`]). [`Signer::open`] turns either into a
//! [`Signer`], which gives the Ed25519 public key (whose fingerprint picks the keyring
//! entry) and signs bytes; the two kinds behave the same from there on.
//! [`KeyringSigner::open`] binds a signer to its manifest entry and refuses a key the
//! manifest does not let sign now. Commands that only need a public key (`keys add`,
//! `keys rotate`) read it with [`KeyArg::public_key`], from a PEM file or a token.
//!
//! Secrets: the text of a `--key` URI may hold a PIN (`pin-value`); it is kept in a
//! zeroizing buffer, and every message, `Debug` output and note names the key by
//! [`KeyArg`]'s display, which replaces the PIN with `<redacted>`. A `--key` value is
//! parsed here, not by clap, because clap's own errors repeat the value they refuse.
//! Not here: what is signed (licenses, endorsements) or how it is encoded.

pub mod pem;
pub mod pkcs11;
pub mod uri;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use caio_keyring::Fingerprint;
use caio_keyring::manifest::{KeyStatus, Manifest, ManifestKey, parse_public_pem};
use zeroize::Zeroizing;

use self::pem::PemSigner;
use self::pkcs11::TokenSigner;
use self::uri::Pkcs11Uri;
use crate::time::format_instant;

/// A `--key` (or a public key) argument: a file path, or a `pkcs11:` URI.
///
/// Its `Display` and `Debug` never show a PIN. A file whose name starts with `pkcs11:`
/// is named as `./pkcs11:...`.
#[derive(Clone)]
pub enum KeyArg {
    /// A PEM file.
    Path(PathBuf),
    /// The text of a `pkcs11:` URI, parsed when the key is opened.
    Pkcs11 {
        /// The URI as given; it may hold the PIN.
        text: Zeroizing<String>,
        /// The text with `pin-value`'s value replaced, for messages.
        shown: String,
    },
}

/// A private key that signs: a PEM file, or a PKCS#11 token.
#[derive(Debug)]
pub enum Signer {
    /// An Ed25519 key read from a PKCS#8 PEM file.
    Pem(PemSigner),
    /// An Ed25519 key on a PKCS#11 token.
    Token(TokenSigner),
}

/// A [`Signer`] whose public key the manifest lists, and which may sign now.
#[derive(Debug)]
pub struct KeyringSigner<'m> {
    signer: Signer,
    kid: Fingerprint,
    entry: &'m ManifestKey,
}

impl KeyArg {
    /// Classifies a command-line value: a `pkcs11:` URI (any case) or a path.
    pub fn from_os(value: OsString) -> Self {
        match value.into_string() {
            Ok(text) if uri::is_pkcs11_uri(&text) => {
                let text = Zeroizing::new(text);
                let shown = shown_uri(&text);
                Self::Pkcs11 { text, shown }
            }
            Ok(text) => Self::Path(PathBuf::from(text)),
            Err(os) => Self::Path(PathBuf::from(os)),
        }
    }

    /// The URI, parsed; `None` for a path.
    pub fn pkcs11_uri(&self) -> Result<Option<Pkcs11Uri>> {
        match self {
            Self::Path(_) => Ok(None),
            Self::Pkcs11 { text, shown } => Pkcs11Uri::parse(text)
                .map(Some)
                .with_context(|| format!("--key {shown}")),
        }
    }

    /// The raw Ed25519 public key: from a public key PEM (SPKI) file, or from the key
    /// pair a `pkcs11:` URI names (read from the token; see [`pkcs11::read_public_key`]).
    /// Weak keys and private key files are refused.
    pub fn public_key(&self) -> Result<[u8; 32]> {
        let raw = match self {
            Self::Path(path) => {
                let bytes = caio_keyring::manifest::read_public_key_file(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                return parse_public_pem(&bytes).with_context(|| format!("{}", path.display()));
            }
            Self::Pkcs11 { .. } => {
                let uri = self.pkcs11_uri()?.unwrap_or_else(|| unreachable!("a URI"));
                pkcs11::read_public_key(&uri)?
            }
        };
        caio_keyring::ed25519_public_key(&raw).with_context(|| format!("{self}"))?;
        Ok(raw)
    }
}

impl From<OsString> for KeyArg {
    fn from(value: OsString) -> Self {
        Self::from_os(value)
    }
}

/// Lets clap take a `KeyArg` argument as it is, never refusing (and so never
/// repeating) its value.
impl clap::builder::ValueParserFactory for KeyArg {
    type Parser =
        clap::builder::MapValueParser<clap::builder::OsStringValueParser, fn(OsString) -> KeyArg>;

    fn value_parser() -> Self::Parser {
        use clap::builder::TypedValueParser as _;
        clap::builder::OsStringValueParser::new().map(Self::from_os as fn(OsString) -> KeyArg)
    }
}

impl fmt::Display for KeyArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Pkcs11 { shown, .. } => f.write_str(shown),
        }
    }
}

impl fmt::Debug for KeyArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => f.debug_tuple("Path").field(path).finish(),
            Self::Pkcs11 { shown, .. } => f.debug_tuple("Pkcs11").field(shown).finish(),
        }
    }
}

impl Signer {
    /// Opens the private key `key` names: reads and checks a PEM file, or logs in to the
    /// token and checks the key there.
    pub fn open(key: &KeyArg) -> Result<Self> {
        match key {
            KeyArg::Path(path) => Ok(Self::Pem(PemSigner::open(path)?)),
            KeyArg::Pkcs11 { .. } => {
                let uri = key.pkcs11_uri()?.unwrap_or_else(|| unreachable!("a URI"));
                Ok(Self::Token(TokenSigner::open(&uri)?))
            }
        }
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        match self {
            Self::Pem(key) => key.public_key(),
            Self::Token(key) => key.public_key(),
        }
    }

    /// The fingerprint of the public key (`sha256:` of its SPKI DER).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_ed25519(&self.public_key())
    }

    /// The Ed25519 signature of `message`. A token may fail (removed, logged out); a
    /// PEM key cannot.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        match self {
            Self::Pem(key) => Ok(key.sign(message)),
            Self::Token(key) => key.sign(message),
        }
    }

    /// Where the key lives, for messages: the file, or the token and key.
    pub fn name(&self) -> String {
        match self {
            Self::Pem(key) => key.path().display().to_string(),
            Self::Token(key) => key.name().to_owned(),
        }
    }
}

impl<'m> KeyringSigner<'m> {
    /// Opens the private key `key` names and finds its entry in `manifest`. When the key
    /// may not sign at `now` (unknown, revoked, outside its signing window), says why on
    /// stderr, naming the manifest and the key, and returns `Ok(None)`.
    pub fn open(manifest: &'m Manifest, key: &KeyArg, now: i64) -> Result<Option<Self>> {
        let signer = Signer::open(key)?;
        let kid = signer.fingerprint();
        let manifest_path = manifest.path().display();
        let Some(entry) = manifest.keys().iter().find(|k| k.fingerprint == kid) else {
            eprintln!(
                "error: {manifest_path}: no key has fingerprint {kid}, the public half of {}; add it with `cargo xtask keys add` or `keys rotate` first, or sign with a key the manifest lists",
                signer.name()
            );
            return Ok(None);
        };
        let at = |line| format!("error: {manifest_path}:{line}: key {:?}", entry.id.as_str());
        let window = entry.validity;
        let refusal = if entry.status == KeyStatus::Revoked {
            Some(format!(
                "{}: is revoked ({kid}); it never signs again: sign with the key that replaced it (`cargo xtask keys list`)",
                at(entry.line)
            ))
        } else if now < window.not_before {
            Some(format!(
                "{}: signs from {} (not_before), and now is {}; wait until then, or sign with a key that signs now",
                at(entry.line),
                format_instant(window.not_before),
                format_instant(now)
            ))
        } else if now > window.sign_until {
            Some(format!(
                "{}: stopped signing at {} (sign_until), and now is {}; sign with its successor (`cargo xtask keys list` shows which key signs now)",
                at(entry.line),
                format_instant(window.sign_until),
                format_instant(now)
            ))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            eprintln!("{refusal}");
            return Ok(None);
        }
        Ok(Some(Self { signer, kid, entry }))
    }

    /// The fingerprint of the public key.
    pub fn kid(&self) -> Fingerprint {
        self.kid
    }

    /// The manifest entry of the key.
    pub fn entry(&self) -> &ManifestKey {
        self.entry
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        self.signer.sign(message)
    }
}

/// The URI text for messages: `pin-value`'s value replaced by `<redacted>` wherever it
/// stands, even in a URI that does not parse.
fn shown_uri(text: &str) -> String {
    let Some((path, query)) = text.split_once('?') else {
        return text.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|attribute| match attribute.split_once('=') {
            Some(("pin-value", _)) => format!("pin-value={}", uri::REDACTED),
            Some(_) => attribute.to_owned(),
            // An attribute without a name might be a PIN typed in the wrong place.
            None if attribute.is_empty() => String::new(),
            None => uri::REDACTED.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let arg = KeyArg::from_os(input.into());
        assert_eq!(arg.to_string(), expected, "{input}");
        assert_eq!(
            format!("{arg:?}").contains("1234"),
            expected.contains("1234")
        );
    }

    #[test]
    fn key_arguments_show_no_pin() {
        check("private.pem", "private.pem");
        check("./pkcs11:token=a", "./pkcs11:token=a");
        check(
            "pkcs11:token=caio;object=lic",
            "pkcs11:token=caio;object=lic",
        );
        check(
            "pkcs11:token=caio?module-path=/m.so&pin-value=1234",
            "pkcs11:token=caio?module-path=/m.so&pin-value=<redacted>",
        );
        check(
            "PKCS11:token=caio?pin-value=1234&pin-value=1234",
            "PKCS11:token=caio?pin-value=<redacted>&pin-value=<redacted>",
        );
        // Not a valid URI, and still nothing of the PIN shows.
        check("pkcs11:token=caio?1234", "pkcs11:token=caio?<redacted>");
        check(
            "pkcs11:token=caio?pin-value=12 34#x",
            "pkcs11:token=caio?pin-value=<redacted>",
        );
        check("pkcs11:token=caio?&x=1", "pkcs11:token=caio?&x=1");
    }

    #[test]
    fn uri_errors_name_the_redacted_uri() {
        let arg = KeyArg::from_os("pkcs11:tokne=caio?pin-value=1234".into());
        let e = format!("{:#}", arg.pkcs11_uri().expect_err("refused"));
        assert!(e.contains("unknown path attribute \"tokne\""), "{e}");
        assert!(!e.contains("1234"), "{e}");
    }
}
