//! Byte snapshots: fixed keys and nonces must give exactly these bytes, forever. A change here
//! is a wire-format change and needs a new format version, not a new snapshot.

use quire_core::crypto::RoomSecret;
use quire_core::invite::Invite;
use quire_core::page::{
    Body, BookId, ControlOp, InviteId, LinkProof, Page, PageHash, PageKind, PageMeta, PageRef,
    Role, RoomId,
};

use crate::fixtures::{ROOM, book_of, identity, nonce, room_key, text, written_pages};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares `actual` with `tests/model/snapshots/<name>`. Run with `QUIRE_BLESS_SNAPSHOTS=1`
/// only when deliberately introducing a new format version.
fn assert_snapshot(name: &str, actual: &str) {
    let path = format!(
        "{}/tests/model/snapshots/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("QUIRE_BLESS_SNAPSHOTS").is_some() {
        std::fs::write(&path, format!("{actual}\n")).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(actual, expected.trim(), "snapshot {name} changed");
}

#[test]
fn first_page_bytes_are_stable() {
    let alice = identity(1);
    let bob = identity(2);
    let mut book = book_of(&alice);
    let page = book
        .append(
            &alice,
            &room_key(),
            &text("hi"),
            vec![PageRef {
                author: bob.user_id(),
                seq: 300,
                hash: PageHash([0xaa; 32]),
            }],
            PageMeta {
                timestamp_ms: 1_700_000_000_000,
            },
            nonce(0),
        )
        .unwrap();
    let bytes = page.encode();
    assert_snapshot("page_v1.hex", &hex(&bytes));
    assert_snapshot("page_v1_hash.hex", &hex(&page.hash().0));
    assert_eq!(Page::decode(&bytes).unwrap(), *page.page());
}

#[test]
fn page_layout_matches_the_documented_format() {
    let alice = identity(1);
    let page = written_pages(&alice, 2).pop().unwrap();
    let bytes = page.encode();
    assert_eq!(bytes[0], 1, "version");
    assert_eq!(&bytes[1..33], &ROOM.0, "room");
    assert_eq!(&bytes[33..65], alice.user_id().as_bytes(), "author");
    assert_eq!(bytes[65], 1, "seq varint");
    assert_eq!(bytes[66], 1, "prev present");
    assert_eq!(bytes[99], 0, "no refs");
    assert_eq!(bytes[100], PageKind::Message.to_u8(), "kind");
    assert_eq!(
        &bytes[bytes.len() - 64..],
        page.signature().as_bytes(),
        "signature last"
    );
}

#[test]
fn body_bytes_are_stable() {
    let member = identity(3).user_id();
    let cases = [
        (
            Body::Control(ControlOp::Admit {
                member,
                role: Role::Owner,
            }),
            format!("02{}01", hex(member.as_bytes())),
        ),
        (
            Body::Control(ControlOp::Rename { name: "Ops".into() }),
            "05034f7073".to_owned(),
        ),
        (Body::Control(ControlOp::Delete), "06".to_owned()),
        // Remove: tag 7, the member, then the varint length seen (300 = ac 02).
        (
            Body::Control(ControlOp::Remove { member, seen: 300 }),
            format!("07{}ac02", hex(member.as_bytes())),
        ),
        // Rooms written before removal was causal hold tag 3 with the member only.
        (
            Body::Control(ControlOp::LegacyRemove { member }),
            format!("03{}", hex(member.as_bytes())),
        ),
        (text("hi"), "0002686900".to_owned()),
        // A join request: tag 1, the name, the invite id and the proof of holding its link.
        (
            Body::Control(ControlOp::JoinRequest {
                display_name: "Bo".into(),
                invite: Some(InviteId([0x11; 16])),
                proof: Some(LinkProof([0x22; 32])),
            }),
            format!("0102426f01{}{}", "11".repeat(16), "22".repeat(32)),
        ),
        // Written before links had a secret: no proof after the invite id.
        (
            Body::Control(ControlOp::JoinRequest {
                display_name: "Bo".into(),
                invite: Some(InviteId([0x11; 16])),
                proof: None,
            }),
            format!("0102426f01{}", "11".repeat(16)),
        ),
        (
            Body::Control(ControlOp::JoinRequest {
                display_name: "Bo".into(),
                invite: None,
                proof: None,
            }),
            "0102426f00".to_owned(),
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(hex(&body.encode()), expected, "{body:?}");
        let mut bytes = Vec::new();
        for i in (0..expected.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&expected[i..i + 2], 16).unwrap());
        }
        assert_eq!(Body::decode(body.kind(), &bytes), Ok(body));
    }
}

#[test]
fn sealed_data_is_stable() {
    let head = quire_core::page::PageHead {
        book: BookId {
            room: RoomId([1; 32]),
            author: identity(1).user_id(),
        },
        seq: 0,
        prev: None,
    };
    let sealed = RoomSecret::from_bytes([9; 32])
        .page_key()
        .seal(&head, PageKind::Message, &[7; 24], b"hello")
        .unwrap();
    assert_snapshot("sealed_v1.hex", &hex(&sealed));
}

