//! `caio-verify serve`: the fixture's binary serving on a loopback port the
//! system chose, spoken to with `curl`, its metrics checked by `promtool` and by the
//! reference OpenMetrics parser (Debian's `python3-prometheus-client`), a slow client
//! on a raw socket, and signals.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::fixture;
use crate::support::{Key, find_block, openssl_license, run, run_with_key, unix};

/// The instant every server and `license --at` here verify at.
const AT: &str = "2026-07-01T00:00:00Z";

/// A running `caio-verify serve`, killed if a test ends without stopping it.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    /// Starts `exe serve --listen 127.0.0.1:0` plus `extra` (and `--at AT` unless
    /// `extra` has an `--at`), with debug logs,
    /// and waits for its `listening on ADDR` line.
    fn start(exe: &Path, extra: &[&str], runtime_key: Option<&str>) -> Self {
        let mut command = Command::new(exe);
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(if extra.contains(&"--at") {
                &[][..]
            } else {
                &["--at", AT][..]
            })
            .args(extra)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match runtime_key {
            Some(key) => command.env("CAIO_LICENSE_PUBLIC_KEY", key),
            None => command.env_remove("CAIO_LICENSE_PUBLIC_KEY"),
        };
        let mut child = command.spawn().expect("start caio-verify serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                sink.lock()
                    .expect("stderr buffer")
                    .extend_from_slice(&buf[..n]);
            }
        });
        let addr = test_support::run::listening_address(&mut child);
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Self {
            child,
            addr,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `curl` with `args` on `path`: (status, content type, body).
    fn curl(&self, path: &str, args: &[&str]) -> (u16, String, String) {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "-w",
                "\n%{http_code}\n%{content_type}",
            ])
            .args(args)
            .arg(self.url(path))
            .output()
            .expect("run curl");
        let text = String::from_utf8(out.stdout).expect("UTF-8 answer");
        let mut parts = text.rsplitn(3, '\n');
        let content_type = parts.next().unwrap_or_default().to_owned();
        let status = parts.next().unwrap_or_default().parse().unwrap_or(0);
        let body = parts.next().unwrap_or_default().to_owned();
        (status, content_type, body)
    }

    /// POSTs `body` (bytes, from a file) to the verify route, with extra curl args.
    fn post(&self, body: &[u8], args: &[&str]) -> (u16, Value) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("body");
        std::fs::write(&file, body).expect("write body");
        let data = format!("@{}", file.display());
        let mut all = vec!["--data-binary", data.as_str()];
        all.extend_from_slice(args);
        let (status, content_type, text) = self.curl("/v1/licenses/verify", &all);
        assert_eq!(content_type, "application/json", "{status} {text}");
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
        (status, value)
    }

    /// `/metrics` as OpenMetrics (the default).
    fn metrics(&self) -> String {
        let (status, content_type, text) = self.curl("/metrics", &[]);
        assert_eq!(status, 200, "{text}");
        assert_eq!(
            content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        text
    }

    /// Sends `signal` (a `kill` name) and returns the exit code and all of stderr.
    fn stop(mut self, signal: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let code = self.child.wait().expect("wait for the server").code();
        // The reader thread ends with the pipe; give it the last bytes.
        std::thread::sleep(Duration::from_millis(100));
        let stderr = String::from_utf8_lossy(&self.stderr.lock().expect("stderr")).into_owned();
        (code, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn license(signer: &Key, kid: &str, lid: &str) -> String {
    openssl_license(
        signer,
        &json!({
            "kid": kid,
            "lid": lid,
            "sub": "Example Corp",
            "iat": unix("2026-06-01T00:00:00Z"),
            "seats": 5,
        }),
    )
}

/// The sum of `caio_license_verifications_total` samples matching `filter`, and how
/// many series there are.
fn verifications(metrics: &str, filter: &str) -> (u64, usize) {
    let series: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("caio_license_verifications_total{"))
        .collect();
    let sum = series
        .iter()
        .filter(|l| l.contains(filter))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .unwrap_or_default()
                .parse::<u64>()
                .expect("count")
        })
        .sum();
    (sum, series.len())
}

