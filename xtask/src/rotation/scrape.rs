//! `rotation status --scrape URL...`: the evidence of a small fleet with no
//! Prometheus, read straight from each deployment's `/metrics`.
//!
//! A deployment is one URL, asked for the Prometheus text format
//! (`Accept: text/plain;version=0.0.4`) and read by the strict reader in
//! `exposition.rs`. A URL that does not answer, answers with another status or with a
//! page that is not `caio-verify serve`'s metrics is an error (exit 2): unreachable
//! evidence is never taken for coverage. There is no history here, so the
//! verification counts are the counters as they stand, since each deployment started,
//! and rejections are totals since start with nothing to compare them with. This
//! module decides nothing (`decide.rs` does).

use std::collections::{BTreeMap, BTreeSet};

use super::decide::{Deployment, ErrorRate, Evidence, Plan, Scope};
use super::exposition::{self, Sample};
use super::fetch::{self, FetchError, Limits};

/// The largest `/metrics` page read, in bytes (`caio-verify serve` writes under 100 KiB).
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The most URLs one run scrapes (one after the other).
pub const MAX_URLS: usize = 256;

/// What `/metrics` is asked for.
pub const ACCEPT: &str = "text/plain;version=0.0.4";

/// Scrapes every URL in `urls` and sums up what they say.
pub fn gather(limits: Limits, urls: &[String], plan: &Plan) -> Result<Evidence, FetchError> {
    let limits = Limits {
        max_bytes: limits.max_bytes.min(MAX_BYTES),
        ..limits
    };
    let mut deployments = Vec::new();
    let mut dependence = Vec::new();
    let mut errors: BTreeMap<String, f64> = BTreeMap::new();
    for url in urls {
        let page = scrape(limits, url)?;
        let ok_by_old = page.ok_by_old(plan);
        if ok_by_old > 0.0 {
            dependence.push((url.clone(), ok_by_old));
        }
        for (reason, count) in page.rejections() {
            *errors.entry(reason).or_default() += count;
        }
        deployments.push(page.deployment);
    }
    Ok(Evidence {
        kind: "scrape",
        url: urls.join(" "),
        deployments,
        dependence,
        dependence_scope: Scope::SinceStart,
        errors: errors
            .into_iter()
            .filter(|(_, n)| *n > 0.0)
            .map(|(reason, now)| ErrorRate {
                reason,
                now,
                before: None,
            })
            .collect(),
    })
}

/// One deployment's page, read.
struct Page {
    deployment: Deployment,
    /// `caio_license_verifications_total` samples: (result, key, count).
    verifications: Vec<(String, String, f64)>,
}

/// GETs and reads one `/metrics` page.
fn scrape(limits: Limits, url: &str) -> Result<Page, FetchError> {
    let (content_type, body) = fetch::get(limits, url, &[], ACCEPT)?;
    let invalid = |what: String| FetchError::Invalid {
        url: url.to_owned(),
        what,
    };
    if !(content_type.starts_with("text/plain")
        || content_type.starts_with("application/openmetrics-text"))
    {
        return Err(invalid(format!(
            "content type {content_type:?} is not the Prometheus text format"
        )));
    }
    let samples = exposition::parse(&body).map_err(|e| invalid(e.to_string()))?;
    page(url, &samples).map_err(invalid)
}

/// What a page says, or why it is not `caio-verify serve`'s metrics.
fn page(url: &str, samples: &[Sample]) -> Result<Page, String> {
    let label = |s: &Sample, name: &str| s.labels.get(name).cloned().unwrap_or_default();
    let verifications: Vec<(String, String, f64)> = samples
        .iter()
        .filter(|s| s.name == "caio_license_verifications_total")
        .map(|s| (label(s, "result"), label(s, "key"), s.value))
        .collect();
    if verifications.is_empty() {
        return Err(
            "no caio_license_verifications_total: not the metrics of caio-verify serve".to_owned(),
        );
    }
    if let Some((_, _, bad)) = verifications
        .iter()
        .find(|(_, _, n)| !(n.is_finite() && *n >= 0.0))
    {
        return Err(format!(
            "caio_license_verifications_total of {bad} is not a count"
        ));
    }
    let keyrings = samples
        .iter()
        .filter(|s| s.name == "caio_keyring_info")
        .count();
    let keys: Vec<(String, String, String)> = samples
        .iter()
        .filter(|s| s.name == "caio_key_info")
        .map(|s| (label(s, "key"), label(s, "fingerprint"), label(s, "source")))
        .collect();
    let (reporting, note) = match keyrings {
        1 if keys.is_empty() => (true, Some("reports no trusted key".to_owned())),
        1 => (true, None),
        0 => (
            false,
            Some("no caio_keyring_info: its keyring is corrupt".to_owned()),
        ),
        n => {
            return Err(format!(
                "{n} caio_keyring_info samples; one deployment has one"
            ));
        }
    };
    Ok(Page {
        deployment: Deployment {
            name: url.to_owned(),
            reporting,
            keys,
            note,
        },
        verifications,
    })
}

