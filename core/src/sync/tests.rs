use super::*;
use crate::book::Book;
use crate::crypto::RoomSecret;
use crate::identity::Identity;
use crate::membership::StoreRefusal;
use crate::page::{Body, ControlOp, MessageBody, Role};
use crate::room::group_room_id;

const SECRET: [u8; 32] = [9; 32];

struct Peer {
    identity: Identity,
    replica: Replica,
}

fn identity(n: u8) -> Identity {
    Identity::from_secret_bytes([n; 32]).unwrap()
}

fn uid(n: u8) -> UserId {
    identity(n).user_id()
}

fn text(t: &str) -> Body {
    Body::Message(MessageBody::Text {
        text: t.into(),
        reply_to: None,
    })
}

/// What a driver does once its store has written everything held: every page is committed.
fn commit_all(replica: &mut Replica) -> Vec<VerifiedPage> {
    let lens: Vec<(UserId, u64)> = replica.books().map(|(a, b)| (*a, b.len())).collect();
    for (author, len) in lens {
        replica.mark_committed(&author, len);
    }
    replica.take_servable()
}

/// Owner `a` creates a room and admits `b`; `b` starts empty.
fn room() -> (Peer, Peer) {
    let a = identity(1);
    let b = identity(2);
    let nonce = [7u8; 24];
    let room = group_room_id(&a.user_id(), &nonce);
    let mut ra = Replica::new(room, &RoomSecret::from_bytes(SECRET));
    let create = Body::Control(ControlOp::Create {
        name: "r".into(),
        direct: None,
    });
    ra.write(&a, &create, 1, nonce).unwrap();
    let admit = Body::Control(ControlOp::Admit {
        member: b.user_id(),
        role: Role::Member,
    });
    ra.write(&a, &admit, 2, [8; 24]).unwrap();
    commit_all(&mut ra);
    let rb = Replica::new(room, &RoomSecret::from_bytes(SECRET));
    (
        Peer {
            identity: a,
            replica: ra,
        },
        Peer {
            identity: b,
            replica: rb,
        },
    )
}

/// Delivers messages both ways until both outboxes are empty; returns messages exchanged.
fn pump(a: &mut (SyncSession, Peer), b: &mut (SyncSession, Peer), now: u64) -> usize {
    let mut exchanged = 0;
    loop {
        let mut moved = false;
        while let Some(m) = a.0.poll_transmit() {
            let bytes = m.encode();
            let accepted = b.0.handle_bytes(&bytes, &mut b.1.replica, now);
            assert!(accepted.equivocations.is_empty());
            commit_all(&mut b.1.replica);
            moved = true;
            exchanged += 1;
        }
        while let Some(m) = b.0.poll_transmit() {
            a.0.handle_bytes(&m.encode(), &mut a.1.replica, now);
            commit_all(&mut a.1.replica);
            moved = true;
            exchanged += 1;
        }
        if !moved {
            return exchanged;
        }
    }
}

fn order(p: &Peer) -> Vec<crate::page::PageRef> {
    p.replica.display_order().map(|k| k.id).collect()
}

#[test]
fn two_peers_catch_up_in_batches_and_go_live() {
    let (mut a, b) = room();
    for i in 0..1200u64 {
        a.replica
            .write(&a.identity, &text(&format!("m{i}")), 10 + i, [i as u8; 24])
            .unwrap();
    }
    commit_all(&mut a.replica);
    let mut a = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b = (SyncSession::new(&b.replica, uid(1), 0), b);
    let exchanged = pump(&mut a, &mut b, 0);
    assert_eq!(b.1.replica.page_count(), 1202);
    assert_eq!(order(&a.1), order(&b.1));
    assert_eq!(*a.0.state(), SessionState::Live);
    assert_eq!(*b.0.state(), SessionState::Live);
    assert!(
        exchanged >= 2 + 3 * 2,
        "1202 pages need several bounded batches"
    );
    assert!(b.1.replica.state().is_member(&b.1.identity.user_id()));
}

type Side = (SyncSession, Peer);

