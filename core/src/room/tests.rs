use super::*;
use crate::membership::Standing;

fn user(n: u8) -> UserId {
    UserId::from_bytes([n; 32])
}

const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

fn entry(author: u8, seq: u64, op: ControlOp) -> ControlEntry {
    ControlEntry {
        author: user(author),
        seq,
        nonce: NONCE,
        op,
    }
}

fn create() -> ControlOp {
    ControlOp::Create {
        name: "book club".into(),
        direct: None,
    }
}

fn admit(member: u8, role: Role) -> ControlOp {
    ControlOp::Admit {
        member: user(member),
        role,
    }
}

fn group_log() -> RoomLog<u32> {
    let mut log = RoomLog::new(group_room_id(&user(1), &NONCE));
    log.insert(10, entry(1, 10, create())).unwrap();
    log
}

#[test]
fn creator_is_owner_and_only_owners_admit() {
    let mut log = group_log();
    assert!(log.state().is_owner(&user(1)));
    assert_eq!(
        log.insert(20, entry(2, 20, admit(3, Role::Member))),
        Err(RoomError::NotOwner(user(2)))
    );
    log.insert(30, entry(1, 30, admit(2, Role::Member)))
        .unwrap();
    assert!(log.state().is_member(&user(2)));
    assert!(!log.state().is_owner(&user(2)));
    assert_eq!(
        log.insert(40, entry(2, 40, ControlOp::Rename { name: "x".into() })),
        Err(RoomError::NotOwner(user(2)))
    );
}

#[test]
fn forged_create_by_another_author_is_rejected() {
    let mut log = RoomLog::new(group_room_id(&user(1), &NONCE));
    assert_eq!(
        log.insert(5, entry(2, 5, create())),
        Err(RoomError::ForeignRoomId)
    );
    log.insert(10, entry(1, 10, create())).unwrap();
    assert_eq!(
        log.insert(20, entry(1, 20, create())),
        Err(RoomError::AlreadyCreated)
    );
}

fn remove(member: u8, seen: u64) -> ControlOp {
    ControlOp::Remove {
        member: user(member),
        seen,
    }
}

#[test]
fn concurrent_mutual_removal_keeps_the_first_folded() {
    let mut log = group_log();
    log.insert(20, entry(1, 20, admit(2, Role::Owner))).unwrap();
    // Owner 2's removal of 1 arrives first but is folded after 1's removal of 2. Each had seen
    // the other's book up to before the other's removal page.
    log.insert(40, entry(2, 40, remove(1, 25))).unwrap();
    assert!(!log.state().is_member(&user(1)));
    log.insert(30, entry(1, 30, remove(2, 35))).unwrap();
    assert!(log.state().is_member(&user(1)), "refold: 1 removed 2 first");
    assert!(!log.state().is_member(&user(2)));
    assert_eq!(log.verdict(&40), Some(&Err(RoomError::NotOwner(user(2)))));
}

#[test]
fn last_owner_is_never_removed_and_leaving_promotes_the_eldest() {
    let mut log = group_log();
    log.insert(20, entry(1, 20, admit(3, Role::Member)))
        .unwrap();
    log.insert(30, entry(1, 30, admit(2, Role::Member)))
        .unwrap();
    assert_eq!(
        log.insert(40, entry(1, 40, remove(1, 40))),
        Err(RoomError::LastOwner)
    );
    assert_eq!(
        log.insert(45, entry(1, 45, admit(1, Role::Member))),
        Err(RoomError::LastOwner)
    );
    let change = log.insert(50, entry(1, 50, ControlOp::Leave)).unwrap();
    assert_eq!(
        change,
        Change::Departed {
            member: user(1),
            promoted: Some(user(3))
        }
    );
    assert!(log.state().is_owner(&user(3)));
}

#[test]
fn membership_is_judged_in_the_authors_seq_space() {
    let mut log = group_log();
    let request = ControlOp::JoinRequest {
        display_name: "Bo".into(),
        invite: None,
        proof: None,
    };
    log.insert(15, entry(2, 0, request)).unwrap();
    log.insert(20, entry(1, 20, admit(2, Role::Member)))
        .unwrap();
    // The owner had seen 5 pages of 2's book when removing 2.
    log.insert(40, entry(1, 40, remove(2, 5))).unwrap();
    // Fold positions do not matter any more, only 2's own seqs: 1..5 count.
    for (seq, at) in [(1, 99), (4, 1)] {
        assert_eq!(log.check_content_at(&user(2), seq, &at), Ok(()));
    }
    for (seq, at) in [(0, 30), (5, 30), (6, 1)] {
        assert_eq!(
            log.check_content_at(&user(2), seq, &at),
            Err(RoomError::NotMember(user(2)))
        );
    }
    assert_eq!(
        log.check_content_at(&user(9), 0, &30),
        Err(RoomError::NotMember(user(9)))
    );
    assert!(log.is_known(&user(2)));
    assert_eq!(log.standing(&user(2)), Standing::Former { cut: 5 });
}

#[test]
fn deleted_room_is_read_only() {
    let mut log = group_log();
    log.insert(20, entry(1, 20, admit(2, Role::Member)))
        .unwrap();
    log.insert(30, entry(1, 30, ControlOp::Delete)).unwrap();
    assert!(log.state().is_deleted());
    assert_eq!(
        log.check_content_at(&user(1), 40, &40),
        Err(RoomError::Deleted)
    );
    assert_eq!(log.check_content_at(&user(1), 25, &25), Ok(()));
    assert_eq!(
        log.insert(
            50,
            entry(
                1,
                50,
                ControlOp::Rename {
                    name: "back".into()
                }
            )
        ),
        Err(RoomError::Deleted)
    );
    assert_eq!(
        log.insert(60, entry(2, 60, ControlOp::Leave)),
        Err(RoomError::Deleted)
    );
}

#[test]
fn join_request_then_admission() {
    let mut log = group_log();
    let request = ControlOp::JoinRequest {
        display_name: "Ann".into(),
        invite: None,
        proof: None,
    };
    log.insert(20, entry(4, 0, request.clone())).unwrap();
    assert!(log.state().join_requests().contains_key(&user(4)));
    assert!(log.is_known(&user(4)));
    log.insert(30, entry(1, 30, admit(4, Role::Member)))
        .unwrap();
    assert!(log.state().join_requests().is_empty());
    assert_eq!(
        log.insert(40, entry(4, 1, request)),
        Err(RoomError::AlreadyMember(user(4)))
    );
}

