//! Shared files in a room: writing a file page and holding statements, the holder list every
//! member computes from the pages that count, and whom this device may serve a blob to.
//!
//! A file page counts as its author's first statement that it holds the blob (the author
//! sealed it from the file it picked), so sharing a file is one page; a later holding page
//! (`held: false` when the author removes its copy) replaces it like any other statement.

use quire_core::blob::BlobId;
use quire_core::blob::holders::{Holders, HoldingBody};
use quire_core::identity::{Identity, UserId};
use quire_core::membership::SyncRight;
use quire_core::page::{Body, FileBody, NONCE_LEN, PageKind};

use super::{Outgoing, RoomSession, SendError};
use crate::model::chat::FileView;
use crate::model::explore::Resource;
use crate::model::files::blob_key;
use crate::model::ids::{room_key, user_key};

/// A JPEG preview as a `data:` URL (the app's content policy allows `data:` images).
fn thumbnail_url(jpeg: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(jpeg)
    )
}

impl RoomSession {
    /// Writes a file page: the file is shared (this device holds its blob, stored before).
    pub fn send_file(
        &mut self,
        identity: &Identity,
        body: FileBody,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        self.write(identity, &Body::File(body), now_ms, nonce)
    }

    /// Writes that this device now holds (`held`) or no longer holds a whole copy of `blob`.
    pub fn state_holding(
        &mut self,
        identity: &Identity,
        blob: BlobId,
        held: bool,
        now_ms: u64,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Outgoing, SendError> {
        self.write(
            identity,
            &Body::Holding(HoldingBody { blob, held }),
            now_ms,
            nonce,
        )
    }

    /// The file pages and holding statements that count, opened: `(author, seq, body)`.
    fn file_bodies(&self) -> impl Iterator<Item = (UserId, u64, Body)> + '_ {
        self.replica
            .display_order()
            .filter(|position| self.replica.counts(position))
            .filter_map(|position| self.replica.page(&position.id))
            .filter(|page| matches!(page.kind(), PageKind::File | PageKind::Holding))
            .filter_map(|page| {
                let body = self.replica.open(page.page()).ok()?;
                Some((page.author(), page.seq(), body))
            })
    }

    /// Every member's latest statement about every blob of this room (a file page is its
    /// author's first).
    pub fn holders(&self) -> Holders {
        let mut holders = Holders::default();
        for (author, seq, body) in self.file_bodies() {
            let holding = match body {
                Body::File(file) => HoldingBody {
                    blob: file.blob,
                    held: true,
                },
                Body::Holding(holding) => holding,
                _ => continue,
            };
            holders.apply(author, seq, &holding);
        }
        holders
    }

    /// The file page (that counts) naming `blob`, if any: what a download verifies against.
    pub fn file(&self, blob: &BlobId) -> Option<FileBody> {
        self.file_bodies().find_map(|(_, _, body)| match body {
            Body::File(file) if file.blob == *blob => Some(file),
            _ => None,
        })
    }

    /// Whether `peer` may be sent `blob`'s bytes by this device: it may read everything in
    /// this room now (a member; not a former member, not a requester), and a file page that
    /// counts here names the blob.
    pub fn may_serve(&self, peer: &UserId, blob: &BlobId) -> bool {
        self.replica.may_sync(peer) == SyncRight::Full
            && self.replica.state().is_member(peer)
            && self.file(blob).is_some()
    }

    /// Every file shared in this room that counts, for Explore (`online` left at 0 for the
    /// controller to fill in).
    pub fn resources(&self) -> Vec<Resource> {
        let holders = self.holders();
        let names = self.names();
        let room = room_key(&self.room());
        let room_name = self.title();
        self.replica
            .display_order()
            .filter(|position| self.replica.counts(position))
            .filter_map(|position| self.replica.page(&position.id))
            .filter(|page| page.kind() == PageKind::File)
            .filter_map(|page| {
                let Ok(Body::File(file)) = self.replica.open(page.page()) else {
                    return None;
                };
                let view = self.file_view(&file, &holders);
                Some(Resource {
                    room: room.clone(),
                    room_name: room_name.clone(),
                    blob: view.blob,
                    name: view.name,
                    mime: view.mime,
                    size: view.size,
                    author_name: Self::name_of(&names, &page.author()),
                    shared_at_ms: page.meta().timestamp_ms,
                    holders: view.holders,
                    online: 0,
                    thumbnail: view.thumbnail,
                })
            })
            .collect()
    }