#[test]
fn verify_answers_as_license_json_with_200_or_422() {
    let f = fixture();
    let server = Server::start(&f.exe, &[], None);
    let good = license(&f.active, &f.active.fingerprint, "L-good");

    // The very `license --json` line, as text and as JSON.
    let cli = run(&f.exe, &["license", &good, "--json", "--at", AT], "");
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    let expected: Value = serde_json::from_str(cli.stdout.trim()).expect("license --json");
    let (status, answer) = server.post(format!("{good}\n").as_bytes(), &[]);
    assert_eq!((status, &answer), (200, &expected));
    let body = serde_json::to_vec(&json!({ "license": good })).expect("json");
    assert_eq!(
        server
            .post(&body, &["-H", "Content-Type: application/json"])
            .0,
        200
    );
    assert_eq!(server.post(&body, &[]).0, 200);

    // A forgery: the active key's kid, the stranger's signature.
    let forged = license(&f.stranger, &f.active.fingerprint, "L-forged");
    let cli = run(&f.exe, &["license", &forged, "--json", "--at", AT], "");
    let expected: Value = serde_json::from_str(cli.stdout.trim()).expect("license --json");
    let (status, answer) = server.post(forged.as_bytes(), &[]);
    assert_eq!((status, &answer), (422, &expected));
    assert_eq!(answer["reason"], "bad_signature");
    assert_eq!(answer["payload"], Value::Null);
    let (status, answer) = server.post(
        license(&f.revoked, &f.revoked.fingerprint, "L").as_bytes(),
        &[],
    );
    assert_eq!(
        (status, answer["reason"].as_str()),
        (422, Some("revoked_key"))
    );
    let (status, answer) = server.post(b"not a license", &[]);
    assert_eq!(
        (status, answer["reason"].as_str()),
        (422, Some("bad_prefix"))
    );
}

#[test]
fn malformed_and_oversized_requests_are_refused_with_a_json_error() {
    let f = fixture();
    let server = Server::start(&f.exe, &[], None);
    let json = ["-H", "Content-Type: application/json"];
    let big = vec![b'A'; 16 * 1024 + 1];
    let chunked = ["-H", "Transfer-Encoding: chunked"];
    for (body, args, status, error) in [
        (&big[..], &[][..], 413, "body_too_large"),
        (&big[..], &chunked[..], 413, "body_too_large"),
        (b"CAIO-v2.\xff\xfe.x", &[][..], 400, "invalid_utf8"),
        (b"{\"license\": \"CAIO-v2.a", &[][..], 400, "bad_json"),
        (b"CAIO-v2.a.b", &json[..], 400, "bad_json"),
        (b"{\"licence\": \"CAIO-v2.a.b\"}", &[][..], 400, "bad_json"),
        (b"{\"license\": 7}", &[][..], 400, "bad_json"),
        (b"\r\n", &[][..], 400, "empty_body"),
    ] {
        let (got, answer) = server.post(body, args);
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{answer}"
        );
    }
    // A body of exactly the limit is read (and judged).
    let (status, answer) = server.post(&big[1..], &[]);
    assert_eq!((status, answer["reason"].as_str()), (422, Some("too_long")));
    // Nothing refused was counted as a verification.
    assert_eq!(verifications(&server.metrics(), "").0, 1);
}

