//! Locate stage: records → located records (commune, département, région) using the
//! [`AdminIndex`]. A point outside France is tried once with lat/lon swapped; a record without
//! a point falls back to its commune name, then its postcode, then its département. What
//! cannot be placed in France is dropped with a data issue.

use super::locate::{AdminIndex, Location};
use crate::model::{DataIssue, IssueAction, LonLat, PointPrecision, Record, issue_codes};

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
        let mut note = |code: &'static str, action: IssueAction, message: String, r: &Record| {
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
                        issue_codes::SNAPPED_TO_BOUNDARY,
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
                    issue_codes::COORDS_SWAPPED,
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
                issue_codes::OUTSIDE_FRANCE,
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
                issue_codes::LOCATED_BY_COMMUNE,
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
                    issue_codes::LOCATED_BY_POSTCODE,
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
                issue_codes::UNLOCATABLE,
                IssueAction::Dropped,
                "no point, commune, postcode or département to place it".into(),
                &record,
            ),
        }
    }
    (located, issues)
}
