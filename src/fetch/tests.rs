//! Tests of the fetch layer against [`super::testserver`] on 127.0.0.1: in go canned server
//! replies, out come assertions on what the client did (attempts, waits, errors) and on what
//! the store holds.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tempfile::TempDir;

use super::client::{
    ClientConfig, Clock, ErrorKind, FetchError, FetchEvent, FetchRequest, FetchResponse,
    HostLimits, HttpClient, TimeoutPhase, parse_retry_after,
};
use super::snapshot::{FetchMode, FetchOutcome, FetchedSnapshot, fetch_snapshot};
use super::store::{Provenance, SnapshotStore, StoreError, sha256_hex};
use super::testserver::{Reply, TestServer};

const SRC: &str = "peeringdb";
const FILE: &str = "fac.json";

/// Real time, but every requested sleep is recorded.
#[derive(Default)]
struct RecordingClock {
    sleeps: Mutex<Vec<Duration>>,
}

impl Clock for RecordingClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, duration: Duration) {
        self.sleeps.lock().unwrap().push(duration);
        std::thread::sleep(duration);
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(10),
        max_retries: 2,
        base_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(80),
        max_retry_after: Duration::from_millis(150),
        max_body_bytes: 1 << 20,
        max_decompressed_bytes: 1 << 20,
        max_redirects: 3,
        default_host_limits: HostLimits {
            max_concurrent: 4,
            min_interval: Duration::ZERO,
        },
        use_system_proxy: false,
        ..ClientConfig::new("tests@example.invalid")
    }
}

struct Harness {
    server: TestServer,
    clock: Arc<RecordingClock>,
    events: Arc<Mutex<Vec<FetchEvent>>>,
    client: HttpClient,
    store: SnapshotStore,
    _dir: TempDir,
}

