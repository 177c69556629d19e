//! The source catalog: reads `sources/*.toml` (one file per source) into validated
//! [`SourceSpec`]s. An unknown key or a missing field is an error that names the file and the
//! key. The options an adapter reads (`[mapping.html]`) are kept opaque here; the adapter
//! registry checks adapter names and options (`adapters::load_catalog`), so the catalog
//! imports no adapter.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{IssueCode, PowerKind, SurfaceKind};

use crate::error::CatalogError;
use crate::osm::{OverpassArea, OverpassOutput, OverpassQuery};

/// One source as the catalog describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Also the folder name in a mirror.
    pub id: String,
    pub title: String,
    pub publisher: String,
    /// SPDX id or licence name, e.g. `ODbL-1.0`, `etalab-2.0`.
    pub licence: String,
    pub licence_url: Option<String>,
    /// The attribution text written next to every export.
    pub attribution: String,
    pub homepage: Option<String>,
    /// 1 = official or measured, 2 = operator disclosure, 3 = curated community data,
    /// 4 = derived / hand-placed. Lower wins when values disagree.
    pub trust_tier: u8,
    /// Which source anchors facility ids (lower first); see `reconcile`. Default 100.
    pub id_rank: Option<u32>,
    /// Polite rate for the hosts of this source's URLs (one request at a time).
    pub requests_per_minute: Option<u32>,
    /// A live source that a mirror may not hold: a mirror build skips it (and says so) when
    /// the mirror has no `<source-id>/` folder, instead of failing it.
    #[serde(default)]
    pub mirror_optional: bool,
    /// What the source gives the build: records (the default) or a per-commune layer.
    #[serde(default)]
    pub kind: SourceKind,
    /// Default adapter for the files of this source (records sources only).
    #[serde(default)]
    pub adapter: String,
    pub description: Option<String>,
    /// Default field mapping for the files of this source.
    #[serde(default)]
    pub mapping: Mapping,
    pub files: Vec<FileSpec>,
    /// Set by the loader: the TOML file it came from.
    #[serde(skip)]
    pub catalog_file: PathBuf,
}

/// What a source gives the build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Files parsed into records by the source's `adapter`.
    #[default]
    Records,
    /// A per-commune layer of parcels: one file per commune (`{insee}` and `{dep}` templates
    /// in `name` and `url`), fetched by the cadastre stage for the communes that hold a
    /// facility and joined to them; no adapter.
    CommuneParcels,
}

/// One file of a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// File name in the mirror folder and in the snapshot cache.
    pub name: String,
    /// Live URL. A file without one can only be built from a mirror.
    pub url: Option<String>,
    /// Media types the server may answer with (`text/csv`, `application/*`); another one (an
    /// HTML error page served with 200) fails the download. Unset: any.
    pub content_types: Option<Vec<String>>,
    /// Overrides the source's adapter for this file.
    pub adapter: Option<String>,
    /// Overrides the source's mapping for this file.
    pub mapping: Option<Mapping>,
    /// For `admin-boundaries`: what the file holds (`departements`, `communes`,
    /// `cog_departements`, `cog_regions`, `regions`).
    pub role: Option<String>,
    /// Fetched by POST to an Overpass API interpreter (`url`), with the data-centre query of
    /// `src/osm/overpass.rs` for this area; 429 and 504 wait for the slot `/api/status`
    /// announces.
    pub overpass: Option<OverpassFetch>,
    /// A paged API whose pages the framework assembles into one snapshot.
    pub paging: Option<Paging>,
    /// Rows per page (default and maximum 100 for `opendatasoft`; default 1000 for `arcgis`).
    pub page_size: Option<u32>,
    /// An incremental protocol: the framework keeps the full set and asks for changes only.
    pub incremental: Option<Incremental>,
}

/// Paged APIs (`paging = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paging {
    /// Opendatasoft Explore API v2.1 `.../records` (`limit` / `offset`, `total_count`); the
    /// `/exports/json` endpoint past the 10,000-row paging window. Snapshot: a JSON array.
    Opendatasoft,
    /// ArcGIS REST `.../FeatureServer/<n>/query` (`resultOffset` / `resultRecordCount`,
    /// `exceededTransferLimit`). Snapshot: one GeoJSON FeatureCollection (or Esri JSON).
    Arcgis,
}

/// Incremental protocols (`incremental = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Incremental {
    /// PeeringDB API: `?since=<unix s>` after a full download, merged by `id`.
    Peeringdb,
}

