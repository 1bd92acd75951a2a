//! The local user's identity: creating it at registration, keeping it, and the backup file.
//!
//! The identity is core's ed25519 [`Identity`]; what is stored is its 32-byte secret seed.
//! Randomness comes from the browser's CSPRNG (`crypto.getRandomValues` through `getrandom`),
//! never from core.
//!
//! # Backup file (version 1)
//! A small JSON document, so a user can recognise it and a future Quire can read it:
//! ```json
//! { "format": "quire-identity", "version": 1, "user_id": "12D3KooW…",
//!   "display_name": "Ada", "secret_key": "<64 hex digits>", "created_at_ms": 1700000000000 }
//! ```
//! `user_id` is redundant with the key on purpose: importing checks that the key yields that
//! id, so a damaged or hand-edited file is refused instead of silently becoming someone else.

use quire_core::identity::{Identity, SECRET_KEY_LEN};
use serde::{Deserialize, Serialize};

use crate::shell::{DisplayName, DisplayNameError};
use crate::storage::{IdentityRecord, ProfileRecord};

/// Value of the backup file's `format` field.
pub const BACKUP_FORMAT: &str = "quire-identity";
/// The backup version this build writes; it reads this version only.
pub const BACKUP_VERSION: u32 = 1;
/// Largest file accepted for import. Why: a real backup is under 300 bytes; refusing anything
/// over 16 KiB before parsing keeps a wrong file (a photo, a video) from being read into memory.
pub const MAX_BACKUP_BYTES: usize = 16 * 1024;
/// File name offered when saving a backup.
pub const BACKUP_FILE_NAME: &str = "quire-identity.json";

/// Why an identity could not be created or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The browser offered no secure randomness (should not happen in any supported browser).
    #[error("this browser cannot generate a secure key")]
    NoRandomness,
    /// The stored key is unusable: local data is damaged.
    #[error("the identity stored in this browser is damaged")]
    StoredKeyDamaged,
}

/// Why a backup file was refused. Messages are shown to the user as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("This file is too large to be a Quire identity backup.")]
    TooLarge,
    #[error("This file is not a Quire identity backup.")]
    NotABackup,
    #[error(
        "This backup was made by a newer version of Quire (format version {found}); update Quire to import it."
    )]
    NewerVersion { found: u32 },
    #[error("This backup is damaged: its key does not match its user id.")]
    Damaged,
    #[error("The name in this backup is not usable: {0}")]
    BadName(DisplayNameError),
}

/// Draws a fresh secret key from the browser's CSPRNG.
pub fn generate_secret() -> Result<[u8; SECRET_KEY_LEN], IdentityError> {
    let mut secret = [0u8; SECRET_KEY_LEN];
    getrandom::fill(&mut secret).map_err(|_| IdentityError::NoRandomness)?;
    Ok(secret)
}

/// A new identity for a first visit.
pub fn create_identity() -> Result<Identity, IdentityError> {
    Identity::from_secret_bytes(generate_secret()?).map_err(|_| IdentityError::NoRandomness)
}

/// What to store for `identity`.
pub fn identity_record(identity: &Identity, created_at_ms: f64) -> IdentityRecord {
    IdentityRecord {
        secret_key: identity.secret_bytes().to_vec(),
        created_at_ms,
    }
}

/// The identity a stored record holds.
pub fn identity_from_record(record: &IdentityRecord) -> Result<Identity, IdentityError> {
    let secret: [u8; SECRET_KEY_LEN] = record
        .secret_key
        .as_slice()
        .try_into()
        .map_err(|_| IdentityError::StoredKeyDamaged)?;
    Identity::from_secret_bytes(secret).map_err(|_| IdentityError::StoredKeyDamaged)
}

#[derive(Serialize, Deserialize)]
struct BackupFile {
    format: String,
    version: u32,
    user_id: String,
    display_name: String,
    secret_key: String,
    created_at_ms: f64,
}

/// The contents of a backup file for `identity`.
pub fn export_backup(identity: &Identity, profile: &ProfileRecord, created_at_ms: f64) -> String {
    let file = BackupFile {
        format: BACKUP_FORMAT.to_owned(),
        version: BACKUP_VERSION,
        user_id: identity.user_id().to_string(),
        display_name: profile.display_name.clone(),
        secret_key: hex::encode(identity.secret_bytes()),
        created_at_ms,
    };
    // Serialising a struct of strings and numbers to JSON cannot fail; an empty file would be
    // refused on import rather than mistaken for a backup.
    serde_json::to_string_pretty(&file).unwrap_or_default()
}

