//! Golden record: for each field of a facility, the value chosen among its members, the record
//! it came from, the rule that chose it (point precision, stated status, trust tier,
//! specificity, record key) and the disagreeing alternatives, kept and flagged as conflicts.

use serde::Serialize;

use crate::common::slug;
use crate::geo::stage::LocatedRecord;
use crate::model::{PointPrecision, Status};

/// One candidate value of a field.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub value: String,
    pub record: usize,
    pub tier: u8,
}

/// The chosen value of one field and what it was chosen over.
#[derive(Debug, Clone, Serialize)]
pub struct FieldChoice {
    pub field: &'static str,
    pub value: String,
    pub record_key: String,
    pub rule: &'static str,
    /// (value, record key) of the members whose value differs from the chosen one.
    pub alternatives: Vec<(String, String)>,
}

impl FieldChoice {
    pub fn conflict(&self) -> bool {
        !self.alternatives.is_empty()
    }
}

/// Chooses among text candidates: lowest trust tier, then the most specific (longest) value,
/// then the smallest record key. The rule names the first criterion that decided.
pub fn choose_text(
    field: &'static str,
    candidates: &[Candidate],
    members: &[LocatedRecord],
) -> Option<FieldChoice> {
    let key = |c: &Candidate| members[c.record].record.record_key.as_str();
    let best = candidates.iter().min_by(|a, b| {
        a.tier
            .cmp(&b.tier)
            .then(b.value.chars().count().cmp(&a.value.chars().count()))
            .then(key(a).cmp(key(b)))
    })?;
    let rule = if candidates.iter().any(|c| c.tier != best.tier) {
        "trust_tier"
    } else if candidates
        .iter()
        .any(|c| c.value.chars().count() != best.value.chars().count())
    {
        "specificity"
    } else {
        "record_key"
    };
    Some(FieldChoice {
        field,
        value: best.value.clone(),
        record_key: key(best).to_string(),
        rule,
        alternatives: alternatives(candidates, &best.value, members),
    })
}

fn alternatives(
    candidates: &[Candidate],
    chosen: &str,
    members: &[LocatedRecord],
) -> Vec<(String, String)> {
    let norm = slug(chosen);
    let mut alts: Vec<(String, String)> = candidates
        .iter()
        .filter(|c| slug(&c.value) != norm)
        .map(|c| (c.value.clone(), members[c.record].record.record_key.clone()))
        .collect();
    alts.sort();
    alts.dedup();
    alts
}

/// The status: a status stated in words beats one assumed by default; then trust tier.
pub fn choose_status(members: &[LocatedRecord], tiers: &[u8]) -> (Status, FieldChoice) {
    let best = members
        .iter()
        .zip(tiers)
        .enumerate()
        .min_by(|(_, (a, ta)), (_, (b, tb))| {
            let stated = |r: &LocatedRecord| {
                r.record.status_text.is_none() || r.record.status == Status::Unknown
            };
            stated(a)
                .cmp(&stated(b))
                .then(ta.cmp(tb))
                .then(a.record.record_key.cmp(&b.record.record_key))
        })
        .map_or(0, |(i, _)| i);
    let chosen = &members[best].record;
    let rule = if chosen.status_text.is_some() {
        "stated_status"
    } else {
        "trust_tier"
    };
    let candidates: Vec<Candidate> = members
        .iter()
        .zip(tiers)
        .enumerate()
        .map(|(i, (m, t))| Candidate {
            value: m.record.status.as_str().to_string(),
            record: i,
            tier: *t,
        })
        .collect();
    (
        chosen.status,
        FieldChoice {
            field: "status",
            value: chosen.status.as_str().to_string(),
            record_key: chosen.record_key.clone(),
            rule,
            alternatives: alternatives(&candidates, chosen.status.as_str(), members),
        },
    )
}

/// The point from the most precise geometry (building > address > approximate > commune),
/// then the place most members agree on ([`super::link::agreement`]: when two mapped
/// objects of one site sit in different places, the place more records put it wins), then
/// trust tier, then record key. Returns the member index.
pub fn choose_point(members: &[LocatedRecord], tiers: &[u8]) -> Option<(usize, FieldChoice)> {
    use super::link::{agreement, placed, tolerance_m};
    let lonlat = |m: &LocatedRecord| m.record.point.map(|p| (p.lon, p.lat));
    let places: Vec<((f64, f64), f64)> = members
        .iter()
        .filter_map(|m| placed(lonlat(m), m.record.point_precision))
        .collect();
    let support = |m: &LocatedRecord| {
        lonlat(m).map_or(0, |p| {
            agreement(p, tolerance_m(m.record.point_precision), &places)
        })
    };
    let best = members
        .iter()
        .zip(tiers)
        .enumerate()
        .filter(|(_, (m, _))| m.record.point.is_some())
        .map(|(i, (m, t))| (i, m, t, support(m)))
        .min_by(|(_, a, ta, sa), (_, b, tb, sb)| {
            a.record
                .point_precision
                .cmp(&b.record.point_precision)
                .then(sb.cmp(sa))
                .then(ta.cmp(tb))
                .then(a.record.record_key.cmp(&b.record.record_key))
        })
        .map(|(i, ..)| i)?;
    let r = &members[best].record;
    let p = r.point?;
    let precise_ones = members
        .iter()
        .filter(|m| m.record.point_precision == r.point_precision)
        .count();
    Some((
        best,
        FieldChoice {
            field: "point",
            value: format!("{:.7} {:.7}", p.lon, p.lat),
            record_key: r.record_key.clone(),
            rule: if precise_ones < members.len() && r.point_precision != PointPrecision::None {
                "most_precise_point"
            } else {
                "trust_tier"
            },
            alternatives: Vec::new(),
        },
    ))
}
