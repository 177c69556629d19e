//! The build, stage by stage: catalog → fetch → parse → dedupe → locate → reconcile →
//! store/export. Takes [`BuildOptions`], returns a [`BuildReport`] (what was built, from what,
//! with which data issues). A source that fails is reported and the others go on.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::adapters::{self, FileInput};
use crate::catalog::SourceSpec;
use crate::error::{BuildError, ParseError};
use crate::fetch::client::ClientConfig;
use crate::fetch::live::LiveFetcher;
use crate::fetch::snapshot::FetchMode;
use crate::fetch::{Fetcher, MirrorFetcher, Snapshot};
use crate::geo::locate::{AdminIndex, AdminPolygon, CogDepartement, CogRegion};
use crate::geo::stage::{LocatedRecord, locate_records};
pub use crate::inventory::{BuildReport, Inventory};
use crate::model::{
    AdminPart, DataIssue, IssueAction, ParseOutput, Record, SourceRun, issue_codes,
};
use crate::parse_cache::ParseCache;
use crate::reconcile::normalize::OperatorRegistry;
use crate::reconcile::overrides::Overrides;
use crate::reconcile::{self, ReconcileContext, Reconciliation};
use crate::{export, store};

/// The id of the source that holds the administrative boundaries.
pub const ADMIN_SOURCE: &str = "admin-boundaries";

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub catalog_dir: PathBuf,
    /// Read every source from `<mirror>/<source-id>/`; no network.
    pub mirror: Option<PathBuf>,
    pub out_dir: PathBuf,
    /// Snapshot cache for live downloads.
    pub cache_dir: PathBuf,
    pub quiet: bool,
    /// Grid mix for operational CO2e (`fr`, `eu`, `de`, ...).
    pub grid: String,
    /// Live fetching: normal (conditional requests), refresh or offline.
    pub mode: FetchMode,
    /// Contact named in the User-Agent of live requests.
    pub contact: String,
    /// `<source-id>` or `<source-id>/<file>` → URL, for this run.
    pub source_urls: std::collections::HashMap<String, String>,
    /// A source whose entry count falls by more than this share against its last good
    /// snapshot is suspicious: the last good snapshot is used instead.
    pub max_shrink: f64,
    /// Rebuild even when nothing changed.
    pub force: bool,
    /// Retries of a transient HTTP failure (with exponential backoff and jitter).
    pub max_retries: u32,
    /// Connect and read timeout of live requests (default: the client's, 20 s / 90 s).
    pub timeout: Option<std::time::Duration>,
    /// Cap on a decompressed download (default: the client's, 4 GiB).
    pub max_decompressed_bytes: Option<u64>,
}

impl BuildOptions {
    /// Options for an offline build from a mirror (tests, demos).
    pub fn mirror(catalog_dir: PathBuf, mirror: PathBuf, out_dir: PathBuf) -> BuildOptions {
        BuildOptions {
            catalog_dir,
            mirror: Some(mirror),
            cache_dir: out_dir.join("cache"),
            out_dir,
            quiet: true,
            grid: "fr".into(),
            mode: FetchMode::Normal,
            contact: DEFAULT_CONTACT.into(),
            source_urls: Default::default(),
            max_shrink: 0.3,
            force: false,
            max_retries: 4,
            timeout: None,
            max_decompressed_bytes: None,
        }
    }
}

/// Contact named in the User-Agent when none is configured.
pub const DEFAULT_CONTACT: &str = "https://github.com/dcinv/dcinv";

/// The report of a build that found nothing changed: only the fetched snapshots.
fn unchanged_inventory(
    started_at: String,
    fetch_mode: String,
    specs: Vec<SourceSpec>,
    fetched: &[Vec<Result<Snapshot, String>>],
) -> Inventory {
    let source_runs = specs
        .iter()
        .zip(fetched)
        .map(|(spec, files)| SourceRun {
            files: spec
                .files
                .iter()
                .zip(files)
                .filter_map(|(f, s)| s.as_ref().ok().map(|s| s.file_run(&f.name, 0, false)))
                .collect(),
            ..SourceRun::new(&spec.id)
        })
        .collect();
    Inventory {
        started_at,
        fetch_mode,
        specs,
        source_runs,
        ..Inventory::default()
    }
}

pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started_at = crate::fetch::now_rfc3339();
    let _lock = lock_output(&opts.out_dir)?;
    let specs = adapters::load_catalog(&opts.catalog_dir)?;
    let registry = OperatorRegistry::load(&opts.catalog_dir.join("operators.toml"))?;
    let overrides = Overrides::load(&opts.catalog_dir.join("overrides.toml"))?;
    let parameters =
        crate::estimate::params::Parameters::load(&opts.catalog_dir.join("parameters.toml"))?;
    let grid_id = format!("grid_intensity_{}", opts.grid);
    if !parameters.by_id.contains_key(&grid_id) {
        return Err(BuildError::Output {
            path: opts.catalog_dir.join("parameters.toml"),
            message: format!("no parameter `{grid_id}` for --grid {}", opts.grid),
        });
    }
    let (fetcher, specs): (Box<dyn Fetcher>, Vec<SourceSpec>) = match &opts.mirror {
        Some(root) => {
            let (mirror, specs) = MirrorFetcher::split(root.clone(), specs);
            (Box::new(mirror), specs)
        }
        None => {
            let mut config = ClientConfig::new(&opts.contact);
            config.max_retries = opts.max_retries;
            if let Some(t) = opts.timeout {
                config.connect_timeout = t;
                config.read_timeout = t;
            }
            if let Some(cap) = opts.max_decompressed_bytes {
                config.max_decompressed_bytes = cap;
            }
            (
                Box::new(
                    LiveFetcher::with_config(
                        opts.cache_dir.clone(),
                        opts.mode,
                        config,
                        opts.source_urls.clone(),
                        &specs,
                    )
                    .map_err(|e| BuildError::NothingBuilt(e.to_string()))?,
                ),
                specs,
            )
        }
    };
    // Per-commune parcel sources are fetched by the cadastre stage, after reconciliation.
    let (specs, commune_specs) = crate::cadastre::stage::split_catalog(specs);
    let total_files: usize = specs.iter().map(|s| s.files.len()).sum();
    let parse_cache = ParseCache::new(&opts.cache_dir);

    // Fetch every file first (a fetch failure is remembered, not fatal yet).
    let bar = progress(opts.quiet, total_files as u64, "fetch");
    let fetched = fetch_all(&*fetcher, &specs, &bar);
    bar.finish_and_clear();

    // Nothing changed since the last build of this folder (same snapshots, catalog,
    // parameters, options and tool): keep its outputs, parse nothing.
    let fingerprint = fingerprint(opts, &specs, &fetched);
    if let Some(fp) = &fingerprint
        && !opts.force
        && std::fs::read_to_string(opts.out_dir.join(FINGERPRINT_NAME))
            .is_ok_and(|stored| same_inputs(&stored, fp, &commune_specs, &*fetcher))
        && opts.out_dir.join(store::GPKG_NAME).is_file()
    {
        return Ok(BuildReport {
            inventory: unchanged_inventory(started_at, fetcher.describe(), specs, &fetched),
            outputs: Vec::new(),
            unchanged: true,
        });
    }

    // Parse, source by source. A file that cannot be fetched or parsed, or that shrank
    // suspiciously, falls back to its last good snapshot (the source is then stale); without
    // one, the whole source fails.
    let bar = progress(opts.quiet, total_files as u64, "parse");
    let mut source_runs = Vec::new();
    let mut records: Vec<Record> = Vec::new();
    let mut issues: Vec<DataIssue> = Vec::new();
    let mut published_counts = Vec::new();
    let mut admin_parts: Vec<AdminPart> = Vec::new();
    let mut good: Vec<(usize, usize, String, u64)> = Vec::new();
    for (si, spec) in specs.iter().enumerate() {
        bar.set_message(spec.id.clone());
        let mut run = SourceRun::new(&spec.id);
        let mut source_records = Vec::new();
        let mut source_issues = Vec::new();
        let mut source_counts = Vec::new();
        let mut source_admin = Vec::new();
        let mut source_good = Vec::new();
        for (fi, file) in spec.files.iter().enumerate() {
            bar.inc(1);
            let Some(adapter) = adapters::find(spec.adapter_for(file)) else {
                run.error = Some(format!("no adapter `{}`", spec.adapter_for(file)));
                break;
            };
            // Parse a snapshot, or take its output from the parse cache (same bytes, same
            // adapter version, same catalog mapping); the flag says whether it was parsed.
            let parse = |snapshot: &Snapshot| -> Result<(ParseOutput, bool), ParseError> {
                let provenance = snapshot.provenance(spec, file);
                if let Some(mut out) = parse_cache.get(spec, file, adapter, &snapshot.sha256) {
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
                let _ = parse_cache.put(spec, file, adapter, &snapshot.sha256, &out);
                Ok((out, true))
            };
            // The fresh attempt, and why it cannot be used.
            let fresh = match &fetched[si][fi] {
                Ok(snapshot) => match parse(snapshot) {
                    Ok((out, parsed)) => {
                        let shrunk = fetcher.last_good(spec, file).and_then(|(lg, count)| {
                            // More than `max_shrink` fewer (1 → 0 counts; 10 → 7 at 30 % not).
                            let floor = count as f64 * (1.0 - opts.max_shrink) - 1e-9;
                            (lg.sha256 != snapshot.sha256 && (out.units_read as f64) < floor)
                                .then(|| {
                                    format!(
                                        "{}: {} entries against {count} in the last good snapshot (more than {:.0} % fewer){}",
                                        file.name,
                                        out.units_read,
                                        opts.max_shrink * 100.0,
                                        issue_tally(&out.issues)
                                    )
                                })
                        });
                        match shrunk {
                            None => Ok((snapshot.clone(), out, parsed)),
                            Some(why) => Err(why),
                        }
                    }
                    Err(e) => Err(format!("source {}: {e}", spec.id)),
                },
                Err(e) => Err(e.clone()),
            };
            let used = match fresh {
                Ok(x) => {
                    source_good.push((si, fi, x.0.sha256.clone(), x.1.units_read as u64));
                    Ok(x)
                }
                Err(why) => match fetcher.last_good(spec, file) {
                    Some((lg, _)) => match parse(&lg) {
                        Ok((out, parsed)) => {
                            run.stale.push(format!(
                                "{why}; used the last good snapshot {} of {}",
                                &lg.sha256[..12],
                                lg.retrieved_at
                            ));
                            Ok((lg, out, parsed))
                        }
                        Err(e) => Err(format!(
                            "{why}; the last good snapshot no longer parses: {e}"
                        )),
                    },
                    None => Err(why),
                },
            };
            match used {
                Ok((snapshot, out, parsed)) => {
                    run.files
                        .push(snapshot.file_run(&file.name, out.units_read, parsed));
                    source_records.extend(out.records);
                    source_issues.extend(out.issues);
                    source_counts.extend(out.published_counts);
                    source_admin.extend(out.admin);
                }
                Err(e) => {
                    run.error = Some(e);
                    break;
                }
            }
        }
        if run.error.is_none() {
            good.extend(source_good);
        }
        if run.error.is_none() {
            run.units_read = run.files.iter().map(|f| f.units_read).sum();
            run.published_counts = source_counts.len();
            records.extend(dedupe(source_records, &mut source_issues));
            issues.extend(source_issues);
            published_counts.extend(source_counts);
            admin_parts.extend(source_admin);
        } else {
            // Nothing of a failed source is used: a half-read source would skew counts.
            run.files.clear();
        }
        source_runs.push(run);
    }
    bar.finish_and_clear();

    // Locate.
    let index = admin_index(admin_parts, &source_runs)?;
    let bar = progress(opts.quiet, 0, "locate");
    let (mut located, locate_issues) = locate_records(&index, records);
    issues.extend(locate_issues);
    bar.finish_and_clear();
    located.sort_by(|a, b| a.record.record_key.cmp(&b.record.record_key));

    // Reconcile, keeping the ids of the previous build in this output folder.
    let bar = progress(opts.quiet, 0, "reconcile");
    let previous = crate::reconcile::explain::read_links(&opts.out_dir.join(store::GPKG_NAME))
        .unwrap_or_default();
    let tiers = specs.iter().map(|s| (s.id.clone(), s.trust_tier)).collect();
    let id_ranks = specs
        .iter()
        .map(|s| (s.id.clone(), s.id_rank.unwrap_or(100)))
        .collect();
    let mut recon = reconcile::reconcile(
        &located,
        &ReconcileContext {
            registry: &registry,
            overrides: &overrides,
            tiers: &tiers,
            id_ranks: &id_ranks,
            previous: &previous,
            params: reconcile::link::LinkParams::default(),
        },
    );
    bar.finish_and_clear();

    // Estimate.
    let bar = progress(opts.quiet, 0, "estimate");
    let estimates = crate::estimate::estimate(
        &located,
        &recon.record_facility,
        &recon.facilities,
        &tiers,
        &parameters,
        &crate::estimate::EstimateOptions {
            grid: opts.grid.clone(),
            use_measured_energy: true,
            holdout_fold: None,
        },
    );
    for (f, e) in recon.facilities.iter_mut().zip(&estimates.facilities) {
        f.typology = e.typology.typology.to_string();
    }
    bar.finish_and_clear();

    // Per-source accounting.
    for run in &mut source_runs {
        run.records_kept = located
            .iter()
            .filter(|r| r.record.source_id == run.source_id)
            .count();
        run.records_dropped = issues
            .iter()
            .filter(|i| i.source_id == run.source_id && i.action == IssueAction::Dropped)
            .count();
    }
    if source_runs
        .iter()
        .all(|r| r.error.is_some() || r.source_id == ADMIN_SOURCE)
    {
        let failures: Vec<String> = source_runs.iter().filter_map(|r| r.error.clone()).collect();
        return Err(BuildError::NothingBuilt(failures.join("; ")));
    }

    // Cadastre: footprints and parcels of the facilities (a stage of its own).
    let surfaces = cadastre_stage(opts, &commune_specs, &*fetcher, &located, &recon);
    issues.extend(surfaces.issues.iter().cloned());
    source_runs.extend(surfaces.runs.iter().cloned());
    issues.sort_by(|a, b| {
        (&a.source_id, a.code, &a.record_key, &a.locator).cmp(&(
            &b.source_id,
            b.code,
            &b.record_key,
            &b.locator,
        ))
    });

    let mut inventory = Inventory {
        run_id: String::new(),
        started_at,
        finished_at: String::new(),
        fetch_mode: fetcher.describe(),
        specs,
        source_runs,
        records: located,
        recon,
        estimates,
        surfaces,
        issues,
        published_counts,
    };
    inventory.specs.extend(commune_specs.iter().cloned());
    inventory.finished_at = crate::fetch::now_rfc3339();
    inventory.run_id = run_id(&inventory);

    // Store and export into a staging folder, then swap into place keeping the previous
    // build, then record what changed.
    let bar = progress(opts.quiet, 0, "write outputs");
    let staging = opts.out_dir.join(STAGING_DIR);
    let _ = std::fs::remove_dir_all(&staging);
    let staged = (|| -> Result<Vec<PathBuf>, BuildError> {
        let mut files = vec![store::write_inventory(&staging, &inventory)?];
        files.extend(export::write_all(&staging, &inventory)?);
        Ok(files)
    })();
    let staged = match staged {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let mut outputs = swap_in(&opts.out_dir, &staged)?;
    outputs.push(write_changes(&opts.out_dir)?);
    // The inventory is published: its fresh snapshots become the last good ones.
    for (si, fi, sha, count) in good {
        fetcher.mark_good(
            &inventory.specs[si],
            &inventory.specs[si].files[fi],
            &sha,
            count,
        );
    }
    for g in &inventory.surfaces.good {
        fetcher.mark_good(&commune_specs[g.source], &g.file, &g.sha256, g.features);
    }
    // Only a build with every source fresh may be skipped next time: a stale or failed source
    // must be tried again (and reported again) by the next build, and so must a commune whose
    // parcel file was unreadable or stale.
    let all_fresh = inventory
        .source_runs
        .iter()
        .all(|r| r.error.is_none() && r.stale.is_empty())
        && inventory.surfaces.complete();
    match fingerprint {
        Some(fp) if all_fresh => {
            let text = format!("{fp}{}", parcel_lines(&commune_specs, &inventory.surfaces));
            let _ =
                crate::common::write_atomic(&opts.out_dir.join(FINGERPRINT_NAME), text.as_bytes());
        }
        _ => {
            let _ = std::fs::remove_file(opts.out_dir.join(FINGERPRINT_NAME));
        }
    }
    bar.finish_and_clear();
    Ok(BuildReport {
        inventory,
        outputs,
        unchanged: false,
    })
}

/// Files fetched at the same time, at most (files of one host still wait for that host's
/// limits in the HTTP client; this only lets different hosts proceed together).
const FETCH_WORKERS: usize = 4;

/// Fetches every file of every source, `FETCH_WORKERS` at a time; results in catalog order.
fn fetch_all(
    fetcher: &dyn Fetcher,
    specs: &[SourceSpec],
    bar: &ProgressBar,
) -> Vec<Vec<Result<Snapshot, String>>> {
    let fetch = |spec: &SourceSpec| -> Vec<Result<Snapshot, String>> {
        spec.files
            .par_iter()
            .map(|file| {
                bar.set_message(spec.id.clone());
                let result = fetcher.fetch(spec, file).map_err(|e| e.to_string());
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

/// The cadastre stage: the parcel files of the communes that hold a facility, through the
/// build's fetcher, joined to the facilities' outlines and points.
fn cadastre_stage(
    opts: &BuildOptions,
    commune_specs: &[SourceSpec],
    fetcher: &dyn Fetcher,
    located: &[LocatedRecord],
    recon: &Reconciliation,
) -> crate::cadastre::stage::Surfaces {
    let bar = progress(opts.quiet, 0, "cadastre");
    let surfaces = crate::cadastre::stage::run(&crate::cadastre::stage::StageInput::new(
        commune_specs,
        fetcher,
        &recon.facilities,
        located,
        &recon.record_facility,
    ));
    bar.finish_and_clear();
    surfaces
}

/// The fingerprint of a build's inputs, in `<out>/.fingerprint`: the [`fingerprint`] line,
/// then one line per commune of the cadastre stage (see [`parcel_lines`]).
pub const FINGERPRINT_NAME: &str = ".fingerprint";

/// Per commune of the cadastre stage, tab-separated: `parcel <source-id> <insee> <dep> <file>
/// <sha256>` for a parcel file read, `missing <insee> <dep>` for a commune without one. The
/// communes follow from the other inputs, so the same fingerprint asks for the same files;
/// these lines say what was found.
fn parcel_lines(
    commune_specs: &[SourceSpec],
    surfaces: &crate::cadastre::stage::Surfaces,
) -> String {
    let read = surfaces.good.iter().map(|g| {
        format!(
            "\nparcel\t{}\t{}\t{}\t{}\t{}",
            commune_specs[g.source].id, g.insee, g.dep, g.file.name, g.sha256
        )
    });
    let missing = surfaces
        .missing
        .iter()
        .map(|(insee, dep)| format!("\nmissing\t{insee}\t{dep}"));
    read.chain(missing).collect()
}

/// The stored fingerprint says the inputs of this build are those of the last one: the same
/// first line, every parcel file it lists fetched again with the same sha256, and no file
/// for the communes that had none.
fn same_inputs(
    stored: &str,
    fingerprint: &str,
    commune_specs: &[SourceSpec],
    fetcher: &dyn Fetcher,
) -> bool {
    use crate::cadastre::stage::commune_file;
    let mut lines = stored.split('\n');
    if lines.next() != Some(fingerprint) {
        return false;
    }
    lines.all(|line| match line.split('\t').collect::<Vec<_>>()[..] {
        ["parcel", source_id, insee, dep, name, sha256] => commune_specs
            .iter()
            .find(|s| s.id == source_id)
            .and_then(|spec| {
                let file = spec
                    .files
                    .iter()
                    .map(|t| commune_file(t, insee, dep))
                    .find(|f| f.name == name)?;
                fetcher.fetch(spec, &file).ok()
            })
            .is_some_and(|s| s.sha256 == sha256),
        ["missing", insee, dep] => commune_specs.iter().all(|spec| {
            spec.files
                .iter()
                .all(|t| fetcher.fetch(spec, &commune_file(t, insee, dep)).is_err())
        }),
        _ => false,
    })
}

/// sha256 over the tool version, the options that change outputs, every catalog file and
/// every snapshot; None when a fetch failed (such a build must run to fall back).
fn fingerprint(
    opts: &BuildOptions,
    specs: &[SourceSpec],
    fetched: &[Vec<Result<Snapshot, String>>],
) -> Option<String> {
    let mut text = format!(
        "dcinv {}\ngrid {}\nmax_shrink {}\n",
        env!("CARGO_PKG_VERSION"),
        opts.grid,
        opts.max_shrink
    );
    let mut catalog: Vec<PathBuf> = std::fs::read_dir(&opts.catalog_dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    catalog.sort();
    for p in catalog {
        let bytes = std::fs::read(&p).ok()?;
        text.push_str(&format!(
            "{} {}\n",
            p.display(),
            crate::common::sha256_hex(&bytes)
        ));
    }
    for (spec, files) in specs.iter().zip(fetched) {
        for (file, f) in spec.files.iter().zip(files) {
            let snapshot = f.as_ref().ok()?;
            text.push_str(&format!("{}/{} {}\n", spec.id, file.name, snapshot.sha256));
        }
    }
    Some(crate::common::sha256_hex(text.as_bytes()))
}

/// Staging folder inside the output folder (same file system, so renames are atomic).
pub const STAGING_DIR: &str = ".staging";
/// Where the previous build's files are kept.
pub const PREVIOUS_DIR: &str = "previous";
/// Changes since the previous build.
pub const CHANGES_NAME: &str = "changes.json";

/// Takes an exclusive lock on `<out>/.dcinv.lock` for the whole build: a second build on the
/// same folder fails at once instead of interleaving writes. The OS releases it on exit.
fn lock_output(out: &std::path::Path) -> Result<std::fs::File, BuildError> {
    let err = |message: String| BuildError::Output {
        path: out.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let path = out.join(".dcinv.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(err(
            "another dcinv build holds the lock on this output folder".into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(err(format!("{}: {e}", path.display()))),
    }
}

/// Moves the current outputs to `<out>/previous/` and the staged ones into `<out>/`. Each
/// rename is atomic; a reader sees either the old or the new file, never a partial one.
fn swap_in(out: &std::path::Path, staged: &[PathBuf]) -> Result<Vec<PathBuf>, BuildError> {
    let err = |path: &std::path::Path, e: std::io::Error| BuildError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let previous = out.join(PREVIOUS_DIR);
    let current: Vec<PathBuf> = staged
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| out.join(n))
        .chain(std::iter::once(out.join(CHANGES_NAME)))
        .filter(|p| p.exists())
        .collect();
    if !current.is_empty() {
        let _ = std::fs::remove_dir_all(&previous);
        std::fs::create_dir_all(&previous).map_err(|e| err(&previous, e))?;
        for p in &current {
            if let Some(name) = p.file_name() {
                std::fs::rename(p, previous.join(name)).map_err(|e| err(p, e))?;
            }
        }
    }
    let mut outputs = Vec::new();
    for p in staged {
        if let Some(name) = p.file_name() {
            let target = out.join(name);
            std::fs::rename(p, &target).map_err(|e| err(p, e))?;
            outputs.push(target);
        }
    }
    let _ = std::fs::remove_dir_all(out.join(STAGING_DIR));
    Ok(outputs)
}

/// Writes `<out>/changes.json` against `<out>/previous/inventory.gpkg` (everything is
/// "added" on a first build).
fn write_changes(out: &std::path::Path) -> Result<PathBuf, BuildError> {
    let new = out.join(store::GPKG_NAME);
    let old = out.join(PREVIOUS_DIR).join(store::GPKG_NAME);
    let changes = if old.is_file() {
        crate::changes::diff(&old, &new)?
    } else {
        crate::changes::first_build(&new)?
    };
    let path = out.join(CHANGES_NAME);
    let bytes =
        serde_json::to_vec_pretty(&changes).map_err(|e| crate::error::StoreError::Serialise {
            what: CHANGES_NAME.into(),
            message: e.to_string(),
        })?;
    crate::common::write_atomic(&path, &bytes).map_err(|e| BuildError::Output {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(path)
}

/// `; its data issues: code ×n, ...` for the reason a shrunk file was not trusted (a page
/// whose layout changed says so here), or nothing.
fn issue_tally(issues: &[DataIssue]) -> String {
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for i in issues {
        *by_code.entry(i.code).or_default() += 1;
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
                code: issue_codes::DUPLICATE_RECORD,
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

fn admin_index(parts: Vec<AdminPart>, runs: &[SourceRun]) -> Result<AdminIndex, BuildError> {
    if let Some(err) = runs
        .iter()
        .find(|r| r.source_id == ADMIN_SOURCE)
        .and_then(|r| r.error.clone())
    {
        return Err(BuildError::Boundaries(err));
    }
    let mut deps: Vec<AdminPolygon> = Vec::new();
    let mut communes: Vec<AdminPolygon> = Vec::new();
    let mut cog_deps: Vec<CogDepartement> = Vec::new();
    let mut cog_regs: Vec<CogRegion> = Vec::new();
    for p in parts {
        match p {
            AdminPart::Departements(v) => deps.extend(v),
            AdminPart::Communes(v) => communes.extend(v),
            AdminPart::CogDepartements(v) => cog_deps.extend(v),
            AdminPart::CogRegions(v) => cog_regs.extend(v),
        }
    }
    if deps.is_empty() || cog_deps.is_empty() || cog_regs.is_empty() {
        return Err(BuildError::Boundaries(format!(
            "the catalog source `{ADMIN_SOURCE}` must provide département boundaries and the COG département and région tables"
        )));
    }
    Ok(AdminIndex::new(deps, communes, &cog_deps, &cog_regs))
}

/// A deterministic id of the run's inputs: sha256 over the snapshot hashes.
fn run_id(inv: &Inventory) -> String {
    let mut parts: BTreeMap<String, String> = BTreeMap::new();
    for run in &inv.source_runs {
        for f in &run.files {
            parts.insert(
                format!("{}/{}", run.source_id, f.file),
                f.sha256.clone().unwrap_or_default(),
            );
        }
    }
    let text: String = parts.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let stamp = inv.started_at.replace([':', '-'], "");
    format!(
        "{}-{}",
        stamp,
        &crate::common::sha256_hex(text.as_bytes())[..8]
    )
}

fn progress(quiet: bool, len: u64, stage: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = if len > 0 {
        ProgressBar::new(len)
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let template = if len > 0 {
        "{prefix:>14} [{bar:30}] {pos}/{len} {msg}"
    } else {
        "{prefix:>14} {spinner} {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(stage.to_string());
    bar
}
