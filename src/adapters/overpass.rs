//! Overpass adapter: an Overpass API `[out:json]` response (`out geom` / `out center`) → one
//! record per data-centre element (nodes, ways, multipolygons), with its representative
//! point, its footprint area on the ellipsoid and the gross floor area (footprint ×
//! `building:levels`) as surfaces, the lifecycle status from prefixed tags, and the power and
//! floor-area tags (`data_center:input`, `data_center:load`, `data_center:floor_area`).
//! The outline itself is kept on the record (`footprint`) for the cadastre stage.
//! Telephone exchanges are not data centres: they are dropped with a data issue.

use serde_json::value::RawValue;

use super::lenient::{self, Doc};
use super::mapped::issue;
use super::{Adapter, FileInput, fields};
use crate::error::ParseError;
use crate::model::{
    DataIssue, Footprint, IssueAction, IssueCode, LonLat, ParseOutput, PointPrecision, PowerFact,
    PowerKind, Record, Status, SurfaceFact, SurfaceKind,
};
use crate::osm::{
    DataCentreFilter, DcStatus, OsmError, OsmFeature, OsmGeometry, OsmIssue, area_m2,
    parse_overpass_named,
};

pub struct Overpass;

fn status(s: DcStatus) -> Status {
    match s {
        DcStatus::Operating => Status::Operating,
        DcStatus::UnderConstruction => Status::UnderConstruction,
        DcStatus::Project => Status::Project,
        DcStatus::Disused | DcStatus::Abandoned => Status::Disused,
    }
}

impl Adapter for Overpass {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let (features, osm_issues, element_issues) = elements(input)?;
        let mut out = ParseOutput {
            units_read: features.len() + osm_issues.len(),
            ..ParseOutput::default()
        };
        for i in element_issues {
            if i.action == IssueAction::Dropped {
                out.units_read += 1;
            }
            out.issues.push(i);
        }
        for i in &osm_issues {
            out.issues.push(issue(
                input,
                IssueCode::BadGeometry,
                IssueAction::Dropped,
                &i.element,
                None,
                format!("{}: {}", i.code, i.message),
            ));
        }
        let filter = DataCentreFilter::new(false);
        for f in features {
            let element = format!("{}/{}", f.osm_type.as_str(), f.id);
            let tags: Vec<(&str, &str)> = f
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let tag = |k: &str| {
                tags.iter()
                    .find(|(key, _)| *key == k)
                    .and_then(|(_, v)| fields::clean_text(v).0)
            };
            let Some(m) = filter.classify(&tags) else {
                out.issues.push(issue(
                    input,
                    IssueCode::NotADataCentre,
                    IssueAction::Dropped,
                    &element,
                    None,
                    "not tagged as a data centre (telephone exchanges are not data centres)".into(),
                ));
                continue;
            };
            let mut r = Record::new(
                &input.spec.id,
                &element,
                input.provenance_at(element.clone()),
            );
            r.osm_ref = Some(element.clone());
            r.name = tag("name");
            r.operator = tag("operator");
            r.operator_wikidata = tag("operator:wikidata");
            r.website = tag("website");
            r.address.housenumber = tag("addr:housenumber");
            r.address.street = tag("addr:street");
            r.address.postcode = tag("addr:postcode");
            r.address.city = tag("addr:city");
            r.commune_name.clone_from(&r.address.city);
            if let Some(code) = tag("ref") {
                r.codes = fields::ref_codes(&code);
            }
            for n in r.name.iter() {
                for c in fields::site_codes(n) {
                    if !r.codes.contains(&c) {
                        r.codes.push(c);
                    }
                }
            }
            r.status = status(m.status);
            r.status_text = Some(format!("{}={}", m.key, m.value));
            r.description = tag("start_date").map(|d| format!("start_date {d}"));
            match &f.geometry {
                OsmGeometry::Point { lon, lat } => {
                    r.point = Some(LonLat {
                        lon: *lon,
                        lat: *lat,
                    });
                }
                OsmGeometry::Area(shape) => {
                    if let Some(p) = crate::osm::representative_point(shape) {
                        r.point = Some(LonLat {
                            lon: p.x(),
                            lat: p.y(),
                        });
                    }
                    let footprint = area_m2(shape);
                    r.surfaces.push(SurfaceFact {
                        value_m2: (footprint * 10.0).round() / 10.0,
                        kind: SurfaceKind::Footprint,
                        kind_text: Some("OSM outline, area on the WGS84 ellipsoid".into()),
                        field: "geometry".into(),
                    });
                    let levels = tag("building:levels")
                        .and_then(|l| l.parse::<f64>().ok())
                        .filter(|l| *l >= 1.0 && *l < 100.0);
                    r.footprint = Some(Footprint {
                        geometry: shape.clone(),
                        area_m2: footprint,
                        levels,
                    });
                    if let Some(levels) = levels {
                        r.surfaces.push(SurfaceFact {
                            value_m2: (footprint * levels * 10.0).round() / 10.0,
                            kind: SurfaceKind::FloorArea,
                            kind_text: Some(format!("footprint × building:levels ({levels})")),
                            field: "building:levels".into(),
                        });
                    }
                }
            }
            r.point_precision = if r.point.is_some() {
                PointPrecision::Building
            } else {
                PointPrecision::None
            };
            if let Some(q) = tag("data_center:floor_area").and_then(|t| fields::parse_quantity(&t))
                && let Some(m2) = fields::to_m2(q)
            {
                r.surfaces.push(SurfaceFact {
                    value_m2: m2,
                    kind: SurfaceKind::FloorArea,
                    kind_text: Some("data_center:floor_area".into()),
                    field: "data_center:floor_area".into(),
                });
            }
            for (key, kind) in [
                ("data_center:load", PowerKind::It),
                ("data_center:input", PowerKind::Facility),
                ("data_center:power", PowerKind::Unspecified),
            ] {
                let Some(text) = tag(key) else { continue };
                match fields::parse_quantity(&text).and_then(fields::to_mw) {
                    Some((value, unit)) => r.powers.push(PowerFact {
                        value,
                        unit,
                        kind: if unit == "MVA" {
                            PowerKind::GridMva
                        } else {
                            kind
                        },
                        kind_text: Some(key.into()),
                        field: key.into(),
                    }),
                    None => out.issues.push(issue(
                        input,
                        IssueCode::UnparsedQuantity,
                        IssueAction::ValueIgnored,
                        &element,
                        Some(&r.record_key),
                        format!("`{key}` = `{text}` is not a power"),
                    )),
                }
            }
            out.records.push(r);
        }
        Ok(out)
    }
}

