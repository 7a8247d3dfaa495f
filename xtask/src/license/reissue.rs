//! `license reissue`: sign every outstanding license anew with the new key (runbook
//! step 4 of a rotation), in bulk.
//!
//! Each input line is verified against the manifest's keyring now; a license that
//! verifies keeps its whole signed payload (`lid`, `sub`, `features`, `seats`, `nbf`,
//! `exp`, and any field this toolchain does not know), with only `kid` (the new key's
//! fingerprint) and `iat` (now) replaced, and is signed again and verified again (fail
//! closed). A line that does not verify, or whose re-issue would not, is reported on
//! stderr with its line number and reason, and the run goes on.
//!
//! Streaming and parallel: lines are read in chunks of [`CHUNK_LINES`], each chunk
//! signed across every core with rayon, in tasks of [`TASK_LINES`] whose verifications
//! run as one batch (`Verifier::verify_batch`), and written in input order, so memory stays
//! bounded whatever the input's size and the output lines match the good input lines
//! one for one. The private key is read and checked once; a key on a PKCS#11 token
//! signs on the token, each worker thread through a session no other thread is using
//! at the time ([`crate::signer::pkcs11`]), and a token that fails to sign stops the
//! run with nothing written. The output file is written
//! atomically ([`AtomicFile`]): it appears complete at the end, or not at all (an I/O
//! error, an empty input); an existing file is replaced only then. It holds the good
//! licenses even when some lines were rejected, and the exit status is then 1, so a
//! script cannot mistake a partial re-issue for a complete one.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal as _, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use caio_verify::{Claims, Options, Rejection, Verifier};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde_json::{Value, json};

use super::LicenseLines;
use super::token;
use crate::Outcome;
use crate::fsutil::AtomicFile;
use crate::signer::{KeyArg, KeyringSigner};
use crate::time::{Clock, format_instant};

/// How many input lines are read, signed in parallel, and written at a time.
pub const CHUNK_LINES: usize = 2048;

/// How many lines one parallel task verifies (in one batch), signs, and checks (in one
/// batch).
const TASK_LINES: usize = 64;

/// Re-issue licenses in bulk: verify each against keys/keyring.toml, sign it anew with
/// PRIVATE.
///
/// Each license in INPUT (one per line) that verifies now is signed again with the new
/// key's kid and a fresh iat. Every field of a license is kept (lid, sub, features, seats,
/// nbf, exp and unknown fields). PRIVATE must be a key of the manifest inside its signing
/// window now.
/// Rejected lines are reported on stderr with their line number and reason, without
/// stopping; the output then holds the good licenses only, in input order, and the exit
/// status is 1. Blank lines are skipped. OUTPUT is written atomically (complete or not
/// at all).
#[derive(Debug, Args)]
pub struct ReissueArgs {
    /// The new private key: a PKCS#8 PEM file readable by its owner only, or the RFC
    /// 7512 URI of a key on a PKCS#11 token (see `license issue --help`).
    #[arg(long, value_name = "PRIVATE")]
    key: KeyArg,
    /// The licenses to re-issue, one per line, or `-` for stdin.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// Where to write the re-issued licenses, one per line [default: stdout].
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// Print a summary as JSON on stdout (needs --output): {"input", "output", "kid",
    /// "key_id", "iat", "total", "reissued", "rejected": [{"line", "lid", "reason",
    /// "detail"}]}.
    #[arg(long, requires = "output")]
    json: bool,
}

/// Why one input line was not re-issued.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineRejection {
    line: usize,
    /// The license id, when the signature verified and the payload has one.
    lid: Option<String>,
    /// A `caio-verify` reason code.
    reason: &'static str,
    detail: String,
}

/// What re-issues one license: the new key, and the manifest's verdicts now.
struct Reissuer<'a> {
    signer: &'a KeyringSigner<'a>,
    verifier: Verifier<'a>,
    now: i64,
}

/// Where the re-issued licenses go.
enum Sink {
    File(AtomicFile),
    Stdout(BufWriter<io::Stdout>),
}