#[test]
fn keyring_and_trust_answers_follow_the_embedded_keyring() {
    let f = fixture();
    // Under the fixture's `deny` policy a runtime key is ignored, as by `keyring`.
    let stranger_pem = std::fs::read_to_string(&f.stranger.public).expect("stranger pem");
    let server = Server::start(&f.exe, &[], Some(&stranger_pem));
    let cli = run_with_key(&f.exe, &["keyring", "--json"], "", Some(&stranger_pem));
    let expected: Value = serde_json::from_str(&cli.stdout).expect("keyring --json");
    let (status, content_type, body) = server.curl("/v1/keyring", &[]);
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        expected
    );
    assert!(
        expected["fingerprint"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sha256:")
    );

    for (key, status, reason) in [
        ("caio-active", 200, None),
        (f.active.fingerprint.as_str(), 200, None),
        ("caio-old", 404, Some("unknown_key")),
        (f.revoked.fingerprint.as_str(), 404, Some("revoked_key")),
        (f.stranger.fingerprint.as_str(), 404, Some("unknown_key")),
        ("nobody", 404, Some("unknown_key")),
    ] {
        let (got, _, body) = server.curl(&format!("/v1/keyring/trusts/{key}"), &[]);
        let answer: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(got, status, "{key}: {answer}");
        assert_eq!(answer["trusted"], status == 200, "{key}: {answer}");
        assert_eq!(answer["reason"].as_str(), reason, "{key}: {answer}");
        if status == 200 {
            assert_eq!(answer["key"]["fingerprint"], f.active.fingerprint.as_str());
            assert_eq!(answer["key"]["source"], "embedded");
        }
    }
    assert_eq!(
        server.curl("/healthz", &[]),
        (200, "text/plain; charset=utf-8".into(), "ok\n".into())
    );
    let (code, stderr) = server.stop("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("denied"), "{stderr}");
}

#[test]
fn the_key_window_decides_trust_at_the_instant() {
    let f = fixture();
    let after = Server::start(&f.exe, &["--at", "2027-06-01T00:00:01Z"], None);
    let (status, _, body) = after.curl("/v1/keyring/trusts/caio-active", &[]);
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"trusted":false,"reason":"key_expired"}"#)
    );
    let before = Server::start(&f.exe, &["--at", "2025-12-31T23:59:59Z"], None);
    let (status, _, body) = before.curl("/v1/keyring/trusts/caio-active", &[]);
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"trusted":false,"reason":"key_not_yet_valid"}"#)
    );
}