#[test]
fn direct_room_id_is_symmetric_and_either_side_opens_it() {
    let (a, b) = (user(1), user(2));
    let id = direct_room_id(&a, &b);
    assert_eq!(id, direct_room_id(&b, &a));
    assert_ne!(id, direct_room_id(&a, &user(3)));
    let open = |by: u8, with: UserId| {
        entry(
            by,
            0,
            ControlOp::Create {
                name: String::new(),
                direct: Some(with),
            },
        )
    };
    let mut log = RoomLog::new(id);
    log.insert(10, open(2, a)).unwrap();
    assert_eq!(log.insert(11, open(1, b)), Ok(Change::Nothing));
    assert!(log.state().is_owner(&a) && log.state().is_owner(&b));
    assert_eq!(
        log.insert(12, entry(1, 12, admit(3, Role::Member))),
        Err(RoomError::DirectRoom)
    );
    let mut outsider = RoomLog::<u32>::new(id);
    assert_eq!(
        outsider.insert(1, open(3, a)),
        Err(RoomError::ForeignRoomId)
    );
}

mod replica {
    use crate::book::Book;
    use crate::crypto::RoomSecret;
    use crate::identity::Identity;
    use crate::membership::{MAX_CLOCK_SKEW_MS, MAX_PAGES_PAST_CUT, StoreRefusal, SyncRight};
    use crate::page::{Body, BookId, ControlOp, MessageBody, PageMeta, Role};
    use crate::room::{Replica, RoomError, WriteError, group_room_id};

    const SECRET: [u8; 32] = [4; 32];

    fn id(n: u8) -> Identity {
        Identity::from_secret_bytes([n; 32]).unwrap()
    }

    fn text(t: &str) -> Body {
        Body::Message(MessageBody::Text {
            text: t.into(),
            reply_to: None,
        })
    }

    fn created(owner: &Identity) -> Replica {
        let nonce = [1; 24];
        let room = group_room_id(&owner.user_id(), &nonce);
        let mut r = Replica::new(room, &RoomSecret::from_bytes(SECRET));
        let create = Body::Control(ControlOp::Create {
            name: "r".into(),
            direct: None,
        });
        r.write(owner, &create, 1, nonce).unwrap();
        r
    }

    #[test]
    fn pages_by_non_members_are_not_stored() {
        let owner = id(1);
        let outsider = id(2);
        let mut room = created(&owner);
        assert_eq!(
            room.write(&outsider, &text("hi"), 2, [2; 24]),
            Err(WriteError::Room(RoomError::NotMember(outsider.user_id())))
        );
        // The outsider holds the room secret (e.g. a leaked invite) and signs a message anyway.
        let mut book = Book::new(BookId {
            room: room.room(),
            author: outsider.user_id(),
        });
        let key = RoomSecret::from_bytes(SECRET).page_key();
        let forged = book
            .append(
                &outsider,
                &key,
                &text("spam"),
                Vec::new(),
                PageMeta::default(),
                [3; 24],
            )
            .unwrap();
        let ingested = room.ingest_at(vec![forged.into_page()], 10);
        assert!(ingested.stored.is_empty());
        assert!(matches!(
            ingested.refused[..],
            [(_, StoreRefusal::Stranger { seq: 0, .. })]
        ));
        assert!(room.book(&outsider.user_id()).is_none());
        // A join request is the one page a non-member may write.
        let request = Body::Control(ControlOp::JoinRequest {
            display_name: "out".into(),
            invite: None,
            proof: None,
        });
        let mut book = Book::new(BookId {
            room: room.room(),
            author: outsider.user_id(),
        });
        let request = book
            .append(
                &outsider,
                &key,
                &request,
                Vec::new(),
                PageMeta::default(),
                [5; 24],
            )
            .unwrap();
        assert_eq!(
            room.ingest_at(vec![request.into_page()], 10).stored.len(),
            1
        );
        assert!(
            room.state()
                .join_requests()
                .contains_key(&outsider.user_id())
        );
    }

    #[test]
    fn deleted_room_refuses_new_messages() {
        let owner = id(1);
        let mut room = created(&owner);
        room.write(&owner, &text("before"), 2, [2; 24]).unwrap();
        room.write(&owner, &Body::Control(ControlOp::Delete), 3, [3; 24])
            .unwrap();
        assert_eq!(
            room.write(&owner, &text("after"), 4, [4; 24]),
            Err(WriteError::Room(RoomError::Deleted))
        );
        let changes = room.display_changes();
        assert!(
            changes.released.is_empty(),
            "a refused write changes nothing"
        );
        let shown: Vec<bool> = room.display_order().map(|k| room.counts(k)).collect();
        assert_eq!(shown, vec![true, true, true]);
    }

    #[test]
    fn restore_rebuilds_the_same_room() {
        let owner = id(1);
        let member = id(2);
        let mut room = created(&owner);
        let admit = Body::Control(ControlOp::Admit {
            member: member.user_id(),
            role: Role::Member,
        });
        room.write(&owner, &admit, 2, [2; 24]).unwrap();
        for i in 0..20u8 {
            room.write(&owner, &text("m"), 10 + u64::from(i), [i + 10; 24])
                .unwrap();
        }
        let pages: Vec<_> = room.book(&owner.user_id()).unwrap().range(0..100).to_vec();
        let restored = Replica::restore(
            room.room(),
            &RoomSecret::from_bytes(SECRET),
            [(owner.user_id(), pages, None)],
        )
        .unwrap();
        let last = room.display_changes().released.clone();
        assert_eq!(last.len(), 1, "the last write released one page");
        assert_eq!(
            last[0].follows,
            room.display_order().rev().nth(1).map(|k| k.id)
        );
        let order = |r: &Replica| r.display_order().cloned().collect::<Vec<_>>();
        assert_eq!(order(&restored), order(&room));
        assert!(restored.state().is_member(&member.user_id()));
    }

