//! Property tests for every encoded type: roundtrip, canonicality, garbage never panics,
//! tampering never goes unnoticed, and the size caps hold at the extremes.

use proptest::prelude::*;
use quire_core::blob::{BlobId, FileKey, MAX_FILE_BYTES};
use quire_core::crypto::RoomSecret;
use quire_core::identity::{Signature, UserId};
use quire_core::invite::Invite;
use quire_core::page::{
    Body, BookId, ControlOp, FileBody, Grant, InviteId, KeyId, KeysBody, LinkProof, MAX_DATA_BYTES,
    MAX_PAGE_BYTES, MAX_REFS, MessageBody, Page, PageContent, PageHash, PageHead, PageKind,
    PageMeta, PageRef, Profile, Role, RoomId,
};
use quire_core::validate::verify_signature;

use crate::fixtures::{identity, written_pages};

fn user() -> impl Strategy<Value = UserId> {
    any::<[u8; 32]>().prop_map(UserId::from_bytes)
}

fn page_ref() -> impl Strategy<Value = PageRef> {
    (user(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(author, seq, hash)| PageRef {
        author,
        seq,
        hash: PageHash(hash),
    })
}

fn kind() -> impl Strategy<Value = PageKind> {
    any::<u8>().prop_map(PageKind::from_u8)
}

prop_compose! {
    fn content()(
        room in any::<[u8; 32]>(),
        author in user(),
        seq in any::<u64>(),
        prev in any::<[u8; 32]>(),
        refs in proptest::collection::vec(page_ref(), 0..8),
        kind in kind(),
        timestamp_ms in any::<u64>(),
        key in proptest::option::of(any::<[u8; 16]>()),
        nonce in any::<[u8; 24]>(),
        data in proptest::collection::vec(any::<u8>(), 0..512),
    ) -> PageContent {
        let mut refs: Vec<PageRef> = refs.into_iter().filter(|r| r.author != author).collect();
        refs.sort();
        refs.dedup_by_key(|r| r.author);
        PageContent {
            head: PageHead {
                book: BookId { room: RoomId(room), author },
                seq,
                prev: (seq > 0).then_some(PageHash(prev)),
            },
            refs,
            kind,
            meta: PageMeta { timestamp_ms },
            key: key.map(KeyId),
            nonce,
            data,
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    "\\PC{0,40}".prop_filter("fits name cap", |s| s.len() <= 128)
}

fn body() -> impl Strategy<Value = Body> {
    let control = prop_oneof![
        (name(), proptest::option::of(user()))
            .prop_map(|(name, direct)| ControlOp::Create { name, direct }),
        (
            name(),
            proptest::option::of((any::<[u8; 16]>(), proptest::option::of(any::<[u8; 32]>())))
        )
            .prop_map(|(display_name, invite)| ControlOp::JoinRequest {
                display_name,
                invite: invite.map(|(id, _)| InviteId(id)),
                proof: invite.and_then(|(_, proof)| proof.map(LinkProof)),
            }),
        (user(), any::<bool>()).prop_map(|(member, owner)| ControlOp::Admit {
            member,
            role: if owner { Role::Owner } else { Role::Member },
        }),
        user().prop_map(|member| ControlOp::LegacyRemove { member }),
        (user(), any::<u64>()).prop_map(|(member, seen)| ControlOp::Remove { member, seen }),
        Just(ControlOp::Leave),
        name().prop_map(|name| ControlOp::Rename { name }),
        Just(ControlOp::Delete),
    ];
    let message = prop_oneof![
        ("\\PC{0,200}", proptest::option::of(page_ref()))
            .prop_map(|(text, reply_to)| MessageBody::Text { text, reply_to }),
        (page_ref(), "\\PC{0,200}").prop_map(|(target, text)| MessageBody::Edit { target, text }),
        page_ref().prop_map(|target| MessageBody::Retract { target }),
    ];
    let file = (
        name(),
        "[a-z]{1,10}/[a-z0-9.+-]{1,20}",
        0..=MAX_FILE_BYTES,
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        "\\PC{0,50}",
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..256)),
    )
        .prop_map(
            |(name, mime, size, blob, key, description, thumbnail)| FileBody {
                name,
                mime,
                size,
                blob: BlobId(blob),
                key: FileKey::from_bytes(key),
                description,
                thumbnail,
            },
        );
    prop_oneof![
        control.prop_map(Body::Control),
        message.prop_map(Body::Message),
        file.prop_map(Body::File),
        (any::<[u8; 32]>(), any::<bool>()).prop_map(|(blob, held)| Body::Holding(
            quire_core::blob::holders::HoldingBody {
                blob: BlobId(blob),
                held
            }
        )),
        name().prop_map(|display_name| Body::Profile(Profile { display_name })),
        keys().prop_map(Body::Keys),
    ]
}

fn keys() -> impl Strategy<Value = KeysBody> {
    let grant = (
        user(),
        proptest::collection::btree_set(proptest::option::of(any::<[u8; 16]>()), 0..4),
        any::<u8>(),
    )
        .prop_map(|(recipient, epochs, fill)| {
            let epochs: Vec<Option<KeyId>> = epochs.into_iter().map(|e| e.map(KeyId)).collect();
            Grant {
                recipient,
                sealed: vec![fill; Grant::sealed_len(epochs.len())],
                epochs,
            }
        });
    (
        proptest::option::of(any::<[u8; 16]>()),
        proptest::collection::vec(grant, 0..4),
    )
        .prop_map(|(new_epoch, mut grants)| {
            grants.sort_by_key(|g| g.recipient);
            grants.dedup_by_key(|g| g.recipient);
            KeysBody {
                new_epoch: new_epoch.map(KeyId),
                grants,
            }
        })
}

prop_compose! {
    fn invite()(
        room in any::<[u8; 32]>(),
        room_name in name(),
        secret in any::<[u8; 32]>(),
        id in any::<[u8; 16]>(),
        relays in proptest::collection::vec("/ip4/[0-9.]{7,15}/tcp/[0-9]{1,5}/ws", 0..=4),
        expires_at_ms in proptest::option::of(1u64..),
        auto_admit in any::<bool>(),
        link_secret in proptest::option::of(any::<[u8; 32]>()),
    ) -> Invite {
        Invite {
            room: RoomId(room),
            room_name,
            secret: RoomSecret::from_bytes(secret),
            inviter: identity(1).user_id(),
            id: InviteId(id),
            relays,
            expires_at_ms,
            auto_admit,
            link_secret,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn page_roundtrips(content in content(), signature in any::<[u8; 32]>()) {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&signature);
        let page = Page::from_parts(content, Signature::from_bytes(sig));
        let bytes = page.encode();
        prop_assert_eq!(page.encoded_len(), bytes.len());
        let decoded = Page::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.hash(), page.hash());
        prop_assert_eq!(decoded, page);
    }

    #[test]
    fn page_decoding_garbage_never_panics_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(page) = Page::decode(&bytes) {
            prop_assert_eq!(page.encode(), bytes);
        }
    }

    #[test]
    fn page_decoding_mutated_pages_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let page = written_pages(&identity(1), 2).pop().unwrap();
        let mut bytes = page.encode();
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        let _ = Page::decode(&bytes);
    }

    #[test]
    fn any_altered_byte_is_detected(index in any::<prop::sample::Index>(), xor in 1u8..) {
        let page = written_pages(&identity(1), 2).pop().unwrap();
        let mut bytes = page.encode();
        let at = index.index(bytes.len());
        bytes[at] ^= xor;
        // Either it no longer decodes, or its signature no longer verifies.
        if let Ok(altered) = Page::decode(&bytes) {
            prop_assert!(verify_signature(altered).is_err());
        }
    }

    #[test]
    fn page_serde_wraps_the_canonical_bytes(content in content()) {
        let page = Page::from_parts(content, Signature::from_bytes([5; 64]));
        let bytes = postcard::to_allocvec(&page).unwrap();
        let back: Page = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(back, page);
    }

    #[test]
    fn body_roundtrips(body in body()) {
        let bytes = body.encode();
        prop_assert_eq!(Body::decode(body.kind(), &bytes).unwrap(), body);
    }

    #[test]
    fn body_decoding_garbage_never_panics_and_is_canonical(kind in kind(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(body) = Body::decode(kind, &bytes) {
            prop_assert_eq!(body.kind(), kind);
            prop_assert_eq!(body.encode(), bytes);
        }
    }

    #[test]
    fn invite_roundtrips(invite in invite()) {
        let payload = invite.to_payload(&identity(1)).unwrap();
        prop_assert!(payload.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        prop_assert_eq!(Invite::parse(&payload, 0).unwrap(), invite);
    }

    #[test]
    fn invite_parsing_garbage_never_panics(text in "\\PC{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Invite::parse(&text, 0);
        use base64::Engine;
        let _ = Invite::parse(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes), 0);
    }
}