/// The area of an Overpass file (`[files.overpass]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverpassFetch {
    /// `france` (the admin_level=2 boundary, overseas included); the default without `bbox`.
    pub area: Option<String>,
    /// `[south, west, north, east]` in degrees, instead of `area`.
    pub bbox: Option<[f64; 4]>,
    /// `geom` (full outlines, the default) or `center`.
    pub output: Option<String>,
    /// The server-side `[timeout:...]` (default 600).
    pub timeout_s: Option<u32>,
    /// Default: the interpreter URL with `/interpreter` replaced by `/status`.
    pub status_url: Option<String>,
}

impl OverpassFetch {
    /// The query this entry describes (validated by the loader).
    pub fn query(&self) -> OverpassQuery {
        let mut q = OverpassQuery::default();
        if let Some([south, west, north, east]) = self.bbox {
            q.area = OverpassArea::Bbox {
                south,
                west,
                north,
                east,
            };
        }
        if self.output.as_deref() == Some("center") {
            q.output = OverpassOutput::Center;
        }
        if let Some(t) = self.timeout_s {
            q.timeout_s = t;
        }
        q
    }

    /// Where the server announces its slots.
    pub fn status_url_for(&self, interpreter_url: &str) -> String {
        self.status_url.clone().unwrap_or_else(|| {
            let base = interpreter_url.split('?').next().unwrap_or_default();
            match base.strip_suffix("/interpreter") {
                Some(root) => format!("{root}/status"),
                None => format!("{}/status", base.trim_end_matches('/')),
            }
        })
    }
}

impl SourceSpec {
    pub fn adapter_for<'a>(&'a self, file: &'a FileSpec) -> &'a str {
        file.adapter.as_deref().unwrap_or(&self.adapter)
    }

    pub fn mapping_for<'a>(&'a self, file: &'a FileSpec) -> &'a Mapping {
        file.mapping.as_ref().unwrap_or(&self.mapping)
    }
}

/// How the generic adapters read a source's fields. Every key is optional; a key names the
/// column (CSV), property (GeoJSON) or member (JSON) that holds the value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Field holding the native id.
    pub id: Option<String>,
    /// How to read the id: `osm_path` (`node/123`), `osm_type_id` (type in `osm_type`, number
    /// in `id`), `plain`. Without an id (or when it is invalid) the id is `row<N>`.
    pub id_style: Option<String>,
    pub osm_type: Option<String>,
    /// Prefix added to plain ids (`osm-` for a bare OSM number of unknown type).
    pub id_prefix: Option<String>,
    /// Prefix of position-based ids (default `row`, giving `row<N>`); files of one source
    /// that have no ids need different prefixes.
    pub row_prefix: Option<String>,
    /// JSON member holding the array of entries (`json` adapter), dotted path.
    pub array_path: Option<String>,
    pub lon: Option<String>,
    pub lat: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub alt_names: Vec<String>,
    pub operator: Option<String>,
    pub operator_wikidata: Option<String>,
    /// Fields that hold site codes (`ref`).
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub description: Vec<String>,
    pub housenumber: Option<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    #[serde(default)]
    pub city: Vec<String>,
    pub website: Option<String>,
    /// Fields whose words give the status (`en construction`, `projet`, ...).
    #[serde(default)]
    pub status: Vec<String>,
    pub peeringdb_id: Option<String>,
    /// Status when no status word is found: `operating` (a mapped data centre exists) or
    /// `unknown`.
    pub default_status: Option<String>,
    /// Where the point sits: `building`, `address`, `approximate`.
    pub precision: Option<String>,
    /// Entries whose `field` has one of `values` have an approximate point (hand-placed).
    pub approximate_when: Option<FieldValues>,
    #[serde(default)]
    pub power: Vec<QuantityMap>,
    #[serde(default)]
    pub surface: Vec<QuantityMap>,
    /// Entries to drop: when `field` has one of `values`, the entry is dropped with `code`.
    pub exclude: Option<ExcludeRule>,
    /// Options of the `html-page` adapter (CSS selectors of the site block, name, code,
    /// address, figures), opaque here: the adapter reads and checks them.
    pub html: Option<toml::Value>,
}

impl Mapping {
    /// Every field of an entry the mapping reads a value from (texts, lists, quantities), each
    /// once, sorted; the exclusion rule's field is not one of them.
    pub fn value_fields(&self) -> Vec<&String> {
        let singles = [
            &self.id,
            &self.osm_type,
            &self.lon,
            &self.lat,
            &self.name,
            &self.operator,
            &self.operator_wikidata,
            &self.housenumber,
            &self.street,
            &self.postcode,
            &self.website,
            &self.peeringdb_id,
        ];
        let lists = [
            &self.alt_names,
            &self.codes,
            &self.description,
            &self.city,
            &self.status,
        ];
        let mut names: Vec<&String> = singles.into_iter().flatten().collect();
        names.extend(lists.into_iter().flatten());
        names.extend(self.power.iter().chain(&self.surface).map(|q| &q.field));
        names.sort();
        names.dedup();
        names
    }
}