/// Two caught-up members; the owner writes "hi", commits and announces it at `now`. Returns
/// both sides, the page and the message that pushes it.
fn linked_with_hi(now: u64) -> (Side, Side, VerifiedPage, SyncMessage) {
    let (a, b) = room();
    let mut a_s = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b_s = (SyncSession::new(&b.replica, uid(1), 0), b);
    pump(&mut a_s, &mut b_s, 0);
    let page = a_s
        .1
        .replica
        .write(&a_s.1.identity, &text("hi"), 50, [1; 24])
        .unwrap();
    commit_all(&mut a_s.1.replica);
    a_s.0
        .announce(&a_s.1.replica, std::slice::from_ref(&page), now);
    let pushed = a_s.0.poll_transmit().unwrap();
    (a_s, b_s, page, pushed)
}

#[test]
fn new_pages_are_pushed_at_once_and_forwarded() {
    let (_, mut b_s, page, pushed) = linked_with_hi(50);
    assert!(matches!(&pushed, SyncMessage::Pages { reply: false, pages, .. } if pages.len() == 1));
    let accepted = b_s.0.handle_message(pushed, &mut b_s.1.replica, 1);
    assert_eq!(accepted.stored.len(), 1, "b stores it and must forward it");
    commit_all(&mut b_s.1.replica);
    // Announcing it back to the peer it came from sends nothing.
    b_s.0.announce(&b_s.1.replica, &accepted.stored, 1);
    assert!(b_s.0.poll_transmit().is_none());
    // A third member gets it from b, not from its author.
    let (_, c) = room();
    let mut c_s = (SyncSession::new(&c.replica, uid(2), 0), c);
    let mut b_to_c = (SyncSession::new(&b_s.1.replica, uid(2), 0), b_s.1);
    pump(&mut b_to_c, &mut c_s, 2);
    assert!(c_s.1.replica.page(&page.page_ref()).is_some());
}

#[test]
fn a_page_received_and_committed_is_acknowledged_within_the_ack_delay() {
    let (mut a_s, mut b_s, page, pushed) = linked_with_hi(1_000);
    let accepted = b_s.0.handle_message(pushed, &mut b_s.1.replica, 1_000);
    assert_eq!(
        b_s.0.poll_timeout(),
        Some(HEADS_INTERVAL_MS),
        "not before it is stored"
    );
    commit_all(&mut b_s.1.replica);
    b_s.0.announce(&b_s.1.replica, &accepted.stored, 1_010);
    let due = b_s.0.poll_timeout().unwrap();
    assert_eq!(due, 1_010 + ACK_DELAY_MS);
    b_s.0.handle_timeout(&b_s.1.replica, due);
    let Some(SyncMessage::Heads { heads, .. }) = b_s.0.poll_transmit() else {
        panic!("heads are due");
    };
    let alices = heads.iter().find(|h| h.author == uid(1)).unwrap();
    assert_eq!(alices.len, page.seq() + 1, "the heads name the page");
    // Alice's session hears that Bob holds it, long before the periodic heads.
    a_s.0.handle_message(
        SyncMessage::Heads {
            room: a_s.1.replica.room(),
            heads,
        },
        &mut a_s.1.replica,
        due,
    );
    assert!(
        a_s.0
            .peer_heads()
            .any(|h| h.author == uid(1) && h.len > page.seq())
    );
    // A page of Bob's own, which Alice does not hold, is pushed, not acknowledged.
    let own = b_s
        .1
        .replica
        .write(&b_s.1.identity, &text("yo"), 60, [2; 24])
        .unwrap();
    commit_all(&mut b_s.1.replica);
    b_s.0
        .announce(&b_s.1.replica, std::slice::from_ref(&own), due + 1);
    assert!(matches!(
        b_s.0.poll_transmit(),
        Some(SyncMessage::Pages { reply: false, .. })
    ));
    assert_eq!(b_s.0.poll_timeout(), Some(due + HEADS_INTERVAL_MS));
}

#[test]
fn bad_signature_closes_the_session() {
    let (a, b) = room();
    let mut session = SyncSession::new(&b.replica, uid(1), 0);
    let mut replica = b.replica;
    let page = a.replica.display_order().next().map(|k| k.id).unwrap();
    let page = a.replica.page(&page).unwrap().page().clone();
    let mut bytes = page.encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let forged = Page::decode(&bytes).unwrap();
    session.handle_message(
        SyncMessage::Pages {
            room: replica.room(),
            reply: false,
            pages: vec![forged],
        },
        &mut replica,
        0,
    );
    assert!(matches!(
        session.state(),
        SessionState::Closed(CloseReason::BadPage(_))
    ));
    assert_eq!(replica.page_count(), 0);
}

