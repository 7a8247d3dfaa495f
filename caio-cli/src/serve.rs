//! `caio-verify serve`: a small HTTP status server (a sidecar) that verifies licenses
//! with this binary's keyring, shows the keyring, answers whether a key is trusted now,
//! and exposes the verification counters for Prometheus.
//!
//! Axum routes on hyper's HTTP/1.1 server, on a tokio runtime. What bounds each input
//! (`docs/telemetry.md` is the user guide, `docs/security.md` has the tests):
//!
//! - a request body is at most [`MAX_BODY`] bytes (413 past it, before it is read
//!   when `Content-Length` says so);
//! - a client has `--timeout` seconds (10 by default) to send its request headers
//!   (hyper's header read timeout: a client trickling headers byte by byte is cut
//!   off), then as long again for the body and the answer (408), and as long to take
//!   each part of an answer the server writes ([`WriteDeadline`]: a client that
//!   pipelines requests and never reads the answers is cut off, and frees its
//!   connection slot);
//! - at most `--max-connections` connections (256 by default) are served at once;
//!   more wait in the kernel's accept queue;
//! - labels of `/metrics` come from the keyring, never from a request
//!   ([`caio_verify::telemetry`]);
//! - a token is never logged: the verifier's own log events (whose detail may quote
//!   part of a token) are muted for the server's verifications, and the server logs
//!   the result code and the trusted key's id only.
//!
//! Verification runs inline on the tokio worker that received the request: it is
//! about 20 µs of CPU, less than handing it to the blocking pool and back would cost,
//! and the connection limit bounds how much of it can queue.
//!
//! This module never decides a verdict (the library does) and holds no copy of the
//! `license --json` or `keyring --json` renderings: it calls the ones in
//! `license.rs` and `keyring.rs`.

use std::borrow::Cow;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use caio_keyring::view::KeyView;
use caio_verify::{
    DecodeError, EffectiveKeyring, Fingerprint, KeySource, Keyring, Options, Telemetry, TrustedKey,
};
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Io, Outcome, RuntimeKeyVar};

/// The largest request body accepted, in bytes: a license is at most 4096.
pub const MAX_BODY: usize = 16 * 1024;

/// The address `serve` listens on unless `--listen` says otherwise: loopback only.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8421));

/// The OpenMetrics content type `/metrics` answers with by default.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serve license verification, the keyring and metrics over HTTP (a status sidecar).
///
/// Listens on 127.0.0.1:8421 unless --listen gives another address; it prints
/// "listening on ADDR" on stdout once ready (with --listen 127.0.0.1:0, ADDR has the
/// port the system chose). The server has no authentication: it listens on loopback
/// unless you give a non-loopback address explicitly (then it warns). It honours
/// CAIO_LICENSE_PUBLIC_KEY exactly as `license` does.
///
/// Routes:
///
///   POST /v1/licenses/verify   one license: the body is the token as text, or
///       {"license": "..."} (JSON when Content-Type is application/json or the body
///       starts with `{`); surrounding whitespace is ignored. The answer is the
///       `license --json` object: 200 valid, 422 rejected (with its reason). 413 for a
///       body over 16 KiB; 400 with {"error", "detail"} for invalid UTF-8, bad JSON, a
///       missing field or an empty body.
///
///   GET /v1/keyring   the `keyring --json` object ("fingerprint" is the keyring
///       digest); 503 {"error": "keyring_corrupt"} if the embedded block is corrupt.
///
///   GET /v1/keyring/trusts/{ID or sha256:FINGERPRINT}   200 {"trusted": true, "key"}
///       if this deployment trusts the key now (embedded, or the accepted runtime key,
///       not revoked, inside its verification window); 404 {"trusted": false,
///       "reason"} otherwise (unknown_key, revoked_key, key_not_yet_valid,
///       key_expired, keyring_corrupt).
///
///   GET /metrics   OpenMetrics text (Content-Type application/openmetrics-text;
///       version=1.0.0); the Prometheus text format 0.0.4 to a client whose Accept
///       asks for text/plain and not OpenMetrics. Every verification the server
///       does is counted by result and trusted key.
///
///   GET /healthz   200 "ok"; 503 "keyring_corrupt" if the embedded block is corrupt.
///
/// Limits: --timeout seconds to send the request headers, as long again for the body,
/// and as long for each part of an answer to be taken; --max-connections connections
/// at once. SIGTERM or SIGINT stops accepting,
/// lets requests in flight finish (for at most --timeout seconds) and exits 0. A
/// token is never logged.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address and port to listen on
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Seconds a client has to send its request headers, and again its body; and to
    /// take each part of an answer
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,

    /// Connections served at once; more wait to be accepted
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_connections: u32,

    /// Verify and judge trust as of this instant, RFC 3339, instead of the clock (for
    /// rehearsals and tests) [default: now, at each request]
    #[arg(long, value_name = "T", value_parser = crate::license::parse_instant)]
    at: Option<jiff::Timestamp>,
}

