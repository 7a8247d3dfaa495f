//! Key endorsements: a new public key and its windows, signed by a key the build
//! embeds, so that a deployed binary can trust the next key of a scheduled rotation
//! without a rebuild.
//!
//! ```text
//! CAIO-key-v1.<payload>.<signature>
//! ```
//!
//! An endorsement is built like a license (see [`crate::license`]): both parts are
//! canonical unpadded base64url, the signature is the endorser's Ed25519 signature over
//! the ASCII bytes `CAIO-key-v1.<payload>`, the token is at most 4096 bytes, and the
//! payload is strict JSON (see [`crate::json`]: one object, no repeated key, at most 32
//! levels). The payload has exactly these fields:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `spki` | string | the new key: base64url of its SPKI DER (RFC 8410, 44 bytes) |
//! | `id` | string | the new key's id: 1 to 64 characters of `[A-Za-z0-9._-]` |
//! | `not_before` | integer | the first instant a license from the new key may be issued at |
//! | `sign_until` | integer | the last instant a license from the new key may be issued at |
//! | `not_after` | integer or `null` | the last instant a license from it verifies; `null`: none |
//! | `iat` | integer | when the endorsement was signed |
//! | `endorser` | string | `sha256:<hex>` fingerprint of the key that signed it |
//!
//! Instants are unix seconds, JSON integers within `i64`. Every field is required
//! (`not_after` is present and `null` for an open end), and, unlike a license, an
//! endorsement may carry **no other field**: it grants trust, and a field this verifier
//! does not know might be a constraint it would fail to enforce.
//!
//! # Acceptance, in the order checked
//!
//! The first check that fails decides the [`EndorsementError`], whose
//! [`code`](EndorsementError::code) is stable:
//!
//! 1. the token's shape: `too_long`, `bad_prefix`, `malformed`, `bad_encoding`,
//!    `bad_signature_length`, `bad_payload`;
//! 2. the endorser: `endorser` present and a string (`missing_field`, `wrong_type`),
//!    the fingerprint of an embedded key (`unknown_endorser`) that is not revoked
//!    (`revoked_endorser`);
//! 3. `verify_strict` under the endorser's key (`bad_signature`): as for licenses,
//!    nothing else the payload claims is read before the signature holds;
//! 4. no field besides the seven above (`unknown_field`); each present with its type
//!    (`missing_field`, `wrong_type`), in the order of the table;
//! 5. the endorser's signing window: `endorser.not_before <= iat <=
//!    endorser.sign_until` (`issued_outside_endorser_window`);
//! 6. the new key: exactly the RFC 8410 SPKI prefix and 32 bytes that are a curve
//!    point (`bad_key`), not of small order (`weak_key`), its fingerprint not in the
//!    embedded revoked list (`revoked_key`) and not already an embedded key
//!    (`already_embedded`);
//! 7. the new id: valid syntax (`bad_id`), not the id of an embedded key (`id_in_use`);
//! 8. the new windows: in order, `not_before <= sign_until <= not_after`
//!    (`window_order`), and inside the endorser's verification window,
//!    `endorser.not_before <= not_before` and `not_after <= endorser.not_after`
//!    (`outside_endorser_window`). An open end counts as the latest instant, so an
//!    endorsement may leave `not_after` open only when the endorser's is open too.
//!
//! The verdict depends only on the token and the keyring: no clock is read. An
//! endorsement of a key whose windows are over is accepted, and that key then verifies
//! nothing (its licenses fail `key_expired`); the endorser's own deadline bounds the
//! endorsed key's, so an endorsement never outlives its endorser.
//!
//! This module does no I/O and logs nothing. Applying the build's runtime-override
//! policy to `CAIO_LICENSE_PUBLIC_KEY` is [`crate::runtime`]'s job; writing the token
//! is [`EndorsementClaims`], used by `cargo xtask keys endorse`.

use core::fmt;

use base64::Engine as _;
use caio_keyring::{
    ED25519_SPKI_PREFIX, Fingerprint, KeyId, KeyIdError, Keyring, KeyringError, OPEN_END,
    PublicKeyError, TrustedKey, Validity,
};
use serde_json::{Map, Value};

use crate::json::PayloadError;
use crate::license::{self, BASE64URL, FieldError, MAX_TOKEN_LEN, ShapeError};

/// The text every endorsement starts with, dot included.
pub const PREFIX: &str = "CAIO-key-v1.";

