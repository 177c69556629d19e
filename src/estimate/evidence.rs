//! Evidence of one facility: its members' records → the observation its IT power rests on,
//! first that applies: a disclosed power (the latest dated fact first, then IT over facility
//! over grid MVA over a power of unstated kind), a measured annual energy (Enedis), a white
//! space, a floor area, a site area (with the other surfaces the records have, combined with
//! it); else nothing (a campus share or a prior decides later).

use std::collections::HashMap;

use super::{Evidence, Method};
use crate::facts::parse_date;
use crate::geo::stage::LocatedRecord;
use crate::model::{PowerKind, Record, SurfaceKind};

/// `(year, month)` of a record's dated figures.
pub fn date_of(r: &Record) -> Option<(i32, u32)> {
    r.fact_date.as_deref().and_then(parse_date)
}

fn power_method(k: PowerKind) -> (u8, Method) {
    match k {
        PowerKind::It => (0, Method::DisclosedItPower),
        PowerKind::Facility | PowerKind::Thermal | PowerKind::Planned => {
            (1, Method::DisclosedFacilityPower)
        }
        PowerKind::GridMva => (2, Method::DisclosedGridMva),
        PowerKind::Unspecified => (3, Method::DisclosedPowerUnstated),
    }
}

/// The power evidence of a set of records: the latest dated record first (undated ones
/// last), then the kind (IT > facility > MVA > unstated), the record's trust tier and key.
pub fn power_evidence(members: &[&LocatedRecord], tiers: &HashMap<String, u8>) -> Option<Evidence> {
    let tier = |m: &LocatedRecord| tiers.get(&m.record.source_id).copied().unwrap_or(9);
    members
        .iter()
        .flat_map(|m| m.record.powers.iter().map(move |p| (m, p)))
        .filter(|(_, p)| p.value > 0.0 && p.value.is_finite())
        .min_by(|a, b| {
            let (da, db) = (date_of(&a.0.record), date_of(&b.0.record));
            db.cmp(&da)
                .then(power_method(a.1.kind).0.cmp(&power_method(b.1.kind).0))
                .then(tier(a.0).cmp(&tier(b.0)))
                .then(a.0.record.record_key.cmp(&b.0.record.record_key))
        })
        .map(|(m, p)| {
            Evidence::own(
                power_method(p.kind).1,
                p.value,
                Some(m.record.record_key.clone()),
                date_of(&m.record),
            )
        })
}

/// Measured energy of the latest year any member was measured (GWh), summed over the
/// members measured that year (addresses whose series stops earlier are left out rather
/// than mixing years).
pub fn measured_energy(members: &[&LocatedRecord]) -> Option<(i32, f64, String)> {
    let year = members
        .iter()
        .flat_map(|m| m.record.energy.iter().map(|e| e.year))
        .max()?;
    let in_year: Vec<(&LocatedRecord, f64)> = members
        .iter()
        .filter_map(|m| {
            m.record
                .energy
                .iter()
                .find(|e| e.year == year)
                .map(|e| (*m, e.mwh))
        })
        .collect();
    let key = in_year.first()?.0.record.record_key.clone();
    let mwh: f64 = in_year.iter().map(|(_, v)| v).sum();
    Some((year, mwh / 1000.0, key))
}

/// A surface found among members: (m², record key, the record's date).
pub type Found = (f64, String, Option<(i32, u32)>);

/// The largest surface of the given kinds among the members.
pub fn surface(members: &[&LocatedRecord], kinds: &[SurfaceKind]) -> Option<Found> {
    members
        .iter()
        .flat_map(|m| m.record.surfaces.iter().map(move |s| (m, s)))
        .filter(|(_, s)| kinds.contains(&s.kind) && s.value_m2 > 0.0 && s.value_m2.is_finite())
        .max_by(|a, b| a.1.value_m2.total_cmp(&b.1.value_m2))
        .map(|(m, s)| (s.value_m2, m.record.record_key.clone(), date_of(&m.record)))
}

/// Surface kinds by rung: white space, then floor area (a surface of unstated kind counts as
/// floor area), then site area.
pub const SURFACE_RUNGS: [(Method, &[SurfaceKind]); 3] = [
    (Method::WhiteSpace, &[SurfaceKind::WhiteSpace]),
    (
        Method::FloorArea,
        &[SurfaceKind::FloorArea, SurfaceKind::Unspecified],
    ),
    (Method::SiteArea, &[SurfaceKind::SiteArea]),
];

/// The first surface rung the members have, with the other rungs they have (`also`).
pub fn surface_evidence(members: &[&LocatedRecord]) -> Option<Evidence> {
    let mut found = SURFACE_RUNGS.iter().filter_map(|(method, kinds)| {
        surface(members, kinds).map(|(m2, key, date)| (*method, m2, key, date))
    });
    let (method, m2, key, date) = found.next()?;
    let mut ev = Evidence::own(method, m2, Some(key), date);
    ev.also = found.map(|(method, m2, _, _)| (method, m2)).collect();
    Some(ev)
}

/// The facility's own evidence (powers only when `use_power`, measured energy only when
/// `use_measured`); `None` when it has neither a power, a measurement nor a surface.
pub fn own_evidence(
    members: &[&LocatedRecord],
    tiers: &HashMap<String, u8>,
    use_measured: bool,
    use_power: bool,
) -> Option<Evidence> {
    if use_power && let Some(e) = power_evidence(members, tiers) {
        return Some(e);
    }
    if use_measured && let Some((_, gwh, key)) = measured_energy(members) {
        return Some(Evidence::own(
            Method::MeasuredEnergy,
            gwh * 1000.0,
            Some(key),
            None,
        ));
    }
    surface_evidence(members)
}
