//! The signing side of the `license` commands: a private key read from a PEM file,
//! matched to its manifest entry, and the one function that turns a payload into a
//! signed CAIO-v2 token.
//!
//! The private key is a PKCS#8 PEM (`PRIVATE KEY`): the v1 form `openssl genpkey` and
//! `cargo xtask keygen` write, or the v2 form with the public key inside, which must
//! match the seed. The file must be readable by its owner only, as OpenSSH insists for
//! its keys. The text of the file and the decoded seed live in zeroizing buffers, and
//! `SigningKey` wipes itself on drop; no error message, log line or `Debug` output ever
//! holds a byte of it.
//!
//! A key signs only when the manifest has it (by fingerprint), it is not revoked, and
//! the signing instant lies in its signing window (`not_before..=sign_until`): the same
//! rule the verifier applies to `iat`. Nothing here decides which fields a license has;
//! that is `issue` and `reissue`.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use caio_keyring::Fingerprint;
use caio_keyring::manifest::{KeyStatus, Manifest, ManifestKey};
use caio_verify::license::{BASE64URL, PREFIX};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::time::format_instant;

/// The order in which [`encode_payload`] writes the fields the format defines; other
/// fields follow, sorted by name.
pub const FIELD_ORDER: [&str; 8] = [
    "kid", "lid", "sub", "iat", "nbf", "exp", "features", "seats",
];

/// A private key allowed to sign now, with the manifest entry of its public half.
pub struct Signer<'m> {
    key: SigningKey,
    kid: Fingerprint,
    entry: &'m ManifestKey,
}

impl<'m> Signer<'m> {
    /// Reads the private key at `path` and finds its entry in `manifest`. When the key
    /// may not sign at `now` (unknown, revoked, outside its signing window), says why on
    /// stderr, naming the manifest and the key, and returns `Ok(None)`.
    pub fn open(manifest: &'m Manifest, path: &Path, now: i64) -> Result<Option<Self>> {
        let key = read_private_key(path)?;
        let kid = Fingerprint::of_ed25519(&key.verifying_key().to_bytes());
        let manifest_path = manifest.path().display();
        let Some(entry) = manifest.keys().iter().find(|k| k.fingerprint == kid) else {
            eprintln!(
                "error: {manifest_path}: no key has fingerprint {kid}, the public half of {}; add it with `cargo xtask keys add` or `keys rotate` first, or sign with a key the manifest lists",
                path.display()
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
        Ok(Some(Self { key, kid, entry }))
    }

    /// The fingerprint of the public key: every token's `kid`.
    pub fn kid(&self) -> Fingerprint {
        self.kid
    }

    /// The manifest entry of the key.
    pub fn entry(&self) -> &ManifestKey {
        self.entry
    }

    /// Signs `payload` as it is (its `kid` must already be [`Signer::kid`]) and returns
    /// the token `CAIO-v2.<payload>.<signature>`.
    pub fn sign(&self, payload: &Map<String, Value>) -> String {
        let mut token = String::from(PREFIX);
        BASE64URL.encode_string(encode_payload(payload), &mut token);
        let signature = self.key.sign(token.as_bytes());
        token.push('.');
        BASE64URL.encode_string(signature.to_bytes(), &mut token);
        token
    }
}

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("key_id", &self.entry.id.as_str())
            .finish_non_exhaustive()
    }
}

/// Reads an Ed25519 private key from a PKCS#8 PEM file readable by its owner only.
pub fn read_private_key(path: &Path) -> Result<SigningKey> {
    if path.to_str().is_some_and(|p| p.starts_with("pkcs11:")) {
        bail!(
            "{}: signing through a PKCS#11 token comes with the HSM support; give the path of a PEM private key for now",
            path.display()
        );
    }
    let bytes = Zeroizing::new(
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let text =
        std::str::from_utf8(&bytes).map_err(|_| anyhow!("{} is not a PEM file", path.display()))?;
    match pem_rfc7468::decode_label(bytes.as_slice()) {
        Ok("PRIVATE KEY") => {}
        Ok("ENCRYPTED PRIVATE KEY") => bail!(
            "{} is encrypted; decrypt it to a file readable by you only (`openssl pkey -in {} -out FILE`) and sign with that",
            path.display(),
            path.display()
        ),
        Ok("PUBLIC KEY") => bail!(
            "{} holds a public key; signing needs the private key (private.pem)",
            path.display()
        ),
        Ok(label) => bail!(
            "{} holds a {label:?}, not a PKCS#8 \"PRIVATE KEY\"; convert it with `openssl pkey -in {} -out FILE`",
            path.display(),
            path.display()
        ),
        Err(_) => bail!(
            "{} is not a PEM file; expected -----BEGIN PRIVATE KEY-----",
            path.display()
        ),
    }
    // Checked once the file is known to hold a private key, so the message fits.
    let mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} has mode {:04o}, so others may read it; a private key must be readable by its owner only: `chmod 600 {}`, and treat the key as exposed if others could read it",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
    // The decoder's errors describe the structure, never the key bytes.
    SigningKey::from_pkcs8_pem(text).map_err(|e| {
        anyhow!(
            "{} is not an Ed25519 PKCS#8 private key: {e}",
            path.display()
        )
    })
}

