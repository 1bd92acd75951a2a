//! A book accepts pages in any order, reports what it still needs, and returns exactly what the
//! driver must persist.

use quire_core::book::{
    AppendError, Book, FORK_WALK_PAGES, InsertStatus, Inserted, MAX_ABOVE_FORK_PAGES,
    MAX_PENDING_PAGES, ProofOutcome,
};
use quire_core::page::{BookId, PageRef};
use quire_core::validate::{ProofError, ValidationError, VerifiedPage, detect_equivocation};

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
    assert_eq!(book.len(), 2, "pages from the fork on no longer count");
    assert_eq!(book.equivocation(), Some(&proof));
    assert_eq!(
        book.above_fork(0..10).count(),
        3,
        "the cut pages and the other branch's page are held above the fork"
    );
    assert_eq!(
        book.insert(honest[3].clone()).unwrap().status,
        InsertStatus::Duplicate
    );
    // Restoring from storage keeps the verdict; stored pages past it are held above.
    let restored = Book::restore(book.id(), honest.clone(), Some(proof)).unwrap();
    assert_eq!(restored.len(), 2);
    assert!(restored.equivocation().is_some());
    assert_eq!(restored.above_fork(0..10).count(), 3);
}

#[test]
fn a_frozen_book_keeps_only_a_whole_chain_from_its_fork_point() {
    let alice = identity(1);
    let honest = written_pages(&alice, 5);
    let mut other = book_of(&alice);
    for page in &honest[..2] {
        other.insert(page.clone()).unwrap();
    }
    let forked: Vec<VerifiedPage> = (0..3)
        .map(|i| {
            other
                .append(
                    &alice,
                    &room_key(),
                    &text(&format!("the other story {i}")),
                    vec![],
                    Default::default(),
                    nonce(20 + i),
                )
                .unwrap()
        })
        .collect();
    let mut book = reader_book(1);
    for page in &honest {
        book.insert(page.clone()).unwrap();
    }
    book.insert(forked[0].clone()).unwrap();
    assert_eq!(book.len(), 2);
    let honest_tip = honest[4].page_ref();
    let forked_tip = forked[2].page_ref();
    assert!(
        book.chain_to(&honest_tip).is_some(),
        "held since before the cut"
    );
    assert!(
        book.chain_to(&forked_tip).is_none(),
        "pages 3 and 4 of the other branch are not held"
    );
    assert_eq!(
        book.keep(Some(&forked_tip)),
        None,
        "nothing to keep it from"
    );
    assert_eq!(book.len(), 2);

    // The other branch arrives past the cut: held, not counted.
    for page in &forked[1..] {
        assert_eq!(
            book.insert(page.clone()).unwrap().status,
            InsertStatus::AboveFork
        );
    }
    assert_eq!(book.len(), 2);
    assert!(book.descends(&forked_tip, &forked[0].page_ref()));
    assert!(!book.descends(&forked_tip, &honest[2].page_ref()));

    // Keeping one branch, then the other, then nothing: each time the first changed seq.
    assert_eq!(book.keep(Some(&honest[3].page_ref())), Some(2));
    assert_eq!(book.len(), 4);
    assert_eq!(
        book.keep(Some(&honest_tip)),
        Some(4),
        "extended by one page"
    );
    assert_eq!(book.keep(Some(&honest_tip)), None, "already kept");
    assert_eq!(book.keep(Some(&forked_tip)), Some(2));
    assert_eq!(book.get(4).map(|p| p.hash()), Some(forked[2].hash()));
    assert_eq!(book.keep(None), Some(2));
    assert_eq!(book.len(), 2);
    assert_eq!(
        book.above_fork(0..10).count(),
        6,
        "every page is still held"
    );
    assert!(matches!(
        book.append(
            &alice,
            &room_key(),
            &text("more"),
            vec![],
            Default::default(),
            nonce(40)
        ),
        Err(AppendError::Frozen(2))
    ));
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

/// `common` pages, then two branches of `left` and `right` pages from seq `common` on.
fn forked(common: u64, left: u64, right: u64) -> (Vec<VerifiedPage>, Vec<VerifiedPage>) {
    let alice = identity(1);
    let mut book = book_of(&alice);
    let write = |book: &mut Book, label: &str, seq: u64| {
        book.append(
            &alice,
            &room_key(),
            &text(&format!("{label} {seq}")),
            vec![],
            Default::default(),
            nonce(seq),
        )
        .unwrap()
    };
    let mut shared = Vec::new();
    for seq in 0..common {
        shared.push(write(&mut book, "common", seq));
    }
    let branch = |label: &str, len: u64| {
        let mut book = book.clone();
        let mut pages = shared.clone();
        for seq in common..common + len {
            pages.push(write(&mut book, label, seq));
        }
        pages
    };
    let left = branch("left", left);
    let right = branch("right", right);
    (left, right)
}

fn holding(pages: &[VerifiedPage]) -> Book {
    let mut book = reader_book(1);
    for page in pages {
        book.insert(page.clone()).unwrap();
    }
    book
}

#[test]
fn a_proof_far_above_the_fork_is_walked_down_to_it_round_by_round() {
    let (left, right) = forked(5, 30, 30);
    let mut book = holding(&left);
    // Two peers compare their tips: the proof is at 34, far above the fork at 5.
    let inserted = book.insert(right[34].clone()).unwrap();
    assert!(matches!(
        inserted.status,
        InsertStatus::Equivocation {
            truncated_from: 34,
            ..
        }
    ));
    let proof = book.equivocation().unwrap().clone();
    assert!(!proof.shares_predecessor(), "the branches differ below 34");
    assert!(!proof.is_fork_point(&book));
    assert_eq!(book.len(), 34, "cut provisionally where compared");

    // Round 1: the 16 seqs below the proof. The other branch's pages there all differ from
    // ours; the lowest is a lower proof, the rest are above it now.
    assert_eq!(book.fork_walk(), Some(18..34));
    let mut statuses = Vec::new();
    for page in &right[18..34] {
        statuses.push(book.insert(page.clone()));
    }
    assert!(matches!(
        statuses[0],
        Ok(Inserted {
            status: InsertStatus::Equivocation {
                truncated_from: 18,
                ..
            },
            ..
        })
    ));
    assert!(statuses[1..].iter().all(|s| matches!(
        s,
        Ok(Inserted {
            status: InsertStatus::AboveFork,
            ..
        })
    )));

    // Round 2 reaches the fork: below it the branches are the same pages.
    assert_eq!(book.fork_walk(), Some(2..18));
    for page in &right[2..18] {
        let _ = book.insert(page.clone());
    }
    let proof = book.equivocation().unwrap();
    assert_eq!(proof.seq(), 5);
    assert!(proof.shares_predecessor());
    assert!(proof.is_fork_point(&book));
    assert_eq!(book.fork_walk(), None, "the walk is over");
    assert_eq!(book.len(), 5);
    assert_eq!(book.range(0..5), &left[..5]);

    // A peer on the other branch that compared elsewhere ends with the same proof.
    let mut other = holding(&right[..20]);
    other.insert(left[12].clone()).unwrap();
    while let Some(walk) = other.fork_walk() {
        for page in &left[walk.start as usize..walk.end as usize] {
            let _ = other.insert(page.clone());
        }
    }
    assert_eq!(other.equivocation(), book.equivocation());
    assert_eq!(other.range(0..other.len()), book.range(0..book.len()));
}

#[test]
fn a_walk_round_asks_for_at_most_sixteen_pages() {
    let (left, right) = forked(0, 60, 60);
    let mut book = holding(&left);
    book.insert(right[59].clone()).unwrap();
    let mut rounds = 0;
    while let Some(walk) = book.fork_walk() {
        assert!(walk.end - walk.start <= FORK_WALK_PAGES);
        assert_eq!(walk.end, book.equivocation().unwrap().seq());
        // The peer answers with the lowest page of the round first, as it serves ranges.
        for page in &right[walk.start as usize..walk.end as usize] {
            let _ = book.insert(page.clone());
        }
        rounds += 1;
    }
    assert_eq!(
        rounds, 4,
        "59 seqs below the first proof: 16 + 16 + 16 + 11"
    );
    assert_eq!(book.equivocation().unwrap().seq(), 0);
    assert!(book.is_empty());
}

#[test]
fn a_lower_proof_replaces_a_higher_one_and_never_the_reverse() {
    let (left, right) = forked(3, 10, 10);
    let proof_at = |seq: usize| detect_equivocation(&left[seq], &right[seq]).unwrap();
    let mut book = holding(&left);
    assert_eq!(
        book.accept_proof(proof_at(9)),
        Ok(ProofOutcome::New { truncated_from: 9 })
    );
    assert_eq!(book.len(), 9);
    assert_eq!(
        book.accept_proof(proof_at(9)),
        Ok(ProofOutcome::AlreadyKnown)
    );
    assert_eq!(
        book.accept_proof(proof_at(6)),
        Ok(ProofOutcome::Lower {
            replaced: 9,
            truncated_from: 6
        })
    );
    assert_eq!(book.len(), 6);
    assert_eq!(
        book.accept_proof(proof_at(8)),
        Ok(ProofOutcome::Higher { held: 6 })
    );
    assert_eq!(book.equivocation(), Some(&proof_at(6)));
    assert_eq!(
        book.accept_proof(proof_at(3)),
        Ok(ProofOutcome::Lower {
            replaced: 6,
            truncated_from: 3
        })
    );
    assert!(book.fork_walk().is_none(), "3 is the fork point");
    // Another author's proof is not about this book.
    assert!(matches!(
        reader_book(2).accept_proof(proof_at(3)),
        Err(ProofError::WrongBook { .. })
    ));
}

#[test]
fn a_settled_proof_over_another_held_branch_keeps_walking() {
    // The proof's two pages share a predecessor, but the page this book holds below them is
    // a third branch's: the author forked lower still.
    let (left, right) = forked(4, 6, 6);
    let (third, _) = forked(2, 8, 1);
    let mut book = holding(&third[..6]);
    assert_eq!(
        book.accept_proof(detect_equivocation(&left[4], &right[4]).unwrap()),
        Ok(ProofOutcome::New { truncated_from: 4 })
    );
    let proof = book.equivocation().unwrap().clone();
    assert!(proof.shares_predecessor());
    assert!(
        !proof.is_fork_point(&book),
        "the page held at 3 is not their predecessor"
    );
    assert_eq!(book.fork_walk(), Some(0..4));
    // The walk finds the third branch's fork at 2.
    for page in &left[0..4] {
        let _ = book.insert(page.clone());
    }
    assert_eq!(book.equivocation().unwrap().seq(), 2);
    assert_eq!(book.fork_walk(), None);
}

#[test]
fn pages_held_above_a_fork_are_capped_lowest_kept_first() {
    let alice = identity(1);
    let total = MAX_ABOVE_FORK_PAGES as u64 + 10;
    let honest = written_pages(&alice, total);
    let mut other = book_of(&alice);
    other.insert(honest[0].clone()).unwrap();
    let forked = other
        .append(
            &alice,
            &room_key(),
            &text("the other story"),
            vec![],
            Default::default(),
            nonce(5_000),
        )
        .unwrap();
    let mut book = reader_book(1);
    for page in &honest {
        book.insert(page.clone()).unwrap();
    }
    book.insert(forked).unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(book.above_fork_len(), MAX_ABOVE_FORK_PAGES, "capped");
    assert_eq!(
        book.above_fork(1..2).count(),
        2,
        "both pages at the fork stay"
    );
    assert_eq!(
        book.above_fork(total - 10..total).count(),
        0,
        "the highest went first"
    );
    assert_eq!(
        book.insert(honest[total as usize - 1].clone())
            .unwrap()
            .status,
        InsertStatus::Dropped,
        "a page above everything held is not taken when full"
    );
    assert_eq!(book.above_fork_len(), MAX_ABOVE_FORK_PAGES);
}
