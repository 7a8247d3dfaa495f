//! How a keyring and its instants are shown (cargo feature `view`): one spelling of an
//! instant, and one serializable view of a [`Keyring`] that `caio-verify keyring
//! --json`, the gate's JSON report and the release statement all write, so they cannot
//! drift apart.
//!
//! An instant is RFC 3339 in UTC (`2026-01-17T00:00:00Z`); one outside what RFC 3339 can
//! show (only a hand-made block holds such) is `unix:<seconds>`; the open end
//! ([`OPEN_END`]) is `None`, which is JSON `null` and `none` in text.
//!
//! Not here: parsing instants as people type them (each command does that), and any
//! output that is not a keyring (reports, verdicts). The runtime verifier never enables
//! this feature, so a product carries no serde derive and no date library for it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{Keyring, OPEN_END, TrustedKey, Validity};

/// A keyring as every JSON output shows it: its [`KeyringSummary`], then each key with
/// its windows, then the revoked fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringView {
    /// Fingerprint, serial, channel and runtime override.
    #[serde(flatten)]
    pub summary: KeyringSummary,
    /// Every key, in the keyring's order.
    pub keys: Vec<KeyView>,
    /// The revoked fingerprints, `sha256:<hex>`.
    pub revoked: Vec<String>,
}

/// What names a keyring without listing its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringSummary {
    /// `sha256:` and the hex of the block digest.
    pub fingerprint: String,
    /// The keyring's serial.
    pub serial: u32,
    /// `production` or `development`.
    pub channel: String,
    /// `deny`, `endorsed` or `allow`.
    pub runtime_override: String,
}

/// One key. `source` and `endorsed_by` are for a reader that knows where a key came
/// from (`caio-verify keyring` fills them in); a view made from a [`Keyring`] has
/// neither, and they are then left out of the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// The key id.
    pub id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// `sha256:` and the hex of the key's SPKI digest.
    pub fingerprint: String,
    /// When the key may sign and verify.
    #[serde(flatten)]
    pub window: WindowView,
    /// Where the key comes from, e.g. `embedded` or `runtime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The key that endorsed this one: absent when the question does not arise,
    /// `Some(None)` (JSON `null`) for a key that no key endorsed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub endorsed_by: Option<Option<EndorserView>>,
}

/// A key's windows, each an [`instant`]. Each field must be present to deserialize
/// (`null` for an open end), so a view that lost one does not pass for an open end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowView {
    /// From when the key verifies.
    #[serde(deserialize_with = "Option::deserialize")]
    pub not_before: Option<String>,
    /// Until when it may sign.
    #[serde(deserialize_with = "Option::deserialize")]
    pub sign_until: Option<String>,
    /// Until when it verifies.
    #[serde(deserialize_with = "Option::deserialize")]
    pub not_after: Option<String>,
}

/// The key that endorsed a key, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorserView {
    /// The endorser's key id.
    pub id: String,
    /// The endorser's fingerprint.
    pub fingerprint: String,
    /// When the endorsement was signed, an [`instant`].
    pub iat: Option<String>,
}

impl KeyringView {
    /// Every key of `keyring`, without `source` or `endorsed_by`.
    pub fn of(keyring: &Keyring) -> Self {
        Self {
            summary: KeyringSummary::of(keyring),
            keys: keyring.keys().iter().map(KeyView::of).collect(),
            revoked: keyring.revoked().iter().map(ToString::to_string).collect(),
        }
    }
}

impl KeyringSummary {
    /// `keyring`'s fingerprint, serial, channel and runtime override.
    pub fn of(keyring: &Keyring) -> Self {
        Self {
            fingerprint: keyring.fingerprint().to_string(),
            serial: keyring.serial(),
            channel: keyring.channel().name().to_owned(),
            runtime_override: keyring.runtime_override().name().to_owned(),
        }
    }
}

impl KeyView {
    /// `key` with its windows, without `source` or `endorsed_by`.
    pub fn of(key: &TrustedKey) -> Self {
        Self {
            id: key.id().to_string(),
            algorithm: key.algorithm().name().to_owned(),
            fingerprint: key.fingerprint().to_string(),
            window: WindowView::of(key.validity()),
            source: None,
            endorsed_by: None,
        }
    }
}

impl WindowView {
    /// The three ends of `window`, each an [`instant`].
    pub fn of(window: Validity) -> Self {
        Self {
            not_before: instant(window.not_before),
            sign_until: instant(window.sign_until),
            not_after: instant(window.not_after),
        }
    }
}

/// An instant for JSON: RFC 3339 in UTC, `unix:<seconds>` outside what RFC 3339 can
/// show (years before -9999 or after 9999), `None` for the open end ([`OPEN_END`]).
pub fn instant(secs: i64) -> Option<String> {
    (secs != OPEN_END).then(|| {
        jiff::Timestamp::from_second(secs)
            .map_or_else(|_| format!("unix:{secs}"), |t| t.to_string())
    })
}

/// An instant for text: as [`instant`], with `none` for the open end.
pub fn instant_text(secs: i64) -> String {
    instant(secs).unwrap_or_else(|| "none".to_owned())
}

/// Deserializes a field that is there, `null` included, as `Some`: with `default`, an
/// absent field stays `None`, so `Option<Option<T>>` tells absent from `null`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, KeyId, RuntimeOverride};

    fn check(secs: i64, json: Option<&str>, text: &str) {
        assert_eq!(instant(secs).as_deref(), json, "{secs}");
        assert_eq!(instant_text(secs), text, "{secs}");
    }

    #[test]
    fn instants_are_rfc3339_unix_seconds_or_none() {
        check(0, Some("1970-01-01T00:00:00Z"), "1970-01-01T00:00:00Z");
        check(
            1_800_000_000,
            Some("2027-01-15T08:00:00Z"),
            "2027-01-15T08:00:00Z",
        );
        check(OPEN_END, None, "none");
        check(
            i64::MIN,
            Some("unix:-9223372036854775808"),
            "unix:-9223372036854775808",
        );
        check(
            OPEN_END - 1,
            Some("unix:9223372036854775806"),
            "unix:9223372036854775806",
        );
    }

    fn keyring() -> Keyring {
        let raw = ed25519_dalek::SigningKey::from_bytes(&[5; 32])
            .verifying_key()
            .to_bytes();
        let window = Validity {
            not_before: 1_700_000_000,
            sign_until: OPEN_END,
            not_after: OPEN_END,
        };
        let key = TrustedKey::ed25519(KeyId::new("caio-test").unwrap(), &raw, window).unwrap();
        let keys = vec![key];
        Keyring::new(3, Channel::Production, RuntimeOverride::Deny, keys, vec![]).unwrap()
    }

    #[test]
    fn a_view_round_trips_and_tells_absent_from_null() {
        let view = KeyringView::of(&keyring());
        let text = serde_json::to_string(&view).unwrap();
        assert!(
            !text.contains("source") && !text.contains("endorsed_by"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<KeyringView>(&text).unwrap(), view);

        let mut endorsed = view.clone();
        endorsed.keys[0].source = Some("runtime".to_owned());
        endorsed.keys[0].endorsed_by = Some(None);
        let text = serde_json::to_string(&endorsed).unwrap();
        assert!(text.contains(r#""endorsed_by":null"#), "{text}");
        assert_eq!(
            serde_json::from_str::<KeyringView>(&text).unwrap(),
            endorsed
        );

        // A window end that is missing is not an open end.
        let lost = text.replace(r#""not_after":null,"#, "");
        assert!(
            serde_json::from_str::<KeyringView>(&lost).is_err(),
            "{lost}"
        );
    }
}
