//! Overpass API. In: the bytes of an `[out:json]` response, from `out geom;` (ways carry
//! `geometry: [{lat, lon}]`, relations carry `members` with a `geometry` per way member and a
//! `role`) or from `out center;` (ways and relations carry `center: {lat, lon}`), plus plain
//! nodes. Out: one `OsmFeature` per tagged element (nodes → points, closed ways and
//! multipolygon relations → areas, `out center` elements → points) and the issues of the
//! others. Also builds the Overpass QL query for every data-centre tagging, over France or a
//! bounding box.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::assemble::{Loc, MemberWay, Role, assemble_area};
use super::filter::{DC_KEYS, DC_VALUES, EXCHANGE_TAGS, LIFECYCLE_PREFIXES};
use super::{IssueCode, OsmError, OsmFeature, OsmGeometry, OsmIssue, OsmType};

/// Where to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverpassArea {
    /// The French Republic's admin_level=2 boundary (metropolitan and overseas).
    France,
    /// A bounding box in degrees.
    Bbox {
        south: f64,
        west: f64,
        north: f64,
        east: f64,
    },
}

/// Which `out` statement: full geometries, or one centre point per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverpassOutput {
    Geom,
    Center,
}

/// The data-centre query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverpassQuery {
    pub area: OverpassArea,
    pub timeout_s: u32,
    pub include_exchanges: bool,
    pub output: OverpassOutput,
}

impl Default for OverpassQuery {
    fn default() -> Self {
        OverpassQuery {
            area: OverpassArea::France,
            timeout_s: 600,
            include_exchanges: false,
            output: OverpassOutput::Geom,
        }
    }
}

impl OverpassQuery {
    /// The Overpass QL text: every tagging `DataCentreFilter` accepts, on nodes, ways and
    /// relations (`nwr`), then `out geom;` or `out center;`.
    pub fn to_ql(&self) -> String {
        let (prelude, scope) = match self.area {
            OverpassArea::France => (
                "area[\"ISO3166-1\"=\"FR\"][admin_level=2]->.searchArea;\n".to_string(),
                "(area.searchArea)".to_string(),
            ),
            OverpassArea::Bbox {
                south,
                west,
                north,
                east,
            } => (String::new(), format!("({south},{west},{north},{east})")),
        };
        let dc = format!("^({})$", DC_VALUES.join("|"));
        let prefixes = LIFECYCLE_PREFIXES
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .join("|");
        let mut clauses = Vec::new();
        for key in DC_KEYS {
            clauses.push(format!("nwr[\"{key}\"~\"{dc}\"]"));
        }
        clauses.push(format!(
            "nwr[~\"^({prefixes}):({})$\"~\"{dc}\"]",
            DC_KEYS.join("|")
        ));
        clauses.push(format!(
            "nwr[\"building\"=\"construction\"][\"construction\"~\"{dc}\"]"
        ));
        if self.include_exchanges {
            let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (k, v) in EXCHANGE_TAGS {
                by_key.entry(k).or_default().push(v);
            }
            for (k, values) in by_key {
                let re = format!("^({})$", values.join("|"));
                clauses.push(format!("nwr[\"{k}\"~\"{re}\"]"));
                clauses.push(format!("nwr[~\"^({prefixes}):{k}$\"~\"{re}\"]"));
            }
        }
        let mut ql = format!("[out:json][timeout:{}];\n{prelude}(\n", self.timeout_s);
        for c in clauses {
            ql.push_str("  ");
            ql.push_str(&c);
            ql.push_str(&scope);
            ql.push_str(";\n");
        }
        ql.push_str(");\n");
        ql.push_str(match self.output {
            OverpassOutput::Geom => "out geom;\n",
            OverpassOutput::Center => "out center;\n",
        });
        ql
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(default)]
    elements: Vec<Element>,
    #[serde(default)]
    remark: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LatLon {
    lat: f64,
    lon: f64,
}

#[derive(Debug, Deserialize)]
struct Element {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
    lat: Option<f64>,
    lon: Option<f64>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    nodes: Vec<i64>,
    #[serde(default)]
    geometry: Option<Vec<Option<LatLon>>>,
    center: Option<LatLon>,
    #[serde(default)]
    members: Vec<Member>,
}

#[derive(Debug, Deserialize)]
struct Member {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "ref")]
    id: i64,
    #[serde(default)]
    role: String,
    #[serde(default)]
    geometry: Option<Vec<Option<LatLon>>>,
}

