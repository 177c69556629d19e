//! Record linkage: [`LinkRecord`]s (what matching needs of a record) → candidate pairs
//! (spatial grid blocking, commune blocks and exact keys — never all pairs) → scored
//! [`Pair`]s (distance, name, site code, operator, address, ids; hard rules where the
//! evidence is categorical) → clusters (constrained union-find: a merge that would join two
//! records that contradict each other is refused) → orphans attached to the nearest site.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::kdtree::KdTree;

use rayon::prelude::*;

use crate::common::distance_m;
use crate::model::PointPrecision;

/// What the matcher needs to know of a record. Strings are already normalised.
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub key: String,
    /// Index of the record's source (same source = same index).
    pub source: u16,
    /// (lon, lat) in degrees.
    pub point: Option<(f64, f64)>,
    pub precision: PointPrecision,
    /// INSEE commune code where the point is.
    pub commune: Option<String>,
    /// Words of the name without generic words (see `normalize::name_words`).
    pub name_words: Vec<String>,
    /// Words of the operator's names and aliases, removed from names before comparing them.
    pub operator_words: Vec<String>,
    /// Canonical operator id (registry) or normalised raw operator.
    pub operator: Option<String>,
    /// Normalised site codes.
    pub codes: Vec<String>,
    /// OSM element number (type may be unknown).
    pub osm_num: Option<u64>,
    /// OSM element type when known: `n`, `w`, `r`.
    pub osm_type: Option<char>,
    pub peeringdb_id: Option<i64>,
    /// `number street` key.
    pub address: Option<String>,
    /// True when the record says nothing but where it is (no name, operator, code): it may be
    /// attached to the nearest site.
    pub attachable: bool,
}

/// A decision that no score can overturn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hard {
    MustLink(&'static str),
    CannotLink(&'static str),
}

/// A scored candidate pair; `parts` say why.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: u32,
    pub b: u32,
    pub distance_m: Option<f64>,
    pub parts: Vec<(&'static str, f64)>,
    pub total: f64,
    pub hard: Option<Hard>,
    /// No evidence but distance: no must-link and no positive part other than distance.
    pub distance_only: bool,
    /// Set by clustering: accepted (merged), rejected (below threshold or hard no), or
    /// blocked (above threshold, refused because the clusters contradict each other).
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Rejected,
    Blocked(Refusal),
    /// An imprecise record (city centre, commune) that fits several sites about equally
    /// well: it joins none of them.
    Ambiguous,
    /// Above threshold, but the two records were already in one facility.
    Redundant,
    /// One record says nothing but where it is: it joins a site only through
    /// `attach_orphans` (the clearly nearest site), never through a pair.
    Deferred,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Blocked(r) => r.as_str(),
            Outcome::Ambiguous => "ambiguous",
            Outcome::Redundant => "redundant",
            Outcome::Deferred => "deferred",
        }
    }
}

/// Why clustering refused a pair that scored above the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A member of one cluster contradicts a member of the other (a hard no, a score below
    /// the contradiction level, two records of one source without direct evidence, a
    /// curator split).
    Contradiction,
    /// An imprecise point would join two clusters that each hold a precise point.
    ImpreciseBridge,
    /// Distance alone would join two identified sites through an anonymous record.
    AnonymousBridge,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Contradiction => "blocked_contradiction",
            Refusal::ImpreciseBridge => "blocked_imprecise_bridge",
            Refusal::AnonymousBridge => "blocked_anonymous_bridge",
        }
    }
}

/// Tunables, with the values used by the build.
#[derive(Debug, Clone)]
pub struct LinkParams {
    /// Minimum score to merge.
    pub threshold: f64,
    /// A scored pair below this contradicts: its records never end in one facility.
    pub contradiction: f64,
    /// Candidate radius for building/address points, metres.
    pub radius_m: f64,
    /// Candidate radius when a point is approximate (city centre), metres.
    pub approximate_radius_m: f64,
    /// Orphans (attachable records) with an address point join the clearly nearest site
    /// within this distance, metres.
    pub attach_m: f64,
    /// Same for orphans with a building point, metres.
    pub attach_building_m: f64,
    /// The nearest site must be this many times nearer than the next one.
    pub attach_margin: f64,
    /// Precise records meet this many nearest precise neighbours (within the pair radius).
    pub k_nearest: usize,
    /// Imprecise records meet this many members of each of their key blocks.
    pub k_key: usize,
    /// An imprecise record joins its best-scoring site only when the next site scores at
    /// least this much less.
    pub ambiguity_margin: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            threshold: 3.0,
            contradiction: -2.0,
            radius_m: 1000.0,
            approximate_radius_m: 12_000.0,
            attach_m: 100.0,
            attach_building_m: 50.0,
            attach_margin: 1.25,
            k_nearest: 20,
            k_key: 8,
            ambiguity_margin: 1.0,
        }
    }
}

/// How far apart two records naming one operator, one site code and one numbered name may be
/// and still be one site (a city and its suburbs: an operator reuses its codes in other
/// cities, not within one), metres.
pub const SAME_CITY_M: f64 = 20_000.0;

/// The must-link of two records of one site mapped in two places.
const SAME_SITE_ELSEWHERE: &str = "same_operator_code_and_name";

/// A record's point with its precision's tolerance, when the point says where the site is
/// (not for a commune-level or missing point).
pub(crate) fn placed(point: Option<(f64, f64)>, p: PointPrecision) -> Option<((f64, f64), f64)> {
    let tol = tolerance_m(p);
    point.filter(|_| tol.is_finite()).map(|q| (q, tol))
}

