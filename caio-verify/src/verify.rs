//! License verdicts: a token and a keyring in, a [`VerifiedLicense`] or a [`Rejection`]
//! out.
//!
//! # Order of checks
//!
//! Every rejection names one [`Reason`]. When a token has several faults, the first
//! check in this order decides:
//!
//! 1. `keyring_corrupt`: the embedded block failed its checks; nothing is trusted.
//! 2. `too_long`, `bad_prefix`, `malformed`, `bad_encoding`, `bad_signature_length`,
//!    `bad_payload`: the token's shape.
//! 3. `missing_field` / `wrong_type` for `kid` only, then `unknown_key` (also for a
//!    `kid` that is not fingerprint syntax) or `revoked_key`: choosing the key, among
//!    the embedded keys first, then the revoked fingerprints, then the runtime key
//!    (`CAIO_LICENSE_PUBLIC_KEY`, see [`crate::runtime`]) if the policy accepted one.
//! 4. `bad_signature`: `verify_strict` over `CAIO-v2.<payload>`, computed through the
//!    key's [`PreparedKey`] (the same verdict, with per-key tables: see [`prepared`]).
//! 5. `missing_field` / `wrong_type` for the other fields, in the order `lid`, `sub`,
//!    `iat`, `nbf`, `exp`, `features`, `seats`.
//! 6. `issued_outside_key_window`, `issued_in_future`, `key_expired`, `not_yet_valid`,
//!    `expired`.
//!
//! The signature is checked as soon as the key is known and before anything the payload
//! claims is judged. So a token that names an embedded key but was not signed by it
//! reports `bad_signature`, never `expired` or `missing_field`: a forger learns nothing
//! about which claims would pass, and a rejection other than `bad_signature` (past step
//! 3) always describes a license that key really signed. Before step 4 only what is
//! needed to pick a key is read.
//!
//! # Time
//!
//! Instants are unix seconds. The verification instant is explicit ([`Options::now`]),
//! so a verdict is reproducible; [`Options::at_system_time`] reads the clock for callers
//! who want "now". `leeway` forgives clock skew on the license's own
//! `iat`, `nbf` and `exp`, not on the key's windows, which are the operator's. All
//! arithmetic saturates: no instant or leeway, however extreme, wraps or panics.
//!
//! Every rejection is logged with `tracing::warn!` (fields `reason`, `kid` and
//! `detail`), every success with `tracing::debug!` (`kid`, `key_id`, `lid`). Apart from
//! those log events this module does no I/O, and it reads the system clock only in
//! [`Options::at_system_time`].

use core::fmt;
use core::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use caio_keyring::{Fingerprint, KeyId, Keyring, TrustedKey, block::DecodeError};
use serde_json::{Map, Value};

use crate::license::{self, Claims, FieldError, ShapeError, SignedFields};
use crate::runtime::KeySource;

pub mod prepared;

pub use prepared::PreparedKey;

/// The leeway used unless [`Options::leeway_secs`] says otherwise: 5 minutes.
pub const DEFAULT_LEEWAY_SECS: u64 = 300;

/// How to verify: at which instant, with how much clock-skew leeway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Seconds of clock skew forgiven on `iat`, `nbf` and `exp`.
    pub leeway_secs: u64,
    /// The verification instant, unix seconds.
    pub now: i64,
}

impl Options {
    /// Verify at `now` (unix seconds) with the default leeway.
    pub const fn at(now: i64) -> Self {
        Self {
            leeway_secs: DEFAULT_LEEWAY_SECS,
            now,
        }
    }

    /// Verify at the system clock's current time with the default leeway. A clock
    /// before 1970 counts as 1970.
    pub fn at_system_time() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Self::at(now)
    }

    /// The same options with another leeway.
    #[must_use]
    pub const fn with_leeway(self, leeway_secs: u64) -> Self {
        Self {
            leeway_secs,
            ..self
        }
    }

    /// `now + leeway`, saturating.
    fn now_plus_leeway(&self) -> i64 {
        self.now.saturating_add(self.leeway())
    }

    fn leeway(&self) -> i64 {
        i64::try_from(self.leeway_secs).unwrap_or(i64::MAX)
    }
}

