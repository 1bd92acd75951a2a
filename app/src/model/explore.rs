//! The Explore view: every file shared in every room the user is in, searchable by name,
//! filterable by room and type, sortable by date and size; and "On this device": the files
//! held here with the space each takes. Plain values built by the controller from the room
//! sessions and storage; the rules here are tested natively.

use super::files::{FilesHere, human_size};

/// One shared file as Explore lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The room's key (files are acted on in the room that names them).
    pub room: String,
    pub room_name: String,
    /// The blob's key.
    pub blob: String,
    pub name: String,
    pub mime: String,
    /// Plaintext size.
    pub size: u64,
    pub author_name: String,
    /// The sharer's clock when it shared it (ms since the Unix epoch).
    pub shared_at_ms: u64,
    /// Members holding a whole copy (user keys), and how many of them are linked now.
    pub holders: Vec<String>,
    pub online: usize,
    /// The image's preview as a `data:` URL.
    pub thumbnail: Option<String>,
}

/// A kind of file, for the type filter (from the MIME type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Image,
    Video,
    Audio,
    Document,
    Archive,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Image,
        Kind::Video,
        Kind::Audio,
        Kind::Document,
        Kind::Archive,
        Kind::Other,
    ];

    pub fn of(mime: &str) -> Self {
        let (top, sub) = mime.split_once('/').unwrap_or((mime, ""));
        match top {
            "image" => Self::Image,
            "video" => Self::Video,
            "audio" => Self::Audio,
            "text" => Self::Document,
            _ if sub == "pdf"
                || sub.contains("document")
                || sub.contains("msword")
                || sub.contains("presentation")
                || sub.contains("spreadsheet") =>
            {
                Self::Document
            }
            _ if sub.contains("zip") || sub.contains("compressed") || sub.contains("tar") => {
                Self::Archive
            }
            _ => Self::Other,
        }
    }

    /// Token for the filter's `<option>` values.
    pub fn token(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Archive => "archive",
            Self::Other => "other",
        }
    }

    pub fn from_token(token: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.token() == token)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Image => "Images",
            Self::Video => "Videos",
            Self::Audio => "Audio",
            Self::Document => "Documents",
            Self::Archive => "Archives",
            Self::Other => "Other files",
        }
    }
}

/// How Explore orders what it lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    #[default]
    Newest,
    Oldest,
    /// Largest first.
    Largest,
    Smallest,
    /// By name, A to Z.
    Name,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Largest,
        Sort::Smallest,
        Sort::Name,
    ];

    pub fn token(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Largest => "largest",
            Self::Smallest => "smallest",
            Self::Name => "name",
        }
    }

    pub fn from_token(token: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.token() == token)
            .unwrap_or_default()
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Newest => "Newest first",
            Self::Oldest => "Oldest first",
            Self::Largest => "Largest first",
            Self::Smallest => "Smallest first",
            Self::Name => "Name",
        }
    }
}

/// What the user asked Explore to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words that must all appear in the file's name (any case).
    pub text: String,
    /// Only this room (its key).
    pub room: Option<String>,
    pub kind: Option<Kind>,
    /// Only files held whole on this device ("On this device").
    pub here_only: bool,
    pub sort: Sort,
}

/// The resources `query` selects, in its order. A file shared in two rooms is listed once per
/// room (each room is where its members can get it).
pub fn explore(mut resources: Vec<Resource>, query: &Query, here: &FilesHere) -> Vec<Resource> {
    let words: Vec<String> = query
        .text
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    resources.retain(|r| {
        let name = r.name.to_lowercase();
        words.iter().all(|w| name.contains(w.as_str()))
            && query.room.as_ref().is_none_or(|room| *room == r.room)
            && query.kind.is_none_or(|kind| Kind::of(&r.mime) == kind)
            && (!query.here_only || here.held.contains(&r.blob))
    });
    resources.sort_by(|a, b| {
        let tie = || {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.room.cmp(&b.room))
        };
        match query.sort {
            Sort::Newest => b.shared_at_ms.cmp(&a.shared_at_ms).then_with(tie),
            Sort::Oldest => a.shared_at_ms.cmp(&b.shared_at_ms).then_with(tie),
            Sort::Largest => b.size.cmp(&a.size).then_with(tie),
            Sort::Smallest => a.size.cmp(&b.size).then_with(tie),
            Sort::Name => tie(),
        }
    });
    resources
}