    fn joined(owner: &Identity, member: &Identity) -> (Replica, Replica) {
        let mut room = created(owner);
        let admit = Body::Control(ControlOp::Admit {
            member: member.user_id(),
            role: Role::Member,
        });
        room.write(owner, &admit, 2, [2; 24]).unwrap();
        let mut theirs = Replica::new(room.room(), &RoomSecret::from_bytes(SECRET));
        theirs.ingest_at(all_pages(&room), 10);
        assert!(theirs.state().is_member(&member.user_id()));
        (room, theirs)
    }

    fn all_pages(r: &Replica) -> Vec<crate::page::Page> {
        r.books()
            .flat_map(|(_, book)| book.range(0..book.len()).to_vec())
            .map(|p| p.into_page())
            .collect()
    }

    #[test]
    fn at_most_max_held_pages_wait_for_their_time_and_the_furthest_go_first() {
        use crate::membership::MAX_HELD_PAGES;
        let owner = id(1);
        let member = id(2);
        let (mut room, mut theirs) = joined(&owner, &member);
        let now = 1_000_000;
        let base = now + MAX_CLOCK_SKEW_MS + 1;
        // The member's clock runs far ahead: every page it writes is held back here.
        let mut write = |i: u64, stamp: u64| {
            let mut nonce = [0u8; 24];
            nonce[..8].copy_from_slice(&i.to_le_bytes());
            theirs
                .write(&member, &text("early"), stamp, nonce)
                .unwrap()
                .into_page()
        };
        let full: Vec<_> = (0..MAX_HELD_PAGES as u64)
            .map(|i| write(i, base + 10 * i))
            .collect();
        assert!(room.ingest_at(full.clone(), now).refused.is_empty());
        assert_eq!(room.held_len(), MAX_HELD_PAGES);
        // Full: a page further in the future than all of them is refused ...
        let furthest = write(MAX_HELD_PAGES as u64, base + 100_000);
        let ingested = room.ingest_at(vec![furthest.clone()], now);
        assert!(matches!(
            ingested.refused[..],
            [(r, StoreRefusal::HoldFull { .. })] if r == furthest.page_ref()
        ));
        // ... and a sooner one displaces the furthest held (the last of `full`).
        let sooner = write(MAX_HELD_PAGES as u64 + 1, base + 5);
        assert!(room.ingest_at(vec![sooner], now).refused.is_empty());
        assert_eq!(room.held_len(), MAX_HELD_PAGES);
        let late = base + 200_000;
        let released = room.handle_timeout(late).stored.len();
        assert_eq!(released, MAX_HELD_PAGES - 1, "all but the displaced page");
        assert_eq!(room.held_len(), 0);
        // The displaced and the refused page come again with a later sync, and the book is
        // whole.
        let last = full.last().unwrap().clone();
        let stored = room.ingest_at(vec![last, furthest], late).stored.len();
        assert_eq!(
            stored, 3,
            "the two, then the sooner page waiting after them"
        );
        assert_eq!(
            room.book(&member.user_id()).unwrap().len(),
            MAX_HELD_PAGES as u64 + 2
        );
    }

    #[test]
    fn pages_from_the_future_are_held_until_their_time() {
        let owner = id(1);
        let member = id(2);
        let (mut room, mut theirs) = joined(&owner, &member);
        let now = 1_000_000;
        let stamp = now + MAX_CLOCK_SKEW_MS + 1;
        let page = theirs
            .write(&member, &text("early"), stamp, [9; 24])
            .unwrap();
        let ingested = room.ingest_at(vec![page.clone().into_page()], now);
        assert!(ingested.stored.is_empty() && ingested.refused.is_empty());
        assert_eq!(room.held_len(), 1);
        assert!(room.book(&member.user_id()).is_none(), "not stored");
        assert_eq!(room.poll_timeout(), Some(stamp - MAX_CLOCK_SKEW_MS));
        // Offered again while held: still one copy, still not stored.
        room.ingest_at(vec![page.clone().into_page()], now);
        assert_eq!(room.held_len(), 1);
        assert!(
            room.handle_timeout(stamp - MAX_CLOCK_SKEW_MS - 1)
                .stored
                .is_empty()
        );
        let released = room.handle_timeout(stamp - MAX_CLOCK_SKEW_MS);
        assert_eq!(released.stored, vec![page]);
        assert_eq!(room.held_len(), 0);
        assert_eq!(room.poll_timeout(), None);
        // Within the bound: stored at once.
        let page = theirs
            .write(&member, &text("fine"), stamp + 10, [10; 24])
            .unwrap();
        assert_eq!(
            room.ingest_at(vec![page.into_page()], stamp).stored.len(),
            1
        );
    }

