//! The record model shared by every stage: what an adapter produces from one source file
//! (records, data issues, published counts) and the provenance every value carries.
//!
//! Units are in field names: `_m2`, `_mw`, `_mva`, `_mwh`, `_ha`.

use serde::{Deserialize, Serialize};

pub use crate::common::IssueCode;

/// WGS 84 longitude/latitude, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LonLat {
    pub lon: f64,
    pub lat: f64,
}

/// How precisely the record's point places the site (best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointPrecision {
    /// The point is (the centroid of) the mapped building or site.
    Building,
    /// The point is a geocoded street address.
    Address,
    /// The point is hand-placed or a city centre.
    Approximate,
    /// The point was derived by dcinv from a commune name.
    Commune,
    /// No point: located by postcode only.
    None,
}

/// Lifecycle status of a site, normalised from the status words of each source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Operating,
    UnderConstruction,
    Project,
    Contested,
    Disused,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Operating => "operating",
            Status::UnderConstruction => "under_construction",
            Status::Project => "project",
            Status::Contested => "contested",
            Status::Disused => "disused",
            Status::Unknown => "unknown",
        }
    }

    /// Reads the status words found in names, descriptions and status fields (French and
    /// English). Returns `None` when no word is recognised.
    pub fn from_words(text: &str) -> Option<Status> {
        let t = text.to_lowercase();
        let has = |w: &[&str]| w.iter().any(|w| t.contains(w));
        if has(&["contest", "opposition", "recours"]) {
            Some(Status::Contested)
        } else if has(&["construction", "chantier", "en travaux"]) {
            Some(Status::UnderConstruction)
        } else if has(&[
            "projet",
            "project",
            "proposed",
            "planned",
            "annonc",
            "announced",
        ]) {
            Some(Status::Project)
        } else if has(&["disused", "abandoned", "désaffect", "fermé", "closed"]) {
            Some(Status::Disused)
        } else if has(&["operating", "operational", "en service", "active", "opened"]) {
            Some(Status::Operating)
        } else {
            None
        }
    }
}

/// A postal address as the source gives it (no normalisation yet).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub housenumber: Option<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    /// The full address line when the source gives one line only.
    pub full: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.housenumber.is_none()
            && self.street.is_none()
            && self.postcode.is_none()
            && self.city.is_none()
            && self.full.is_none()
    }

    /// One display line: the full line if given, else the parts joined.
    pub fn line(&self) -> Option<String> {
        if let Some(f) = &self.full {
            return Some(f.clone());
        }
        let street = [self.housenumber.as_deref(), self.street.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let town = [self.postcode.as_deref(), self.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let parts: Vec<&str> = [street.as_str(), town.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// What a power figure measures. Most published MW are not IT power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerKind {
    /// IT (critical) load.
    It,
    /// Electrical power of the whole facility / available to customers / "puissance électrique".
    Facility,
    /// Grid connection capacity, in MVA.
    GridMva,
    /// Thermal MW as written by the source.
    Thermal,
    /// A planned or announced power.
    Planned,
    /// The source does not say what it measures.
    Unspecified,
}

/// What a surface figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceKind {
    /// IT rooms / white space / surface utile clients.
    WhiteSpace,
    /// Gross floor area of the building(s).
    FloorArea,
    /// Land / site area.
    SiteArea,
    /// Ground footprint of the building outline (one floor).
    Footprint,
    /// The source does not say.
    Unspecified,
}

impl PowerKind {
    /// The kind of its snake_case name (`it`, `facility`, `grid_mva`, `thermal`, `planned`,
    /// `unspecified`), as a catalog names it.
    pub fn from_name(name: &str) -> Option<PowerKind> {
        from_serde_name(name)
    }
}

impl SurfaceKind {
    /// The kind of its snake_case name (`white_space`, `floor_area`, `site_area`, `footprint`,
    /// `unspecified`), as a catalog names it.
    pub fn from_name(name: &str) -> Option<SurfaceKind> {
        from_serde_name(name)
    }
}

/// A unit-variant enum from its serde name.
fn from_serde_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    use serde::de::{IntoDeserializer, value::Error};
    T::deserialize(IntoDeserializer::<Error>::into_deserializer(name)).ok()
}

/// An observed power figure, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerFact {
    pub value: f64,
    /// `MW` or `MVA`.
    pub unit: &'static str,
    pub kind: PowerKind,
    /// The source's own words for what it measures, kept verbatim.
    pub kind_text: Option<String>,
    /// The field the figure was read from.
    pub field: String,
}

/// An observed surface figure, as published, in square metres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurfaceFact {
    pub value_m2: f64,
    pub kind: SurfaceKind,
    pub kind_text: Option<String>,
    pub field: String,
}

/// A measured annual energy consumption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnergyObs {
    pub year: i32,
    pub mwh: f64,
}

