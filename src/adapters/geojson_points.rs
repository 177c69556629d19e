//! Generic GeoJSON adapter: one record per Feature of a FeatureCollection, properties mapped by
//! the catalog; Point geometries give the point, other geometries their bounding-box centre
//! (reported), and a feature without geometry is kept for postcode location. Each feature is
//! decoded from its own slice of the file: a broken one is a data issue, not a failed file.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::lenient::{self, Doc};
use super::mapped::{self, Entry};
use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::model::{IssueAction, IssueCode, ParseOutput};

pub struct GeoJsonPoints;

impl Adapter for GeoJsonPoints {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let doc = Doc::open(input)?;
        let file = &input.file.name;
        // The collection with its features as raw slices, each decoded on its own.
        #[derive(Deserialize)]
        struct Collection<'a> {
            #[serde(rename = "type")]
            kind: Option<Value>,
            #[serde(borrow, default)]
            features: Option<Vec<&'a RawValue>>,
        }
        let collection: Collection<'_> = doc.parse()?;
        let features = match (&collection.kind, collection.features) {
            (Some(Value::String(k)), Some(f)) if k == "FeatureCollection" => f,
            _ => {
                return Err(ParseError::Structure {
                    file: file.clone(),
                    message: "expected a GeoJSON FeatureCollection".into(),
                });
            }
        };
        let mut out = ParseOutput::default();
        for (i, raw) in features.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("feature {i}");
            let (mut feature, flaws) = match lenient::object_entry(input, &doc, raw, &locator) {
                Ok(entry) => entry,
                Err(issue) => {
                    out.issues.push(*issue);
                    continue;
                }
            };
            let mut props = match feature.shift_remove("properties") {
                Some(Value::Object(p)) => p,
                _ => Map::new(),
            };
            let screened = lenient::screen(&mut props);
            let (point, geometry_issue) = feature_point(feature.get("geometry"));
            let entry = Entry {
                props: &props,
                geometry_point: point,
                locator: locator.clone(),
                position: i + 1,
            };
            mapped::add_entry(input, &entry, &flaws, &screened, &mut out, |record| {
                geometry_issue.map(|message| {
                    mapped::issue(
                        input,
                        IssueCode::BadGeometry,
                        IssueAction::Repaired,
                        &locator,
                        Some(&record.record_key),
                        message,
                    )
                })
            });
        }
        Ok(out)
    }
}

/// The point of a geometry, or None with a message when there is no usable one (a geometry
/// that is not GeoJSON is reported, and the feature kept without a point).
fn feature_point(geometry: Option<&Value>) -> (Option<(f64, f64)>, Option<String>) {
    let g = match geometry {
        None | Some(Value::Null) => return (None, None),
        Some(v) => match geojson::Geometry::from_json_value(v.clone()) {
            Ok(g) => g,
            Err(e) => {
                return (
                    None,
                    Some(format!("geometry is not GeoJSON ({e}); no point")),
                );
            }
        },
    };
    match &g.value {
        geojson::Value::Point(c) if c.len() >= 2 => (Some((c[0], c[1])), None),
        other => {
            let mut coords = Vec::new();
            collect_positions(other, &mut coords);
            if coords.is_empty() {
                return (None, Some("geometry without coordinates".into()));
            }
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for (x, y) in coords {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
            (
                Some(((x0 + x1) / 2.0, (y0 + y1) / 2.0)),
                Some(format!(
                    "{} geometry reduced to its bounding-box centre",
                    other.type_name()
                )),
            )
        }
    }
}

fn collect_positions(v: &geojson::Value, out: &mut Vec<(f64, f64)>) {
    use geojson::Value as G;
    let push = |p: &Vec<f64>, out: &mut Vec<(f64, f64)>| {
        if p.len() >= 2 {
            out.push((p[0], p[1]));
        }
    };
    match v {
        G::Point(p) => push(p, out),
        G::MultiPoint(ps) | G::LineString(ps) => ps.iter().for_each(|p| push(p, out)),
        G::MultiLineString(ls) | G::Polygon(ls) => ls.iter().flatten().for_each(|p| push(p, out)),
        G::MultiPolygon(pss) => pss.iter().flatten().flatten().for_each(|p| push(p, out)),
        G::GeometryCollection(gs) => gs.iter().for_each(|g| collect_positions(&g.value, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = concat!(
        test_source_header!("osm-datacenters", "geojson"),
        r#"
[mapping]
id = "osm_id"
id_style = "osm_type_id"
osm_type = "osm_type"
name = "name"
operator = "operator"
default_status = "operating"
[[files]]
name = "dc.geojson"
"#
    );

    // Synthetic features in the exact property layout of the OSM extract.
    const GJ: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","geometry":{"type":"Point","coordinates":[2.3399387,48.9196226]},
  "properties":{"osm_id":8297362166,"osm_type":"node","name":"Datacenter RTE","operator":"RTE"}},
 {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[2.0,48.0],[2.2,48.0],[2.2,48.2],[2.0,48.0]]]},
  "properties":{"osm_id":45,"osm_type":"way","name":"","operator":""}},
 {"type":"Feature","geometry":null,"properties":{"osm_id":6,"osm_type":"relation","name":"X"}}
]}"#;

    #[test]
    fn maps_osm_ids_and_geometries() {
        let s = spec(SPEC);
        let out = GeoJsonPoints.parse(&input(&s, GJ.as_bytes())).unwrap();
        let keys: Vec<&str> = out.records.iter().map(|r| r.record_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "osm-datacenters:node/8297362166",
                "osm-datacenters:way/45",
                "osm-datacenters:relation/6"
            ]
        );
        assert_eq!(out.records[0].operator.as_deref(), Some("RTE"));
        assert_eq!(out.records[0].status, crate::model::Status::Operating);
        let p = out.records[1].point.unwrap();
        assert!((p.lon - 2.1).abs() < 1e-9 && (p.lat - 48.1).abs() < 1e-9);
        assert!(out.issues.iter().any(|i| i.code == "bad_geometry"));
        assert!(out.records[2].point.is_none());
        assert!(out.issues.iter().any(|i| i.code == "missing_coords"));
    }

    #[test]
    fn truncated_json_fails_naming_the_file() {
        let s = spec(SPEC);
        let err = GeoJsonPoints
            .parse(&input(&s, &GJ.as_bytes()[..120]))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("dc.geojson: invalid JSON"), "{err}");
    }
}
