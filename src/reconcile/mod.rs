//! Reconcile stage: located records → facilities (one per real site) and campuses, with
//! stable ids, golden records with field-level provenance, the score of every close pair and
//! the link of every record. Matching itself is in `link`; normalisation in `normalize`;
//! field choice in `golden`; curator overrides in `overrides`.
//!
//! Facility ids: `fr-` + the first 12 hex digits of sha256 of the facility's *anchor* record
//! key, the member with the best `id_rank` of its source (OSM first), then the smallest key.
//! When the previous build's links are given, a facility keeps the id most of its members
//! had before (so a facility that gains or loses members keeps its id), and a new facility
//! never takes an id in use.

pub mod batch;
pub mod blocking;
pub mod campus;
pub mod eval;
pub mod explain;
pub mod golden;
pub mod kdtree;
pub mod link;
pub mod normalize;
pub mod overrides;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::common::{distance_m, sha256_hex};
use crate::geo::locate::Location;
use crate::geo::stage::LocatedRecord;
use crate::model::{LonLat, PointPrecision, Status};
use golden::{Candidate, FieldChoice};
use link::{Hard, LinkParams, LinkRecord, Outcome, Pair};
use normalize::{OperatorRegistry, address_key, code_key, name_words, operator_key};
use overrides::{OverrideReport, Overrides};

/// One real site, made of one or more records.
#[derive(Debug, Clone)]
pub struct Facility {
    pub facility_id: String,
    /// The member whose key the id is derived from.
    pub anchor: String,
    /// Record keys, sorted.
    pub members: Vec<String>,
    /// Source ids, sorted, unique.
    pub sources: Vec<String>,
    pub name: Option<String>,
    pub operator: Option<String>,
    /// Registry id (`equinix`) when the operator is registered.
    pub operator_id: Option<String>,
    /// Registry kind (`colocation`, `cloud`, `telecom`, `enterprise`, `public`).
    pub operator_kind: Option<String>,
    pub codes: Vec<String>,
    pub status: Status,
    /// `unknown` until the estimate stage classifies facilities.
    pub typology: String,
    pub point: Option<LonLat>,
    pub point_precision: PointPrecision,
    pub location: Location,
    pub address: Option<String>,
    pub website: Option<String>,
    /// Facilities of one operator on one site share a campus id; a lone facility is its own
    /// campus. Count distinct campus ids to count sites.
    pub campus_id: String,
    /// Probability-like confidence that this site exists as described: 1 − Π(1 − r) over
    /// its distinct sources, r = 0.8 / 0.7 / 0.6 / 0.35 for trust tiers 1 / 2 / 3 / 4.
    pub confidence: f64,
    /// Field-level provenance.
    pub fields: Vec<FieldChoice>,
}

/// How a record joined its facility.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub record_key: String,
    pub facility_id: String,
    /// `singleton`, `matched`, `attached_nearest`, `override_merge`.
    pub rule: &'static str,
    /// Best accepted pair score of this record inside its facility (None for singletons).
    pub score: Option<f64>,
    /// Distance to its facility's point, metres.
    pub distance_m: Option<f64>,
}

/// A scored close pair, for explanation.
#[derive(Debug, Clone)]
pub struct PairRow {
    pub record_a: String,
    pub record_b: String,
    pub distance_m: Option<f64>,
    pub total: f64,
    /// `name=weight;...`
    pub parts: String,
    pub hard: Option<String>,
    pub outcome: &'static str,
}

/// Everything the stage produces.
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    pub facilities: Vec<Facility>,
    /// Facility id of each input record (same order).
    pub record_facility: Vec<String>,
    pub links: Vec<LinkRow>,
    pub pairs: Vec<PairRow>,
    pub overrides: Vec<OverrideReport>,
}

