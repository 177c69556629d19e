//! An Etalab cadastre parcel file (`cadastre-<insee>-parcelles.json[.gz]`) in → [`Parcel`]s
//! and counted issues out, feature by feature.
//!
//! The file is a path, or bytes already in memory ([`ParcelInput::Bytes`]: a snapshot the
//! build's fetcher returned, decompressed as it is read). Three ways in, one parser:
//! - [`ParcelReader`]: a sequential iterator, one feature at a time.
//! - [`scan_parcels`]: the fast path: the calling thread decompresses and splits the stream
//!   into blocks of whole features, worker threads parse them; a caller's `keep` test on each
//!   parcel's bounding box decides which parcels are built at all (properties parsed, polygon
//!   assembled), so a join against a few points never builds the million others.
//! - [`read_parcels`]: every parcel in memory, in file order (built on `scan_parcels`).
//!
//! Memory: about one 128 KiB block per worker and in flight, plus the largest feature; never the
//! whole file nor the whole decompressed text. Gzip is detected by its magic bytes; the
//! decompressed size is capped (`ReadOptions::max_decompressed_bytes`, default 4 GiB).
//!
//! **A file cut in the middle** (or any fatal error) is an error naming the file. Through
//! [`ParcelReader`] the parcels of every complete feature before the cut are yielded first,
//! then the error; [`scan_parcels`] and [`read_parcels`] return only the error (nothing of a
//! half-read file is used, as elsewhere in dcinv).
//!
//! **Issues** (counted, never fatal; codes in `issues`): `parcel_bad_geometry` and
//! `parcel_invalid_ring` are checked on every feature; `parcel_missing_contenance` and
//! `parcel_missing_id` on the parcels that `keep` accepted (all of them in `read_parcels`
//! and `ParcelReader`), since the properties of the others are never parsed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use geo::{Coord, LineString, MultiPolygon, Polygon, Rect};

use super::error::CadastreError;
use super::feature::{
    Contenance, FlatGeom, Props, RawFeature, SyntaxError, parse_feature, parse_props,
    planar_twice_area, ring_problem,
};
use super::issues::{IssueCode, IssueCounts, ParcelIssue};
use super::split::{Batch, Splitter};

/// Default cap on the decompressed size of a gzip file: 4 GiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;
/// Default cap on the size of one feature: 256 MiB.
pub const DEFAULT_MAX_FEATURE_BYTES: usize = 256 << 20;

/// One cadastral parcel. `geometry` has its exterior rings counter-clockwise and its holes
/// clockwise (lon/lat, WGS 84); invalid rings were dropped (see `issues`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parcel {
    pub id: String,
    pub commune: String,
    pub prefixe: String,
    pub section: String,
    pub numero: String,
    /// Legal area in m² (`contenance`); `None` when missing.
    pub contenance_m2: Option<f64>,
    pub geometry: MultiPolygon<f64>,
}

/// Reading limits and parallelism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Cap on the decompressed bytes of a gzip file (a gzip bomb fails cleanly past it).
    pub max_decompressed_bytes: u64,
    /// Cap on the bytes of one feature.
    pub max_feature_bytes: usize,
    /// Parser threads for `scan_parcels`/`read_parcels`; 0 = one per available core.
    pub threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_feature_bytes: DEFAULT_MAX_FEATURE_BYTES,
            threads: 0,
        }
    }
}

