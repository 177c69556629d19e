//! The build, as a list of stages with typed results: ingest (fetch, parse, accounting) →
//! locate → reconcile → estimate → surfaces (cadastre) → publish (stage, swap, changes,
//! fingerprint). Takes [`BuildOptions`], returns a [`BuildReport`] (what was built, from
//! what, with which data issues). A source that fails is reported and the others go on.
//! `ingest.rs`, `fingerprint.rs` and `publish.rs` hold the stages with more than a call.

mod fingerprint;
mod ingest;
mod publish;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::adapters;
use crate::cadastre::stage::{StageInput, Surfaces};
use crate::catalog::SourceSpec;
use crate::error::BuildError;
use crate::estimate::params::Parameters;
use crate::estimate::{EstimateOptions, Estimates};
use crate::fetch::client::ClientConfig;
use crate::fetch::live::LiveFetcher;
use crate::fetch::snapshot::FetchMode;
use crate::fetch::{Fetcher, MirrorFetcher, MirrorWithUrls};
use crate::geo::locate::{AdminIndex, AdminPolygon, CogDepartement, CogRegion};
use crate::geo::stage::{LocatedRecord, locate_records};
pub use crate::inventory::{BuildReport, Inventory};
use crate::model::{AdminPart, DataIssue, IssueAction, Record, SourceRun};
use crate::parse_cache::ParseCache;
use crate::reconcile::link::LinkParams;
use crate::reconcile::normalize::OperatorRegistry;
use crate::reconcile::overrides::Overrides;
use crate::reconcile::{ReconcileContext, Reconciliation};
use crate::store;
pub use fingerprint::FINGERPRINT_NAME;
use ingest::{Fetched, Ingested};
pub use publish::{CHANGES_NAME, PREVIOUS_DIR, STAGING_DIR};

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

/// What every stage reads: the catalog split into record sources and per-commune layers,
/// the fetcher, and the curated tables (operators, overrides, parameters).
struct Setup {
    specs: Vec<SourceSpec>,
    commune_specs: Vec<SourceSpec>,
    fetcher: Box<dyn Fetcher>,
    registry: OperatorRegistry,
    overrides: Overrides,
    parameters: Parameters,
}

impl Setup {
    fn load(opts: &BuildOptions) -> Result<Setup, BuildError> {
        let specs = adapters::load_catalog(&opts.catalog_dir)?;
        let registry = OperatorRegistry::load(&opts.catalog_dir.join("operators.toml"))?;
        let overrides = Overrides::load(&opts.catalog_dir.join("overrides.toml"))?;
        let parameters = Parameters::load(&opts.catalog_dir.join("parameters.toml"))?;
        let grid_id = format!("grid_intensity_{}", opts.grid);
        if !parameters.by_id.contains_key(&grid_id) {
            return Err(BuildError::Output {
                path: opts.catalog_dir.join("parameters.toml"),
                message: format!("no parameter `{grid_id}` for --grid {}", opts.grid),
            });
        }
        let (fetcher, specs) = fetcher(opts, specs)?;
        // Per-commune parcel sources are fetched by the cadastre stage, after reconciliation.
        let (specs, commune_specs) = crate::cadastre::stage::split_catalog(specs);
        Ok(Setup {
            specs,
            commune_specs,
            fetcher,
            registry,
            overrides,
            parameters,
        })
    }

    fn tiers(&self) -> HashMap<String, u8> {
        self.specs
            .iter()
            .map(|s| (s.id.clone(), s.trust_tier))
            .collect()
    }
}

/// The mirror reader (which drops the live-only sources the mirror lacks) or the live
/// fetcher, and the sources it serves.
fn fetcher(
    opts: &BuildOptions,
    specs: Vec<SourceSpec>,
) -> Result<(Box<dyn Fetcher>, Vec<SourceSpec>), BuildError> {
    if let Some(root) = &opts.mirror
        && opts.source_urls.is_empty()
    {
        let (mirror, specs) = MirrorFetcher::split(root.clone(), specs);
        return Ok((Box::new(mirror), specs));
    }
    // `--source-url` wins over `--mirror` for the source or file it names.
    let (mirror, specs) = match &opts.mirror {
        Some(root) => {
            let named: Vec<String> = opts.source_urls.keys().cloned().collect();
            let (mirror, specs) = MirrorWithUrls::split(root.clone(), specs, &named);
            (Some(mirror), specs)
        }
        None => (None, specs),
    };
    let mut config = ClientConfig::new(&opts.contact);
    config.max_retries = opts.max_retries;
    if let Some(t) = opts.timeout {
        config.connect_timeout = t;
        config.read_timeout = t;
    }
    if let Some(cap) = opts.max_decompressed_bytes {
        config.max_decompressed_bytes = cap;
    }
    let live = LiveFetcher::with_config(
        opts.cache_dir.clone(),
        opts.mode,
        config,
        opts.source_urls.clone(),
        &specs,
    )
    .map_err(|e| BuildError::NothingBuilt(e.to_string()))?;
    match mirror {
        Some(mirror) => Ok((Box::new(MirrorWithUrls::new(mirror, live)), specs)),
        None => Ok((Box::new(live), specs)),
    }
}

