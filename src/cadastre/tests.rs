//! Tests of the cadastre module: the synthetic fixture (`tests/fixtures/cadastre-etalab/`) and
//! the real Etalab sample of commune 69114 (shared data mirror, never copied) in → reads,
//! joins and errors checked out; plus the bad inputs (cut, not gzip, gzip bomb, missing
//! contenance, invalid rings, syntax).

use std::io::Write;
use std::path::{Path, PathBuf};

use geo::{Coord, InteriorPoint, Polygon, Rect};

use super::*;
use crate::common::area_m2;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cadastre-etalab")
        .join(name)
}

const FIXTURE: &str = "cadastre-93066-parcelles.json";

/// The real sample: `$DCINV_MIRROR`, else `../shared/data/mirror` (dcinv) or
/// `../../shared/data/mirror` (scratch crate) beside the checkout.
fn real_sample() -> PathBuf {
    let rel = "cadastre-etalab/cadastre-69114-parcelles.json";
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(m) = std::env::var_os("DCINV_MIRROR") {
        candidates.push(PathBuf::from(m));
    }
    candidates.push(root.join("../shared/data/mirror"));
    candidates.push(root.join("../../shared/data/mirror"));
    candidates
        .iter()
        .map(|c| c.join(rel))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("the real sample {rel} is required (set DCINV_MIRROR)"))
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Metres east/north of the fixture's origin → lon/lat (as the fixture was made).
fn site(x: f64, y: f64) -> (f64, f64) {
    let (lon0, lat0) = (2.3550f64, 48.9240f64);
    let mx = 111_320.0 * lat0.to_radians().cos();
    let r7 = |v: f64| (v * 1e7).round() / 1e7;
    (r7(lon0 + x / mx), r7(lat0 + y / 111_200.0))
}

fn rect_poly(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    let (a, b) = (site(x0, y0), site(x1, y1));
    Rect::new(Coord { x: a.0, y: a.1 }, Coord { x: b.0, y: b.1 }).to_polygon()
}

fn ids(parcels: &[Parcel]) -> Vec<&str> {
    parcels.iter().map(|p| p.id.as_str()).collect()
}

#[test]
fn fixture_plain_and_gzip_read_the_same() {
    let opts = ReadOptions::default();
    let plain = read_parcels(&fixture(FIXTURE), &opts).unwrap();
    let gz = read_parcels(&fixture(&format!("{FIXTURE}.gz")), &opts).unwrap();
    assert_eq!(plain.parcels, gz.parcels);
    assert_eq!(plain.features_read, 6);
    assert_eq!(
        ids(&plain.parcels),
        [
            "93066000AB0101",
            "93066000AB0102",
            "93066000AB0103",
            "93066000AB0104",
            "93066000AB0105",
            "930661010C0007"
        ]
    );
    assert_eq!(plain.issues.count(IssueCode::ParcelMissingContenance), 1);
    assert_eq!(plain.issues.total(), 1);
    let ex = &plain.issues.examples()[0];
    assert_eq!(ex.parcel_id.as_deref(), Some("93066000AB0104"));
    assert_eq!(ex.feature_index, 3);

    let p = &plain.parcels;
    assert_eq!(p[0].geometry.0.len(), 1);
    assert_eq!(p[0].geometry.0[0].interiors().len(), 1);
    assert_eq!(p[2].geometry.0.len(), 2);
    assert_eq!(p[3].contenance_m2, None);
    assert_eq!(p[0].contenance_m2, Some(28400.0));
    assert_eq!(p[5].prefixe, "101");
    assert_eq!(p[5].section, "C");
    assert_eq!(p[5].numero, "7");
    assert_eq!(p[5].commune, "93066");

    // Geodesic areas match the legal areas within 1 % (the fixture is in metres).
    for parcel in p {
        if let Some(c) = parcel.contenance_m2 {
            let a = area_m2(&parcel.geometry);
            assert!((a - c).abs() / c < 0.01, "{}: {a} vs {c}", parcel.id);
        }
    }
    // Exteriors counter-clockwise, holes clockwise, whatever the file's winding.
    use geo::Winding;
    assert!(p[0].geometry.0[0].exterior().is_ccw());
    assert!(p[0].geometry.0[0].interiors()[0].is_cw());
}

