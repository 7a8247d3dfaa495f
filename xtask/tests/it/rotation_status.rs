//! `cargo xtask rotation status`: the sunset decision on real evidence. A real
//! Prometheus (Debian's `/usr/bin/prometheus`, on loopback, scraping every second)
//! scrapes two real `caio-verify serve` deployments, built against two generated
//! keyrings (one trusting only the old key, one trusting the old and the new), and the
//! command reads its query API; `--scrape` reads the same deployments directly.
//!
//! Every wait polls a bounded number of times; nothing asserts on elapsed time. All
//! traffic stays on 127.0.0.1. Builds are debug builds of `caio-verify` in the tests'
//! shared target directory (`test_support::shared_target`), copied out to
//! `target/it-rotation/NAME/` while it is held.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use test_support::run::{assert_contains, workspace_root};
use xshell::cmd;

use crate::{Fixture, Key, POLICY, Run};

/// The key to retire, and its successor.
const OLD: Key<'static> = Key {
    id: "caio-old",
    seed: 41,
    windows: "not_before = 2026-01-01T00:00:00Z\nsign_until = 2026-06-01T00:00:00Z\nnot_after = 2027-06-01T00:00:00Z\n",
};
const NEW: Key<'static> = Key {
    id: "caio-new",
    seed: 42,
    windows: "not_before = 2026-05-01T00:00:00Z\nsign_until = 2027-05-01T00:00:00Z\nnot_after = 2027-08-01T00:00:00Z\n",
};

/// The instant the servers verify at and the manifest is judged at (`--at`, `--now`).
const AT: &str = "2026-07-01T00:00:00Z";

/// How often a wait polls, and how long it sleeps between polls.
const POLLS: usize = 120;
const POLL_PAUSE: Duration = Duration::from_millis(500);

/// The two verifier builds: trusting OLD only, and OLD and NEW.
struct Binaries {
    old_only: PathBuf,
    old_and_new: PathBuf,
}

/// Builds both binaries once per test process.
fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| Binaries {
        old_only: build("old-only", &[OLD]),
        old_and_new: build("old-and-new", &[OLD, NEW]),
    })
}

/// Writes the keyring of `keys` under `target/it-rotation/NAME/` (only when it
/// changed, so cargo sees the same inputs again) and builds `caio-verify` against it in
/// the shared target directory, copying it out beside the keyring.
fn build(name: &str, keys: &[Key<'_>]) -> PathBuf {
    let shared = test_support::shared_target::SharedTarget::lock();
    let base = workspace_root().join("target").join("it-rotation");
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).expect("keyring dir");
    let mut text = String::from("version = 1\nserial = 1\nchannel = \"production\"\n\n");
    text.push_str(POLICY);
    let scratch = tempfile::tempdir().expect("tempdir");
    text.push_str(&test_support::keyring::write_seed_keys(
        scratch.path(),
        keys,
    ));
    for entry in std::fs::read_dir(scratch.path()).expect("pems").flatten() {
        write_if_changed(
            &dir.join(entry.file_name()),
            &std::fs::read(entry.path()).expect("pem"),
        );
    }
    let manifest = dir.join("keyring.toml");
    write_if_changed(&manifest, text.as_bytes());

    let sh = xshell::Shell::new().expect("shell");
    sh.change_dir(workspace_root());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = cmd!(
        sh,
        "{cargo} build --locked -p caio-cli --bin caio-verify --message-format=json-render-diagnostics"
    )
    .env("CAIO_KEYRING", &manifest)
    .env("CARGO_TARGET_DIR", shared.dir())
    .quiet()
    .ignore_status()
    .output()
    .expect("cargo build runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = test_support::run::built_executable(&stdout, "caio-verify")
        .expect("cargo built caio-verify");
    let copy = dir.join("caio-verify");
    std::fs::copy(&exe, &copy).expect("copy caio-verify");
    copy
}

fn write_if_changed(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).expect("write");
    }
}