impl Harness {
    fn new(config: ClientConfig) -> Harness {
        let server = TestServer::start();
        let clock = Arc::new(RecordingClock::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let client = HttpClient::with_clock(config, clock.clone())
            .unwrap()
            .with_observer(Arc::new(move |e: &FetchEvent| {
                sink.lock().unwrap().push(e.clone())
            }));
        let dir = TempDir::new().unwrap();
        let store = SnapshotStore::open(dir.path().join("cache")).unwrap();
        Harness {
            server,
            clock,
            events,
            client,
            store,
            _dir: dir,
        }
    }

    fn get(&self, path: &str) -> FetchRequest {
        FetchRequest::get(self.server.url(path))
    }

    fn snap(&self, path: &str, mode: FetchMode) -> Result<FetchedSnapshot, FetchError> {
        fetch_snapshot(&self.client, &self.store, SRC, FILE, &self.get(path), mode)
    }

    fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError> {
        self.client.fetch(request)
    }

    fn events(&self) -> Vec<FetchEvent> {
        self.events.lock().unwrap().clone()
    }

    fn retries(&self) -> Vec<(Duration, bool)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                FetchEvent::Retry {
                    wait,
                    from_retry_after,
                    ..
                } => Some((wait, from_retry_after)),
                _ => None,
            })
            .collect()
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.clock.sleeps.lock().unwrap().clone()
    }

    fn snapshots(&self) -> Vec<String> {
        self.store.snapshots(SRC).unwrap()
    }

    /// Every file under the source's folder, relative, sorted (temporary files included).
    fn files(&self) -> Vec<String> {
        let root = self.store.root().join(SRC);
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    fn assert_store_empty(&self) {
        assert!(
            self.snapshots().is_empty(),
            "store holds {:?}",
            self.files()
        );
        assert!(self.files().is_empty(), "store holds {:?}", self.files());
        assert_eq!(self.store.latest(SRC, FILE).unwrap(), None);
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn failure(result: Result<impl std::fmt::Debug, FetchError>) -> (ErrorKind, u32) {
    let err = result.expect_err("expected an error");
    (err.kind, err.attempts)
}

// ---------------------------------------------------------------- validators and snapshots

#[test]
fn etag_then_304_reuses_snapshot_without_new_file() {
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![
            Reply::ok(r#"{"data":[1]}"#)
                .header("ETag", "\"v1\"")
                .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
                .header("Content-Type", "application/json"),
            Reply::new(304).header("ETag", "\"v1b\""),
        ],
    );
    let first = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(first.outcome, FetchOutcome::Downloaded);
    assert_eq!(first.bytes, br#"{"data":[1]}"#);
    assert_eq!(first.sha256, sha256_hex(br#"{"data":[1]}"#));
    assert_eq!(first.meta.content_type.as_deref(), Some("application/json"));
    let files_after_first = h.files();

    let second = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(second.outcome, FetchOutcome::NotModified);
    assert_eq!(second.sha256, first.sha256);
    assert_eq!(second.bytes, first.bytes);
    // The refreshed validator from the 304 is kept for next time.
    assert_eq!(second.meta.etag.as_deref(), Some("\"v1b\""));

    let seen = h.server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("if-none-match"), None);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        seen[1].header("if-modified-since"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(h.snapshots(), vec![first.sha256.clone()]);
    assert_eq!(h.files(), files_after_first, "a 304 adds no file");
    assert_eq!(
        h.files(),
        vec![
            first.sha256.clone(),
            format!("{}.json", first.sha256),
            format!("files/{FILE}.json"),
        ]
    );
    let sidecar = h.store.meta(SRC, &first.sha256).unwrap();
    assert_eq!(sidecar.url, h.server.url("/fac"));
    assert_eq!(sidecar.status, 200);
    assert_eq!(sidecar.bytes, 12);
    assert_eq!(sidecar.etag.as_deref(), Some("\"v1\""));
    assert_eq!(sidecar.tool_version, env!("CARGO_PKG_VERSION"));
    assert!(h.retries().is_empty());
}

#[test]
fn changed_etag_makes_a_new_snapshot() {
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![
            Reply::ok("one").header("ETag", "\"v1\""),
            Reply::ok("two").header("ETag", "\"v2\""),
        ],
    );
    let a = h.snap("/fac", FetchMode::Normal).unwrap();
    let b = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(b.outcome, FetchOutcome::Downloaded);
    assert_ne!(a.sha256, b.sha256);
    assert_eq!(
        h.server.requests()[1].header("if-none-match"),
        Some("\"v1\"")
    );
    let mut expected = vec![a.sha256.clone(), b.sha256.clone()];
    expected.sort();
    assert_eq!(h.snapshots(), expected);
    let latest = h.store.latest(SRC, FILE).unwrap().unwrap();
    assert_eq!(latest.sha256, b.sha256);
    assert_eq!(latest.etag.as_deref(), Some("\"v2\""));
    assert_eq!(h.store.read(SRC, &a.sha256).unwrap(), b"one");
}

#[test]
fn refresh_sends_no_validators() {
    let h = Harness::new(config());
    h.server
        .route("/fac", vec![Reply::ok("same").header("ETag", "\"v1\"")]);
    h.snap("/fac", FetchMode::Normal).unwrap();
    let again = h.snap("/fac", FetchMode::Refresh).unwrap();
    assert_eq!(again.outcome, FetchOutcome::Downloaded);
    let seen = h.server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("if-none-match"), None);
    assert_eq!(seen[1].header("if-modified-since"), None);
    assert_eq!(h.snapshots().len(), 1, "same bytes, same snapshot");
}

#[test]
fn not_modified_with_corrupt_cache_downloads_again() {
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![
            Reply::ok("good bytes").header("ETag", "\"v1\""),
            Reply::new(304),
            Reply::ok("good bytes").header("ETag", "\"v1\""),
        ],
    );
    let first = h.snap("/fac", FetchMode::Normal).unwrap();
    let blob = h.store.blob_path(SRC, &first.sha256).unwrap();
    std::fs::write(&blob, "rotten").unwrap();
    let second = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(second.outcome, FetchOutcome::Downloaded);
    assert_eq!(second.bytes, b"good bytes");
    let seen = h.server.requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(seen[2].header("if-none-match"), None);
    assert_eq!(h.store.read(SRC, &first.sha256).unwrap(), b"good bytes");
}

#[test]
fn post_is_sent_with_body_and_never_conditional() {
    let h = Harness::new(config());
    h.server.route(
        "/api/interpreter",
        vec![Reply::ok(r#"{"elements":[]}"#).header("ETag", "\"q\"")],
    );
    let request = FetchRequest::post(
        h.server.url("/api/interpreter"),
        "data=[out:json];node(1);out;",
        "application/x-www-form-urlencoded",
    );
    for _ in 0..2 {
        let got = fetch_snapshot(
            &h.client,
            &h.store,
            "osm",
            "q.json",
            &request,
            FetchMode::Normal,
        )
        .unwrap();
        assert_eq!(got.outcome, FetchOutcome::Downloaded);
    }
    let seen = h.server.requests();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.body, b"data=[out:json];node(1);out;");
        assert_eq!(
            s.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(s.header("if-none-match"), None);
    }
}

#[test]
fn user_agent_names_tool_and_contact() {
    let h = Harness::new(config());
    h.server.route("/x", vec![Reply::ok("x")]);
    h.fetch(&h.get("/x")).unwrap();
    let ua = h.server.requests()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert_eq!(
        ua,
        format!(
            "dcinv/{} (+tests@example.invalid)",
            env!("CARGO_PKG_VERSION")
        )
    );
    let accept_encoding = h.server.requests()[0]
        .header("accept-encoding")
        .unwrap()
        .to_string();
    assert_eq!(accept_encoding, "gzip, br, deflate");
}

// ---------------------------------------------------------------- retries

#[test]
fn retries_500_then_succeeds() {
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![Reply::new(500), Reply::new(502), Reply::ok("finally")],
    );
    let got = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(got.bytes, b"finally");
    assert_eq!(h.server.hits("/fac"), 3);
    let retries = h.retries();
    assert_eq!(retries.len(), 2);
    // Equal jitter: attempt 1 waits in [10, 20] ms, attempt 2 in [20, 40] ms.
    let (w1, w2) = (retries[0].0, retries[1].0);
    assert!(!retries[0].1 && !retries[1].1);
    assert!(
        w1 >= Duration::from_millis(10) && w1 <= Duration::from_millis(20),
        "{w1:?}"
    );
    assert!(
        w2 >= Duration::from_millis(20) && w2 <= Duration::from_millis(40),
        "{w2:?}"
    );
    assert_eq!(h.sleeps(), vec![w1, w2]);
    assert_eq!(h.snapshots(), vec![sha256_hex(b"finally")]);
}

#[test]
fn gives_up_after_max_retries() {
    let h = Harness::new(config());
    h.server
        .route("/fac", vec![Reply::new(503).body("down for maintenance")]);
    let err = h.snap("/fac", FetchMode::Normal).unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.attempts, 3);
    match &err.kind {
        ErrorKind::Status { code, snippet } => {
            assert_eq!(*code, 503);
            assert_eq!(snippet, "down for maintenance");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains(&h.server.url("/fac")));
    assert_eq!(h.server.hits("/fac"), 3);
    assert_eq!(h.retries().len(), 2);
    h.assert_store_empty();
}

#[test]
fn client_errors_are_not_retried() {
    let h = Harness::new(config());
    h.server.route("/gone", vec![Reply::new(404)]);
    let (kind, attempts) = failure(h.fetch(&h.get("/gone")));
    assert!(matches!(kind, ErrorKind::Status { code: 404, .. }));
    assert!(!kind.is_transient());
    assert_eq!(attempts, 1);
    assert_eq!(h.server.hits("/gone"), 1);
    assert!(h.sleeps().is_empty());
}

#[test]
fn honours_retry_after_seconds_on_429() {
    // Retry-After: 1 is cut to max_retry_after (150 ms) in tests.
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![
            Reply::new(429).header("Retry-After", "1"),
            Reply::ok("after the wait"),
        ],
    );
    let got = h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(got.bytes, b"after the wait");
    assert_eq!(h.retries(), vec![(Duration::from_millis(150), true)]);
    assert_eq!(h.sleeps(), vec![Duration::from_millis(150)]);
    let seen = h.server.requests();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(150),
        "second request after {gap:?}"
    );
}

