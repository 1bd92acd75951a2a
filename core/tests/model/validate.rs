//! Each rejection names precisely what is wrong with a page.

use quire_core::crypto::RoomSecret;
use quire_core::page::{MAX_PAGE_BYTES, Page, PageHash, RoomId};
use quire_core::validate::{
    Equivocation, ProofError, ValidationError, check_equivocation, check_successor, decode,
    detect_equivocation, open, verify_signature, verify_signatures,
};

use crate::fixtures::{book_of, identity, nonce, room_key, text, written_pages};

#[test]
fn a_page_signed_by_someone_else_has_a_bad_signature() {
    let alice = identity(1);
    let mallory = identity(66);
    let genuine = written_pages(&alice, 1).pop().unwrap();
    let forged = Page::sign(genuine.content().clone(), &mallory);
    assert_eq!(
        verify_signature(forged),
        Err(ValidationError::BadSignature {
            author: alice.user_id(),
            seq: 0
        })
    );
}

#[test]
fn seq_gap_names_expected_and_found() {
    let pages = written_pages(&identity(1), 7);
    let tip = pages[3].page_ref();
    let error = check_successor(Some(&tip), &pages[6]).unwrap_err();
    assert_eq!(
        error,
        ValidationError::SeqGap {
            expected: 4,
            found: 6
        }
    );
    assert_eq!(error.to_string(), "seq gap: expected seq 4, found 6");
    assert!(check_successor(Some(&tip), &pages[4]).is_ok());
    assert!(check_successor(None, &pages[0]).is_ok());
}

#[test]
fn wrong_prev_hash_is_reported() {
    let pages = written_pages(&identity(1), 2);
    let other_branch = written_pages(&identity(1), 1);
    // Same author, same seq 0, but a different page: page 1 does not chain onto it.
    let mut forked = pages[0].content().clone();
    forked.meta.timestamp_ms += 1;
    let forked = Page::sign(forked, &identity(1));
    assert_ne!(forked.hash(), other_branch[0].hash());
    let error = check_successor(Some(&forked.page_ref()), &pages[1]).unwrap_err();
    assert_eq!(
        error,
        ValidationError::WrongPrev {
            seq: 1,
            expected: Some(forked.hash()),
            found: Some(pages[0].hash())
        }
    );
}

#[test]
fn oversized_bytes_are_refused_before_decoding() {
    let bytes = vec![0u8; MAX_PAGE_BYTES + 1];
    assert_eq!(
        decode(&bytes),
        Err(ValidationError::Oversized {
            len: MAX_PAGE_BYTES + 1,
            max: MAX_PAGE_BYTES
        })
    );
    assert!(matches!(
        decode(&[1, 2, 3]),
        Err(ValidationError::Malformed(_))
    ));
}

#[test]
fn decrypt_failure_is_reported_with_its_page() {
    let page = written_pages(&identity(1), 1).pop().unwrap();
    let wrong = RoomSecret::from_bytes([1; 32]).page_key();
    assert!(matches!(
        open(&page, &wrong),
        Err(ValidationError::Decrypt { seq: 0, .. })
    ));
    assert_eq!(open(&page, &room_key()).unwrap(), text("message 0"));
}

#[test]
fn batch_verification_rejects_exactly_the_bad_pages() {
    let mut pages: Vec<Page> = written_pages(&identity(1), 20)
        .into_iter()
        .map(|p| p.into_page())
        .collect();
    pages.extend(
        written_pages(&identity(2), 5)
            .into_iter()
            .map(|p| p.into_page()),
    );
    let good = verify_signatures(pages.clone());
    assert!(good.iter().all(Result::is_ok));

    for bad_at in [3usize, 21] {
        let mut batch = pages.clone();
        batch[bad_at] = Page::sign(batch[bad_at].content().clone(), &identity(66));
        let results = verify_signatures(batch);
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_err(), i == bad_at, "page {i}");
        }
    }
}

