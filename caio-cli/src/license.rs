//! `caio-verify license` and `cargo xtask license verify`: verify one token, or one per
//! line from stdin, and print one result line per token, in order.
//!
//! Both commands run [`LicenseRun::run`], the one code path: they differ in the keyring
//! (the embedded one with the runtime key, or the one the manifest describes) and in how
//! `--at` is typed, not in what they print.
//!
//! Stdin is read in chunks of lines; each chunk is verified across every core (rayon),
//! in tasks of [`TASK_LINES`] lines that each go through `Verifier::verify_batch` (the
//! same verdicts as one `verify` per line, with the signature checks finishing
//! together), and its result lines are written in input order through one buffered
//! writer, so the output is the same, byte for byte, as verifying one line after another.
//!
//! Only what a verified signature covers is printed as a payload: a license refused for
//! its dates or fields shows its signed payload (so an operator sees which license
//! expired); a token whose signature did not verify shows its reason and, once known,
//! the key, never its claims.

use std::io::{BufWriter, Write as _};
use std::ops::Range;

use anyhow::{Context as _, bail};
use caio_verify::report::{VerdictJson, human_line};
use caio_verify::{
    DEFAULT_LEEWAY_SECS, EffectiveKeyring, Options, Rejection, VerifiedLicense, Verifier,
};
use rayon::prelude::*;

use crate::{Io, Outcome};

/// Verify CAIO-v2 licenses.
///
/// Prints one line per license on stdout, in input order: a short human line, or with
/// --json one JSON object {"valid", "reason", "detail", "kid", "key_id", "payload"}.
/// Exits 0 only when every license is valid, 1 otherwise.
#[derive(Debug, clap::Args)]
pub struct LicenseArgs {
    /// The license (CAIO-v2.PAYLOAD.SIGNATURE), or `-` to read one license per line
    /// from stdin (every line is a result, empty ones included; a trailing CR is
    /// ignored)
    #[arg(value_name = "TOKEN|-")]
    token: String,

    /// Print one JSON object per license instead of a human line
    #[arg(long)]
    json: bool,

    /// Verify as of this instant, RFC 3339 (e.g. 2026-07-01T00:00:00Z) [default: now]
    #[arg(long, value_name = "T", value_parser = parse_instant)]
    at: Option<jiff::Timestamp>,

    /// Seconds of clock skew forgiven on the license's iat, nbf and exp (not on the
    /// key's windows)
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_LEEWAY_SECS)]
    leeway: u64,
}

/// One run of the license loop: what to verify, when, and how to print it.
#[derive(Debug, Clone)]
pub struct LicenseRun {
    /// A token, or `-` for one per stdin line.
    pub token: String,
    /// One JSON object per result instead of a human line.
    pub json: bool,
    /// The verification instant, unix seconds.
    pub at: i64,
    /// Seconds of clock skew forgiven on the license's `iat`, `nbf` and `exp`.
    pub leeway: u64,
}

impl LicenseArgs {
    pub(crate) fn run(
        self,
        keys: &EffectiveKeyring<'_>,
        io: &mut Io<'_>,
    ) -> anyhow::Result<Outcome> {
        let run = LicenseRun {
            token: self.token,
            json: self.json,
            at: self.at.unwrap_or_else(jiff::Timestamp::now).as_second(),
            leeway: self.leeway,
        };
        run.run(keys, io)
    }
}

impl LicenseRun {
    /// Verifies and prints every license; [`Outcome::Success`] only when each is valid.
    /// No license on stdin is an error, never a pass.
    pub fn run(&self, keys: &EffectiveKeyring<'_>, io: &mut Io<'_>) -> anyhow::Result<Outcome> {
        let options = Options::at(self.at).with_leeway(self.leeway);
        let verifier = keys.verifier(options);
        let render = Render {
            keys,
            verifier,
            json: self.json,
        };
        let all_valid = if self.token == "-" {
            render.stdin(io)?
        } else {
            let mut line = Vec::new();
            let valid = render.one(self.token.as_bytes(), &mut line)?;
            io.stdout
                .write_all(&line)
                .context("cannot write the result to stdout")?;
            valid
        };
        Ok(if all_valid {
            Outcome::Success
        } else {
            Outcome::Failure
        })
    }
}

/// How many stdin lines are read, verified in parallel, and written at a time: enough
/// to keep every core busy, few enough that memory stays small whatever the input.
const CHUNK_LINES: usize = 4096;

/// How many lines one parallel task verifies and renders into one buffer.
const TASK_LINES: usize = 128;

/// Verifies tokens and renders their result lines.
#[derive(Clone, Copy)]
struct Render<'a, 'k> {
    keys: &'a EffectiveKeyring<'k>,
    verifier: Verifier<'a>,
    json: bool,
}

impl Render<'_, '_> {
    /// Verifies `token` and appends its result line, newline included, to `out`;
    /// returns whether it is valid.
    fn one(&self, token: &[u8], out: &mut Vec<u8>) -> anyhow::Result<bool> {
        self.render(&self.verifier.verify(token), out)
    }

