//! Parcels and points or footprints in → which parcel holds each point, and which parcels a
//! building footprint overlaps (areas in m² on the WGS 84 ellipsoid) out; and the
//! `join-parcels` utility: a parcel file plus a GeoJSON of points in → one CSV row per point.
//!
//! Two ways to join:
//! - [`ParcelIndex`]: parcels in memory under an R-tree of their bounding boxes, for point and
//!   footprint queries.
//! - [`match_points`] / [`join_parcels`]: the other way round for a whole département file:
//!   an R-tree over the (few thousand) points, the parcel file streamed once, each parcel's
//!   bounding box looked up in the points' tree, and only parcels that hold a point built and
//!   tested. Memory stays small whatever the number of parcels.
//!
//! Rules: a point on a parcel's boundary is in it; a point in a hole is not; when several
//! parcels hold a point, the smallest (geodesic area, then id) wins.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{BooleanOps, BoundingRect, Coord, MultiPolygon, Polygon, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::error::CadastreError;
use super::issues::IssueCounts;
use super::read::{Parcel, ReadOptions, scan_parcels};
use crate::common::area_m2;

/// Default share of a footprint's area a parcel must exceed to count as overlapped: 5 %.
pub const DEFAULT_MIN_OVERLAP_SHARE: f64 = 0.05;

/// Header of the `join-parcels` CSV.
pub const JOIN_CSV_HEADER: [&str; 5] = [
    "point_id",
    "point_name",
    "point_index",
    "parcel_id",
    "contenance",
];

/// True when `c` is inside `geom` or on its boundary (holes excluded, their edges included).
pub fn contains_inclusive(geom: &MultiPolygon<f64>, c: Coord<f64>) -> bool {
    geom.coordinate_position(&c) != CoordPos::Outside
}

fn aabb(r: &Rect<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y])
}

/// A parcel overlapped by a footprint.
#[derive(Debug, Clone, PartialEq)]
pub struct ParcelOverlap {
    /// Index of the parcel in [`ParcelIndex::parcels`].
    pub parcel: usize,
    /// Area of footprint ∩ parcel, m².
    pub overlap_m2: f64,
    /// `overlap_m2` / the footprint's area.
    pub share: f64,
}

/// Parcels under an R-tree of their bounding boxes.
pub struct ParcelIndex {
    parcels: Vec<Parcel>,
    areas_m2: Vec<f64>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl ParcelIndex {
    pub fn new(parcels: Vec<Parcel>) -> Self {
        let areas_m2 = parcels.iter().map(|p| area_m2(&p.geometry)).collect();
        let entries = parcels
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let r = p.geometry.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        ParcelIndex {
            parcels,
            areas_m2,
            tree: RTree::bulk_load(entries),
        }
    }

    pub fn parcels(&self) -> &[Parcel] {
        &self.parcels
    }

    pub fn len(&self) -> usize {
        self.parcels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parcels.is_empty()
    }

    /// Geodesic area of parcel `i` in m².
    pub fn area_m2(&self, i: usize) -> f64 {
        self.areas_m2[i]
    }

    /// Index of the parcel holding (`lon`, `lat`), boundary included; the smallest when several.
    pub fn parcel_index_at(&self, lon: f64, lat: f64) -> Option<usize> {
        let c = Coord { x: lon, y: lat };
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|e| e.data)
            .filter(|&i| contains_inclusive(&self.parcels[i].geometry, c))
            .min_by(|&a, &b| {
                self.areas_m2[a]
                    .total_cmp(&self.areas_m2[b])
                    .then_with(|| self.parcels[a].id.cmp(&self.parcels[b].id))
            })
    }

    /// The parcel holding (`lon`, `lat`), boundary included; the smallest when several.
    pub fn parcel_at(&self, lon: f64, lat: f64) -> Option<&Parcel> {
        self.parcel_index_at(lon, lat).map(|i| &self.parcels[i])
    }

    /// Every parcel that `footprint` overlaps by more than `min_share` of the footprint's
    /// area, largest overlap first (then parcel id).
    pub fn overlapping(&self, footprint: &Polygon<f64>, min_share: f64) -> Vec<ParcelOverlap> {
        self.overlapping_multi(&MultiPolygon::new(vec![footprint.clone()]), min_share)
    }