/// Verifies licenses against one keyring with one set of [`Options`].
///
/// Cheap to build and to copy; build one per verification instant. Over an
/// [`EffectiveKeyring`](crate::EffectiveKeyring) it also trusts the runtime key that
/// the embedded policy accepted, after the embedded keys and the revoked list.
#[derive(Debug, Clone, Copy)]
pub struct Verifier<'k> {
    keyring: Result<&'k Keyring, &'k DecodeError>,
    runtime: Option<&'k TrustedKey>,
    options: Options,
}

/// A token through steps 1 to 3: parsed, its key chosen, its signature not yet checked.
struct Front<'t, 'k> {
    raw: license::RawToken<'t>,
    key: &'k TrustedKey,
    source: KeySource,
}

/// Proof that a license verified: the only way to get one is [`Verifier::verify`] (or
/// [`Verifier::verify_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedLicense {
    claims: SignedFields,
    key_id: KeyId,
    fingerprint: Fingerprint,
    source: KeySource,
    payload: Map<String, Value>,
}

/// Why a license was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("license rejected ({reason}): {detail}")]
pub struct Rejection {
    /// The stable reason code.
    pub reason: Reason,
    /// The fingerprint the token named, once it parsed as one.
    pub kid: Option<Fingerprint>,
    /// What exactly is wrong, for people; not stable. Text from the token appears
    /// escaped and shortened.
    pub detail: String,
    /// The payload, only when its signature verified and the license was refused for
    /// its content or its dates (so an operator sees which license expired). Never set
    /// for a token whose signature did not verify: unauthenticated claims are not shown.
    pub signed_payload: Option<Box<Map<String, Value>>>,
}

impl Rejection {
    /// The license id of a payload whose signature verified (see
    /// [`signed_payload`](Self::signed_payload)), for a report that names the license.
    pub fn signed_lid(&self) -> Option<&str> {
        self.signed_payload.as_ref()?.get("lid")?.as_str()
    }
}

/// The stable reasons a license is rejected. [`Reason::code`] is the machine name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The token is over 4096 bytes.
    TooLong,
    /// It does not start with `CAIO-v2.`.
    BadPrefix,
    /// Not exactly three dot-separated parts.
    Malformed,
    /// A part is not canonical unpadded base64url.
    BadEncoding,
    /// The signature is not 64 bytes.
    BadSignatureLength,
    /// The payload is not UTF-8 JSON, not an object, too deep, or repeats a key.
    BadPayload,
    /// A required field is absent.
    MissingField,
    /// A field has the wrong type.
    WrongType,
    /// No embedded key has this `kid`.
    UnknownKey,
    /// `kid` is a revoked fingerprint.
    RevokedKey,
    /// `iat` before the key's `not_before` or after its `sign_until`.
    IssuedOutsideKeyWindow,
    /// `iat > now + leeway`.
    IssuedInFuture,
    /// `now > not_after` of the key.
    KeyExpired,
    /// `nbf > now + leeway`.
    NotYetValid,
    /// `now > exp + leeway`.
    Expired,
    /// `verify_strict` fails.
    BadSignature,
    /// The embedded keyring block failed its checks.
    KeyringCorrupt,
}

/// A string that is not one of the [`Reason`] codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a license rejection reason code")]
pub struct UnknownReason(String);

impl Reason {
    /// Every reason, in the order the checks run.
    pub const ALL: &'static [Reason] = &[
        Self::KeyringCorrupt,
        Self::TooLong,
        Self::BadPrefix,
        Self::Malformed,
        Self::BadEncoding,
        Self::BadSignatureLength,
        Self::BadPayload,
        Self::MissingField,
        Self::WrongType,
        Self::UnknownKey,
        Self::RevokedKey,
        Self::BadSignature,
        Self::IssuedOutsideKeyWindow,
        Self::IssuedInFuture,
        Self::KeyExpired,
        Self::NotYetValid,
        Self::Expired,
    ];

    /// The stable code shown in `--json` output and logs, e.g. `"expired"`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooLong => "too_long",
            Self::BadPrefix => "bad_prefix",
            Self::Malformed => "malformed",
            Self::BadEncoding => "bad_encoding",
            Self::BadSignatureLength => "bad_signature_length",
            Self::BadPayload => "bad_payload",
            Self::MissingField => "missing_field",
            Self::WrongType => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::IssuedOutsideKeyWindow => "issued_outside_key_window",
            Self::IssuedInFuture => "issued_in_future",
            Self::KeyExpired => "key_expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Expired => "expired",
            Self::BadSignature => "bad_signature",
            Self::KeyringCorrupt => "keyring_corrupt",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Reason {
    type Err = UnknownReason;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.code() == s)
            .ok_or_else(|| UnknownReason(s.to_owned()))
    }
}

