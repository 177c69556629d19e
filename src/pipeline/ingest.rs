//! Ingest stage: every file of every record source fetched (several hosts at a time), parsed
//! by its adapter or read from the parse cache, and checked against its last good snapshot;
//! out: per source its [`SourceRun`], and the records (later copies of a key dropped), data
//! issues, published counts and boundaries of the sources that built. A file that cannot be
//! fetched or parsed, or that shrank suspiciously, falls back to its last good snapshot (the
//! source is then stale); without one, its whole source fails and nothing of it is used.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::adapters::{self, FileInput, Registered};
use crate::catalog::{FileSpec, SourceSpec};
use crate::error::{ParseError, SourceFailure};
use crate::fetch::{Fetcher, Snapshot};
use crate::model::{
    AdminPart, DataIssue, IssueAction, IssueCode, ParseOutput, PublishedCount, Record, SourceRun,
};
use crate::parse_cache::ParseCache;

/// Per source, per file (catalog order): the fetched snapshot or why there is none.
pub type Fetched = Vec<Vec<Result<Snapshot, SourceFailure>>>;

/// Files fetched at the same time, at most (files of one host still wait for that host's
/// limits in the HTTP client; this only lets different hosts proceed together).
const FETCH_WORKERS: usize = 4;

/// Fetches every file of every source, `FETCH_WORKERS` at a time; results in catalog order.
pub fn fetch_all(fetcher: &dyn Fetcher, specs: &[SourceSpec], bar: &ProgressBar) -> Fetched {
    let fetch = |spec: &SourceSpec| -> Vec<Result<Snapshot, SourceFailure>> {
        spec.files
            .par_iter()
            .map(|file| {
                bar.set_message(spec.id.clone());
                let result = fetcher
                    .fetch(spec, file)
                    .map_err(|e| SourceFailure::Fetch(Arc::new(e)));
                bar.inc(1);
                result
            })
            .collect()
    };
    // A pool of its own: fetching waits on the network, not on the cores.
    match rayon::ThreadPoolBuilder::new()
        .num_threads(FETCH_WORKERS)
        .build()
    {
        Ok(pool) => pool.install(|| specs.par_iter().map(fetch).collect()),
        Err(_) => specs.iter().map(fetch).collect(),
    }
}

/// A fresh snapshot read in this build, to be marked good once the inventory is published.
pub struct GoodSnapshot {
    /// Index of the source in the record sources, and of the file in the source.
    pub source: usize,
    pub file: usize,
    pub sha256: String,
    /// Entries read.
    pub units: u64,
}

/// What the ingest stage gives.
#[derive(Default)]
pub struct Ingested {
    /// One per record source, in catalog order.
    pub runs: Vec<SourceRun>,
    pub records: Vec<Record>,
    pub issues: Vec<DataIssue>,
    pub published_counts: Vec<PublishedCount>,
    pub admin: Vec<AdminPart>,
    pub good: Vec<GoodSnapshot>,
}

/// What the stage reads besides the fetched snapshots.
pub struct IngestContext<'a> {
    pub fetcher: &'a dyn Fetcher,
    pub cache: &'a ParseCache,
    /// See `BuildOptions::max_shrink`.
    pub max_shrink: f64,
}

/// Parses every source (see the module header).
pub fn ingest(
    cx: &IngestContext<'_>,
    specs: &[SourceSpec],
    fetched: &Fetched,
    bar: &ProgressBar,
) -> Ingested {
    let mut all = Ingested::default();
    for (si, (spec, files)) in specs.iter().zip(fetched).enumerate() {
        bar.set_message(spec.id.clone());
        let mut run = SourceRun::new(&spec.id);
        match ingest_source(cx, si, spec, files, &mut run, bar) {
            Ok(mut source) => {
                run.units_read = run.files.iter().map(|f| f.units_read).sum();
                run.published_counts = source.published_counts.len();
                all.good.extend(source.good);
                all.records
                    .extend(dedupe(source.records, &mut source.issues));
                all.issues.extend(source.issues);
                all.published_counts.extend(source.published_counts);
                all.admin.extend(source.admin);
            }
            Err(failure) => {
                // Nothing of a failed source is used: a half-read source would skew counts.
                run.error = Some(failure);
                run.files.clear();
            }
        }
        all.runs.push(run);
    }
    all
}

/// The output of one source's files.
#[derive(Default)]
struct SourceOutput {
    records: Vec<Record>,
    issues: Vec<DataIssue>,
    published_counts: Vec<PublishedCount>,
    admin: Vec<AdminPart>,
    good: Vec<GoodSnapshot>,
}

fn ingest_source(
    cx: &IngestContext<'_>,
    si: usize,
    spec: &SourceSpec,
    fetched: &[Result<Snapshot, SourceFailure>],
    run: &mut SourceRun,
    bar: &ProgressBar,
) -> Result<SourceOutput, SourceFailure> {
    let mut source = SourceOutput::default();
    for (fi, (file, fetched)) in spec.files.iter().zip(fetched).enumerate() {
        bar.inc(1);
        let name = spec.adapter_for(file);
        let adapter = adapters::find(name).ok_or_else(|| SourceFailure::NoAdapter(name.into()))?;
        let used = use_file(cx, spec, file, adapter, fetched, run)?;
        if used.fresh {
            source.good.push(GoodSnapshot {
                source: si,
                file: fi,
                sha256: used.snapshot.sha256.clone(),
                units: used.out.units_read as u64,
            });
        }
        run.files.push(
            used.snapshot
                .file_run(&file.name, used.out.units_read, used.parsed),
        );
        source.records.extend(used.out.records);
        source.issues.extend(used.out.issues);
        source.published_counts.extend(used.out.published_counts);
        source.admin.extend(used.out.admin);
    }
    Ok(source)
}

