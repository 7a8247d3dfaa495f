//! RFC 7512 `pkcs11:` URIs: which module, token and key a `--key` names, and where its
//! PIN comes from.
//!
//! `pkcs11:<path>[?<query>]`. The path holds attributes separated by `;` that select
//! the token (`token`, `manufacturer`, `model`, `serial`, `slot-id`,
//! `slot-description`, `slot-manufacturer`, `library-manufacturer`,
//! `library-description`, `library-version`) and the object (`object`, the label;
//! `id`, bytes; `type`). The query holds attributes separated by `&` that say how to
//! get there (`module-path`, `module-name`, `pin-value`, `pin-source`). Values are
//! percent-decoded; a character outside the RFC's set for its component (a space, a
//! `#`, anything non-ASCII) must be percent-encoded, and a `%` must start a valid
//! escape.
//!
//! Stricter than the RFC requires, on purpose: an attribute this toolchain does not
//! know (a vendor attribute, or a typo such as `tokne=`) is an error rather than
//! ignored, since ignoring it could select a different token or key than the operator
//! meant; an attribute given twice is an error; `pin-value` and `pin-source` together
//! are an error (RFC 7512 says such a URI should be refused).
//!
//! The PIN is a secret: it is decoded into a zeroizing buffer, and no error message,
//! [`Debug`](std::fmt::Debug) output or [`Pkcs11Uri::redacted`] text holds a byte of
//! it. Not here: reading a `pin-source` file, the environment variables, or anything
//! that talks to a module (that is [`super::pkcs11`]).

use std::fmt;
use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use zeroize::Zeroizing;

/// The URI scheme, with its colon. Matched without regard to case, as RFC 3986 says.
pub const SCHEME: &str = "pkcs11:";

/// What stands in for the value of `pin-value` in [`Pkcs11Uri::redacted`].
pub const REDACTED: &str = "<redacted>";

/// A parsed `pkcs11:` URI. Every field is `None` when the URI does not give it.
#[derive(Default)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer id.
    pub manufacturer: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot's number.
    pub slot_id: Option<u64>,
    /// `slot-description`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer`.
    pub slot_manufacturer: Option<String>,
    /// `library-manufacturer`: the module's manufacturer id.
    pub library_manufacturer: Option<String>,
    /// `library-description`: the module's description.
    pub library_description: Option<String>,
    /// `library-version`: the module's version, `major[.minor]` (minor 0 if absent).
    pub library_version: Option<(u8, u8)>,
    /// `object`: the object's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the object's CKA_ID, as bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: the object's class.
    pub object_type: Option<ObjectType>,
    /// `module-path`: the PKCS#11 module (a shared library) to load.
    pub module_path: Option<PathBuf>,
    /// `module-name`: a module named without its path; not resolved by this toolchain.
    pub module_name: Option<String>,
    /// `pin-value` or `pin-source`.
    pub pin: Option<PinSpec>,
    /// The URI as given, with the value of `pin-value` replaced by [`REDACTED`].
    redacted: String,
}

/// The `type` attribute: which class of object the URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=public`: a public key.
    Public,
    /// `type=private`: a private key.
    Private,
    /// `type=cert`: a certificate.
    Cert,
    /// `type=secret-key`: a secret (symmetric) key.
    SecretKey,
    /// `type=data`: a data object.
    Data,
}

/// Where the PIN of the token comes from, as the URI says.
pub enum PinSpec {
    /// `pin-value`: the PIN itself.
    Value(Zeroizing<Vec<u8>>),
    /// `pin-source`: a file that holds the PIN (`file:/path`, `file:///path` or a path).
    File(PathBuf),
}

/// The part of the URI an attribute sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Before `?`; attributes separated by `;`.
    Path,
    /// After `?`; attributes separated by `&`.
    Query,
}

