//! A build with the synthetic surface fixtures: an Overpass response written here (a building
//! way with `building:levels`, a multipolygon with a hole over two parcels, a node, and a node
//! in a commune without cadastre file) and the synthetic Etalab parcels of commune 93066
//! (`tests/fixtures/cadastre-etalab/`, gzipped and plain) in a temporary mirror, built by the
//! binary; then the facilities' footprint and parcel surfaces, the `footprints` and `parcels`
//! layers, and GDAL's reading of them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{GeodesicArea, LineString, Polygon};
use serde_json::{Value, json};

/// Metres east / north of the fixture's origin (lon 2.355, lat 48.924) → lon/lat, with the
/// scale the parcel fixture was made with.
fn ll(x: f64, y: f64) -> (f64, f64) {
    let lon = 2.355 + x * 0.002_734_3 / 200.0;
    let lat = 48.924 + y * 0.001_348_9 / 150.0;
    ((lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7)
}

/// A closed rectangle ring, counter-clockwise, as lon/lat pairs.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)]
}

fn geom(points: &[(f64, f64)]) -> Value {
    Value::Array(
        points
            .iter()
            .map(|(lon, lat)| json!({"lat": lat, "lon": lon}))
            .collect(),
    )
}

/// Geodesic area (geo, Karney) of a counter-clockwise outer ring minus counter-clockwise
/// holes (reversed here to clockwise, as geo wants them).
fn ring_area(outer: &[(f64, f64)], holes: &[Vec<(f64, f64)>]) -> f64 {
    let line = |r: &[(f64, f64)]| LineString::from(r.to_vec());
    let holes = holes
        .iter()
        .map(|h| line(&h.iter().rev().copied().collect::<Vec<_>>()))
        .collect();
    Polygon::new(line(outer), holes).geodesic_area_signed()
}

/// Hall A: 50 × 110 m inside parcel AB0101, 3 levels.
const HALL_A: [f64; 4] = [20.0, 20.0, 70.0, 130.0];
/// Campus B: 110 × 40 m over AB0101, the 10 m gap and AB0103, with a 20 × 20 m hole.
const CAMPUS_B: [f64; 4] = [150.0, 100.0, 260.0, 140.0];
const CAMPUS_B_HOLE: [f64; 4] = [230.0, 110.0, 250.0, 130.0];

fn overpass_response() -> Value {
    let a = rect(HALL_A[0], HALL_A[1], HALL_A[2], HALL_A[3]);
    let b = rect(CAMPUS_B[0], CAMPUS_B[1], CAMPUS_B[2], CAMPUS_B[3]);
    let hole = rect(
        CAMPUS_B_HOLE[0],
        CAMPUS_B_HOLE[1],
        CAMPUS_B_HOLE[2],
        CAMPUS_B_HOLE[3],
    );
    let (cx, cy) = ll(250.0, 175.0);
    json!({
        "version": 0.6,
        "generator": "Overpass API 0.7.62.4 2390de5a",
        "osm3s": {"timestamp_osm_base": "2025-01-15T10:21:52Z", "copyright": "synthetic test data"},
        "elements": [
            {"type": "way", "id": 7001, "nodes": [1, 2, 3, 4, 1], "geometry": geom(&a),
             "tags": {"building": "data_center", "building:levels": "3",
                      "name": "Synthetic Saint-Denis hall A", "operator": "Example Colo"}},
            {"type": "relation", "id": 7101,
             "members": [
                 {"type": "way", "ref": 7102, "role": "outer", "geometry": geom(&b[..3])},
                 {"type": "way", "ref": 7103, "role": "outer", "geometry": geom(&b[2..])},
                 {"type": "way", "ref": 7104, "role": "inner", "geometry": geom(&hole)}
             ],
             "tags": {"type": "multipolygon", "telecom": "data_center", "building": "yes",
                      "name": "Synthetic Saint-Denis campus B", "operator": "Other Hosting"}},
            {"type": "node", "id": 7201, "lon": cx, "lat": cy,
             "tags": {"telecom": "data_center", "name": "Synthetic Saint-Denis edge C",
                      "operator": "Edge Company"}},
            {"type": "node", "id": 7202, "lon": 2.44, "lat": 48.86,
             "tags": {"construction:telecom": "data_center", "name": "Synthetic Montreuil D",
                      "operator": "Builder Company"}}
        ]
    })
}