impl ReadOptions {
    fn worker_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// What [`scan_parcels`] found.
#[derive(Debug)]
pub struct ScanOutcome<T> {
    /// `map`'s results with their feature numbers, in file order.
    pub items: Vec<(u64, T)>,
    /// Features in the file.
    pub features_read: u64,
    /// Parcels whose bounding box `keep` accepted (and that were built).
    pub parcels_built: u64,
    pub issues: IssueCounts,
}

/// Every parcel of a file, in file order.
#[derive(Debug)]
pub struct ReadOutcome {
    pub parcels: Vec<Parcel>,
    pub features_read: u64,
    pub issues: IssueCounts,
}

/// Where a parcel file is: a path, or its bytes (plain or gzip) already in memory with the
/// name used in messages.
#[derive(Debug, Clone)]
pub enum ParcelInput<'a> {
    Path(&'a Path),
    Bytes { name: &'a Path, bytes: Arc<[u8]> },
}

impl ParcelInput<'_> {
    /// The path, or the name of the bytes.
    pub fn name(&self) -> &Path {
        match self {
            ParcelInput::Path(p) => p,
            ParcelInput::Bytes { name, .. } => name,
        }
    }

    fn splitter(&self, opts: &ReadOptions) -> Result<Splitter, CadastreError> {
        match self {
            ParcelInput::Path(p) => {
                Splitter::open(p, opts.max_decompressed_bytes, opts.max_feature_bytes)
            }
            ParcelInput::Bytes { name, bytes } => Splitter::open_bytes(
                name,
                bytes.clone(),
                opts.max_decompressed_bytes,
                opts.max_feature_bytes,
            ),
        }
    }
}

/// Reads every parcel of `path` into memory (parallel parse, file order kept).
pub fn read_parcels(path: &Path, opts: &ReadOptions) -> Result<ReadOutcome, CadastreError> {
    let out = scan_parcels(path, opts, |_| true, Some)?;
    Ok(ReadOutcome {
        parcels: out.items.into_iter().map(|(_, p)| p).collect(),
        features_read: out.features_read,
        issues: out.issues,
    })
}

/// Streams `path`: for each feature with a usable geometry whose bounding box passes `keep`,
/// builds the [`Parcel`] and keeps `map(parcel)` when it is `Some`. `keep` and `map` run on
/// worker threads. Fails whole on any fatal error (see the module notes). The first pass uses
/// the splitter's line shortcut; after an error that may come from it the file is read again
/// strictly (which gives the exact error), so `keep` and `map` may then see parcels twice
/// (the first pass's results are dropped).
pub fn scan_parcels<T, K, M>(
    path: &Path,
    opts: &ReadOptions,
    keep: K,
    map: M,
) -> Result<ScanOutcome<T>, CadastreError>
where
    T: Send,
    K: Fn(&Rect<f64>) -> bool + Sync,
    M: Fn(Parcel) -> Option<T> + Sync,
{
    scan_parcel_input(&ParcelInput::Path(path), opts, keep, map)
}

/// [`scan_parcels`] over a path or over bytes in memory.
pub fn scan_parcel_input<T, K, M>(
    input: &ParcelInput<'_>,
    opts: &ReadOptions,
    keep: K,
    map: M,
) -> Result<ScanOutcome<T>, CadastreError>
where
    T: Send,
    K: Fn(&Rect<f64>) -> bool + Sync,
    M: Fn(Parcel) -> Option<T> + Sync,
{
    match scan_once(input, opts, true, &keep, &map) {
        Ok(out) => Ok(out),
        // The line shortcut may have misled the splitter: read again strictly, which also
        // gives the exact error. Errors that do not depend on the splitting are final.
        Err(
            e @ (CadastreError::Io { .. }
            | CadastreError::NotGzip { .. }
            | CadastreError::Gzip { .. }
            | CadastreError::DecompressedTooLarge { .. }),
        ) => Err(e),
        Err(_) => scan_once(input, opts, false, &keep, &map),
    }
}

fn scan_once<T, K, M>(
    input: &ParcelInput<'_>,
    opts: &ReadOptions,
    fast_lines: bool,
    keep: &K,
    map: &M,
) -> Result<ScanOutcome<T>, CadastreError>
where
    T: Send,
    K: Fn(&Rect<f64>) -> bool + Sync,
    M: Fn(Parcel) -> Option<T> + Sync,
{
    let path = input.name();
    let mut splitter = input.splitter(opts)?;
    splitter.set_fast_lines(fast_lines);
    let threads = opts.worker_threads();
    let mut outs: Vec<WorkerOut<T>> = Vec::new();
    let mut split_err = None;

    // Reading strictly, the splitter proved each feature's extent: a feature whose own JSON is
    // broken costs only itself. With the line shortcut, any error means reading again.
    let strict = !fast_lines;
    if threads <= 1 {
        let mut w = Worker::new(strict);
        loop {
            match splitter.next_batch() {
                Ok(Some(b)) => {
                    let failed = w.batch(path, &b, keep, map);
                    splitter.give_back(b.data);
                    if failed {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    split_err = Some(e);
                    break;
                }
            }
        }
        outs.push(w.out);
    } else {
        let (btx, brx) = mpsc::sync_channel::<Batch>(threads);
        let brx = Mutex::new(brx);
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let (rtx, rrx) = mpsc::channel::<WorkerOut<T>>();
            let (gtx, grx) = mpsc::channel::<Vec<u8>>();
            for _ in 0..threads {
                let (brx, rtx, gtx) = (&brx, rtx.clone(), gtx.clone());
                let stop = &stop;
                s.spawn(move || {
                    let mut w = Worker::new(strict);
                    loop {
                        let next = match brx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(b) = next else { break };
                        // Every dispatched batch is parsed, so the first error is found
                        // whatever the thread timing.
                        if w.batch(path, &b, keep, map) {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let _ = gtx.send(b.data);
                    }
                    let _ = rtx.send(w.out);
                });
            }
            drop(rtx);
            drop(gtx);
            loop {
                while let Ok(buf) = grx.try_recv() {
                    splitter.give_back(buf);
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match splitter.next_batch() {
                    Ok(Some(b)) => {
                        if btx.send(b).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        split_err = Some(e);
                        break;
                    }
                }
            }
            drop(btx);
            outs.extend(rrx);
        });
    }

    // A feature error always lies before the point where the splitter stopped.
    let mut first_err: Option<(u64, CadastreError)> = None;
    let mut result = ScanOutcome {
        items: Vec::new(),
        features_read: splitter.features(),
        parcels_built: 0,
        issues: IssueCounts::default(),
    };
    for o in outs {
        if let Some((i, e)) = o.err
            && first_err.as_ref().is_none_or(|(j, _)| i < *j)
        {
            first_err = Some((i, e));
        }
        result.items.extend(o.items);
        result.parcels_built += o.built;
        result.issues.merge(o.issues);
    }
    if let Some((_, e)) = first_err {
        return Err(e);
    }
    if let Some(e) = split_err {
        return Err(e);
    }
    for &before in splitter.not_objects() {
        result.issues.record(ParcelIssue {
            code: IssueCode::ParcelNotAnObject,
            feature_index: before,
            parcel_id: None,
            detail: format!(
                "an element of `features` before feature {before} is not an object; skipped"
            ),
        });
    }
    result.items.sort_unstable_by_key(|(i, _)| *i);
    Ok(result)
}

struct WorkerOut<T> {
    items: Vec<(u64, T)>,
    issues: IssueCounts,
    built: u64,
    err: Option<(u64, CadastreError)>,
}

struct Worker<T> {
    /// Feature syntax errors are counted issues (true) or fatal (false).
    strict: bool,
    flat: FlatGeom,
    ring_ok: Vec<bool>,
    out: WorkerOut<T>,
}

impl<T> Worker<T> {
    fn new(strict: bool) -> Self {
        Worker {
            strict,
            flat: FlatGeom::default(),
            ring_ok: Vec::new(),
            out: WorkerOut {
                items: Vec::new(),
                issues: IssueCounts::default(),
                built: 0,
                err: None,
            },
        }
    }

    /// Parses one batch; true on a fatal error (recorded in `out.err`).
    fn batch<K, M>(&mut self, path: &Path, b: &Batch, keep: &K, map: &M) -> bool
    where
        K: Fn(&Rect<f64>) -> bool,
        M: Fn(Parcel) -> Option<T>,
    {
        for (k, &(s, e)) in b.spans.iter().enumerate() {
            let index = b.first_index + k as u64;
            let bytes = &b.data[s..e];
            match build_parcel(
                bytes,
                index,
                &mut self.flat,
                &mut self.ring_ok,
                &mut self.out.issues,
                keep,
            ) {
                Ok(Some(p)) => {
                    self.out.built += 1;
                    if let Some(t) = map(p) {
                        self.out.items.push((index, t));
                    }
                }
                Ok(None) => {}
                Err(se) if self.strict => {
                    let offset = b.base_offset + s as u64 + se.pos as u64;
                    self.out.issues.record(ParcelIssue {
                        code: IssueCode::ParcelUnreadable,
                        feature_index: index,
                        parcel_id: None,
                        detail: format!("feature {index}: {} at byte {offset}", se.message),
                    });
                }
                Err(se) => {
                    self.out.err = Some((
                        index,
                        feature_error(path, b.base_offset + s as u64, index, &se),
                    ));
                    return true;
                }
            }
        }
        false
    }
}

fn feature_error(path: &Path, feature_offset: u64, index: u64, e: &SyntaxError) -> CadastreError {
    CadastreError::Syntax {
        path: path.to_path_buf(),
        offset: feature_offset + e.pos as u64,
        feature_index: Some(index),
        message: e.message.to_string(),
    }
}

/// Parses one feature and builds its parcel when usable and `keep` accepts its bounding box.
fn build_parcel(
    bytes: &[u8],
    index: u64,
    flat: &mut FlatGeom,
    ring_ok: &mut Vec<bool>,
    issues: &mut IssueCounts,
    keep: &dyn Fn(&Rect<f64>) -> bool,
) -> Result<Option<Parcel>, SyntaxError> {
    let raw = parse_feature(bytes, flat)?;
    if let Err(detail) = flat.finish() {
        issues.record(issue(IssueCode::ParcelBadGeometry, index, &raw, detail));
        return Ok(None);
    }
    // Rings: validity and the bounding box of the usable exteriors.
    ring_ok.clear();
    ring_ok.resize(flat.ring_ends.len(), false);
    let mut first_problem = None;
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    let mut usable = 0usize;
    for p in 0..flat.poly_ends.len() {
        let rings = flat.poly_rings(p);
        for r in rings.clone() {
            let problem = ring_problem(flat.ring(r));
            ring_ok[r] = problem.is_none();
            if let Some(pr) = problem {
                first_problem.get_or_insert(pr);
            }
        }
        if ring_ok[rings.start] {
            usable += 1;
            for c in flat.ring(rings.start) {
                x0 = x0.min(c[0]);
                y0 = y0.min(c[1]);
                x1 = x1.max(c[0]);
                y1 = y1.max(c[1]);
            }
        }
    }
    if let Some(pr) = first_problem {
        let detail = if usable == 0 {
            format!("{pr}; no polygon left, parcel dropped")
        } else {
            format!("{pr}; ring dropped")
        };
        issues.record(issue(IssueCode::ParcelInvalidRing, index, &raw, &detail));
    }
    if usable == 0 {
        return Ok(None);
    }
    let bbox = Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 });
    if !keep(&bbox) {
        return Ok(None);
    }
    let props = match raw.properties {
        Some(p) => parse_props(p)?,
        None => Props::default(),
    };
    let id = match props.id.or_else(|| raw.id.as_deref().map(str::to_string)) {
        Some(id) if !id.is_empty() => id,
        _ => {
            issues.record(ParcelIssue {
                code: IssueCode::ParcelMissingId,
                feature_index: index,
                parcel_id: None,
                detail: "no properties.id nor feature id; parcel dropped".to_string(),
            });
            return Ok(None);
        }
    };
    let contenance_m2 = match props.contenance {
        Contenance::Value(v) if v.is_finite() => Some(v),
        other => {
            let detail = match other {
                Contenance::Null => "contenance is null",
                Contenance::Missing => "no contenance",
                _ => "contenance is not a number",
            };
            issues.record(ParcelIssue {
                code: IssueCode::ParcelMissingContenance,
                feature_index: index,
                parcel_id: Some(id.clone()),
                detail: detail.to_string(),
            });
            None
        }
    };
    Ok(Some(Parcel {
        id,
        commune: props.commune.unwrap_or_default(),
        prefixe: props.prefixe.unwrap_or_default(),
        section: props.section.unwrap_or_default(),
        numero: props.numero.unwrap_or_default(),
        contenance_m2,
        geometry: multipolygon(flat, ring_ok),
    }))
}

