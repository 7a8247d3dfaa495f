//! The CAIO-v2 token format: splitting, decoding and reading payload fields.
//!
//! ```text
//! CAIO-v2.<payload>.<signature>
//! ```
//!
//! Both parts are canonical unpadded base64url (RFC 4648 §5): no `=`, no other alphabet,
//! and no set bits in the unused tail of the last character, so one byte string has
//! one spelling. The signature is 64 bytes over the ASCII bytes before the second dot.
//! The payload is a strict JSON object (see [`crate::json`]) with these fields:
//!
//! | field | type | |
//! |---|---|---|
//! | `kid` | string, `sha256:<64 hex>` | required: the signing key's fingerprint |
//! | `lid` | string | required: license id |
//! | `sub` | string | required: licensee |
//! | `iat` | integer | required: issued at, unix seconds |
//! | `nbf`, `exp` | integer | optional: valid from / until, unix seconds |
//! | `features` | array of strings | optional |
//! | `seats` | integer | optional |
//!
//! Integers are JSON integers within `i64` (no fraction, no exponent); `null` is the
//! wrong type for every field; other fields are allowed and signed like the rest.
//!
//! This module only reads: it checks no signature and no time, and it does not decide in
//! which order checks run. That is [`crate::verify`]'s job.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::Signature;
use serde_json::{Map, Value};

use crate::json::{self, PayloadError};

/// The text every CAIO-v2 token starts with, dot included.
pub const PREFIX: &str = "CAIO-v2.";

/// The longest token accepted, in bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Canonical unpadded base64url: padding and non-zero trailing bits are errors.
///
/// This is what `base64`'s `URL_SAFE_NO_PAD` is; it is spelled out here so that the
/// strictness the format relies on is visible, and pinned by a test.
pub const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// A token whose shape is right: split, decoded, payload parsed. Nothing is verified.
#[derive(Debug, Clone)]
pub(crate) struct RawToken<'t> {
    /// The bytes the signature covers: `CAIO-v2.<payload>`.
    pub signing_input: &'t [u8],
    pub signature: Signature,
    pub payload: Map<String, Value>,
}

/// Why a token has the wrong shape, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ShapeError {
    #[error("the token is {len} bytes, at most {MAX_TOKEN_LEN} are allowed")]
    TooLong { len: usize },
    #[error("the token does not start with `{prefix}`")]
    BadPrefix { prefix: &'static str },
    #[error(
        "the token has {parts} dot-separated parts, not the 3 of `{prefix}<payload>.<signature>`"
    )]
    Malformed { prefix: &'static str, parts: usize },
    // base64 without `std` has no `Error` impl, so the cause is a plain field.
    #[error("the {part} is not canonical unpadded base64url: {cause}")]
    BadEncoding {
        part: &'static str,
        cause: base64::DecodeError,
    },
    #[error("the signature is {len} bytes, an Ed25519 signature is 64")]
    BadSignatureLength { len: usize },
    #[error(transparent)]
    BadPayload(#[from] PayloadError),
}

/// Why a payload field cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FieldError {
    #[error("required field `{field}` is missing")]
    Missing { field: &'static str },
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
}

/// The fields the verifier needs besides `kid`, read but not yet judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub lid: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub features: Vec<String>,
    pub seats: Option<i64>,
}

/// Splits and decodes a CAIO-v2 token, checking its shape in the documented order.
pub(crate) fn parse(token: &[u8]) -> Result<RawToken<'_>, ShapeError> {
    parse_signed(token, PREFIX)
}

/// Splits and decodes any token built like a license, `<prefix><payload>.<signature>`
/// with `prefix` ending in its dot (licenses, and key endorsements in
/// [`crate::endorsement`]), checking its shape in the documented order.
pub(crate) fn parse_signed<'t>(
    token: &'t [u8],
    prefix: &'static str,
) -> Result<RawToken<'t>, ShapeError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ShapeError::TooLong { len: token.len() });
    }
    let rest = token
        .strip_prefix(prefix.as_bytes())
        .ok_or(ShapeError::BadPrefix { prefix })?;
    let mut parts = rest.split(|&b| b == b'.');
    let (Some(payload_b64), Some(signature_b64), None) = (parts.next(), parts.next(), parts.next())
    else {
        let dots = token.iter().filter(|&&b| b == b'.').count();
        return Err(ShapeError::Malformed {
            prefix,
            parts: dots + 1,
        });
    };
    let payload_bytes = BASE64URL
        .decode(payload_b64)
        .map_err(|cause| ShapeError::BadEncoding {
            part: "payload",
            cause,
        })?;
    let signature_bytes =
        BASE64URL
            .decode(signature_b64)
            .map_err(|cause| ShapeError::BadEncoding {
                part: "signature",
                cause,
            })?;
    let signature_array: [u8; 64] =
        signature_bytes
            .as_slice()
            .try_into()
            .map_err(|_| ShapeError::BadSignatureLength {
                len: signature_bytes.len(),
            })?;
    let payload = json::parse_payload(&payload_bytes)?;
    // The prefix plus the payload part: everything before the last dot.
    let signing_len = prefix.len().saturating_add(payload_b64.len());
    let signing_input = token.get(..signing_len).unwrap_or(token);
    Ok(RawToken {
        signing_input,
        signature: Signature::from_bytes(&signature_array),
        payload,
    })
}