impl Reconciliation {
    /// Distinct campuses (sites): facilities of one operator on one site count once.
    pub fn campus_count(&self) -> usize {
        self.facilities
            .iter()
            .map(|f| f.campus_id.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// What reconciliation needs besides the records.
pub struct ReconcileContext<'a> {
    pub registry: &'a OperatorRegistry,
    pub overrides: &'a Overrides,
    /// Trust tier of each source id.
    pub tiers: &'a HashMap<String, u8>,
    /// Anchor rank of each source id (lower = preferred anchor).
    pub id_ranks: &'a HashMap<String, u32>,
    /// record key → facility id of the previous build, if any.
    pub previous: &'a HashMap<String, String>,
    pub params: LinkParams,
}

/// `fr-` + 12 hex digits of sha256(text).
pub fn facility_id(text: &str) -> String {
    format!("fr-{}", &sha256_hex(text.as_bytes())[..12])
}

/// Builds the matcher's view of each record.
pub fn link_records(records: &[LocatedRecord], registry: &OperatorRegistry) -> Vec<LinkRecord> {
    let sources: BTreeSet<&str> = records
        .iter()
        .map(|r| r.record.source_id.as_str())
        .collect();
    let source_index: HashMap<&str, u16> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u16))
        .collect();
    records
        .iter()
        .map(|lr| {
            let r = &lr.record;
            let resolved = registry.of_record(
                r.operator.as_deref(),
                r.operator_wikidata.as_deref(),
                r.name.as_deref(),
            );
            let operator = resolved.map(|o| o.id.clone()).or_else(|| {
                r.operator
                    .as_deref()
                    .map(|o| format!("raw:{}", operator_key(o)))
            });
            let mut operator_words: Vec<String> = Vec::new();
            if let Some(o) = resolved {
                for a in o.aliases.iter().chain(std::iter::once(&o.name)) {
                    operator_words.extend(operator_key(a).split('-').map(str::to_string));
                }
            }
            if let Some(o) = &r.operator {
                operator_words.extend(operator_key(o).split('-').map(str::to_string));
            }
            let name = r
                .name
                .as_deref()
                .or(r.alt_names.first().map(String::as_str));
            let name_words = name.map(name_words).unwrap_or_default();
            operator_words.sort();
            operator_words.dedup();
            let osm_num = r
                .osm_ref
                .as_deref()
                .and_then(|p| p.split_once('/'))
                .and_then(|(_, n)| n.parse().ok())
                .or_else(|| {
                    r.native_id
                        .strip_prefix("osm-")
                        .and_then(|n| n.parse().ok())
                });
            let commune = lr
                .location
                .commune_insee
                .clone()
                .or_else(|| Some(format!("dep{}", lr.location.departement_code)));
            LinkRecord {
                key: r.record_key.clone(),
                source: source_index[r.source_id.as_str()],
                point: r.point.map(|p| (p.lon, p.lat)),
                precision: r.point_precision,
                commune,
                attachable: r.name.is_none() && operator.is_none() && r.codes.is_empty(),
                name_words,
                operator_words,
                operator,
                codes: r.codes.iter().map(|c| code_key(c)).collect(),
                osm_num,
                osm_type: r
                    .osm_ref
                    .as_deref()
                    .and_then(|p| p.chars().next())
                    .filter(|c| matches!(c, 'n' | 'w' | 'r')),
                peeringdb_id: r.peeringdb_fac_id,
                address: address_key(
                    r.address.housenumber.as_deref(),
                    r.address.street.as_deref(),
                ),
            }
        })
        .collect()
}

fn reliability(tier: u8) -> f64 {
    match tier {
        1 => 0.8,
        2 => 0.7,
        3 => 0.6,
        _ => 0.35,
    }
}