/// The snapshot a file's records come from, and its parse output.
struct UsedFile {
    snapshot: Snapshot,
    out: ParseOutput,
    /// Parsed in this build (false: from the parse cache).
    parsed: bool,
    /// The fresh snapshot (false: the last good one).
    fresh: bool,
}

/// The fresh snapshot when it parses and did not shrink; else the last good one (why is
/// noted in `run.stale`); else the failure.
fn use_file(
    cx: &IngestContext<'_>,
    spec: &SourceSpec,
    file: &FileSpec,
    adapter: &Registered,
    fetched: &Result<Snapshot, SourceFailure>,
    run: &mut SourceRun,
) -> Result<UsedFile, SourceFailure> {
    let parse = |snapshot: &Snapshot| parse_snapshot(cx.cache, spec, file, adapter, snapshot);
    let fresh = match fetched {
        Ok(snapshot) => parse(snapshot)
            .map_err(|error| SourceFailure::Parse {
                source_id: spec.id.clone(),
                error: Arc::new(error),
            })
            .and_then(
                |(out, parsed)| match shrunk(cx, spec, file, snapshot, &out) {
                    None => Ok(UsedFile {
                        snapshot: snapshot.clone(),
                        out,
                        parsed,
                        fresh: true,
                    }),
                    Some(why) => Err(why),
                },
            ),
        Err(failure) => Err(failure.clone()),
    };
    let why = match fresh {
        Ok(used) => return Ok(used),
        Err(why) => why,
    };
    let Some((last_good, _)) = cx.fetcher.last_good(spec, file) else {
        return Err(why);
    };
    match parse(&last_good) {
        Ok((out, parsed)) => {
            run.stale.push(format!(
                "{why}; used the last good snapshot {} of {}",
                &last_good.sha256[..12],
                last_good.retrieved_at
            ));
            Ok(UsedFile {
                snapshot: last_good,
                out,
                parsed,
                fresh: false,
            })
        }
        Err(error) => Err(SourceFailure::LastGoodUnparsable {
            why: Box::new(why),
            error: Arc::new(error),
        }),
    }
}

/// A snapshot parsed, or its output taken from the parse cache (same bytes, same adapter
/// version, same catalog mapping); the flag says whether it was parsed.
fn parse_snapshot(
    cache: &ParseCache,
    spec: &SourceSpec,
    file: &FileSpec,
    adapter: &Registered,
    snapshot: &Snapshot,
) -> Result<(ParseOutput, bool), ParseError> {
    let provenance = snapshot.provenance(spec, file);
    if let Some(mut out) = cache.get(spec, file, adapter, &snapshot.sha256) {
        // Same bytes: only when and where they were read differ.
        for r in &mut out.records {
            r.provenance
                .retrieved_at
                .clone_from(&provenance.retrieved_at);
            r.provenance.origin.clone_from(&provenance.origin);
        }
        return Ok((out, false));
    }
    let out = adapter.parse(&FileInput {
        spec,
        file,
        bytes: &snapshot.bytes,
        provenance,
    })?;
    let _ = cache.put(spec, file, adapter, &snapshot.sha256, &out);
    Ok((out, true))
}

/// More than `max_shrink` fewer entries than the last good snapshot of the file (1 → 0
/// counts; 10 → 7 at 30 % does not).
fn shrunk(
    cx: &IngestContext<'_>,
    spec: &SourceSpec,
    file: &FileSpec,
    snapshot: &Snapshot,
    out: &ParseOutput,
) -> Option<SourceFailure> {
    let (last_good, count) = cx.fetcher.last_good(spec, file)?;
    let floor = count as f64 * (1.0 - cx.max_shrink) - 1e-9;
    (last_good.sha256 != snapshot.sha256 && (out.units_read as f64) < floor).then(|| {
        SourceFailure::Shrunk {
            file: file.name.clone(),
            entries: out.units_read,
            last_good: count,
            max_shrink_pct: cx.max_shrink * 100.0,
            issues: issue_tally(&out.issues),
        }
    })
}

/// `; its data issues: code ×n, ...` for the reason a shrunk file was not trusted (a page
/// whose layout changed says so here), or nothing.
fn issue_tally(issues: &[DataIssue]) -> String {
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for i in issues {
        *by_code.entry(i.code.as_str()).or_default() += 1;
    }
    if by_code.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
    format!("; its data issues: {}", parts.join(", "))
}

/// Drops later copies of a record key within a source.
fn dedupe(records: Vec<Record>, issues: &mut Vec<DataIssue>) -> Vec<Record> {
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(records.len());
    for r in records {
        if seen.insert(r.record_key.clone()) {
            kept.push(r);
        } else {
            issues.push(DataIssue {
                source_id: r.source_id.clone(),
                code: IssueCode::DuplicateRecord,
                action: IssueAction::Dropped,
                file: r.provenance.file.clone(),
                locator: r.provenance.locator.clone(),
                record_key: Some(r.record_key.clone()),
                message: "record key already read from an earlier entry or file of this source"
                    .into(),
            });
        }
    }
    kept
}
