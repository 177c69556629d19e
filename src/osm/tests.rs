//! Tests of the whole reader. In: synthetic PBF files (`testpbf.rs`), damaged copies of them,
//! and the real Helsinki sample (`shared/data/samples/osm-pbf/Helsinki.osm.pbf`, read in place).
//! Out: assertions — the PBF paths (sorted index, full scan, raw/zlib, with and without block
//! hint) agree; bad input gives issues or errors, never a panic; building polygons and their
//! total area match `osmium export` (skipped without osmium unless `DCINV_REQUIRE_OSMIUM` is
//! set).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Coord, LineString, MultiPolygon, Polygon};

use super::area::area_m2;
use super::filter::{DataCentreFilter, TagFilters};
use super::pbf::{PbfOptions, extract_pbf, read_pbf};
use super::testpbf::TestPbf;
use super::{IssueCode, OsmError, OsmFeature, OsmGeometry, OsmType};

/// A synthetic town: data centres of every shape among filler buildings, in many small blocks.
fn town() -> TestPbf {
    let mut t = TestPbf::new();
    t.per_block = 4;
    let mut id = 1;
    let mut square = |t: &mut TestPbf, x: f64, y: f64, s: f64| -> Vec<i64> {
        let mut refs = Vec::new();
        for (dx, dy) in [(0.0, 0.0), (s, 0.0), (s, s), (0.0, s)] {
            t.node(id, x + dx, y + dy, &[]);
            refs.push(id);
            id += 1;
        }
        refs.push(refs[0]);
        refs
    };
    // Filler buildings.
    let mut filler = Vec::new();
    for i in 0..20 {
        filler.push(square(&mut t, 2.0 + 0.01 * f64::from(i), 48.0, 0.001));
    }
    let dc_way = square(&mut t, 2.5, 48.5, 0.002);
    let open: Vec<i64> = dc_way[..3].to_vec();
    // Multipolygon: outer square split into two ways (second reversed), one hole.
    let outer = square(&mut t, 3.0, 48.0, 0.01);
    let hole = square(&mut t, 3.002, 48.002, 0.002);
    // Bow-tie.
    let b = square(&mut t, 4.0, 48.0, 0.001);
    let bowtie = vec![b[0], b[2], b[1], b[3], b[0]];
    let first_free = id;
    t.node(
        first_free,
        2.35,
        48.85,
        &[("telecom", "data_center"), ("name", "DC node")],
    );
    t.node(first_free + 1, 2.36, 48.86, &[("telecom", "exchange")]);
    for (i, refs) in filler.iter().enumerate() {
        t.way(1000 + i as i64, refs, &[("building", "yes")]);
    }
    t.way(2000, &dc_way, &[("building", "data_center")]);
    t.way(2001, &open, &[("telecom", "data_center")]);
    t.way(2002, &bowtie, &[("telecom", "data_center")]);
    t.way(
        2003,
        &[dc_way[0], dc_way[1], 99_999, dc_way[0]],
        &[("telecom", "data_center")],
    );
    t.way(3000, &[outer[0], outer[1], outer[2]], &[]);
    t.way(3001, &[outer[0], outer[3], outer[2]], &[]);
    t.way(3002, &hole, &[("note", "untagged hole")]);
    t.relation(
        4000,
        &[
            (1, 3000, "outer"),
            (1, 3001, "outer"),
            (1, 3002, "inner"),
            (0, first_free, ""),
        ],
        &[("type", "multipolygon"), ("building", "data_center")],
    );
    t.relation(
        4001,
        &[(1, 3000, "outer"), (1, 3999, "outer")],
        &[("type", "multipolygon"), ("telecom", "data_center")],
    );
    t.relation(
        4002,
        &[(1, 2000, "")],
        &[("type", "site"), ("telecom", "data_center")],
    );
    t
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
    f
}

fn summary(features: &[OsmFeature]) -> Vec<(String, String, usize)> {
    features
        .iter()
        .map(|f| {
            let (kind, parts) = match &f.geometry {
                OsmGeometry::Point { .. } => ("point".to_string(), 0),
                OsmGeometry::Area(mp) => (
                    format!("area {:.1}", area_m2(mp)),
                    mp.0.iter().map(|p| 1 + p.interiors().len()).sum(),
                ),
            };
            (f.element(), kind, parts)
        })
        .collect()
}