/// How many placed points lie within `tol` metres of `p` (itself included): how far the
/// records agree on that place. `golden::choose_point` puts a facility where its records
/// agree most, and a spread cluster takes only records near that same place.
pub(crate) fn agreement(p: (f64, f64), tol: f64, points: &[((f64, f64), f64)]) -> usize {
    points
        .iter()
        .filter(|(q, _)| distance_m(p, *q) <= tol)
        .count()
}

/// How far apart two points of this precision may be and still be one site, metres.
pub(crate) fn tolerance_m(p: PointPrecision) -> f64 {
    match p {
        PointPrecision::Building => 80.0,
        PointPrecision::Address => 250.0,
        PointPrecision::Approximate => 3000.0,
        PointPrecision::Commune | PointPrecision::None => f64::INFINITY,
    }
}

/// Grid cell of ~1.1 km: 0.01° of latitude by 0.015° of longitude (`link-csv` links records
/// in cell order, so that the two records of a pair sit close in memory).
pub fn cell(p: (f64, f64)) -> (i32, i32) {
    ((p.1 / 0.01).floor() as i32, (p.0 / 0.015).floor() as i32)
}

/// Scores one pair. Symmetric: `score(a, b)` and `score(b, a)` give the same total.
pub fn score(records: &[LinkRecord], a: u32, b: u32) -> Pair {
    let (ra, rb) = (&records[a as usize], &records[b as usize]);
    let mut parts: Vec<(&'static str, f64)> = Vec::new();
    let mut hard = None;
    let distance_m = match (ra.point, rb.point) {
        (Some(p), Some(q)) => Some(distance_m(p, q)),
        _ => None,
    };

    if let (Some(x), Some(y)) = (ra.osm_num, rb.osm_num)
        && x == y
        && distance_m.is_none_or(|d| d < 1000.0)
    {
        hard = Some(Hard::MustLink("same_osm_id"));
    }
    match (ra.peeringdb_id, rb.peeringdb_id) {
        (Some(x), Some(y)) if x == y => hard = Some(Hard::MustLink("same_peeringdb_id")),
        (Some(_), Some(_)) => hard = Some(Hard::CannotLink("different_peeringdb_ids")),
        _ => {}
    }

    let same_operator = match (&ra.operator, &rb.operator) {
        (Some(x), Some(y)) if x == y => {
            parts.push(("same_operator", 1.5));
            Some(true)
        }
        (Some(_), Some(_)) => {
            parts.push(("different_operator", -3.0));
            Some(false)
        }
        _ => None,
    };

    if !ra.codes.is_empty() && !rb.codes.is_empty() {
        if ra.codes.iter().any(|c| rb.codes.contains(c)) {
            // A record naming two sites ("PA2/PA3") is first about the one it names first.
            let first = ra.codes[0] == rb.codes[0];
            parts.push(("same_site_code", if first { 6.0 } else { 5.0 }));
        } else if same_operator == Some(true) {
            parts.push(("different_site_codes", -6.0));
            if hard.is_none() {
                hard = Some(Hard::CannotLink("different_site_codes_same_operator"));
            }
        } else {
            parts.push(("different_site_codes", -2.0));
        }
    }

    let placed_by_commune =
        |r: &LinkRecord| matches!(r.precision, PointPrecision::Commune | PointPrecision::None);
    if placed_by_commune(ra) || placed_by_commune(rb) {
        // Only the communes say where: different communes are different places (a
        // département-level "commune" `depNN` only rules out other départements).
        match (&ra.commune, &rb.commune) {
            (Some(x), Some(y)) if x == y => parts.push(("same_commune", 0.5)),
            (Some(x), Some(y)) if same_departement(x, y) => {}
            (Some(_), Some(_)) => {
                parts.push(("different_commune", -3.0));
                if hard.is_none() {
                    hard = Some(Hard::CannotLink("different_communes"));
                }
            }
            _ => {}
        }
    } else if let Some(d) = distance_m {
        let tol = tolerance_m(ra.precision).max(tolerance_m(rb.precision));
        let r = d / tol;
        // A hand-placed or city-centre point says little by being near: it needs a name,
        // code or operator to merge.
        let approximate = ra.precision == PointPrecision::Approximate
            || rb.precision == PointPrecision::Approximate;
        let w = if r <= 0.5 {
            if approximate { 1.0 } else { 3.0 }
        } else if r <= 1.0 {
            if approximate { 0.5 } else { 2.0 }
        } else if r <= 2.0 {
            0.0
        } else if r <= 4.0 {
            -1.0
        } else if r <= 10.0 {
            -3.0
        } else {
            // More than ten tolerances apart: two places, whatever the names say (an
            // operator reuses its codes in other cities).
            if hard.is_none() {
                hard = Some(Hard::CannotLink("far_apart"));
            }
            -6.0
        };
        parts.push(("distance", w));
    }

    // Names are compared without the words of either record's operator: "Interoute" and
    // "Interoute Marseille" (operated by Interoute) do not disagree, and two buildings both
    // named after their operator ("data4", "data4") do not agree either.
    let (ka, kb) = (
        name_key_without(&ra.name_words, &ra.operator_words, &rb.operator_words),
        name_key_without(&rb.name_words, &ra.operator_words, &rb.operator_words),
    );
    if !ka.is_empty() && !kb.is_empty() {
        // Word order does not matter ("OVH GRA Gravelines" = "OVHcloud Gravelines GRA"), and
        // a name whose words are all in the other's ("Telehouse Voltaire" and "Telehouse Paris
        // Voltaire") is similar.
        let (wa, wb) = (word_set(&ka), word_set(&kb));
        let sim = if wa == wb {
            1.0
        } else {
            strsim::jaro_winkler(&ka, &kb)
        };
        let contained = wa.is_subset(&wb) || wb.is_subset(&wa);
        let (na, nb) = (name_numbers(&ka), name_numbers(&kb));
        let subset = |x: &[&str], y: &[&str]| x.iter().all(|w| y.contains(w));
        if !na.is_empty() && !nb.is_empty() && !subset(&na, &nb) && !subset(&nb, &na) {
            // "Marne Est 1" and "Marne Est 2": one digit apart, two buildings.
            parts.push(("different_number_in_name", -3.0));
        } else if ka == kb && !na.is_empty() {
            // Identical names with a number ("Colt Paris 3") are distinctive.
            parts.push(("same_numbered_name", 4.0));
        } else if sim >= 0.93 {
            parts.push(("same_name", 3.0));
        } else if sim >= 0.8 || contained {
            parts.push(("similar_name", 1.5));
        } else if sim < 0.55 {
            parts.push(("different_name", -1.5));
        }
    }

    if let (Some(x), Some(y)) = (&ra.address, &rb.address) {
        if x == y {
            parts.push(("same_address", 3.0));
        } else {
            let street = |s: &str| s.split_once(' ').map(|(_, st)| st.to_string());
            if street(x).is_some() && street(x) == street(y) {
                parts.push(("same_street_other_number", -0.5));
            } else {
                parts.push(("different_address", -1.0));
            }
        }
    }

    // An OSM node a few metres from an OSM way is the classic point-plus-outline double
    // mapping of one site; otherwise a source rarely lists one site twice. A layer that
    // merges mapped objects with hand-placed entries (a precise point and a city-centre one)
    // does list sites twice, once of each kind: no penalty between the two kinds.
    let node_on_outline = matches!((ra.osm_type, rb.osm_type), (Some(x), Some(y)) if x != y && (x == 'n' || y == 'n'))
        && distance_m.is_some_and(|d| d <= 0.5 * tolerance_m(PointPrecision::Building));
    let two_kinds = precise(ra) != precise(rb);
    if ra.source == rb.source
        && distance_m.is_none_or(|d| d > 1.0)
        && !node_on_outline
        && !two_kinds
    {
        parts.push(("same_source", -2.0));
    }

    // One operator does not give one code and one numbered name to two sites of one city:
    // two records that agree on all three are one site mapped twice, in two places (the
    // facility's point is the place more of its records agree on, `golden::choose_point`).
    if hard == Some(Hard::CannotLink("far_apart"))
        && same_operator == Some(true)
        && ra
            .codes
            .first()
            .is_some_and(|c| rb.codes.first() == Some(c))
        && parts.iter().any(|(n, _)| *n == "same_numbered_name")
        && distance_m.is_some_and(|d| d <= SAME_CITY_M)
    {
        hard = Some(Hard::MustLink(SAME_SITE_ELSEWHERE));
    }

    let total = parts.iter().map(|(_, w)| w).sum();
    let distance_only = !matches!(hard, Some(Hard::MustLink(_)))
        && parts.iter().all(|(n, w)| *n == "distance" || *w <= 0.0);
    Pair {
        a,
        b,
        distance_m,
        parts,
        total,
        hard,
        distance_only,
        outcome: Outcome::Rejected,
    }
}

/// The name words not in either operator's words, joined with spaces.
fn name_key_without(words: &[String], ops_a: &[String], ops_b: &[String]) -> String {
    words
        .iter()
        .filter(|w| !ops_a.contains(w) && !ops_b.contains(w))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a département-level place (`dep91`) contains the other place (`91363`, `dep91`).
fn same_departement(x: &str, y: &str) -> bool {
    match (x.strip_prefix("dep"), y.strip_prefix("dep")) {
        (Some(a), Some(b)) => a == b,
        (Some(d), None) => y.starts_with(d),
        (None, Some(d)) => x.starts_with(d),
        (None, None) => false,
    }
}

fn word_set(key: &str) -> BTreeSet<&str> {
    key.split(' ').filter(|w| !w.is_empty()).collect()
}

/// The words of a name key that hold a digit, sorted (`marne est 2` → `["2"]`, `orion so5`
/// → `["so5"]`): numbers and codes written into names.
fn name_numbers(key: &str) -> Vec<&str> {
    let mut v: Vec<&str> = key
        .split(' ')
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// What a pair may bridge: an imprecise point (approximate, commune) or a pair whose only
/// evidence is distance must not join two clusters that each already hold a precise
/// (resp. identified) record; they may only join a record to one site.
#[derive(Debug, Clone, Copy)]
struct PairKind {
    imprecise: bool,
    distance_only: bool,
    anonymous_end: bool,
    /// A must-link across places (one operator, code and name mapped in two places).
    across_places: bool,
}

fn pair_kind(records: &[LinkRecord], p: &Pair) -> PairKind {
    let imprecise = |r: &LinkRecord| !precise(r);
    PairKind {
        imprecise: imprecise(&records[p.a as usize]) || imprecise(&records[p.b as usize]),
        distance_only: p.distance_only,
        anonymous_end: !identified(&records[p.a as usize]) || !identified(&records[p.b as usize]),
        across_places: p.hard == Some(Hard::MustLink(SAME_SITE_ELSEWHERE)),
    }
}

pub(crate) fn precise(r: &LinkRecord) -> bool {
    r.point.is_some()
        && matches!(
            r.precision,
            PointPrecision::Building | PointPrecision::Address
        )
}

fn identified(r: &LinkRecord) -> bool {
    !r.attachable
}

/// Union-find with member lists, for constrained merging.
struct Clusters {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
    /// Per record: the records it must never share a cluster with.
    contradicts: Vec<Vec<u32>>,
    /// Per root: how many members have a precise point / are identified.
    precise: Vec<u32>,
    identified: Vec<u32>,
    /// Per record: its point and tolerance ([`placed`]).
    points: Vec<Option<((f64, f64), f64)>>,
    /// Per root: the cluster holds one site mapped in two places (a must-link across
    /// places); a record joins it only near the place its members agree on (`far_apart`).
    spread: Vec<bool>,
}

impl Clusters {
    fn new(records: &[LinkRecord], contradict: &[(u32, u32)]) -> Clusters {
        let n = records.len();
        let mut contradicts = vec![Vec::new(); n];
        for &(a, b) in contradict {
            contradicts[a as usize].push(b);
            contradicts[b as usize].push(a);
        }
        Clusters {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|i| vec![i]).collect(),
            contradicts,
            precise: records.iter().map(|r| u32::from(precise(r))).collect(),
            identified: records.iter().map(|r| u32::from(identified(r))).collect(),
            points: records
                .iter()
                .map(|r| placed(r.point, r.precision))
                .collect(),
            spread: vec![false; n],
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// The root of `x` without path compression (union by size keeps paths short).
    fn root(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }

    /// Merges unless a member of one contradicts a member of the other, or the pair would
    /// bridge two sites it is too weak to join.
    fn try_union(
        &mut self,
        a: u32,
        b: u32,
        kind: Option<PairKind>,
        check_contradictions: bool,
    ) -> Outcome {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Outcome::Redundant;
        }
        let across_places = kind.is_some_and(|k| k.across_places);
        if !across_places
            && (self.spread[ra as usize] || self.spread[rb as usize])
            && self.far_apart(ra, rb)
        {
            // The records at the outvoted place stay with the site named there; a record
            // placed at that place on its own evidence (an address, a meter) does not follow.
            return Outcome::Blocked(Refusal::Contradiction);
        }
        if let Some(k) = kind {
            let both = |v: &Vec<u32>| v[ra as usize] > 0 && v[rb as usize] > 0;
            if (k.imprecise && both(&self.precise))
                || (k.distance_only && k.anonymous_end && both(&self.identified))
            {
                return Outcome::Blocked(if k.imprecise && both(&self.precise) {
                    Refusal::ImpreciseBridge
                } else {
                    Refusal::AnonymousBridge
                });
            }
        }
        let (small, large) = if self.members[ra as usize].len() <= self.members[rb as usize].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        // Cost: the contradictions of the smaller side, not |small| x |large|.
        if check_contradictions {
            for &x in &self.members[small as usize] {
                for &y in &self.contradicts[x as usize] {
                    if self.root(y) == large {
                        return Outcome::Blocked(Refusal::Contradiction);
                    }
                }
            }
        }
        let moved = std::mem::take(&mut self.members[small as usize]);
        self.members[large as usize].extend(moved);
        self.precise[large as usize] += self.precise[small as usize];
        self.identified[large as usize] += self.identified[small as usize];
        self.spread[large as usize] |= self.spread[small as usize] || across_places;
        self.parent[small as usize] = large;
        Outcome::Accepted
    }

    /// Whether joining would put a point more than ten tolerances (the `far_apart` rule of a
    /// pair) from the place a spread cluster's members agree on most: its most precise point
    /// with the most members within its tolerance ([`agreement`], the order of
    /// `golden::choose_point`). A record at that place may join; one at the outvoted place
    /// may not. Only asked of spread clusters, which are few and small.
    fn far_apart(&self, ra: u32, rb: u32) -> bool {
        let pts = |r: u32| -> Vec<((f64, f64), f64)> {
            self.members[r as usize]
                .iter()
                .filter_map(|&m| self.points[m as usize])
                .collect()
        };
        let (pa, pb) = (pts(ra), pts(rb));
        let far = |(p, tp): &((f64, f64), f64), (q, tq): &((f64, f64), f64)| {
            distance_m(*p, *q) > 10.0 * tp.max(*tq)
        };
        let anchor = |v: &[((f64, f64), f64)]| {
            v.iter()
                .min_by(|(p, tp), (q, tq)| {
                    tp.total_cmp(tq)
                        .then(agreement(*q, *tq, v).cmp(&agreement(*p, *tp, v)))
                })
                .copied()
        };
        match (self.spread[ra as usize], self.spread[rb as usize]) {
            (true, true) => pa.iter().any(|x| pb.iter().any(|y| far(x, y))),
            (true, false) => anchor(&pa).is_some_and(|a| pb.iter().any(|y| far(&a, y))),
            (false, true) => anchor(&pb).is_some_and(|a| pa.iter().any(|x| far(&a, x))),
            (false, false) => false,
        }
    }
}

/// Whether the pair asks for a merge (a must-link, or a score at or above the threshold).
pub fn wants_merge(p: &Pair, params: &LinkParams) -> bool {
    match p.hard {
        Some(Hard::MustLink(_)) => true,
        Some(Hard::CannotLink(_)) => false,
        None => p.total >= params.threshold,
    }
}

/// Whether the pair's records must never end in one facility: a hard no, a score below the
/// contradiction level, or two records of one source without direct evidence (a source
/// rarely lists one site twice).
pub fn contradicts(records: &[LinkRecord], p: &Pair, params: &LinkParams) -> bool {
    let same_source = records[p.a as usize].source == records[p.b as usize].source;
    matches!(p.hard, Some(Hard::CannotLink(_)))
        || (p.hard.is_none() && p.total < params.contradiction)
        || (same_source && p.hard.is_none() && p.total < params.threshold)
}

/// Each record's position in the order of record keys (ties by index). Sorted on the first
/// 24 bytes of each key held inline (no pointer chasing); runs that share those bytes are then
/// ordered by their whole keys.
pub(crate) fn key_ranks(records: &[LinkRecord]) -> Vec<u32> {
    const PREFIX: usize = 24;
    let mut by_key: Vec<([u8; PREFIX], u32)> = records
        .par_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut prefix = [0u8; PREFIX];
            let bytes = r.key.as_bytes();
            let n = bytes.len().min(PREFIX);
            prefix[..n].copy_from_slice(&bytes[..n]);
            (prefix, i as u32)
        })
        .collect();
    by_key.par_sort_unstable();
    let mut start = 0;
    while start < by_key.len() {
        let end = start
            + by_key[start..]
                .iter()
                .take_while(|(p, _)| *p == by_key[start].0)
                .count();
        if end - start > 1 {
            by_key[start..end].sort_by(|x, y| {
                records[x.1 as usize]
                    .key
                    .cmp(&records[y.1 as usize].key)
                    .then(x.1.cmp(&y.1))
            });
        }
        start = end;
    }
    let mut rank = vec![0u32; records.len()];
    for (r, &(_, i)) in by_key.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    rank
}

/// Bits of a float that sort as the float does (`total_cmp` order).
fn ascending_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// Clusters records: forced merges first (curator overrides), then must-links, then pairs by
/// decreasing score above the threshold; `forbidden` pairs (curator splits) and contradicting
/// pairs are never joined. Sets each pair's outcome. Returns the cluster root of each record.
pub fn cluster(
    records: &[LinkRecord],
    pairs: &mut [Pair],
    forced: &[(u32, u32)],
    forbidden: &HashSet<(u32, u32)>,
    params: &LinkParams,
) -> Vec<u32> {
    let mut contradict: Vec<(u32, u32)> = forbidden.iter().copied().collect();
    contradict.sort_unstable();
    for p in pairs.iter() {
        if contradicts(records, p, params) {
            contradict.push((p.a, p.b));
        }
    }
    let n = records.len();
    let mut uf = Clusters::new(records, &contradict);
    for &(a, b) in forced {
        uf.try_union(a, b, None, false);
    }
    // Best first: must-links, then score, then the closer pair, then the records' keys (so
    // the input order does not matter). Sorted on precomputed integer keys.
    let key_rank = key_ranks(records);
    let mut order: Vec<(u8, u64, u64, u32, u32, u32)> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = (key_rank[p.a as usize], key_rank[p.b as usize]);
            (
                u8::from(!matches!(p.hard, Some(Hard::MustLink(_)))),
                ascending_bits(-p.total),
                ascending_bits(p.distance_m.unwrap_or(f64::INFINITY)),
                x.min(y),
                x.max(y),
                i as u32,
            )
        })
        .collect();
    order.par_sort_unstable();
    // Pairs joining an imprecise record to a precise one wait for the precise sites to form;
    // pairs of two imprecise records wait until each has chosen its site (or none).
    let mut imprecise_to_site: Vec<usize> = Vec::new();
    let mut imprecise_pairs: Vec<usize> = Vec::new();
    for (.., i) in order {
        let i = i as usize;
        let p = &pairs[i];
        let wanted = wants_merge(p, params);
        let anonymous = records[p.a as usize].attachable || records[p.b as usize].attachable;
        let outcome = if wanted && anonymous && p.distance_only {
            Outcome::Deferred
        } else if wanted && imprecise_side(records, p).is_some() {
            imprecise_to_site.push(i);
            continue;
        } else if wanted && both_imprecise(records, p) {
            imprecise_pairs.push(i);
            continue;
        } else if wanted {
            let kind = pair_kind(records, p);
            uf.try_union(p.a, p.b, Some(kind), true)
        } else {
            Outcome::Rejected
        };
        pairs[i].outcome = outcome;
    }
    join_clearly_best(
        records,
        pairs,
        &imprecise_to_site,
        &mut uf,
        &key_rank,
        params,
    );
    for i in imprecise_pairs {
        let kind = pair_kind(records, &pairs[i]);
        pairs[i].outcome = uf.try_union(pairs[i].a, pairs[i].b, Some(kind), true);
    }
    (0..n as u32).map(|i| uf.find(i)).collect()
}

