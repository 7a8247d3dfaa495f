//! Keys for tests: from a fixed seed (their public PEM, fingerprint and private PEM),
//! and made by OpenSSL, the outside referee for what our code writes and reads.
//!
//! Every OpenSSL helper runs the `openssl` command, so the tests prove interop with the
//! tool operators really use, not just agreement with ourselves.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use xshell::cmd;

use crate::run::shell;

/// The DER before the seed in a PKCS#8 v1 Ed25519 key (RFC 8410), as OpenSSL writes it.
pub const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 keypair made by `openssl genpkey`, and its fingerprint as OpenSSL computes it.
pub struct Key {
    /// The private key, PKCS#8 v1 PEM.
    pub private: PathBuf,
    /// The SPKI PEM of its public half.
    pub public: PathBuf,
    /// `sha256:` and the hex SHA-256 of the public key's DER.
    pub fingerprint: String,
}

/// The raw public key of the signing key `[seed; 32]`.
pub fn public_raw(seed: u8) -> [u8; 32] {
    SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes()
}

/// The SPKI PEM of the Ed25519 key with seed `[seed; 32]`.
pub fn public_pem(seed: u8) -> String {
    let mut der = caio_keyring::ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&public_raw(seed));
    pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &der).expect("pem")
}

/// The fingerprint of the key with seed `[seed; 32]`.
pub fn fingerprint(seed: u8) -> String {
    caio_keyring::Fingerprint::of_ed25519(&public_raw(seed)).to_string()
}

/// The PKCS#8 v2 PEM of `seed` (the public key inside), as ed25519-dalek writes it.
pub fn pkcs8_v2_pem(seed: &[u8; 32]) -> String {
    SigningKey::from_bytes(seed)
        .to_pkcs8_pem(pem_rfc7468::LineEnding::LF)
        .expect("v2 PEM")
        .to_string()
}

/// The PKCS#8 v1 PEM of `seed` (no public key inside), as `openssl genpkey` writes it.
pub fn pkcs8_v1_pem(seed: &[u8; 32]) -> String {
    let der = [&PKCS8_V1_PREFIX[..], seed].concat();
    crate::leak::pem_text("PRIVATE KEY", &der)
}

/// Writes `bytes` to `file` with exactly `mode`: how a private key file is written.
pub fn write_private(file: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(file, bytes).expect("key file");
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Makes a keypair with `openssl genpkey` at `private` and `public`.
pub fn openssl_keygen(private: &Path, public: &Path) -> Key {
    let sh = shell();
    cmd!(sh, "openssl genpkey -algorithm ed25519 -out {private}")
        .quiet()
        .run()
        .expect("openssl genpkey");
    cmd!(sh, "openssl pkey -in {private} -pubout -out {public}")
        .quiet()
        .run()
        .expect("openssl pkey -pubout");
    Key {
        fingerprint: openssl_fingerprint(public),
        private: private.to_owned(),
        public: public.to_owned(),
    }
}

/// The Ed25519 signature of `message` by the private key file `private`, made by
/// `openssl pkeyutl -sign -rawin`.
pub fn openssl_sign(private: &Path, message: &[u8]) -> [u8; 64] {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input");
    std::fs::write(&input, message).expect("write the message to sign");
    let sh = shell();
    let signature = cmd!(
        sh,
        "openssl pkeyutl -sign -rawin -inkey {private} -in {input}"
    )
    .quiet()
    .output()
    .expect("openssl pkeyutl -sign")
    .stdout;
    signature
        .try_into()
        .unwrap_or_else(|s: Vec<u8>| panic!("an Ed25519 signature is 64 bytes, not {}", s.len()))
}

/// `sha256:` and the hex SHA-256 of a public key's DER, computed by OpenSSL alone.
pub fn openssl_fingerprint(public_pem: &Path) -> String {
    let sh = shell();
    let der = openssl_public_der(public_pem);
    let digest = cmd!(sh, "openssl dgst -sha256 -r")
        .stdin(der)
        .quiet()
        .read()
        .expect("openssl dgst");
    format!(
        "sha256:{}",
        digest.split_whitespace().next().expect("digest")
    )
}

/// The SPKI DER of a public key PEM, as `openssl pkey -pubin -outform DER` writes it.
pub fn openssl_public_der(public_pem: &Path) -> Vec<u8> {
    let sh = shell();
    cmd!(sh, "openssl pkey -pubin -in {public_pem} -outform DER")
        .quiet()
        .output()
        .expect("openssl pkey -pubin -outform DER")
        .stdout
}

/// The PKCS#8 v1 DER of a private key file as `openssl pkey -outform DER` writes it,
/// checked to be an Ed25519 key: its seed is the last 32 bytes.
pub fn openssl_private_der(private: &Path) -> Vec<u8> {
    let sh = shell();
    let der = cmd!(sh, "openssl pkey -in {private} -outform DER")
        .quiet()
        .output()
        .expect("openssl reads the private key")
        .stdout;
    assert_eq!(
        der.len(),
        48,
        "{}: a PKCS#8 v1 Ed25519 DER",
        private.display()
    );
    assert_eq!(
        der[..16],
        PKCS8_V1_PREFIX,
        "{}: OpenSSL's PKCS#8 v1 header",
        private.display()
    );
    der
}

/// The seed of a PKCS#8 v1 Ed25519 DER from [`openssl_private_der`].
pub fn seed_of(der: &[u8]) -> [u8; 32] {
    der[16..].try_into().expect("32 bytes")
}
