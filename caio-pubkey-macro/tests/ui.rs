//! Compiler-output tests of `embed_keyring!`: one minimal crate per mistake in
//! `tests/ui/`, its manifest in `tests/ui/fixtures/<mistake>/` (made by
//! `fixtures/generate.sh`) and the expected diagnostics in `<mistake>.stderr`; the
//! cases in `tests/pass/` build, run and decode what they embedded.
//!
//! Refresh the expected output with `TRYBUILD=overwrite cargo test -p caio-pubkey-macro
//! --test ui`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/pass/*.rs");
}
