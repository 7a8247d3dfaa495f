//! The release statement, `release.intoto.json`: an in-toto Statement v1 whose subjects
//! are the released files with their SHA-256, and whose predicate says which keyring
//! they embed and how they were built.
//!
//! The predicate type is [`PREDICATE_TYPE`]; docs/release.md documents every field. The
//! statement holds no timestamp and no local path, so two builds of one commit make the
//! same statement. It is not signed here: a pipeline signs it (a DSSE envelope, e.g.
//! with Sigstore) with its own identity.

use anyhow::{Result, ensure};
use caio_keyring::Keyring;
use caio_keyring::view::{KeyringView, instant};
use serde::Serialize;

use super::provenance::Rustc;

/// The in-toto Statement v1 type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// This predicate's type: a keyring release, version 1 of its shape.
pub const PREDICATE_TYPE: &str = "https://caio.example/keyring-release/v1";

/// The whole statement, serialized in this field order.
#[derive(Debug, Serialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    statement_type: &'static str,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: Predicate,
}

/// A released file and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The file's name in the release directory.
    pub name: String,
    /// Its digests.
    pub digest: Digest,
}

/// The digests of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// How the release was built.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    /// `git rev-parse HEAD`, with `-dirty` for a changed tree; `None` outside git.
    pub git_commit: Option<String>,
    /// The compiler.
    pub rustc: Rustc,
    /// The target triple the binaries run on.
    pub target: String,
}

#[derive(Debug, Serialize)]
struct Predicate {
    keyring: KeyringFacts,
    build: Build,
}

/// The keyring as `caio-verify keyring --json` shows it, then its bricking horizon.
#[derive(Debug, Serialize)]
struct KeyringFacts {
    #[serde(flatten)]
    keyring: KeyringView,
    /// [`bricking_horizon`], an instant; `null` when some key never expires.
    bricking_horizon: Option<String>,
}

impl Statement {
    /// The statement for `subjects`, which embed `keyring`, built as `build` says.
    /// Subjects are listed by name.
    pub fn new(mut subjects: Vec<Subject>, keyring: &Keyring, build: Build) -> Result<Self> {
        ensure!(
            !subjects.is_empty(),
            "a release statement needs at least one subject"
        );
        subjects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            statement_type: STATEMENT_TYPE,
            subject: subjects,
            predicate_type: PREDICATE_TYPE,
            predicate: Predicate {
                keyring: KeyringFacts::of(keyring),
                build,
            },
        })
    }

    /// Pretty JSON with a final newline: the bytes of `release.intoto.json`.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

impl KeyringFacts {
    fn of(keyring: &Keyring) -> Self {
        Self {
            keyring: KeyringView::of(keyring),
            bricking_horizon: instant(bricking_horizon(keyring)),
        }
    }
}

