//! `cargo xtask`: operator and release tooling for the CAIO keyring.
//!
//! One module per command family; each parses its own flags with clap and returns an
//! [`Outcome`]. `main` owns the exit codes (`caio_cli::exit`): 0 when everything checked
//! out, 1 when a check failed, 2 for a usage or I/O error. The commands share the
//! `caio-keyring` model and never re-parse the manifest themselves.

mod bench;
mod dev;
mod fsutil;
mod keygen;
mod keys;
mod license;
mod release;
mod rotation;
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
    // Takes its help from the doc of `DevArgs`.
    Dev(dev::DevArgs),
    // Takes its help from the doc of `KeygenArgs`.
    Keygen(keygen::KeygenArgs),
    /// Inspect and edit keys/keyring.toml: list, check, timeline, add, rotate, retire,
    /// revoke, remove.
    Keys(keys::KeysArgs),
    /// Issue, verify and re-issue CAIO-v2 licenses against keys/keyring.toml.
    License(license::LicenseArgs),
    // Take their help from the docs of their `Args` structs.
    Release(release::ReleaseArgs),
    /// Decide on fleet evidence when an old key can be retired: rotation status.
    Rotation(rotation::RotationArgs),
    VerifyArtifact(verify_artifact::VerifyArtifactArgs),
    VerifyStatement(release::VerifyStatementArgs),
}

/// How a command that ran to the end turned out; `main` maps it to the exit code.
pub use caio_cli::Outcome;

fn main() -> ExitCode {
    let cli = match caio_cli::exit::parse_args::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    caio_cli::exit::finish(match cli.command {
        Command::Bench(args) => args.run(),
        Command::Dev(args) => args.run(),
        Command::Keygen(args) => args.run(),
        Command::Keys(args) => args.run(),
        Command::License(args) => args.run(),
        Command::Release(args) => args.run(),
        Command::Rotation(args) => args.run(),
        Command::VerifyArtifact(args) => args.run(),
        Command::VerifyStatement(args) => args.run(),
    })
}
