//! Locates WGS84 lon/lat points, postcodes or commune names in French communes, départements and
//! régions: GeoJSON boundaries and INSEE COG tables go in, a [`Location`] comes out.

use std::collections::HashMap;

use geo::{
    BoundingRect, Closest, Contains, Coord, Distance, Haversine, HaversineClosestPoint,
    InteriorPoint, Intersects, LineString, MultiPolygon, Point, Polygon,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::geodesy::EARTH_RADIUS_M;

/// Error while reading boundaries or COG tables; every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocateError {
    #[error("{file}: invalid JSON: {source}")]
    Json {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: invalid CSV: {source}")]
    Csv { file: String, source: csv::Error },
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    #[error("{file}: feature {index}: {message}")]
    Feature {
        file: String,
        index: usize,
        message: String,
    },
}

/// The administrative types live in the data model; this module reads and searches them.
pub use crate::model::{AdminPolygon, CogDepartement, CogRegion};

#[derive(Deserialize)]
struct RawCollection {
    #[serde(rename = "type")]
    kind: String,
    features: Vec<RawFeature>,
}

#[derive(Deserialize)]
struct RawFeature {
    geometry: Option<RawGeometry>,
    properties: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct RawGeometry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    coordinates: Value,
}

/// Parses a boundaries GeoJSON FeatureCollection (bytes) whose features have properties code and
/// nom (a missing nom gives an empty name); Polygon and MultiPolygon in WGS84 lon/lat. Features
/// without geometry or code are an error naming the file and feature index.
pub fn parse_boundaries(file_name: &str, bytes: &[u8]) -> Result<Vec<AdminPolygon>, LocateError> {
    let file = file_name.to_string();
    let raw: RawCollection = match serde_json::from_slice(bytes) {
        Ok(raw) => raw,
        Err(source) => return Err(LocateError::Json { file, source }),
    };
    if raw.kind != "FeatureCollection" {
        let message = format!("expected a FeatureCollection, found {:?}", raw.kind);
        return Err(LocateError::Format { file, message });
    }
    let mut out = Vec::with_capacity(raw.features.len());
    for (index, feature) in raw.features.into_iter().enumerate() {
        let err = |message| LocateError::Feature {
            file: file.clone(),
            index,
            message,
        };
        let props = feature.properties.unwrap_or_default();
        let code = match props.get("code") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(err("missing property \"code\"".into())),
        };
        let name = props.get("nom").and_then(Value::as_str).unwrap_or_default();
        let Some(geometry) = feature.geometry else {
            return Err(err(format!("code {code}: no geometry")));
        };
        let geometry = to_multipolygon(&geometry).map_err(|m| err(format!("code {code}: {m}")))?;
        let name = name.to_string();
        out.push(AdminPolygon {
            code,
            name,
            geometry,
        });
    }
    Ok(out)
}

fn to_multipolygon(g: &RawGeometry) -> Result<MultiPolygon<f64>, String> {
    let parts = g
        .coordinates
        .as_array()
        .ok_or("coordinates: not an array")?;
    let polygons: Vec<Polygon<f64>> = match g.kind.as_str() {
        "Polygon" => vec![to_polygon(&g.coordinates)?],
        "MultiPolygon" => parts.iter().map(to_polygon).collect::<Result<_, _>>()?,
        other => return Err(format!("geometry {other:?} is not (Multi)Polygon")),
    };
    Ok(MultiPolygon::new(polygons))
}

fn to_polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v.as_array().ok_or("polygon: not an array of rings")?;
    let mut rings = rings.iter().map(to_ring);
    let exterior = rings.next().ok_or("polygon without rings")??;
    Ok(Polygon::new(exterior, rings.collect::<Result<_, _>>()?))
}