    #[test]
    fn a_removed_members_later_pages_never_count_and_are_capped() {
        let owner = id(1);
        let member = id(2);
        let (mut room, mut theirs) = joined(&owner, &member);
        for i in 0..3u8 {
            let page = theirs.write(&member, &text("before"), 20 + u64::from(i), [20 + i; 24]);
            room.ingest_at(vec![page.unwrap().into_page()], 100);
        }
        let seen = room.seen_of(&member.user_id());
        assert_eq!(seen, 3);
        // A peer that keeps taking the member's pages until it learns of the removal.
        let mut late = Replica::new(room.room(), &RoomSecret::from_bytes(SECRET));
        // Twice: the member's book may come before the admission that lets it be stored.
        late.ingest_at(all_pages(&room), 100);
        late.ingest_at(all_pages(&room), 100);
        assert_eq!(late.seen_of(&member.user_id()), 3);
        let remove = Body::Control(ControlOp::Remove {
            member: member.user_id(),
            seen,
        });
        let removal = room.write(&owner, &remove, 50, [50; 24]).unwrap();
        assert_eq!(room.cut_at(&member.user_id()), Some(3));
        let removal_key = room
            .display_order()
            .find(|k| k.id == removal.page_ref())
            .map(crate::membership::FoldKey::of)
            .unwrap();
        assert_eq!(
            room.may_sync(&member.user_id()),
            SyncRight::UntilCut(removal_key)
        );
        assert_eq!(room.may_sync(&owner.user_id()), SyncRight::Full);
        // The member writes on, back-dated to before its removal.
        let past: Vec<_> = (0..MAX_PAGES_PAST_CUT + 5)
            .map(|i| {
                let nonce = [(i % 250) as u8 + 1; 24];
                theirs
                    .write(&member, &text("after"), 1, nonce)
                    .unwrap()
                    .into_page()
            })
            .collect();
        assert_eq!(late.ingest_at(past.clone(), 100).stored.len(), past.len());
        let ingested = room.ingest_at(past.clone(), 100);
        assert_eq!(ingested.stored.len() as u64, MAX_PAGES_PAST_CUT);
        assert_eq!(ingested.refused.len(), 5);
        assert!(matches!(
            ingested.refused[0].1,
            StoreRefusal::PastCut { cut: 3, .. }
        ));
        let counted = |r: &Replica| {
            r.display_order()
                .filter(|k| k.id.author == member.user_id() && r.counts(k))
                .map(|k| k.id.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            counted(&room),
            vec![0, 1, 2],
            "the back-dated pages do not count"
        );
        // The late peer learns of the removal: it drops what is past the cap.
        late.ingest_at(vec![removal.into_page()], 100);
        assert_eq!(
            late.display_changes().dropped,
            vec![(member.user_id(), 3 + MAX_PAGES_PAST_CUT)]
        );
        assert_eq!(late.seen_of(&member.user_id()), 3 + MAX_PAGES_PAST_CUT);
        assert_eq!(counted(&late), vec![0, 1, 2]);
        let order = |r: &Replica| r.display_order().cloned().collect::<Vec<_>>();
        assert_eq!(order(&late), order(&room));
    }

    #[test]
    fn only_a_member_may_write_a_leave() {
        let owner = id(1);
        let outsider = id(2);
        let mut room = created(&owner);
        assert_eq!(
            room.write(&outsider, &Body::Control(ControlOp::Leave), 2, [2; 24]),
            Err(WriteError::Room(RoomError::NotMember(outsider.user_id())))
        );
        assert!(room.book(&outsider.user_id()).is_none());
    }

    mod epochs {
        use super::*;
        use crate::crypto::CryptoError;
        use crate::membership::KeyDuty;
        use crate::room::KeyWait;
        use crate::validate::ValidationError;

        /// Alice (owner) with Bob and Carol as members, each replica holding everything.
        fn trio() -> (Vec<Identity>, Vec<Replica>) {
            let ids = vec![id(1), id(2), id(3)];
            let mut alice = created(&ids[0]).with_member(&ids[0]);
            for member in &ids[1..] {
                let admit = Body::Control(ControlOp::Admit {
                    member: member.user_id(),
                    role: Role::Member,
                });
                alice
                    .write(&ids[0], &admit, 2, [member.user_id().as_bytes()[0]; 24])
                    .unwrap();
            }
            let views = ids
                .iter()
                .map(|me| {
                    if me.user_id() == ids[0].user_id() {
                        return alice.clone();
                    }
                    let mut r =
                        Replica::new(alice.room(), &RoomSecret::from_bytes(SECRET)).with_member(me);
                    r.ingest_at(all_pages(&alice), 10);
                    r
                })
                .collect();
            (ids, views)
        }

        fn sync_all(views: &mut [Replica]) {
            for _ in 0..2 {
                let pages: Vec<_> = views.iter().flat_map(all_pages).collect();
                for v in views.iter_mut() {
                    v.ingest_at(pages.clone(), 10_000);
                }
            }
        }

        fn no_key(r: &Replica, page: &crate::page::Page) -> bool {
            matches!(
                r.open(page),
                Err(ValidationError::Decrypt {
                    source: CryptoError::NoKey,
                    ..
                })
            )
        }

        #[test]
        fn a_removal_rekeys_and_the_removed_member_reads_nothing_written_after() {
            let (ids, mut views) = trio();
            let carol = ids[2].user_id();
            assert_eq!(
                views[0].key_duty(),
                None,
                "nobody left yet: epoch 0 is fine"
            );
            let remove = Body::Control(ControlOp::Remove {
                member: carol,
                seen: views[0].seen_of(&carol),
            });
            let removal = views[0].write(&ids[0], &remove, 20, [20; 24]).unwrap();
            // Nothing may be sealed under a key Carol holds any more.
            assert_eq!(
                views[0].write(&ids[0], &text("too soon"), 21, [21; 24]),
                Err(WriteError::Key(KeyWait::RekeyFirst))
            );
            let members = vec![ids[0].user_id(), ids[1].user_id()];
            let mut sorted = members.clone();
            sorted.sort();
            assert_eq!(
                views[0].key_duty(),
                Some(KeyDuty::Rekey { members: sorted })
            );
            let fresh = RoomSecret::from_bytes([42; 32]);
            let keys = views[0]
                .write_keys(&ids[0], fresh.clone(), 22, [22; 24])
                .unwrap()
                .expect("a re-key");
            assert_eq!(views[0].key_duty(), None);
            assert_eq!(views[0].epochs().current(), Some(fresh.key_id()));
            let secret = views[0]
                .write(&ids[0], &text("after"), 23, [23; 24])
                .unwrap();
            assert_eq!(secret.key(), Some(fresh.key_id()));
            sync_all(&mut views);
            // Bob reads it; Carol holds it, verified, but cannot open it, nor the re-key's
            // secret, only her removal.
            assert!(matches!(views[1].open(&secret), Ok(Body::Message(_))));
            assert!(views[2].page(&secret.page_ref()).is_some());
            assert!(no_key(&views[2], &secret));
            assert!(!views[2].holds_key(Some(fresh.key_id())));
            assert!(matches!(
                views[2].open(&removal),
                Ok(Body::Control(ControlOp::Remove { .. }))
            ));
            assert!(
                keys.data().windows(32).all(|w| w != fresh.as_bytes()),
                "sealed"
            );
            // Bob writes under the new epoch too, without re-keying again.
            assert_eq!(views[1].key_duty(), None);
            let bobs = views[1].write(&ids[1], &text("bob"), 24, [24; 24]).unwrap();
            assert_eq!(bobs.key(), Some(fresh.key_id()));
            // A restart keeps the epochs: they are in the stored pages.
            let books: Vec<_> = views[1]
                .books()
                .map(|(a, b)| (*a, b.range(0..b.len()).to_vec(), None))
                .collect();
            let restored =
                Replica::restore(views[1].room(), &RoomSecret::from_bytes(SECRET), books)
                    .unwrap()
                    .with_member(&ids[1]);
            assert!(matches!(restored.open(&secret), Ok(Body::Message(_))));
        }

        #[test]
        fn a_member_admitted_after_a_rekey_is_granted_the_whole_history() {
            let (ids, mut views) = trio();
            let carol = ids[2].user_id();
            let remove = Body::Control(ControlOp::Remove {
                member: carol,
                seen: views[0].seen_of(&carol),
            });
            views[0].write(&ids[0], &remove, 20, [20; 24]).unwrap();
            let first = RoomSecret::from_bytes([42; 32]);
            views[0]
                .write_keys(&ids[0], first.clone(), 21, [21; 24])
                .unwrap();
            let old = views[0]
                .write(&ids[0], &text("history"), 22, [22; 24])
                .unwrap();
            // Dan joins: the owner owes him the epochs he lacks.
            let dan = id(4);
            let admit = Body::Control(ControlOp::Admit {
                member: dan.user_id(),
                role: Role::Member,
            });
            views[0].write(&ids[0], &admit, 23, [23; 24]).unwrap();
            assert_eq!(
                views[0].key_duty(),
                Some(KeyDuty::Grant {
                    missing: vec![(dan.user_id(), vec![first.key_id()])]
                })
            );
            // A fresh secret is not used for grants.
            views[0]
                .write_keys(&ids[0], RoomSecret::from_bytes([43; 32]), 24, [24; 24])
                .unwrap();
            assert_eq!(views[0].key_duty(), None);
            assert_eq!(views[0].epochs().chain(), &[first.key_id()]);
            let mut dans =
                Replica::new(views[0].room(), &RoomSecret::from_bytes(SECRET)).with_member(&dan);
            dans.ingest_at(all_pages(&views[0]), 10_000);
            assert!(matches!(dans.open(&old), Ok(Body::Message(_))));
            let hello = dans.write(&dan, &text("hello"), 25, [25; 24]).unwrap();
            assert_eq!(hello.key(), Some(first.key_id()));
            // Carol, still listening, reads neither.
            views[2].ingest_at(all_pages(&dans), 10_000);
            let owners = all_pages(&views[0]);
            views[2].ingest_at(owners, 10_000);
            assert!(no_key(&views[2], &old) && no_key(&views[2], &hello));
        }

        #[test]
        fn concurrent_removals_converge_on_one_chain_that_excludes_both() {
            let ids = [id(1), id(2), id(3), id(4)];
            // Alice and Bob are owners; Carol and Dan members.
            let mut alice = created(&ids[0]).with_member(&ids[0]);
            for (member, role) in [(1, Role::Owner), (2, Role::Member), (3, Role::Member)] {
                let admit = Body::Control(ControlOp::Admit {
                    member: ids[member].user_id(),
                    role,
                });
                alice
                    .write(&ids[0], &admit, 2, [member as u8 + 10; 24])
                    .unwrap();
            }
            let mut bob =
                Replica::new(alice.room(), &RoomSecret::from_bytes(SECRET)).with_member(&ids[1]);
            bob.ingest_at(all_pages(&alice), 10);
            let remove = |r: &Replica, who: &Identity| {
                Body::Control(ControlOp::Remove {
                    member: who.user_id(),
                    seen: r.seen_of(&who.user_id()),
                })
            };
            // Concurrently: Alice removes Carol, Bob removes Dan; each re-keys.
            let body = remove(&alice, &ids[2]);
            alice.write(&ids[0], &body, 20, [20; 24]).unwrap();
            alice
                .write_keys(&ids[0], RoomSecret::from_bytes([50; 32]), 21, [21; 24])
                .unwrap();
            let body = remove(&bob, &ids[3]);
            bob.write(&ids[1], &body, 20, [30; 24]).unwrap();
            bob.write_keys(&ids[1], RoomSecret::from_bytes([60; 32]), 21, [31; 24])
                .unwrap();
            let mut views = vec![alice, bob];
            sync_all(&mut views);
            assert_eq!(
                views[0].epochs(),
                views[1].epochs(),
                "one chain on both sides"
            );
            assert_eq!(views[0].epochs().chain().len(), 2);
            // Whichever epoch is current still reaches one of the removed: re-key once more.
            assert!(matches!(views[0].key_duty(), Some(KeyDuty::Rekey { .. })));
            views[0]
                .write_keys(&ids[0], RoomSecret::from_bytes([70; 32]), 30, [40; 24])
                .unwrap();
            sync_all(&mut views);
            assert_eq!(views[0].key_duty(), None);
            assert_eq!(views[1].key_duty(), None);
            assert_eq!(views[0].epochs(), views[1].epochs());
            let last = views[1]
                .write(&ids[1], &text("just us"), 31, [41; 24])
                .unwrap();
            for (i, removed) in [(2, &ids[2]), (3, &ids[3])] {
                let mut theirs = Replica::new(views[0].room(), &RoomSecret::from_bytes(SECRET))
                    .with_member(removed);
                theirs.ingest_at(all_pages(&views[0]), 10_000);
                theirs.ingest_at(all_pages(&views[1]), 10_000);
                assert!(no_key(&theirs, &last), "removed member {i} reads it");
            }
            assert!(matches!(views[0].open(&last), Ok(Body::Message(_))));
        }

        #[test]
        fn a_grant_opens_only_for_its_recipient_and_only_as_written() {
            use crate::crypto::{GrantError, GrantPlace, KeyAgreement, open_grant, seal_grant};
            let (alice, bob, carol) = (id(1), id(2), id(3));
            let secret = RoomSecret::from_bytes([9; 32]);
            let nonce = [7; 24];
            let place = |recipient: &Identity| GrantPlace {
                room: crate::page::RoomId([1; 32]),
                author: alice.user_id(),
                seq: 5,
                nonce: &nonce,
                recipient: recipient.user_id(),
            };
            let entry = vec![(Some(secret.key_id()), secret.clone())];
            let grant = seal_grant(&KeyAgreement::of(&alice), &place(&bob), &entry).unwrap();
            let opened = open_grant(&KeyAgreement::of(&bob), &place(&bob), &grant).unwrap();
            assert_eq!(opened, entry);
            // Carol cannot open Bob's grant, even claiming to be its recipient.
            assert_eq!(
                open_grant(&KeyAgreement::of(&carol), &place(&bob), &grant),
                Err(GrantError::DoesNotOpen)
            );
            // Moved to another seq, it does not open.
            let mut moved = place(&bob);
            moved.seq = 6;
            assert_eq!(
                open_grant(&KeyAgreement::of(&bob), &moved, &grant),
                Err(GrantError::DoesNotOpen)
            );
            // A granter naming the wrong epoch for a secret is caught.
            let lie = vec![(Some(RoomSecret::from_bytes([8; 32]).key_id()), secret)];
            let grant = seal_grant(&KeyAgreement::of(&alice), &place(&bob), &lie).unwrap();
            assert_eq!(
                open_grant(&KeyAgreement::of(&bob), &place(&bob), &grant),
                Err(GrantError::WrongSecret)
            );
        }
    }
}

/// The room's root ([`crate::room::is_room_root`]): a restored creator's new first page.
mod root {
    use crate::crypto::RoomSecret;
    use crate::identity::Identity;
    use crate::membership::StoreRefusal;
    use crate::page::{Body, ControlOp, MessageBody, Page, Role};
    use crate::room::{Replica, group_room_id, is_room_root};
    use crate::validate::{Equivocation, VerifiedPage};

