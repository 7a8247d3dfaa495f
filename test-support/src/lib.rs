//! Fixtures shared by the workspace's tests: keys, keyrings, licenses, command runs and
//! the secret-leak audit, written once so that each test says only what it checks.
//!
//! Not shipped (`publish = false`) and never a normal dependency of a product crate;
//! test code only, so it may panic on a broken fixture with a message saying which.

pub mod keyring;
