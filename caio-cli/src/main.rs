//! The `caio-verify` command: verifies CAIO-v2 licenses against the keyring this binary
//! embedded at compile time, and shows that keyring.
//!
//! `main` owns the exit codes (0 every license valid, 1 any invalid or a corrupt
//! keyring, 2 usage or I/O error), sets up logging to stderr and prints the whole error
//! chain (`caio_cli::exit`); the commands live in the `caio_cli` library. A closed
//! stdout pipe ends the run quietly with success. The library (`caio_verify`) does the
//! verifying; nothing here decides a
//! verdict.

use std::process::ExitCode;

/// The keyring of the workspace this binary was built in (or of `CAIO_KEYRING`), in the
/// keyring link section: the bytes the release gate scans are the bytes verified with.
static KEYRING: caio_verify::EmbeddedKeyring =
    caio_verify::EmbeddedKeyring::new(caio_verify::embed_keyring!());

fn main() -> ExitCode {
    let cli = match caio_cli::exit::parse_args::<caio_cli::Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    caio_cli::init_logging();
    // Read once, here; the file it may name is read only if the embedded policy allows.
    let runtime_key = caio_cli::RuntimeKeyVar::from_env();
    let result =
        caio_cli::Io::with_process_streams(|io| cli.run(KEYRING.keyring(), &runtime_key, io));
    caio_cli::exit::finish(result)
}