/// The `kid` text, not yet parsed as a fingerprint.
pub(crate) fn kid(payload: &Map<String, Value>) -> Result<&str, FieldError> {
    string(payload, "kid")?.ok_or(FieldError::Missing { field: "kid" })
}

impl Claims {
    /// Reads every field but `kid`, in a fixed order: the first problem wins.
    pub(crate) fn read(payload: &Map<String, Value>) -> Result<Self, FieldError> {
        let lid = required(string(payload, "lid")?, "lid")?.to_owned();
        let sub = required(string(payload, "sub")?, "sub")?.to_owned();
        let iat = required(integer(payload, "iat")?, "iat")?;
        let nbf = integer(payload, "nbf")?;
        let exp = integer(payload, "exp")?;
        let features = strings(payload, "features")?.unwrap_or_default();
        let seats = integer(payload, "seats")?;
        Ok(Self {
            lid,
            sub,
            iat,
            nbf,
            exp,
            features,
            seats,
        })
    }
}

pub(crate) fn required<T>(value: Option<T>, field: &'static str) -> Result<T, FieldError> {
    value.ok_or(FieldError::Missing { field })
}

pub(crate) fn wrong_type(field: &'static str, expected: &'static str, found: &Value) -> FieldError {
    FieldError::WrongType {
        field,
        expected,
        found: json::kind_of(found),
    }
}

pub(crate) fn string<'p>(
    payload: &'p Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'p str>, FieldError> {
    match payload.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

pub(crate) fn integer(
    payload: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<i64>, FieldError> {
    match payload.get(field) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "an integer within i64", value)),
    }
}

fn strings(
    payload: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Vec<String>>, FieldError> {
    const EXPECTED: &str = "an array of strings";
    match payload.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(field, EXPECTED, other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(field, EXPECTED, other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decodes(input: &str) -> bool {
        BASE64URL.decode(input).is_ok()
    }

    #[test]
    fn base64url_is_canonical_only() {
        // "QQ" is the one spelling of [0x41]; "QR".."QV" differ only in trailing bits.
        assert_eq!(BASE64URL.decode("QQ").unwrap(), b"A");
        for (input, ok) in [
            ("", true),
            ("QQ", true),
            ("QR", false),
            ("QV", false),
            ("QUI", true),
            ("QUJ", false),
            ("QQ==", false),
            ("QUI=", false),
            ("Q", false),
            ("QUJD", true),
            ("-_-_", true),
            ("+/+/", false),
            ("QU JD", false),
            ("QUJD\n", false),
        ] {
            assert_eq!(decodes(input), ok, "{input:?}");
        }
        // And the library's own constant agrees, which is what the docs promise.
        let library = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for input in ["QR", "QUJ", "QQ=="] {
            assert!(library.decode(input).is_err(), "{input:?}");
        }
    }

    fn shape(token: &str) -> Result<(), ShapeError> {
        parse(token.as_bytes()).map(|_| ())
    }

    #[test]
    fn malformed_counts_parts() {
        assert_eq!(
            shape("CAIO-v2.e30"),
            Err(ShapeError::Malformed {
                prefix: PREFIX,
                parts: 2
            })
        );
        assert_eq!(
            shape("CAIO-v2.e30.AA.AA"),
            Err(ShapeError::Malformed {
                prefix: PREFIX,
                parts: 4
            })
        );
    }

    #[test]
    fn signing_input_is_everything_before_the_second_dot() {
        let sig = BASE64URL.encode([0u8; 64]);
        let token = format!("CAIO-v2.e30.{sig}");
        let raw = parse(token.as_bytes()).unwrap();
        assert_eq!(raw.signing_input, b"CAIO-v2.e30");
    }

    fn claims(payload: &str) -> Result<Claims, FieldError> {
        Claims::read(&json::parse_payload(payload.as_bytes()).unwrap())
    }

    #[test]
    fn optional_fields_may_be_absent_but_not_null() {
        let c = claims(r#"{"lid":"L","sub":"S","iat":5}"#).unwrap();
        assert_eq!(
            (c.nbf, c.exp, c.seats, c.features.len()),
            (None, None, None, 0)
        );
        for field in ["nbf", "exp", "seats", "features"] {
            let payload = format!(r#"{{"lid":"L","sub":"S","iat":5,"{field}":null}}"#);
            assert!(
                matches!(
                    claims(&payload),
                    Err(FieldError::WrongType { found: "null", .. })
                ),
                "{field}"
            );
        }
    }
}