    /// Appends `result`'s line, newline included, to `out`; returns whether it is valid.
    fn render(
        &self,
        result: &Result<VerifiedLicense, Rejection>,
        out: &mut Vec<u8>,
    ) -> anyhow::Result<bool> {
        if self.json {
            json_line(self.keys, result, out)?;
        } else {
            human_line(result, out);
        }
        out.push(b'\n');
        Ok(result.is_ok())
    }

    /// Verifies one license per stdin line: chunks of [`CHUNK_LINES`] lines are read,
    /// verified across every core, and written in input order through one buffer.
    fn stdin(&self, io: &mut Io<'_>) -> anyhow::Result<bool> {
        let mut out = BufWriter::with_capacity(1 << 16, &mut *io.stdout);
        let mut all_valid = true;
        let mut count = 0_usize;
        // The chunk's bytes, and where each line (without its line end) lies in them.
        let mut bytes = Vec::new();
        let mut lines: Vec<Range<usize>> = Vec::with_capacity(CHUNK_LINES);
        loop {
            bytes.clear();
            lines.clear();
            let mut eof = false;
            // A read error ends the run after the lines before it are reported, as a
            // line-by-line loop would.
            let mut failed = None;
            while lines.len() < CHUNK_LINES {
                let start = bytes.len();
                let read = match io.stdin.read_until(b'\n', &mut bytes) {
                    Ok(read) => read,
                    Err(e) => {
                        bytes.truncate(start);
                        failed = Some(
                            anyhow::Error::new(e)
                                .context(format!("cannot read line {} of stdin", count + 1)),
                        );
                        break;
                    }
                };
                if read == 0 {
                    eof = true;
                    break;
                }
                count += 1;
                let mut end = bytes.len();
                while end > start && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
                    end -= 1;
                }
                lines.push(start..end);
            }
            let rendered = lines
                .par_chunks(TASK_LINES)
                .map(|task| {
                    let mut text = Vec::with_capacity(task.len() * 160);
                    let mut valid = true;
                    let tokens: Vec<&[u8]> = task
                        .iter()
                        .map(|range| bytes.get(range.clone()).unwrap_or_default())
                        .collect();
                    for result in self.verifier.verify_batch(&tokens) {
                        valid &= self.render(&result, &mut text)?;
                    }
                    Ok((text, valid))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            for (text, valid) in rendered {
                all_valid &= valid;
                out.write_all(&text)
                    .context("cannot write the result to stdout")?;
            }
            if let Some(error) = failed {
                out.flush().context("cannot write the result to stdout")?;
                return Err(error);
            }
            if eof {
                break;
            }
        }
        out.flush().context("cannot write the result to stdout")?;
        if count == 0 {
            bail!("no license on stdin: give one license per line, or a TOKEN argument");
        }
        Ok(all_valid)
    }
}

pub(crate) fn parse_instant(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>()
        .map_err(|e| format!("not an RFC 3339 instant such as 2026-07-01T00:00:00Z: {e}"))
}

/// Appends the `--json` line of `result` (without a newline) to `out`.
pub(crate) fn json_line(
    keys: &EffectiveKeyring<'_>,
    result: &Result<VerifiedLicense, Rejection>,
    out: &mut Vec<u8>,
) -> anyhow::Result<()> {
    serde_json::to_writer(out, &VerdictJson::new(result, keys))
        .context("cannot write a result as JSON")
}

#[cfg(test)]
mod tests {
    use caio_keyring::RuntimeOverride;
    use caio_verify::Claims;
    use clap::Parser as _;
    use test_support::keyring::WINDOW;

    use super::*;
    use crate::{Cli, RuntimeKeyVar};
    use caio_verify::{DecodeError, Keyring};
    use serde_json::Value;

    const SECRET: [u8; 32] = [5; 32];

    fn keyring() -> Keyring {
        let key = test_support::keyring::trusted_key(SECRET, "caio-test", WINDOW);
        test_support::keyring::with_keys(3, RuntimeOverride::Deny, vec![key])
    }

    fn token(exp: i64) -> String {
        let kid = keyring().keys()[0].fingerprint();
        let claims = Claims {
            exp: Some(exp),
            seats: Some(3),
            ..Claims::new(kid, "L-1", "ACME", 1_750_000_000)
        };
        claims.sign(&test_support::keyring::signing_key(SECRET))
    }

    /// Runs `caio-verify ARGS` with `stdin`; returns the outcome (or error text) and stdout.
    fn run(
        keyring: Result<&Keyring, &DecodeError>,
        args: &[&str],
        stdin: &str,
    ) -> (Result<Outcome, String>, String) {
        run_reading(keyring, args, &mut stdin.as_bytes())
    }

    /// [`run`], reading standard input from `stdin`.
    fn run_reading(
        keyring: Result<&Keyring, &DecodeError>,
        args: &[&str],
        stdin: &mut dyn std::io::BufRead,
    ) -> (Result<Outcome, String>, String) {
        let cli = Cli::try_parse_from(["caio-verify"].iter().chain(args)).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin,
            stdout: &mut out,
            stderr: &mut err,
        };
        let outcome = cli
            .run(keyring, &RuntimeKeyVar::default(), &mut io)
            .map_err(|e| format!("{e:#}"));
        (outcome, String::from_utf8(out).unwrap())
    }

