use super::*;
use crate::page::{ControlOp, NONCE_LEN, PageHash};
use crate::room::{ControlEntry, RoomLog, group_room_id};

fn user(n: u8) -> UserId {
    UserId::from_bytes([n; 32])
}

const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

fn key(depth: u64, author: u8, seq: u64) -> FoldKey {
    FoldKey {
        depth,
        id: PageRef {
            author: user(author),
            seq,
            hash: PageHash([author; 32]),
        },
    }
}

fn entry(author: u8, seq: u64, op: ControlOp) -> ControlEntry {
    ControlEntry {
        author: user(author),
        seq,
        nonce: NONCE,
        op,
    }
}

#[test]
fn a_tenure_covers_its_start_up_to_its_cut() {
    let mut t = Tenures::default();
    t.open(user(2), 1, Role::Member);
    assert!(!t.counts(&user(2), 0) && t.counts(&user(2), 1) && t.counts(&user(2), 1_000));
    assert!(t.cut(&user(2), 5));
    assert!(!t.cut(&user(2), 9), "nothing left to cut");
    assert!(t.counts(&user(2), 4) && !t.counts(&user(2), 5));
    assert_eq!(t.cut_at(&user(2)), Some(5));
    // Re-admitted from an earlier seq: never below the previous cut.
    t.open(user(2), 3, Role::Owner);
    assert_eq!(t.of(&user(2))[1].start, 5);
    assert!(t.counts(&user(2), 5));
    assert_eq!(t.covering(&user(2), 7).map(|t| t.role), Some(Role::Owner));
    // A cut before the start empties the tenure instead of reaching back into the last one.
    t.cut(&user(2), 2);
    assert_eq!(t.of(&user(2))[1].cut, Some(5));
    assert!(!t.counts(&user(2), 5));
}

#[test]
fn standing_and_what_each_may_store_and_receive() {
    let mut t = Tenures::default();
    t.open(user(1), 0, Role::Owner);
    t.open(user(2), 1, Role::Member);
    t.cut(&user(2), 10);
    assert_eq!(Standing::of(&t, &user(1), false), Standing::Member);
    assert_eq!(
        Standing::of(&t, &user(2), true),
        Standing::Former { cut: 10 }
    );
    assert_eq!(Standing::of(&t, &user(3), true), Standing::Pending);
    assert_eq!(Standing::of(&t, &user(4), false), Standing::Unknown);

    let at = |depth| key(depth, 1, depth);
    let former = Standing::Former { cut: 10 };
    assert_eq!(SyncRight::of(Standing::Member, true, None), SyncRight::Full);
    assert_eq!(
        SyncRight::of(former, true, Some(at(7))),
        SyncRight::UntilCut(at(7))
    );
    assert_eq!(
        SyncRight::of(Standing::Pending, true, None),
        SyncRight::None
    );
    assert_eq!(
        SyncRight::of(Standing::Unknown, true, None),
        SyncRight::None
    );
    // Before the room's creation is folded nothing is known about anyone: serve what is held.
    assert_eq!(
        SyncRight::of(Standing::Unknown, false, None),
        SyncRight::Full
    );
    let until = SyncRight::UntilCut(at(7));
    assert!(until.covers(at(7)) && until.covers(at(6)));
    assert!(!until.covers(at(8)));
    assert!(!SyncRight::None.covers(at(0)));
    assert!(SyncRight::Full.covers(at(99)));

    assert_eq!(may_store(Standing::Member, user(1), 99_999, false), Ok(()));
    assert_eq!(
        may_store(former, user(2), 10 + MAX_PAGES_PAST_CUT - 1, false),
        Ok(())
    );
    assert_eq!(
        may_store(former, user(2), 10 + MAX_PAGES_PAST_CUT, false),
        Err(StoreRefusal::PastCut {
            author: user(2),
            cut: 10,
            seq: 10 + MAX_PAGES_PAST_CUT
        })
    );
    assert_eq!(
        may_store(Standing::Pending, user(3), 1, true),
        Err(StoreRefusal::NotAdmitted {
            author: user(3),
            seq: 1
        })
    );
    assert_eq!(may_store(Standing::Unknown, user(4), 0, true), Ok(()));
    for (seq, is_request) in [(0, false), (1, true)] {
        assert_eq!(
            may_store(Standing::Unknown, user(4), seq, is_request),
            Err(StoreRefusal::Stranger {
                author: user(4),
                seq
            })
        );
    }
}

