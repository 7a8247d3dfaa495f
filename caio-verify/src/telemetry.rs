//! Verification telemetry: how many verdicts, by result and by trusted key, and when
//! each key last verified a license, counted with relaxed atomics and read as a
//! [`Snapshot`] (or, with the `metrics` feature, scraped from a `prometheus-client`
//! registry).
//!
//! # Bounded labels
//!
//! A verdict is counted under two labels, both from fixed sets known when the
//! [`Telemetry`] is built:
//!
//! - `result`: `ok`, or the rejection's [`Reason::code`] (17 codes);
//! - `key`: the id of the trusted key that was chosen (an embedded key, or the runtime
//!   key the policy accepted), or `none` when no trusted key was chosen (a token too
//!   malformed to name one, an unknown or revoked `kid`, a corrupt keyring).
//!
//! Nothing from the token becomes a label: a `kid` is only ever looked up among the
//! trusted keys' fingerprints, so a forged or random `kid` counts under `none`. The
//! label set is therefore at most 18 × 34 pairs whatever the traffic, and every pair
//! exists (at 0) from the start. A trusted key whose id is literally `none` would share
//! its label with "no key": do not name a key `none`.
//!
//! # Cost
//!
//! [`Telemetry::record`] finds the key by comparing the verdict's fingerprint with at
//! most 33 others, then does one relaxed `fetch_add` (and, for a success, one relaxed
//! `fetch_max` of the timestamp): no lock, no allocation, a few nanoseconds beside a
//! signature check of about 20 µs. Counters are per process and never reset.
//!
//! This module does not read a clock (the instant of a success is the verification
//! instant, [`Options::now`](crate::Options::now)), does no I/O and serves nothing:
//! the `caio-verify serve` command (crate `caio-cli`) is the HTTP side.

use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use caio_keyring::{Channel, Fingerprint, KeyId, OPEN_END};

use crate::runtime::{EffectiveKeyring, KeySource};
use crate::verify::{Reason, Rejection, VerifiedLicense, Verifier};

/// The `key` label of a verdict for which no trusted key was chosen.
pub const NO_KEY: &str = "none";

/// The `result` label of a valid license.
pub const OK: &str = "ok";

/// Counts verdicts by result and trusted key; see the [module docs](self).
///
/// Build one per [`EffectiveKeyring`], at startup, and share it (`Arc`, or a
/// `static` via `OnceLock`): recording takes `&self`.
#[derive(Debug)]
pub struct Telemetry {
    keyring: Option<KeyringInfo>,
    keys: Box<[KeyInfo]>,
    /// `results() × (keys + 1)` counters, row by row: row 0 is `ok`, row
    /// `1 + reason as usize` a rejection; the last column is [`NO_KEY`].
    counts: Box<[AtomicU64]>,
    /// Per key, the latest success instant; `i64::MIN` for never.
    last_success: Box<[AtomicI64]>,
}

/// A copy of every counter at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The embedded keyring; `None` when its block is corrupt.
    pub keyring: Option<KeyringInfo>,
    /// The trusted keys (embedded, then the runtime key), with their last success.
    pub keys: Vec<KeyState>,
    /// Every (result, key) pair, `ok` first then the reasons in check order, each with
    /// the keys in order then [`NO_KEY`]; zeros included.
    pub verifications: Vec<Count>,
}

/// The embedded keyring, as telemetry labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyringInfo {
    /// The keyring fingerprint (`sha256:` of the block digest).
    pub fingerprint: Fingerprint,
    /// The block's serial.
    pub serial: u32,
    /// Its channel.
    pub channel: Channel,
}

/// One trusted key, as telemetry labels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Its id: the `key` label.
    pub id: KeyId,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// Embedded, or the runtime key.
    pub source: KeySource,
    /// The end of its verification window, unix seconds; `None` for an open end.
    pub not_after: Option<i64>,
}

/// A trusted key and the last time it verified a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    /// The key.
    pub key: KeyInfo,
    /// The verification instant of its latest success, unix seconds; `None` if it
    /// verified nothing yet.
    pub last_success: Option<i64>,
}

/// How many verdicts had one result under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// [`OK`] or a [`Reason::code`].
    pub result: &'static str,
    /// The trusted key's id, or `None` for [`NO_KEY`].
    pub key: Option<KeyId>,
    /// The count.
    pub count: u64,
}