const OVERPASS_TOML: &str = r#"id = "overpass-synthetic"
title = "Synthetic Overpass response (test)"
publisher = "dcinv tests"
licence = "ODbL-1.0"
attribution = "synthetic; © OpenStreetMap contributors format"
trust_tier = 3
id_rank = 1
adapter = "overpass"

[[files]]
name = "saint-denis.json"
"#;

const ADMIN_TOML: &str = r#"id = "admin-boundaries"
title = "Départements and communes"
publisher = "IGN and INSEE"
licence = "etalab-2.0"
attribution = "IGN Admin Express; INSEE COG"
trust_tier = 1
adapter = "admin-boundaries"

[[files]]
name = "departements-avec-outre-mer.geojson"
role = "departements"

[[files]]
name = "departement2020.csv"
role = "cog_departements"

[[files]]
name = "region2020.csv"
role = "cog_regions"

[[files]]
name = "communes-93-seine-saint-denis.geojson"
role = "communes"
"#;

/// Writes the catalog and the mirror; `parcel_file` is the name of the Etalab fixture to
/// put in the mirror (`.json.gz` or `.json`).
fn setup(dir: &Path, parcel_file: &str) -> (PathBuf, PathBuf) {
    let catalog = dir.join("sources");
    let mirror = dir.join("mirror");
    std::fs::create_dir_all(&catalog).unwrap();
    for name in [
        "operators.toml",
        "parameters.toml",
        "overrides.toml",
        "cadastre-etalab.toml",
    ] {
        std::fs::copy(common::catalog().join(name), catalog.join(name)).unwrap();
    }
    std::fs::write(catalog.join("overpass-synthetic.toml"), OVERPASS_TOML).unwrap();
    std::fs::write(catalog.join("admin-boundaries.toml"), ADMIN_TOML).unwrap();

    let admin = mirror.join("admin-boundaries");
    std::fs::create_dir_all(&admin).unwrap();
    for name in [
        "departements-avec-outre-mer.geojson",
        "departement2020.csv",
        "region2020.csv",
        "communes-93-seine-saint-denis.geojson",
    ] {
        std::fs::copy(
            common::mirror().join("admin-boundaries").join(name),
            admin.join(name),
        )
        .unwrap();
    }
    let osm = mirror.join("overpass-synthetic");
    std::fs::create_dir_all(&osm).unwrap();
    std::fs::write(
        osm.join("saint-denis.json"),
        serde_json::to_vec_pretty(&overpass_response()).unwrap(),
    )
    .unwrap();
    let cadastre = mirror.join("cadastre-etalab");
    std::fs::create_dir_all(&cadastre).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cadastre-etalab");
    std::fs::copy(fixture.join(parcel_file), cadastre.join(parcel_file)).unwrap();
    (catalog, mirror)
}

