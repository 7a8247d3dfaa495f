//! Offline verification of CAIO-v2 license keys against the Ed25519 public keys a
//! binary embeds at compile time.
//!
//! A product build embeds `keys/keyring.toml` with [`embed_keyring!`]: the proc-macro
//! encodes the manifest into one canonical byte block (format 1, see `docs/format.md`)
//! and places it in a `#[used]` static in the binary's keyring link section, where the
//! release gate can find and compare it. At run time [`EmbeddedKeyring`] reads that very
//! block back, through volatile reads, checks its digest once, and a [`Verifier`] turns
//! license tokens into verdicts:
//!
//! ```text
//! CAIO-v2.<base64url JSON payload>.<base64url Ed25519 signature>
//! ```
//!
//! A license verifies only if its `kid` names an embedded, non-revoked key, the
//! signature passes `verify_strict` under that key, it was issued inside the key's
//! signing window, the key's verification window is still open, and the license's own
//! `nbf` / `exp` allow the verification instant (with a configurable leeway, 300 s by
//! default). Anything else is a [`Rejection`] with exactly one stable [`Reason`] code,
//! logged through `tracing` with the key fingerprint. The [`verify`] module documents
//! the order of checks, and why the signature comes before every claim.
//!
//! # Key types
//!
//! - [`EmbeddedKeyring`]: the compile-time block, decoded lazily; `const`-constructible
//!   so it lives in a `static`.
//! - [`Verifier`] and [`Options`]: one keyring, one verification instant, one leeway.
//!   [`Verifier::verify_batch`] gives many tokens the verdicts [`Verifier::verify`]
//!   would, faster per token.
//! - [`VerifiedLicense`]: the only proof of success; its fields are the signed claims.
//! - [`Rejection`] and [`Reason`]: why not, with [`Reason::code`] the stable name.
//! - [`EffectiveKeyring`]: the embedded keys plus at most one runtime key
//!   (`CAIO_LICENSE_PUBLIC_KEY`), admitted only as the embedded `runtime_override`
//!   policy allows ([`runtime`]): a [`RuntimeKey`] is a key [`Endorsement`]
//!   (`CAIO-key-v1...`, signed by an embedded key, see [`endorsement`]) or, in `allow`
//!   builds, a plain PEM; a refused one is a [`RuntimeKeyError`] with a stable code.
//! - [`Keyring`], [`TrustedKey`], [`Fingerprint`] and [`KeyId`] come from
//!   [`caio_keyring`], re-exported here.
//!
//! # Example
//!
//! A product writes
//! `static KEYRING: EmbeddedKeyring = EmbeddedKeyring::new(embed_keyring!());` and
//! calls `KEYRING.verifier(Options::at_system_time()).verify(token)`. The same, with a
//! keyring built by hand and a license signed on the spot:
//!
//! ```
//! use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
//! use caio_verify::{Claims, Options, Reason, Verifier};
//! use ed25519_dalek::SigningKey;
//!
//! // The issuer's key, and the keyring a build would embed for it.
//! let signing_key = SigningKey::from_bytes(&[7; 32]);
//! let raw = signing_key.verifying_key().to_bytes();
//! let (not_before, sign_until, not_after) = (1_700_000_000, 1_800_000_000, 1_900_000_000);
//! let window = Validity { not_before, sign_until, not_after };
//! let key = TrustedKey::ed25519(KeyId::new("caio-2026-01")?, &raw, window)?;
//! let kid = key.fingerprint();
//! let keyring = Keyring::new(1, Channel::Production, RuntimeOverride::Deny, vec![key], vec![])?;
//!
//! // A license, as `cargo xtask license issue` (or OpenSSL) would write it.
//! let claims = Claims {
//!     exp: Some(1_850_000_000),
//!     features: Some(vec!["pro".to_owned()]),
//!     ..Claims::new(kid, "lic-1", "ACME Corp", 1_750_000_000)
//! };
//! let token = claims.sign(&signing_key);
//!
//! let verifier = Verifier::new(&keyring, Options::at(1_760_000_000));
//! let license = verifier.verify(&token)?;
//! assert_eq!((license.sub(), license.key_id().as_str()), ("ACME Corp", "caio-2026-01"));
//! assert!(license.has_feature("pro"));
//!
//! // After `exp` (and the leeway), the same token is rejected, with a stable code.
//! let later = Verifier::new(&keyring, Options::at(1_850_000_301));
//! assert_eq!(later.verify(&token).unwrap_err().reason, Reason::Expired);
//! assert_eq!(Reason::Expired.code(), "expired");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Telemetry
//!
//! [`Telemetry`] counts verdicts by result (`ok` or the [`Reason::code`]) and by
//! trusted key (an embedded key's or the runtime key's id, or `none` when no trusted
//! key was chosen: never a label from the token, so a forged `kid` counts under
//! `none`), and keeps each key's last success. Counting is a relaxed atomic add: no
//! lock, no allocation. Build it once from the [`EffectiveKeyring`] you verify with,
//! and verify through it (or call [`Telemetry::record`] with each verdict):
//!
//! ```
//! # use caio_keyring::{Channel, KeyId, Keyring, RuntimeOverride, TrustedKey, Validity};
//! # use caio_verify::{Claims, EffectiveKeyring, Options, Telemetry};
//! # use ed25519_dalek::SigningKey;
//! # let signing_key = SigningKey::from_bytes(&[7; 32]);
//! # let raw = signing_key.verifying_key().to_bytes();
//! # let (not_before, sign_until, not_after) = (1_700_000_000, 1_800_000_000, 1_900_000_000);
//! # let window = Validity { not_before, sign_until, not_after };
//! # let key = TrustedKey::ed25519(KeyId::new("caio-2026-01")?, &raw, window)?;
//! # let claims = Claims::new(key.fingerprint(), "lic-1", "ACME Corp", 1_750_000_000);
//! # let token = claims.sign(&signing_key);
//! # let keyring = Keyring::new(1, Channel::Production, RuntimeOverride::Deny, vec![key], vec![])?;
//! // In a product: `let keys = KEYRING.with_runtime_key(text.as_deref());`
//! let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
//! let telemetry = Telemetry::new(&keys); // every (result, key) pair at 0
//!
//! let verifier = keys.verifier(Options::at(1_760_000_000));
//! assert!(telemetry.verify(&verifier, &token).is_ok());
//! assert!(telemetry.verify(&verifier, "not a license").is_err());
//!
//! let snapshot = telemetry.snapshot();
//! let count = |result: &str, key: &str| {
//!     snapshot.verifications.iter()
//!         .find(|c| c.result == result && c.key_label() == key)
//!         .map(|c| c.count)
//! };
//! assert_eq!(count("ok", "caio-2026-01"), Some(1));
//! assert_eq!(count("bad_prefix", "none"), Some(1));
//! assert_eq!(snapshot.keys[0].last_success, Some(1_760_000_000));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! With the optional feature `metrics`, `Arc::new(telemetry).register(&mut registry)`
//! exposes the same counters in a `prometheus-client` registry (metric names in
//! `docs/telemetry.md`); without it this crate links no metrics library.
//!
//! # Dependencies
//!
//! This crate is the lean verifier and nothing else: no TOML, PEM or command-line
//! parser, no archive, HTTP or async code (a test holds it to that with `cargo tree`).
//! The artifact gate is the `caio-gate` crate; the `caio-verify` command is `caio-cli`,
//! whose `serve` is the HTTP status server. The one optional dependency is
//! `prometheus-client`, behind the `metrics` feature (off by default).
//!
//! # Non-goals
//!
//! - Issuing licenses or handling private keys: that is `cargo xtask license issue`.
//! - Reading `keys/keyring.toml` at run time: the keyring is fixed at compile time.
//! - Online checks, revocation lists fetched at run time, clocks: the caller supplies
//!   the verification instant.
//! - Deciding what a feature or a seat count means to the product.

#![deny(unsafe_code)]
// Code that reads untrusted bytes never indexes and never unwraps; tests may.
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used))]

mod embedded;
pub mod endorsement;
mod json;
pub mod license;
#[cfg(feature = "view")]
pub mod report;
pub mod runtime;
pub mod telemetry;
pub mod verify;

pub use caio_keyring::{self, Fingerprint, KeyId, Keyring, TrustedKey, block::DecodeError};
pub use caio_pubkey_macro::embed_keyring;
pub use embedded::EmbeddedKeyring;
pub use endorsement::{Endorsement, EndorsementError};
pub use license::Claims;
pub use runtime::{EffectiveKeyring, KeySource, RuntimeKey, RuntimeKeyError};
pub use telemetry::{Snapshot, Telemetry};
pub use verify::{
    DEFAULT_LEEWAY_SECS, Options, PreparedKey, Reason, Rejection, VerifiedLicense, Verifier,
};
