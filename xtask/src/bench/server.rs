//! The status server's figures of `cargo xtask bench`: licenses verified per second by
//! `caio-verify serve` over HTTP keep-alive, next to `caio-verify license -` on the same
//! licenses in the same run, its p99 latency, its peak RSS under that load, and where the
//! machine's CPU went meanwhile (the server's user and kernel time, wrk and the rest, idle:
//! what bounds the rate).
//!
//! The server is started on `127.0.0.1:0` (it prints the address it bound), waited for
//! on `/healthz`, and loaded by `wrk` on loopback for a fixed time, with a fixed number
//! of keep-alive connections (below the server's `--max-connections`). A Lua script makes
//! wrk POST a bounded set of distinct valid bench licenses in turn, so no answer can be a
//! repeat of the one before. wrk and the server share the machine's cores, as a sidecar
//! and the product calling it would. Then the same load with forged licenses (the bench
//! key's id, signed by another key): what a rejection costs.
//!
//! A figure is only reported when every answer was the one expected: wrk's error counts
//! (statuses of 400 and above, socket errors) and the server's own counters
//! (`caio_license_verifications_total`, read from `/metrics` before and after) must
//! agree, or the run is an error. The server is stopped with SIGTERM on every path (a
//! guard), and killed if it does not exit in time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use caio_verify::license::BASE64URL;
use ed25519_dalek::{Signer as _, SigningKey};

use super::{Met, Row};

/// The shape of one load: bounded in time and in connections, on loopback only.
#[derive(Debug, Clone, Copy)]
pub(super) struct Load {
    /// How long wrk sends requests.
    pub seconds: u32,
    /// wrk's threads: one per core of the bench machine.
    pub threads: u32,
    /// Keep-alive connections, at most [`MAX_CONNECTIONS`].
    pub connections: u32,
    /// Distinct licenses the script sends in turn.
    pub licenses: usize,
}

/// What `wrk --latency` reports of one run.
#[derive(Debug, Clone, PartialEq)]
struct WrkReport {
    /// Responses received (`N requests in ...`).
    requests: u64,
    /// `Requests/sec:`.
    per_sec: f64,
    /// `Latency Distribution`: (percent, seconds), as wrk lists them.
    latency: Vec<(f64, f64)>,
    /// `Non-2xx or 3xx responses:`, which wrk counts as statuses of 400 and above.
    error_status: u64,
    /// `Socket errors:` connect, read, write and timeout.
    socket_errors: SocketErrors,
}

/// wrk's socket error counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SocketErrors {
    connect: u64,
    read: u64,
    write: u64,
    timeout: u64,
}

/// The server's verification counters (`caio_license_verifications_total`), by result
/// (`ok` or a reason code), summed over keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Verdicts(BTreeMap<String, u64>);

/// CPU time counters at one instant, in the kernel's clock ticks (`USER_HZ`, the unit of
/// both files they come from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CpuTicks {
    /// The server's user time, all threads (`utime` of `/proc/PID/stat`).
    server_user: u64,
    /// The server's kernel time, all threads (`stime`), which includes the loopback TCP
    /// work the kernel does on its behalf.
    server_kernel: u64,
    /// Every CPU's busy time (`/proc/stat`: user, nice, system, irq, softirq, steal).
    busy: u64,
    /// Every CPU's idle time (`/proc/stat`: idle, iowait).
    idle: u64,
}

/// Where the machine's CPU went during a load, in cores: CPU seconds per second, summed
/// over the machine's `cores`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CpuSplit {
    cores: usize,
    server_user: f64,
    server_kernel: f64,
    /// Busy time not the server's: wrk, mostly.
    others: f64,
    idle: f64,
}

/// What the loads of the server measured.
pub(super) struct Figures {
    load: Load,
    /// Valid licenses: every answer a 200.
    valid: WrkReport,
    /// Forged licenses: every answer a 422 `bad_signature`.
    forged: WrkReport,
    /// RSS once the server answered `/healthz`, before any load.
    idle_rss_kib: u64,
    /// VmHWM after the load of valid licenses.
    peak_rss_kib: u64,
    /// The machine's CPU during the load of valid licenses.
    cpu: CpuSplit,
}

/// A running `caio-verify serve`. Dropping it stops the server (SIGTERM, a bounded
/// wait, then SIGKILL), so no way out of the bench, an error included, leaves it running.
struct Serving {
    child: Option<Child>,
    addr: SocketAddr,
    /// The server's stderr, shown when something goes wrong.
    log: PathBuf,
}

/// The server's `--max-connections`: above any [`Load`]'s connections, so none waits
/// to be accepted.
const MAX_CONNECTIONS: u32 = 64;
/// How long the server has to say where it listens, and then to answer `/healthz`.
const START_WAIT: Duration = Duration::from_secs(10);
/// How long the server has to exit after SIGTERM (it has no request in flight then).
const STOP_WAIT: Duration = Duration::from_secs(15);
/// wrk's own bound on one request: a slower answer is a socket timeout, an error.
const REQUEST_TIMEOUT: &str = "5s";
/// The route under load.
const VERIFY_PATH: &str = "/v1/licenses/verify";