/// The payload as compact JSON: the fields of [`FIELD_ORDER`] first, in that order,
/// then any others sorted by name. Values are written as serde_json writes them.
pub fn encode_payload(payload: &Map<String, Value>) -> String {
    // Serializing a map of JSON values into a String cannot fail.
    serde_json::to_string(&Ordered(payload))
        .unwrap_or_else(|_| unreachable!("a JSON object always serializes"))
}

/// A payload serialized in [`FIELD_ORDER`].
pub struct Ordered<'a>(pub &'a Map<String, Value>);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for field in FIELD_ORDER {
            if let Some(value) = self.0.get(field) {
                map.serialize_entry(field, value)?;
            }
        }
        for (field, value) in self.0 {
            if !FIELD_ORDER.contains(&field.as_str()) {
                map.serialize_entry(field, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use crate::keygen::PKCS8_V1_ED25519_PREFIX;

    fn pem(label: &str, der: &[u8]) -> String {
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).expect("encodes")
    }

    /// Reads `text` from a file of `mode`: the seed of the key, or the error's text.
    fn check_key(text: &str, mode: u32, expected: Result<[u8; 32], &str>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("private.pem");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        match (read_private_key(&path), expected) {
            (Ok(key), Ok(seed)) => assert_eq!(key.to_bytes(), seed),
            (Err(e), Err(message)) => {
                let e = format!("{e:#}");
                assert!(e.contains(message), "{e}");
            }
            (got, want) => panic!("{text}: got {:?}, want {want:?}", got.map(|_| ())),
        }
    }

    #[test]
    fn private_keys_in_every_form_operators_have() {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let seed = [7u8; 32];
        let v1 = pem(
            "PRIVATE KEY",
            &[&PKCS8_V1_ED25519_PREFIX[..], &seed].concat(),
        );
        let v2 = SigningKey::from_bytes(&seed)
            .to_pkcs8_pem(pem_rfc7468::LineEnding::LF)
            .expect("v2");
        check_key(&v1, 0o600, Ok(seed));
        check_key(&v2, 0o400, Ok(seed));
        check_key(&v1, 0o640, Err("chmod 600"));
        check_key(&v1, 0o604, Err("chmod 600"));
        // v2 whose public key is another key's: refused, not trusted.
        let other = SigningKey::from_bytes(&[8; 32])
            .to_pkcs8_der()
            .expect("der");
        let mut mixed = SigningKey::from_bytes(&seed)
            .to_pkcs8_der()
            .expect("der")
            .as_bytes()
            .to_vec();
        let tail = mixed.len() - 32;
        mixed[tail..].copy_from_slice(&other.as_bytes()[other.as_bytes().len() - 32..]);
        check_key(&pem("PRIVATE KEY", &mixed), 0o600, Err("not an Ed25519"));
        check_key(
            &pem("ENCRYPTED PRIVATE KEY", &[1, 2]),
            0o600,
            Err("encrypted"),
        );
        check_key(
            &pem("PUBLIC KEY", &[1, 2]),
            0o644,
            Err("holds a public key"),
        );
        check_key(
            &pem("EC PRIVATE KEY", &[1, 2]),
            0o600,
            Err("\"EC PRIVATE KEY\""),
        );
        check_key("hello", 0o600, Err("not a PEM file"));
        // A DER that is no PrivateKeyInfo, under the right label.
        check_key(
            &pem("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]),
            0o600,
            Err("not an Ed25519"),
        );
    }

    fn check(payload: Value, expected: &str) {
        let Value::Object(map) = payload else {
            panic!("an object")
        };
        assert_eq!(encode_payload(&map), expected);
    }

    #[test]
    fn payload_fields_in_format_order_then_the_rest_sorted() {
        check(
            json!({"seats": 3, "zz": 1, "sub": "S", "aa": [true], "iat": 5, "kid": "k", "lid": "L"}),
            r#"{"kid":"k","lid":"L","sub":"S","iat":5,"seats":3,"aa":[true],"zz":1}"#,
        );
        check(json!({}), "{}");
        check(
            json!({"sub": "\"quoted\" \u{e9}", "exp": -1}),
            r#"{"sub":"\"quoted\" é","exp":-1}"#,
        );
    }
}
