//! The `osm-extract` command. In: a `.osm.pbf` path, `--tag KEY[=VALUE]` expressions (OR-ed)
//! and an output path. Out: a GeoJSON FeatureCollection of the matching nodes (points), closed
//! ways and multipolygon relations (polygons), written atomically (temporary file + rename),
//! and a summary — counts, issues per code and the time of each step — printed to a log
//! (stderr in the command). The arguments are parsed by the binary (`src/cli.rs`, clap):
//! `dcinv osm-extract <file.osm.pbf> --tag KEY[=VALUE] [--tag ...] --out <file.geojson>`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::filter::TagFilters;
use super::geojson::write_geojson;
use super::pbf::{PbfOptions, PbfStats, extract_pbf};
use super::{OsmError, OsmGeometry, count_issues};

/// The arguments of `osm-extract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractArgs {
    pub input: PathBuf,
    /// `KEY` or `KEY=VALUE`, OR-ed.
    pub tags: Vec<String>,
    pub out: PathBuf,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// What `run_extract` did.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSummary {
    pub points: usize,
    pub areas: usize,
    /// Issues per code.
    pub issues: Vec<(&'static str, usize)>,
    pub stats: PbfStats,
    pub time_write: Duration,
    pub time_total: Duration,
}

/// Runs the command: read, filter, write, summarise to `log`.
pub fn run_extract(args: &ExtractArgs, log: &mut dyn Write) -> Result<ExtractSummary, OsmError> {
    let start = Instant::now();
    let filters = TagFilters::parse(&args.tags)?;
    let options = PbfOptions {
        hint: Some(filters.block_hint()),
        threads: args.threads,
    };
    let output = extract_pbf(&args.input, &|tags| filters.matches(tags), &options)?;
    let t_write = Instant::now();
    write_atomically(&args.out, |w| write_geojson(&output.features, w))?;
    let time_write = t_write.elapsed();
    let points = output
        .features
        .iter()
        .filter(|f| matches!(f.geometry, OsmGeometry::Point { .. }))
        .count();
    let summary = ExtractSummary {
        points,
        areas: output.features.len() - points,
        issues: count_issues(&output.issues),
        stats: output.stats,
        time_write,
        time_total: start.elapsed(),
    };
    // The log is informative: a failing stderr must not fail the extraction.
    let _ = print_summary(args, &summary, log);
    Ok(summary)
}

fn print_summary(
    args: &ExtractArgs,
    s: &ExtractSummary,
    log: &mut dyn Write,
) -> std::io::Result<()> {
    let st = &s.stats;
    let secs = |d: Duration| d.as_secs_f64();
    let filters: Vec<&str> = args.tags.iter().map(String::as_str).collect();
    writeln!(
        log,
        "osm-extract: {} [{}]",
        args.input.display(),
        filters.join(" OR ")
    )?;
    writeln!(
        log,
        "  blocks: {} ({:.1} MB), {} decoded, {} skipped by the tag hint; sorted index: {}",
        st.blocks,
        st.bytes as f64 / 1e6,
        st.blocks_decoded,
        st.blocks_skipped,
        if st.sorted { "yes" } else { "no" }
    )?;
    writeln!(
        log,
        "  matched: {} nodes, {} ways ({} open or area=no), {} relations ({} not multipolygon)",
        st.nodes_matched,
        st.ways_matched,
        st.ways_not_area,
        st.relations_matched,
        st.relations_not_area
    )?;
    writeln!(
        log,
        "  lookups: {}/{} member ways, {}/{} nodes, {} blocks re-read",
        st.member_ways_found,
        st.member_ways_needed,
        st.nodes_found,
        st.nodes_needed,
        st.lookup_blocks
    )?;
    writeln!(
        log,
        "  written: {} features ({} points, {} areas) to {}",
        s.points + s.areas,
        s.points,
        s.areas,
        args.out.display()
    )?;
    if s.issues.is_empty() {
        writeln!(log, "  issues: none")?;
    } else {
        let list: Vec<String> = s.issues.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(log, "  issues: {}", list.join(", "))?;
    }
    writeln!(
        log,
        "  time: scan {:.3} s, member ways {:.3} s, nodes {:.3} s, assemble {:.3} s, write {:.3} s, total {:.3} s",
        secs(st.time_scan),
        secs(st.time_ways),
        secs(st.time_nodes),
        secs(st.time_assemble),
        secs(s.time_write),
        secs(s.time_total)
    )
}

/// Writes `path` atomically ([`crate::common::write_atomic_with`]), the error naming it.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), OsmError> {
    crate::common::write_atomic_with(path, write).map_err(|source| OsmError::Write {
        path: path.to_path_buf(),
        source,
    })
}
