//! Fetch stage: turns a catalog file entry into a [`Snapshot`] (bytes + sha256 + where and when
//! they came from), either from an offline mirror (`<mirror>/<source-id>/<file>`) or live
//! (`live`: the polite HTTP `client` and the content-addressed snapshot `store`, with the last
//! good snapshot of each file for fallbacks). Adapters never see anything but the bytes.

pub mod client;
pub mod live;
pub mod paging;
pub mod peeringdb;
#[cfg(test)]
mod protocol_tests;
pub mod slots;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testserver;

use std::path::PathBuf;

use crate::common::sha256_hex;

use crate::catalog::{FileSpec, SourceSpec};
use crate::error::FetchError;
use crate::model::FileRun;

/// The raw bytes of one source file and their identity.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// RFC 3339 time the bytes were read (mirror) or downloaded.
    pub retrieved_at: String,
    /// `mirror:<path>` or the URL.
    pub origin: String,
    /// `mirror`, `downloaded`, `not_modified`, `offline_cache` or `last_good`.
    pub outcome: &'static str,
}

impl Snapshot {
    /// Where the records read from this snapshot of `file` come from (no locator yet).
    pub fn provenance(&self, spec: &SourceSpec, file: &FileSpec) -> crate::model::Provenance {
        crate::model::Provenance {
            source_id: spec.id.clone(),
            file: file.name.clone(),
            snapshot_sha256: self.sha256.clone(),
            retrieved_at: self.retrieved_at.clone(),
            origin: self.origin.clone(),
            licence: spec.licence.clone(),
            locator: String::new(),
        }
    }
}

impl Snapshot {
    /// The run of `file` read from this snapshot: `units_read` entries, `parsed` in this
    /// build (false: the output came from the parse cache).
    pub fn file_run(&self, file: &str, units_read: usize, parsed: bool) -> FileRun {
        FileRun {
            file: file.to_string(),
            outcome: self.outcome,
            sha256: Some(self.sha256.clone()),
            bytes: self.bytes.len(),
            origin: Some(self.origin.clone()),
            retrieved_at: Some(self.retrieved_at.clone()),
            units_read,
            parsed,
        }
    }

    pub fn new(bytes: Vec<u8>, origin: String) -> Snapshot {
        Snapshot {
            sha256: sha256_hex(&bytes),
            bytes,
            retrieved_at: now_rfc3339(),
            origin,
            outcome: "mirror",
        }
    }
}

/// Where snapshots come from.
/// `Sync`: the build fetches files of different hosts at the same time (the HTTP client keeps
/// each host's own limits).
pub trait Fetcher: Sync {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError>;
    /// One line for the run record (`mirror ../data`, `live (cache output/cache)`).
    fn describe(&self) -> String;
    /// The last snapshot of this file that parsed well, with its record count (the
    /// fallback when a fetch or a parse fails, or a source shrinks suspiciously).
    fn last_good(&self, _spec: &SourceSpec, _file: &FileSpec) -> Option<(Snapshot, u64)> {
        None
    }
    /// Records that a snapshot parsed well into `count` entries.
    fn mark_good(
        &self,
        _spec: &SourceSpec,
        _file: &FileSpec,
        _sha256: &str,
        _count: u64,
    ) -> Result<(), FetchError> {
        Ok(())
    }
}

/// Reads `<root>/<source-id>/<file>`; never touches the network.
pub struct MirrorFetcher {
    pub root: PathBuf,
    /// Live-only sources (`mirror_optional`) this mirror has no folder for, left out of the
    /// build (see [`MirrorFetcher::split`]).
    pub skipped: Vec<String>,
}

impl MirrorFetcher {
    /// A mirror fetcher over `root`, and the sources it can build: a `mirror_optional`
    /// source without a `<root>/<source-id>/` folder is skipped (and named in
    /// [`Fetcher::describe`]), any other source is kept (a missing file then fails it).
    pub fn split(root: PathBuf, specs: Vec<SourceSpec>) -> (MirrorFetcher, Vec<SourceSpec>) {
        let (skipped, kept): (Vec<SourceSpec>, Vec<SourceSpec>) = specs
            .into_iter()
            .partition(|s| s.mirror_optional && !root.join(&s.id).is_dir());
        let skipped = skipped.into_iter().map(|s| s.id).collect();
        (MirrorFetcher { root, skipped }, kept)
    }
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
        if self.skipped.is_empty() {
            format!("mirror {}", self.root.display())
        } else {
            format!(
                "mirror {}; live-only sources not in the mirror, skipped: {}",
                self.root.display(),
                self.skipped.join(", ")
            )
        }
    }
}

/// A mirror with some files taken live: `--source-url <id>=<url>` (or `<id>/<file>=<url>`)
/// wins over `--mirror` for the source or file it names; every other file is read from the
/// mirror. The live files have the snapshot cache, conditional requests and last good
/// snapshots of a live build.
pub struct MirrorWithUrls {
    mirror: MirrorFetcher,
    live: live::LiveFetcher,
}

impl MirrorWithUrls {
    /// The mirror fetcher and the sources to build: as [`MirrorFetcher::split`], except that a
    /// live-only source named by an override is kept (its URL stands in for the mirror).
    pub fn split(
        root: PathBuf,
        specs: Vec<SourceSpec>,
        overridden: &[String],
    ) -> (MirrorFetcher, Vec<SourceSpec>) {
        let named = |s: &SourceSpec| {
            overridden
                .iter()
                .any(|k| k == &s.id || k.split_once('/').is_some_and(|(id, _)| id == s.id))
        };
        let (skipped, kept): (Vec<SourceSpec>, Vec<SourceSpec>) = specs
            .into_iter()
            .partition(|s| s.mirror_optional && !root.join(&s.id).is_dir() && !named(s));
        let skipped = skipped.into_iter().map(|s| s.id).collect();
        (MirrorFetcher { root, skipped }, kept)
    }

    pub fn new(mirror: MirrorFetcher, live: live::LiveFetcher) -> MirrorWithUrls {
        MirrorWithUrls { mirror, live }
    }

    fn fetcher(&self, spec: &SourceSpec, file: &FileSpec) -> &dyn Fetcher {
        if self.live.overrides(spec, file) {
            &self.live
        } else {
            &self.mirror
        }
    }
}

impl Fetcher for MirrorWithUrls {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError> {
        self.fetcher(spec, file).fetch(spec, file)
    }

    fn describe(&self) -> String {
        format!(
            "{}; --source-url files {}",
            self.mirror.describe(),
            self.live.describe()
        )
    }

    fn last_good(&self, spec: &SourceSpec, file: &FileSpec) -> Option<(Snapshot, u64)> {
        self.fetcher(spec, file).last_good(spec, file)
    }

    fn mark_good(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        sha256: &str,
        count: u64,
    ) -> Result<(), FetchError> {
        self.fetcher(spec, file)
            .mark_good(spec, file, sha256, count)
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
