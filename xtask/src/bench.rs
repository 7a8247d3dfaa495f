//! `cargo xtask bench`: the end-to-end performance comparisons, side by side with
//! OpenSSL, ripgrep and gzip in one run, written to `docs/benchmarks.md`.
//!
//! It builds a release `caio-verify` against a bench keyring it generates under
//! `target/bench/` (a fresh Ed25519 key, never the workspace's), signs licenses in
//! process with that key, lays out uncompressed and gzip'd image tars with the binary
//! at their end, and measures: license verification against `openssl speed -multi 2
//! ed25519` and against the raw limit (ed25519-dalek's `verify_strict` of the same
//! signatures on every core, in process), the status server (`caio-verify serve`) on
//! the same licenses under `wrk` on loopback against that verification
//! (`bench/server.rs`: rate, p99 latency, peak RSS), `license reissue` (release and
//! dev builds) against OpenSSL's sign plus verify, the gate on a 1 GiB tar against
//! `rg -c -a -F --mmap` (with peak RSS from `/usr/bin/time -v`), the gate on a gzip
//! layer against `gzip -dc`, and how time and memory grow with the input (up to a 4 GiB
//! tar, made for the run and deleted after). `bench/build.rs` adds the build-side figures: what
//! `embed_keyring!` costs, and cargo's change tracking.
//! Every table names the machine it was measured on (CPU model, cores, and the
//! curve25519-dalek backend the binary picks on this CPU), and a target is marked met
//! only when it was measured, and met, on that machine.
//! Missing tools (hyperfine, ripgrep, GNU time, wrk) are installed with apt-get when it
//! runs.
//! Nothing here asserts on time: a missed target is reported in the table, not failed.
//! It is not a microbenchmark harness; `caio-verify/benches/pieces.rs` is.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use caio_keyring::{KeyId, TrustedKey, Validity};
use caio_verify::license::{BASE64URL, PREFIX};
use clap::Args;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::EncodePublicKey as _;
use ed25519_dalek::{Signer as _, SigningKey};
use rayon::prelude::*;
use xshell::{Shell, cmd};

mod build;
mod server;

use crate::Outcome;
use crate::time::format_instant;
use crate::workspace;

/// Measure verification, re-issue and the gate against OpenSSL, ripgrep and gzip, and
/// write the table to docs/benchmarks.md.
///
/// Builds a release caio-verify against a generated bench keyring (target/bench/),
/// installs hyperfine, ripgrep, GNU time and wrk with apt-get if they are missing, and
/// needs about 3 GiB of disk under target/bench/ (1 GiB with --quick). Exits 0 when
/// every measurement ran, whether or not each target was met; the table says which.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A reduced set for a fast sanity run: 10k licenses and a 256 MiB artifact
    #[arg(long)]
    quick: bool,
}

/// The sizes one run measures.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Licenses for the verification and re-issue comparisons.
    licenses: usize,
    /// License counts for the growth check.
    growth_licenses: &'static [usize],
    /// The uncompressed tar of the gate comparison.
    tar_bytes: u64,
    /// Tar sizes for the growth check.
    growth_tars: &'static [u64],
    /// The tar that is gzip'd for the inflate comparison.
    gzip_bytes: u64,
    /// Timed runs per command.
    runs: u32,
    /// Seconds `openssl speed` spends on each operation.
    openssl_seconds: u32,
    /// The load of the status server (`caio-verify serve`) under wrk.
    server: server::Load,
}

/// One row of the table.
struct Row {
    target: String,
    measured: String,
    reference: String,
    ratio: Option<f64>,
    /// Whether the target (a ratio or another bound) was met.
    met: Met,
}

/// The last column of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Met {
    /// Measured on this machine: met or not.
    Measured(bool),
    /// The code the target is about does not run on this machine.
    NotHere,
    /// A figure shown for what it is: no target bounds it.
    NoTarget,
}

/// The machine a run measures, as every table names it.
struct Machine {
    /// `model name` from /proc/cpuinfo.
    cpu: String,
    /// Logical cores this process may use.
    cores: usize,
    /// The CPU's flags that pick a backend.
    flags: Vec<&'static str>,
}

/// The curve25519-dalek backend a binary runs on a CPU: picked at run time from the
/// CPU's features (`cpufeatures`), among those compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// AVX-512 IFMA (needs `avx512ifma` and `avx512vl`; compiled in by
    /// `.cargo/config.toml`).
    Avx512Ifma,
    /// AVX2.
    Avx2,
    /// Portable 64-bit code.
    Serial,
}

