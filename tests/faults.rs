//! Whole-build fault tests: `dcinv build` against a scripted HTTP server on 127.0.0.1, with a
//! two-source catalog (the administrative boundaries and a ten-row CSV source `tiny`). Each
//! test makes a good first build, then a second one under one fault (ETag then 304, a changed
//! ETag, 500 then success, 429 with Retry-After, a body cut short, a body stalled past the read
//! timeout, a wrong content type, a redirect loop, a gzip bomb, 40 % fewer records, every
//! source failing), and checks what the build did: retried or waited, fell back to the last
//! good snapshot, marked the source stale in the summary and the run record, the exit code,
//! and that the previous inventory is intact.

mod common;

#[allow(dead_code)]
#[path = "../src/fetch/testserver.rs"]
mod testserver;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use testserver::{Reply, TestServer};

const ADMIN_FILES: &[(&str, &str)] = &[
    ("departements-version-simplifiee.geojson", "departements"),
    ("departement2020.csv", "cog_departements"),
    ("region2020.csv", "cog_regions"),
];
const TINY: &str = "/tiny/sites.csv";

struct Fixture {
    _dir: tempfile::TempDir,
    server: TestServer,
    catalog: PathBuf,
    out: PathBuf,
}

/// The CSV of `rows` sites 3 km apart west of Paris; `tag` changes the names.
fn sites(rows: usize, tag: &str) -> Vec<u8> {
    let mut text = String::from("id,name,operator,lon,lat\n");
    for i in 0..rows {
        text.push_str(&format!(
            "s{i},Site {tag}{i},Operator {i},{:.4},48.8500\n",
            2.05 + 0.04 * i as f64
        ));
    }
    text.into_bytes()
}

fn admin_path(name: &str) -> String {
    format!("/admin-boundaries/{name}")
}

