//! Fetch stage: turns a catalog file entry into a [`Snapshot`] (bytes + sha256 + where and when
//! they came from), either from an offline mirror (`<mirror>/<source-id>/<file>`) or by
//! downloading the catalog URL into a content-addressed snapshot cache. Adapters never see
//! anything but the snapshot's bytes.

pub mod http;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::{FileSpec, SourceSpec};
use crate::error::FetchError;

/// The raw bytes of one source file and their identity.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// RFC 3339 time the bytes were read (mirror) or downloaded.
    pub retrieved_at: String,
    /// `mirror:<path>` or the URL.
    pub origin: String,
}

impl Snapshot {
    pub fn new(bytes: Vec<u8>, origin: String) -> Snapshot {
        Snapshot {
            sha256: sha256_hex(&bytes),
            bytes,
            retrieved_at: now_rfc3339(),
            origin,
        }
    }
}

/// Where snapshots come from.
pub trait Fetcher {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError>;
    /// One line for the run record (`mirror ../data`, `live (cache output/cache)`).
    fn describe(&self) -> String;
}

/// Reads `<root>/<source-id>/<file>`; never touches the network.
pub struct MirrorFetcher {
    pub root: PathBuf,
}

impl Fetcher for MirrorFetcher {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError> {
        let path = self.root.join(&spec.id).join(&file.name);
        if !path.is_file() {
            return Err(FetchError::MirrorMissing {
                source_id: spec.id.clone(),
                file: file.name.clone(),
                path,
            });
        }
        let bytes = std::fs::read(&path).map_err(|e| FetchError::Io {
            source_id: spec.id.clone(),
            path: path.clone(),
            err: e,
        })?;
        Ok(Snapshot::new(bytes, format!("mirror:{}", path.display())))
    }

    fn describe(&self) -> String {
        format!("mirror {}", self.root.display())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