fn issue(code: IssueCode, index: u64, raw: &RawFeature<'_>, detail: &str) -> ParcelIssue {
    let from_props = raw
        .properties
        .and_then(|p| parse_props(p).ok())
        .and_then(|p| p.id);
    ParcelIssue {
        code,
        feature_index: index,
        parcel_id: from_props.or_else(|| raw.id.as_deref().map(str::to_string)),
        detail: detail.to_string(),
    }
}

/// Builds the polygons of the usable rings, exteriors counter-clockwise, holes clockwise.
fn multipolygon(flat: &FlatGeom, ring_ok: &[bool]) -> MultiPolygon<f64> {
    let line = |r: usize, ccw: bool| {
        let ring = flat.ring(r);
        let mut coords: Vec<Coord<f64>> = ring.iter().map(|c| Coord { x: c[0], y: c[1] }).collect();
        if (planar_twice_area(ring) > 0.0) != ccw {
            coords.reverse();
        }
        LineString::new(coords)
    };
    let mut polys = Vec::with_capacity(flat.poly_ends.len());
    for p in 0..flat.poly_ends.len() {
        let rings = flat.poly_rings(p);
        if !ring_ok[rings.start] {
            continue;
        }
        let holes = (rings.start + 1..rings.end)
            .filter(|&r| ring_ok[r])
            .map(|r| line(r, false))
            .collect();
        polys.push(Polygon::new(line(rings.start, true), holes));
    }
    MultiPolygon::new(polys)
}

