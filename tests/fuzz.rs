//! Fuzzing on stable Rust: proptest-driven mutations (byte flips, inserted defect tokens,
//! deleted, duplicated and spliced ranges, truncations) of the real mirror files and of the
//! live-format fixtures, fed to every adapter, to the cadastre parcel reader and to the OSM
//! PBF reader. Each input must give records or an error — never a panic — within a time cap
//! and a memory bound (peak bytes allocated while reading it, counted by the allocator of
//! this test binary).
//!
//! Cases per target: `DCINV_FUZZ_CASES` (default 200, what CI runs; 10,000 locally:
//! `DCINV_FUZZ_CASES=10000 cargo test --test fuzz -- --nocapture --test-threads 1`).
//! The figures (cases, errors, worst time, worst peak memory per target) are printed.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dcinv::adapters::{self, FileInput};
use dcinv::catalog::SourceSpec;
use dcinv::model::Provenance;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

// ------------------------------------------------------------------------------------------
// Peak memory of one case.

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f`, returning its result, wall time and the peak bytes allocated above the start.
fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let out = f();
    let elapsed = started.elapsed();
    (
        out,
        elapsed,
        PEAK.load(Ordering::Relaxed).saturating_sub(base),
    )
}

// ------------------------------------------------------------------------------------------
// Mutations.

/// Tokens that real breakage and the defects of the issue put into files.
const TOKENS: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\0",
    b"NaN",
    b"1e309",
    b"-Infinity",
    b"\"x\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\r\n",
    b"\n",
    b"null",
    b"{\"a\":",
    b"\\u0000",
    b"\\",
    b"\xEF\xBB\xBF",
    b"<div>",
    b"</td>",
    b"12 000 m\xc2\xb2",
    b"99999999999999999999",
    b"-1",
    b"true",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Insert(prop::sample::Index, usize),
    InsertBytes(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
    Oversize(prop::sample::Index, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<prop::sample::Index>;
    prop_oneof![
        4 => (at(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        6 => (at(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        2 => (at(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::InsertBytes(i, b)),
        2 => (at(), 1usize..256).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (at(), 1usize..512).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => at().prop_map(Mutation::Truncate),
        1 => (at(), 1usize..200_000).prop_map(|(i, n)| Mutation::Oversize(i, n)),
    ]
}

fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match m {
            Mutation::Flip(i, x) if !b.is_empty() => {
                let i = i.index(len);
                b[i] ^= x | 1;
            }
            Mutation::Insert(i, t) => {
                let i = i.index(len + 1).min(b.len());
                b.splice(i..i, TOKENS[*t].iter().copied());
            }
            Mutation::InsertBytes(i, x) => {
                let i = i.index(len + 1).min(b.len());
                b.splice(i..i, x.iter().copied());
            }
            Mutation::Delete(i, n) if !b.is_empty() => {
                let i = i.index(len);
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Mutation::Duplicate(i, n) if !b.is_empty() => {
                let i = i.index(len);
                let end = (i + n).min(b.len());
                let copy: Vec<u8> = b[i..end].to_vec();
                b.splice(i..i, copy);
            }
            Mutation::Truncate(i) => {
                let i = i.index(len + 1).min(b.len());
                b.truncate(i);
            }
            Mutation::Oversize(i, n) => {
                let i = i.index(len + 1).min(b.len());
                b.splice(i..i, std::iter::repeat_n(b'a', *n));
            }
            _ => {}
        }
    }
    b
}

// ------------------------------------------------------------------------------------------
// Targets.

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spec_of(id: &str) -> SourceSpec {
    dcinv::catalog::load_dir(&common::catalog())
        .unwrap()
        .into_iter()
        .find(|s| s.id == id)
        .unwrap()
}

/// Reads one input: the units read, or the error of a file unreadable as a whole.
type Reader = Box<dyn Fn(&[u8]) -> Result<usize, String>>;

/// One target: a name, seed inputs, and what reading one input does.
struct Target {
    name: String,
    seeds: Vec<Vec<u8>>,
    run: Reader,
}

/// An adapter fed through the catalog entry `spec` (file `file` of it).
fn adapter_target(spec: SourceSpec, file: usize, seeds: Vec<PathBuf>) -> Target {
    let name = format!("{} ({})", spec.adapter_for(&spec.files[file]), spec.id);
    let seeds = seeds.iter().map(|p| std::fs::read(p).unwrap()).collect();
    Target {
        name,
        seeds,
        run: Box::new(move |bytes| {
            let f = &spec.files[file];
            let adapter = adapters::find(spec.adapter_for(f)).unwrap();
            let input = FileInput {
                spec: &spec,
                file: f,
                bytes,
                provenance: Provenance {
                    source_id: spec.id.clone(),
                    file: f.name.clone(),
                    snapshot_sha256: String::new(),
                    retrieved_at: String::new(),
                    origin: "fuzz".into(),
                    licence: spec.licence.clone(),
                    locator: String::new(),
                },
            };
            adapter
                .parse(&input)
                .map(|o| o.units_read)
                .map_err(|e| e.to_string())
        }),
    }
}

fn targets() -> Vec<Target> {
    let mirror = common::mirror();
    let m = |s: &str| mirror.join(s);
    let fx = |s: &str| manifest().join("tests/fixtures").join(s);
    let file_index =
        |spec: &SourceSpec, name: &str| spec.files.iter().position(|f| f.name == name).unwrap();
    let admin = spec_of("admin-boundaries");
    let communes = spec_of("admin-communes");
    let cloudsmog = spec_of("cloudsmog-enriched");
    let northcolo = {
        let text = std::fs::read_to_string(fx("operator-pages/catalog/northcolo.toml")).unwrap();
        let path = PathBuf::from("sources/northcolo.toml");
        dcinv::catalog::parse_spec(&path, &text).unwrap()
    };
    let mut t = vec![
        adapter_target(
            spec_of("community-map"),
            0,
            vec![m(
                "community-map/carte_des_data_centers__des_projets_et_des_contestations_en_france.csv",
            )],
        ),
        adapter_target(
            spec_of("peeringdb-dx"),
            0,
            vec![m("peeringdb-dx/DX_LOCATIONS.csv")],
        ),
        adapter_target(
            spec_of("auditfrance-map"),
            0,
            vec![
                m("auditfrance-map/data-centers.geojson"),
                m("auditfrance-map/telco-hubs.geojson"),
            ],
        ),
        adapter_target(
            spec_of("osm-datacenters"),
            0,
            vec![m("osm-datacenters/datacenters_osm_FR.geojson")],
        ),
        adapter_target(
            cloudsmog.clone(),
            file_index(&cloudsmog, "major_datacenters.json"),
            vec![m("cloudsmog-enriched/major_datacenters.json")],
        ),
        adapter_target(
            spec_of("enedis-consumption"),
            0,
            vec![m("enedis-consumption/data.json")],
        ),
        adapter_target(
            spec_of("operator-disclosures"),
            0,
            vec![
                m("operator-disclosures/reference_facts.json"),
                m("operator-disclosures/press_facts_2025.json"),
            ],
        ),
        adapter_target(
            spec_of("peeringdb-fac"),
            0,
            vec![
                fx("peeringdb/fac_FR_full.json"),
                fx("peeringdb/fac_FR_since.json"),
            ],
        ),
        adapter_target(
            spec_of("osm-overpass"),
            0,
            vec![
                fx("overpass/data_centres_geom.json"),
                fx("overpass/data_centres_center.json"),
                fx("overpass/broken_geom.json"),
            ],
        ),
        adapter_target(
            northcolo,
            0,
            vec![
                fx("operator-pages/northcolo-par7.html"),
                fx("operator-pages/northcolo-par7-redesign.html"),
                fx("operator-pages/datafrance-sites.html"),
            ],
        ),
        adapter_target(
            communes.clone(),
            file_index(&communes, "communes-75-paris.geojson"),
            vec![m("admin-communes/communes-75-paris.geojson")],
        ),
        adapter_target(
            admin.clone(),
            file_index(&admin, "region2020.csv"),
            vec![m("admin-boundaries/region2020.csv")],
        ),
    ];
    t.push(Target {
        name: "cadastre reader".into(),
        seeds: vec![
            std::fs::read(fx("cadastre-etalab/cadastre-93066-parcelles.json")).unwrap(),
            std::fs::read(fx("cadastre-etalab/cadastre-93066-parcelles.json.gz")).unwrap(),
        ],
        run: Box::new(|bytes| {
            let opts = dcinv::cadastre::ReadOptions {
                max_decompressed_bytes: 64 << 20,
                threads: 1,
                ..Default::default()
            };
            let name = if bytes.starts_with(&[0x1f, 0x8b]) {
                Path::new("cadastre-93066-parcelles.json.gz")
            } else {
                Path::new("cadastre-93066-parcelles.json")
            };
            let input = dcinv::cadastre::ParcelInput::Bytes {
                name,
                bytes: Arc::from(bytes),
            };
            dcinv::cadastre::scan_parcel_input(&input, &opts, |_| true, Some)
                .map(|o| o.items.len())
                .map_err(|e| e.to_string())
        }),
    });
    let pbf_dir = std::env::temp_dir().join(format!("dcinv-fuzz-pbf-{}", std::process::id()));
    std::fs::create_dir_all(&pbf_dir).unwrap();
    let pbf = pbf_dir.join("case.osm.pbf");
    t.push(Target {
        name: "PBF reader".into(),
        seeds: vec![std::fs::read(m("../samples/osm-pbf/test.osm.pbf")).unwrap()],
        run: Box::new(move |bytes| {
            std::fs::write(&pbf, bytes).unwrap();
            let options = dcinv::osm::PbfOptions {
                threads: 1,
                ..Default::default()
            };
            dcinv::osm::read_pbf(&pbf, &|tags| !tags.is_empty(), &options)
                .map(|(f, _)| f.len())
                .map_err(|e| e.to_string())
        }),
    });
    t
}

// ------------------------------------------------------------------------------------------

fn cases() -> u32 {
    std::env::var("DCINV_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// Time cap per input: generous (a debug build on a shared machine), it catches hangs and
/// quadratic blow-ups, not slowness (`DCINV_FUZZ_TIME_CAP_MS`).
fn time_cap() -> Duration {
    Duration::from_millis(
        std::env::var("DCINV_FUZZ_TIME_CAP_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000),
    )
}

/// Memory bound per input: 64 times its size plus 64 MiB.
fn memory_cap(input_len: usize) -> usize {
    64 * input_len + (64 << 20)
}

#[derive(Default, Debug)]
struct Figures {
    cases: u64,
    errors: u64,
    worst: Duration,
    worst_peak: usize,
}

#[test]
fn every_reader_survives_mutated_real_inputs() {
    let cases = cases();
    let cap = time_cap();
    let mut lines = Vec::new();
    for target in targets() {
        let figures = std::cell::RefCell::new(Figures::default());
        // Each seed must read as it is.
        for seed in &target.seeds {
            (target.run)(seed).unwrap_or_else(|e| panic!("{}: a seed fails: {e}", target.name));
        }
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            max_shrink_iters: 2000,
            ..Config::default()
        });
        let strategy = (
            0..target.seeds.len(),
            prop::collection::vec(mutation(), 1..6),
        );
        let result = runner.run(&strategy, |(seed, mutations)| {
            let input = apply(&target.seeds[seed], &mutations);
            let (outcome, took, peak) = measured(|| (target.run)(&input));
            let mut f = figures.borrow_mut();
            f.cases += 1;
            f.errors += u64::from(outcome.is_err());
            f.worst = f.worst.max(took);
            f.worst_peak = f.worst_peak.max(peak);
            if took > cap {
                return Err(TestCaseError::fail(format!("took {took:?} (cap {cap:?})")));
            }
            if peak > memory_cap(input.len()) {
                return Err(TestCaseError::fail(format!(
                    "peak {peak} bytes for {} input bytes",
                    input.len()
                )));
            }
            Ok(())
        });
        let f = figures.into_inner();
        let line = format!(
            "{:<36} cases {:>6}  errors {:>6}  panics 0  worst {:>8.1} ms  worst peak {:>6.1} MiB",
            target.name,
            f.cases,
            f.errors,
            f.worst.as_secs_f64() * 1000.0,
            f.worst_peak as f64 / (1 << 20) as f64
        );
        if let Err(e) = result {
            panic!("{}: {e}\n(after {} cases)", target.name, f.cases);
        }
        eprintln!("{line}");
        lines.push(line);
    }
    if let Some(path) = std::env::var_os("DCINV_FUZZ_REPORT") {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }
}
