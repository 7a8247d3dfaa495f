//! Unit tests for the format-1 codec: round trips, and one line per rejection.

use super::*;
use crate::keyring::OPEN_END;

fn key(seed: u8, id: &str, validity: Validity) -> TrustedKey {
    let raw = ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .verifying_key()
        .to_bytes();
    TrustedKey::ed25519(KeyId::new(id).expect("id"), &raw, validity).expect("key")
}

const WINDOW: Validity = Validity {
    not_before: 1_768_608_000,
    sign_until: 1_800_144_000,
    not_after: 1_808_000_000,
};

fn sample() -> Keyring {
    Keyring::new(
        7,
        Channel::Production,
        RuntimeOverride::Endorsed,
        vec![
            key(2, "caio-2027-01", WINDOW),
            key(
                1,
                "caio-2026-01",
                Validity {
                    not_after: OPEN_END,
                    sign_until: OPEN_END,
                    ..WINDOW
                },
            ),
        ],
        vec![
            Fingerprint::from_bytes([0xee; 32]),
            Fingerprint::from_bytes([0x11; 32]),
        ],
    )
    .expect("sample keyring")
}

/// Re-seals a block after a test edited it, so the edit reaches the structural checks.
fn reseal(mut block: Vec<u8>) -> Vec<u8> {
    let body_len = block.len() - DIGEST_LEN;
    let digest = Sha256::digest(&block[..body_len]);
    block[body_len..].copy_from_slice(&digest);
    block
}

fn check(edit: impl FnOnce(&mut Vec<u8>), expected: DecodeError) {
    let mut block = encode(&sample());
    edit(&mut block);
    assert_eq!(decode(&block), Err(expected));
}

fn check_resealed(edit: impl FnOnce(&mut Vec<u8>), expected: DecodeError) {
    check(
        |b| {
            edit(b);
            let sealed = reseal(std::mem::take(b));
            *b = sealed;
        },
        expected,
    );
}

/// Offset of the first key record's fields.
const REC: usize = HEADER_LEN;

#[test]
fn magic_is_the_documented_ascii() {
    let mut expected = b"CAIO-".to_vec();
    expected.extend_from_slice(b"KEYRING");
    expected.extend_from_slice(&[0, 0, 0, 1]);
    assert_eq!(magic().to_vec(), expected);
    assert_eq!(scan_prefix()[..], expected[..15]);
}

#[test]
fn round_trip_is_canonical() {
    let keyring = sample();
    let block = encode(&keyring);
    let decoded = decode(&block).expect("decodes");
    assert_eq!(decoded, keyring);
    assert_eq!(encode(&decoded), block);
    assert_eq!(
        decoded.keys()[0].id().as_str(),
        "caio-2026-01",
        "sorted by id"
    );
    assert!(
        decoded.revoked()[0] < decoded.revoked()[1],
        "revoked sorted"
    );
    assert_eq!(keyring.fingerprint(), digest_of(&block));
}

#[test]
fn layout_matches_the_format_table() {
    let block = encode(&sample());
    assert_eq!(
        u32::from_le_bytes(block[16..20].try_into().unwrap()) as usize,
        block.len()
    );
    assert_eq!(u32::from_le_bytes(block[20..24].try_into().unwrap()), 7);
    assert_eq!(
        u16::from_le_bytes(block[24..26].try_into().unwrap()),
        1,
        "endorsed"
    );
    assert_eq!(block[26], 2);
    assert_eq!(block[27], 2);
    assert_eq!(block[REC] as usize, "caio-2026-01".len());
    assert_eq!(&block[REC + 1..REC + 13], b"caio-2026-01");
    assert_eq!(block[REC + 13], 1, "algorithm ed25519");
    let open = &block[REC + 14 + 32 + 8..REC + 14 + 32 + 24];
    assert_eq!(
        open,
        [i64::MAX.to_le_bytes(), i64::MAX.to_le_bytes()].concat()
    );
    let n = block.len();
    assert_eq!(&block[n - 32 - 64..n - 64], &[0x11; 32]);
    assert_eq!(
        &block[n - 32..],
        Sha256::digest(&block[..n - 32]).as_slice()
    );
}

#[test]
fn development_channel_sets_bit_two() {
    let k = Keyring::new(
        0,
        Channel::Development,
        RuntimeOverride::Allow,
        vec![key(1, "a", WINDOW)],
        vec![],
    )
    .expect("keyring");
    let block = encode(&k);
    assert_eq!(u16::from_le_bytes(block[24..26].try_into().unwrap()), 0b110);
    assert_eq!(decode(&block).expect("decodes"), k);
}

