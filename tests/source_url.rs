//! `--source-url <id>=<url>` wins over `--mirror` for the source it names: with the real
//! mirror for every other source and a scripted HTTP server on 127.0.0.1 for the community
//! map, a first build downloads it (200), the next one revalidates it (304, nothing parsed),
//! and a server error makes the source stale: the last good snapshot is used, the build exits
//! 1. An override that names no source is refused.

mod common;

#[allow(dead_code)]
#[path = "../src/fetch/testserver.rs"]
mod testserver;

use std::path::Path;
use std::process::{Command, Output};

use testserver::{Reply, TestServer};

const MAP: &str = "carte_des_data_centers__des_projets_et_des_contestations_en_france.csv";
const ROUTE: &str = "/community-map/map.csv";

fn build(out: &Path, url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(common::catalog())
        .args(["build", "--retries", "0", "--mirror"])
        .arg(common::mirror())
        .args(["--source-url", &format!("community-map={url}"), "--out"])
        .arg(out)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn one(gpkg: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(gpkg).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(|r| r.unwrap().unwrap_or_default())
        .collect()
}

#[test]
fn the_url_wins_over_the_mirror_then_304_then_stale_on_500() {
    let server = TestServer::start();
    let body = std::fs::read(common::mirror().join("community-map").join(MAP)).unwrap();
    server.route(
        ROUTE,
        vec![
            Reply::ok(body)
                .header("ETag", "\"m1\"")
                .header("Content-Type", "text/csv"),
        ],
    );
    let url = server.url(ROUTE);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let gpkg = out.join("inventory.gpkg");
    let origin_sql =
        "SELECT fetch_outcome || ' ' || origin FROM run_sources WHERE source_id = 'community-map'";

    // 200: downloaded from the server, not read from the mirror.
    let first = build(&out, &url);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(server.hits(ROUTE), 1);
    assert_eq!(one(&gpkg, origin_sql), vec![format!("downloaded {url}")]);
    let other = one(
        &gpkg,
        "SELECT origin FROM run_sources WHERE source_id = 'osm-datacenters'",
    );
    assert!(other[0].starts_with("mirror:"), "{other:?}");
    let facilities = one(&gpkg, "SELECT facility_id FROM facilities ORDER BY 1");

    // 304: revalidated with the stored ETag; nothing changed, nothing parsed.
    server.route(ROUTE, vec![Reply::new(304).header("ETag", "\"m1\"")]);
    let second = build(&out, &url);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("if-none-match"), Some("\"m1\""));
    assert!(
        text(&second).contains("nothing was parsed"),
        "{}",
        text(&second)
    );

    // 500: the last good snapshot is used, the source is stale, the build exits 1.
    server.route(ROUTE, vec![Reply::new(500).body("boom")]);
    let third = build(&out, &url);
    let all = text(&third);
    assert_eq!(third.status.code(), Some(1), "{all}");
    assert!(all.contains("source community-map is stale"), "{all}");
    assert!(all.contains("used the last good snapshot"), "{all}");
    assert_eq!(
        one(&gpkg, "SELECT stale_sources FROM runs"),
        vec!["community-map"]
    );
    assert_eq!(
        one(&gpkg, "SELECT facility_id FROM facilities ORDER BY 1"),
        facilities
    );
}

#[test]
fn an_override_naming_no_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(common::catalog())
        .args(["build", "--mirror"])
        .arg(common::mirror())
        .args([
            "--source-url",
            "no-such-source=http://127.0.0.1:9/x",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no-such-source"), "{}", text(&o));
}