#[test]
fn largest_page_fits_the_page_cap() {
    let author = UserId::from_bytes([0; 32]);
    let refs = (0..MAX_REFS)
        .map(|i| PageRef {
            author: UserId::from_bytes([i as u8 + 1; 32]),
            seq: u64::MAX,
            hash: PageHash([0xff; 32]),
        })
        .collect();
    let content = PageContent {
        head: PageHead {
            book: BookId {
                room: RoomId([0xff; 32]),
                author,
            },
            seq: u64::MAX,
            prev: Some(PageHash([0xff; 32])),
        },
        refs,
        kind: PageKind::Other(0xff),
        meta: PageMeta {
            timestamp_ms: u64::MAX,
        },
        key: Some(KeyId([0xff; 16])),
        nonce: [0xff; 24],
        data: vec![0xff; MAX_DATA_BYTES],
    };
    let page = Page::from_parts(content, Signature::from_bytes([0xff; 64]));
    let bytes = page.encode();
    assert_eq!(page.encoded_len(), bytes.len());
    assert!(bytes.len() <= MAX_PAGE_BYTES, "{} bytes", bytes.len());
    assert_eq!(Page::decode(&bytes).unwrap(), page);
}

#[test]
fn oversized_data_and_too_many_refs_are_rejected_by_the_decoder() {
    let page = written_pages(&identity(1), 1).pop().unwrap();
    let mut content = page.content().clone();
    content.data = vec![0; MAX_DATA_BYTES + 1];
    let bytes = Page::from_parts(content, *page.signature()).encode();
    assert!(matches!(
        Page::decode(&bytes),
        Err(quire_core::DecodeError::TooLong {
            what: "page data",
            ..
        })
    ));

    let mut content = page.content().clone();
    content.refs = (0..=MAX_REFS)
        .map(|i| PageRef {
            author: UserId::from_bytes([i as u8 + 100; 32]),
            seq: 1,
            hash: PageHash([0; 32]),
        })
        .collect();
    let bytes = Page::from_parts(content, *page.signature()).encode();
    assert!(matches!(
        Page::decode(&bytes),
        Err(quire_core::DecodeError::TooLong {
            what: "page refs",
            ..
        })
    ));
}

#[test]
fn unsorted_refs_are_rejected() {
    let page = written_pages(&identity(1), 1).pop().unwrap();
    let mut content = page.content().clone();
    let r = |b| PageRef {
        author: UserId::from_bytes([b; 32]),
        seq: 0,
        hash: PageHash([0; 32]),
    };
    content.refs = vec![r(9), r(3)];
    let bytes = Page::from_parts(content, *page.signature()).encode();
    assert!(matches!(
        Page::decode(&bytes),
        Err(quire_core::DecodeError::Malformed {
            what: "page refs",
            ..
        })
    ));
}