/// A server with every file answering 200 with an ETag, and a catalog pointing at it.
fn fixture(tiny_rows: usize) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start();
    let mirror = common::mirror();
    for (name, _) in ADMIN_FILES {
        let body = std::fs::read(mirror.join("admin-boundaries").join(name)).unwrap();
        server.route(&admin_path(name), vec![with_etag(body, "a1")]);
    }
    server.route(TINY, vec![with_etag(sites(tiny_rows, ""), "v1")]);
    let catalog = dir.path().join("sources");
    std::fs::create_dir_all(&catalog).unwrap();
    for f in ["operators.toml", "parameters.toml", "overrides.toml"] {
        std::fs::copy(common::catalog().join(f), catalog.join(f)).unwrap();
    }
    let mut admin = String::from(
        "id = \"admin-boundaries\"\ntitle = \"Boundaries\"\npublisher = \"IGN, INSEE\"\n\
         licence = \"etalab-2.0\"\nattribution = \"IGN; INSEE\"\ntrust_tier = 1\n\
         adapter = \"admin-boundaries\"\n",
    );
    for (name, role) in ADMIN_FILES {
        admin.push_str(&format!(
            "\n[[files]]\nname = \"{name}\"\nurl = \"{}\"\nrole = \"{role}\"\n",
            server.url(&admin_path(name))
        ));
    }
    std::fs::write(catalog.join("admin-boundaries.toml"), admin).unwrap();
    std::fs::write(
        catalog.join("tiny.toml"),
        format!(
            "id = \"tiny\"\ntitle = \"Ten sites\"\npublisher = \"Tests\"\nlicence = \"CC0-1.0\"\n\
             attribution = \"tests\"\ntrust_tier = 3\nadapter = \"csv\"\n\n[mapping]\nid = \"id\"\n\
             id_style = \"plain\"\nlon = \"lon\"\nlat = \"lat\"\nname = \"name\"\n\
             operator = \"operator\"\ndefault_status = \"operating\"\n\n[[files]]\n\
             name = \"sites.csv\"\nurl = \"{}\"\ncontent_types = [\"text/csv\", \"text/plain\"]\n",
            server.url(TINY)
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    Fixture {
        _dir: dir,
        server,
        catalog,
        out,
    }
}

fn with_etag(body: Vec<u8>, etag: &str) -> Reply {
    Reply::ok(body)
        .header("ETag", &format!("\"{etag}\""))
        .header("Content-Type", "text/csv")
}

fn build(f: &Fixture, retries: u32, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(&f.catalog)
        .args(["build", "--retries", &retries.to_string(), "--out"])
        .arg(&f.out)
        .args(extra)
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

fn query(gpkg: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(gpkg).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(|r| r.unwrap().unwrap_or_default())
        .collect()
}

fn facility_names(dir: &Path) -> Vec<String> {
    query(
        &dir.join("inventory.gpkg"),
        "SELECT name FROM facilities ORDER BY name",
    )
}

fn facility_ids(dir: &Path) -> Vec<String> {
    query(
        &dir.join("inventory.gpkg"),
        "SELECT facility_id FROM facilities ORDER BY facility_id",
    )
}

/// The first, good build: ten facilities.
fn first_build(f: &Fixture) -> Vec<String> {
    let o = build(f, 0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ids = facility_ids(&f.out);
    assert_eq!(ids.len(), 10, "{ids:?}");
    ids
}

/// A build that fell back to the last good snapshot of `tiny`: exit code 1, stale in the
/// summary and in the run record with `why`, same facilities as before, previous kept.
fn assert_stale(f: &Fixture, o: &Output, why: &str, ids: &[String]) {
    let all = text(o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("source tiny is stale"), "{all}");
    assert!(all.contains("STALE"), "{all}");
    assert!(all.contains(why), "expected `{why}` in\n{all}");
    assert!(all.contains("used the last good snapshot"), "{all}");
    let gpkg = f.out.join("inventory.gpkg");
    assert_eq!(query(&gpkg, "SELECT stale_sources FROM runs"), vec!["tiny"]);
    let status = query(
        &gpkg,
        "SELECT status || ' ' || fetch_outcome || ' ' || error FROM run_sources WHERE source_id = 'tiny'",
    );
    assert_eq!(status.len(), 1);
    assert!(
        status[0].starts_with("stale last_good ") && status[0].contains(why),
        "{status:?}"
    );
    assert_eq!(facility_ids(&f.out), ids);
    assert_eq!(facility_ids(&f.out.join("previous")), ids);
    assert!(f.out.join("facilities.geojson").is_file());
    assert!(f.out.join("changes.json").is_file());
}

fn parse_column(f: &Fixture) -> Vec<String> {
    query(
        &f.out.join("inventory.gpkg"),
        "SELECT source_id || '/' || file || ' ' || parse FROM run_sources ORDER BY source_id, file",
    )
}

#[test]
fn etag_then_304_parses_nothing_and_keeps_identical_outputs() {
    let f = fixture(10);
    first_build(&f);
    let before = std::fs::read(f.out.join("facilities.geojson")).unwrap();
    let gpkg_before = std::fs::read(f.out.join("inventory.gpkg")).unwrap();
    for (name, _) in ADMIN_FILES {
        f.server.route(
            &admin_path(name),
            vec![Reply::new(304).header("ETag", "\"a1\"")],
        );
    }
    f.server
        .route(TINY, vec![Reply::new(304).header("ETag", "\"v1\"")]);
    let seen = f.server.requests().len();
    let o = build(&f, 0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing was parsed"), "{}", text(&o));
    let second: Vec<_> = f.server.requests()[seen..].to_vec();
    assert_eq!(second.len(), 4);
    for r in &second {
        let etag = if r.target == TINY { "\"v1\"" } else { "\"a1\"" };
        assert_eq!(r.header("if-none-match"), Some(etag), "{r:?}");
    }
    assert_eq!(
        std::fs::read(f.out.join("facilities.geojson")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read(f.out.join("inventory.gpkg")).unwrap(),
        gpkg_before
    );
}

#[test]
fn a_changed_etag_uses_the_new_content_and_parses_only_that_file() {
    let f = fixture(10);
    first_build(&f);
    assert!(parse_column(&f).iter().all(|p| p.ends_with(" parsed")));
    for (name, _) in ADMIN_FILES {
        f.server.route(
            &admin_path(name),
            vec![Reply::new(304).header("ETag", "\"a1\"")],
        );
    }
    f.server.route(TINY, vec![with_etag(sites(10, "B"), "v2")]);
    let o = build(&f, 0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("files: 1 parsed, 3 from the parse cache"),
        "{}",
        text(&o)
    );
    assert_eq!(
        parse_column(&f),
        vec![
            "admin-boundaries/departement2020.csv cache",
            "admin-boundaries/departements-version-simplifiee.geojson cache",
            "admin-boundaries/region2020.csv cache",
            "tiny/sites.csv parsed",
        ]
    );
    assert!(
        facility_names(&f.out)
            .iter()
            .all(|n| n.starts_with("Site B"))
    );
    let changes = std::fs::read_to_string(f.out.join("changes.json")).unwrap();
    assert!(changes.contains("Site B0"), "{changes}");
}

#[test]
fn a_server_error_is_retried_and_the_retry_is_used() {
    let f = fixture(10);
    first_build(&f);
    f.server.route(
        TINY,
        vec![
            Reply::new(500).body("boom"),
            with_etag(sites(10, "R"), "v2"),
        ],
    );
    let seen = f.server.hits(TINY);
    let o = build(&f, 1, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(f.server.hits(TINY) - seen, 2);
    assert!(
        facility_names(&f.out)
            .iter()
            .all(|n| n.starts_with("Site R"))
    );
    assert_eq!(
        query(
            &f.out.join("inventory.gpkg"),
            "SELECT stale_sources FROM runs"
        ),
        vec![""]
    );
}

#[test]
fn too_many_requests_waits_for_retry_after_then_uses_the_answer() {
    let f = fixture(10);
    first_build(&f);
    f.server.route(
        TINY,
        vec![
            Reply::new(429).header("Retry-After", "1"),
            with_etag(sites(10, "W"), "v2"),
        ],
    );
    let seen = f.server.requests().len();
    let o = build(&f, 1, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let tiny: Vec<Instant> = f.server.requests()[seen..]
        .iter()
        .filter(|r| r.target == TINY)
        .map(|r| r.at)
        .collect();
    assert_eq!(tiny.len(), 2);
    assert!(
        tiny[1] - tiny[0] >= Duration::from_millis(950),
        "waited only {:?}",
        tiny[1] - tiny[0]
    );
    assert!(
        facility_names(&f.out)
            .iter()
            .all(|n| n.starts_with("Site W"))
    );
}

#[test]
fn a_body_cut_short_falls_back_to_the_last_good_snapshot() {
    let f = fixture(10);
    let ids = first_build(&f);
    let body = sites(10, "C");
    let half = body.len() / 2;
    f.server
        .route(TINY, vec![with_etag(body, "v2").cut_after(half)]);
    let seen = f.server.hits(TINY);
    let o = build(&f, 1, &[]);
    assert_stale(&f, &o, "body cut short", &ids);
    // A cut body is transient: retried once, then the fallback.
    assert_eq!(f.server.hits(TINY) - seen, 2);
    assert!(text(&o).contains("after 2 attempt(s)"), "{}", text(&o));
}

#[test]
fn a_body_stalled_past_the_read_timeout_falls_back() {
    let f = fixture(10);
    let ids = first_build(&f);
    f.server.route(
        TINY,
        vec![with_etag(sites(10, "S"), "v2").stall_after(20, Duration::from_secs(3))],
    );
    let started = Instant::now();
    let o = build(&f, 0, &["--timeout-secs", "1"]);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_stale(&f, &o, "timed out", &ids);
}

#[test]
fn a_wrong_content_type_falls_back() {
    let f = fixture(10);
    let ids = first_build(&f);
    f.server.route(
        TINY,
        vec![
            Reply::ok("<html><body>Maintenance</body></html>")
                .header("Content-Type", "text/html; charset=utf-8"),
        ],
    );
    let seen = f.server.hits(TINY);
    let o = build(&f, 2, &[]);
    assert_stale(&f, &o, "content type", &ids);
    // Not transient: no retry.
    assert_eq!(f.server.hits(TINY) - seen, 1);
}

#[test]
fn a_redirect_loop_falls_back() {
    let f = fixture(10);
    let ids = first_build(&f);
    f.server.route(
        TINY,
        vec![Reply::new(302).header("Location", &f.server.url("/tiny/elsewhere"))],
    );
    f.server.route(
        "/tiny/elsewhere",
        vec![Reply::new(302).header("Location", &f.server.url(TINY))],
    );
    let seen = f.server.hits(TINY);
    let o = build(&f, 2, &[]);
    assert_stale(&f, &o, "redirect loop", &ids);
    // Followed once round the loop, then given up without retrying.
    assert_eq!(f.server.hits(TINY) - seen, 1);
    assert_eq!(f.server.hits("/tiny/elsewhere"), 1);
}

#[test]
fn a_gzip_bomb_is_cut_at_the_cap_and_falls_back() {
    let f = fixture(10);
    let ids = first_build(&f);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..4 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 64 * 1024);
    f.server.route(
        TINY,
        vec![
            Reply::ok(bomb)
                .header("Content-Encoding", "gzip")
                .header("Content-Type", "text/csv"),
        ],
    );
    let seen = f.server.hits(TINY);
    let o = build(&f, 2, &["--max-decompressed-mb", "1"]);
    assert_stale(&f, &o, "decoded body larger than", &ids);
    assert_eq!(f.server.hits(TINY) - seen, 1);
}

#[test]
fn forty_percent_fewer_records_is_not_trusted_and_stays_stale() {
    let f = fixture(10);
    let ids = first_build(&f);
    f.server.route(TINY, vec![with_etag(sites(6, ""), "v2")]);
    let o = build(&f, 0, &[]);
    assert_stale(&f, &o, "6 entries against 10", &ids);
    // The next build with the same shrunk file is not skipped as "unchanged": still stale.
    let again = build(&f, 0, &[]);
    assert_stale(&f, &again, "6 entries against 10", &ids);
}

#[test]
fn every_source_failing_without_a_last_good_exits_2_and_keeps_the_inventory() {
    let f = fixture(10);
    let ids = first_build(&f);
    let before = std::fs::read(f.out.join("facilities.geojson")).unwrap();
    f.server.route(TINY, vec![Reply::new(500).body("boom")]);
    // A new snapshot cache: no last good snapshot to fall back to.
    let other_cache = f.out.parent().unwrap().join("other-cache");
    let o = build(&f, 0, &["--cache", other_cache.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("500"), "{}", text(&o));
    assert_eq!(facility_ids(&f.out), ids);
    assert_eq!(
        std::fs::read(f.out.join("facilities.geojson")).unwrap(),
        before
    );
    assert!(!f.out.join("previous").exists());
}

const PAGE: &str = "/northcolo/par7";

fn operator_page(name: &str) -> Reply {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/operator-pages");
    Reply::ok(std::fs::read(dir.join(name)).unwrap())
        .header("Content-Type", "text/html; charset=utf-8")
}

/// Adds the example `html-page` catalog entry, its URL pointing at the test server.
fn add_operator_pages(f: &Fixture) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/operator-pages/catalog/northcolo.toml");
    // The example's polite rate (10 a minute) would slow every request to 127.0.0.1.
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace(
            "https://www.example.org/northcolo/locations/paris/par7",
            &f.server.url(PAGE),
        )
        .replace("requests_per_minute = 10\n", "");
    std::fs::write(f.catalog.join("northcolo.toml"), text).unwrap();
}

#[test]
fn an_operator_page_whose_layout_changed_is_reported_and_not_trusted() {
    let f = fixture(10);
    add_operator_pages(&f);
    f.server
        .route(PAGE, vec![operator_page("northcolo-par7-redesign.html")]);
    // Never read before: built, with the layout change as a data issue.
    let o = build(&f, 0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let gpkg = f.out.join("inventory.gpkg");
    assert_eq!(
        query(
            &gpkg,
            "SELECT code FROM data_issues WHERE source_id = 'northcolo'"
        ),
        vec!["page_layout_changed"]
    );
    // The page as it should be: a site with its figures.
    f.server
        .route(PAGE, vec![operator_page("northcolo-par7.html")]);
    let o = build(&f, 0, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        query(
            &gpkg,
            "SELECT kind || ' ' || value || ' ' || unit FROM power_facts WHERE record_key = 'northcolo:PAR7' ORDER BY kind"
        ),
        vec!["facility 0.5 MW", "grid_mva 12.0 MVA", "it 1.5 MW"]
    );
    let ids = facility_ids(&f.out);
    assert_eq!(ids.len(), 11);
    // The layout changes again: the last good page is used, the source is stale, and why.
    f.server
        .route(PAGE, vec![operator_page("northcolo-par7-redesign.html")]);
    let o = build(&f, 0, &[]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("source northcolo is stale"), "{all}");
    assert!(all.contains("page_layout_changed ×1"), "{all}");
    assert_eq!(facility_ids(&f.out), ids);
}
