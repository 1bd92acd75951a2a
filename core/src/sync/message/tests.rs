use super::*;
use crate::crypto::RoomSecret;
use crate::identity::Identity;
use crate::page::{Body, ControlOp};
use crate::room::{Replica, group_room_id};
use proptest::prelude::*;

fn user(n: u8) -> UserId {
    UserId::from_bytes([n; 32])
}

fn sample_page() -> Page {
    let me = Identity::from_secret_bytes([3; 32]).unwrap();
    let nonce = [5u8; 24];
    let room = group_room_id(&me.user_id(), &nonce);
    let mut replica = Replica::new(room, &RoomSecret::from_bytes([9; 32]));
    let create = Body::Control(ControlOp::Create {
        name: "r".into(),
        direct: None,
    });
    replica
        .write(&me, &create, 1_700_000_000_000, nonce)
        .unwrap()
        .into_page()
}

fn head() -> impl Strategy<Value = BookHead> {
    (
        any::<u8>(),
        any::<u64>(),
        any::<Option<[u8; 32]>>(),
        any::<Option<u64>>(),
    )
        .prop_map(|(a, len, tip, frozen_at)| BookHead {
            author: user(a),
            len,
            tip: tip.map(crate::page::PageHash),
            frozen_at,
        })
}

fn message() -> impl Strategy<Value = SyncMessage> {
    let room = any::<[u8; 32]>().prop_map(RoomId);
    prop_oneof![
        (room.clone(), proptest::collection::vec(head(), 0..8))
            .prop_map(|(room, heads)| SyncMessage::Heads { room, heads }),
        (
            room.clone(),
            proptest::collection::vec((any::<u8>(), any::<u64>(), any::<u64>()), 0..8)
        )
            .prop_map(|(room, r)| SyncMessage::Want {
                room,
                ranges: r
                    .into_iter()
                    .map(|(a, from, to)| WantRange {
                        author: user(a),
                        from,
                        to
                    })
                    .collect(),
            }),
        (room, any::<bool>(), 0usize..3).prop_map(|(room, reply, n)| SyncMessage::Pages {
            room,
            reply,
            pages: vec![sample_page(); n],
        }),
    ]
}

proptest! {
    #[test]
    fn messages_roundtrip(m in message()) {
        let bytes = m.encode();
        prop_assert!(bytes.len() <= MAX_MESSAGE_BYTES);
        prop_assert_eq!(SyncMessage::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SyncMessage::decode(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(m in message(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut bytes = m.encode();
        for (at, x) in flips {
            let len = bytes.len();
            bytes[at % len] ^= x;
        }
        let _ = SyncMessage::decode(&bytes);
        bytes.truncate(bytes.len() / 2);
        let _ = SyncMessage::decode(&bytes);
    }
}

#[test]
fn byte_snapshot_of_heads_and_want() {
    let heads = SyncMessage::Heads {
        room: RoomId([1; 32]),
        heads: vec![BookHead {
            author: user(2),
            len: 300,
            tip: Some(crate::page::PageHash([3; 32])),
            frozen_at: None,
        }],
    };
    let mut expected = vec![0u8];
    expected.extend([1u8; 32]);
    expected.push(1);
    expected.extend([2u8; 32]);
    expected.extend([0xac, 0x02, 1]);
    expected.extend([3u8; 32]);
    expected.push(0);
    assert_eq!(heads.encode(), expected);

    let want = SyncMessage::Want {
        room: RoomId([1; 32]),
        ranges: vec![WantRange {
            author: user(4),
            from: 5,
            to: 6,
        }],
    };
    let mut expected = vec![1u8];
    expected.extend([1u8; 32]);
    expected.push(1);
    expected.extend([4u8; 32]);
    expected.extend([5, 6]);
    assert_eq!(want.encode(), expected);
}

#[test]
fn pages_carry_the_canonical_page_bytes() {
    let page = sample_page();
    let message = SyncMessage::Pages {
        room: page.book().room,
        reply: true,
        pages: vec![page.clone()],
    };
    let bytes = message.encode();
    let canonical = page.encode();
    assert_eq!(bytes[0], 2, "variant tag");
    assert_eq!(bytes[33], 1, "reply flag");
    assert_eq!(bytes[34], 1, "one page");
    assert!(
        bytes.ends_with(&canonical),
        "page travels as its signed encoding"
    );
}

#[test]
fn caps_are_enforced() {
    assert_eq!(
        SyncMessage::decode(&vec![0u8; MAX_MESSAGE_BYTES + 1]),
        Err(MessageError::TooLarge(MAX_MESSAGE_BYTES + 1))
    );
    let too_many = SyncMessage::Want {
        room: RoomId([0; 32]),
        ranges: vec![
            WantRange {
                author: user(1),
                from: 0,
                to: 1
            };
            MAX_WANT_RANGES + 1
        ],
    };
    assert!(matches!(
        SyncMessage::decode(&too_many.encode()),
        Err(MessageError::TooMany { what: "ranges", .. })
    ));
}
