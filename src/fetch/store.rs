//! Snapshot store: in go downloaded bytes with their provenance (per source id and file name),
//! out come content-addressed snapshots `<root>/<source-id>/<sha256>` with a JSON sidecar
//! `<sha256>.json`, per-(source, file) pointers `<root>/<source-id>/files/<file>.json` to the
//! latest and the last good snapshot, verified reads, and a garbage collector that keeps the N
//! most recent snapshots of each file plus every last good one. Every write goes through a
//! temporary file and a rename.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Sidecar of one snapshot: where and when its bytes came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    pub url: String,
    pub final_url: String,
    pub status: u16,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    pub tool_version: String,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Where downloaded bytes came from (the part of [`SnapshotMeta`] the caller knows).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    pub url: String,
    pub final_url: String,
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
}

/// The last snapshot of a file that parsed into records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodSnapshot {
    pub sha256: String,
    pub record_count: u64,
    /// RFC 3339, UTC.
    pub marked_at: String,
}

/// One snapshot removed by [`SnapshotStore::gc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedSnapshot {
    pub source_id: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcReport {
    pub removed: Vec<RemovedSnapshot>,
    /// Snapshots still in the store.
    pub kept: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("snapshot {sha256} of {source_id} is corrupt (its bytes hash to {actual})")]
    Corrupt {
        source_id: String,
        sha256: String,
        actual: String,
    },
    #[error("no snapshot {sha256} of {source_id}")]
    NotFound { source_id: String, sha256: String },
    #[error("invalid {what} {name:?}")]
    InvalidName { what: &'static str, name: String },
}

/// Per-(source, file) pointer file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FilePointer {
    source_id: String,
    file_name: String,
    /// Provenance of the latest download of this file (validators come from here).
    latest: Option<SnapshotMeta>,
    /// Last time the server confirmed `latest` (200 or 304).
    checked_at: Option<String>,
    last_good: Option<GoodSnapshot>,
    /// Distinct snapshots of this file, newest first.
    history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct HistoryEntry {
    sha256: String,
    fetched_at: String,
}

/// A content-addressed snapshot store under one root folder.
#[derive(Debug)]
pub struct SnapshotStore {
    root: PathBuf,
    /// Serialises pointer updates and gc within this process.
    lock: Mutex<()>,
}

const POINTER_DIR: &str = "files";