/// Loads the server built at `exe` with the first `load.licenses` licenses of
/// `licenses` (valid ones), then with forgeries of them. Temporary files go under `dir`.
pub(super) fn measure(exe: &Path, dir: &Path, licenses: &Path, load: Load) -> Result<Figures> {
    if load.connections > MAX_CONNECTIONS || load.connections < load.threads {
        bail!(
            "a load needs between {} (its threads) and {MAX_CONNECTIONS} connections",
            load.threads
        );
    }
    let text = fs::read_to_string(licenses)
        .with_context(|| format!("cannot read {}", licenses.display()))?;
    let valid: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(load.licenses)
        .map(str::to_owned)
        .collect();
    if valid.len() < load.licenses {
        bail!(
            "{} holds {} licenses, the server load needs {}",
            licenses.display(),
            valid.len(),
            load.licenses
        );
    }
    let forger = random_key()?;
    let forged = valid
        .iter()
        .map(|token| forge(token, &forger))
        .collect::<Result<Vec<_>>>()?;

    let tmp = tempfile::Builder::new()
        .prefix("serve-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a directory in {}", dir.display()))?;
    let valid_script = tmp.path().join("valid.lua");
    let forged_script = tmp.path().join("forged.lua");
    fs::write(&valid_script, lua_script(VERIFY_PATH, &valid)?)?;
    fs::write(&forged_script, lua_script(VERIFY_PATH, &forged)?)?;

    eprintln!("caio-verify serve under wrk ({} s per load)", load.seconds);
    let server = Serving::start(exe, tmp.path())?;
    let idle_rss_kib = server.status_kib("VmRSS")?;

    let before = server.verdicts()?;
    let ticks_before = server.cpu_ticks()?;
    let valid = server.wrk(&valid_script, load, &tmp.path().join("wrk-valid.txt"))?;
    let cpu = CpuSplit::between(ticks_before, server.cpu_ticks()?, cpu_count()?)?;
    let after = server.verdicts()?;
    valid.all_answered(0)?;
    let counted = after.since(&before);
    if counted.rejected() != 0 || counted.ok() < valid.requests {
        bail!(
            "the server counted {counted} for {} valid licenses wrk sent",
            valid.requests
        );
    }
    let peak_rss_kib = server.status_kib("VmHWM")?;

    let forged = server.wrk(&forged_script, load, &tmp.path().join("wrk-forged.txt"))?;
    let counted = server.verdicts()?.since(&after);
    forged.all_answered(forged.requests)?;
    if counted.ok() != 0
        || counted.rejected() != counted.count("bad_signature")
        || counted.count("bad_signature") < forged.requests
    {
        bail!(
            "the server counted {counted} for {} forged licenses wrk sent",
            forged.requests
        );
    }

    let status = server.stop()?;
    if !status.success() {
        bail!("caio-verify serve exited with {status} on SIGTERM, not 0");
    }
    Ok(Figures {
        load,
        valid,
        forged,
        idle_rss_kib,
        peak_rss_kib,
        cpu,
    })
}

/// The rows of the table; `license_rate` is `caio-verify license -`'s licenses/s on the
/// same licenses in this run.
pub(super) fn rows(figures: &Figures, license_rate: f64) -> Result<Vec<Row>> {
    let Figures {
        load,
        valid,
        forged,
        idle_rss_kib,
        peak_rss_kib,
        cpu,
    } = figures;
    let under = format!(
        "over HTTP keep-alive (loopback; wrk: {} threads, {} connections, {} s, {} distinct \
         licenses in turn; wrk shares the cores)",
        load.threads,
        load.connections,
        load.seconds,
        super::count(load.licenses)
    );
    let mut rows = vec![super::ratio_row(
        format!("`caio-verify serve`, licenses verified {under} >= 0.5x `license -`"),
        format!("{} licenses/s", super::rate(valid.per_sec)),
        format!(
            "`caio-verify license -` on the same licenses: {} licenses/s",
            super::rate(license_rate)
        ),
        valid.per_sec / license_rate,
        0.5,
    )];
    rows.push(Row {
        target: "`caio-verify serve` under that load: p99 latency".into(),
        measured: duration(valid.percentile(99.0)?),
        reference: format!(
            "p50 {}, p90 {} (`wrk --latency`)",
            duration(valid.percentile(50.0)?),
            duration(valid.percentile(90.0)?)
        ),
        ratio: None,
        met: Met::NoTarget,
    });
    rows.push(Row {
        target: "`caio-verify serve` under that load: peak RSS".into(),
        measured: format!("{:.1} MiB (VmHWM)", *peak_rss_kib as f64 / 1024.0),
        reference: format!(
            "idle, after start: {:.1} MiB",
            *idle_rss_kib as f64 / 1024.0
        ),
        ratio: None,
        met: Met::NoTarget,
    });
    rows.push(Row {
        target: format!(
            "`caio-verify serve` under that load: CPU, in cores (of the machine's {})",
            cpu.cores
        ),
        measured: format!(
            "server {:.2} (user {:.2}, kernel {:.2})",
            cpu.server_user + cpu.server_kernel,
            cpu.server_user,
            cpu.server_kernel
        ),
        reference: format!("wrk and the rest {:.2}, idle {:.2}", cpu.others, cpu.idle),
        ratio: None,
        met: Met::NoTarget,
    });
    rows.push(Row {
        target: "`caio-verify serve`, forged licenses (422 `bad_signature`), the same load".into(),
        measured: format!(
            "{} licenses/s, p99 {}",
            super::rate(forged.per_sec),
            duration(forged.percentile(99.0)?)
        ),
        reference: format!("valid licenses: {} licenses/s", super::rate(valid.per_sec)),
        ratio: Some(forged.per_sec / valid.per_sec),
        met: Met::NoTarget,
    });
    Ok(rows)
}