#[test]
fn invite_payload_is_stable() {
    let alice = identity(1);
    let invite = Invite {
        room: ROOM,
        room_name: "Ops".into(),
        secret: RoomSecret::from_bytes([0x4b; 32]),
        inviter: alice.user_id(),
        id: InviteId([0x11; 16]),
        relays: vec!["/ip4/192.0.2.10/tcp/8081/ws/p2p/12D3KooWExample".into()],
        expires_at_ms: Some(1_800_000_000_000),
        auto_admit: true,
        link_secret: None,
    };
    let payload = invite.to_payload(&alice).unwrap();
    assert_snapshot("invite_v1.txt", &payload);
    assert_eq!(Invite::parse(&payload, 0).unwrap(), invite);
    // Version 2: the same with the link's secret after the auto-admit flag.
    let invite = Invite {
        link_secret: Some([0x22; 32]),
        ..invite
    };
    let payload = invite.to_payload(&alice).unwrap();
    assert_snapshot("invite_v2.txt", &payload);
    assert_eq!(Invite::parse(&payload, 0).unwrap(), invite);
}

/// A page sealed under an epoch key names the epoch and is format version 2.
#[test]
fn epoch_page_bytes_are_stable() {
    let alice = identity(1);
    let epoch = RoomSecret::from_bytes([0x4e; 32]);
    let mut book = book_of(&alice);
    let page = book
        .append(
            &alice,
            &epoch.epoch_key(),
            &text("after the re-key"),
            Vec::new(),
            PageMeta {
                timestamp_ms: 1_700_000_000_000,
            },
            nonce(0),
        )
        .unwrap();
    let bytes = page.encode();
    assert_eq!(bytes[0], 2, "version 2: the page names its epoch");
    assert_eq!(page.key(), Some(epoch.key_id()));
    assert_snapshot("page_v2.hex", &hex(&bytes));
    assert_eq!(Page::decode(&bytes).unwrap(), *page.page());
}

/// A keys page: plaintext but for its grants, each sealed to one recipient.
#[test]
fn keys_page_bytes_are_stable() {
    use quire_core::crypto::{GrantPlace, KeyAgreement, open_grant, seal_grant};
    use quire_core::page::KeysBody;
    let (alice, bob) = (identity(1), identity(2));
    let epoch = RoomSecret::from_bytes([0x4e; 32]);
    let page_nonce = nonce(0);
    let place = GrantPlace {
        room: ROOM,
        author: alice.user_id(),
        seq: 0,
        nonce: &page_nonce,
        recipient: bob.user_id(),
    };
    let secrets = [
        (None, RoomSecret::from_bytes([0x4b; 32])),
        (Some(epoch.key_id()), epoch.clone()),
    ];
    let grant = seal_grant(&KeyAgreement::of(&alice), &place, &secrets).unwrap();
    let keys = KeysBody {
        new_epoch: Some(epoch.key_id()),
        grants: vec![grant.clone()],
    };
    let mut book = book_of(&alice);
    let page = book
        .append_keys(
            &alice,
            keys,
            Vec::new(),
            PageMeta {
                timestamp_ms: 1_700_000_000_000,
            },
            page_nonce,
        )
        .unwrap();
    let bytes = page.encode();
    assert_eq!(page.kind(), PageKind::Keys);
    assert_snapshot("keys_page_v1.hex", &hex(&bytes));
    assert_eq!(Page::decode(&bytes).unwrap(), *page.page());
    // The snapshot is a working grant: Bob opens both secrets from it.
    let opened = open_grant(&KeyAgreement::of(&bob), &place, &grant).unwrap();
    assert_eq!(
        opened
            .iter()
            .map(|(id, s)| (*id, s.key_id()))
            .collect::<Vec<_>>(),
        secrets
            .iter()
            .map(|(id, s)| (*id, s.key_id()))
            .collect::<Vec<_>>()
    );
}

/// The formats of shared files and of the copies protocol: a file page's body, a holding page's
/// body, a sealed blob's address (pins the segment layout, the nonces and the hash tree), a
/// `/quire/blob/1` request and answer head, and `/quire/copies/1` frames.
#[test]
fn resource_and_copies_bytes_are_stable() {
    use quire_core::blob::holders::HoldingBody;
    use quire_core::blob::wire::{BlobRequest, Status, data_head, empty_answer};
    use quire_core::blob::{BlobId, FileKey, Holder, seal};
    use quire_core::copies::{Hello, InstanceId, Report};
    use quire_core::page::FileBody;

    let key = FileKey::from_bytes([7; 32]);
    let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let holder = Holder::new(seal(&key, &plain).unwrap());
    let file = Body::File(FileBody {
        name: "notes.txt".into(),
        mime: "text/plain".into(),
        size: plain.len() as u64,
        blob: holder.info().id,
        key,
        description: "week 1".into(),
        thumbnail: Some(vec![1, 2, 3]),
    });
    let holding = Body::Holding(HoldingBody {
        blob: BlobId([9; 32]),
        held: true,
    });
    let request = BlobRequest {
        room: RoomId([4; 32]),
        blob: BlobId([5; 32]),
        range: 16_384..65_536,
    };
    let hello = Hello {
        instance: InstanceId([6; 16]),
        writing: true,
    };
    let report = Report {
        others: 2,
        writer: false,
    };
    let lines = [
        format!("blob id {}", hex(&holder.info().id.0)),
        format!("blob size {}", holder.info().size),
        format!("file body {}", hex(&file.encode())),
        format!("holding body {}", hex(&holding.encode())),
        format!("blob request {}", hex(&request.encode())),
        format!(
            "blob answers {} {}",
            hex(&data_head(300)),
            hex(&empty_answer(Status::Refused))
        ),
        format!("copies hello {}", hex(&hello.encode())),
        format!("copies report {}", hex(&report.encode())),
    ];
    assert_snapshot("resources_v1.txt", &lines.join("\n"));
    assert_eq!(Body::decode(PageKind::File, &file.encode()).unwrap(), file);
    assert_eq!(
        Body::decode(PageKind::Holding, &holding.encode()).unwrap(),
        holding
    );
}
