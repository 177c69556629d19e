//! Tests of the live protocols against [`super::testserver`] on 127.0.0.1, through the build's
//! [`LiveFetcher`] on a fake clock (waits are recorded, never slept): in go catalog entries and
//! canned replies in the live formats (synthetic fixtures in `tests/fixtures/`), out come
//! assertions on the requests sent, the waits and the stored snapshot.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tempfile::TempDir;

use super::client::{ClientConfig, Clock, FetchEvent, HostLimits, HttpClient};
use super::live::LiveFetcher;
use super::snapshot::FetchMode;
use super::testserver::{Reply, TestServer};
use super::{Fetcher, Snapshot};
use crate::adapters::{self, FileInput};
use crate::catalog::{SourceSpec, parse_spec};
use crate::model::ParseOutput;

/// Virtual time: `sleep` records the wait and moves the clock on at once.
struct FakeClock {
    start: Instant,
    utc0: DateTime<Utc>,
    elapsed: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl FakeClock {
    fn at(utc0: DateTime<Utc>) -> Arc<FakeClock> {
        Arc::new(FakeClock {
            start: Instant::now(),
            utc0,
            elapsed: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        })
    }

    fn advance(&self, d: Duration) {
        *self.elapsed.lock().unwrap() += d;
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap()
    }
    fn now_utc(&self) -> DateTime<Utc> {
        self.utc0 + chrono::Duration::from_std(*self.elapsed.lock().unwrap()).unwrap()
    }
    fn sleep(&self, duration: Duration) {
        self.sleeps.lock().unwrap().push(duration);
        self.advance(duration);
    }
}

fn utc0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 6, 0, 0).unwrap()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap()
}

/// A catalog entry with the header every source needs and `rest` (adapter, files).
fn spec(id: &str, rest: &str) -> SourceSpec {
    let text = format!(
        "id = \"{id}\"\ntitle = \"t\"\npublisher = \"p\"\nlicence = \"l\"\nattribution = \"a\"\ntrust_tier = 2\n{rest}"
    );
    parse_spec(Path::new(&format!("sources/{id}.toml")), &text).unwrap()
}

struct Live {
    clock: Arc<FakeClock>,
    events: Arc<Mutex<Vec<FetchEvent>>>,
    fetcher: LiveFetcher,
}

fn live(dir: &TempDir, spec: &SourceSpec, mode: FetchMode, clock: Arc<FakeClock>) -> Live {
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(5),
        max_retries: 2,
        base_backoff: Duration::from_secs(2),
        max_backoff: Duration::from_secs(8),
        max_retry_after: Duration::from_secs(60),
        default_host_limits: HostLimits {
            max_concurrent: 1,
            min_interval: Duration::ZERO,
        },
        use_system_proxy: false,
        ..ClientConfig::new("tests@example.invalid")
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let client = HttpClient::with_clock(config, clock.clone())
        .unwrap()
        .with_observer(Arc::new(move |e: &FetchEvent| {
            sink.lock().unwrap().push(e.clone())
        }));
    let fetcher = LiveFetcher::with_client(
        client,
        dir.path().join("cache"),
        mode,
        HashMap::new(),
        std::slice::from_ref(spec),
    )
    .unwrap();
    Live {
        clock,
        events,
        fetcher,
    }
}

impl Live {
    fn fetch(&self, spec: &SourceSpec) -> Result<Snapshot, crate::error::FetchError> {
        self.fetcher.fetch(spec, &spec.files[0])
    }

    fn events(&self) -> Vec<FetchEvent> {
        self.events.lock().unwrap().clone()
    }
}