/// The build: ingest (fetch, parse, accounting) → locate → reconcile → estimate → surfaces
/// → publish. A build whose inputs are those of the last build of the output folder stops
/// after fetching and keeps the outputs.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started_at = crate::fetch::now_rfc3339();
    let _lock = publish::lock_output(&opts.out_dir)?;
    let setup = Setup::load(opts)?;
    let fetched = fetch(opts, &setup);
    let fingerprint = fingerprint::of_inputs(opts, &setup.specs, &fetched);
    let fetcher = &*setup.fetcher;
    if fingerprint::unchanged(opts, fingerprint.as_deref(), &setup.commune_specs, fetcher) {
        return Ok(BuildReport {
            inventory: unchanged_inventory(started_at, fetcher.describe(), setup.specs, &fetched),
            outputs: Vec::new(),
            unchanged: true,
        });
    }
    let ingested = ingest(opts, &setup, &fetched);
    let mut issues = ingested.issues;
    let located = locate(opts, ingested.admin, &ingested.runs, ingested.records)?;
    issues.extend(located.issues);
    // Scoped facts (campus, regional total, typical building, past state) are not sites.
    let (mut records, mut held_facts, fact_issues) = crate::facts::hold_out(
        located.records,
        &crate::facts::fact_sources(&setup.specs),
        &setup.registry,
    );
    issues.extend(fact_issues);
    let mut recon = reconcile(opts, &setup, &records);
    // Imprecise records that describe a campus without placing themselves in one building.
    crate::facts::hold_unplaced(&mut records, &mut recon, &mut held_facts, &setup.registry);
    let facts = crate::facts::attach(held_facts, &mut records, &mut recon);
    let estimates = estimate(opts, &setup, &records, &facts, &mut recon);
    let mut source_runs = account(ingested.runs, &records, &issues)?;
    let surfaces = surfaces(opts, &setup, &records, &recon);
    issues.extend(surfaces.issues.iter().cloned());
    source_runs.extend(surfaces.runs.iter().cloned());
    sort_issues(&mut issues);
    let mut inventory = Inventory {
        run_id: String::new(),
        started_at,
        finished_at: String::new(),
        fetch_mode: fetcher.describe(),
        specs: setup.specs,
        source_runs,
        records,
        recon,
        estimates,
        surfaces,
        issues,
        published_counts: ingested.published_counts,
    };
    inventory.specs.extend(setup.commune_specs.iter().cloned());
    inventory.finished_at = crate::fetch::now_rfc3339();
    inventory.run_id = run_id(&inventory);
    let bar = progress(opts.quiet, 0, "write outputs");
    let outputs = publish::publish(
        &opts.out_dir,
        &inventory,
        &publish::Publish {
            fetcher,
            commune_specs: &setup.commune_specs,
            fingerprint,
            good: &ingested.good,
            outlines: &located.outlines,
            parameters: &setup.parameters,
        },
    )?;
    bar.finish_and_clear();
    Ok(BuildReport {
        inventory,
        outputs,
        unchanged: false,
    })
}

/// Fetch every file of every record source (a failure is remembered, not fatal yet).
fn fetch(opts: &BuildOptions, setup: &Setup) -> Fetched {
    let total: usize = setup.specs.iter().map(|s| s.files.len()).sum();
    let bar = progress(opts.quiet, total as u64, "fetch");
    let fetched = ingest::fetch_all(&*setup.fetcher, &setup.specs, &bar);
    bar.finish_and_clear();
    fetched
}

/// Parse, source by source (see [`ingest::ingest`]).
fn ingest(opts: &BuildOptions, setup: &Setup, fetched: &Fetched) -> Ingested {
    let total: usize = setup.specs.iter().map(|s| s.files.len()).sum();
    let bar = progress(opts.quiet, total as u64, "parse");
    let cache = ParseCache::new(&opts.cache_dir);
    let cx = ingest::IngestContext {
        fetcher: &*setup.fetcher,
        cache: &cache,
        max_shrink: opts.max_shrink,
    };
    let ingested = ingest::ingest(&cx, &setup.specs, fetched, &bar);
    bar.finish_and_clear();
    ingested
}

/// The records placed in communes, départements and régions, sorted by record key.
struct Located {
    records: Vec<LocatedRecord>,
    issues: Vec<DataIssue>,
    /// Département and région outlines for the report (GeoJSON, simplified).
    outlines: serde_json::Value,
}