    const SECRET: [u8; 32] = [9; 32];
    const CREATE_NONCE: [u8; 24] = [1; 24];

    fn id(n: u8) -> Identity {
        Identity::from_secret_bytes([n; 32]).unwrap()
    }

    fn secret() -> RoomSecret {
        RoomSecret::from_bytes(SECRET)
    }

    fn text(t: &str) -> Body {
        Body::Message(MessageBody::Text {
            text: t.into(),
            reply_to: None,
        })
    }

    fn pages(r: &Replica) -> Vec<Page> {
        r.books()
            .flat_map(|(_, book)| book.range(0..book.len()).to_vec())
            .map(VerifiedPage::into_page)
            .collect()
    }

    /// Alice creates the room and admits Bob; both write three messages. Returns Alice's
    /// replica and Bob's.
    fn trip(alice: &Identity, bob: &Identity) -> (Replica, Replica) {
        let room = group_room_id(&alice.user_id(), &CREATE_NONCE);
        let mut a = Replica::new(room, &secret()).with_member(alice);
        let create = Body::Control(ControlOp::Create {
            name: "Trip".into(),
            direct: None,
        });
        a.write(alice, &create, 1, CREATE_NONCE).unwrap();
        let admit = Body::Control(ControlOp::Admit {
            member: bob.user_id(),
            role: Role::Member,
        });
        a.write(alice, &admit, 2, [2; 24]).unwrap();
        let mut b = Replica::new(room, &secret()).with_member(bob);
        b.ingest_at(pages(&a), 10);
        for i in 0..3u8 {
            a.write(alice, &text("a"), 20 + u64::from(i), [20 + i; 24])
                .unwrap();
            b.write(bob, &text("b"), 30 + u64::from(i), [30 + i; 24])
                .unwrap();
        }
        a.ingest_at(pages(&b), 40);
        b.ingest_at(pages(&a), 40);
        (a, b)
    }