/// Why a `pkcs11:` URI is refused. No variant holds a byte of a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The text does not start with `pkcs11:`.
    #[error("not a pkcs11: URI")]
    NotPkcs11,
    /// A `#` appears: RFC 7512 URIs have no fragment.
    #[error("a pkcs11: URI has no fragment: percent-encode '#' as %23")]
    Fragment,
    /// Two separators in a row, or one at the end.
    #[error("attribute {index} of the {component} is empty: remove the extra separator")]
    EmptyAttribute {
        /// The component.
        component: Component,
        /// 1-based position of the attribute in its component.
        index: usize,
    },
    /// An attribute without `=`. Its text is not shown: it might be a PIN.
    #[error("attribute {index} of the {component} has no '=': write name=value")]
    MissingEquals {
        /// The component.
        component: Component,
        /// 1-based position of the attribute in its component.
        index: usize,
    },
    /// An attribute this toolchain does not know, in the component where it was found.
    #[error("unknown {component} attribute {name:?}; the {component} takes {}", known(*.component))]
    UnknownAttribute {
        /// The component.
        component: Component,
        /// The attribute's name (up to 64 characters).
        name: String,
    },
    /// A path attribute in the query, or a query attribute in the path.
    #[error("{name} belongs in the {expected}, not the {found}: {}", placement(*.expected))]
    WrongComponent {
        /// The attribute.
        name: &'static str,
        /// Where it was found.
        found: Component,
        /// Where it belongs.
        expected: Component,
    },
    /// The same attribute twice.
    #[error("{name} is given twice; give it once")]
    Duplicate {
        /// The attribute.
        name: &'static str,
    },
    /// A character that must be percent-encoded. `None` for the PIN's characters.
    #[error("{name}: {}", invalid_char(*.character))]
    InvalidCharacter {
        /// The attribute.
        name: &'static str,
        /// The character, unless it is part of a secret.
        character: Option<char>,
    },
    /// A `%` not followed by two hexadecimal digits.
    #[error("{name}: '%' must be followed by two hexadecimal digits (write a '%' itself as %25)")]
    BadPercentEncoding {
        /// The attribute.
        name: &'static str,
    },
    /// A text attribute whose decoded bytes are not UTF-8.
    #[error("{name}: the decoded value is not UTF-8")]
    NotUtf8 {
        /// The attribute.
        name: &'static str,
    },
    /// A value outside the attribute's syntax (`type`, `slot-id`, `library-version`).
    #[error("{name}: {expected}")]
    BadValue {
        /// The attribute.
        name: &'static str,
        /// What the value should be.
        expected: &'static str,
    },
    /// Both `pin-value` and `pin-source`.
    #[error(
        "pin-value and pin-source are both given; give one (pin-source keeps the PIN out of the process list)"
    )]
    PinValueAndSource,
    /// A `pin-source` with a scheme other than `file:`.
    #[error(
        "pin-source: only file: sources are supported (pin-source=file:/path/to/pin), not {scheme:?}"
    )]
    UnsupportedPinSource {
        /// The scheme given.
        scheme: String,
    },
}

