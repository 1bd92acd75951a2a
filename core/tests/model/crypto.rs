//! Page bodies are readable by room members only, yet verifiable by anyone.

use quire_core::blob::{BlobId, FileKey};
use quire_core::crypto::{CryptoError, MAX_PLAINTEXT_BYTES, RoomSecret};
use quire_core::page::{Body, FileBody, Page};
use quire_core::validate::verify_signature;

use crate::fixtures::{book_of, identity, nonce, room_key, text, written_pages};

#[test]
fn members_read_what_was_written() {
    let page = written_pages(&identity(1), 3).pop().unwrap();
    assert_eq!(room_key().open_body(&page).unwrap(), text("message 2"));
}

#[test]
fn another_room_key_cannot_read_but_can_still_verify() {
    let page = written_pages(&identity(1), 1).pop().unwrap();
    let outsider = RoomSecret::from_bytes([0x99; 32]).page_key();
    assert_eq!(outsider.open_body(&page), Err(CryptoError::DecryptFailed));
    // A forwarder without the key checks the signature over the ciphertext.
    let forwarded = Page::decode(&page.encode()).unwrap();
    assert!(verify_signature(forwarded).is_ok());
}

#[test]
fn ciphertext_moved_to_another_position_does_not_open() {
    let pages = written_pages(&identity(1), 2);
    let mut content = pages[1].content().clone();
    content.data = pages[0].data().to_vec();
    content.nonce = pages[0].content().nonce;
    let transplanted = Page::sign(content, &identity(1));
    assert_eq!(
        room_key().open_body(&transplanted),
        Err(CryptoError::DecryptFailed)
    );
}

#[test]
fn same_plaintext_under_different_nonces_differs() {
    let alice = identity(1);
    let mut a = book_of(&alice);
    let mut b = book_of(&alice);
    let meta = Default::default();
    let p1 = a
        .append(&alice, &room_key(), &text("same"), vec![], meta, nonce(1))
        .unwrap();
    let p2 = b
        .append(&alice, &room_key(), &text("same"), vec![], meta, nonce(2))
        .unwrap();
    assert_ne!(p1.data(), p2.data());
}

#[test]
fn bodies_above_the_cap_are_refused() {
    let alice = identity(1);
    // A thumbnail far over its cap: the cap on what a page may seal still stops it.
    let body = Body::File(FileBody {
        name: "big.png".into(),
        mime: "image/png".into(),
        size: 1,
        blob: BlobId([1; 32]),
        key: FileKey::from_bytes([2; 32]),
        description: String::new(),
        thumbnail: Some(vec![0; MAX_PLAINTEXT_BYTES]),
    });
    let result = book_of(&alice).append(
        &alice,
        &room_key(),
        &body,
        vec![],
        Default::default(),
        nonce(0),
    );
    assert!(matches!(
        result,
        Err(quire_core::book::AppendError::Seal(
            CryptoError::TooLarge { .. }
        ))
    ));
}

#[test]
fn both_sides_of_a_direct_room_derive_the_same_secret_and_nobody_else_can() {
    use quire_core::crypto::direct_room_secret;
    let alice = identity(1);
    let bob = identity(2);
    let carol = identity(3);
    let ab = direct_room_secret(&alice, &bob.user_id()).unwrap();
    assert_eq!(ab, direct_room_secret(&bob, &alice.user_id()).unwrap());
    assert_ne!(ab, direct_room_secret(&carol, &alice.user_id()).unwrap());
    assert_ne!(ab, direct_room_secret(&alice, &carol.user_id()).unwrap());
    // A small-order "key" (the identity point) is refused instead of giving a guessable secret.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    assert!(
        direct_room_secret(
            &alice,
            &quire_core::identity::UserId::from_bytes(identity_point)
        )
        .is_err()
    );
}

/// Secrets never reach logs or panic messages: what `Debug` prints of them holds none of their
/// bytes, nor of the keys derived from them.
#[test]
fn secrets_and_derived_keys_print_none_of_their_bytes() {
    use quire_core::crypto::KeyAgreement;
    let bytes = [0xa7u8; 32];
    let secret = RoomSecret::from_bytes(bytes);
    let me = identity(1);
    let plain = format!("{:?}", &bytes[..]);
    let leaks = |printed: &str| printed.contains("167, 167") || printed.contains("a7a7");
    assert!(leaks(&plain), "the check catches the bytes printed plainly");
    assert_eq!(format!("{secret:?}"), "RoomSecret(..)");
    assert_eq!(format!("{:?}", secret.page_key()), "PageKey(..)");
    assert_eq!(format!("{:?}", secret.epoch_key()), "PageKey(..)");
    // Only the public user id of a key agreement's owner is shown.
    let agreement = format!("{:?}", KeyAgreement::of(&me));
    assert_eq!(agreement, format!("KeyAgreement({:?})", me.user_id()));
    assert!(!leaks(&agreement));
}
