//! The one target directory the tests' own cargo builds of this workspace share:
//! `target/it-builds`.
//!
//! Several tests build workspace binaries themselves, each as its user would: the
//! runbook's keygen script builds `xtask`, the rotation tests and the command's
//! end-to-end tests (`caio-cli/tests/it`) build `caio-verify` against test keyrings, the
//! endorsement tests build `xtask`. They cannot build into the `target/` of the test
//! run (a build with other features or another `CAIO_KEYRING` would replace the
//! binaries the other tests run), but they need not each compile every dependency
//! again either: here the dependencies are compiled once.
//!
//! Only builds of this checkout belong here. Cargo hashes a workspace crate by its path
//! relative to the workspace root, so a copy of the workspace building here would share
//! this checkout's units, and its `cargo xtask` could run this checkout's `xtask`; the
//! copies the release tests make build into their own `target/`.
//!
//! Builds here share the place cargo copies a finished binary to (`debug/xtask`,
//! `debug/caio-verify`): between one test's build and its run of that file, another's
//! build could replace it. So every use (the build and every run of what it built, or a
//! copy taken elsewhere) happens while holding [`SharedTarget`], an exclusive `flock` on
//! `target/it-builds/lock`. The file is opened anew by each holder, so the lock
//! excludes the other threads of a test process as well as other processes.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::run::workspace_root;

/// The shared target directory, held exclusively until dropped.
pub struct SharedTarget {
    _lock: File,
    dir: PathBuf,
}

impl SharedTarget {
    /// Waits until no one else holds the directory, then holds it.
    pub fn lock() -> Self {
        let dir = workspace_root().join("target").join("it-builds");
        std::fs::create_dir_all(&dir).expect("target/it-builds");
        let lock = File::create(dir.join("lock")).expect("target/it-builds/lock");
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .expect("flock target/it-builds/lock");
        Self { _lock: lock, dir }
    }

    /// The directory, for `CARGO_TARGET_DIR`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