/// A power or surface field and what it measures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantityMap {
    pub field: String,
    /// `MW`, `MVA`, `m2`, or `text` (a string such as `1.2 MW` to parse).
    pub unit: String,
    /// A `PowerKind` / `SurfaceKind` in snake_case.
    pub kind: String,
    /// When `field` of the entry has one of `values`, the value is a default and not observed.
    pub not_observed_when: Option<FieldValues>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldValues {
    pub field: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludeRule {
    pub field: String,
    pub values: Vec<String>,
    pub code: String,
}

/// Loads and validates every `*.toml` in `dir` except the non-source files
/// (`operators.toml`, `parameters.toml`, `overrides.toml`), sorted by id.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceSpec>, CatalogError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CatalogError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter(|p| {
            !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("operators.toml" | "parameters.toml" | "overrides.toml")
            )
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(CatalogError::Empty(dir.to_path_buf()));
    }
    let mut specs = Vec::with_capacity(paths.len());
    let mut ids = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| CatalogError::Io {
            path: path.clone(),
            source: e,
        })?;
        let spec = parse_spec(&path, &text)?;
        if !ids.insert(spec.id.clone()) {
            return Err(CatalogError::Invalid {
                path,
                key: "id".into(),
                message: format!("duplicate source id `{}`", spec.id),
            });
        }
        specs.push(spec);
    }
    specs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(specs)
}

/// Parses and validates one source TOML; `path` is only used in messages.
pub fn parse_spec(path: &Path, text: &str) -> Result<SourceSpec, CatalogError> {
    let mut spec: SourceSpec = toml::from_str(text).map_err(|e| CatalogError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    spec.catalog_file = path.to_path_buf();
    validate(&spec)?;
    Ok(spec)
}

/// A mapping section of quantities, the test its kinds must pass and the names it accepts.
type KindCheck<'a> = (&'a str, &'a [QuantityMap], fn(&str) -> bool, &'a str);

fn validate(spec: &SourceSpec) -> Result<(), CatalogError> {
    let invalid = |key: &str, message: String| CatalogError::Invalid {
        path: spec.catalog_file.clone(),
        key: key.to_string(),
        message,
    };
    let stem = spec
        .catalog_file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if !stem.is_empty() && stem != spec.id {
        return Err(invalid(
            "id",
            format!("id `{}` must equal the file name `{stem}`", spec.id),
        ));
    }
    if spec.id.is_empty()
        || !spec
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(
            "id",
            format!("`{}` is not a lowercase-dash id", spec.id),
        ));
    }
    for (key, value) in [
        ("title", &spec.title),
        ("publisher", &spec.publisher),
        ("licence", &spec.licence),
        ("attribution", &spec.attribution),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(key, "must not be empty".into()));
        }
    }
    if !(1..=4).contains(&spec.trust_tier) {
        return Err(invalid(
            "trust_tier",
            format!("{} is not in 1..=4", spec.trust_tier),
        ));
    }
    match spec.kind {
        SourceKind::Records if spec.adapter.is_empty() => {
            return Err(invalid(
                "adapter",
                "a records source needs an adapter".into(),
            ));
        }
        SourceKind::CommuneParcels if !spec.adapter.is_empty() => {
            return Err(invalid(
                "adapter",
                "a commune-parcels source has no adapter: the cadastre stage reads it".into(),
            ));
        }
        SourceKind::CommuneParcels if spec.files.iter().any(|f| !f.name.contains("{insee}")) => {
            return Err(invalid(
                "files.name",
                "a commune-parcels file name needs the `{insee}` template".into(),
            ));
        }
        _ => {}
    }
    if spec.files.is_empty() {
        return Err(invalid("files", "a source needs at least one file".into()));
    }
    for (i, file) in spec.files.iter().enumerate() {
        if file.name.is_empty() || file.name.contains('/') || file.name.contains("..") {
            return Err(invalid(
                &format!("files[{i}].name"),
                format!("`{}` must be a plain file name", file.name),
            ));
        }
        if file.adapter.is_some() && spec.kind != SourceKind::Records {
            return Err(invalid(
                &format!("files[{i}].adapter"),
                "only a records source has adapters".into(),
            ));
        }
        if let Some(url) = &file.url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(invalid(
                &format!("files[{i}].url"),
                format!("`{url}` is not an http(s) URL"),
            ));
        }
        check_protocol(spec, i, file)?;
        let mapping = spec.mapping_for(file);
        for (j, q) in mapping.power.iter().chain(&mapping.surface).enumerate() {
            if !["MW", "MVA", "m2", "ha", "text"].contains(&q.unit.as_str()) {
                return Err(invalid(
                    &format!("files[{i}].mapping.power/surface[{j}].unit"),
                    format!("unknown unit `{}` (MW, MVA, m2, ha, text)", q.unit),
                ));
            }
        }
        let kinds: [KindCheck<'_>; 2] = [
            (
                "power",
                &mapping.power,
                |k| PowerKind::from_name(k).is_some(),
                "it, facility, grid_mva, thermal, planned, unspecified",
            ),
            (
                "surface",
                &mapping.surface,
                |k| SurfaceKind::from_name(k).is_some(),
                "white_space, floor_area, site_area, footprint, unspecified",
            ),
        ];
        for (section, quantities, known, names) in kinds {
            if let Some((j, q)) = quantities.iter().enumerate().find(|(_, q)| !known(&q.kind)) {
                return Err(invalid(
                    &format!("files[{i}].mapping.{section}[{j}].kind"),
                    format!("unknown {section} kind `{}` ({names})", q.kind),
                ));
            }
        }
        if let Some(rule) = &mapping.exclude
            && IssueCode::lookup(&rule.code).is_none()
        {
            return Err(invalid(
                "mapping.exclude.code",
                format!("`{}` is not a known data-issue code", rule.code),
            ));
        }
        if let Some(p) = &mapping.precision
            && !["building", "address", "approximate"].contains(&p.as_str())
        {
            return Err(invalid(
                "mapping.precision",
                format!("unknown precision `{p}` (building, address, approximate)"),
            ));
        }
    }
    Ok(())
}