impl Page {
    /// Successful verifications by OLD: its id, and any id this deployment gives OLD's
    /// fingerprint.
    fn ok_by_old(&self, plan: &Plan) -> f64 {
        let mut ids = BTreeSet::from([plan.old.id.as_str()]);
        for (id, fingerprint, _) in &self.deployment.keys {
            if *fingerprint == plan.old.fingerprint {
                ids.insert(id);
            }
        }
        self.verifications
            .iter()
            .filter(|(result, key, _)| result == "ok" && ids.contains(key.as_str()))
            .fold(0.0, |sum, (_, _, n)| sum + n)
    }

    /// Rejections by reason, summed over keys.
    fn rejections(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (result, _, n) in &self.verifications {
            if result != "ok" {
                *out.entry(result.clone()).or_default() += n;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::decide::KeyFacts;
    use super::*;

    fn plan() -> Plan {
        let key = |id: &str| KeyFacts {
            id: id.to_owned(),
            fingerprint: format!("sha256:{id}"),
            not_before: 0,
            sign_until: 1,
            not_after: 2,
            revoked: false,
        };
        Plan {
            old: key("old"),
            successors: vec![key("new")],
            now: 0,
        }
    }

    /// `reporting ids ok-by-old rejections`, as `true old,rt 3 expired:1,unknown_key:2`,
    /// or the error.
    fn check(text: &str, expected: Result<&str, &str>) {
        let samples = exposition::parse(text).expect("the text format");
        let got = page("http://d", &samples).map(|p| {
            let ids: Vec<&str> = p.deployment.keys.iter().map(|k| k.0.as_str()).collect();
            let rejections: Vec<String> = p
                .rejections()
                .iter()
                .map(|(r, n)| format!("{r}:{n}"))
                .collect();
            format!(
                "{} {} {} {}",
                p.deployment.reporting,
                ids.join(","),
                p.ok_by_old(&plan()),
                rejections.join(",")
            )
        });
        assert_eq!(got.as_deref().map_err(String::as_str), expected);
    }

    const KEYRING: &str =
        "caio_keyring_info{keyring=\"sha256:k\",serial=\"1\",channel=\"production\"} 1\n";

    #[test]
    fn reads_trust_dependence_and_rejections() {
        let page = format!(
            "{KEYRING}caio_key_info{{key=\"old\",fingerprint=\"sha256:old\",source=\"embedded\"}} 1\n\
             caio_key_info{{key=\"rt\",fingerprint=\"sha256:new\",source=\"runtime\"}} 1\n\
             caio_license_verifications_total{{result=\"ok\",key=\"old\"}} 3\n\
             caio_license_verifications_total{{result=\"ok\",key=\"rt\"}} 5\n\
             caio_license_verifications_total{{result=\"unknown_key\",key=\"none\"}} 2\n\
             caio_license_verifications_total{{result=\"expired\",key=\"old\"}} 1\n"
        );
        check(&page, Ok("true old,rt 3 expired:1,unknown_key:2"));
        // OLD's fingerprint under another id still counts as OLD.
        let renamed = page.replace("key=\"old\"", "key=\"legacy\"");
        check(&renamed, Ok("true legacy,rt 3 expired:1,unknown_key:2"));
        // A corrupt keyring: no keyring sample, nothing trusted, not reporting.
        check(
            "caio_license_verifications_total{result=\"keyring_corrupt\",key=\"none\"} 4\n",
            Ok("false  0 keyring_corrupt:4"),
        );
    }

    #[test]
    fn refuses_other_pages() {
        check(
            "up 1\n",
            Err("no caio_license_verifications_total: not the metrics of caio-verify serve"),
        );
        check(
            "caio_license_verifications_total{result=\"ok\",key=\"old\"} -1\n",
            Err("caio_license_verifications_total of -1 is not a count"),
        );
        check(
            &format!(
                "{KEYRING}caio_keyring_info{{keyring=\"sha256:j\",serial=\"2\",channel=\"production\"}} 1\n\
                 caio_license_verifications_total{{result=\"ok\",key=\"old\"}} 1\n"
            ),
            Err("2 caio_keyring_info samples; one deployment has one"),
        );
    }
}