/// Runs the whole stage.
pub fn reconcile(records: &[LocatedRecord], ctx: &ReconcileContext<'_>) -> Reconciliation {
    let lrecs = link_records(records, ctx.registry);
    let index: HashMap<&str, u32> = lrecs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.key.as_str(), i as u32))
        .collect();
    let curated = curator_pairs(ctx, &index);
    let mut reports = curated.reports;

    let ranks = link::key_ranks(&lrecs);
    let mut pairs: Vec<Pair> = blocking::candidates(&lrecs, &ranks, &ctx.params)
        .into_iter()
        .map(|(a, b)| link::score(&lrecs, a, b))
        .collect();
    let mut roots = link::cluster(&lrecs, &mut pairs, &[], &curated.forbidden, &ctx.params);
    let attached = link::attach_orphans(&lrecs, &mut roots, &curated.forbidden, &ctx.params);
    // A curator merge joins the whole facilities that hold the records, last.
    for &(a, b) in &curated.forced {
        let (ra, rb) = (roots[a as usize], roots[b as usize]);
        if ra != rb {
            for r in roots.iter_mut() {
                if *r == rb {
                    *r = ra;
                }
            }
        }
    }
    let groups = groups_of(&roots, &lrecs);

    let ids = assign_ids(&groups, records, ctx);
    let mut facilities: Vec<Facility> = groups
        .iter()
        .zip(&ids)
        .map(|(g, (id, anchor))| golden_facility(g, id, anchor, records, &lrecs, ctx))
        .collect();
    let mut record_facility = vec![String::new(); records.len()];
    for (g, (id, _)) in groups.iter().zip(&ids) {
        for &i in g {
            record_facility[i] = id.clone();
        }
    }
    reports.extend(apply_corrections(
        ctx,
        &index,
        &record_facility,
        &mut facilities,
    ));
    campus::assign_campuses(&mut facilities);

    let links = link_rows(
        records,
        &record_facility,
        &facilities,
        &pairs,
        &curated.forced,
        &attached,
    );
    let pairs = pair_rows(&pairs, &lrecs);
    facilities.sort_by(|a, b| a.facility_id.cmp(&b.facility_id));
    Reconciliation {
        facilities,
        record_facility,
        links,
        pairs,
        overrides: reports,
    }
}

/// The curator's merges (record pairs forced together) and splits (pairs kept apart), with
/// a report per override.
struct Curated {
    reports: Vec<OverrideReport>,
    forced: Vec<(u32, u32)>,
    forbidden: HashSet<(u32, u32)>,
}

fn curator_pairs(ctx: &ReconcileContext<'_>, index: &HashMap<&str, u32>) -> Curated {
    let mut out = Curated {
        reports: Vec::new(),
        forced: Vec::new(),
        forbidden: HashSet::new(),
    };
    for (kind, list) in [
        ("merge", &ctx.overrides.merge),
        ("split", &ctx.overrides.split),
    ] {
        for (i, o) in list.iter().enumerate() {
            let found: Vec<u32> = o
                .records
                .iter()
                .filter_map(|k| index.get(k.as_str()).copied())
                .collect();
            let missing: Vec<&String> = o
                .records
                .iter()
                .filter(|k| !index.contains_key(k.as_str()))
                .collect();
            let applied = found.len() >= 2;
            if applied {
                for (x, &a) in found.iter().enumerate() {
                    for &b in &found[x + 1..] {
                        if kind == "merge" {
                            out.forced.push((a, b));
                        } else {
                            out.forbidden.insert((a.min(b), a.max(b)));
                        }
                    }
                }
            }
            out.reports.push(OverrideReport {
                which: format!("{kind}[{i}]"),
                reason: o.reason.clone(),
                applied,
                detail: if missing.is_empty() {
                    format!("{} records", found.len())
                } else {
                    format!("records not in this build: {missing:?}")
                },
            });
        }
    }
    out
}

/// Members grouped by cluster root, each group in record-key order.
fn groups_of(roots: &[u32], lrecs: &[LinkRecord]) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, root) in roots.iter().enumerate() {
        groups.entry(*root).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    for g in &mut groups {
        g.sort_by(|a, b| lrecs[*a].key.cmp(&lrecs[*b].key));
    }
    groups
}

/// Curator corrections of a field, applied last; a report per correction.
fn apply_corrections(
    ctx: &ReconcileContext<'_>,
    index: &HashMap<&str, u32>,
    record_facility: &[String],
    facilities: &mut [Facility],
) -> Vec<OverrideReport> {
    let mut reports = Vec::new();
    for (i, c) in ctx.overrides.correct.iter().enumerate() {
        let target = index
            .get(c.record.as_str())
            .map(|&r| record_facility[r as usize].clone());
        let applied = target.as_ref().is_some_and(|fid| {
            facilities
                .iter_mut()
                .find(|f| &f.facility_id == fid)
                .is_some_and(|f| apply_correction(f, &c.field, &c.value, &c.record))
        });
        reports.push(OverrideReport {
            which: format!("correct[{i}]"),
            reason: c.reason.clone(),
            applied,
            detail: match target {
                Some(fid) => format!("{} of {fid} = {:?}", c.field, c.value),
                None => format!("record {} not in this build", c.record),
            },
        });
    }
    reports
}

