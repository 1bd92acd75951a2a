//! What can go wrong with local storage, shaped around what the caller does next.

use indexed_db_futures::error::{DomException, Error as IdbError, OpenDbError};

/// The storage operation that failed, so an error message says what the app was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageOp {
    Open,
    ReadIdentity,
    WriteIdentity,
    ReadProfile,
    WriteProfile,
    ReadRooms,
    WriteRoom,
    DeleteRoom,
    ReadBooks,
    ReadPages,
    WritePages,
    ReadPeerHeads,
    WritePeerHeads,
    ReadProofs,
    CutBooks,
    ReadBlobs,
    WriteBlob,
    DeleteBlob,
}

impl StorageOp {
    fn is_write(self) -> bool {
        matches!(
            self,
            Self::WriteIdentity
                | Self::WriteProfile
                | Self::WriteRoom
                | Self::DeleteRoom
                | Self::WritePages
                | Self::WritePeerHeads
                | Self::CutBooks
                | Self::WriteBlob
                | Self::DeleteBlob
        )
    }
}

impl std::fmt::Display for StorageOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self {
            Self::Open => "opening the local database",
            Self::ReadIdentity => "reading your identity",
            Self::WriteIdentity => "saving your identity",
            Self::ReadProfile => "reading your profile",
            Self::WriteProfile => "saving your profile",
            Self::ReadRooms => "reading rooms",
            Self::WriteRoom => "saving a room",
            Self::DeleteRoom => "deleting a room",
            Self::ReadBooks => "reading books",
            Self::ReadPages => "reading pages",
            Self::WritePages => "saving pages",
            Self::ReadPeerHeads => "reading delivery state",
            Self::WritePeerHeads => "saving delivery state",
            Self::ReadProofs => "reading equivocation proofs",
            Self::CutBooks => "cutting back forked or dropped books",
            Self::ReadBlobs => "reading shared files",
            Self::WriteBlob => "saving a shared file",
            Self::DeleteBlob => "removing a shared file",
        };
        f.write_str(what)
    }
}

/// A local storage failure. Each variant maps to one thing the app does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Tell the user: this browser context has no usable IndexedDB (some private modes, storage
    /// disabled by policy). Quire cannot keep anything, so it must not pretend to.
    #[error("this browser does not let Quire store data (private window or storage disabled)")]
    Unavailable,
    /// Tell the user the device is full; nothing of the failed write was kept.
    #[error("storage is full: the browser refused to store more data while {op}")]
    QuotaExceeded { op: StorageOp },
    /// A newer Quire (open in another tab, or before a downgrade) upgraded the database.
    #[error(
        "the local database was created by a newer version of Quire (this one knows schema {supported}); reload the page"
    )]
    NewerSchema { supported: u32 },
    /// Another tab is upgrading the database, so this tab's connection was closed. Reload.
    #[error("the local database was closed because another Quire tab upgraded it; reload the page")]
    Closed,
    /// The batch would overwrite a stored page: pages are sealed, so the batch was refused whole.
    #[error(
        "a page in this batch is already stored; pages are never overwritten, nothing was written"
    )]
    PageConflict,
    /// A caller bug: a batch's pages must extend their book without gaps.
    #[error("batch for book {book} is not contiguous: expected seq {expected}, found {found}")]
    BatchNotContiguous {
        book: String,
        expected: u64,
        found: u64,
    },
    /// Data on disk does not decode: report corruption, don't guess.
    #[error("stored data could not be read while {op}: {detail}")]
    Corrupt { op: StorageOp, detail: String },
    /// A value could not be turned into a storable record (a caller bug).
    #[error("could not encode data while {op}: {detail}")]
    Encode { op: StorageOp, detail: String },
    /// The transaction was rolled back (another failure, tab closing); retrying may succeed.
    #[error("the write was rolled back while {op}; nothing of it was kept")]
    Aborted { op: StorageOp },
    /// The browser reported a failure that has no more specific meaning for Quire.
    #[error("browser storage failed while {op}: {name}: {message}")]
    Browser {
        op: StorageOp,
        name: String,
        message: String,
    },
}

