//! `facilities.geojson`: RFC 7946 FeatureCollection of facilities (WGS 84 lon/lat, 7
//! decimals, no `crs` member). Properties are described in `schemas/facilities.schema.json`.

use serde_json::{Map, Value, json};

use crate::error::StoreError;
use crate::inventory::Inventory;
use crate::store::tables::facilities;

pub const FILE_NAME: &str = "facilities.geojson";

/// Rounds a coordinate to 7 decimals (about 1 cm).
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// A facility's point (lon, lat) and its properties.
pub type Feature = (Option<(f64, f64)>, Map<String, Value>);

/// Each facility's point (lon, lat rounded to 7 decimals) and properties, in facility order
/// (joined to its estimate and surfaces by id): the columns of the GeoPackage's facility
/// layer marked for export (`store::tables::facilities`), with the same values. The columnar
/// exports (`facilities.parquet`, `facilities.fgb`) take their values from here.
pub fn features(inv: &Inventory) -> Vec<Feature> {
    let table = facilities();
    inv.facility_rows()
        .into_iter()
        .map(|row| {
            let point = row.facility.point.map(|p| (round7(p.lon), round7(p.lat)));
            (point, table.exported_values(&row))
        })
        .collect()
}

/// The FeatureCollection of [`features`].
pub fn to_bytes(features: &[Feature]) -> Result<Vec<u8>, StoreError> {
    let features: Vec<Value> = features
        .iter()
        .map(|(point, properties)| {
            let geometry = point.map_or(
                Value::Null,
                |(lon, lat)| json!({"type": "Point", "coordinates": [lon, lat]}),
            );
            json!({
                "type": "Feature",
                "id": properties["facility_id"],
                "geometry": geometry,
                "properties": properties,
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
