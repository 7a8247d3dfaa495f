//! `caio-verify keyring`: what this binary trusts — the embedded keys with their windows
//! and fingerprints, the revoked fingerprints, and the keyring's own fingerprint.
//!
//! It shows the block as decoded at run time, so it answers "which keys does this very
//! binary verify with?", not what a manifest says.

use anyhow::Context as _;
use caio_verify::{DecodeError, Keyring, TrustedKey};
use serde::Serialize;

use super::{Io, Outcome, instant, instant_or_none};

/// Show the keyring embedded in this binary.
///
/// Lists every key with its id, algorithm, fingerprint and windows (RFC 3339; an open
/// end is "none", or null with --json), then the serial, channel, runtime override,
/// revoked fingerprints and the keyring fingerprint. If the embedded block is corrupt,
/// says so on stderr (keyring_corrupt) and exits 1.
#[derive(Debug, clap::Args)]
pub struct KeyringArgs {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct JsonKeyring {
    /// `sha256:` and the hex of the block digest.
    fingerprint: String,
    serial: u32,
    channel: &'static str,
    runtime_override: &'static str,
    keys: Vec<JsonKey>,
    revoked: Vec<String>,
}

#[derive(Debug, Serialize)]
struct JsonKey {
    id: String,
    algorithm: &'static str,
    fingerprint: String,
    not_before: Option<String>,
    sign_until: Option<String>,
    not_after: Option<String>,
}

/// The `--json` output when the block is corrupt.
#[derive(Debug, Serialize)]
struct JsonCorrupt {
    reason: &'static str,
    detail: String,
}

impl KeyringArgs {
    pub fn run(
        self,
        keyring: Result<&Keyring, &DecodeError>,
        io: &mut Io<'_>,
    ) -> anyhow::Result<Outcome> {
        let keyring = match keyring {
            Ok(keyring) => keyring,
            Err(error) => {
                writeln!(
                    io.stderr,
                    "error: keyring_corrupt: the keyring embedded in this binary failed its checks: {error}"
                )
                .context("cannot write to stderr")?;
                if self.json {
                    let corrupt = JsonCorrupt {
                        reason: "keyring_corrupt",
                        detail: error.to_string(),
                    };
                    writeln!(io.stdout, "{}", serde_json::to_string(&corrupt)?)
                        .context("cannot write to stdout")?;
                }
                return Ok(Outcome::Failure);
            }
        };
        let text = if self.json {
            serde_json::to_string_pretty(&json(keyring))?
        } else {
            human(keyring)
        };
        writeln!(io.stdout, "{text}").context("cannot write the keyring to stdout")?;
        Ok(Outcome::Success)
    }
}

fn json(keyring: &Keyring) -> JsonKeyring {
    JsonKeyring {
        fingerprint: keyring.fingerprint().to_string(),
        serial: keyring.serial(),
        channel: keyring.channel().name(),
        runtime_override: keyring.runtime_override().name(),
        keys: keyring.keys().iter().map(json_key).collect(),
        revoked: keyring.revoked().iter().map(ToString::to_string).collect(),
    }
}

fn json_key(key: &TrustedKey) -> JsonKey {
    let window = key.validity();
    JsonKey {
        id: key.id().to_string(),
        algorithm: key.algorithm().name(),
        fingerprint: key.fingerprint().to_string(),
        not_before: instant(window.not_before),
        sign_until: instant(window.sign_until),
        not_after: instant(window.not_after),
    }
}

fn human(keyring: &Keyring) -> String {
    let mut out = format!(
        "keyring {}\nserial {}, channel {}, runtime override {}\n",
        keyring.fingerprint(),
        keyring.serial(),
        keyring.channel().name(),
        keyring.runtime_override().name(),
    );
    for key in keyring.keys() {
        let window = key.validity();
        out += &format!(
            "\nkey {} ({})\n  fingerprint {}\n  not_before  {}\n  sign_until  {}\n  not_after   {}\n",
            key.id(),
            key.algorithm().name(),
            key.fingerprint(),
            instant_or_none(window.not_before),
            instant_or_none(window.sign_until),
            instant_or_none(window.not_after),
        );
    }
    if keyring.revoked().is_empty() {
        out += "\nrevoked: none";
    } else {
        out += "\nrevoked:";
        for fingerprint in keyring.revoked() {
            out += &format!("\n  {fingerprint}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use caio_verify::Fingerprint;
    use caio_verify::caio_keyring::{Channel, KeyId, OPEN_END, RuntimeOverride, Validity};
    use clap::Parser as _;
    use ed25519_dalek::SigningKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::cli::Cli;

    fn keyring() -> Keyring {
        let raw = SigningKey::from_bytes(&[5; 32]).verifying_key().to_bytes();
        let window = Validity {
            not_before: 1_700_000_000,
            sign_until: OPEN_END,
            not_after: OPEN_END,
        };
        let key = TrustedKey::ed25519(KeyId::new("caio-test").unwrap(), &raw, window).unwrap();
        let revoked = Fingerprint::from_bytes([0xab; 32]);
        Keyring::new(
            9,
            Channel::Development,
            RuntimeOverride::Endorsed,
            vec![key],
            vec![revoked],
        )
        .unwrap()
    }

    fn run(keyring: Result<&Keyring, &DecodeError>, args: &[&str]) -> (Outcome, String, String) {
        let cli = Cli::try_parse_from(["caio-verify"].iter().chain(args)).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut &b""[..],
            stdout: &mut out,
            stderr: &mut err,
        };
        let outcome = cli.run(keyring, &mut io).unwrap();
        (
            outcome,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn json_lists_keys_windows_and_revocations() {
        let keyring = keyring();
        let (outcome, out, _) = run(Ok(&keyring), &["keyring", "--json"]);
        assert_eq!(outcome, Outcome::Success);
        let v: Value = serde_json::from_str(&out).unwrap();
        let key = &keyring.keys()[0];
        assert_eq!(
            v,
            json!({
                "fingerprint": keyring.fingerprint().to_string(),
                "serial": 9,
                "channel": "development",
                "runtime_override": "endorsed",
                "keys": [{
                    "id": "caio-test",
                    "algorithm": "ed25519",
                    "fingerprint": key.fingerprint().to_string(),
                    "not_before": "2023-11-14T22:13:20Z",
                    "sign_until": null,
                    "not_after": null,
                }],
                "revoked": [format!("sha256:{}", "ab".repeat(32))],
            })
        );
    }

    #[test]
    fn text_names_every_key_and_open_ends() {
        let keyring = keyring();
        let (outcome, out, _) = run(Ok(&keyring), &["keyring"]);
        assert_eq!(outcome, Outcome::Success);
        assert!(
            out.contains(&format!("keyring {}", keyring.fingerprint())),
            "{out}"
        );
        assert!(out.contains("key caio-test (ed25519)"), "{out}");
        assert!(out.contains("not_after   none"), "{out}");
        assert!(
            out.contains(&format!("sha256:{}", "ab".repeat(32))),
            "{out}"
        );
    }

    #[test]
    fn a_corrupt_block_fails_naming_keyring_corrupt() {
        let error = DecodeError::DigestMismatch;
        let (outcome, out, err) = run(Err(&error), &["keyring"]);
        assert_eq!((outcome, out.as_str()), (Outcome::Failure, ""));
        assert!(err.contains("keyring_corrupt"), "{err}");
        let (outcome, out, _) = run(Err(&error), &["keyring", "--json"]);
        assert_eq!(outcome, Outcome::Failure);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["reason"], "keyring_corrupt");
    }
}
