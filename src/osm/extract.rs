//! The `osm-extract` command. In: a `.osm.pbf` path, `--tag KEY[=VALUE]` expressions (OR-ed)
//! and an output path. Out: a GeoJSON FeatureCollection of the matching nodes (points), closed
//! ways and multipolygon relations (polygons), written atomically (temporary file + rename),
//! and a summary — counts, issues per code and the time of each step — printed to a log
//! (stderr in the command).
//!
//! Usage: `osm-extract <file.osm.pbf> --tag KEY[=VALUE] [--tag ...] --out <file.geojson>`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::filter::TagFilters;
use super::geojson::write_geojson;
use super::pbf::{PbfOptions, PbfStats, extract_pbf};
use super::{OsmError, OsmGeometry, count_issues};

/// The command line usage, for `--help` and argument errors.
pub const USAGE: &str = "usage: osm-extract <file.osm.pbf> --tag KEY[=VALUE] [--tag KEY[=VALUE] ...] --out <file.geojson>";

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

impl ExtractArgs {
    /// Parses the arguments after the program name. `Ok(None)` for `--help`.
    pub fn parse<I, S>(args: I) -> Result<Option<ExtractArgs>, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut input = None;
        let mut tags = Vec::new();
        let mut out = None;
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{what} needs a value\n{USAGE}"))
            };
            match name.as_str() {
                "-h" | "--help" => return Ok(None),
                "--tag" | "-t" => tags.push(value("--tag")?),
                "--out" | "-o" => out = Some(PathBuf::from(value("--out")?)),
                s if s.starts_with('-') && s.len() > 1 => {
                    return Err(format!("unknown option {s}\n{USAGE}"));
                }
                _ if input.is_none() => input = Some(PathBuf::from(arg)),
                _ => return Err(format!("unexpected argument {arg}\n{USAGE}")),
            }
        }
        let input = input.ok_or_else(|| format!("missing the input .osm.pbf file\n{USAGE}"))?;
        let out = out.ok_or_else(|| format!("missing --out <file.geojson>\n{USAGE}"))?;
        if tags.is_empty() {
            return Err(format!("give at least one --tag KEY[=VALUE]\n{USAGE}"));
        }
        Ok(Some(ExtractArgs {
            input,
            tags,
            out,
            threads: 0,
        }))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_command_line() {
        let a = ExtractArgs::parse([
            "in.osm.pbf",
            "--tag",
            "building",
            "--tag=telecom=data_center",
            "--out",
            "o.geojson",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(a.input, PathBuf::from("in.osm.pbf"));
        assert_eq!(a.tags, vec!["building", "telecom=data_center"]);
        assert_eq!(a.out, PathBuf::from("o.geojson"));
        assert_eq!(ExtractArgs::parse(["--help"]).unwrap(), None);
        assert!(ExtractArgs::parse(["in.pbf", "--out", "o"]).is_err());
        assert!(ExtractArgs::parse(["in.pbf", "--tag", "x"]).is_err());
        assert!(ExtractArgs::parse(["--tag", "x", "--out", "o"]).is_err());
        assert!(ExtractArgs::parse(["in", "--bogus", "--tag", "x", "--out", "o"]).is_err());
        assert!(ExtractArgs::parse(["in", "--tag"]).is_err());
    }
}