/// What the bench run works with: paths under `target/bench/`.
struct Bench {
    sh: Shell,
    dir: PathBuf,
    manifest: PathBuf,
    private_key: PathBuf,
    signing_key: SigningKey,
    kid: String,
    now: i64,
    exe: PathBuf,
    /// caio-verify built with the AVX-512 IFMA backend of curve25519-dalek.
    exe_avx2: PathBuf,
    /// A release build of this command, for `license reissue`.
    xtask: PathBuf,
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// The status server's load: one wrk thread per core of the 2-core bench machine, 16
/// keep-alive connections (enough to keep both cores busy), 1k distinct licenses.
const SERVER_LOAD: server::Load = server::Load {
    seconds: 10,
    threads: 2,
    connections: 16,
    licenses: 1_000,
};

impl BenchArgs {
    /// Runs the command.
    pub fn run(self) -> Result<Outcome> {
        let plan = if self.quick {
            Plan {
                licenses: 10_000,
                growth_licenses: &[1_000, 10_000],
                tar_bytes: 256 * MIB,
                growth_tars: &[256 * MIB],
                gzip_bytes: 256 * MIB,
                runs: 3,
                openssl_seconds: 2,
                server: server::Load {
                    seconds: 3,
                    ..SERVER_LOAD
                },
            }
        } else {
            Plan {
                licenses: 100_000,
                growth_licenses: &[1_000, 10_000, 100_000],
                tar_bytes: GIB,
                growth_tars: &[256 * MIB, GIB, 4 * GIB],
                gzip_bytes: 256 * MIB,
                runs: 5,
                openssl_seconds: 3,
                server: SERVER_LOAD,
            }
        };
        let sh = Shell::new()?;
        install_missing_tools(&sh)?;
        let bench = Bench::prepare(sh)?;
        let mut table = bench.measure(&plan, self.quick)?;
        let machine = Machine::detect();
        let builds = build::measure(&bench.sh, &bench.dir, &workspace::root(), bench.now)?;
        writeln!(table, "\n## Build\n\n{}\n\n{builds}", machine.caption())?;
        let docs = workspace::root().join("docs").join("benchmarks.md");
        fs::write(&docs, &table).with_context(|| format!("cannot write {}", docs.display()))?;
        print!("{table}");
        eprintln!("wrote {}", docs.display());
        Ok(Outcome::Success)
    }
}

impl Bench {
    /// Generates the bench key and keyring, and builds caio-verify against them.
    fn prepare(sh: Shell) -> Result<Self> {
        let root = workspace::root();
        let dir = root.join("target").join("bench");
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let now = jiff::Timestamp::now().as_second();
        let private_key = dir.join("caio-bench-private.pem");
        let manifest = dir.join("keyring.toml");
        let (signing_key, kid) = match reuse_key(&private_key, &manifest) {
            Some(key) => key,
            None => new_key(&dir, &private_key, &manifest, now)?,
        };

        eprintln!(
            "building release caio-verify against {}",
            manifest.display()
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        sh.change_dir(&root);
        let target = dir.join("target");
        // xtask too: `reissue` is measured as a release build, like the verifier.
        let messages = cmd!(
            sh,
            "{cargo} build --release -p caio-cli --bin caio-verify -p xtask --bin xtask --message-format=json-render-diagnostics"
        )
        .env("CAIO_KEYRING", &manifest)
        .env("CARGO_TARGET_DIR", &target)
        .read()
        .context("cannot build caio-verify and xtask")?;
        let executable = |name: &str| executable_in(&messages, name);
        let exe = executable("caio-verify")?;
        let xtask = executable("xtask")?;
        // The same verifier without curve25519-dalek's AVX-512 backend (which the
        // default build compiles in and picks at run time, see `.cargo/config.toml`):
        // what a CPU without AVX-512 IFMA runs.
        let messages = cmd!(
            sh,
            "{cargo} build --release -p caio-cli --bin caio-verify --message-format=json-render-diagnostics"
        )
        .env("CAIO_KEYRING", &manifest)
        .env("CARGO_TARGET_DIR", dir.join("target-avx2"))
        .env("CARGO_ENCODED_RUSTFLAGS", AVX2_RUSTFLAGS)
        .read()
        .context("cannot build caio-verify with the AVX2 backend only")?;
        let exe_avx2 = executable_in(&messages, "caio-verify")?;
        Ok(Self {
            sh,
            dir,
            manifest,
            private_key,
            signing_key,
            kid,
            now,
            exe,
            exe_avx2,
            xtask,
        })
    }

    fn measure(&self, plan: &Plan, quick: bool) -> Result<String> {
        let mut rows = Vec::new();
        eprintln!("openssl speed -multi 2 ed25519");
        let (ossl_sign, ossl_verify) = openssl_speed(&self.sh, plan.openssl_seconds)?;

        // (a) verification.
        let licenses = self.licenses(plan.licenses)?;
        let verify_secs = self.time_verify(&self.exe, &licenses, plan.runs)?;
        let verify_rate = plan.licenses as f64 / verify_secs;
        rows.push(ratio_row(
            format!(
                "`caio-verify license -`, {} licenses >= 3.5x OpenSSL verify ({} backend on this CPU)",
                count(plan.licenses),
                Machine::detect().backend().name()
            ),
            format!("{} licenses/s", rate(verify_rate)),
            format!("openssl speed -multi 2: {} verify/s", rate(ossl_verify)),
            verify_rate / ossl_verify,
            3.5,
        ));

        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let seconds = Duration::from_secs(plan.openssl_seconds.into());
        let raw_rate = raw_limit(&self.signing_key, &licenses, cores, seconds)?;
        rows.push(ratio_row(
            format!(
                "`license -`, {} licenses >= 0.9x the raw limit: ed25519-dalek `verify_strict` of the same signatures, in process, on every core",
                count(plan.licenses)
            ),
            format!("{} licenses/s", rate(verify_rate)),
            format!("`verify_strict` x {cores} threads: {} verify/s", rate(raw_rate)),
            verify_rate / raw_rate,
            0.9,
        ));

        let avx2_secs = self.time_verify(&self.exe_avx2, &licenses, plan.runs)?;
        let avx2_rate = plan.licenses as f64 / avx2_secs;
        let machine = Machine::detect();
        rows.push(machine.only_with(Backend::Avx2, ratio_row(
            format!(
                "`license -`, {} licenses, AVX2 backend only (`--cfg curve25519_dalek_backend=\"simd\"`: a CPU without AVX-512 IFMA)",
                count(plan.licenses)
            ),
            format!("{} licenses/s", rate(avx2_rate)),
            format!("openssl speed -multi 2: {} verify/s", rate(ossl_verify)),
            avx2_rate / ossl_verify,
            3.5,
        )));

        // The status server, on the same licenses.
        let served = server::measure(&self.exe, &self.dir, &licenses, plan.server)
            .context("cannot measure caio-verify serve")?;
        rows.extend(server::rows(&served, verify_rate)?);

        // (b) re-issue: a release build of xtask, and the command as users type it.
        // The release build and, when this bench is the dev build `cargo xtask` runs,
        // this very executable (`target/debug/xtask`): timed in turn, run for run, so
        // the machine's drift from one moment to the next falls on both alike. A
        // release build of this bench cannot time the dev one.
        let mut builds = vec![self.xtask.clone()];
        if cfg!(debug_assertions) {
            builds.push(std::env::current_exe().context("cannot find this xtask executable")?);
        }
        let rates: Vec<f64> = self
            .time_reissue(&builds, &licenses, plan.runs)?
            .into_iter()
            .map(|secs| plan.licenses as f64 / secs)
            .collect();
        let reissue_rate = rates[0];
        let dev_rate = rates.get(1).copied();
        let ossl_pair = 1.0 / (1.0 / ossl_sign + 1.0 / ossl_verify);
        let openssl_pair = format!(
            "openssl -multi 2: {} sign/s, {} verify/s = {} sign+verify/s",
            rate(ossl_sign),
            rate(ossl_verify),
            rate(ossl_pair)
        );
        rows.push(ratio_row(
            format!(
                "`license reissue`, release build of xtask, {} licenses >= 2.5x OpenSSL \
                 sign+verify",
                count(plan.licenses)
            ),
            format!("{} licenses/s", rate(reissue_rate)),
            openssl_pair.clone(),
            reissue_rate / ossl_pair,
            2.5,
        ));
        rows.extend(reissue_as_typed_rows(
            dev_rate,
            reissue_rate,
            (ossl_pair, &openssl_pair),
        ));

        // (c) the gate on an uncompressed tar, against ripgrep.
        let tar = self.image_tar(plan.tar_bytes)?;
        let needle = self.dir.join("needle");
        fs::write(&needle, caio_keyring::block::scan_prefix())?;
        let gate = self.gate_args(&tar);
        let rg = vec![
            "rg".into(),
            "-c".into(),
            "-a".into(),
            "-F".into(),
            "--mmap".into(),
            "-f".into(),
            needle.clone(),
            tar.clone(),
        ];
        let [gate_secs, rg_secs] = self.hyperfine("gate-tar", [&gate, &rg], plan.runs)?;
        let gate_rss = self.peak_rss_kib(&gate)?;
        let tar_size = fs::metadata(&tar)?.len() as f64;
        rows.push(ratio_row(
            format!(
                "`caio-verify check` on a {} tar: no slower than rg",
                size(plan.tar_bytes)
            ),
            format!(
                "{:.0} ms ({}/s)",
                gate_secs * 1e3,
                size_f(tar_size / gate_secs)
            ),
            format!(
                "`rg -c -a -F --mmap`: {:.0} ms ({}/s)",
                rg_secs * 1e3,
                size_f(tar_size / rg_secs)
            ),
            rg_secs / gate_secs,
            1.0,
        ));
        rows.push(Row {
            target: format!(
                "`caio-verify check` on a {} tar: peak RSS <= 64 MiB",
                size(plan.tar_bytes)
            ),
            measured: format!("{:.1} MiB", gate_rss as f64 / 1024.0),
            reference: "64 MiB".into(),
            ratio: None,
            met: Met::Measured(gate_rss <= 64 * 1024),
        });

        // (d) the gate on a gzip layer, against gzip -dc.
        let small_tar = self.image_tar(plan.gzip_bytes)?;
        let layer = self.gzip(&small_tar)?;
        let gzip = vec!["gzip".into(), "-dc".into(), layer.clone()];
        let gate_gz = self.gate_args(&layer);
        let [gate_gz_secs, gzip_secs] =
            self.hyperfine("gate-gzip", [&gate_gz, &gzip], plan.runs)?;
        let gz_rss = self.peak_rss_kib(&gate_gz)?;
        let unpacked = fs::metadata(&small_tar)?.len() as f64;
        rows.push(ratio_row(
            format!(
                "`caio-verify check` on a gzip'd {} tar layer >= 2.5x `gzip -dc`",
                size(plan.gzip_bytes)
            ),
            format!(
                "{:.0} ms ({}/s of output), peak RSS {:.1} MiB",
                gate_gz_secs * 1e3,
                size_f(unpacked / gate_gz_secs),
                gz_rss as f64 / 1024.0
            ),
            format!(
                "`gzip -dc > /dev/null`: {:.0} ms ({}/s)",
                gzip_secs * 1e3,
                size_f(unpacked / gzip_secs)
            ),
            gzip_secs / gate_gz_secs,
            2.5,
        ));

        // (e) growth.
        let mut growth = String::new();
        writeln!(
            growth,
            "| workload | size | time | rate | peak RSS |\n|---|---|---|---|---|"
        )?;
        for &n in plan.growth_licenses {
            let licenses = self.licenses(n)?;
            let secs = if n == plan.licenses {
                verify_secs
            } else {
                self.time_verify(&self.exe, &licenses, plan.runs)?
            };
            let rss = self.peak_rss_verify(&licenses)?;
            writeln!(
                growth,
                "| `license -` | {} licenses | {:.3} s | {} licenses/s | {:.1} MiB |",
                count(n),
                secs,
                rate(n as f64 / secs),
                rss as f64 / 1024.0
            )?;
        }
        for &bytes in plan.growth_tars {
            let tar = self.image_tar(bytes)?;
            let args = self.gate_args(&tar);
            let (secs, rss) = if bytes == plan.tar_bytes {
                (gate_secs, gate_rss)
            } else {
                let [secs] = self.hyperfine("growth", [&args], plan.runs)?;
                (secs, self.peak_rss_kib(&args)?)
            };
            writeln!(
                growth,
                "| `check` tar | {} | {:.3} s | {}/s | {:.1} MiB |",
                size(bytes),
                secs,
                size_f(fs::metadata(&tar)?.len() as f64 / secs),
                rss as f64 / 1024.0
            )?;
            if bytes > GIB {
                // Made for this run only: 4 GiB of disk is not kept.
                fs::remove_file(&tar)?;
            }
        }

        self.render(&rows, &growth, plan, quick)
    }

    fn render(&self, rows: &[Row], growth: &str, plan: &Plan, quick: bool) -> Result<String> {
        let mut out = String::new();
        writeln!(out, "# Benchmarks\n")?;
        writeln!(
            out,
            "Written by `cargo xtask bench{}` at {}; every ratio is from this one run, on this \
             machine. Regenerate it rather than editing it.\n",
            if quick { " --quick" } else { "" },
            format_instant(self.now)
        )?;
        writeln!(out, "## Machine\n")?;
        for (name, value) in machine(&self.sh) {
            writeln!(out, "- {name}: {value}")?;
        }
        let this = Machine::detect();
        writeln!(
            out,
            "- build: release profile (thin LTO, codegen-units 1), portable: no target-cpu; curve25519-dalek picks AVX-512 IFMA, AVX2 or portable code at run time (`.cargo/config.toml`)\n"
        )?;
        writeln!(out, "## Targets\n")?;
        writeln!(out, "{}\n", this.caption())?;
        writeln!(
            out,
            "| target | measured | reference | ratio | met on this machine? |\n|---|---|---|---|---|"
        )?;
        for row in rows {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                row.target,
                row.measured,
                row.reference,
                row.ratio
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x")),
                match row.met {
                    Met::Measured(true) => "yes",
                    Met::Measured(false) => "**no**",
                    Met::NotHere => "not measured here",
                    Met::NoTarget => "-",
                }
            )?;
        }
        writeln!(out, "\n## Growth\n")?;
        writeln!(out, "{}\n", this.caption())?;
        out.push_str(growth);
        writeln!(
            out,
            "\n{}The gate reads a plain file through a memory map, one part per core, each \
             part releasing what it has scanned, so its memory does not depend on the size.",
            if quick {
                "`--quick`: 10k licenses and 256 MiB only (no 4 GiB artifact). "
            } else {
                "The 4 GiB tar is made for the run and deleted after. "
            }
        )?;
        writeln!(
            out,
            "\nHow: licenses are signed in process with a generated key (target/bench/); \
             `license -` is fed the file on stdin and timed from spawn to exit (median of the \
             runs); `reissue` (a release build of xtask, and the dev build `cargo xtask` \
             runs, which runs this bench, in turn, run for run) reads and writes files, timed \
             likewise; the tar and gzip commands are timed by \
             `hyperfine -N` (mean), peak RSS by `/usr/bin/time -v`. Files are in the page \
             cache (a warm-up run precedes each measurement). {}",
            server::how(plan.server)
        )?;
        out.push_str(LIMITS);
        Ok(out)
    }