    fn json_lines(stdout: &str) -> Vec<Value> {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    const AT: &str = "2026-01-01T00:00:00Z";

    #[test]
    fn one_valid_license_as_json() {
        let keyring = keyring();
        let (outcome, out) = run(
            Ok(&keyring),
            &["license", &token(1_800_000_000), "--json", "--at", AT],
            "",
        );
        assert_eq!(outcome, Ok(Outcome::Success));
        let [line] = json_lines(&out).try_into().unwrap();
        assert_eq!(line["valid"], true);
        assert_eq!(line["reason"], Value::Null);
        assert_eq!(line["key_id"], "caio-test");
        assert_eq!(line["kid"], keyring.keys()[0].fingerprint().to_string());
        assert_eq!(line["payload"]["seats"], 3);
    }

    #[test]
    fn one_invalid_license_as_a_human_line() {
        let keyring = keyring();
        let (outcome, out) = run(
            Ok(&keyring),
            &["license", &token(1_760_000_000), "--at", AT],
            "",
        );
        assert_eq!(outcome, Ok(Outcome::Failure));
        assert!(out.starts_with("invalid (expired): "), "{out}");
        assert_eq!(out.lines().count(), 1);
        let (_, out) = run(
            Ok(&keyring),
            &["license", &token(1_800_000_000), "--at", AT],
            "",
        );
        assert_eq!(
            out,
            "valid: license \"L-1\" for \"ACME\", key caio-test, expires 2027-01-15T08:00:00Z\n"
        );
    }

    #[test]
    fn stdin_gives_one_result_per_line_in_order_empty_lines_included() {
        let keyring = keyring();
        let good = token(1_800_000_000);
        let stdin = format!("{good}\r\n\nnot a license\n{good}");
        let (outcome, out) = run(
            Ok(&keyring),
            &["license", "-", "--json", "--at", AT],
            &stdin,
        );
        assert_eq!(outcome, Ok(Outcome::Failure));
        let reasons: Vec<_> = json_lines(&out)
            .iter()
            .map(|l| l["reason"].clone())
            .collect();
        assert_eq!(
            reasons,
            [
                Value::Null,
                "bad_prefix".into(),
                "bad_prefix".into(),
                Value::Null
            ]
        );
        let (outcome, _) = run(
            Ok(&keyring),
            &["license", "-", "--at", AT],
            &format!("{good}\n{good}\n"),
        );
        assert_eq!(outcome, Ok(Outcome::Success));
    }

    #[test]
    fn a_read_error_reports_the_lines_before_it_then_fails() {
        use std::io::{BufRead as _, Read};
        /// Two lines, then an I/O error.
        struct Failing(&'static [u8]);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() {
                    return Err(std::io::Error::other("disk on fire"));
                }
                let n = self.0.read(buf)?;
                Ok(n)
            }
        }
        let keyring = keyring();
        let mut input = std::io::BufReader::new(Failing(b"a\nb\n"));
        assert!(input.fill_buf().is_ok());
        let (outcome, out) = run_reading(Ok(&keyring), &["license", "-", "--json"], &mut input);
        assert_eq!(
            outcome,
            Err("cannot read line 3 of stdin: disk on fire".to_owned())
        );
        assert_eq!(json_lines(&out).len(), 2);
    }

    #[test]
    fn empty_stdin_is_an_error_not_a_pass() {
        let keyring = keyring();
        let (outcome, _) = run(Ok(&keyring), &["license", "-"], "");
        assert!(outcome.unwrap_err().contains("no license on stdin"));
    }

    #[test]
    fn leeway_and_instant_come_from_the_flags() {
        let keyring = keyring();
        let token = token(1_767_225_500); // 2025-12-31T23:58:20Z
        let (outcome, _) = run(Ok(&keyring), &["license", &token, "--at", AT], "");
        assert_eq!(outcome, Ok(Outcome::Success));
        let (outcome, _) = run(
            Ok(&keyring),
            &["license", &token, "--at", AT, "--leeway", "0"],
            "",
        );
        assert_eq!(outcome, Ok(Outcome::Failure));
        for bad in [
            ["--at", "yesterday"],
            ["--at", "2026-01-01"],
            ["--leeway", "-1"],
        ] {
            let args = ["caio-verify", "license", "x"].into_iter().chain(bad);
            assert_eq!(
                Cli::try_parse_from(args).unwrap_err().exit_code(),
                2,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_corrupt_keyring_rejects_each_license_as_keyring_corrupt() {
        let error = DecodeError::DigestMismatch;
        let (outcome, out) = run(Err(&error), &["license", "-", "--json"], "a\nb\n");
        assert_eq!(outcome, Ok(Outcome::Failure));
        let reasons: Vec<_> = json_lines(&out)
            .iter()
            .map(|l| l["reason"].clone())
            .collect();
        assert_eq!(reasons, ["keyring_corrupt", "keyring_corrupt"]);
    }
}
