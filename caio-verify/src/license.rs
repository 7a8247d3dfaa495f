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
//! The reader checks no signature and no time, and it does not decide in which order
//! checks run: that is [`crate::verify`]'s job. The writer is [`Claims`]: the one place
//! that spells a payload and a token, used by `cargo xtask license issue` and `reissue`
//! and by the tests; it checks nothing, so a writer verifies what it signed before
//! showing it.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde_json::{Map, Value};

use crate::Fingerprint;
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

/// The order in which [`Claims::payload_json`] writes the fields the format defines;
/// any other field follows, sorted by name.
pub const FIELD_ORDER: [&str; 8] = [
    "kid", "lid", "sub", "iat", "nbf", "exp", "features", "seats",
];

/// The content of a license, for the writer: [`signing_input`](Self::signing_input) is
/// what the issuing key signs, [`token`](Self::token) the finished license.
///
/// Nothing here checks the claims (a `kid` that names no key, an `exp` before `iat`):
/// [`Verifier::verify`](crate::Verifier::verify) does, and a writer runs it on the token
/// before showing it, as `cargo xtask license issue` does.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The fingerprint of the signing key.
    pub kid: Fingerprint,
    /// The license id.
    pub lid: String,
    /// The licensee.
    pub sub: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Valid from, unix seconds.
    pub nbf: Option<i64>,
    /// Valid until, unix seconds; `None` is perpetual.
    pub exp: Option<i64>,
    /// The features; `None` writes no `features` field, `Some` an array, empty or not.
    pub features: Option<Vec<String>>,
    /// The seat count.
    pub seats: Option<i64>,
    /// Every other field, signed like the rest. A field the format defines (those of
    /// [`FIELD_ORDER`]) is written from its own member, never from here.
    pub other: Map<String, Value>,
}

impl Claims {
    /// The required claims; every optional one is absent.
    pub fn new(kid: Fingerprint, lid: impl Into<String>, sub: impl Into<String>, iat: i64) -> Self {
        Self {
            kid,
            lid: lid.into(),
            sub: sub.into(),
            iat,
            nbf: None,
            exp: None,
            features: None,
            seats: None,
            other: Map::new(),
        }
    }

    /// The payload object.
    pub fn payload(&self) -> Map<String, Value> {
        let mut payload: Map<String, Value> = self
            .other
            .iter()
            .filter(|(field, _)| !FIELD_ORDER.contains(&field.as_str()))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        payload.insert("kid".into(), self.kid.to_string().into());
        payload.insert("lid".into(), self.lid.clone().into());
        payload.insert("sub".into(), self.sub.clone().into());
        payload.insert("iat".into(), self.iat.into());
        let optional = [("nbf", self.nbf), ("exp", self.exp), ("seats", self.seats)];
        for (field, value) in optional {
            if let Some(value) = value {
                payload.insert(field.into(), value.into());
            }
        }
        if let Some(features) = &self.features {
            payload.insert("features".into(), features.clone().into());
        }
        payload
    }

    /// The payload as compact JSON: the fields of [`FIELD_ORDER`] first, in that order,
    /// then the others sorted by name. The same bytes as [`payload_json`] of
    /// [`payload`](Self::payload), written from the claims as they are: a re-issue
    /// writes one per license, and building the object first would copy every field.
    pub fn payload_json(&self) -> String {
        // Serializing strings, integers and JSON values into a String cannot fail.
        serde_json::to_string(&ClaimsInFieldOrder(self)).unwrap_or_default()
    }

    /// The bytes the issuing key signs: `CAIO-v2.<base64url payload>`.
    pub fn signing_input(&self) -> String {
        signing_input(self.payload_json().as_bytes())
    }

    /// The finished license, given the signature over
    /// [`signing_input`](Self::signing_input).
    pub fn token(&self, signature: &[u8; 64]) -> String {
        token(&self.signing_input(), signature)
    }

    /// The finished license, signed with a key held in memory (development licenses,
    /// tests). An operator's key signs through [`signing_input`](Self::signing_input).
    pub fn sign(&self, key: &SigningKey) -> String {
        let input = self.signing_input();
        token(&input, &key.sign(input.as_bytes()).to_bytes())
    }
}

/// A payload object as compact JSON, in the order of [`Claims::payload_json`].
pub fn payload_json(payload: &Map<String, Value>) -> String {
    // Serializing JSON values into a String cannot fail.
    serde_json::to_string(&InFieldOrder(payload)).unwrap_or_default()
}

/// A payload that serializes with the fields of [`FIELD_ORDER`] first, in that order,
/// then the others sorted by name: how a payload is written everywhere it is shown.
#[derive(Debug, Clone, Copy)]
pub struct InFieldOrder<'a>(pub &'a Map<String, Value>);