    /// `n` distinct licenses signed with the bench key, one per line, cached by count.
    fn licenses(&self, n: usize) -> Result<PathBuf> {
        let path = self.dir.join(format!("licenses-{n}.txt"));
        if path.exists() {
            return Ok(path);
        }
        let iat = self.now - 3_600;
        let exp = self.now + 200 * 86_400;
        let (kid, signing_key) = (&self.kid, &self.signing_key);
        let lines: Vec<String> = (0..n)
            .into_par_iter()
            .map(|i| {
                let payload = format!(
                    r#"{{"kid":"{}","lid":"L-{i:07}","sub":"Customer {i}","iat":{iat},"exp":{exp},"features":["pro"],"seats":{}}}"#,
                    kid,
                    1 + i % 50
                );
                let mut token = String::from(PREFIX);
                BASE64URL.encode_string(payload, &mut token);
                let signature = signing_key.sign(token.as_bytes());
                token.push('.');
                BASE64URL.encode_string(signature.to_bytes(), &mut token);
                token.push('\n');
                token
            })
            .collect();
        fs::write(&path, lines.concat())?;
        Ok(path)
    }

    /// Median wall time of `caio-verify license -` over `licenses`; checks every one
    /// was valid.
    fn time_verify(&self, exe: &Path, licenses: &Path, runs: u32) -> Result<f64> {
        let input = fs::read(licenses)?;
        let mut times = Vec::new();
        for _ in 0..=runs {
            let start = Instant::now();
            let out = cmd!(self.sh, "{exe} license -")
                .stdin(&input)
                .quiet()
                .ignore_status()
                .output()?;
            times.push(start.elapsed().as_secs_f64());
            if !out.status.success() {
                bail!(
                    "caio-verify license - rejected bench licenses: {}",
                    String::from_utf8_lossy(out.stdout.get(..400).unwrap_or(&out.stdout))
                );
            }
        }
        times.remove(0); // the warm-up
        Ok(median(times))
    }

