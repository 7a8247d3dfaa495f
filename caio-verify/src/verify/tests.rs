//! Verdicts, one case a line: every reason code, its edges, and the order of checks.

use std::collections::HashSet;

use base64::Engine as _;
use caio_keyring::{Channel, KeyId, RuntimeOverride, Validity};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};

use test_support::keyring::{OPEN_WINDOW, fingerprint, trusted_key, with_revoked};
use test_support::run::assert_contains;
use test_support::tokens::{malleate, with_signature};

use super::*;
use crate::license::BASE64URL;

/// The key most cases sign with: signs 1000..=2000, verifies until 3000.
const A: [u8; 32] = [1; 32];
/// A key with open windows.
const OPEN: [u8; 32] = [2; 32];
/// A key whose fingerprint is revoked.
const REVOKED: [u8; 32] = [9; 32];
/// A key the keyring does not know.
const STRANGER: [u8; 32] = [8; 32];

/// The default verification instant: inside A's verification window.
const NOW: i64 = 2500;

fn trusted(id: &str, secret: [u8; 32], window: Validity) -> TrustedKey {
    trusted_key(secret, id, window)
}

fn keyring() -> Keyring {
    let a = Validity {
        not_before: 1000,
        sign_until: 2000,
        not_after: 3000,
    };
    let keys = vec![trusted("a", A, a), trusted("open", OPEN, OPEN_WINDOW)];
    with_revoked(7, RuntimeOverride::Deny, keys, &[REVOKED])
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    BASE64URL.encode(bytes)
}

/// A token over exactly this payload text, signed by `secret`.
fn signed_text(secret: [u8; 32], payload: &str) -> String {
    let input = format!("CAIO-v2.{}", b64(payload));
    let signature = SigningKey::from_bytes(&secret).sign(input.as_bytes());
    format!("{input}.{}", b64(signature.to_bytes()))
}

/// A valid payload for key A, issued at 1500, with `changes` applied: a `null` in
/// `changes` removes the field (use [`signed_text`] to send a real `null`).
fn payload(kid: Fingerprint, changes: Value) -> String {
    let mut object = json!({ "kid": kid.to_string(), "lid": "lic-1", "sub": "ACME", "iat": 1500 });
    if let (Some(fields), Value::Object(changes)) = (object.as_object_mut(), changes) {
        for (field, value) in changes {
            if value.is_null() {
                fields.remove(&field);
            } else {
                fields.insert(field, value);
            }
        }
    }
    object.to_string()
}

/// Key A signs its own payload, changed by `changes`.
fn lic(changes: Value) -> String {
    signed_text(A, &payload(fingerprint(A), changes))
}

