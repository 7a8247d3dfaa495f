//! The container image of `cargo xtask release` (`caio-verify-image.tar`), with real
//! clients: `skopeo inspect` reads its labels, user, entrypoint and port as an OCI archive
//! and, unpacked, as an OCI layout; `umoci unpack` makes a bundle whose
//! `usr/local/bin/caio-verify` is statically linked (`file`, `ldd`) and verifies a license
//! OpenSSL signed; `skopeo copy` reads it as a docker archive, whose `manifest.json` names
//! the layout's own blobs; and the gate fails a copy whose layer carries another keyring.
//!
//! It shares the release of `release.rs` (one build per test process). Not here: the
//! image's digest across two checkouts (`scripts/check-reproducible.sh`, two full release
//! builds) and writing the image twice from one binary (`xtask/src/release/image.rs`).

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use xshell::{Shell, cmd};

use test_support::keys::{fingerprint, public_raw};
use test_support::run::{Output, capture};
use test_support::tokens::{signature_of, with_signature};

use super::release::{at, openssl_license, private_key, released, verify_artifact};

/// The archive's name in `dist/`.
const IMAGE: &str = "caio-verify-image.tar";

/// The image's tag: the workspace version (xtask's is caio-cli's).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A tar's entries: (name, header, bytes), in the archive's order.
fn tar_entries(bytes: &[u8]) -> Vec<(String, tar::Header, Vec<u8>)> {
    let mut archive = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let name = entry.path().expect("a name").to_string_lossy().into_owned();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("the entry's bytes");
        out.push((name, header, data));
    }
    out
}

fn entry<'a>(entries: &'a [(String, tar::Header, Vec<u8>)], name: &str) -> &'a [u8] {
    &entries
        .iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the image"))
        .2
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip stream");
    out
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `PROGRAM ARGS...`, captured; the test fails when it exits with another code than 0.
fn run(sh: &Shell, program: &str, args: &[&str]) -> Output {
    let output = capture(
        cmd!(sh, "{program} {args...}")
            .env("RUST_LOG", "off")
            .env_remove("CAIO_LICENSE_PUBLIC_KEY"),
        program,
    );
    assert_eq!(
        output.code, 0,
        "{program} {args:?}:\n{}{}",
        output.stdout, output.stderr
    );
    output
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 paths")
}

/// The released archive, unpacked once per test process into an OCI layout directory
/// under `target/it-release/` (umoci reads directories only).
fn layout() -> &'static Path {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let r = released();
        let dir = r.fresh_dir("image-layout");
        std::fs::create_dir_all(&dir).expect("layout dir");
        let sh = Shell::new().expect("shell");
        let tar = r.dist.join(IMAGE);
        run(&sh, "tar", &["-xf", path(&tar), "-C", path(&dir)]);
        dir
    })
}

/// `keys/keyring.toml`'s fingerprint and the copy's `HEAD` and commit time.
fn expected_labels() -> Value {
    let r = released();
    let manifest = caio_keyring::manifest::Manifest::load(&r.manifest()).expect("manifest");
    let sh = Shell::new().expect("shell");
    sh.change_dir(&r.copy.workspace);
    let head = run(&sh, "git", &["rev-parse", "HEAD"]).stdout;
    let time = run(&sh, "git", &["log", "-1", "--format=%ct"]).stdout;
    let created = jiff::Timestamp::from_second(time.trim().parse().expect("seconds"))
        .expect("instant")
        .to_string();
    json!({
        "io.caio.keyring.fingerprint": manifest.keyring().fingerprint().to_string(),
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.revision": head.trim(),
        "org.opencontainers.image.title": "caio-verify",
        "org.opencontainers.image.version": VERSION,
    })
}