impl<'k> Verifier<'k> {
    /// A verifier over a decoded keyring.
    pub const fn new(keyring: &'k Keyring, options: Options) -> Self {
        Self {
            keyring: Ok(keyring),
            runtime: None,
            options,
        }
    }

    /// A verifier over a keyring that may have failed to decode: with `Err`, every
    /// license is rejected as [`Reason::KeyringCorrupt`].
    /// [`EmbeddedKeyring::verifier`](crate::EmbeddedKeyring::verifier) builds one.
    pub const fn from_decoded(
        keyring: Result<&'k Keyring, &'k DecodeError>,
        options: Options,
    ) -> Self {
        Self {
            keyring,
            runtime: None,
            options,
        }
    }

    /// A verifier that also trusts `runtime`, a key already judged against `keyring`'s
    /// policy: [`EffectiveKeyring::verifier`](crate::EffectiveKeyring::verifier) is the
    /// only caller, so a runtime key never meets a keyring that did not accept it.
    pub(crate) const fn with_runtime_key(
        keyring: Result<&'k Keyring, &'k DecodeError>,
        runtime: Option<&'k TrustedKey>,
        options: Options,
    ) -> Self {
        Self {
            keyring,
            runtime,
            options,
        }
    }

    /// The options this verifier applies.
    pub const fn options(&self) -> Options {
        self.options
    }

    /// Verifies one token. Bytes are accepted as they come (a `&str`, a `String`, a line
    /// read from a file); a token is ASCII, so anything else is rejected.
    pub fn verify<T: AsRef<[u8]> + ?Sized>(&self, token: &T) -> Result<VerifiedLicense, Rejection> {
        let result = self.front(token.as_ref()).and_then(|front| {
            let signature = prepared::verify_strict(
                front.key.public_key(),
                front.raw.signing_input,
                &front.raw.signature,
            );
            self.finish(front, signature)
        });
        log_result(&result);
        result
    }

    /// Verifies several tokens: `results[i]` is what [`verify`](Self::verify) gives for
    /// `tokens[i]`, and the same events are logged, in order. It is faster per token
    /// than one call each when there are several (a few dozen and up): the signature
    /// checks finish together, sharing one field inversion
    /// ([`prepared::verify_strict_batch`]). Each token is still judged on its own; a
    /// bad one in the batch changes no other verdict.
    pub fn verify_batch<T: AsRef<[u8]>>(
        &self,
        tokens: &[T],
    ) -> Vec<Result<VerifiedLicense, Rejection>> {
        let fronts: Vec<Result<Front<'_, 'k>, Rejection>> = tokens
            .iter()
            .map(|token| self.front(token.as_ref()))
            .collect();
        let checks: Vec<_> = fronts
            .iter()
            .filter_map(|front| front.as_ref().ok())
            .map(|front| {
                (
                    front.key.public_key(),
                    front.raw.signing_input,
                    &front.raw.signature,
                )
            })
            .collect();
        let mut signatures = prepared::verify_strict_many(&checks).into_iter();
        fronts
            .into_iter()
            .map(|front| {
                let front = front?;
                // One verdict per check, so this never runs short; if it did, the
                // token would be refused, not passed.
                let signature = signatures
                    .next()
                    .unwrap_or_else(|| Err(ed25519_dalek::SignatureError::new()));
                self.finish(front, signature)
            })
            .inspect(log_result)
            .collect()
    }