    /// [`Self::overlapping`] for a footprint made of several polygons (a multipolygon with
    /// several outer rings, or the outlines of several buildings of one site).
    pub fn overlapping_multi(
        &self,
        footprint: &MultiPolygon<f64>,
        min_share: f64,
    ) -> Vec<ParcelOverlap> {
        let fp_area = area_m2(footprint);
        let Some(r) = footprint.bounding_rect() else {
            return Vec::new();
        };
        if fp_area.is_nan() || fp_area <= 0.0 {
            return Vec::new();
        }
        let mut out: Vec<ParcelOverlap> = self
            .tree
            .locate_in_envelope_intersecting(&aabb(&r))
            .filter_map(|e| {
                let i = e.data;
                let inter = footprint.intersection(&self.parcels[i].geometry);
                let overlap_m2 = area_m2(&inter);
                let share = overlap_m2 / fp_area;
                (share > min_share).then_some(ParcelOverlap {
                    parcel: i,
                    overlap_m2,
                    share,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.overlap_m2
                .total_cmp(&a.overlap_m2)
                .then_with(|| self.parcels[a.parcel].id.cmp(&self.parcels[b.parcel].id))
        });
        out
    }
}

/// One point of the `--points` file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputPoint {
    /// `properties.id`, else the feature `id`, else `properties.facility_id`.
    pub id: Option<String>,
    /// `properties.name`, else `properties.nom`.
    pub name: Option<String>,
    /// `None` when the feature has no usable Point geometry.
    pub coord: Option<Coord<f64>>,
}

/// The parcel found for a point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointMatch {
    pub parcel_id: String,
    pub contenance_m2: Option<f64>,
    /// Geodesic area of the parcel, m² (used to pick the smallest).
    pub area_m2: f64,
}

/// Counts of a join.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinStats {
    pub points: u64,
    /// Points without a usable Point geometry (written with an empty parcel).
    pub points_invalid: u64,
    pub points_matched: u64,
    /// Features in the parcel file.
    pub features_read: u64,
    /// Parcels whose bounding box held a point (built and tested).
    pub parcels_tested: u64,
    pub issues: IssueCounts,
}

/// Options of [`join_parcels`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JoinOptions {
    pub read: ReadOptions,
}

/// A string or number property (anything else reads as absent).
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    N(serde_json::Number),
    Other(IgnoredAny),
}