impl serde::Serialize for InFieldOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        let known = FIELD_ORDER
            .iter()
            .filter_map(|field| self.0.get_key_value(*field));
        let others = self
            .0
            .iter()
            .filter(|(field, _)| !FIELD_ORDER.contains(&field.as_str()));
        for (field, value) in known.chain(others) {
            map.serialize_entry(field, value)?;
        }
        map.end()
    }
}

/// [`Claims`] serialized as their payload object, in the order of [`InFieldOrder`].
struct ClaimsInFieldOrder<'a>(&'a Claims);

impl serde::Serialize for ClaimsInFieldOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let claims = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kid", &claims.kid.to_string())?;
        map.serialize_entry("lid", &claims.lid)?;
        map.serialize_entry("sub", &claims.sub)?;
        map.serialize_entry("iat", &claims.iat)?;
        for (field, value) in [("nbf", claims.nbf), ("exp", claims.exp)] {
            if let Some(value) = value {
                map.serialize_entry(field, &value)?;
            }
        }
        if let Some(features) = &claims.features {
            map.serialize_entry("features", features)?;
        }
        if let Some(seats) = claims.seats {
            map.serialize_entry("seats", &seats)?;
        }
        // A field the format defines is written from its own member, never from here.
        for (field, value) in &claims.other {
            if !FIELD_ORDER.contains(&field.as_str()) {
                map.serialize_entry(field, value)?;
            }
        }
        map.end()
    }
}

/// `CAIO-v2.` and the base64url of `payload`: what a license's signature covers. The
/// bytes are not checked; [`Claims`] is the way to write a well-formed payload.
pub fn signing_input(payload: &[u8]) -> String {
    let mut out = String::from(PREFIX);
    BASE64URL.encode_string(payload, &mut out);
    out
}

/// `signing_input`, a dot, and the base64url of `signature`: a token.
pub fn token(signing_input: &str, signature: &[u8; 64]) -> String {
    let mut out = String::with_capacity(signing_input.len() + 87);
    out.push_str(signing_input);
    out.push('.');
    BASE64URL.encode_string(signature, &mut out);
    out
}

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
pub(crate) struct SignedFields {
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

impl SignedFields {
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
    use proptest::prelude::*;

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

    fn claims(payload: &str) -> Result<SignedFields, FieldError> {
        SignedFields::read(&json::parse_payload(payload.as_bytes()).unwrap())
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

    #[test]
    fn payload_fields_in_format_order_then_the_rest_sorted() {
        let kid: Fingerprint = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
        let mut claims = Claims::new(kid, "L", "\"quoted\" \u{e9}", 5);
        claims.seats = Some(3);
        claims.exp = Some(-1);
        claims.features = Some(vec![]);
        for (field, value) in [
            ("zz", Value::from(1)),
            ("aa", true.into()),
            ("iat", 9.into()),
        ] {
            claims.other.insert(field.into(), value);
        }
        assert_eq!(
            claims.payload_json(),
            format!(
                r#"{{"kid":"{kid}","lid":"L","sub":"\"quoted\" é","iat":5,"exp":-1,"features":[],"seats":3,"aa":true,"zz":1}}"#
            )
        );
    }

    /// A JSON value of any kind, nested a little.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(".{0,4}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn any_claims() -> impl Strategy<Value = Claims> {
        // Unknown fields, and fields the format defines, which `other` must not write.
        let field = prop_oneof![
            ".{0,6}",
            prop::sample::select(FIELD_ORDER.to_vec()).prop_map(str::to_owned)
        ];
        (
            any::<[u8; 32]>(),
            (".{0,12}", ".{0,12}", any::<i64>()),
            (
                any::<Option<i64>>(),
                any::<Option<i64>>(),
                any::<Option<i64>>(),
            ),
            prop::option::of(prop::collection::vec(".{0,6}", 0..4)),
            prop::collection::btree_map(field, json_value(), 0..6),
        )
            .prop_map(
                |(kid, (lid, sub, iat), (nbf, exp, seats), features, other)| Claims {
                    nbf,
                    exp,
                    seats,
                    features,
                    other: other.into_iter().collect(),
                    ..Claims::new(Fingerprint::of_ed25519(&kid), lid, sub, iat)
                },
            )
    }

    proptest! {
        /// The claims written as they are give the bytes of their payload object written
        /// in field order: one spelling of a payload, whichever way it is written.
        #[test]
        fn claims_write_the_bytes_of_their_payload_object(claims in any_claims()) {
            prop_assert_eq!(claims.payload_json(), payload_json(&claims.payload()));
        }
    }

    #[test]
    fn a_written_token_reads_back_with_its_signing_input() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let kid = Fingerprint::of_ed25519(&key.verifying_key().to_bytes());
        let claims = Claims::new(kid, "L", "S", 5);
        let token = claims.sign(&key);
        let raw = parse(token.as_bytes()).unwrap();
        assert_eq!(raw.signing_input, claims.signing_input().as_bytes());
        assert_eq!(raw.payload, claims.payload());
        assert!(key.verify_strict(raw.signing_input, &raw.signature).is_ok());
    }
}
