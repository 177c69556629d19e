//! A corrupted copy of the real mirror, made the way real downloads break (built here, in a
//! temporary folder, never committed). Record-level defects — invalid UTF-8 in one row, a NUL
//! byte, a feature that is not an object, a number out of range, `NaN`, a value of the wrong
//! JSON type, an oversized field, a row with too many or too few columns, a BOM with CRLF line
//! ends — are applied to copies of every real file, each alone and then all together, and
//! parsed by the file's adapter: no panic, every intact record kept (counts per file), and
//! each defect counted under its stable code. Then a whole build over a mirror with these
//! defects in every source and two structurally broken files (truncated, empty) exits 1 and
//! names only those two sources.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::process::Command;

use dcinv::adapters::{self, FileInput};
use dcinv::catalog::{FileSpec, SourceSpec};
use dcinv::model::{AdminPart, ParseOutput, Provenance};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Defect {
    InvalidUtf8,
    Nul,
    NotAnObject,
    OutOfRange,
    NaN,
    WrongType,
    Oversized,
    TooManyColumns,
    TooFewColumns,
    BomCrlf,
}

use Defect::*;

impl Defect {
    fn code(self) -> Option<&'static str> {
        Some(match self {
            InvalidUtf8 => "invalid_utf8",
            Nul => "nul_byte",
            NotAnObject => "not_an_object",
            OutOfRange | NaN => "non_finite_number",
            WrongType => "wrong_json_type",
            Oversized => "oversized_field",
            TooManyColumns | TooFewColumns => "row_shape_mismatch",
            BomCrlf => return None,
        })
    }

    /// Records (and boundary units) lost: only the row made too wide is.
    fn drops(self) -> usize {
        usize::from(self == TooManyColumns)
    }
}

/// The kind of file, as its adapter reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Csv,
    CogCsv,
    GeoJson,
    Boundaries,
    JsonAt,
    Enedis,
    Disclosures,
}

fn kind(spec: &SourceSpec, file: &FileSpec) -> Option<Kind> {
    Some(match spec.adapter_for(file) {
        "csv" => Kind::Csv,
        "geojson" => Kind::GeoJson,
        "json" => Kind::JsonAt,
        "enedis-history" => Kind::Enedis,
        "disclosure-facts" => Kind::Disclosures,
        "admin-boundaries" if file.name.ends_with(".csv") => Kind::CogCsv,
        "admin-boundaries" => Kind::Boundaries,
        _ => return None,
    })
}

fn defects(kind: Kind) -> &'static [Defect] {
    match kind {
        Kind::Csv => &[
            InvalidUtf8,
            Nul,
            Oversized,
            TooManyColumns,
            TooFewColumns,
            BomCrlf,
        ],
        Kind::CogCsv => &[InvalidUtf8, Nul, TooManyColumns, TooFewColumns, BomCrlf],
        // A number out of range in a member nobody reads is not worth an issue there.
        Kind::Boundaries => &[InvalidUtf8, Nul, NotAnObject, NaN, BomCrlf],
        _ => &[
            InvalidUtf8,
            Nul,
            NotAnObject,
            OutOfRange,
            NaN,
            WrongType,
            Oversized,
            BomCrlf,
        ],
    }
}

/// The member a mapped field is read from, given a wrong type.
fn wrong_type(kind: Kind, v: &mut Value) {
    let bad = serde_json::json!({"not": "a value"});
    match kind {
        Kind::GeoJson => v["properties"]["name"] = bad,
        Kind::Enedis => v["lat"] = bad,
        Kind::Disclosures => v["power_mw"] = Value::String("beaucoup".into()),
        _ => v["name"] = bad,
    }
}

fn oversized(kind: Kind, v: &mut Value) {
    let long = Value::String("x".repeat(70_000));
    match kind {
        Kind::GeoJson => v["properties"]["zz_long"] = long,
        _ => v["zz_long"] = long,
    }
}