/// A mapped outline: polygons with holes, lon/lat (WGS 84), exteriors counter-clockwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Footprint {
    pub geometry: geo_types::MultiPolygon<f64>,
    /// Area on the WGS 84 ellipsoid, holes subtracted.
    pub area_m2: f64,
    /// `building:levels` when given (1 ≤ levels < 100).
    pub levels: Option<f64>,
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub source_id: String,
    pub file: String,
    pub snapshot_sha256: String,
    /// When the snapshot was fetched or read from the mirror (RFC 3339).
    pub retrieved_at: String,
    /// `mirror:<path>` or the URL it was downloaded from.
    pub origin: String,
    pub licence: String,
    /// Where in the file the record is (row number, feature index, JSON path).
    pub locator: String,
}

/// One site as one source describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `<source-id>:<native-id>`.
    pub record_key: String,
    pub source_id: String,
    pub native_id: String,
    /// The original point, as published (after repairs logged as data issues).
    pub point: Option<LonLat>,
    pub point_precision: PointPrecision,
    pub name: Option<String>,
    pub alt_names: Vec<String>,
    pub operator: Option<String>,
    pub operator_wikidata: Option<String>,
    /// Site codes such as `PA3`, `PAR8`, `MRS1`.
    pub codes: Vec<String>,
    pub address: Address,
    /// Commune name as given by the source (may differ from the located commune).
    pub commune_name: Option<String>,
    /// Département code as given by the source (used when there is no point).
    pub departement_hint: Option<String>,
    pub status: Status,
    pub status_text: Option<String>,
    pub website: Option<String>,
    /// OSM element as `node/123`, `way/45`, `relation/6` when the source gives one.
    pub osm_ref: Option<String>,
    pub peeringdb_fac_id: Option<i64>,
    pub powers: Vec<PowerFact>,
    pub surfaces: Vec<SurfaceFact>,
    pub energy: Vec<EnergyObs>,
    /// The mapped outline of the building or site (OSM way or multipolygon), when the source
    /// gives one; the cadastre stage joins it to parcels.
    pub footprint: Option<Footprint>,
    /// Free description kept for later stages.
    pub description: Option<String>,
    /// When the source dated its figures (disclosures: `2025-05`, `c. 2016`), as written; the
    /// latest dated fact about a site governs its estimate.
    #[serde(default)]
    pub fact_date: Option<String>,
    pub provenance: Provenance,
}

impl Record {
    /// A blank record with its identity and provenance; adapters fill the rest.
    pub fn new(source_id: &str, native_id: &str, provenance: Provenance) -> Record {
        Record {
            record_key: format!("{source_id}:{native_id}"),
            source_id: source_id.to_string(),
            native_id: native_id.to_string(),
            point: None,
            point_precision: PointPrecision::None,
            name: None,
            alt_names: Vec::new(),
            operator: None,
            operator_wikidata: None,
            codes: Vec::new(),
            address: Address::default(),
            commune_name: None,
            departement_hint: None,
            status: Status::Unknown,
            status_text: None,
            website: None,
            osm_ref: None,
            peeringdb_fac_id: None,
            powers: Vec::new(),
            surfaces: Vec::new(),
            energy: Vec::new(),
            footprint: None,
            description: None,
            fact_date: None,
            provenance,
        }
    }
}

/// What happened to the record an issue is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueAction {
    /// The record was kept as is; the issue is information.
    Kept,
    /// The record was kept after a repair.
    Repaired,
    /// The record was dropped.
    Dropped,
    /// A value was ignored (not ingested) but the record was kept.
    ValueIgnored,
}

impl IssueAction {
    pub fn as_str(self) -> &'static str {
        match self {
            IssueAction::Kept => "kept",
            IssueAction::Repaired => "repaired",
            IssueAction::Dropped => "dropped",
            IssueAction::ValueIgnored => "value_ignored",
        }
    }
}

/// A bad or notable record: counted per (source, code), stored and printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataIssue {
    pub source_id: String,
    /// Stable code, stored by its snake_case name.
    pub code: IssueCode,
    pub action: IssueAction,
    pub file: String,
    /// Row number, feature index or JSON path in the file.
    pub locator: String,
    pub record_key: Option<String>,
    pub message: String,
}

/// A published figure (press, studies, regulators), kept to set beside the build: a count of
/// data centres, or a national / regional total (`metric` `electricity_twh`, `it_capacity_mw`,
/// `avg_it_capacity_mw`, `count`) with its year and what it covers (`definition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedCount {
    pub source_id: String,
    pub scope: String,
    pub count_low: Option<i64>,
    pub count_high: Option<i64>,
    pub definition: String,
    pub source_url: String,
    pub source_date: String,
    /// What is measured: `count` for counts of data centres, else the figure's metric.
    #[serde(default = "count_metric")]
    pub metric: String,
    /// The figure's value for a metric other than a count (`count_low` / `count_high` hold counts).
    #[serde(default)]
    pub value: Option<f64>,
    /// The year the figure describes (not the publication date).
    #[serde(default)]
    pub year: Option<i32>,
    /// The source's qualifier (`about`, `just under`).
    #[serde(default)]
    pub approx: Option<String>,
}