/// Whether neither record of a pair (without a must-link) is precise.
fn both_imprecise(records: &[LinkRecord], p: &Pair) -> bool {
    !matches!(p.hard, Some(Hard::MustLink(_)))
        && !precise(&records[p.a as usize])
        && !precise(&records[p.b as usize])
}

/// The imprecise end of a pair that joins an imprecise record (approximate, commune-level,
/// no point) to a precise one without a must-link.
fn imprecise_side(records: &[LinkRecord], p: &Pair) -> Option<u32> {
    if matches!(p.hard, Some(Hard::MustLink(_))) {
        return None;
    }
    match (
        precise(&records[p.a as usize]),
        precise(&records[p.b as usize]),
    ) {
        (false, true) => Some(p.a),
        (true, false) => Some(p.b),
        _ => None,
    }
}

/// Imprecise records (or clusters of them) join the site their pairs score best with, only
/// when it is clearly the best: the next site scores at least `ambiguity_margin` less. A
/// city-centre record naming "OVHcloud Roubaix" fits each of RBX1..RBX7 equally and joins
/// none. `pairs_at` are the waiting pairs, best first.
fn join_clearly_best(
    records: &[LinkRecord],
    pairs: &mut [Pair],
    pairs_at: &[usize],
    uf: &mut Clusters,
    key_rank: &[u32],
    params: &LinkParams,
) {
    // Waiting pairs by the cluster of their imprecise end, clusters in key order.
    let mut groups: HashMap<u32, Vec<usize>> = HashMap::new();
    for &i in pairs_at {
        let x = imprecise_side(records, &pairs[i]).expect("waiting pairs have an imprecise end");
        groups.entry(uf.find(x)).or_default().push(i);
    }
    let mut groups: Vec<(u32, Vec<usize>)> = groups
        .into_values()
        .map(|g| {
            let first = g
                .iter()
                .map(|&i| {
                    let x = imprecise_side(records, &pairs[i]).unwrap_or(pairs[i].a);
                    key_rank[x as usize]
                })
                .min()
                .unwrap_or(0);
            (first, g)
        })
        .collect();
    groups.sort_unstable_by_key(|(first, _)| *first);
    for (_, group) in groups {
        // Best score per target site (the cluster of the precise end), in pair order.
        let mut best: Vec<(u32, f64, usize)> = Vec::new();
        for &i in &group {
            let p = &pairs[i];
            let x = imprecise_side(records, p).unwrap_or(p.a);
            let site = uf.find(if x == p.a { p.b } else { p.a });
            if uf.find(x) == site {
                continue;
            }
            match best.iter_mut().find(|(s, ..)| *s == site) {
                Some(b) if p.total > b.1 => (b.1, b.2) = (p.total, i),
                Some(_) => {}
                None => best.push((site, p.total, i)),
            }
        }
        best.sort_by(|x, y| y.1.total_cmp(&x.1));
        let clear = match best.as_slice() {
            [] => false,
            [_] => true,
            [first, second, ..] => first.1 - second.1 >= params.ambiguity_margin,
        };
        let chosen = best.first().map(|b| b.2).filter(|_| clear);
        if let Some(i) = chosen {
            let kind = pair_kind(records, &pairs[i]);
            pairs[i].outcome = uf.try_union(pairs[i].a, pairs[i].b, Some(kind), true);
        }
        for &i in &group {
            if Some(i) == chosen {
                continue;
            }
            let p = &pairs[i];
            pairs[i].outcome = if uf.find(p.a) == uf.find(p.b) {
                Outcome::Redundant
            } else if chosen.is_some() {
                Outcome::Blocked(Refusal::ImpreciseBridge)
            } else {
                Outcome::Ambiguous
            };
        }
    }
}

