//! A book accepts pages in any order, reports what it still needs, and returns exactly what the
//! driver must persist.

use quire_core::book::{AppendError, Book, InsertStatus, MAX_PENDING_PAGES};
use quire_core::page::{BookId, PageRef};
use quire_core::validate::{ValidationError, VerifiedPage};

use crate::fixtures::{ROOM, book_of, identity, nonce, room_key, text, written_pages};

fn reader_book(author: u8) -> Book {
    Book::new(BookId {
        room: ROOM,
        author: identity(author).user_id(),
    })
}

#[test]
fn append_chains_pages_and_reads_them_back() {
    let alice = identity(1);
    let bob = identity(2);
    let mut book = book_of(&alice);
    let bob_ref = written_pages(&bob, 1)[0].page_ref();
    let first = book
        .append(
            &alice,
            &room_key(),
            &text("a"),
            vec![bob_ref, bob_ref],
            Default::default(),
            nonce(0),
        )
        .unwrap();
    let second = book
        .append(
            &alice,
            &room_key(),
            &text("b"),
            vec![],
            Default::default(),
            nonce(1),
        )
        .unwrap();
    assert_eq!(first.refs(), &[bob_ref], "duplicate refs merged");
    assert_eq!(second.head().prev, Some(first.hash()));
    assert_eq!(book.len(), 2);
    assert_eq!(book.tip(), Some(second.page_ref()));
    assert_eq!(book.get(0), Some(&first));
    assert_eq!(book.range(1..10), &[second]);
    assert!(book.range(5..9).is_empty());
}

#[test]
fn only_the_author_appends() {
    let mut book = book_of(&identity(1));
    assert!(matches!(
        book.append(
            &identity(2),
            &room_key(),
            &text("x"),
            vec![],
            Default::default(),
            nonce(0)
        ),
        Err(AppendError::NotAuthor { .. })
    ));
}

#[test]
fn out_of_order_pages_are_held_and_released_in_order() {
    let pages = written_pages(&identity(1), 6);
    let mut book = reader_book(1);
    for seq in [5usize, 2, 3] {
        let inserted = book.insert(pages[seq].clone()).unwrap();
        assert_eq!(inserted.status, InsertStatus::Held);
        assert!(inserted.stored.is_empty(), "nothing to persist yet");
    }
    assert_eq!(book.gaps(), vec![0..2, 4..5]);
    assert_eq!(book.missing_below(8), vec![0..2, 4..5, 6..8]);

    let inserted = book.insert(pages[0].clone()).unwrap();
    assert_eq!(inserted.stored, vec![pages[0].clone()]);
    let inserted = book.insert(pages[1].clone()).unwrap();
    assert_eq!(inserted.status, InsertStatus::Stored);
    assert_eq!(
        inserted.stored,
        pages[1..4].to_vec(),
        "held pages released in order"
    );
    assert_eq!(book.gaps(), vec![4..5]);
    let inserted = book.insert(pages[4].clone()).unwrap();
    assert_eq!(inserted.stored, pages[4..6].to_vec());
    assert_eq!(book.len(), 6);
    assert!(book.gaps().is_empty());
    assert_eq!(
        book.insert(pages[2].clone()).unwrap().status,
        InsertStatus::Duplicate
    );
}

#[test]
fn a_page_from_another_book_is_refused() {
    let pages = written_pages(&identity(1), 1);
    let mut book = reader_book(2);
    assert!(matches!(
        book.insert(pages[0].clone()),
        Err(ValidationError::WrongBook { .. })
    ));
}

#[test]
fn the_out_of_order_buffer_is_bounded() {
    let pages = written_pages(&identity(1), MAX_PENDING_PAGES as u64 + 3);
    let mut book = reader_book(1);
    for page in &pages[2..MAX_PENDING_PAGES + 2] {
        assert_eq!(
            book.insert(page.clone()).unwrap().status,
            InsertStatus::Held
        );
    }
    assert_eq!(book.pending_len(), MAX_PENDING_PAGES);
    // Further ahead than everything held: dropped.
    let last = pages.last().unwrap().clone();
    assert_eq!(book.insert(last).unwrap().status, InsertStatus::Dropped);
    // Closer than the furthest held: kept, the furthest is evicted.
    assert_eq!(
        book.insert(pages[1].clone()).unwrap().status,
        InsertStatus::Held
    );
    assert_eq!(book.pending_len(), MAX_PENDING_PAGES);
    let released = book.insert(pages[0].clone()).unwrap().stored;
    assert_eq!(
        released.len(),
        MAX_PENDING_PAGES + 1,
        "0 and the held 1..=N released; N+1 was evicted"
    );
    assert_eq!(book.len(), MAX_PENDING_PAGES as u64 + 1);
}

#[test]
fn an_equivocating_author_is_caught_and_the_book_frozen() {
    let alice = identity(1);
    let honest = written_pages(&alice, 4);
    // Alice writes a different page 2 on another device.
    let mut other = book_of(&alice);
    for page in &honest[..2] {
        let _ = other.insert(page.clone());
    }
    let fork = other
        .append(
            &alice,
            &room_key(),
            &text("the other story"),
            vec![],
            Default::default(),
            nonce(9),
        )
        .unwrap();

    let mut book = reader_book(1);
    for page in &honest {
        book.insert(page.clone()).unwrap();
    }
    let inserted = book.insert(fork.clone()).unwrap();
    let InsertStatus::Equivocation {
        proof,
        truncated_from,
    } = inserted.status
    else {
        panic!("expected equivocation, got {:?}", inserted.status);
    };
    assert_eq!(truncated_from, 2);
    assert_eq!(proof.author(), alice.user_id());
    let (a, b) = proof.pages();
    assert!([a.hash(), b.hash()].contains(&honest[2].hash()));
    assert!([a.hash(), b.hash()].contains(&fork.hash()));
    assert_eq!(book.len(), 2, "pages from the fork on are dropped");
    assert_eq!(book.equivocation(), Some(&proof));
    assert!(matches!(
        book.insert(honest[3].clone()),
        Err(ValidationError::Equivocated {
            frozen_at: 2,
            seq: 3,
            ..
        })
    ));
    // Restoring from storage keeps the verdict.
    let restored = Book::restore(book.id(), book.range(0..2).to_vec(), Some(proof)).unwrap();
    assert_eq!(restored.len(), 2);
    assert!(restored.equivocation().is_some());
}

#[test]
fn a_device_behind_its_own_book_refuses_to_fork_it() {
    let alice = identity(1);
    let pages = written_pages(&alice, 3);
    let mut restored_device = book_of(&alice);
    restored_device.insert(pages[2].clone()).unwrap();
    assert_eq!(
        restored_device.append(
            &alice,
            &room_key(),
            &text("x"),
            vec![],
            Default::default(),
            nonce(0)
        ),
        Err(AppendError::Behind { len: 0, known: 2 })
    );
}

#[test]
fn restore_rechecks_the_chain() {
    let pages = written_pages(&identity(1), 3);
    let id = reader_book(1).id();
    let book = Book::restore(id, pages.clone(), None).unwrap();
    assert_eq!(book.tip(), Some(pages[2].page_ref()));
    let broken: Vec<VerifiedPage> = vec![pages[0].clone(), pages[2].clone()];
    assert_eq!(
        Book::restore(id, broken, None).unwrap_err(),
        ValidationError::SeqGap {
            expected: 1,
            found: 2
        }
    );
    let _: Option<PageRef> = book.tip();
}
