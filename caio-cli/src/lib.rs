//! The command line: argument definitions (clap derive), one module per subcommand, and
//! what they share (the I/O handles, the outcome, time formatting, logging).
//!
//! Each subcommand is an `Args` struct with a `run` method that takes the decoded
//! embedded keyring and an [`Io`], and returns an [`Outcome`] or an error; `main` maps
//! those to exit codes. Commands never touch the process's stdin, stdout or exit code
//! themselves, so tests drive them with byte buffers. A new subcommand is one more
//! module and one more [`Command`] variant.

#![deny(unsafe_code)]

pub mod check;
pub mod exit;
mod inspect;
mod keyring;
pub mod license;
pub mod redact;
mod runtime_key;
mod serve;

use std::io::{self, BufRead, IsTerminal as _, Write};
use std::process::ExitCode;

use caio_verify::{DecodeError, Keyring};
use clap::{Parser, Subcommand};

pub use runtime_key::RuntimeKeyVar;

/// Verify CAIO-v2 license keys offline, against the Ed25519 public keys this binary
/// embedded at compile time; find and gate the keyring blocks in artifacts.
///
/// Exit status: 0 when every license is valid (every artifact passes), 1 when any is
/// not (or the embedded keyring is corrupt), 2 for a usage or I/O error. Results go to
/// stdout; diagnostics go to stderr (set RUST_LOG, e.g. RUST_LOG=off or RUST_LOG=debug,
/// to choose how many).
///
/// CAIO_LICENSE_PUBLIC_KEY (a key endorsement, CAIO-key-v1..., or an SPKI PEM; or the
/// path of a file holding one) adds one runtime key for `license`, `keyring` and
/// `serve`, as far as the embedded runtime_override policy allows: "deny" ignores it
/// with a warning, "endorsed" accepts only an endorsement signed by an embedded key
/// (`cargo xtask keys endorse`), "allow" (development builds) also a plain PEM. A
/// rejected value is logged with its reason and changes nothing.
#[derive(Debug, Parser)]
#[command(name = "caio-verify", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    License(license::LicenseArgs),
    Keyring(keyring::KeyringArgs),
    Inspect(inspect::InspectArgs),
    Check(check::CheckArgs),
    Serve(serve::ServeArgs),
}

/// Where a command reads and writes.
pub struct Io<'a> {
    /// Where `license -` reads its tokens.
    pub stdin: &'a mut dyn BufRead,
    /// Results: human lines, JSON, reports.
    pub stdout: &'a mut dyn Write,
    /// Diagnostics, and annotations beside a JSON report.
    pub stderr: &'a mut dyn Write,
}

impl Io<'_> {
    /// Runs `run` with the process's own streams: stdin and stdout locked, stderr.
    pub fn with_process_streams<T>(run: impl FnOnce(&mut Io<'_>) -> T) -> T {
        let (mut stdin, mut stdout, mut stderr) =
            (io::stdin().lock(), io::stdout().lock(), io::stderr());
        run(&mut Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        })
    }
}

/// How a command that ran to the end turned out: `caio-verify`'s and `cargo xtask`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out: every license valid, every artifact passed, the listing
    /// shown, the edit written.
    Success,
    /// A check failed, and the command said which: a license was invalid, the embedded
    /// keyring is corrupt, an artifact failed the gate, the manifest breaks a rule.
    Failure,
    /// Everything was reported, and some input could not be examined (an unreadable
    /// path, a malformed archive, a limit exceeded): exit 2, as for an I/O error.
    Error,
}

impl Cli {
    /// Runs the chosen command against the embedded keyring and, for the commands that
    /// verify or list keys, the runtime key `CAIO_LICENSE_PUBLIC_KEY` as far as the
    /// embedded policy accepts it (resolved here, once; other commands ignore it).
    pub fn run(
        self,
        keyring: Result<&Keyring, &DecodeError>,
        runtime_key: &RuntimeKeyVar,
        io: &mut Io<'_>,
    ) -> anyhow::Result<Outcome> {
        match self.command {
            Command::License(args) => args.run(&runtime_key.resolve(keyring), io),
            Command::Keyring(args) => args.run(&runtime_key.resolve(keyring), io),
            Command::Inspect(args) => args.run(io),
            Command::Check(args) => args.run(io),
            Command::Serve(args) => args.run(keyring, runtime_key, io),
        }
    }
}

impl Outcome {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Success => ExitCode::SUCCESS,
            Self::Failure => ExitCode::from(1),
            Self::Error => ExitCode::from(2),
        }
    }
}

/// Logs go to stderr; `RUST_LOG` chooses, `warn` by default (each rejection is one).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