fn build(catalog: &Path, mirror: &Path, out: &Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(catalog)
        .args(["build", "--quiet", "--mirror"])
        .arg(mirror)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

/// The facility row (by name) as JSON from the GeoJSON export.
fn facility(out: &Path, name: &str) -> Value {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("facilities.geojson")).unwrap()).unwrap();
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == name)
        .unwrap_or_else(|| panic!("no facility {name}"))["properties"]
        .clone()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn facilities_get_their_footprint_and_parcel_surfaces() {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, mirror) = setup(dir.path(), "cadastre-93066-parcelles.json.gz");
    let out = dir.path().join("out");
    build(&catalog, &mirror, &out);

    // Hall A: its outline, 3 floors, the one parcel under it.
    let a = facility(&out, "Synthetic Saint-Denis hall A");
    let area_a = ring_area(&rect(HALL_A[0], HALL_A[1], HALL_A[2], HALL_A[3]), &[]);
    assert!(close(area_a, 5500.0, 30.0), "{area_a}");
    let fp_a = a["footprint_m2"].as_f64().unwrap();
    assert!(close(fp_a, area_a, 0.1), "{fp_a} vs {area_a}");
    assert_eq!(a["footprint_source"], "overpass-synthetic:way/7001");
    assert_eq!(a["floors"], 3.0);
    assert!(close(a["floor_area_m2"].as_f64().unwrap(), 3.0 * fp_a, 0.5));
    assert_eq!(a["parcel_ids"], json!(["93066000AB0101"]));
    assert_eq!(a["parcel_area_m2"], 28400.0);
    assert_eq!(a["parcel_join"], "footprint_overlap");
    let source = a["parcel_source"].as_str().unwrap();
    assert!(
        source.starts_with("cadastre-etalab/cadastre-93066-parcelles.json.gz@"),
        "{source}"
    );

    // Campus B: the multipolygon's area with its hole subtracted; two parcels over 5 %.
    let b = facility(&out, "Synthetic Saint-Denis campus B");
    let hole = rect(
        CAMPUS_B_HOLE[0],
        CAMPUS_B_HOLE[1],
        CAMPUS_B_HOLE[2],
        CAMPUS_B_HOLE[3],
    );
    let outer = rect(CAMPUS_B[0], CAMPUS_B[1], CAMPUS_B[2], CAMPUS_B[3]);
    let area_b = ring_area(&outer, &[hole]);
    assert!(close(area_b, 4000.0, 30.0), "{area_b}");
    let fp_b = b["footprint_m2"].as_f64().unwrap();
    assert!(close(fp_b, area_b, 0.1), "{fp_b} vs {area_b}");
    eprintln!(
        "hall A: footprint {fp_a} m² (reference {area_a:.2}); campus B: {fp_b} m² (reference {area_b:.2})"
    );
    assert_eq!(b["footprint_source"], "overpass-synthetic:relation/7101");
    assert_eq!(b["floors"], Value::Null);
    assert_eq!(b["floor_area_m2"], Value::Null);
    assert_eq!(b["parcel_ids"], json!(["93066000AB0101", "93066000AB0103"]));
    assert_eq!(b["parcel_area_m2"], 28400.0 + 10800.0);

    // Edge C: a point, the parcel that holds it; Montreuil D: no parcel file, no parcel.
    let c = facility(&out, "Synthetic Saint-Denis edge C");
    assert_eq!(c["footprint_m2"], Value::Null);
    assert_eq!(c["parcel_ids"], json!(["93066000AB0105"]));
    assert_eq!(c["parcel_area_m2"], 15000.0);
    assert_eq!(c["parcel_join"], "point_in_parcel");
    let d = facility(&out, "Synthetic Montreuil D");
    assert_eq!(d["parcel_ids"], json!([]));
    assert_eq!(d["parcel_area_m2"], Value::Null);

    // The GeoPackage says the same, and holds both polygon layers.
    let gpkg = out.join("inventory.gpkg");
    let conn = rusqlite::Connection::open(&gpkg).unwrap();
    let (fp, ids, parcel_m2, src): (f64, String, f64, String) = conn
        .query_row(
            "SELECT footprint_m2, parcel_ids, parcel_area_m2, footprint_source FROM facilities \
             WHERE name = 'Synthetic Saint-Denis campus B'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert!(close(fp, area_b, 0.1));
    assert_eq!(ids, "93066000AB0101;93066000AB0103");
    assert_eq!(parcel_m2, 39200.0);
    assert_eq!(src, "overpass-synthetic:relation/7101");
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM footprints"), 2);
    assert_eq!(count("SELECT count(*) FROM parcels"), 4);
    assert_eq!(
        count(
            "SELECT count(*) FROM gpkg_geometry_columns WHERE geometry_type_name = 'MULTIPOLYGON' \
             AND table_name IN ('footprints', 'parcels')"
        ),
        2
    );
    assert_eq!(count("SELECT count(*) FROM rtree_parcels_geom"), 4);
    assert_eq!(
        count(
            "SELECT count(*) FROM data_issues WHERE code = 'cadastre_commune_missing' \
             AND locator = '93048'"
        ),
        1
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM run_sources WHERE source_id = 'cadastre-etalab' \
             AND file = 'cadastre-93066-parcelles.json.gz' AND units_read = 6"
        ),
        1
    );

    if !common::have_gdal() {
        return;
    }
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(&gpkg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    for (layer, n) in [("footprints", 2), ("parcels", 4)] {
        let block = text
            .split("Layer name: ")
            .find(|s| s.starts_with(layer))
            .unwrap_or_else(|| panic!("layer {layer} not listed:\n{text}"));
        assert!(block.contains("Geometry: Multi Polygon"), "{block}");
        assert!(block.contains(&format!("Feature Count: {n}\n")), "{block}");
    }
    // GDAL's own area of the campus outline (planar in degrees) says the hole is there.
    let sql = Command::new("ogrinfo")
        .args(["-ro", "-q", "-sql"])
        .arg("SELECT ST_NumInteriorRing(ST_GeometryN(geom, 1)) AS holes FROM footprints WHERE record_key = 'overpass-synthetic:relation/7101'")
        .arg(&gpkg)
        .output()
        .unwrap();
    let sql_text = String::from_utf8_lossy(&sql.stdout);
    assert!(
        sql_text.contains("holes (Integer) = 1"),
        "{sql_text}{}",
        String::from_utf8_lossy(&sql.stderr)
    );
    common::assert_valid_gpkg(&gpkg);
    let g = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q"])
        .arg(out.join("facilities.geojson"))
        .output()
        .unwrap();
    let gtext = String::from_utf8_lossy(&g.stdout);
    assert!(
        g.status.success() && gtext.contains("93066000AB0101"),
        "{gtext}"
    );
}

