//! Locate stage: records → located records (commune, département, région) using the
//! [`AdminIndex`]. A point outside France is tried once with lat/lon swapped; a record without
//! a point falls back to its commune name, then its postcode, then its département. What
//! cannot be placed in France is dropped with a data issue.

use super::locate::{AdminIndex, Location};
use crate::model::{DataIssue, IssueAction, IssueCode, LonLat, PointPrecision, Record};

/// Points this far outside the simplified boundaries still count as inside (metres).
pub const BOUNDARY_TOLERANCE_M: f64 = 1500.0;

/// A record and where it is.
#[derive(Debug, Clone)]
pub struct LocatedRecord {
    pub record: Record,
    pub location: Location,
}

pub fn locate_records(
    index: &AdminIndex,
    records: Vec<Record>,
) -> (Vec<LocatedRecord>, Vec<DataIssue>) {
    let mut located = Vec::with_capacity(records.len());
    let mut issues = Vec::new();
    for mut record in records {
        let mut note = |code: IssueCode, action: IssueAction, message: String, r: &Record| {
            issues.push(DataIssue {
                source_id: r.source_id.clone(),
                code,
                action,
                file: r.provenance.file.clone(),
                locator: r.provenance.locator.clone(),
                record_key: Some(r.record_key.clone()),
                message,
            });
        };
        if let Some(p) = record.point {
            if let Some(loc) = index.locate(p.lon, p.lat, BOUNDARY_TOLERANCE_M) {
                if loc.distance_m > 0.0 {
                    note(
                        IssueCode::SnappedToBoundary,
                        IssueAction::Kept,
                        format!(
                            "({:.5}, {:.5}) is {:.0} m outside the boundaries; placed in département {}",
                            p.lon, p.lat, loc.distance_m, loc.departement_code
                        ),
                        &record,
                    );
                }
                located.push(LocatedRecord {
                    record,
                    location: loc,
                });
                continue;
            }
            if let Some(loc) = index.locate(p.lat, p.lon, BOUNDARY_TOLERANCE_M) {
                note(
                    IssueCode::CoordsSwapped,
                    IssueAction::Repaired,
                    format!(
                        "({}, {}) is outside France but inside once swapped; swapped",
                        p.lon, p.lat
                    ),
                    &record,
                );
                record.point = Some(LonLat {
                    lon: p.lat,
                    lat: p.lon,
                });
                located.push(LocatedRecord {
                    record,
                    location: loc,
                });
                continue;
            }
            note(
                IssueCode::OutsideFrance,
                IssueAction::Dropped,
                format!(
                    "({:.5}, {:.5}) is in no French département (metropolitan or overseas)",
                    p.lon, p.lat
                ),
                &record,
            );
            continue;
        }
        // No point: commune name, then postcode, then the département the source names.
        if let Some(name) = record.commune_name.clone()
            && let Some((loc, (lon, lat))) =
                index.locate_commune_name(&name, record.departement_hint.as_deref())
        {
            note(
                IssueCode::LocatedByCommune,
                IssueAction::Kept,
                format!(
                    "no point; placed inside the commune {name} ({:?})",
                    loc.commune_insee
                ),
                &record,
            );
            record.point = Some(LonLat { lon, lat });
            record.point_precision = PointPrecision::Commune;
            located.push(LocatedRecord {
                record,
                location: loc,
            });
            continue;
        }
        let by_postcode = record
            .address
            .postcode
            .as_deref()
            .and_then(|p| index.locate_postcode(p))
            .map(|l| (l, "postcode"));
        let by_dep = || {
            record
                .departement_hint
                .as_deref()
                .and_then(|d| index.locate_departement(d))
                .map(|l| (l, "département"))
        };
        match by_postcode.or_else(by_dep) {
            Some((loc, how)) => {
                note(
                    IssueCode::LocatedByPostcode,
                    IssueAction::Kept,
                    format!(
                        "no point; located in département {} by its {how}",
                        loc.departement_code
                    ),
                    &record,
                );
                located.push(LocatedRecord {
                    record,
                    location: loc,
                });
            }
            None => note(
                IssueCode::Unlocatable,
                IssueAction::Dropped,
                "no point, commune, postcode or département to place it".into(),
                &record,
            ),
        }
    }
    (located, issues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::locate::{AdminPolygon, CogDepartement, CogRegion, LocateMethod};
    use crate::model::Provenance;
    use geo::{LineString, MultiPolygon, Polygon};

    /// A synthetic square département 99 covering lon 2..3, lat 48..49, with one commune.
    fn index() -> AdminIndex {
        let square = |x0: f64, y0: f64, x1: f64, y1: f64| {
            MultiPolygon(vec![Polygon::new(
                LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
                vec![],
            )])
        };
        AdminIndex::new(
            vec![AdminPolygon {
                code: "93".into(),
                name: "Seine-Saint-Denis".into(),
                geometry: square(2.0, 48.0, 3.0, 49.0),
            }],
            vec![AdminPolygon {
                code: "93066".into(),
                name: "Saint-Denis".into(),
                geometry: square(2.0, 48.0, 2.5, 48.5),
            }],
            &[CogDepartement {
                code: "93".into(),
                region_code: "11".into(),
                name: "Seine-Saint-Denis".into(),
            }],
            &[CogRegion {
                code: "11".into(),
                name: "Île-de-France".into(),
            }],
        )
    }

    fn record(key: &str, point: Option<(f64, f64)>) -> Record {
        let mut r = Record::new(
            "test",
            key,
            Provenance {
                source_id: "test".into(),
                file: "f".into(),
                snapshot_sha256: String::new(),
                retrieved_at: String::new(),
                origin: String::new(),
                licence: String::new(),
                locator: key.into(),
            },
        );
        r.point = point.map(|(lon, lat)| LonLat { lon, lat });
        r
    }

    #[test]
    fn places_repairs_or_drops() {
        let mut by_commune = record("commune", None);
        by_commune.commune_name = Some("SAINT-DENIS".into());
        by_commune.departement_hint = Some("93".into());
        let mut by_postcode = record("postcode", None);
        by_postcode.address.postcode = Some("93200".into());
        let records = vec![
            record("inside", Some((2.2, 48.2))),
            record("swapped", Some((48.7, 2.7))),
            record("abroad", Some((13.4, 52.5))),
            by_commune,
            by_postcode,
            record("nothing", None),
        ];
        let (located, issues) = locate_records(&index(), records);
        let keys: Vec<&str> = located
            .iter()
            .map(|l| l.record.native_id.as_str())
            .collect();
        assert_eq!(keys, ["inside", "swapped", "commune", "postcode"]);
        assert_eq!(located[0].location.commune_insee.as_deref(), Some("93066"));
        assert_eq!(located[0].location.region_code, "11");
        let p = located[1].record.point.unwrap();
        assert_eq!((p.lon, p.lat), (2.7, 48.7));
        assert_eq!(located[2].record.point_precision, PointPrecision::Commune);
        assert_eq!(located[2].location.method, LocateMethod::CommuneName);
        assert!(located[3].record.point.is_none());
        let codes: Vec<(IssueCode, IssueAction)> =
            issues.iter().map(|i| (i.code, i.action)).collect();
        assert_eq!(
            codes,
            [
                (IssueCode::CoordsSwapped, IssueAction::Repaired),
                (IssueCode::OutsideFrance, IssueAction::Dropped),
                (IssueCode::LocatedByCommune, IssueAction::Kept),
                (IssueCode::LocatedByPostcode, IssueAction::Kept),
                (IssueCode::Unlocatable, IssueAction::Dropped),
            ]
        );
    }
}