#[test]
fn synthetic_town_every_path_agrees() {
    let dc = DataCentreFilter::default();
    let filter = |tags: &[(&str, &str)]| dc.matches(tags);
    let mut reference = None;
    for sorted in [true, false] {
        for zlib in [true, false] {
            for hint in [true, false] {
                let mut town = town();
                town.sorted = sorted;
                town.zlib = zlib;
                let file = write_temp(&town.bytes());
                let options = PbfOptions {
                    hint: hint.then(|| dc.block_hint()),
                    threads: 2,
                };
                let out = extract_pbf(file.path(), &filter, &options).unwrap();
                let s = &out.stats;
                assert_eq!(s.sorted, sorted);
                if hint {
                    assert!(s.blocks_skipped > 0, "{s:?}");
                } else {
                    assert_eq!(s.blocks_skipped, 0);
                }
                if sorted {
                    assert!(s.lookup_blocks < s.blocks, "{s:?}");
                }
                assert_eq!((s.ways_not_area, s.relations_not_area), (1, 1));
                let got = (summary(&out.features), out.issues.clone());
                match &reference {
                    None => reference = Some(got),
                    Some(r) => assert_eq!(r, &got, "sorted {sorted} zlib {zlib} hint {hint}"),
                }
            }
        }
    }
    let (features, issues) = reference.unwrap();
    let ids: Vec<&str> = features.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(ids, vec!["node/97", "way/2000", "relation/4000"]);
    assert_eq!(features[2].2, 2, "outer + hole");
    let codes: BTreeMap<IssueCode, Vec<String>> =
        issues.iter().fold(BTreeMap::new(), |mut m, i| {
            m.entry(i.code).or_default().push(i.element.clone());
            m
        });
    assert_eq!(codes[&IssueCode::OsmWayMissingNode], vec!["way/2003"]);
    assert_eq!(codes[&IssueCode::OsmRingSelfIntersection], vec!["way/2002"]);
    assert_eq!(
        codes[&IssueCode::OsmMultipolygonMissingWay],
        vec!["relation/4001"]
    );
    assert_eq!(codes.len(), 3);
}

#[test]
fn multipolygon_hole_area_is_subtracted() {
    let file = write_temp(&town().bytes());
    let filter = TagFilters::parse(&["building=data_center"]).unwrap();
    let (features, _) =
        read_pbf(file.path(), &|t| filter.matches(t), &PbfOptions::default()).unwrap();
    let rel = features
        .iter()
        .find(|f| f.osm_type == OsmType::Relation)
        .unwrap();
    let OsmGeometry::Area(mp) = &rel.geometry else {
        panic!("not an area")
    };
    let outer = MultiPolygon(vec![Polygon::new(mp.0[0].exterior().clone(), vec![])]);
    let hole = MultiPolygon(vec![Polygon::new(mp.0[0].interiors()[0].clone(), vec![])]);
    let a = area_m2(mp);
    assert!((a - (area_m2(&outer) - area_m2(&hole))).abs() <= 1e-6 * a);
    assert!(a > 0.9 * area_m2(&outer));
}

#[test]
fn truncated_and_corrupt_files_are_errors_not_panics() {
    let bytes = town().bytes();
    let dc = DataCentreFilter::default();
    let filter = |tags: &[(&str, &str)]| dc.matches(tags);
    let options = PbfOptions {
        hint: Some(dc.block_hint()),
        threads: 1,
    };
    // Every cut: an error naming the file, or (cut at a blob boundary) fewer features.
    let mut errors = 0;
    for cut in (0..bytes.len()).step_by(7) {
        let file = write_temp(&bytes[..cut]);
        if let Err(e) = read_pbf(file.path(), &filter, &options) {
            errors += 1;
            let text = e.to_string();
            assert!(text.contains(&file.path().display().to_string()), "{text}");
        }
    }
    assert!(errors > bytes.len() / 7 / 2);
    let file = write_temp(&bytes[..bytes.len() - 3]);
    let e = read_pbf(file.path(), &filter, &options).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // Flipped bytes: never a panic.
    for pos in (0..bytes.len()).step_by(5) {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x5a;
        let file = write_temp(&damaged);
        let _ = read_pbf(file.path(), &filter, &options);
    }
    // Not a PBF at all; a missing file.
    let file = write_temp(b"{\"elements\": []}\n");
    assert!(matches!(
        read_pbf(file.path(), &filter, &options),
        Err(OsmError::Pbf { .. })
    ));
    let e = read_pbf(Path::new("/nonexistent/x.osm.pbf"), &filter, &options).unwrap_err();
    assert!(matches!(e, OsmError::Io { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/x.osm.pbf"));
}

// ---------------------------------------------------------------------------------------------
// The real sample and osmium.

/// The Helsinki sample: `DCINV_OSM_SAMPLE`, else `shared/` beside the checkout.
fn helsinki() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = "shared/data/samples/osm-pbf/Helsinki.osm.pbf";
    std::env::var_os("DCINV_OSM_SAMPLE")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("..").join(rel),
            manifest.join("../..").join(rel),
        ])
        .find(|p| p.is_file())
}

