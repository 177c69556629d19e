//! What users open, on a real mirror build: the self-contained report rendered by headless
//! Chromium (offline, no console error, map and charts, same facility count as the
//! GeoPackage), the QGIS default styles of the GeoPackage, and GeoParquet / FlatGeobuf read
//! back by GDAL, DuckDB and GeoPandas (tests/referees/check_columnar.py).
//!
//! `DCINV_REQUIRE_CHROMIUM`, `DCINV_REQUIRE_GDAL` and `DCINV_REQUIRE_REFEREES` (CI) turn a
//! missing Chromium, GDAL or referee venv into a failure instead of a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dcinv::pipeline::{self, BuildOptions};
use rusqlite::Connection;

struct Built {
    out: PathBuf,
    _dir: tempfile::TempDir,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let opts = BuildOptions::mirror(common::catalog(), common::mirror(), out.clone());
        pipeline::build(&opts).expect("the mirror builds");
        Built { out, _dir: dir }
    })
}

fn gpkg_count(out: &Path, sql: &str) -> i64 {
    let c = Connection::open(out.join("inventory.gpkg")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn required(var: &str, what: &str) -> bool {
    if std::env::var_os(var).is_some() {
        panic!("{var} is set but {what} is not available");
    }
    eprintln!("skipped: {what} is not available");
    false
}

#[test]
fn a_mirror_build_writes_the_user_files() {
    let b = built();
    for name in [
        "report.html",
        "facilities.parquet",
        "facilities.fgb",
        "inventory.gpkg",
    ] {
        let len = std::fs::metadata(b.out.join(name)).map_or(0, |m| m.len());
        assert!(len > 1000, "{name}: {len} bytes");
    }
    let page = std::fs::read_to_string(b.out.join("report.html")).unwrap();
    for bad in ["<link", "src=\"http", "src=\"//", "@import"] {
        assert!(!page.contains(bad), "the report loads something: {bad}");
    }
    assert!(
        page.len() < 3_000_000,
        "report.html is {} bytes",
        page.len()
    );
}

#[test]
fn the_geopackage_has_a_default_style_per_layer() {
    let b = built();
    let c = Connection::open(b.out.join("inventory.gpkg")).unwrap();
    let mut stmt = c
        .prepare(
            "SELECT f_table_name, f_geometry_column, styleQML, styleSLD FROM layer_styles \
             WHERE useAsDefault = 1 ORDER BY f_table_name",
        )
        .unwrap();
    let rows: Vec<(String, String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let tables: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        tables,
        ["facilities", "footprints", "parcels", "source_records"]
    );
    for (table, column, qml, sld) in &rows {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM gpkg_geometry_columns WHERE table_name = ?1 AND column_name = ?2",
                [table, column],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{table}.{column} is not a geometry column");
        let dtd = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        roxmltree::Document::parse_with_options(qml, dtd)
            .unwrap_or_else(|e| panic!("{table} QML: {e}"));
        roxmltree::Document::parse(sld).unwrap_or_else(|e| panic!("{table} SLD: {e}"));
    }
    // every typology of the build has its own category in the facilities style
    let mut stmt = c
        .prepare("SELECT DISTINCT typology FROM facilities")
        .unwrap();
    let typologies: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in typologies {
        assert!(
            rows[0].2.contains(&format!("value=\"{t}\"")),
            "no category for {t}"
        );
    }
    if common::have_gdal() {
        common::assert_valid_gpkg(&b.out.join("inventory.gpkg"));
    }
}

#[test]
fn gdal_reads_every_facility_from_the_flatgeobuf() {
    let b = built();
    if !common::have_gdal() {
        return;
    }
    // every facility with a point (an indexed FlatGeobuf cannot hold a null geometry)
    let n = gpkg_count(
        &b.out,
        "SELECT count(*) FROM facilities WHERE geom IS NOT NULL",
    );
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(b.out.join("facilities.fgb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("Feature Count: {n}")), "{text}");
    assert!(
        text.contains("Geometry: Point") && text.contains("4326"),
        "{text}"
    );
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q"])
        .arg(b.out.join("facilities.fgb"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !text.contains("ERROR"), "{text}");
    assert_eq!(text.matches("  POINT (").count() as i64, n);
}

/// The referee venv's python: `DCINV_REFEREE_PYTHON`, else tests/referees/.venv.
fn referee_python() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/referees/.venv/bin/python");
    std::env::var_os("DCINV_REFEREE_PYTHON")
        .map(PathBuf::from)
        .or(Some(venv))
        .filter(|p| p.is_file())
}

#[test]
fn duckdb_and_geopandas_read_the_same_rows_and_values() {
    let b = built();
    let Some(python) = referee_python() else {
        required(
            "DCINV_REQUIRE_REFEREES",
            "the referee venv (tests/referees/.venv)",
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/referees/check_columnar.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&b.out)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("DCINV_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["chromium", "chromium-browser"].map(PathBuf::from));
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs headless Chromium on `page` with no network (a dead proxy) and returns (stdout,
/// stderr). `extra` adds e.g. `--dump-dom` or `--screenshot=...`.
fn run_chromium(bin: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("180")
        .arg(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--window-size=1400,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn attr<'a>(dom: &'a str, id_part: &str, name: &str) -> Option<&'a str> {
    let at = dom.find(id_part)?;
    let start = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    let tag = &dom[start..end];
    let key = format!("{name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

#[test]
fn chromium_renders_the_report_offline_with_a_map_and_charts() {
    let b = built();
    let Some(bin) = chromium() else {
        required("DCINV_REQUIRE_CHROMIUM", "Chromium");
        return;
    };
    let page = b.out.join("report.html");
    let (dom, log) = run_chromium(&bin, &page, &["--dump-dom"]);
    assert!(dom.contains("</html>"), "no DOM; chromium said: {log}");
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(
        attr(&dom, "id=\"errors\"", "data-errors"),
        Some("0"),
        "page errors: {}",
        &dom[dom.find("id=\"errors\"").unwrap_or(0)..][..300.min(dom.len())]
    );
    let n = gpkg_count(&b.out, "SELECT count(*) FROM facilities");
    assert_eq!(
        attr(&dom, "id=\"facility-count\"", "data-count"),
        Some(n.to_string().as_str())
    );
    let with_point = gpkg_count(
        &b.out,
        "SELECT count(*) FROM facilities WHERE geom IS NOT NULL",
    );
    assert_eq!(
        attr(&dom, "id=\"map\"", "data-markers"),
        Some(with_point.to_string().as_str())
    );
    let markers = dom.matches("class=\"leaflet-interactive\"").count() as i64;
    assert_eq!(
        markers, with_point,
        "one clickable marker per located facility"
    );
    assert!(dom.contains("leaflet-overlay-pane"), "no map drawn");
    let charts: usize = attr(&dom, "data-charts=", "data-charts")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(charts >= 2, "{charts} charts rendered");
    let svgs = dom.matches("data-rendered=\"1\">").count();
    assert_eq!(svgs, charts);
    assert!(dom.matches("<svg").count() >= charts);

    if let Some(shot) = std::env::var_os("DCINV_REPORT_SCREENSHOT") {
        let arg = format!("--screenshot={}", PathBuf::from(shot).display());
        run_chromium(&bin, &page, &[&arg]);
    }
}
