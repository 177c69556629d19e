//! Failures of the cadastre module in (open, decompress, parse, write) → one `CadastreError`
//! out, always naming the file. Per-parcel problems are not errors but counted issues
//! (see `issues`).

use std::path::PathBuf;

/// A whole file cannot be used (or an argument is wrong).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CadastreError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the name ends in .gz but the file is not gzip (it does not start with the bytes 1f 8b)", path.display())]
    NotGzip { path: PathBuf },
    #[error("{}: corrupt gzip stream after {decompressed} decompressed bytes: {source}", path.display())]
    Gzip {
        path: PathBuf,
        decompressed: u64,
        source: std::io::Error,
    },
    #[error("{}: decompressed data exceed the limit of {limit} bytes (gzip bomb?); raise the limit if the file is genuine", path.display())]
    DecompressedTooLarge { path: PathBuf, limit: u64 },
    #[error("{}: feature #{feature_index} (at byte {offset}) exceeds the limit of {limit} bytes for one feature", path.display())]
    FeatureTooLarge {
        path: PathBuf,
        feature_index: u64,
        offset: u64,
        limit: u64,
    },
    #[error("{}: the file is cut short: it ends {context} at byte {offset}, after {features_read} complete features", path.display())]
    Truncated {
        path: PathBuf,
        offset: u64,
        features_read: u64,
        context: &'static str,
    },
    #[error("{}: invalid JSON at byte {offset}{}: {message}", path.display(), feature_index.map(|i| format!(" (feature #{i})")).unwrap_or_default())]
    Syntax {
        path: PathBuf,
        offset: u64,
        feature_index: Option<u64>,
        message: String,
    },
    #[error("{}: not a GeoJSON FeatureCollection: {message}", path.display())]
    NotFeatureCollection { path: PathBuf, message: String },
    #[error("{}: points file: {message}", path.display())]
    Points { path: PathBuf, message: String },
    #[error("{}: cannot write CSV: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
}

impl CadastreError {
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Io { path, .. }
            | Self::Write { path, .. }
            | Self::NotGzip { path }
            | Self::Gzip { path, .. }
            | Self::DecompressedTooLarge { path, .. }
            | Self::FeatureTooLarge { path, .. }
            | Self::Truncated { path, .. }
            | Self::Syntax { path, .. }
            | Self::NotFeatureCollection { path, .. }
            | Self::Points { path, .. }
            | Self::Csv { path, .. } => Some(path),
        }
    }
}