impl Count {
    /// The `key` label: the key's id, or [`NO_KEY`].
    pub fn key_label(&self) -> &str {
        self.key.as_ref().map_or(NO_KEY, KeyId::as_str)
    }
}

impl Telemetry {
    /// Counters for the keys `keys` trusts (every one at zero): its embedded keys, then
    /// its runtime key. A corrupt block gives no key, so every verdict counts under
    /// [`NO_KEY`].
    pub fn new(keys: &EffectiveKeyring<'_>) -> Self {
        let embedded = keys.embedded().ok();
        let keyring = embedded.map(|k| KeyringInfo {
            fingerprint: k.fingerprint(),
            serial: k.serial(),
            channel: k.channel(),
        });
        let embedded_keys = embedded
            .into_iter()
            .flat_map(|k| k.keys())
            .map(|k| (k, KeySource::Embedded));
        let runtime_key = keys.runtime_key().map(|r| (r.key(), KeySource::Runtime));
        let keys: Box<[KeyInfo]> = embedded_keys
            .chain(runtime_key)
            .map(|(key, source)| KeyInfo {
                id: key.id().clone(),
                fingerprint: key.fingerprint(),
                source,
                not_after: Some(key.validity().not_after).filter(|&t| t != OPEN_END),
            })
            .collect();
        let cells = (1 + Reason::ALL.len()) * (keys.len() + 1);
        Self {
            keyring,
            counts: (0..cells).map(|_| AtomicU64::new(0)).collect(),
            last_success: keys.iter().map(|_| AtomicI64::new(i64::MIN)).collect(),
            keys,
        }
    }

    /// Verifies `token` with `verifier` and records the verdict at the verifier's
    /// instant: the counting form of [`Verifier::verify`].
    pub fn verify<T: AsRef<[u8]> + ?Sized>(
        &self,
        verifier: &Verifier<'_>,
        token: &T,
    ) -> Result<VerifiedLicense, Rejection> {
        let result = verifier.verify(token);
        self.record(&result, verifier.options().now);
        result
    }

