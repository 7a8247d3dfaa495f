//! Licenses signed by OpenSSL against a binary whose keyring was embedded at build time:
//! the good ones pass, and each rejection exits 1 with its stable reason.

use serde_json::{Value, json};

use crate::support::{Key, openssl_license, run, unix, verify_json};
use crate::{NOT_AFTER, fixture};

fn payload(key: &Key, iat: &str, extra: Value) -> Value {
    let mut p = json!({
        "kid": key.fingerprint,
        "lid": "lic-0001",
        "sub": "Example Corp",
        "iat": unix(iat),
        "features": ["core", "gpu"],
        "seats": 25,
    });
    if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(extra.clone());
    }
    p
}

/// A license naming `kid`'s key, issued at `iat`, signed by `signer` with OpenSSL.
fn issued(signer: &Key, kid: &Key, iat: &str) -> String {
    openssl_license(signer, &payload(kid, iat, json!({})))
}

/// Verifies `token` at `at` and expects `reason` (None: valid).
fn check(token: &str, at: &str, reason: Option<&str>) {
    let (code, result) = verify_json(&fixture().exe, token, at);
    match reason {
        None => {
            assert_eq!(code, 0, "{result}");
            assert_eq!(result["valid"], true, "{result}");
            assert_eq!(result["reason"], Value::Null, "{result}");
        }
        Some(reason) => {
            assert_eq!(code, 1, "{result}");
            assert_eq!(result["valid"], false, "{result}");
            assert_eq!(result["reason"], reason, "{result}");
        }
    }
}

#[test]
fn openssl_signed_license_verifies_and_reports_its_payload() {
    let f = fixture();
    let token = issued(&f.active, &f.active, "2026-06-01T00:00:00Z");
    let (code, result) = verify_json(&f.exe, &token, "2026-07-01T00:00:00Z");
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["payload"]["sub"], "Example Corp");
    assert_eq!(result["payload"]["seats"], 25);
    assert_eq!(result["kid"], f.active.fingerprint.as_str());
    // The human form says valid too, on one line.
    let out = run(
        &f.exe,
        &["license", &token, "--at", "2026-07-01T00:00:00Z"],
        "",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
}

#[test]
fn each_rejection_exits_1_with_its_reason() {
    let f = fixture();
    let at = "2026-07-01T00:00:00Z";
    let good = issued(&f.active, &f.active, "2026-06-01T00:00:00Z");

    // A signature byte flipped (the last base64url character changed).
    let mut tampered = good.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    check(&tampered, at, Some("bad_signature"));

    // A payload swapped under a valid signature.
    let other = issued(&f.active, &f.active, "2026-06-02T00:00:00Z");
    let sig_good = good.rsplit_once('.').expect("dots").1;
    let moved = format!("{}.{sig_good}", other.rsplit_once('.').expect("dots").0);
    check(&moved, at, Some("bad_signature"));

    // Signer, the key the license names, and the reason. The last is signed by a
    // stranger but names the trusted key's fingerprint.
    for (signer, kid, reason) in [
        (&f.stranger, &f.stranger, "unknown_key"),
        (&f.revoked, &f.revoked, "revoked_key"),
        (&f.stranger, &f.active, "bad_signature"),
    ] {
        let token = issued(signer, kid, "2026-06-01T00:00:00Z");
        check(&token, at, Some(reason));
    }
    // iat after sign_until, and before not_before.
    check(
        &issued(&f.active, &f.active, "2027-02-01T00:00:00Z"),
        "2027-03-01T00:00:00Z",
        Some("issued_outside_key_window"),
    );
    check(
        &issued(&f.active, &f.active, "2025-12-31T00:00:00Z"),
        at,
        Some("issued_outside_key_window"),
    );
    let expiring = openssl_license(
        &f.active,
        &payload(
            &f.active,
            "2026-06-01T00:00:00Z",
            json!({"exp": unix("2026-08-01T00:00:00Z")}),
        ),
    );
    check(&expiring, "2026-07-31T23:59:59Z", None);
    check(&expiring, "2026-08-01T00:04:59Z", None); // inside the default 300 s leeway
    check(&expiring, "2026-08-01T00:05:01Z", Some("expired"));
    // A license refused for its dates shows its signed payload; a forgery shows none.
    let (_, result) = verify_json(&f.exe, &expiring, "2026-09-01T00:00:00Z");
    assert_eq!(result["payload"]["lid"], "lic-0001", "{result}");
    let (_, result) = verify_json(&f.exe, &tampered, at);
    assert_eq!(result["payload"], Value::Null, "{result}");
    // Any license once the key's not_after has passed.
    check(&good, NOT_AFTER, None);
    check(&good, "2027-06-01T00:00:01Z", Some("key_expired"));
    check(&good, "2026-05-31T00:00:00Z", Some("issued_in_future"));
    check("CAIO-v1.e30.e30", at, Some("bad_prefix"));
}

#[test]
fn stdin_batch_answers_one_line_per_license_in_order() {
    let f = fixture();
    let good = issued(&f.active, &f.active, "2026-06-01T00:00:00Z");
    let unknown = issued(&f.stranger, &f.stranger, "2026-06-01T00:00:00Z");
    let input = format!("{good}\n{unknown}\n{good}\n");
    let out = run(
        &f.exe,
        &["license", "-", "--json", "--at", "2026-07-01T00:00:00Z"],
        &input,
    );
    assert_eq!(
        out.code, 1,
        "one invalid license fails the batch: {}",
        out.stderr
    );
    let reasons: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json line")["reason"].clone())
        .collect();
    assert_eq!(reasons, [Value::Null, json!("unknown_key"), Value::Null]);
    let all_good = format!("{good}\n{good}\n");
    let out = run(
        &f.exe,
        &["license", "-", "--at", "2026-07-01T00:00:00Z"],
        &all_good,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2);
}

#[test]
fn usage_errors_exit_2() {
    let f = fixture();
    assert_eq!(run(&f.exe, &["license"], "").code, 2);
    assert_eq!(
        run(&f.exe, &["license", "x", "--at", "yesterday"], "").code,
        2
    );
    assert_eq!(run(&f.exe, &["frobnicate"], "").code, 2);
}

#[test]
fn keyring_command_lists_the_embedded_keys() {
    let f = fixture();
    let out = run(&f.exe, &["keyring", "--json"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let keys = v["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], "caio-active");
    assert_eq!(keys[0]["fingerprint"], f.active.fingerprint.as_str());
    assert_eq!(v["revoked"], json!([f.revoked.fingerprint]));
    assert_eq!(v["serial"], 5);
    let manifest = caio_keyring::manifest::Manifest::load(&f.manifest).expect("manifest");
    assert_eq!(
        v["fingerprint"],
        manifest.keyring().fingerprint().to_string()
    );
}