fn to_ring(v: &Value) -> Result<LineString<f64>, String> {
    let positions = v.as_array().ok_or("ring: not an array of positions")?;
    let mut coords = Vec::with_capacity(positions.len());
    for p in positions {
        let a = p.as_array().map(Vec::as_slice).unwrap_or_default();
        let xy = (
            a.first().and_then(Value::as_f64),
            a.get(1).and_then(Value::as_f64),
        );
        match xy {
            (Some(x), Some(y)) if x.abs() <= 180.0 && y.abs() <= 90.0 => {
                coords.push(Coord { x, y })
            }
            _ => return Err(format!("position {p} is not WGS84 lon/lat (EPSG:4326)")),
        }
    }
    if coords.len() < 4 {
        return Err(format!("ring has {} positions, 4 needed", coords.len()));
    }
    Ok(LineString::new(coords))
}

#[derive(Deserialize)]
struct CogRow {
    #[serde(alias = "DEP", default)]
    dep: String,
    #[serde(alias = "REG")]
    reg: String,
    #[serde(alias = "LIBELLE")]
    libelle: String,
}

/// Deserializes CSV rows by header name (lower- or upper-case headers; UTF-8 BOM tolerated).
fn read_rows<T: DeserializeOwned>(file_name: &str, bytes: &[u8]) -> Result<Vec<T>, LocateError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let rows: Result<Vec<T>, _> = reader.deserialize().collect();
    let file = file_name.to_string();
    rows.map_err(|source| LocateError::Csv { file, source })
}

/// Parses INSEE COG `departementYYYY.csv` (columns dep, reg, libelle; `name` is libelle).
pub fn parse_cog_departements(
    file: &str,
    bytes: &[u8],
) -> Result<Vec<CogDepartement>, LocateError> {
    let mut out = Vec::new();
    for (n, r) in read_rows::<CogRow>(file, bytes)?.into_iter().enumerate() {
        if r.dep.is_empty() {
            let message = format!("data row {}: no dep code", n + 1);
            return Err(LocateError::Format {
                file: file.to_string(),
                message,
            });
        }
        out.push(CogDepartement {
            code: r.dep,
            region_code: r.reg,
            name: r.libelle,
        });
    }
    Ok(out)
}

/// Parses INSEE COG `regionYYYY.csv` (columns reg, libelle; `name` is libelle).
pub fn parse_cog_regions(file: &str, bytes: &[u8]) -> Result<Vec<CogRegion>, LocateError> {
    let rows = read_rows::<CogRow>(file, bytes)?.into_iter();
    Ok(rows
        .map(|r| CogRegion {
            code: r.reg,
            name: r.libelle,
        })
        .collect())
}

/// How a [`Location`] was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocateMethod {
    PointInPolygon,
    NearestWithinTolerance,
    Postcode,
    CommuneName,
    /// Only a département code was known ([`AdminIndex::locate_departement`]).
    Departement,
}

/// Administrative location of a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub commune_insee: Option<String>,
    pub commune_name: Option<String>,
    pub departement_code: String,
    pub departement_name: String,
    /// Empty when the COG table lacks the département ([`AdminIndex::codes_missing_from_cog`]).
    pub region_code: String,
    pub region_name: String,
    pub method: LocateMethod,
    /// 0 when inside; haversine distance in metres to the polygon when snapped.
    pub distance_m: f64,
}

/// R-tree entry: bounding box of one polygon part; data = (feature index, part index).
type Entry = GeomWithData<Rectangle<[f64; 2]>, (usize, usize)>;

/// Spatial index over département and commune polygons, plus COG lookup tables.
pub struct AdminIndex {
    departements: Vec<AdminPolygon>,
    communes: Vec<AdminPolygon>,
    dep_tree: RTree<Entry>,
    commune_tree: RTree<Entry>,
    dep_polygon_by_code: HashMap<String, usize>,
    /// COG département code → (name, région code).
    cog_deps: HashMap<String, (String, String)>,
    cog_regs: HashMap<String, String>,
    communes_by_name: HashMap<String, Vec<usize>>,
}

fn build_tree(polys: &[AdminPolygon]) -> RTree<Entry> {
    let mut entries = Vec::new();
    for (i, p) in polys.iter().enumerate() {
        for (j, part) in p.geometry.0.iter().enumerate() {
            if let Some(r) = part.bounding_rect() {
                let rect = Rectangle::from_corners(r.min().into(), r.max().into());
                entries.push(GeomWithData::new(rect, (i, j)));
            }
        }
    }
    RTree::bulk_load(entries)
}

