//! Invite links an owner makes: how long they work, whether they let in one person or anyone,
//! and the auto-admitting ones this device keeps until they expire, are used up or revoked.
//!
//! The expiry is signed into the link, so the joiner's device refuses an expired link by itself;
//! the admitting device checks it again with its own clock. A single-use link admits the first
//! requester through it on its own; anyone after that waits for an owner, like any request.
//! Revoking a link stops this device from admitting through it (requests through it still
//! reach the owners, who decide by hand).
//!
//! A request is let in only with proof that its author holds the link itself, not merely its
//! id (`quire_core::invite::link_proof`, under the link's secret that this device keeps): a
//! member or former member who saw the id in someone's request cannot use it. A link kept by
//! an earlier version, without a secret, admits no one by itself any more.

use std::collections::BTreeMap;

use quire_core::identity::UserId;
use quire_core::invite::{LINK_SECRET_LEN, link_proof};
use quire_core::page::{InviteId, LinkProof, RoomId};

const HOUR_MS: u64 = 60 * 60 * 1000;

/// How long a new link works. The default, a week, covers "I'll join tonight" while bounding
/// the damage of a leaked link: a link pasted in a group chat should not admit strangers
/// forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    Hour,
    Day,
    #[default]
    Week,
    Month,
}

impl Expiry {
    /// Every choice, shortest first (the invite panel's list).
    pub const ALL: [Self; 4] = [Self::Hour, Self::Day, Self::Week, Self::Month];

    pub fn ms(self) -> u64 {
        match self {
            Self::Hour => HOUR_MS,
            Self::Day => 24 * HOUR_MS,
            Self::Week => 7 * 24 * HOUR_MS,
            Self::Month => 30 * 24 * HOUR_MS,
        }
    }

    /// The words in the panel's list.
    pub fn label(self) -> &'static str {
        match self {
            Self::Hour => "1 hour",
            Self::Day => "1 day",
            Self::Week => "7 days",
            Self::Month => "30 days",
        }
    }

    /// The value of its `<option>`.
    pub fn token(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    pub fn from_token(token: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.token() == token)
    }
}

/// What the owner chose for a new link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InviteOptions {
    pub expiry: Expiry,
    /// Whether this device lets requesters through the link in without asking.
    pub auto_admit: bool,
    /// With `auto_admit`: only the first requester (the rest wait for an owner).
    pub single_use: bool,
}

/// An auto-admitting link as the invite panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveInvite {
    /// The invite id (hex): the argument of revoke.
    pub id: String,
    pub until_ms: u64,
    pub single_use: bool,
}

/// An auto-admitting link this device keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoAdmit {
    /// When it stops admitting (ms since the Unix epoch, this device's clock).
    pub until_ms: u64,
    /// Whether it admits one requester only (it is dropped once it has).
    pub single_use: bool,
    /// The link's secret, which a request must prove it holds (`None`: kept by an earlier
    /// version; admits no one).
    pub secret: Option<[u8; LINK_SECRET_LEN]>,
}

/// One join request as the admitting device weighs it: who, through which invite, with what
/// proof of holding its link.
pub type Request = (UserId, Option<InviteId>, Option<LinkProof>);

/// The auto-admitting links of one room, by invite id.
pub type AutoAdmits = BTreeMap<InviteId, AutoAdmit>;

/// The links as a room record keeps them: parallel lists of ids, expiries (ms), single use and
/// secrets.
pub type StoredLinks = (
    Vec<[u8; 16]>,
    Vec<f64>,
    Vec<bool>,
    Vec<Option<[u8; LINK_SECRET_LEN]>>,
);

/// Reads the links a room record keeps. An id without an expiry is dropped; a missing
/// single-use flag (earlier versions) lets in anyone, a missing secret no one.
pub fn from_stored(
    ids: &[[u8; 16]],
    until_ms: &[f64],
    single_use: &[bool],
    secrets: &[Option<[u8; LINK_SECRET_LEN]>],
) -> AutoAdmits {
    ids.iter()
        .zip(until_ms)
        .enumerate()
        .map(|(at, (id, until))| {
            let link = AutoAdmit {
                until_ms: until.max(0.0) as u64,
                single_use: single_use.get(at).copied().unwrap_or(false),
                secret: secrets.get(at).copied().flatten(),
            };
            (InviteId(*id), link)
        })
        .collect()
}