fn require_osmium() -> bool {
    std::env::var_os("DCINV_REQUIRE_OSMIUM").is_some()
}

fn osmium_ok() -> bool {
    Command::new("osmium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ring_from_json(v: &serde_json::Value) -> LineString<f64> {
    LineString(
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| Coord {
                x: c[0].as_f64().unwrap(),
                y: c[1].as_f64().unwrap(),
            })
            .collect(),
    )
}

fn polygon_from_json(v: &serde_json::Value) -> Polygon<f64> {
    let rings: Vec<LineString<f64>> = v.as_array().unwrap().iter().map(ring_from_json).collect();
    Polygon::new(rings[0].clone(), rings[1..].to_vec())
}

/// Building polygons of `osmium tags-filter building` + `osmium export` (polygons only),
/// keyed by (type, id), with their areas.
fn osmium_buildings(sample: &Path) -> BTreeMap<(String, i64), f64> {
    let dir = tempfile::tempdir().unwrap();
    let filtered = dir.path().join("buildings.osm.pbf");
    let exported = dir.path().join("buildings.geojson");
    run(Command::new("osmium")
        .args(["tags-filter", "--overwrite", "-o"])
        .arg(&filtered)
        .arg(sample)
        .arg("building"));
    run(Command::new("osmium")
        .args([
            "export",
            "--overwrite",
            "--geometry-types=polygon",
            "-a",
            "type,id",
            "-f",
            "geojson",
            "-o",
        ])
        .arg(&exported)
        .arg(&filtered));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for f in json["features"].as_array().unwrap() {
        let props = &f["properties"];
        if props.get("building").is_none() {
            continue; // a referenced member way exported for its own tags
        }
        let g = &f["geometry"];
        let mp = match g["type"].as_str().unwrap() {
            "Polygon" => MultiPolygon(vec![polygon_from_json(&g["coordinates"])]),
            "MultiPolygon" => MultiPolygon(
                g["coordinates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(polygon_from_json)
                    .collect(),
            ),
            other => panic!("unexpected geometry {other}"),
        };
        let key = (
            props["@type"].as_str().unwrap().to_string(),
            props["@id"].as_i64().unwrap(),
        );
        out.insert(key, area_m2(&mp));
    }
    out
}

#[test]
fn helsinki_buildings_match_osmium() {
    let Some(sample) = helsinki() else {
        assert!(
            !require_osmium(),
            "the Helsinki sample is missing (set DCINV_OSM_SAMPLE)"
        );
        eprintln!("skipped: Helsinki sample not found");
        return;
    };
    if !osmium_ok() {
        assert!(
            !require_osmium(),
            "DCINV_REQUIRE_OSMIUM is set but osmium is not installed"
        );
        eprintln!("skipped: osmium is not installed (apt-get install osmium-tool)");
        return;
    }
    let filter = TagFilters::parse(&["building"]).unwrap();
    let options = PbfOptions {
        hint: Some(filter.block_hint()),
        threads: 0,
    };
    let ours_buildings = |path: &Path| -> BTreeMap<(String, i64), f64> {
        let (features, _issues) = read_pbf(path, &|t| filter.matches(t), &options).unwrap();
        features
            .iter()
            .filter_map(|f| match &f.geometry {
                OsmGeometry::Area(mp) => {
                    Some(((f.osm_type.as_str().to_string(), f.id), area_m2(mp)))
                }
                OsmGeometry::Point { .. } => None,
            })
            .collect()
    };
    compare_with_osmium(
        "Helsinki",
        &ours_buildings(&sample),
        &osmium_buildings(&sample),
    );

    // The sorted-index path on real data: the sample renumbered by osmium (which declares
    // Sort.Type_then_ID), so that node and member-way lookups go through the block index.
    let dir = tempfile::tempdir().unwrap();
    let renumbered = dir.path().join("renumbered.osm.pbf");
    run(Command::new("osmium")
        .args(["renumber", "--overwrite", "-o"])
        .arg(&renumbered)
        .arg(&sample));
    let stats = extract_pbf(&renumbered, &|t| filter.matches(t), &options)
        .unwrap()
        .stats;
    assert!(stats.sorted && stats.lookup_blocks > 0, "{stats:?}");
    compare_with_osmium(
        "Helsinki renumbered (sorted)",
        &ours_buildings(&renumbered),
        &osmium_buildings(&renumbered),
    );
}

/// Same polygons, total area within 0.5 %, each area within 1e-6.
fn compare_with_osmium(
    what: &str,
    ours: &BTreeMap<(String, i64), f64>,
    theirs: &BTreeMap<(String, i64), f64>,
) {
    let total = |m: &BTreeMap<(String, i64), f64>| m.values().sum::<f64>();
    eprintln!(
        "{what} --tag building: ours {} polygons, {:.1} m²; osmium {} polygons, {:.1} m²",
        ours.len(),
        total(ours),
        theirs.len(),
        total(theirs)
    );
    let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{what}: only ours {only_ours:?}, only osmium {only_theirs:?}"
    );
    let rel = (total(ours) - total(theirs)).abs() / total(theirs);
    assert!(
        rel < 0.005,
        "{what}: total area differs by {:.4} %",
        rel * 100.0
    );
    for (k, a) in ours {
        let b = theirs[k];
        assert!(
            (a - b).abs() <= 1e-6 * b.max(1.0),
            "{what} {k:?}: {a} vs {b}"
        );
    }
}