#[test]
fn honours_retry_after_below_the_cap_and_http_dates() {
    let mut cfg = config();
    cfg.max_retry_after = Duration::from_secs(5);
    let h = Harness::new(cfg);
    // A date in the past means "now": no wait at all, not the backoff.
    h.server.route(
        "/fac",
        vec![
            Reply::new(503).header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
            Reply::new(429).header("Retry-After", "0"),
            Reply::ok("ok"),
        ],
    );
    h.snap("/fac", FetchMode::Normal).unwrap();
    assert_eq!(
        h.retries(),
        vec![(Duration::ZERO, true), (Duration::ZERO, true)]
    );
    assert_eq!(h.server.hits("/fac"), 3);
}

#[test]
fn parses_retry_after_forms() {
    let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 30).unwrap();
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed Oct 21 07:28:00 2015", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-5", now), None);
}

#[test]
fn connection_refused_is_transient_and_retried() {
    let h = Harness::new(config());
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let request = FetchRequest::get(format!("http://127.0.0.1:{port}/x"));
    let (kind, attempts) = failure(h.fetch(&request));
    assert!(matches!(kind, ErrorKind::Connect(_)), "{kind:?}");
    assert!(kind.is_transient());
    assert_eq!(attempts, 3);
    assert_eq!(h.retries().len(), 2);
}

