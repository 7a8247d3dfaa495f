//! `caio-verify keyring`: what this binary trusts — the embedded keys with their windows
//! and fingerprints, the runtime key that `CAIO_LICENSE_PUBLIC_KEY` added (if the
//! embedded policy accepted one), the revoked fingerprints, and the keyring's own
//! fingerprint.
//!
//! It shows the block as decoded at run time, so it answers "which keys does this very
//! binary verify with?", not what a manifest says. Each key says where it comes from:
//! `embedded`, or `runtime` with the key that endorsed it.

use anyhow::Context as _;
use caio_keyring::view::instant_text;
use caio_verify::report;
use caio_verify::{EffectiveKeyring, Keyring, RuntimeKey, TrustedKey};
use serde::Serialize;

use crate::{Io, Outcome};

/// Show the keyring embedded in this binary.
///
/// Lists every key with its id, algorithm, fingerprint, windows (RFC 3339; an open end
/// is "none", or null with --json) and source: "embedded", or "runtime" for the key
/// CAIO_LICENSE_PUBLIC_KEY added (with its endorser). Then the serial, channel, runtime
/// override, revoked fingerprints and the keyring fingerprint. If the embedded block is
/// corrupt, says so on stderr (keyring_corrupt) and exits 1.
#[derive(Debug, clap::Args)]
pub struct KeyringArgs {
    /// Print one JSON object instead of text
    #[arg(long)]
    json: bool,
}

/// The `--json` output when the block is corrupt.
#[derive(Debug, Serialize)]
struct JsonCorrupt {
    reason: &'static str,
    detail: String,
}