    fn peak_rss_verify(&self, licenses: &Path) -> Result<u64> {
        let input = fs::read(licenses)?;
        let exe = &self.exe;
        let out = cmd!(self.sh, "/usr/bin/time -v {exe} license -")
            .stdin(&input)
            .quiet()
            .ignore_stdout()
            .output()?;
        max_rss(&String::from_utf8_lossy(&out.stderr))
    }

    /// Median wall time of `license reissue` of `licenses` by each of `builds` (xtask
    /// executables), with the bench key: one warm-up run each, then `runs` rounds in
    /// which each build runs once, in turn.
    fn time_reissue(&self, builds: &[PathBuf], licenses: &Path, runs: u32) -> Result<Vec<f64>> {
        let key = &self.private_key;
        let output = self.dir.join("reissued.txt");
        let mut times = vec![Vec::new(); builds.len()];
        for _ in 0..=runs {
            for (xtask, times) in builds.iter().zip(&mut times) {
                let start = Instant::now();
                cmd!(
                    self.sh,
                    "{xtask} license reissue --key {key} {licenses} --output {output}"
                )
                .env("CAIO_KEYRING", &self.manifest)
                .quiet()
                .ignore_stderr()
                .run()
                .context("license reissue of the bench licenses failed")?;
                times.push(start.elapsed().as_secs_f64());
            }
        }
        Ok(times
            .into_iter()
            .map(|mut times| {
                times.remove(0);
                median(times)
            })
            .collect())
    }

    /// An uncompressed tar of about `bytes`: a text-like filler file, then the
    /// caio-verify binary as the last member. Cached by size and key.
    fn image_tar(&self, bytes: u64) -> Result<PathBuf> {
        let tar = self.dir.join(format!("image-{}.tar", size(bytes)));
        if tar.exists() {
            return Ok(tar);
        }
        let stage = self.dir.join("stage");
        let _ = fs::remove_dir_all(&stage);
        fs::create_dir_all(stage.join("usr/bin"))?;
        let exe_len = fs::metadata(&self.exe)?.len();
        write_filler(
            &stage.join("layer.bin"),
            bytes.saturating_sub(exe_len + 8192),
        )?;
        fs::copy(&self.exe, stage.join("usr/bin/caio-verify"))?;
        let _dir = self.sh.push_dir(&stage);
        cmd!(self.sh, "tar -cf {tar} layer.bin usr/bin/caio-verify")
            .quiet()
            .run()?;
        drop(_dir);
        fs::remove_dir_all(&stage)?;
        Ok(tar)
    }

