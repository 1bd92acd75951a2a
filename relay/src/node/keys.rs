//! The relay's long-lived secrets, kept in `--data-dir`: its libp2p identity (so the PeerId in
//! invite links and browser caches stays valid) and its WebRTC certificate (so the certhash in
//! `/webrtc-direct` addresses survives restarts; research pitfall 16).
//!
//! Files are written to a temporary name and renamed, so a crash never leaves half a key, and
//! are created with mode 0600 because they are private keys.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use libp2p::identity::Keypair;
use libp2p_webrtc::tokio::Certificate;

/// The identity key, protobuf-encoded as libp2p defines it (type-tagged, so a future key type
/// would still load).
const IDENTITY_FILE: &str = "identity.key";
/// The WebRTC certificate with its private key, PEM (PKCS#8) as libp2p-webrtc serialises it.
const CERTIFICATE_FILE: &str = "webrtc-cert.pem";

/// Why the relay's keys could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a key; refusing to overwrite it keeps an operator's mistake
    /// from silently changing the relay's PeerId.
    #[error("{path} exists but is not a valid identity key; move it away to create a new one")]
    CorruptIdentity { path: PathBuf },
    #[error(
        "{path} exists but is not a valid WebRTC certificate; move it away to create a new one"
    )]
    CorruptCertificate { path: PathBuf },
    #[error("cannot generate a WebRTC certificate: {0}")]
    CertificateGeneration(String),
}

/// Loads the identity from `data_dir`, creating and saving a new ed25519 key on first start.
pub(crate) fn load_or_create_identity(data_dir: &Path) -> Result<Keypair, KeyError> {
    let path = data_dir.join(IDENTITY_FILE);
    if let Some(bytes) = read_if_exists(&path)? {
        return Keypair::from_protobuf_encoding(&bytes)
            .map_err(|_| KeyError::CorruptIdentity { path });
    }
    ensure_dir(data_dir)?;
    let keypair = Keypair::generate_ed25519();
    let bytes = keypair
        .to_protobuf_encoding()
        .map_err(|_| KeyError::CorruptIdentity { path: path.clone() })?;
    write_private(&path, &bytes)?;
    Ok(keypair)
}

/// Loads the WebRTC certificate from `data_dir`, creating and saving one on first start.
pub(crate) fn load_or_create_certificate(data_dir: &Path) -> Result<Certificate, KeyError> {
    let path = data_dir.join(CERTIFICATE_FILE);
    if let Some(bytes) = read_if_exists(&path)? {
        let pem = String::from_utf8(bytes)
            .map_err(|_| KeyError::CorruptCertificate { path: path.clone() })?;
        return Certificate::from_pem(&pem).map_err(|_| KeyError::CorruptCertificate { path });
    }
    ensure_dir(data_dir)?;
    let certificate = Certificate::generate(&mut rand::rng())
        .map_err(|error| KeyError::CertificateGeneration(error.to_string()))?;
    write_private(&path, certificate.serialize_pem().as_bytes())?;
    Ok(certificate)
}

fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn ensure_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt as _;
    // Only the relay's user may list or read the keys.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| KeyError::DataDir {
            path: dir.to_owned(),
            source,
        })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let io_error = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(io_error)?;
    file.write_all(bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)
}