    /// Steps 1 to 3: the keyring, the token's shape, the key.
    fn front<'t>(&self, token: &'t [u8]) -> Result<Front<'t, 'k>, Rejection> {
        let keyring = self.keyring.map_err(|e| {
            reject(
                Reason::KeyringCorrupt,
                None,
                format!("the embedded keyring block is corrupt: {e}"),
            )
        })?;
        let raw = license::parse(token).map_err(|e| reject(shape_reason(&e), None, e))?;
        let (key, source) = choose_key(keyring, self.runtime, &raw.payload)?;
        Ok(Front { raw, key, source })
    }

    /// Steps 4 to 6, given the verdict of the signature check (step 4).
    fn finish(
        &self,
        front: Front<'_, 'k>,
        signature: Result<(), ed25519_dalek::SignatureError>,
    ) -> Result<VerifiedLicense, Rejection> {
        let Front { raw, key, source } = front;
        let kid = Some(key.fingerprint());
        signature.map_err(|_| {
            reject(
                Reason::BadSignature,
                kid,
                format!("the signature does not verify under key {}", key.id()),
            )
        })?;
        let signed = |mut rejection: Rejection| {
            rejection.signed_payload = Some(Box::new(raw.payload.clone()));
            rejection
        };
        let claims = SignedFields::read(&raw.payload)
            .map_err(|e| signed(reject(field_reason(&e), kid, e)))?;
        self.check_times(key, &claims)
            .map_err(|(reason, detail)| signed(reject(reason, kid, detail)))?;
        Ok(VerifiedLicense {
            claims,
            key_id: key.id().clone(),
            fingerprint: key.fingerprint(),
            source,
            payload: raw.payload,
        })
    }

    /// The time checks, in the documented order.
    fn check_times(&self, key: &TrustedKey, claims: &SignedFields) -> Result<(), (Reason, String)> {
        let window = key.validity();
        let now = self.options.now;
        let horizon = self.options.now_plus_leeway();
        let leeway = self.options.leeway_secs;
        let iat = claims.iat;
        if iat < window.not_before || iat > window.sign_until {
            return Err((
                Reason::IssuedOutsideKeyWindow,
                format!(
                    "iat {iat} is outside key {}'s signing window {}..={}",
                    key.id(),
                    window.not_before,
                    window.sign_until
                ),
            ));
        }
        if iat > horizon {
            return Err((
                Reason::IssuedInFuture,
                format!("iat {iat} is after now {now} plus leeway {leeway} s"),
            ));
        }
        if now > window.not_after {
            return Err((
                Reason::KeyExpired,
                format!(
                    "key {} stopped verifying at {}, now is {now}",
                    key.id(),
                    window.not_after
                ),
            ));
        }
        if let Some(nbf) = claims.nbf
            && nbf > horizon
        {
            return Err((
                Reason::NotYetValid,
                format!("nbf {nbf} is after now {now} plus leeway {leeway} s"),
            ));
        }
        if let Some(exp) = claims.exp
            && now > exp.saturating_add(self.options.leeway())
        {
            return Err((
                Reason::Expired,
                format!("exp {exp} plus leeway {leeway} s is before now {now}"),
            ));
        }
        Ok(())
    }
}

impl VerifiedLicense {
    /// The license id (`lid`).
    pub fn lid(&self) -> &str {
        &self.claims.lid
    }

    /// The licensee (`sub`).
    pub fn sub(&self) -> &str {
        &self.claims.sub
    }

    /// When it was issued (`iat`), unix seconds.
    pub fn iat(&self) -> i64 {
        self.claims.iat
    }

    /// Valid from (`nbf`), unix seconds, if set.
    pub fn nbf(&self) -> Option<i64> {
        self.claims.nbf
    }

    /// Valid until (`exp`), unix seconds; `None` for a perpetual license.
    pub fn exp(&self) -> Option<i64> {
        self.claims.exp
    }

    /// The licensed features; empty when the payload has none.
    pub fn features(&self) -> &[String] {
        &self.claims.features
    }

    /// Whether `feature` is among [`features`](Self::features).
    pub fn has_feature(&self, feature: &str) -> bool {
        self.claims.features.iter().any(|f| f == feature)
    }

    /// The number of seats, if set.
    pub fn seats(&self) -> Option<i64> {
        self.claims.seats
    }