    /// `tar` compressed with `gzip -6` (the default, as `docker save` layers are).
    fn gzip(&self, tar: &Path) -> Result<PathBuf> {
        let gz = tar.with_extension("tar.gz");
        if gz.exists() {
            return Ok(gz);
        }
        eprintln!("gzip {}", tar.display());
        cmd!(self.sh, "gzip -k -f {tar}").quiet().run()?;
        Ok(gz)
    }

    fn gate_args(&self, artifact: &Path) -> Vec<PathBuf> {
        vec![
            self.exe.clone(),
            "check".into(),
            "--manifest".into(),
            self.manifest.clone(),
            artifact.to_owned(),
        ]
    }

    /// Mean seconds of each command under `hyperfine -N` (no shell), from its JSON.
    fn hyperfine<const N: usize>(
        &self,
        name: &str,
        commands: [&Vec<PathBuf>; N],
        runs: u32,
    ) -> Result<[f64; N]> {
        let json = self.dir.join(format!("hyperfine-{name}.json"));
        let lines = commands
            .iter()
            .map(|args| command_line(args))
            .collect::<Result<Vec<_>>>()?;
        let runs = runs.to_string();
        let shown = cmd!(
            self.sh,
            "hyperfine -N --style basic --warmup 1 --runs {runs} --export-json {json} {lines...}"
        )
        .quiet()
        .read()
        .context("hyperfine failed")?;
        eprintln!("{shown}");
        let report: serde_json::Value = serde_json::from_slice(&fs::read(&json)?)?;
        let mut means = [0.0; N];
        for (i, mean) in means.iter_mut().enumerate() {
            *mean = report["results"][i]["mean"]
                .as_f64()
                .context("hyperfine JSON without a mean")?;
        }
        Ok(means)
    }

    fn peak_rss_kib(&self, args: &[PathBuf]) -> Result<u64> {
        let out = cmd!(self.sh, "/usr/bin/time -v {args...}")
            .quiet()
            .ignore_stdout()
            .output()?;
        max_rss(&String::from_utf8_lossy(&out.stderr))
    }
}

impl Machine {
    /// This machine.
    fn detect() -> Self {
        let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            info.lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let cpu_flags = field("flags");
        let flags = ["avx2", "avx512f", "avx512ifma", "avx512vl"]
            .into_iter()
            .filter(|f| cpu_flags.split_whitespace().any(|w| w == *f))
            .collect();
        Self {
            cpu: Some(field("model name"))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            flags,
        }
    }

    /// The backend the release binary (AVX-512 IFMA compiled in) runs here: what
    /// curve25519-dalek's run-time detection picks from these flags.
    fn backend(&self) -> Backend {
        let has = |f: &str| self.flags.contains(&f);
        if has("avx512ifma") && has("avx512vl") {
            Backend::Avx512Ifma
        } else if has("avx2") {
            Backend::Avx2
        } else {
            Backend::Serial
        }
    }

    /// Whether a binary built for `backend` runs it here.
    fn runs(&self, backend: Backend) -> bool {
        match backend {
            Backend::Avx512Ifma => self.backend() == Backend::Avx512Ifma,
            Backend::Avx2 => self.backend() != Backend::Serial,
            Backend::Serial => true,
        }
    }

    /// `row`, met only if this CPU runs `backend` (else its code fell back to another
    /// backend, and the target is not measured here).
    fn only_with(&self, backend: Backend, mut row: Row) -> Row {
        if !self.runs(backend) {
            row.met = Met::NotHere;
            row.measured += &format!(" (this CPU has no {}: ran other code)", backend.name());
        }
        row
    }

    /// The line above every table.
    fn caption(&self) -> String {
        format!(
            "Measured on: {}, {} cores, curve25519-dalek backend picked at run time: {} (CPU flags: {}).",
            self.cpu,
            self.cores,
            self.backend().name(),
            if self.flags.is_empty() {
                "none of avx2, avx512f, avx512ifma, avx512vl".to_owned()
            } else {
                self.flags.join(" ")
            }
        )
    }
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Avx512Ifma => "AVX-512 IFMA",
            Self::Avx2 => "AVX2",
            Self::Serial => "portable",
        }
    }
}

/// What bounds the targets a run may miss, whatever the machine: appended to every
/// report, so that a "no" comes with its reason.
const LIMITS: &str = "
## What bounds these figures

- **Verification** is curve arithmetic: `license -` runs at about the raw limit (one \
`verify_strict` per core) or above it, because each key's tables are built once and a \
batch of 128 licenses shares one field inversion (`Verifier::verify_batch`). What is \
left is curve25519-dalek's double-scalar multiplication, whose speed is the backend's: \
AVX-512 IFMA where the CPU has it, AVX2 elsewhere. Two routes to more were weighed and \
left: batch *verification* (one random combination of many equations) is not exact \
against the cofactorless `verify_strict` (a signer can put torsion in `R` and be \
accepted with probability up to 1/2), and a split of each scalar into halves over \
precomputed `2^128` multiples would halve the doublings, but curve25519-dalek's \
precomputed Straus loop always runs 256 of them.
- **`license reissue`** does three curve operations per license against OpenSSL's two: \
it verifies the old license, signs, and verifies what it signed (fail closed), both \
verifications in batches. Signing costs about as much as a batched verification: its \
`[r]B` is constant-time and its `R` is compressed with a field inversion of its own, \
inside ed25519-dalek. As typed (`cargo xtask`, a dev build), the crates it runs per \
license are optimized and without debug assertions (the workspace `Cargo.toml` says \
which), so it runs close to the release build.
- **`caio-verify serve`** shares the machine's cores with `wrk`, and each request is one \
license over HTTP: a loopback TCP round trip, whose work the kernel does on both sides \
(the server's kernel time), and one verification, which cannot share its field inversion \
as `license -`'s batches do. A license costs the server at least the CPU it costs \
`license -`, which keeps nearly every core busy, so the ratio to `license -` is at most \
the server's user time in cores (the CPU row) over the machine's cores. When the kernel \
and `wrk` take half the machine or more, 0.5x is out of reach, whatever the server's \
own code costs.
- **The gzip layer** is bound by inflate (zlib-rs); a gzip stream cannot be split \
between cores.
";