/// Locate: the boundaries of the admin source index the records.
fn locate(
    opts: &BuildOptions,
    admin: Vec<AdminPart>,
    runs: &[SourceRun],
    records: Vec<Record>,
) -> Result<Located, BuildError> {
    let index = admin_index(admin, runs)?;
    let bar = progress(opts.quiet, 0, "locate");
    let (mut located, issues) = locate_records(&index, records);
    bar.finish_and_clear();
    located.sort_by(|a, b| a.record.record_key.cmp(&b.record.record_key));
    let tolerance = crate::export::report::OUTLINE_TOLERANCE_DEG;
    Ok(Located {
        records: located,
        issues,
        outlines: crate::export::report::outlines(&index, tolerance),
    })
}

/// Reconcile, keeping the ids of the previous build in this output folder.
fn reconcile(opts: &BuildOptions, setup: &Setup, records: &[LocatedRecord]) -> Reconciliation {
    let bar = progress(opts.quiet, 0, "reconcile");
    let previous = crate::reconcile::explain::read_links(&opts.out_dir.join(store::GPKG_NAME))
        .unwrap_or_default();
    let id_ranks = setup
        .specs
        .iter()
        .map(|s| (s.id.clone(), s.id_rank.unwrap_or(100)))
        .collect();
    let recon = crate::reconcile::reconcile(
        records,
        &ReconcileContext {
            registry: &setup.registry,
            overrides: &setup.overrides,
            tiers: &setup.tiers(),
            id_ranks: &id_ranks,
            previous: &previous,
            params: LinkParams::default(),
        },
    );
    bar.finish_and_clear();
    recon
}

/// Estimate every facility; each facility takes its estimated typology.
fn estimate(
    opts: &BuildOptions,
    setup: &Setup,
    records: &[LocatedRecord],
    facts: &crate::facts::Attachments,
    recon: &mut Reconciliation,
) -> Estimates {
    let bar = progress(opts.quiet, 0, "estimate");
    let estimates = crate::estimate::estimate(
        records,
        &recon.record_facility,
        &recon.facilities,
        facts,
        &setup.tiers(),
        &setup.parameters,
        &EstimateOptions {
            grid: opts.grid.clone(),
            checks: true,
            ..Default::default()
        },
    );
    let by_id: HashMap<&str, &str> = estimates
        .facilities
        .iter()
        .map(|e| (e.facility_id.as_str(), e.typology.typology))
        .collect();
    for f in &mut recon.facilities {
        if let Some(t) = by_id.get(f.facility_id.as_str()) {
            f.typology = t.to_string();
        }
    }
    bar.finish_and_clear();
    estimates
}

/// Per source: records kept and dropped. Fails when no facility source built.
fn account(
    mut runs: Vec<SourceRun>,
    records: &[LocatedRecord],
    issues: &[DataIssue],
) -> Result<Vec<SourceRun>, BuildError> {
    for run in &mut runs {
        run.records_kept = records
            .iter()
            .filter(|r| r.record.source_id == run.source_id)
            .count();
        run.records_dropped = issues
            .iter()
            .filter(|i| i.source_id == run.source_id && i.action == IssueAction::Dropped)
            .count();
    }
    if runs
        .iter()
        .all(|r| r.error.is_some() || r.source_id.starts_with("admin-"))
    {
        let failures: Vec<String> = runs
            .iter()
            .filter_map(|r| r.error.as_ref().map(ToString::to_string))
            .collect();
        return Err(BuildError::NothingBuilt(failures.join("; ")));
    }
    Ok(runs)
}

/// The cadastre stage: the parcel files of the communes that hold a facility, through the
/// build's fetcher, joined to the facilities' outlines and points.
fn surfaces(
    opts: &BuildOptions,
    setup: &Setup,
    records: &[LocatedRecord],
    recon: &Reconciliation,
) -> Surfaces {
    let bar = progress(opts.quiet, 0, "cadastre");
    let surfaces = crate::cadastre::stage::run(&StageInput::new(
        &setup.commune_specs,
        &*setup.fetcher,
        &recon.facilities,
        records,
        &recon.record_facility,
    ));
    bar.finish_and_clear();
    surfaces
}

/// Data issues in a stable order: source, code, record, place in the file.
fn sort_issues(issues: &mut [DataIssue]) {
    issues.sort_by(|a, b| {
        (&a.source_id, a.code, &a.record_key, &a.locator).cmp(&(
            &b.source_id,
            b.code,
            &b.record_key,
            &b.locator,
        ))
    });
}

/// The report of a build that found nothing changed: only the fetched snapshots.
fn unchanged_inventory(
    started_at: String,
    fetch_mode: String,
    specs: Vec<SourceSpec>,
    fetched: &Fetched,
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

fn admin_index(parts: Vec<AdminPart>, runs: &[SourceRun]) -> Result<AdminIndex, BuildError> {
    if let Some(err) = runs
        .iter()
        .find(|r| r.source_id == ADMIN_SOURCE)
        .and_then(|r| r.error.as_ref())
    {
        return Err(BuildError::Boundaries(err.to_string()));
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