/// The spans of the units of a file: data rows of a CSV, elements of the array an adapter
/// reads in a JSON file.
fn units(kind: Kind, spec: &SourceSpec, file: &FileSpec, text: &str) -> Vec<Range<usize>> {
    if matches!(kind, Kind::Csv | Kind::CogCsv) {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let starts: Vec<usize> = reader
            .records()
            .map(|r| r.unwrap().position().unwrap().byte() as usize)
            .collect();
        return (0..starts.len())
            .map(|i| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                let row = &text[starts[i]..end];
                starts[i]..starts[i] + row.trim_end_matches(['\r', '\n']).len()
            })
            .collect();
    }
    let base = text.as_ptr() as usize;
    let span = |r: &RawValue| {
        let s = r.get().as_ptr() as usize - base;
        s..s + r.get().len()
    };
    fn members(r: &str) -> HashMap<String, &RawValue> {
        serde_json::from_str(r).unwrap()
    }
    fn array(r: &str) -> Vec<&RawValue> {
        serde_json::from_str(r).unwrap()
    }
    let root = members(text);
    let list = match kind {
        Kind::GeoJson | Kind::Boundaries => array(root["features"].get()),
        Kind::Enedis => {
            let deps = array(root["departements"].get());
            array(members(deps[0].get())["datacenters"].get())
        }
        Kind::Disclosures => array(root["facility_facts"].get()),
        _ => {
            let path = spec.mapping_for(file).array_path.clone().unwrap();
            array(root[path.as_str()].get())
        }
    };
    list.into_iter().map(span).collect()
}

/// Whether unit `i` of a file gave a record in `intact` (boundary units always count).
fn gave_record(
    kind: Kind,
    spec: &SourceSpec,
    file: &FileSpec,
    i: usize,
    intact: &ParseOutput,
) -> bool {
    let locator = match kind {
        Kind::Boundaries | Kind::CogCsv => return true,
        Kind::Csv => format!("row {} (", i + 1),
        Kind::GeoJson => format!("feature {i}"),
        Kind::Enedis => format!("departements[0].datacenters[{i}]"),
        Kind::Disclosures => format!("facility_facts[{i}]"),
        Kind::JsonAt => format!(
            "{}[{i}]",
            spec.mapping_for(file)
                .array_path
                .as_deref()
                .unwrap_or_default()
        ),
    };
    intact.records.iter().any(|r| {
        r.provenance.locator == locator
            || (kind == Kind::Csv && r.provenance.locator.starts_with(&locator))
    })
}