#[test]
fn skopeo_shows_the_labels_user_entrypoint_and_port_of_the_released_image() {
    let r = released();
    let sh = Shell::new().expect("shell");
    let archive = format!("oci-archive:{}", path(&r.dist.join(IMAGE)));
    let shown: Value =
        serde_json::from_str(&run(&sh, "skopeo", &["inspect", &archive]).stdout).expect("JSON");
    let labels = expected_labels();
    assert_eq!(shown["Labels"], labels);
    assert_eq!(shown["Architecture"], "amd64");
    assert_eq!(shown["Os"], "linux");
    assert_eq!(shown["Layers"].as_array().expect("layers").len(), 1);
    let digest = shown["Digest"].as_str().expect("digest");
    assert!(
        r.run.stderr.contains(&format!("release: image {digest}")),
        "the release names the image's digest:\n{}",
        r.run.stderr
    );

    let config: Value =
        serde_json::from_str(&run(&sh, "skopeo", &["inspect", "--config", &archive]).stdout)
            .expect("JSON");
    let process = &config["config"];
    assert_eq!(process["User"], "65532:65532");
    assert_eq!(process["Entrypoint"], json!(["/usr/local/bin/caio-verify"]));
    assert_eq!(process["Cmd"], json!(["serve", "--listen", "0.0.0.0:8421"]));
    assert_eq!(process["ExposedPorts"], json!({"8421/tcp": {}}));
    assert_eq!(process["Labels"], labels);
    assert_eq!(
        config["created"],
        labels["org.opencontainers.image.created"]
    );

    // The same image, unpacked into a layout directory, by its tag.
    let unpacked = format!("oci:{}:{VERSION}", path(layout()));
    let again: Value =
        serde_json::from_str(&run(&sh, "skopeo", &["inspect", &unpacked]).stdout).expect("JSON");
    assert_eq!(again["Digest"], digest);

    // Listed like every released file.
    let sums = std::fs::read_to_string(r.dist.join("SHA256SUMS")).expect("sums");
    let bytes = std::fs::read(r.dist.join(IMAGE)).expect("image");
    assert!(
        sums.contains(&format!(
            "{}  {IMAGE}\n",
            hex::encode(Sha256::digest(&bytes))
        )),
        "{sums}"
    );
}

#[test]
fn umoci_unpacks_a_static_caio_verify_that_verifies_an_openssl_license() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle");
    let sh = Shell::new().expect("shell");
    let image = format!("{}:{VERSION}", path(layout()));
    run(
        &sh,
        "umoci",
        &["unpack", "--rootless", "--image", &image, path(&bundle)],
    );
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(bundle.join("config.json")).expect("the runtime spec"),
    )
    .expect("JSON");
    assert_eq!(spec["process"]["user"]["uid"], 65532);
    assert_eq!(spec["process"]["user"]["gid"], 65532);
    assert_eq!(
        spec["process"]["args"],
        json!([
            "/usr/local/bin/caio-verify",
            "serve",
            "--listen",
            "0.0.0.0:8421"
        ])
    );

    let exe = bundle.join("rootfs/usr/local/bin/caio-verify");
    let mode = std::fs::metadata(&exe)
        .expect("the binary")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    let file = run(&sh, "file", &["--brief", path(&exe)]).stdout;
    assert!(
        file.contains("statically linked") || file.contains("static-pie linked"),
        "file: {file}"
    );
    let ldd = capture(cmd!(sh, "ldd {exe}"), "ldd");
    let ldd = format!("{}{}", ldd.stdout, ldd.stderr);
    assert!(
        ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
        "ldd: {ldd}"
    );

    let keys = tempfile::tempdir().expect("tempdir");
    let key = private_key(keys.path(), 7);
    let license = |sub: &str| {
        let at = at();
        let payload = json!({"kid": fingerprint(7), "lid": "L-1", "sub": sub,
                             "iat": at - 86_400, "exp": at + 86_400});
        openssl_license(&key, &payload)
    };
    let valid = license("ACME");
    let forged = with_signature(&license("EVIL"), &signature_of(&valid));
    let at = jiff::Timestamp::from_second(at())
        .expect("instant")
        .to_string();
    let exe = path(&exe);
    let verdict = |token: &str, code: i32| -> Value {
        let out = capture(
            cmd!(sh, "{exe} license {token} --json --at {at}")
                .env("RUST_LOG", "off")
                .env_remove("CAIO_LICENSE_PUBLIC_KEY"),
            "caio-verify license",
        );
        assert_eq!(out.code, code, "{}{}", out.stdout, out.stderr);
        serde_json::from_str(&out.stdout).expect("a JSON verdict")
    };
    let accepted = verdict(&valid, 0);
    assert_eq!(accepted["valid"], true, "{accepted}");
    assert_eq!(accepted["payload"]["sub"], "ACME", "{accepted}");
    assert_eq!(accepted["kid"], fingerprint(7), "{accepted}");
    assert_eq!(verdict(&forged, 1)["reason"], "bad_signature");
    let keyring: Value =
        serde_json::from_str(&run(&sh, exe, &["keyring", "--json"]).stdout).expect("JSON");
    assert_eq!(
        keyring["fingerprint"],
        expected_labels()["io.caio.keyring.fingerprint"]
    );
}

