//! Key epochs: which secret a page must be sealed under, who holds which, and what an owner
//! still has to write so that the people who hold the current epoch are exactly the members.
//!
//! # The chain
//!
//! Epoch 0 is the room's original secret (pages name no key id). Every keys page that counts
//! (its author's tenure covers its seq, [`crate::room::RoomLog::check_content_at`]) and names a
//! `new_epoch` appends that epoch to the chain, in fold order ([`super::FoldKey`]): causal
//! order, ties broken by depth and page id, never by timestamps. So two owners removing two
//! members concurrently produce two epochs, and every peer orders them alike; the later one in
//! fold order is **current**. Every id in a keys page is plaintext, so peers that hold none of
//! the secrets fold the same chain.
//!
//! # Holders
//!
//! Who can know an epoch's secret: the author of every counting keys page that starts or grants
//! it, and every recipient of a grant naming it. Epoch 0 travelled in invite links, so every
//! member, former member and requester is taken to hold it.
//!
//! # What the local member must do ([`KeyDuty`])
//!
//! - **Re-key** when a holder of the current epoch is no longer a member (a removal or a leave
//!   was folded; after concurrent removals, whichever current epoch still reaches one of them):
//!   a new epoch sealed to exactly the current members. Until then no member may write content
//!   ([`Epochs::writable`]), so nothing written after a removal is sealed under a key the
//!   removed member holds.
//! - **Grant** every member the chain's epochs it does not hold (a new member gets the whole
//!   history, so it reads everything written before it joined).
//! - **Share** epochs no owner holds that pages which count are sealed under (after two owners
//!   removed each other at once: [`KeyDuty::Share`]); any member holding one shares it.
//!
//! Concurrent duties (two owners re-keying at once, or granting the same newcomer) are
//! harmless: each re-key excludes every former member it knows of, so the chain converges on a
//! current epoch held by members only, and a duplicate grant changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::identity::UserId;
use crate::page::{KeyId, KeysBody};

/// One counting keys page, as the chain needs it (plaintext parts only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysEntry {
    /// The page's author.
    pub author: UserId,
    /// The epoch it starts, if any.
    pub new_epoch: Option<KeyId>,
    /// Recipient and epochs of each grant.
    pub grants: Vec<(UserId, Vec<Option<KeyId>>)>,
}

impl KeysEntry {
    /// The plaintext parts of a keys page by `author`.
    pub fn of(author: UserId, body: &KeysBody) -> Self {
        Self {
            author,
            new_epoch: body.new_epoch,
            grants: body
                .grants
                .iter()
                .map(|g| (g.recipient, g.epochs.clone()))
                .collect(),
        }
    }
}

/// The epoch chain of a room and who holds each epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Epochs {
    chain: Vec<KeyId>,
    holders: BTreeMap<KeyId, BTreeSet<UserId>>,
}

/// Something the local member must write for the room's keys to be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDuty {
    /// Start a new epoch sealed to these members (every current member, the writer included).
    Rekey {
        /// The current members.
        members: Vec<UserId>,
    },
    /// Grant these members the epochs they lack (each with the epochs, ascending).
    Grant {
        /// Recipient and the epochs it lacks.
        missing: Vec<(UserId, Vec<KeyId>)>,
    },
    /// Share with these members secrets no owner holds: of epochs outside the chain that pages
    /// which count are sealed under, and of chain epochs only members hold. Both come from two
    /// owners removing each other at once: a re-key whose author's removal folds first stops
    /// counting (its epoch leaves the chain), and a member that re-keyed for the owner that
    /// lost sealed its epoch to that owner and itself only. Members wrote under such epochs
    /// before they knew; any member holding one shares it, owner or not, so those pages stay
    /// readable to every member. An epoch off the chain is never written under again.
    Share {
        /// Recipient and the epochs it lacks.
        missing: Vec<(UserId, Vec<KeyId>)>,
    },
}