/// The payload's fields, in the order they are written and checked.
pub const FIELDS: [&str; 7] = [
    "spki",
    "id",
    "not_before",
    "sign_until",
    "not_after",
    "iat",
    "endorser",
];

/// An endorsement that verified against a keyring: the only way to get one is
/// [`verify`]. Its key is ready to verify licenses under its own windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorsement {
    key: TrustedKey,
    endorser: Fingerprint,
    endorser_id: KeyId,
    iat: i64,
}

/// The content of an endorsement, for the writer: [`signing_input`](Self::signing_input)
/// is what the endorser signs, [`token`](Self::token) the finished endorsement.
/// Nothing here checks the claims; [`verify`] does, and a writer should run it on the
/// token before showing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndorsementClaims {
    /// The new key's 32 raw Ed25519 bytes.
    pub public_key: [u8; 32],
    /// The new key's id.
    pub id: KeyId,
    /// The new key's windows; `not_after` [`OPEN_END`] is written as `null`.
    pub validity: Validity,
    /// When the endorsement is signed, unix seconds.
    pub iat: i64,
    /// The fingerprint of the signing (endorsing) key.
    pub endorser: Fingerprint,
}

/// Why an endorsement is not accepted. [`code`](Self::code) is the stable name; the
/// module docs give the order in which the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndorsementError {
    /// Over 4096 bytes.
    #[error("the endorsement is {len} bytes, at most {MAX_TOKEN_LEN} are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// It does not start with `CAIO-key-v1.`.
    #[error("an endorsement starts with `{PREFIX}`; make one with `cargo xtask keys endorse`")]
    BadPrefix,
    /// Not exactly three dot-separated parts.
    #[error(
        "the endorsement has {parts} dot-separated parts, not the 3 of `{PREFIX}<payload>.<signature>`"
    )]
    Malformed {
        /// How many there are.
        parts: usize,
    },
    /// A part is not canonical unpadded base64url.
    #[error("the {part} is not canonical unpadded base64url")]
    BadEncoding {
        /// `payload` or `signature`.
        part: &'static str,
    },
    /// The signature is not 64 bytes.
    #[error("the signature is {len} bytes, an Ed25519 signature is 64")]
    BadSignatureLength {
        /// Its length.
        len: usize,
    },
    /// The payload is not a strict JSON object.
    #[error(transparent)]
    BadPayload(PayloadError),
    /// A required field is absent.
    #[error("required field `{field}` is missing")]
    MissingField {
        /// Which.
        field: &'static str,
    },
    /// A field has the wrong type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// Which.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it is.
        found: &'static str,
    },
    /// A field the format does not define.
    #[error(
        "field {field} is not part of a {PREFIX} endorsement, which has exactly the fields {FIELDS:?}"
    )]
    UnknownField {
        /// Its name, quoted and shortened.
        field: String,
    },
    /// `endorser` is not the fingerprint of an embedded key.
    #[error(
        "the endorser {endorser} is not a key this build embeds; endorse with a key of its keyring"
    )]
    UnknownEndorser {
        /// The fingerprint, or the quoted text when it is not one.
        endorser: String,
    },
    /// `endorser` is a revoked fingerprint.
    #[error("the endorser {endorser} is revoked: nothing it signs is trusted")]
    RevokedEndorser {
        /// Its fingerprint.
        endorser: Fingerprint,
    },
    /// `verify_strict` fails under the endorser's key.
    #[error("the signature does not verify under the endorser, key {endorser_id}")]
    BadSignature {
        /// The endorser's id.
        endorser_id: KeyId,
    },
    /// `iat` outside the endorser's signing window.
    #[error(
        "iat {iat} is outside the endorser {endorser_id}'s signing window {not_before}..={sign_until}"
    )]
    IssuedOutsideEndorserWindow {
        /// The endorser's id.
        endorser_id: KeyId,
        /// The endorsement's `iat`.
        iat: i64,
        /// The endorser's `not_before`.
        not_before: i64,
        /// The endorser's `sign_until`.
        sign_until: i64,
    },
    /// `spki` is not an Ed25519 public key.
    #[error("the endorsed key (spki) is not an Ed25519 public key: {reason}")]
    BadKey {
        /// What is wrong.
        reason: &'static str,
    },
    /// The endorsed key is weak (small-order).
    #[error("the endorsed key is a weak (small-order) Ed25519 point")]
    WeakKey,
    /// The endorsed key's fingerprint is in the embedded revoked list.
    #[error("the endorsed key {fingerprint} is revoked in this build")]
    RevokedKey {
        /// Its fingerprint.
        fingerprint: Fingerprint,
    },
    /// The endorsed key is already embedded.
    #[error("the endorsed key {fingerprint} is already embedded, as key {id}")]
    AlreadyEmbedded {
        /// Its fingerprint.
        fingerprint: Fingerprint,
        /// The embedded key's id.
        id: KeyId,
    },
    /// `id` is not key id syntax.
    #[error("the endorsed id is not valid: {source}")]
    BadId {
        /// What is wrong.
        source: KeyIdError,
    },
    /// `id` names an embedded key.
    #[error("the endorsed id {id} is the id of an embedded key; endorse under a new id")]
    IdInUse {
        /// The id.
        id: KeyId,
    },
    /// The windows are out of order.
    #[error(
        "the endorsed windows are out of order: need not_before {not_before} <= sign_until {sign_until} <= not_after {not_after}"
    )]
    WindowOrder {
        /// `not_before`.
        not_before: i64,
        /// `sign_until`.
        sign_until: i64,
        /// `not_after` ([`OPEN_END`] for none).
        not_after: i64,
    },
    /// The windows reach outside the endorser's verification window.
    #[error(
        "the endorsed window {not_before}..={} is not inside the endorser {endorser_id}'s verification window {endorser_not_before}..={}",
        end(*not_after),
        end(*endorser_not_after)
    )]
    OutsideEndorserWindow {
        /// The endorser's id.
        endorser_id: KeyId,
        /// The endorsed `not_before`.
        not_before: i64,
        /// The endorsed `not_after`.
        not_after: i64,
        /// The endorser's `not_before`.
        endorser_not_before: i64,
        /// The endorser's `not_after`.
        endorser_not_after: i64,
    },
}

