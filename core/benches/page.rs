//! Per-page cost of writing and of receiving pages.
//!
//! `cargo bench -p quire-core --bench page`
//!
//! - `append`: seal (XChaCha20-Poly1305) + hash (BLAKE3) + sign (ed25519) one text page.
//! - `receive/single`: decode + verify signature + decrypt + decode body, one page at a time.
//! - `receive/batched/N`: the same for N pages with one ed25519 batch verification (ZIP-215).
//! - `verify/...`: signature verification alone, single versus batched (and, for comparison,
//!   libp2p's cofactorless single verification).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use quire_core::book::Book;
use quire_core::crypto::RoomSecret;
use quire_core::identity::Identity;
use quire_core::page::{Body, BookId, MessageBody, Page, PageMeta, RoomId};
use quire_core::validate::{open, verify_signature, verify_signatures};

const ROOM: RoomId = RoomId([0x52; 32]);

fn identity() -> Identity {
    Identity::from_secret_bytes([1; 32]).expect("valid key")
}

/// A typical chat message: ~120 characters.
fn message(i: u64) -> Body {
    Body::Message(MessageBody::Text {
        text: format!("message {i}: {}", "lorem ipsum dolor sit amet ".repeat(4)),
        reply_to: None,
    })
}

fn nonce(i: u64) -> [u8; 24] {
    let mut nonce = [0x6e; 24];
    nonce[..8].copy_from_slice(&i.to_le_bytes());
    nonce
}

fn written(count: u64) -> Vec<Vec<u8>> {
    let me = identity();
    let key = RoomSecret::from_bytes([7; 32]).page_key();
    let mut book = Book::new(BookId {
        room: ROOM,
        author: me.user_id(),
    });
    (0..count)
        .map(|i| {
            book.append(
                &me,
                &key,
                &message(i),
                Vec::new(),
                PageMeta::default(),
                nonce(i),
            )
            .expect("append")
            .encode()
        })
        .collect()
}

fn bench_append(c: &mut Criterion) {
    let me = identity();
    let key = RoomSecret::from_bytes([7; 32]).page_key();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(1));
    group.bench_function("text_page", |b| {
        let mut book = Book::new(BookId {
            room: ROOM,
            author: me.user_id(),
        });
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            book.append(
                &me,
                &key,
                &message(i),
                Vec::new(),
                PageMeta::default(),
                nonce(i),
            )
            .expect("append")
        });
    });
    group.finish();
}

fn bench_receive(c: &mut Criterion) {
    let key = RoomSecret::from_bytes([7; 32]).page_key();
    let pages = written(256);
    let mut group = c.benchmark_group("receive");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % pages.len();
            let page = Page::decode(&pages[i]).expect("decode");
            let page = verify_signature(page).expect("verify");
            open(&page, &key).expect("open")
        });
    });
    for n in [16usize, 64, 256] {
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("batched/{n}"), |b| {
            b.iter(|| {
                let decoded: Vec<Page> = pages[..n]
                    .iter()
                    .map(|bytes| Page::decode(bytes).expect("decode"))
                    .collect();
                verify_signatures(decoded)
                    .into_iter()
                    .map(|page| open(&page.expect("verify"), &key).expect("open"))
                    .collect::<Vec<_>>()
            });
        });
    }
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let pages: Vec<Page> = written(64)
        .iter()
        .map(|bytes| Page::decode(bytes).expect("decode"))
        .collect();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        b.iter_batched(
            || pages[0].clone(),
            |page| verify_signature(page).expect("verify"),
            BatchSize::SmallInput,
        );
    });
    // For comparison only: libp2p's own (cofactorless ed25519-dalek) single verification,
    // which Quire does not use because it disagrees with batch verification on crafted input.
    group.bench_function("libp2p_dalek_single", |b| {
        let page = &pages[0];
        let message = quire_core::page::signed_message(&page.hash());
        b.iter(|| {
            let key = libp2p_identity::ed25519::PublicKey::try_from_bytes(page.author().as_bytes())
                .expect("key");
            assert!(key.verify(&message, page.signature().as_bytes()));
        });
    });
    group.throughput(Throughput::Elements(64));
    group.bench_function("batched/64", |b| {
        b.iter_batched(|| pages.clone(), verify_signatures, BatchSize::SmallInput);
    });
    group.finish();
}

criterion_group!(benches, bench_append, bench_receive, bench_verify);
criterion_main!(benches);
