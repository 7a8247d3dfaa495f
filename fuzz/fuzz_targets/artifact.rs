//! Fuzz target: the artifact inspector never panics and stays within its limits on any
//! bytes, whatever archive formats they pretend to be.
#![no_main]

use std::path::Path;

use caio_gate::{Inspector, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::fuzzing();
    let mut inspector = Inspector::new(limits);
    let inspection = inspector.inspect_reader(Path::new("fuzz.bin"), &mut &data[..]);
    assert!(inspection.findings.len() <= limits.max_findings);
    assert!(inspection.private_keys.len() <= limits.max_private_keys);
    assert!(inspection.private_key_count >= inspection.private_keys.len() as u64);
});
