//! The CAIO keyring: which Ed25519 public keys a build trusts, when, and the one byte
//! block that carries them into a binary.
//!
//! Three crates share this one: the proc-macro (`caio-pubkey-macro`) reads
//! `keys/keyring.toml` with the [`manifest`] module and writes a block with
//! [`block::encode`]; the runtime verifier (`caio-verify`) reads that block back with
//! [`block::decode`]; the gate decodes every block it finds in an artifact and compares
//! it with the manifest's encoding. One implementation of the format serves the writer
//! and every reader, so they cannot drift apart.
//!
//! Key types:
//! - [`Keyring`]: valid by construction (sorted, bounded, no duplicates, no weak keys,
//!   windows in order); the decoder and the manifest reader both go through
//!   [`Keyring::new`].
//! - [`TrustedKey`], [`Validity`], [`KeyId`], [`Fingerprint`].
//! - [`block`]: format 1, byte for byte as `docs/format.md` specifies.
//! - [`manifest`] (cargo feature `manifest`): `keys/keyring.toml` and its PEM files.
//! - [`view`] (cargo feature `view`): the one JSON view of a keyring, and the one
//!   spelling of an instant, that every command shows.
//!
//! ```
//! use caio_keyring::{block, Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
//!
//! let raw = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes();
//! let window = Validity { not_before: 0, sign_until: 100, not_after: 200 };
//! let key = TrustedKey::ed25519(KeyId::new("caio-2026-01")?, &raw, window)?;
//! let keyring = Keyring::new(1, Channel::Production, RuntimeOverride::Deny, vec![key], vec![])?;
//! let bytes = block::encode(&keyring);
//! assert_eq!(block::decode(&bytes)?, keyring);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Non-goals: verifying licenses (that is `caio-verify`), editing manifests (that is
//! `xtask`), any I/O outside the [`manifest`] and [`file`] modules.

// Code that reads untrusted bytes never indexes and never unwraps; tests may.
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used))]

pub mod block;
pub mod file;
mod fingerprint;
mod keyring;
#[cfg(feature = "manifest")]
pub mod manifest;
#[cfg(feature = "view")]
pub mod view;

pub use fingerprint::{ED25519_SPKI_PREFIX, Fingerprint, FingerprintParseError};
pub use keyring::{
    Algorithm, Channel, KeyId, KeyIdError, Keyring, KeyringError, MAX_ID_LEN, MAX_KEYS,
    MAX_REVOKED, OPEN_END, PublicKeyError, RuntimeOverride, TrustedKey, Validity,
    ed25519_public_key,
};