impl Pkcs11Uri {
    /// Parses `text`, which starts with `pkcs11:` (in any case).
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let rest = strip_scheme(text).ok_or(UriError::NotPkcs11)?;
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Self {
            redacted: format!("{SCHEME}{path}"),
            ..Self::default()
        };
        let mut seen: Vec<&'static str> = Vec::new();
        for (index, attribute) in split_attributes(path, ';') {
            uri.path_attribute(Component::Path, index, attribute, &mut seen)?;
        }
        if let Some(query) = query {
            uri.redacted.push('?');
            let mut pin_source = None;
            for (index, attribute) in split_attributes(query, '&') {
                if index > 1 {
                    uri.redacted.push('&');
                }
                uri.query_attribute(index, attribute, &mut seen, &mut pin_source)?;
            }
            if let Some(source) = pin_source {
                if uri.pin.is_some() {
                    return Err(UriError::PinValueAndSource);
                }
                uri.pin = Some(PinSpec::File(pin_source_path(&source)?));
            }
        }
        Ok(uri)
    }

    /// The URI as given, with the value of `pin-value` replaced by [`REDACTED`]: safe
    /// to show in messages.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    fn path_attribute(
        &mut self,
        component: Component,
        index: usize,
        attribute: Option<&str>,
        seen: &mut Vec<&'static str>,
    ) -> Result<(), UriError> {
        let (name, value) = known_attribute(component, index, attribute, seen)?;
        let bytes = decode(name, value, component)?;
        let text = || String::from_utf8(bytes.clone()).map_err(|_| UriError::NotUtf8 { name });
        match name {
            "token" => self.token = Some(text()?),
            "manufacturer" => self.manufacturer = Some(text()?),
            "model" => self.model = Some(text()?),
            "serial" => self.serial = Some(text()?),
            "slot-description" => self.slot_description = Some(text()?),
            "slot-manufacturer" => self.slot_manufacturer = Some(text()?),
            "library-manufacturer" => self.library_manufacturer = Some(text()?),
            "library-description" => self.library_description = Some(text()?),
            "object" => self.object = Some(text()?),
            "id" => self.id = Some(bytes),
            "slot-id" => {
                self.slot_id = Some(digits(&text()?).ok_or(UriError::BadValue {
                    name,
                    expected: "a slot number in decimal digits",
                })?);
            }
            "library-version" => {
                self.library_version = Some(version(&text()?).ok_or(UriError::BadValue {
                    name,
                    expected: "a version: major[.minor], each 0 to 255",
                })?);
            }
            "type" => {
                self.object_type = Some(match text()?.as_str() {
                    "public" => ObjectType::Public,
                    "private" => ObjectType::Private,
                    "cert" => ObjectType::Cert,
                    "secret-key" => ObjectType::SecretKey,
                    "data" => ObjectType::Data,
                    _ => {
                        return Err(UriError::BadValue {
                            name,
                            expected: "one of public, private, cert, secret-key, data",
                        });
                    }
                });
            }
            _ => unreachable!("every name of PATH_ATTRIBUTES is handled"),
        }
        Ok(())
    }

    fn query_attribute(
        &mut self,
        index: usize,
        attribute: Option<&str>,
        seen: &mut Vec<&'static str>,
        pin_source: &mut Option<String>,
    ) -> Result<(), UriError> {
        let component = Component::Query;
        let (name, value) = known_attribute(component, index, attribute, seen)?;
        if name == "pin-value" {
            self.redacted.push_str("pin-value=");
            self.redacted.push_str(REDACTED);
            // Checked and decoded without a copy that outlives this call unwiped.
            validate(name, value, component, true)?;
            let mut pin = Zeroizing::new(Vec::with_capacity(value.len()));
            pin.extend(percent_decode_str(value));
            self.pin = Some(PinSpec::Value(pin));
            return Ok(());
        }
        self.redacted.push_str(name);
        self.redacted.push('=');
        self.redacted.push_str(value);
        let bytes = decode(name, value, component)?;
        let text = String::from_utf8(bytes).map_err(|_| UriError::NotUtf8 { name })?;
        match name {
            "module-path" => self.module_path = Some(PathBuf::from(text)),
            "module-name" => self.module_name = Some(text),
            "pin-source" => *pin_source = Some(text),
            _ => unreachable!("pin-value is handled above"),
        }
        Ok(())
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pkcs11Uri").field(&self.redacted).finish()
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Path => "path",
            Self::Query => "query",
        })
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Cert => "cert",
            Self::SecretKey => "secret-key",
            Self::Data => "data",
        })
    }
}

/// Whether `text` is a `pkcs11:` URI rather than a file path.
pub fn is_pkcs11_uri(text: &str) -> bool {
    strip_scheme(text).is_some()
}

/// The attributes of the path, in the order RFC 7512 lists them.
const PATH_ATTRIBUTES: [&str; 13] = [
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-description",
    "library-version",
    "object",
    "type",
    "id",
    "slot-description",
    "slot-manufacturer",
    "slot-id",
];