impl KeyringArgs {
    pub fn run(self, keys: &EffectiveKeyring<'_>, io: &mut Io<'_>) -> anyhow::Result<Outcome> {
        let keyring = match keys.embedded() {
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
        let runtime = keys.runtime_key();
        let text = if self.json {
            serde_json::to_string_pretty(&report::keyring_view(keyring, runtime))?
        } else {
            human(keyring, runtime)
        };
        writeln!(io.stdout, "{text}").context("cannot write the keyring to stdout")?;
        Ok(Outcome::Success)
    }
}

fn human(keyring: &Keyring, runtime: Option<&RuntimeKey>) -> String {
    let mut out = format!(
        "keyring {}\nserial {}, channel {}, runtime override {}\n",
        keyring.fingerprint(),
        keyring.serial(),
        keyring.channel().name(),
        keyring.runtime_override().name(),
    );
    for key in keyring.keys() {
        out += &human_key(key, "");
    }
    if let Some(runtime) = runtime {
        let source = match runtime.endorsement() {
            Some(e) => format!(
                ", runtime key from CAIO_LICENSE_PUBLIC_KEY, endorsed by {} ({}) at {}",
                e.endorser_id(),
                e.endorser(),
                instant_text(e.iat())
            ),
            None => ", runtime key from CAIO_LICENSE_PUBLIC_KEY, not endorsed".to_owned(),
        };
        out += &human_key(runtime.key(), &source);
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

/// One key's paragraph; `source` follows the algorithm (empty for an embedded key).
fn human_key(key: &TrustedKey, source: &str) -> String {
    let window = key.validity();
    format!(
        "\nkey {} ({}{source})\n  fingerprint {}\n  not_before  {}\n  sign_until  {}\n  not_after   {}\n",
        key.id(),
        key.algorithm().name(),
        key.fingerprint(),
        instant_text(window.not_before),
        instant_text(window.sign_until),
        instant_text(window.not_after),
    )
}

#[cfg(test)]
mod tests {
    use caio_keyring::{Channel, KeyId, OPEN_END, RuntimeOverride, Validity};
    use caio_verify::Fingerprint;
    use clap::Parser as _;
    use ed25519_dalek::SigningKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::{Cli, RuntimeKeyVar};
    use caio_verify::DecodeError;

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
        run_with(keyring, &RuntimeKeyVar::default(), args)
    }

    fn run_with(
        keyring: Result<&Keyring, &DecodeError>,
        runtime_key: &RuntimeKeyVar,
        args: &[&str],
    ) -> (Outcome, String, String) {
        let cli = Cli::try_parse_from(["caio-verify"].iter().chain(args)).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut io = Io {
            stdin: &mut &b""[..],
            stdout: &mut out,
            stderr: &mut err,
        };
        let outcome = cli.run(keyring, runtime_key, &mut io).unwrap();
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
                    "source": "embedded",
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

    /// The `--json` bytes, field order included: `cargo xtask release` and scripts read
    /// them.
    #[test]
    fn json_is_unchanged_on_the_wire() {
        let keyring = keyring();
        let var = RuntimeKeyVar::of(&format!("{}\n", endorsement()));
        let (_, out, _) = run_with(Ok(&keyring), &var, &["keyring", "--json"]);
        assert_eq!(out, KEYRING_JSON);
    }

    const KEYRING_JSON: &str = r#"{
  "fingerprint": "sha256:9edc6fa36d166a59bfa9938f036edeea60085ed61f72cf531d78747990286510",
  "serial": 9,
  "channel": "development",
  "runtime_override": "endorsed",
  "keys": [
    {
      "id": "caio-test",
      "algorithm": "ed25519",
      "fingerprint": "sha256:3774845b9147b50cf00771ca20eb29cc3043c078f79ee13ebd0c63062a133b4d",
      "not_before": "2023-11-14T22:13:20Z",
      "sign_until": null,
      "not_after": null,
      "source": "embedded"
    },
    {
      "id": "caio-next",
      "algorithm": "ed25519",
      "fingerprint": "sha256:4e389156bee8dc63ddc4c115543169c51ac218d9d4674935bcdfe67de81f0dfc",
      "not_before": "2027-01-15T08:00:00Z",
      "sign_until": "2030-03-17T17:46:40Z",
      "not_after": "2033-05-18T03:33:20Z",
      "source": "runtime",
      "endorsed_by": {
        "id": "caio-test",
        "fingerprint": "sha256:3774845b9147b50cf00771ca20eb29cc3043c078f79ee13ebd0c63062a133b4d",
        "iat": "2025-06-15T15:06:40Z"
      }
    }
  ],
  "revoked": [
    "sha256:abababababababababababababababababababababababababababababababab"
  ]
}
"#;

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

    /// An endorsement of the key `[6; 32]` as "caio-next" by the test keyring's key.
    fn endorsement() -> String {
        use caio_verify::endorsement::EndorsementClaims;
        use ed25519_dalek::Signer as _;
        let endorser = SigningKey::from_bytes(&[5; 32]);
        let claims = EndorsementClaims {
            public_key: SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes(),
            id: KeyId::new("caio-next").unwrap(),
            validity: Validity {
                not_before: 1_800_000_000,
                sign_until: 1_900_000_000,
                not_after: 2_000_000_000,
            },
            iat: 1_750_000_000,
            endorser: Fingerprint::of_ed25519(&endorser.verifying_key().to_bytes()),
        };
        let signature = endorser.sign(claims.signing_input().as_bytes());
        claims.token(&signature.to_bytes())
    }

    #[test]
    fn an_accepted_runtime_key_is_listed_as_runtime_with_its_endorser() {
        let keyring = keyring();
        let var = RuntimeKeyVar::of(&format!("{}\n", endorsement()));
        let (outcome, out, _) = run_with(Ok(&keyring), &var, &["keyring", "--json"]);
        assert_eq!(outcome, Outcome::Success);
        let v: Value = serde_json::from_str(&out).unwrap();
        let embedded = &keyring.keys()[0];
        assert_eq!(v["keys"][0]["source"], "embedded");
        assert_eq!(v["keys"][0].get("endorsed_by"), None);
        // Every field of the runtime key is pinned by `json_is_unchanged_on_the_wire`.
        assert_eq!(v["keys"][1]["source"], "runtime");
        assert_eq!(v["keys"][1]["endorsed_by"]["id"], "caio-test");
        assert_eq!(
            v["keys"][1]["endorsed_by"]["fingerprint"],
            embedded.fingerprint().to_string()
        );
        // The keyring fingerprint is still the embedded block's.
        assert_eq!(v["fingerprint"], keyring.fingerprint().to_string());

        let (_, out, _) = run_with(Ok(&keyring), &var, &["keyring"]);
        assert!(
            out.contains("key caio-next (ed25519, runtime key from CAIO_LICENSE_PUBLIC_KEY, endorsed by caio-test"),
            "{out}"
        );
        // A rejected value lists the embedded keys only.
        let bad = RuntimeKeyVar::of(&endorsement().replace("CAIO-key-v1.", "CAIO-key-v1.x"));
        let (outcome, out, _) = run_with(Ok(&keyring), &bad, &["keyring", "--json"]);
        assert_eq!(outcome, Outcome::Success);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["keys"].as_array().unwrap().len(), 1);
    }
}
