//! What the verifier's users print (cargo feature `view`): the result line of a license,
//! as a person reads it and as JSON, and the keys an [`EffectiveKeyring`] trusts, as the
//! shared [`KeyringView`].
//!
//! `caio-verify license`, `cargo xtask license verify`, the status server and the Python
//! module all print through here, so they cannot drift apart. A product that only
//! verifies leaves the feature off and links no serde view or date formatting for it.
//! Nothing here decides a verdict.

use std::io::Write as _;

use caio_keyring::view::{EndorserView, KeyView, KeyringView, instant};
use serde_json::{Map, Value};

use crate::{EffectiveKeyring, KeySource, Keyring, Rejection, RuntimeKey, VerifiedLicense};

/// One verdict as the `--json` result line shows it: `valid`, `reason`, `detail`, `kid`,
/// `key_id`, `payload`, in that order. The payload appears only once its signature
/// verified; `key_id` names the trusted key a rejection's `kid` belongs to, if any.
#[derive(Debug, serde::Serialize)]
pub struct VerdictJson<'a> {
    valid: bool,
    reason: Option<&'static str>,
    detail: Option<&'a str>,
    kid: Option<String>,
    key_id: Option<&'a str>,
    payload: Option<&'a Map<String, Value>>,
}

impl<'a> VerdictJson<'a> {
    /// The JSON view of `result`, judged against `keys`.
    pub fn new(
        result: &'a Result<VerifiedLicense, Rejection>,
        keys: &'a EffectiveKeyring<'_>,
    ) -> Self {
        match result {
            Ok(license) => Self {
                valid: true,
                reason: None,
                detail: None,
                kid: Some(license.fingerprint().to_string()),
                key_id: Some(license.key_id().as_str()),
                payload: Some(license.payload()),
            },
            Err(rejection) => Self {
                valid: false,
                reason: Some(rejection.reason.code()),
                detail: Some(&rejection.detail),
                kid: rejection.kid.map(|fp| fp.to_string()),
                key_id: rejection
                    .kid
                    .and_then(|fp| keys.trusted_key(&fp))
                    .map(|key| key.id().as_str()),
                payload: rejection.signed_payload.as_deref(),
            },
        }
    }
}

/// Appends the human result line of `result` (without a newline) to `out`:
/// `valid: license "L-1" for "ACME", key caio-2026-11, expires 2027-01-15T08:00:00Z`, or
/// `invalid (expired): ...`.
pub fn human_line(result: &Result<VerifiedLicense, Rejection>, out: &mut Vec<u8>) {
    // Writing to a `Vec` cannot fail.
    let _ = match result {
        Ok(license) => {
            let source = match license.key_source() {
                KeySource::Embedded => "",
                KeySource::Runtime => " (runtime key)",
            };
            write!(
                out,
                "valid: license {:?} for {:?}, key {}{source}, ",
                license.lid(),
                license.sub(),
                license.key_id()
            )
            .and_then(|()| match license.exp().and_then(instant) {
                Some(t) => write!(out, "expires {t}"),
                None => out.write_all(b"never expires"),
            })
        }
        Err(rejection) => write!(out, "invalid ({}): {}", rejection.reason, rejection.detail),
    };
}

/// What a deployment trusts, as `caio-verify keyring --json` shows it: each key of
/// `keyring` marked `embedded`, then the accepted `runtime` key marked `runtime` with
/// its endorser (`null` for a plain key).
pub fn keyring_view(keyring: &Keyring, runtime: Option<&RuntimeKey>) -> KeyringView {
    let mut view = KeyringView::of(keyring);
    for key in &mut view.keys {
        key.source = Some(KeySource::Embedded.name().to_owned());
    }
    if let Some(runtime) = runtime {
        let endorser = runtime.endorsement().map(|e| EndorserView {
            id: e.endorser_id().to_string(),
            fingerprint: e.endorser().to_string(),
            iat: instant(e.iat()),
        });
        view.keys.push(KeyView {
            source: Some(KeySource::Runtime.name().to_owned()),
            endorsed_by: Some(endorser),
            ..KeyView::of(runtime.key())
        });
    }
    view
}
