//! Broken files made on purpose (truncated JSON, a wrong CSV header, an empty file, a
//! binary file, missing boundaries): the bad source fails with a message naming it and
//! its file, the others still build, and nothing half-written is left in `--out`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

fn dcinv(args: &[&str], catalog: &Path, mirror: Option<&Path>, out: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcinv"));
    cmd.arg("--catalog").arg(catalog).args(args);
    if let Some(m) = mirror {
        cmd.arg("--mirror").arg(m);
    }
    cmd.arg("--out").arg(out).output().unwrap()
}

fn no_temp_files(out: &Path) {
    if !out.exists() {
        return;
    }
    let tmp: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "{tmp:?}");
}

#[test]
fn broken_files_fail_their_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    // Truncated JSON.
    let osm = mirror.join("osm-datacenters/datacenters_osm_FR.geojson");
    let bytes = std::fs::read(&osm).unwrap();
    std::fs::write(&osm, &bytes[..bytes.len() / 2]).unwrap();
    // A CSV with a wrong header.
    let map = mirror.join(
        "community-map/carte_des_data_centers__des_projets_et_des_contestations_en_france.csv",
    );
    std::fs::write(&map, "lat,lon,id\n48.1,2.1,node/1\n").unwrap();
    // An empty file.
    std::fs::write(mirror.join("enedis-consumption/data.json"), "").unwrap();
    // Not text at all: the CSV served gzip-compressed under its plain name. (Invalid UTF-8 in
    // one row is a data issue for that row: `tests/corrupt_mirror.rs`.)
    let dx = mirror.join("peeringdb-dx/DX_LOCATIONS.csv");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&dx).unwrap()).unwrap();
    std::fs::write(&dx, gz.finish().unwrap()).unwrap();

    let out = dir.path().join("out");
    let o = dcinv(&["build"], &common::catalog(), Some(&mirror), &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    for (source, file, what) in [
        (
            "osm-datacenters",
            "datacenters_osm_FR.geojson",
            "invalid JSON",
        ),
        ("community-map", "carte_des_data_centers", "missing column"),
        ("enedis-consumption", "data.json", "empty"),
        ("peeringdb-dx", "DX_LOCATIONS.csv", "not text"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("source {source} failed")))
            .unwrap_or_else(|| panic!("{source} not reported:\n{stderr}"));
        assert!(line.contains(file) && line.contains(what), "{line}");
    }
    for ok in [
        "cloudsmog-enriched",
        "auditfrance-map",
        "operator-disclosures",
    ] {
        let line = stdout.lines().find(|l| l.starts_with(ok)).unwrap();
        assert!(line.ends_with(" ok"), "{line}");
    }
    assert!(out.join("inventory.gpkg").is_file());
    no_temp_files(&out);
    // The run record names the failed sources.
    let conn = rusqlite::Connection::open(out.join("inventory.gpkg")).unwrap();
    let failed: String = conn
        .query_row("SELECT failed_sources FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        failed,
        "community-map;enedis-consumption;osm-datacenters;peeringdb-dx"
    );
}

#[test]
fn missing_boundaries_fail_the_build_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    std::fs::remove_file(mirror.join("admin-boundaries/region2020.csv")).unwrap();
    let out = dir.path().join("out");
    let o = dcinv(&["build"], &common::catalog(), Some(&mirror), &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("region2020.csv"), "{stderr}");
    assert!(!out.join("inventory.gpkg").exists());
    no_temp_files(&out);
}

#[test]
fn a_bad_catalog_entry_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("sources");
    std::fs::create_dir_all(&catalog).unwrap();
    for f in std::fs::read_dir(common::catalog()).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), catalog.join(f.file_name())).unwrap();
    }
    let path = catalog.join("peeringdb-dx.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("trust_tier = 2", "trust_tier = 2\ntrust = 3"),
    )
    .unwrap();
    let o = dcinv(
        &["build"],
        &catalog,
        Some(&common::mirror()),
        &dir.path().join("out"),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("peeringdb-dx.toml") && stderr.contains("trust"),
        "{stderr}"
    );
}

