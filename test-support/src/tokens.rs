//! Licenses and endorsements taken apart and bent, as text: a payload read, a signature
//! replaced or made non-canonical, a payload swapped in front of a signature.
//!
//! Writing a well-formed license is `caio_verify::Claims`' job (`Claims::sign`, or
//! `caio_verify::license::{signing_input, token}` for a malformed payload); this module
//! holds no writer of its own, so the tests sign with the code the product runs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

/// The order of the Ed25519 group, L, in little-endian bytes.
pub const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Unix seconds of an RFC 3339 instant.
pub fn unix(instant: &str) -> i64 {
    instant
        .parse::<jiff::Timestamp>()
        .expect("an RFC 3339 instant")
        .as_second()
}

/// The base64url (unpadded) of `bytes`: how every part of a token is written.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// The decoded payload (the second part) of a token.
pub fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a payload part");
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON")
}

/// The signature (the last part) of a token, decoded.
pub fn signature_of(token: &str) -> Vec<u8> {
    let (_, signature) = token.rsplit_once('.').expect("a signature part");
    B64.decode(signature).expect("base64url")
}

/// `token` with its signature part replaced by these bytes.
pub fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').expect("a signature part");
    format!("{input}.{}", b64(signature))
}

/// `token` with its signature's `s` half replaced by `s + L`: the same signature to a
/// lax verifier, a non-canonical one to `verify_strict`.
pub fn malleate(token: &str) -> String {
    let mut signature = signature_of(token);
    let mut carry = 0u16;
    for (s, l) in signature[32..].iter_mut().zip(ORDER_L) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "s + L fits in 32 bytes");
    with_signature(token, &signature)
}
