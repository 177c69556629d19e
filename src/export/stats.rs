//! Statistics for modellers: facility and record counts by région × typology × status, as a
//! tidy (long) table (`stats.csv`) and as JSON with run metadata (`stats.json`). Columns are
//! described in `schemas/stats.schema.json`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::error::StoreError;
use crate::pipeline::Inventory;

pub const CSV_NAME: &str = "stats.csv";
pub const JSON_NAME: &str = "stats.json";

/// One row of the long table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// INSEE région code (COG), e.g. `11`.
    pub region_code: String,
    pub region_name: String,
    pub typology: String,
    pub status: String,
    pub facility_count: u64,
    /// Source records behind those facilities.
    pub record_count: u64,
}

/// Counts by (région, typology, status), sorted by région code then typology and status.
pub fn by_region_typology_status(inv: &Inventory) -> Vec<StatsRow> {
    let mut groups: BTreeMap<(String, String, String), (String, u64, u64)> = BTreeMap::new();
    for f in &inv.recon.facilities {
        let key = (
            f.location.region_code.clone(),
            f.typology.clone(),
            f.status.as_str().to_string(),
        );
        let entry = groups
            .entry(key)
            .or_insert_with(|| (f.location.region_name.clone(), 0, 0));
        entry.1 += 1;
        entry.2 += f.members.len() as u64;
    }
    groups
        .into_iter()
        .map(
            |((region_code, typology, status), (region_name, facilities, records))| StatsRow {
                region_code,
                region_name,
                typology,
                status,
                facility_count: facilities,
                record_count: records,
            },
        )
        .collect()
}

pub fn to_csv(rows: &[StatsRow]) -> Result<Vec<u8>, StoreError> {
    let err = |e: &dyn std::fmt::Display| StoreError::Serialise {
        what: CSV_NAME.into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

pub fn to_json(inv: &Inventory, rows: &[StatsRow]) -> Result<Vec<u8>, StoreError> {
    let doc = json!({
        "run_id": inv.run_id,
        "generated_at": inv.finished_at,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "dimensions": ["region_code", "typology", "status"],
        "totals": {
            "facility_count": inv.recon.facilities.len(),
            "campus_count": inv
                .recon
                .facilities
                .iter()
                .map(|f| f.campus_id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            "record_count": inv.records.len(),
        },
        "attribution": "Contains data © OpenStreetMap contributors (ODbL 1.0) and other sources: see ATTRIBUTION.md",
        "rows": rows,
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| StoreError::Serialise {
        what: JSON_NAME.into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