#[test]
fn garbage_wrong_room_and_bad_ranges_close_the_session() {
    let (a, _) = room();
    let mut replica = a.replica;
    let mut s = SyncSession::new(&replica, uid(2), 0);
    s.handle_bytes(&[0xff, 0xff, 0xff], &mut replica, 0);
    assert!(matches!(
        s.state(),
        SessionState::Closed(CloseReason::Malformed(_))
    ));

    let mut s = SyncSession::new(&replica, uid(2), 0);
    let other = SyncMessage::Heads {
        room: RoomId([0; 32]),
        heads: Vec::new(),
    };
    s.handle_message(other, &mut replica, 0);
    assert_eq!(*s.state(), SessionState::Closed(CloseReason::WrongRoom));

    let mut s = SyncSession::new(&replica, uid(2), 0);
    let reversed = SyncMessage::Want {
        room: replica.room(),
        ranges: vec![WantRange {
            author: UserId::from_bytes([1; 32]),
            from: 5,
            to: 1,
        }],
    };
    s.handle_message(reversed, &mut replica, 0);
    assert_eq!(*s.state(), SessionState::Closed(CloseReason::BadRange));
}

#[test]
fn unanswered_wants_are_retried_then_given_up() {
    let (a, b) = room();
    let mut b_replica = b.replica;
    let mut s = SyncSession::new(&b_replica, uid(1), 0);
    s.poll_transmit();
    s.handle_message(
        SyncMessage::Heads {
            room: a.replica.room(),
            heads: a.replica.heads(),
        },
        &mut b_replica,
        0,
    );
    assert!(matches!(s.poll_transmit(), Some(SyncMessage::Want { .. })));
    let mut now = 0;
    let mut wants = 0;
    while !s.is_closed() {
        now = s.poll_timeout().unwrap();
        s.handle_timeout(&b_replica, now);
        while let Some(m) = s.poll_transmit() {
            wants += usize::from(matches!(m, SyncMessage::Want { .. }));
        }
        assert!(now < 1_000_000);
    }
    assert_eq!(*s.state(), SessionState::Closed(CloseReason::Unresponsive));
    assert_eq!(wants, MAX_RETRIES as usize - 1, "retried before giving up");
    assert!(now >= REQUEST_TIMEOUT_MS * u64::from(MAX_RETRIES));
}

#[test]
fn flooding_requests_close_the_session() {
    let (a, _) = room();
    let mut replica = a.replica;
    let mut s = SyncSession::new(&replica, uid(2), 0);
    let want = SyncMessage::Want {
        room: replica.room(),
        ranges: vec![WantRange {
            author: a.identity.user_id(),
            from: 0,
            to: 2,
        }],
    };
    for _ in 0..=MAX_OUTBOX {
        s.handle_message(want.clone(), &mut replica, 0);
    }
    assert_eq!(*s.state(), SessionState::Closed(CloseReason::Flooding));
}

#[test]
fn equivocation_is_detected_through_sync_and_the_proof_spreads() {
    let (mut a, b) = room();
    // `a` forks its own book: two different pages at seq 2.
    let mut twin = a.replica.clone();
    let left = a
        .replica
        .write(&a.identity, &text("left"), 5, [1; 24])
        .unwrap();
    let right = twin.write(&a.identity, &text("right"), 5, [2; 24]).unwrap();
    commit_all(&mut a.replica);
    assert_eq!(left.seq(), right.seq());
    let author = a.identity.user_id();
    let mut a_s = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b_s = (SyncSession::new(&b.replica, uid(1), 0), b);
    pump(&mut a_s, &mut b_s, 0);
    assert!(b_s.1.replica.page(&left.page_ref()).is_some());
    // A third peer shows b the other branch.
    let mut from_c = SyncSession::new(&b_s.1.replica, uid(3), 0);
    let accepted = from_c.handle_message(
        SyncMessage::Pages {
            room: b_s.1.replica.room(),
            reply: false,
            pages: vec![right.page().clone()],
        },
        &mut b_s.1.replica,
        1,
    );
    assert_eq!(accepted.equivocations.len(), 1, "b caught the fork");
    assert_eq!(
        b_s.1.replica.book(&author).unwrap().len(),
        2,
        "truncated at the fork"
    );
    assert!(
        !from_c.is_closed(),
        "showing a fork is not the forwarder's fault"
    );
    // The next heads exchange tells b that a still runs past the fork: b sends the proof.
    a_s.0.handle_timeout(&a_s.1.replica, HEADS_INTERVAL_MS);
    while let Some(m) = a_s.0.poll_transmit() {
        b_s.0
            .handle_message(m, &mut b_s.1.replica, HEADS_INTERVAL_MS);
    }
    let mut found = Vec::new();
    while let Some(m) = b_s.0.poll_transmit() {
        found.extend(
            a_s.0
                .handle_message(m, &mut a_s.1.replica, HEADS_INTERVAL_MS)
                .equivocations,
        );
    }
    assert_eq!(found.len(), 1);
    assert!(
        a_s.1.replica.proof(&author).is_some(),
        "the proof reached a"
    );
    assert_eq!(order(&a_s.1), order(&b_s.1));
}

