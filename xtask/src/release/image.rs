//! The container image of a release, `caio-verify-image.tar`, written without a Dockerfile
//! or a daemon (the idea of `ko` for Go): one more build of `caio-verify`, statically
//! linked ([`build::build_static`]), and an OCI image around it written by this module
//! with `tar`, `flate2`, `serde_json` and `sha2`.
//!
//! The image: an empty base and one layer (`usr/`, `usr/local/`, `usr/local/bin/` and
//! the binary at [`BINARY`], all mode 0755), run as [`USER`] (no user or group name: the
//! image has no `/etc/passwd`), entrypoint `/usr/local/bin/caio-verify` with the command
//! `serve --listen 0.0.0.0:8421` (the status server, the deployment's sidecar; a user
//! passes another command, `license TOKEN`, without touching the entrypoint), port
//! 8421/tcp exposed, and the [`labels`] (the OCI annotation keys and
//! [`FINGERPRINT_LABEL`], the keyring fingerprint) in the config's labels and in the
//! manifest's annotations.
//!
//! The file is one tar that two formats read: an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/`, for `skopeo` `oci-archive:` and, unpacked, `umoci` and
//! `skopeo` `oci:DIR:VERSION`) and a `docker load` archive (`manifest.json` naming the
//! same config and layer blobs, tagged `caio-verify:VERSION`), as `docker save` writes
//! since Docker 25. One file keeps the release directory flat (`SHA256SUMS` and the
//! statement list it like any file) and holds the layer once.
//!
//! The image is reproducible: every time in it (the entries' mtimes, `created`) is
//! `SOURCE_DATE_EPOCH` (the commit's time, [`wheel::source_date_epoch`]), entries are
//! sorted, owners are 0:0 without names, the gzip header has no time or name and a fixed
//! OS byte, and the JSON documents are compact with sorted keys; the same binary and
//! [`Description`] always give the same bytes, hence the same digests.
//!
//! Not here: pushing to a registry, images for other platforms than the release target,
//! or signing the image (the release statement lists the archive's SHA-256).
//!
//! [`wheel::source_date_epoch`]: super::wheel::source_date_epoch

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use cargo_metadata::Metadata;
use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use xshell::Shell;

use super::build::{self, Binary, Shipped};

/// The image archive's file name in the release directory.
pub const FILE_NAME: &str = "caio-verify-image.tar";

/// Where the binary is in the image (a layer path: no leading `/`).
pub const BINARY: &str = "usr/local/bin/caio-verify";

/// The numeric user and group the container runs as (distroless's `nonroot`).
pub const USER: &str = "65532:65532";

/// The port `serve` listens on in the container.
pub const PORT: u16 = 8421;

/// The repository name of the tag `docker load` gives the image (`caio-verify:VERSION`).
pub const REPOSITORY: &str = "caio-verify";

/// The label and annotation holding the fingerprint of the embedded keyring.
pub const FINGERPRINT_LABEL: &str = "io.caio.keyring.fingerprint";

/// What the image says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// The package version: `org.opencontainers.image.version` and the tag.
    pub version: String,
    /// The git commit (with `-dirty`), as the statement records it; no label when `None`.
    pub revision: Option<String>,
    /// The package's `repository` URL; no label when `None`.
    pub source: Option<String>,
    /// `sha256:<hex>`: the keyring the binary embeds.
    pub keyring_fingerprint: String,
    /// `SOURCE_DATE_EPOCH`: `created` and every mtime in the image.
    pub epoch: i64,
    /// The OCI architecture (`amd64`, `arm64`), from [`architecture`].
    pub architecture: String,
}

impl Description {
    /// The description of the image of a release: the version and `repository` of the
    /// package that ships `caio-verify` (`caio-cli`), the git commit as the statement
    /// records it, the keyring's fingerprint, `SOURCE_DATE_EPOCH`, and the architecture of
    /// `target` (an error for a target other than x86_64 or aarch64 Linux).
    pub fn new(
        metadata: &Metadata,
        revision: Option<String>,
        keyring: &caio_keyring::Keyring,
        epoch: i64,
        target: &str,
    ) -> Result<Self> {
        let package = metadata
            .workspace_packages()
            .into_iter()
            .find(|p| p.name.as_str() == "caio-cli")
            .context("cargo metadata lists no caio-cli package: the image has no version")?;
        Ok(Self {
            version: package.version.to_string(),
            revision,
            source: package.repository.clone(),
            keyring_fingerprint: keyring.fingerprint().to_string(),
            epoch,
            architecture: architecture(target)?.to_owned(),
        })
    }
}