/// The attributes of the query.
const QUERY_ATTRIBUTES: [&str; 4] = ["pin-source", "pin-value", "module-name", "module-path"];

/// Characters a value may hold unencoded in either component (RFC 7512 `pk11-pchar` and
/// `pk11-qchar` share these): RFC 3986 unreserved, and `pk11-res-avail`.
fn allowed_anywhere(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=".contains(&byte)
}

/// Whether `byte` may appear unencoded in a value of `component`: `&` in the path
/// (`pk11-path-res-avail`), `/`, `?` and `|` in the query (`pk11-query-res-avail`).
fn allowed(byte: u8, component: Component) -> bool {
    allowed_anywhere(byte)
        || match component {
            Component::Path => byte == b'&',
            Component::Query => b"/?|".contains(&byte),
        }
}

fn strip_scheme(text: &str) -> Option<&str> {
    let scheme = text.get(..SCHEME.len())?;
    scheme
        .eq_ignore_ascii_case(SCHEME)
        .then(|| &text[SCHEME.len()..])
}

/// The attributes of a component as `(1-based index, Some(text) or None if empty)`;
/// an empty component has none.
fn split_attributes(
    component: &str,
    separator: char,
) -> impl Iterator<Item = (usize, Option<&str>)> {
    component
        .split(separator)
        .filter(move |_| !component.is_empty())
        .enumerate()
        .map(|(i, a)| (i + 1, (!a.is_empty()).then_some(a)))
}

fn name_value(
    component: Component,
    index: usize,
    attribute: Option<&str>,
) -> Result<(&str, &str), UriError> {
    attribute
        .ok_or(UriError::EmptyAttribute { component, index })?
        .split_once('=')
        .ok_or(UriError::MissingEquals { component, index })
}

/// The name and raw value of the attribute at `index` of `component`: a name of that
/// component's own (one of the other's is in the wrong place), not `seen` before, and
/// added to `seen`.
fn known_attribute<'a>(
    component: Component,
    index: usize,
    attribute: Option<&'a str>,
    seen: &mut Vec<&'static str>,
) -> Result<(&'static str, &'a str), UriError> {
    let (name, value) = name_value(component, index, attribute)?;
    let (own, other) = match component {
        Component::Path => (&PATH_ATTRIBUTES[..], &QUERY_ATTRIBUTES[..]),
        Component::Query => (&QUERY_ATTRIBUTES[..], &PATH_ATTRIBUTES[..]),
    };
    let name = match own.iter().find(|n| **n == name) {
        Some(name) => *name,
        None if other.contains(&name) => return Err(wrong_component(name, component)),
        None => return Err(unknown(component, name)),
    };
    if seen.contains(&name) {
        return Err(UriError::Duplicate { name });
    }
    seen.push(name);
    Ok((name, value))
}

fn unknown(component: Component, name: &str) -> UriError {
    UriError::UnknownAttribute {
        component,
        name: name.chars().take(64).collect(),
    }
}

fn wrong_component(name: &str, found: Component) -> UriError {
    let (name, expected) = match PATH_ATTRIBUTES.iter().find(|n| **n == name) {
        Some(name) => (*name, Component::Path),
        None => (
            *QUERY_ATTRIBUTES
                .iter()
                .find(|n| **n == name)
                .unwrap_or_else(|| unreachable!("called with a known attribute")),
            Component::Query,
        ),
    };
    UriError::WrongComponent {
        name,
        found,
        expected,
    }
}

/// Checks that `value` is well-formed for `component`: allowed characters and valid
/// percent escapes. With `secret`, an error names no character of it.
fn validate(
    name: &'static str,
    value: &str,
    component: Component,
    secret: bool,
) -> Result<(), UriError> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let escape = bytes.get(i + 1..i + 3);
            if !escape.is_some_and(|e| e.iter().all(u8::is_ascii_hexdigit)) {
                return Err(UriError::BadPercentEncoding { name });
            }
            i += 3;
        } else if allowed(byte, component) {
            i += 1;
        } else {
            let character = value.get(i..).and_then(|rest| rest.chars().next());
            return Err(UriError::InvalidCharacter {
                name,
                character: character.filter(|_| !secret),
            });
        }
    }
    Ok(())
}