    /// The id of the key that verified it.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Whether an embedded key or the runtime key verified it.
    pub fn key_source(&self) -> KeySource {
        self.source
    }

    /// The fingerprint of the key that verified it (the payload's `kid`).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The whole signed payload, unknown fields included.
    pub fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }

    /// Its claims, for a writer that signs them anew (`cargo xtask license reissue`):
    /// every field of the payload, unknown ones in [`Claims::other`].
    pub fn to_claims(&self) -> Claims {
        let features = self
            .payload
            .contains_key("features")
            .then(|| self.claims.features.clone());
        Claims {
            kid: self.fingerprint,
            lid: self.claims.lid.clone(),
            sub: self.claims.sub.clone(),
            iat: self.claims.iat,
            nbf: self.claims.nbf,
            exp: self.claims.exp,
            features,
            seats: self.claims.seats,
            other: self
                .payload
                .iter()
                .filter(|(field, _)| !license::FIELD_ORDER.contains(&field.as_str()))
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect(),
        }
    }
}

/// Reads `kid` and finds its key: step 3 of the module docs. The embedded keys come
/// first, then the revoked list, then the runtime key.
fn choose_key<'k>(
    keyring: &'k Keyring,
    runtime: Option<&'k TrustedKey>,
    payload: &Map<String, Value>,
) -> Result<(&'k TrustedKey, KeySource), Rejection> {
    let text = license::kid(payload).map_err(|e| reject(field_reason(&e), None, e))?;
    let fingerprint: Fingerprint = text.parse().map_err(|_| {
        reject(
            Reason::UnknownKey,
            None,
            format!("kid {} is not a key fingerprint", quoted(text)),
        )
    })?;
    let kid = Some(fingerprint);
    if let Some(key) = keyring.key_by_fingerprint(&fingerprint) {
        Ok((key, KeySource::Embedded))
    } else if keyring.is_revoked(&fingerprint) {
        Err(reject(
            Reason::RevokedKey,
            kid,
            format!("key {fingerprint} is revoked"),
        ))
    } else if let Some(key) = runtime.filter(|k| k.fingerprint() == fingerprint) {
        Ok((key, KeySource::Runtime))
    } else {
        Err(reject(
            Reason::UnknownKey,
            kid,
            format!("no embedded key has fingerprint {fingerprint}"),
        ))
    }
}

/// The event [`Verifier::verify`] logs for `result`.
fn log_result(result: &Result<VerifiedLicense, Rejection>) {
    match result {
        Ok(license) => tracing::debug!(
            kid = %license.fingerprint,
            key_id = %license.key_id,
            key_source = license.source.name(),
            lid = ?license.claims.lid,
            "license verified"
        ),
        Err(rejection) => log_rejection(rejection),
    }
}

fn log_rejection(rejection: &Rejection) {
    let kid = rejection
        .kid
        .as_ref()
        .map_or_else(|| "none".to_owned(), Fingerprint::to_string);
    tracing::warn!(
        reason = rejection.reason.code(),
        kid = %kid,
        detail = %rejection.detail,
        "license rejected"
    );
}

fn reject(reason: Reason, kid: Option<Fingerprint>, detail: impl fmt::Display) -> Rejection {
    Rejection {
        reason,
        kid,
        detail: detail.to_string(),
        signed_payload: None,
    }
}

fn shape_reason(error: &ShapeError) -> Reason {
    match error {
        ShapeError::TooLong { .. } => Reason::TooLong,
        ShapeError::BadPrefix { .. } => Reason::BadPrefix,
        ShapeError::Malformed { .. } => Reason::Malformed,
        ShapeError::BadEncoding { .. } => Reason::BadEncoding,
        ShapeError::BadSignatureLength { .. } => Reason::BadSignatureLength,
        ShapeError::BadPayload(_) => Reason::BadPayload,
    }
}

fn field_reason(error: &FieldError) -> Reason {
    match error {
        FieldError::Missing { .. } => Reason::MissingField,
        FieldError::WrongType { .. } => Reason::WrongType,
    }
}

/// Untrusted text for a message: escaped, and cut to 72 characters.
pub(crate) fn quoted(text: &str) -> String {
    const KEEP: usize = 72;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{:?}...", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests;