impl Epochs {
    /// Folds counting keys pages, given in fold order.
    pub fn fold<'a>(entries: impl IntoIterator<Item = &'a KeysEntry>) -> Self {
        let mut epochs = Self::default();
        for entry in entries {
            if let Some(id) = entry.new_epoch
                && !epochs.chain.contains(&id)
            {
                epochs.chain.push(id);
                epochs.holders.entry(id).or_default().insert(entry.author);
            }
            for (recipient, granted) in &entry.grants {
                // A grant of an epoch the chain does not have is no epoch, but its recipient
                // holds that secret all the same (see [`KeyDuty::Share`]).
                for id in granted.iter().flatten() {
                    let holders = epochs.holders.entry(*id).or_default();
                    holders.insert(*recipient);
                    holders.insert(entry.author);
                }
            }
        }
        epochs
    }

    /// The current epoch (`None`: the room's original secret).
    pub fn current(&self) -> Option<KeyId> {
        self.chain.last().copied()
    }

    /// Every later epoch, oldest first.
    pub fn chain(&self) -> &[KeyId] {
        &self.chain
    }

    /// Whether `user` can know epoch `id`'s secret (epoch 0: everyone).
    pub fn holds(&self, user: &UserId, id: Option<KeyId>) -> bool {
        match id {
            None => true,
            Some(id) => self.holders.get(&id).is_some_and(|h| h.contains(user)),
        }
    }

    /// Whether members may seal content under the current epoch: nobody outside `members`
    /// holds it. Epoch 0 is writable while nobody has ever left the room (`anyone_left`).
    pub fn writable(&self, members: &BTreeSet<UserId>, anyone_left: bool) -> bool {
        match self.current() {
            None => !anyone_left,
            Some(id) => self
                .holders
                .get(&id)
                .is_some_and(|h| h.iter().all(|u| members.contains(u))),
        }
    }

    /// What `me`, a member holding the epochs in `held`, must write, given the current members
    /// and which of them are `owners`; `sealed_off_chain` are the epochs outside the chain that
    /// pages which count are sealed under. A re-key comes first: a grant of an epoch about to
    /// be replaced is still useful (history), but sealing new content needs the re-key; then
    /// grants of epochs an owner holds (owners settle those), then shares of epochs no owner
    /// holds (any member holding them settles those).
    pub fn duty(
        &self,
        me: &UserId,
        members: &BTreeSet<UserId>,
        owners: &BTreeSet<UserId>,
        anyone_left: bool,
        held: &BTreeSet<KeyId>,
        sealed_off_chain: &BTreeSet<KeyId>,
    ) -> Option<KeyDuty> {
        if !members.contains(me) {
            return None;
        }
        if !self.writable(members, anyone_left) {
            return Some(KeyDuty::Rekey {
                members: members.iter().copied().collect(),
            });
        }
        let lacking = |ids: &mut dyn Iterator<Item = &KeyId>| -> Vec<(UserId, Vec<KeyId>)> {
            let ids: Vec<KeyId> = ids.filter(|id| held.contains(id)).copied().collect();
            members
                .iter()
                .filter(|m| *m != me)
                .filter_map(|m| {
                    let lacks: Vec<KeyId> = ids
                        .iter()
                        .filter(|id| !self.holds(m, Some(**id)))
                        .copied()
                        .collect();
                    (!lacks.is_empty()).then_some((*m, lacks))
                })
                .collect()
        };
        let owned = |id: &KeyId| owners.iter().any(|o| self.holds(o, Some(*id)));
        let missing = lacking(&mut self.chain.iter().filter(|id| owned(id)));
        if !missing.is_empty() {
            return Some(KeyDuty::Grant { missing });
        }
        let unowned = self.chain.iter().filter(|id| !owned(id));
        let off_chain = sealed_off_chain
            .iter()
            .filter(|id| !self.chain.contains(id));
        let share = lacking(&mut unowned.chain(off_chain));
        (!share.is_empty()).then_some(KeyDuty::Share { missing: share })
    }
}