/// One link row per record: its facility, the rule that put it there, its best accepted
/// pair score and its distance to the facility's point.
fn link_rows(
    records: &[LocatedRecord],
    record_facility: &[String],
    facilities: &[Facility],
    pairs: &[Pair],
    forced: &[(u32, u32)],
    attached: &[(u32, u32, link::Attachment)],
) -> Vec<LinkRow> {
    let fpoint: HashMap<&str, Option<LonLat>> = facilities
        .iter()
        .map(|f| (f.facility_id.as_str(), f.point))
        .collect();
    let mut best_score: HashMap<u32, f64> = HashMap::new();
    for p in pairs {
        if matches!(p.outcome, Outcome::Accepted | Outcome::Redundant) {
            for x in [p.a, p.b] {
                let e = best_score.entry(x).or_insert(f64::NEG_INFINITY);
                *e = e.max(p.total);
            }
        }
    }
    // Curator merges: the records named in the override.
    let forced_set: HashSet<u32> = forced.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let attached_set: HashMap<u32, link::Attachment> =
        attached.iter().map(|(i, _, how)| (*i, *how)).collect();
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for fid in record_facility {
        *sizes.entry(fid.as_str()).or_default() += 1;
    }
    records
        .iter()
        .enumerate()
        .map(|(i, lr)| {
            let fid = &record_facility[i];
            let size = sizes.get(fid.as_str()).copied().unwrap_or(1);
            let i32_ = i as u32;
            let rule = if size == 1 {
                "singleton"
            } else if forced_set.contains(&i32_) {
                "override_merge"
            } else if let Some(how) = attached_set.get(&i32_) {
                match how {
                    link::Attachment::Nearest(_) => "attached_nearest",
                    link::Attachment::CommuneOperator => "attached_commune_operator",
                }
            } else {
                "matched"
            };
            let distance_m = match (lr.record.point, fpoint.get(fid.as_str()).copied().flatten()) {
                (Some(p), Some(q)) => Some(distance_m((p.lon, p.lat), (q.lon, q.lat))),
                _ => None,
            };
            LinkRow {
                record_key: lr.record.record_key.clone(),
                facility_id: fid.clone(),
                rule,
                score: best_score.get(&i32_).copied(),
                distance_m,
            }
        })
        .collect()
}

/// The scored pairs kept for `pair_scores`: every pair but rejected ones over 1 km with no
/// positive part.
fn pair_rows(pairs: &[Pair], lrecs: &[LinkRecord]) -> Vec<PairRow> {
    pairs
        .iter()
        .filter(|p| {
            p.outcome != Outcome::Rejected
                || p.distance_m.is_none_or(|d| d <= 1000.0)
                || p.parts.iter().any(|(_, w)| *w > 0.0)
        })
        .map(|p| PairRow {
            record_a: lrecs[p.a as usize].key.clone(),
            record_b: lrecs[p.b as usize].key.clone(),
            distance_m: p.distance_m,
            total: p.total,
            parts: p
                .parts
                .iter()
                .map(|(n, w)| format!("{n}={w}"))
                .collect::<Vec<_>>()
                .join(";"),
            hard: p.hard.map(|h| match h {
                Hard::MustLink(r) => format!("must_link:{r}"),
                Hard::CannotLink(r) => format!("cannot_link:{r}"),
            }),
            outcome: p.outcome.as_str(),
        })
        .collect()
}