/// Département code of a commune INSEE code (75056 → 75, 2A004 → 2A, 97411 → 974).
fn commune_departement(insee: &str) -> &str {
    let overseas = insee.starts_with("97") || insee.starts_with("98");
    insee.get(..if overseas { 3 } else { 2 }).unwrap_or(insee)
}

/// A département code as sources write it: "2a" → "2A", "1" → "01".
fn normalize_departement(code: &str) -> String {
    format!("{:0>2}", code.trim().to_ascii_uppercase())
}

/// Case-, accent-, hyphen- and apostrophe-insensitive key; drops a leading article (the IGN
/// files here write "Courneuve" for La Courneuve) and expands St/Ste.
fn normalize_name(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => folded.push('a'),
            'è' | 'é' | 'ê' | 'ë' => folded.push('e'),
            'ì' | 'í' | 'î' | 'ï' => folded.push('i'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => folded.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => folded.push('u'),
            'ý' | 'ÿ' => folded.push('y'),
            'ç' => folded.push('c'),
            'ñ' => folded.push('n'),
            'æ' => folded.push_str("ae"),
            'œ' => folded.push_str("oe"),
            c if c.is_alphanumeric() => folded.push(c),
            _ => folded.push(' '),
        }
    }
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    if words.len() > 1 && matches!(words[0], "le" | "la" | "les" | "l") {
        words.remove(0);
    }
    for w in &mut words {
        *w = match *w {
            "st" => "saint",
            "ste" => "sainte",
            other => other,
        };
    }
    words.join(" ")
}

/// Haversine distance (m) from `p` to the rings of `part`, over the segments touching `window`.
fn distance_to_rings_m(part: &Polygon<f64>, p: Point<f64>, window: &AABB<[f64; 2]>) -> Option<f64> {
    let ([x0, y0], [x1, y1]) = (window.lower(), window.upper());
    let rings = std::iter::once(part.exterior()).chain(part.interiors());
    let mut best: Option<f64> = None;
    for line in rings.flat_map(|r| r.lines()) {
        let (a, b) = (line.start, line.end);
        if a.x.max(b.x) < x0 || a.x.min(b.x) > x1 || a.y.max(b.y) < y0 || a.y.min(b.y) > y1 {
            continue;
        }
        if let Closest::SinglePoint(q) | Closest::Intersection(q) = line.haversine_closest_point(&p)
        {
            let d = Haversine.distance(p, q);
            best = Some(best.map_or(d, |b| b.min(d)));
        }
    }
    best
}

/// Polygon containing `p`: interior before boundary, then lowest index (deterministic).
fn containing(tree: &RTree<Entry>, polys: &[AdminPolygon], p: Point<f64>) -> Option<usize> {
    let mut best: Option<(bool, usize)> = None;
    for e in tree.locate_all_at_point(&[p.x(), p.y()]) {
        let (i, j) = e.data;
        let part = &polys[i].geometry.0[j];
        let key = match (part.contains(&p), part.intersects(&p)) {
            (true, _) => (false, i),
            (false, true) => (true, i),
            (false, false) => continue,
        };
        best = Some(best.map_or(key, |b| b.min(key)));
    }
    best.map(|(_, i)| i)
}

impl AdminIndex {
    /// Builds the R-trees (one entry per polygon part) and the COG and commune-name maps.
    pub fn new(
        departements: Vec<AdminPolygon>,
        communes: Vec<AdminPolygon>,
        cog_deps: &[CogDepartement],
        cog_regs: &[CogRegion],
    ) -> Self {
        let mut communes_by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in communes.iter().enumerate() {
            communes_by_name
                .entry(normalize_name(&c.name))
                .or_default()
                .push(i);
        }
        let by_code = departements.iter().enumerate();
        let dep = |d: &CogDepartement| (d.code.clone(), (d.name.clone(), d.region_code.clone()));
        AdminIndex {
            dep_tree: build_tree(&departements),
            commune_tree: build_tree(&communes),
            dep_polygon_by_code: by_code.map(|(i, d)| (d.code.clone(), i)).collect(),
            cog_deps: cog_deps.iter().map(dep).collect(),
            cog_regs: cog_regs
                .iter()
                .map(|r| (r.code.clone(), r.name.clone()))
                .collect(),
            communes_by_name,
            departements,
            communes,
        }
    }

