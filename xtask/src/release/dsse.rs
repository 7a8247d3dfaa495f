//! The signed release statement: `release.intoto.jsonl`, a DSSE envelope of
//! `release.intoto.json`, written by `cargo xtask release --sign KEY` and checked by
//! `cargo xtask verify-statement DIST --key PUBLIC_PEM`.
//!
//! The envelope is one line of JSON, `{"payloadType", "payload", "signatures": [{"keyid",
//! "sig"}]}` (DSSE v1, as in-toto attestations use it): `payload` is the standard base64
//! of the statement's exact bytes, `sig` the standard base64 of the Ed25519 signature over
//! the pre-authentication encoding [`pae`], and `keyid` the signing key's `sha256:`
//! fingerprint (a hint: a verifier tries every signature with the key it trusts). The
//! signing key is a release key, never a license key (see docs/release.md); `release`
//! refuses a key of the keyring. Verification uses `verify_strict`, then every subject's
//! SHA-256 is compared with its file. Not here: which key to trust (the caller names it)
//! or what the predicate says (the statement's own business).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use caio_keyring::Fingerprint;
use clap::Args;
use ed25519_dalek::{Signature as EdSignature, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::dist;
use super::statement::STATEMENT_TYPE;
use crate::Outcome;
use crate::signer::{KeyArg, Signer};

/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope, serialized in this field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// What the payload is: [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload's bytes, standard base64.
    pub payload: String,
    /// One signature per signing key.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// The signing key's fingerprint, `sha256:<hex>` of its SPKI DER.
    pub keyid: String,
    /// The Ed25519 signature over [`pae`], standard base64.
    pub sig: String,
}

/// Why an envelope does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DsseError {
    /// The file is not exactly one line of JSON with the envelope's fields.
    #[error("not a DSSE envelope (one JSON line): {0}")]
    Malformed(String),
    /// `payloadType` is another type.
    #[error("payloadType is {0:?}, not {PAYLOAD_TYPE:?}")]
    PayloadType(String),
    /// A field is not standard base64.
    #[error("{0} is not standard base64")]
    Base64(&'static str),
    /// No signature verifies with the trusted key.
    #[error("no signature verifies with the key {0} ({1} signature(s) tried)")]
    NotSigned(Fingerprint, usize),
}

/// The DSSE v1 pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body)
/// SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

impl Envelope {
    /// The envelope of the statement bytes `payload`, signed by `signer`.
    pub fn sign(payload: &[u8], signer: &Signer) -> Result<Self> {
        let sig = signer
            .sign(&pae(PAYLOAD_TYPE, payload))
            .with_context(|| format!("cannot sign the release statement with {}", signer.name()))?;
        Ok(Self {
            payload_type: PAYLOAD_TYPE.to_owned(),
            payload: STANDARD.encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: signer.fingerprint().to_string(),
                sig: STANDARD.encode(sig),
            }],
        })
    }

    /// Compact JSON and a newline: the bytes of `release.intoto.jsonl`.
    pub fn to_line(&self) -> Result<String> {
        Ok(serde_json::to_string(self)? + "\n")
    }

    /// Reads `release.intoto.jsonl`: one JSON line (a final newline allowed).
    pub fn parse(text: &str) -> Result<Self, DsseError> {
        let line = text.strip_suffix('\n').unwrap_or(text);
        if line.contains('\n') {
            return Err(DsseError::Malformed("more than one line".to_owned()));
        }
        serde_json::from_str(line).map_err(|e| DsseError::Malformed(e.to_string()))
    }

    /// The payload's bytes once a signature verifies (`verify_strict`) with `key`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<Vec<u8>, DsseError> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(DsseError::PayloadType(self.payload_type.clone()));
        }
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|_| DsseError::Base64("payload"))?;
        let message = pae(&self.payload_type, &payload);
        for signature in &self.signatures {
            let bytes = STANDARD
                .decode(&signature.sig)
                .map_err(|_| DsseError::Base64("signatures[].sig"))?;
            let Ok(signature) = EdSignature::from_slice(&bytes) else {
                continue;
            };
            if key.verify_strict(&message, &signature).is_ok() {
                return Ok(payload);
            }
        }
        Err(DsseError::NotSigned(
            Fingerprint::of_ed25519(key.as_bytes()),
            self.signatures.len(),
        ))
    }
}

/// Verify a signed release statement: DIST/release.intoto.jsonl (written by `release
/// --sign`) must carry a valid Ed25519 signature by the release key, over an in-toto
/// statement whose every subject is a file in DIST with that SHA-256.
///
/// When DIST/release.intoto.json is present, it must be the envelope's payload byte for
/// byte. Exit 0 when everything verified; 1 when the signature, the statement or a
/// digest did not; 2 when a file or the key cannot be read.
#[derive(Debug, Args)]
pub struct VerifyStatementArgs {
    /// The release directory (dist/)
    #[arg(value_name = "DIST")]
    dist: PathBuf,
    /// The release public key: an SPKI PEM file (or the pkcs11: URI of a key on a token)
    #[arg(long, value_name = "PUBLIC_PEM")]
    key: KeyArg,
}