/// Ids for each group: carried over from the previous build when most members had one,
/// else derived from the anchor; never two groups with one id.
fn assign_ids(
    groups: &[Vec<usize>],
    records: &[LocatedRecord],
    ctx: &ReconcileContext<'_>,
) -> Vec<(String, String)> {
    let anchor_of = |g: &Vec<usize>| -> String {
        g.iter()
            .map(|&i| &records[i].record)
            .min_by(|a, b| {
                let rank = |s: &str| ctx.id_ranks.get(s).copied().unwrap_or(u32::MAX);
                rank(&a.source_id)
                    .cmp(&rank(&b.source_id))
                    .then(a.record_key.cmp(&b.record_key))
            })
            .map(|r| r.record_key.clone())
            .unwrap_or_default()
    };
    let anchors: Vec<String> = groups.iter().map(anchor_of).collect();
    // Larger groups choose first; ties by anchor key.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        groups[b]
            .len()
            .cmp(&groups[a].len())
            .then(anchors[a].cmp(&anchors[b]))
    });
    let mut used: HashSet<String> = HashSet::new();
    let mut ids = vec![String::new(); groups.len()];
    // First pass: carried-over ids.
    for &g in &order {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for &i in &groups[g] {
            if let Some(old) = ctx.previous.get(&records[i].record.record_key) {
                *votes.entry(old.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = votes.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if let Some((old, _)) = ranked.into_iter().find(|(old, _)| !used.contains(*old)) {
            used.insert(old.to_string());
            ids[g] = old.to_string();
        }
    }
    // Second pass: anchor-derived ids for the rest.
    for &g in &order {
        if !ids[g].is_empty() {
            continue;
        }
        let mut id = facility_id(&anchors[g]);
        let mut n = 1;
        while used.contains(&id) {
            n += 1;
            id = facility_id(&format!("{}#{n}", anchors[g]));
        }
        used.insert(id.clone());
        ids[g] = id;
    }
    ids.into_iter().zip(anchors).collect()
}

/// Added to the trust tier of a name from a record placed only by its commune (a quoted fact).
const UNPLACED_NAME_PENALTY: u8 = 10;

fn golden_facility(
    group: &[usize],
    id: &str,
    anchor: &str,
    records: &[LocatedRecord],
    lrecs: &[LinkRecord],
    ctx: &ReconcileContext<'_>,
) -> Facility {
    let members: Vec<LocatedRecord> = group.iter().map(|&i| records[i].clone()).collect();
    let tiers: Vec<u8> = members
        .iter()
        .map(|m| ctx.tiers.get(&m.record.source_id).copied().unwrap_or(4))
        .collect();
    let text_candidates = |get: &dyn Fn(&LocatedRecord) -> Option<String>| -> Vec<Candidate> {
        members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                get(m).map(|value| Candidate {
                    value,
                    record: i,
                    tier: tiers[i],
                })
            })
            .collect()
    };
    let mut fields = Vec::new();
    // A name given to a mapped point beats the subject of a quoted fact placed by its commune
    // (a compiler's description such as "Free Pro (Iliad; ex Jaguar Network) ... Marseille"):
    // facts name a facility only when none of its records on the map has a name.
    let mut name_candidates = text_candidates(&|m| m.record.name.clone());
    for c in &mut name_candidates {
        if matches!(
            members[c.record].record.point_precision,
            PointPrecision::Commune | PointPrecision::None
        ) {
            c.tier = c.tier.saturating_add(UNPLACED_NAME_PENALTY);
        }
    }
    let name = golden::choose_text("name", &name_candidates, &members);
    // The operator: the registry's canonical name where the record's operator resolves.
    let op_candidates = text_candidates(&|m| {
        let r = &m.record;
        ctx.registry
            .of_record(
                r.operator.as_deref(),
                r.operator_wikidata.as_deref(),
                r.name.as_deref(),
            )
            .map(|op| op.name.clone())
            .or_else(|| r.operator.clone())
    });
    let operator = choose_operator(&op_candidates, name.as_ref(), &members, ctx.registry);
    let address = golden::choose_text(
        "address",
        &text_candidates(&|m| m.record.address.line()),
        &members,
    );
    let website = golden::choose_text(
        "website",
        &text_candidates(&|m| m.record.website.clone()),
        &members,
    );
    let (status, status_choice) = golden::choose_status(&members, &tiers);
    let point = golden::choose_point(&members, &tiers);
    let mut codes: Vec<String> = members
        .iter()
        .flat_map(|m| m.record.codes.iter().cloned())
        .collect();
    codes.sort();
    codes.dedup();
    // The registered operator of the chosen operator value, else the first member's.
    let operator_id = operator
        .as_ref()
        .and_then(|o| ctx.registry.resolve(&o.value, None))
        .map(|o| o.id.clone())
        .or_else(|| {
            group
                .iter()
                .filter_map(|&i| lrecs[i].operator.clone())
                .find(|o| !o.starts_with("raw:"))
        });
    let operator_kind = operator_id.as_deref().and_then(|id| {
        ctx.registry
            .operators
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.kind.clone())
    });
    let location_member = point.as_ref().map_or(0, |(i, _)| *i);
    let sources: BTreeSet<String> = members.iter().map(|m| m.record.source_id.clone()).collect();
    let mut source_tiers: HashMap<&str, u8> = HashMap::new();
    for (m, t) in members.iter().zip(&tiers) {
        source_tiers.insert(m.record.source_id.as_str(), *t);
    }
    let confidence = 1.0
        - source_tiers
            .values()
            .map(|t| 1.0 - reliability(*t))
            .product::<f64>();
    for f in [
        name.clone(),
        operator.clone(),
        address.clone(),
        website.clone(),
    ]
    .into_iter()
    .flatten()
    {
        fields.push(f);
    }
    fields.push(status_choice);
    if let Some((_, p)) = &point {
        fields.push(p.clone());
    }
    let chosen = &members[location_member].record;
    Facility {
        facility_id: id.to_string(),
        anchor: anchor.to_string(),
        members: members
            .iter()
            .map(|m| m.record.record_key.clone())
            .collect(),
        sources: sources.into_iter().collect(),
        name: name.map(|c| c.value),
        operator: operator.map(|c| c.value),
        operator_id,
        operator_kind,
        codes,
        status,
        typology: "unknown".into(),
        point: chosen.point,
        point_precision: chosen.point_precision,
        location: members[location_member].location.clone(),
        address: address.map(|c| c.value),
        website: website.map(|c| c.value),
        campus_id: String::new(),
        confidence: (confidence * 1000.0).round() / 1000.0,
        fields,
    }
}