    /// Each département polygon with its COG région (code, name; empty when the COG lacks it).
    pub fn departement_outlines(&self) -> Vec<(&AdminPolygon, String, String)> {
        self.departements
            .iter()
            .map(|d| {
                let region = self.cog_deps.get(&d.code).map(|(_, r)| r.clone());
                let region = region.unwrap_or_default();
                let name = self.cog_regs.get(&region).cloned().unwrap_or_default();
                (d, region, name)
            })
            .collect()
    }

    pub fn departement_count(&self) -> usize {
        self.departements.len()
    }

    pub fn commune_count(&self) -> usize {
        self.communes.len()
    }

    /// Département polygon codes without a COG row (their locations get an empty région), sorted.
    pub fn codes_missing_from_cog(&self) -> Vec<String> {
        let codes = self.departements.iter().map(|d| &d.code);
        let mut missing: Vec<String> = codes
            .filter(|c| !self.cog_deps.contains_key(*c))
            .cloned()
            .collect();
        missing.sort();
        missing
    }

    /// Nearest département within `tolerance_m` metres (haversine) of `p`: (index, distance).
    fn nearest_departement(&self, p: Point<f64>, tolerance_m: f64) -> Option<(usize, f64)> {
        nearest(&self.dep_tree, &self.departements, p, tolerance_m, |_| true)
    }
}

/// Nearest polygon accepted by `keep` within `tolerance_m` metres (haversine) of `p`:
/// (index, distance); ties go to the lowest index.
fn nearest(
    tree: &RTree<Entry>,
    polys: &[AdminPolygon],
    p: Point<f64>,
    tolerance_m: f64,
    keep: impl Fn(&AdminPolygon) -> bool,
) -> Option<(usize, f64)> {
    if !tolerance_m.is_finite() || tolerance_m <= 0.0 {
        return None;
    }
    // Window in degrees holding every point within tolerance (1% margin). France does not
    // cross the antimeridian, so longitudes are not wrapped.
    let dlat = (tolerance_m / EARTH_RADIUS_M).to_degrees() * 1.01;
    let cos = (p.y().abs() + dlat).min(90.0).to_radians().cos();
    let dlon = if cos < 1e-6 { 360.0 } else { dlat / cos };
    let (lo, hi) = ([p.x() - dlon, p.y() - dlat], [p.x() + dlon, p.y() + dlat]);
    let window = AABB::from_corners(lo, hi);
    let mut best: Option<(usize, f64)> = None;
    for e in tree.locate_in_envelope_intersecting(&window) {
        let (i, j) = e.data;
        if !keep(&polys[i]) {
            continue;
        }
        let part = &polys[i].geometry.0[j];
        let Some(d) = distance_to_rings_m(part, p, &window) else {
            continue;
        };
        if d <= tolerance_m && best.is_none_or(|(bi, bd)| (d, i) < (bd, bi)) {
            best = Some((i, d));
        }
    }
    best
}

impl AdminIndex {
    /// Location for `dep_code`, names from COG (the polygon's name when COG lacks the code).
    fn location(&self, dep_code: &str, commune: Option<&AdminPolygon>) -> Option<Location> {
        let (departement_name, region_code) = match self.cog_deps.get(dep_code) {
            Some((name, reg)) => (name.clone(), reg.clone()),
            None => {
                let polygon = &self.departements[*self.dep_polygon_by_code.get(dep_code)?];
                (polygon.name.clone(), String::new())
            }
        };
        Some(Location {
            commune_insee: commune.map(|c| c.code.clone()),
            commune_name: commune.map(|c| c.name.clone()),
            departement_code: dep_code.to_string(),
            departement_name,
            region_name: self.cog_regs.get(&region_code).cloned().unwrap_or_default(),
            region_code,
            method: LocateMethod::PointInPolygon,
            distance_m: 0.0,
        })
    }