/// The rustflags of the AVX2-only variant (`CARGO_ENCODED_RUSTFLAGS`: 0x1f separates).
const AVX2_RUSTFLAGS: &str = "--cfg\x1fcurve25519_dalek_backend=\"simd\"";

/// The executable of `name` among cargo's JSON messages.
fn executable_in(messages: &str, name: &str) -> Result<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo reported no {name} executable"))
}

/// The bench key of an earlier run, if its keyring still lets it sign for a week: the
/// cached licenses and tars (and the binary built against it) stay usable.
fn reuse_key(private_key: &Path, manifest: &Path) -> Option<(SigningKey, String)> {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    let pem = fs::read_to_string(private_key).ok()?;
    let signing_key = SigningKey::from_pkcs8_pem(&pem).ok()?;
    let keyring = caio_keyring::manifest::Manifest::load(manifest).ok()?;
    let key = keyring.keyring().keys().first()?;
    let week = jiff::Timestamp::now().as_second() + 7 * 86_400;
    let usable = key.public_key().to_bytes() == signing_key.verifying_key().to_bytes()
        && key.validity().sign_until > week;
    usable.then(|| (signing_key, key.fingerprint().to_string()))
}

/// Generates the bench key and its keyring, and drops the files made with an older key.
fn new_key(
    dir: &Path,
    private_key: &Path,
    manifest: &Path,
    now: i64,
) -> Result<(SigningKey, String)> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("licenses-") || name.starts_with("image-") {
            fs::remove_file(&path)?;
        }
    }
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signing_key = SigningKey::from_bytes(&seed);
    let window = Validity {
        not_before: now - 86_400,
        sign_until: now + 300 * 86_400,
        not_after: now + 400 * 86_400,
    };
    let raw = signing_key.verifying_key().to_bytes();
    let key = TrustedKey::ed25519(KeyId::new("caio-bench")?, &raw, window)?;
    let kid = key.fingerprint().to_string();
    let _ = fs::remove_file(private_key);
    let pem = signing_key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("cannot encode the bench key: {e}"))?;
    write_private(private_key, pem.as_bytes())?;
    let public = signing_key
        .verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|e| anyhow::anyhow!("cannot encode the bench public key: {e}"))?;
    fs::write(dir.join("caio-bench.pem"), public)?;
    let text = format!(
        "version = 1\nserial = 1\n\n[[key]]\nid = \"caio-bench\"\nalgorithm = \"ed25519\"\n\
         public_key = \"caio-bench.pem\"\nfingerprint = \"{kid}\"\nnot_before = {}\n\
         sign_until = {}\nnot_after = {}\n",
        format_instant(window.not_before),
        format_instant(window.sign_until),
        format_instant(window.not_after),
    );
    fs::write(manifest, text)?;
    Ok((signing_key, kid))
}

/// Installs hyperfine, ripgrep, GNU time and wrk with apt-get when one is missing.
fn install_missing_tools(sh: &Shell) -> Result<()> {
    let missing: Vec<&str> = [
        ("hyperfine", "hyperfine"),
        ("rg", "ripgrep"),
        ("/usr/bin/time", "time"),
        ("wrk", "wrk"),
    ]
    .into_iter()
    .filter(|(program, _)| !on_path(program))
    .map(|(_, package)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {}", missing.join(", "));
    let sudo: &[&str] = if cmd!(sh, "id -u").quiet().read()? == "0" {
        &[]
    } else {
        &["sudo"]
    };
    let install = || -> Result<()> {
        if let [sudo] = sudo {
            cmd!(sh, "{sudo} apt-get update -qq").quiet().run()?;
            cmd!(sh, "{sudo} apt-get install -y -qq {missing...}")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .quiet()
                .run()?;
        } else {
            cmd!(sh, "apt-get update -qq").quiet().run()?;
            cmd!(sh, "apt-get install -y -qq {missing...}")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .quiet()
                .run()?;
        }
        Ok(())
    };
    install()
        .context("cannot install the bench tools; install hyperfine, ripgrep, time and wrk")?;
    Ok(())
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// One hyperfine command line for `-N`: arguments joined by spaces. hyperfine splits
/// it again without a shell, so an argument with whitespace or quotes is refused.
fn command_line(args: &[PathBuf]) -> Result<String> {
    let mut words = Vec::new();
    for arg in args {
        let word = arg
            .to_str()
            .with_context(|| format!("{} is not UTF-8", arg.display()))?;
        if word.is_empty() || word.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c)) {
            bail!("{word:?}: a bench path must have no whitespace or quotes");
        }
        words.push(word);
    }
    Ok(words.join(" "))
}

/// `openssl speed -multi 2 ed25519`: (sign/s, verify/s) over both processes.
fn openssl_speed(sh: &Shell, seconds: u32) -> Result<(f64, f64)> {
    let seconds = seconds.to_string();
    let out = cmd!(sh, "openssl speed -seconds {seconds} -multi 2 ed25519")
        .quiet()
        .ignore_stderr()
        .read()?;
    parse_openssl_speed(&out)
}

/// (sign/s, verify/s) from the summary line of `openssl speed ed25519`.
fn parse_openssl_speed(out: &str) -> Result<(f64, f64)> {
    let line = out
        .lines()
        .find(|l| l.contains("EdDSA (Ed25519)"))
        .context("no Ed25519 line in openssl speed's output")?;
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers.as_slice() {
        [.., sign, verify] => Ok((*sign, *verify)),
        _ => bail!("cannot read openssl speed's line {line:?}"),
    }
}

