//! Strict JSON for license payloads: the one place where payload bytes become a value.
//!
//! serde_json does the lexing; this module drives it with its own
//! [`DeserializeSeed`] and [`Visitor`] so that the rules
//! serde_json leaves open are enforced while the tree is built, not after:
//!
//! - the bytes are UTF-8 and the document is one JSON object (trailing whitespace only);
//! - no array or object nests deeper than [`MAX_DEPTH`] levels (the payload object is
//!   level 1), so a hostile payload cannot exhaust the stack;
//! - no object repeats a key, comparing keys after unescaping (`"a"` and `"\u0061"` are
//!   the same key), so no two readers can disagree about which value counts.
//!
//! The result is a [`serde_json::Value`], whose [`Number`] keeps the lexical kind of
//! every number: a JSON integer within `i64` answers [`Number::as_i64`], while `1.0`,
//! `1e3`, `-0` and integers beyond `i64` do not, so the field readers in `license` treat
//! them as the wrong type. This module knows nothing of license fields; it does no I/O.

use core::cell::Cell;
use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// How many levels of arrays and objects a payload may nest, the payload object being
/// level 1.
pub const MAX_DEPTH: usize = 32;

/// Why bytes are not an acceptable payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The bytes are not UTF-8.
    #[error("the payload is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The offset of the first byte that is not UTF-8.
        offset: usize,
    },
    /// The bytes are not one JSON document.
    #[error("the payload is not valid JSON: {message}")]
    Syntax {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// Valid JSON, but not an object.
    #[error("the payload is JSON {found}, not an object")]
    NotAnObject {
        /// What the document is instead.
        found: &'static str,
    },
    /// Arrays or objects nest deeper than [`MAX_DEPTH`].
    #[error("the payload nests arrays or objects deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// One object has the same key twice.
    #[error("the payload repeats key {key:?} in one object")]
    DuplicateKey {
        /// The repeated key, unescaped.
        key: String,
    },
}

/// Parses a payload under the rules in the module docs.
pub fn parse_payload(bytes: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let text = core::str::from_utf8(bytes).map_err(|e| PayloadError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let violation = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = ValueSeed {
        depth: 0,
        violation: &violation,
    };
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, violation.take()) {
        (_, Some(violation)) => Err(violation),
        (Err(e), None) => Err(PayloadError::Syntax {
            message: e.to_string(),
        }),
        (Ok(Value::Object(map)), None) => Ok(map),
        (Ok(other), None) => Err(PayloadError::NotAnObject {
            found: kind_of(&other),
        }),
    }
}

/// The JSON kind of a value, for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Builds one value at `depth` (the number of containers around it), recording the
/// first rule it breaks in `violation` so the caller gets a typed error rather than a
/// serde message.
#[derive(Clone, Copy)]
struct ValueSeed<'v> {
    depth: usize,
    violation: &'v Cell<Option<PayloadError>>,
}

impl ValueSeed<'_> {
    /// The seed for the values inside a container at this depth, or the error that
    /// stops the parse if that container is one level too many.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        let depth = self.depth.saturating_add(1);
        if depth > MAX_DEPTH {
            return Err(self.fail(PayloadError::TooDeep));
        }
        Ok(Self { depth, ..self })
    }

    fn fail<E: de::Error>(self, violation: PayloadError) -> E {
        let error = E::custom(&violation);
        self.violation.set(Some(violation));
        error
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this always succeeds; the number stays a
        // float, which is how integer fields later tell `1.0` from `1`.
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(self.fail(PayloadError::DuplicateKey { key }));
            }
            let value = map.next_value_seed(inner)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok(())` for an accepted payload, else the error's variant name.
    fn check(input: &str, expected: Result<(), &str>) {
        let got = parse_payload(input.as_bytes()).map(|_| ()).map_err(|e| {
            let debug = format!("{e:?}");
            debug
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        assert_eq!(got, expected.map_err(str::to_owned), "payload {input:?}");
    }

    fn nested(levels: usize) -> String {
        // `levels` containers in all: the outer object, then arrays.
        format!(
            "{{\"a\":{}{}}}",
            "[".repeat(levels - 1),
            "]".repeat(levels - 1)
        )
    }

    #[test]
    fn payload_rules() {
        check(r#"{}"#, Ok(()));
        check(" {\"a\":1} \n", Ok(()));
        check(r#"{"a":{"a":1},"b":{"a":2}}"#, Ok(()));
        check(r#"{"a":[1,1,{"x":null}]}"#, Ok(()));
        check(&nested(MAX_DEPTH), Ok(()));
        check(&nested(MAX_DEPTH + 1), Err("TooDeep"));
        check(&nested(200), Err("TooDeep"));
        check(r#"{"a":1,"a":1}"#, Err("DuplicateKey"));
        check(r#"{"a":1,"\u0061":2}"#, Err("DuplicateKey"));
        check(r#"{"x":{"b":[{"c":1,"c":2}]}}"#, Err("DuplicateKey"));
        check(r#"[]"#, Err("NotAnObject"));
        check(r#""text""#, Err("NotAnObject"));
        check(r#"null"#, Err("NotAnObject"));
        check(r#"17"#, Err("NotAnObject"));
        check(r#""#, Err("Syntax"));
        check(r#"{"a":1}{"#, Err("Syntax"));
        check(r#"{"a":1,}"#, Err("Syntax"));
        check(r#"{'a':1}"#, Err("Syntax"));
        check(r#"{"a":01}"#, Err("Syntax"));
        check(r#"{"a":NaN}"#, Err("Syntax"));
        check(r#"{"a":"\ud800"}"#, Err("Syntax"));
        check("\u{feff}{}", Err("Syntax"));
        check(r#"{"a":1} // comment"#, Err("Syntax"));
    }

    #[test]
    fn invalid_utf8_is_refused_before_parsing() {
        assert_eq!(
            parse_payload(b"{\"a\":\"\xff\"}"),
            Err(PayloadError::NotUtf8 { offset: 6 })
        );
    }

    #[test]
    fn numbers_keep_their_lexical_kind() {
        let map = parse_payload(
            br#"{"i":1,"n":-5,"big":9223372036854775808,"min":-9223372036854775808,
                "f":1.0,"e":1e3,"z":-0}"#,
        )
        .unwrap();
        let as_i64 = |k: &str| map[k].as_i64();
        assert_eq!(as_i64("i"), Some(1));
        assert_eq!(as_i64("n"), Some(-5));
        assert_eq!(as_i64("min"), Some(i64::MIN));
        for non_integer in ["big", "f", "e", "z"] {
            assert_eq!(as_i64(non_integer), None, "{non_integer}");
        }
    }
}