impl Text {
    fn get(t: Option<Text>) -> Option<String> {
        match t? {
            Text::S(s) => Some(s),
            Text::N(n) => Some(n.to_string()),
            Text::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct PointCollection {
    features: Vec<PointFeature>,
}

#[derive(Deserialize)]
struct PointFeature {
    #[serde(default)]
    id: Option<Text>,
    #[serde(default)]
    geometry: Option<PointGeometry>,
    #[serde(default)]
    properties: Option<PointProps>,
}

#[derive(Deserialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    coordinates: Option<Value>,
}

#[derive(Deserialize, Default)]
struct PointProps {
    id: Option<Text>,
    facility_id: Option<Text>,
    name: Option<Text>,
    nom: Option<Text>,
}

/// Reads a GeoJSON FeatureCollection of points (a small file, read whole into typed points).
pub fn read_points(path: &Path) -> Result<Vec<InputPoint>, CadastreError> {
    let err = |message: String| CadastreError::Points {
        path: path.to_path_buf(),
        message,
    };
    let f = File::open(path).map_err(|source| CadastreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let fc: PointCollection = serde_json::from_reader(BufReader::new(f))
        .map_err(|e| err(format!("not a GeoJSON FeatureCollection of points: {e}")))?;
    Ok(fc
        .features
        .into_iter()
        .map(|f| {
            let coord = f.geometry.and_then(|g| {
                if g.kind.as_deref() != Some("Point") {
                    return None;
                }
                let c = g.coordinates?;
                let c = c.as_array()?;
                let (x, y) = (c.first()?.as_f64()?, c.get(1)?.as_f64()?);
                (x.is_finite() && y.is_finite() && x.abs() <= 180.0 && y.abs() <= 90.0)
                    .then_some(Coord { x, y })
            });
            let p = f.properties.unwrap_or_default();
            InputPoint {
                id: Text::get(p.id)
                    .or_else(|| Text::get(f.id))
                    .or_else(|| Text::get(p.facility_id)),
                name: Text::get(p.name).or_else(|| Text::get(p.nom)),
                coord,
            }
        })
        .collect())
}

/// A bitmap of the grid cells that hold at least one point: rejects most parcel bounding
/// boxes in a few memory reads, before the exact R-tree query.
struct PointGrid {
    x0: f64,
    y0: f64,
    kx: f64,
    ky: f64,
    nx: usize,
    ny: usize,
    bits: Vec<u64>,
}

impl PointGrid {
    const SIDE: usize = 1024;
    /// Above this many cells, a box goes straight to the R-tree.
    const MAX_CELLS: usize = 64;

    fn new(points: &[[f64; 2]]) -> Option<Self> {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &[x, y] in points {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if points.is_empty() {
            return None;
        }
        let side = |lo: f64, hi: f64| {
            if hi > lo {
                (Self::SIDE, Self::SIDE as f64 / (hi - lo))
            } else {
                (1, 0.0)
            }
        };
        let ((nx, kx), (ny, ky)) = (side(x0, x1), side(y0, y1));
        let mut g = PointGrid {
            x0,
            y0,
            kx,
            ky,
            nx,
            ny,
            bits: vec![0; (nx * ny).div_ceil(64)],
        };
        for &[x, y] in points {
            let (i, j) = (g.cell(x - x0, kx, nx), g.cell(y - y0, ky, ny));
            let k = j * nx + i;
            g.bits[k / 64] |= 1 << (k % 64);
        }
        Some(g)
    }

    #[inline]
    fn cell(&self, d: f64, k: f64, n: usize) -> usize {
        ((d * k) as usize).min(n - 1)
    }

    /// False when no point can be in `r`; true when one may be.
    #[inline]
    fn maybe(&self, r: &Rect<f64>) -> bool {
        let (dx0, dy0) = (r.min().x - self.x0, r.min().y - self.y0);
        let (dx1, dy1) = (r.max().x - self.x0, r.max().y - self.y0);
        let w = if self.kx > 0.0 {
            self.nx as f64 / self.kx
        } else {
            0.0
        };
        let h = if self.ky > 0.0 {
            self.ny as f64 / self.ky
        } else {
            0.0
        };
        if dx1 < 0.0 || dy1 < 0.0 || dx0 > w || dy0 > h {
            return false;
        }
        let (i0, i1) = (
            self.cell(dx0.max(0.0), self.kx, self.nx),
            self.cell(dx1, self.kx, self.nx),
        );
        let (j0, j1) = (
            self.cell(dy0.max(0.0), self.ky, self.ny),
            self.cell(dy1, self.ky, self.ny),
        );
        if (i1 - i0 + 1) * (j1 - j0 + 1) > Self::MAX_CELLS {
            return true;
        }
        for j in j0..=j1 {
            for i in i0..=i1 {
                let k = j * self.nx + i;
                if self.bits[k / 64] & (1 << (k % 64)) != 0 {
                    return true;
                }
            }
        }
        false
    }
}

/// Streams a parcel file once and finds, for each point, the parcel that holds it.
pub fn match_points(
    parcels: &Path,
    points: &[InputPoint],
    opts: &ReadOptions,
) -> Result<(Vec<Option<PointMatch>>, JoinStats), CadastreError> {
    let located: Vec<GeomWithData<[f64; 2], usize>> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.coord.map(|c| GeomWithData::new([c.x, c.y], i)))
        .collect();
    let grid = PointGrid::new(&located.iter().map(|e| *e.geom()).collect::<Vec<_>>());
    let tree = RTree::bulk_load(located);
    struct Hits {
        parcel_id: String,
        contenance_m2: Option<f64>,
        area_m2: f64,
        points: Vec<usize>,
    }
    let keep = |r: &Rect<f64>| {
        grid.as_ref().is_some_and(|g| g.maybe(r))
            && tree.locate_in_envelope(&aabb(r)).next().is_some()
    };
    let map = |p: Parcel| -> Option<Hits> {
        let r = p.geometry.bounding_rect()?;
        let inside: Vec<usize> = tree
            .locate_in_envelope(&aabb(&r))
            .filter(|e| {
                let [x, y] = *e.geom();
                contains_inclusive(&p.geometry, Coord { x, y })
            })
            .map(|e| e.data)
            .collect();
        if inside.is_empty() {
            return None;
        }
        Some(Hits {
            area_m2: area_m2(&p.geometry),
            parcel_id: p.id,
            contenance_m2: p.contenance_m2,
            points: inside,
        })
    };
    let scan = scan_parcels(parcels, opts, keep, map)?;
    let mut best: Vec<Option<PointMatch>> = vec![None; points.len()];
    for (_, h) in scan.items {
        for &i in &h.points {
            let better = best[i].as_ref().is_none_or(|b| {
                h.area_m2
                    .total_cmp(&b.area_m2)
                    .then_with(|| h.parcel_id.cmp(&b.parcel_id))
                    .is_lt()
            });
            if better {
                best[i] = Some(PointMatch {
                    parcel_id: h.parcel_id.clone(),
                    contenance_m2: h.contenance_m2,
                    area_m2: h.area_m2,
                });
            }
        }
    }
    let stats = JoinStats {
        points: points.len() as u64,
        points_invalid: points.iter().filter(|p| p.coord.is_none()).count() as u64,
        points_matched: best.iter().filter(|b| b.is_some()).count() as u64,
        features_read: scan.features_read,
        parcels_tested: scan.parcels_built,
        issues: scan.issues,
    };
    Ok((best, stats))
}

/// `contenance` as written in the CSV: an integer when it is one.
fn format_m2(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The `join-parcels` utility: for every point of `points_geojson`, in input order, writes
/// `point_id,point_name,point_index,parcel_id,contenance` to `out_csv` (empty cells when
/// unknown or when no parcel holds the point). The CSV is written to a temporary file beside
/// `out_csv` and renamed into place, so a failed run leaves no partial output.
pub fn join_parcels(
    parcels: &Path,
    points_geojson: &Path,
    out_csv: &Path,
    opts: &JoinOptions,
) -> Result<JoinStats, CadastreError> {
    let points = read_points(points_geojson)?;
    let (best, stats) = match_points(parcels, &points, &opts.read)?;
    let werr = |source| CadastreError::Write {
        path: out_csv.to_path_buf(),
        source,
    };
    let cerr = |source| CadastreError::Csv {
        path: out_csv.to_path_buf(),
        source,
    };
    let write = |tmp: &Path| -> Result<(), CadastreError> {
        let file = File::create(tmp).map_err(werr)?;
        let mut w = csv::Writer::from_writer(BufWriter::new(file));
        w.write_record(JOIN_CSV_HEADER).map_err(cerr)?;
        for (i, (p, m)) in points.iter().zip(&best).enumerate() {
            w.write_record([
                p.id.as_deref().unwrap_or(""),
                p.name.as_deref().unwrap_or(""),
                &i.to_string(),
                m.as_ref().map_or("", |m| m.parcel_id.as_str()),
                &m.as_ref()
                    .and_then(|m| m.contenance_m2)
                    .map(format_m2)
                    .unwrap_or_default(),
            ])
            .map_err(cerr)?;
        }
        w.flush().map_err(werr)
    };
    crate::common::replace_file(out_csv, write).map_err(|e| match e {
        crate::common::ReplaceError::Io(e) => werr(e),
        crate::common::ReplaceError::Build(e) => e,
    })?;
    Ok(stats)
}

/// Writes a one-line summary of a join to `w` (used by the command line).
pub fn write_summary(w: &mut dyn Write, stats: &JoinStats) -> std::io::Result<()> {
    writeln!(
        w,
        "join-parcels: {} points ({} without a usable point), {} in a parcel; {} features read, {} parcels tested; issues: {}",
        stats.points,
        stats.points_invalid,
        stats.points_matched,
        stats.features_read,
        stats.parcels_tested,
        stats.issues
    )
}
