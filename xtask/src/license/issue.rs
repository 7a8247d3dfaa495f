//! `license issue`: sign one new license (runbook step 4).
//!
//! The payload is `kid` (the signing key's fingerprint), `lid`, `sub`, `iat` (now),
//! and `nbf`, `exp`, `features`, `seats` when given. The token is verified against the
//! manifest's keyring at the first instant it is meant to be valid (now, or `nbf` if
//! later) before it is printed: a license that would not verify is never shown. A
//! license that would outlive its key's `not_after` is issued with a warning, since
//! `keys check --licenses` will call it an orphan-to-be.

use anyhow::{Result, anyhow, bail};
use caio_keyring::OPEN_END;
use caio_keyring::manifest::Manifest;
use caio_verify::license::InFieldOrder;
use caio_verify::{Claims, Options, Verifier};
use clap::Args;
use serde::Serialize;

use super::token;
use crate::Outcome;
use crate::signer::{KeyArg, KeyringSigner};
use crate::time::{Clock, InstantArg, format_instant};

/// Issue a license: sign a new CAIO-v2 token with PRIVATE and print it on stdout.
///
/// The key's public fingerprint picks its entry in keys/keyring.toml; an unknown or
/// revoked key, or one outside its signing window now (not_before..=sign_until), is
/// refused (exit 1). The license is verified against the manifest before it is
/// printed. Instants are RFC 3339 (2027-01-17T00:00:00Z), a date (midnight UTC) or
/// `now`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The private key: a PKCS#8 PEM file (private.pem from `keygen` or `openssl
    /// genpkey`) readable by its owner only, or the RFC 7512 URI of a key on a PKCS#11
    /// token, e.g. 'pkcs11:token=caio;object=lic;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/caio/pin'
    /// (module and PIN also from CAIO_PKCS11_MODULE and CAIO_PKCS11_PIN).
    #[arg(long, value_name = "PRIVATE")]
    key: KeyArg,
    /// The licensee (`sub`).
    #[arg(long, value_name = "NAME")]
    licensee: String,
    /// When the license stops verifying (`exp`) [default: never].
    #[arg(long, value_name = "T")]
    expires: Option<InstantArg>,
    /// When the license starts verifying (`nbf`) [default: at once].
    #[arg(long, value_name = "T")]
    not_before: Option<InstantArg>,
    /// A licensed feature; repeat for several.
    #[arg(long = "feature", value_name = "F")]
    features: Vec<String>,
    /// The number of seats.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
    seats: Option<i64>,
    /// The license id (`lid`) [default: L- and 16 random hex digits].
    #[arg(long, value_name = "ID")]
    license_id: Option<String>,
    /// Print {"token", "lid", "kid", "key_id", "payload"} as JSON on stdout instead of
    /// the bare token.
    #[arg(long)]
    json: bool,
}

impl IssueArgs {
    /// Runs the command.
    pub fn run(self, clock: Clock) -> Result<Outcome> {
        let Some(manifest) = crate::keys::load()? else {
            return Ok(Outcome::Failure);
        };
        let now = clock.now();
        let nbf = self.not_before.map(|t| t.resolve(clock));
        let exp = self.expires.map(|t| t.resolve(clock));
        if self.licensee.trim().is_empty() {
            bail!("--licensee is empty; name the licensee");
        }
        if let Some(exp) = exp.filter(|exp| *exp <= now) {
            bail!(
                "--expires {} is not after now ({}); a license must expire in the future",
                format_instant(exp),
                format_instant(now)
            );
        }
        if let (Some(nbf), Some(exp)) = (nbf, exp)
            && nbf > exp
        {
            bail!(
                "--not-before {} is after --expires {}",
                format_instant(nbf),
                format_instant(exp)
            );
        }
        let lid = match self.license_id {
            Some(id) if id.is_empty() => bail!("--license-id is empty"),
            Some(id) => id,
            None => random_license_id()?,
        };
        let Some(signer) = KeyringSigner::open(&manifest, &self.key, now)? else {
            return Ok(Outcome::Failure);
        };

        let claims = Claims {
            nbf,
            exp,
            features: (!self.features.is_empty()).then(|| self.features.clone()),
            seats: self.seats,
            ..Claims::new(signer.kid(), lid.clone(), self.licensee.clone(), now)
        };
        let token = token::sign(&signer, &claims)?;
        let payload = claims.payload();

        // Fail closed: at the first instant the license is meant to be valid, the
        // manifest's keyring must accept it, or nothing is printed.
        let first_valid = nbf.map_or(now, |nbf| nbf.max(now));
        if let Err(rejection) =
            Verifier::new(manifest.keyring(), Options::at(first_valid)).verify(&token)
        {
            eprintln!(
                "error: {}: the license just signed with key {:?} does not verify at {} ({}): {}; nothing was printed",
                manifest.path().display(),
                signer.entry().id.as_str(),
                format_instant(first_valid),
                rejection.reason,
                rejection.detail
            );
            return Ok(Outcome::Failure);
        }
        warn_if_it_outlives_the_key(&manifest, &signer, exp);

        let key_id = signer.entry().id.as_str();
        if self.json {
            let out = IssuedJson {
                token: &token,
                lid: &lid,
                kid: signer.kid().to_string(),
                key_id,
                payload: InFieldOrder(&payload),
            };
            println!("{}", serde_json::to_string(&out)?);
        } else {
            println!("{token}");
        }
        eprintln!(
            "issued license {lid:?} for {:?} with key {key_id} ({}), {}",
            self.licensee,
            signer.kid(),
            exp.map_or_else(
                || "never expires".to_owned(),
                |t| format!("expires {}", format_instant(t))
            )
        );
        Ok(Outcome::Success)
    }
}

/// The `--json` output, in this field order.
#[derive(Serialize)]
struct IssuedJson<'a> {
    token: &'a str,
    lid: &'a str,
    kid: String,
    key_id: &'a str,
    payload: InFieldOrder<'a>,
}

/// A random license id: `L-` and 16 hex digits from the operating system.
fn random_license_id() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("the operating system's random source failed: {e}"))?;
    Ok(format!("L-{}", hex_lower(&bytes)))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Warns when the license would still be meant to be valid after its key's
/// `not_after`: from then on it is an orphan, unless re-issued.
fn warn_if_it_outlives_the_key(manifest: &Manifest, signer: &KeyringSigner<'_>, exp: Option<i64>) {
    let not_after = signer.entry().validity.not_after;
    if not_after == OPEN_END || exp.is_some_and(|exp| exp <= not_after) {
        return;
    }
    eprintln!(
        "warning: {}:{}: key {:?} stops verifying at {} (not_after), but this license {}; re-issue it with the next key before then",
        manifest.path().display(),
        signer.entry().line,
        signer.entry().id.as_str(),
        format_instant(not_after),
        exp.map_or_else(
            || "never expires".to_owned(),
            |t| format!("expires at {}", format_instant(t))
        )
    );
}