impl ServeArgs {
    /// Serves until SIGTERM or SIGINT, then returns [`Outcome::Success`].
    pub(crate) fn run(
        self,
        keyring: Result<&Keyring, &DecodeError>,
        runtime_key: &RuntimeKeyVar,
        io: &mut Io<'_>,
    ) -> anyhow::Result<Outcome> {
        // The server lives as long as the process: its keyring copy too.
        let keyring: Result<&'static Keyring, &'static DecodeError> = match keyring {
            Ok(k) => Ok(Box::leak(Box::new(k.clone()))),
            Err(e) => Err(Box::leak(Box::new(e.clone()))),
        };
        let keys = runtime_key.resolve(keyring);
        let telemetry = Arc::new(Telemetry::new(&keys));
        let mut registry = Registry::default();
        Arc::clone(&telemetry).register(&mut registry);
        let state = Arc::new(Server {
            keys,
            telemetry,
            registry,
            at: self.at.map(jiff::Timestamp::as_second),
        });
        let timeout = Duration::from_secs(self.timeout);
        let app = router(state, timeout);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let shutdown = shutdown_signal()?;
            let listener = tokio::net::TcpListener::bind(self.listen)
                .await
                .with_context(|| format!("cannot listen on {}", self.listen))?;
            let local = listener.local_addr().context("cannot read the bound address")?;
            if !local.ip().is_loopback() {
                tracing::warn!(
                    address = %local,
                    "listening on a non-loopback address: the server has no authentication, so anyone who reaches it can use it"
                );
            }
            writeln!(io.stdout, "listening on {local}")
                .and_then(|()| io.stdout.flush())
                .context("cannot write to stdout")?;
            let limits = Limits {
                timeout,
                max_connections: self.max_connections as usize,
            };
            accept_loop(listener, app, limits, shutdown).await;
            anyhow::Ok(())
        })?;
        Ok(Outcome::Success)
    }
}

/// What every handler shares.
struct Server {
    keys: EffectiveKeyring<'static>,
    telemetry: Arc<Telemetry>,
    registry: Registry,
    /// `--at`: a fixed verification instant instead of the clock.
    at: Option<i64>,
}

impl Server {
    /// The verification instant: `--at`, or the clock now.
    fn now(&self) -> i64 {
        self.at.unwrap_or_else(|| Options::at_system_time().now)
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    max_connections: usize,
}

/// `{"error": code, "detail": text}`: every answer that is not a verdict, a keyring
/// or a trust answer.
#[derive(Debug, Serialize)]
struct ErrorJson<'a> {
    error: &'static str,
    detail: &'a str,
}

/// The body of a JSON verification request.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    license: String,
}

/// The answer of `/v1/keyring/trusts/{key}`.
#[derive(Debug, Serialize)]
struct TrustJson {
    trusted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<KeyView>,
}

fn router(state: Arc<Server>, timeout: Duration) -> Router {
    Router::new()
        .route("/v1/licenses/verify", post(verify))
        .route("/v1/keyring", get(keyring))
        .route("/v1/keyring/trusts/{key}", get(trusts))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .with_state(state)
}

