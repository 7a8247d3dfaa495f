//! Fixtures shared by the workspace's tests: keys, keyrings, licenses, command runs and
//! the secret-leak audit, written once so that each test says only what it checks.
//!
//! Not shipped (`publish = false`) and never a normal dependency of a product crate;
//! test code only, so it may panic on a broken fixture with a message saying which.
//!
//! - [`keys`]: keys from seeds and keys made by OpenSSL, their PEMs and fingerprints.
//! - [`keyring`]: keyrings in memory, and manifests on disk.
//! - [`tokens`]: licenses taken apart and bent (a payload read, a signature replaced).
//! - [`run`]: running a command and what it printed; the workspace root.
//! - [`leak`]: the secret-leak audit, searching output for every form of a private key.
//! - [`shared_target`]: the target directory the tests' own cargo builds share, locked.

pub mod keyring;
pub mod keys;
pub mod leak;
pub mod run;
pub mod shared_target;
pub mod tokens;
