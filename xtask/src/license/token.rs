//! A CAIO-v2 token from a payload: the field order of the JSON, and the signature.
//!
//! `issue` and `reissue` build the payload; [`sign`] encodes it (the fields the format
//! defines first, in [`FIELD_ORDER`], then any others sorted by name), signs the
//! signing input `CAIO-v2.<payload>` with a [`KeyringSigner`] (a PEM key or a PKCS#11
//! token that the manifest lets sign now), and returns the token. Nothing here decides
//! which fields a license has, or which key may sign.

use anyhow::Result;
use base64::Engine as _;
use caio_verify::license::{BASE64URL, PREFIX};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::signer::KeyringSigner;

/// The order in which [`encode_payload`] writes the fields the format defines; other
/// fields follow, sorted by name.
pub const FIELD_ORDER: [&str; 8] = [
    "kid", "lid", "sub", "iat", "nbf", "exp", "features", "seats",
];

/// Signs `payload` as it is (its `kid` must already be [`KeyringSigner::kid`]) and
/// returns the token `CAIO-v2.<payload>.<signature>`. Fails only when a token fails to
/// sign.
pub fn sign(signer: &KeyringSigner<'_>, payload: &Map<String, Value>) -> Result<String> {
    let mut token = String::from(PREFIX);
    BASE64URL.encode_string(encode_payload(payload), &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    BASE64URL.encode_string(signature, &mut token);
    Ok(token)
}

/// The payload as compact JSON: the fields of [`FIELD_ORDER`] first, in that order,
/// then any others sorted by name. Values are written as serde_json writes them.
pub fn encode_payload(payload: &Map<String, Value>) -> String {
    // Serializing a map of JSON values into a String cannot fail.
    serde_json::to_string(&Ordered(payload))
        .unwrap_or_else(|_| unreachable!("a JSON object always serializes"))
}

/// A payload serialized in [`FIELD_ORDER`].
pub struct Ordered<'a>(pub &'a Map<String, Value>);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for field in FIELD_ORDER {
            if let Some(value) = self.0.get(field) {
                map.serialize_entry(field, value)?;
            }
        }
        for (field, value) in self.0 {
            if !FIELD_ORDER.contains(&field.as_str()) {
                map.serialize_entry(field, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(payload: Value, expected: &str) {
        let Value::Object(map) = payload else {
            panic!("an object")
        };
        assert_eq!(encode_payload(&map), expected);
    }

    #[test]
    fn payload_fields_in_format_order_then_the_rest_sorted() {
        check(
            json!({"seats": 3, "zz": 1, "sub": "S", "aa": [true], "iat": 5, "kid": "k", "lid": "L"}),
            r#"{"kid":"k","lid":"L","sub":"S","iat":5,"seats":3,"aa":[true],"zz":1}"#,
        );
        check(json!({}), "{}");
        check(
            json!({"sub": "\"quoted\" \u{e9}", "exp": -1}),
            r#"{"sub":"\"quoted\" é","exp":-1}"#,
        );
    }
}
