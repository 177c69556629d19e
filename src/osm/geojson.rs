//! GeoJSON output. In: `OsmFeature`s. Out: one RFC 7946 FeatureCollection written to any
//! `Write`, one feature per line: nodes as `Point`, areas as `Polygon` (one part) or
//! `MultiPolygon`, lon/lat with at most 7 decimals (OSM's precision), outer rings
//! counter-clockwise. Properties: `osm_type` ("node"/"way"/"relation"), `osm_id` (number), then
//! every tag (a tag named `osm_type` or `osm_id` is left out, so that keys stay unique).

use std::fmt::Write as _;
use std::io::{self, Write};

use geo::{LineString, Polygon};

use super::{OsmFeature, OsmGeometry};

/// Writes `features` as a FeatureCollection. The writer is not flushed beyond what `write_all`
/// does; wrap files in a `BufWriter`.
pub fn write_geojson<W: Write>(features: &[OsmFeature], mut writer: W) -> io::Result<()> {
    writer.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")?;
    let mut line = String::new();
    for (i, feature) in features.iter().enumerate() {
        line.clear();
        if i > 0 {
            line.push_str(",\n");
        }
        feature_json(feature, &mut line).map_err(io::Error::other)?;
        writer.write_all(line.as_bytes())?;
    }
    writer.write_all(b"\n]}\n")?;
    writer.flush()
}

/// One feature as a GeoJSON object (no trailing newline).
pub fn feature_json(feature: &OsmFeature, out: &mut String) -> Result<(), serde_json::Error> {
    out.push_str("{\"type\":\"Feature\",\"geometry\":");
    match &feature.geometry {
        OsmGeometry::Point { lon, lat } => {
            out.push_str("{\"type\":\"Point\",\"coordinates\":");
            push_position(out, *lon, *lat);
            out.push('}');
        }
        OsmGeometry::Area(mp) if mp.0.len() == 1 => {
            out.push_str("{\"type\":\"Polygon\",\"coordinates\":");
            push_polygon(out, &mp.0[0]);
            out.push('}');
        }
        OsmGeometry::Area(mp) => {
            out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
            for (i, p) in mp.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_polygon(out, p);
            }
            out.push_str("]}");
        }
    }
    out.push_str(",\"properties\":{\"osm_type\":\"");
    out.push_str(feature.osm_type.as_str());
    out.push_str("\",\"osm_id\":");
    let _ = write!(out, "{}", feature.id);
    for (k, v) in &feature.tags {
        if k == "osm_type" || k == "osm_id" {
            continue;
        }
        out.push(',');
        out.push_str(&serde_json::to_string(k)?);
        out.push(':');
        out.push_str(&serde_json::to_string(v)?);
    }
    out.push_str("}}");
    Ok(())
}

fn push_polygon(out: &mut String, polygon: &Polygon<f64>) {
    out.push('[');
    push_ring(out, polygon.exterior());
    for hole in polygon.interiors() {
        out.push(',');
        push_ring(out, hole);
    }
    out.push(']');
}

fn push_ring(out: &mut String, ring: &LineString<f64>) {
    out.push('[');
    for (i, c) in ring.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_position(out, c.x, c.y);
    }
    out.push(']');
}

fn push_position(out: &mut String, lon: f64, lat: f64) {
    out.push('[');
    push_number(out, lon);
    out.push(',');
    push_number(out, lat);
    out.push(']');
}

/// At most 7 decimals, trailing zeros dropped (`24.93`, `-3`); never `NaN` (written as 0).
fn push_number(out: &mut String, v: f64) {
    let v = if v.is_finite() { v } else { 0.0 };
    let start = out.len();
    let _ = write!(out, "{v:.7}");
    let trimmed = out[start..]
        .trim_end_matches('0')
        .trim_end_matches('.')
        .len();
    out.truncate(start + trimmed);
    if &out[start..] == "-0" {
        out.truncate(start);
        out.push('0');
    }
}

#[cfg(test)]
mod tests {
    use super::super::OsmType;
    use super::*;
    use geo::{Coord, MultiPolygon};

    #[test]
    fn writes_rfc7946_feature_collection() {
        let ring = LineString(
            [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]
                .iter()
                .map(|&(x, y)| Coord { x, y })
                .collect(),
        );
        let features = vec![
            OsmFeature {
                osm_type: OsmType::Node,
                id: 1,
                tags: vec![("name".into(), "A \"quoted\" name".into())],
                geometry: OsmGeometry::Point {
                    lon: 2.123456789,
                    lat: -0.00000001,
                },
            },
            OsmFeature {
                osm_type: OsmType::Way,
                id: 2,
                tags: vec![
                    ("osm_id".into(), "x".into()),
                    ("building".into(), "yes".into()),
                ],
                geometry: OsmGeometry::Area(MultiPolygon(vec![Polygon::new(ring.clone(), vec![])])),
            },
            OsmFeature {
                osm_type: OsmType::Relation,
                id: 3,
                tags: vec![],
                geometry: OsmGeometry::Area(MultiPolygon(vec![
                    Polygon::new(ring.clone(), vec![]),
                    Polygon::new(ring, vec![]),
                ])),
            },
        ];
        let mut out = Vec::new();
        write_geojson(&features, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        let f = &v["features"];
        assert_eq!(f[0]["geometry"]["type"], "Point");
        assert_eq!(f[0]["geometry"]["coordinates"][0].as_f64(), Some(2.1234568));
        assert_eq!(f[0]["geometry"]["coordinates"][1].as_f64(), Some(0.0));
        assert_eq!(f[0]["properties"]["name"], "A \"quoted\" name");
        assert_eq!(f[0]["properties"]["osm_type"], "node");
        assert_eq!(f[1]["geometry"]["type"], "Polygon");
        assert_eq!(f[1]["properties"]["osm_id"], 2);
        assert_eq!(f[1]["properties"]["building"], "yes");
        assert_eq!(f[2]["geometry"]["type"], "MultiPolygon");
        assert_eq!(f[2]["properties"]["osm_type"], "relation");
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("[1,1]"), "{text}");
    }
}