impl EndorsementError {
    /// Every code, in the order the checks run.
    pub const CODES: &'static [&'static str] = &[
        "too_long",
        "bad_prefix",
        "malformed",
        "bad_encoding",
        "bad_signature_length",
        "bad_payload",
        "missing_field",
        "wrong_type",
        "unknown_endorser",
        "revoked_endorser",
        "bad_signature",
        "unknown_field",
        "issued_outside_endorser_window",
        "bad_key",
        "weak_key",
        "revoked_key",
        "already_embedded",
        "bad_id",
        "id_in_use",
        "window_order",
        "outside_endorser_window",
    ];

    /// The stable code shown in logs, e.g. `"unknown_endorser"`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLong { .. } => "too_long",
            Self::BadPrefix => "bad_prefix",
            Self::Malformed { .. } => "malformed",
            Self::BadEncoding { .. } => "bad_encoding",
            Self::BadSignatureLength { .. } => "bad_signature_length",
            Self::BadPayload(_) => "bad_payload",
            Self::MissingField { .. } => "missing_field",
            Self::WrongType { .. } => "wrong_type",
            Self::UnknownField { .. } => "unknown_field",
            Self::UnknownEndorser { .. } => "unknown_endorser",
            Self::RevokedEndorser { .. } => "revoked_endorser",
            Self::BadSignature { .. } => "bad_signature",
            Self::IssuedOutsideEndorserWindow { .. } => "issued_outside_endorser_window",
            Self::BadKey { .. } => "bad_key",
            Self::WeakKey => "weak_key",
            Self::RevokedKey { .. } => "revoked_key",
            Self::AlreadyEmbedded { .. } => "already_embedded",
            Self::BadId { .. } => "bad_id",
            Self::IdInUse { .. } => "id_in_use",
            Self::WindowOrder { .. } => "window_order",
            Self::OutsideEndorserWindow { .. } => "outside_endorser_window",
        }
    }

    /// The fingerprint of the endorsed key, when the check that failed knew it.
    pub const fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Self::RevokedKey { fingerprint } | Self::AlreadyEmbedded { fingerprint, .. } => {
                Some(*fingerprint)
            }
            _ => None,
        }
    }
}

