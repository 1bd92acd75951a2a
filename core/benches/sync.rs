//! Two-peer catch-up of 10,000 pages through the sync state machine: heads, bounded wants,
//! batched pages, every message encoded and decoded, every page signature-verified (batched)
//! and chained, causally ordered and folded on the receiving side.
//!
//! `cargo bench -p quire-core --bench sync`. Goal: <= 0.5 s natively.
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use quire_core::crypto::RoomSecret;
use quire_core::identity::{Identity, UserId};
use quire_core::page::{Body, ControlOp, MessageBody, Role};
use quire_core::room::{Replica, group_room_id};
use quire_core::sync::SyncSession;

const PAGES: u64 = 10_000;

fn source() -> (Replica, Identity) {
    let owner = Identity::from_secret_bytes([1; 32]).unwrap();
    let reader = Identity::from_secret_bytes([2; 32]).unwrap();
    let nonce = [7u8; 24];
    let room = group_room_id(&owner.user_id(), &nonce);
    let mut replica = Replica::new(room, &RoomSecret::from_bytes([9; 32]));
    let create = Body::Control(ControlOp::Create {
        name: "bench".into(),
        direct: None,
    });
    replica.write(&owner, &create, 1, nonce).unwrap();
    let admit = Body::Control(ControlOp::Admit {
        member: reader.user_id(),
        role: Role::Member,
    });
    replica.write(&owner, &admit, 2, [8; 24]).unwrap();
    for i in 2..PAGES {
        let mut nonce = [0u8; 24];
        nonce[..8].copy_from_slice(&i.to_le_bytes());
        let text = Body::Message(MessageBody::Text {
            text: format!("message number {i}, about as long as a chat line"),
            reply_to: None,
        });
        replica.write(&owner, &text, 1_000 + i, nonce).unwrap();
    }
    // As a driver that stored every page: only committed pages are served to peers.
    replica.mark_committed(&owner.user_id(), PAGES);
    (replica, reader)
}

/// Runs a fresh peer's catch-up against `source` to completion; returns pages it holds.
fn catch_up(source: &mut Replica, owner: UserId, reader: UserId) -> u64 {
    let mut target = Replica::new(source.room(), &RoomSecret::from_bytes([9; 32]));
    let mut a = SyncSession::new(source, reader, 0);
    let mut b = SyncSession::new(&target, owner, 0);
    loop {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            b.handle_bytes(&m.encode(), &mut target, 0);
            moved = true;
        }
        while let Some(m) = b.poll_transmit() {
            a.handle_bytes(&m.encode(), source, 0);
            moved = true;
        }
        if !moved {
            return target.page_count();
        }
    }
}

fn bench(c: &mut Criterion) {
    let (mut source, reader) = source();
    let owner = Identity::from_secret_bytes([1; 32]).unwrap().user_id();
    let reader = reader.user_id();
    assert_eq!(catch_up(&mut source, owner, reader), PAGES);
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.bench_function("catch_up_10000_pages", |bench| {
        bench.iter(|| catch_up(&mut source, owner, reader));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