/// Parses an Overpass `[out:json]` response (see the module doc). Errors name the input as
/// "Overpass response"; use `parse_overpass_named` to name a file.
pub fn parse_overpass(bytes: &[u8]) -> Result<(Vec<OsmFeature>, Vec<OsmIssue>), OsmError> {
    parse_overpass_named(bytes, "Overpass response")
}

/// `parse_overpass`, with errors naming `file`. A response whose `remark` reports an error
/// (a timeout or out-of-memory cut the result short) is an error, not a partial result.
pub fn parse_overpass_named(
    bytes: &[u8],
    file: &str,
) -> Result<(Vec<OsmFeature>, Vec<OsmIssue>), OsmError> {
    let response: Response = serde_json::from_slice(bytes).map_err(|e| OsmError::Overpass {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    if let Some(remark) = &response.remark
        && remark.to_ascii_lowercase().contains("error")
    {
        return Err(OsmError::OverpassRemark {
            file: file.to_string(),
            remark: remark.clone(),
        });
    }
    let mut features = Vec::new();
    let mut issues = Vec::new();
    for element in &response.elements {
        if element.tags.is_empty() {
            continue;
        }
        let Some(osm_type) = OsmType::parse(&element.kind) else {
            continue;
        };
        match element_geometry(osm_type, element, &mut issues) {
            Some(geometry) => features.push(OsmFeature {
                osm_type,
                id: element.id,
                tags: element
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                geometry,
            }),
            None => continue,
        }
    }
    features.sort_by_key(|f| (f.osm_type, f.id));
    features.dedup_by_key(|f| (f.osm_type, f.id));
    Ok((features, issues))
}

fn point(p: &LatLon) -> Option<OsmGeometry> {
    let loc = Loc::from_degrees(p.lon, p.lat)?;
    Some(OsmGeometry::Point {
        lon: loc.lon_deg(),
        lat: loc.lat_deg(),
    })
}

/// Locations of a `geometry` array; `None` when an entry is null or out of range.
fn locs(geometry: &[Option<LatLon>]) -> Option<Vec<Loc>> {
    geometry
        .iter()
        .map(|p| p.as_ref().and_then(|p| Loc::from_degrees(p.lon, p.lat)))
        .collect()
}

fn element_geometry(
    osm_type: OsmType,
    e: &Element,
    issues: &mut Vec<OsmIssue>,
) -> Option<OsmGeometry> {
    let issue = |code, message: &str| OsmIssue::new(code, osm_type, e.id, message);
    let center = || e.center.as_ref().and_then(point);
    match osm_type {
        OsmType::Node => {
            let g = match (e.lat, e.lon) {
                (Some(lat), Some(lon)) => point(&LatLon { lat, lon }),
                _ => None,
            };
            if g.is_none() {
                issues.push(issue(
                    IssueCode::OsmNoGeometry,
                    "node without a valid lat/lon",
                ));
            }
            g
        }
        OsmType::Way => {
            let Some(geometry) = &e.geometry else {
                let g = center();
                if g.is_none() {
                    issues.push(issue(
                        IssueCode::OsmNoGeometry,
                        "way without geometry or center",
                    ));
                }
                return g;
            };
            let Some(locs) = locs(geometry) else {
                issues.push(issue(
                    IssueCode::OsmWayMissingNode,
                    "way geometry has a missing (null) node location",
                ));
                return None;
            };
            let closed_by_id = e.nodes.len() >= 2 && e.nodes.first() == e.nodes.last();
            let closed = locs.len() >= 2 && (closed_by_id || locs.first() == locs.last());
            if !closed || e.tags.get("area").map(String::as_str) == Some("no") {
                issues.push(issue(
                    IssueCode::OsmWayNotArea,
                    if closed {
                        "closed way tagged area=no: not a polygon"
                    } else {
                        "way is not closed: not a polygon"
                    },
                ));
                return None;
            }
            let member = MemberWay {
                way_id: e.id,
                role: Role::Empty,
                locs,
            };
            area(assemble_area(osm_type, e.id, &[member]), issues)
        }
        OsmType::Relation => {
            let kind = e.tags.get("type").map(String::as_str);
            let is_area = matches!(kind, Some("multipolygon") | Some("boundary"));
            let way_members: Vec<&Member> = e.members.iter().filter(|m| m.kind == "way").collect();
            let has_geometry = way_members.iter().any(|m| m.geometry.is_some());
            if !is_area || !has_geometry {
                let g = center();
                if g.is_none() {
                    issues.push(issue(
                        if is_area {
                            IssueCode::OsmNoGeometry
                        } else {
                            IssueCode::OsmRelationNotArea
                        },
                        if is_area {
                            "multipolygon relation without member geometry or center"
                        } else {
                            "relation is not a multipolygon and has no center"
                        },
                    ));
                }
                return g;
            }
            let mut ways = Vec::new();
            let mut missing = Vec::new();
            for m in way_members {
                match m.geometry.as_deref().and_then(locs) {
                    Some(locs) => ways.push(MemberWay {
                        way_id: m.id,
                        role: Role::parse(&m.role),
                        locs,
                    }),
                    None => missing.push(m.id),
                }
            }
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|id| format!("way/{id}")).collect();
                issues.push(issue(
                    IssueCode::OsmMultipolygonMissingWay,
                    &format!(
                        "{} member way(s) without geometry: {}",
                        missing.len(),
                        list.join(", ")
                    ),
                ));
                return None;
            }
            area(assemble_area(osm_type, e.id, &ways), issues)
        }
    }
}

