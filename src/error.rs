//! Library error types (thiserror). Each variant names the file, source or key it is about;
//! per-record problems are not errors but `DataIssue`s (see `model`).

use std::path::PathBuf;

/// The catalog (`sources/*.toml`) cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("cannot read catalog path {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("catalog folder {0} holds no source TOML")]
    Empty(PathBuf),
    #[error("{path}: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// A source file could not be obtained (mirror or network).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("source {source_id}: file {file} not found in the mirror at {path}")]
    MirrorMissing {
        source_id: String,
        file: String,
        path: PathBuf,
    },
    #[error("source {source_id}: cannot read {path}: {err}")]
    Io {
        source_id: String,
        path: PathBuf,
        err: std::io::Error,
    },
    #[error(
        "source {source_id}: file {file} has no live URL in the catalog; build it from a mirror (--mirror)"
    )]
    NoUrl { source_id: String, file: String },
    #[error("source {source_id}: downloading {url}: {message}")]
    Http {
        source_id: String,
        url: String,
        message: String,
    },
}

/// A whole file cannot be parsed by its adapter: the source fails, the others go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{file}: the file is empty")]
    Empty { file: String },
    #[error("{file}: not valid UTF-8 at byte {offset}")]
    NotUtf8 { file: String, offset: usize },
    #[error(
        "{file}: not text: {broken} of its {len} bytes are not UTF-8 or NUL (first at byte {offset})"
    )]
    NotText {
        file: String,
        broken: usize,
        len: usize,
        offset: usize,
    },
    #[error("{file}: invalid JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: invalid CSV: {message}")]
    Csv { file: String, message: String },
    #[error("{file}: missing column(s) {missing:?} in the header {header:?}")]
    Header {
        file: String,
        missing: Vec<String>,
        header: Vec<String>,
    },
    #[error("{file}: unexpected structure: {message}")]
    Structure { file: String, message: String },
    #[error("{file}: {message}")]
    Boundaries { file: String, message: String },
}

/// The inventory could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the GeoPackage {path}: {message}")]
    Gpkg { path: PathBuf, message: String },
    #[error("serialising {what}: {message}")]
    Serialise { what: String, message: String },
}

/// A build cannot complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the administrative boundaries are required to locate records: {0}")]
    Boundaries(String),
    #[error("no facility source could be built: {0}")]
    NothingBuilt(String),
    #[error("output folder {path}: {message}")]
    Output { path: PathBuf, message: String },
}

/// Why a source of a build failed, or why a file fell back to its last good snapshot (then
/// named in the source's `stale` note). The message names the source or the file.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SourceFailure {
    /// The catalog names an adapter the registry does not have.
    #[error("no adapter `{0}`")]
    NoAdapter(String),
    #[error("{0}")]
    Fetch(std::sync::Arc<FetchError>),
    #[error("source {source_id}: {error}")]
    Parse {
        source_id: String,
        error: std::sync::Arc<ParseError>,
    },
    /// Far fewer entries than the last good snapshot: not trusted.
    #[error(
        "{file}: {entries} entries against {last_good} in the last good snapshot (more than {max_shrink_pct:.0} % fewer){issues}"
    )]
    Shrunk {
        file: String,
        entries: usize,
        last_good: u64,
        max_shrink_pct: f64,
        /// `; its data issues: code ×n, ...`, or empty.
        issues: String,
    },
    /// The fresh snapshot could not be used and the last good one no longer parses.
    #[error("{why}; the last good snapshot no longer parses: {error}")]
    LastGoodUnparsable {
        why: Box<SourceFailure>,
        error: std::sync::Arc<ParseError>,
    },
}
