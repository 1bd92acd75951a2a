//! Cost of publishing and of downloading a shared file, per byte, against the primitives it is
//! made of measured in the same run.
//!
//! `cargo bench -p quire-core --bench blob`
//!
//! - `publish`: seal every segment (XChaCha20-Poly1305) and compute the blob's address and hash
//!   tree (BLAKE3 verified streaming, 16 KiB groups): what a member's device does before it can
//!   write the file page.
//! - `download`: a holder encodes every 256 KiB piece with its proofs and the downloader checks
//!   and opens it: both ends of a transfer, without the network.
//! - `baseline/blake3` and `baseline/xchacha`: one BLAKE3 hash, one XChaCha20-Poly1305 pass over
//!   the same bytes.

use std::collections::BTreeSet;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quire_core::blob::download::{Download, Outcome};
use quire_core::blob::{FileKey, Holder, SEGMENT_BYTES, open_segment, seal, segment_range};

/// 16 MiB: large enough that per-file costs vanish, small enough for the test-mode run.
const FILE_BYTES: usize = 16 << 20;

fn file() -> Vec<u8> {
    (0..FILE_BYTES).map(|i| (i * 31 + i / 4099) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let plain = file();
    let key = FileKey::from_bytes([9; 32]);
    let mut group = c.benchmark_group("blob");
    group.throughput(Throughput::Bytes(FILE_BYTES as u64));
    group.sample_size(10);
    group.bench_function("publish", |b| {
        b.iter(|| Holder::new(seal(&key, &plain).expect("seals")).info())
    });
    let holder = Holder::new(seal(&key, &plain).expect("seals"));
    let info = holder.info();
    group.bench_function("download", |b| {
        b.iter(|| {
            let mut download: Download<u8> = Download::new(info, &BTreeSet::new());
            download.holder_online(&0);
            let mut sealed = vec![0u8; info.size as usize];
            while !download.is_complete() {
                for (_, piece, range) in download.requests(0) {
                    let response = holder.encode(range).expect("held");
                    let Outcome::Store { offset, bytes } =
                        download.response(&0, piece, Some(&response))
                    else {
                        panic!("an honest holder's piece did not verify");
                    };
                    let at = offset as usize;
                    sealed[at..at + bytes.len()].copy_from_slice(&bytes);
                }
            }
            let mut opened = 0;
            for index in 0..info.size.div_ceil(SEGMENT_BYTES) {
                let r = segment_range(index, info.size);
                let segment = &sealed[r.start as usize..r.end as usize];
                opened += open_segment(&key, info.size, index, segment)
                    .expect("opens")
                    .len();
            }
            opened
        })
    });
    group.bench_function("baseline/blake3", |b| b.iter(|| blake3::hash(&plain)));
    let cipher = XChaCha20Poly1305::new(&[9u8; 32].into());
    let nonce = XNonce::from([1u8; 24]);
    group.bench_function("baseline/xchacha", |b| {
        b.iter(|| cipher.encrypt(&nonce, plain.as_slice()).expect("encrypts"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
