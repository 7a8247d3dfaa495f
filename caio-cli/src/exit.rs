//! How both commands (`caio-verify` and `cargo xtask`) start and end: parsing arguments
//! without echoing a secret, and turning a run's result into an exit code.
//!
//! The exit codes are the documented ones: 0 everything checked out, 1 a check or a
//! license failed, 2 a usage or I/O error. A closed stdout pipe (`| head`) is not a
//! failure of the command and ends it with 0. Nothing here decides a verdict.

use std::io;
use std::process::ExitCode;

use crate::{Outcome, redact};

/// Parses the process's arguments as `C`, or prints the usage error (or `--help`) and
/// returns the exit code to end with: 0 for `--help` and `--version`, 2 otherwise. A
/// rejected argument that is not option-shaped is described, never repeated
/// ([`redact`]).
pub fn parse_args<C: clap::Parser>() -> Result<C, ExitCode> {
    C::try_parse().map_err(|error| {
        match redacted_usage_error(&error) {
            Some(message) => eprintln!("{message}"),
            None => {
                let _ = error.print();
            }
        }
        if error.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    })
}

/// The exit code of a run, printing its error (with every cause, on one line) if it
/// failed.
pub fn finish(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The message to print instead of clap's for a usage error that would echo an
/// argument that may be a secret (see [`redact`]); `None` to print clap's.
pub fn redacted_usage_error(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let arg = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.as_str()),
        _ => None,
    };
    redact::unexpected_argument(arg)
}

/// Whether the error comes from writing to a closed pipe: the reader is gone, and that
/// is not a failure of this command.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_recognized() {
        let pipe = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("cannot write the result");
        assert!(is_broken_pipe(&pipe));
        assert_eq!(finish(Err(pipe)), ExitCode::SUCCESS);
        let other = anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&other));
        assert_eq!(finish(Err(other)), ExitCode::from(2));
    }

    #[test]
    fn outcomes_map_to_the_documented_exit_codes() {
        assert_eq!(finish(Ok(Outcome::Success)), ExitCode::SUCCESS);
        assert_eq!(finish(Ok(Outcome::Failure)), ExitCode::from(1));
        assert_eq!(finish(Ok(Outcome::Error)), ExitCode::from(2));
    }
}