#[test]
fn rejects_each_malformed_block() {
    check(|b| b.truncate(10), DecodeError::TooShort { len: 10 });
    check(|b| b[0] ^= 1, DecodeError::BadMagic);
    check(|b| b[15] = 2, DecodeError::UnknownFormat { format: 2 });
    check(|b| b[15] = 0, DecodeError::UnknownFormat { format: 0 });
    let len = encode(&sample()).len();
    check(
        |b| b[16..20].copy_from_slice(&70_000u32.to_le_bytes()),
        DecodeError::BadLength {
            block_len: 70_000,
            available: len,
        },
    );
    check(
        |b| b[16..20].copy_from_slice(&((len + 1) as u32).to_le_bytes()),
        DecodeError::BadLength {
            block_len: len as u32 + 1,
            available: len,
        },
    );
    check(
        |b| b[16..20].copy_from_slice(&10u32.to_le_bytes()),
        DecodeError::BadLength {
            block_len: 10,
            available: len,
        },
    );
    check(|b| b.push(0), DecodeError::TrailingBytes { extra: 1 });
    check(|b| b[REC + 20] ^= 1, DecodeError::DigestMismatch);
    check(|b| *b.last_mut().unwrap() ^= 1, DecodeError::DigestMismatch);
    check_resealed(|b| b[24] = 3, DecodeError::BadFlags { flags: 3 });
    check_resealed(|b| b[25] = 1, DecodeError::BadFlags { flags: 0x101 });
    check_resealed(|b| b[26] = 0, DecodeError::KeyCount { count: 0 });
    check_resealed(|b| b[26] = 33, DecodeError::KeyCount { count: 33 });
    check_resealed(|b| b[27] = 65, DecodeError::RevokedCount { count: 65 });
    check_resealed(
        |b| b[27] = 3,
        DecodeError::Truncated {
            offset: len - 32,
            field: "revoked",
        },
    );
    // A third record read from the revoked list: 0x11 bytes of id that are not id syntax.
    check_resealed(
        |b| b[26] = 3,
        DecodeError::BadId {
            offset: len - 32 - 64,
        },
    );
    check_resealed(|b| b[REC] = 0, DecodeError::BadId { offset: REC });
    check_resealed(|b| b[REC] = 65, DecodeError::BadId { offset: REC });
    check_resealed(|b| b[REC + 5] = b' ', DecodeError::BadId { offset: REC });
    check_resealed(|b| b[REC + 5] = 0xff, DecodeError::BadId { offset: REC });
    check_resealed(
        |b| b[REC + 13] = 2,
        DecodeError::UnknownAlgorithm {
            offset: REC,
            algorithm: 2,
        },
    );
    // Second record's id made equal to the first's: "caio-2027-01" -> "caio-2026-01".
    let rec2 = REC + 1 + 12 + 1 + 32 + 24;
    check_resealed(
        |b| b[rec2 + 1 + 8] = b'6',
        DecodeError::UnsortedIds { offset: rec2 },
    );
    check_resealed(
        |b| b[rec2 + 1 + 8] = b'5',
        DecodeError::UnsortedIds { offset: rec2 },
    );
    // Swap the two revoked fingerprints.
    check_resealed(
        |b| {
            let n = b.len();
            let (first, second) = b[n - 96..n - 32].split_at_mut(32);
            first.swap_with_slice(second);
        },
        DecodeError::UnsortedRevoked { index: 1 },
    );
    // sign_until before not_before.
    check_resealed(
        |b| b[REC + 14 + 40..REC + 14 + 48].copy_from_slice(&0i64.to_le_bytes()),
        DecodeError::Keyring(KeyringError::WindowOrder {
            id: KeyId::new("caio-2026-01").unwrap(),
        }),
    );
    // A weak key: the identity point.
    check_resealed(
        |b| {
            b[REC + 14..REC + 46].fill(0);
            b[REC + 14] = 1;
        },
        DecodeError::Keyring(KeyringError::PublicKey {
            id: KeyId::new("caio-2026-01").unwrap(),
            source: crate::keyring::PublicKeyError::Weak,
        }),
    );
    // The first key's fingerprint placed in the revoked list (kept sorted).
    check_resealed(
        |b| {
            let fp = Fingerprint::of_ed25519(b[REC + 14..REC + 46].try_into().unwrap());
            let n = b.len();
            b[n - 96..n - 64].copy_from_slice(&[0; 32]);
            b[n - 64..n - 32].copy_from_slice(fp.as_bytes());
        },
        DecodeError::Keyring(KeyringError::RevokedAndTrusted {
            id: KeyId::new("caio-2026-01").unwrap(),
        }),
    );
}

#[test]
fn decode_never_panics_on_prefixes_and_bit_flips() {
    let block = encode(&sample());
    for len in 0..block.len() {
        assert!(decode(&block[..len]).is_err());
    }
    for i in 0..block.len() {
        for bit in 0..8 {
            let mut b = block.clone();
            b[i] ^= 1 << bit;
            assert!(decode(&b).is_err(), "flip at {i} bit {bit} accepted");
            // Resealed flips may decode (a changed instant is still a keyring) but never panic.
            let _ = decode(&reseal(b));
        }
    }
}

#[test]
fn thirty_two_keys_fit_and_thirty_three_do_not() {
    let keys: Vec<_> = (1..=33)
        .map(|i| key(i, &format!("k{i:02}"), WINDOW))
        .collect();
    let k = Keyring::new(
        1,
        Channel::Production,
        RuntimeOverride::Deny,
        keys[..32].to_vec(),
        vec![],
    )
    .expect("32 keys");
    assert_eq!(decode(&encode(&k)).expect("decodes"), k);
    assert_eq!(
        Keyring::new(1, Channel::Production, RuntimeOverride::Deny, keys, vec![]),
        Err(KeyringError::TooManyKeys { count: 33 })
    );
}
