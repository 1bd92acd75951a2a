//! Reading the address bar: is this an invite link, and if it is broken, what to tell the user.
//!
//! Invites live in the URL fragment (`#/join/<payload>`), which browsers never send to a
//! server. The app reads it at start and on `hashchange`, then removes it from the address bar
//! so the room secret does not linger in history.

use quire_core::invite::{Invite, InviteError, LINK_FRAGMENT_PREFIX};

/// What the fragment asks the app to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRoute {
    /// No invite: the normal app.
    Home,
    /// A valid invite: offer to join.
    Join(Box<Invite>),
    /// An invite that cannot be used: explain, change nothing.
    BadInvite(InviteProblem),
}

/// A broken invite, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteProblem {
    /// One line, e.g. "This invite has expired".
    pub title: &'static str,
    /// What happened and what to do next.
    pub advice: &'static str,
    /// The precise cause, shown in smaller print for whoever debugs it.
    pub detail: String,
    /// Stable token for tests and styling (`data-problem`).
    pub token: &'static str,
}

impl InviteProblem {
    pub fn from_error(error: &InviteError) -> Self {
        let (title, advice, token) = match error {
            InviteError::Expired { .. } => (
                "This invite has expired",
                "Invites can be made to stop working after a while. Ask the person who sent it for a new link.",
                "expired",
            ),
            InviteError::Tampered => (
                "This invite link was changed",
                "Part of the link does not match what its sender signed, so it cannot be trusted. Ask for the link again and open it exactly as sent.",
                "tampered",
            ),
            InviteError::Truncated => (
                "This invite link is incomplete",
                "The link was probably cut off when it was copied. Ask for the whole link again.",
                "truncated",
            ),
            InviteError::TooLong { .. }
            | InviteError::NotAnInvite
            | InviteError::Malformed(_)
            | InviteError::NotInviter
            | InviteError::FieldTooLong { .. } => (
                "This is not a valid invite link",
                "The link is damaged or was not made by Quire. Ask for the link again.",
                "invalid",
            ),
        };
        Self {
            title,
            advice,
            detail: error.to_string(),
            token,
        }
    }
}

/// Routes a location fragment (with or without the leading `#`), checking an invite's
/// signature and expiry against `now_ms`.
pub fn route(fragment: &str, now_ms: u64) -> LinkRoute {
    let fragment = if fragment.starts_with('#') {
        fragment.to_owned()
    } else {
        format!("#{fragment}")
    };
    if !fragment.starts_with(LINK_FRAGMENT_PREFIX) {
        return LinkRoute::Home;
    }
    match Invite::parse(&fragment, now_ms) {
        Ok(invite) => LinkRoute::Join(Box::new(invite)),
        Err(error) => LinkRoute::BadInvite(InviteProblem::from_error(&error)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use quire_core::crypto::RoomSecret;
    use quire_core::identity::Identity;
    use quire_core::page::{InviteId, RoomId};

    fn link(expires_at_ms: Option<u64>) -> (String, Invite) {
        let owner = Identity::from_secret_bytes([5; 32]).unwrap();
        let invite = Invite {
            room: RoomId([1; 32]),
            room_name: "Book club".into(),
            secret: RoomSecret::from_bytes([2; 32]),
            inviter: owner.user_id(),
            id: InviteId([3; 16]),
            relays: vec!["/ip4/192.0.2.10/tcp/8080/ws".into()],
            expires_at_ms,
            auto_admit: false,
            link_secret: None,
        };
        (
            invite.to_link("http://192.0.2.10:8080/", &owner).unwrap(),
            invite,
        )
    }

    fn fragment(link: &str) -> &str {
        &link[link.find('#').unwrap()..]
    }

    #[test]
    fn a_plain_address_is_home() {
        assert_eq!(route("", 0), LinkRoute::Home);
        assert_eq!(route("#/rooms", 0), LinkRoute::Home);
    }

    #[test]
    fn a_valid_link_offers_to_join_that_room() {
        let (link, invite) = link(None);
        assert_eq!(route(fragment(&link), 0), LinkRoute::Join(Box::new(invite)));
    }

    #[test]
    fn broken_links_are_explained_by_cause() {
        let (link, _) = link(Some(1_000));
        let token = |f: &str, now| match route(f, now) {
            LinkRoute::BadInvite(p) => p.token,
            other => panic!("expected a bad invite, got {other:?}"),
        };
        assert_eq!(token(fragment(&link), 5_000), "expired");
        let cut = &fragment(&link)[..fragment(&link).len() - 7];
        assert!(["truncated", "invalid", "tampered"].contains(&token(cut, 0)));
        let mut tampered = fragment(&link).to_owned();
        let at = LINK_FRAGMENT_PREFIX.len() + 40;
        let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
        tampered.replace_range(at..=at, flipped);
        assert_eq!(token(&tampered, 0), "tampered");
        assert_eq!(token("#/join/!!!", 0), "invalid");
    }
}