fn area(
    result: Result<(geo::MultiPolygon<f64>, Vec<OsmIssue>), OsmIssue>,
    issues: &mut Vec<OsmIssue>,
) -> Option<OsmGeometry> {
    match result {
        Ok((mp, warnings)) => {
            issues.extend(warnings);
            Some(OsmGeometry::Area(mp))
        }
        Err(issue) => {
            issues.push(issue);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::area::area_m2;
    use super::super::filter::{DataCentreFilter, DcStatus};
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/overpass")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    fn tags(f: &OsmFeature) -> Vec<(&str, &str)> {
        f.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn out_geom_fixture() {
        let (features, issues) =
            parse_overpass_named(&fixture("data_centres_geom.json"), "geom").unwrap();
        let ids: Vec<String> = features.iter().map(|f| f.element()).collect();
        assert_eq!(
            ids,
            vec![
                "node/1001",
                "node/1002",
                "way/2001",
                "way/2002",
                "relation/3001"
            ]
        );
        assert!(issues.is_empty(), "{issues:?}");
        // The node.
        assert_eq!(
            features[0].geometry,
            OsmGeometry::Point {
                lon: 2.3522219,
                lat: 48.856614
            }
        );
        // The multipolygon: split outer way (second part reversed) and one hole.
        let OsmGeometry::Area(mp) = &features[4].geometry else {
            panic!("relation is not an area")
        };
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        let outer_only =
            geo::MultiPolygon(vec![geo::Polygon::new(mp.0[0].exterior().clone(), vec![])]);
        let hole_only = geo::MultiPolygon(vec![geo::Polygon::new(
            mp.0[0].interiors()[0].clone(),
            vec![],
        )]);
        let a = area_m2(mp);
        assert!((a - (area_m2(&outer_only) - area_m2(&hole_only))).abs() < 1e-6 * a);
        // Statuses through the data-centre filter; the exchange is excluded by default.
        let dc = DataCentreFilter::default();
        let statuses: Vec<Option<DcStatus>> = features
            .iter()
            .map(|f| dc.classify(&tags(f)).map(|m| m.status))
            .collect();
        assert_eq!(
            statuses,
            vec![
                Some(DcStatus::Operating),
                None,
                Some(DcStatus::Operating),
                Some(DcStatus::UnderConstruction),
                Some(DcStatus::Operating)
            ]
        );
        assert!(DataCentreFilter::new(true).matches(&tags(&features[1])));
    }

    #[test]
    fn out_center_fixture() {
        let (features, issues) = parse_overpass(&fixture("data_centres_center.json")).unwrap();
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(features.len(), 4);
        assert!(
            features
                .iter()
                .all(|f| matches!(f.geometry, OsmGeometry::Point { .. }))
        );
        assert_eq!(features[3].element(), "relation/3001");
    }

    #[test]
    fn broken_elements_are_issues() {
        let (features, issues) = parse_overpass(&fixture("broken_geom.json")).unwrap();
        assert!(features.is_empty(), "{features:?}");
        let mut codes: Vec<&str> = issues.iter().map(|i| i.code.as_str()).collect();
        codes.sort();
        assert_eq!(
            codes,
            vec![
                IssueCode::OsmMultipolygonMissingWay.as_str(),
                IssueCode::OsmRelationNotArea.as_str(),
                "osm_ring_not_closed",
                "osm_ring_self_intersection",
                "osm_ring_too_short",
                IssueCode::OsmWayMissingNode.as_str(),
                IssueCode::OsmWayNotArea.as_str(),
            ]
        );
    }

    #[test]
    fn errors_name_the_file() {
        let e = parse_overpass_named(b"{not json", "x.json").unwrap_err();
        assert!(
            e.to_string().starts_with("x.json: invalid Overpass JSON"),
            "{e}"
        );
        let e = parse_overpass_named(
            br#"{"elements":[],"remark":"runtime error: Query timed out in \"query\""}"#,
            "y.json",
        )
        .unwrap_err();
        assert!(matches!(e, OsmError::OverpassRemark { .. }), "{e}");
        let (f, i) = parse_overpass(br#"{"elements":[]}"#).unwrap();
        assert!(f.is_empty() && i.is_empty());
    }

    #[test]
    fn query_covers_every_tagging() {
        let q = OverpassQuery::default().to_ql();
        assert!(q.starts_with("[out:json][timeout:600];"));
        assert!(q.contains("area[\"ISO3166-1\"=\"FR\"][admin_level=2]->.searchArea;"));
        for needle in [
            "nwr[\"telecom\"~\"^(data_center|data_centre)$\"](area.searchArea);",
            "nwr[\"building\"~\"^(data_center|data_centre)$\"](area.searchArea);",
            "nwr[\"building:use\"~",
            "nwr[\"man_made\"~",
            "nwr[~\"^(construction|proposed|disused|abandoned):(telecom|building|building:use|man_made)$\"~\"^(data_center|data_centre)$\"]",
            "nwr[\"building\"=\"construction\"][\"construction\"~",
            "out geom;",
        ] {
            assert!(q.contains(needle), "missing {needle} in\n{q}");
        }
        assert!(!q.contains("exchange"));
        let q = OverpassQuery {
            area: OverpassArea::Bbox {
                south: 48.8,
                west: 2.2,
                north: 48.9,
                east: 2.4,
            },
            include_exchanges: true,
            output: OverpassOutput::Center,
            timeout_s: 90,
        }
        .to_ql();
        assert!(q.contains("nwr[\"telecom\"~\"^(data_center|data_centre)$\"](48.8,2.2,48.9,2.4);"));
        assert!(q.contains("nwr[\"telecom\"~\"^(exchange|central_office)$\"]"));
        assert!(q.contains("nwr[\"man_made\"~\"^(telephone_office)$\"]"));
        assert!(q.contains("out center;"));
        assert!(!q.contains("searchArea"));
    }
}