/// A payload text with A's kid, with `rest` appended inside the object, signed by A.
fn raw_fields(rest: &str) -> String {
    signed_text(A, &format!(r#"{{"kid":"{}",{rest}}}"#, fingerprint(A)))
}

/// A token with this payload text and a 64-byte signature of zeros.
fn unsigned(payload: &str) -> String {
    format!("CAIO-v2.{}.{}", b64(payload), b64([0u8; 64]))
}

/// Keeps the signature of `token` but puts this payload text in front of it.
fn swap_payload(token: &str, payload: &str) -> String {
    let (_, signature) = token.rsplit_once('.').unwrap();
    format!("CAIO-v2.{}.{signature}", b64(payload))
}

/// Verifies `token` at `now` with the default leeway against [`keyring`].
fn check(now: i64, token: &str, expected: Result<(), Reason>) -> Option<Reason> {
    check_with(Options::at(now), token, expected)
}

fn check_with(options: Options, token: &str, expected: Result<(), Reason>) -> Option<Reason> {
    let keyring = keyring();
    let got = Verifier::new(&keyring, options)
        .verify(token)
        .map(|_| ())
        .map_err(|r| r.reason);
    assert_eq!(got, expected, "token {token:.120}");
    got.err()
}

#[test]
fn happy_paths() {
    let token = lic(
        json!({ "nbf": 1400, "exp": 5000, "features": ["pro", "cloud"], "seats": 25, "x-extra": {"a": [1]} }),
    );
    let keyring = keyring();
    let license = Verifier::new(&keyring, Options::at(NOW))
        .verify(&token)
        .unwrap();
    assert_eq!(license.lid(), "lic-1");
    assert_eq!(license.sub(), "ACME");
    assert_eq!(license.iat(), 1500);
    assert_eq!(license.nbf(), Some(1400));
    assert_eq!(license.exp(), Some(5000));
    assert_eq!(license.features(), ["pro", "cloud"]);
    assert!(license.has_feature("cloud") && !license.has_feature("Cloud"));
    assert_eq!(license.seats(), Some(25));
    assert_eq!(license.key_id().as_str(), "a");
    assert_eq!(license.fingerprint(), fingerprint(A));
    assert_eq!(license.payload()["x-extra"], json!({"a": [1]}));

    // Minimal fields: perpetual, no features, no seats. Bytes and String work too.
    let minimal = lic(json!({}));
    let license = Verifier::new(&keyring, Options::at(NOW))
        .verify(minimal.as_bytes())
        .unwrap();
    assert_eq!((license.exp(), license.seats()), (None, None));
    assert!(license.features().is_empty());
}

#[test]
fn rejections_carry_the_kid_once_it_is_known() {
    let keyring = keyring();
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    let shape = verifier.verify("CAIO-v2.e30").unwrap_err();
    assert_eq!(shape.kid, None);
    let expired = verifier.verify(&lic(json!({ "exp": 100 }))).unwrap_err();
    assert_eq!(expired.kid, Some(fingerprint(A)));
    assert_contains(&expired.detail, "exp 100");
    let revoked = verifier
        .verify(&signed_text(
            REVOKED,
            &payload(fingerprint(REVOKED), json!({})),
        ))
        .unwrap_err();
    assert_eq!(revoked.kid, Some(fingerprint(REVOKED)));
}

/// Every case of the verdict table; returns the reasons seen, for the coverage test.
fn verdict_table() -> HashSet<Reason> {
    use Reason::*;
    let a = fingerprint(A);
    let ok = Ok(());
    let sig64 = b64([0u8; 64]);
    let (sig63, sig65) = (b64([0u8; 63]), b64([0u8; 65]));
    let mut seen = HashSet::new();
    let mut c = |now, token: &str, expected| seen.extend(check(now, token, expected));

    // Shape, in order: each case also has every later fault where it can.
    c(NOW, &format!("CAIO-v2.{}", "A".repeat(4089)), Err(TooLong));
    c(NOW, &"x".repeat(4097), Err(TooLong));
    c(
        NOW,
        &format!("CAIO-v2.{}", "A".repeat(4088)),
        Err(Malformed),
    );
    c(NOW, "", Err(BadPrefix));
    c(NOW, "CAIO-v2", Err(BadPrefix));
    c(NOW, "caio-v2.e30.AA", Err(BadPrefix));
    c(NOW, "CAIO-v1.e30.AA", Err(BadPrefix));
    c(NOW, " CAIO-v2.e30.AA", Err(BadPrefix));
    c(NOW, "CAIO-v2.", Err(Malformed));
    c(NOW, "CAIO-v2.e30", Err(Malformed));
    c(NOW, "CAIO-v2.e30.AA.AA", Err(Malformed));
    c(NOW, &format!("{}.", lic(json!({}))), Err(Malformed));
    c(NOW, "CAIO-v2.e30=.AA", Err(BadEncoding));
    c(NOW, "CAIO-v2.e3+.AA", Err(BadEncoding));
    c(NOW, "CAIO-v2.e31.AA", Err(BadEncoding)); // non-zero trailing bits
    c(NOW, "CAIO-v2.e30.AB", Err(BadEncoding)); // in the signature too
    c(NOW, "CAIO-v2.e30.A", Err(BadEncoding));
    c(NOW, &format!("CAIO-v2.e30.{sig64}="), Err(BadEncoding));
    c(NOW, &format!("CAIO-v2.e30 .{sig64}"), Err(BadEncoding));
    c(NOW, "CAIO-v2.e30.", Err(BadSignatureLength));
    c(
        NOW,
        &format!("CAIO-v2.e30.{sig63}"),
        Err(BadSignatureLength),
    );
    c(
        NOW,
        &format!("CAIO-v2.e30.{sig65}"),
        Err(BadSignatureLength),
    );
    c(NOW, &format!("CAIO-v2.!.{sig65}"), Err(BadEncoding));
    c(NOW, &format!("CAIO-v2.%7B%7D.{sig63}"), Err(BadEncoding));
    c(NOW, &unsigned(""), Err(BadPayload));
    c(NOW, &unsigned("kid"), Err(BadPayload));
    c(NOW, &unsigned("[]"), Err(BadPayload));
    c(NOW, &unsigned(r#""sha256:00""#), Err(BadPayload));
    c(
        NOW,
        &format!("CAIO-v2.{}.{sig64}", b64(b"{\"a\":\"\xff\"}")),
        Err(BadPayload),
    );
    c(
        NOW,
        &raw_fields(r#""lid":"a","lid":"b","sub":"S","iat":1500"#),
        Err(BadPayload),
    );
    c(
        NOW,
        &raw_fields(r#""kid":"x","lid":"L","sub":"S","iat":1500"#),
        Err(BadPayload),
    );
    c(
        NOW,
        &raw_fields(&format!(
            r#""lid":"L","sub":"S","iat":1500,"deep":{}1{}"#,
            "[".repeat(32),
            "]".repeat(32)
        )),
        Err(BadPayload),
    );
    c(
        NOW,
        &raw_fields(&format!(
            r#""lid":"L","sub":"S","iat":1500,"deep":{}1{}"#,
            "[".repeat(31),
            "]".repeat(31)
        )),
        ok,
    );

    // Choosing the key: only `kid` is read, and no signature is needed to get here.
    c(NOW, &unsigned(r#"{"lid":"L"}"#), Err(MissingField));
    c(NOW, &unsigned(r#"{"kid":null}"#), Err(WrongType));
    c(NOW, &unsigned(r#"{"kid":7}"#), Err(WrongType));
    c(NOW, &unsigned(r#"{"kid":["sha256:00"]}"#), Err(WrongType));
    c(NOW, &unsigned(r#"{"kid":"caio-2026-01"}"#), Err(UnknownKey));
    c(
        NOW,
        &unsigned(&format!(r#"{{"kid":"{}"}}"#, a.to_string().to_uppercase())),
        Err(UnknownKey),
    );
    c(
        NOW,
        &unsigned(&format!(r#"{{"kid":"{a} "}}"#)),
        Err(UnknownKey),
    );
    c(
        NOW,
        &signed_text(STRANGER, &payload(fingerprint(STRANGER), json!({}))),
        Err(UnknownKey),
    );
    c(
        NOW,
        &signed_text(REVOKED, &payload(fingerprint(REVOKED), json!({}))),
        Err(RevokedKey),
    );

    // The signature, before any claim: forgeries report nothing else.
    c(NOW, &unsigned(&payload(a, json!({}))), Err(BadSignature));
    c(
        NOW,
        &signed_text(STRANGER, &payload(a, json!({}))),
        Err(BadSignature),
    );
    c(
        NOW,
        &signed_text(OPEN, &payload(a, json!({}))),
        Err(BadSignature),
    );
    c(
        NOW,
        &swap_payload(&lic(json!({})), &payload(a, json!({ "seats": 1000 }))),
        Err(BadSignature),
    );
    c(NOW, &malleate(&lic(json!({}))), Err(BadSignature));
    c(
        NOW,
        &with_signature(&lic(json!({})), &[0xff; 64]),
        Err(BadSignature),
    );
    c(
        NOW,
        &signed_text(STRANGER, &payload(a, json!({ "exp": 1, "lid": null }))),
        Err(BadSignature),
    );
    c(
        NOW,
        &signed_text(STRANGER, &payload(a, json!({ "iat": "soon" }))),
        Err(BadSignature),
    );
    c(
        NOW,
        &signed_text(STRANGER, &payload(a, json!({ "iat": 99_999 }))),
        Err(BadSignature),
    );

    // Fields, signed: absent, null and wrong kinds of value.
    c(NOW, &lic(json!({ "lid": null })), Err(MissingField));
    c(NOW, &lic(json!({ "sub": null })), Err(MissingField));
    c(NOW, &lic(json!({ "iat": null })), Err(MissingField));
    c(
        NOW,
        &raw_fields(r#""lid":null,"sub":"S","iat":1500"#),
        Err(WrongType),
    );
    c(NOW, &lic(json!({ "lid": 1 })), Err(WrongType));
    c(NOW, &lic(json!({ "sub": ["ACME"] })), Err(WrongType));
    c(NOW, &lic(json!({ "iat": "1500" })), Err(WrongType));
    for fields in [
        r#""lid":"L","sub":"S","iat":1500.0"#,
        r#""lid":"L","sub":"S","iat":15e2"#,
        r#""lid":"L","sub":"S","iat":1500,"exp":1e4"#,
        r#""lid":"L","sub":"S","iat":1500,"exp":9223372036854775808"#,
        r#""lid":"L","sub":"S","iat":1500,"exp":-0"#,
        r#""lid":"L","sub":"S","iat":1500,"nbf":null"#,
    ] {
        c(NOW, &raw_fields(fields), Err(WrongType));
    }
    c(NOW, &lic(json!({ "exp": true })), Err(WrongType));
    c(NOW, &lic(json!({ "features": "pro" })), Err(WrongType));
    c(NOW, &lic(json!({ "features": ["pro", 1] })), Err(WrongType));
    c(NOW, &lic(json!({ "seats": 2.5 })), Err(WrongType));
    c(NOW, &lic(json!({ "seats": "10" })), Err(WrongType));
    c(
        NOW,
        &lic(json!({ "seats": 10, "features": [], "other": { "x": [] } })),
        ok,
    );

    // The key's windows. `iat` must lie in 1000..=2000; the key verifies until 3000.
    c(NOW, &lic(json!({ "iat": 1000 })), ok);
    c(NOW, &lic(json!({ "iat": 2000 })), ok);
    c(
        NOW,
        &lic(json!({ "iat": 999 })),
        Err(IssuedOutsideKeyWindow),
    );
    c(
        NOW,
        &lic(json!({ "iat": 2001 })),
        Err(IssuedOutsideKeyWindow),
    );
    c(
        NOW,
        &lic(json!({ "iat": i64::MIN, "exp": 0 })),
        Err(IssuedOutsideKeyWindow),
    );
    c(3000, &lic(json!({})), ok);
    c(3001, &lic(json!({})), Err(KeyExpired));
    c(i64::MAX, &lic(json!({ "exp": 1 })), Err(KeyExpired));

    // The license's own times, with the 300 s leeway.
    c(1200, &lic(json!({ "iat": 1500 })), ok);
    c(1199, &lic(json!({ "iat": 1500 })), Err(IssuedInFuture));
    c(
        1199,
        &lic(json!({ "iat": 1500, "nbf": 5000 })),
        Err(IssuedInFuture),
    );
    c(NOW, &lic(json!({ "nbf": 2800 })), ok);
    c(NOW, &lic(json!({ "nbf": 2801 })), Err(NotYetValid));
    c(
        NOW,
        &lic(json!({ "nbf": 2801, "exp": 0 })),
        Err(NotYetValid),
    );
    c(NOW, &lic(json!({ "exp": 2200 })), ok);
    c(NOW, &lic(json!({ "exp": 2199 })), Err(Expired));
    c(NOW, &lic(json!({ "exp": i64::MIN })), Err(Expired));
    c(NOW, &lic(json!({ "exp": i64::MAX, "nbf": i64::MIN })), ok);

    // A key with open windows accepts any instant, saturating rather than wrapping.
    let open = |changes| signed_text(OPEN, &payload(fingerprint(OPEN), changes));
    c(
        i64::MAX,
        &open(json!({ "iat": i64::MAX, "exp": i64::MAX })),
        ok,
    );
    c(i64::MIN, &open(json!({ "iat": i64::MIN })), ok);
    c(
        i64::MAX,
        &open(json!({ "iat": i64::MAX, "exp": i64::MAX - 1 })),
        ok,
    );
    c(
        i64::MIN,
        &open(json!({ "iat": i64::MIN, "nbf": i64::MIN + 301 })),
        Err(NotYetValid),
    );
    seen
}

#[test]
fn verdicts() {
    verdict_table();
}

#[test]
fn leeway_is_configurable_and_saturates() {
    use Reason::*;
    let none = Options::at(NOW).with_leeway(0);
    let huge = Options::at(NOW).with_leeway(u64::MAX);
    check_with(none, &lic(json!({ "exp": 2500 })), Ok(()));
    check_with(none, &lic(json!({ "exp": 2499 })), Err(Expired));
    check_with(none, &lic(json!({ "nbf": 2500 })), Ok(()));
    check_with(none, &lic(json!({ "nbf": 2501 })), Err(NotYetValid));
    check_with(
        Options::at(1500).with_leeway(0),
        &lic(json!({ "iat": 1501 })),
        Err(IssuedInFuture),
    );
    check_with(huge, &lic(json!({ "exp": 0, "nbf": i64::MAX })), Ok(()));
    // Leeway never stretches the key's own windows.
    check_with(
        Options::at(3001).with_leeway(u64::MAX),
        &lic(json!({})),
        Err(KeyExpired),
    );
    check_with(
        huge,
        &lic(json!({ "iat": 2001 })),
        Err(IssuedOutsideKeyWindow),
    );
    assert_eq!(Options::at(0).leeway_secs, DEFAULT_LEEWAY_SECS);
    assert_eq!(DEFAULT_LEEWAY_SECS, 300);
}

#[test]
fn a_corrupt_keyring_rejects_everything_first() {
    let error = DecodeError::DigestMismatch;
    let verifier = Verifier::from_decoded(Err(&error), Options::at(NOW));
    for token in [lic(json!({})), "x".repeat(5000), String::new()] {
        let rejection = verifier.verify(&token).unwrap_err();
        assert_eq!(
            (rejection.reason, rejection.kid),
            (Reason::KeyringCorrupt, None)
        );
    }
}

#[test]
fn every_reason_has_a_case() {
    let mut seen = verdict_table();
    seen.insert(Reason::KeyringCorrupt); // a_corrupt_keyring_rejects_everything_first
    let missing: Vec<_> = Reason::ALL.iter().filter(|r| !seen.contains(r)).collect();
    assert!(missing.is_empty(), "no case for {missing:?}");
}

#[test]
fn reason_codes_are_the_stable_ones() {
    let codes: Vec<_> = Reason::ALL.iter().map(|r| r.code()).collect();
    let mut expected = vec![
        "too_long",
        "bad_prefix",
        "malformed",
        "bad_encoding",
        "bad_signature_length",
        "bad_payload",
        "missing_field",
        "wrong_type",
        "unknown_key",
        "revoked_key",
        "issued_outside_key_window",
        "issued_in_future",
        "key_expired",
        "not_yet_valid",
        "expired",
        "bad_signature",
        "keyring_corrupt",
    ];
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    for &reason in Reason::ALL {
        assert_eq!(reason.code().parse::<Reason>(), Ok(reason));
        assert_eq!(reason.to_string(), reason.code());
    }
    assert!("Expired".parse::<Reason>().is_err());
}

#[test]
fn untrusted_text_in_details_is_escaped_and_short() {
    let kid = format!("evil\n{}", "x".repeat(500));
    let keyring = keyring();
    let rejection = Verifier::new(&keyring, Options::at(NOW))
        .verify(&unsigned(&json!({ "kid": kid }).to_string()))
        .unwrap_err();
    assert_eq!(rejection.reason, Reason::UnknownKey);
    assert!(!rejection.detail.contains('\n'), "{}", rejection.detail);
    assert!(rejection.detail.len() < 150, "{}", rejection.detail);
}

#[test]
fn a_runtime_key_verifies_under_its_own_windows_after_the_embedded_keys() {
    use crate::endorsement::EndorsementClaims;
    use crate::runtime::{EffectiveKeyring, KeySource};
    const N: [u8; 32] = [6; 32];
    let deny = keyring();
    let endorsed = Keyring::new(
        7,
        Channel::Production,
        RuntimeOverride::Endorsed,
        deny.keys().to_vec(),
        deny.revoked().to_vec(),
    )
    .unwrap();
    let claims = EndorsementClaims {
        public_key: SigningKey::from_bytes(&N).verifying_key().to_bytes(),
        id: KeyId::new("next").unwrap(),
        validity: Validity {
            not_before: 1500,
            sign_until: 1800,
            not_after: 2800,
        },
        iat: 1200,
        endorser: fingerprint(A),
    };
    let signature = SigningKey::from_bytes(&A).sign(claims.signing_input().as_bytes());
    let endorsement = claims.token(&signature.to_bytes());
    let trusted = EffectiveKeyring::new(Ok(&endorsed), Some(&endorsement));
    assert!(trusted.runtime_key().is_some());
    let from_n = |iat: i64| signed_text(N, &payload(fingerprint(N), json!({ "iat": iat })));

    let license = trusted
        .verifier(Options::at(NOW))
        .verify(&from_n(1600))
        .unwrap();
    assert_eq!(license.key_source(), KeySource::Runtime);
    assert_eq!(license.key_id().as_str(), "next");
    let reason = |verifier: Verifier<'_>, token: &str| verifier.verify(token).unwrap_err().reason;
    // The endorsed windows, not the endorser's, bound the runtime key.
    assert_eq!(
        reason(trusted.verifier(Options::at(NOW)), &from_n(1400)),
        Reason::IssuedOutsideKeyWindow
    );
    assert_eq!(
        reason(trusted.verifier(Options::at(2801)), &from_n(1600)),
        Reason::KeyExpired
    );
    // Embedded keys still verify, and say so.
    let embedded = trusted
        .verifier(Options::at(NOW))
        .verify(&lic(json!({})))
        .unwrap();
    assert_eq!(embedded.key_source(), KeySource::Embedded);
    // Without the runtime key, or under `deny`, N is unknown.
    assert_eq!(
        reason(Verifier::new(&endorsed, Options::at(NOW)), &from_n(1600)),
        Reason::UnknownKey
    );
    let denied = EffectiveKeyring::new(Ok(&deny), Some(&endorsement));
    assert!(denied.runtime_key().is_none());
    assert_eq!(
        reason(denied.verifier(Options::at(NOW)), &from_n(1600)),
        Reason::UnknownKey
    );
}

/// Records every event's level, fields and message as one line, in order.
#[derive(Default, Clone)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Line(String);
        impl tracing::field::Visit for Line {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
        let mut line = Line(event.metadata().level().to_string());
        event.record(&mut line);
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// `verify_batch` gives each token what `verify` gives it, and logs the same events in
/// the same order: valid, forged, malformed, expired and unknown-key tokens side by side.
#[test]
fn a_batch_gives_and_logs_what_one_verify_each_gives_and_logs() {
    let keyring = keyring();
    let verifier = Verifier::new(&keyring, Options::at(NOW));
    let valid = lic(json!({}));
    let tokens = vec![
        valid.clone(),
        swap_payload(
            &valid,
            &payload(fingerprint(A), json!({"lid": "lic-forged"})),
        ),
        "CAIO-v2.not a token".to_owned(),
        lic(json!({"lid": "lic-2", "exp": 2000})),
        signed_text(STRANGER, &payload(fingerprint(STRANGER), json!({}))),
        lic(json!({"lid": "lic-3"})),
    ];
    let logged = |run: &dyn Fn() -> Vec<Result<VerifiedLicense, Rejection>>| {
        let recorder = Recorder::default();
        let results = tracing::subscriber::with_default(recorder.clone(), run);
        let lines = recorder.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (results, lines)
    };
    let (one_by_one, one_log) = logged(&|| tokens.iter().map(|t| verifier.verify(t)).collect());
    let (batch, batch_log) = logged(&|| verifier.verify_batch(&tokens));
    assert_eq!(batch, one_by_one);
    assert_eq!(batch_log, one_log);
    let reasons: Vec<Option<Reason>> = batch
        .iter()
        .map(|r| r.as_ref().err().map(|r| r.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(Reason::BadSignature),
            Some(Reason::Malformed),
            Some(Reason::Expired),
            Some(Reason::UnknownKey),
            None
        ]
    );
    assert_eq!(one_log.len(), tokens.len(), "{one_log:#?}");
    assert_contains(&one_log[0], "license verified");
    assert_contains(&one_log[1], "reason=\"bad_signature\"");
}
