//! The server's pure parts: which license a request body carries, which keys are
//! trusted now, and which metrics format a client asked for. The HTTP behaviour is
//! proven against the real binary in `tests/it/serve.rs`.

use axum::http::HeaderMap;
use caio_keyring::{Channel, KeyId, RuntimeOverride, Validity};
use ed25519_dalek::SigningKey;

use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                axum::http::HeaderName::from_static(k),
                HeaderValue::from_static(v),
            )
        })
        .collect()
}

fn check_body(content_type: Option<&'static str>, body: &[u8], expected: Result<&str, &str>) {
    let headers = headers(
        &content_type
            .map(|c| ("content-type", c))
            .into_iter()
            .collect::<Vec<_>>(),
    );
    let got = license_of(&headers, body);
    assert_eq!(
        got.as_deref().map_err(|(code, _)| *code),
        expected,
        "{content_type:?} {body:?}"
    );
}

#[test]
fn a_body_is_the_token_or_a_json_object_with_it() {
    let json = Some("application/json");
    check_body(None, b"CAIO-v2.a.b", Ok("CAIO-v2.a.b"));
    check_body(None, b"  CAIO-v2.a.b\r\n", Ok("CAIO-v2.a.b"));
    check_body(Some("text/plain"), b"CAIO-v2.a.b\n", Ok("CAIO-v2.a.b"));
    check_body(None, br#"{"license": "CAIO-v2.a.b"}"#, Ok("CAIO-v2.a.b"));
    check_body(None, b" \n{\"license\":\"x\"}", Ok("x"));
    check_body(json, br#"{"license": "CAIO-v2.a.b"}"#, Ok("CAIO-v2.a.b"));
    check_body(
        Some("Application/JSON; charset=utf-8"),
        br#"{"license":"y"}"#,
        Ok("y"),
    );
    // Not a license is still a license to judge (422), not a bad request.
    check_body(None, b"hello", Ok("hello"));
    check_body(json, b"CAIO-v2.a.b", Err("bad_json"));
    check_body(None, b"{\"license\": 5}", Err("bad_json"));
    check_body(None, b"{\"licence\": \"x\"}", Err("bad_json"));
    check_body(None, b"{\"license\": \"x\", \"more\": 1}", Err("bad_json"));
    check_body(None, b"{\"license\": \"x\"", Err("bad_json"));
    check_body(None, b"{}", Err("bad_json"));
    check_body(None, b"CAIO-v2.\xff\xfe", Err("invalid_utf8"));
    check_body(json, b"{\"license\": \"\xc3\x28\"}", Err("invalid_utf8"));
    check_body(None, b"", Err("empty_body"));
    check_body(None, b" \r\n", Err("empty_body"));
    check_body(None, br#"{"license": "  "}"#, Err("empty_body"));
}

#[test]
fn only_an_explicit_text_plain_accept_gets_the_classic_format() {
    for (accept, classic) in [
        (None, false),
        (Some("*/*"), false),
        (Some("application/openmetrics-text; version=1.0.0"), false),
        (Some("text/plain; version=0.0.4"), true),
        (Some("Text/Plain"), true),
        (
            Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
            false,
        ),
    ] {
        let headers = headers(
            &accept
                .map(|a| ("accept", a))
                .into_iter()
                .collect::<Vec<_>>(),
        );
        assert_eq!(wants_classic_text(&headers), classic, "{accept:?}");
    }
}

fn key(id: &str, seed: u8, not_before: i64, not_after: i64) -> TrustedKey {
    let raw = SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes();
    let window = Validity {
        not_before,
        sign_until: not_before,
        not_after,
    };
    TrustedKey::ed25519(KeyId::new(id).unwrap(), &raw, window).unwrap()
}

fn fingerprint(seed: u8) -> String {
    Fingerprint::of_ed25519(
        &SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes(),
    )
    .to_string()
}

#[test]
fn a_key_is_trusted_when_embedded_unrevoked_and_inside_its_window() {
    let keyring = Keyring::new(
        1,
        Channel::Production,
        RuntimeOverride::Deny,
        vec![
            key("current", 1, 100, 200),
            key("pending", 2, 150, 300),
            key("old", 3, 0, 120),
        ],
        vec![fingerprint(9).parse().unwrap()],
    )
    .unwrap();
    let keys = EffectiveKeyring::embedded_only(Ok(&keyring));
    let check = |query: &str, expected: Result<&str, &str>| {
        let got = trust(&keys, query, 130).map(|(k, _)| k.id().as_str());
        assert_eq!(got, expected, "{query}");
    };
    check("current", Ok("current"));
    check(&fingerprint(1), Ok("current"));
    check("pending", Err("key_not_yet_valid"));
    check(&fingerprint(2), Err("key_not_yet_valid"));
    check("old", Err("key_expired"));
    check(&fingerprint(9), Err("revoked_key"));
    check(&fingerprint(7), Err("unknown_key"));
    check("sha256:nothex", Err("unknown_key"));
    check("someone-else", Err("unknown_key"));
    check("", Err("unknown_key"));
    // The window's ends are inclusive.
    assert!(trust(&keys, "current", 100).is_ok());
    assert!(trust(&keys, "current", 200).is_ok());
    assert_eq!(trust(&keys, "current", 201).unwrap_err(), "key_expired");

    let error = DecodeError::DigestMismatch;
    let corrupt = EffectiveKeyring::embedded_only(Err(&error));
    assert_eq!(
        trust(&corrupt, "current", 130).unwrap_err(),
        "keyring_corrupt"
    );
}