/// Applies `defects` to copies of `bytes`, each at its own unit: units that gave a record in `intact` and whose text is unique (so that no duplicate
/// check changes).
fn corrupt(
    kind: Kind,
    spec: &SourceSpec,
    file: &FileSpec,
    bytes: &[u8],
    defects: &[Defect],
    intact: &ParseOutput,
) -> (Vec<u8>, Vec<Defect>) {
    let text = std::str::from_utf8(bytes).unwrap();
    let spans = units(kind, spec, file, text);
    // From the middle on, then the first half (small files).
    let half = spans.len() / 2;
    let candidates: Vec<Range<usize>> = spans
        .iter()
        .enumerate()
        .skip(half)
        .chain(spans.iter().enumerate().take(half))
        .filter(|(i, s)| {
            gave_record(kind, spec, file, *i, intact)
                && text.matches(&text[(*s).clone()]).count() == 1
        })
        .map(|(_, s)| s.clone())
        .collect();
    // A file with fewer record units than defects (a few sites among telecom hubs) gets the
    // first ones; the caller checks what was applied.
    let mut unit_defects: Vec<Defect> = defects.iter().copied().filter(|d| *d != BomCrlf).collect();
    unit_defects.truncate(candidates.len());
    assert!(!candidates.is_empty(), "{}: no record unit", file.name);
    let mut applied = unit_defects.clone();
    let mut out = bytes.to_vec();
    // From the end of the file backwards, so that earlier spans stay valid.
    let mut jobs: Vec<(Range<usize>, Defect)> = candidates.into_iter().zip(unit_defects).collect();
    jobs.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
    for (span, defect) in jobs {
        let (at, insert): (usize, Vec<u8>) = match (kind, defect) {
            (Kind::Csv | Kind::CogCsv, InvalidUtf8) => (span.end, b"\xff".to_vec()),
            (Kind::Csv | Kind::CogCsv, Nul) => (span.end, b"\0".to_vec()),
            (Kind::Csv | Kind::CogCsv, Oversized) => (span.end, vec![b'x'; 70_000]),
            (Kind::Csv | Kind::CogCsv, TooManyColumns) => (span.end, b",extra".to_vec()),
            (_, TooFewColumns) => (span.end, b"\nonly,two".to_vec()),
            (_, InvalidUtf8) => (span.start + 1, b"\"zz_bad\":\"a\xffb\",".to_vec()),
            (_, Nul) => (span.start + 1, b"\"zz_nul\":\"a\0b\",".to_vec()),
            (_, NotAnObject) => (span.start, b"\"a string\",".to_vec()),
            (_, OutOfRange) => (span.start + 1, b"\"zz_big\":1e309,".to_vec()),
            (_, NaN) => (span.start + 1, b"\"zz_nan\":NaN,".to_vec()),
            (_, WrongType | Oversized) => {
                let mut v: Value = serde_json::from_str(&text[span.clone()]).unwrap();
                if defect == WrongType {
                    wrong_type(kind, &mut v);
                } else {
                    oversized(kind, &mut v);
                }
                out.splice(span.clone(), serde_json::to_vec(&v).unwrap());
                continue;
            }
            (_, TooManyColumns | BomCrlf) => unreachable!(),
        };
        out.splice(at..at, insert);
    }
    if defects.contains(&BomCrlf) {
        applied.push(BomCrlf);
        let mut crlf = b"\xEF\xBB\xBF".to_vec();
        for b in out {
            if b == b'\n' {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        out = crlf;
    }
    (out, applied)
}

fn parse(spec: &SourceSpec, file: &FileSpec, bytes: &[u8]) -> ParseOutput {
    let adapter = adapters::find(spec.adapter_for(file)).unwrap();
    let input = FileInput {
        spec,
        file,
        bytes,
        provenance: Provenance {
            source_id: spec.id.clone(),
            file: file.name.clone(),
            snapshot_sha256: "0".repeat(64),
            retrieved_at: "2026-01-01T00:00:00Z".into(),
            origin: "test".into(),
            licence: spec.licence.clone(),
            locator: String::new(),
        },
    };
    adapter
        .parse(&input)
        .unwrap_or_else(|e| panic!("{}: {e}", file.name))
}

/// Records, or boundary units, kept.
fn kept(out: &ParseOutput) -> usize {
    out.records.len()
        + match &out.admin {
            Some(AdminPart::Departements(v) | AdminPart::Communes(v)) => v.len(),
            Some(AdminPart::CogDepartements(v)) => v.len(),
            Some(AdminPart::CogRegions(v)) => v.len(),
            None => 0,
        }
}

fn code_counts(out: &ParseOutput) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for i in &out.issues {
        *m.entry(i.code.as_str()).or_default() += 1;
    }
    m
}

/// Every file of the mirror that a record adapter reads, with its catalog entry. The large
/// boundary files are represented by the smaller ones of the same format; a file whose every
/// entry the catalog excludes (the telecom hubs) has no record to keep and is left out.
fn mirror_files() -> Vec<(SourceSpec, FileSpec, Kind, Vec<u8>)> {
    let specs = dcinv::catalog::load_dir(&common::catalog()).unwrap();
    let mirror = common::mirror();
    let mut out = Vec::new();
    for spec in &specs {
        for file in &spec.files {
            let path = mirror.join(&spec.id).join(&file.name);
            let Some(kind) = kind(spec, file) else {
                continue;
            };
            if !path.is_file() || (kind == Kind::Boundaries && !file.name.contains("93")) {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if kept(&parse(spec, file, &bytes)) == 0 {
                continue;
            }
            out.push((spec.clone(), file.clone(), kind, bytes));
        }
    }
    out
}

/// Checks one corrupted parse against the intact one.
fn check(name: &str, intact: &ParseOutput, broken: &ParseOutput, applied: &[Defect]) {
    let lost: usize = applied.iter().map(|d| d.drops()).sum();
    assert_eq!(
        kept(broken),
        kept(intact) - lost,
        "{name} with {applied:?}: records kept"
    );
    let (before, after) = (code_counts(intact), code_counts(broken));
    let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
    for d in applied {
        if let Some(code) = d.code() {
            *expected.entry(code).or_default() += 1;
        }
    }
    for (code, n) in &expected {
        let was = before.get(code).copied().unwrap_or(0);
        let now = after.get(code).copied().unwrap_or(0);
        assert_eq!(
            now,
            was + n,
            "{name} with {applied:?}: `{code}` {was} → {now}"
        );
    }
    if applied == [BomCrlf] {
        assert_eq!(before, after, "{name}: a BOM and CRLF give no issue");
    }
}

#[test]
fn every_defect_alone_and_together_in_every_real_file() {
    let files = mirror_files();
    assert!(files.len() >= 9, "{}", files.len());
    let mut report = Vec::new();
    for (spec, file, kind, bytes) in &files {
        let name = format!("{}/{}", spec.id, file.name);
        let intact = parse(spec, file, bytes);
        for d in defects(*kind) {
            let (bytes, applied) = corrupt(*kind, spec, file, bytes, &[*d], &intact);
            assert_eq!(applied, [*d]);
            check(&name, &intact, &parse(spec, file, &bytes), &applied);
        }
        let (all, applied) = corrupt(*kind, spec, file, bytes, defects(*kind), &intact);
        let broken = parse(spec, file, &all);
        check(&name, &intact, &broken, &applied);
        report.push(format!(
            "{name}: {} defects together, {} of {} kept",
            applied.len(),
            kept(&broken),
            kept(&intact)
        ));
    }
    eprintln!("{}", report.join("\n"));
}

fn dcinv(args: &[&str], mirror: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(common::catalog())
        .args(args)
        .arg("--mirror")
        .arg(mirror)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn per_source(gpkg: &Path, sql: &str) -> BTreeMap<String, i64> {
    let conn = rusqlite::Connection::open(gpkg).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_corrupted_mirror_builds_and_names_only_the_broken_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    let intact_out = dir.path().join("intact");
    let o = dcinv(&["build", "-q"], &common::mirror(), &intact_out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Every record-level defect in every file (the three failures of the issue among them:
    // invalid UTF-8 in a community-map row, a string in `features`, 1e309 in a disclosure),
    // except a row made too wide, which costs its record (checked file by file above).
    for (spec, file, kind, bytes) in mirror_files() {
        let intact = parse(&spec, &file, &bytes);
        let keep: Vec<Defect> = defects(kind)
            .iter()
            .copied()
            .filter(|d| d.drops() == 0)
            .collect();
        let (broken, _) = corrupt(kind, &spec, &file, &bytes, &keep, &intact);
        std::fs::write(mirror.join(&spec.id).join(&file.name), broken).unwrap();
    }
    // Two files broken as a whole: one cut short, one empty.
    let osm = mirror.join("osm-datacenters/datacenters_osm_FR.geojson");
    let bytes = std::fs::read(&osm).unwrap();
    std::fs::write(&osm, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(mirror.join("enedis-consumption/data.json"), "").unwrap();

    let out = dir.path().join("out");
    let o = dcinv(&["build"], &mirror, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let failed: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("dcinv: source "))
        .filter_map(|l| l.split_once(" failed"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        failed,
        ["enedis-consumption", "osm-datacenters"],
        "{stderr}"
    );

    // Every other source keeps all its records.
    let sql = "SELECT source_id, count(*) FROM source_records GROUP BY source_id";
    let before = per_source(&intact_out.join("inventory.gpkg"), sql);
    let after = per_source(&out.join("inventory.gpkg"), sql);
    for (source, n) in &before {
        if failed.contains(&source.as_str()) {
            continue;
        }
        assert_eq!(after.get(source), Some(n), "{source}");
    }
    let codes = per_source(
        &out.join("inventory.gpkg"),
        "SELECT code, count(*) FROM data_issues GROUP BY code",
    );
    for code in [
        "invalid_utf8",
        "nul_byte",
        "not_an_object",
        "non_finite_number",
        "wrong_json_type",
        "oversized_field",
        "row_shape_mismatch",
    ] {
        assert!(codes.get(code).is_some_and(|n| *n > 0), "{code}: {codes:?}");
    }
}