#[test]
fn a_plain_parcel_file_in_the_mirror_gives_the_same_parcels() {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, mirror) = setup(dir.path(), "cadastre-93066-parcelles.json");
    let out = dir.path().join("out");
    let opts = dcinv::pipeline::BuildOptions::mirror(catalog, mirror, out);
    let report = dcinv::pipeline::build(&opts).unwrap();
    let inv = &report.inventory;
    assert!(report.failed_sources().is_empty());
    let mut ids: Vec<&str> = inv
        .surfaces
        .parcels
        .iter()
        .map(|p| p.parcel_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "93066000AB0101",
            "93066000AB0101",
            "93066000AB0103",
            "93066000AB0105"
        ]
    );
    assert!(inv.surfaces.parcels.iter().all(|p| {
        p.source
            .starts_with("cadastre-etalab/cadastre-93066-parcelles.json@")
    }));
    assert_eq!(inv.surfaces.communes_wanted, 2);
    assert_eq!(inv.surfaces.communes_missing, 1);
}

#[test]
fn an_unreadable_parcel_file_is_a_data_issue_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, mirror) = setup(dir.path(), "cadastre-93066-parcelles.json");
    let cadastre = mirror.join("cadastre-etalab");
    std::fs::remove_file(cadastre.join("cadastre-93066-parcelles.json")).unwrap();
    std::fs::write(
        cadastre.join("cadastre-93066-parcelles.json.gz"),
        b"{\"type\":\"FeatureCollection\",\"features\":[]}",
    )
    .unwrap();
    let out = dir.path().join("out");
    let opts = dcinv::pipeline::BuildOptions::mirror(catalog, mirror, out);
    let report = dcinv::pipeline::build(&opts).unwrap();
    let inv = &report.inventory;
    assert!(report.failed_sources().is_empty());
    let unreadable: Vec<_> = inv
        .issues
        .iter()
        .filter(|i| i.code == "cadastre_file_unreadable")
        .collect();
    assert_eq!(unreadable.len(), 1, "{:?}", inv.issues);
    assert!(
        unreadable[0].message.contains("not gzip"),
        "{}",
        unreadable[0].message
    );
    assert!(inv.surfaces.parcels.is_empty());
    // The outlines are still there.
    assert_eq!(inv.surfaces.footprints.len(), 2);
}

#[test]
fn a_build_is_skipped_only_when_the_parcel_files_are_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, mirror) = setup(dir.path(), "cadastre-93066-parcelles.json");
    let opts =
        dcinv::pipeline::BuildOptions::mirror(catalog, mirror.clone(), dir.path().join("out"));
    let build = || dcinv::pipeline::build(&opts).unwrap();
    // One commune has no parcel file: it is still missing, so the next build is skipped.
    let first = build();
    assert!(!first.unchanged);
    assert_eq!(first.inventory.surfaces.communes_missing, 1);
    let missing = first
        .inventory
        .issues
        .iter()
        .find(|i| i.code == "cadastre_commune_missing")
        .unwrap()
        .locator
        .clone();
    assert!(build().unchanged);
    // Its file appears: the build runs and reads it; then an unchanged mirror is skipped...
    let cadastre = mirror.join("cadastre-etalab");
    let parcels = cadastre.join("cadastre-93066-parcelles.json");
    std::fs::copy(
        &parcels,
        cadastre.join(format!("cadastre-{missing}-parcelles.json")),
    )
    .unwrap();
    let complete = build();
    assert!(!complete.unchanged);
    assert_eq!(complete.inventory.surfaces.communes_missing, 0);
    assert!(build().unchanged);
    // ...and a changed parcel file is read again.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&parcels).unwrap()).unwrap();
    doc["features"][0]["properties"]["contenance"] = json!(28_401);
    std::fs::write(&parcels, serde_json::to_vec(&doc).unwrap()).unwrap();
    let changed = build();
    assert!(!changed.unchanged);
    assert!(
        changed
            .inventory
            .surfaces
            .parcels
            .iter()
            .any(|p| p.contenance_m2 == Some(28_401.0))
    );
}