fn parse(spec: &SourceSpec, snapshot: &Snapshot) -> ParseOutput {
    let file = &spec.files[0];
    adapters::find(spec.adapter_for(file))
        .unwrap()
        .parse(&FileInput {
            spec,
            file,
            bytes: &snapshot.bytes,
            provenance: snapshot.provenance(spec, file),
        })
        .unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn peeringdb_spec(server: &TestServer) -> SourceSpec {
    spec(
        "peeringdb-fac",
        &format!(
            "requests_per_minute = 20\nadapter = \"peeringdb\"\n[[files]]\nname = \"fac.json\"\nurl = \"{}\"\nincremental = \"peeringdb\"\n",
            server.url("/api/fac?country=FR")
        ),
    )
}

#[test]
fn peeringdb_full_then_since_merges_changes_and_deletions() {
    let server = TestServer::start();
    server.route(
        "/api/fac",
        vec![
            Reply::ok(fixture("peeringdb/fac_FR_full.json"))
                .header("Content-Type", "application/json"),
            Reply::ok(fixture("peeringdb/fac_FR_since.json"))
                .header("Content-Type", "application/json"),
            Reply::ok(fixture("peeringdb/fac_FR_full.json"))
                .header("Content-Type", "application/json"),
        ],
    );
    let dir = TempDir::new().unwrap();
    let spec = peeringdb_spec(&server);
    let clock = FakeClock::at(utc0());
    let run = live(&dir, &spec, FetchMode::Normal, clock.clone());

    let first = run.fetch(&spec).unwrap();
    assert_eq!(first.outcome, "downloaded");
    assert_eq!(parse(&spec, &first).records.len(), 3);

    // The next run asks only for the changes.
    let second = run.fetch(&spec).unwrap();
    let targets: Vec<String> = server.requests().iter().map(|s| s.target.clone()).collect();
    let since = utc0().timestamp() - super::peeringdb::SINCE_OVERLAP_S;
    assert_eq!(
        targets,
        [
            "/api/fac?country=FR".to_string(),
            format!("/api/fac?country=FR&since={since}")
        ]
    );
    let merged = json(&second.bytes);
    let ids: Vec<i64> = merged["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [9001, 9002, 9004], "9003 was deleted, 9004 added");
    assert_eq!(merged["data"][1]["name"], "Fictive Colo Marseille 2");
    let out = parse(&spec, &second);
    assert_eq!(out.records.len(), 3);
    assert!(out.records.iter().all(|r| r.peeringdb_fac_id.is_some()));
    // PeeringDB's 20 requests a minute from the catalog: the second request waited 3 s.
    assert!(
        clock.sleeps().contains(&Duration::from_secs(3)),
        "{:?}",
        clock.sleeps()
    );

    // --refresh downloads the full set again, without `since`.
    let refresh = live(&dir, &spec, FetchMode::Refresh, clock.clone());
    let third = refresh.fetch(&spec).unwrap();
    assert_eq!(
        server.requests().last().unwrap().target,
        "/api/fac?country=FR"
    );
    assert_eq!(json(&third.bytes)["data"].as_array().unwrap().len(), 3);
}

fn overpass_spec(server: &TestServer) -> SourceSpec {
    spec(
        "osm-overpass",
        &format!(
            "adapter = \"overpass\"\n[[files]]\nname = \"dc.json\"\nurl = \"{}\"\n[files.overpass]\nbbox = [48.8, 2.2, 48.95, 2.45]\noutput = \"geom\"\ntimeout_s = 180\n",
            server.url("/api/interpreter")
        ),
    )
}

#[test]
fn overpass_429_waits_for_the_slot_the_status_page_announces() {
    let server = TestServer::start();
    server.route(
        "/api/interpreter",
        vec![
            Reply::new(429).body("rate_limited"),
            Reply::ok(fixture("overpass/data_centres_geom.json"))
                .header("Content-Type", "application/json"),
        ],
    );
    server.route(
        "/api/status",
        vec![Reply::ok(
            "Connected as: 2130706433\nCurrent time: 2026-01-15T06:00:00Z\nAnnounced endpoint: none\nRate limit: 2\nSlot available after: 2026-01-15T06:00:07Z, in 7 seconds.\nSlot available after: 2026-01-15T06:01:30Z, in 90 seconds.\nCurrently running queries (pid, space limit, time limit, start time):\n",
        )
        .header("Content-Type", "text/plain; charset=utf-8")],
    );
    let dir = TempDir::new().unwrap();
    let spec = overpass_spec(&server);
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let snapshot = run.fetch(&spec).unwrap();
    assert!(!parse(&spec, &snapshot).records.is_empty());

    let requests = server.requests();
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let body = String::from_utf8(posts[0].body.clone()).unwrap();
    assert!(
        body.starts_with("data=%5Bout%3Ajson%5D%5Btimeout%3A180%5D"),
        "{body}"
    );
    assert!(body.contains("48.8%2C2.2%2C48.95%2C2.45"), "{body}");
    assert_eq!(server.hits("/api/status"), 1);
    // The earliest slot (7 s) plus one second of margin, not a blind backoff.
    let events = run.events();
    assert!(events.contains(&FetchEvent::SlotStatus {
        status_url: server.url("/api/status"),
        wait: Some(Duration::from_secs(8)),
    }));
    assert_eq!(run.clock.sleeps(), [Duration::from_secs(8)]);
}

#[test]
fn without_a_status_page_overpass_falls_back_to_backoff_and_retry_after() {
    let server = TestServer::start();
    server.route(
        "/api/interpreter",
        vec![
            Reply::new(504),
            Reply::new(429).header("Retry-After", "5"),
            Reply::ok(fixture("overpass/data_centres_geom.json")),
        ],
    );
    server.route("/api/status", vec![Reply::new(404)]);
    let dir = TempDir::new().unwrap();
    let spec = overpass_spec(&server);
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    run.fetch(&spec).unwrap();
    assert_eq!(server.hits("/api/status"), 2);
    let events = run.events();
    let slot_reads = events
        .iter()
        .filter(|e| matches!(e, FetchEvent::SlotStatus { wait: None, .. }))
        .count();
    assert_eq!(slot_reads, 2);
    let retries: Vec<(Duration, bool)> = events
        .iter()
        .filter_map(|e| match e {
            FetchEvent::Retry {
                wait,
                from_retry_after,
                ..
            } => Some((*wait, *from_retry_after)),
            _ => None,
        })
        .collect();
    // 504: exponential backoff with jitter (base 2 s: between 1 and 2 s); 429: Retry-After.
    assert_eq!(retries.len(), 2);
    assert!(
        !retries[0].1 && (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&retries[0].0)
    );
    assert_eq!(retries[1], (Duration::from_secs(5), true));
}

const ODS_PATH: &str = "/api/explore/v2.1/catalog/datasets/demo-consommation/records";

fn ods_spec(server: &TestServer) -> SourceSpec {
    spec(
        "ods-demo",
        &format!(
            "adapter = \"json\"\n[mapping]\nstreet = \"adresse\"\ncity = [\"nom_commune\"]\n[[files]]\nname = \"records.json\"\nurl = \"{}\"\npaging = \"opendatasoft\"\npage_size = 2\n",
            server.url(&format!("{ODS_PATH}?where=annee%3D2024"))
        ),
    )
}

fn ods_pages() -> Vec<Reply> {
    [0, 2, 4]
        .iter()
        .map(|o| Reply::ok(fixture(&format!("opendatasoft/records_offset_{o}.json"))))
        .collect()
}

#[test]
fn opendatasoft_pages_are_assembled_into_one_array() {
    let server = TestServer::start();
    server.route(ODS_PATH, ods_pages());
    let dir = TempDir::new().unwrap();
    let spec = ods_spec(&server);
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let snapshot = run.fetch(&spec).unwrap();
    let targets: Vec<String> = server.requests().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        targets,
        [0, 2, 4]
            .iter()
            .map(|o| format!("{ODS_PATH}?where=annee%3D2024&limit=2&offset={o}"))
            .collect::<Vec<_>>()
    );
    let rows = json(&snapshot.bytes);
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert_eq!(rows[4]["adresse"], "5 RUE DE L'EXEMPLE");
    assert_eq!(parse(&spec, &snapshot).units_read, 5);
}

#[test]
fn opendatasoft_beyond_the_paging_window_reads_the_export() {
    let server = TestServer::start();
    server.route(
        ODS_PATH,
        vec![Reply::ok(
            r#"{"total_count": 12000, "results": [{"a": 1}]}"#,
        )],
    );
    let export = ODS_PATH.replace("/records", "/exports/json");
    server.route(&export, vec![Reply::ok(r#"[{"a": 1}, {"a": 2}]"#)]);
    let dir = TempDir::new().unwrap();
    let spec = ods_spec(&server);
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let snapshot = run.fetch(&spec).unwrap();
    assert_eq!(json(&snapshot.bytes).as_array().unwrap().len(), 2);
    assert_eq!(
        server.requests().last().unwrap().target,
        format!("{export}?where=annee%3D2024")
    );
}

#[test]
fn opendatasoft_last_pages_stay_inside_the_paging_window() {
    // 10,000 rows, served 98 to a page of 100: the 103rd page starts at 9,996 and may ask
    // for 4 rows only (ODS refuses offset + limit > 10,000).
    let page = |n: usize| {
        let rows = vec![r#"{"a":1}"#; n].join(",");
        Reply::ok(format!(r#"{{"total_count": 10000, "results": [{rows}]}}"#))
    };
    let mut replies: Vec<Reply> = (0..102).map(|_| page(98)).collect();
    replies.push(page(4));
    let server = TestServer::start();
    server.route(ODS_PATH, replies);
    let spec = spec(
        "ods-demo",
        &format!(
            "adapter = \"json\"\n[[files]]\nname = \"records.json\"\nurl = \"{}\"\npaging = \"opendatasoft\"\n",
            server.url(ODS_PATH)
        ),
    );
    let dir = TempDir::new().unwrap();
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let snapshot = run.fetch(&spec).unwrap();
    assert_eq!(json(&snapshot.bytes).as_array().unwrap().len(), 10_000);
    let targets: Vec<String> = server.requests().iter().map(|s| s.target.clone()).collect();
    assert_eq!(targets.len(), 103);
    assert_eq!(targets[101], format!("{ODS_PATH}?limit=100&offset=9898"));
    assert_eq!(targets[102], format!("{ODS_PATH}?limit=4&offset=9996"));
}

#[test]
fn a_page_failing_midway_fails_the_source_and_the_last_good_snapshot_stays() {
    let server = TestServer::start();
    let mut replies = ods_pages();
    replies.push(Reply::ok(fixture("opendatasoft/records_offset_0.json")));
    replies.push(Reply::new(500).body("upstream error"));
    server.route(ODS_PATH, replies);
    let dir = TempDir::new().unwrap();
    let spec = ods_spec(&server);
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let good = run.fetch(&spec).unwrap();
    run.fetcher
        .mark_good(&spec, &spec.files[0], &good.sha256, 5)
        .unwrap();

    let err = run.fetch(&spec).unwrap_err().to_string();
    assert!(err.contains("page 2") && err.contains("500"), "{err}");
    // Nothing of the half-read export was stored; the fallback is the last good snapshot.
    let (last_good, count) = run.fetcher.last_good(&spec, &spec.files[0]).unwrap();
    assert_eq!((last_good.sha256, count), (good.sha256, 5));
    assert_eq!(
        run.fetcher
            .last_good(&spec, &spec.files[0])
            .unwrap()
            .0
            .bytes,
        good.bytes
    );
}

#[test]
fn arcgis_pages_follow_exceeded_transfer_limit() {
    let server = TestServer::start();
    let path = "/arcgis/rest/services/Demo/FeatureServer/0/query";
    server.route(
        path,
        vec![
            Reply::ok(fixture("arcgis/query_offset_0.geojson")),
            Reply::ok(fixture("arcgis/query_offset_2.geojson")),
        ],
    );
    let dir = TempDir::new().unwrap();
    let spec = spec(
        "arcgis-demo",
        &format!(
            "adapter = \"geojson\"\n[mapping]\nid = \"OBJECTID\"\nid_style = \"plain\"\nname = \"nom\"\noperator = \"exploitant\"\n[[files]]\nname = \"sites.geojson\"\nurl = \"{}\"\npaging = \"arcgis\"\npage_size = 2\n",
            server.url(&format!("{path}?where=1%3D1&outFields=*&f=geojson"))
        ),
    );
    let run = live(&dir, &spec, FetchMode::Normal, FakeClock::at(utc0()));
    let snapshot = run.fetch(&spec).unwrap();
    let targets: Vec<String> = server.requests().iter().map(|s| s.target.clone()).collect();
    assert_eq!(
        targets,
        [0, 2]
            .iter()
            .map(|o| format!(
                "{path}?where=1%3D1&outFields=*&f=geojson&resultOffset={o}&resultRecordCount=2"
            ))
            .collect::<Vec<_>>()
    );
    let merged = json(&snapshot.bytes);
    assert_eq!(merged["type"], "FeatureCollection");
    assert_eq!(merged["features"].as_array().unwrap().len(), 3);
    assert!(merged.get("properties").is_none());
    let out = parse(&spec, &snapshot);
    assert_eq!(out.records.len(), 3);
}
