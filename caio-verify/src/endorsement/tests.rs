//! Endorsement verdicts, one case a line: every code, its edges, and the order of checks.

use caio_keyring::RuntimeOverride;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde_json::{Value, json};

use test_support::keyring::{OPEN_WINDOW, fingerprint, trusted_key, with_revoked};
use test_support::tokens::malleate;

use super::*;

/// The endorser most cases use: signs 1000..=2000, verifies until 3000.
const E: [u8; 32] = [1; 32];
/// An embedded endorser with an open verification window.
const OPEN: [u8; 32] = [2; 32];
/// A key whose fingerprint is revoked.
const REVOKED: [u8; 32] = [9; 32];
/// A key the keyring does not know.
const STRANGER: [u8; 32] = [8; 32];
/// The key being endorsed.
const NEW: [u8; 32] = [5; 32];

fn raw(secret: [u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(&secret).verifying_key().to_bytes()
}

fn keyring() -> Keyring {
    let e = Validity {
        not_before: 1000,
        sign_until: 2000,
        not_after: 3000,
    };
    let open = Validity {
        not_before: 0,
        ..OPEN_WINDOW
    };
    let keys = vec![trusted_key(E, "e", e), trusted_key(OPEN, "open", open)];
    with_revoked(3, RuntimeOverride::Endorsed, keys, &[REVOKED])
}

/// base64url of the SPKI DER of a raw key.
fn spki(raw: &[u8; 32]) -> String {
    BASE64URL.encode([&ED25519_SPKI_PREFIX[..], raw].concat())
}

/// A valid payload for NEW endorsed by E, with `changes` applied; `"<absent>"` removes
/// a field (a JSON `null` stays a real `null`).
fn payload(changes: Value) -> String {
    let mut object = json!({
        "spki": spki(&raw(NEW)),
        "id": "next",
        "not_before": 1500,
        "sign_until": 2500,
        "not_after": 3000,
        "iat": 1500,
        "endorser": fingerprint(E).to_string(),
    });
    if let (Some(fields), Value::Object(changes)) = (object.as_object_mut(), changes) {
        for (field, value) in changes {
            if value == "<absent>" {
                fields.remove(&field);
            } else {
                fields.insert(field, value);
            }
        }
    }
    object.to_string()
}

/// A token over exactly this payload text, signed by `secret`.
fn signed_text(secret: [u8; 32], payload: &str) -> String {
    let input = format!("{PREFIX}{}", BASE64URL.encode(payload));
    let signature = SigningKey::from_bytes(&secret).sign(input.as_bytes());
    format!("{input}.{}", BASE64URL.encode(signature.to_bytes()))
}

/// E endorses its payload, changed by `changes`.
fn endorse(changes: Value) -> String {
    signed_text(E, &payload(changes))
}

/// A token with this payload text and a 64-byte signature of zeros.
fn unsigned(payload: &str) -> String {
    format!(
        "{PREFIX}{}.{}",
        BASE64URL.encode(payload),
        BASE64URL.encode([0u8; 64])
    )
}

/// 32 bytes that are no curve point.
fn not_a_point() -> [u8; 32] {
    (2u8..)
        .map(|y| {
            let mut bytes = [0u8; 32];
            bytes[0] = y;
            bytes
        })
        .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
        .unwrap()
}

/// Verifies `token`: `Ok(id)` of the endorsed key, or the error's code.
fn check(token: &str, expected: Result<&str, &str>) {
    let got = verify(&keyring(), token.as_bytes())
        .map(|e| e.key().id().to_string())
        .map_err(|e| e.code());
    assert_eq!(got.as_deref().map_err(|e| *e), expected, "{token}");
}

#[test]
fn accepted_endorsements() {
    check(&endorse(json!({})), Ok("next"));
    // The edges of the endorser's windows are inside.
    check(&endorse(json!({"iat": 1000})), Ok("next"));
    check(&endorse(json!({"iat": 2000})), Ok("next"));
    check(
        &endorse(json!({"not_before": 1000, "sign_until": 1000, "not_after": 1000})),
        Ok("next"),
    );
    // An open end under an endorser whose end is open.
    let open = json!({"endorser": fingerprint(OPEN).to_string(), "not_after": null, "sign_until": i64::MAX});
    check(&signed_text(OPEN, &payload(open)), Ok("next"));
    check(
        &signed_text(
            OPEN,
            &payload(json!({"endorser": fingerprint(OPEN).to_string(), "iat": 1_900_000_000})),
        ),
        Ok("next"),
    );
}

#[test]
fn the_endorsed_key_carries_its_windows_and_its_endorser() {
    let endorsement = verify(&keyring(), endorse(json!({})).as_bytes()).unwrap();
    assert_eq!(endorsement.key().fingerprint(), fingerprint(NEW));
    assert_eq!(
        endorsement.key().validity(),
        Validity {
            not_before: 1500,
            sign_until: 2500,
            not_after: 3000
        }
    );
    assert_eq!(endorsement.endorser(), fingerprint(E));
    assert_eq!(endorsement.endorser_id().as_str(), "e");
    assert_eq!(endorsement.iat(), 1500);
}

#[test]
fn claims_write_what_verify_reads() {
    let claims = EndorsementClaims {
        public_key: raw(NEW),
        id: KeyId::new("next").unwrap(),
        validity: Validity {
            not_before: 0,
            sign_until: OPEN_END,
            not_after: OPEN_END,
        },
        iat: 77,
        endorser: fingerprint(OPEN),
    };
    assert_eq!(
        claims.payload(),
        format!(
            r#"{{"spki":"{}","id":"next","not_before":0,"sign_until":9223372036854775807,"not_after":null,"iat":77,"endorser":"{}"}}"#,
            spki(&raw(NEW)),
            fingerprint(OPEN)
        )
    );
    let signature = SigningKey::from_bytes(&OPEN).sign(claims.signing_input().as_bytes());
    let token = claims.token(&signature.to_bytes());
    assert_eq!(token, signed_text(OPEN, &claims.payload()));
    let endorsement = verify(&keyring(), token.as_bytes()).unwrap();
    assert_eq!(endorsement.key().validity(), claims.validity);
}

#[test]
fn shape_rejections() {
    check(&format!("{PREFIX}{}", "A".repeat(4096)), Err("too_long"));
    check("", Err("bad_prefix"));
    check("CAIO-v2.e30.AA", Err("bad_prefix"));
    check(
        &endorse(json!({})).replacen("CAIO", "caio", 1),
        Err("bad_prefix"),
    );
    check(&format!(" {}", endorse(json!({}))), Err("bad_prefix"));
    check("CAIO-key-v1.e30", Err("malformed"));
    check(&format!("{}.AA", endorse(json!({}))), Err("malformed"));
    check("CAIO-key-v1.e30=.AA", Err("bad_encoding"));
    check("CAIO-key-v1.e30.A", Err("bad_encoding"));
    check("CAIO-key-v1.e30.AAAA", Err("bad_signature_length"));
    check(&unsigned("[]"), Err("bad_payload"));
    check(
        &unsigned(r#"{"endorser":"a","endorser":"a"}"#),
        Err("bad_payload"),
    );
    check(&unsigned("{"), Err("bad_payload"));
}

#[test]
fn endorser_rejections() {
    check(
        &endorse(json!({"endorser": "<absent>"})),
        Err("missing_field"),
    );
    check(&endorse(json!({"endorser": 5})), Err("wrong_type"));
    check(&endorse(json!({"endorser": null})), Err("wrong_type"));
    check(&endorse(json!({"endorser": "e"})), Err("unknown_endorser"));
    let stranger = json!({"endorser": fingerprint(STRANGER).to_string()});
    check(
        &signed_text(STRANGER, &payload(stranger)),
        Err("unknown_endorser"),
    );
    let revoked = json!({"endorser": fingerprint(REVOKED).to_string()});
    check(
        &signed_text(REVOKED, &payload(revoked)),
        Err("revoked_endorser"),
    );
}

#[test]
fn signature_rejections_come_before_any_claim() {
    check(
        &signed_text(STRANGER, &payload(json!({}))),
        Err("bad_signature"),
    );
    check(&unsigned(&payload(json!({}))), Err("bad_signature"));
    check(&malleate(&endorse(json!({}))), Err("bad_signature"));
    // A payload swapped under a valid signature.
    let good = endorse(json!({}));
    let other = endorse(json!({"not_after": 2900}));
    let moved = format!(
        "{}.{}",
        other.rsplit_once('.').unwrap().0,
        good.rsplit_once('.').unwrap().1
    );
    check(&moved, Err("bad_signature"));
    // Forged claims that would fail later checks still only earn bad_signature.
    let forged = payload(json!({"extra": 1, "iat": 1, "spki": "x", "not_after": null}));
    check(&signed_text(STRANGER, &forged), Err("bad_signature"));
}

#[test]
fn field_rejections() {
    check(&endorse(json!({"note": "hi"})), Err("unknown_field"));
    check(&endorse(json!({"kid": "x"})), Err("unknown_field"));
    for field in FIELDS.iter().filter(|f| **f != "endorser") {
        check(
            &endorse(json!({ *field: "<absent>" })),
            Err("missing_field"),
        );
    }
    check(&endorse(json!({"spki": 5})), Err("wrong_type"));
    check(&endorse(json!({"id": ["next"]})), Err("wrong_type"));
    check(&endorse(json!({"not_before": "1500"})), Err("wrong_type"));
    check(&endorse(json!({"sign_until": null})), Err("wrong_type"));
    check(&endorse(json!({"not_after": "never"})), Err("wrong_type"));
    check(&endorse(json!({"not_after": 3000.0})), Err("wrong_type"));
    check(&endorse(json!({"iat": 1.5e3})), Err("wrong_type"));
    check(&endorse(json!({"iat": null})), Err("wrong_type"));
    check(&endorse(json!({"iat": u64::MAX})), Err("wrong_type"));
}

#[test]
fn signing_window_rejections() {
    for iat in [999, 2001, i64::MIN] {
        check(
            &endorse(json!({ "iat": iat })),
            Err("issued_outside_endorser_window"),
        );
    }
}

#[test]
fn key_rejections() {
    check(
        &endorse(json!({"spki": "MCowBQYDK2VwAyEA+/"})),
        Err("bad_key"),
    );
    check(
        &endorse(json!({"spki": spki(&raw(NEW)) + "="})),
        Err("bad_key"),
    );
    let short = BASE64URL.encode([&ED25519_SPKI_PREFIX[..], &[7; 31]].concat());
    check(&endorse(json!({"spki": short})), Err("bad_key"));
    let long = BASE64URL.encode([&ED25519_SPKI_PREFIX[..], &[7; 33]].concat());
    check(&endorse(json!({"spki": long})), Err("bad_key"));
    let mut x25519 = ED25519_SPKI_PREFIX.to_vec();
    x25519[8] = 0x6e;
    x25519.extend_from_slice(&raw(NEW));
    check(
        &endorse(json!({"spki": BASE64URL.encode(x25519)})),
        Err("bad_key"),
    );
    check(
        &endorse(json!({"spki": BASE64URL.encode(raw(NEW))})),
        Err("bad_key"),
    );
    check(
        &endorse(json!({"spki": spki(&not_a_point())})),
        Err("bad_key"),
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    check(&endorse(json!({"spki": spki(&identity)})), Err("weak_key"));
    check(
        &endorse(json!({"spki": spki(&raw(REVOKED))})),
        Err("revoked_key"),
    );
    check(
        &endorse(json!({"spki": spki(&raw(E))})),
        Err("already_embedded"),
    );
    check(
        &endorse(json!({"spki": spki(&raw(OPEN))})),
        Err("already_embedded"),
    );
}

#[test]
fn id_rejections() {
    check(&endorse(json!({"id": ""})), Err("bad_id"));
    check(&endorse(json!({"id": "has space"})), Err("bad_id"));
    check(&endorse(json!({"id": "x".repeat(65)})), Err("bad_id"));
    check(&endorse(json!({"id": "e"})), Err("id_in_use"));
    check(&endorse(json!({"id": "open"})), Err("id_in_use"));
}

#[test]
fn window_rejections() {
    for changes in [
        json!({"not_before": 2000, "sign_until": 1999}),
        json!({"sign_until": 3000, "not_after": 2999}),
    ] {
        check(&endorse(changes), Err("window_order"));
    }
    for changes in [
        json!({"not_before": 999}),
        json!({"not_after": 3001}),
        json!({"sign_until": 3000, "not_after": null}),
        json!({"sign_until": i64::MAX, "not_after": null}),
        json!({"not_after": i64::MAX, "sign_until": i64::MAX}),
    ] {
        check(&endorse(changes), Err("outside_endorser_window"));
    }
}

#[test]
fn every_code_is_listed_once_and_messages_never_echo_the_payload() {
    let mut codes = EndorsementError::CODES.to_vec();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), EndorsementError::CODES.len());
    let long_field = "y".repeat(500);
    let error = verify(
        &keyring(),
        endorse(json!({ long_field.as_str(): 1 })).as_bytes(),
    )
    .unwrap_err();
    assert_eq!(error.code(), "unknown_field");
    assert!(error.to_string().len() < 300, "{error}");
    assert!(EndorsementError::CODES.contains(&error.code()));
}
