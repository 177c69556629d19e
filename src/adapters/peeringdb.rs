//! PeeringDB facilities adapter: the JSON of the PeeringDB API `/api/fac` (`{"data": [...],
//! "meta": {}}`, as downloaded or as merged by the incremental fetch) → one record per
//! facility with its PeeringDB id, name (and `aka` / `name_long` as other names), operator
//! (`org_name`), street address, postcode and city, website, status and point (address-level:
//! PeeringDB geocodes the address; no point when the coordinates are null or 0,0). Objects of
//! another country and deleted objects are dropped with a data issue.

use serde_json::{Map, Value};

use serde_json::value::RawValue;

use super::lenient::{self, Doc};
use super::mapped::{PointCheck, check_point, get_f64, get_str, issue};
use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::model::{
    DataIssue, IssueAction, IssueCode, ParseOutput, PointPrecision, Record, Status,
};

pub struct PeeringDbFacilities;

impl Adapter for PeeringDbFacilities {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let file = input.file.name.clone();
        let doc = Doc::open(input)?;
        #[derive(serde::Deserialize)]
        struct Answer<'a> {
            #[serde(borrow)]
            data: Option<&'a RawValue>,
        }
        let answer: Answer<'_> = match doc.parse() {
            Ok(a) => a,
            Err(ParseError::Json { .. }) if doc.parse::<serde::de::IgnoredAny>().is_ok() => {
                Answer { data: None }
            }
            Err(e) => return Err(e),
        };
        let data: Option<Vec<&RawValue>> =
            answer.data.and_then(|d| serde_json::from_str(d.get()).ok());
        let Some(data) = data else {
            return Err(ParseError::Structure {
                file,
                message: "no `data` array: not a PeeringDB API answer".into(),
            });
        };
        let mut out = ParseOutput {
            units_read: data.len(),
            ..ParseOutput::default()
        };
        for (i, raw) in data.iter().enumerate() {
            let locator = format!("data[{i}]");
            let (mut obj, flaws) = match lenient::object_entry(input, &doc, raw, &locator) {
                Ok(entry) => entry,
                Err(issue) => {
                    out.issues.push(*issue);
                    continue;
                }
            };
            let screened = lenient::screen(&mut obj);
            match facility(input, &obj, &locator) {
                Ok((record, issues)) => {
                    let key = Some(record.record_key.as_str());
                    out.issues.extend(lenient::flaw_issues(
                        input, &flaws, &screened, &locator, key,
                    ));
                    out.issues.extend(issues);
                    out.records.push(record);
                }
                Err(dropped) => {
                    out.issues.extend(lenient::flaw_issues(
                        input, &flaws, &screened, &locator, None,
                    ));
                    out.issues.push(*dropped);
                }
            }
        }
        Ok(out)
    }
}

