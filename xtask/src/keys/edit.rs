//! Editing `keys/keyring.toml`: the one way every `keys` command changes it.
//!
//! An [`Edit`] holds the manifest's text, its checked model and a `toml_edit` document,
//! so comments, blank lines and field order survive every change. [`Edit::commit`]
//! bumps `serial`, runs the very checks the build runs on the new text (with the PEM
//! files the edit will create), and only then writes: PEM files first (never over an
//! existing file), the manifest atomically, and files the manifest no longer names
//! last. With `--dry-run` it prints the change as a diff and writes nothing. The
//! commands that use it live in `add.rs` and `lifecycle.rs`; this module decides
//! nothing about windows or policy.
//!
//! A kill at any point leaves the old manifest or the new one, byte for byte, and one
//! the build accepts: before the rename nothing the manifest names has changed, after
//! it only files it no longer names are left to delete. What a kill can leave behind
//! is harmless to the build: a temporary `.keyring.toml.*.tmp` (the next edit deletes
//! it, under the lock), a new PEM file no key names yet (`keys check` names it, and a
//! rerun of the same edit takes it up), a PEM file no key names any more (`keys check`
//! names it, to delete by hand). Edits of one directory are serialized by
//! an exclusive lock on it, taken before the manifest is read and held until the edit
//! is written, so two concurrent edits cannot lose one another's change. The
//! `test_hook::pause` points let the tests kill an edit at each of these steps.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use caio_keyring::manifest::Manifest;
use clap::Args;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use super::{policy, print_manifest_errors, timeline};
use crate::fsutil::{AtomicFile, DirLock};
use crate::time::{Clock, format_instant};
use crate::{Outcome, fsutil, test_hook};