/// An image archive in a temporary directory that lives as long as this.
#[derive(Debug)]
pub struct Image {
    /// The archive.
    pub path: PathBuf,
    /// The image manifest's digest, `sha256:<hex>`: what a registry would call the image.
    pub digest: String,
    /// The statically linked binary the image holds.
    pub binary: Binary,
    _dir: tempfile::TempDir,
}

/// An image in memory: the archive's bytes and the manifest's digest.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    archive: Vec<u8>,
    digest: String,
}

/// A content-addressed blob: its bytes, media type and digest.
struct Blob {
    bytes: Vec<u8>,
    media_type: &'static str,
    hex: String,
}

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// Builds `caio-verify` (of `plan`) statically for `target`, checks that it needs no
/// loader, and writes its image, described by `description`, into a temporary directory
/// under the target directory.
pub fn build(
    sh: &Shell,
    cargo: &str,
    metadata: &Metadata,
    plan: &[Shipped],
    target: &str,
    description: &Description,
) -> Result<Image> {
    let shipped = plan
        .iter()
        .find(|s| s.package == "caio-cli" && s.bin == "caio-verify")
        .context("the release plan has no caio-verify binary to put in the image")?;
    let binary = build::build_static(sh, cargo, metadata, shipped, target)?;
    let bytes = std::fs::read(&binary.path)
        .with_context(|| format!("cannot read {}", binary.path.display()))?;
    if let Some(loader) = interpreter(&bytes)
        .with_context(|| format!("{} is not an ELF executable", binary.path.display()))?
    {
        bail!(
            "{} asks for the loader {loader}, which the image does not have: the static \
             build (-C target-feature=+crt-static) did not make a static executable",
            binary.path.display()
        );
    }
    let written = write(&bytes, description)?;
    let target_dir = metadata.target_directory.as_std_path();
    let dir = tempfile::Builder::new()
        .prefix("release-image.")
        .tempdir_in(target_dir)
        .with_context(|| format!("cannot create a directory in {}", target_dir.display()))?;
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, &written.archive)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Image {
        path,
        digest: written.digest,
        binary,
        _dir: dir,
    })
}

/// The OCI architecture of a Linux `target` triple; an error for any other target.
pub fn architecture(target: &str) -> Result<&'static str> {
    let mut parts = target.split('-');
    let arch = parts.next().unwrap_or_default();
    let linux = parts.any(|p| p == "linux");
    let oci = match arch {
        "x86_64" => Some("amd64"),
        "aarch64" => Some("arm64"),
        _ => None,
    };
    match oci.filter(|_| linux) {
        Some(oci) => Ok(oci),
        None => bail!(
            "the container image is built for x86_64 or aarch64 Linux targets only, and the \
             release is for {target}: pass --no-image"
        ),
    }
}

/// The labels of the config, which are also the manifest's annotations.
pub fn labels(description: &Description) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    let mut put = |key: &str, value: &str| labels.insert(key.to_owned(), value.to_owned());
    put("org.opencontainers.image.title", REPOSITORY);
    put("org.opencontainers.image.version", &description.version);
    put("org.opencontainers.image.created", &created(description)?);
    if let Some(revision) = &description.revision {
        put("org.opencontainers.image.revision", revision);
    }
    if let Some(source) = &description.source {
        put("org.opencontainers.image.source", source);
    }
    put(FINGERPRINT_LABEL, &description.keyring_fingerprint);
    Ok(labels)
}

