//! OpenStreetMap reading: Overpass API JSON responses and `.osm.pbf` extracts in, GeoJSON-ready
//! features (points for nodes, multipolygons for closed ways and multipolygon relations) and
//! counted issues out.
//!
//! | file | in → out |
//! |---|---|
//! | `filter.rs` | tags → is it a data centre, with which lifecycle status (`DataCentreFilter`); `KEY[=VALUE]` filters (`TagFilter`) |
//! | `overpass.rs` | Overpass `[out:json]` bytes (`out geom;` / `out center;`) → `OsmFeature`s; the France/bbox query |
//! | `pbf.rs` (+ `proto.rs`) | `.osm.pbf` path + tag filter → `OsmFeature`s, in parallel, bounded memory |
//! | `assemble.rs` | member ways (locations) → closed, nested, oriented rings → `MultiPolygon` |
//! | `area.rs` | `MultiPolygon` → geodesic area (m², WGS84) and a representative point |
//! | `geojson.rs` | `OsmFeature`s → RFC 7946 FeatureCollection |
//! | `extract.rs` | the `osm-extract` command: PBF + `--tag` filters → GeoJSON file + counts |
//! | `testpbf.rs`, `tests.rs` | tests only: a small PBF writer; whole-reader tests, including the comparison with `osmium export` on the Helsinki sample |
//!
//! The Overpass tests read `tests/fixtures/overpass/` (synthetic responses) under the crate root.
//!
//! Problems with single elements are never errors: they are `OsmIssue`s with stable codes
//! (`crate::common::IssueCode::Osm*`). Only a file that cannot be read at all is an `OsmError`.

use crate::common::IssueCode;

pub mod area;
pub mod assemble;
pub mod extract;
pub mod filter;
pub mod geojson;
pub mod overpass;
pub mod pbf;
mod proto;

#[cfg(test)]
mod testpbf;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use area::{area_m2, representative_point};
pub use assemble::{Loc, MemberWay, Role, assemble_area};
pub use extract::{ExtractArgs, ExtractSummary, run_extract};
pub use filter::{BlockHint, DataCentreFilter, DcKind, DcMatch, DcStatus, TagFilter, TagFilters};
pub use geojson::write_geojson;
pub use overpass::{
    OverpassArea, OverpassOutput, OverpassQuery, parse_overpass, parse_overpass_named,
};
pub use pbf::{PbfOptions, PbfOutput, PbfStats, extract_pbf, read_pbf};

/// The three kinds of OSM elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OsmType {
    Node,
    Way,
    Relation,
}

impl OsmType {
    /// `"node"`, `"way"` or `"relation"` (as in OSM URLs and Overpass output).
    pub fn as_str(self) -> &'static str {
        match self {
            OsmType::Node => "node",
            OsmType::Way => "way",
            OsmType::Relation => "relation",
        }
    }

    /// The inverse of `as_str`.
    pub fn parse(text: &str) -> Option<OsmType> {
        match text {
            "node" => Some(OsmType::Node),
            "way" => Some(OsmType::Way),
            "relation" => Some(OsmType::Relation),
            _ => None,
        }
    }
}

impl std::fmt::Display for OsmType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a feature is: a point (nodes, Overpass centres) or an area (closed ways, multipolygon
/// relations), in WGS84 degrees; areas have CCW outer and CW inner rings.
#[derive(Debug, Clone, PartialEq)]
pub enum OsmGeometry {
    Point { lon: f64, lat: f64 },
    Area(geo::MultiPolygon<f64>),
}

/// One OSM element that passed the filter, with its geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct OsmFeature {
    pub osm_type: OsmType,
    pub id: i64,
    pub tags: Vec<(String, String)>,
    pub geometry: OsmGeometry,
}

impl OsmFeature {
    /// `"way/123"`: the element path used in issues and in OSM URLs.
    pub fn element(&self) -> String {
        element_path(self.osm_type, self.id)
    }

    /// The value of tag `key`, if present.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A problem with one element (never fatal): stable `code` (an `IssueCode::Osm*`), the element
/// (`"relation/42"`) and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsmIssue {
    pub code: IssueCode,
    pub element: String,
    pub message: String,
}

impl OsmIssue {
    pub fn new(code: IssueCode, osm_type: OsmType, id: i64, message: impl Into<String>) -> Self {
        OsmIssue {
            code,
            element: element_path(osm_type, id),
            message: message.into(),
        }
    }
}

/// `"node/1"`, `"way/2"`, `"relation/3"`.
pub fn element_path(osm_type: OsmType, id: i64) -> String {
    format!("{}/{}", osm_type.as_str(), id)
}

/// Counts of issues per code, sorted by code (for summaries).
pub fn count_issues(issues: &[OsmIssue]) -> Vec<(&'static str, usize)> {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for issue in issues {
        *counts.entry(issue.code.as_str()).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// A whole input or output cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OsmError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: invalid OSM PBF at byte {offset}: {message}")]
    Pbf {
        path: PathBuf,
        offset: u64,
        message: String,
    },
    #[error("{file}: invalid Overpass JSON: {message}")]
    Overpass { file: String, message: String },
    #[error("{file}: the Overpass server reported an error: {remark}")]
    OverpassRemark { file: String, remark: String },
    #[error("invalid tag filter `{text}`: {message}")]
    Filter { text: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
