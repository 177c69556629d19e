//! Scheduled rebuilds against a local HTTP server on 127.0.0.1 serving the real mirror:
//! conditional requests and an unchanged second build, a failing source falling back to its
//! last good snapshot (stale, exit code 1, same facilities), and a source that shrinks
//! suspiciously.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Requests seen by the server: (path, status sent).
type Log = Arc<Mutex<Vec<(String, u16)>>>;

/// Serves `root` with strong ETags (sha of the body) and honours If-None-Match with 304;
/// paths under `/fail/` answer 500.
fn serve(root: PathBuf) -> (String, Log, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let (log2, count2) = (log.clone(), count.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count2.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut if_none_match = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("if-none-match")
                {
                    if_none_match = Some(v.trim().to_string());
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let rel = path.trim_start_matches('/');
            let (status, head, body): (u16, String, Vec<u8>) = if rel.starts_with("fail/") {
                (500, String::new(), b"boom".to_vec())
            } else {
                match std::fs::File::open(root.join(rel)) {
                    Ok(mut f) => {
                        let mut body = Vec::new();
                        f.read_to_end(&mut body).unwrap();
                        let etag = format!("\"{}\"", dcinv::common::sha256_hex(&body));
                        if if_none_match.as_deref() == Some(etag.as_str()) {
                            (304, format!("ETag: {etag}\r\n"), Vec::new())
                        } else {
                            (200, format!("ETag: {etag}\r\n"), body)
                        }
                    }
                    Err(_) => (404, String::new(), Vec::new()),
                }
            };
            log2.lock().unwrap().push((path, status));
            let reason = match status {
                200 => "OK",
                304 => "Not Modified",
                404 => "Not Found",
                _ => "Internal Server Error",
            };
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = stream.write_all(&body);
        }
    });
    (format!("http://{addr}"), log, count)
}

fn build(catalog: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(catalog)
        .args(["build", "--retries", "0", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn facility_ids(out: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(out.join("inventory.gpkg")).unwrap();
    let mut stmt = conn
        .prepare("SELECT facility_id FROM facilities ORDER BY facility_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn unchanged_rebuild_uses_304s_and_parses_nothing() {
    let (base, log, _) = serve(common::mirror());
    let dir = tempfile::tempdir().unwrap();
    let catalog = common::live_catalog(dir.path(), &base);
    let out = dir.path().join("out");
    let first = build(&catalog, &out, &[]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = std::fs::read(out.join("facilities.geojson")).unwrap();
    let files = log.lock().unwrap().len();
    let second = build(&catalog, &out, &[]);
    assert_eq!(second.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("nothing was parsed"), "{stdout}");
    let requests = log.lock().unwrap();
    let second_round: Vec<&(String, u16)> = requests[files..].iter().collect();
    assert_eq!(second_round.len(), files);
    assert!(
        second_round.iter().all(|(_, s)| *s == 304),
        "{second_round:?}"
    );
    assert_eq!(
        std::fs::read(out.join("facilities.geojson")).unwrap(),
        before
    );
}

#[test]
fn a_failing_source_falls_back_to_its_last_good_snapshot() {
    let (base, _, _) = serve(common::mirror());
    let dir = tempfile::tempdir().unwrap();
    let catalog = common::live_catalog(dir.path(), &base);
    let out = dir.path().join("out");
    assert_eq!(build(&catalog, &out, &[]).status.code(), Some(0));
    let ids = facility_ids(&out);
    let failing = build(
        &catalog,
        &out,
        &[
            "--source-url",
            &format!("community-map={base}/fail/map.csv"),
        ],
    );
    let stderr = String::from_utf8_lossy(&failing.stderr);
    assert_eq!(failing.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("source community-map is stale") && stderr.contains("500"),
        "{stderr}"
    );
    assert_eq!(facility_ids(&out), ids);
    assert!(out.join("previous/inventory.gpkg").is_file());
}

#[test]
fn a_source_that_shrinks_suspiciously_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    let (base, _, _) = serve(mirror.clone());
    let catalog = common::live_catalog(dir.path(), &base);
    let out = dir.path().join("out");
    assert_eq!(build(&catalog, &out, &[]).status.code(), Some(0));
    let ids = facility_ids(&out);
    // The community map now returns 40 % fewer rows.
    let csv = mirror.join(
        "community-map/carte_des_data_centers__des_projets_et_des_contestations_en_france.csv",
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for r in &rows[..rows.len() * 6 / 10] {
        w.write_record(r).unwrap();
    }
    std::fs::write(&csv, w.into_inner().unwrap()).unwrap();
    let shrunk = build(&catalog, &out, &[]);
    let stderr = String::from_utf8_lossy(&shrunk.stderr);
    assert_eq!(shrunk.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("more than 30 % fewer"), "{stderr}");
    assert_eq!(facility_ids(&out), ids);
}