/// Validates and percent-decodes a value that is not a secret.
fn decode(name: &'static str, value: &str, component: Component) -> Result<Vec<u8>, UriError> {
    validate(name, value, component, false)?;
    Ok(percent_decode_str(value).collect())
}

/// `pin-source` as a path: `file:///p` and `file:/p` are `/p`, `file:p` is `p`, a value
/// with no scheme is a path; another scheme is refused.
fn pin_source_path(source: &str) -> Result<PathBuf, UriError> {
    if let Some(rest) = source.strip_prefix("file:") {
        let path = rest
            .strip_prefix("//localhost")
            .or_else(|| rest.strip_prefix("//").filter(|r| r.starts_with('/')))
            .unwrap_or(rest);
        if path.is_empty() || path.starts_with("//") {
            return Err(UriError::BadValue {
                name: "pin-source",
                expected: "a file: URI of a local file, as file:/path/to/pin",
            });
        }
        return Ok(PathBuf::from(path));
    }
    // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
    if let Some((scheme, _)) = source.split_once(':')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(UriError::UnsupportedPinSource {
            scheme: format!("{scheme}:"),
        });
    }
    // p11-kit and others read `|command` as "run this": not here.
    if source.starts_with('|') {
        return Err(UriError::UnsupportedPinSource { scheme: "|".into() });
    }
    if source.is_empty() {
        return Err(UriError::BadValue {
            name: "pin-source",
            expected: "the path of a file that holds the PIN",
        });
    }
    Ok(PathBuf::from(source))
}

fn digits(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn version(text: &str) -> Option<(u8, u8)> {
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    let part = |p: &str| u8::try_from(digits(p)?).ok();
    Some((part(major)?, part(minor)?))
}

fn known(component: Component) -> String {
    match component {
        Component::Path => PATH_ATTRIBUTES.join(", "),
        Component::Query => QUERY_ATTRIBUTES.join(", "),
    }
}

fn placement(expected: Component) -> &'static str {
    match expected {
        Component::Path => "pkcs11:token=...;object=...?module-path=...",
        Component::Query => "put it after '?' and separate query attributes with '&'",
    }
}