#[test]
fn a_host_that_keeps_refusing_connections_is_given_up_for_the_run() {
    let h = Harness::new(ClientConfig {
        max_retries: 0,
        host_down_after: 2,
        ..config()
    });
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dead = |path: &str| FetchRequest::get(format!("http://127.0.0.1:{port}/{path}"));
    for path in ["a", "b"] {
        let (kind, attempts) = failure(h.fetch(&dead(path)));
        assert!(matches!(kind, ErrorKind::Connect(_)), "{kind:?}");
        assert_eq!(attempts, 1);
    }
    // The third request to that host is not sent: it fails at once, naming the host.
    let (kind, attempts) = failure(h.fetch(&dead("c")));
    assert!(
        matches!(&kind, ErrorKind::HostUnreachable { host, failures: 2 } if host == "127.0.0.1"),
        "{kind:?}"
    );
    assert_eq!(attempts, 0);
    assert!(!kind.is_transient());
    // Another host is not affected.
    h.server.route("/x", vec![Reply::ok("x")]);
    let other_host = h.server.url("/x").replace("127.0.0.1", "localhost");
    let ok = h.fetch(&FetchRequest::get(other_host));
    assert!(ok.is_ok(), "{ok:?}");
}

// ---------------------------------------------------------------- broken bodies