#[test]
fn helsinki_hint_changes_nothing() {
    let Some(sample) = helsinki() else {
        assert!(
            !require_osmium(),
            "the Helsinki sample is missing (set DCINV_OSM_SAMPLE)"
        );
        eprintln!("skipped: Helsinki sample not found");
        return;
    };
    for exprs in [
        &["building"][..],
        &["amenity=restaurant", "shop"],
        &["telecom=data_center"],
    ] {
        let filter = TagFilters::parse(exprs).unwrap();
        let with = PbfOptions {
            hint: Some(filter.block_hint()),
            threads: 0,
        };
        let a = read_pbf(&sample, &|t| filter.matches(t), &with).unwrap();
        let b = read_pbf(&sample, &|t| filter.matches(t), &PbfOptions::default()).unwrap();
        assert_eq!(a, b, "{exprs:?}");
    }
}

#[test]
fn extract_command_writes_geojson() {
    let file = write_temp(&town().bytes());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dc.geojson");
    let mut tags: Vec<String> = DataCentreFilter::default().as_tag_expressions();
    tags.push("telecom=exchange".into());
    let args = super::ExtractArgs {
        input: file.path().to_path_buf(),
        tags,
        out: out.clone(),
        threads: 0,
    };
    let mut log = Vec::new();
    let s = super::run_extract(&args, &mut log).unwrap();
    assert_eq!((s.points, s.areas), (2, 2));
    let log = String::from_utf8(log).unwrap();
    assert!(
        log.contains("written: 4 features (2 points, 2 areas)"),
        "{log}"
    );
    assert!(log.contains("time: scan"), "{log}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["features"].as_array().unwrap().len(), 4);
    // A failing run leaves no output behind.
    let bad = super::ExtractArgs {
        input: dir.path().join("missing.osm.pbf"),
        out: dir.path().join("never.geojson"),
        ..args
    };
    assert!(super::run_extract(&bad, &mut Vec::new()).is_err());
    assert!(!dir.path().join("never.geojson").exists());
}