impl StorageError {
    /// True when the same operation may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Aborted { .. } | Self::Browser { .. })
    }

    /// Classifies a failure by the DOMException name the browser gave it.
    ///
    /// Kept separate from the JS types so the rules are unit-testable natively.
    pub fn from_dom_name(op: StorageOp, name: &str, message: String) -> Self {
        match name {
            "QuotaExceededError" => Self::QuotaExceeded { op },
            // Every request on a closed connection fails with InvalidStateError; Quire never
            // makes the other misuses that raise it (requests on finished transactions).
            "InvalidStateError" => Self::Closed,
            "VersionError" => Self::NewerSchema {
                supported: super::schema::SCHEMA_VERSION,
            },
            "ConstraintError" if op == StorageOp::WritePages => Self::PageConflict,
            "AbortError" => Self::Aborted { op },
            "DataCloneError" | "DataError" if op.is_write() => Self::Encode {
                op,
                detail: message,
            },
            "DataCloneError" | "DataError" => Self::Corrupt {
                op,
                detail: message,
            },
            "SecurityError" | "NotAllowedError" => Self::Unavailable,
            _ => Self::Browser {
                op,
                name: name.to_owned(),
                message,
            },
        }
    }

    pub(crate) fn from_idb(op: StorageOp, err: IdbError) -> Self {
        match err {
            IdbError::DomException(dom) => {
                let message = dom.message();
                let name = dom_name(&dom);
                Self::from_dom_name(op, &name, message)
            }
            IdbError::Serialisation(e) if op.is_write() => Self::Encode {
                op,
                detail: e.to_string(),
            },
            IdbError::Serialisation(e) => Self::Corrupt {
                op,
                detail: e.to_string(),
            },
            IdbError::MissingData(e) => match e {
                indexed_db_futures::error::UnexpectedDataError::TransactionAborted => {
                    Self::Aborted { op }
                }
                other => Self::Browser {
                    op,
                    name: "MissingData".to_owned(),
                    message: other.to_string(),
                },
            },
            IdbError::Unknown(e) => Self::Browser {
                op,
                name: "Error".to_owned(),
                message: e.to_string(),
            },
        }
    }

    pub(crate) fn from_open(err: OpenDbError) -> Self {
        match err {
            OpenDbError::UnsupportedEnvironment | OpenDbError::NullFactory => Self::Unavailable,
            OpenDbError::VersionZero => Self::Browser {
                op: StorageOp::Open,
                name: "VersionZero".to_owned(),
                message: "schema version 0 is not a valid IndexedDB version".to_owned(),
            },
            OpenDbError::Base(e) => Self::from_idb(StorageOp::Open, e),
        }
    }
}

fn dom_name(dom: &DomException) -> String {
    use indexed_db_futures::internals::SystemRepr;
    dom.as_sys().name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_exceeded_is_reported_as_storage_full() {
        let err =
            StorageError::from_dom_name(StorageOp::WritePages, "QuotaExceededError", "x".into());
        assert_eq!(
            err,
            StorageError::QuotaExceeded {
                op: StorageOp::WritePages
            }
        );
        assert!(err.to_string().starts_with("storage is full"));
        assert!(!err.is_transient());
    }

    #[test]
    fn constraint_error_on_pages_means_a_page_would_be_overwritten() {
        let err =
            StorageError::from_dom_name(StorageOp::WritePages, "ConstraintError", String::new());
        assert_eq!(err, StorageError::PageConflict);
        let other =
            StorageError::from_dom_name(StorageOp::WriteRoom, "ConstraintError", "m".into());
        assert!(matches!(other, StorageError::Browser { .. }));
    }

    #[test]
    fn bad_data_is_corruption_on_read_and_a_bug_on_write() {
        let read = StorageError::from_dom_name(StorageOp::ReadPages, "DataError", "d".into());
        assert!(matches!(read, StorageError::Corrupt { .. }));
        let write = StorageError::from_dom_name(StorageOp::WritePages, "DataError", "d".into());
        assert!(matches!(write, StorageError::Encode { .. }));
    }

    #[test]
    fn version_error_asks_for_a_reload() {
        let err = StorageError::from_dom_name(StorageOp::Open, "VersionError", String::new());
        assert!(err.to_string().contains("newer version of Quire"));
    }
}
