//! End-to-end tests of the shipped `caio-verify` binary: keys and licenses made with
//! OpenSSL, a keyring embedded at compile time, a binary patched on disk, and rebuilds.
//!
//! One test binary (`tests/it/`), one module per concern; `support` holds the fixtures.

mod corpus;
mod endorse;
mod fuzz_replay;
mod gate;
mod hostile_archives;
mod hygiene;
mod licenses;
mod patch;
mod rebuild;
mod serve;
mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use support::{Entry, Key, openssl_keygen, write_manifest};

/// Keys, a manifest and a binary built against it, shared by the tests.
pub struct Fixture {
    /// Where the keys, manifest and binaries live.
    pub dir: PathBuf,
    /// In the keyring: may sign 2026-01-01..2027-01-01, verifies until 2027-06-01.
    pub active: Key,
    /// Not in the keyring.
    pub stranger: Key,
    /// In the keyring as revoked.
    pub revoked: Key,
    /// The manifest the binary embeds.
    pub manifest: PathBuf,
    /// The `caio-verify` built against it (a dev build: see `support.rs`).
    pub exe: PathBuf,
}

/// The trusted key's `not_before`.
pub const NOT_BEFORE: &str = "2026-01-01T00:00:00Z";
/// The trusted key's `sign_until`.
pub const SIGN_UNTIL: &str = "2027-01-01T00:00:00Z";
/// The trusted key's `not_after`.
pub const NOT_AFTER: &str = "2027-06-01T00:00:00Z";

/// The shared fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = support::kept_dir(support::AREA, "fixture-");
        let active = openssl_keygen(&dir, "active");
        let stranger = openssl_keygen(&dir, "stranger");
        let revoked = openssl_keygen(&dir, "revoked");
        let keys_dir = dir.join("keys");
        std::fs::create_dir_all(&keys_dir).expect("keys dir");
        let manifest = write_manifest(
            &keys_dir,
            5,
            &[
                Entry {
                    id: "caio-active",
                    key: &active,
                    not_before: NOT_BEFORE,
                    sign_until: Some(SIGN_UNTIL),
                    not_after: Some(NOT_AFTER),
                    revoked: false,
                },
                Entry {
                    id: "caio-old",
                    key: &revoked,
                    not_before: "2025-01-01T00:00:00Z",
                    sign_until: None,
                    not_after: None,
                    revoked: true,
                },
            ],
        );
        let exe = support::build_verifier(&manifest, &dir);
        Fixture {
            dir,
            active,
            stranger,
            revoked,
            manifest,
            exe,
        }
    })
}