#[test]
fn both_sides_open_the_same_direct_room_concurrently_and_converge() {
    use crate::crypto::direct_room_secret;
    use crate::room::direct_room_id;
    let (a, b) = (identity(1), identity(2));
    let room = direct_room_id(&a.user_id(), &b.user_id());
    let open = |me: &Identity, peer: &Identity, nonce: u8| {
        let secret = direct_room_secret(me, &peer.user_id()).unwrap();
        let mut replica = Replica::new(room, &secret);
        let create = Body::Control(ControlOp::Create {
            name: String::new(),
            direct: Some(peer.user_id()),
        });
        replica.write(me, &create, 1, [nonce; 24]).unwrap();
        replica.write(me, &text("hi"), 2, [nonce + 1; 24]).unwrap();
        commit_all(&mut replica);
        replica
    };
    let ra = open(&a, &b, 10);
    let rb = open(&b, &a, 20);
    let (a_id, b_id) = (a.user_id(), b.user_id());
    let mut a_s = (
        SyncSession::new(&ra, b_id, 0),
        Peer {
            identity: a,
            replica: ra,
        },
    );
    let mut b_s = (
        SyncSession::new(&rb, a_id, 0),
        Peer {
            identity: b,
            replica: rb,
        },
    );
    pump(&mut a_s, &mut b_s, 0);
    assert_eq!(order(&a_s.1), order(&b_s.1));
    assert_eq!(a_s.1.replica.page_count(), 4);
    let state = a_s.1.replica.state();
    assert!(state.is_owner(&a_s.1.identity.user_id()) && state.is_owner(&b_s.1.identity.user_id()));
    let shown = a_s
        .1
        .replica
        .display_order()
        .filter(|k| a_s.1.replica.counts(k))
        .count();
    assert_eq!(shown, 4, "both creates and both messages count");
}

#[test]
fn a_page_held_but_not_committed_is_never_offered_to_a_peer() {
    let (mut a, b) = room();
    let page = a
        .replica
        .write(&a.identity, &text("not on disk yet"), 5, [3; 24])
        .unwrap();
    let author = a.identity.user_id();
    let head = |r: &Replica| r.heads().into_iter().find(|h| h.author == author).unwrap();
    assert_eq!(
        head(&a.replica).len,
        2,
        "heads stop at the committed prefix"
    );
    assert!(
        a.replica
            .pages_for(
                SyncRight::Full,
                &author,
                0..10,
                MAX_BATCH_PAGES,
                MAX_BATCH_BYTES
            )
            .iter()
            .all(|p| p.seq() < 2),
        "a peer asking for everything gets only committed pages"
    );
    let mut a_s = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b_s = (SyncSession::new(&b.replica, uid(1), 0), b);
    // Pump without committing on a's side: b must not receive the page.
    while let Some(m) = a_s.0.poll_transmit() {
        b_s.0.handle_bytes(&m.encode(), &mut b_s.1.replica, 0);
        while let Some(back) = b_s.0.poll_transmit() {
            a_s.0.handle_bytes(&back.encode(), &mut a_s.1.replica, 0);
        }
    }
    assert_eq!(b_s.1.replica.page_count(), 2);
    assert!(b_s.1.replica.page(&page.page_ref()).is_none());
    // Once committed, it is announced and pushed.
    let committed = commit_all(&mut a_s.1.replica);
    assert_eq!(committed.len(), 1);
    assert_eq!(head(&a_s.1.replica).len, 3);
    a_s.0.announce(&a_s.1.replica, &committed, 1);
    pump(&mut a_s, &mut b_s, 1);
    assert!(b_s.1.replica.page(&page.page_ref()).is_some());
}