impl ReissueArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = crate::keys::load()? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        let Some(signer) = KeyringSigner::open(&manifest, &self.key, now)? else {
            return Ok(Outcome::Failure);
        };
        let reissuer = Reissuer {
            signer: &signer,
            verifier: Verifier::new(manifest.keyring(), Options::at(now)),
            now,
        };
        let input_name = self.input.display().to_string();
        let (reader, total_bytes) = open_input(&self.input)?;
        let mut sink = match &self.output {
            Some(path) => Sink::File(AtomicFile::create(path)?),
            None => Sink::Stdout(BufWriter::new(io::stdout())),
        };
        let progress = progress_bar(total_bytes);

        let mut lines = LicenseLines::new(reader);
        let mut total = 0_usize;
        let mut reissued = 0_usize;
        let mut rejected = Vec::new();
        loop {
            let chunk: Vec<(usize, Vec<u8>)> =
                lines.by_ref().take(CHUNK_LINES).collect::<Result<_>>()?;
            if chunk.is_empty() {
                break;
            }
            // An error here is the signer's (a token that stopped signing): the run
            // stops, and the output is not written.
            let results: Vec<Result<String, LineRejection>> = chunk
                .par_chunks(TASK_LINES)
                .map(|task| reissuer.reissue(task))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect();
            total += chunk.len();
            for result in results {
                match result {
                    Ok(token) => {
                        sink.write_line(&token)?;
                        reissued += 1;
                    }
                    Err(rejection) => {
                        progress.suspend(|| report(&input_name, &rejection));
                        rejected.push(rejection);
                    }
                }
            }
            progress.set_position(lines.bytes_read);
            progress.set_message(format!("{reissued} re-issued, {} rejected", rejected.len()));
        }
        progress.finish_and_clear();
        if total == 0 {
            bail!("no license in {input_name}: give one license per line");
        }
        sink.commit()?;

        let entry = signer.entry();
        let destination = self
            .output
            .as_ref()
            .map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
        eprintln!(
            "re-issued {reissued} of {total} license(s) from {input_name} with key {} ({}) at {} to {destination}",
            entry.id.as_str(),
            signer.kid(),
            format_instant(now)
        );
        if !rejected.is_empty() {
            eprintln!(
                "error: {} license(s) rejected (listed above by line); {destination} holds the {reissued} good one(s) only",
                rejected.len()
            );
        }
        if self.json {
            let rejected_json: Vec<Value> = rejected
                .iter()
                .map(|r| json!({"line": r.line, "lid": r.lid, "reason": r.reason, "detail": r.detail}))
                .collect();
            let summary = json!({
                "input": input_name,
                "output": destination,
                "kid": signer.kid().to_string(),
                "key_id": entry.id.as_str(),
                "iat": now,
                "total": total,
                "reissued": reissued,
                "rejected": rejected_json,
            });
            println!("{summary}");
        }
        Ok(if rejected.is_empty() {
            Outcome::Success
        } else {
            Outcome::Failure
        })
    }
}

impl Reissuer<'_> {
    /// Verifies each license of `task` (line number, token) and signs its payload
    /// anew, or says why not (the inner errors, one per line, in order). The outer
    /// error is the signer's: nothing about a line. Both verifications go through
    /// `Verifier::verify_batch`: the verdicts of one `verify` each, faster.
    fn reissue(&self, task: &[(usize, Vec<u8>)]) -> Result<Vec<Result<String, LineRejection>>> {
        let reject = |line: usize, rejection: Rejection, context: &str| LineRejection {
            line,
            lid: rejection.signed_lid().map(str::to_owned),
            reason: rejection.reason.code(),
            detail: format!("{context}{}", rejection.detail),
        };
        let tokens: Vec<&[u8]> = task.iter().map(|(_, token)| token.as_slice()).collect();
        let verified = self.verifier.verify_batch(&tokens);
        // The licenses that verified, signed anew, with their lid, in order.
        let mut signed = Vec::new();
        for license in verified.iter().flatten() {
            let claims = Claims {
                kid: self.signer.kid(),
                iat: self.now,
                ..license.to_claims()
            };
            signed.push((license.lid().to_owned(), token::sign(self.signer, &claims)?));
        }
        // Fail closed: what is written must verify now, as the input did.
        let reissued: Vec<&str> = signed.iter().map(|(_, token)| token.as_str()).collect();
        let mut checked = signed.iter().zip(self.verifier.verify_batch(&reissued));
        Ok(task
            .iter()
            .zip(verified)
            .map(|((line, _), verified)| match verified {
                Err(r) => Err(reject(*line, r, "")),
                Ok(_) => match checked.next() {
                    Some(((_, token), Ok(_))) => Ok(token.clone()),
                    Some(((lid, _), Err(r))) => Err(LineRejection {
                        lid: Some(lid.clone()),
                        ..reject(*line, r, "the re-issued license does not verify: ")
                    }),
                    // One signed token per verified license: never short.
                    None => Err(LineRejection {
                        line: *line,
                        lid: None,
                        reason: "bad_signature",
                        detail: "the re-issued license was not checked".to_owned(),
                    }),
                },
            })
            .collect())
    }
}

impl Sink {
    fn write_line(&mut self, token: &str) -> Result<()> {
        let writer: &mut dyn Write = match self {
            Self::File(file) => file,
            Self::Stdout(out) => out,
        };
        writer
            .write_all(token.as_bytes())
            .and_then(|()| writer.write_all(b"\n"))
            .context("cannot write a re-issued license")
    }

    fn commit(self) -> Result<()> {
        match self {
            Self::File(file) => file.commit(),
            Self::Stdout(mut out) => out.flush().context("cannot write to stdout"),
        }
    }
}

/// The input as a buffered reader, with its size when it is a file.
fn open_input(path: &Path) -> Result<(Box<dyn BufRead>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 16, file)), size))
}

/// A progress bar on stderr when it is a terminal; a hidden one otherwise.
fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match total_bytes {
        Some(total) => (
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            "re-issuing [{bar:40}] {bytes}/{total_bytes} ({eta}) {msg}",
        ),
        None => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "re-issuing {spinner} {bytes} read {msg}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Reports one rejected line on stderr.
fn report(input: &str, rejection: &LineRejection) {
    let license = rejection
        .lid
        .as_ref()
        .map_or_else(String::new, |lid| format!(" license {lid:?}:"));
    eprintln!(
        "error: {input}:{}:{license} rejected ({}): {}",
        rejection.line, rejection.reason, rejection.detail
    );
}