impl VerifyStatementArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let raw = self.key.public_key()?;
        let key = VerifyingKey::from_bytes(&raw)
            .with_context(|| format!("{} is not an Ed25519 public key", self.key))?;
        let path = self.dist.join(dist::ENVELOPE);
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let payload = match Envelope::parse(&text).and_then(|e| e.verify(&key)) {
            Ok(payload) => payload,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Ok(Outcome::Failure);
            }
        };
        let plain = self.dist.join(dist::STATEMENT);
        match fs::read(&plain) {
            Ok(bytes) if bytes != payload => {
                eprintln!(
                    "error: {} differs from the statement signed in {}",
                    plain.display(),
                    path.display()
                );
                return Ok(Outcome::Failure);
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", plain.display())),
        }
        let subjects = match subjects(&payload) {
            Ok(subjects) => subjects,
            Err(problem) => {
                eprintln!("error: {}: the signed statement {problem}", path.display());
                return Ok(Outcome::Failure);
            }
        };
        let mut ok = true;
        for (name, expected) in &subjects {
            let file = self.dist.join(name);
            let actual = sha256_file(&file)?;
            if &actual == expected {
                println!("{name}: OK");
            } else {
                eprintln!(
                    "error: {}: sha256 {actual}, but the signed statement says {expected}",
                    file.display()
                );
                ok = false;
            }
        }
        if !ok {
            return Ok(Outcome::Failure);
        }
        eprintln!(
            "verify-statement: {} is signed by {} and names {} file(s), each as released",
            path.display(),
            Fingerprint::of_ed25519(&raw),
            subjects.len()
        );
        Ok(Outcome::Success)
    }
}

/// The `(name, sha256)` of each subject of an in-toto statement, or what is wrong with it.
fn subjects(payload: &[u8]) -> Result<Vec<(String, String)>, String> {
    let statement: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("is not JSON: {e}"))?;
    if statement["_type"] != STATEMENT_TYPE {
        return Err(format!(
            "has _type {}, not {STATEMENT_TYPE:?}",
            statement["_type"]
        ));
    }
    let list = statement["subject"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or("has no subject")?;
    list.iter()
        .map(|subject| {
            let name = subject["name"].as_str().unwrap_or_default();
            let sha256 = subject["digest"]["sha256"].as_str().unwrap_or_default();
            let plain_name = !name.is_empty() && !name.contains('/') && name != "..";
            let hex = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if plain_name && hex {
                Ok((name.to_owned(), sha256.to_ascii_lowercase()))
            } else {
                Err(format!(
                    "has a subject that is not a file name and a SHA-256: {subject}"
                ))
            }
        })
        .collect()
}

/// The lowercase hex SHA-256 of a file's bytes.
fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    dist::read_hashed(&mut file, path, |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::signer::pem::PemSigner;

    /// A signer for seed `seed`, through a PEM file as `--sign` reads one.
    fn signer(dir: &Path, seed: u8) -> Signer {
        let path = dir.join(format!("release-{seed}.pem"));
        let der = [&crate::keygen::PKCS8_V1_ED25519_PREFIX[..], &[seed; 32][..]].concat();
        let pem =
            pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der).unwrap();
        let mut file = crate::fsutil::create_new(&path, 0o600).unwrap();
        crate::fsutil::write_all_synced(&mut file, &path, pem.as_bytes()).unwrap();
        Signer::Pem(PemSigner::open(&path).unwrap())
    }

    fn public(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        // The example of the DSSE v1 protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn an_envelope_verifies_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let statement = b"{\"_type\": \"https://in-toto.io/Statement/v1\"}\n";
        let envelope = Envelope::sign(statement, &signer(dir.path(), 5)).unwrap();
        let line = envelope.to_line().unwrap();
        assert!(
            line.starts_with("{\"payloadType\":\"application/vnd.in-toto+json\",\"payload\":\"")
        );
        assert_eq!(line.matches('\n').count(), 1);
        let parsed = Envelope::parse(&line).unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(
            parsed.signatures[0].keyid,
            Fingerprint::of_ed25519(public(5).as_bytes()).to_string()
        );
        assert_eq!(parsed.verify(&public(5)).unwrap(), statement);
        assert!(matches!(
            parsed.verify(&public(6)),
            Err(DsseError::NotSigned(_, 1))
        ));

        let check = |envelope: Envelope, expected: DsseError| {
            assert_eq!(envelope.verify(&public(5)), Err(expected));
        };
        let mut other = envelope.clone();
        other.payload = STANDARD.encode(b"{}");
        check(
            other,
            DsseError::NotSigned(Fingerprint::of_ed25519(public(5).as_bytes()), 1),
        );
        let mut other = envelope.clone();
        other.payload_type = "application/json".to_owned();
        check(other, DsseError::PayloadType("application/json".to_owned()));
        let mut other = envelope.clone();
        other.payload.push('*');
        check(other, DsseError::Base64("payload"));
        let mut other = envelope.clone();
        other.signatures.clear();
        check(
            other,
            DsseError::NotSigned(Fingerprint::of_ed25519(public(5).as_bytes()), 0),
        );

        assert!(Envelope::parse(&format!("{line}{line}")).is_err());
        assert!(Envelope::parse("{\"payloadType\":\"x\"}").is_err());
    }

    #[test]
    fn subjects_must_be_file_names_with_digests() {
        let check = |statement: serde_json::Value, ok: bool| {
            let bytes = serde_json::to_vec(&statement).unwrap();
            assert_eq!(subjects(&bytes).is_ok(), ok, "{statement}");
        };
        let digest = "ab".repeat(32);
        let with = |name: &str, sha: &str| serde_json::json!({"_type": STATEMENT_TYPE, "subject": [{"name": name, "digest": {"sha256": sha}}]});
        check(with("caio-verify", &digest), true);
        check(with("../caio-verify", &digest), false);
        check(with("", &digest), false);
        check(with("caio-verify", "abc"), false);
        check(
            serde_json::json!({"_type": STATEMENT_TYPE, "subject": []}),
            false,
        );
        check(
            serde_json::json!({"_type": "x", "subject": [{"name": "a", "digest": {"sha256": digest}}]}),
            false,
        );
    }
}