#[test]
fn restored_pages_count_as_committed_and_uncommitted_lists_what_is_left() {
    let (mut a, _) = room();
    let author = a.identity.user_id();
    a.replica
        .write(&a.identity, &text("queued"), 5, [3; 24])
        .unwrap();
    assert_eq!(a.replica.uncommitted().count(), 1);
    assert_eq!(a.replica.committed_len(&author), 2);
    assert!(
        a.replica.mark_committed(&author, 1).is_empty(),
        "never goes back"
    );
    let pages: Vec<VerifiedPage> = a.replica.book(&author).unwrap().range(0..3).to_vec();
    let restored = Replica::restore(
        a.replica.room(),
        &RoomSecret::from_bytes(SECRET),
        [(author, pages, None)],
    )
    .unwrap();
    assert_eq!(restored.committed_len(&author), 3);
    assert_eq!(restored.uncommitted().count(), 0);
}

#[test]
fn two_peers_on_different_branches_walk_down_to_the_fork_point() {
    let (mut a, mut b) = room();
    let author = a.identity.user_id();
    let mut twin = a.replica.clone();
    for i in 0..25u64 {
        a.replica
            .write(
                &a.identity,
                &text(&format!("left {i}")),
                10 + i,
                [i as u8; 24],
            )
            .unwrap();
        twin.write(&a.identity, &text(&format!("right {i}")), 10 + i, [99; 24])
            .unwrap();
    }
    // b holds the other branch: 2 common pages, then 25 of its own.
    let right = twin.book(&author).unwrap().range(0..27).to_vec();
    b.replica
        .ingest_at(right.into_iter().map(VerifiedPage::into_page).collect(), 0);
    assert_eq!(b.replica.book(&author).unwrap().len(), 27);
    commit_all(&mut a.replica);
    commit_all(&mut b.replica);
    let mut a = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b = (SyncSession::new(&b.replica, uid(1), 0), b);
    let mut proofs = 0;
    for _ in 0..100 {
        let mut moved = false;
        while let Some(m) = a.0.poll_transmit() {
            proofs +=
                b.0.handle_message(m, &mut b.1.replica, 0)
                    .equivocations
                    .len();
            moved = true;
            commit_all(&mut b.1.replica);
        }
        while let Some(m) = b.0.poll_transmit() {
            proofs +=
                a.0.handle_message(m, &mut a.1.replica, 0)
                    .equivocations
                    .len();
            moved = true;
            commit_all(&mut a.1.replica);
        }
        if !moved {
            break;
        }
    }
    assert!(proofs > 2, "they compared above the fork and walked down");
    for peer in [&a.1, &b.1] {
        assert_eq!(peer.replica.proof(&author).map(Equivocation::seq), Some(2));
        assert_eq!(peer.replica.book(&author).unwrap().len(), 2);
    }
    assert_eq!(order(&a.1), order(&b.1));
}