/// Features, OSM issues (geometry) and data issues (broken elements) of a response.
type Elements = (Vec<OsmFeature>, Vec<OsmIssue>, Vec<DataIssue>);

/// The features of a response and the issues of its elements. Fast path: the whole response
/// at once. When that fails on a broken element, each element is read on its own (an `out
/// geom` element carries its own geometry), and the broken ones become data issues; a
/// response that is not JSON, cut short, or whose `remark` reports an error still fails.
fn elements(input: &FileInput<'_>) -> Result<Elements, ParseError> {
    let file = input.file.name.clone();
    let structure = |e: OsmError| ParseError::Structure {
        file: file.clone(),
        message: e.to_string(),
    };
    let doc = Doc::open(input)?;
    let fast = parse_overpass_named(doc.text().as_bytes(), &file);
    let mut issues = Vec::new();
    match fast {
        // When decoding repaired something, the elements below name where.
        Ok((features, osm_issues)) if !doc.has_flaws() => {
            return Ok((features, osm_issues, issues));
        }
        Err(e @ OsmError::OverpassRemark { .. }) => return Err(structure(e)),
        _ => {}
    }
    #[derive(serde::Deserialize)]
    struct Response<'a> {
        #[serde(borrow, default)]
        elements: Vec<&'a RawValue>,
        #[serde(default)]
        remark: Option<serde_json::Value>,
    }
    let response: Response<'_> = doc.parse()?;
    if let Some(serde_json::Value::String(remark)) = &response.remark
        && remark.to_ascii_lowercase().contains("error")
    {
        return Err(structure(OsmError::OverpassRemark {
            file: file.clone(),
            remark: remark.clone(),
        }));
    }
    let (mut features, mut osm_issues) = (Vec::new(), Vec::new());
    for (i, raw) in response.elements.iter().enumerate() {
        let locator = format!("elements[{i}]");
        let (value, flaws) = match doc.value(raw) {
            Ok(v) => v,
            Err(message) => {
                issues.push(lenient::unreadable(input, &locator, &message));
                continue;
            }
        };
        if !value.is_object() {
            issues.push(lenient::not_an_object(input, &locator, &value));
            continue;
        }
        issues.extend(lenient::flaw_issues(input, &flaws, &[], &locator, None));
        let one = serde_json::json!({ "elements": [value] }).to_string();
        match parse_overpass_named(one.as_bytes(), &file) {
            Ok((f, o)) => {
                features.extend(f);
                osm_issues.extend(o);
            }
            Err(e) => issues.push(issue(
                input,
                IssueCode::WrongJsonType,
                IssueAction::Dropped,
                &locator,
                None,
                format!("not an Overpass element: {e}"),
            )),
        }
    }
    Ok((features, osm_issues, issues))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    #[test]
    fn reads_the_synthetic_overpass_fixture() {
        let s = spec(
            "id = \"osm-overpass\"\ntitle = \"t\"\npublisher = \"p\"\nlicence = \"ODbL-1.0\"\nattribution = \"a\"\ntrust_tier = 3\nadapter = \"overpass\"\n[[files]]\nname = \"data_centres_geom.json\"\n",
        );
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/overpass/data_centres_geom.json"),
        )
        .unwrap();
        let out = Overpass.parse(&input(&s, &bytes)).unwrap();
        assert!(!out.records.is_empty());
        assert!(out.records.iter().any(|r| {
            r.surfaces
                .iter()
                .any(|f| f.kind == SurfaceKind::Footprint && f.value_m2 > 0.0)
        }));
        // The multipolygon keeps its outline, hole included, and its area.
        let campus = out
            .records
            .iter()
            .find(|r| r.native_id == "relation/3001")
            .unwrap();
        let fp = campus.footprint.as_ref().unwrap();
        assert_eq!(fp.geometry.0.len(), 1);
        assert_eq!(fp.geometry.0[0].interiors().len(), 1);
        assert!((crate::osm::area_m2(&fp.geometry) - fp.area_m2).abs() < 1e-6);
        assert!(
            out.records
                .iter()
                .filter(|r| r.native_id.starts_with("node/"))
                .all(|r| r.footprint.is_none())
        );
        assert!(
            out.records
                .iter()
                .any(|r| r.status == Status::UnderConstruction)
        );
        assert!(
            out.issues
                .iter()
                .any(|i| i.code == IssueCode::NotADataCentre)
        );
        let dropped = out
            .issues
            .iter()
            .filter(|i| i.action == IssueAction::Dropped)
            .count();
        assert_eq!(out.records.len() + dropped, out.units_read);
    }
}