/// Verifies an endorsement against `keyring`: the checks of the module docs, in order.
/// Bytes are accepted as they come; an endorsement is ASCII, surrounding whitespace
/// included in the token is an error (callers trim).
pub fn verify(keyring: &Keyring, token: &[u8]) -> Result<Endorsement, EndorsementError> {
    let raw = license::parse_signed(token, PREFIX).map_err(shape_error)?;
    let payload = &raw.payload;
    let endorser = choose_endorser(keyring, payload)?;
    endorser
        .public_key()
        .verify_strict(raw.signing_input, &raw.signature)
        .map_err(|_| EndorsementError::BadSignature {
            endorser_id: endorser.id().clone(),
        })?;
    if let Some(field) = payload.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(EndorsementError::UnknownField {
            field: crate::verify::quoted(field),
        });
    }
    let fields = Fields::read(payload).map_err(field_error)?;
    let signing = endorser.validity();
    if fields.iat < signing.not_before || fields.iat > signing.sign_until {
        return Err(EndorsementError::IssuedOutsideEndorserWindow {
            endorser_id: endorser.id().clone(),
            iat: fields.iat,
            not_before: signing.not_before,
            sign_until: signing.sign_until,
        });
    }
    let raw_key = spki_key(fields.spki)?;
    let fingerprint = Fingerprint::of_ed25519(&raw_key);
    if keyring.is_revoked(&fingerprint) {
        return Err(EndorsementError::RevokedKey { fingerprint });
    }
    if let Some(embedded) = keyring.key_by_fingerprint(&fingerprint) {
        return Err(EndorsementError::AlreadyEmbedded {
            fingerprint,
            id: embedded.id().clone(),
        });
    }
    let id = KeyId::new(fields.id).map_err(|source| EndorsementError::BadId { source })?;
    if keyring.key_by_id(id.as_str()).is_some() {
        return Err(EndorsementError::IdInUse { id });
    }
    let validity = fields.validity;
    if !validity.is_ordered() {
        return Err(EndorsementError::WindowOrder {
            not_before: validity.not_before,
            sign_until: validity.sign_until,
            not_after: validity.not_after,
        });
    }
    if validity.not_before < signing.not_before || validity.not_after > signing.not_after {
        return Err(EndorsementError::OutsideEndorserWindow {
            endorser_id: endorser.id().clone(),
            not_before: validity.not_before,
            not_after: validity.not_after,
            endorser_not_before: signing.not_before,
            endorser_not_after: signing.not_after,
        });
    }
    let key = TrustedKey::ed25519(id, &raw_key, validity).map_err(|e| match e {
        // Checked above already; kept exact rather than unreachable.
        KeyringError::PublicKey {
            source: PublicKeyError::Weak,
            ..
        } => EndorsementError::WeakKey,
        KeyringError::WindowOrder { .. } => EndorsementError::WindowOrder {
            not_before: validity.not_before,
            sign_until: validity.sign_until,
            not_after: validity.not_after,
        },
        _ => EndorsementError::BadKey {
            reason: "the 32 bytes are not a curve point",
        },
    })?;
    Ok(Endorsement {
        key,
        endorser: endorser.fingerprint(),
        endorser_id: endorser.id().clone(),
        iat: fields.iat,
    })
}

impl Endorsement {
    /// The endorsed key, with the endorsed id and windows.
    pub fn key(&self) -> &TrustedKey {
        &self.key
    }

    /// The fingerprint of the embedded key that signed the endorsement.
    pub fn endorser(&self) -> Fingerprint {
        self.endorser
    }

    /// The id of the embedded key that signed the endorsement.
    pub fn endorser_id(&self) -> &KeyId {
        &self.endorser_id
    }

    /// When the endorsement was signed (`iat`), unix seconds.
    pub fn iat(&self) -> i64 {
        self.iat
    }
}

impl EndorsementClaims {
    /// The payload JSON, fields in the order of [`FIELDS`].
    pub fn payload(&self) -> String {
        let mut spki = ED25519_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&self.public_key);
        let v = self.validity;
        let not_after = if v.not_after == OPEN_END {
            "null".to_owned()
        } else {
            v.not_after.to_string()
        };
        // Ids are [A-Za-z0-9._-] and base64url and fingerprints are plain ASCII, so
        // nothing here needs JSON escaping.
        format!(
            r#"{{"spki":"{}","id":"{}","not_before":{},"sign_until":{},"not_after":{not_after},"iat":{},"endorser":"{}"}}"#,
            BASE64URL.encode(spki),
            self.id,
            v.not_before,
            v.sign_until,
            self.iat,
            self.endorser,
        )
    }

    /// The bytes the endorser signs: `CAIO-key-v1.<base64url payload>`.
    pub fn signing_input(&self) -> String {
        let mut out = String::from(PREFIX);
        BASE64URL.encode_string(self.payload(), &mut out);
        out
    }

    /// The finished endorsement, given the endorser's signature over
    /// [`signing_input`](Self::signing_input).
    pub fn token(&self, signature: &[u8; 64]) -> String {
        let mut out = self.signing_input();
        out.push('.');
        BASE64URL.encode_string(signature, &mut out);
        out
    }
}