/// The operator of a facility: by trust tier and specificity (`golden::choose_text`), except
/// that an operator named in the facility's chosen name ("Free Pro – Datacenter Marseille
/// (MAR02)") wins over another member's operator field when some member supports it (its
/// operator field or its own name): one source's operator field is no evidence that the
/// name is wrong.
fn choose_operator(
    candidates: &[Candidate],
    name: Option<&FieldChoice>,
    members: &[LocatedRecord],
    registry: &OperatorRegistry,
) -> Option<FieldChoice> {
    let chosen = golden::choose_text("operator", candidates, members)?;
    let Some(named) = name.and_then(|n| registry.find_in_name(&n.value)) else {
        return Some(chosen);
    };
    if chosen.value == named.name {
        return Some(chosen);
    }
    let agreeing: Vec<Candidate> = candidates
        .iter()
        .filter(|c| c.value == named.name)
        .cloned()
        .collect();
    let Some(mut by_name) = golden::choose_text("operator", &agreeing, members) else {
        return Some(chosen);
    };
    by_name.rule = "named_in_name";
    by_name.alternatives = candidates
        .iter()
        .filter(|c| c.value != named.name)
        .map(|c| (c.value.clone(), members[c.record].record.record_key.clone()))
        .collect();
    by_name.alternatives.sort();
    by_name.alternatives.dedup();
    Some(by_name)
}

fn apply_correction(f: &mut Facility, field: &str, value: &str, record: &str) -> bool {
    match field {
        "name" => f.name = Some(value.to_string()),
        "operator" => f.operator = Some(value.to_string()),
        "address" => f.address = Some(value.to_string()),
        "website" => f.website = Some(value.to_string()),
        "status" => match Status::from_words(value) {
            Some(s) => f.status = s,
            None if value == "unknown" => f.status = Status::Unknown,
            None => return false,
        },
        _ => return false,
    }
    let field: &'static str = overrides::CORRECTABLE
        .iter()
        .copied()
        .find(|c| *c == field)
        .unwrap_or("name");
    f.fields.retain(|c| c.field != field);
    f.fields.push(FieldChoice {
        field,
        value: value.to_string(),
        record_key: record.to_string(),
        rule: "override",
        alternatives: Vec::new(),
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_short() {
        let a = facility_id("osm-datacenters:way/45");
        assert_eq!(a, facility_id("osm-datacenters:way/45"));
        assert_eq!(a.len(), 15);
        assert_ne!(a, facility_id("osm-datacenters:way/46"));
    }
}