    /// Point-in-polygon using the R-tree (candidates by bbox, then geo's Contains / Intersects
    /// for boundary points). Région and names come from the COG tables (département → région).
    /// Commune when a commune polygon of that département contains the point, else the nearest
    /// commune of that département within the tolerance (None where no commune is loaded).
    /// When no département contains the point, snaps to the nearest département whose boundary
    /// is within `tolerance_m` metres (haversine), method NearestWithinTolerance; otherwise None
    /// (outside France or in the sea).
    pub fn locate(&self, lon: f64, lat: f64, tolerance_m: f64) -> Option<Location> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        let p = Point::new(lon, lat);
        let (dep, method, distance_m) = match containing(&self.dep_tree, &self.departements, p) {
            Some(i) => (i, LocateMethod::PointInPolygon, 0.0),
            None => {
                let (i, d) = self.nearest_departement(p, tolerance_m)?;
                (i, LocateMethod::NearestWithinTolerance, d)
            }
        };
        let dep_code = &self.departements[dep].code;
        let commune = containing(&self.commune_tree, &self.communes, p).map(|i| &self.communes[i]);
        let commune = commune.filter(|c| commune_departement(&c.code) == dep_code);
        // The simplified boundaries of communes and départements do not quite agree (and a
        // snapped point is in neither): the nearest commune of the département within the
        // tolerance (haversine; 1.5 km in the locate stage).
        let commune = commune.or_else(|| {
            let in_dep = |c: &AdminPolygon| commune_departement(&c.code) == dep_code;
            nearest(
                &self.commune_tree,
                &self.communes,
                p,
                tolerance_m.max(distance_m),
                in_dep,
            )
            .map(|(i, _)| &self.communes[i])
        });
        let location = self.location(dep_code, commune)?;
        Some(Location {
            method,
            distance_m,
            ..location
        })
    }

    /// Fallback when a record has no point: French postcode → département
    /// ([`crate::common::departement_of_postcode`]), région via COG. Method Postcode, commune
    /// None.
    pub fn locate_postcode(&self, postcode: &str) -> Option<Location> {
        let dep = crate::common::departement_of_postcode(postcode)?;
        let location = self.location(&dep, None)?;
        Some(Location {
            method: LocateMethod::Postcode,
            ..location
        })
    }

    /// Last fallback: a département code as a source gives it ("93", "2a", "1") → its
    /// Location (names and région via COG), method Departement, commune None. None when the
    /// code is neither in the COG table nor among the loaded départements (e.g. "20", "99").
    pub fn locate_departement(&self, code: &str) -> Option<Location> {
        let location = self.location(&normalize_departement(code), None)?;
        Some(Location {
            method: LocateMethod::Departement,
            ..location
        })
    }

    /// Fallback by commune name (+ optional département code such as "93" or "2a"): case-,
    /// accent-, hyphen-, apostrophe- and leading-article-insensitive match against the loaded
    /// communes. Returns the Location (method CommuneName) and a point inside the commune
    /// polygon (geo's InteriorPoint). None when not found or ambiguous.
    pub fn locate_commune_name(
        &self,
        name: &str,
        departement: Option<&str>,
    ) -> Option<(Location, (f64, f64))> {
        let dep = departement.map(normalize_departement);
        let in_dep = |c: &&AdminPolygon| {
            let code = commune_departement(&c.code);
            dep.as_deref().is_none_or(|d| d == code)
        };
        let candidates = self.communes_by_name.get(&normalize_name(name))?;
        let mut found = candidates.iter().map(|&i| &self.communes[i]).filter(in_dep);
        let (Some(commune), None) = (found.next(), found.next()) else {
            return None;
        };
        let point = commune.geometry.interior_point()?;
        let location = self.location(commune_departement(&commune.code), Some(commune))?;
        let location = Location {
            method: LocateMethod::CommuneName,
            ..location
        };
        Some((location, (point.x(), point.y())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// Required real data: `shared/data` beside the checkout; read in place, never copied.
    const DATA_DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/mirror/admin-boundaries"
    );

    fn read(name: &str) -> Vec<u8> {
        let path = format!("{DATA_DIR}/{name}");
        let hint = "required test data missing: shared/data must sit beside the checkout";
        std::fs::read(&path).unwrap_or_else(|e| panic!("{hint}: {path}: {e}"))
    }

    fn build_real() -> AdminIndex {
        let deps = read("departements-avec-outre-mer.geojson");
        let deps = parse_boundaries("departements", &deps).unwrap();
        let mut communes = Vec::new();
        let dir = std::fs::read_dir(DATA_DIR).unwrap_or_else(|e| panic!("{DATA_DIR}: {e}"));
        for entry in dir {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with("communes-") && name.ends_with(".geojson") {
                communes.extend(parse_boundaries(&name, &read(&name)).unwrap());
            }
        }
        let cog_deps = parse_cog_departements("dep", &read("departement2020.csv")).unwrap();
        let cog_regs = parse_cog_regions("reg", &read("region2020.csv")).unwrap();
        AdminIndex::new(deps, communes, &cog_deps, &cog_regs)
    }

    fn real() -> &'static AdminIndex {
        static INDEX: OnceLock<AdminIndex> = OnceLock::new();
        INDEX.get_or_init(build_real)
    }

    /// (commune, département, région code, région name, method) of a location.
    type Codes<'a> = (Option<&'a str>, &'a str, &'a str, &'a str, LocateMethod);

    fn codes(l: &Location) -> Codes<'_> {
        let commune = l.commune_insee.as_deref();
        (
            commune,
            &l.departement_code,
            &l.region_code,
            &l.region_name,
            l.method,
        )
    }

    #[test]
    fn real_points_in_polygons() {
        assert_eq!(real().departement_count(), 101);
        assert_eq!(real().commune_count(), 623);
        assert!(real().codes_missing_from_cog().is_empty());
        let pip = LocateMethod::PointInPolygon;
        let idf = "Île-de-France";
        let paca = "Provence-Alpes-Côte d'Azur";
        for (lon, lat, expected) in [
            (2.3522, 48.8566, (Some("75056"), "75", "11", idf, pip)),
            (2.3589, 48.9356, (Some("93066"), "93", "11", idf, pip)),
            (5.3698, 43.2965, (Some("13055"), "13", "93", paca, pip)),
            (7.7521, 48.5734, (None, "67", "44", "Grand Est", pip)),
            (8.7369, 41.9192, (None, "2A", "94", "Corse", pip)),
            (45.225177, -12.778507, (None, "976", "06", "Mayotte", pip)),
        ] {
            let l = real().locate(lon, lat, 0.0).unwrap();
            assert_eq!((codes(&l), l.distance_m), (expected, 0.0), "{lon} {lat}");
        }
        assert_eq!(real().locate(-5.0, 46.0, 2000.0), None, "Atlantic");
        assert_eq!(real().locate(13.4, 52.5, 2000.0), None, "Berlin");
        assert_eq!(real().locate(f64::NAN, 46.0, 2000.0), None);
    }

    #[test]
    fn real_snap_to_coast() {
        // 50 m west of Gironde's westmost vertex (Cap Ferret, -1.26205 44.6322): in the sea.
        let (lon, lat) = (-1.26268, 44.6322);
        assert_eq!(real().locate(lon, lat, 0.0), None);
        assert_eq!(real().locate(lon, lat, 10.0), None);
        let l = real().locate(lon, lat, 2000.0).unwrap();
        let snap = LocateMethod::NearestWithinTolerance;
        assert_eq!(codes(&l), (None, "33", "75", "Nouvelle-Aquitaine", snap));
        assert!((45.0..55.0).contains(&l.distance_m), "{}", l.distance_m);
    }

    #[test]
    fn real_postcodes_and_departement_codes() {
        for (postcode, dep, reg) in [
            ("75012", "75", "11"),
            ("93000", "93", "11"),
            ("20100", "2A", "94"),
            ("20200", "2B", "94"),
            ("97411", "974", "04"),
            (" 01 000", "01", "84"),
        ] {
            let l = real().locate_postcode(postcode).unwrap();
            let (commune, d, r, _, method) = codes(&l);
            assert_eq!(
                (commune, d, r, method),
                (None, dep, reg, LocateMethod::Postcode)
            );
        }
        for bad in [
            "abcde", "98000", "97500", "97800", "7501", "750123", "00100",
        ] {
            assert_eq!(real().locate_postcode(bad), None, "{bad}");
        }
        let by_dep = LocateMethod::Departement;
        for (code, dep, reg) in [("93", "93", "11"), (" 2a", "2A", "94"), ("1", "01", "84")] {
            let l = real().locate_departement(code).unwrap();
            assert_eq!(codes(&l), (None, dep, reg, codes(&l).3, by_dep));
        }
        for bad in ["20", "99", "", "975"] {
            assert_eq!(real().locate_departement(bad), None, "{bad}");
        }
    }

    #[test]
    fn real_commune_names() {
        for (name, dep, insee) in [
            ("Saint-Denis", Some("93"), "93066"),
            ("saint denis", None, "93066"),
            ("ST DENIS", Some("93"), "93066"),
            ("Roissy-en-France", Some("95"), "95527"),
            ("LA COURNEUVE", Some("93"), "93027"),
            ("L'Île-Saint-Denis", Some("93"), "93039"),
            ("Marcoussis", Some("91"), "91363"),
            ("Marseille", Some("13"), "13055"),
        ] {
            let (l, (lon, lat)) = real().locate_commune_name(name, dep).unwrap();
            assert_eq!(l.commune_insee.as_deref(), Some(insee), "{name}");
            assert_eq!(l.method, LocateMethod::CommuneName);
            let back = real().locate(lon, lat, 0.0).unwrap();
            assert_eq!(
                back.commune_insee.as_deref(),
                Some(insee),
                "point of {name}"
            );
        }
        assert!(
            real()
                .locate_commune_name("Saint-Denis", Some("13"))
                .is_none()
        );
        assert!(real().locate_commune_name("Lyon", None).is_none());
        assert!(real().locate_commune_name("", None).is_none());
    }

    #[test]
    fn real_timing() {
        let t = Instant::now();
        let index = build_real();
        let built = t.elapsed();
        let mut seed = 42u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let points: Vec<(f64, f64)> = (0..5000).map(|_| (next(), next())).collect();
        let t = Instant::now();
        let in_france = |(x, y): &&(f64, f64)| {
            let (lon, lat) = (-5.0 + 14.5 * x, 41.0 + 10.5 * y);
            index.locate(lon, lat, 2000.0).is_some()
        };
        let found = points.iter().filter(in_france).count();
        let located = t.elapsed();
        println!("build {built:?}, locate 5000 points {located:?} ({found} in France)");
        assert!(found > 2000);
        if !cfg!(debug_assertions) {
            assert!(built + located < Duration::from_secs(1));
        }
    }

    #[test]
    fn parse_errors_name_file_and_feature() {
        let fc = |f: &str| format!(r#"{{"type":"FeatureCollection","features":[{f}]}}"#);
        let parse = |file, f: &str| parse_boundaries(file, fc(f).as_bytes());
        let err = |file, f: &str| parse(file, f).unwrap_err().to_string();
        let square = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}"#;
        let ok = format!(r#"{{"properties":{{"code":1}},"geometry":{square}}}"#);
        assert_eq!(parse("ok", &ok).unwrap()[0].code, "1");
        let e = err("x.json", r#"{"properties":{"code":"01"},"geometry":null}"#);
        assert_eq!(e, "x.json: feature 0: code 01: no geometry");
        let e = err(
            "y.json",
            &format!(r#"{{"properties":{{}},"geometry":{square}}}"#),
        );
        assert_eq!(e, "y.json: feature 0: missing property \"code\"");
        let e = err("z.json", &ok.replace("[1,1]", "[652000,6862000]"));
        assert!(e.starts_with("z.json: feature 0: code 1: position") && e.contains("EPSG:4326"));
        let e = parse_boundaries("j.json", b"{").unwrap_err();
        assert!(matches!(e, LocateError::Json { ref file, .. } if file == "j.json"));
        let e = parse_cog_departements("d.csv", b"dep,region,libelle\n01,84,Ain\n");
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("d.csv: invalid CSV") && e.contains("missing field `reg`"),
            "{e}"
        );
        let e = parse_cog_regions("r.csv", b"reg,libelle\n11\n").unwrap_err();
        assert!(matches!(e, LocateError::Csv { ref file, .. } if file == "r.csv"));
        let r = parse_cog_regions("r.csv", "\u{feff}REG,LIBELLE\n11,Corse\n".as_bytes());
        assert_eq!(r.unwrap()[0].name, "Corse");
    }

    #[test]
    fn name_normalization() {
        assert_eq!(normalize_name("L’Haÿ-les-Roses"), "hay les roses");
        assert_eq!(normalize_name("  SAINT-ÉTIENNE "), "saint etienne");
        assert_eq!(normalize_name("La"), "la");
        assert_eq!(commune_departement("2A004"), "2A");
    }

    /// Synthetic square département "99" (région "98") centred on (cx, cy), half-side h degrees.
    fn square(cx: f64, cy: f64, h: f64) -> AdminIndex {
        let (x0, x1, y0, y1) = (cx - h, cx + h, cy - h, cy + h);
        let ring = LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]);
        let geometry = MultiPolygon::new(vec![Polygon::new(ring, vec![])]);
        let (code, name) = ("99".to_string(), "Carré".to_string());
        let dep = AdminPolygon {
            code: code.clone(),
            name: name.clone(),
            geometry,
        };
        let region_code = "98".to_string();
        let cog = CogDepartement {
            code,
            region_code,
            name,
        };
        let reg = CogRegion {
            code: "98".into(),
            name: "Test".into(),
        };
        AdminIndex::new(vec![dep], vec![], &[cog], &[reg])
    }

    proptest! {
        #[test]
        fn square_inside_is_found(cx in -170.0..170.0f64, cy in -60.0..60.0f64, h in 0.01..2.0f64,
                                  fx in -0.999..0.999f64, fy in -0.999..0.999f64) {
            let l = square(cx, cy, h).locate(cx + fx * h, cy + fy * h, 0.0).unwrap();
            prop_assert_eq!(codes(&l), (None, "99", "98", "Test", LocateMethod::PointInPolygon));
            let on_edge = square(cx, cy, h).locate(cx + h, cy + fy * h, 0.0).unwrap();
            prop_assert_eq!(on_edge.method, LocateMethod::PointInPolygon);
        }

        #[test]
        fn square_outside_beyond_tolerance(cx in -170.0..170.0f64, cy in -60.0..60.0f64,
                                           h in 0.01..0.2f64, f in -0.999..0.999f64,
                                           tol in 1.0..5000.0f64, side in 0..4u8) {
            // Distances follow great-circle arcs: h <= 0.2° keeps the bulge of the north and
            // south edges under ~20 m.
            let index = square(cx, cy, h);
            let gap_m = tol * 1.5 + 100.0;
            let gap_deg = (gap_m / EARTH_RADIUS_M).to_degrees();
            let gap_lon = gap_deg / (cy + f * h).to_radians().cos();
            let (lon, lat) = match side {
                0 => (cx + h + gap_lon, cy + f * h),
                1 => (cx - h - gap_lon, cy + f * h),
                2 => (cx + f * h, cy + h + gap_deg),
                _ => (cx + f * h, cy - h - gap_deg),
            };
            prop_assert_eq!(index.locate(lon, lat, tol), None);
            let l = index.locate(lon, lat, gap_m * 2.0).unwrap();
            prop_assert_eq!(l.method, LocateMethod::NearestWithinTolerance);
            prop_assert!(l.distance_m > tol && l.distance_m < gap_m * 1.01 + 25.0, "{}", l.distance_m);
        }
    }
}