/// The last instant at which this build still verifies some license: the latest
/// `not_after` of an embedded key ([`caio_keyring::OPEN_END`] when one has none).
/// Revoked keys are never embedded, so they never count.
pub fn bricking_horizon(keyring: &Keyring) -> i64 {
    keyring
        .keys()
        .iter()
        .map(|key| key.validity().not_after)
        .max()
        .unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use caio_keyring::{
        Channel, Fingerprint, KeyId, OPEN_END, RuntimeOverride, TrustedKey, Validity,
    };
    use serde_json::json;

    use super::*;
    use crate::time::format_instant;

    fn key(id: &str, seed: u8, not_after: i64) -> TrustedKey {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes();
        let window = Validity {
            not_before: 1_800_000_000,
            sign_until: 1_800_000_000,
            not_after,
        };
        TrustedKey::ed25519(KeyId::new(id).unwrap(), &raw, window).unwrap()
    }

    fn keyring(keys: Vec<TrustedKey>) -> Keyring {
        let revoked = vec![Fingerprint::from_bytes([0xcd; 32])];
        Keyring::new(4, Channel::Production, RuntimeOverride::Deny, keys, revoked).unwrap()
    }

    fn build() -> Build {
        Build {
            git_commit: Some("0123abcd-dirty".to_owned()),
            rustc: Rustc {
                version: "rustc 1.95.0 (59807616e 2026-04-14)".to_owned(),
                release: "1.95.0".to_owned(),
                commit_hash: None,
                host: "x86_64-unknown-linux-gnu".to_owned(),
                llvm_version: None,
            },
            target: "x86_64-unknown-linux-gnu".to_owned(),
        }
    }

    fn subject(name: &str, sha256: &str) -> Subject {
        Subject {
            name: name.to_owned(),
            digest: Digest {
                sha256: sha256.to_owned(),
            },
        }
    }

    #[test]
    fn the_statement_is_in_toto_v1_with_the_keyring_and_the_build() {
        let ring = keyring(vec![
            key("b-key", 2, 4_102_444_800),
            key("a-key", 1, 1_900_000_000),
        ]);
        let subjects = vec![subject("zz", "00"), subject("caio-verify", "ab")];
        let statement = Statement::new(subjects, &ring, build()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&statement.to_json().unwrap()).unwrap();
        let fp = |seed: u8| {
            let raw = ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes();
            Fingerprint::of_ed25519(&raw).to_string()
        };
        assert_eq!(
            value,
            json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [
                    {"name": "caio-verify", "digest": {"sha256": "ab"}},
                    {"name": "zz", "digest": {"sha256": "00"}},
                ],
                "predicateType": PREDICATE_TYPE,
                "predicate": {
                    "keyring": {
                        "fingerprint": ring.fingerprint().to_string(),
                        "serial": 4,
                        "channel": "production",
                        "runtime_override": "deny",
                        "keys": [
                            {"id": "a-key", "algorithm": "ed25519", "fingerprint": fp(1),
                             "not_before": "2027-01-15T08:00:00Z", "sign_until": "2027-01-15T08:00:00Z",
                             "not_after": "2030-03-17T17:46:40Z"},
                            {"id": "b-key", "algorithm": "ed25519", "fingerprint": fp(2),
                             "not_before": "2027-01-15T08:00:00Z", "sign_until": "2027-01-15T08:00:00Z",
                             "not_after": format_instant(4_102_444_800)},
                        ],
                        "revoked": [format!("sha256:{}", "cd".repeat(32))],
                        "bricking_horizon": format_instant(4_102_444_800),
                    },
                    "build": {
                        "git_commit": "0123abcd-dirty",
                        "rustc": {"version": "rustc 1.95.0 (59807616e 2026-04-14)", "release": "1.95.0",
                                  "commit_hash": null, "host": "x86_64-unknown-linux-gnu", "llvm_version": null},
                        "target": "x86_64-unknown-linux-gnu",
                    },
                },
            })
        );
        let text = statement.to_json().unwrap();
        assert!(text.find("\"_type\"") < text.find("\"subject\""), "{text}");
        assert!(
            text.find("\"subject\"") < text.find("\"predicateType\""),
            "{text}"
        );
    }

    /// The bytes of `release.intoto.json`, field order included.
    #[test]
    fn the_statement_is_unchanged_on_the_wire() {
        let ring = keyring(vec![key("a", 1, 1_900_000_000), key("b", 2, OPEN_END)]);
        let statement = Statement::new(vec![subject("x", "00")], &ring, build()).unwrap();
        let text = statement.to_json().unwrap();
        assert_eq!(text, STATEMENT_JSON);
    }

    const STATEMENT_JSON: &str = r#"{
  "_type": "https://in-toto.io/Statement/v1",
  "subject": [
    {
      "name": "x",
      "digest": {
        "sha256": "00"
      }
    }
  ],
  "predicateType": "https://caio.example/keyring-release/v1",
  "predicate": {
    "keyring": {
      "fingerprint": "sha256:166acf43073909fbab6cb656af9008a9c95a798d083b768bcf1014b741ea41ea",
      "serial": 4,
      "channel": "production",
      "runtime_override": "deny",
      "keys": [
        {
          "id": "a",
          "algorithm": "ed25519",
          "fingerprint": "sha256:fd110d301d2f077de1414b8f99f441b1403fab207b2052fbd2c065e4ee8e7dc2",
          "not_before": "2027-01-15T08:00:00Z",
          "sign_until": "2027-01-15T08:00:00Z",
          "not_after": "2030-03-17T17:46:40Z"
        },
        {
          "id": "b",
          "algorithm": "ed25519",
          "fingerprint": "sha256:47dea58ea00fae9417ee19d76755bfef690899021132effb04fe1f9e4f0c8059",
          "not_before": "2027-01-15T08:00:00Z",
          "sign_until": "2027-01-15T08:00:00Z",
          "not_after": null
        }
      ],
      "revoked": [
        "sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
      ],
      "bricking_horizon": null
    },
    "build": {
      "git_commit": "0123abcd-dirty",
      "rustc": {
        "version": "rustc 1.95.0 (59807616e 2026-04-14)",
        "release": "1.95.0",
        "commit_hash": null,
        "host": "x86_64-unknown-linux-gnu",
        "llvm_version": null
      },
      "target": "x86_64-unknown-linux-gnu"
    }
  }
}
"#;

    #[test]
    fn a_key_without_an_end_makes_the_horizon_open() {
        let open = keyring(vec![key("a", 1, 1_900_000_000), key("b", 2, OPEN_END)]);
        assert_eq!(bricking_horizon(&open), OPEN_END);
        let statement = Statement::new(vec![subject("x", "00")], &open, build()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&statement.to_json().unwrap()).unwrap();
        assert_eq!(
            value["predicate"]["keyring"]["bricking_horizon"],
            serde_json::Value::Null
        );
        assert_eq!(
            value["predicate"]["keyring"]["keys"][1]["not_after"],
            serde_json::Value::Null
        );

        let closed = keyring(vec![key("a", 1, 1_900_000_000), key("b", 2, 1_950_000_000)]);
        assert_eq!(bricking_horizon(&closed), 1_950_000_000);
    }

    #[test]
    fn a_statement_without_subjects_is_refused() {
        let ring = keyring(vec![key("a", 1, 1_900_000_000)]);
        assert!(Statement::new(Vec::new(), &ring, build()).is_err());
    }
}
