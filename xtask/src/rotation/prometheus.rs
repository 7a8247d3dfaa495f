//! `rotation status --prometheus URL`: the fleet's evidence from the Prometheus HTTP
//! API (`GET /api/v1/query`, PromQL instant queries), as fleets already collect it.
//!
//! A deployment is one target, named `job/instance`. The queries, each one GET:
//!
//! - seen: `group by (instance, job) (last_over_time(caio_keyring_info[W]))`, every
//!   target that reported within the window; reporting: the same without the range,
//!   the targets that report now; `up == 0` names the ones that are down. A target seen
//!   but not reporting now (down, or its series stale) counts as not covered.
//! - trust: `caio_key_info` now: each target's trusted keys, matched to the manifest by
//!   `fingerprint`.
//! - dependence: `sum by (instance, job) (increase(caio_license_verifications_total
//!   {result="ok",key=~"IDS"}[W]))`, where IDS is OLD's id and every `key` label that
//!   `caio_key_info` pairs with OLD's fingerprint (a runtime key may carry another id).
//! - errors: `sum by (result) (rate(caio_license_verifications_total{result!="ok"}
//!   [1h]))` now, and the same query with `time=` the first successor's `not_before`
//!   (the hour before the rotation), when that is in the past.
//!
//! An answer that is not a successful vector, or has more than [`MAX_SERIES`] series,
//! is refused; so is a server where no target reported `caio_keyring_info` within the
//! window (that is missing evidence, never coverage). This module decides nothing
//! (`decide.rs` does).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::decide::{Deployment, ErrorRate, Evidence, Plan, Scope};
use super::fetch::{self, FetchError, Limits};

/// The most series one query may answer with.
pub const MAX_SERIES: usize = 50_000;

/// The largest answer read, in bytes.
pub const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// The range of the error rates compared, now and before the rotation.
pub const ERROR_RANGE: &str = "1h";

/// Reads the evidence from the Prometheus server at `base` (its root URL, with any
/// route prefix). `window` is in seconds; `wall_now` is the real clock, which decides
/// whether "before the rotation" is in the past.
pub fn gather(
    limits: Limits,
    base: &str,
    plan: &Plan,
    window: i64,
    wall_now: i64,
) -> Result<Evidence, FetchError> {
    let api = Api {
        limits: Limits {
            max_bytes: limits.max_bytes.min(MAX_BYTES),
            ..limits
        },
        url: format!("{}/api/v1/query", base.trim_end_matches('/')),
    };
    let target = |labels: &Labels| {
        (
            labels.get("job").cloned().unwrap_or_default(),
            labels.get("instance").cloned().unwrap_or_default(),
        )
    };
    let seen: BTreeSet<_> = api
        .query(
            &format!("group by (instance, job) (last_over_time(caio_keyring_info[{window}s]))"),
            None,
        )?
        .iter()
        .map(|(l, _)| target(l))
        .collect();
    let reporting: BTreeSet<_> = api
        .query("group by (instance, job) (caio_keyring_info)", None)?
        .iter()
        .map(|(l, _)| target(l))
        .collect();
    if seen.is_empty() && reporting.is_empty() {
        return Err(FetchError::Invalid {
            url: api.url,
            what: format!(
                "no target reported caio_keyring_info within the last {window}s: is the \
                 fleet's /metrics scraped by this Prometheus?"
            ),
        });
    }
    let down: BTreeSet<_> = api
        .query("up == 0", None)?
        .iter()
        .map(|(l, _)| target(l))
        .collect();
    let mut keys: BTreeMap<Target, Vec<TrustedKey>> = BTreeMap::new();
    for (labels, _) in api.query("caio_key_info", None)? {
        let label = |name: &str| labels.get(name).cloned().unwrap_or_default();
        keys.entry(target(&labels)).or_default().push((
            label("key"),
            label("fingerprint"),
            label("source"),
        ));
    }
    let deployments = seen
        .union(&reporting)
        .map(|t| {
            let is_reporting = reporting.contains(t);
            let trusted = keys.remove(t).unwrap_or_default();
            let note = match (is_reporting, down.contains(t)) {
                (false, true) => Some("down (up == 0)".to_owned()),
                (false, false) => Some("stale: no caio_keyring_info now".to_owned()),
                (true, _) if trusted.is_empty() => Some("reports no trusted key".to_owned()),
                (true, _) => None,
            };
            Deployment {
                name: format!("{}/{}", t.0, t.1),
                reporting: is_reporting,
                keys: if is_reporting { trusted } else { vec![] },
                note,
            }
        })
        .collect::<Vec<_>>();

    let mut old_ids = BTreeSet::from([plan.old.id.clone()]);
    for deployment in &deployments {
        for (id, fingerprint, _) in &deployment.keys {
            if *fingerprint == plan.old.fingerprint {
                old_ids.insert(id.clone());
            }
        }
    }
    let ids: Vec<String> = old_ids.iter().map(|id| regex_escape(id)).collect();
    let dependence_query = format!(
        "sum by (instance, job) (increase(caio_license_verifications_total\
         {{result=\"ok\",key=~{}}}[{window}s]))",
        promql_string(&ids.join("|"))
    );
    let dependence = api
        .query(&dependence_query, None)?
        .into_iter()
        .filter(|(_, n)| *n > 0.0)
        .map(|(l, n)| {
            let (job, instance) = target(&l);
            (format!("{job}/{instance}"), n)
        })
        .collect();

    let errors_query = format!(
        "sum by (result) (rate(caio_license_verifications_total{{result!=\"ok\"}}\
         [{ERROR_RANGE}]))"
    );
    let now_rates = api.query(&errors_query, None)?;
    let before_rates = match plan.successors.iter().map(|s| s.not_before).min() {
        Some(start) if start < wall_now => Some(api.query(&errors_query, Some(start))?),
        _ => None,
    }
    .filter(|rates| !rates.is_empty());
    let rate_of = |rates: &[(Labels, f64)], reason: &str| {
        rates
            .iter()
            .filter(|(l, _)| l.get("result").is_some_and(|r| r == reason))
            .fold(0.0, |sum, (_, n)| sum + n)
    };
    let reasons: BTreeSet<String> = now_rates
        .iter()
        .chain(before_rates.iter().flatten())
        .filter_map(|(l, _)| l.get("result").cloned())
        .collect();
    let errors = reasons
        .into_iter()
        .map(|reason| ErrorRate {
            now: rate_of(&now_rates, &reason),
            before: before_rates.as_deref().map(|b| rate_of(b, &reason)),
            reason,
        })
        .filter(|e| e.now > 0.0 || e.before.is_some_and(|b| b > 0.0))
        .collect();

    Ok(Evidence {
        kind: "prometheus",
        url: base.to_owned(),
        deployments,
        dependence,
        dependence_scope: Scope::Window,
        errors,
    })
}