/// A sequential, streaming iterator over the parcels of a file. After a fatal error it yields
/// that error once (the parcels before it having been yielded), then `None`.
pub struct ParcelReader {
    path: PathBuf,
    splitter: Splitter,
    batch: Option<Batch>,
    next_span: usize,
    flat: FlatGeom,
    ring_ok: Vec<bool>,
    issues: IssueCounts,
    features_read: u64,
    done: bool,
}

impl ParcelReader {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, CadastreError> {
        Ok(ParcelReader {
            path: path.to_path_buf(),
            splitter: Splitter::open(path, opts.max_decompressed_bytes, opts.max_feature_bytes)?,
            batch: None,
            next_span: 0,
            flat: FlatGeom::default(),
            ring_ok: Vec::new(),
            issues: IssueCounts::default(),
            features_read: 0,
            done: false,
        })
    }

    /// Issues counted so far.
    pub fn issues(&self) -> &IssueCounts {
        &self.issues
    }

    /// Features parsed so far (with or without a usable parcel).
    pub fn features_read(&self) -> u64 {
        self.features_read
    }
}

impl Iterator for ParcelReader {
    type Item = Result<Parcel, CadastreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let Some(b) = &self.batch
                && self.next_span < b.spans.len()
            {
                let (s, e) = b.spans[self.next_span];
                let index = b.first_index + self.next_span as u64;
                self.next_span += 1;
                self.features_read += 1;
                match build_parcel(
                    &b.data[s..e],
                    index,
                    &mut self.flat,
                    &mut self.ring_ok,
                    &mut self.issues,
                    &|_| true,
                ) {
                    Ok(Some(p)) => return Some(Ok(p)),
                    Ok(None) => continue,
                    Err(se) => {
                        self.done = true;
                        let off = b.base_offset + s as u64;
                        return Some(Err(feature_error(&self.path, off, index, &se)));
                    }
                }
            }
            if let Some(b) = self.batch.take() {
                self.splitter.give_back(b.data);
            }
            match self.splitter.next_batch() {
                Ok(Some(b)) => {
                    self.batch = Some(b);
                    self.next_span = 0;
                }
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
