//! `dcinv link-csv`: record linkage over a flat CSV of records (the benchmark format, also
//! handy to link any list of sites): reads `record_key, source, lon, lat, precision, name,
//! operator, codes, osm_id, peeringdb_id, address, commune` (extra columns ignored), runs the
//! same matcher as the build (blocking, scoring, constrained clustering, orphan attachment)
//! and writes `record_key, cluster_id` in input order.

use std::collections::HashMap;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;

use super::blocking;
use super::link::{self, LinkParams, LinkRecord};
use super::normalize::{code_key, name_words, operator_key};
use crate::error::ParseError;
use crate::model::PointPrecision;

/// Timings (seconds) and sizes of one run.
#[derive(Debug, Clone)]
pub struct BatchStats {
    pub records: usize,
    pub candidate_pairs: usize,
    pub clusters: usize,
    pub read_s: f64,
    pub block_s: f64,
    pub score_s: f64,
    pub cluster_s: f64,
    pub write_s: f64,
}

fn precision(s: &str) -> PointPrecision {
    match s {
        "building" => PointPrecision::Building,
        "address" => PointPrecision::Address,
        "approximate" => PointPrecision::Approximate,
        "commune" => PointPrecision::Commune,
        _ => PointPrecision::None,
    }
}

/// Reads the records CSV.
pub fn read_records(path: &Path) -> Result<Vec<LinkRecord>, ParseError> {
    let file = path.display().to_string();
    let err = |e: csv::Error| ParseError::Csv {
        file: file.clone(),
        message: e.to_string(),
    };
    let mut reader = csv::Reader::from_path(path).map_err(err)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(err)?
        .iter()
        .map(str::to_string)
        .collect();
    let wanted = [
        "record_key",
        "source",
        "lon",
        "lat",
        "precision",
        "name",
        "operator",
        "codes",
        "osm_id",
        "peeringdb_id",
        "address",
        "commune",
    ];
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !header.iter().any(|h| h == *w))
        .map(|w| (*w).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ParseError::Header {
            file,
            missing,
            header,
        });
    }
    let col: HashMap<&str, usize> = wanted
        .iter()
        .map(|w| (*w, header.iter().position(|h| h == w).unwrap_or(0)))
        .collect();
    let mut sources: HashMap<String, u16> = HashMap::new();
    let mut out = Vec::new();
    // Rows are read in chunks and normalised in parallel, in input order.
    let mut chunk: Vec<(u16, csv::StringRecord)> = Vec::with_capacity(CHUNK_ROWS);
    let mut row = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut row).map_err(err)?;
        if more {
            let source_name = row.get(col["source"]).unwrap_or("").trim();
            let n = sources.len() as u16;
            let source = match sources.get(source_name) {
                Some(&s) => s,
                None => *sources.entry(source_name.to_string()).or_insert(n),
            };
            chunk.push((source, row.clone()));
        }
        if chunk.len() == CHUNK_ROWS || (!more && !chunk.is_empty()) {
            out.par_extend(
                chunk
                    .par_iter()
                    .map(|(source, row)| link_record(&col, *source, row)),
            );
            chunk.clear();
        }
        if !more {
            break;
        }
    }
    Ok(out)
}

/// Rows normalised together (bounds the memory of raw rows held at once).
const CHUNK_ROWS: usize = 65_536;

/// One CSV row → the matcher's view of it (names, operators and codes normalised).
fn link_record(col: &HashMap<&str, usize>, source: u16, row: &csv::StringRecord) -> LinkRecord {
    let get = |c: &str| row.get(col[c]).unwrap_or("").trim();
    let opt = |c: &str| Some(get(c)).filter(|v| !v.is_empty());
    let point = match (get("lon").parse::<f64>(), get("lat").parse::<f64>()) {
        (Ok(x), Ok(y)) => Some((x, y)),
        _ => None,
    };
    let operator = opt("operator").map(operator_key);
    let operator_words: Vec<String> = operator
        .as_deref()
        .map(|o| o.split('-').map(str::to_string).collect())
        .unwrap_or_default();
    let codes: Vec<String> = opt("codes")
        .map(|c| c.split(';').map(code_key).collect())
        .unwrap_or_default();
    let name = opt("name");
    LinkRecord {
        key: get("record_key").to_string(),
        source,
        point,
        precision: if point.is_some() {
            precision(get("precision"))
        } else {
            PointPrecision::None
        },
        commune: opt("commune").map(str::to_string),
        name_words: name.map(name_words).unwrap_or_default(),
        attachable: name.is_none() && operator.is_none() && codes.is_empty(),
        operator,
        operator_words,
        codes,
        osm_num: opt("osm_id").and_then(|v| v.parse().ok()),
        osm_type: None,
        peeringdb_id: opt("peeringdb_id").and_then(|v| v.parse().ok()),
        address: opt("address").map(str::to_string),
    }
}

/// Links the records of `input` and writes `record_key,cluster_id` to `output`.
pub fn link_csv(input: &Path, output: &Path) -> Result<BatchStats, ParseError> {
    let t = Instant::now();
    // Linked in grid-cell order, so that the records of a candidate pair sit close together in
    // memory (scoring and clustering then hit the cache); written back in input order.
    let mut indexed: Vec<(usize, LinkRecord)> =
        read_records(input)?.into_iter().enumerate().collect();
    indexed.par_sort_by_key(|(i, r)| (r.point.map(link::cell), *i));
    let (input_position, records): (Vec<usize>, Vec<LinkRecord>) = indexed.into_iter().unzip();
    let read_s = t.elapsed().as_secs_f64();
    let params = LinkParams::default();
    let t = Instant::now();
    let ranks = link::key_ranks(&records);
    let candidates = blocking::candidates(&records, &ranks, &params);
    drop(ranks);
    let block_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // Only pairs that clustering acts on are kept: merges and contradictions (the build keeps
    // every close pair for `pair_scores`; here nothing is written of the others).
    let mut pairs: Vec<link::Pair> = candidates
        .par_iter()
        .map(|&(a, b)| link::score(&records, a, b))
        .filter(|p| link::wants_merge(p, &params) || link::contradicts(&records, p, &params))
        .map(|mut p| {
            // Clustering reads the total and the flags, not the parts: free them.
            p.parts = Vec::new();
            p
        })
        .collect();
    let candidate_pairs = candidates.len();
    drop(candidates);
    let score_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut roots = link::cluster(&records, &mut pairs, &[], &HashSet::new(), &params);
    link::attach_orphans(&records, &mut roots, &HashSet::new(), &params);
    let cluster_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let io = |e: std::io::Error| ParseError::Structure {
        file: output.display().to_string(),
        message: e.to_string(),
    };
    let file = std::fs::File::create(output).map_err(io)?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(b"record_key,cluster_id\n").map_err(io)?;
    let mut in_input_order = vec![0u32; records.len()];
    for (k, &position) in input_position.iter().enumerate() {
        in_input_order[position] = k as u32;
    }
    for k in in_input_order {
        let (r, root) = (&records[k as usize], roots[k as usize]);
        writeln!(w, "{},{}", csv_field(&r.key), records[root as usize].key).map_err(io)?;
    }
    w.flush().map_err(io)?;
    let clusters = roots.iter().collect::<HashSet<_>>().len();
    Ok(BatchStats {
        records: records.len(),
        candidate_pairs,
        clusters,
        read_s,
        block_s,
        score_s,
        cluster_s,
        write_s: t.elapsed().as_secs_f64(),
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
