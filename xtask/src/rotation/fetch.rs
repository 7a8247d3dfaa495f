//! Bounded HTTP GETs for `rotation status`: the Prometheus query API and deployments'
//! `/metrics`, with a time-out, a size limit and typed errors that name the URL.
//!
//! Plain HTTP through `ureq` built without TLS (an `https://` URL is refused with a
//! message saying so), no proxy from the environment, no redirect followed, no
//! compression asked for: a response is read as it comes, up to [`Limits::max_bytes`],
//! or refused. It never retries and never treats a failure as an empty answer: every
//! error is evidence that could not be read, which the command turns into exit 2.

use std::time::Duration;

/// What one request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole request, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// The largest body read.
    pub max_bytes: u64,
}

/// Evidence that could not be read; each names its URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Not an `http://` URL this build can use.
    #[error("{url}: only http:// URLs are supported (this build has no TLS)")]
    Scheme {
        /// The URL.
        url: String,
    },
    /// Connecting or reading failed, or took longer than the time-out.
    #[error("{url}: unreachable: {source}")]
    Unreachable {
        /// The URL.
        url: String,
        /// What the HTTP client said.
        source: ureq::Error,
    },
    /// An answer other than 200 (Prometheus explains a bad query in `detail`).
    #[error("{url}: HTTP status {status}{detail}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// `: ` and what the body said, when it said something short.
        detail: String,
    },
    /// The body is larger than the limit.
    #[error("{url}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The answer is not what was asked for.
    #[error("{url}: {what}")]
    Invalid {
        /// The URL.
        url: String,
        /// What is wrong with it.
        what: String,
    },
}

/// A GET of `url` with `query` parameters and an `Accept` header: (content type, body).
pub fn get(
    limits: Limits,
    url: &str,
    query: &[(&str, &str)],
    accept: &str,
) -> Result<(String, String), FetchError> {
    if !url.starts_with("http://") {
        return Err(FetchError::Scheme {
            url: url.to_owned(),
        });
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .max_response_header_size(64 * 1024)
        .build()
        .into();
    let unreachable = |source| FetchError::Unreachable {
        url: url.to_owned(),
        source,
    };
    let mut request = agent.get(url).header("Accept", accept);
    for (name, value) in query {
        request = request.query(*name, *value);
    }
    let mut response = request.call().map_err(unreachable)?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .body_mut()
        .with_config()
        .limit(limits.max_bytes)
        .read_to_string()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge {
                url: url.to_owned(),
                limit: limits.max_bytes,
            },
            e => unreachable(e),
        })?;
    if status != 200 {
        let detail = body.trim();
        let detail = if detail.is_empty() || detail.len() > 2048 {
            String::new()
        } else {
            format!(": {detail}")
        };
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
            detail,
        });
    }
    Ok((content_type, body))
}