impl SnapshotStore {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<SnapshotStore, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io_err(&root, e))?;
        Ok(SnapshotStore {
            root,
            lock: Mutex::new(()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a snapshot's bytes (whether or not it exists).
    pub fn blob_path(&self, source_id: &str, sha256: &str) -> Result<PathBuf, StoreError> {
        check_name("source id", source_id)?;
        check_sha(sha256)?;
        Ok(self.root.join(source_id).join(sha256))
    }

    /// Stores `bytes` as the latest snapshot of (`source_id`, `file_name`): blob and sidecar
    /// (rewritten), then the pointer. Returns the sidecar.
    pub fn put(
        &self,
        source_id: &str,
        file_name: &str,
        bytes: &[u8],
        provenance: &Provenance,
        fetched_at: DateTime<Utc>,
    ) -> Result<SnapshotMeta, StoreError> {
        check_name("source id", source_id)?;
        check_name("file name", file_name)?;
        let sha256 = sha256_hex(bytes);
        let meta = SnapshotMeta {
            url: provenance.url.clone(),
            final_url: provenance.final_url.clone(),
            status: provenance.status,
            etag: provenance.etag.clone(),
            last_modified: provenance.last_modified.clone(),
            sha256: sha256.clone(),
            bytes: bytes.len() as u64,
            fetched_at: rfc3339(fetched_at),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            content_type: provenance.content_type.clone(),
        };
        let dir = self.root.join(source_id);
        write_atomic(&dir.join(&sha256), bytes)?;
        write_json(&dir.join(format!("{sha256}.json")), &meta)?;

        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pointer = self.load_pointer(source_id, file_name)?;
        pointer.history.retain(|h| h.sha256 != sha256);
        pointer.history.insert(
            0,
            HistoryEntry {
                sha256,
                fetched_at: meta.fetched_at.clone(),
            },
        );
        pointer.latest = Some(meta.clone());
        pointer.checked_at = Some(meta.fetched_at.clone());
        self.save_pointer(&pointer)?;
        Ok(meta)
    }

    /// Records a 304 for the latest snapshot of the file: refreshed validators (when the server
    /// sent some) and the check time. Returns the updated latest meta.
    pub fn record_not_modified(
        &self,
        source_id: &str,
        file_name: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        checked_at: DateTime<Utc>,
    ) -> Result<SnapshotMeta, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pointer = self.load_pointer(source_id, file_name)?;
        let Some(latest) = pointer.latest.as_mut() else {
            return Err(StoreError::NotFound {
                source_id: source_id.to_string(),
                sha256: format!("(latest of {file_name})"),
            });
        };
        if let Some(etag) = etag {
            latest.etag = Some(etag.to_string());
        }
        if let Some(last_modified) = last_modified {
            latest.last_modified = Some(last_modified.to_string());
        }
        let latest = latest.clone();
        pointer.checked_at = Some(rfc3339(checked_at));
        self.save_pointer(&pointer)?;
        Ok(latest)
    }

    /// Provenance of the latest download of the file, if any.
    pub fn latest(
        &self,
        source_id: &str,
        file_name: &str,
    ) -> Result<Option<SnapshotMeta>, StoreError> {
        Ok(self.load_pointer(source_id, file_name)?.latest)
    }

    /// Marks a stored snapshot as the last good one of the file, with its record count.
    pub fn mark_good(
        &self,
        source_id: &str,
        file_name: &str,
        sha256: &str,
        record_count: u64,
    ) -> Result<GoodSnapshot, StoreError> {
        if !self.contains(source_id, sha256)? {
            return Err(StoreError::NotFound {
                source_id: source_id.to_string(),
                sha256: sha256.to_string(),
            });
        }
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pointer = self.load_pointer(source_id, file_name)?;
        let good = GoodSnapshot {
            sha256: sha256.to_string(),
            record_count,
            marked_at: rfc3339(Utc::now()),
        };
        pointer.last_good = Some(good.clone());
        self.save_pointer(&pointer)?;
        Ok(good)
    }

    pub fn last_good(
        &self,
        source_id: &str,
        file_name: &str,
    ) -> Result<Option<GoodSnapshot>, StoreError> {
        Ok(self.load_pointer(source_id, file_name)?.last_good)
    }

    /// Whether the bytes of a snapshot are present (not verified).
    pub fn contains(&self, source_id: &str, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.blob_path(source_id, sha256)?.is_file())
    }

    /// The bytes of a snapshot, checked against their sha256.
    pub fn read(&self, source_id: &str, sha256: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(source_id, sha256)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    source_id: source_id.to_string(),
                    sha256: sha256.to_string(),
                });
            }
            Err(e) => return Err(io_err(&path, e)),
        };
        let actual = sha256_hex(&bytes);
        if actual != sha256 {
            return Err(StoreError::Corrupt {
                source_id: source_id.to_string(),
                sha256: sha256.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The sidecar of a snapshot.
    pub fn meta(&self, source_id: &str, sha256: &str) -> Result<SnapshotMeta, StoreError> {
        let path = self.blob_path(source_id, sha256)?.with_extension("json");
        match read_json(&path)? {
            Some(meta) => Ok(meta),
            None => Err(StoreError::NotFound {
                source_id: source_id.to_string(),
                sha256: sha256.to_string(),
            }),
        }
    }

    /// The snapshots (sha256) of one source, sorted.
    pub fn snapshots(&self, source_id: &str) -> Result<Vec<String>, StoreError> {
        check_name("source id", source_id)?;
        let mut out = blob_names(&self.root.join(source_id))?;
        out.sort();
        Ok(out)
    }

    /// The source ids that have a folder in the store, sorted.
    pub fn sources(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(|e| io_err(&self.root, e))? {
            let entry = entry.map_err(|e| io_err(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && check_name("source id", &name).is_ok() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Keeps, for each (source, file), its `keep` most recent snapshots and its last good one;
    /// removes every other snapshot (bytes and sidecar) of the source, including ones no file
    /// points to. A removed latest snapshot clears the file's validators.
    pub fn gc(&self, keep: usize) -> Result<GcReport, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut report = GcReport::default();
        for source_id in self.sources()? {
            let dir = self.root.join(&source_id);
            let mut pointers = self.load_pointers(&source_id)?;
            let mut kept: BTreeSet<String> = BTreeSet::new();
            for pointer in &mut pointers {
                let good = pointer.last_good.as_ref().map(|g| g.sha256.clone());
                let mut index = 0;
                pointer.history.retain(|h| {
                    index += 1;
                    index <= keep || good.as_deref() == Some(h.sha256.as_str())
                });
                kept.extend(pointer.history.iter().map(|h| h.sha256.clone()));
                kept.extend(good);
            }
            for pointer in &mut pointers {
                if pointer
                    .latest
                    .as_ref()
                    .is_some_and(|l| !kept.contains(&l.sha256))
                {
                    pointer.latest = None;
                }
                self.save_pointer(pointer)?;
            }
            let mut blobs = blob_names(&dir)?;
            blobs.sort();
            for sha256 in blobs {
                if kept.contains(&sha256) {
                    report.kept += 1;
                    continue;
                }
                let blob = dir.join(&sha256);
                let bytes = fs::metadata(&blob).map(|m| m.len()).unwrap_or(0);
                remove_if_exists(&blob)?;
                remove_if_exists(&dir.join(format!("{sha256}.json")))?;
                report.removed.push(RemovedSnapshot {
                    source_id: source_id.clone(),
                    sha256,
                    bytes,
                });
            }
        }
        Ok(report)
    }

    fn pointer_path(&self, source_id: &str, file_name: &str) -> Result<PathBuf, StoreError> {
        check_name("source id", source_id)?;
        check_name("file name", file_name)?;
        Ok(self
            .root
            .join(source_id)
            .join(POINTER_DIR)
            .join(format!("{file_name}.json")))
    }

    fn load_pointer(&self, source_id: &str, file_name: &str) -> Result<FilePointer, StoreError> {
        let path = self.pointer_path(source_id, file_name)?;
        Ok(read_json(&path)?.unwrap_or_else(|| FilePointer {
            source_id: source_id.to_string(),
            file_name: file_name.to_string(),
            ..FilePointer::default()
        }))
    }

    fn save_pointer(&self, pointer: &FilePointer) -> Result<(), StoreError> {
        write_json(
            &self.pointer_path(&pointer.source_id, &pointer.file_name)?,
            pointer,
        )
    }

    fn load_pointers(&self, source_id: &str) -> Result<Vec<FilePointer>, StoreError> {
        let dir = self.root.join(source_id).join(POINTER_DIR);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| io_err(&dir, e))?.path();
            if path.extension().is_some_and(|x| x == "json")
                && let Some(pointer) = read_json::<FilePointer>(&path)?
            {
                out.push(pointer);
            }
        }
        Ok(out)
    }
}

/// Lower-case hex sha256 of `bytes`.
pub use crate::common::sha256_hex;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn io_err(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Source ids and file names become path components: no separators, no leading dot.
fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    let bad = name.is_empty()
        || name.len() > 200
        || name.starts_with('.')
        || name.contains(['/', '\\', '\0'])
        || name == POINTER_DIR;
    if bad {
        return Err(StoreError::InvalidName {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}

fn is_sha(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_sha(sha256: &str) -> Result<(), StoreError> {
    if is_sha(sha256) {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what: "sha256",
            name: sha256.to_string(),
        })
    }
}

fn blob_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_sha(&name) && entry.path().is_file() {
            out.push(name);
        }
    }
    Ok(out)
}

fn remove_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StoreError> {
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, e)),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|source| StoreError::Json {
            path: path.to_path_buf(),
            source,
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let json = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &json)
}

/// [`crate::common::write_atomic`] (temporary file, fsync, rename) with the error naming `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    crate::common::write_atomic(path, bytes).map_err(|e| io_err(path, e))
}
