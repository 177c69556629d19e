//! Golden outputs of a build of the real mirror: every output file is reduced to one line per
//! table column, GeoJSON property, JSON member and CSV column, each with a hash of its values
//! in output order, and compared with `tests/golden/mirror.txt`. Run ids and timestamps
//! (`run_id`, `*_at` columns and members, `last_change`, `layer_styles.update_time`) are left out, the mirror's and the
//! output folder's paths are replaced by `<mirror>` / `<out>`, and floats are compared to 10
//! significant digits (coordinates: ~1 mm). A failure lists the lines that differ, so it
//! names the table and column (or property) that changed.
//!
//! When a change legitimately changes the outputs, regenerate the file deliberately and say
//! why in the commit message:
//!
//! ```text
//! DCINV_UPDATE_GOLDEN=1 cargo test --test golden
//! ```
//!
//! `DCINV_GOLDEN_OUTPUT=<folder>` compares the outputs already in that folder (a build of the
//! same mirror by another binary, e.g. `main` before a change) instead of building.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

const GOLDEN: &str = "tests/golden/mirror.txt";

/// Columns and JSON members that change from run to run.
fn excluded(name: &str) -> bool {
    name == "run_id" || name == "last_change" || name == "update_time" || name.ends_with("_at")
}

/// Replaces what depends on where and when the build ran.
struct Context {
    replacements: Vec<(String, &'static str)>,
}

impl Context {
    fn new(mirror: &Path, out: &Path, run_id: &str) -> Context {
        let mut replacements = vec![
            (mirror.display().to_string(), "<mirror>"),
            (out.display().to_string(), "<out>"),
        ];
        if let Ok(m) = mirror.canonicalize() {
            replacements.push((m.display().to_string(), "<mirror>"));
        }
        if !run_id.is_empty() {
            replacements.push((run_id.to_string(), "<run>"));
        }
        // The longest first, so that a path is replaced before one of its prefixes.
        replacements.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Context { replacements }
    }

    fn text(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (from, to) in &self.replacements {
            s = s.replace(from.as_str(), to);
        }
        s
    }
}

fn float(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    format!("{x:.9e}")
}

/// A JSON value in a canonical text: floats to 10 significant digits, excluded members gone,
/// paths and run ids replaced.
fn canonical(v: &Value, cx: &Context) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => format!("{:?}", cx.text(s)),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|x| canonical(x, cx)).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(o) => {
            let parts: Vec<String> = o
                .iter()
                .filter(|(k, _)| !excluded(k))
                .map(|(k, x)| format!("{k:?}:{}", canonical(x, cx)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

struct Hasher(Sha256);

impl Hasher {
    fn new() -> Hasher {
        Hasher(Sha256::new())
    }
    fn add(&mut self, s: &str) {
        self.0.update(s.as_bytes());
        self.0.update(b"\n");
    }
    fn hex(self) -> String {
        hex::encode(self.0.finalize())[..16].to_string()
    }
}

fn gpkg_lines(path: &Path, cx: &Context, lines: &mut Vec<String>) {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // R-tree indexes derive from the geometry columns.
    tables.retain(|t| !t.starts_with("sqlite_") && !t.starts_with("rtree_"));
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .unwrap();
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let mut hashers: Vec<Hasher> = columns.iter().map(|_| Hasher::new()).collect();
        let mut rows = stmt.query([]).unwrap();
        let mut n = 0usize;
        while let Some(row) = rows.next().unwrap() {
            n += 1;
            for (i, h) in hashers.iter_mut().enumerate() {
                let v = match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(i) => i.to_string(),
                    ValueRef::Real(x) => float(x),
                    ValueRef::Text(t) => format!("{:?}", cx.text(&String::from_utf8_lossy(t))),
                    ValueRef::Blob(b) => hex::encode(Sha256::digest(b)),
                };
                h.add(&v);
            }
        }
        lines.push(format!(
            "gpkg {table} rows={n} columns={}",
            columns.join(",")
        ));
        for (c, h) in columns.iter().zip(hashers) {
            if excluded(c) {
                lines.push(format!("gpkg {table}.{c} (run-dependent)"));
            } else {
                lines.push(format!("gpkg {table}.{c} {}", h.hex()));
            }
        }
    }
}

fn geojson_lines(path: &Path, cx: &Context, lines: &mut Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let features = v["features"].as_array().cloned().unwrap_or_default();
    lines.push(format!("geojson {name} features={}", features.len()));
    for (k, x) in v.as_object().unwrap() {
        if k != "features" && !excluded(k) {
            lines.push(format!("geojson {name} member {k} {}", hash_of(x, cx)));
        }
    }
    let mut by_property: BTreeMap<String, Hasher> = BTreeMap::new();
    let mut geometry = Hasher::new();
    let keys: std::collections::BTreeSet<String> = features
        .iter()
        .filter_map(|f| f["properties"].as_object())
        .flat_map(|p| p.keys().cloned())
        .collect();
    for f in &features {
        geometry.add(&canonical(&f["geometry"], cx));
        for k in &keys {
            by_property
                .entry(k.clone())
                .or_insert_with(Hasher::new)
                .add(&canonical(&f["properties"][k], cx));
        }
    }
    lines.push(format!("geojson {name} geometry {}", geometry.hex()));
    for (k, h) in by_property {
        if excluded(&k) {
            lines.push(format!("geojson {name} property {k} (run-dependent)"));
        } else {
            lines.push(format!("geojson {name} property {k} {}", h.hex()));
        }
    }
}

fn hash_of(v: &Value, cx: &Context) -> String {
    let mut h = Hasher::new();
    h.add(&canonical(v, cx));
    h.hex()
}

fn json_lines(path: &Path, cx: &Context, lines: &mut Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    match v.as_object() {
        Some(o) => {
            for (k, x) in o {
                if !excluded(k) {
                    lines.push(format!("json {name} {k} {}", hash_of(x, cx)));
                }
            }
        }
        None => lines.push(format!("json {name} {}", hash_of(&v, cx))),
    }
}

fn csv_lines(path: &Path, cx: &Context, lines: &mut Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut hashers: Vec<Hasher> = headers.iter().map(|_| Hasher::new()).collect();
    let mut n = 0usize;
    for row in reader.records() {
        let row = row.unwrap();
        n += 1;
        for (cell, h) in row.iter().zip(hashers.iter_mut()) {
            let v = match cell.parse::<f64>() {
                Ok(x) if cell.contains(['.', 'e', 'E']) => float(x),
                _ => cx.text(cell),
            };
            h.add(&v);
        }
    }
    lines.push(format!("csv {name} rows={n} columns={}", headers.join(",")));
    for (c, h) in headers.iter().zip(hashers) {
        lines.push(format!("csv {name}.{c} {}", h.hex()));
    }
}

fn text_lines(path: &Path, cx: &Context, lines: &mut Vec<String>) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut h = Hasher::new();
    h.add(&cx.text(&std::fs::read_to_string(path).unwrap()));
    lines.push(format!("text {name} {}", h.hex()));
}

