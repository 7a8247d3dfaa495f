//! The keyring a binary carries: the static block that `embed_keyring!` placed in the
//! binary's keyring link section, decoded once, on first use.
//!
//! The bytes are copied out of the static one by one with [`core::ptr::read_volatile`].
//! With a plain read, an optimizing (LTO) build may see through the static, fold the key
//! bytes into code and leave the section unread, so that a patched section would change
//! nothing and the release gate would vouch for bytes the program never trusts. The
//! volatile reads force the program to use exactly the bytes the gate scans. The copy
//! is then decoded with [`caio_keyring::block::decode`], digest included, and the
//! outcome kept for the life of the program: a corrupt block stays corrupt, and every
//! verification through it is rejected as `keyring_corrupt`.
//!
//! This module does not find blocks in files (that is artifact scanning) and has no
//! other way to obtain a keyring.

use std::sync::OnceLock;

use caio_keyring::Keyring;
use caio_keyring::block::{self, DecodeError};

use crate::runtime::EffectiveKeyring;
use crate::verify::{Options, Verifier};

/// A keyring block embedded at compile time, decoded lazily.
///
/// ```
/// static KEYRING: caio_verify::EmbeddedKeyring =
///     caio_verify::EmbeddedKeyring::new(caio_verify::embed_keyring!());
///
/// let keyring = KEYRING.keyring()?;
/// assert!(!keyring.keys().is_empty());
/// # Ok::<(), &caio_verify::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct EmbeddedKeyring {
    block: &'static [u8],
    decoded: OnceLock<Result<Keyring, DecodeError>>,
}

impl EmbeddedKeyring {
    /// Wraps a block; nothing is read until first use. Usable in a `static`.
    pub const fn new(block: &'static [u8]) -> Self {
        Self {
            block,
            decoded: OnceLock::new(),
        }
    }

    /// The decoded keyring, or why the block is not one. The first call reads and
    /// decodes the block (logging an error if it is corrupt); later calls are free.
    pub fn keyring(&self) -> Result<&Keyring, &DecodeError> {
        self.decoded
            .get_or_init(|| {
                let decoded = block::decode(&read_block(self.block));
                if let Err(error) = &decoded {
                    tracing::error!(
                        reason = "keyring_corrupt",
                        %error,
                        "the embedded keyring block failed its checks; every license will be rejected"
                    );
                }
                decoded
            })
            .as_ref()
    }

    /// A verifier over this keyring; a corrupt block rejects every license as
    /// `keyring_corrupt`.
    pub fn verifier(&self, options: Options) -> Verifier<'_> {
        Verifier::from_decoded(self.keyring(), options)
    }

    /// The embedded keys plus the runtime key `runtime_key` (the text of
    /// `CAIO_LICENSE_PUBLIC_KEY`, already read from its file if it named one), as far as
    /// the embedded policy accepts it; the verdict is logged. See [`crate::runtime`].
    ///
    /// Resolve once, at startup, and keep the result:
    /// `let trusted = KEYRING.with_runtime_key(text.as_deref());` then
    /// `trusted.verifier(Options::at_system_time()).verify(token)`.
    pub fn with_runtime_key(&self, runtime_key: Option<&str>) -> EffectiveKeyring<'_> {
        EffectiveKeyring::new(self.keyring(), runtime_key)
    }

    /// How many bytes the embedded block has.
    pub const fn block_len(&self) -> usize {
        self.block.len()
    }
}

/// Copies the block with one volatile read per byte (see the module docs).
#[allow(unsafe_code)]
fn read_block(block: &'static [u8]) -> Vec<u8> {
    block
        .iter()
        // SAFETY: `byte` is a reference into a live `&'static [u8]`, so the pointer is
        // non-null, aligned and valid for reads of one initialized `u8`.
        .map(|byte| unsafe { core::ptr::read_volatile(byte) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Reason;
    use caio_keyring::{Channel, KeyId, RuntimeOverride, TrustedKey, Validity};

    fn block() -> Vec<u8> {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[3; 32])
            .verifying_key()
            .to_bytes();
        let window = Validity {
            not_before: 0,
            sign_until: 10,
            not_after: 20,
        };
        let key = TrustedKey::ed25519(KeyId::new("k").unwrap(), &raw, window).unwrap();
        let keyring = Keyring::new(
            1,
            Channel::Production,
            RuntimeOverride::Deny,
            vec![key],
            vec![],
        )
        .unwrap();
        block::encode(&keyring)
    }

    #[test]
    fn decodes_the_block_it_wraps() {
        let bytes: &'static [u8] = Vec::leak(block());
        let embedded = EmbeddedKeyring::new(bytes);
        assert_eq!(embedded.block_len(), bytes.len());
        let keyring = embedded.keyring().unwrap();
        assert_eq!(keyring.serial(), 1);
        assert!(core::ptr::eq(keyring, embedded.keyring().unwrap()));
    }

    #[test]
    fn corrupt_block_rejects_every_license_as_keyring_corrupt() {
        let mut bytes = block();
        if let Some(b) = bytes.get_mut(40) {
            *b ^= 1;
        }
        let embedded = EmbeddedKeyring::new(Vec::leak(bytes));
        assert_eq!(embedded.keyring(), Err(&DecodeError::DigestMismatch));
        let rejection = embedded
            .verifier(Options::at(5))
            .verify("CAIO-v2.e30.AA")
            .unwrap_err();
        assert_eq!(rejection.reason, Reason::KeyringCorrupt);
    }
}