#[test]
fn equivocation_is_detected_and_provable() {
    let alice = identity(1);
    let mut a = book_of(&alice);
    let mut b = book_of(&alice);
    let first = a
        .append(
            &alice,
            &room_key(),
            &text("yes"),
            vec![],
            Default::default(),
            nonce(0),
        )
        .unwrap();
    let second = b
        .append(
            &alice,
            &room_key(),
            &text("no"),
            vec![],
            Default::default(),
            nonce(0),
        )
        .unwrap();
    let proof = detect_equivocation(&first, &second).unwrap();
    assert_eq!(
        proof,
        detect_equivocation(&second, &first).unwrap(),
        "order-independent"
    );
    assert_eq!(proof.author(), alice.user_id());
    assert_eq!(proof.seq(), 0);
    assert!(detect_equivocation(&first, &first).is_none());
    // A peer receiving the proof re-checks it.
    let (p, q) = proof.pages();
    assert_eq!(
        Equivocation::verify(p.clone(), q.clone()),
        Ok(proof.clone())
    );
    // A "proof" with a forged page is not one.
    let forged = Page::sign(q.content().clone(), &identity(66));
    assert_eq!(
        Equivocation::verify(p.clone(), forged),
        Err(ProofError::BadSignature {
            author: alice.user_id(),
            seq: 0
        })
    );
    let _ = PageHash([0; 32]);
}

#[test]
fn a_forged_proof_is_refused_with_what_is_wrong() {
    let alice = identity(1);
    let pages = written_pages(&alice, 2);
    let bobs = written_pages(&identity(2), 1);
    let (a0, a1) = (pages[0].page().clone(), pages[1].page().clone());
    let mut other = a0.content().clone();
    other.meta.timestamp_ms += 1;
    let fork0 = Page::sign(other.clone(), &alice);

    assert_eq!(
        Equivocation::verify(a0.clone(), bobs[0].page().clone()),
        Err(ProofError::WrongAuthor {
            first: alice.user_id(),
            second: identity(2).user_id()
        })
    );
    let mut elsewhere = other.clone();
    elsewhere.head.book.room = RoomId([0x99; 32]);
    assert_eq!(
        Equivocation::verify(a0.clone(), Page::sign(elsewhere, &alice)),
        Err(ProofError::WrongRoom {
            first: a0.book().room,
            second: RoomId([0x99; 32])
        })
    );
    assert_eq!(
        Equivocation::verify(a0.clone(), a1),
        Err(ProofError::DifferentSeq {
            first: 0,
            second: 1
        })
    );
    assert_eq!(
        Equivocation::verify(a0.clone(), a0.clone()),
        Err(ProofError::SamePage { seq: 0 })
    );
    assert_eq!(
        Equivocation::verify(a0.clone(), Page::sign(other, &identity(66))),
        Err(ProofError::BadSignature {
            author: alice.user_id(),
            seq: 0
        })
    );
    let proof = Equivocation::verify(fork0.clone(), a0.clone()).unwrap();
    assert_eq!(
        check_equivocation(&pages[0], &verify_signature(fork0).unwrap()),
        Ok(proof.clone())
    );
    assert!(
        proof.shares_predecessor(),
        "two first pages share the empty predecessor"
    );
    assert_eq!(proof.predecessor(), None);
    assert_eq!(
        ProofError::SamePage { seq: 3 }.to_string(),
        "both pages are the same page 3"
    );
}

#[test]
fn a_proof_marks_the_fork_point_only_if_both_pages_follow_one_predecessor() {
    let alice = identity(1);
    let pages = written_pages(&alice, 3);
    // Another page 1 after the same page 0: the fork point.
    let mut at_one = pages[1].content().clone();
    at_one.meta.timestamp_ms += 7;
    let at_one = verify_signature(Page::sign(at_one, &alice)).unwrap();
    let fork_point = check_equivocation(&pages[1], &at_one).unwrap();
    assert!(fork_point.shares_predecessor());
    assert_eq!(fork_point.predecessor(), Some(pages[0].page_ref()));
    // A page 2 after that other page 1: it conflicts with page 2 but follows another page.
    let mut at_two = pages[2].content().clone();
    at_two.head.prev = Some(at_one.hash());
    let at_two = verify_signature(Page::sign(at_two, &alice)).unwrap();
    let above = check_equivocation(&pages[2], &at_two).unwrap();
    assert!(!above.shares_predecessor());
    assert_eq!(above.predecessor(), None);

    let mut book = book_of(&alice);
    assert!(
        fork_point.is_fork_point(&book),
        "nothing held below: as far as it can tell"
    );
    for page in &pages {
        book.insert(page.clone()).unwrap();
    }
    assert!(fork_point.is_fork_point(&book));
    assert!(!above.is_fork_point(&book));
}