fn invalid_char(character: Option<char>) -> String {
    match character {
        Some(c) => {
            let mut utf8 = [0; 4];
            let escaped: String = c
                .encode_utf8(&mut utf8)
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            format!("{c:?} must be percent-encoded, as {escaped}")
        }
        None => "a character of the value must be percent-encoded".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-line summary of every attribute the URI gives, for `check`.
    fn summary(uri: &Pkcs11Uri) -> String {
        let mut out = Vec::new();
        let mut text = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                out.push(format!("{name}={v:?}"));
            }
        };
        text("token", &uri.token);
        text("manufacturer", &uri.manufacturer);
        text("model", &uri.model);
        text("serial", &uri.serial);
        text("slot-description", &uri.slot_description);
        text("slot-manufacturer", &uri.slot_manufacturer);
        text("library-manufacturer", &uri.library_manufacturer);
        text("library-description", &uri.library_description);
        text("object", &uri.object);
        text("module-name", &uri.module_name);
        if let Some(id) = &uri.slot_id {
            out.push(format!("slot-id={id}"));
        }
        if let Some((major, minor)) = uri.library_version {
            out.push(format!("library-version={major}.{minor}"));
        }
        if let Some(id) = &uri.id {
            out.push(format!("id={}", hex::encode(id)));
        }
        if let Some(t) = uri.object_type {
            out.push(format!("type={t}"));
        }
        if let Some(p) = &uri.module_path {
            out.push(format!("module-path={}", p.display()));
        }
        match &uri.pin {
            Some(PinSpec::Value(pin)) => {
                out.push(format!("pin={:?}", String::from_utf8_lossy(pin)))
            }
            Some(PinSpec::File(path)) => out.push(format!("pin-file={}", path.display())),
            None => {}
        }
        out.join(" ")
    }

    fn check(input: &str, expected: Result<&str, UriError>) {
        let got = Pkcs11Uri::parse(input).map(|uri| summary(&uri));
        assert_eq!(got.as_deref().map_err(Clone::clone), expected, "{input}");
    }

    #[test]
    fn attributes_of_the_path_and_the_query() {
        check("pkcs11:", Ok(""));
        check("PKCS11:token=caio", Ok("token=\"caio\""));
        check("pkcs11:?", Ok(""));
        check(
            "pkcs11:token=caio;object=lic;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
            Ok(
                "token=\"caio\" object=\"lic\" type=private module-path=/usr/lib/softhsm/libsofthsm2.so pin=\"1234\"",
            ),
        );
        // The RFC's own examples.
        check(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
            Ok(
                "token=\"The Software PKCS#11 Softtoken\" manufacturer=\"Snake Oil, Inc.\" model=\"1.0\" serial=\"\" object=\"my-certificate\" id=69953e5cf4bdec91 type=cert pin-file=/etc/token_pin",
            ),
        );
        check(
            "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
            Ok("object=\"my-sign-key\" module-name=\"mypkcs11\" type=private"),
        );
        check(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
            Ok(
                "token=\"Software PKCS#11 softtoken\" manufacturer=\"Snake Oil, Inc.\" pin=\"the-pin\"",
            ),
        );
        check(
            "pkcs11:slot-description=Sun%20Metaslot;slot-id=0;library-version=1;library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token",
            Ok(
                "slot-description=\"Sun Metaslot\" library-manufacturer=\"Snake Oil, Inc.\" library-description=\"Soft Token\" slot-id=0 library-version=1.0",
            ),
        );
        check(
            "pkcs11:library-version=2.40;slot-manufacturer=SoftHSM%20project",
            Ok("slot-manufacturer=\"SoftHSM project\" library-version=2.40"),
        );
        // `&` is allowed in the path, `/ ? |` in the query; UTF-8 decodes.
        check(
            "pkcs11:object=a&b;token=%C3%A9t%C3%A9?module-path=/opt/x?y|z.so",
            Ok("token=\"été\" object=\"a&b\" module-path=/opt/x?y|z.so"),
        );
        // `id` is bytes: pkcs11-tool's `--id 01` is `id=%01`; `id=01` is the bytes "01".
        check("pkcs11:id=%01", Ok("id=01"));
        check("pkcs11:id=01", Ok("id=3031"));
        check("pkcs11:id=", Ok("id="));
        // A PIN with reserved characters, percent-encoded.
        check("pkcs11:?pin-value=a%26b%3Bc%25", Ok("pin=\"a&b;c%\""));
    }

    #[test]
    fn pin_sources() {
        // A local file: a file: URI (no host, or localhost), a path or a relative name.
        for (source, file) in [
            ("file:/etc/pin", "/etc/pin"),
            ("file:///etc/pin", "/etc/pin"),
            ("file://localhost/etc/pin", "/etc/pin"),
            ("/etc/pin", "/etc/pin"),
            ("pin.txt", "pin.txt"),
            ("file:pin.txt", "pin.txt"),
        ] {
            let uri = format!("pkcs11:?pin-source={source}");
            check(&uri, Ok(&format!("pin-file={file}")));
        }
        check(
            "pkcs11:?pin-source=file://host/etc/pin",
            Err(UriError::BadValue {
                name: "pin-source",
                expected: "a file: URI of a local file, as file:/path/to/pin",
            }),
        );
        check(
            "pkcs11:?pin-source=env:PIN",
            Err(UriError::UnsupportedPinSource {
                scheme: "env:".into(),
            }),
        );
        check(
            "pkcs11:?pin-source=|/bin/askpin",
            Err(UriError::UnsupportedPinSource { scheme: "|".into() }),
        );
        check(
            "pkcs11:?pin-value=1&pin-source=file:/p",
            Err(UriError::PinValueAndSource),
        );
        check(
            "pkcs11:?pin-source=file:/p&pin-value=1",
            Err(UriError::PinValueAndSource),
        );
    }

    #[test]
    fn malformed_uris_are_refused_with_the_reason() {
        use Component::{Path, Query};
        check("pkcs1:token=a", Err(UriError::NotPkcs11));
        check("/path/to/key.pem", Err(UriError::NotPkcs11));
        check("pkcs11:token=a#frag", Err(UriError::Fragment));
        check(
            "pkcs11:token=a;;object=b",
            Err(UriError::EmptyAttribute {
                component: Path,
                index: 2,
            }),
        );
        check(
            "pkcs11:token=a;",
            Err(UriError::EmptyAttribute {
                component: Path,
                index: 2,
            }),
        );
        check(
            "pkcs11:?&pin-value=1",
            Err(UriError::EmptyAttribute {
                component: Query,
                index: 1,
            }),
        );
        check(
            "pkcs11:token",
            Err(UriError::MissingEquals {
                component: Path,
                index: 1,
            }),
        );
        check(
            "pkcs11:?1234",
            Err(UriError::MissingEquals {
                component: Query,
                index: 1,
            }),
        );
        check(
            "pkcs11:tokne=caio",
            Err(UriError::UnknownAttribute {
                component: Path,
                name: "tokne".into(),
            }),
        );
        check(
            "pkcs11:token=caio;x-vendor=1",
            Err(UriError::UnknownAttribute {
                component: Path,
                name: "x-vendor".into(),
            }),
        );
        check(
            "pkcs11:?pin=1234",
            Err(UriError::UnknownAttribute {
                component: Query,
                name: "pin".into(),
            }),
        );
        check(
            "pkcs11:pin-value=1234",
            Err(UriError::WrongComponent {
                name: "pin-value",
                found: Path,
                expected: Query,
            }),
        );
        check(
            "pkcs11:?token=caio",
            Err(UriError::WrongComponent {
                name: "token",
                found: Query,
                expected: Path,
            }),
        );
        check(
            "pkcs11:token=a;token=b",
            Err(UriError::Duplicate { name: "token" }),
        );
        check(
            "pkcs11:?module-path=/a&module-path=/b",
            Err(UriError::Duplicate {
                name: "module-path",
            }),
        );
        check(
            "pkcs11:token=my token",
            Err(UriError::InvalidCharacter {
                name: "token",
                character: Some(' '),
            }),
        );
        check(
            "pkcs11:object=a/b",
            Err(UriError::InvalidCharacter {
                name: "object",
                character: Some('/'),
            }),
        );
        check(
            "pkcs11:token=caf\u{e9}",
            Err(UriError::InvalidCharacter {
                name: "token",
                character: Some('\u{e9}'),
            }),
        );
        check(
            "pkcs11:?module-path=/a;b",
            Err(UriError::InvalidCharacter {
                name: "module-path",
                character: Some(';'),
            }),
        );
        check(
            "pkcs11:token=%4",
            Err(UriError::BadPercentEncoding { name: "token" }),
        );
        check(
            "pkcs11:token=%zz",
            Err(UriError::BadPercentEncoding { name: "token" }),
        );
        check("pkcs11:token=%FF", Err(UriError::NotUtf8 { name: "token" }));
        // A value its attribute does not take: the error names the attribute.
        for (bad, attribute) in [
            ("pkcs11:type=key", "type"),
            ("pkcs11:type=Private", "type"),
            ("pkcs11:type=", "type"),
            ("pkcs11:slot-id=", "slot-id"),
            ("pkcs11:slot-id=-1", "slot-id"),
            ("pkcs11:slot-id=1x", "slot-id"),
            ("pkcs11:slot-id=99999999999999999999", "slot-id"),
            ("pkcs11:library-version=1.", "library-version"),
            ("pkcs11:library-version=.1", "library-version"),
            ("pkcs11:library-version=256", "library-version"),
            ("pkcs11:library-version=1.2.3", "library-version"),
            ("pkcs11:library-version=a", "library-version"),
        ] {
            assert!(
                matches!(
                    Pkcs11Uri::parse(bad),
                    Err(UriError::BadValue { name, .. }) if name == attribute
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_pin_never_shows() {
        let secret = "s3cr3t-PIN";
        for uri in [
            format!("pkcs11:token=caio?pin-value={secret}"),
            format!("pkcs11:token=caio?module-path=/m.so&pin-value={secret}"),
        ] {
            let parsed = Pkcs11Uri::parse(&uri).expect("parses");
            assert!(!parsed.redacted().contains(secret), "{}", parsed.redacted());
            assert!(parsed.redacted().contains(REDACTED));
            assert!(!format!("{parsed:?}").contains(secret));
        }
        let parsed =
            Pkcs11Uri::parse("pkcs11:token=caio?module-path=/m.so&pin-value=1234").expect("parses");
        assert_eq!(
            parsed.redacted(),
            "pkcs11:token=caio?module-path=/m.so&pin-value=<redacted>"
        );
        // Errors about the PIN's value name no character of it.
        for (uri, error) in [
            (
                "pkcs11:?pin-value=12 34",
                "pin-value: a character of the value must be percent-encoded",
            ),
            ("pkcs11:?pin-value=12%3", "pin-value: '%' must be followed"),
            ("pkcs11:?1234", "attribute 1 of the query has no '='"),
        ] {
            let e = Pkcs11Uri::parse(uri).expect_err("refused").to_string();
            assert!(e.starts_with(error), "{e}");
            assert!(!e.contains("12"), "{e}");
        }
    }

    /// `bytes` with every byte percent-encoded.
    fn encode_all(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("%{b:02X}")).collect()
    }

    proptest::proptest! {
        /// Any text: a result, never a panic.
        #[test]
        fn parse_never_panics(text in "pkcs11:[a-z=;?&%0-9A-F/:.\\-_ #\u{e9}]{0,64}") {
            let _ = Pkcs11Uri::parse(&text);
        }

        /// Any bytes survive percent-encoding as an `id`.
        #[test]
        fn ids_round_trip(id in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let uri = Pkcs11Uri::parse(&format!("pkcs11:id={}", encode_all(&id))).expect("parses");
            proptest::prop_assert_eq!(uri.id, Some(id));
        }

        /// Whatever the PIN, and whether or not the URI around it parses, no output of
        /// the parser holds it.
        #[test]
        fn no_output_holds_the_pin(
            pin in "[A-Za-z0-9]{6,12}",
            tail in "[a-z=;?&%# ]{0,12}",
        ) {
            let text = format!("pkcs11:token=caio?pin-value={pin}{tail}");
            match Pkcs11Uri::parse(&text) {
                Ok(uri) => {
                    proptest::prop_assert!(!uri.redacted().contains(&pin));
                    let debug = format!("{uri:?}");
                    proptest::prop_assert!(!debug.contains(&pin));
                }
                Err(e) => proptest::prop_assert!(!e.to_string().contains(&pin), "{}", e),
            }
        }
    }

    #[test]
    fn only_the_scheme_makes_a_uri() {
        assert!(is_pkcs11_uri("pkcs11:"));
        assert!(is_pkcs11_uri("Pkcs11:token=a"));
        assert!(!is_pkcs11_uri("./pkcs11:token=a"));
        assert!(!is_pkcs11_uri("pkcs11"));
        assert!(!is_pkcs11_uri("private.pem"));
        assert!(!is_pkcs11_uri("pkcs1\u{e9}"));
    }
}