/// What the "How" paragraph says of these figures.
pub(super) fn how(load: Load) -> String {
    format!(
        "`caio-verify serve --listen 127.0.0.1:0` (the same binary, logging at its default \
         level) is loaded by `wrk` for {} s per load, {} threads, {} keep-alive \
         connections, POSTing the first {} of those licenses in turn; every answer must be \
         the expected status (wrk's error counts and the server's own counters are both \
         checked, or the run fails), p50/p90/p99 are wrk's, peak RSS is VmHWM from \
         /proc/PID/status after the load, and the CPU split is the server's utime and \
         stime (/proc/PID/stat) and the machine's busy and idle time (/proc/stat) over the \
         load of valid licenses.",
        load.seconds,
        load.threads,
        load.connections,
        super::count(load.licenses)
    )
}

impl Serving {
    /// Starts `exe serve` on a port the system picks, and waits until it answers
    /// `/healthz`.
    fn start(exe: &Path, dir: &Path) -> Result<Self> {
        let log = dir.join("serve.log");
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--max-connections"])
            .arg(MAX_CONNECTIONS.to_string())
            // Its defaults: the embedded bench keyring only, warnings only.
            .env_remove("CAIO_LICENSE_PUBLIC_KEY")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log)?)
            .spawn()
            .with_context(|| format!("cannot start {} serve", exe.display()))?;
        let stdout = child.stdout.take();
        let mut server = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let stdout = stdout.context("caio-verify serve has no stdout")?;
        // The first line, read aside so that waiting for it is bounded.
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line);
            let _ = send.send(first);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match receive.recv_timeout(START_WAIT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(e).context(server.failed("cannot read serve's stdout")),
            Err(_) => bail!(server.failed("caio-verify serve did not say where it listens")),
        };
        server.addr = listening_address(&line).with_context(|| server.failed("at start"))?;
        server.wait_healthy()?;
        Ok(server)
    }

    /// Polls `/healthz` until it answers 200, for at most [`START_WAIT`].
    fn wait_healthy(&self) -> Result<()> {
        let deadline = Instant::now() + START_WAIT;
        let url = format!("http://{}/healthz", self.addr);
        loop {
            match get(&url, "text/plain") {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => {
                    bail!(self.failed(&format!("/healthz answered {status}: {}", body.trim())))
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(e).context(self.failed(&format!(
                        "/healthz did not answer within {} s",
                        START_WAIT.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> Result<u64> {
        let pid = self.child.as_ref().context("the server is stopped")?.id();
        let path = format!("/proc/{pid}/status");
        let status = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        status_kib(&status, field).with_context(|| format!("in {path}"))
    }

    /// The server's CPU time and the machine's, now.
    fn cpu_ticks(&self) -> Result<CpuTicks> {
        let pid = self.child.as_ref().context("the server is stopped")?.id();
        let path = format!("/proc/{pid}/stat");
        let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let (server_user, server_kernel) =
            process_ticks(&stat).with_context(|| format!("in {path}"))?;
        let machine = fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
        let (busy, idle) = machine_ticks(&machine).context("in /proc/stat")?;
        Ok(CpuTicks {
            server_user,
            server_kernel,
            busy,
            idle,
        })
    }

    /// The verification counters on `/metrics`.
    fn verdicts(&self) -> Result<Verdicts> {
        let url = format!("http://{}/metrics", self.addr);
        let (status, text) = get(&url, "text/plain;version=0.0.4")?;
        if status != 200 {
            bail!("{url} answered {status}");
        }
        Verdicts::parse(&text).with_context(|| format!("in {url}"))
    }

    /// Runs wrk with `script` against the server for `load`, its output in `out`.
    fn wrk(&self, script: &Path, load: Load, out: &Path) -> Result<WrkReport> {
        let url = format!("http://{}{VERIFY_PATH}", self.addr);
        let mut wrk = Command::new("wrk")
            .arg(format!("--threads={}", load.threads))
            .arg(format!("--connections={}", load.connections))
            .arg(format!("--duration={}s", load.seconds))
            .arg(format!("--timeout={REQUEST_TIMEOUT}"))
            .arg("--latency")
            .arg("--script")
            .arg(script)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(File::create(out)?)
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run wrk")?;
        // wrk stops itself after --duration; this bounds a wrk that would not.
        let deadline = Instant::now() + Duration::from_secs(u64::from(load.seconds) + 30);
        let status = loop {
            if let Some(status) = wrk.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = wrk.kill();
                let _ = wrk.wait();
                bail!("wrk did not finish within 30 s of its --duration");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = wrk.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let text = fs::read_to_string(out)?;
        if !status.success() {
            bail!(
                "wrk {url} failed ({status}): {}{}",
                stderr.trim(),
                text.trim()
            );
        }
        eprintln!("{}", text.trim_end());
        parse_wrk(&text).with_context(|| format!("cannot read wrk's report:\n{text}"))
    }

    /// Stops the server: SIGTERM, then its exit status.
    fn stop(mut self) -> Result<ExitStatus> {
        let child = self.child.take().context("the server is stopped")?;
        terminate(child)
    }

    /// `what`, with the end of the server's log.
    fn failed(&self, what: &str) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
        if tail.is_empty() {
            format!("caio-verify serve: {what}")
        } else {
            format!("caio-verify serve: {what}; its log ends with:\n{tail}")
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Some(child) = self.child.take()
            && let Err(e) = terminate(child)
        {
            eprintln!("warning: stopping caio-verify serve: {e:#}");
        }
    }
}

/// SIGTERM, then a wait of at most [`STOP_WAIT`], then SIGKILL.
fn terminate(mut child: Child) -> Result<ExitStatus> {
    use rustix::process::{Pid, Signal, kill_process};
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    kill_process(Pid::from_child(&child), Signal::TERM).context("cannot signal the server")?;
    let deadline = Instant::now() + STOP_WAIT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            bail!(
                "caio-verify serve did not exit within {} s of SIGTERM: killed",
                STOP_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A GET on loopback: (status, body). Bounded by a timeout; never follows a redirect.
fn get(url: &str, accept: &str) -> Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("GET {url}"))?;
    Ok((status, body))
}

/// The address in serve's first line, `listening on ADDR`; only a loopback one, since
/// the bench talks to nothing else.
fn listening_address(line: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("expected `listening on ADDR`, got {:?}", line.trim()))?
        .parse()
        .with_context(|| format!("no address in {:?}", line.trim()))?;
    if !addr.ip().is_loopback() || addr.port() == 0 {
        bail!("the server listens on {addr}, not on a loopback port");
    }
    Ok(addr)
}

/// `field` (`VmHWM`, `VmRSS`) of a `/proc/PID/status` text, in KiB.
fn status_kib(status: &str, field: &str) -> Result<u64> {
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} line"))?;
    value
        .trim()
        .strip_suffix("kB")
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("cannot read {field}: {value:?}"))
}

/// `utime` and `stime` of a `/proc/PID/stat` text, in clock ticks. The command name
/// (field 2, in parentheses) may hold spaces and parentheses itself, so the fields are
/// counted from the last `)`.
fn process_ticks(stat: &str) -> Result<(u64, u64)> {
    let (_, rest) = stat.rsplit_once(')').context("no `(comm)` field")?;
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64> {
        let text = fields.get(n - 3).with_context(|| format!("no field {n}"))?;
        text.parse()
            .with_context(|| format!("field {n} is not a count: {text:?}"))
    };
    Ok((field(14)?, field(15)?))
}

/// The busy and idle ticks of all CPUs: the `cpu` line of a `/proc/stat` text. Busy is
/// user, nice, system, irq, softirq and steal (guest time is already in user and nice);
/// idle is idle and iowait.
fn machine_ticks(stat: &str) -> Result<(u64, u64)> {
    let line = stat
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .context("no `cpu` line")?;
    let values = line
        .split_whitespace()
        .take(8)
        .map(|v| {
            v.parse::<u64>()
                .with_context(|| format!("not a count: {v:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = values[..] else {
        bail!("expected 8 counts on the `cpu` line, got {}", values.len());
    };
    Ok((user + nice + system + irq + softirq + steal, idle + iowait))
}

/// The CPUs the machine has online, as `/proc/stat` counts them (`cpuN` lines).
fn cpu_count() -> Result<usize> {
    let stat = fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let cores = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    if cores == 0 {
        bail!("/proc/stat lists no CPU");
    }
    Ok(cores)
}

impl CpuSplit {
    /// The split of the time between two readings, on a machine of `cores` CPUs.
    fn between(before: CpuTicks, after: CpuTicks, cores: usize) -> Result<Self> {
        let delta = |a: u64, b: u64, what: &str| {
            b.checked_sub(a)
                .with_context(|| format!("the {what} time went back ({a} to {b} ticks)"))
        };
        let user = delta(before.server_user, after.server_user, "server's user")?;
        let kernel = delta(before.server_kernel, after.server_kernel, "server's kernel")?;
        let busy = delta(before.busy, after.busy, "machine's busy")?;
        let idle = delta(before.idle, after.idle, "machine's idle")?;
        let total = busy + idle;
        if total == 0 {
            bail!("no CPU time passed between the two readings");
        }
        let cores_of = |ticks: u64| ticks as f64 / total as f64 * cores as f64;
        Ok(Self {
            cores,
            server_user: cores_of(user),
            server_kernel: cores_of(kernel),
            // The machine's and the process's counters are sampled apart, so the
            // server's share can read a tick above the machine's busy time.
            others: cores_of(busy.saturating_sub(user + kernel)),
            idle: cores_of(idle),
        })
    }
}

/// `token` with the signature of another key over the same signed part: the bench key's
/// id, a signature that does not verify (`bad_signature`).
fn forge(token: &str, key: &SigningKey) -> Result<String> {
    let (signed, _) = token
        .rsplit_once('.')
        .with_context(|| format!("not a license: {token:.40}"))?;
    let signature = key.sign(signed.as_bytes());
    Ok(format!(
        "{signed}.{}",
        BASE64URL.encode(signature.to_bytes())
    ))
}

fn random_key() -> Result<SigningKey> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A wrk script that POSTs `bodies` to `path` in turn, one per request. The requests
/// are formatted once per thread, so wrk spends no time building them under load.
fn lua_script(path: &str, bodies: &[String]) -> Result<String> {
    if bodies.is_empty() {
        bail!("a wrk script needs at least one body");
    }
    // Licenses and the path are base64url, dots and slashes: nothing to quote in Lua.
    let plain = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    };
    if !plain(path) {
        bail!("{path:?} cannot go in a wrk script as it is");
    }
    let mut out = String::from(
        "-- Written by `cargo xtask bench`: POST each body in turn, on keep-alive.\n\
         local bodies = {\n",
    );
    for body in bodies {
        if !plain(body) {
            bail!("not a license: {body:.40}");
        }
        writeln!(out, "  \"{body}\",")?;
    }
    write!(
        out,
        "}}\nlocal requests = {{}}\nlocal turn = 0\n\n\
         function init(args)\n  \
         for i, body in ipairs(bodies) do\n    \
         requests[i] = wrk.format(\"POST\", \"{path}\", \
         {{[\"Content-Type\"] = \"text/plain\"}}, body)\n  \
         end\nend\n\n\
         function request()\n  \
         turn = turn % #requests + 1\n  \
         return requests[turn]\nend\n"
    )?;
    Ok(out)
}

/// Reads what `wrk --latency` prints.
fn parse_wrk(out: &str) -> Result<WrkReport> {
    let mut requests = None;
    let mut per_sec = None;
    let mut latency = Vec::new();
    let mut error_status = 0;
    let mut socket_errors = SocketErrors::default();
    let mut in_distribution = false;
    for line in out.lines().map(str::trim) {
        if line == "Latency Distribution" {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            if let Some((percent, value)) = line.split_once('%')
                && let Ok(percent) = percent.parse::<f64>()
            {
                latency.push((percent, wrk_duration(value.trim())?));
                continue;
            }
            in_distribution = false;
        }
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            per_sec = Some(number(value)?);
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            error_status = number(value)?;
        } else if let Some(value) = line.strip_prefix("Socket errors:") {
            socket_errors = parse_socket_errors(value)?;
        } else if let Some((n, _)) = line.split_once(" requests in ") {
            requests = Some(number(n)?);
        }
    }
    Ok(WrkReport {
        requests: requests.context("no `N requests in` line")?,
        per_sec: per_sec.context("no `Requests/sec:` line")?,
        latency,
        error_status,
        socket_errors,
    })
}

/// `connect 0, read 14, write 221177, timeout 0`.
fn parse_socket_errors(text: &str) -> Result<SocketErrors> {
    let mut errors = SocketErrors::default();
    let mut seen = 0;
    for part in text.split(',') {
        let (name, n) = part
            .trim()
            .split_once(' ')
            .with_context(|| format!("cannot read socket errors {text:?}"))?;
        let count = match name {
            "connect" => &mut errors.connect,
            "read" => &mut errors.read,
            "write" => &mut errors.write,
            "timeout" => &mut errors.timeout,
            _ => bail!("unknown socket error {name:?} in {text:?}"),
        };
        *count = number(n)?;
        seen += 1;
    }
    if seen != 4 {
        bail!("cannot read socket errors {text:?}");
    }
    Ok(errors)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T> {
    text.trim()
        .parse()
        .ok()
        .with_context(|| format!("not a number: {:?}", text.trim()))
}

/// A wrk duration (`302.00us`, `2.14ms`, `1.05s`, `1.50m`, `2.00h`), in seconds.
fn wrk_duration(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in {text:?}"))?;
    let (value, unit) = text.split_at(split);
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => bail!("unknown unit in {text:?}"),
    };
    Ok(number::<f64>(value)? * scale)
}

/// Seconds as the table shows a latency.
fn duration(secs: f64) -> String {
    if secs < 1e-3 {
        format!("{:.0} µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{secs:.2} s")
    }
}

impl WrkReport {
    /// The latency at `percent` (as wrk lists it: 50, 75, 90, 99), in seconds.
    fn percentile(&self, percent: f64) -> Result<f64> {
        self.latency
            .iter()
            .find(|(p, _)| *p == percent)
            .map(|(_, secs)| *secs)
            .with_context(|| format!("wrk reported no {percent}% latency"))
    }

    /// Checks the run was clean: no socket error, some answers, and exactly
    /// `error_status` of them with a status of 400 or above.
    fn all_answered(&self, error_status: u64) -> Result<()> {
        let e = self.socket_errors;
        if e != SocketErrors::default() {
            bail!(
                "wrk had socket errors: connect {}, read {}, write {}, timeout {}",
                e.connect,
                e.read,
                e.write,
                e.timeout
            );
        }
        if self.requests == 0 {
            bail!("wrk got no answer");
        }
        if self.error_status != error_status {
            bail!(
                "{} of wrk's {} answers had a status of 400 or above, {error_status} expected",
                self.error_status,
                self.requests
            );
        }
        Ok(())
    }
}

impl Verdicts {
    /// The `caio_license_verifications_total` samples of a Prometheus text page.
    fn parse(text: &str) -> Result<Self> {
        let mut by_result = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("caio_license_verifications_total{") else {
                continue;
            };
            let (labels, value) = rest
                .split_once('}')
                .with_context(|| format!("cannot read {line:?}"))?;
            let result = labels
                .split(',')
                .find_map(|l| l.strip_prefix("result=\"")?.strip_suffix('"'))
                .with_context(|| format!("no result label in {line:?}"))?;
            let value = value.split_whitespace().next().unwrap_or_default();
            let count: u64 = number(value).with_context(|| format!("in {line:?}"))?;
            *by_result.entry(result.to_owned()).or_insert(0) += count;
        }
        if by_result.is_empty() {
            bail!("no caio_license_verifications_total sample");
        }
        Ok(Self(by_result))
    }

    /// What was counted since `before`.
    fn since(&self, before: &Self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(result, n)| (result.clone(), n.saturating_sub(before.count(result))))
                .collect(),
        )
    }

    fn count(&self, result: &str) -> u64 {
        self.0.get(result).copied().unwrap_or(0)
    }

    fn ok(&self) -> u64 {
        self.count("ok")
    }

    fn rejected(&self) -> u64 {
        self.0
            .iter()
            .filter(|(result, _)| *result != "ok")
            .map(|(_, n)| n)
            .sum()
    }
}

impl std::fmt::Display for Verdicts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counted: Vec<String> = self
            .0
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(result, n)| format!("{n} {result}"))
            .collect();
        if counted.is_empty() {
            f.write_str("no verification")
        } else {
            f.write_str(&counted.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wrk -t2 -c8 -d2s --latency` against `caio-verify serve`'s `/healthz`.
    const CLEAN: &str = "Running 2s test @ http://127.0.0.1:39519/healthz
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   738.86us    1.26ms  12.73ms   89.26%
    Req/Sec    11.45k     4.21k   19.29k    55.00%
  Latency Distribution
     50%  302.00us
     75%  501.00us
     90%    2.14ms
     99%    6.44ms
  45851 requests in 2.01s, 5.20MB read
Requests/sec:  22775.07
Transfer/sec:      2.58MB
";

    /// The same, POSTing a malformed license: every answer a 422.
    const REJECTED: &str = "Running 2s test @ http://127.0.0.1:39519/v1/licenses/verify
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.35ms    1.84ms  16.91ms   87.58%
    Req/Sec     4.85k     1.49k    8.03k    71.43%
  Latency Distribution
     50%  757.00us
     75%    0.90ms
     90%    3.73ms
     99%    8.84ms
  20247 requests in 2.10s, 6.43MB read
  Non-2xx or 3xx responses: 20247
Requests/sec:   9626.08
Transfer/sec:      3.06MB
";

    /// The server killed a second into a 3 s run.
    const SOCKET_ERRORS: &str = "Running 3s test @ http://127.0.0.1:40019/healthz
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.27ms    4.55ms  56.67ms   95.08%
    Req/Sec     7.70k     6.00k   19.06k    71.43%
  Latency Distribution
     50%  257.00us
     75%  467.00us
     90%    2.85ms
     99%   22.99ms
  16224 requests in 3.10s, 1.84MB read
  Socket errors: connect 0, read 14, write 221177, timeout 0
Requests/sec:   5233.34
Transfer/sec:    608.17KB";

    /// Whether two latencies in seconds are equal to within a nanosecond (wrk prints
    /// them in decimal; the units scale them).
    fn same(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_clean_wrk_run_is_read_whole() {
        let report = parse_wrk(CLEAN).unwrap();
        assert_eq!(
            (report.requests, report.per_sec, report.error_status),
            (45_851, 22_775.07, 0)
        );
        assert_eq!(report.socket_errors, SocketErrors::default());
        let expected = [
            (50.0, 302e-6),
            (75.0, 501e-6),
            (90.0, 2.14e-3),
            (99.0, 6.44e-3),
        ];
        assert_eq!(report.latency.len(), expected.len());
        for ((percent, secs), (want_percent, want_secs)) in report.latency.iter().zip(expected) {
            assert_eq!(*percent, want_percent);
            assert!(same(*secs, want_secs), "{percent}%: {secs} s");
        }
        assert!(same(report.percentile(99.0).unwrap(), 6.44e-3));
        assert!(report.percentile(99.9).is_err());
        report.all_answered(0).unwrap();
        assert!(report.all_answered(1).is_err());
    }

    #[test]
    fn error_statuses_and_socket_errors_fail_a_run() {
        let rejected = parse_wrk(REJECTED).unwrap();
        assert_eq!((rejected.requests, rejected.error_status), (20_247, 20_247));
        assert!(same(rejected.percentile(75.0).unwrap(), 0.9e-3));
        assert!(rejected.all_answered(0).is_err());
        rejected.all_answered(20_247).unwrap();

        let broken = parse_wrk(SOCKET_ERRORS).unwrap();
        assert_eq!(
            broken.socket_errors,
            SocketErrors {
                connect: 0,
                read: 14,
                write: 221_177,
                timeout: 0
            }
        );
        assert_eq!(broken.error_status, 0);
        assert!(broken.all_answered(0).is_err());
    }

    #[test]
    fn a_wrk_report_without_its_figures_is_an_error() {
        assert!(parse_wrk("").is_err());
        assert!(parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n").is_err());
        let no_rate = CLEAN.replace("Requests/sec:  22775.07\n", "");
        assert!(parse_wrk(&no_rate).is_err());
        let bad_unit = CLEAN.replace("6.44ms", "6.44ks");
        assert!(parse_wrk(&bad_unit).is_err());
        let bad_socket = SOCKET_ERRORS.replace("timeout 0", "timeout x");
        assert!(parse_wrk(&bad_socket).is_err());
        let short_socket = SOCKET_ERRORS.replace(", timeout 0", "");
        assert!(parse_wrk(&short_socket).is_err());
    }

    #[test]
    fn wrk_durations_take_every_unit() {
        for (text, secs) in [
            ("302.00us", 302e-6),
            ("0.90ms", 0.9e-3),
            ("1.05s", 1.05),
            ("1.50m", 90.0),
            ("2.00h", 7200.0),
        ] {
            assert!(same(wrk_duration(text).unwrap(), secs), "{text}");
        }
        for bad in ["", "12", "ms", "1.0ns", "x1ms"] {
            assert!(wrk_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            [duration(302e-6), duration(6.44e-3), duration(2.5)],
            ["302 µs", "6.44 ms", "2.50 s"]
        );
    }

    #[test]
    fn the_listening_line_gives_a_loopback_address() {
        assert_eq!(
            listening_address("listening on 127.0.0.1:39519\n").unwrap(),
            "127.0.0.1:39519".parse().unwrap()
        );
        assert!(listening_address("listening on [::1]:8421").is_ok());
        for bad in [
            "",
            "listening on",
            "listening on 0.0.0.0:8421",
            "listening on 10.0.0.5:8421",
            "listening on 127.0.0.1:0",
            "ready on 127.0.0.1:8421",
        ] {
            assert!(listening_address(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rss_fields_are_read_from_proc_status() {
        let status = "Name:\tcaio-verify\nVmPeak:\t  215380 kB\nVmHWM:\t   11056 kB\n\
                      VmRSS:\t   10240 kB\nVmSwap:\t       0 kB\n";
        assert_eq!(status_kib(status, "VmHWM").unwrap(), 11_056);
        assert_eq!(status_kib(status, "VmRSS").unwrap(), 10_240);
        assert!(status_kib(status, "VmData").is_err());
        assert!(status_kib("VmHWM:\t 12 MB\n", "VmHWM").is_err());
    }

    #[test]
    fn the_counters_are_summed_by_result() {
        let page = "# HELP caio_license_verifications_total License verifications.\n\
                    # TYPE caio_license_verifications_total counter\n\
                    caio_license_verifications_total{result=\"ok\",key=\"caio-bench\"} 7\n\
                    caio_license_verifications_total{result=\"ok\",key=\"none\"} 0\n\
                    caio_license_verifications_total{result=\"bad_signature\",key=\"caio-bench\"} 3\n\
                    caio_license_verifications_total{result=\"bad_encoding\",key=\"none\"} 1\n\
                    caio_keyring_info{keyring=\"sha256:c9\",serial=\"1\",channel=\"production\"} 1\n";
        let after = Verdicts::parse(page).unwrap();
        assert_eq!((after.ok(), after.rejected()), (7, 4));
        assert_eq!(after.count("bad_signature"), 3);
        let before = Verdicts::parse(
            "caio_license_verifications_total{result=\"ok\",key=\"caio-bench\"} 2\n",
        )
        .unwrap();
        let since = after.since(&before);
        assert_eq!((since.ok(), since.rejected()), (5, 4));
        assert_eq!(since.to_string(), "1 bad_encoding, 3 bad_signature, 5 ok");
        assert_eq!(before.since(&before).to_string(), "no verification");
        assert!(Verdicts::parse("caio_keyring_info{keyring=\"x\"} 1\n").is_err());
        assert!(Verdicts::parse("caio_license_verifications_total{key=\"x\"} 1\n").is_err());
        assert!(Verdicts::parse("caio_license_verifications_total{result=\"ok\"} many\n").is_err());
    }

    #[test]
    fn a_forgery_keeps_the_signed_part_and_changes_the_signature() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let signed = "CAIO-v2.eyJraWQiOiJ4In0";
        let token = forge(&format!("{signed}.AAAA"), &key).unwrap();
        let forged = forge(&token, &other).unwrap();
        assert_ne!(token, forged);
        assert!(forged.starts_with(&format!("{signed}.")));
        assert_eq!(forged.len(), token.len());
        assert!(forge("no dot", &key).is_err());
    }

    #[test]
    fn the_wrk_script_holds_each_body_once_and_refuses_what_needs_quoting() {
        let bodies = ["CAIO-v2.a_b.c-d".to_owned(), "CAIO-v2.e.f".to_owned()];
        let script = lua_script(VERIFY_PATH, &bodies).unwrap();
        for body in &bodies {
            assert_eq!(script.matches(&format!("\"{body}\"")).count(), 1);
        }
        assert!(script.contains("wrk.format(\"POST\", \"/v1/licenses/verify\""));
        assert!(script.contains("function request()"));
        assert!(lua_script(VERIFY_PATH, &[]).is_err());
        for bad in ["a\"b", "a\\b", "a\nb", "a b"] {
            assert!(
                lua_script(VERIFY_PATH, &[bad.to_owned()]).is_err(),
                "{bad:?}"
            );
        }
        assert!(lua_script("/x\"", &bodies).is_err());
    }

    #[test]
    fn the_rows_judge_the_ratio_and_set_no_target_for_the_rest() {
        let report = |per_sec| WrkReport {
            requests: 1000,
            per_sec,
            latency: vec![(50.0, 400e-6), (75.0, 1e-3), (90.0, 2e-3), (99.0, 5e-3)],
            error_status: 0,
            socket_errors: SocketErrors::default(),
        };
        let figures = |valid| Figures {
            load: Load {
                seconds: 3,
                threads: 2,
                connections: 16,
                licenses: 1000,
            },
            valid: report(valid),
            forged: report(30_000.0),
            idle_rss_kib: 6 * 1024,
            peak_rss_kib: 9 * 1024,
            cpu: CpuSplit {
                cores: 2,
                server_user: 0.9,
                server_kernel: 0.6,
                others: 0.45,
                idle: 0.05,
            },
        };
        let fast = rows(&figures(40_000.0), 70_000.0).unwrap();
        assert_eq!(fast.len(), 5);
        assert_eq!(fast[0].met, Met::Measured(true));
        assert!(fast[0].measured.contains("40.0k licenses/s"));
        assert!(fast[0].target.contains("16 connections, 3 s, 1k distinct"));
        assert_eq!(fast[1].measured, "5.00 ms");
        assert_eq!(fast[2].measured, "9.0 MiB (VmHWM)");
        assert!(
            fast[3].target.contains("of the machine's 2"),
            "{}",
            fast[3].target
        );
        assert_eq!(fast[3].measured, "server 1.50 (user 0.90, kernel 0.60)");
        assert_eq!(fast[3].reference, "wrk and the rest 0.45, idle 0.05");
        assert!(fast[1..].iter().all(|r| r.met == Met::NoTarget));
        let slow = rows(&figures(30_000.0), 70_000.0).unwrap();
        assert_eq!(slow[0].met, Met::Measured(false));
    }

    /// A stat line of a thread whose name holds a space and parentheses, as
    /// `/proc/PID/stat` prints it (fields 1 to 17).
    const PROCESS_STAT: &str = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0\n";

    #[test]
    fn process_ticks_count_fields_from_the_last_parenthesis() {
        assert_eq!(process_ticks(PROCESS_STAT).unwrap(), (1234, 567));
        assert_eq!(
            process_ticks("1 (caio-verify) S 0 1 1 0 -1 0 0 0 0 0 7 3").unwrap(),
            (7, 3)
        );
        let short = process_ticks("1 (x) S 0 1 1 0 -1 0 0 0 0 0 7").unwrap_err();
        assert!(format!("{short:#}").contains("no field 15"), "{short:#}");
        let word = process_ticks("1 (x) S 0 1 1 0 -1 0 0 0 0 0 7 x").unwrap_err();
        assert!(format!("{word:#}").contains("field 15"), "{word:#}");
        assert!(process_ticks("no parenthesis").is_err());
    }

    #[test]
    fn machine_ticks_add_busy_and_idle_from_the_cpu_line() {
        let stat = "cpu  100 2 30 400 5 6 7 8 9 10\ncpu0 50 1 15 200 2 3 3 4 4 5\nintr 1\n";
        // Busy: user, nice, system, irq, softirq, steal; idle: idle, iowait. Guest time
        // (the last two) is already in user and nice.
        assert_eq!(
            machine_ticks(stat).unwrap(),
            (100 + 2 + 30 + 6 + 7 + 8, 405)
        );
        assert!(machine_ticks("cpu0 1 2 3 4 5 6 7 8\n").is_err());
        assert!(machine_ticks("cpu  1 2 3\n").is_err());
        assert!(machine_ticks("cpu  1 2 3 4 5 6 7 x\n").is_err());
    }

    #[test]
    fn the_cpu_split_is_in_cores_of_the_whole_machine() {
        let at = |server_user, server_kernel, busy, idle| CpuTicks {
            server_user,
            server_kernel,
            busy,
            idle,
        };
        // 2 cores for 10 s: 2000 ticks; the server 900 + 600 of the 1900 busy.
        let split = CpuSplit::between(at(10, 20, 1000, 500), at(910, 620, 2900, 600), 2).unwrap();
        assert_eq!(
            split,
            CpuSplit {
                cores: 2,
                server_user: 0.9,
                server_kernel: 0.6,
                others: 0.4,
                idle: 0.1,
            }
        );
        // A server reading a tick ahead of the machine's counts nothing for the rest.
        let ahead = CpuSplit::between(at(0, 0, 0, 0), at(60, 41, 100, 0), 1).unwrap();
        assert_eq!(ahead.others, 0.0);
        // Counters that went back, or no time at all, are errors, not figures.
        assert!(CpuSplit::between(at(5, 0, 10, 10), at(4, 0, 20, 20), 2).is_err());
        assert!(CpuSplit::between(at(0, 0, 10, 10), at(0, 0, 10, 10), 2).is_err());
    }
}
