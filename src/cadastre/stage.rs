//! Cadastre stage of the build: facilities (commune, point, the OSM outlines of their member
//! records) in; the Etalab parcel file of each commune that holds one, fetched through the
//! build's [`Fetcher`] and streamed, joined; out: per facility its footprint, floors, floor
//! area and parcels (ids, summed `contenance`) with the record or snapshot each came from,
//! the `footprints` and `parcels` polygon rows, the runs of the parcel files and counted data
//! issues. A commune without a readable file is a data issue, never a failure.
//!
//! The catalog names the per-commune files with templates (`{insee}`, `{dep}`) in `name` and
//! `url`; the candidates are tried in catalog order (e.g. the published `.json.gz`, then a
//! plain `.json` in a mirror). Join rules: a facility with an outline gets every parcel its
//! outline (the union of its members' outlines) overlaps by more than `min_overlap_share` of
//! its area; else a facility whose point is a building or an address gets the parcel that
//! contains it; approximate and commune-level points get none.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use geo::{BooleanOps, BoundingRect, Coord, Intersects, MultiPolygon, Rect};

use super::join::{DEFAULT_MIN_OVERLAP_SHARE, ParcelIndex};
use super::read::{Parcel, ParcelInput, ReadOptions, scan_parcel_input};
use crate::catalog::{FileSpec, SourceKind, SourceSpec};
use crate::common::area_m2;
use crate::fetch::{Fetcher, Snapshot};
use crate::geo::stage::LocatedRecord;
use crate::model::{DataIssue, IssueAction, IssueCode, PointPrecision, SourceRun};
use crate::reconcile::Facility;

/// The source named by the data issues of a catalog without a commune-parcels source.
const NO_SOURCE_ID: &str = "cadastre-etalab";

/// Splits the per-commune parcel sources (`kind = "commune-parcels"`) off the record
/// sources: they are fetched by this stage, for the communes that hold a facility, not with
/// the others.
pub fn split_catalog(specs: Vec<SourceSpec>) -> (Vec<SourceSpec>, Vec<SourceSpec>) {
    specs
        .into_iter()
        .partition(|s| s.kind != SourceKind::CommuneParcels)
}

/// A catalog file template with `{insee}` and `{dep}` filled in (name and URL).
pub fn commune_file(template: &FileSpec, insee: &str, dep: &str) -> FileSpec {
    let fill = |t: &str| t.replace("{insee}", insee).replace("{dep}", dep);
    FileSpec {
        name: fill(&template.name),
        url: template.url.as_deref().map(fill),
        ..template.clone()
    }
}

/// Surfaces of one facility (all `None`/empty when nothing was found).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilitySurface {
    /// The facility these surfaces belong to (the join key of the writers).
    pub facility_id: String,
    /// Area of the union of the members' outlines, m² on the WGS 84 ellipsoid.
    pub footprint_m2: Option<f64>,
    /// Record keys of the outlines (`;`-separated).
    pub footprint_source: Option<String>,
    /// `building:levels` when every outline gives the same count.
    pub floors: Option<f64>,
    /// Σ outline area × levels, when every outline gives its levels.
    pub floor_area_m2: Option<f64>,
    /// Parcel ids, largest overlap first (one for a point).
    pub parcel_ids: Vec<String>,
    /// Σ `contenance` of those parcels (None when one lacks it).
    pub parcel_area_m2: Option<f64>,
    /// `<source-id>/<file>@<sha256 first 12>` of the parcel snapshot.
    pub parcel_source: Option<String>,
    /// `footprint_overlap` or `point_in_parcel`.
    pub parcel_join: Option<&'static str>,
}

/// One member outline, for the `footprints` layer.
#[derive(Debug, Clone)]
pub struct FootprintRow {
    pub facility_id: String,
    pub record_key: String,
    pub osm_ref: Option<String>,
    pub area_m2: f64,
    pub levels: Option<f64>,
    pub geometry: MultiPolygon<f64>,
}