    /// Alice's backup restored in a fresh browser: a replica that holds nothing and writes a
    /// join request, a new page at seq 0 of her book.
    fn restored(alice: &Identity, room: crate::page::RoomId) -> (Replica, Page) {
        let mut fresh = Replica::new(room, &secret()).with_member(alice);
        let request = Body::Control(ControlOp::JoinRequest {
            display_name: "Alice".into(),
            invite: None,
            proof: None,
        });
        let page = fresh.write(alice, &request, 50, [50; 24]).unwrap();
        (fresh, page.into_page())
    }

    fn shown(r: &Replica) -> usize {
        r.display_order().filter(|k| r.counts(k)).count()
    }

    #[test]
    fn only_the_page_the_room_id_commits_to_is_the_root() {
        let (alice, bob) = (id(1), id(2));
        let (a, _) = trip(&alice, &bob);
        let room = a.room();
        let book = a.book(&alice.user_id()).unwrap();
        assert!(is_room_root(&room, book.get(0).unwrap().page()));
        assert!(!is_room_root(&room, book.get(1).unwrap().page()));
        let (_, request) = restored(&alice, room);
        assert!(
            !is_room_root(&room, &request),
            "a fresh nonce is not the root's"
        );
    }

    #[test]
    fn a_restored_creators_first_page_is_refused_and_forks_nothing() {
        let (alice, bob) = (id(1), id(2));
        let (a, mut b) = trip(&alice, &bob);
        let before = shown(&b);
        assert_eq!(before, 8, "create, admit and six messages count");
        let (_, request) = restored(&alice, a.room());

        let got = b.ingest_at(vec![request.clone()], 60);
        assert!(got.equivocations.is_empty(), "no fork of the root");
        assert!(matches!(
            got.refused[..],
            [(_, StoreRefusal::NotRoot { .. })]
        ));
        // Both pages together (how a proof travels) are no proof either.
        let root = a.book(&alice.user_id()).unwrap().get(0).unwrap().clone();
        let got = b.ingest_at(vec![root.into_page(), request], 61);
        assert!(got.equivocations.is_empty());
        assert!(b.proof(&alice.user_id()).is_none());
        assert_eq!(b.book(&alice.user_id()).unwrap().len(), 5);
        assert_eq!(shown(&b), before, "Bob keeps all six messages");
        assert!(b.state().is_member(&bob.user_id()));
        b.write(&bob, &text("still here"), 70, [70; 24]).unwrap();
    }

