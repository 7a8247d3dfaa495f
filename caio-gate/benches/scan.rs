//! Criterion benches for the gate's pieces that `cargo xtask bench` measures end to end:
//! the artifact scan of an in-memory buffer, and gzip inflate through the inspector.
//!
//! They measure, they assert nothing beyond the block being found; `cargo test` builds
//! them without running them. Run them with `cargo bench -p caio-gate --bench scan`.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::{Cursor, Write as _};
use std::path::Path;

use caio_gate::{Inspector, Limits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn keyring() -> caio_keyring::Keyring {
    test_support::keyring::one_key([9; 32], "caio-bench")
}

/// 64 MiB of bytes with one block at the end, as in a large binary or an image tar.
fn artifact_bytes() -> Vec<u8> {
    let block = caio_keyring::block::encode(&keyring());
    let mut bytes = vec![0x5a_u8; 64 << 20];
    bytes.truncate(bytes.len() - block.len());
    bytes.extend_from_slice(&block);
    bytes
}

/// Benches inspecting `input` (an artifact called `name`) as `group`/`function`, at
/// `counted` bytes a run; every run must find the one block.
fn bench_inspection(
    c: &mut Criterion,
    group: &str,
    function: &str,
    name: &str,
    input: &[u8],
    counted: usize,
) {
    let mut inspector = Inspector::new(Limits::default());
    let mut group = c.benchmark_group(group);
    group.sample_size(10);
    group.throughput(Throughput::Bytes(counted as u64));
    group.bench_function(function, |b| {
        b.iter(|| {
            let inspection =
                inspector.inspect_reader(Path::new(name), &mut Cursor::new(black_box(input)));
            assert_eq!(inspection.findings.len(), 1);
        });
    });
    group.finish();
}

fn scan_throughput(c: &mut Criterion) {
    let bytes = artifact_bytes();
    bench_inspection(c, "scan", "memory_64MiB", "bench", &bytes, bytes.len());
}

fn inflate_throughput(c: &mut Criterion) {
    let bytes = artifact_bytes();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&bytes).expect("gzip");
    let gz = encoder.finish().expect("gzip");
    // Output bytes, as `gzip -dc` throughput is counted.
    bench_inspection(c, "inflate", "gzip_64MiB", "bench.gz", &gz, bytes.len());
}

criterion_group!(scan, scan_throughput, inflate_throughput);
criterion_main!(scan);
