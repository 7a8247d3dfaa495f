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

fn scan_throughput(c: &mut Criterion) {
    let bytes = artifact_bytes();
    let mut inspector = Inspector::new(Limits::default());
    let mut group = c.benchmark_group("scan");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("memory_64MiB", |b| {
        b.iter(|| {
            let inspection =
                inspector.inspect_reader(Path::new("bench"), &mut Cursor::new(black_box(&bytes)));
            assert_eq!(inspection.findings.len(), 1);
        });
    });
    group.finish();
}

fn inflate_throughput(c: &mut Criterion) {
    let bytes = artifact_bytes();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&bytes).expect("gzip");
    let gz = encoder.finish().expect("gzip");
    let mut inspector = Inspector::new(Limits::default());
    let mut group = c.benchmark_group("inflate");
    group.sample_size(10);
    // Output bytes, as `gzip -dc` throughput is counted.
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("gzip_64MiB", |b| {
        b.iter(|| {
            let inspection =
                inspector.inspect_reader(Path::new("bench.gz"), &mut Cursor::new(black_box(&gz)));
            assert_eq!(inspection.findings.len(), 1);
        });
    });
    group.finish();
}

criterion_group!(scan, scan_throughput, inflate_throughput);
criterion_main!(scan);