#[test]
fn metrics_keep_a_fixed_label_set_whatever_the_kids_and_pass_promtool() {
    let f = fixture();
    let server = Server::start(&f.exe, &[], None);
    let before = server.metrics();
    let (zero, series) = verifications(&before, "");
    assert_eq!(zero, 0);
    // 18 results × (1 embedded key + none).
    assert_eq!(series, 18 * 2, "{before}");
    for line in [
        format!(
            "caio_key_info{{key=\"caio-active\",fingerprint=\"{}\",source=\"embedded\"}} 1",
            f.active.fingerprint
        ),
        format!(
            "caio_key_not_after_timestamp_seconds{{key=\"caio-active\"}} {}",
            unix("2027-06-01T00:00:00Z")
        ),
        "caio_license_last_success_timestamp_seconds{key=\"caio-active\"} 0".to_owned(),
    ] {
        assert!(before.lines().any(|l| l == line), "{line}\n{before}");
    }
    assert!(
        before.contains("caio_keyring_info{keyring=\"sha256:"),
        "{before}"
    );

    // 12 forged kids, one per random fingerprint, two good licenses, one forgery.
    let forged_kids = 12;
    for n in 0..forged_kids {
        let kid = format!("sha256:{:064x}", 0xdead_beef_u64 + n);
        assert_eq!(
            server
                .post(license(&f.stranger, &kid, "L").as_bytes(), &[])
                .0,
            422
        );
    }
    for lid in ["L-1", "L-2"] {
        assert_eq!(
            server
                .post(
                    license(&f.active, &f.active.fingerprint, lid).as_bytes(),
                    &[]
                )
                .0,
            200
        );
    }
    assert_eq!(
        server
            .post(
                license(&f.stranger, &f.active.fingerprint, "L").as_bytes(),
                &[]
            )
            .0,
        422
    );

    let after = server.metrics();
    let labels = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("caio_license_verifications_total{"))
            .map(|l| {
                l.rsplit_once(' ')
                    .map_or(l, |(labels, _)| labels)
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(labels(&before), labels(&after), "the label set moved");
    assert_eq!(verifications(&after, "").0, 15);
    assert_eq!(
        verifications(&after, "result=\"unknown_key\",key=\"none\"").0,
        forged_kids
    );
    assert_eq!(
        verifications(&after, "result=\"ok\",key=\"caio-active\"").0,
        2
    );
    assert_eq!(
        verifications(&after, "result=\"bad_signature\",key=\"caio-active\"").0,
        1
    );
    assert!(
        after.contains(&format!(
            "caio_license_last_success_timestamp_seconds{{key=\"caio-active\"}} {}",
            unix(AT)
        )),
        "{after}"
    );
    // Each forged kid in full: a bare "deadbeef" could be part of a random fingerprint.
    for n in 0..forged_kids {
        let kid = format!("{:064x}", 0xdead_beef_u64 + n);
        assert!(!after.contains(&kid), "a kid became a label: {after}");
    }

    // The reference OpenMetrics parser accepts the default answer...
    let parsed = pipe(
        "/usr/bin/python3",
        &[
            "-c",
            "import sys; from prometheus_client.openmetrics.parser import text_string_to_metric_families as p; print(sum(len(f.samples) for f in p(sys.stdin.read())))",
        ],
        &after,
        "python3-prometheus-client",
    );
    assert_eq!(parsed.0, Some(0), "{}", parsed.1);
    // ...and promtool lints the Prometheus text format the same route gives to a
    // client that asks for text/plain (promtool reads that format, not OpenMetrics).
    let (status, content_type, classic) =
        server.curl("/metrics", &["-H", "Accept: text/plain; version=0.0.4"]);
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(labels(&classic), labels(&after));
    let linted = pipe("promtool", &["check", "metrics"], &classic, "prometheus");
    assert_eq!(linted.0, Some(0), "promtool: {}\n{classic}", linted.1);
}

/// Runs `program args` with `input` on stdin: (exit code, stdout and stderr). Fails,
/// naming the Debian package, when the program is missing.
fn pipe(program: &str, args: &[&str], input: &str, package: &str) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} is missing ({e}): apt-get install {package} (.ci/run does)")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn a_client_trickling_headers_is_cut_off_and_others_are_still_served() {
    let f = fixture();
    let server = Server::start(&f.exe, &["--timeout", "1"], None);
    let mut slow = TcpStream::connect(&server.addr).expect("connect");
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n{}",
        "X-Slow: 1\r\n".repeat(100)
    );
    // At most 1200 bytes, 50 ms apart: a minute if never cut off; the server's timeout
    // is 1 s.
    let mut sent = 0;
    for byte in request.bytes() {
        if slow.write_all(&[byte]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        sent < request.len(),
        "the server read a whole trickled header"
    );
    // The server closed it: end of stream (or a reset), and no answer.
    let mut rest = Vec::new();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = slow.read_to_end(&mut rest);
    assert!(
        !String::from_utf8_lossy(&rest).contains("200 OK"),
        "{rest:?}"
    );
    assert_eq!(server.curl("/healthz", &[]).0, 200);
    let (code, stderr) = server.stop("INT");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_client_that_never_reads_its_answers_is_cut_off_and_frees_its_slot() {
    let f = fixture();
    // One connection at a time: while the stalled client holds it, nobody else is served.
    let server = Server::start(&f.exe, &["--timeout", "1", "--max-connections", "1"], None);
    let stalled = TcpStream::connect(&server.addr).expect("connect");
    // 200k pipelined requests whose answers (the keyring, hundreds of bytes each) are
    // never read: far more than the socket buffers of both ends hold, so the server's
    // writes stop. Written from a thread, whose writes block in turn once the server
    // stops reading; it ends when the server closes the connection.
    let mut writer = stalled.try_clone().expect("clone the socket");
    std::thread::spawn(move || {
        let request = b"GET /v1/keyring HTTP/1.1\r\nHost: x\r\n\r\n";
        for _ in 0..200_000 {
            if writer.write_all(request).is_err() {
                return;
            }
        }
    });
    // The next client is served once the stalled one is cut off (1 s after the
    // server's writes stop), not never. `stalled` stays open meanwhile.
    let (status, _, body) = server.curl("/healthz", &["--max-time", "60"]);
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    drop(stalled);
    let (code, stderr) = server.stop("INT");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("the client took nothing of the answer for --timeout seconds"),
        "{stderr}"
    );
}