/// Accepts connections until `shutdown`, at most `max_connections` at once, then
/// lets those in flight finish for at most `timeout`.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.timeout)
        .max_buf_size(32 * 1024);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, a connection reset before accept: wait
                    // a moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let stream = WriteDeadline::new(stream, limits.timeout);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // hyper's own text names the step ("error writing a body"), its source
                // the cause (a client that stopped reading, a reset).
                let error =
                    std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(": ");
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for the requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.timeout) => {
            tracing::warn!("requests still in flight at shutdown were cut off");
        }
    }
}

/// A connection's socket whose writes fail with [`io::ErrorKind::TimedOut`] once one
/// has waited `limit` without the client taking a byte. hyper has no write timeout of
/// its own: a client that sends requests and never reads the answers would otherwise
/// hold its connection, and one of the `--max-connections` slots, for ever. Reads are
/// left to hyper's header read timeout and the `deadline` layer.
struct WriteDeadline<T> {
    inner: T,
    limit: Duration,
    /// Armed when a write (or flush) could not go on; disarmed when one does.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    /// `poll`, the inner socket's answer, unless the socket has made no progress for
    /// `limit`.
    fn guard<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing of the answer for --timeout seconds",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}

/// Resolves on the first SIGTERM or SIGINT. Installed before the server says it is
/// listening, so a signal sent as soon as it is ready is never missed.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot install the SIGINT handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The body and the answer must come within the timeout (the headers already had
/// theirs, in hyper).
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = error(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body did not arrive in time",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

async fn verify(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                &format!("a request body is at most {MAX_BODY} bytes; a license is at most 4096"),
            );
        }
        Err(rejection) => {
            return error(rejection.status(), "bad_body", &rejection.body_text());
        }
    };
    let token = match license_of(&headers, &body) {
        Ok(token) => token,
        Err((code, detail)) => return error(StatusCode::BAD_REQUEST, code, &detail),
    };
    let verifier = server.keys.verifier(Options::at(server.now()));
    // The verifier logs each rejection with a detail that may quote part of the token:
    // muted here, and the server logs the result code and the key id instead.
    let result =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            server.telemetry.verify(&verifier, token.as_bytes())
        });
    let key = result
        .as_ref()
        .map(|l| l.fingerprint())
        .map_err(|r| r.kid)
        .map_or_else(|kid| kid, Some)
        .and_then(|fp| trusted_key(&server.keys, |k| k.fingerprint() == fp))
        .map_or("none", |(k, _)| k.id().as_str());
    let code = result.as_ref().map_or_else(|r| r.reason.code(), |_| "ok");
    tracing::info!(result = code, key, "license verification");
    let mut json = Vec::with_capacity(512);
    if let Err(e) = crate::license::json_line(&server.keys, &result, &mut json) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("{e:#}"),
        );
    }
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    json_response(status, json)
}

/// The license a request body carries: JSON `{"license": "..."}` when Content-Type is
/// `application/json` or the body starts with `{` (a token never does), otherwise the
/// body is the token; surrounding whitespace is ignored. `Err((code, detail))` for a
/// 400.
fn license_of<'b>(
    headers: &HeaderMap,
    body: &'b [u8],
) -> Result<Cow<'b, str>, (&'static str, String)> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        ("invalid_utf8", format!("the body is not UTF-8 (byte {at})"))
    })?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    let json = media_type.is_some_and(|m| m.eq_ignore_ascii_case("application/json"))
        || text.trim_start().starts_with('{');
    let license = if json {
        let request: VerifyRequest = serde_json::from_str(text).map_err(|e| {
            (
                "bad_json",
                format!("the body is not a JSON object {{\"license\": \"CAIO-v2...\"}}: {e}"),
            )
        })?;
        Cow::Owned(request.license.trim().to_owned())
    } else {
        Cow::Borrowed(text.trim())
    };
    if license.is_empty() {
        return Err((
            "empty_body",
            "give one license (CAIO-v2...) as the body, or {\"license\": \"...\"}".to_owned(),
        ));
    }
    Ok(license)
}