#[test]
fn the_request_cap_keeps_the_lowest_ids_whatever_the_arrival_order() {
    let keep = |arrivals: &[u8]| {
        let mut held: Vec<UserId> = Vec::new();
        for &n in arrivals {
            match admit_request(&held, user(n)) {
                Ok(None) => held.push(user(n)),
                Ok(Some(evicted)) => {
                    held.retain(|u| *u != evicted);
                    held.push(user(n));
                }
                Err(refusal) => {
                    assert_eq!(refusal, StoreRefusal::TooManyRequests { author: user(n) })
                }
            }
            assert!(held.len() <= MAX_PENDING_REQUESTS);
        }
        held.sort();
        held
    };
    let up: Vec<u8> = (1..=100).collect();
    let down: Vec<u8> = (1..=100).rev().collect();
    let mixed: Vec<u8> = (1..=100u32).map(|i| ((i * 37) % 100 + 1) as u8).collect();
    let expected: Vec<UserId> = (1..=MAX_PENDING_REQUESTS as u8).map(user).collect();
    assert_eq!(keep(&up), expected);
    assert_eq!(keep(&down), expected);
    assert_eq!(keep(&mixed), expected);
}

/// Two owners remove each other concurrently: each remove is past its author's cut for the
/// other, so whichever folds first wins, and the fold order is `(depth, id)`: the same on every
/// peer, whatever order the pages arrived in and whatever their timestamps said.
#[test]
fn concurrent_removals_converge_on_the_fold_order() {
    let room = group_room_id(&user(1), &NONCE);
    let pages = [
        (
            key(0, 1, 0),
            entry(
                1,
                0,
                ControlOp::Create {
                    name: "r".into(),
                    direct: None,
                },
            ),
        ),
        (
            key(1, 1, 1),
            entry(
                1,
                1,
                ControlOp::Admit {
                    member: user(2),
                    role: Role::Owner,
                },
            ),
        ),
        (
            key(2, 2, 0),
            entry(2, 0, ControlOp::Rename { name: "two".into() }),
        ),
        // Concurrent: both at depth 3; 1 had seen 2's book up to 1 page, 2 had seen 2 of 1's.
        (
            key(3, 1, 2),
            entry(
                1,
                2,
                ControlOp::Remove {
                    member: user(2),
                    seen: 1,
                },
            ),
        ),
        (
            key(3, 2, 1),
            entry(
                2,
                1,
                ControlOp::Remove {
                    member: user(1),
                    seen: 2,
                },
            ),
        ),
        (
            key(4, 2, 2),
            entry(
                2,
                2,
                ControlOp::Rename {
                    name: "late".into(),
                },
            ),
        ),
    ];
    let fold = |order: &[usize]| {
        let mut log = RoomLog::new(room);
        for &i in order {
            let (k, e) = pages[i].clone();
            let _ = log.insert(k, e);
        }
        log
    };
    let forward = fold(&[0, 1, 2, 3, 4, 5]);
    for order in [[5, 4, 3, 2, 1, 0], [4, 0, 5, 1, 3, 2], [1, 3, 0, 5, 2, 4]] {
        let other = fold(&order);
        assert_eq!(other.state(), forward.state());
    }
    let state = forward.state();
    // (3, user 1) < (3, user 2): 1's remove folds first, 2 is cut at 1.
    assert!(state.is_member(&user(1)) && !state.is_member(&user(2)));
    assert_eq!(forward.standing(&user(2)), Standing::Former { cut: 1 });
    assert_eq!(
        state.name(),
        "two",
        "2's rename below its cut counts, the later one does not"
    );
    assert!(forward.verdict(&key(3, 2, 1)).is_some_and(Result::is_err));
}