#[test]
fn body_cut_in_the_middle_fails_and_stores_nothing() {
    let mut cfg = config();
    cfg.max_retries = 1;
    let h = Harness::new(cfg);
    let body = vec![b'x'; 1000];
    h.server
        .route("/fac", vec![Reply::ok(body.clone()).cut_after(400)]);
    let err = h.snap("/fac", FetchMode::Normal).unwrap_err();
    match &err.kind {
        ErrorKind::Truncated {
            received, expected, ..
        } => {
            assert_eq!(*expected, Some(1000));
            assert!(*received <= 400, "received {received}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(err.attempts, 2);
    assert_eq!(h.server.hits("/fac"), 2);
    h.assert_store_empty();
}

#[test]
fn truncated_compressed_stream_without_length_fails() {
    let mut cfg = config();
    cfg.max_retries = 0;
    let h = Harness::new(cfg);
    let data: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let gz = gzip(&data);
    let half = gz[..gz.len() / 2].to_vec();
    h.server.route(
        "/fac",
        vec![
            Reply::ok(half)
                .header("Content-Encoding", "gzip")
                .without_content_length(),
        ],
    );
    let (kind, _) = failure(h.snap("/fac", FetchMode::Normal));
    assert!(
        matches!(kind, ErrorKind::Truncated { expected: None, .. }),
        "{kind:?}"
    );
    h.assert_store_empty();
}

#[test]
fn slow_body_past_read_timeout_fails() {
    let mut cfg = config();
    cfg.read_timeout = Duration::from_millis(200);
    cfg.max_retries = 0;
    let h = Harness::new(cfg);
    h.server.route(
        "/fac",
        vec![Reply::ok(vec![b'y'; 100]).stall_after(10, Duration::from_millis(1200))],
    );
    let started = Instant::now();
    let (kind, attempts) = failure(h.snap("/fac", FetchMode::Normal));
    let took = started.elapsed();
    assert!(
        matches!(
            kind,
            ErrorKind::Timeout {
                phase: TimeoutPhase::Body
            }
        ),
        "{kind:?}"
    );
    assert!(kind.is_transient());
    assert_eq!(attempts, 1);
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_millis(1100),
        "{took:?}"
    );
    h.assert_store_empty();
}

#[test]
fn slow_response_head_past_read_timeout_fails() {
    let mut cfg = config();
    cfg.read_timeout = Duration::from_millis(150);
    cfg.max_retries = 0;
    let h = Harness::new(cfg);
    h.server.route(
        "/fac",
        vec![Reply::ok("late").delay(Duration::from_millis(700))],
    );
    let (kind, _) = failure(h.fetch(&h.get("/fac")));
    assert!(
        matches!(
            kind,
            ErrorKind::Timeout {
                phase: TimeoutPhase::Response
            }
        ),
        "{kind:?}"
    );
}

#[test]
fn trickling_body_hits_total_timeout() {
    let mut cfg = config();
    cfg.read_timeout = Duration::from_secs(2);
    cfg.total_timeout = Duration::from_millis(100);
    cfg.max_retries = 0;
    let h = Harness::new(cfg);
    h.server.route(
        "/fac",
        vec![Reply::ok(vec![b'z'; 100]).stall_after(10, Duration::from_millis(250))],
    );
    let (kind, _) = failure(h.fetch(&h.get("/fac")));
    assert!(
        matches!(
            kind,
            ErrorKind::Timeout {
                phase: TimeoutPhase::Total
            }
        ),
        "{kind:?}"
    );
}

#[test]
fn wrong_content_type_is_rejected_and_not_retried() {
    let h = Harness::new(config());
    h.server.route(
        "/fac",
        vec![Reply::ok("<html>maintenance</html>").header("Content-Type", "text/html")],
    );
    let request = h.get("/fac").expecting(["application/json"]);
    let err =
        fetch_snapshot(&h.client, &h.store, SRC, FILE, &request, FetchMode::Normal).unwrap_err();
    match &err.kind {
        ErrorKind::BadContentType { expected, got } => {
            assert_eq!(expected, &vec!["application/json".to_string()]);
            assert_eq!(got.as_deref(), Some("text/html"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.attempts, 1);
    assert_eq!(
        h.server.requests()[0].header("accept"),
        Some("application/json")
    );
    h.assert_store_empty();
}

#[test]
fn content_type_parameters_and_wildcards_are_accepted() {
    let h = Harness::new(config());
    h.server.route(
        "/a",
        vec![Reply::ok("{}").header("Content-Type", "Application/JSON; charset=utf-8")],
    );
    h.server.route(
        "/b",
        vec![Reply::ok("a,b").header("Content-Type", "text/csv")],
    );
    h.server.route("/c", vec![Reply::ok("?")]);
    h.fetch(&h.get("/a").expecting(["application/json"]))
        .unwrap();
    h.fetch(&h.get("/b").expecting(["application/json", "text/*"]))
        .unwrap();
    let (kind, _) = failure(h.fetch(&h.get("/c").expecting(["text/csv"])));
    assert!(matches!(kind, ErrorKind::BadContentType { got: None, .. }));
}

// ---------------------------------------------------------------- redirects

#[test]
fn redirect_is_followed_and_final_url_kept() {
    let h = Harness::new(config());
    h.server
        .route("/old", vec![Reply::new(301).header("Location", "/new?v=2")]);
    h.server.route("/new", vec![Reply::ok("moved")]);
    let got = h.snap("/old", FetchMode::Normal).unwrap();
    assert_eq!(got.bytes, b"moved");
    assert_eq!(got.meta.url, h.server.url("/old"));
    assert_eq!(got.meta.final_url, h.server.url("/new?v=2"));
    assert_eq!(h.server.hits("/old"), 1);
    assert_eq!(h.server.hits("/new"), 1);
}

#[test]
fn redirect_loop_fails_clearly() {
    let h = Harness::new(config());
    h.server
        .route("/a", vec![Reply::new(302).header("Location", "/b")]);
    h.server
        .route("/b", vec![Reply::new(302).header("Location", "/a")]);
    let err = h.snap("/a", FetchMode::Normal).unwrap_err();
    match &err.kind {
        ErrorKind::RedirectLoop { chain } => assert_eq!(
            chain,
            &vec![h.server.url("/a"), h.server.url("/b"), h.server.url("/a")]
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("redirect loop"));
    assert_eq!(err.attempts, 1);
    assert_eq!(h.server.hits("/a"), 1);
    assert_eq!(h.server.hits("/b"), 1);
    h.assert_store_empty();
}

#[test]
fn too_many_redirects_fail() {
    let h = Harness::new(config()); // max_redirects = 3
    for i in 0..6 {
        h.server.route(
            &format!("/r{i}"),
            vec![Reply::new(307).header("Location", &format!("/r{}", i + 1))],
        );
    }
    let (kind, attempts) = failure(h.fetch(&h.get("/r0")));
    assert!(
        matches!(kind, ErrorKind::TooManyRedirects { max: 3, ref chain } if chain.len() == 5),
        "{kind:?}"
    );
    assert_eq!(attempts, 1);
    assert_eq!(h.server.requests().len(), 4);
}

#[test]
fn redirect_to_other_scheme_is_refused() {
    let h = Harness::new(config());
    h.server.route(
        "/a",
        vec![Reply::new(302).header("Location", "ftp://files.example.invalid/x")],
    );
    let (kind, _) = failure(h.fetch(&h.get("/a")));
    assert!(matches!(kind, ErrorKind::BadRedirect { .. }), "{kind:?}");
}

// ---------------------------------------------------------------- sizes and encodings

#[test]
fn gzip_bomb_fails_cleanly() {
    let h = Harness::new(config()); // 1 MiB decoded cap
    let bomb = gzip(&vec![0u8; 16 << 20]);
    assert!(bomb.len() < 100_000, "bomb is {} bytes", bomb.len());
    h.server.route(
        "/fac",
        vec![Reply::ok(bomb).header("Content-Encoding", "gzip")],
    );
    let (kind, attempts) = failure(h.snap("/fac", FetchMode::Normal));
    assert!(
        matches!(kind, ErrorKind::DecompressedTooLarge { limit } if limit == 1 << 20),
        "{kind:?}"
    );
    assert!(!kind.is_transient());
    assert_eq!(attempts, 1);
    h.assert_store_empty();
}

#[test]
fn gzip_deflate_and_brotli_bodies_are_decoded() {
    let h = Harness::new(config());
    let data = br#"{"brotli": true, "pad": ""#
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 200))
        .chain(br#""}"#.iter().copied())
        .collect::<Vec<u8>>();
    // brotli.compress(data) from the reference implementation.
    let br: Vec<u8> = vec![
        27, 226, 0, 248, 29, 9, 182, 173, 154, 245, 194, 180, 28, 62, 33, 148, 97, 123, 125, 45,
        66, 150, 198, 182, 224, 240, 96, 3, 78, 192, 131, 44, 152, 144, 239, 6, 28, 64, 103, 37,
        102, 138, 246, 169, 57, 196, 3, 138, 1,
    ];
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&data).unwrap();
    let zlib = zlib.finish().unwrap();
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(&data).unwrap();
    let raw = raw.finish().unwrap();
    h.server.route(
        "/gz",
        vec![Reply::ok(gzip(&data)).header("Content-Encoding", "gzip")],
    );
    h.server
        .route("/br", vec![Reply::ok(br).header("Content-Encoding", "br")]);
    h.server.route(
        "/zlib",
        vec![Reply::ok(zlib).header("Content-Encoding", "deflate")],
    );
    h.server.route(
        "/raw",
        vec![Reply::ok(raw).header("Content-Encoding", "deflate")],
    );
    h.server.route(
        "/zstd",
        vec![Reply::ok("??").header("Content-Encoding", "zstd")],
    );
    for path in ["/gz", "/br", "/zlib", "/raw"] {
        match h.fetch(&h.get(path)).unwrap() {
            FetchResponse::Body { bytes, .. } => assert_eq!(bytes, data, "{path}"),
            other => panic!("{path}: {other:?}"),
        }
    }
    let (kind, _) = failure(h.fetch(&h.get("/zstd")));
    assert!(
        matches!(kind, ErrorKind::UnsupportedEncoding(_)),
        "{kind:?}"
    );
}

#[test]
fn body_over_the_wire_cap_fails() {
    let mut cfg = config();
    cfg.max_body_bytes = 1000;
    let h = Harness::new(cfg);
    h.server
        .route("/declared", vec![Reply::ok(vec![b'a'; 5000])]);
    h.server.route(
        "/undeclared",
        vec![Reply::ok(vec![b'a'; 5000]).without_content_length()],
    );
    let (kind, attempts) = failure(h.fetch(&h.get("/declared")));
    assert!(
        matches!(
            kind,
            ErrorKind::TooLarge {
                limit: 1000,
                declared: Some(5000)
            }
        ),
        "{kind:?}"
    );
    assert_eq!(attempts, 1);
    let (kind, _) = failure(h.fetch(&h.get("/undeclared")));
    assert!(
        matches!(
            kind,
            ErrorKind::TooLarge {
                limit: 1000,
                declared: None
            }
        ),
        "{kind:?}"
    );
}

// ---------------------------------------------------------------- host limits

#[test]
fn per_host_min_interval_is_respected() {
    let mut cfg = config();
    let interval = Duration::from_millis(150);
    cfg.host_limits.insert(
        "127.0.0.1".into(),
        HostLimits {
            max_concurrent: 1,
            min_interval: interval,
        },
    );
    let h = Harness::new(cfg);
    h.server.route("/x", vec![Reply::ok("x")]);
    for _ in 0..3 {
        h.fetch(&h.get("/x")).unwrap();
    }
    let seen = h.server.requests();
    assert_eq!(seen.len(), 3);
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        // Server-side arrival times: the first request also pays for the TCP connection and
        // the server's thread start, so allow that much slack (an unlimited client shows gaps
        // of a few milliseconds).
        assert!(gap >= interval - Duration::from_millis(25), "gap {gap:?}");
    }
    let span = seen[2].at - seen[0].at;
    assert!(
        span >= 2 * interval - Duration::from_millis(25),
        "span {span:?}"
    );
    let waits: Vec<Duration> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            FetchEvent::HostWait { host, wait } => {
                assert_eq!(host, "127.0.0.1");
                Some(wait)
            }
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 2);
    assert!(
        waits.iter().all(|w| *w <= interval && !w.is_zero()),
        "{waits:?}"
    );
    assert_eq!(h.sleeps(), waits);
}

#[test]
fn per_host_concurrency_is_respected() {
    let h = Harness::new(config());
    h.client.set_host_limits(
        "127.0.0.1",
        HostLimits {
            max_concurrent: 1,
            min_interval: Duration::ZERO,
        },
    );
    h.server.route(
        "/slow",
        vec![Reply::ok("s").delay(Duration::from_millis(80))],
    );
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| h.fetch(&h.get("/slow")).unwrap());
        }
    });
    assert_eq!(h.server.hits("/slow"), 3);
    assert_eq!(h.server.max_concurrent(), 1);

    h.client.set_host_limits(
        "127.0.0.1",
        HostLimits {
            max_concurrent: 3,
            min_interval: Duration::ZERO,
        },
    );
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| h.fetch(&h.get("/slow")).unwrap());
        }
    });
    assert!(
        h.server.max_concurrent() >= 2,
        "limit of 3 let through only one at a time"
    );
}