/// One facility with the issues of its values, or the data issue that drops it.
fn facility(
    input: &FileInput<'_>,
    obj: &Map<String, Value>,
    locator: &str,
) -> Result<(Record, Vec<DataIssue>), Box<DataIssue>> {
    let drop = |code, message: String| {
        Box::new(issue(
            input,
            code,
            IssueAction::Dropped,
            locator,
            None,
            message,
        ))
    };
    let Some(id) = obj.get("id").and_then(Value::as_i64) else {
        return Err(drop(IssueCode::RowShapeMismatch, "no integer `id`".into()));
    };
    let status = get_str(obj, "status");
    if status.as_deref() == Some("deleted") {
        return Err(drop(
            IssueCode::DeletedAtSource,
            format!("facility {id} is deleted in PeeringDB"),
        ));
    }
    let country = get_str(obj, "country");
    if country
        .as_deref()
        .is_some_and(|c| !c.eq_ignore_ascii_case("FR"))
    {
        return Err(drop(
            IssueCode::OutsideFrance,
            format!(
                "facility {id} is in country {}",
                country.unwrap_or_default()
            ),
        ));
    }
    let native = id.to_string();
    let mut r = Record::new(
        &input.spec.id,
        &native,
        input.provenance_at(format!("fac/{id}")),
    );
    r.peeringdb_fac_id = Some(id);
    r.name = get_str(obj, "name");
    for key in ["aka", "name_long"] {
        if let Some(alt) = get_str(obj, key)
            && Some(&alt) != r.name.as_ref()
            && !r.alt_names.contains(&alt)
        {
            r.alt_names.push(alt);
        }
    }
    for n in r.name.iter().chain(&r.alt_names) {
        for c in super::fields::site_codes(n) {
            if !r.codes.contains(&c) {
                r.codes.push(c);
            }
        }
    }
    r.operator = get_str(obj, "org_name");
    r.website = get_str(obj, "website");
    let lines: Vec<String> = ["address1", "address2"]
        .iter()
        .filter_map(|k| get_str(obj, k))
        .collect();
    r.address.street = lines.first().cloned();
    r.address.postcode = get_str(obj, "zipcode");
    r.address.city = get_str(obj, "city");
    let tail = [r.address.postcode.clone(), r.address.city.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let full: Vec<String> = lines
        .into_iter()
        .chain((!tail.is_empty()).then_some(tail))
        .collect();
    r.address.full = (!full.is_empty()).then(|| full.join(", "));
    r.commune_name.clone_from(&r.address.city);
    r.status = match status.as_deref() {
        Some("ok") => Status::Operating,
        _ => Status::Unknown,
    };
    r.status_text = status.map(|s| format!("PeeringDB status {s}"));
    let mut issues = Vec::new();
    let (lat, lon) = (get_f64(obj, "latitude"), get_f64(obj, "longitude"));
    let report = |code, message: String| {
        issue(
            input,
            code,
            IssueAction::Repaired,
            &r.provenance.locator,
            Some(&r.record_key),
            message,
        )
    };
    // Null, or 0,0 (PeeringDB's "not geocoded"), is no point and no issue.
    let point = match (lat, lon) {
        (Some(lat), Some(lon)) if !(lat == 0.0 && lon == 0.0) => match check_point(lon, lat) {
            PointCheck::Ok(p) => Some(p),
            PointCheck::Swapped(p) => {
                issues.push(report(
                    IssueCode::CoordsSwapped,
                    format!("latitude {lat} is out of range; swapped with longitude {lon}"),
                ));
                Some(p)
            }
            PointCheck::Invalid => {
                issues.push(report(
                    IssueCode::InvalidCoords,
                    format!("coordinates ({lon}, {lat}) are not a valid lon/lat; point removed"),
                ));
                None
            }
        },
        _ => None,
    };
    if let Some(p) = point {
        r.point = Some(p);
        r.point_precision = PointPrecision::Address;
    }
    Ok((r, issues))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    fn peeringdb_spec() -> crate::catalog::SourceSpec {
        spec(
            "id = \"peeringdb-fac\"\ntitle = \"t\"\npublisher = \"p\"\nlicence = \"l\"\nattribution = \"a\"\ntrust_tier = 2\nadapter = \"peeringdb\"\n[[files]]\nname = \"fac.json\"\n",
        )
    }

    #[test]
    fn reads_the_synthetic_fixture() {
        let s = peeringdb_spec();
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/peeringdb/fac_FR_full.json"),
        )
        .unwrap();
        let out = PeeringDbFacilities.parse(&input(&s, &bytes)).unwrap();
        assert_eq!(out.units_read, out.records.len() + out.issues.len());
        let first = &out.records[0];
        assert_eq!(first.peeringdb_fac_id, Some(9001));
        assert_eq!(first.point_precision, PointPrecision::Address);
        assert_eq!(first.status, Status::Operating);
        assert!(first.operator.is_some() && first.address.postcode.is_some());
        let no_point = out.records.iter().find(|r| r.point.is_none()).unwrap();
        assert_eq!(no_point.point_precision, PointPrecision::None);
        assert!(no_point.commune_name.is_some());
    }

    #[test]
    fn other_countries_and_deleted_objects_are_dropped() {
        let s = peeringdb_spec();
        let bytes = br#"{"data":[{"id":1,"name":"X","country":"BE","status":"ok"},{"id":2,"name":"Y","country":"FR","status":"deleted"},{"id":3,"name":"Z","country":"FR","status":"ok","latitude":null,"longitude":null}],"meta":{}}"#;
        let out = PeeringDbFacilities.parse(&input(&s, bytes)).unwrap();
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.issues.len(), 2);
        assert_eq!(out.issues[0].code, IssueCode::OutsideFrance);
    }

    #[test]
    fn coordinates_go_through_the_point_check() {
        let s = peeringdb_spec();
        let bytes = br#"{"data":[{"id":1,"name":"A","country":"FR","latitude":150.5,"longitude":45.2},{"id":2,"name":"B","country":"FR","latitude":95,"longitude":200},{"id":3,"name":"C","country":"FR","latitude":1e309,"longitude":2},"fac"],"meta":{}}"#;
        let out = PeeringDbFacilities.parse(&input(&s, bytes)).unwrap();
        assert_eq!(out.records.len(), 3);
        assert_eq!(out.records[0].point.unwrap().lat, 45.2);
        assert!(out.records[1].point.is_none() && out.records[2].point.is_none());
        let codes: Vec<&str> = out.issues.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "coords_swapped",
                "invalid_coords",
                "non_finite_number",
                "not_an_object"
            ]
        );
    }

    #[test]
    fn a_non_peeringdb_document_fails_the_file() {
        let s = peeringdb_spec();
        assert!(PeeringDbFacilities.parse(&input(&s, b"[]")).is_err());
    }
}