async fn keyring(State(server): State<Arc<Server>>) -> Response {
    match server.keys.embedded() {
        Ok(keyring) => {
            let view = caio_verify::report::keyring_view(keyring, server.keys.runtime_key());
            match serde_json::to_vec_pretty(&view) {
                Ok(json) => json_response(StatusCode::OK, json),
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    &e.to_string(),
                ),
            }
        }
        Err(e) => corrupt(e),
    }
}

async fn trusts(State(server): State<Arc<Server>>, Path(key): Path<String>) -> Response {
    let answer = match trust(&server.keys, &key, server.now()) {
        Ok((key, source)) => TrustJson {
            trusted: true,
            reason: None,
            key: Some(KeyView {
                source: Some(source.name().to_owned()),
                ..KeyView::of(key)
            }),
        },
        Err(reason) => TrustJson {
            trusted: false,
            reason: Some(reason),
            key: None,
        },
    };
    let status = if answer.trusted {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    match serde_json::to_vec(&answer) {
        Ok(json) => json_response(status, json),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// Whether `keys` trusts the key `query` names (an id, or a `sha256:` fingerprint) at
/// `now`: the key and its source, or why not.
fn trust<'k>(
    keys: &'k EffectiveKeyring<'_>,
    query: &str,
    now: i64,
) -> Result<(&'k TrustedKey, KeySource), &'static str> {
    let keyring = keys.embedded().map_err(|_| "keyring_corrupt")?;
    let (key, source) = if query.starts_with("sha256:") {
        let fingerprint: Fingerprint = query.parse().map_err(|_| "unknown_key")?;
        if keyring.is_revoked(&fingerprint) {
            return Err("revoked_key");
        }
        trusted_key(keys, |k| k.fingerprint() == fingerprint)
    } else {
        trusted_key(keys, |k| k.id().as_str() == query)
    }
    .ok_or("unknown_key")?;
    let window = key.validity();
    if now < window.not_before {
        Err("key_not_yet_valid")
    } else if now > window.not_after {
        Err("key_expired")
    } else {
        Ok((key, source))
    }
}

/// The first trusted key (embedded, then the runtime key) that `matches`.
fn trusted_key<'k>(
    keys: &'k EffectiveKeyring<'_>,
    matches: impl Fn(&TrustedKey) -> bool,
) -> Option<(&'k TrustedKey, KeySource)> {
    let embedded = keys
        .embedded()
        .ok()
        .into_iter()
        .flat_map(Keyring::keys)
        .map(|k| (k, KeySource::Embedded));
    let runtime = keys.runtime_key().map(|r| (r.key(), KeySource::Runtime));
    embedded.chain(runtime).find(|(k, _)| matches(k))
}

async fn metrics(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    let mut text = String::with_capacity(16 * 1024);
    let (content_type, encoded) = if wants_classic_text(&headers) {
        (
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::encode(&mut text, &server.registry),
        )
    } else {
        (
            OPENMETRICS,
            prometheus_client::encoding::text::encode(&mut text, &server.registry),
        )
    };
    if encoded.is_err() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "cannot encode the metrics",
        );
    }
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Whether the client asks for the Prometheus text format (0.0.4) rather than
/// OpenMetrics: its Accept names `text/plain` and not `application/openmetrics-text`.
fn wants_classic_text(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.contains("text/plain") && !accept.contains("application/openmetrics-text")
}

async fn healthz(State(server): State<Arc<Server>>) -> Response {
    match server.keys.embedded() {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "keyring_corrupt\n").into_response(),
    }
}

fn corrupt(error_: &DecodeError) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "keyring_corrupt",
        &format!("the keyring embedded in this binary failed its checks: {error_}"),
    )
}

fn error(status: StatusCode, code: &'static str, detail: &str) -> Response {
    let body = serde_json::to_vec(&ErrorJson {
        error: code,
        detail,
    })
    .unwrap_or_default();
    json_response(status, body)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests;