/// The links as a room record keeps them ([`from_stored`] reads them back).
pub fn to_stored(links: &AutoAdmits) -> StoredLinks {
    (
        links.keys().map(|id| id.0).collect(),
        links.values().map(|l| l.until_ms as f64).collect(),
        links.values().map(|l| l.single_use).collect(),
        links.values().map(|l| l.secret).collect(),
    )
}

/// Which of `requests` to `room` this device admits now: those naming a link it keeps that has
/// not expired at `now_ms`, with proof of holding that link, at most one per single-use link
/// (the lowest user id, so the choice does not depend on arrival order). The caller has
/// already left out anyone an owner removed.
pub fn admittable(
    links: &AutoAdmits,
    room: &RoomId,
    requests: impl IntoIterator<Item = Request>,
    now_ms: u64,
) -> Vec<(UserId, InviteId)> {
    let holds_link = |user: &UserId, link: &AutoAdmit, proof: Option<LinkProof>| {
        link.secret
            .is_some_and(|secret| proof == Some(link_proof(&secret, room, user)))
    };
    let mut requests: Vec<_> = requests
        .into_iter()
        .filter_map(|(user, invite, proof)| {
            let invite = invite?;
            let link = links.get(&invite)?;
            (now_ms < link.until_ms && holds_link(&user, link, proof)).then_some((user, invite))
        })
        .collect();
    requests.sort();
    let mut taken: Vec<InviteId> = Vec::new();
    requests.retain(|(_, invite)| {
        let single = links.get(invite).is_some_and(|l| l.single_use);
        if single && taken.contains(invite) {
            return false;
        }
        taken.push(*invite);
        true
    });
    requests
}

/// The admission of `user` through `invite` was written: a single-use link is used up.
/// Returns whether the links changed (the caller stores them).
pub fn admitted(links: &mut AutoAdmits, invite: &InviteId) -> bool {
    if links.get(invite).is_some_and(|l| l.single_use) {
        links.remove(invite);
        return true;
    }
    false
}

