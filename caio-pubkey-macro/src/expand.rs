//! The expansion: read the located manifest through `caio_keyring`, then write the
//! tokens, as plain functions that tests call without a compiler.
//!
//! [`embed`] does the reading and [`tokens`] the writing; [`expand`] joins them. What a
//! valid manifest is belongs to `caio_keyring::manifest` and is not decided here, nor is
//! which manifest to read (`locate.rs`).

use std::io;
use std::path::{Path, PathBuf};

use caio_keyring::manifest::{self, Manifest};
use proc_macro2::{Literal, Span, TokenStream};
use quote::quote;
use syn::LitStr;

use crate::input::Input;
use crate::locate::{self, Context, ENV_OVERRIDE, Location, Origin};

/// What the macro learned from the files: what to track and what to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embedding {
    /// Every file read that exists, manifest first: the expansion names each in an
    /// `include_bytes!`, so that editing it rebuilds the crate. Kept on error too, so
    /// that fixing the manifest rebuilds.
    pub tracked: Vec<PathBuf>,
    /// The format-1 block, or one message per problem (never empty).
    pub block: Result<Vec<u8>, Vec<String>>,
}

/// The whole macro, given what the compiler says about the invocation.
pub fn expand(input: &Input, context: &Context) -> TokenStream {
    let embedding = match locate::locate(input.path_value().as_deref(), context) {
        Ok(location) => embed(&location),
        Err(e) => Embedding {
            tracked: Vec::new(),
            block: Err(vec![e.to_string()]),
        },
    };
    tokens(&embedding)
}

/// Reads and checks the manifest and its PEM files, and encodes the keyring. Problems
/// come back as messages whose paths are shown relative to the workspace root.
pub fn embed(location: &Location) -> Embedding {
    let root = location.workspace_root.as_deref();
    let shown = |path: &Path| PathBuf::from(locate::display_path(path, root));
    let path = &location.manifest;
    let text = match manifest::read_manifest_text(path) {
        Ok(text) => text,
        Err(e) => {
            let shown = shown(path);
            return Embedding {
                tracked: path.is_file().then(|| path.clone()).into_iter().collect(),
                block: Err(vec![cannot_read(&shown, &location.origin, &e)]),
            };
        }
    };
    let mut read = vec![path.clone()];
    let parsed = Manifest::parse(path, &text, |pem| {
        let bytes = manifest::read_public_key_file(pem);
        if bytes.is_ok() {
            read.push(pem.to_owned());
        }
        bytes
    });
    let mut embedding = match parsed {
        Ok(manifest) => Embedding {
            tracked: manifest.inputs().to_vec(),
            block: Ok(caio_keyring::block::encode(manifest.keyring())),
        },
        Err(errors) => {
            let messages = errors.0.into_iter().map(|mut error| {
                error.file = shown(&error.file);
                error.named_file = error.named_file.as_deref().map(shown);
                error.to_string()
            });
            Embedding {
                tracked: read,
                block: Err(messages.collect()),
            }
        }
    };
    let untrackable: Vec<String> = embedding
        .tracked
        .iter()
        .filter(|p| p.to_str().is_none())
        .map(|p| {
            format!(
                "{}: the path is not UTF-8, so include_bytes! cannot track it; rename it",
                shown(p).display()
            )
        })
        .collect();
    if !untrackable.is_empty() {
        embedding.tracked.retain(|p| p.to_str().is_some());
        match &mut embedding.block {
            Ok(_) => embedding.block = Err(untrackable),
            Err(messages) => messages.extend(untrackable),
        }
    }
    embedding
}