/// What an imported backup restores.
#[derive(Debug)]
pub struct Restored {
    pub identity: Identity,
    pub record: IdentityRecord,
    pub profile: ProfileRecord,
}

/// Reads a backup file, refusing anything that is not exactly a valid one.
pub fn import_backup(bytes: &[u8]) -> Result<Restored, BackupError> {
    if bytes.len() > MAX_BACKUP_BYTES {
        return Err(BackupError::TooLarge);
    }
    // Read the version first, so a newer file gets "update Quire", not "not a backup".
    #[derive(Deserialize)]
    struct Header {
        format: String,
        version: u32,
    }
    let header: Header = serde_json::from_slice(bytes).map_err(|_| BackupError::NotABackup)?;
    if header.format != BACKUP_FORMAT {
        return Err(BackupError::NotABackup);
    }
    if header.version != BACKUP_VERSION {
        return Err(BackupError::NewerVersion {
            found: header.version,
        });
    }
    let file: BackupFile = serde_json::from_slice(bytes).map_err(|_| BackupError::NotABackup)?;
    let secret: [u8; SECRET_KEY_LEN] = hex::decode(file.secret_key.trim())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(BackupError::Damaged)?;
    let identity = Identity::from_secret_bytes(secret).map_err(|_| BackupError::Damaged)?;
    if identity.user_id().to_string() != file.user_id.trim() {
        return Err(BackupError::Damaged);
    }
    let name = DisplayName::parse(&file.display_name).map_err(BackupError::BadName)?;
    let created_at_ms = if file.created_at_ms.is_finite() {
        file.created_at_ms
    } else {
        0.0
    };
    Ok(Restored {
        record: identity_record(&identity, created_at_ms),
        identity,
        profile: ProfileRecord {
            display_name: name.as_str().to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ada() -> (Identity, ProfileRecord) {
        (
            Identity::from_secret_bytes([3; 32]).unwrap(),
            ProfileRecord {
                display_name: "Ada".into(),
            },
        )
    }

    #[test]
    fn two_new_identities_differ() {
        let a = create_identity().unwrap();
        let b = create_identity().unwrap();
        assert_ne!(a.user_id(), b.user_id());
    }

    #[test]
    fn stored_record_gives_back_the_same_user() {
        let (me, _) = ada();
        let back = identity_from_record(&identity_record(&me, 1.0)).unwrap();
        assert_eq!(back.user_id(), me.user_id());
    }

    #[test]
    fn a_truncated_stored_key_is_reported_as_damaged() {
        let record = IdentityRecord {
            secret_key: vec![1; 31],
            created_at_ms: 0.0,
        };
        assert_eq!(
            identity_from_record(&record).unwrap_err(),
            IdentityError::StoredKeyDamaged
        );
    }

    #[test]
    fn an_exported_backup_imports_as_the_same_user_and_name() {
        let (me, profile) = ada();
        let file = export_backup(&me, &profile, 42.0);
        let restored = import_backup(file.as_bytes()).unwrap();
        assert_eq!(restored.identity.user_id(), me.user_id());
        assert_eq!(restored.profile, profile);
        assert_eq!(restored.record.created_at_ms, 42.0);
    }

    #[test]
    fn a_file_that_is_not_a_backup_is_refused_clearly() {
        assert_eq!(
            import_backup(b"\x89PNG\r\n").unwrap_err(),
            BackupError::NotABackup
        );
        assert_eq!(
            import_backup(br#"{"format":"other","version":1}"#).unwrap_err(),
            BackupError::NotABackup
        );
        assert_eq!(
            import_backup(&vec![b' '; MAX_BACKUP_BYTES + 1]).unwrap_err(),
            BackupError::TooLarge
        );
    }

    #[test]
    fn a_backup_from_a_newer_quire_asks_for_an_update() {
        let err = import_backup(br#"{"format":"quire-identity","version":2}"#).unwrap_err();
        assert_eq!(err, BackupError::NewerVersion { found: 2 });
        assert!(err.to_string().contains("update Quire"));
    }

    #[test]
    fn an_edited_backup_is_refused_instead_of_becoming_someone_else() {
        let (me, profile) = ada();
        let file = export_backup(&me, &profile, 0.0);
        let key = hex::encode(me.secret_bytes());
        let other_key = hex::encode([4u8; 32]);
        let edited = file.replace(&key, &other_key);
        assert_eq!(
            import_backup(edited.as_bytes()).unwrap_err(),
            BackupError::Damaged
        );
    }
}
