//! Property tests for the codec: every keyring round-trips through its block, and the
//! encoding is canonical.

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

use super::*;

fn validity() -> impl Strategy<Value = Validity> {
    (any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(a, b, c)| {
        let mut t = [a, b, c];
        t.sort_unstable();
        Validity {
            not_before: t[0],
            sign_until: t[1],
            not_after: t[2],
        }
    })
}

fn keyring() -> impl Strategy<Value = Keyring> {
    let ids = btree_set("[A-Za-z0-9._-]{1,64}", 1..=MAX_KEYS);
    let seeds = btree_set(1u8..=255, MAX_KEYS);
    (
        ids,
        seeds,
        vec(validity(), MAX_KEYS),
        btree_set(any::<[u8; 32]>(), 0..=8),
        any::<u32>(),
        0u16..3,
        any::<bool>(),
    )
        .prop_map(|(ids, seeds, windows, revoked, serial, over, dev)| {
            let keys = ids
                .into_iter()
                .zip(seeds)
                .zip(windows)
                .map(|((id, seed), w)| {
                    let raw = ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                        .verifying_key()
                        .to_bytes();
                    TrustedKey::ed25519(KeyId::new(&id).expect("id"), &raw, w).expect("key")
                })
                .collect();
            let channel = if dev {
                Channel::Development
            } else {
                Channel::Production
            };
            let revoked = revoked.into_iter().map(Fingerprint::from_bytes).collect();
            let over = RuntimeOverride::from_code(over).expect("override");
            Keyring::new(serial, channel, over, keys, revoked).expect("keyring")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_keyring_round_trips_canonically(k in keyring()) {
        let block = encode(&k);
        prop_assert_eq!(block.len(), block_len(&block).expect("length"));
        let decoded = decode(&block).expect("decodes");
        prop_assert_eq!(&decoded, &k);
        prop_assert_eq!(encode(&decoded), block);
    }

    #[test]
    fn any_single_byte_change_is_rejected(k in keyring(), at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let mut block = encode(&k);
        let i = at.index(block.len());
        block[i] ^= xor;
        prop_assert!(decode(&block).is_err());
    }
}