/// The golden lines of the outputs in `out` (a build of `mirror`).
fn digest(out: &Path, mirror: &Path) -> Vec<String> {
    let gpkg = out.join("inventory.gpkg");
    let run_id: String = rusqlite::Connection::open(&gpkg)
        .unwrap()
        .query_row("SELECT run_id FROM runs", [], |r| r.get(0))
        .unwrap();
    let cx = Context::new(mirror, out, &run_id);
    let mut names: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    names.sort();
    let mut lines = vec![format!(
        "files {}",
        names
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
            .collect::<Vec<_>>()
            .join(",")
    )];
    for p in &names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        match p.extension().and_then(|e| e.to_str()) {
            Some("gpkg") => gpkg_lines(p, &cx, &mut lines),
            Some("geojson") => geojson_lines(p, &cx, &mut lines),
            Some("json") => json_lines(p, &cx, &mut lines),
            Some("csv") => csv_lines(p, &cx, &mut lines),
            _ if name.ends_with(".lock") => {}
            // Derived from facilities.geojson and the other outputs (binary, or embedding the
            // build time); read back and rendered by tests/user_outputs.rs.
            Some("parquet" | "fgb" | "html") => {}
            _ => text_lines(p, &cx, &mut lines),
        }
    }
    lines
}

#[test]
fn a_mirror_build_gives_the_golden_outputs() {
    let mirror = common::mirror();
    let dir = tempfile::tempdir().unwrap();
    let out = match std::env::var_os("DCINV_GOLDEN_OUTPUT") {
        Some(given) => PathBuf::from(given),
        None => {
            let out = dir.path().join("out");
            let opts = dcinv::pipeline::BuildOptions::mirror(
                common::catalog(),
                mirror.clone(),
                out.clone(),
            );
            let report = dcinv::pipeline::build(&opts).expect("the mirror builds");
            assert!(report.failed_sources().is_empty());
            out
        }
    };
    let actual = digest(&out, &mirror);
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("DCINV_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, actual.join("\n") + "\n").unwrap();
        eprintln!("wrote {}", golden_path.display());
        return;
    }
    let expected = std::fs::read_to_string(&golden_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (DCINV_UPDATE_GOLDEN=1 writes it)",
            golden_path.display()
        )
    });
    let expected: Vec<&str> = expected.lines().collect();
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|l| !actual.iter().any(|a| a == **l))
        .collect();
    let extra: Vec<&String> = actual
        .iter()
        .filter(|a| !expected.contains(&a.as_str()))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "outputs differ from {GOLDEN} (see its doc comment to regenerate when intended)\n\
         expected, not found:\n  {}\nfound, not expected:\n  {}",
        missing
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n  "),
        extra
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
