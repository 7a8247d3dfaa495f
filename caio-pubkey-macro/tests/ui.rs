//! Compiler-output tests of `embed_keyring!`: one minimal crate per mistake in
//! `tests/ui/`, its manifest in `tests/ui/fixtures/<mistake>/` (made by
//! `fixtures/generate.sh`) and the expected diagnostics in `<mistake>.stderr`; the
//! `pass_*` cases build, run and decode what they embedded.
//!
//! Refresh the expected output with `TRYBUILD=overwrite cargo test -p caio-pubkey-macro
//! --test ui`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // Added after the glob above, so these run as passing cases instead.
    t.pass("tests/ui/pass_*.rs");
}
