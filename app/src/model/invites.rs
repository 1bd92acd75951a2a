//! Invite links an owner makes: how long they work, whether they let in one person or anyone,
//! and the auto-admitting ones this device keeps until they expire, are used up or revoked.
//!
//! The expiry is signed into the link, so the joiner's device refuses an expired link by itself;
//! the admitting device checks it again with its own clock. A single-use link admits the first
//! requester through it on its own; anyone after that waits for an owner, like any request.
//! Revoking a link stops this device from admitting through it (requests through it still
//! reach the owners, who decide by hand).
//!
//! Which requests a kept link lets in is core's rule (`quire_core::membership::auto_admit`):
//! only with proof that the requester holds the link itself, never someone an owner removed,
//! one person through a single-use link. A link kept by an earlier version, without a secret,
//! admits no one by itself any more.

use quire_core::invite::LINK_SECRET_LEN;
use quire_core::page::InviteId;

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

pub use quire_core::membership::auto_admit::{AutoAdmitLink, AutoAdmitLinks, link_used};

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
) -> AutoAdmitLinks {
    ids.iter()
        .zip(until_ms)
        .enumerate()
        .map(|(at, (id, until))| {
            let link = AutoAdmitLink {
                until_ms: until.max(0.0) as u64,
                single_use: single_use.get(at).copied().unwrap_or(false),
                secret: secrets.get(at).copied().flatten(),
            };
            (InviteId(*id), link)
        })
        .collect()
}

/// The links as a room record keeps them ([`from_stored`] reads them back).
pub fn to_stored(links: &AutoAdmitLinks) -> StoredLinks {
    (
        links.keys().map(|id| id.0).collect(),
        links.values().map(|l| l.until_ms as f64).collect(),
        links.values().map(|l| l.single_use).collect(),
        links.values().map(|l| l.secret).collect(),
    )
}

/// Links that still admit at `now_ms`, soonest to expire first: the invite panel's list.
pub fn active(links: &AutoAdmitLinks, now_ms: u64) -> Vec<(InviteId, AutoAdmitLink)> {
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
    use std::collections::BTreeMap;

    use quire_core::identity::Identity;
    use quire_core::invite::link_proof;
    use quire_core::membership::auto_admit::{Candidate, auto_admittable};
    use quire_core::page::RoomId;

    use super::*;

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

    #[test]
    fn stored_links_read_back_the_same_and_a_link_without_a_secret_stays_without() {
        let mut links = links();
        links.insert(
            InviteId([3; 16]),
            AutoAdmitLink {
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
        let user = Identity::from_secret_bytes([1; 32]).unwrap().user_id();
        let forged = Candidate {
            user,
            invite: Some(InviteId([1; 16])),
            proof: Some(link_proof(&[0; 32], &ROOM, &user)),
            removed: false,
        };
        assert!(auto_admittable(&old, &ROOM, [forged], NOW).is_empty());
    }

    #[test]
    fn the_panel_lists_links_that_still_admit_soonest_first() {
        let mut links = links();
        links.insert(
            InviteId([3; 16]),
            AutoAdmitLink {
                until_ms: NOW + 5,
                single_use: false,
                secret: None,
            },
        );
        links.insert(
            InviteId([4; 16]),
            AutoAdmitLink {
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
