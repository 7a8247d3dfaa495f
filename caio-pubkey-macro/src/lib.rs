//! `embed_keyring!`: the CAIO keyring, read from `keys/keyring.toml` and the PEM files it
//! names at compile time, embedded in the binary as one format-1 block in a linker
//! section.
//!
//! The macro expands to an expression of type `&'static [u8; N]`, usable in a `static`
//! initializer: the canonical block that `caio_keyring::block::encode` writes for the
//! manifest, held in a `#[used]` static in the section the release gate scans (ELF
//! `.caio_keys`, Mach-O `__DATA,__caio_keys`, PE `.caiokey`). Hand that reference to the
//! verifier (`caio-verify`), so the bytes the gate sees are the bytes the program trusts.
//!
//! # Which manifest
//!
//! - `embed_keyring!()` embeds `keys/keyring.toml` of the workspace holding the calling
//!   crate: the nearest directory, walking up from `CARGO_MANIFEST_DIR`, whose
//!   `Cargo.toml` has a `[workspace]` table (the crate's own directory if none has).
//! - `embed_keyring!("path")` embeds the manifest at `path`, relative to the source file
//!   that invokes the macro, like `include_str!`.
//! - The build-time variable `CAIO_KEYRING` overrides both: a manifest path, absolute or
//!   relative to that workspace root. Empty means unset.
//!
//! # Rebuilds
//!
//! The expansion names the manifest and every PEM file it read in `include_bytes!`, and
//! `CAIO_KEYRING` in `option_env!`, all in unnamed constants that never reach the
//! binary. Cargo therefore rebuilds the calling crate when any of them changes, and
//! only then.
//!
//! # Errors
//!
//! A manifest that fails any check of `caio_keyring::manifest` is a compile error, one
//! per problem so that one build shows every mistake, each naming the file, line, key and
//! field; never a panic, never a different keyring. Paths inside the workspace are shown
//! relative to its root, as rustc shows source paths; others in full. A missing manifest,
//! an argument that is not one string literal, or a build outside Cargo without an
//! absolute path are compile errors too.
//!
//! # Example
//!
//! ```
//! /// The keyring of this workspace, in its link section.
//! static KEYRING: &[u8] = caio_pubkey_macro::embed_keyring!();
//!
//! let keyring = caio_keyring::block::decode(KEYRING)?;
//! assert!(!keyring.keys().is_empty());
//! # Ok::<(), caio_keyring::block::DecodeError>(())
//! ```
//!
//! Non-goals: the checks that depend on today's date (key lifetimes, overlap, the
//! support window) are `cargo xtask keys check`'s; reading the block at run time is
//! `caio-verify`'s; editing the manifest is `cargo xtask keys`'s.

mod expand;
mod input;
mod locate;

use proc_macro::TokenStream;

/// Embeds the keyring manifest as a format-1 block; see the [crate docs](crate).
///
/// `embed_keyring!()` reads `keys/keyring.toml` of the workspace;
/// `embed_keyring!("path")` reads `path` relative to the invoking file; the build-time
/// variable `CAIO_KEYRING` overrides both. Expands to a `&'static [u8; N]`.
#[proc_macro]
pub fn embed_keyring(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as input::Input);
    expand::expand(&input, &locate::Context::from_compiler()).into()
}