/// The tokens for an embedding: on success an expression of type `&'static [u8; N]`
/// naming a `#[used]` static in the keyring link section; on failure one
/// `compile_error!` per problem. Both track every file in `embedding.tracked` and the
/// `CAIO_KEYRING` variable.
pub fn tokens(embedding: &Embedding) -> TokenStream {
    let span = Span::call_site();
    let tracked = embedding
        .tracked
        .iter()
        .filter_map(|path| path.to_str())
        .map(|path| LitStr::new(path, span));
    let env = LitStr::new(ENV_OVERRIDE, span);
    let tracking = quote! {
        #( const _: &[u8] = ::core::include_bytes!(#tracked); )*
        const _: ::core::option::Option<&str> = ::core::option_env!(#env);
    };
    match &embedding.block {
        Ok(block) => {
            let len = Literal::usize_unsuffixed(block.len());
            let bytes = block.iter().map(|&b| Literal::u8_unsuffixed(b));
            quote! {{
                #tracking
                #[used]
                #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__caio_keys"))]
                #[cfg_attr(windows, unsafe(link_section = ".caiokey"))]
                #[cfg_attr(
                    not(any(windows, target_vendor = "apple")),
                    unsafe(link_section = ".caio_keys")
                )]
                static CAIO_KEYRING_BLOCK: [u8; #len] = [#(#bytes),*];
                &CAIO_KEYRING_BLOCK
            }}
        }
        Err(messages) => {
            // Every message but the last is a statement; the last is the block's value,
            // an error expression that fits any type, so no follow-on error appears.
            let (last, rest) = match messages.split_last() {
                Some((last, rest)) => (last.as_str(), rest),
                None => ("the keyring manifest is invalid", &[][..]),
            };
            let rest = rest
                .iter()
                .map(|m| syn::Error::new(span, m).to_compile_error());
            let last = LitStr::new(last, span);
            quote! {{
                #tracking
                #(#rest)*
                ::core::compile_error!(#last)
            }}
        }
    }
}

/// The message for a manifest that cannot be read, saying which rule chose it.
fn cannot_read(shown: &Path, origin: &Origin, error: &io::Error) -> String {
    let reason = match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        _ => error.to_string(),
    };
    let how = match origin {
        Origin::EnvOverride(value) => format!(
            "it is named by {ENV_OVERRIDE}={} (a relative value is relative to the workspace root)",
            value.display()
        ),
        Origin::Argument(written) => {
            format!("embed_keyring!({written:?}) names a path relative to the file that invokes it")
        }
        Origin::WorkspaceDefault => format!(
            "embed_keyring!() embeds {} of the workspace; pass a path or set {ENV_OVERRIDE} to embed another",
            locate::DEFAULT_MANIFEST
        ),
    };
    format!(
        "cannot read the keyring manifest {}: {reason}; {how}",
        shown.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fixtures")
    }

    fn location(manifest: PathBuf, root: &Path) -> Location {
        Location {
            manifest,
            workspace_root: Some(root.to_owned()),
            origin: Origin::Argument("keyring.toml".into()),
        }
    }

    /// The string form of an `include_bytes!` of `path` in the expansion.
    fn include_of(path: &Path) -> String {
        let lit = LitStr::new(path.to_str().unwrap(), Span::call_site());
        quote!(::core::include_bytes!(#lit)).to_string()
    }

    #[test]
    fn a_good_manifest_tracks_every_input_and_embeds_its_block() {
        let path = fixtures().join("good/keyring.toml");
        let manifest = Manifest::load(&path).unwrap();
        let expected_block = caio_keyring::block::encode(manifest.keyring());
        let embedding = embed(&location(path.clone(), &fixtures()));
        assert_eq!(embedding.tracked, manifest.inputs());
        assert_eq!(embedding.tracked.len(), 3, "the manifest and two PEM files");
        assert_eq!(embedding.block.as_deref(), Ok(&expected_block[..]));

        let expansion = tokens(&embedding).to_string();
        for input in manifest.inputs() {
            assert!(
                expansion.contains(&include_of(input)),
                "{input:?} untracked"
            );
        }
        assert!(expansion.contains(&quote!(::core::option_env!("CAIO_KEYRING")).to_string()));
        let bytes: Vec<String> = expected_block.iter().map(u8::to_string).collect();
        let array = format!("[u8 ; {}] = [{}]", expected_block.len(), bytes.join(" , "));
        assert!(expansion.contains(&array), "{expansion}");
        for section in ["\"__DATA,__caio_keys\"", "\".caiokey\"", "\".caio_keys\""] {
            assert!(expansion.contains(section), "{section} missing");
        }
        assert!(expansion.contains("# [used]"));
        assert!(expansion.ends_with("& CAIO_KEYRING_BLOCK }"), "{expansion}");
        assert!(!expansion.contains("b\""), "no byte-string literal");
    }

    #[test]
    fn the_default_manifest_is_found_from_a_member_crate() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\"]\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("app/src")).unwrap();
        std::fs::create_dir_all(root.join("keys")).unwrap();
        for file in ["keyring.toml", "caio-test-a.pem", "caio-test-b.pem"] {
            std::fs::copy(
                fixtures().join("good").join(file),
                root.join("keys").join(file),
            )
            .unwrap();
        }
        let context = Context {
            crate_dir: Some(root.join("app")),
            invoking_file: Some(root.join("app/src/main.rs")),
            env_override: None,
        };
        let expansion = expand(&syn::parse_quote!(), &context).to_string();
        for file in ["keyring.toml", "caio-test-a.pem", "caio-test-b.pem"] {
            let include = include_of(&root.join("keys").join(file));
            assert!(
                expansion.contains(&include),
                "{file} untracked: {expansion}"
            );
        }
        assert!(!expansion.contains("compile_error"), "{expansion}");
    }

    #[test]
    fn errors_name_files_as_shown_and_keep_tracking() {
        fn check(fixture: &str, tracked: &[&str], messages: &[&str]) {
            let root = fixtures();
            let embedding = embed(&location(root.join(fixture).join("keyring.toml"), &root));
            let expected_tracked: Vec<PathBuf> =
                tracked.iter().map(|f| root.join(fixture).join(f)).collect();
            assert_eq!(embedding.tracked, expected_tracked, "{fixture}");
            let actual = embedding.block.unwrap_err();
            assert_eq!(actual.len(), messages.len(), "{fixture}: {actual:#?}");
            for (actual, expected) in actual.iter().zip(messages) {
                assert!(actual.starts_with(expected), "{fixture}: {actual}");
            }
            let expansion = tokens(&embed(&location(
                root.join(fixture).join("keyring.toml"),
                &root,
            )));
            let text = expansion.to_string();
            assert_eq!(
                text.matches("compile_error").count(),
                messages.len(),
                "{text}"
            );
            for file in &expected_tracked {
                assert!(text.contains(&include_of(file)), "{file:?} untracked");
            }
        }
        check(
            "missing_pem",
            &["keyring.toml"],
            &[
                "missing_pem/keyring.toml:9: key \"caio-test-c\": field `public_key`: missing_pem/caio-test-c.pem: cannot read",
            ],
        );
        check(
            "several_mistakes",
            &["keyring.toml", "caio-test-a.pem", "caio-test-b.pem"],
            &[
                "several_mistakes/keyring.toml:10: key \"caio-test-a\": field `fingerprint`: ",
                "several_mistakes/keyring.toml:16: key \"caio test b\": field `id`: ",
                "several_mistakes/keyring.toml:21: key \"caio test b\": field `not_after`: ",
            ],
        );
        check(
            "not_toml",
            &["keyring.toml"],
            &["not_toml/keyring.toml:5: key with no value"],
        );
        check(
            "does_not_exist",
            &[],
            &["cannot read the keyring manifest does_not_exist/keyring.toml: no such file; "],
        );
    }

    #[test]
    fn unreadable_manifest_messages_say_how_the_path_was_chosen() {
        fn check(origin: Origin, expected: &str) {
            let error = io::Error::from(io::ErrorKind::NotFound);
            let actual = cannot_read(Path::new("keys/keyring.toml"), &origin, &error);
            assert_eq!(actual, expected);
        }
        check(
            Origin::WorkspaceDefault,
            "cannot read the keyring manifest keys/keyring.toml: no such file; embed_keyring!() embeds keys/keyring.toml of the workspace; pass a path or set CAIO_KEYRING to embed another",
        );
        check(
            Origin::Argument("../keys/keyring.toml".into()),
            "cannot read the keyring manifest keys/keyring.toml: no such file; embed_keyring!(\"../keys/keyring.toml\") names a path relative to the file that invokes it",
        );
        check(
            Origin::EnvOverride("keys/keyring.toml".into()),
            "cannot read the keyring manifest keys/keyring.toml: no such file; it is named by CAIO_KEYRING=keys/keyring.toml (a relative value is relative to the workspace root)",
        );
    }

    #[test]
    fn a_locate_error_is_a_compile_error() {
        let expansion = expand(&syn::parse_quote!("x.toml"), &Context::default()).to_string();
        assert!(expansion.contains("compile_error"), "{expansion}");
        assert!(expansion.contains("option_env"), "{expansion}");
    }
}