/// Neighbours looked at around an orphan (bounds the cost whatever the density).
const ATTACH_K: usize = 32;

/// The cluster nearest to record `i` among the `eligible` records of `tree` (distance to its
/// nearest member), when it is within `max_d` metres and the next cluster is at least
/// `margin` times as far; equally near records are ordered by key.
fn clearly_nearest(
    records: &[LinkRecord],
    roots: &[u32],
    tree: &KdTree,
    i: usize,
    max_d: f64,
    margin: f64,
    eligible: impl Fn(usize) -> bool,
) -> Option<(u32, f64)> {
    let p = records[i].point?;
    let found = tree.nearest(p, ATTACH_K, max_d * margin, &|j| {
        roots[j as usize] != roots[i] && eligible(j as usize)
    });
    let mut first: Option<(u32, f64)> = None;
    for f in found {
        let j = f.2 as usize;
        let d = records[j].point.map_or(f64::INFINITY, |q| distance_m(p, q));
        match first {
            None if d > max_d => return None,
            None => first = Some((roots[j], d)),
            Some((root, d0)) if roots[j] != root => {
                return (d >= margin * d0).then_some((root, d0));
            }
            Some(_) => {}
        }
    }
    first
}

/// How an orphan joined a site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attachment {
    /// The clearly nearest site, at this distance in metres.
    Nearest(f64),
    /// The only site of the same operator in the same commune (commune-level record).
    CommuneOperator,
}