/// Links that still admit at `now_ms`, soonest to expire first: the invite panel's list.
pub fn active(links: &AutoAdmits, now_ms: u64) -> Vec<(InviteId, AutoAdmit)> {
    let mut list: Vec<_> = links
        .iter()
        .filter(|(_, l)| now_ms < l.until_ms)
        .map(|(id, l)| (*id, *l))
        .collect();
    list.sort_by_key(|(id, l)| (l.until_ms, *id));
    list
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use quire_core::identity::Identity;

    use super::*;

    fn user(n: u8) -> UserId {
        Identity::from_secret_bytes([n; 32]).unwrap().user_id()
    }

    const NOW: u64 = 1_000_000;
    const ROOM: RoomId = RoomId([7; 32]);

    /// The secret of invite `[n; 16]`'s link.
    fn secret(n: u8) -> [u8; LINK_SECRET_LEN] {
        [n + 100; LINK_SECRET_LEN]
    }

    fn link(n: u8, single_use: bool) -> (InviteId, AutoAdmit) {
        let link = AutoAdmit {
            until_ms: NOW + 10,
            single_use,
            secret: Some(secret(n)),
        };
        (InviteId([n; 16]), link)
    }

    fn links() -> AutoAdmits {
        BTreeMap::from([link(1, false), link(2, true)])
    }

    /// `who`'s request through invite `[n; 16]`, holding its link.
    fn through(who: u8, n: u8) -> Request {
        let user = user(who);
        let proof = link_proof(&secret(n), &ROOM, &user);
        (user, Some(InviteId([n; 16])), Some(proof))
    }

    #[test]
    fn a_multi_use_link_admits_everyone_through_it_until_it_expires() {
        let requests = [
            through(1, 1),
            through(2, 1),
            (user(3), None, None),
            through(4, 9),
        ];
        let now = admittable(&links(), &ROOM, requests, NOW);
        assert_eq!(now.len(), 2);
        assert!(
            admittable(&links(), &ROOM, requests, NOW + 10).is_empty(),
            "expired"
        );
    }

    #[test]
    fn only_a_requester_holding_the_link_is_admitted_through_it() {
        let (bo, proof) = (user(2), through(1, 1).2);
        let requests = [
            (user(2), Some(InviteId([1; 16])), None),
            (bo, Some(InviteId([1; 16])), through(2, 2).2),
            (user(3), Some(InviteId([1; 16])), proof),
        ];
        assert!(
            admittable(&links(), &ROOM, requests, NOW).is_empty(),
            "no proof, another link's proof, another requester's proof"
        );
        let other_room = RoomId([8; 32]);
        assert!(admittable(&links(), &other_room, [through(1, 1)], NOW).is_empty());
        let mut legacy = links();
        for link in legacy.values_mut() {
            link.secret = None;
        }
        assert!(
            admittable(&legacy, &ROOM, [through(1, 1)], NOW).is_empty(),
            "a link kept without a secret admits no one by itself"
        );
    }

    #[test]
    fn stored_links_read_back_the_same_and_a_link_without_a_secret_stays_without() {
        let mut links = links();
        links.insert(
            InviteId([3; 16]),
            AutoAdmit {
                until_ms: NOW,
                single_use: false,
                secret: None,
            },
        );
        let (ids, until, single, secrets) = to_stored(&links);
        let back = from_stored(&ids, &until, &single, &secrets);
        assert_eq!(back, links);
        // A link kept before secrets existed proves nothing, even a proof made with zeros.
        let old = from_stored(&ids, &until, &single, &[]);
        assert!(old.values().all(|l| l.secret.is_none()));
        let forged = (
            user(1),
            Some(InviteId([1; 16])),
            Some(link_proof(&[0; 32], &ROOM, &user(1))),
        );
        assert!(admittable(&old, &ROOM, [forged], NOW).is_empty());
    }

    #[test]
    fn a_single_use_link_admits_one_requester_then_is_used_up() {
        let mut links = links();
        let requests = [through(1, 2), through(2, 2)];
        let now = admittable(&links, &ROOM, requests, NOW);
        assert_eq!(now.len(), 1, "one of the two");
        let reversed = admittable(&links, &ROOM, [requests[1], requests[0]], NOW);
        assert_eq!(now, reversed, "the same one whatever the order");
        assert!(admitted(&mut links, &InviteId([2; 16])));
        assert!(
            admittable(&links, &ROOM, requests, NOW).is_empty(),
            "used up"
        );
        assert!(!admitted(&mut links, &InviteId([1; 16])), "multi-use stays");
        assert_eq!(links.len(), 1);
    }

    #[test]
    fn the_panel_lists_links_that_still_admit_soonest_first() {
        let mut links = links();
        links.insert(
            InviteId([3; 16]),
            AutoAdmit {
                until_ms: NOW + 5,
                single_use: false,
                secret: None,
            },
        );
        links.insert(
            InviteId([4; 16]),
            AutoAdmit {
                until_ms: NOW - 1,
                single_use: false,
                secret: None,
            },
        );
        let ids: Vec<_> = active(&links, NOW).into_iter().map(|(id, _)| id).collect();
        assert_eq!(
            ids,
            [InviteId([3; 16]), InviteId([1; 16]), InviteId([2; 16])]
        );
    }

    #[test]
    fn expiry_choices_round_trip_and_default_to_a_week() {
        assert_eq!(Expiry::default(), Expiry::Week);
        for e in Expiry::ALL {
            assert_eq!(Expiry::from_token(e.token()), Some(e));
        }
        assert_eq!(Expiry::from_token("forever"), None);
        assert!(Expiry::ALL.windows(2).all(|w| w[0].ms() < w[1].ms()));
    }
}