#[test]
fn a_proof_pushed_as_a_pair_is_taken_even_when_neither_page_follows_ours() {
    let (a, mut b) = room();
    let author = a.identity.user_id();
    let write = |replica: &mut Replica, label: &str, count: u64, nonce: u8| {
        for i in 0..count {
            replica
                .write(
                    &a.identity,
                    &text(&format!("{label} {i}")),
                    10 + i,
                    [nonce; 24],
                )
                .unwrap();
        }
    };
    let (mut left, mut right) = (a.replica.clone(), a.replica.clone());
    write(&mut left, "left", 6, 1);
    write(&mut right, "right", 2, 2);
    let (mut x, mut y) = (right.clone(), right);
    write(&mut x, "x", 3, 3);
    write(&mut y, "y", 3, 4);
    let held: Vec<Page> = left
        .book(&author)
        .unwrap()
        .range(0..6)
        .iter()
        .map(|p| p.page().clone())
        .collect();
    b.replica.ingest_at(held, 0);
    assert_eq!(b.replica.book(&author).unwrap().len(), 6);
    // Seq 6 of two branches that both left ours at seq 2: neither follows our page 5.
    let pair = vec![
        x.book(&author).unwrap().get(6).unwrap().page().clone(),
        y.book(&author).unwrap().get(6).unwrap().page().clone(),
    ];
    let ingested = b.replica.ingest_at(pair, 0);
    assert_eq!(ingested.equivocations.len(), 1);
    assert!(
        ingested.peer_lacks_proof.is_empty(),
        "the sender has the proof"
    );
    let book = b.replica.book(&author).unwrap();
    assert_eq!(book.equivocation().map(Equivocation::seq), Some(6));
    assert_eq!(book.fork_walk(), Some(0..6), "the fork is lower: walk down");
}

/// Everything `session`'s peer would be sent right now, pages by ref.
fn sent_pages(session: &mut SyncSession) -> Vec<crate::page::PageRef> {
    let mut refs = Vec::new();
    while let Some(message) = session.poll_transmit() {
        if let SyncMessage::Pages { pages, .. } = message {
            refs.extend(pages.iter().map(Page::page_ref));
        }
    }
    refs
}

#[test]
fn a_removed_member_is_sent_its_removal_and_nothing_written_after_it() {
    let (a, b) = room();
    let mut a_s = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b_s = (SyncSession::new(&b.replica, uid(1), 0), b);
    pump(&mut a_s, &mut b_s, 0);
    let owner = identity(1);
    let before = a_s.1.replica.write(&owner, &text("before"), 10, [20; 24]);
    let removal = a_s.1.replica.write(
        &owner,
        &Body::Control(ControlOp::Remove {
            member: uid(2),
            seen: b_s.1.replica.seen_of(&uid(2)),
        }),
        11,
        [21; 24],
    );
    let (before, removal) = (before.unwrap(), removal.unwrap());
    // The member still holds the room's key: the owner re-keys, then writes under the new one.
    let rekey = a_s
        .1
        .replica
        .write_keys(&owner, RoomSecret::from_bytes([40; 32]), 12, [22; 24])
        .unwrap()
        .unwrap();
    let after = a_s
        .1
        .replica
        .write(&owner, &text("after"), 13, [23; 24])
        .unwrap();
    let committed = commit_all(&mut a_s.1.replica);
    assert_eq!(committed.len(), 4);
    assert!(matches!(
        a_s.1.replica.may_sync(&uid(2)),
        crate::membership::SyncRight::UntilCut(_)
    ));
    // Pushed as they commit: only what the removal depends on goes out.
    a_s.0.announce(&a_s.1.replica, &committed, 14);
    let pushed = sent_pages(&mut a_s.0);
    assert_eq!(pushed, vec![before.page_ref(), removal.page_ref()]);
    // Asking for the whole book, or waiting for heads, yields no more.
    let want = SyncMessage::Want {
        room: a_s.1.replica.room(),
        ranges: vec![WantRange {
            author: uid(1),
            from: 0,
            to: 100,
        }],
    };
    a_s.0.handle_message(want, &mut a_s.1.replica, 15);
    let answered = sent_pages(&mut a_s.0);
    assert_eq!(answered.len() as u64, removal.seq() + 1);
    a_s.0.handle_timeout(&a_s.1.replica, 15 + HEADS_INTERVAL_MS);
    let heads = a_s.0.poll_transmit();
    assert!(
        matches!(&heads, Some(SyncMessage::Heads { heads, .. })
            if heads.iter().all(|h| h.author != uid(1) || h.len == removal.seq() + 1)),
        "{heads:?}"
    );
    // A full sync from here on still leaves the removed member without the later pages.
    let mut a_s = (SyncSession::new(&a_s.1.replica, uid(2), 20), a_s.1);
    let mut b_s = (SyncSession::new(&b_s.1.replica, uid(1), 20), b_s.1);
    pump(&mut a_s, &mut b_s, 20);
    let theirs = &b_s.1.replica;
    assert!(
        theirs.page(&removal.page_ref()).is_some(),
        "it learns it was removed"
    );
    assert!(theirs.page(&rekey.page_ref()).is_none());
    assert!(theirs.page(&after.page_ref()).is_none());
    assert!(matches!(
        theirs.standing(&uid(2)),
        crate::membership::Standing::Former { .. }
    ));
}