    #[test]
    fn the_root_replaces_a_restored_creators_first_page() {
        let (alice, bob) = (id(1), id(2));
        let (a, b) = trip(&alice, &bob);
        let (mut fresh, _) = restored(&alice, a.room());
        fresh.mark_committed(&alice.user_id(), 1);

        // Bob's pages arrive in one batch, Alice's root among them.
        fresh.ingest_at(pages(&b), 60);
        assert_eq!(
            fresh.display_changes().dropped,
            vec![(alice.user_id(), 0)],
            "the request's branch is dropped, so the driver deletes it"
        );
        assert!(fresh.proof(&alice.user_id()).is_none());
        let theirs = b.book(&alice.user_id()).unwrap();
        let ours = fresh.book(&alice.user_id()).unwrap();
        assert_eq!(ours.len(), theirs.len(), "Alice holds her whole book again");
        assert_eq!(ours.tip(), theirs.tip());
        assert_eq!(
            fresh.committed_len(&alice.user_id()),
            0,
            "none of it stored yet"
        );
        // Bob's own pages came before the root in that batch and were refused (nothing was
        // created yet); sync asks for them again with the next heads.
        fresh.ingest_at(pages(&b), 61);
        assert!(fresh.display_changes().dropped.is_empty());
        assert_eq!(shown(&fresh), 8, "the whole history");
        assert!(fresh.state().is_owner(&alice.user_id()));
        // She writes after her last page: no fork.
        let next = fresh.write(&alice, &text("back"), 80, [80; 24]).unwrap();
        assert_eq!(next.seq(), 5);
        let mut b = b;
        let got = b.ingest_at(vec![next.into_page()], 90);
        assert_eq!(got.stored.len(), 1);
        assert_eq!(shown(&b), 9);
    }

    #[test]
    fn two_pages_under_the_roots_nonce_leave_the_lower_hash_as_root_everywhere() {
        let (alice, bob) = (id(1), id(2));
        let (a, _) = trip(&alice, &bob);
        let room = a.room();
        // A hostile creator signs a second create under the same nonce.
        let mut other = Replica::new(room, &secret()).with_member(&alice);
        let create = Body::Control(ControlOp::Create {
            name: "Not the trip".into(),
            direct: None,
        });
        let second = other
            .write(&alice, &create, 1, CREATE_NONCE)
            .unwrap()
            .into_page();
        let first = a.book(&alice.user_id()).unwrap().get(0).unwrap().clone();
        let first = first.into_page();
        assert!(is_room_root(&room, &first) && is_room_root(&room, &second));
        let lower = first.hash().min(second.hash());
        let root_of = |r: &Replica| {
            r.book(&alice.user_id())
                .and_then(|b| b.get(0))
                .map(|p| p.hash())
        };
        for order in [
            [first.clone(), second.clone()],
            [second.clone(), first.clone()],
        ] {
            let mut one_by_one = Replica::new(room, &secret());
            one_by_one.ingest_at(vec![order[0].clone()], 10);
            one_by_one.ingest_at(vec![order[1].clone()], 10);
            let mut together = Replica::new(room, &secret());
            let got = together.ingest_at(order.to_vec(), 10);
            assert!(got.equivocations.is_empty(), "no fork of the root");
            for r in [&one_by_one, &together] {
                assert!(r.proof(&alice.user_id()).is_none());
                assert_eq!(root_of(r), Some(lower));
                assert!(r.state().is_created());
            }
        }
        // A proof of the pair, stored by an earlier version, loads as the lower root.
        let proof = Equivocation::verify(first, second).unwrap();
        let loaded = Replica::restore(
            room,
            &secret(),
            [(alice.user_id(), Vec::new(), Some(proof))],
        )
        .unwrap();
        assert!(loaded.proof(&alice.user_id()).is_none());
        assert_eq!(root_of(&loaded), Some(lower));
    }

    #[test]
    fn a_stored_fork_of_the_root_loads_with_the_room_whole() {
        let (alice, bob) = (id(1), id(2));
        let (a, b) = trip(&alice, &bob);
        let (_, request) = restored(&alice, a.room());
        let root = a.book(&alice.user_id()).unwrap().get(0).unwrap().clone();
        // What an earlier version stored: the proof, and the creator's book cut to nothing.
        let proof = Equivocation::verify(root.clone().into_page(), request).unwrap();
        let bob_pages = b.book(&bob.user_id()).unwrap().range(0..10).to_vec();
        let loaded = Replica::restore(
            a.room(),
            &secret(),
            [
                (alice.user_id(), Vec::new(), Some(proof.clone())),
                (bob.user_id(), bob_pages.clone(), None),
            ],
        )
        .unwrap()
        .with_member(&bob);
        assert!(
            loaded.proof(&alice.user_id()).is_none(),
            "the proof no longer counts"
        );
        assert_eq!(
            loaded.book(&alice.user_id()).unwrap().tip(),
            Some(root.page_ref())
        );
        assert_eq!(
            loaded.committed_len(&alice.user_id()),
            0,
            "the root is to be stored"
        );
        assert_eq!(loaded.uncommitted().count(), 1);
        // With the creator's pages still stored, the book loads whole and committed.
        let alice_pages = a.book(&alice.user_id()).unwrap().range(0..10).to_vec();
        let loaded = Replica::restore(
            a.room(),
            &secret(),
            [
                (alice.user_id(), alice_pages, Some(proof)),
                (bob.user_id(), bob_pages, None),
            ],
        )
        .unwrap();
        assert_eq!(loaded.book(&alice.user_id()).unwrap().len(), 5);
        assert_eq!(loaded.committed_len(&alice.user_id()), 5);
        assert_eq!(shown(&loaded), 8);
    }
}

/// The fork rule ([`crate::room`]): pages of a forked book that other members built on keep
/// counting; where both branches were built on, the referencing page with the least hash
/// decides, the same on every peer.
mod fork {
    use crate::crypto::RoomSecret;
    use crate::identity::Identity;
    use crate::page::{Body, ControlOp, MessageBody, Page, PageRef, Role};
    use crate::room::{Replica, group_room_id};
    use crate::validate::VerifiedPage;

    const SECRET: [u8; 32] = [11; 32];
    const CREATE_NONCE: [u8; 24] = [1; 24];
    const NOW: u64 = 10_000;

    fn id(n: u8) -> Identity {
        Identity::from_secret_bytes([n; 32]).unwrap()
    }

    fn text(t: &str) -> Body {
        Body::Message(MessageBody::Text {
            text: t.into(),
            reply_to: None,
        })
    }

