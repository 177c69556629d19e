//! `facilities.geojson`: RFC 7946 FeatureCollection of facilities (WGS 84 lon/lat, 7
//! decimals, no `crs` member). Properties are described in `schemas/facilities.schema.json`.

use serde_json::{Map, Value, json};

use crate::error::StoreError;
use crate::inventory::Inventory;

pub const FILE_NAME: &str = "facilities.geojson";

/// Rounds a coordinate to 7 decimals (about 1 cm).
pub fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// A facility's point (lon, lat) and its properties.
pub type Feature = (Option<(f64, f64)>, Map<String, Value>);

/// Each facility's point (lon, lat rounded to 7 decimals) and properties, in facility order
/// (joined to its estimate and surfaces by id). The columnar exports (`facilities.parquet`,
/// `facilities.fgb`) take their values from here.
pub fn features(inv: &Inventory) -> Vec<Feature> {
    inv.facility_rows()
        .into_iter()
        .map(|row| {
            let (f, e, sf) = (row.facility, row.estimate, row.surface);
            let l = &f.location;
            let r4 = |x: f64| (x * 1e4).round() / 1e4;
            let point = f.point.map(|p| (round7(p.lon), round7(p.lat)));
            let properties = json!({
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
                "typology_rule": e.typology.rule,
                "ai_hpc": e.typology.ai_hpc,
                "it_mw_low": r4(e.it_mw.low),
                "it_mw_central": r4(e.it_mw.central),
                "it_mw_high": r4(e.it_mw.high),
                "it_mw_method": e.evidence.method.as_str(),
                "energy_gwh_low": r4(e.energy_gwh.low),
                "energy_gwh_central": r4(e.energy_gwh.central),
                "energy_gwh_high": r4(e.energy_gwh.high),
                "energy_gwh_observed": e.energy_gwh_observed.map(|(_, g)| r4(g)),
                "co2e_operational_t_low": r4(e.co2e_operational_t.low),
                "co2e_operational_t_central": r4(e.co2e_operational_t.central),
                "co2e_operational_t_high": r4(e.co2e_operational_t.high),
                "co2e_embodied_t_low": r4(e.co2e_embodied_t.low),
                "co2e_embodied_t_central": r4(e.co2e_embodied_t.central),
                "co2e_embodied_t_high": r4(e.co2e_embodied_t.high),
                "water_m3_low": r4(e.water_m3.low),
                "water_m3_central": r4(e.water_m3.central),
                "water_m3_high": r4(e.water_m3.high),
                "footprint_m2": sf.footprint_m2,
                "footprint_source": sf.footprint_source,
                "floors": sf.floors,
                "floor_area_m2": sf.floor_area_m2,
                "floor_area_source": sf.floor_area_m2.and(sf.footprint_source.clone()),
                "parcel_ids": sf.parcel_ids,
                "parcel_area_m2": sf.parcel_area_m2,
                "parcel_source": sf.parcel_source,
                "parcel_join": sf.parcel_join,
                "sources": f.sources,
                "members": f.members,
            });
            let Value::Object(properties) = properties else {
                unreachable!("json! of an object literal")
            };
            (point, properties)
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
