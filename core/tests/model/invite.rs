//! Invite links survive copy-paste, and damage or tampering is reported clearly.

use quire_core::crypto::RoomSecret;
use quire_core::invite::{Invite, InviteError, link_proof};
use quire_core::page::InviteId;

use crate::fixtures::{ROOM, identity};

fn invite(expires_at_ms: Option<u64>) -> Invite {
    Invite {
        room: ROOM,
        room_name: "Book club".into(),
        secret: RoomSecret::from_bytes([0x4b; 32]),
        inviter: identity(1).user_id(),
        id: InviteId([7; 16]),
        relays: vec!["/ip4/192.0.2.10/tcp/8081/ws".into()],
        expires_at_ms,
        auto_admit: false,
        link_secret: None,
    }
}

#[test]
fn a_link_opens_to_the_same_invite() {
    let link = invite(None)
        .to_link("http://192.0.2.10:8080/", &identity(1))
        .unwrap();
    assert!(link.starts_with("http://192.0.2.10:8080/#/join/"));
    assert_eq!(Invite::parse(&link, 5).unwrap(), invite(None));
    let fragment = &link[link.find('#').unwrap()..];
    assert_eq!(Invite::parse(fragment, 5).unwrap(), invite(None));
}

#[test]
fn an_expired_invite_is_refused() {
    let payload = invite(Some(1_000)).to_payload(&identity(1)).unwrap();
    assert!(Invite::parse(&payload, 999).is_ok());
    assert_eq!(
        Invite::parse(&payload, 1_000),
        Err(InviteError::Expired {
            expires_at_ms: 1_000,
            now_ms: 1_000
        })
    );
}

#[test]
fn a_truncated_link_says_so() {
    let payload = invite(None).to_payload(&identity(1)).unwrap();
    for cut in [1, 2, 3, 10, payload.len() / 2, payload.len() - 1] {
        assert_eq!(
            Invite::parse(&payload[..payload.len() - cut], 0),
            Err(InviteError::Truncated),
            "cut {cut}"
        );
    }
}

#[test]
fn a_tampered_link_is_refused() {
    let payload = invite(None).to_payload(&identity(1)).unwrap();
    let mut any_tampered = 0;
    for at in 0..payload.len() {
        let mut chars: Vec<char> = payload.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let altered: String = chars.into_iter().collect();
        let result = Invite::parse(&altered, 0);
        assert!(result.is_err(), "change at {at} went unnoticed");
        any_tampered += usize::from(result == Err(InviteError::Tampered));
    }
    assert!(any_tampered > payload.len() / 2);
}

#[test]
fn only_the_inviter_signs() {
    assert_eq!(
        invite(None).to_payload(&identity(2)),
        Err(InviteError::NotInviter)
    );
}

#[test]
fn junk_is_not_an_invite() {
    assert_eq!(
        Invite::parse("hello world!", 0),
        Err(InviteError::NotAnInvite)
    );
    assert!(matches!(
        Invite::parse(&"A".repeat(5000), 0),
        Err(InviteError::TooLong { .. })
    ));
}

#[test]
fn a_links_secret_survives_the_link_and_proves_holding_it_for_one_requester_only() {
    let mut with_secret = invite(None);
    with_secret.link_secret = Some([0x5e; 32]);
    let link = with_secret
        .to_link("http://192.0.2.10:8080/", &identity(1))
        .unwrap();
    let opened = Invite::parse(&link, 5).unwrap();
    assert_eq!(opened, with_secret);
    let (bo, cy) = (identity(2).user_id(), identity(3).user_id());
    let proof = opened.proof_for(&bo).unwrap();
    assert_eq!(
        proof,
        link_proof(&[0x5e; 32], &ROOM, &bo),
        "the owner checks it"
    );
    assert_ne!(Some(proof), opened.proof_for(&cy), "bound to the requester");
    assert_ne!(
        proof,
        link_proof(&[0x5f; 32], &ROOM, &bo),
        "and to the link"
    );
    assert_ne!(
        proof,
        link_proof(&[0x5e; 32], &quire_core::page::RoomId([1; 32]), &bo),
        "and to the room"
    );
    // A link made before links had a secret still opens, and proves nothing.
    let old = invite(None).to_payload(&identity(1)).unwrap();
    let old = Invite::parse(&old, 5).unwrap();
    assert_eq!(old.link_secret, None);
    assert_eq!(old.proof_for(&bo), None);
    assert!(link.len() < 2048, "still a link every app handles");
}

#[test]
fn the_largest_invite_is_still_a_link_every_app_handles() {
    let mut largest = invite(Some(u64::MAX - 1));
    largest.room_name = "山".repeat(85);
    assert!(largest.room_name.len() <= quire_core::page::body::MAX_NAME_BYTES);
    largest.relays = (0..quire_core::invite::MAX_RELAY_ADDRS)
        .map(|i| {
            format!(
                "/dns/{}",
                char::from(b'a' + i as u8).to_string().repeat(251)
            )
        })
        .collect();
    assert!(largest.relays.iter().all(|a| a.len() == 256));
    largest.auto_admit = true;
    largest.link_secret = Some([1; 32]);
    let payload = largest.to_payload(&identity(1)).unwrap();
    assert!(
        payload.len() <= quire_core::invite::MAX_PAYLOAD_CHARS,
        "{}",
        payload.len()
    );
    assert_eq!(Invite::parse(&payload, 0).unwrap(), largest);
}