/// Attaches records that are still alone: (1) anonymous records (no name, operator or code)
/// with a building or address point join the nearest other site within `attach_building_m` /
/// `attach_m` when it is clearly the nearest (the next one is at least 1.5 times as far);
/// (2) commune-level records join the only site of their operator in their commune. Records
/// are taken in key order, so the result does not depend on input order.
pub fn attach_orphans(
    records: &[LinkRecord],
    roots: &mut [u32],
    forbidden: &HashSet<(u32, u32)>,
    params: &LinkParams,
) -> Vec<(u32, u32, Attachment)> {
    // Members per cluster root.
    let mut size: Vec<usize> = vec![0; records.len()];
    for r in roots.iter() {
        size[*r as usize] += 1;
    }
    let key_rank = key_ranks(records);
    let tree_of = |keep: &dyn Fn(&LinkRecord) -> bool| {
        KdTree::new(
            records
                .iter()
                .enumerate()
                .filter(|(_, r)| keep(r))
                .filter_map(|(i, r)| Some((i as u32, r.point?, key_rank[i]))),
        )
    };
    let grid = tree_of(&precise);
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_unstable_by_key(|&i| key_rank[i]);
    let mut identified_root = vec![false; records.len()];
    for (i, r) in records.iter().enumerate() {
        if identified(r) {
            identified_root[roots[i] as usize] = true;
        }
    }
    let mut attached = Vec::new();
    let move_to = |i: usize,
                   root: u32,
                   how: Attachment,
                   roots: &mut [u32],
                   size: &mut [usize],
                   attached: &mut Vec<(u32, u32, Attachment)>| {
        size[roots[i] as usize] -= 1;
        size[root as usize] += 1;
        roots[i] = root;
        attached.push((i as u32, root, how));
    };
    // (0) An anonymous building point joins the clearly nearest anonymous site of another
    // source within `attach_building_m` (an unnamed way exported by two sources).
    let anon_grid = tree_of(&|r| r.attachable && r.precision == PointPrecision::Building);
    for &i in &order {
        let r = &records[i];
        if !(r.attachable && r.precision == PointPrecision::Building)
            || size[roots[i] as usize] != 1
        {
            continue;
        }
        let eligible =
            |j: usize| records[j].source != r.source && !identified_root[roots[j] as usize];
        if let Some((root, d)) = clearly_nearest(
            records,
            roots,
            &anon_grid,
            i,
            params.attach_building_m,
            params.attach_margin,
            eligible,
        ) {
            move_to(
                i,
                root,
                Attachment::Nearest(d),
                roots,
                &mut size,
                &mut attached,
            );
        }
    }
    for &i in &order {
        let r = &records[i];
        if !r.attachable || size[roots[i] as usize] != 1 {
            continue;
        }
        let max_d = match r.precision {
            PointPrecision::Building => params.attach_building_m,
            PointPrecision::Address => params.attach_m,
            _ => continue,
        };
        // Only named sites are targets (and competitors): an orphan does not make another
        // orphan's site.
        let eligible = |j: usize| {
            identified_root[roots[j] as usize]
                && !forbidden.contains(&((i as u32).min(j as u32), (i as u32).max(j as u32)))
        };
        if let Some((root, d)) = clearly_nearest(
            records,
            roots,
            &grid,
            i,
            max_d,
            params.attach_margin,
            eligible,
        ) {
            move_to(
                i,
                root,
                Attachment::Nearest(d),
                roots,
                &mut size,
                &mut attached,
            );
        }
    }
    // (3) The sites of each (operator, commune), from precise records (which the loop below
    // never moves).
    let mut sites_of: HashMap<(&str, &str), BTreeSet<u32>> = HashMap::new();
    for (j, o) in records.iter().enumerate() {
        if let (true, Some(op), Some(commune)) = (precise(o), &o.operator, &o.commune) {
            sites_of
                .entry((op.as_str(), commune.as_str()))
                .or_default()
                .insert(roots[j]);
        }
    }
    for &i in &order {
        let r = &records[i];
        let (Some(op), Some(commune)) = (&r.operator, &r.commune) else {
            continue;
        };
        if r.precision != PointPrecision::Commune || size[roots[i] as usize] != 1 {
            continue;
        }
        let Some(sites) = sites_of.get(&(op.as_str(), commune.as_str())) else {
            continue;
        };
        if sites.len() == 1
            && let Some(&root) = sites.first()
        {
            move_to(
                i,
                root,
                Attachment::CommuneOperator,
                roots,
                &mut size,
                &mut attached,
            );
        }
    }
    attached
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(key: &str, source: u16, lon: f64, lat: f64) -> LinkRecord {
        LinkRecord {
            key: key.into(),
            source,
            point: Some((lon, lat)),
            precision: PointPrecision::Building,
            commune: Some("93066".into()),
            name_words: Vec::new(),
            operator_words: Vec::new(),
            operator: None,
            codes: Vec::new(),
            osm_num: None,
            osm_type: None,
            peeringdb_id: None,
            address: None,
            attachable: false,
        }
    }

    fn run(records: &[LinkRecord]) -> (Vec<u32>, Vec<Pair>) {
        let params = LinkParams::default();
        let ranks = key_ranks(records);
        let mut pairs: Vec<Pair> = crate::reconcile::blocking::candidates(records, &ranks, &params)
            .into_iter()
            .map(|(a, b)| score(records, a, b))
            .collect();
        let roots = cluster(records, &mut pairs, &[], &HashSet::new(), &params);
        (roots, pairs)
    }

    #[test]
    fn key_ranks_follow_the_order_of_whole_keys() {
        // Keys sharing their first 24 bytes, a key that is a prefix of another, duplicates.
        let keys = [
            "community-map-0000000000000000-b",
            "community-map-0000000000000000-a",
            "osm-2",
            "osm-10",
            "osm-1",
            "community-map-0000000000000000",
            "osm-2",
            "a",
        ];
        let records: Vec<LinkRecord> = keys.iter().map(|k| rec(k, 0, 2.0, 48.0)).collect();
        let ranks = key_ranks(&records);
        let mut expected: Vec<usize> = (0..keys.len()).collect();
        expected.sort_by(|&x, &y| keys[x].cmp(keys[y]).then(x.cmp(&y)));
        let mut got: Vec<usize> = (0..keys.len()).collect();
        got.sort_by_key(|&i| ranks[i]);
        assert_eq!(got, expected);
    }

    #[test]
    fn different_codes_of_one_operator_never_merge() {
        // Equinix PA2 and PA3 a few hundred metres apart, plus a record naming PA2 next to PA3.
        let mut pa2 = rec("a", 0, 2.3589, 48.9356);
        pa2.operator = Some("equinix".into());
        pa2.codes = vec!["PA2".into()];
        let mut pa3 = rec("b", 1, 2.3591, 48.9357);
        pa3.operator = Some("equinix".into());
        pa3.codes = vec!["PA3".into()];
        let (roots, pairs) = run(&[pa2, pa3]);
        assert_ne!(roots[0], roots[1]);
        assert_eq!(
            pairs[0].hard,
            Some(Hard::CannotLink("different_site_codes_same_operator"))
        );
    }

    #[test]
    fn one_site_mapped_in_two_places_is_one_facility_at_the_place_most_records_agree_on() {
        // "Equinix PA7" mapped in Courbevoie (two records) and in Aubervilliers, 8 km away
        // (one record, with a meter at its street address). One operator, code and numbered
        // name within one city: one site. The meter stays where it is.
        let named = |key: &str, source: u16, lon: f64, lat: f64| {
            let mut r = rec(key, source, lon, lat);
            r.operator = Some("equinix".into());
            r.codes = vec!["PA7".into()];
            r.name_words = vec!["pa7".into()];
            r
        };
        let courbevoie = named("osm-relation", 0, 2.259418, 48.904973);
        let copy = named("layer-row", 1, 2.259407, 48.904942);
        let mut aubervilliers = named("osm-node", 0, 2.369530, 48.902239);
        aubervilliers.address = Some("45 avenue victor hugo".into());
        let mut meter = rec("meter", 2, 2.368, 48.9035);
        meter.precision = PointPrecision::Address;
        meter.address = Some("45 avenue victor hugo".into());
        meter.attachable = true;
        let (roots, pairs) = run(&[courbevoie, copy, aubervilliers, meter]);
        assert_eq!(roots[0], roots[1]);
        assert_eq!(roots[0], roots[2], "{pairs:?}");
        assert_ne!(roots[3], roots[0], "{pairs:?}");
        assert!(
            pairs
                .iter()
                .any(|p| p.hard == Some(Hard::MustLink(SAME_SITE_ELSEWHERE)))
        );
        // The same three names in two cities (more than 20 km apart) stay two sites.
        let paris = named("a", 0, 2.35, 48.85);
        let lyon = named("b", 1, 4.83, 45.76);
        let (roots, _) = run(&[paris, lyon]);
        assert_ne!(roots[0], roots[1]);
    }

    #[test]
    fn a_chain_does_not_merge_contradicting_ends() {
        // A~B and B~C are strong, but A and C have different codes of one operator.
        let mut a = rec("a", 0, 2.0, 48.0);
        a.operator = Some("dr".into());
        a.codes = vec!["MRS2".into()];
        let mut b = rec("b", 1, 2.0001, 48.0);
        b.operator = Some("dr".into());
        let mut c = rec("c", 2, 2.0002, 48.0);
        c.operator = Some("dr".into());
        c.codes = vec!["MRS3".into()];
        let (roots, pairs) = run(&[a, b, c]);
        assert_ne!(roots[0], roots[2], "{pairs:?}");
        assert!(roots[1] == roots[0] || roots[1] == roots[2]);
        assert!(
            pairs
                .iter()
                .any(|p| matches!(p.outcome, Outcome::Blocked(_)))
        );
    }

    #[test]
    fn same_osm_id_always_merges() {
        let mut a = rec("a", 0, 2.0, 48.0);
        a.osm_num = Some(45);
        a.operator = Some("x".into());
        let mut b = rec("b", 1, 2.004, 48.0);
        b.osm_num = Some(45);
        b.operator = Some("y".into());
        let (roots, _) = run(&[a, b]);
        assert_eq!(roots[0], roots[1]);
    }

    #[test]
    fn orphans_attach_to_the_clearly_nearest_site() {
        let site = rec("site", 0, 2.0, 48.0);
        let far = rec("far", 0, 2.02, 48.0);
        let mut enedis = rec("enedis", 1, 2.0012, 48.0); // ~90 m from the site
        enedis.precision = PointPrecision::Address;
        enedis.attachable = true;
        let records = [site, far, enedis];
        let (mut roots, _) = run(&records);
        let attached = attach_orphans(
            &records,
            &mut roots,
            &HashSet::new(),
            &LinkParams::default(),
        );
        assert_eq!(attached.len(), 1);
        assert_eq!(roots[2], roots[0]);
    }

    proptest! {
        #[test]
        fn scoring_is_symmetric(
            d in 0.0f64..0.01, same_op in any::<bool>(), code in 0u8..3, name in "[a-c]{0,3}",
        ) {
            let mut a = rec("a", 0, 2.0, 48.0);
            let mut b = rec("b", 1, 2.0 + d, 48.0);
            a.operator = Some("op".into());
            b.operator = Some(if same_op { "op" } else { "other" }.into());
            a.codes = vec![format!("PA{code}")];
            b.codes = vec!["PA1".into()];
            a.name_words = vec![name.clone()];
            b.name_words = vec!["ab".into()];
            let recs = [a, b];
            let ab = score(&recs, 0, 1);
            let ba = score(&recs, 1, 0);
            prop_assert!((ab.total - ba.total).abs() < 1e-12);
            prop_assert_eq!(ab.hard, ba.hard);
        }

        #[test]
        fn clustering_does_not_depend_on_input_order(seed in 0u64..1000) {
            // Points on a line with random gaps; reversing the records gives the same partition.
            let mut recs = Vec::new();
            let mut x = 2.0;
            let mut s = seed;
            for i in 0..12 {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                x += ((s >> 33) % 3) as f64 * 0.0004;
                recs.push(rec(&format!("r{i}"), (i % 3) as u16, x, 48.0));
            }
            let (roots, _) = run(&recs);
            let mut rev = recs.clone();
            rev.reverse();
            let (roots_rev, _) = run(&rev);
            let n = recs.len();
            for i in 0..n {
                for j in 0..n {
                    let same = roots[i] == roots[j];
                    let same_rev = roots_rev[n - 1 - i] == roots_rev[n - 1 - j];
                    prop_assert_eq!(same, same_rev);
                }
            }
        }
    }
}
