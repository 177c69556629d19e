//! Command line: every subcommand's arguments (clap) in, exit code out; one function per
//! subcommand, the work done by the library (`dcinv::pipeline`, `dcinv::adapters`, ...).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use dcinv::catalog::SourceKind;
use dcinv::fetch::snapshot::FetchMode;
use dcinv::reconcile::{batch, eval, explain};
use dcinv::{adapters, pipeline, summary};

#[derive(Parser)]
#[command(
    name = "dcinv",
    version,
    about = "Builds the reference inventory of data centres in France from public data"
)]
struct Cli {
    /// Folder of source TOML files.
    #[arg(long, global = true, default_value = "sources")]
    catalog: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch every source, build the inventory and write the GeoPackage, GeoJSON and stats.
    Build(BuildArgs),
    /// Extract OSM elements matching tag filters from a .osm.pbf to GeoJSON (polygons for
    /// closed ways and multipolygons, points for nodes).
    OsmExtract(OsmExtractArgs),
    /// For every point of a GeoJSON file, the Etalab cadastral parcel that contains it
    /// (id and contenance, empty when none), in input order.
    JoinParcels(JoinParcelsArgs),
    /// Snapshot cache maintenance.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// List the sources of the catalog with their adapter, licence and files.
    Sources,
    /// Explain a facility of a built inventory: members, pair scores, rules, field choices.
    /// With two record keys: why they are (not) in one facility (score parts, the rule that
    /// refused the merge, contradicting pairs).
    Explain {
        facility_id: String,
        /// A second record key: explain why it and the first are not merged.
        other_record: Option<String>,
        /// The inventory to read.
        #[arg(long, default_value = "output/inventory.gpkg")]
        inventory: PathBuf,
    },
    /// Pairwise precision, recall and F1 of a build's links against labels
    /// (CSV with columns cluster_id, record_key).
    EvalLinks {
        labels: PathBuf,
        #[arg(long, default_value = "output/inventory.gpkg")]
        inventory: PathBuf,
    },
    /// Project installed IT capacity and energy by year and région from the facilities'
    /// status (writes trajectory.csv and trajectory.json).
    Trajectory(TrajectoryArgs),
    /// Facilities added, removed, moved (> 100 m) and changed between two inventories.
    Diff { old: PathBuf, new: PathBuf },
    /// Link a flat CSV of records (record_key, source, lon, lat, precision, name, operator,
    /// codes, osm_id, peeringdb_id, address, commune) with the build's matcher; writes
    /// record_key,cluster_id.
    LinkCsv {
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct BuildArgs {
    /// Read each source from <MIRROR>/<source-id>/ with no network.
    #[arg(long)]
    mirror: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "output")]
    out: PathBuf,
    /// Snapshot cache for downloads (default: <OUT>/cache).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// No progress bars and no summary (errors are still printed).
    #[arg(long, short)]
    quiet: bool,
    /// Grid mix for operational CO2e: fr, eu, de, ie, gb, it, se, us
    /// (`grid_intensity_<x>` in sources/parameters.toml).
    #[arg(long, default_value = "fr")]
    grid: String,
    /// Download every file again, ignoring the stored validators.
    #[arg(long)]
    refresh: bool,
    /// Never touch the network: build from the snapshot cache.
    #[arg(long)]
    offline: bool,
    /// Contact named in the User-Agent (default: $DCINV_CONTACT, else the project URL).
    #[arg(long)]
    contact: Option<String>,
    /// Replace a source's URL for this run: <source-id>=<url> or <source-id>/<file>=<url>.
    #[arg(long, value_name = "ID=URL")]
    source_url: Vec<String>,
    /// A source whose entry count falls by more than this share against its last good
    /// snapshot is suspicious: its last good snapshot is used and it is marked stale.
    #[arg(long, default_value_t = 0.3)]
    max_shrink: f64,
    /// Rebuild even when no input changed since the last build of the output folder.
    #[arg(long)]
    force: bool,
    /// Retries of a transient HTTP failure (exponential backoff with jitter;
    /// Retry-After honoured).
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// Connect and read timeout of each HTTP request, seconds (default 20 s to connect,
    /// 90 s for the response and each read of its body).
    #[arg(long, value_name = "SECS")]
    timeout_secs: Option<u64>,
    /// Cap on a download once decompressed, MiB (default 4096); a larger body (a
    /// decompression bomb) fails the file.
    #[arg(long, value_name = "MIB")]
    max_decompressed_mb: Option<u64>,
    /// Also write the run's outcome as JSON to this file (exit code and its meaning,
    /// sources fresh / stale / failed, counts, changes), for schedulers and alerting.
    #[arg(long, value_name = "FILE")]
    json_summary: Option<PathBuf>,
}