// ---------------------------------------------------------------- offline

#[test]
fn offline_without_snapshot_fails_without_network() {
    let h = Harness::new(config());
    h.server.route("/fac", vec![Reply::ok("never asked")]);
    let err = h.snap("/fac", FetchMode::Offline).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Offline(_)), "{:?}", err.kind);
    assert!(
        err.to_string()
            .contains("no snapshot of peeringdb/fac.json"),
        "{err}"
    );
    assert!(!err.is_transient());
    assert_eq!(err.attempts, 0);
    assert!(h.server.requests().is_empty());
    h.assert_store_empty();
}

#[test]
fn offline_with_snapshot_reads_the_store() {
    let h = Harness::new(config());
    h.server
        .route("/fac", vec![Reply::ok("cached").header("ETag", "\"v1\"")]);
    let online = h.snap("/fac", FetchMode::Normal).unwrap();
    let files = h.files();
    let offline = h.snap("/fac", FetchMode::Offline).unwrap();
    assert_eq!(offline.outcome, FetchOutcome::FromCacheOffline);
    assert_eq!(offline.bytes, b"cached");
    assert_eq!(offline.sha256, online.sha256);
    assert_eq!(offline.meta, online.meta);
    assert_eq!(h.server.requests().len(), 1, "offline touched the network");
    assert_eq!(h.files(), files);
}