type Labels = BTreeMap<String, String>;

/// A target: (job, instance).
type Target = (String, String);

/// A trusted key as `caio_key_info` labels it: (key, fingerprint, source).
type TrustedKey = (String, String, String);

/// The query endpoint and its limits.
struct Api {
    limits: Limits,
    url: String,
}

/// `{"status": "success", "data": {"resultType": "vector", "result": [...]}}`.
#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    data: Option<Data>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct Series {
    metric: Labels,
    /// `[unix seconds, "value"]`.
    value: (f64, String),
}

impl Api {
    /// One instant query at `time` (or the server's now): each series' labels and value.
    fn query(&self, promql: &str, time: Option<i64>) -> Result<Vec<(Labels, f64)>, FetchError> {
        let time = time.map(|t| t.to_string());
        let mut params = vec![("query", promql)];
        if let Some(t) = &time {
            params.push(("time", t));
        }
        let (_, body) = fetch::get(self.limits, &self.url, &params, "application/json")?;
        parse_answer(&body).map_err(|what| FetchError::Invalid {
            url: self.url.clone(),
            what: format!("query {promql:?}: {what}"),
        })
    }
}

/// The series of an instant-vector answer.
fn parse_answer(body: &str) -> Result<Vec<(Labels, f64)>, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("not a Prometheus API answer: {e}"))?;
    let data = match (answer.status.as_str(), answer.data) {
        ("success", Some(data)) => data,
        (status, _) => return Err(format!("status {status:?}, not success")),
    };
    if data.result_type != "vector" {
        return Err(format!("a {}, not a vector", data.result_type));
    }
    if data.result.len() > MAX_SERIES {
        return Err(format!("more than {MAX_SERIES} series"));
    }
    data.result
        .into_iter()
        .map(|s| {
            let value = s
                .value
                .1
                .parse::<f64>()
                .ok()
                .filter(|v| !v.is_nan())
                .ok_or_else(|| format!("{:?} is not a number", s.value.1))?;
            Ok((s.metric, value))
        })
        .collect()
}

/// `text` as a PromQL double-quoted string.
fn promql_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `text` matched literally by a (RE2) regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ok`: each series as `labels=value`; `Err`: the message's start.
    fn check(body: &str, expected: Result<&[&str], &str>) {
        let got = parse_answer(body).map(|series| {
            series
                .iter()
                .map(|(l, v)| {
                    let labels: Vec<String> = l.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{}={v}", labels.join(","))
                })
                .collect::<Vec<_>>()
        });
        match expected {
            Ok(series) => assert_eq!(got, Ok(series.iter().map(ToString::to_string).collect())),
            Err(start) => {
                let error = got.expect_err("refused");
                assert!(error.starts_with(start), "{error}");
            }
        }
    }

    #[test]
    fn reads_vector_answers_only() {
        check(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"instance":"a","job":"caio"},"value":[1700000000.5,"2"]},
                {"metric":{},"value":[1700000000,"0.25"]}]}}"#,
            Ok(&["instance:a,job:caio=2", "=0.25"]),
        );
        check(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            Ok(&[]),
        );
        check(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
            Err("status \"error\""),
        );
        check(
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            Err("a matrix, not a vector"),
        );
        check(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{},"value":[1,"NaN"]}]}}"#,
            Err("\"NaN\" is not a number"),
        );
        check("<html>", Err("not a Prometheus API answer"));
    }

    #[test]
    fn quotes_ids_for_promql() {
        assert_eq!(
            promql_string(&regex_escape("caio-2026.01")),
            r#""caio-2026\\.01""#
        );
        assert_eq!(promql_string("a\"b\\"), r#""a\"b\\""#);
    }
}