#[test]
fn a_leave_cuts_right_after_itself() {
    let room = group_room_id(&user(1), &NONCE);
    let mut log = RoomLog::new(room);
    log.insert(
        key(0, 1, 0),
        entry(
            1,
            0,
            ControlOp::Create {
                name: "r".into(),
                direct: None,
            },
        ),
    )
    .unwrap();
    log.insert(
        key(1, 1, 1),
        entry(
            1,
            1,
            ControlOp::Admit {
                member: user(2),
                role: Role::Member,
            },
        ),
    )
    .unwrap();
    log.insert(key(2, 2, 3), entry(2, 3, ControlOp::Leave))
        .unwrap();
    assert_eq!(log.standing(&user(2)), Standing::Former { cut: 4 });
    assert!(log.check_content_at(&user(2), 2, &key(9, 2, 2)).is_ok());
    assert!(log.check_content_at(&user(2), 4, &key(1, 2, 4)).is_err());
}

#[test]
fn an_epoch_off_the_chain_that_counting_pages_use_is_shared_by_whoever_holds_it() {
    use std::collections::BTreeSet;

    use crate::page::KeyId;

    let (epoch, off) = (KeyId([1; 16]), KeyId([9; 16]));
    let rekey = KeysEntry {
        author: user(1),
        new_epoch: Some(epoch),
        grants: vec![(user(1), vec![Some(epoch)]), (user(3), vec![Some(epoch)])],
    };
    let members = BTreeSet::from([user(1), user(3)]);
    let owners = BTreeSet::from([user(1)]);
    // Member 3 took `off` from a re-key that stopped counting and wrote under it; 1 lacks it.
    let held = BTreeSet::from([epoch, off]);
    let used = BTreeSet::from([off]);
    let epochs = Epochs::fold([&rekey]);
    assert_eq!(
        epochs.duty(&user(3), &members, &owners, true, &held, &used),
        Some(KeyDuty::Share {
            missing: vec![(user(1), vec![off])]
        })
    );
    assert_eq!(
        epochs.duty(&user(3), &members, &owners, true, &held, &BTreeSet::new()),
        None,
        "no page that counts uses it: nothing to share"
    );
    assert_eq!(
        epochs.duty(
            &user(1),
            &members,
            &owners,
            true,
            &BTreeSet::from([epoch]),
            &used
        ),
        None,
        "only a holder can share it"
    );
    // Shared: the duty is settled, and the epoch never joins the chain.
    let share = KeysEntry {
        author: user(3),
        new_epoch: None,
        grants: vec![(user(1), vec![Some(off)])],
    };
    let epochs = Epochs::fold([&rekey, &share]);
    assert_eq!(
        epochs.duty(&user(3), &members, &owners, true, &held, &used),
        None
    );
    assert_eq!(epochs.chain(), &[epoch]);
    assert!(epochs.holds(&user(1), Some(off)));
    assert!(epochs.writable(&members, true));

    // A chain epoch only member 3 holds (it re-keyed for an owner that lost) is shared too;
    // one an owner holds is the owners' to grant.
    let members_rekey = KeysEntry {
        author: user(3),
        new_epoch: Some(off),
        grants: vec![(user(3), vec![Some(off)])],
    };
    let epochs = Epochs::fold([&rekey, &members_rekey]);
    assert_eq!(
        epochs.duty(&user(3), &members, &owners, true, &held, &BTreeSet::new()),
        Some(KeyDuty::Share {
            missing: vec![(user(1), vec![off])]
        })
    );
    let owners_too = BTreeSet::from([user(1), user(3)]);
    assert!(matches!(
        epochs.duty(
            &user(3),
            &members,
            &owners_too,
            true,
            &held,
            &BTreeSet::new()
        ),
        Some(KeyDuty::Grant { .. })
    ));
}

mod auto_admit_links {
    use std::collections::BTreeMap;