/// The image of `binary` as `description` says, in memory.
fn write(binary: &[u8], description: &Description) -> Result<Written> {
    ensure!(
        is_tag(&description.version),
        "the package version {:?} is not a valid image tag (letters, digits, `_`, `.`, `-`; \
         at most 128): it cannot tag the image",
        description.version
    );
    let mtime = u64::try_from(description.epoch).with_context(|| {
        format!(
            "SOURCE_DATE_EPOCH={} is before 1970: no tar entry can hold it",
            description.epoch
        )
    })?;
    let layer_tar = layer(binary, mtime)?;
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&layer_tar)));
    let layer = Blob::new(gzip(&layer_tar)?, LAYER_TYPE);
    let labels = labels(description)?;
    let config = Blob::json(&config(description, &labels, &diff_id)?, CONFIG_TYPE)?;
    let manifest = Blob::json(
        &json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
            "annotations": labels,
        }),
        MANIFEST_TYPE,
    )?;
    let mut manifest_descriptor = manifest.descriptor();
    manifest_descriptor["annotations"] =
        json!({"org.opencontainers.image.ref.name": description.version});
    manifest_descriptor["platform"] =
        json!({"architecture": description.architecture, "os": "linux"});
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [manifest_descriptor],
    });
    let docker_manifest = json!([{
        "Config": config.path(),
        "RepoTags": [format!("{REPOSITORY}:{}", description.version)],
        "Layers": [layer.path()],
    }]);
    let mut files: Vec<(String, Vec<u8>)> = [&config, &layer, &manifest]
        .into_iter()
        .map(|blob| (blob.path(), blob.bytes.clone()))
        .collect();
    files.push(("index.json".to_owned(), serde_json::to_vec(&index)?));
    files.push((
        "manifest.json".to_owned(),
        serde_json::to_vec(&docker_manifest)?,
    ));
    files.push((
        "oci-layout".to_owned(),
        serde_json::to_vec(&json!({"imageLayoutVersion": "1.0.0"}))?,
    ));
    files.sort();
    let mut archive = tar::Builder::new(Vec::new());
    for dir in ["blobs/", "blobs/sha256/"] {
        append(
            &mut archive,
            dir,
            tar::EntryType::Directory,
            0o755,
            mtime,
            &[],
        )?;
    }
    for (name, bytes) in &files {
        append(
            &mut archive,
            name,
            tar::EntryType::Regular,
            0o644,
            mtime,
            bytes,
        )?;
    }
    Ok(Written {
        archive: archive
            .into_inner()
            .context("cannot finish the image archive")?,
        digest: format!("sha256:{}", manifest.hex),
    })
}

/// The layer, uncompressed: the directories down to the binary, then the binary.
fn layer(binary: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dir = String::new();
    let (parents, _) = BINARY.rsplit_once('/').context("BINARY has a directory")?;
    for part in parents.split('/') {
        dir = format!("{dir}{part}/");
        append(&mut tar, &dir, tar::EntryType::Directory, 0o755, mtime, &[])?;
    }
    append(
        &mut tar,
        BINARY,
        tar::EntryType::Regular,
        0o755,
        mtime,
        binary,
    )?;
    tar.into_inner().context("cannot finish the image layer")
}

/// Appends one entry with a ustar header: owner 0:0 without names, `mode`, `mtime`.
fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    bytes: &[u8],
) -> Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(bytes.len() as u64);
    tar.append_data(&mut header, path, bytes)
        .with_context(|| format!("cannot add {path} to the image"))
}

/// `bytes` gzip'd at the best level, with a header that holds no time and no name and
/// says "unknown OS" (255), so the same bytes always compress the same.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    encoder
        .write_all(bytes)
        .context("cannot compress the image layer")?;
    encoder.finish().context("cannot compress the image layer")
}

/// The image configuration (OCI image spec, `config.json`).
fn config(
    description: &Description,
    labels: &BTreeMap<String, String>,
    diff_id: &str,
) -> Result<Value> {
    let created = created(description)?;
    Ok(json!({
        "created": created,
        "architecture": description.architecture,
        "os": "linux",
        "config": {
            "User": USER,
            "ExposedPorts": {format!("{PORT}/tcp"): {}},
            "Env": ["PATH=/usr/local/bin"],
            "Entrypoint": [format!("/{BINARY}")],
            "Cmd": ["serve", "--listen", format!("0.0.0.0:{PORT}")],
            "WorkingDir": "/",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "cargo xtask release"}],
    }))
}

/// `created`: the epoch as an RFC 3339 instant.
fn created(description: &Description) -> Result<String> {
    let instant = jiff::Timestamp::from_second(description.epoch).with_context(|| {
        format!(
            "SOURCE_DATE_EPOCH={} is not an instant the image can record",
            description.epoch
        )
    })?;
    Ok(instant.to_string())
}

/// Whether `tag` is a valid image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_tag(tag: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    tag.len() <= 128
        && tag.bytes().all(ok)
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The loader an ELF executable asks for (its `PT_INTERP`), `None` for a static one.
fn interpreter(bytes: &[u8]) -> Result<Option<String>> {
    use object::read::elf::{ElfFile64, ProgramHeader as _};
    let elf = ElfFile64::<object::Endianness>::parse(bytes).context("not a 64-bit ELF file")?;
    let endian = elf.endian();
    for header in elf.elf_program_headers() {
        if let Some(loader) = header
            .interpreter(endian, bytes)
            .context("a PT_INTERP header out of the file")?
        {
            return Ok(Some(String::from_utf8_lossy(loader).into_owned()));
        }
    }
    Ok(None)
}

impl Blob {
    fn new(bytes: Vec<u8>, media_type: &'static str) -> Self {
        let hex = hex::encode(Sha256::digest(&bytes));
        Self {
            bytes,
            media_type,
            hex,
        }
    }

