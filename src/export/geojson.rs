//! `facilities.geojson`: RFC 7946 FeatureCollection of facilities (WGS 84 lon/lat, 7
//! decimals, no `crs` member). Properties are described in `schemas/facilities.schema.json`.

use serde_json::{Value, json};

use crate::error::StoreError;
use crate::pipeline::Inventory;

pub const FILE_NAME: &str = "facilities.geojson";

/// Rounds a coordinate to 7 decimals (about 1 cm).
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

pub fn to_bytes(inv: &Inventory) -> Result<Vec<u8>, StoreError> {
    let features: Vec<Value> = inv
        .recon
        .facilities
        .iter()
        .map(|f| {
            let l = &f.location;
            let geometry = f.point.map_or(
                Value::Null,
                |p| json!({"type": "Point", "coordinates": [round7(p.lon), round7(p.lat)]}),
            );
            json!({
                "type": "Feature",
                "id": f.facility_id,
                "geometry": geometry,
                "properties": {
                    "facility_id": f.facility_id,
                    "name": f.name,
                    "operator": f.operator,
                    "codes": f.codes,
                    "typology": f.typology,
                    "status": f.status.as_str(),
                    "commune_insee": l.commune_insee,
                    "commune_name": l.commune_name,
                    "departement_code": l.departement_code,
                    "departement_name": l.departement_name,
                    "region_code": l.region_code,
                    "region_name": l.region_name,
                    "point_precision": f.point_precision,
                    "operator_id": f.operator_id,
                    "address": f.address,
                    "campus_id": f.campus_id,
                    "confidence": f.confidence,
                    "sources": f.sources,
                    "members": f.members,
                }
            })
        })
        .collect();
    let doc = json!({
        "type": "FeatureCollection",
        "attribution": "dcinv inventory. Contains data © OpenStreetMap contributors (ODbL 1.0) and other sources: see ATTRIBUTION.md",
        "features": features,
    });
    let mut bytes = serde_json::to_vec(&doc).map_err(|e| StoreError::Serialise {
        what: FILE_NAME.into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::round7;

    #[test]
    fn rounds_to_seven_decimals() {
        assert_eq!(round7(2.339_938_712_3), 2.339_938_7);
        assert_eq!(round7(-1.990_070_05), -1.990_070_1);
    }
}