/// Serves the files of `root` over HTTP/1.1 on 127.0.0.1 (one request per connection).
fn serve(root: std::path::PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            match std::fs::File::open(root.join(path)) {
                Ok(mut f) => {
                    let mut body = Vec::new();
                    f.read_to_end(&mut body).unwrap();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                }
                Err(_) => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    format!("http://{addr}")
}

#[test]
fn live_build_downloads_into_the_snapshot_cache() {
    let base = serve(common::mirror());
    let dir = tempfile::tempdir().unwrap();
    // The repository catalog with every file given a URL on the local test server.
    let catalog = common::live_catalog(dir.path(), &base);
    // One file is missing on the server: that source fails, the others build.
    let text = std::fs::read_to_string(catalog.join("peeringdb-dx.toml")).unwrap();
    std::fs::write(
        catalog.join("peeringdb-dx.toml"),
        text.replace("/peeringdb-dx/DX_LOCATIONS.csv", "/peeringdb-dx/gone.csv"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = dcinv(&["build"], &catalog, None, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("source peeringdb-dx failed") && stderr.contains("404"),
        "{stderr}"
    );
    // Snapshots are content-addressed with a sidecar.
    let cache = out.join("cache/enedis-consumption");
    let sidecars: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert_eq!(sidecars.len(), 1);
    let side: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sidecars[0].path()).unwrap()).unwrap();
    assert_eq!(side["etag"], "\"v1\"");
    assert_eq!(side["status"], 200);
    let sha = side["sha256"].as_str().unwrap();
    assert!(cache.join(sha).is_file());
    let conn = rusqlite::Connection::open(out.join("inventory.gpkg")).unwrap();
    let origin: String = conn
        .query_row(
            "SELECT origin FROM run_sources WHERE source_id = 'enedis-consumption'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(origin.starts_with("http://127.0.0.1"), "{origin}");
}

#[test]
fn link_csv_links_a_flat_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("records.csv");
    // Synthetic rows in the link-csv format: two copies of one site, one site nearby with
    // another code of the same operator, and an address point next to the first.
    std::fs::write(
        &input,
        "record_key,source,lon,lat,precision,name,operator,codes,osm_id,peeringdb_id,address,commune,true_cluster\n\
         a,osm,2.3589,48.9356,building,Equinix PA2,Equinix,PA2,11,,,93066,1\n\
         b,community,2.35895,48.93562,building,Equinix PA2,,PA2,11,,,93066,1\n\
         c,osm,2.3620,48.9370,building,Equinix PA3,Equinix,PA3,12,,,93066,2\n\
         d,enedis,2.3592,48.9357,address,,,,,,10 rue x,93066,1\n",
    )
    .unwrap();
    let out = dir.path().join("links.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("link-csv")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let cluster: std::collections::HashMap<&str, &str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .collect();
    assert_eq!(cluster["a"], cluster["b"]);
    assert_eq!(cluster["a"], cluster["d"]);
    assert_ne!(cluster["a"], cluster["c"]);
}

#[test]
fn rebuilds_keep_the_previous_build_and_report_exactly_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    let out = dir.path().join("out");
    let first = dcinv(&["build", "-q"], &common::catalog(), Some(&mirror), &out);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // A second build of the same inputs parses nothing and keeps the outputs as they are.
    let before = std::fs::read(out.join("inventory.gpkg")).unwrap();
    let second = dcinv(&["build"], &common::catalog(), Some(&mirror), &out);
    assert_eq!(second.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("nothing was parsed"),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert_eq!(std::fs::read(out.join("inventory.gpkg")).unwrap(), before);
    // Forced, the same inputs give no change at all.
    let forced = dcinv(
        &["build", "-q", "--force"],
        &common::catalog(),
        Some(&mirror),
        &out,
    );
    assert_eq!(forced.status.code(), Some(0));
    let changes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("changes.json")).unwrap()).unwrap();
    for k in ["added", "removed", "moved", "changed"] {
        assert_eq!(changes[k].as_array().unwrap().len(), 0, "{k}: {changes}");
    }
    assert!(out.join("previous/inventory.gpkg").is_file());
    // Edit the name of one singleton OSM facility whose name comes from that record.
    let conn = rusqlite::Connection::open(out.join("inventory.gpkg")).unwrap();
    let (facility, key): (String, String) = conn
        .query_row(
            "SELECT f.facility_id, x.record_key FROM facilities f \
             JOIN facility_fields x ON x.facility_id = f.facility_id AND x.field = 'name' \
             WHERE f.member_count = 1 AND x.record_key LIKE 'osm-datacenters:%' \
             ORDER BY f.facility_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    let (kind, id) = key
        .trim_start_matches("osm-datacenters:")
        .split_once('/')
        .unwrap();
    let path = mirror.join("osm-datacenters/datacenters_osm_FR.geojson");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let feature = doc["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| {
            f["properties"]["osm_type"] == kind
                && f["properties"]["osm_id"].as_u64() == id.parse::<u64>().ok()
        })
        .unwrap();
    feature["properties"]["name"] = serde_json::json!("Zzyzx Edited Name");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    let third = dcinv(&["build", "-q"], &common::catalog(), Some(&mirror), &out);
    assert_eq!(third.status.code(), Some(0));
    let changes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("changes.json")).unwrap()).unwrap();
    for k in ["added", "removed", "moved"] {
        assert_eq!(changes[k].as_array().unwrap().len(), 0, "{k}: {changes}");
    }
    let changed = changes["changed"].as_array().unwrap();
    assert_eq!(changed.len(), 1, "{changes}");
    assert_eq!(changed[0]["facility_id"], facility.as_str());
    assert_eq!(changed[0]["field"], "name");
    assert_eq!(changed[0]["after"], "Zzyzx Edited Name");
    assert_eq!(changed[0]["source_record"], key.as_str());
    // `dcinv diff` says the same.
    let diff = Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("diff")
        .arg(out.join("previous/inventory.gpkg"))
        .arg(out.join("inventory.gpkg"))
        .output()
        .unwrap();
    let printed: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(printed["changed"], changes["changed"]);
    no_temp_files(&out);
    assert!(!out.join(".staging").exists());
}
