//! Auto-admitting invite links: which join requests an owner's device lets in on its own.
//!
//! The device that made an auto-admitting link keeps it with when it stops admitting (its own
//! clock decides, never the requester's), whether it admits one person only, and the link's
//! secret. A request is let in only when all of these hold:
//!
//! - it names a link this device keeps, not expired;
//! - it carries the proof of holding that link ([`crate::invite::link_proof`] of the room and
//!   the requester under the link's secret): someone who only saw the invite id in another
//!   member's request, or copies that request's proof for another identity, proves nothing;
//! - its author was not removed by an owner (an owner decides by hand whether to let someone
//!   back in; a member who left may come back through a link);
//! - for a single-use link, it is the one request chosen (the lowest user id among those
//!   through the link, so the choice does not depend on arrival order); the link is then used
//!   up ([`link_used`]) and everyone after waits for an owner.
//!
//! [`crate::room::Replica::auto_admittable`] applies this to a room's held requests.

use std::collections::BTreeMap;

use crate::identity::UserId;
use crate::invite::{LINK_SECRET_LEN, link_proof};
use crate::page::{InviteId, LinkProof, RoomId};

/// An auto-admitting link the device that made it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoAdmitLink {
    /// When it stops admitting (ms since the Unix epoch, this device's clock).
    pub until_ms: u64,
    /// Whether it admits one requester only (it is dropped once it has).
    pub single_use: bool,
    /// The link's secret, which a request must prove it holds (`None`: a link kept by an
    /// earlier version, without one; it admits no one).
    pub secret: Option<[u8; LINK_SECRET_LEN]>,
}

/// The auto-admitting links of one room, by invite id.
pub type AutoAdmitLinks = BTreeMap<InviteId, AutoAdmitLink>;

/// One held join request, as the admitting device weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The requester.
    pub user: UserId,
    /// The invite its request names, if any.
    pub invite: Option<InviteId>,
    /// Its proof of holding that invite's link, if any.
    pub proof: Option<LinkProof>,
    /// Whether an owner removed it (and it was not admitted since).
    pub removed: bool,
}

/// Which of `candidates` (join requests to `room`) to admit now, each with the invite it came
/// through (see the module docs).
pub fn auto_admittable(
    links: &AutoAdmitLinks,
    room: &RoomId,
    candidates: impl IntoIterator<Item = Candidate>,
    now_ms: u64,
) -> Vec<(UserId, InviteId)> {
    let holds_link = |user: &UserId, link: &AutoAdmitLink, proof: Option<LinkProof>| {
        link.secret
            .is_some_and(|secret| proof == Some(link_proof(&secret, room, user)))
    };
    let mut chosen: Vec<(UserId, InviteId)> = candidates
        .into_iter()
        .filter(|c| !c.removed)
        .filter_map(|c| {
            let invite = c.invite?;
            let link = links.get(&invite)?;
            (now_ms < link.until_ms && holds_link(&c.user, link, c.proof))
                .then_some((c.user, invite))
        })
        .collect();
    chosen.sort();
    chosen.dedup();
    let mut taken: Vec<InviteId> = Vec::new();
    chosen.retain(|(_, invite)| {
        let single = links.get(invite).is_some_and(|l| l.single_use);
        if single && taken.contains(invite) {
            return false;
        }
        taken.push(*invite);
        true
    });
    chosen
}

/// Someone was admitted through `invite`: a single-use link is used up and dropped. Returns
/// whether the links changed (the caller stores them).
pub fn link_used(links: &mut AutoAdmitLinks, invite: &InviteId) -> bool {
    if links.get(invite).is_some_and(|l| l.single_use) {
        links.remove(invite);
        return true;
    }
    false
}