#[test]
fn the_docker_archive_names_the_layout_blobs_and_skopeo_copies_it() {
    let r = released();
    let bytes = std::fs::read(r.dist.join(IMAGE)).expect("image");
    let entries = tar_entries(&bytes);
    let names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted entries");
    for (name, header, _) in &entries {
        assert_eq!(header.uid().expect("uid"), 0, "{name}");
        assert_eq!(header.gid().expect("gid"), 0, "{name}");
    }
    let docker: Value = serde_json::from_slice(entry(&entries, "manifest.json")).expect("JSON");
    assert_eq!(
        docker[0]["RepoTags"],
        json!([format!("caio-verify:{VERSION}")])
    );
    let config_path = docker[0]["Config"].as_str().expect("Config");
    let config_bytes = entry(&entries, config_path);
    assert_eq!(
        format!("blobs/{}", sha256(config_bytes).replace(':', "/")),
        config_path
    );
    let config: Value = serde_json::from_slice(config_bytes).expect("JSON");
    let layers = docker[0]["Layers"].as_array().expect("Layers");
    assert_eq!(layers.len(), 1);
    let layer_path = layers[0].as_str().expect("a layer path");
    let layer = entry(&entries, layer_path);
    assert_eq!(
        format!("blobs/{}", sha256(layer).replace(':', "/")),
        layer_path
    );
    assert_eq!(
        config["rootfs"]["diff_ids"],
        json!([sha256(&gunzip(layer))])
    );
    // The OCI manifest the index names uses the same config and layer.
    let index: Value = serde_json::from_slice(entry(&entries, "index.json")).expect("JSON");
    let manifest_digest = index["manifests"][0]["digest"].as_str().expect("digest");
    let manifest: Value = serde_json::from_slice(entry(
        &entries,
        &format!("blobs/{}", manifest_digest.replace(':', "/")),
    ))
    .expect("JSON");
    assert_eq!(manifest["config"]["digest"], sha256(config_bytes));
    assert_eq!(manifest["layers"][0]["digest"], sha256(layer));
    assert_eq!(manifest["annotations"], expected_labels());

    let dir = tempfile::tempdir().expect("tempdir");
    let sh = Shell::new().expect("shell");
    let source = format!("docker-archive:{}", path(&r.dist.join(IMAGE)));
    let copy = format!("oci:{}:copied", path(&dir.path().join("copy")));
    run(&sh, "skopeo", &["copy", "--quiet", &source, &copy]);
    let copied: Value =
        serde_json::from_str(&run(&sh, "skopeo", &["inspect", "--config", &copy]).stdout)
            .expect("JSON");
    assert_eq!(copied["config"]["User"], "65532:65532");
    assert_eq!(copied["config"]["Labels"], expected_labels());
    assert_eq!(copied["rootfs"], config["rootfs"]);
}

#[test]
fn the_gate_fails_an_image_whose_layer_carries_another_keyring() {
    let r = released();
    let original = r.dist.join(IMAGE);
    let entries = tar_entries(&std::fs::read(&original).expect("image"));
    let docker: Value = serde_json::from_slice(entry(&entries, "manifest.json")).expect("JSON");
    let layer_path = docker[0]["Layers"][0].as_str().expect("layer").to_owned();

    // The layer again, its binary's block holding key 8 instead of key 7, with the
    // block's digest fixed: a valid keyring, but not the manifest's.
    let mut layer = tar::Builder::new(Vec::new());
    for (name, header, mut data) in tar_entries(&gunzip(entry(&entries, &layer_path))) {
        if name == "usr/local/bin/caio-verify" {
            let (at, len) = test_support::keyring::find_block(&data);
            let block = &mut data[at..at + len];
            let key_at = block
                .windows(32)
                .position(|w| w == public_raw(7))
                .expect("key 7 in the block");
            block[key_at..key_at + 32].copy_from_slice(&public_raw(8));
            let digest = Sha256::digest(&block[..len - 32]);
            block[len - 32..].copy_from_slice(&digest);
        }
        let mut header = header;
        layer
            .append_data(&mut header, &name, data.as_slice())
            .expect("re-tar");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&layer.into_inner().expect("layer"))
        .expect("gzip");
    let patched_layer = gz.finish().expect("gzip");

    let mut image = tar::Builder::new(Vec::new());
    for (name, header, data) in &entries {
        let data = if *name == layer_path {
            &patched_layer
        } else {
            data
        };
        let mut header = header.clone();
        header.set_size(data.len() as u64);
        image
            .append_data(&mut header, name, data.as_slice())
            .expect("re-tar");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let patched = dir.path().join(IMAGE);
    std::fs::write(&patched, image.into_inner().expect("image")).expect("write");

    verify_artifact(&r.manifest(), &[&original], &["--json"]).expect(0);
    let tampered = verify_artifact(&r.manifest(), &[&patched], &["--json"]).expect(1);
    let report: Value = serde_json::from_str(&tampered.stdout).expect("JSON");
    assert_eq!(
        report["artifacts"][0]["reasons"],
        json!(["mismatch"]),
        "{report}"
    );
}