/// One joined parcel, for the `parcels` layer.
#[derive(Debug, Clone)]
pub struct ParcelRow {
    pub facility_id: String,
    pub parcel_id: String,
    pub commune: String,
    pub section: String,
    pub numero: String,
    pub contenance_m2: Option<f64>,
    /// Area of outline ∩ parcel (None for a point join), m².
    pub overlap_m2: Option<f64>,
    pub join: &'static str,
    /// As [`FacilitySurface::parcel_source`].
    pub source: String,
    pub geometry: MultiPolygon<f64>,
}

/// Everything the stage produces.
#[derive(Debug, Default)]
pub struct Surfaces {
    /// One per facility (same order), each naming its facility.
    pub facilities: Vec<FacilitySurface>,
    pub footprints: Vec<FootprintRow>,
    pub parcels: Vec<ParcelRow>,
    pub issues: Vec<DataIssue>,
    /// One run per per-commune source, listing the files read.
    pub runs: Vec<SourceRun>,
    /// The snapshots read fresh (not a last good one), at most one per commune, to be marked
    /// good once the inventory is published.
    pub good: Vec<ParcelSnapshot>,
    /// Communes asked for, and those without a readable file.
    pub communes_wanted: usize,
    pub communes_missing: usize,
    /// (insee, département) of the communes for which no candidate file could be fetched.
    pub missing: Vec<(String, String)>,
}

/// A parcel file the stage read from a fresh snapshot.
#[derive(Debug, Clone)]
pub struct ParcelSnapshot {
    /// Index of its source in the stage's specs.
    pub source: usize,
    pub insee: String,
    pub dep: String,
    /// The catalog template filled for the commune (see [`commune_file`]).
    pub file: FileSpec,
    pub sha256: String,
    /// Features read.
    pub features: u64,
}

impl Surfaces {
    /// Every commune asked for was read from a fresh snapshot or had no file to fetch: none
    /// unreadable or read from its last good snapshot (each commune gives at most one
    /// [`Surfaces::good`] or [`Surfaces::missing`]).
    pub fn complete(&self) -> bool {
        self.good.len() + self.missing.len() == self.communes_wanted
    }
}

/// What the stage reads.
pub struct StageInput<'a> {
    /// The per-commune sources (see [`split_catalog`]).
    pub specs: &'a [SourceSpec],
    pub fetcher: &'a dyn Fetcher,
    pub facilities: &'a [Facility],
    pub records: &'a [LocatedRecord],
    /// Facility id of each record (same order).
    pub record_facility: &'a [String],
    pub min_overlap_share: f64,
    pub read: ReadOptions,
}

impl<'a> StageInput<'a> {
    pub fn new(
        specs: &'a [SourceSpec],
        fetcher: &'a dyn Fetcher,
        facilities: &'a [Facility],
        records: &'a [LocatedRecord],
        record_facility: &'a [String],
    ) -> Self {
        StageInput {
            specs,
            fetcher,
            facilities,
            records,
            record_facility,
            min_overlap_share: DEFAULT_MIN_OVERLAP_SHARE,
            read: ReadOptions::default(),
        }
    }
}

/// What a facility is joined with.
enum Query {
    Outline(MultiPolygon<f64>, Rect<f64>),
    Point(Coord<f64>),
}

impl Query {
    fn touches(&self, bbox: &Rect<f64>) -> bool {
        match self {
            Query::Outline(_, r) => r.intersects(bbox),
            Query::Point(c) => bbox.intersects(c),
        }
    }
}