    fn admit(who: &Identity) -> Body {
        Body::Control(ControlOp::Admit {
            member: who.user_id(),
            role: Role::Member,
        })
    }

    fn pages(r: &Replica) -> Vec<Page> {
        r.books()
            .flat_map(|(_, book)| book.range(0..book.len()).to_vec())
            .map(VerifiedPage::into_page)
            .collect()
    }

    /// Every replica takes every page every other one holds, until nothing changes.
    fn exchange(replicas: &mut [&mut Replica]) {
        for _ in 0..6 {
            let all: Vec<Page> = replicas.iter().flat_map(|r| pages(r)).collect();
            for r in replicas.iter_mut() {
                r.ingest_at(all.clone(), NOW);
            }
        }
    }

    /// The pages that count, in display order. (Where the fork rule undid an admit, a peer
    /// that stored the newcomer's pages before keeps them, counting nowhere.)
    fn view(r: &Replica) -> Vec<PageRef> {
        r.display_order()
            .filter(|k| r.counts(k))
            .map(|k| k.id)
            .collect()
    }

    /// Alice creates the room and admits Bob and Cy, then her book forks at seq 3: on one
    /// device she admits Dee (Bob sees that branch), on another she writes a message. Returns
    /// the two devices and Bob's, Cy's and Dee's replicas: Bob's and Dee's each with a message
    /// written on the admitting branch, Cy's holding only what came before the fork.
    fn forked(alice: &Identity, bob: &Identity, cy: &Identity, dee: &Identity) -> [Replica; 5] {
        let room = group_room_id(&alice.user_id(), &CREATE_NONCE);
        let secret = RoomSecret::from_bytes(SECRET);
        let mut a = Replica::new(room, &secret).with_member(alice);
        let create = Body::Control(ControlOp::Create {
            name: "Trip".into(),
            direct: None,
        });
        a.write(alice, &create, 1, CREATE_NONCE).unwrap();
        a.write(alice, &admit(bob), 2, [2; 24]).unwrap();
        a.write(alice, &admit(cy), 3, [3; 24]).unwrap();
        let mut other_device = a.clone();
        a.write(alice, &admit(dee), 4, [4; 24]).unwrap();
        other_device
            .write(alice, &text("the other story"), 4, [5; 24])
            .unwrap();
        let member = |who: &Identity, from: &Replica| {
            let mut r = Replica::new(room, &secret).with_member(who);
            r.ingest_at(pages(from), NOW);
            r
        };
        let mut b = member(bob, &a);
        b.write(bob, &text("welcome Dee"), 10, [10; 24]).unwrap();
        let mut d = member(dee, &a);
        d.ingest_at(pages(&b), NOW);
        d.write(dee, &text("hi all"), 11, [11; 24]).unwrap();
        let mut c = Replica::new(room, &secret).with_member(cy);
        c.ingest_at(pages(&a).into_iter().filter(|p| p.seq() < 3).collect(), NOW);
        [a, other_device, b, c, d]
    }

    #[test]
    fn an_admit_others_built_on_survives_its_authors_fork() {
        let (alice, bob, cy, dee) = (id(1), id(2), id(3), id(4));
        let [mut a, mut other_device, mut b, mut c, mut d] = forked(&alice, &bob, &cy, &dee);
        // Cy sees only what came before the fork, then talks.
        c.write(&cy, &text("hello"), 12, [12; 24]).unwrap();
        exchange(&mut [&mut a, &mut other_device, &mut b, &mut c, &mut d]);
        for r in [&b, &c, &d] {
            assert_eq!(r.proof(&alice.user_id()).map(|p| p.seq()), Some(3));
            let book = r.book(&alice.user_id()).unwrap();
            assert_eq!(book.len(), 4, "the admit Bob built on is kept");
            assert!(r.state().is_member(&dee.user_id()), "Dee is still a member");
            assert!(
                r.display_order().all(|k| r.counts(k)),
                "every page kept counts, Dee's message too"
            );
            assert_eq!(view(r), view(&b), "one room on every peer");
            let mut as_alice = r.clone();
            assert!(as_alice.write(&alice, &text("more"), 20, [20; 24]).is_err());
        }
        // The other branch's message is shown nowhere.
        let other = other_device.book(&alice.user_id()).unwrap();
        let hidden = other.range(3..4).iter().chain(other.above_fork(3..4));
        for page in hidden.filter(|p| p.kind() == crate::page::PageKind::Message) {
            assert!(b.display_order().all(|k| k.id != page.page_ref()));
        }
    }

    #[test]
    fn where_both_branches_were_built_on_the_least_referencing_page_decides_everywhere() {
        let (alice, bob, cy, dee) = (id(1), id(2), id(3), id(4));
        let [mut a, mut other_device, mut b, mut c, mut d] = forked(&alice, &bob, &cy, &dee);
        // Cy holds the other branch and builds on it.
        c.ingest_at(pages(&other_device), NOW);
        let cys = c.write(&cy, &text("a story!"), 12, [12; 24]).unwrap();
        let bobs = b.book(&bob.user_id()).unwrap().get(0).unwrap().clone();
        let (cys_tip, bobs_tip) = (cys.refs()[0], bobs.refs()[0]);
        assert_eq!((cys_tip.seq, bobs_tip.seq), (3, 3));
        assert_ne!(cys_tip.hash, bobs_tip.hash, "each built on another branch");
        let chosen = if cys.hash() < bobs.hash() {
            cys_tip
        } else {
            bobs_tip
        };
        exchange(&mut [&mut a, &mut other_device, &mut b, &mut c, &mut d]);
        for r in [&b, &c, &d, &a, &other_device] {
            let book = r.book(&alice.user_id()).unwrap();
            assert_eq!(book.get(3).map(|p| p.page_ref()), Some(chosen));
            assert_eq!(book.len(), 4);
            assert_eq!(view(r), view(&b), "one room on every peer");
            for page in [&bobs, &cys] {
                let key = r.display_order().find(|k| k.id == page.page_ref());
                assert!(
                    key.is_some_and(|k| r.counts(k)),
                    "no member's page is hidden"
                );
            }
            assert_eq!(
                r.state().is_member(&dee.user_id()),
                chosen == bobs_tip,
                "Dee's admit counts only where its branch is kept"
            );
        }
    }
}