#[test]
fn a_requester_is_sent_nothing_until_admitted_then_heads_at_once() {
    let (mut a, _) = room();
    let requester = identity(3);
    let mut theirs = Replica::new(a.replica.room(), &RoomSecret::from_bytes(SECRET));
    let request = Body::Control(ControlOp::JoinRequest {
        display_name: "c".into(),
        invite: None,
        proof: None,
    });
    theirs.write(&requester, &request, 5, [30; 24]).unwrap();
    commit_all(&mut theirs);
    commit_all(&mut a.replica);
    let mut a_s = (SyncSession::new(&a.replica, uid(3), 0), a);
    let mut c_s = (
        SyncSession::new(&theirs, uid(1), 0),
        Peer {
            identity: requester,
            replica: theirs,
        },
    );
    pump(&mut a_s, &mut c_s, 0);
    assert!(
        a_s.1.replica.state().join_requests().contains_key(&uid(3)),
        "the request reaches the owner"
    );
    assert!(c_s.1.replica.book(&uid(1)).is_none(), "nothing of the room");
    // A stranger is told of no book at all.
    let mut stranger = SyncSession::new(&a_s.1.replica, uid(4), 0);
    assert!(matches!(
        stranger.poll_transmit(),
        Some(SyncMessage::Heads { heads, .. }) if heads.is_empty()
    ));
    // Admitted: the owner's next push comes with fresh heads, and the member catches up.
    let owner = identity(1);
    let admit = Body::Control(ControlOp::Admit {
        member: uid(3),
        role: Role::Member,
    });
    a_s.1.replica.write(&owner, &admit, 6, [31; 24]).unwrap();
    let committed = commit_all(&mut a_s.1.replica);
    a_s.0.announce(&a_s.1.replica, &committed, 7);
    assert!(matches!(
        a_s.0.poll_transmit(),
        Some(SyncMessage::Heads { heads, .. }) if !heads.is_empty()
    ));
    pump(&mut a_s, &mut c_s, 7);
    assert_eq!(
        c_s.1.replica.book(&uid(1)).map(Book::len),
        a_s.1.replica.book(&uid(1)).map(Book::len)
    );
    assert!(c_s.1.replica.state().is_member(&uid(3)));
}

#[test]
fn a_page_not_placed_yet_is_served_to_nobody_and_handed_out_once_it_is() {
    let (mut a, mut b) = room();
    let setup: Vec<Page> = all_of(&a.replica);
    b.replica.ingest_at(setup.clone(), 0);
    let m = b
        .replica
        .write(&b.identity, &text("hi"), 5, [40; 24])
        .unwrap();
    a.replica.ingest_at(vec![m.page().clone()], 5);
    let r = a
        .replica
        .write(&a.identity, &text("hello"), 6, [41; 24])
        .unwrap();
    assert!(
        r.page().refs().contains(&m.page_ref()),
        "the reply depends on b's page"
    );
    // A third peer gets a's reply before b's page: stored and committed, but not placed.
    let mut x = Replica::new(a.replica.room(), &RoomSecret::from_bytes(SECRET));
    x.ingest_at(setup, 0);
    assert_eq!(commit_all(&mut x).len(), 2);
    x.ingest_at(vec![r.page().clone()], 6);
    assert!(commit_all(&mut x).is_empty(), "nothing to announce yet");
    assert_eq!(x.committed_len(&uid(1)), 3);
    let full = crate::membership::SyncRight::Full;
    assert_eq!(x.served_len(full, &uid(1)), 2);
    let head = x.heads_for(full).into_iter().find(|h| h.author == uid(1));
    assert_eq!(head.map(|h| h.len), Some(2));
    assert_eq!(
        x.pages_for(full, &uid(1), 0..10, MAX_BATCH_PAGES, MAX_BATCH_BYTES)
            .len(),
        2
    );
    // b's page arrives: both are placed, and both are handed out to announce.
    x.ingest_at(vec![m.page().clone()], 7);
    let servable: Vec<_> = commit_all(&mut x).iter().map(|p| p.page_ref()).collect();
    assert_eq!(servable.len(), 2);
    assert!(servable.contains(&m.page_ref()) && servable.contains(&r.page_ref()));
    assert_eq!(x.served_len(full, &uid(1)), 3);
}