#[test]
fn streaming_reader_matches_read_parcels() {
    for name in [FIXTURE.to_string(), format!("{FIXTURE}.gz")] {
        let path = fixture(&name);
        let all = read_parcels(&path, &ReadOptions::default()).unwrap();
        let mut r = ParcelReader::open(&path, &ReadOptions::default()).unwrap();
        let streamed: Vec<Parcel> = r.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(streamed, all.parcels);
        assert_eq!(r.features_read(), 6);
        assert_eq!(r.issues(), &all.issues);
    }
}

#[test]
fn any_layout_reads_the_same() {
    let base = read_parcels(&fixture(FIXTURE), &ReadOptions::default()).unwrap();
    let text = std::fs::read_to_string(fixture(FIXTURE)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Pretty-printed with sorted keys, CRLF lines, one single line, a foreign member.
    let variants = [
        ("pretty.json", serde_json::to_string_pretty(&v).unwrap()),
        ("crlf.json", text.replace('\n', "\r\n")),
        ("one-line.json", v.to_string()),
        (
            "extra.json",
            text.replacen("{", r#"{"name":"x","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"#, 1),
        ),
    ];
    for (name, body) in variants {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        for threads in [1, 2] {
            let opts = ReadOptions {
                threads,
                ..ReadOptions::default()
            };
            let got = read_parcels(&p, &opts).unwrap();
            assert_eq!(got.parcels, base.parcels, "{name}");
            assert_eq!(got.issues, base.issues, "{name}");
        }
        let streamed: Vec<Parcel> = ParcelReader::open(&p, &ReadOptions::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(streamed, base.parcels, "{name}");
    }
}

#[test]
fn fixture_point_queries() {
    let index = ParcelIndex::new(
        read_parcels(&fixture(FIXTURE), &ReadOptions::default())
            .unwrap()
            .parcels,
    );
    let at = |x, y| {
        let (lon, lat) = site(x, y);
        index.parcel_at(lon, lat).map(|p| p.id.as_str())
    };
    assert_eq!(at(40.0, 100.0), Some("93066000AB0101"));
    assert_eq!(at(100.0, 70.0), Some("93066000AB0102"), "hole → enclave");
    assert_eq!(at(250.0, 120.0), Some("93066000AB0103"), "second part");
    assert_eq!(at(250.0, 30.0), Some("93066000AB0103"), "first part");
    assert_eq!(at(205.0, 100.0), None, "gap");
    assert_eq!(at(250.0, 75.0), Some("93066000AB0104"));
    assert_eq!(
        at(100.0, 150.0),
        Some("93066000AB0105"),
        "shared edge: the smaller"
    );
    assert_eq!(at(0.0, 0.0), Some("93066000AB0101"), "corner");
    assert_eq!(at(350.0, 100.0), Some("930661010C0007"));
    assert_eq!(at(5000.0, 5000.0), None);

    // Without the enclave, a point in the hole is in no parcel, one on its edge is in the campus.
    let only_campus = ParcelIndex::new(vec![index.parcels()[0].clone()]);
    let (lon, lat) = site(100.0, 70.0);
    assert!(only_campus.parcel_at(lon, lat).is_none());
    let (lon, lat) = site(80.0, 70.0);
    assert!(only_campus.parcel_at(lon, lat).is_some());
}

#[test]
fn fixture_footprint_overlaps() {
    let index = ParcelIndex::new(
        read_parcels(&fixture(FIXTURE), &ReadOptions::default())
            .unwrap()
            .parcels,
    );
    let id = |o: &ParcelOverlap| index.parcels()[o.parcel].id.clone();
    // 100 × 50 m across the campus (60 %) and its northern neighbour (40 %).
    let fp = rect_poly(50.0, 120.0, 150.0, 170.0);
    let o = index.overlapping(&fp, DEFAULT_MIN_OVERLAP_SHARE);
    assert_eq!(o.len(), 2, "{o:?}");
    assert_eq!(id(&o[0]), "93066000AB0101");
    assert!((o[0].share - 0.6).abs() < 0.01, "{o:?}");
    assert!((o[0].overlap_m2 - 3000.0).abs() < 30.0, "{o:?}");
    assert_eq!(id(&o[1]), "93066000AB0105");
    assert!((o[1].share - 0.4).abs() < 0.01, "{o:?}");

    // Over the campus, the gap and the MultiPolygon: 40 % campus, 20 % annex, 40 % nothing.
    let fp = rect_poly(190.0, 100.0, 215.0, 140.0);
    let o = index.overlapping(&fp, DEFAULT_MIN_OVERLAP_SHARE);
    let got: Vec<(String, f64)> = o.iter().map(|x| (id(x), x.share)).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "93066000AB0101");
    assert!((got[0].1 - 0.4).abs() < 0.01);
    assert_eq!(got[1].0, "93066000AB0103");
    assert!((got[1].1 - 0.2).abs() < 0.01);

    // A sliver under the share is left out; the share is a parameter.
    let fp = rect_poly(100.0, 100.0, 200.0, 152.0); // 2 m of 52 m in the north parcel
    let o = index.overlapping(&fp, DEFAULT_MIN_OVERLAP_SHARE);
    assert_eq!(o.len(), 1);
    let o = index.overlapping(&fp, 0.01);
    assert_eq!(o.len(), 2);

    // Footprint over the hole: the enclave, not the campus.
    let fp = rect_poly(85.0, 55.0, 115.0, 85.0);
    let o = index.overlapping(&fp, DEFAULT_MIN_OVERLAP_SHARE);
    assert_eq!(o.len(), 1);
    assert_eq!(id(&o[0]), "93066000AB0102");
    assert!((o[0].share - 1.0).abs() < 1e-6);
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        join::JOIN_CSV_HEADER
    );
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn fixture_join_parcels_csv() {
    let dir = tempfile::tempdir().unwrap();
    for name in [FIXTURE.to_string(), format!("{FIXTURE}.gz")] {
        let out = dir.path().join("out.csv");
        let stats = join_parcels(
            &fixture(&name),
            &fixture("sites.geojson"),
            &out,
            &JoinOptions::default(),
        )
        .unwrap();
        assert_eq!(stats.points, 9);
        assert_eq!(stats.points_invalid, 1);
        assert_eq!(stats.points_matched, 6);
        assert_eq!(stats.features_read, 6);
        let rows = read_csv(&out);
        let want = [
            ["dc-campus", "Campus hall A", "0", "93066000AB0101", "28400"],
            ["dc-substation", "Substation", "1", "93066000AB0102", "1600"],
            ["dc-annex", "Annex", "2", "93066000AB0103", "10800"],
            ["dc-gap", "Between parcels", "3", "", ""],
            ["dc-road", "Road strip", "4", "93066000AB0104", ""],
            [
                "dc-edge",
                "On the campus/north boundary",
                "5",
                "93066000AB0105",
                "15000",
            ],
            ["dc-other", "Prefixe 101", "6", "930661010C0007", "20000"],
            ["dc-far", "Far away", "7", "", ""],
            ["dc-nogeom", "No geometry", "8", "", ""],
        ];
        assert_eq!(rows, want.map(|r| r.map(str::to_string)).to_vec());
    }
}

#[test]
fn join_parcels_writes_one_row_per_point_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let stats = join_parcels(
        &fixture(FIXTURE),
        &fixture("sites.geojson"),
        &out,
        &JoinOptions::default(),
    )
    .unwrap();
    assert_eq!(stats.points, 9);
    assert_eq!(read_csv(&out).len(), 9);
    let mut summary = Vec::new();
    write_summary(&mut summary, &stats).unwrap();
    assert!(
        String::from_utf8(summary)
            .unwrap()
            .starts_with("join-parcels: 9 points")
    );
}

#[test]
fn real_sample_every_parcel_read() {
    let path = real_sample();
    let out = read_parcels(&path, &ReadOptions::default()).unwrap();
    assert_eq!(out.features_read, 6032);
    assert_eq!(out.parcels.len(), 6032);
    assert_eq!(out.issues.total(), 0, "{}", out.issues);
    let prefixes: std::collections::BTreeSet<&str> =
        out.parcels.iter().map(|p| p.prefixe.as_str()).collect();
    assert_eq!(
        prefixes.into_iter().collect::<Vec<_>>(),
        ["000", "101", "159"]
    );
    assert!(out.parcels.iter().all(|p| p.contenance_m2.is_some()));
    let holes: usize = out
        .parcels
        .iter()
        .map(|p| {
            p.geometry
                .iter()
                .map(|g| g.interiors().len())
                .sum::<usize>()
        })
        .sum();
    assert!(holes >= 35, "{holes}");

    // Gzipped, single-threaded and streamed: the same parcels.
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("cadastre-69114-parcelles.json.gz");
    std::fs::write(&gz, gzip_bytes(&std::fs::read(&path).unwrap())).unwrap();
    let single = ReadOptions {
        threads: 1,
        ..ReadOptions::default()
    };
    assert_eq!(read_parcels(&gz, &single).unwrap().parcels, out.parcels);
    let streamed: Vec<Parcel> = ParcelReader::open(&gz, &ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(streamed, out.parcels);

    // Geodesic areas agree with the legal areas (median relative gap under 2 %).
    let mut gaps: Vec<f64> = out
        .parcels
        .iter()
        .filter_map(|p| {
            let c = p.contenance_m2?;
            (c > 0.0).then(|| (area_m2(&p.geometry) - c).abs() / c)
        })
        .collect();
    gaps.sort_by(f64::total_cmp);
    assert!(
        gaps[gaps.len() / 2] < 0.02,
        "median gap {}",
        gaps[gaps.len() / 2]
    );
}

#[test]
fn real_sample_points_join_to_their_parcels() {
    let path = real_sample();
    let parcels = read_parcels(&path, &ReadOptions::default())
        .unwrap()
        .parcels;
    let index = ParcelIndex::new(parcels.clone());
    // Interior points of every 500th parcel, plus a grid over the commune.
    let mut pts: Vec<(Option<String>, Coord<f64>)> = parcels
        .iter()
        .step_by(500)
        .map(|p| (Some(p.id.clone()), p.geometry.interior_point().unwrap().0))
        .collect();
    let bbox = geo::BoundingRect::bounding_rect(&geo::MultiPolygon::new(
        parcels.iter().flat_map(|p| p.geometry.0.clone()).collect(),
    ))
    .unwrap();
    for i in 0..30 {
        for j in 0..30 {
            pts.push((
                None,
                Coord {
                    x: bbox.min().x + bbox.width() * (f64::from(i) + 0.5) / 30.0,
                    y: bbox.min().y + bbox.height() * (f64::from(j) + 0.5) / 30.0,
                },
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let geojson = dir.path().join("points.geojson");
    let features: Vec<serde_json::Value> = pts
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            serde_json::json!({"type": "Feature", "id": format!("p{i}"),
                "properties": {}, "geometry": {"type": "Point", "coordinates": [c.x, c.y]}})
        })
        .collect();
    std::fs::write(
        &geojson,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let out = dir.path().join("out.csv");
    let stats = join_parcels(&path, &geojson, &out, &JoinOptions::default()).unwrap();
    assert_eq!(stats.points as usize, pts.len());
    let rows = read_csv(&out);
    let mut matched = 0;
    for ((want, c), row) in pts.iter().zip(&rows) {
        // Same as the in-memory index and as a brute-force scan of all parcels.
        let brute = parcels
            .iter()
            .filter(|p| contains_inclusive(&p.geometry, *c))
            .min_by(|a, b| {
                area_m2(&a.geometry)
                    .total_cmp(&area_m2(&b.geometry))
                    .then_with(|| a.id.cmp(&b.id))
            })
            .map(|p| p.id.as_str())
            .unwrap_or("");
        let idx = index.parcel_at(c.x, c.y).map_or("", |p| p.id.as_str());
        assert_eq!(row[3], brute, "point {c:?}");
        assert_eq!(idx, brute, "point {c:?}");
        if let Some(w) = want {
            assert_eq!(&row[3], w, "interior point of {w}");
        }
        if !row[3].is_empty() {
            matched += 1;
            let p = parcels.iter().find(|p| p.id == row[3]).unwrap();
            assert_eq!(
                row[4],
                p.contenance_m2
                    .map(|v| format!("{v:.0}"))
                    .unwrap_or_default()
            );
        }
    }
    assert!(matched > 500, "{matched}");
}

// ---- bad input ----

#[test]
fn cut_file_is_an_error_naming_it() {
    let data = std::fs::read(real_sample()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut-69114.json");
    let half = data.len() / 2;
    std::fs::write(&cut, &data[..half]).unwrap();
    let complete = data[..half].iter().filter(|&&b| b == b'\n').count() as u64 - 1;

    let e = read_parcels(&cut, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(e, CadastreError::Truncated { features_read, .. } if features_read == complete),
        "{e}"
    );
    assert!(e.to_string().contains("cut-69114.json"), "{e}");
    assert!(e.to_string().contains("cut short"), "{e}");

    // The streaming reader yields the complete features first, then the error, then nothing.
    let mut r = ParcelReader::open(&cut, &ReadOptions::default()).unwrap();
    let mut ok = 0u64;
    let mut err = None;
    for item in r.by_ref() {
        match item {
            Ok(_) => ok += 1,
            Err(e) => err = Some(e),
        }
    }
    assert_eq!(ok, complete);
    assert!(matches!(err, Some(CadastreError::Truncated { .. })));
    assert!(r.next().is_none());

    // A cut gzip file.
    let gz = gzip_bytes(&data);
    let cutgz = dir.path().join("cut-69114.json.gz");
    std::fs::write(&cutgz, &gz[..gz.len() / 2]).unwrap();
    let e = read_parcels(&cutgz, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, CadastreError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("cut-69114.json.gz"), "{e}");
    // Cut in the gzip trailer only: still an error.
    std::fs::write(&cutgz, &gz[..gz.len() - 3]).unwrap();
    let e = read_parcels(&cutgz, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, CadastreError::Truncated { .. }), "{e}");

    // join_parcels fails and writes nothing.
    let out = dir.path().join("o.csv");
    let e = join_parcels(
        &cut,
        &fixture("sites.geojson"),
        &out,
        &JoinOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, CadastreError::Truncated { .. }));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn gz_name_without_gzip_is_an_error_and_magic_wins() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("cadastre-93066-parcelles.json.gz");
    std::fs::copy(fixture(FIXTURE), &fake).unwrap();
    let e = read_parcels(&fake, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, CadastreError::NotGzip { .. }), "{e}");
    assert!(e.to_string().contains("not gzip"), "{e}");
    assert!(ParcelReader::open(&fake, &ReadOptions::default()).is_err());

    // Gzip data under a plain name is read as gzip.
    let disguised = dir.path().join("parcels.json");
    std::fs::copy(fixture(&format!("{FIXTURE}.gz")), &disguised).unwrap();
    assert_eq!(
        read_parcels(&disguised, &ReadOptions::default())
            .unwrap()
            .parcels
            .len(),
        6
    );

    // Corrupt gzip body.
    let mut gz = std::fs::read(fixture(&format!("{FIXTURE}.gz"))).unwrap();
    for b in gz.iter_mut().skip(12).take(40) {
        *b ^= 0x5a;
    }
    let bad = dir.path().join("bad.json.gz");
    std::fs::write(&bad, gz).unwrap();
    let e = read_parcels(&bad, &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("bad.json.gz"), "{e}");

    // Missing file, empty file.
    let e = read_parcels(&dir.path().join("nope.json"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, CadastreError::Io { .. }), "{e}");
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let e = read_parcels(&empty, &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn gzip_bomb_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // 10 MB of whitespace inside a valid FeatureCollection compresses to about 10 KB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(br#"{"type":"FeatureCollection","features":["#)
        .unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..10 {
        e.write_all(&spaces).unwrap();
    }
    e.write_all(b"]}").unwrap();
    let gz = e.finish().unwrap();
    assert!(gz.len() < 40_000, "{}", gz.len());
    let bomb = dir.path().join("bomb.json.gz");
    std::fs::write(&bomb, &gz).unwrap();
    let opts = ReadOptions {
        max_decompressed_bytes: 1 << 20,
        ..ReadOptions::default()
    };
    let err = read_parcels(&bomb, &opts).unwrap_err();
    assert!(
        matches!(err, CadastreError::DecompressedTooLarge { limit, .. } if limit == 1 << 20),
        "{err}"
    );
    assert!(err.to_string().contains("bomb.json.gz"));
    // Under the default cap the same file is a valid, empty collection.
    assert_eq!(
        read_parcels(&bomb, &ReadOptions::default())
            .unwrap()
            .features_read,
        0
    );

    // 10 MB of zeros: an error, whichever comes first, never a panic.
    let zeros = dir.path().join("zeros.json.gz");
    std::fs::write(&zeros, gzip_bytes(&vec![0u8; 10 << 20])).unwrap();
    assert!(read_parcels(&zeros, &opts).is_err());

    // One huge feature: capped per feature too.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(br#"{"type":"FeatureCollection","features":[{"properties":{"x":""#)
        .unwrap();
    for _ in 0..4 {
        e.write_all(&vec![b'a'; 1 << 20]).unwrap();
    }
    e.write_all(br#""}}]}"#).unwrap();
    let huge = dir.path().join("huge.json.gz");
    std::fs::write(&huge, e.finish().unwrap()).unwrap();
    let opts = ReadOptions {
        max_feature_bytes: 1 << 20,
        ..ReadOptions::default()
    };
    let err = read_parcels(&huge, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            CadastreError::FeatureTooLarge {
                feature_index: 0,
                ..
            }
        ),
        "{err}"
    );
}

/// Writes a FeatureCollection of the given feature texts.
fn collection(dir: &Path, name: &str, features: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let text = format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}",
        features.join(",\n")
    );
    std::fs::write(&p, text).unwrap();
    p
}

const SQ: &str = "[[0,0],[0.001,0],[0.001,0.001],[0,0.001],[0,0]]";
const HOLE: &str =
    "[[0.0004,0.0004],[0.0006,0.0004],[0.0006,0.0006],[0.0004,0.0006],[0.0004,0.0004]]";

fn feat(id: &str, geometry: &str, props: &str) -> String {
    format!(
        r#"{{"type":"Feature","id":"{id}","geometry":{geometry},"properties":{{"id":"{id}","commune":"00000","prefixe":"000","section":"A","numero":"1"{props}}}}}"#
    )
}

#[test]
fn missing_contenance_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let g = format!(r#"{{"type":"Polygon","coordinates":[{SQ}]}}"#);
    let fs = [
        feat("A", &g, r#","contenance":100"#),
        feat("B", &g, ""),
        feat("C", &g, r#","contenance":null"#),
        feat("D", &g, r#","contenance":"12""#),
        feat("E", &g, r#","contenance":12.5"#),
    ];
    let refs: Vec<&str> = fs.iter().map(String::as_str).collect();
    let p = collection(dir.path(), "c.json", &refs);
    let out = read_parcels(&p, &ReadOptions::default()).unwrap();
    assert_eq!(out.parcels.len(), 5);
    let c: Vec<Option<f64>> = out.parcels.iter().map(|p| p.contenance_m2).collect();
    assert_eq!(c, [Some(100.0), None, None, None, Some(12.5)]);
    assert_eq!(out.issues.count(IssueCode::ParcelMissingContenance), 3);
    assert_eq!(
        IssueCode::ParcelMissingContenance.as_str(),
        "parcel_missing_contenance"
    );
    let details: Vec<&str> = out
        .issues
        .examples()
        .iter()
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        details,
        [
            "no contenance",
            "contenance is null",
            "contenance is not a number"
        ]
    );
}

#[test]
fn invalid_rings_and_bad_geometries_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let poly = |rings: &str| format!(r#"{{"type":"Polygon","coordinates":[{rings}]}}"#);
    let c = r#","contenance":1"#;
    let fs = [
        feat("ok", &poly(SQ), c),
        feat(
            "unclosed",
            &poly("[[0,0],[0.001,0],[0.001,0.001],[0,0.001]]"),
            c,
        ),
        feat("short", &poly("[[0,0],[0.001,0],[0,0]]"), c),
        feat("badhole", &poly(&format!("{SQ},[[0,0],[1,1]]")), c),
        feat("goodhole", &poly(&format!("{SQ},{HOLE}")), c),
        feat("range", &poly("[[0,0],[200,0],[200,1],[0,1],[0,0]]"), c),
        feat("flat", &poly("[[0,0],[1,0],[2,0],[0,0]]"), c),
        feat(
            "multi_one_bad",
            &format!(r#"{{"type":"MultiPolygon","coordinates":[[{SQ}],[[[5,5],[6,5],[5,5]]]]}}"#),
            c,
        ),
        feat("point", r#"{"type":"Point","coordinates":[1,2]}"#, c),
        feat("null", "null", c),
        feat(
            "nesting",
            &format!(r#"{{"type":"MultiPolygon","coordinates":[{SQ}]}}"#),
            c,
        ),
        feat(
            "shortpos",
            r#"{"type":"Polygon","coordinates":[[[0],[1,0],[1,1],[0]]]}"#,
            c,
        ),
        format!(
            r#"{{"type":"Feature","geometry":{},"properties":{{"contenance":1}}}}"#,
            poly(SQ)
        ),
    ];
    let refs: Vec<&str> = fs.iter().map(String::as_str).collect();
    let p = collection(dir.path(), "rings.json", &refs);
    let out = read_parcels(&p, &ReadOptions::default()).unwrap();
    assert_eq!(
        ids(&out.parcels),
        ["ok", "badhole", "goodhole", "multi_one_bad"]
    );
    assert_eq!(out.parcels[1].geometry.0[0].interiors().len(), 0);
    assert_eq!(out.parcels[2].geometry.0[0].interiors().len(), 1);
    assert_eq!(out.parcels[3].geometry.0.len(), 1);
    assert_eq!(out.issues.count(IssueCode::ParcelInvalidRing), 6);
    assert_eq!(out.issues.count(IssueCode::ParcelBadGeometry), 4);
    assert_eq!(out.issues.count(IssueCode::ParcelMissingId), 1);
    assert_eq!(out.features_read, 13);
    let codes: Vec<&str> = out
        .issues
        .nonzero()
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "parcel_invalid_ring",
            "parcel_bad_geometry",
            "parcel_missing_id"
        ]
    );
    let unclosed = out
        .issues
        .examples()
        .iter()
        .find(|e| e.parcel_id.as_deref() == Some("unclosed"))
        .unwrap();
    assert_eq!(unclosed.code, IssueCode::ParcelInvalidRing);
    assert!(
        unclosed.detail.contains("not closed"),
        "{}",
        unclosed.detail
    );
    // The same through the streaming reader and the join (geometry issues on every feature).
    let mut r = ParcelReader::open(&p, &ReadOptions::default()).unwrap();
    assert_eq!(r.by_ref().filter(Result::is_ok).count(), 4);
    assert_eq!(r.issues(), &out.issues);
    let (_, stats) = match_points(&p, &[], &ReadOptions::default()).unwrap();
    assert_eq!(stats.issues.count(IssueCode::ParcelInvalidRing), 6);
    assert_eq!(stats.issues.count(IssueCode::ParcelBadGeometry), 4);
}

#[test]
fn a_feature_with_broken_json_costs_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let g = format!(r#"{{"type":"Polygon","coordinates":[{SQ}]}}"#);
    let good = feat("A", &g, "");
    let bad = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0] [1,1],[0,0]]]},"properties":{}}"#;
    let p = collection(
        dir.path(),
        "syntax.json",
        &[&good, &good, bad, "\"a string\"", &good],
    );
    for threads in [1, 2, 4] {
        let opts = ReadOptions {
            threads,
            ..ReadOptions::default()
        };
        let out = read_parcels(&p, &opts).unwrap();
        assert_eq!(out.parcels.len(), 3);
        assert_eq!(out.issues.count(IssueCode::ParcelUnreadable), 1);
        assert_eq!(out.issues.count(IssueCode::ParcelNotAnObject), 1);
        let unreadable = out
            .issues
            .examples()
            .iter()
            .find(|e| e.code == IssueCode::ParcelUnreadable)
            .unwrap();
        assert_eq!(unreadable.feature_index, 2);
        assert!(
            unreadable.detail.contains("at byte"),
            "{}",
            unreadable.detail
        );
    }
    // The streaming reader stops at the broken feature.
    let mut r = ParcelReader::open(&p, &ReadOptions::default()).unwrap();
    assert!(r.next().unwrap().is_ok());
    assert!(r.next().unwrap().is_ok());
    assert!(r.next().unwrap().is_err());
    assert!(r.next().is_none());

    let p = dir.path().join("notfc.json");
    std::fs::write(&p, r#"{"type":"Feature","geometry":null}"#).unwrap();
    let e = read_parcels(&p, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(e, CadastreError::NotFeatureCollection { .. }),
        "{e}"
    );
}

#[test]
fn points_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pts.geojson");
    std::fs::write(&p, "{").unwrap();
    let e = join_parcels(
        &fixture(FIXTURE),
        &p,
        &dir.path().join("o.csv"),
        &JoinOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, CadastreError::Points { .. }), "{e}");
    std::fs::write(&p, r#"{"type":"FeatureCollection"}"#).unwrap();
    assert!(read_points(&p).is_err());
    std::fs::write(
        &p,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":7,"properties":{"nom":"x"},"geometry":{"type":"Point","coordinates":[1,2]}},
        {"type":"Feature","properties":{"facility_id":"fr-1"},"geometry":{"type":"Point","coordinates":[1,200]}}]}"#,
    )
    .unwrap();
    let pts = read_points(&p).unwrap();
    assert_eq!(pts[0].id.as_deref(), Some("7"));
    assert_eq!(pts[0].name.as_deref(), Some("x"));
    assert_eq!(pts[0].coord, Some(Coord { x: 1.0, y: 2.0 }));
    assert_eq!(pts[1].id.as_deref(), Some("fr-1"));
    assert_eq!(pts[1].coord, None);
}