    /// Counts one verdict; for a success, `now` (the verification instant, unix
    /// seconds) becomes the key's last success if it is the latest.
    pub fn record(&self, result: &Result<VerifiedLicense, Rejection>, now: i64) {
        let (row, fingerprint) = match result {
            Ok(license) => (0, Some(license.fingerprint())),
            Err(rejection) => (1 + rejection.reason as usize, rejection.kid),
        };
        let column = fingerprint.map_or(self.keys.len(), |f| self.column(&f));
        if let Some(counter) = self.counts.get(row * (self.keys.len() + 1) + column) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if result.is_ok()
            && let Some(last) = self.last_success.get(column)
        {
            last.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// The trusted keys, in label order (embedded, then the runtime key).
    pub fn keys(&self) -> &[KeyInfo] {
        &self.keys
    }

    /// The embedded keyring; `None` when its block is corrupt.
    pub fn keyring(&self) -> Option<&KeyringInfo> {
        self.keyring.as_ref()
    }

    /// Every counter now. Counters are read one by one (relaxed), so a snapshot taken
    /// while verifications run may be a few counts behind on some pairs.
    pub fn snapshot(&self) -> Snapshot {
        let keys = self
            .keys
            .iter()
            .zip(&*self.last_success)
            .map(|(key, last)| KeyState {
                key: key.clone(),
                last_success: Some(last.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN),
            })
            .collect();
        let mut verifications = Vec::with_capacity(self.counts.len());
        self.for_each_count(|result, key, count| {
            verifications.push(Count {
                result,
                key: key.map(|k| k.id.clone()),
                count,
            });
        });
        Snapshot {
            keyring: self.keyring.clone(),
            keys,
            verifications,
        }
    }

    /// Calls `f(result, key, count)` for every pair, in [`Snapshot::verifications`]
    /// order, without allocating.
    fn for_each_count(&self, mut f: impl FnMut(&'static str, Option<&KeyInfo>, u64)) {
        let results = core::iter::once((0, OK))
            .chain(Reason::ALL.iter().map(|&r| (1 + r as usize, r.code())));
        let width = self.keys.len() + 1;
        for (row, result) in results {
            let keys = self.keys.iter().map(Some).chain(core::iter::once(None));
            for (column, key) in keys.enumerate() {
                let count = self
                    .counts
                    .get(row * width + column)
                    .map_or(0, |c| c.load(Ordering::Relaxed));
                f(result, key, count);
            }
        }
    }

    /// The column of the trusted key with this fingerprint, or the [`NO_KEY`] column.
    fn column(&self, fingerprint: &Fingerprint) -> usize {
        self.keys
            .iter()
            .position(|k| k.fingerprint == *fingerprint)
            .unwrap_or(self.keys.len())
    }
}

#[cfg(feature = "metrics")]
mod metrics {
    //! The `metrics` feature: [`Telemetry`] as a `prometheus-client` collector, read at
    //! each scrape from the same atomics (nothing is counted twice).

    use std::sync::Arc;

    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::{Registry, Unit};

    use super::{NO_KEY, Ordering, Telemetry};

    impl Telemetry {
        /// Registers these counters in `registry`, to be read at every scrape:
        /// `caio_license_verifications_total{result,key}` (counter, every pair at 0
        /// from the start), `caio_keyring_info{keyring,serial,channel}`,
        /// `caio_key_info{key,fingerprint,source}`,
        /// `caio_key_not_after_timestamp_seconds{key}` (no sample for an open end) and
        /// `caio_license_last_success_timestamp_seconds{key}` (0 until the key's first
        /// success). `docs/telemetry.md` describes each.
        pub fn register(self: Arc<Self>, registry: &mut Registry) {
            registry.register_collector(Box::new(Scrape(self)));
        }
    }

    /// The collector: one scrape reads every counter once.
    #[derive(Debug)]
    struct Scrape(Arc<Telemetry>);

    impl Collector for Scrape {
        fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
            let t = &*self.0;
            let mut family = encoder.encode_descriptor(
                "caio_license_verifications",
                "License verifications by result (ok, or the rejection reason code) and by trusted key (none when no trusted key was chosen).",
                None,
                MetricType::Counter,
            )?;
            let mut status = Ok(());
            t.for_each_count(|result, key, count| {
                if status.is_ok() {
                    let labels = [
                        ("result", result),
                        ("key", key.map_or(NO_KEY, |k| k.id.as_str())),
                    ];
                    status = family
                        .encode_family(&labels)
                        .and_then(|mut m| m.encode_counter::<NoLabelSet, _, u64>(&count, None));
                }
            });
            status?;

            if let Some(keyring) = &t.keyring {
                let serial = keyring.serial.to_string();
                let fingerprint = keyring.fingerprint.to_string();
                let labels = [
                    ("keyring", fingerprint.as_str()),
                    ("serial", serial.as_str()),
                    ("channel", keyring.channel.name()),
                ];
                encoder
                    .encode_descriptor(
                        "caio_keyring",
                        "The embedded keyring: its sha256 fingerprint, serial and channel (no sample when the block is corrupt).",
                        None,
                        MetricType::Info,
                    )?
                    .encode_info(&labels)?;
            }

            let mut info = encoder.encode_descriptor(
                "caio_key",
                "A trusted key: embedded, or the runtime key CAIO_LICENSE_PUBLIC_KEY added.",
                None,
                MetricType::Info,
            )?;
            for key in &*t.keys {
                let fingerprint = key.fingerprint.to_string();
                let labels = [
                    ("key", key.id.as_str()),
                    ("fingerprint", fingerprint.as_str()),
                    ("source", key.source.name()),
                ];
                info.encode_info(&labels)?;
            }

            let mut not_after = encoder.encode_descriptor(
                "caio_key_not_after_timestamp",
                "The end of a trusted key's verification window, unix seconds (no sample for an open end).",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            for key in &*t.keys {
                if let Some(at) = key.not_after {
                    not_after
                        .encode_family(&[("key", key.id.as_str())])?
                        .encode_gauge(&at)?;
                }
            }

            let mut last = encoder.encode_descriptor(
                "caio_license_last_success_timestamp",
                "When a trusted key last verified a license (the verification instant), unix seconds; 0 until its first success.",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            for (key, at) in t.keys.iter().zip(&*t.last_success) {
                let at = at.load(Ordering::Relaxed).max(0);
                last.encode_family(&[("key", key.id.as_str())])?
                    .encode_gauge(&at)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
