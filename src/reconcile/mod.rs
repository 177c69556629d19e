//! Reconcile stage: located records → facilities. For now one facility per record (the
//! cross-source matching is the next step); the `facility_id` / `members` seam is final:
//! ids are derived from the member record keys, so the same inputs give the same ids.

use crate::fetch::sha256_hex;
use crate::geo::locate::Location;
use crate::geo::stage::LocatedRecord;
use crate::model::{LonLat, PointPrecision, Status};

/// One real site, made of one or more records.
#[derive(Debug, Clone)]
pub struct Facility {
    /// `fr-` + 12 hex digits of sha256 of the founding member's record key.
    pub facility_id: String,
    /// Record keys, sorted.
    pub members: Vec<String>,
    /// Source ids, sorted, unique.
    pub sources: Vec<String>,
    pub name: Option<String>,
    pub operator: Option<String>,
    pub codes: Vec<String>,
    pub status: Status,
    /// `unknown` until the estimate stage classifies facilities.
    pub typology: String,
    pub point: Option<LonLat>,
    pub point_precision: PointPrecision,
    pub location: Location,
}

/// The stable id of a facility founded by `record_key`.
pub fn facility_id(record_key: &str) -> String {
    format!("fr-{}", &sha256_hex(record_key.as_bytes())[..12])
}

/// One facility per record, in record-key order. Returns the facilities and, for each
/// located record (same order as the input), the id of its facility.
pub fn facilities_one_per_record(records: &[LocatedRecord]) -> (Vec<Facility>, Vec<String>) {
    let mut facilities: Vec<Facility> = records
        .iter()
        .map(|lr| {
            let r = &lr.record;
            Facility {
                facility_id: facility_id(&r.record_key),
                members: vec![r.record_key.clone()],
                sources: vec![r.source_id.clone()],
                name: r.name.clone(),
                operator: r.operator.clone(),
                codes: r.codes.clone(),
                status: r.status,
                typology: "unknown".into(),
                point: r.point,
                point_precision: r.point_precision,
                location: lr.location.clone(),
            }
        })
        .collect();
    let ids = facilities.iter().map(|f| f.facility_id.clone()).collect();
    facilities.sort_by(|a, b| a.facility_id.cmp(&b.facility_id));
    (facilities, ids)
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