/// The machine, for the table: cores, CPU model, rustc.
fn machine(sh: &Shell) -> Vec<(&'static str, String)> {
    let nproc = cmd!(sh, "nproc").quiet().read().unwrap_or_default();
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let flags = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find(|l| l.starts_with("flags")).map(|l| {
                ["avx2", "avx512f", "avx512ifma"]
                    .into_iter()
                    .filter(|f| l.split_whitespace().any(|w| w == *f))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .unwrap_or_default();
    let rustc = cmd!(sh, "rustc -V").quiet().read().unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let openssl = cmd!(sh, "openssl version")
        .quiet()
        .read()
        .unwrap_or_default();
    vec![
        ("nproc", nproc),
        ("CPU", format!("{cpu} ({flags})")),
        ("rustc", rustc),
        ("OpenSSL", openssl),
        (
            "load average at the end (1, 5, 15 min)",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

/// Writes `bytes` of text-like data (words from a small list, so it compresses about
/// as well as a binary) that never holds the keyring magic.
fn write_filler(path: &Path, bytes: u64) -> Result<()> {
    const WORDS: [&str; 16] = [
        "layer ",
        "usr/lib/",
        "libssl.so ",
        "0x7f3a ",
        "GLIBC_2.34 ",
        "main\n",
        "ret ",
        "mov rax, ",
        "config ",
        "python3.12 ",
        "__init__ ",
        "etc/ssl ",
        "1024 ",
        "docker ",
        "sha256 ",
        "{\"id\": ",
    ];
    let mut block = Vec::with_capacity(MIB as usize + 32);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    while block.len() < MIB as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        block.extend_from_slice(WORDS[(state % 16) as usize].as_bytes());
    }
    block.truncate(MIB as usize);
    let mut out = BufWriter::new(File::create(path)?);
    let mut left = bytes;
    let mut n = 0_u64;
    while left > 0 {
        // A different first line per MiB, so no two MiB are alike.
        let header = format!("block {n:012}\n");
        let take = left.min(MIB) as usize;
        let mut chunk = block.clone();
        chunk[..header.len()].copy_from_slice(header.as_bytes());
        out.write_all(&chunk[..take])?;
        left -= take as u64;
        n += 1;
    }
    out.flush()?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

fn max_rss(time_v: &str) -> Result<u64> {
    time_v
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .context("no maximum resident set size in /usr/bin/time -v's output")
}

/// Verifications per second of ed25519-dalek's `verify_strict` alone (no parsing, no
/// I/O) on `threads` threads for `duration`, over the signatures of the licenses in
/// `licenses` (one token per line) and the public half of `key`: the limit a verifier
/// built on that crate can reach on this machine. Every signature must verify.
///
/// This command runs as a dev build, but ed25519-dalek, curve25519-dalek and sha2 are
/// compiled at opt-level 3 in every profile (the workspace's `Cargo.toml`), with the
/// same run-time backend choice as the release, so the loop runs release code.
fn raw_limit(key: &SigningKey, licenses: &Path, threads: usize, duration: Duration) -> Result<f64> {
    let text = fs::read_to_string(licenses)
        .with_context(|| format!("cannot read {}", licenses.display()))?;
    let mut signed = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let (input, signature) = line
            .rsplit_once('.')
            .with_context(|| format!("{}:{}: not a license", licenses.display(), n + 1))?;
        let bytes = BASE64URL
            .decode(signature)
            .with_context(|| format!("{}:{}: signature", licenses.display(), n + 1))?;
        let signature = ed25519_dalek::Signature::from_slice(&bytes)
            .with_context(|| format!("{}:{}: signature", licenses.display(), n + 1))?;
        signed.push((input.as_bytes(), signature));
    }
    if signed.is_empty() {
        bail!("{}: no licenses", licenses.display());
    }
    let public = key.verifying_key();
    let start = Instant::now();
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (signed, public) = (&signed, &public);
                scope.spawn(move || -> Result<u64> {
                    let mut done = 0u64;
                    // Each thread starts at its own place in the list.
                    let mut i = t * signed.len() / threads;
                    while start.elapsed() < duration {
                        for _ in 0..64 {
                            let (input, signature) = &signed[i % signed.len()];
                            public
                                .verify_strict(input, signature)
                                .context("a bench signature does not verify")?;
                            i += 1;
                        }
                        done += 64;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a verify thread panicked"))?
            })
            .collect::<Result<Vec<u64>>>()
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    Ok(counts.iter().sum::<u64>() as f64 / elapsed)
}

/// The two rows of `reissue` as typed: the dev build's rate (`None` when this bench
/// runs from a release build, which cannot time the dev one) against OpenSSL's
/// sign+verify (`ossl_pair`, described by `openssl_pair`), and against the release
/// build's `release_rate` (time within 10%, so a rate of at least 1/1.1 of it).
fn reissue_as_typed_rows(
    dev_rate: Option<f64>,
    release_rate: f64,
    (ossl_pair, openssl_pair): (f64, &str),
) -> Vec<Row> {
    let target = |goal: &str| {
        format!("`cargo xtask license reissue` as typed (the alias: dev profile), {goal}")
    };
    let openssl_goal = target(">= 2.5x OpenSSL sign+verify");
    let release_goal = target("time within 10% of the release build");
    let Some(dev_rate) = dev_rate else {
        let not_here = |target| Row {
            target,
            measured: "this bench ran from a release build".into(),
            reference: "run it as `cargo xtask bench`".into(),
            ratio: None,
            met: Met::NotHere,
        };
        return vec![not_here(openssl_goal), not_here(release_goal)];
    };
    vec![
        ratio_row(
            openssl_goal,
            format!("{} licenses/s", rate(dev_rate)),
            openssl_pair.to_owned(),
            dev_rate / ossl_pair,
            2.5,
        ),
        ratio_row(
            release_goal,
            format!("{} licenses/s", rate(dev_rate)),
            format!("release build: {} licenses/s", rate(release_rate)),
            dev_rate / release_rate,
            1.0 / 1.1,
        ),
    ]
}

fn ratio_row(target: String, measured: String, reference: String, ratio: f64, goal: f64) -> Row {
    Row {
        target,
        measured,
        reference,
        ratio: Some(ratio),
        met: Met::Measured(ratio >= goal),
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

fn rate(per_sec: f64) -> String {
    format!("{:.1}k", per_sec / 1e3)
}

fn count(n: usize) -> String {
    if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn size(bytes: u64) -> String {
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{}GiB", bytes / GIB)
    } else {
        format!("{}MiB", bytes / MIB)
    }
}

fn size_f(bytes: f64) -> String {
    if bytes >= GIB as f64 {
        format!("{:.2} GiB", bytes / GIB as f64)
    } else {
        format!("{:.0} MiB", bytes / MIB as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_speed_summary_line_is_read() {
        let out = "Got: +F6:0:253:Ed25519:12998.000000:4696.000000 from 1\n\
                   version: 3.0.19\n                              sign    verify    sign/s verify/s\n \
                   253 bits EdDSA (Ed25519)   0.0000s   0.0001s  28886.1  10933.0\n";
        assert_eq!(parse_openssl_speed(out).unwrap(), (28886.1, 10933.0));
        assert!(parse_openssl_speed("no such line").is_err());
    }

    #[test]
    fn the_raw_limit_verifies_every_signature_and_refuses_a_forged_one() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let token = |payload: &str| {
            let mut token = String::from(PREFIX);
            BASE64URL.encode_string(payload, &mut token);
            let signature = key.sign(token.as_bytes());
            token.push('.');
            BASE64URL.encode_string(signature.to_bytes(), &mut token);
            token
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("licenses.txt");
        let short = Duration::from_millis(20);
        fs::write(
            &file,
            format!("{}\n{}\n", token("{}"), token("{\"lid\":\"L\"}")),
        )
        .unwrap();
        assert!(raw_limit(&key, &file, 2, short).unwrap() > 0.0);

        // One license's signature on another's payload.
        let input = token("{}")
            .rsplit_once('.')
            .map(|(i, _)| i.to_owned())
            .unwrap();
        let other = token("{\"lid\":\"L\"}");
        let (_, signature) = other.rsplit_once('.').unwrap();
        fs::write(&file, format!("{input}.{signature}\n")).unwrap();
        let err = raw_limit(&key, &file, 2, short).unwrap_err();
        assert!(format!("{err:#}").contains("does not verify"), "{err:#}");

        fs::write(&file, "not a license\n").unwrap();
        assert!(raw_limit(&key, &file, 1, short).is_err());
        fs::write(&file, "").unwrap();
        assert!(raw_limit(&key, &file, 1, short).is_err());
    }

    /// As typed, `reissue` meets its goals only when measured: a bench run from a
    /// release build says "not measured here", never met; a dev rate is met against
    /// OpenSSL at 2.5x, and against release when its time is within 10%.
    #[test]
    fn reissue_as_typed_is_met_only_when_measured_and_within_its_bounds() {
        let openssl = (10_000.0, "openssl");
        let mets = |dev_rate| {
            reissue_as_typed_rows(dev_rate, 30_000.0, openssl)
                .iter()
                .map(|row| row.met)
                .collect::<Vec<_>>()
        };
        assert_eq!(mets(None), [Met::NotHere, Met::NotHere]);
        let rows = reissue_as_typed_rows(None, 30_000.0, openssl);
        assert!(rows.iter().all(
            |row| row.ratio.is_none() && row.measured == "this bench ran from a release build"
        ));
        // 27.3k/s is within 10% of 30k/s in time (30/27.3 = 1.099); 27.2k/s is not.
        assert_eq!(
            mets(Some(27_300.0)),
            [Met::Measured(true), Met::Measured(true)]
        );
        assert_eq!(
            mets(Some(27_200.0)),
            [Met::Measured(true), Met::Measured(false)]
        );
        // Below 2.5x OpenSSL's 10k sign+verify/s, whatever the release build does.
        assert_eq!(
            mets(Some(24_900.0)),
            [Met::Measured(false), Met::Measured(false)]
        );
        let rows = reissue_as_typed_rows(Some(25_000.0), 25_000.0, openssl);
        assert_eq!(rows[0].ratio, Some(2.5));
        assert_eq!(rows[1].met, Met::Measured(true));
    }

    #[test]
    fn peak_rss_is_read_from_time_v() {
        let out = "\tCommand being timed: \"x\"\n\tMaximum resident set size (kbytes): 5120\n";
        assert_eq!(max_rss(out).unwrap(), 5120);
        assert!(max_rss("").is_err());
    }

    #[test]
    fn hyperfine_command_lines_refuse_what_it_would_split() {
        let line =
            |args: &[&str]| command_line(&args.iter().map(PathBuf::from).collect::<Vec<_>>());
        assert_eq!(
            line(&["gzip", "-dc", "/t/a.gz"]).unwrap(),
            "gzip -dc /t/a.gz"
        );
        for bad in [&["rg", "a b"][..], &["rg", "it's"], &["rg", ""]] {
            assert!(line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_backend_follows_the_cpu_flags() {
        let on = |flags: &[&'static str]| Machine {
            cpu: "x".into(),
            cores: 2,
            flags: flags.to_vec(),
        };
        let check = |flags: &[&'static str], backend, avx2_met| {
            let machine = on(flags);
            assert_eq!(machine.backend(), backend, "{flags:?}");
            let row = ratio_row("t".into(), "m".into(), "r".into(), 4.0, 3.5);
            assert_eq!(
                machine.only_with(Backend::Avx2, row).met,
                avx2_met,
                "{flags:?}"
            );
        };
        check(
            &["avx2", "avx512f", "avx512ifma", "avx512vl"],
            Backend::Avx512Ifma,
            Met::Measured(true),
        );
        check(
            &["avx2", "avx512f", "avx512ifma"],
            Backend::Avx2,
            Met::Measured(true),
        );
        check(&["avx2"], Backend::Avx2, Met::Measured(true));
        check(&[], Backend::Serial, Met::NotHere);
        assert!(on(&["avx2"]).caption().contains("2 cores"));
    }

    #[test]
    fn sizes_and_counts_read_as_people_write_them() {
        assert_eq!(
            (size(GIB), size(256 * MIB)),
            ("1GiB".into(), "256MiB".into())
        );
        assert_eq!(
            (count(100_000), count(1_500)),
            ("100k".into(), "1500".into())
        );
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