fn count_metric() -> String {
    "count".into()
}

/// One file of one source, as fetched and parsed.
#[derive(Debug, Clone)]
pub struct FileRun {
    pub file: String,
    /// `mirror`, `downloaded`, `not_modified`, `offline_cache` or `last_good`.
    pub outcome: &'static str,
    pub sha256: Option<String>,
    pub bytes: usize,
    pub origin: Option<String>,
    pub retrieved_at: Option<String>,
    pub units_read: usize,
    /// True when the adapter parsed the bytes in this build; false when its output came
    /// from the parse cache (or the build found nothing changed and parsed nothing).
    pub parsed: bool,
}

/// What happened to one source.
#[derive(Debug, Clone)]
pub struct SourceRun {
    pub source_id: String,
    /// None when the source built; why it failed otherwise (the message names the file).
    pub error: Option<crate::error::SourceFailure>,
    /// Why a file of the source came from its last good snapshot (empty when fresh).
    pub stale: Vec<String>,
    pub files: Vec<FileRun>,
    pub units_read: usize,
    /// Records stored in `source_records`.
    pub records_kept: usize,
    pub records_dropped: usize,
    pub published_counts: usize,
}

impl SourceRun {
    /// A source with nothing read yet.
    pub fn new(source_id: &str) -> SourceRun {
        SourceRun {
            source_id: source_id.to_string(),
            error: None,
            stale: Vec::new(),
            files: Vec::new(),
            units_read: 0,
            records_kept: 0,
            records_dropped: 0,
            published_counts: 0,
        }
    }
}

/// One administrative unit: INSEE code, name and WGS84 lon/lat geometry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminPolygon {
    pub code: String,
    pub name: String,
    pub geometry: geo_types::MultiPolygon<f64>,
}

/// A row of the INSEE COG département table (`dep,reg,...,libelle`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CogDepartement {
    pub code: String,
    pub region_code: String,
    pub name: String,
}

/// A row of the INSEE COG région table (`reg,...,libelle`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CogRegion {
    pub code: String,
    pub name: String,
}

/// Administrative reference data read by the `admin-boundaries` adapter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminPart {
    Departements(Vec<AdminPolygon>),
    Communes(Vec<AdminPolygon>),
    CogDepartements(Vec<CogDepartement>),
    CogRegions(Vec<CogRegion>),
}

/// What an adapter returns for one file (stored as JSON in the parse cache).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ParseOutput {
    pub records: Vec<Record>,
    pub issues: Vec<DataIssue>,
    pub published_counts: Vec<PublishedCount>,
    /// Input units read from the file (rows, features, entries), for the accounting check:
    /// `units_read = records + dropped issues + published counts` (+ admin units).
    pub units_read: usize,
    /// Boundaries and code tables (only from the `admin-boundaries` adapter).
    pub admin: Option<AdminPart>,
}

/// A [`PowerFact`] as read back from the parse cache (owned unit, checked).
#[derive(Deserialize)]
struct PowerFactRead {
    value: f64,
    unit: String,
    kind: PowerKind,
    kind_text: Option<String>,
    field: String,
}

// By hand: a derive would borrow the `&'static str` from the input.
impl<'de> Deserialize<'de> for PowerFact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PowerFact, D::Error> {
        PowerFact::try_from(PowerFactRead::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for DataIssue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DataIssue, D::Error> {
        DataIssue::try_from(DataIssueRead::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<PowerFactRead> for PowerFact {
    type Error = String;
    fn try_from(r: PowerFactRead) -> Result<PowerFact, String> {
        let unit = ["MW", "MVA"]
            .into_iter()
            .find(|u| *u == r.unit)
            .ok_or_else(|| format!("unknown power unit `{}`", r.unit))?;
        Ok(PowerFact {
            value: r.value,
            unit,
            kind: r.kind,
            kind_text: r.kind_text,
            field: r.field,
        })
    }
}

/// A [`DataIssue`] as read back from the parse cache (owned code, checked).
#[derive(Deserialize)]
struct DataIssueRead {
    source_id: String,
    code: String,
    action: IssueAction,
    file: String,
    locator: String,
    record_key: Option<String>,
    message: String,
}

impl TryFrom<DataIssueRead> for DataIssue {
    type Error = String;
    fn try_from(r: DataIssueRead) -> Result<DataIssue, String> {
        let code = IssueCode::lookup(&r.code)
            .ok_or_else(|| format!("unknown data-issue code `{}`", r.code))?;
        Ok(DataIssue {
            source_id: r.source_id,
            code,
            action: r.action,
            file: r.file,
            locator: r.locator,
            record_key: r.record_key,
            message: r.message,
        })
    }
}
