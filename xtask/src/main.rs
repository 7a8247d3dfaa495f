//! `cargo xtask`: operator and release tooling for the CAIO keyring.
//!
//! One module per command family; each parses its own flags with clap and returns an
//! [`ExitCode`]-worthy result. `main` owns the exit codes that DESIGN.md fixes: 0 when
//! everything checked out, 1 when a check failed, 2 for a usage or I/O error. The
//! commands share the `caio-keyring` model and never re-parse the manifest themselves.

mod bench;
mod fsutil;
mod keygen;
mod keys;
mod license;
mod release;
mod signer;
mod test_hook;
mod time;
mod verify_artifact;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Operator and release tooling for the CAIO keyring (keys/keyring.toml).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    // Takes its help from the doc of `BenchArgs`.
    Bench(bench::BenchArgs),
    // Takes its help from the doc of `KeygenArgs`.
    Keygen(keygen::KeygenArgs),
    /// Inspect and edit keys/keyring.toml: list, check, timeline, add, rotate, retire,
    /// revoke, remove.
    Keys(keys::KeysArgs),
    /// Issue, verify and re-issue CAIO-v2 licenses against keys/keyring.toml.
    License(license::LicenseArgs),
    // Take their help from the docs of their `Args` structs.
    Release(release::ReleaseArgs),
    VerifyArtifact(verify_artifact::VerifyArtifactArgs),
}

/// The outcome of a command that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// A check failed; the command said which.
    CheckFailed,
    /// Everything was reported, and some input could not be examined (an unreadable
    /// artifact, a malformed archive): exit 2, as for an I/O error.
    Incomplete,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            match redacted_usage_error(&e) {
                Some(message) => eprintln!("{message}"),
                None => {
                    let _ = e.print();
                }
            }
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Bench(args) => args.run(),
        Command::Keygen(args) => args.run(),
        Command::Keys(args) => args.run(),
        Command::License(args) => args.run(),
        Command::Release(args) => args.run(),
        Command::VerifyArtifact(args) => args.run(),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::CheckFailed) => ExitCode::from(1),
        Ok(Outcome::Incomplete) => ExitCode::from(2),
        // The reader of our output went away (`| head`): not a failure of ours.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether the error comes from writing to a closed pipe.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The message to print instead of clap's for a usage error that would echo an
/// argument that may be a private key pasted by mistake (see
/// `caio_cli::redact`); `None` to print clap's.
fn redacted_usage_error(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.as_str()),
        _ => None,
    };
    caio_cli::redact::unexpected_argument(arg)
}
