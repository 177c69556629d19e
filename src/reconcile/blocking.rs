//! Candidate pairs at a bounded cost: [`LinkRecord`]s → pairs `(a, b)`, `a < b`, sorted.
//!
//! * Records with a building or address point meet their `k_nearest` nearest precise
//!   neighbours within the pair's radius (4 × the larger precision tolerance, at most
//!   `radius_m`), found in a k-d tree.
//! * Every record meets the records sharing an exact key (OSM id, PeeringDB id, operator +
//!   site code, commune + address).
//! * Imprecise records (approximate, commune-level or no point) are blocked by identifying
//!   keys — site code, operator, each distinctive name word, commune — never by a disc: in
//!   each of their blocks they meet the `k_key` nearest precise members within their radius
//!   and their `k_key` neighbours in the block's name order (sorted neighbourhood).
//!
//! Every record yields at most `k_nearest + keys × 2·k_key` pairs (small blocks are scanned
//! whole, at most `2·k_key` members), so memory and time are linear in the number of
//! records whatever the density or the share of imprecise points (cost model in
//! ARCHITECTURE.md).

use std::hash::{Hash, Hasher};

use rayon::prelude::*;

use super::kdtree::KdTree;
use super::link::{LinkParams, LinkRecord, precise, tolerance_m};
use crate::common::distance_m;
use crate::model::PointPrecision;

/// Radius within which two records with points may be one site, metres.
pub fn pair_radius_m(a: &LinkRecord, b: &LinkRecord, params: &LinkParams) -> f64 {
    let imprecise = |r: &LinkRecord| !precise(r);
    if imprecise(a) || imprecise(b) {
        let r = |x: &LinkRecord| match x.precision {
            PointPrecision::Approximate => params.approximate_radius_m,
            PointPrecision::Commune => 2.0 * params.approximate_radius_m,
            _ => 0.0,
        };
        r(a).max(r(b))
    } else {
        (4.0 * tolerance_m(a.precision).max(tolerance_m(b.precision))).min(params.radius_m)
    }
}

/// Whether the pair is close enough to be scored (always, when either has no point or only a
/// commune-level one: those are compared by commune).
fn within(records: &[LinkRecord], a: usize, b: usize, params: &LinkParams) -> bool {
    let (ra, rb) = (&records[a], &records[b]);
    if matches!(ra.precision, PointPrecision::Commune | PointPrecision::None)
        || matches!(rb.precision, PointPrecision::Commune | PointPrecision::None)
    {
        return true;
    }
    match (ra.point, rb.point) {
        (Some(p), Some(q)) => distance_m(p, q) <= pair_radius_m(ra, rb, params),
        _ => true,
    }
}

fn hash_key(kind: u8, parts: &[&str]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    kind.hash(&mut h);
    parts.hash(&mut h);
    h.finish()
}

/// Exact keys: a shared one is evidence on its own.
fn exact_keys(r: &LinkRecord) -> Vec<u64> {
    let mut keys = Vec::new();
    if let Some(n) = r.osm_num {
        keys.push(hash_key(0, &[&n.to_string()]));
    }
    if let Some(n) = r.peeringdb_id {
        keys.push(hash_key(1, &[&n.to_string()]));
    }
    if let Some(op) = &r.operator {
        for c in &r.codes {
            keys.push(hash_key(2, &[op, c]));
        }
    }
    if let (Some(a), Some(c)) = (&r.address, &r.commune) {
        keys.push(hash_key(3, &[c, a]));
    }
    keys
}

/// Identifying keys: what an imprecise record can be found by.
fn identifying_keys(r: &LinkRecord) -> Vec<u64> {
    let mut keys = Vec::new();
    for c in &r.codes {
        keys.push(hash_key(4, &[c]));
    }
    if let Some(op) = &r.operator {
        keys.push(hash_key(5, &[op]));
    }
    for w in r
        .name_words
        .iter()
        .filter(|w| w.len() >= 3 && !r.operator_words.contains(w))
        .take(4)
    {
        keys.push(hash_key(6, &[w]));
    }
    if let Some(c) = &r.commune {
        keys.push(hash_key(7, &[c]));
    }
    keys
}

