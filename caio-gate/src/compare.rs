//! What differs between the keyring a manifest encodes to and a keyring found in an
//! artifact, named key by key so that a failed gate says exactly what to fix.
//!
//! The block encoding is canonical, so two keyrings are equal exactly when their blocks
//! are byte for byte the same: equality is the pass, and the diff exists only to
//! explain a failure. Keys are matched by id. This module judges nothing (a development
//! keyring is the gate's business) and does no I/O.

use caio_keyring::{Channel, Fingerprint, KeyId, Keyring, RuntimeOverride, Validity};

/// Every difference between an expected and a found keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringDiff {
    /// The expected keyring's fingerprint (the manifest's).
    pub expected_fingerprint: Fingerprint,
    /// The found keyring's fingerprint (the artifact's).
    pub found_fingerprint: Fingerprint,
    /// The serials, when they differ.
    pub serial: Option<Change<u32>>,
    /// The channels, when they differ.
    pub channel: Option<Change<Channel>>,
    /// The runtime override policies, when they differ.
    pub runtime_override: Option<Change<RuntimeOverride>>,
    /// Per-key differences, in id order.
    pub keys: Vec<KeyDifference>,
    /// Revoked fingerprints in the artifact but not in the manifest.
    pub revoked_added: Vec<Fingerprint>,
    /// Revoked fingerprints in the manifest but not in the artifact.
    pub revoked_missing: Vec<Fingerprint>,
}

/// A value that differs: what the manifest says, what the artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<T> {
    /// The manifest's value.
    pub expected: T,
    /// The artifact's value.
    pub found: T,
}

/// How one key differs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyDifference {
    /// The artifact trusts a key id that the manifest does not embed.
    Added {
        /// The id.
        id: KeyId,
        /// The artifact's key.
        fingerprint: Fingerprint,
    },
    /// The manifest embeds a key id that the artifact does not trust.
    Missing {
        /// The id.
        id: KeyId,
        /// The manifest's key.
        fingerprint: Fingerprint,
    },
    /// The same id holds another public key.
    PublicKey {
        /// The id.
        id: KeyId,
        /// Fingerprints, manifest's and artifact's.
        change: Change<Fingerprint>,
    },
    /// The same id and key, with other windows.
    Window {
        /// The id.
        id: KeyId,
        /// Windows, manifest's and artifact's.
        change: Change<Validity>,
    },
}

impl KeyDifference {
    /// The id of the key that differs.
    pub fn id(&self) -> &KeyId {
        match self {
            Self::Added { id, .. }
            | Self::Missing { id, .. }
            | Self::PublicKey { id, .. }
            | Self::Window { id, .. } => id,
        }
    }

    /// A stable name for the kind of difference: `added`, `missing`, `public_key`,
    /// `window`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Added { .. } => "added",
            Self::Missing { .. } => "missing",
            Self::PublicKey { .. } => "public_key",
            Self::Window { .. } => "window",
        }
    }
}

/// Compares a found keyring with the expected one: `None` when they are the same (and
/// so encode to the same bytes), else every difference.
pub fn compare(expected: &Keyring, found: &Keyring) -> Option<KeyringDiff> {
    if expected == found {
        return None;
    }
    let mut keys = Vec::new();
    for key in expected.keys() {
        match found.key_by_id(key.id().as_str()) {
            None => keys.push(KeyDifference::Missing {
                id: key.id().clone(),
                fingerprint: key.fingerprint(),
            }),
            Some(other) => {
                if let Some(change) = change(key.fingerprint(), other.fingerprint()) {
                    keys.push(KeyDifference::PublicKey {
                        id: key.id().clone(),
                        change,
                    });
                }
                if let Some(change) = change(key.validity(), other.validity()) {
                    keys.push(KeyDifference::Window {
                        id: key.id().clone(),
                        change,
                    });
                }
            }
        }
    }
    for key in found.keys() {
        if expected.key_by_id(key.id().as_str()).is_none() {
            keys.push(KeyDifference::Added {
                id: key.id().clone(),
                fingerprint: key.fingerprint(),
            });
        }
    }
    keys.sort_by(|a, b| a.id().as_str().as_bytes().cmp(b.id().as_str().as_bytes()));
    let not_in = |list: &[Fingerprint], other: &[Fingerprint]| -> Vec<Fingerprint> {
        list.iter()
            .filter(|f| other.binary_search(f).is_err())
            .copied()
            .collect()
    };
    Some(KeyringDiff {
        expected_fingerprint: expected.fingerprint(),
        found_fingerprint: found.fingerprint(),
        serial: change(expected.serial(), found.serial()),
        channel: change(expected.channel(), found.channel()),
        runtime_override: change(expected.runtime_override(), found.runtime_override()),
        keys,
        revoked_added: not_in(found.revoked(), expected.revoked()),
        revoked_missing: not_in(expected.revoked(), found.revoked()),
    })
}

fn change<T: PartialEq>(expected: T, found: T) -> Option<Change<T>> {
    (expected != found).then_some(Change { expected, found })
}
