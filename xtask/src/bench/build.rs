//! The build-side figures of `cargo xtask bench`: what `embed_keyring!` costs the build
//! of a product, and whether cargo's change tracking around it holds (a no-op rebuild
//! is all `Fresh`; a manifest edit recompiles the embedding crate and nothing else).
//!
//! It lays out a tiny product crate under `target/bench/embed/` (its own workspace,
//! depending on `caio-verify` by path) and two generated manifests, of 1 and 32 keys,
//! and drives `cargo build -v` on it. The encoding the macro runs is also timed in
//! process, without the compiler. Not here: the run-time figures (`bench.rs`).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use caio_keyring::manifest::Manifest;
use caio_keyring::{KeyId, TrustedKey, Validity, block};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::EncodePublicKey as _;
use xshell::{Shell, cmd};

use crate::time::format_instant;

/// The name of the tiny crate that embeds a keyring.
const CRATE: &str = "caio-embed-bench";

/// Measures and returns the Markdown table of the build-side figures.
pub(super) fn measure(sh: &Shell, dir: &Path, root: &Path, now: i64) -> Result<String> {
    let dir = dir.join("embed");
    fs::create_dir_all(dir.join("src"))?;
    let one = write_manifest(&dir.join("keys-1"), 1, 1, now)?;
    let many = write_manifest(&dir.join("keys-32"), 32, 1, now)?;
    let (encode_one, encode_many) = (time_encode(&one)?, time_encode(&many)?);

    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{CRATE}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\ncaio-verify = {{ path = {:?} }}\n\n[workspace]\n",
            root.join("caio-verify").display().to_string()
        ),
    )?;
    fs::write(
        dir.join("src/main.rs"),
        "//! A product that embeds a keyring, for `cargo xtask bench`.\n\
         static KEYRING: caio_verify::EmbeddedKeyring =\n    \
         caio_verify::EmbeddedKeyring::new(caio_verify::embed_keyring!());\n\
         fn main() {\n    println!(\"{}\", KEYRING.keyring().is_ok());\n}\n",
    )?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = |manifest: &Path| -> Result<(f64, String)> {
        let _dir = sh.push_dir(&dir);
        let start = Instant::now();
        let out = cmd!(sh, "{cargo} build -v")
            .env("CAIO_KEYRING", manifest)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .quiet()
            .ignore_stdout()
            .output()?;
        let secs = start.elapsed().as_secs_f64();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("cargo build of {CRATE} failed:\n{log}");
        }
        Ok((secs, log))
    };
    eprintln!("building {CRATE} (the embed_keyring! figures)");
    build(&one)?; // the dependencies, once
    // Switching CAIO_KEYRING recompiles the embedding crate (the macro tracks it):
    // the time of that rebuild, with each manifest, median of three.
    let (mut with_one, mut with_many) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for (manifest, times) in [(&many, &mut with_many), (&one, &mut with_one)] {
            let (secs, log) = build(manifest)?;
            if compiled(&log) != [CRATE] {
                bail!("switching CAIO_KEYRING did not recompile {CRATE} alone:\n{log}");
            }
            times.push(secs);
        }
    }
    let (noop_secs, noop_log) = build(&one)?;
    let noop = compiled(&noop_log);
    write_manifest(&dir.join("keys-1"), 1, 2, now)?; // an edit: serial 2, a new key
    let (_, edit_log) = build(&one)?;
    let edited = compiled(&edit_log);

    let mut out = String::new();
    writeln!(
        out,
        "| build-side figure | measured | met? |\n|---|---|---|"
    )?;
    writeln!(
        out,
        "| manifest read and block encoded in process (what the macro runs), 1 / 32 keys | {:.2} ms / {:.2} ms | - |",
        encode_one * 1e3,
        encode_many * 1e3
    )?;
    writeln!(
        out,
        "| rebuild of a product crate embedding the keyring (`cargo build`, dependencies fresh), 1 / 32 keys | {:.2} s / {:.2} s | - |",
        super::median(with_one),
        super::median(with_many)
    )?;
    writeln!(
        out,
        "| no-op rebuild is all `Fresh` | {} recompiled, {:.2} s | {} |",
        listed(&noop),
        noop_secs,
        yes_no(noop.is_empty())
    )?;
    writeln!(
        out,
        "| a manifest edit recompiles the embedding crate only | recompiled: {} | {} |",
        listed(&edited),
        yes_no(edited == [CRATE])
    )?;
    Ok(out)
}

/// The crates `cargo build -v` compiled (its `Compiling NAME VERSION` lines).
fn compiled(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.trim_start().strip_prefix("Compiling "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The crates cargo recompiled, as the table shows them: `nothing` for none.
fn listed(crates: &[String]) -> String {
    if crates.is_empty() {
        "nothing".to_owned()
    } else {
        crates.join(", ")
    }
}

fn yes_no(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

/// Seconds to load `manifest` and encode its block, as the macro does (median of 5).
fn time_encode(manifest: &Path) -> Result<f64> {
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let loaded =
            Manifest::load(manifest).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
        std::hint::black_box(block::encode(loaded.keyring()));
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(super::median(times))
}

/// A manifest of `keys` fresh Ed25519 keys (public halves only) in `dir`.
fn write_manifest(dir: &Path, keys: usize, serial: u32, now: i64) -> Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let window = Validity {
        not_before: now - 86_400,
        sign_until: now + 300 * 86_400,
        not_after: now + 400 * 86_400,
    };
    let mut text = format!("version = 1\nserial = {serial}\n");
    for i in 0..keys {
        let mut seed = [0_u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let public = SigningKey::from_bytes(&seed).verifying_key();
        let id = format!("caio-bench-{i:02}");
        let key = TrustedKey::ed25519(KeyId::new(&id)?, &public.to_bytes(), window)?;
        let pem = public
            .to_public_key_pem(Default::default())
            .map_err(|e| anyhow::anyhow!("cannot encode a bench public key: {e}"))?;
        fs::write(dir.join(format!("{id}.pem")), pem)
            .with_context(|| format!("cannot write into {}", dir.display()))?;
        write!(
            text,
            "\n[[key]]\nid = \"{id}\"\nalgorithm = \"ed25519\"\npublic_key = \"{id}.pem\"\n\
             fingerprint = \"{}\"\nnot_before = {}\nsign_until = {}\nnot_after = {}\n",
            key.fingerprint(),
            format_instant(window.not_before),
            format_instant(window.sign_until),
            format_instant(window.not_after),
        )?;
    }
    let path = dir.join("keyring.toml");
    fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_crates_are_read_from_cargo_build_v() {
        let log = "       Fresh caio-keyring v0.1.0 (/w/caio-keyring)\n   \
                   Compiling caio-embed-bench v0.0.0 (/w/embed)\n     Running `rustc ...`\n    \
                   Finished `dev` profile";
        assert_eq!(compiled(log), ["caio-embed-bench"]);
        assert!(compiled("       Fresh a v1\n    Finished").is_empty());
    }
}