/// The `footprints` rows of the members that have an outline; per facility (same order as
/// `input.facilities`), the indices of its rows.
fn member_outlines(
    input: &StageInput<'_>,
    index: &HashMap<&str, usize>,
    footprints: &mut Vec<FootprintRow>,
) -> Vec<Vec<usize>> {
    let mut outlines: Vec<Vec<usize>> = vec![Vec::new(); input.facilities.len()];
    for (lr, fid) in input.records.iter().zip(input.record_facility) {
        let (Some(fp), Some(&fi)) = (&lr.record.footprint, index.get(fid.as_str())) else {
            continue;
        };
        outlines[fi].push(footprints.len());
        footprints.push(FootprintRow {
            facility_id: fid.clone(),
            record_key: lr.record.record_key.clone(),
            osm_ref: lr.record.osm_ref.clone(),
            area_m2: round1(fp.area_m2),
            levels: fp.levels,
            geometry: fp.geometry.clone(),
        });
    }
    outlines
}

/// Footprint area and sources, floors and floor area of a facility whose members' outlines
/// (`rows`) have the union `outline`.
fn footprint_surface(s: &mut FacilitySurface, outline: &MultiPolygon<f64>, rows: &[&FootprintRow]) {
    s.footprint_m2 = Some(round1(area_m2(outline)));
    let keys: Vec<&str> = rows.iter().map(|r| r.record_key.as_str()).collect();
    s.footprint_source = Some(keys.join(";"));
    let levels: Option<Vec<f64>> = rows.iter().map(|r| r.levels).collect();
    if let Some(levels) = levels {
        if levels.iter().all(|l| *l == levels[0]) {
            s.floors = levels.first().copied();
        }
        let total: f64 = rows.iter().zip(&levels).map(|(r, l)| r.area_m2 * l).sum();
        s.floor_area_m2 = Some(round1(total));
    }
}

