//! Property: any change to a valid token (a byte replaced, inserted or removed, or the
//! token cut short) is rejected. Canonical base64url and `verify_strict` leave no
//! second spelling of a signed license.

use caio_keyring::{Keyring, Validity};
use caio_verify::{Claims, Options, Verifier};
use proptest::prelude::*;
use proptest::sample::Index;
use test_support::keyring::{one_key_in, signing_key};

const SEED: [u8; 32] = [9; 32];

fn keyring() -> Keyring {
    let window = Validity {
        not_before: 0,
        sign_until: 2_000_000_000,
        not_after: i64::MAX,
    };
    one_key_in(SEED, "prop", window)
}

fn token(lid: &str, seats: i64) -> String {
    let signer = signing_key(SEED);
    let kid = caio_keyring::Fingerprint::of_ed25519(&signer.verifying_key().to_bytes());
    let mut claims = Claims::new(kid, lid, "Prop", 1_700_000_000);
    claims.seats = Some(seats);
    claims.sign(&signer)
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(token: &str, m: &Mutation) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    match m {
        Mutation::Replace(i, b) => {
            let at = i.index(bytes.len());
            // A replacement by the same byte is no change; make it one.
            bytes[at] = if bytes[at] == *b {
                b.wrapping_add(1)
            } else {
                *b
            };
        }
        Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        Mutation::Remove(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_mutation_of_a_valid_token_is_rejected(
        lid in "[A-Za-z0-9-]{1,24}",
        seats in any::<i64>(),
        m in mutation(),
    ) {
        let keyring = keyring();
        let verifier = Verifier::new(&keyring, Options::at(1_800_000_000));
        let good = token(&lid, seats);
        prop_assert!(verifier.verify(&good).is_ok());
        let mutated = apply(&good, &m);
        prop_assert!(verifier.verify(&mutated).is_err(), "{:?} accepted", m);
    }
}