#[derive(Args)]
struct OsmExtractArgs {
    input: PathBuf,
    /// KEY or KEY=VALUE (repeatable, OR-ed).
    #[arg(long = "tag", required = true)]
    tags: Vec<String>,
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

impl From<OsmExtractArgs> for dcinv::osm::extract::ExtractArgs {
    fn from(a: OsmExtractArgs) -> Self {
        dcinv::osm::extract::ExtractArgs {
            input: a.input,
            tags: a.tags,
            out: a.out,
            threads: a.threads,
        }
    }
}

#[derive(Args)]
struct JoinParcelsArgs {
    #[arg(long)]
    parcels: PathBuf,
    #[arg(long)]
    points: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Cap on the decompressed size of a gzipped parcel file, bytes.
    #[arg(long)]
    max_decompressed_bytes: Option<u64>,
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Args)]
struct TrajectoryArgs {
    #[arg(long, default_value_t = 2025)]
    from: i32,
    #[arg(long, default_value_t = 2035)]
    to: i32,
    #[arg(long, default_value = "output/inventory.gpkg")]
    inventory: PathBuf,
    /// Folder for trajectory.csv / trajectory.json.
    #[arg(long, default_value = "output")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum CacheCommand {
    /// Keep the N most recent snapshots per file (and every last good one); remove the rest.
    Gc {
        #[arg(long, default_value_t = 3)]
        keep: usize,
        #[arg(long, default_value = "output/cache")]
        cache: PathBuf,
    },
}

pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let catalog = cli.catalog;
    match cli.command {
        Command::Build(args) => build(catalog, args),
        Command::Sources => sources(&catalog),
        Command::Explain {
            facility_id,
            other_record: Some(other),
            inventory,
        } => match explain::why_not(&inventory, &facility_id, &other)? {
            Some(text) => {
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                eprintln!(
                    "dcinv: record {facility_id} or {other} not in {}",
                    inventory.display()
                );
                Ok(ExitCode::from(2))
            }
        },
        Command::Explain {
            facility_id,
            other_record: None,
            inventory,
        } => explain_facility(&facility_id, &inventory),
        Command::EvalLinks { labels, inventory } => {
            let links = explain::read_members(&inventory)?;
            let labels = eval::read_labels(&labels)?;
            println!("{}", eval::evaluate(&labels, &links));
            Ok(ExitCode::SUCCESS)
        }
        Command::Trajectory(args) => trajectory(&catalog, args),
        Command::Diff { old, new } => {
            let changes = dcinv::changes::diff(&old, &new)?;
            println!("{}", serde_json::to_string_pretty(&changes)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::LinkCsv { input, out } => link_csv(&input, &out),
        Command::OsmExtract(args) => {
            dcinv::osm::extract::run_extract(&args.into(), &mut std::io::stderr())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::JoinParcels(args) => join_parcels(args),
        Command::Cache {
            command: CacheCommand::Gc { keep, cache },
        } => cache_gc(keep, &cache),
    }
}

/// `dcinv sources`: the catalog's sources and the registry's adapters.
fn sources(catalog: &Path) -> anyhow::Result<ExitCode> {
    let specs = adapters::load_catalog(catalog)
        .with_context(|| format!("loading the catalog {}", catalog.display()))?;
    println!(
        "{:<22} {:<18} {:>4}  {:<28} files",
        "source", "adapter", "tier", "licence"
    );
    for s in &specs {
        let files: Vec<String> = s
            .files
            .iter()
            .map(|f| {
                let how = match (&f.url, f.overpass.is_some(), f.paging, f.incremental) {
                    (None, ..) => " (mirror only)".to_string(),
                    (Some(_), true, ..) => " (Overpass POST)".to_string(),
                    (Some(_), _, Some(p), _) => format!(" ({p:?} pages)").to_lowercase(),
                    (Some(_), _, _, Some(_)) => " (incremental, since)".to_string(),
                    _ if s.mirror_optional => " (live only)".to_string(),
                    _ => String::new(),
                };
                format!("{}{how}", f.name)
            })
            .collect();
        println!(
            "{:<22} {:<18} {:>4}  {:<28} {}",
            s.id,
            match s.kind {
                SourceKind::Records => s.adapter.as_str(),
                SourceKind::CommuneParcels => "(commune parcels)",
            },
            s.trust_tier,
            s.licence,
            files.join(", ")
        );
    }
    println!("\nadapters:");
    for name in adapters::names() {
        if let Some(a) = adapters::find(name) {
            println!("  {:<18} {}", name, a.summary);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dcinv explain <facility-id>`.
fn explain_facility(facility_id: &str, inventory: &Path) -> anyhow::Result<ExitCode> {
    match explain::explain(inventory, facility_id)? {
        Some(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "dcinv: no facility {facility_id} in {}",
                inventory.display()
            );
            Ok(ExitCode::from(2))
        }
    }
}

/// `dcinv trajectory`: writes trajectory.csv / trajectory.json and prints the national rows.
fn trajectory(catalog: &Path, args: TrajectoryArgs) -> anyhow::Result<ExitCode> {
    let TrajectoryArgs {
        from,
        to,
        inventory,
        out,
    } = args;
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let params = dcinv::estimate::params::Parameters::load(&catalog.join("parameters.toml"))?;
    let inputs = dcinv::estimate::trajectory::read_inputs(&inventory)?;
    let rows = dcinv::estimate::trajectory::project(&inputs, &params, from, to);
    std::fs::create_dir_all(&out)?;
    let csv = dcinv::export::stats::to_csv(&rows, "trajectory.csv")?;
    dcinv::common::write_atomic(&out.join("trajectory.csv"), &csv)?;
    let json = serde_json::to_vec_pretty(&serde_json::json!({
        "from": from,
        "to": to,
        "inventory": inventory.display().to_string(),
        "method": "see src/estimate/trajectory.rs: operating facilities from the base year; projects enter after their delivery delay with their build probability; load ramps by typology",
        "parameters": params.used(),
        "rows": rows,
    }))?;
    dcinv::common::write_atomic(&out.join("trajectory.json"), &json)?;
    println!(
        "{:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "year", "it_mw_low", "it_mw", "it_mw_high", "gwh_low", "gwh", "gwh_high"
    );
    for r in rows
        .iter()
        .filter(|r| r.region_code == dcinv::estimate::trajectory::NATIONAL_CODE)
    {
        println!(
            "{:>6} {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>12.1}",
            r.year,
            r.it_mw_low,
            r.it_mw_central,
            r.it_mw_high,
            r.energy_gwh_low,
            r.energy_gwh_central,
            r.energy_gwh_high
        );
    }
    println!(
        "wrote {} and {}",
        out.join("trajectory.csv").display(),
        out.join("trajectory.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `dcinv link-csv`.
fn link_csv(input: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let s = batch::link_csv(input, out)?;
    eprintln!(
        "linked {} records: {} candidate pairs, {} clusters; read {:.2}s block {:.2}s score {:.2}s cluster {:.2}s write {:.2}s",
        s.records,
        s.candidate_pairs,
        s.clusters,
        s.read_s,
        s.block_s,
        s.score_s,
        s.cluster_s,
        s.write_s
    );
    Ok(ExitCode::SUCCESS)
}

/// `dcinv build`: options from the arguments, the build, the summary and the exit code
/// (0 every source fresh, 1 a source failed or is stale).
fn build(catalog: PathBuf, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let quiet = args.quiet;
    let json_summary = args.json_summary.clone();
    let opts = build_options(catalog, args)?;
    let report = match pipeline::build(&opts) {
        Ok(report) => report,
        Err(e) => {
            if let Some(path) = &json_summary {
                write_json_summary(path, &dcinv::export::run_summary::of_error(&e.to_string()))?;
            }
            return Err(anyhow::Error::new(e).context("build failed"));
        }
    };
    if let Some(path) = &json_summary {
        let changes = std::fs::read(opts.out_dir.join(pipeline::CHANGES_NAME))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let doc = dcinv::export::run_summary::of_report(&report, changes.as_ref());
        write_json_summary(path, &doc)?;
    }
    if !quiet {
        print!("{}", summary::render(&report));
    }
    let failed = report.failed_sources();
    for (id, message) in &failed {
        eprintln!("dcinv: source {id} failed: {message}");
    }
    for (id, why) in report.stale_sources() {
        eprintln!("dcinv: source {id} is stale: {why}");
    }
    Ok(if failed.is_empty() && report.stale_sources().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn build_options(catalog: PathBuf, a: BuildArgs) -> anyhow::Result<pipeline::BuildOptions> {
    anyhow::ensure!(
        !(a.refresh && a.offline),
        "--refresh and --offline exclude each other"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.max_shrink),
        "--max-shrink must be between 0 and 1"
    );
    let mut source_urls = std::collections::HashMap::new();
    for s in a.source_url {
        let (id, url) = s
            .split_once('=')
            .with_context(|| format!("--source-url `{s}` is not <source-id>=<url>"))?;
        source_urls.insert(id.to_string(), url.to_string());
    }
    Ok(pipeline::BuildOptions {
        grid: a.grid,
        catalog_dir: catalog,
        cache_dir: a.cache.unwrap_or_else(|| a.out.join("cache")),
        mirror: a.mirror,
        out_dir: a.out,
        quiet: a.quiet,
        mode: if a.offline {
            FetchMode::Offline
        } else if a.refresh {
            FetchMode::Refresh
        } else {
            FetchMode::Normal
        },
        contact: a
            .contact
            .or_else(|| std::env::var("DCINV_CONTACT").ok())
            .unwrap_or_else(|| pipeline::DEFAULT_CONTACT.into()),
        source_urls,
        max_shrink: a.max_shrink,
        force: a.force,
        max_retries: a.retries,
        timeout: a.timeout_secs.map(std::time::Duration::from_secs),
        max_decompressed_bytes: a.max_decompressed_mb.map(|m| m * 1024 * 1024),
    })
}

/// `dcinv join-parcels`: the parcel of every point, as CSV; the summary on stderr.
fn join_parcels(a: JoinParcelsArgs) -> anyhow::Result<ExitCode> {
    let mut options = dcinv::cadastre::JoinOptions::default();
    if let Some(n) = a.max_decompressed_bytes {
        options.read.max_decompressed_bytes = n;
    }
    options.read.threads = a.threads;
    let stats = dcinv::cadastre::join_parcels(&a.parcels, &a.points, &a.out, &options)?;
    let _ = dcinv::cadastre::write_summary(&mut std::io::stderr(), &stats);
    Ok(ExitCode::SUCCESS)
}

/// `dcinv cache gc`: old snapshots and their parse-cache entries removed.
fn cache_gc(keep: usize, cache: &Path) -> anyhow::Result<ExitCode> {
    let fetcher = dcinv::fetch::live::LiveFetcher::new(
        cache.to_path_buf(),
        FetchMode::Offline,
        pipeline::DEFAULT_CONTACT,
        Default::default(),
        &[],
        0,
    )?;
    let (removed, bytes) = fetcher.gc(keep)?;
    // Parse-cache entries of snapshots that are gone go with them.
    let parsed = dcinv::parse_cache::ParseCache::new(cache)
        .retain(|source, sha| cache.join(source).join(sha).is_file());
    println!("removed {removed} snapshots ({bytes} bytes) and {parsed} parse-cache entries");
    Ok(ExitCode::SUCCESS)
}

/// Writes the `--json-summary` document atomically.
fn write_json_summary(path: &std::path::Path, doc: &serde_json::Value) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(doc)?;
    bytes.push(b'\n');
    dcinv::common::write_atomic(path, &bytes)
        .with_context(|| format!("writing the JSON summary {}", path.display()))
}