/// "3 files, 41.2 MB on this device" for the files held here among `resources` (a file shared
/// in two rooms is stored once).
pub fn space_here(resources: &[Resource], here: &FilesHere) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let (count, bytes) = resources
        .iter()
        .filter(|r| here.held.contains(&r.blob) && seen.insert(r.blob.clone()))
        .fold((0usize, 0u64), |(n, b), r| (n + 1, b + r.size));
    match count {
        0 => "No files on this device".to_owned(),
        1 => format!("1 file, {} on this device", human_size(bytes)),
        n => format!("{n} files, {} on this device", human_size(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(room: &str, blob: &str, name: &str, mime: &str, size: u64, at: u64) -> Resource {
        Resource {
            room: room.into(),
            room_name: room.to_uppercase(),
            blob: blob.into(),
            name: name.into(),
            mime: mime.into(),
            size,
            author_name: "Ada".into(),
            shared_at_ms: at,
            holders: vec!["ada".into()],
            online: 0,
            thumbnail: None,
        }
    }

    fn shelf() -> Vec<Resource> {
        vec![
            resource(
                "lab",
                "b1",
                "Results 2026.pdf",
                "application/pdf",
                3_000,
                30,
            ),
            resource("lab", "b2", "cat.png", "image/png", 90_000, 10),
            resource("club", "b3", "Reading list.txt", "text/plain", 200, 20),
            resource(
                "club",
                "b1",
                "Results 2026.pdf",
                "application/pdf",
                3_000,
                40,
            ),
        ]
    }

    fn names(list: &[Resource]) -> Vec<(&str, &str)> {
        list.iter()
            .map(|r| (r.room.as_str(), r.name.as_str()))
            .collect()
    }

    #[test]
    fn explore_searches_filters_and_sorts() {
        let here = FilesHere::default();
        let all = explore(shelf(), &Query::default(), &here);
        assert_eq!(
            names(&all),
            [
                ("club", "Results 2026.pdf"),
                ("lab", "Results 2026.pdf"),
                ("club", "Reading list.txt"),
                ("lab", "cat.png"),
            ],
            "newest first"
        );
        let query = Query {
            text: "results PDF".into(),
            room: Some("lab".into()),
            ..Query::default()
        };
        assert_eq!(
            names(&explore(shelf(), &query, &here)),
            [("lab", "Results 2026.pdf")]
        );
        let documents = Query {
            kind: Some(Kind::Document),
            sort: Sort::Smallest,
            ..Query::default()
        };
        assert_eq!(
            names(&explore(shelf(), &documents, &here)),
            [
                ("club", "Reading list.txt"),
                ("club", "Results 2026.pdf"),
                ("lab", "Results 2026.pdf"),
            ]
        );
        let largest = Query {
            sort: Sort::Largest,
            ..Query::default()
        };
        assert_eq!(explore(shelf(), &largest, &here)[0].name, "cat.png");
        let by_name = Query {
            sort: Sort::Name,
            ..Query::default()
        };
        assert_eq!(explore(shelf(), &by_name, &here)[0].name, "cat.png");
        assert!(
            explore(
                shelf(),
                &Query {
                    text: "nothing".into(),
                    ..Query::default()
                },
                &here
            )
            .is_empty()
        );
    }

    #[test]
    fn on_this_device_lists_what_is_held_here_and_counts_each_file_once() {
        let mut here = FilesHere::default();
        let only_here = Query {
            here_only: true,
            ..Query::default()
        };
        assert!(explore(shelf(), &only_here, &here).is_empty());
        assert_eq!(space_here(&shelf(), &here), "No files on this device");
        here.held.insert("b1".into());
        assert_eq!(
            explore(shelf(), &only_here, &here).len(),
            2,
            "listed in both rooms"
        );
        assert_eq!(
            space_here(&shelf(), &here),
            "1 file, 2.93 KB on this device"
        );
        here.held.insert("b2".into());
        assert_eq!(
            space_here(&shelf(), &here),
            "2 files, 90.8 KB on this device"
        );
    }

    #[test]
    fn kinds_come_from_the_mime_type_and_tokens_round_trip() {
        assert_eq!(Kind::of("image/jpeg"), Kind::Image);
        assert_eq!(Kind::of("application/pdf"), Kind::Document);
        assert_eq!(Kind::of("application/zip"), Kind::Archive);
        assert_eq!(Kind::of("application/octet-stream"), Kind::Other);
        for kind in Kind::ALL {
            assert_eq!(Kind::from_token(kind.token()), Some(kind));
        }
        for sort in Sort::ALL {
            assert_eq!(Sort::from_token(sort.token()), sort);
        }
        assert_eq!(Sort::from_token("bogus"), Sort::Newest);
    }
}
