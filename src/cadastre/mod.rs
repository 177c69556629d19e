//! Cadastral parcels: Etalab `cadastre-<insee>-parcelles.json[.gz]` files in → parcels,
//! point-in-parcel and footprint-overlap joins, and the `join-parcels` CSV out.
//!
//! - `read`: streaming reader (plain or gzip by magic bytes, capped, feature by feature) →
//!   [`Parcel`]s and counted issues (`issues`).
//! - `join`: [`ParcelIndex`] (R-tree; point → smallest containing parcel; footprint → parcels
//!   overlapped by more than a share, in m²) and [`join_parcels`] (points → CSV, streaming).
//! - `stage`: the build's cadastre stage (facilities → per-commune files through the fetcher
//!   → footprint and parcel surfaces, polygon rows, data issues).
//! - private: `source` (open, gzip, cap), `split` (stream → feature batches), `feature`
//!   (feature JSON → flat geometry and properties).

pub mod error;
mod feature;
pub mod issues;
pub mod join;
pub mod read;
mod source;
mod split;
pub mod stage;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::CadastreError;
pub use issues::{IssueCode, IssueCounts, PARCEL_CODES, ParcelIssue};
pub use join::{
    DEFAULT_MIN_OVERLAP_SHARE, InputPoint, JoinOptions, JoinStats, ParcelIndex, ParcelOverlap,
    PointMatch, contains_inclusive, join_parcels, match_points, read_points, write_summary,
};
pub use read::{
    DEFAULT_MAX_DECOMPRESSED_BYTES, DEFAULT_MAX_FEATURE_BYTES, Parcel, ParcelInput, ParcelReader,
    ReadOptions, ReadOutcome, ScanOutcome, read_parcels, scan_parcel_input, scan_parcels,
};