/// The flags every editing command shares.
#[derive(Debug, Clone, Copy, Args)]
pub struct EditFlags {
    /// Show the change as a diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A pending change to the manifest.
pub struct Edit {
    path: PathBuf,
    old_text: String,
    doc: DocumentMut,
    manifest: Manifest,
    create: BTreeMap<PathBuf, Vec<u8>>,
    /// Files of `create` that already exist with exactly those bytes, left by an
    /// interrupted run of the same edit.
    reuse: BTreeSet<PathBuf>,
    delete: Vec<PathBuf>,
    summary: Vec<String>,
    show_timeline: bool,
    /// Held from before the manifest is read until the edit is dropped.
    _lock: DirLock,
}

/// The order of a key's fields, as `docs/format.md` writes them.
const KEY_FIELDS: [&str; 8] = [
    "id",
    "algorithm",
    "public_key",
    "fingerprint",
    "not_before",
    "sign_until",
    "not_after",
    "status",
];

impl Edit {
    /// Reads the manifest at `path`. A manifest the build rejects cannot be edited: its
    /// errors are printed and `Ok(None)` returned.
    ///
    /// Takes the directory's edit lock first (waiting, with a message, while another
    /// edit holds it), then deletes the temporary files a killed edit left.
    pub fn open(path: &Path) -> Result<Option<Self>> {
        let dir = fsutil::parent_dir(path);
        if !dir.is_dir() {
            bail!(
                "cannot read {}: {} is not a directory",
                path.display(),
                dir.display()
            );
        }
        let lock = DirLock::acquire(dir, || {
            eprintln!(
                "waiting for another edit of {} to finish (it holds the lock on {})",
                path.display(),
                dir.display()
            );
        })?;
        for stale in fsutil::stale_temporaries(path)? {
            std::fs::remove_file(&stale)
                .with_context(|| format!("cannot delete {}", stale.display()))?;
            eprintln!(
                "deleted {}, left by an edit that was stopped before it finished",
                stale.display()
            );
        }
        let old_text = caio_keyring::manifest::read_manifest_text(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let manifest = match Manifest::parse(
            path,
            &old_text,
            caio_keyring::manifest::read_public_key_file,
        ) {
            Ok(m) => m,
            Err(errors) => {
                print_manifest_errors(&errors);
                eprintln!(
                    "error: {} must pass `cargo xtask keys check` before it can be edited; fix it by hand (it is text in git)",
                    path.display()
                );
                return Ok(None);
            }
        };
        let doc: DocumentMut = old_text
            .parse()
            .with_context(|| format!("{} is not TOML", path.display()))?;
        test_hook::pause("opened");
        Ok(Some(Self {
            path: path.to_owned(),
            old_text,
            doc,
            manifest,
            create: BTreeMap::new(),
            reuse: BTreeSet::new(),
            delete: Vec::new(),
            summary: Vec::new(),
            show_timeline: false,
            _lock: lock,
        }))
    }

    /// The manifest as it is before the edit.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory of the manifest and its PEM files.
    pub fn keys_dir(&self) -> PathBuf {
        crate::workspace::keys_dir(&self.path)
    }

    /// Records a line for the summary printed after the edit.
    pub fn note(&mut self, line: String) {
        self.summary.push(line);
    }

    /// Prints the resulting timeline before writing.
    pub fn show_timeline(&mut self) {
        self.show_timeline = true;
    }

    /// A file to create (never overwrite) before the manifest is written.
    ///
    /// A file that already exists is refused, except one that holds exactly `bytes`
    /// and that no key of the manifest names: what this very edit left when it was
    /// stopped after creating it, which is kept rather than blocking the rerun.
    pub fn create_file(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<()> {
        if let Ok(meta) = path.symlink_metadata() {
            let named = self.manifest.keys().iter().any(|k| k.pem_path == path);
            let same = meta.is_file() && std::fs::read(&path).is_ok_and(|old| old == bytes);
            if named || !same {
                bail!(
                    "{} already exists; refusing to overwrite it",
                    path.display()
                );
            }
            self.note(format!(
                "kept {}, which an interrupted edit had already written with these bytes",
                path.display()
            ));
            self.reuse.insert(path.clone());
        }
        self.create.insert(path, bytes);
        Ok(())
    }

    /// A file to delete after the manifest is written.
    pub fn delete_file(&mut self, path: PathBuf) {
        self.delete.push(path);
    }

    /// Appends a `[[key]]` table with `fields` in the manifest's field order.
    pub fn push_key(&mut self, fields: Vec<(&'static str, Value)>) -> Result<()> {
        let message = self.inline_keys_message();
        let root = self.doc.as_table_mut();
        if !root.contains_key("key") {
            root.insert("key", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        let keys = root
            .get_mut("key")
            .and_then(Item::as_array_of_tables_mut)
            .context(message)?;
        let mut table = Table::new();
        for (name, value) in fields {
            table.insert(name, Item::Value(value));
        }
        table.decor_mut().set_prefix("\n");
        keys.push(table);
        Ok(())
    }

    /// Sets `field` of the key `id`, keeping the comments around the old value and
    /// putting a new field in its place in the manifest's field order.
    pub fn set_key_field(&mut self, id: &str, field: &'static str, value: Value) -> Result<()> {
        let table = self.key_table_mut(id)?;
        match table.get_mut(field).and_then(Item::as_value_mut) {
            Some(old) => {
                let decor = old.decor().clone();
                *old = value;
                *old.decor_mut() = decor;
            }
            None => {
                table.insert(field, Item::Value(value));
                table.sort_values_by(|a, _, b, _| field_rank(a.get()).cmp(&field_rank(b.get())));
            }
        }
        Ok(())
    }

    /// Removes the `[[key]]` table of `id`, with the comments inside it.
    pub fn remove_key(&mut self, id: &str) -> Result<()> {
        let index = self.key_index(id)?;
        let message = self.inline_keys_message();
        self.doc
            .get_mut("key")
            .and_then(Item::as_array_of_tables_mut)
            .context(message)?
            .remove(index);
        Ok(())
    }

    /// Checks the edited text as the build would, then writes it (or, for a dry run,
    /// prints the diff). A manifest the build would reject is never written.
    pub fn commit(mut self, flags: EditFlags, clock: Clock) -> Result<Outcome> {
        let old_serial = self.manifest.serial();
        let new_serial = old_serial
            .checked_add(1)
            .context("serial is at its maximum (4294967295)")?;
        self.set_root_field("serial", Value::from(i64::from(new_serial)));
        let new_text = self.doc.to_string();

        let create = &self.create;
        let new_manifest = match Manifest::parse(&self.path, &new_text, |p| match create.get(p) {
            Some(bytes) => Ok(bytes.clone()),
            None => caio_keyring::manifest::read_public_key_file(p),
        }) {
            Ok(m) => m,
            Err(errors) => {
                print_manifest_errors(&errors);
                eprintln!("error: the build would reject the edited manifest; nothing was written");
                return Ok(Outcome::Failure);
            }
        };

        let now = clock.now();
        if self.show_timeline {
            print!("{}", timeline::render_text(&new_manifest, now));
        }
        if flags.dry_run {
            print!("{}", self.diff(&new_text));
            for path in self.create.keys() {
                println!("would create {}", path.display());
            }
            for path in &self.delete {
                println!("would delete {}", path.display());
            }
            eprintln!("dry run: nothing was written");
        } else {
            self.write(&new_text)?;
            for line in &self.summary {
                eprintln!("{line}");
            }
            eprintln!(
                "{}: serial {old_serial} -> {new_serial}, keyring {}",
                self.path.display(),
                new_manifest.keyring().fingerprint()
            );
        }
        for finding in policy::check(&new_manifest, now) {
            eprintln!("warning: {finding}");
        }
        Ok(Outcome::Success)
    }

    fn write(&self, new_text: &str) -> Result<()> {
        let mut created = Vec::new();
        for (path, bytes) in &self.create {
            if self.reuse.contains(path) {
                continue;
            }
            let result = fsutil::create_new(path, 0o644)
                .and_then(|mut f| fsutil::write_all_synced(&mut f, path, bytes));
            if let Err(e) = result {
                remove_all(&created);
                return Err(e);
            }
            created.push(path.clone());
        }
        test_hook::pause("files-created");
        if let Err(e) = self.replace_manifest(new_text.as_bytes()) {
            remove_all(&created);
            return Err(e);
        }
        test_hook::pause("manifest-replaced");
        for path in &self.delete {
            std::fs::remove_file(path).with_context(|| {
                format!(
                    "the manifest was written, but {} could not be deleted; delete it by hand",
                    path.display()
                )
            })?;
        }
        if !self.delete.is_empty() {
            fsutil::sync_dir(&self.keys_dir())?;
        }
        Ok(())
    }

    /// [`fsutil::write_atomic`], in steps the test hook can stop between: half the
    /// bytes written, all of them synced, the rename.
    fn replace_manifest(&self, bytes: &[u8]) -> Result<()> {
        let context = || format!("cannot write a temporary file for {}", self.path.display());
        let (head, tail) = bytes.split_at(bytes.len() / 2);
        let mut file = AtomicFile::create(&self.path)?;
        file.write_all(head)
            .and_then(|()| file.flush())
            .with_context(context)?;
        test_hook::pause("manifest-half-written");
        file.write_all(tail).with_context(context)?;
        let synced = file.sync()?;
        test_hook::pause("manifest-synced");
        synced.replace()
    }

    fn diff(&self, new_text: &str) -> String {
        let name = self.path.display().to_string();
        similar::TextDiff::from_lines(self.old_text.as_str(), new_text)
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string()
    }

    fn set_root_field(&mut self, field: &str, value: Value) {
        let root = self.doc.as_table_mut();
        match root.get_mut(field).and_then(Item::as_value_mut) {
            Some(old) => {
                let decor = old.decor().clone();
                *old = value;
                *old.decor_mut() = decor;
            }
            None => {
                root.insert(field, Item::Value(value));
            }
        }
    }

    fn key_index(&self, id: &str) -> Result<usize> {
        let keys = self
            .doc
            .get("key")
            .and_then(Item::as_array_of_tables)
            .with_context(|| self.inline_keys_message())?;
        keys.iter()
            .position(|t| t.get("id").and_then(Item::as_str) == Some(id))
            .with_context(|| format!("{} has no key {id:?}", self.path.display()))
    }

    fn key_table_mut(&mut self, id: &str) -> Result<&mut Table> {
        let index = self.key_index(id)?;
        let message = self.inline_keys_message();
        self.doc
            .get_mut("key")
            .and_then(Item::as_array_of_tables_mut)
            .and_then(|keys| keys.get_mut(index))
            .context(message)
    }

    fn inline_keys_message(&self) -> String {
        format!(
            "{} writes `key` as an inline array; rewrite it as [[key]] tables to edit it with these commands",
            self.path.display()
        )
    }
}

/// A manifest instant as a TOML offset date-time value.
pub fn datetime(t: i64) -> Result<Value> {
    let text = format_instant(t);
    let dt: toml_edit::Datetime = text
        .parse()
        .with_context(|| format!("{text} is not a TOML date-time"))?;
    Ok(Value::from(dt))
}

fn field_rank(name: &str) -> usize {
    KEY_FIELDS
        .iter()
        .position(|f| *f == name)
        .unwrap_or(KEY_FIELDS.len())
}

fn remove_all(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}