    /// What the file card shows for `file`, given the room's holders.
    pub(super) fn file_view(&self, file: &FileBody, holders: &Holders) -> FileView {
        FileView {
            blob: blob_key(&file.blob),
            name: file.name.clone(),
            mime: file.mime.clone(),
            size: file.size,
            holders: holders
                .of(&file.blob)
                .into_iter()
                .filter(|member| self.replica.state().is_member(member))
                .map(|member| user_key(&member))
                .collect(),
            online: 0,
            thumbnail: file.thumbnail.as_deref().map(thumbnail_url),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use quire_core::blob::FileKey;

    use super::super::tests::{TEST_NOW_MS, club_with_bo, pages, person};
    use super::*;

    fn report(blob: u8) -> FileBody {
        FileBody {
            name: "report.pdf".into(),
            mime: "application/pdf".into(),
            size: 20 << 20,
            blob: BlobId([blob; 32]),
            key: FileKey::from_bytes([5; 32]),
            description: "the draft".into(),
            thumbnail: None,
        }
    }

    #[test]
    fn a_shared_file_shows_as_a_card_held_by_its_author_until_it_drops_it_and_others_take_it() {
        let (ada, bo, secret, mut room, history) = club_with_bo();
        let shared = room.send_file(&ada, report(9), 1_003, [4; 24]).unwrap();
        let messages = room.messages();
        let card = messages.last().unwrap();
        assert_eq!(card.text, "the draft");
        let file = card.file.as_ref().unwrap();
        assert_eq!(
            (file.name.as_str(), file.mime.as_str(), file.size),
            ("report.pdf", "application/pdf", 20 << 20)
        );
        assert_eq!(file.holders, [user_key(&ada.user_id())]);
        assert_eq!(file.thumbnail, None);
        assert!(room.summary().preview.contains("report.pdf"));

        // Bo receives the room, downloads the file and says he holds it: two holders.
        let mut bos = RoomSession::join(&bo, room.room(), &secret);
        let mut sent = pages(&history);
        sent.extend(pages(&[shared]));
        bos.receive(sent, TEST_NOW_MS);
        assert_eq!(bos.file(&BlobId([9; 32])), Some(report(9)));
        let held = bos
            .state_holding(&bo, BlobId([9; 32]), true, 1_004, [5; 24])
            .unwrap();
        room.receive(pages(&[held]), TEST_NOW_MS);
        let mut both = vec![user_key(&ada.user_id()), user_key(&bo.user_id())];
        both.sort();
        let file = room.messages().last().unwrap().file.clone().unwrap();
        assert_eq!(file.holders, both);

        // Ada removes her copy: Bo is the one holder left, whatever order the pages came in.
        let dropped = room
            .state_holding(&ada, BlobId([9; 32]), false, 1_005, [6; 24])
            .unwrap();
        bos.receive(pages(&[dropped]), TEST_NOW_MS);
        for session in [&room, &bos] {
            let file = session.messages().last().unwrap().file.clone().unwrap();
            assert_eq!(file.holders, [user_key(&bo.user_id())]);
        }
        assert!(room.file(&BlobId([8; 32])).is_none());
        let listed = bos.resources();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].name.as_str(), listed[0].room_name.as_str()),
            ("report.pdf", "Book club")
        );
        // Ada wrote no profile here: she is shown by her short id, as in the chat.
        assert_eq!(listed[0].author_name, ada.user_id().short());
        assert_eq!(listed[0].holders, [user_key(&bo.user_id())]);
    }

    #[test]
    fn an_image_shared_with_a_preview_shows_it_on_its_card() {
        let (ada, _, _, mut room, _) = club_with_bo();
        let mut photo = report(7);
        photo.mime = "image/jpeg".into();
        photo.thumbnail = Some(vec![0xff, 0xd8, 0xff]);
        room.send_file(&ada, photo, 1_003, [4; 24]).unwrap();
        let file = room.messages().last().unwrap().file.clone().unwrap();
        assert_eq!(
            file.thumbnail.as_deref(),
            Some("data:image/jpeg;base64,/9j/")
        );
        assert_eq!(room.resources()[0].thumbnail, file.thumbnail);
    }

    #[test]
    fn a_blob_is_served_only_to_a_member_of_a_room_that_names_it() {
        let (ada, bo, _, mut room, _) = club_with_bo();
        room.send_file(&ada, report(9), 1_003, [4; 24]).unwrap();
        assert!(room.may_serve(&bo.user_id(), &BlobId([9; 32])));
        assert!(
            !room.may_serve(&bo.user_id(), &BlobId([8; 32])),
            "not named here"
        );
        assert!(
            !room.may_serve(&person(3).user_id(), &BlobId([9; 32])),
            "not a member"
        );
        room.control(
            &ada,
            quire_core::page::ControlOp::Remove {
                member: bo.user_id(),
                seen: 0,
            },
            1_004,
            [5; 24],
        )
        .unwrap();
        assert!(!room.may_serve(&bo.user_id(), &BlobId([9; 32])), "removed");
    }
}