/// Runs the stage.
pub fn run(input: &StageInput<'_>) -> Surfaces {
    let mut out = Surfaces {
        facilities: input
            .facilities
            .iter()
            .map(|f| FacilitySurface {
                facility_id: f.facility_id.clone(),
                ..FacilitySurface::default()
            })
            .collect(),
        ..Surfaces::default()
    };
    let index: HashMap<&str, usize> = input
        .facilities
        .iter()
        .enumerate()
        .map(|(i, f)| (f.facility_id.as_str(), i))
        .collect();

    let outlines = member_outlines(input, &index, &mut out.footprints);

    // Footprint surfaces, and what each facility is joined with, by commune.
    let mut by_commune: BTreeMap<(String, String), Vec<(usize, Query)>> = BTreeMap::new();
    for (fi, f) in input.facilities.iter().enumerate() {
        let rows: Vec<&FootprintRow> = outlines[fi].iter().map(|&i| &out.footprints[i]).collect();
        let outline = union(&rows);
        if let Some(u) = &outline {
            footprint_surface(&mut out.facilities[fi], u, &rows);
        }
        let Some(insee) = f.location.commune_insee.clone() else {
            continue;
        };
        let query = match (outline, f.point) {
            (Some(u), _) => match u.bounding_rect() {
                Some(r) => Query::Outline(u, r),
                None => continue,
            },
            (None, Some(p))
                if matches!(
                    f.point_precision,
                    PointPrecision::Building | PointPrecision::Address
                ) =>
            {
                Query::Point(Coord { x: p.lon, y: p.lat })
            }
            _ => continue,
        };
        by_commune
            .entry((insee, f.location.departement_code.clone()))
            .or_default()
            .push((fi, query));
    }
    out.communes_wanted = by_commune.len();

    let mut runs: Vec<SourceRun> = input.specs.iter().map(|s| SourceRun::new(&s.id)).collect();
    for ((insee, dep), queries) in &by_commune {
        let mut why_missing: Vec<String> = Vec::new();
        let mut unreadable: Option<(String, String, String)> = None;
        let mut done = false;
        'sources: for (si, spec) in input.specs.iter().enumerate() {
            for template in &spec.files {
                let file = commune_file(template, insee, dep);
                let snapshot = match input.fetcher.fetch(spec, &file) {
                    Ok(s) => s,
                    Err(e) => {
                        why_missing.push(e.to_string());
                        continue;
                    }
                };
                let read = match read_commune(input, spec, &file, &snapshot, queries) {
                    Ok(r) => Ok((snapshot, r)),
                    Err(e) => match input.fetcher.last_good(spec, &file) {
                        Some((lg, _)) if lg.sha256 != snapshot.sha256 => {
                            read_commune(input, spec, &file, &lg, queries)
                                .map(|r| (lg, r))
                                .map_err(|e2| format!("{e}; the last good snapshot: {e2}"))
                        }
                        _ => Err(e),
                    },
                };
                let (snapshot, (parcels, features, counts)) = match read {
                    Ok(x) => x,
                    Err(message) => {
                        // An unreadable candidate (a cut `.json.gz`) falls through to the
                        // next one (the plain `.json`); reported if none can be read.
                        unreadable.get_or_insert((spec.id.clone(), file.name.clone(), message));
                        continue;
                    }
                };
                if snapshot.outcome == "last_good" {
                    runs[si].stale.push(format!(
                        "commune {insee}: {} unreadable; used the last good snapshot {} of {}",
                        file.name,
                        &snapshot.sha256[..12.min(snapshot.sha256.len())],
                        snapshot.retrieved_at
                    ));
                } else {
                    out.good.push(ParcelSnapshot {
                        source: si,
                        insee: insee.clone(),
                        dep: dep.clone(),
                        file: file.clone(),
                        sha256: snapshot.sha256.clone(),
                        features,
                    });
                }
                for e in counts.examples() {
                    let n = counts.count(e.code);
                    out.issues.push(DataIssue {
                        source_id: spec.id.clone(),
                        code: e.code,
                        action: parcel_issue_action(e.code, &e.detail),
                        file: file.name.clone(),
                        locator: format!("feature {}", e.feature_index),
                        record_key: e.parcel_id.clone(),
                        message: format!("{} ({n} such parcels near the sites)", e.detail),
                    });
                }
                let source = format!(
                    "{}/{}@{}",
                    spec.id,
                    file.name,
                    &snapshot.sha256[..12.min(snapshot.sha256.len())]
                );
                // Parcel files are read by every build that is not skipped.
                let units_read = usize::try_from(features).unwrap_or(usize::MAX);
                runs[si]
                    .files
                    .push(snapshot.file_run(&file.name, units_read, true));
                join(
                    &mut out,
                    input,
                    &ParcelIndex::new(parcels),
                    queries,
                    &source,
                );
                done = true;
                break 'sources;
            }
        }
        if !done && let Some((source_id, name, message)) = unreadable {
            out.issues.push(DataIssue {
                source_id,
                code: IssueCode::CadastreFileUnreadable,
                action: IssueAction::Kept,
                file: name,
                locator: insee.clone(),
                record_key: None,
                message: format!("{message}; the facilities of commune {insee} get no parcel"),
            });
        } else if !done {
            out.communes_missing += 1;
            out.missing.push((insee.clone(), dep.clone()));
            let ids: Vec<&str> = queries
                .iter()
                .map(|(fi, _)| input.facilities[*fi].facility_id.as_str())
                .collect();
            let spec = input.specs.first();
            out.issues.push(DataIssue {
                source_id: spec.map_or_else(|| NO_SOURCE_ID.to_string(), |s| s.id.clone()),
                code: IssueCode::CadastreCommuneMissing,
                action: IssueAction::Kept,
                file: spec
                    .and_then(|s| s.files.first())
                    .map_or_else(String::new, |t| commune_file(t, insee, dep).name),
                locator: insee.clone(),
                record_key: None,
                message: format!(
                    "no parcel file for commune {insee} ({}); facilities without parcel: {}",
                    why_missing
                        .first()
                        .map_or("no per-commune source in the catalog", String::as_str),
                    ids.join(", ")
                ),
            });
        }
    }
    for r in &mut runs {
        r.units_read = r.files.iter().map(|f| f.units_read).sum();
    }
    out.runs = runs;
    out
}

