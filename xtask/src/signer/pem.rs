//! A private key in a PEM file: the PKCS#8 form OpenSSL and `cargo xtask keygen` write.
//!
//! The private key is a PKCS#8 PEM (`PRIVATE KEY`): the v1 form `openssl genpkey` and
//! `cargo xtask keygen` write, or the v2 form with the public key inside, which must
//! match the seed. The file must be readable by its owner only, as OpenSSH insists for
//! its keys. The text of the file and the decoded seed live in zeroizing buffers, and
//! `SigningKey` wipes itself on drop; no error message, log line or `Debug` output ever
//! holds a byte of it. Not here: which key may sign what (that is the manifest's
//! business, in [`super::KeyringSigner`]).

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::{Signer as _, SigningKey};

/// An Ed25519 private key read from a PEM file.
pub struct PemSigner {
    key: SigningKey,
    path: PathBuf,
}

impl PemSigner {
    /// Reads the private key at `path` (see [`read_private_key`]).
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            key: read_private_key(path)?,
            path: path.to_owned(),
        })
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The file the key came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for PemSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemSigner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Reads an Ed25519 private key from a PKCS#8 PEM file readable by its owner only.
pub fn read_private_key(path: &Path) -> Result<SigningKey> {
    // A PKCS#8 PEM is a few hundred bytes; 64 KiB leaves room for comments.
    let bytes = crate::fsutil::read_secret_file(path, 64 << 10)
        .with_context(|| format!("cannot read {}", path.display()))?;
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
            // Not the header line itself: the release gate fails any binary holding
            // one, this one included.
            "{} is not a PEM file; expected a PKCS#8 PEM labelled \"PRIVATE KEY\"",
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