#[test]
fn a_bounded_burst_is_answered_and_counted_and_sigterm_exits_0_logging_no_token() {
    let f = fixture();
    let server = Server::start(&f.exe, &[], None);
    let good = license(&f.active, &f.active.fingerprint, "L-burst");
    let forged = license(&f.stranger, &f.active.fingerprint, "L-forged");
    // 200 requests over at most 8 parallel connections, in one curl; `next` separates
    // the requests' options.
    let dir = tempfile::tempdir().expect("tempdir");
    let (good_file, forged_file) = (dir.path().join("good"), dir.path().join("forged"));
    std::fs::write(&good_file, &good).expect("write");
    std::fs::write(&forged_file, &forged).expect("write");
    let url = server.url("/v1/licenses/verify");
    let config: String = (0..200)
        .map(|n| {
            let file = if n % 4 == 0 { &forged_file } else { &good_file };
            format!(
                "url = \"{url}\"\ndata-binary = \"@{}\"\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}}\\n\"\nsilent\nshow-error\nmax-time = 60\n",
                file.display()
            )
        })
        .collect::<Vec<_>>()
        .join("next\n");
    let config_file = dir.path().join("curl.conf");
    std::fs::write(&config_file, config).expect("write");
    let out = Command::new("curl")
        .args(["--parallel", "--parallel-max", "8", "-K"])
        .arg(&config_file)
        .output()
        .expect("run curl");
    let codes = String::from_utf8_lossy(&out.stdout);
    let count = |code: &str| codes.lines().filter(|l| *l == code).count();
    assert_eq!((count("200"), count("422")), (150, 50), "{codes}");
    let metrics = server.metrics();
    assert_eq!(
        verifications(&metrics, "result=\"ok\",key=\"caio-active\"").0,
        150
    );
    assert_eq!(
        verifications(&metrics, "result=\"bad_signature\",key=\"caio-active\"").0,
        50
    );

    let (code, stderr) = server.stop("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("license verification"),
        "logs were off: {stderr}"
    );
    for token in [&good, &forged] {
        for part in token.split('.').skip(1) {
            assert!(!stderr.contains(part), "a token part was logged: {stderr}");
        }
    }
}

#[test]
fn a_corrupt_embedded_keyring_is_unhealthy_and_trusts_nothing() {
    let f = fixture();
    let mut bytes = std::fs::read(&f.exe).expect("read the binary");
    let (start, len) = find_block(&bytes);
    bytes[start + len / 2] ^= 1;
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("caio-verify-corrupt");
    std::fs::write(&exe, &bytes).expect("write the patched binary");
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let server = Server::start(&exe, &[], None);
    assert_eq!(server.curl("/healthz", &[]).0, 503);
    assert_eq!(server.curl("/healthz", &[]).2, "keyring_corrupt\n");
    let (status, _, body) = server.curl("/v1/keyring", &[]);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"error\":\"keyring_corrupt\""), "{body}");
    let (status, _, _) = server.curl("/v1/keyring/trusts/caio-active", &[]);
    assert_eq!(status, 404);
    let good = license(&f.active, &f.active.fingerprint, "L");
    let (status, answer) = server.post(good.as_bytes(), &[]);
    assert_eq!(
        (status, answer["reason"].as_str()),
        (422, Some("keyring_corrupt"))
    );
    let metrics = server.metrics();
    assert_eq!(
        verifications(&metrics, "result=\"keyring_corrupt\",key=\"none\"").0,
        1
    );
    assert!(!metrics.contains("caio_keyring_info{"), "{metrics}");
}