// ---------------------------------------------------------------- store

fn provenance(url: &str) -> Provenance {
    Provenance {
        url: url.into(),
        final_url: url.into(),
        status: 200,
        ..Provenance::default()
    }
}

#[test]
fn gc_keeps_recent_and_last_good() {
    let dir = TempDir::new().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let p = provenance("https://example.invalid/fac");
    let shas: Vec<String> = (0..5)
        .map(|i| {
            let body = format!("version {i}");
            store
                .put(
                    "src",
                    "fac.json",
                    body.as_bytes(),
                    &p,
                    t0 + chrono::Duration::hours(i),
                )
                .unwrap()
                .sha256
        })
        .collect();
    // v0 parsed well; v1..v4 came later. Another file's latest has v2's bytes and keeps them.
    store.mark_good("src", "fac.json", &shas[0], 42).unwrap();
    store
        .put(
            "src",
            "other.json",
            b"other older",
            &p,
            t0 + chrono::Duration::hours(9),
        )
        .unwrap();
    store
        .put(
            "src",
            "other.json",
            b"version 2",
            &p,
            t0 + chrono::Duration::hours(10),
        )
        .unwrap();
    let orphan = "ab".repeat(32);
    std::fs::write(dir.path().join("src").join(&orphan), "stray").unwrap();

    let report = store.gc(1).unwrap();
    let mut removed: Vec<String> = report.removed.iter().map(|r| r.sha256.clone()).collect();
    removed.sort();
    let sha_other_older = sha256_hex(b"other older");
    let mut expected = vec![
        shas[1].clone(),
        shas[3].clone(),
        sha_other_older,
        orphan.clone(),
    ];
    expected.sort();
    assert_eq!(removed, expected);
    assert_eq!(report.kept, 3);
    assert!(report.removed.iter().all(|r| r.source_id == "src"));

    let mut left = store.snapshots("src").unwrap();
    left.sort();
    let mut expected_left = vec![shas[0].clone(), shas[2].clone(), shas[4].clone()];
    expected_left.sort();
    assert_eq!(left, expected_left);
    // The last good snapshot is still readable and still marked.
    let good = store.last_good("src", "fac.json").unwrap().unwrap();
    assert_eq!(
        (good.sha256.as_str(), good.record_count),
        (shas[0].as_str(), 42)
    );
    assert_eq!(store.read("src", &shas[0]).unwrap(), b"version 0");
    assert_eq!(
        store.latest("src", "fac.json").unwrap().unwrap().sha256,
        shas[4]
    );
    assert_eq!(
        store.latest("src", "other.json").unwrap().unwrap().sha256,
        shas[2]
    );
    // Sidecars went with their snapshots.
    assert!(
        !dir.path()
            .join("src")
            .join(format!("{}.json", shas[1]))
            .exists()
    );
    assert!(
        dir.path()
            .join("src")
            .join(format!("{}.json", shas[0]))
            .exists()
    );

    // keep = 0: only last-good snapshots stay, and the pointers forget removed latest ones.
    let report = store.gc(0).unwrap();
    assert_eq!(report.kept, 1);
    assert_eq!(store.snapshots("src").unwrap(), vec![shas[0].clone()]);
    assert_eq!(store.latest("src", "fac.json").unwrap(), None);
    assert_eq!(store.latest("src", "other.json").unwrap(), None);
    assert!(store.last_good("src", "fac.json").unwrap().is_some());
}

#[test]
fn read_verifies_sha256_and_names_are_checked() {
    let dir = TempDir::new().unwrap();
    let store = SnapshotStore::open(dir.path()).unwrap();
    let meta = store
        .put(
            "src",
            "f.csv",
            b"a,b\n1,2\n",
            &provenance("https://example.invalid/f.csv"),
            Utc::now(),
        )
        .unwrap();
    assert_eq!(store.read("src", &meta.sha256).unwrap(), b"a,b\n1,2\n");
    std::fs::write(store.blob_path("src", &meta.sha256).unwrap(), b"a,b\n1,3\n").unwrap();
    assert!(matches!(
        store.read("src", &meta.sha256),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.read("src", &"0".repeat(64)),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.read("../etc", &meta.sha256),
        Err(StoreError::InvalidName { .. })
    ));
    assert!(matches!(
        store.put("src", "a/b", b"", &provenance("x"), Utc::now()),
        Err(StoreError::InvalidName { .. })
    ));
    assert!(matches!(
        store.mark_good("src", "f.csv", &"1".repeat(64), 3),
        Err(StoreError::NotFound { .. })
    ));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("src"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