    use crate::identity::UserId;
    use crate::invite::{LINK_SECRET_LEN, link_proof};
    use crate::membership::auto_admit::{
        AutoAdmitLink, AutoAdmitLinks, Candidate, auto_admittable, link_used,
    };
    use crate::page::{InviteId, RoomId};

    fn user(n: u8) -> UserId {
        UserId::from_bytes([n; 32])
    }

    const NOW: u64 = 1_000_000;
    const ROOM: RoomId = RoomId([7; 32]);

    /// The secret of invite `[n; 16]`'s link.
    fn secret(n: u8) -> [u8; LINK_SECRET_LEN] {
        [n + 100; LINK_SECRET_LEN]
    }

    fn link(n: u8, single_use: bool) -> (InviteId, AutoAdmitLink) {
        let link = AutoAdmitLink {
            until_ms: NOW + 10,
            single_use,
            secret: Some(secret(n)),
        };
        (InviteId([n; 16]), link)
    }

    fn links() -> AutoAdmitLinks {
        BTreeMap::from([link(1, false), link(2, true)])
    }

    /// `who`'s request through invite `[n; 16]`, holding its link.
    fn through(who: u8, n: u8) -> Candidate {
        let user = user(who);
        Candidate {
            user,
            invite: Some(InviteId([n; 16])),
            proof: Some(link_proof(&secret(n), &ROOM, &user)),
            removed: false,
        }
    }

    #[test]
    fn a_multi_use_link_admits_everyone_through_it_until_it_expires() {
        let without = Candidate {
            invite: None,
            proof: None,
            ..through(3, 1)
        };
        let requests = [through(1, 1), through(2, 1), without, through(4, 9)];
        let now = auto_admittable(&links(), &ROOM, requests, NOW);
        assert_eq!(
            now,
            [(user(1), InviteId([1; 16])), (user(2), InviteId([1; 16]))]
        );
        assert!(
            auto_admittable(&links(), &ROOM, requests, NOW + 10).is_empty(),
            "expired"
        );
    }

    #[test]
    fn only_a_requester_holding_the_link_is_admitted_through_it() {
        let requests = [
            Candidate {
                proof: None,
                ..through(2, 1)
            },
            Candidate {
                proof: through(2, 2).proof,
                ..through(2, 1)
            },
            Candidate {
                proof: through(1, 1).proof,
                ..through(3, 1)
            },
        ];
        assert!(
            auto_admittable(&links(), &ROOM, requests, NOW).is_empty(),
            "no proof, another link's proof, another requester's proof"
        );
        let other_room = RoomId([8; 32]);
        assert!(auto_admittable(&links(), &other_room, [through(1, 1)], NOW).is_empty());
        let mut legacy = links();
        for link in legacy.values_mut() {
            link.secret = None;
        }
        assert!(
            auto_admittable(&legacy, &ROOM, [through(1, 1)], NOW).is_empty(),
            "a link kept without a secret admits no one by itself"
        );
    }

    #[test]
    fn someone_an_owner_removed_is_not_let_back_in_even_holding_the_link() {
        let removed = Candidate {
            removed: true,
            ..through(1, 1)
        };
        assert!(auto_admittable(&links(), &ROOM, [removed], NOW).is_empty());
    }

    #[test]
    fn a_single_use_link_admits_one_requester_then_is_used_up() {
        let mut links = links();
        let requests = [through(1, 2), through(2, 2)];
        let now = auto_admittable(&links, &ROOM, requests, NOW);
        assert_eq!(
            now,
            [(user(1), InviteId([2; 16]))],
            "the lowest id of the two"
        );
        let reversed = auto_admittable(&links, &ROOM, [requests[1], requests[0]], NOW);
        assert_eq!(now, reversed, "the same one whatever the order");
        assert!(link_used(&mut links, &InviteId([2; 16])));
        assert!(
            auto_admittable(&links, &ROOM, requests, NOW).is_empty(),
            "used up"
        );
        assert!(
            !link_used(&mut links, &InviteId([1; 16])),
            "multi-use stays"
        );
        assert_eq!(links.len(), 1);
    }
}