/// The payload fields after the signature, read but not judged.
struct Fields<'p> {
    spki: &'p str,
    id: &'p str,
    validity: Validity,
    iat: i64,
}

impl<'p> Fields<'p> {
    /// Reads the fields in the order of [`FIELDS`] (`endorser` is already read).
    fn read(payload: &'p Map<String, Value>) -> Result<Self, FieldError> {
        let spki = license::required(license::string(payload, "spki")?, "spki")?;
        let id = license::required(license::string(payload, "id")?, "id")?;
        let not_before = license::required(license::integer(payload, "not_before")?, "not_before")?;
        let sign_until = license::required(license::integer(payload, "sign_until")?, "sign_until")?;
        let not_after = match payload.get("not_after") {
            None => return Err(FieldError::Missing { field: "not_after" }),
            Some(Value::Null) => OPEN_END,
            Some(value) => value.as_i64().ok_or_else(|| {
                license::wrong_type("not_after", "an integer within i64, or null", value)
            })?,
        };
        let iat = license::required(license::integer(payload, "iat")?, "iat")?;
        Ok(Self {
            spki,
            id,
            validity: Validity {
                not_before,
                sign_until,
                not_after,
            },
            iat,
        })
    }
}

/// Reads `endorser` and finds its key: step 2 of the module docs.
fn choose_endorser<'k>(
    keyring: &'k Keyring,
    payload: &Map<String, Value>,
) -> Result<&'k TrustedKey, EndorsementError> {
    let text = license::string(payload, "endorser")
        .and_then(|text| license::required(text, "endorser"))
        .map_err(field_error)?;
    let Ok(fingerprint) = text.parse::<Fingerprint>() else {
        return Err(EndorsementError::UnknownEndorser {
            endorser: crate::verify::quoted(text),
        });
    };
    if let Some(key) = keyring.key_by_fingerprint(&fingerprint) {
        Ok(key)
    } else if keyring.is_revoked(&fingerprint) {
        Err(EndorsementError::RevokedEndorser {
            endorser: fingerprint,
        })
    } else {
        Err(EndorsementError::UnknownEndorser {
            endorser: fingerprint.to_string(),
        })
    }
}

/// The 32 raw key bytes of a base64url SPKI DER that is exactly the RFC 8410 Ed25519
/// encoding, and a point that signatures can mean something under.
fn spki_key(spki: &str) -> Result<[u8; 32], EndorsementError> {
    let der = BASE64URL
        .decode(spki)
        .map_err(|_| EndorsementError::BadKey {
            reason: "spki is not canonical unpadded base64url",
        })?;
    let raw: [u8; 32] = der
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|rest| rest.try_into().ok())
        .ok_or(EndorsementError::BadKey {
            reason: "spki is not the RFC 8410 DER of an Ed25519 key (12-byte prefix, 32 bytes)",
        })?;
    caio_keyring::ed25519_public_key(&raw).map_err(|e| match e {
        PublicKeyError::Weak => EndorsementError::WeakKey,
        _ => EndorsementError::BadKey {
            reason: "the 32 bytes are not a curve point",
        },
    })?;
    Ok(raw)
}

fn shape_error(error: ShapeError) -> EndorsementError {
    match error {
        ShapeError::TooLong { len } => EndorsementError::TooLong { len },
        ShapeError::BadPrefix { .. } => EndorsementError::BadPrefix,
        ShapeError::Malformed { parts, .. } => EndorsementError::Malformed { parts },
        ShapeError::BadEncoding { part, .. } => EndorsementError::BadEncoding { part },
        ShapeError::BadSignatureLength { len } => EndorsementError::BadSignatureLength { len },
        ShapeError::BadPayload(e) => EndorsementError::BadPayload(e),
    }
}

fn field_error(error: FieldError) -> EndorsementError {
    match error {
        FieldError::Missing { field } => EndorsementError::MissingField { field },
        FieldError::WrongType {
            field,
            expected,
            found,
        } => EndorsementError::WrongType {
            field,
            expected,
            found,
        },
    }
}

/// An instant for a message: the number, or `none` for an open end.
fn end(instant: i64) -> Endpoint {
    Endpoint(instant)
}

struct Endpoint(i64);

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == OPEN_END {
            f.write_str("none")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests;