    /// `value` as compact JSON (keys sorted, as `serde_json::Value` keeps them).
    fn json(value: &Value, media_type: &'static str) -> Result<Self> {
        Ok(Self::new(serde_json::to_vec(value)?, media_type))
    }

    /// Its OCI content descriptor.
    fn descriptor(&self) -> Value {
        json!({
            "mediaType": self.media_type,
            "digest": format!("sha256:{}", self.hex),
            "size": self.bytes.len(),
        })
    }

    /// Its path in the layout.
    fn path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn description() -> Description {
        Description {
            version: "1.2.3".to_owned(),
            revision: Some("0123abcd".to_owned()),
            source: Some("https://example.com/caio".to_owned()),
            keyring_fingerprint: format!("sha256:{}", "ab".repeat(32)),
            epoch: 1_780_000_000,
            architecture: "amd64".to_owned(),
        }
    }

    /// Every entry of a tar: (path, header, bytes).
    fn entries(tar: &[u8]) -> Vec<(String, tar::Header, Vec<u8>)> {
        let mut archive = tar::Archive::new(tar);
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let header = entry.header().clone();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            out.push((path, header, bytes));
        }
        out
    }

    fn file<'a>(entries: &'a [(String, tar::Header, Vec<u8>)], name: &str) -> &'a [u8] {
        &entries.iter().find(|(p, _, _)| p == name).unwrap().2
    }

    fn blob<'a>(entries: &'a [(String, tar::Header, Vec<u8>)], digest: &Value) -> &'a [u8] {
        let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
        let bytes = file(entries, &format!("blobs/sha256/{hex}"));
        assert_eq!(
            hex::encode(Sha256::digest(bytes)),
            hex,
            "a blob is named by its digest"
        );
        bytes
    }

    #[test]
    fn the_same_binary_and_description_give_the_same_bytes_and_digest() {
        let binary = b"\x7fELF not really, but bytes".repeat(1000);
        let first = write(&binary, &description()).unwrap();
        let second = write(&binary, &description()).unwrap();
        assert_eq!(first, second);
        let mut later = description();
        later.epoch += 1;
        assert_ne!(write(&binary, &later).unwrap().digest, first.digest);
        let other = write(b"another binary", &description()).unwrap();
        assert_ne!(other.digest, first.digest);
    }

    #[test]
    fn the_archive_is_an_oci_layout_and_a_docker_archive_of_one_layer() {
        let binary = b"the binary".to_vec();
        let written = write(&binary, &description()).unwrap();
        let outer = entries(&written.archive);
        let names: Vec<&str> = outer.iter().map(|(p, _, _)| p.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "entries are sorted");
        assert_eq!(names.len(), 8, "{names:?}");
        for (path, header, _) in &outer {
            assert_eq!(
                (header.uid().unwrap(), header.gid().unwrap()),
                (0, 0),
                "{path}"
            );
            assert_eq!(header.mtime().unwrap(), 1_780_000_000, "{path}");
            assert_eq!(header.username_bytes(), Some(&b""[..]), "{path}");
        }
        assert_eq!(
            file(&outer, "oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#
        );

        let index: Value = serde_json::from_slice(file(&outer, "index.json")).unwrap();
        assert_eq!(index["mediaType"], INDEX_TYPE);
        let descriptor = &index["manifests"][0];
        assert_eq!(
            descriptor["annotations"]["org.opencontainers.image.ref.name"],
            "1.2.3"
        );
        assert_eq!(
            descriptor["platform"],
            json!({"architecture": "amd64", "os": "linux"})
        );
        assert_eq!(descriptor["digest"], written.digest.as_str());
        let manifest_bytes = blob(&outer, &descriptor["digest"]);
        assert_eq!(descriptor["size"], manifest_bytes.len());
        let manifest: Value = serde_json::from_slice(manifest_bytes).unwrap();
        assert_eq!(manifest["mediaType"], MANIFEST_TYPE);
        let labels = json!({
            "io.caio.keyring.fingerprint": description().keyring_fingerprint,
            "org.opencontainers.image.created": "2026-05-28T20:26:40Z",
            "org.opencontainers.image.revision": "0123abcd",
            "org.opencontainers.image.source": "https://example.com/caio",
            "org.opencontainers.image.title": "caio-verify",
            "org.opencontainers.image.version": "1.2.3",
        });
        assert_eq!(manifest["annotations"], labels);

        let config: Value =
            serde_json::from_slice(blob(&outer, &manifest["config"]["digest"])).unwrap();
        assert_eq!(config["config"]["Labels"], labels);
        assert_eq!(config["config"]["User"], "65532:65532");
        assert_eq!(config["config"]["ExposedPorts"], json!({"8421/tcp": {}}));
        assert_eq!(
            config["config"]["Entrypoint"],
            json!(["/usr/local/bin/caio-verify"])
        );
        assert_eq!(
            config["config"]["Cmd"],
            json!(["serve", "--listen", "0.0.0.0:8421"])
        );
        assert_eq!(config["created"], "2026-05-28T20:26:40Z");
        assert_eq!(
            (&config["os"], &config["architecture"]),
            (&json!("linux"), &json!("amd64"))
        );

        assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["layers"][0]["mediaType"], LAYER_TYPE);
        let gz = blob(&outer, &manifest["layers"][0]["digest"]);
        // ID1 ID2 CM FLG(no name) MTIME(0) XFL OS(255)
        assert_eq!(&gz[..8], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        assert_eq!(gz[9], 255);
        let mut layer_tar = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut layer_tar)
            .unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!([format!(
                "sha256:{}",
                hex::encode(Sha256::digest(&layer_tar))
            )])
        );
        let layer = entries(&layer_tar);
        let shown: Vec<(&str, u32, u64, u64)> = layer
            .iter()
            .map(|(p, h, _)| {
                (
                    p.as_str(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("usr/", 0o755, 0, 1_780_000_000),
                ("usr/local/", 0o755, 0, 1_780_000_000),
                ("usr/local/bin/", 0o755, 0, 1_780_000_000),
                ("usr/local/bin/caio-verify", 0o755, 0, 1_780_000_000),
            ]
        );
        assert_eq!(layer[3].2, binary);
        assert!(
            layer
                .iter()
                .all(|(_, h, _)| h.gid().unwrap() == 0 && h.groupname_bytes() == Some(&b""[..]))
        );

        let docker: Value = serde_json::from_slice(file(&outer, "manifest.json")).unwrap();
        assert_eq!(
            docker,
            json!([{
                "Config": format!("blobs/sha256/{}", &manifest["config"]["digest"].as_str().unwrap()[7..]),
                "RepoTags": ["caio-verify:1.2.3"],
                "Layers": [format!("blobs/sha256/{}", &manifest["layers"][0]["digest"].as_str().unwrap()[7..])],
            }])
        );
    }

    #[test]
    fn labels_without_a_revision_or_source_leave_them_out() {
        let mut bare = description();
        bare.revision = None;
        bare.source = None;
        let keys: Vec<String> = labels(&bare).unwrap().into_keys().collect();
        assert_eq!(
            keys,
            [
                "io.caio.keyring.fingerprint",
                "org.opencontainers.image.created",
                "org.opencontainers.image.title",
                "org.opencontainers.image.version",
            ]
        );
    }

    #[test]
    fn a_bad_tag_or_epoch_is_an_error_naming_it() {
        let check = |edit: &dyn Fn(&mut Description), needle: &str| {
            let mut d = description();
            edit(&mut d);
            let error = format!("{:#}", write(b"x", &d).unwrap_err());
            assert!(error.contains(needle), "{error}");
        };
        check(&|d| d.version = "1.0.0+build".to_owned(), "1.0.0+build");
        check(&|d| d.version = String::new(), "version");
        check(&|d| d.epoch = -1, "SOURCE_DATE_EPOCH=-1");
        assert!(is_tag("0.1.0-rc.1") && is_tag("_x") && !is_tag(".x") && !is_tag(&"a".repeat(129)));
    }

    #[test]
    fn only_x86_64_and_aarch64_linux_targets_have_an_architecture() {
        let check = |target: &str, expected: Option<&str>| {
            assert_eq!(architecture(target).ok(), expected, "{target}");
        };
        check("x86_64-unknown-linux-gnu", Some("amd64"));
        check("aarch64-unknown-linux-gnu", Some("arm64"));
        check("x86_64-unknown-linux-musl", Some("amd64"));
        check("x86_64-apple-darwin", None);
        check("x86_64-pc-windows-msvc", None);
        check("riscv64gc-unknown-linux-gnu", None);
        let error = format!("{:#}", architecture("aarch64-apple-darwin").unwrap_err());
        assert!(error.contains("--no-image"), "{error}");
    }

    #[test]
    fn a_dynamic_executable_names_its_loader() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        if cfg!(all(target_os = "linux", target_pointer_width = "64")) {
            let loader = interpreter(&exe).unwrap();
            assert!(
                loader.is_some_and(|l| l.contains("ld-")),
                "the test binary is dynamic"
            );
        }
        assert!(interpreter(b"not an ELF file").is_err());
    }
}
