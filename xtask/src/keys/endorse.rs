//! `keys endorse`: a `CAIO-key-v1` endorsement of a new public key, signed by a key the
//! manifest embeds, so that deployed builds whose policy is `runtime_override =
//! "endorsed"` can trust the new key through `CAIO_LICENSE_PUBLIC_KEY` without a
//! rebuild (runbook step 5, the no-rebuild path).
//!
//! The endorser is the manifest key whose fingerprint is that of `--by`'s public half;
//! it must be embedded (not revoked) and inside its signing window now, like any key
//! that signs ([`KeyringSigner`]). The endorsed windows default to: `not_before` now,
//! `not_after` the endorser's `not_after` (open if it is open), `sign_until` the
//! endorsed `not_after`; they must lie inside the endorser's verification window. The
//! token is encoded and checked by `caio_verify::endorsement`, the code every build
//! runs, and is printed only once that verifier accepts it against the manifest's
//! keyring (fail closed). Nothing here edits the manifest: an endorsement is a bridge
//! until the next build embeds the key with `keys add`.

use anyhow::{Context, Result};
use caio_keyring::manifest::Manifest;
use caio_keyring::{Fingerprint, KeyId, RuntimeOverride, Validity};
use caio_verify::endorsement::{self, EndorsementClaims};
use clap::Args;

use crate::Outcome;
use crate::signer::{KeyArg, KeyringSigner};
use crate::time::{Clock, InstantArg, format_instant};

/// Endorse a new public key with an embedded key: print a CAIO-key-v1 endorsement.
///
/// Builds whose keyring policy is runtime_override = "endorsed" (or "allow") accept the
/// endorsement in CAIO_LICENSE_PUBLIC_KEY (the text, or the path of a file holding it)
/// and then verify licenses signed by the new key under the endorsed windows, with no
/// rebuild. PRIVATE must be the private half of a key of keys/keyring.toml that is not
/// revoked and may sign now; the windows must lie inside its verification window.
/// Instants are RFC 3339 (2026-01-17T00:00:00Z), a date (midnight UTC) or `now`.
///
/// The endorsement goes to stdout, a summary to stderr. Exit 1 when the endorser or the
/// windows are refused.
#[derive(Debug, Args)]
pub struct EndorseArgs {
    /// The key to endorse: an SPKI PEM ("PUBLIC KEY"), e.g. public.pem from `keygen`, or
    /// the `pkcs11:` URI of a key pair on a PKCS#11 token.
    #[arg(value_name = "PUBLIC_PEM")]
    public_pem: KeyArg,
    /// The endorsed key's id: 1 to 64 characters of A-Z a-z 0-9 . _ -, not the id of a
    /// key in the manifest.
    #[arg(long, value_name = "ID")]
    id: String,
    /// The endorsing private key: a PKCS#8 PEM file (readable by its owner only) or a
    /// `pkcs11:` URI.
    #[arg(long, value_name = "PRIVATE")]
    by: KeyArg,
    /// The first instant a license from the new key may be issued at [default: now].
    #[arg(long, value_name = "T")]
    not_before: Option<InstantArg>,
    /// The last instant a license from the new key may be issued at [default:
    /// not_after].
    #[arg(long, value_name = "T")]
    sign_until: Option<InstantArg>,
    /// The last instant a license from the new key verifies [default: the endorser's
    /// not_after].
    #[arg(long, value_name = "T")]
    not_after: Option<InstantArg>,
}

impl EndorseArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = super::load()? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        let id = KeyId::new(&self.id).with_context(|| format!("--id {:?}", self.id))?;
        let public_key = self.public_pem.public_key()?;
        let Some(signer) = KeyringSigner::open(&manifest, &self.by, now)? else {
            return Ok(Outcome::Failure);
        };
        let endorser = signer.entry().validity;
        let not_after = self
            .not_after
            .map_or(endorser.not_after, |t| t.resolve(clock));
        let validity = Validity {
            not_before: self.not_before.map_or(now, |t| t.resolve(clock)),
            sign_until: self.sign_until.map_or(not_after, |t| t.resolve(clock)),
            not_after,
        };
        if let Some(refusal) = refusal(&manifest, &signer, &id, &public_key, validity) {
            eprintln!("error: {}: {refusal}", manifest.path().display());
            return Ok(Outcome::Failure);
        }
        if manifest.keyring().runtime_override() == RuntimeOverride::Deny {
            eprintln!(
                "warning: {}: policy runtime_override = \"deny\": builds of this keyring ignore endorsements; only builds whose policy is \"endorsed\" or \"allow\" accept this one",
                manifest.path().display()
            );
        }

        let claims = EndorsementClaims {
            public_key,
            id,
            validity,
            iat: now,
            endorser: signer.kid(),
        };
        let signature = signer.sign(claims.signing_input().as_bytes())?;
        let token = claims.token(&signature);
        // Fail closed: the builds' own verifier, against the keyring these builds embed.
        let endorsed = match endorsement::verify(manifest.keyring(), token.as_bytes()) {
            Ok(endorsed) => endorsed,
            Err(error) => {
                eprintln!(
                    "error: {}: the endorsement just signed by key {:?} is not accepted ({}): {error}; nothing was printed",
                    manifest.path().display(),
                    signer.entry().id.as_str(),
                    error.code()
                );
                return Ok(Outcome::Failure);
            }
        };
        println!("{token}");
        let key = endorsed.key();
        eprintln!(
            "endorsed key {} ({}) by key {} ({}): signs {} until {}, verifies until {}",
            key.id(),
            key.fingerprint(),
            endorsed.endorser_id(),
            endorsed.endorser(),
            format_instant(validity.not_before),
            format_instant(validity.sign_until),
            format_instant(validity.not_after),
        );
        Ok(Outcome::Success)
    }
}

/// Why the manifest does not let `signer` endorse this key with these windows, if it
/// does not: the checks the verifier makes, said in the manifest's terms (the verifier
/// runs again on the token, whatever this says).
fn refusal(
    manifest: &Manifest,
    signer: &KeyringSigner<'_>,
    id: &KeyId,
    public_key: &[u8; 32],
    validity: Validity,
) -> Option<String> {
    let endorser = signer.entry();
    let window = endorser.validity;
    let fingerprint = Fingerprint::of_ed25519(public_key);
    if let Some(known) = manifest
        .keys()
        .iter()
        .find(|k| k.fingerprint == fingerprint)
    {
        return Some(format!(
            "the key to endorse ({fingerprint}) is already in the manifest as key {:?}: endorse a new key",
            known.id.as_str()
        ));
    }
    if let Some(known) = manifest.keys().iter().find(|k| k.id == *id) {
        return Some(format!(
            "--id {id}: key {:?} (line {}) has that id; choose a new one",
            known.id.as_str(),
            known.line
        ));
    }
    if !validity.is_ordered() {
        return Some(format!(
            "windows out of order: need not_before {} <= sign_until {} <= not_after {}",
            format_instant(validity.not_before),
            format_instant(validity.sign_until),
            format_instant(validity.not_after)
        ));
    }
    if validity.not_before < window.not_before || validity.not_after > window.not_after {
        return Some(format!(
            "the endorsed window {}..{} must lie inside the verification window {}..{} of the endorser, key {:?} (line {}); shorten --not-before/--not-after",
            format_instant(validity.not_before),
            format_instant(validity.not_after),
            format_instant(window.not_before),
            format_instant(window.not_after),
            endorser.id.as_str(),
            endorser.line
        ));
    }
    None
}