fn all_of(replica: &Replica) -> Vec<Page> {
    replica
        .books()
        .flat_map(|(_, b)| b.range(0..b.len()).to_vec())
        .map(VerifiedPage::into_page)
        .collect()
}

#[test]
fn a_restored_creator_gets_its_own_book_back_and_nobody_sees_a_fork() {
    let (mut a, b) = room();
    for i in 0..3u8 {
        a.replica
            .write(&a.identity, &text("a"), 10 + u64::from(i), [40 + i; 24])
            .unwrap();
    }
    commit_all(&mut a.replica);
    let mut a_s = (SyncSession::new(&a.replica, uid(2), 0), a);
    let mut b_s = (SyncSession::new(&b.replica, uid(1), 0), b);
    pump(&mut a_s, &mut b_s, 20);
    let shown = |r: &Replica| r.display_order().filter(|k| r.counts(k)).count();
    let before = shown(&b_s.1.replica);
    assert_eq!(before, 5);

    // The creator's backup, restored in a fresh browser, writes a join request at seq 0.
    let mut fresh = Replica::new(a_s.1.replica.room(), &RoomSecret::from_bytes(SECRET))
        .with_member(&identity(1));
    let request = Body::Control(ControlOp::JoinRequest {
        display_name: "a".into(),
        invite: None,
        proof: None,
    });
    fresh.write(&identity(1), &request, 30, [50; 24]).unwrap();
    commit_all(&mut fresh);
    let mut f_s = (
        SyncSession::new(&fresh, uid(2), 30),
        Peer {
            identity: identity(1),
            replica: fresh,
        },
    );
    let mut b_s = (SyncSession::new(&b_s.1.replica, uid(1), 30), b_s.1);
    // Heads come again on the session's timer; a few rounds settle it.
    for round in 0..4u64 {
        let now = 30 + round * 20_000;
        f_s.0.handle_timeout(&f_s.1.replica, now);
        b_s.0.handle_timeout(&b_s.1.replica, now);
        pump(&mut f_s, &mut b_s, now);
    }
    let ours = f_s.1.replica.book(&uid(1)).unwrap();
    let theirs = b_s.1.replica.book(&uid(1)).unwrap();
    assert_eq!((ours.len(), ours.tip()), (theirs.len(), theirs.tip()));
    assert!(f_s.1.replica.proof(&uid(1)).is_none());
    assert!(b_s.1.replica.proof(&uid(1)).is_none());
    assert_eq!(shown(&b_s.1.replica), before, "Bob keeps every message");
    assert_eq!(
        shown(&f_s.1.replica),
        before,
        "the restored device shows them all"
    );
    assert!(f_s.1.replica.state().is_owner(&uid(1)));
}

#[test]
fn a_refused_page_is_reported_with_why() {
    let (a, _) = room();
    // The creator's restored backup pushes a new first page of her book.
    let mut fresh =
        Replica::new(a.replica.room(), &RoomSecret::from_bytes(SECRET)).with_member(&identity(1));
    let request = Body::Control(ControlOp::JoinRequest {
        display_name: "a".into(),
        invite: None,
        proof: None,
    });
    fresh.write(&identity(1), &request, 30, [50; 24]).unwrap();
    let committed = commit_all(&mut fresh);
    let mut a_s = (SyncSession::new(&a.replica, uid(1), 30), a);
    let mut pushing = SyncSession::new(&fresh, uid(1), 30);
    // Past the greeting, then the push.
    while let Some(m) = pushing.poll_transmit() {
        a_s.0.handle_bytes(&m.encode(), &mut a_s.1.replica, 30);
    }
    pushing.announce(&fresh, &committed, 31);
    let mut refused = Vec::new();
    while let Some(m) = pushing.poll_transmit() {
        let accepted = a_s.0.handle_bytes(&m.encode(), &mut a_s.1.replica, 31);
        refused.extend(accepted.refused);
    }
    assert!(
        matches!(refused[..], [(r, StoreRefusal::NotRoot { .. })] if r == committed[0].page_ref()),
        "{refused:?}"
    );
}