/// A running `caio-verify serve` on a loopback port; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(exe: &Path) -> Self {
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--at", AT])
            .env_remove("CAIO_LICENSE_PUBLIC_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start caio-verify serve");
        let addr = test_support::run::listening_address(&mut child);
        Self { child, addr }
    }

    fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// POSTs `token` to the verify route with `curl`; returns the HTTP status.
    fn verify(&self, token: &str) -> String {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["--data-binary", token])
            .arg(format!("http://{}/v1/licenses/verify", self.addr))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus on a loopback port, scraping the given deployments every second, with
/// its data in a temporary directory; killed when dropped.
struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets`: (stable instance label, address).
    fn start(targets: &[(&str, &str)]) -> Self {
        let mut dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("prometheus.yml"), config_text(targets)).expect("config");
        // The port may be taken between choosing and binding it: try a few.
        for _attempt in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
            let child = Command::new("/usr/bin/prometheus")
                .arg(format!(
                    "--config.file={}",
                    dir.path().join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start /usr/bin/prometheus");
            let mut prometheus = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                dir,
            };
            if prometheus.wait_ready() {
                return prometheus;
            }
            let _ = prometheus.child.kill();
            let _ = prometheus.child.wait();
            let log = std::fs::read_to_string(prometheus.dir.path().join("prometheus.log"));
            eprintln!(
                "prometheus did not start on port {port}: {}",
                log.unwrap_or_default()
            );
            dir = std::mem::replace(&mut prometheus.dir, tempfile::tempdir().expect("tempdir"));
        }
        panic!("prometheus did not start in three attempts");
    }

    /// Polls `/-/ready` until 200, or the process exits.
    fn wait_ready(&mut self) -> bool {
        for _ in 0..POLLS {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let out = Command::new("curl")
                .args([
                    "-s",
                    "--max-time",
                    "5",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .arg(format!("{}/-/ready", self.url))
                .output()
                .expect("run curl");
            if out.stdout == b"200" {
                return true;
            }
            std::thread::sleep(POLL_PAUSE);
        }
        false
    }

    /// Rewrites the scrape config to `targets` and reloads it with SIGHUP.
    fn retarget(&self, targets: &[(&str, &str)]) {
        std::fs::write(self.dir.path().join("prometheus.yml"), config_text(targets))
            .expect("config");
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "SIGHUP to prometheus");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scrape config: one job, `caio`, one static target per deployment, each with a
/// stable `instance` label, so a replaced deployment stays the same deployment.
fn config_text(targets: &[(&str, &str)]) -> String {
    let mut text = String::from(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: caio\n    static_configs:\n",
    );
    for (instance, addr) in targets {
        text.push_str(&format!(
            "      - targets: ['{addr}']\n        labels:\n          instance: '{instance}'\n"
        ));
    }
    text
}

/// A loopback port nothing listens on (just now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The xtask manifest: OLD and NEW, as the rotation left it.
fn fixture() -> Fixture {
    Fixture::new(POLICY, &[OLD, NEW])
}

/// The manifest, and a fleet halfway through the rotation: deployment a trusts OLD
/// only, b trusts OLD and NEW.
fn half_rotated() -> (Fixture, Server, Server) {
    let bins = binaries();
    let a = Server::start(&bins.old_only);
    let b = Server::start(&bins.old_and_new);
    (fixture(), a, b)
}

/// The command every test asks about: may caio-old retire at AT?
const STATUS: [&str; 6] = ["rotation", "status", "--retire", OLD.id, "--now", AT];

/// [`STATUS`] plus `evidence`: the report for people.
fn human_status(f: &Fixture, evidence: &[&str]) -> Run {
    f.xtask(&[&STATUS[..], evidence].concat())
}

/// [`STATUS`] `--json` plus `evidence`: the run and its JSON (Null when stdout is not
/// JSON).
fn status(f: &Fixture, evidence: &[&str]) -> (Run, Value) {
    let run = f.xtask(&[&STATUS[..], &["--json"], evidence].concat());
    let json = serde_json::from_str(run.stdout.trim()).unwrap_or(Value::Null);
    (run, json)
}

/// Polls `status` until `done` holds of its run and JSON; panics with the last run
/// when it never does.
fn poll(f: &Fixture, evidence: &[&str], what: &str, done: impl Fn(&Run, &Value) -> bool) -> Value {
    eventually(what, || status(f, evidence), done).1
}

/// Polls [`human_status`] until `done` holds of its run. Prometheus's answer moves with
/// every scrape (one that times out makes a deployment not reporting for a moment), so
/// a report is asked for until it shows the state the test set up, like [`poll`].
fn poll_human(f: &Fixture, evidence: &[&str], what: &str, done: impl Fn(&Run) -> bool) -> Run {
    eventually(
        what,
        || (human_status(f, evidence), ()),
        |run, ()| done(run),
    )
    .0
}

/// Runs `attempt` until `done` holds of what it gave, at most [`POLLS`] times.
fn eventually<T>(
    what: &str,
    attempt: impl Fn() -> (Run, T),
    done: impl Fn(&Run, &T) -> bool,
) -> (Run, T) {
    let mut last = None;
    for _ in 0..POLLS {
        let (run, value) = attempt();
        if done(&run, &value) {
            return (run, value);
        }
        last = Some(run);
        std::thread::sleep(POLL_PAUSE);
    }
    panic!("never {what}; last run: {last:#?}");
}

fn codes(json: &Value) -> Vec<&str> {
    json["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default()
}

/// A license signed by OLD, issued inside its signing window, expiring before OLD's
/// `not_after` (so the keyring carries it as long as OLD stays).
fn old_license(lid: &str) -> String {
    let kid: caio_keyring::Fingerprint = test_support::keys::fingerprint(OLD.seed)
        .parse()
        .expect("fingerprint");
    let mut claims = caio_verify::Claims::new(
        kid,
        lid,
        "Example Corp",
        crate::unix("2026-03-01T00:00:00Z"),
    );
    claims.exp = Some(crate::unix("2027-01-01T00:00:00Z"));
    claims.sign(&test_support::keyring::signing_key([OLD.seed; 32]))
}

#[test]
fn prometheus_evidence_decides_as_the_fleet_moves() {
    let (f, a, b) = half_rotated();
    let prometheus = Prometheus::start(&[("deployment-a", &a.addr), ("deployment-b", &b.addr)]);
    let evidence = ["--prometheus", prometheus.url.as_str()];

    // Both deployments scraped: half the fleet trusts NEW.
    let json = poll(&f, &evidence, "two deployments reporting", |run, json| {
        run.code == 1
            && json["evidence"][0]["coverage"]["total"] == 2
            && json["evidence"][0]["deployments"]
                .as_array()
                .is_some_and(|d| d.iter().all(|d| d["reporting"] == true))
    });
    assert_eq!(json["ready"], false);
    assert_eq!(json["evidence"][0]["coverage"]["percent"], 50.0);
    assert_eq!(codes(&json), ["coverage"], "{json:#}");
    let coverage = "coverage 50.0% (1 of 2 deployments trust a successor)";
    let run = poll_human(&f, &evidence, "a report of half the fleet", |run| {
        run.code == 1 && run.stdout.contains(coverage)
    });
    assert_contains(&run.stdout, "caio/deployment-a: NOT covered");
    assert_contains(&run.stdout, "not ready to retire caio-old");
    // A lower bar is met by the same evidence.
    poll(
        &f,
        &["--prometheus", &prometheus.url, "--min-coverage", "50"],
        "ready at a 50% bar",
        |run, json| run.code == 0 && json["evidence"][0]["coverage"]["percent"] == 50.0,
    );

    // Deployment a is replaced by a build that trusts NEW too: stop it, start the new
    // one, point the same deployment at it and reload Prometheus.
    drop(a);
    let a2 = Server::start(&binaries().old_and_new);
    prometheus.retarget(&[("deployment-a", &a2.addr), ("deployment-b", &b.addr)]);
    let json = poll(&f, &evidence, "ready after the replacement", |run, _| {
        run.code == 0
    });
    assert_eq!(json["evidence"][0]["coverage"]["percent"], 100.0);
    let run = poll_human(&f, &evidence, "a ready report", |run| run.code == 0);
    assert_contains(&run.stdout, "ready to retire caio-old");

    // A license by OLD verified in the fleet: OLD is still needed.
    assert_eq!(b.verify(&old_license("L-old")), "200");
    let json = poll(&f, &evidence, "not ready for dependence", |run, json| {
        run.code == 1 && codes(json) == ["dependence"]
    });
    assert!(
        json["evidence"][0]["dependence"]["ok"].as_f64() > Some(0.0),
        "{json:#}"
    );
    assert_eq!(json["evidence"][0]["dependence"]["scope"], "window");

    // Deployment b stops: it reported within the window, so it counts as not covered.
    drop(b);
    let json = poll(
        &f,
        &evidence,
        "a stopped deployment not covered",
        |run, json| run.code == 1 && json["evidence"][0]["coverage"]["covered"] == 1,
    );
    assert_eq!(json["evidence"][0]["coverage"]["total"], 2, "{json:#}");
    drop(a2);
}

#[test]
fn scrape_reads_the_same_coverage_from_the_deployments() {
    let (f, a, b) = half_rotated();
    let (run, json) = status(&f, &["--scrape", &a.metrics_url(), &b.metrics_url()]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(json["evidence"][0]["kind"], "scrape");
    assert_eq!(json["evidence"][0]["coverage"]["percent"], 50.0);
    assert_eq!(codes(&json), ["coverage"]);

    // Two builds trusting NEW: ready; the flag may also be repeated.
    let c = Server::start(&binaries().old_and_new);
    let (run, json) = status(
        &f,
        &["--scrape", &b.metrics_url(), "--scrape", &c.metrics_url()],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(json["ready"], true);

    // Since start, a verification by OLD is dependence; and so is an outstanding
    // license only OLD verifies.
    let token = old_license("L-1");
    assert_eq!(c.verify(&token), "200");
    let licenses = f.path().join("outstanding.txt");
    std::fs::write(&licenses, format!("{token}\n")).expect("licenses");
    let (run, json) = status(
        &f,
        &[
            "--scrape",
            &b.metrics_url(),
            &c.metrics_url(),
            "--licenses",
            crate::path(&licenses),
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert_eq!(
        codes(&json),
        ["dependence", "outstanding_licenses"],
        "{json:#}"
    );
    assert_eq!(json["evidence"][0]["dependence"]["scope"], "since_start");
    assert_eq!(json["licenses"]["need_old"][0]["line"], 1);
}

#[test]
fn unreachable_or_missing_evidence_is_exit_2() {
    let f = fixture();
    // Port 1: privileged, so nothing a test or a build starts can listen there (a port
    // chosen free a moment ago could be taken again by the time it is asked).
    let closed = "http://127.0.0.1:1".to_owned();
    for evidence in [
        vec!["--prometheus", closed.as_str()],
        vec!["--scrape", &format!("{closed}/metrics")],
    ] {
        let (run, _) = status(&f, &evidence);
        let run = run.expect(2);
        assert_contains(&run.stderr, "unreachable");
        assert!(!run.stdout.contains("ready"), "{run:#?}");
    }
    // Without evidence the manifest alone never says ready: a usage error.
    let (run, _) = status(&f, &[]);
    run.expect(2);
    // TLS is not built in, and an unknown key is a usage error too.
    let (run, _) = status(&f, &["--prometheus", "https://127.0.0.1:1"]);
    assert_contains(&run.expect(2).stderr, "only http://");
    let run = f
        .xtask(&[
            "rotation",
            "status",
            "--retire",
            "caio-nope",
            "--prometheus",
            &closed,
        ])
        .expect(2);
    assert_contains(&run.stderr, "no key \"caio-nope\" to retire");
}