/// At most one live protocol per file, each with what it needs.
fn check_protocol(spec: &SourceSpec, i: usize, file: &FileSpec) -> Result<(), CatalogError> {
    let invalid = |key: &str, message: String| CatalogError::Invalid {
        path: spec.catalog_file.clone(),
        key: format!("files[{i}].{key}"),
        message,
    };
    let protocols = [
        file.overpass.is_some(),
        file.paging.is_some(),
        file.incremental.is_some(),
    ];
    if protocols.iter().filter(|p| **p).count() > 1 {
        return Err(invalid(
            "overpass/paging/incremental",
            "a file has at most one of `overpass`, `paging`, `incremental`".into(),
        ));
    }
    if file.page_size.is_some() && file.paging.is_none() {
        return Err(invalid("page_size", "needs `paging`".into()));
    }
    if file.page_size == Some(0) {
        return Err(invalid("page_size", "must be at least 1".into()));
    }
    if let Some(o) = &file.overpass {
        if let Some(area) = &o.area
            && (area != "france" || o.bbox.is_some())
        {
            return Err(invalid(
                "overpass.area",
                format!("`{area}`: the only named area is `france`, and not with `bbox`"),
            ));
        }
        if let Some([south, west, north, east]) = o.bbox
            && !((-90.0..=90.0).contains(&south)
                && (-90.0..=90.0).contains(&north)
                && (-180.0..=180.0).contains(&west)
                && (-180.0..=180.0).contains(&east)
                && south < north
                && west < east)
        {
            return Err(invalid(
                "overpass.bbox",
                "must be [south, west, north, east] in degrees, south < north, west < east".into(),
            ));
        }
        if let Some(out) = &o.output
            && !["geom", "center"].contains(&out.as_str())
        {
            return Err(invalid(
                "overpass.output",
                format!("unknown output `{out}` (geom, center)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid source entry (also used by the registry's tests).
    pub(crate) const MINIMAL: &str = r#"
id = "demo"
title = "Demo"
publisher = "Someone"
licence = "ODbL-1.0"
attribution = "© OpenStreetMap contributors"
trust_tier = 3
adapter = "geojson"
[[files]]
name = "a.geojson"
"#;

    #[test]
    fn minimal_spec_loads() {
        let spec = parse_spec(Path::new("sources/demo.toml"), MINIMAL).unwrap();
        assert_eq!(spec.id, "demo");
        assert_eq!(spec.adapter_for(&spec.files[0]), "geojson");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let text = format!("{MINIMAL}\nbogus = 1\n");
        let err = parse_spec(Path::new("sources/demo.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sources/demo.toml"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn quantity_kinds_are_known_names() {
        let with = |section: &str, kind: &str| {
            let text = format!(
                "{MINIMAL}\n[[mapping.{section}]]\nfield = \"f\"\nunit = \"text\"\nkind = \"{kind}\"\n"
            );
            parse_spec(Path::new("sources/demo.toml"), &text).map_err(|e| e.to_string())
        };
        assert!(with("power", "grid_mva").is_ok());
        assert!(with("surface", "white_space").is_ok());
        let err = with("power", "facilty").unwrap_err();
        assert!(
            err.contains("mapping.power[0].kind") && err.contains("facilty"),
            "{err}"
        );
        let err = with("surface", "it").unwrap_err();
        assert!(err.contains("mapping.surface[0].kind"), "{err}");
    }

    #[test]
    fn missing_field_names_it() {
        let text = MINIMAL.replace("publisher = \"Someone\"\n", "");
        let err = parse_spec(Path::new("sources/demo.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("publisher"), "{err}");
    }

    #[test]
    fn records_need_an_adapter_and_parcel_layers_none() {
        let text = MINIMAL.replace("adapter = \"geojson\"\n", "");
        let err = parse_spec(Path::new("sources/demo.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `adapter`"), "{err}");
        let layer = MINIMAL
            .replace("adapter = \"geojson\"", "kind = \"commune-parcels\"")
            .replace("a.geojson", "p-{insee}.json");
        let spec = parse_spec(Path::new("sources/demo.toml"), &layer).unwrap();
        assert_eq!(spec.kind, SourceKind::CommuneParcels);
        let both = format!("adapter = \"csv\"\n{layer}");
        assert!(parse_spec(Path::new("sources/demo.toml"), &both).is_err());
        let untemplated = layer.replace("p-{insee}.json", "p.json");
        let err = parse_spec(Path::new("sources/demo.toml"), &untemplated)
            .unwrap_err()
            .to_string();
        assert!(err.contains("{insee}"), "{err}");
    }

    #[test]
    fn id_must_match_file_name() {
        let err = parse_spec(Path::new("sources/other.toml"), MINIMAL)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must equal the file name"), "{err}");
    }

    #[test]
    fn repository_catalog_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources");
        let specs = load_dir(&dir).unwrap();
        let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        for id in [
            "admin-boundaries",
            "auditfrance-map",
            "cloudsmog-enriched",
            "community-map",
            "enedis-consumption",
            "operator-disclosures",
            "osm-datacenters",
            "osm-overpass",
            "peeringdb-dx",
            "peeringdb-fac",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        let fac = specs.iter().find(|s| s.id == "peeringdb-fac").unwrap();
        assert!(fac.mirror_optional);
        assert_eq!(fac.files[0].incremental, Some(Incremental::Peeringdb));
    }

    #[test]
    fn live_protocols_are_read_and_checked() {
        let text = format!(
            "{MINIMAL}url = \"https://overpass.example.org/api/interpreter\"\n[files.overpass]\nbbox = [48.8, 2.2, 48.9, 2.4]\noutput = \"center\"\n"
        );
        let spec = parse_spec(Path::new("sources/demo.toml"), &text).unwrap();
        let o = spec.files[0].overpass.as_ref().unwrap();
        assert_eq!(
            o.status_url_for("https://overpass.example.org/api/interpreter"),
            "https://overpass.example.org/api/status"
        );
        let ql = o.query().to_ql();
        assert!(
            ql.contains("(48.8,2.2,48.9,2.4)") && ql.ends_with("out center;\n"),
            "{ql}"
        );

        let both = format!("{MINIMAL}paging = \"arcgis\"\nincremental = \"peeringdb\"\n");
        let err = parse_spec(Path::new("sources/demo.toml"), &both)
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most one"), "{err}");
        let bad = format!("{MINIMAL}paging = \"socrata\"\n");
        assert!(parse_spec(Path::new("sources/demo.toml"), &bad).is_err());
        let bbox = format!("{MINIMAL}[files.overpass]\nbbox = [49.0, 2.2, 48.9, 2.4]\n");
        let err = parse_spec(Path::new("sources/demo.toml"), &bbox)
            .unwrap_err()
            .to_string();
        assert!(err.contains("overpass.bbox"), "{err}");
        let size = format!("{MINIMAL}page_size = 10\n");
        assert!(parse_spec(Path::new("sources/demo.toml"), &size).is_err());
    }
}