/// Streams one commune file: only parcels whose box touches a query are built.
fn read_commune(
    input: &StageInput<'_>,
    spec: &SourceSpec,
    file: &FileSpec,
    snapshot: &Snapshot,
    queries: &[(usize, Query)],
) -> Result<(Vec<Parcel>, u64, super::IssueCounts), String> {
    let name = Path::new(&file.name);
    let bytes: Arc<[u8]> = Arc::from(snapshot.bytes.as_slice());
    let scanned = scan_parcel_input(
        &ParcelInput::Bytes { name, bytes },
        &input.read,
        |bbox| queries.iter().any(|(_, q)| q.touches(bbox)),
        Some,
    )
    .map_err(|e| format!("source {}: {e}", spec.id))?;
    Ok((
        scanned.items.into_iter().map(|(_, p)| p).collect(),
        scanned.features_read,
        scanned.issues,
    ))
}

/// Joins the facilities of one commune to its parcels.
fn join(
    out: &mut Surfaces,
    input: &StageInput<'_>,
    parcels: &ParcelIndex,
    queries: &[(usize, Query)],
    source: &str,
) {
    for (fi, q) in queries {
        let hits: Vec<(usize, Option<f64>)> = match q {
            Query::Outline(u, _) => parcels
                .overlapping_multi(u, input.min_overlap_share)
                .into_iter()
                .map(|o| (o.parcel, Some(round1(o.overlap_m2))))
                .collect(),
            Query::Point(c) => parcels
                .parcel_index_at(c.x, c.y)
                .map(|i| (i, None))
                .into_iter()
                .collect(),
        };
        if hits.is_empty() {
            continue;
        }
        let how = match q {
            Query::Outline(..) => "footprint_overlap",
            Query::Point(_) => "point_in_parcel",
        };
        let fid = &input.facilities[*fi].facility_id;
        let s = &mut out.facilities[*fi];
        let mut area = Some(0.0);
        for (i, overlap_m2) in hits {
            let p = &parcels.parcels()[i];
            s.parcel_ids.push(p.id.clone());
            area = area.zip(p.contenance_m2).map(|(a, c)| a + c);
            out.parcels.push(ParcelRow {
                facility_id: fid.clone(),
                parcel_id: p.id.clone(),
                commune: p.commune.clone(),
                section: p.section.clone(),
                numero: p.numero.clone(),
                contenance_m2: p.contenance_m2,
                overlap_m2,
                join: how,
                source: source.to_string(),
                geometry: p.geometry.clone(),
            });
        }
        s.parcel_area_m2 = area;
        s.parcel_source = Some(source.to_string());
        s.parcel_join = Some(how);
    }
}

/// The union of the outlines (None when there is none).
fn union(rows: &[&FootprintRow]) -> Option<MultiPolygon<f64>> {
    let (first, rest) = rows.split_first()?;
    Some(
        rest.iter()
            .fold(first.geometry.clone(), |acc, r| acc.union(&r.geometry)),
    )
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn parcel_issue_action(c: IssueCode, detail: &str) -> IssueAction {
    match c {
        IssueCode::ParcelMissingContenance => IssueAction::ValueIgnored,
        IssueCode::ParcelInvalidRing if !detail.contains("parcel dropped") => IssueAction::Repaired,
        _ => IssueAction::Dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled() {
        let t: FileSpec = toml::from_str(
            "name = \"cadastre-{insee}-parcelles.json.gz\"\n\
             url = \"https://h/communes/{dep}/{insee}/cadastre-{insee}-parcelles.json.gz\"\n",
        )
        .unwrap();
        let f = commune_file(&t, "93066", "93");
        assert_eq!(f.name, "cadastre-93066-parcelles.json.gz");
        assert_eq!(
            f.url.as_deref(),
            Some("https://h/communes/93/93066/cadastre-93066-parcelles.json.gz")
        );
    }
}