/// Candidate pairs (a < b), deduplicated and sorted. `ranks` orders records independently
/// of the input order (ties between equally near neighbours).
pub fn candidates(records: &[LinkRecord], ranks: &[u32], params: &LinkParams) -> Vec<(u32, u32)> {
    let mut out = spatial(records, ranks, params);
    out.append(&mut exact(records, ranks));
    out.append(&mut identifying(records, ranks, params));
    out.par_sort_unstable();
    out.dedup();
    out
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// The k nearest precise neighbours of each precise record.
fn spatial(records: &[LinkRecord], ranks: &[u32], params: &LinkParams) -> Vec<(u32, u32)> {
    let tree = KdTree::new(
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| precise(r))
            .filter_map(|(i, r)| Some((i as u32, r.point?, ranks[i]))),
    );
    (0..records.len())
        .into_par_iter()
        .filter(|&i| precise(&records[i]))
        .flat_map_iter(|i| {
            let r = &records[i];
            let p = r.point.expect("precise records have a point");
            tree.nearest(p, params.k_nearest + 1, params.radius_m, &|j| {
                j as usize != i
            })
            .into_iter()
            .filter(move |f| within(records, i, f.2 as usize, params))
            .map(move |f| ordered(i as u32, f.2))
        })
        .collect()
}

/// Sorted (key, rank, record) entries; runs of one key are the blocks.
fn blocks(
    records: &[LinkRecord],
    ranks: &[u32],
    keys: impl Fn(&LinkRecord) -> Vec<u64> + Sync,
) -> Vec<(u64, u32, u32)> {
    let mut entries: Vec<(u64, u32, u32)> = records
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, r)| {
            let rank = ranks[i];
            keys(r).into_iter().map(move |k| (k, rank, i as u32))
        })
        .collect();
    entries.par_sort_unstable();
    entries.dedup();
    entries
}

fn runs(entries: &[(u64, u32, u32)]) -> Vec<&[(u64, u32, u32)]> {
    entries.chunk_by(|x, y| x.0 == y.0).collect()
}

/// Exact-key blocks: all pairs in a block of up to `EXACT_ALL` records; in a larger block
/// (bad data), each record with its next `EXACT_ALL` records in rank order.
fn exact(records: &[LinkRecord], ranks: &[u32]) -> Vec<(u32, u32)> {
    const EXACT_ALL: usize = 16;
    let entries = blocks(records, ranks, exact_keys);
    runs(&entries)
        .into_par_iter()
        .filter(|b| b.len() > 1)
        .flat_map_iter(|b| {
            (0..b.len()).flat_map(move |x| {
                b[x + 1..(x + 1 + EXACT_ALL).min(b.len())]
                    .iter()
                    .map(move |y| ordered(b[x].2, y.2))
            })
        })
        .collect()
}

/// Identifying-key blocks of imprecise records.
fn identifying(records: &[LinkRecord], ranks: &[u32], params: &LinkParams) -> Vec<(u32, u32)> {
    let k = params.k_key;
    let entries = blocks(records, ranks, identifying_keys);
    runs(&entries)
        .into_par_iter()
        .filter(|b| b.len() > 1 && b.iter().any(|e| !precise(&records[e.2 as usize])))
        .flat_map_iter(|b| block_pairs(records, b, k, params))
        .collect()
}

/// The pairs of one identifying-key block that involve an imprecise record.
fn block_pairs(
    records: &[LinkRecord],
    block: &[(u64, u32, u32)],
    k: usize,
    params: &LinkParams,
) -> Vec<(u32, u32)> {
    let imprecise: Vec<u32> = block
        .iter()
        .map(|e| e.2)
        .filter(|&i| !precise(&records[i as usize]))
        .collect();
    let mut out = Vec::new();
    let mut add = |a: u32, b: u32| {
        if a != b && within(records, a as usize, b as usize, params) {
            out.push(ordered(a, b));
        }
    };
    if block.len() <= 2 * k {
        for &i in &imprecise {
            for e in block {
                add(i, e.2);
            }
        }
        return out;
    }
    // A large block: the k nearest precise members of each imprecise record with a point...
    let tree = KdTree::new(
        block
            .iter()
            .filter(|e| precise(&records[e.2 as usize]))
            .filter_map(|e| Some((e.2, records[e.2 as usize].point?, e.1))),
    );
    for &i in &imprecise {
        let r = &records[i as usize];
        if let Some(p) = r.point
            && r.precision != PointPrecision::None
        {
            let radius = match r.precision {
                PointPrecision::Commune => 2.0 * params.approximate_radius_m,
                _ => params.approximate_radius_m,
            };
            for f in tree.nearest(p, k, radius, &|_| true) {
                add(i, f.2);
            }
        }
    }
    // ... and the imprecise members in name order, each with its next k (sorted
    // neighbourhood: records naming the same site sit together).
    let mut by_name: Vec<(String, u32)> = imprecise
        .iter()
        .map(|&i| (records[i as usize].name_words.join(" "), i))
        .collect();
    by_name.sort_unstable();
    for x in 0..by_name.len() {
        for y in &by_name[x + 1..(x + 1 + k).min(by_name.len())] {
            add(by_name[x].1, y.1);
        }
    }
    out
}
