//! Statistics for modellers: facility counts, observed surfaces, IT MW, energy, CO2e and
//! water (each low / central / high, with observed shares) by région × typology × status
//! (`stats.csv`) and by département (`stats_departements.csv`), and `stats.json` with both,
//! the national totals, the published figures beside the matching totals (`benchmarks`), the
//! held-out checks, the fitted priors, the calibration table and the citations of every
//! parameter used.
//! Columns are described in `schemas/stats.schema.json`.

use serde::Serialize;
use serde_json::json;

use crate::error::StoreError;
use crate::estimate::aggregate::{Metrics, group_by, sum};
use crate::inventory::Inventory;

pub const CSV_NAME: &str = "stats.csv";
pub const DEPARTEMENTS_CSV_NAME: &str = "stats_departements.csv";
pub const JSON_NAME: &str = "stats.json";

/// One row of the région × typology × status table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// INSEE région code (COG), e.g. `11`.
    pub region_code: String,
    pub region_name: String,
    pub typology: String,
    pub status: String,
    /// Source records behind those facilities.
    pub record_count: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// One row of the département table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepartementRow {
    pub departement_code: String,
    pub departement_name: String,
    pub region_code: String,
    pub record_count: u64,
    #[serde(flatten)]
    pub metrics: Metrics,
}

fn records_in(inv: &Inventory, keep: impl Fn(&crate::reconcile::Facility) -> bool) -> u64 {
    inv.facility_rows()
        .iter()
        .filter(|r| !r.estimate.typology.excluded && keep(r.facility))
        .map(|r| r.facility.members.len() as u64)
        .sum()
}

/// Sums by (région, typology, status), sorted by région code then typology and status.
pub fn by_region_typology_status(inv: &Inventory) -> Vec<StatsRow> {
    let f = &inv.recon.facilities;
    group_by(f, &inv.estimates.facilities, |x| {
        (
            x.location.region_code.clone(),
            x.location.region_name.clone(),
            x.typology.clone(),
            x.status.as_str().to_string(),
        )
    })
    .into_iter()
    .map(|((code, name, typology, status), metrics)| StatsRow {
        record_count: records_in(inv, |x| {
            x.location.region_code == code && x.typology == typology && x.status.as_str() == status
        }),
        region_code: code,
        region_name: name,
        typology,
        status,
        metrics,
    })
    .collect()
}

/// Sums by département.
pub fn by_departement(inv: &Inventory) -> Vec<DepartementRow> {
    let f = &inv.recon.facilities;
    group_by(f, &inv.estimates.facilities, |x| {
        (
            x.location.departement_code.clone(),
            x.location.departement_name.clone(),
            x.location.region_code.clone(),
        )
    })
    .into_iter()
    .map(|((code, name, region), metrics)| DepartementRow {
        record_count: records_in(inv, |x| x.location.departement_code == code),
        departement_code: code,
        departement_name: name,
        region_code: region,
        metrics,
    })
    .collect()
}

/// The national totals (excluded facilities left out).
pub fn totals(inv: &Inventory) -> Metrics {
    let idx: Vec<usize> = inv
        .estimates
        .facilities
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.typology.excluded)
        .map(|(i, _)| i)
        .collect();
    sum(&inv.recon.facilities, &inv.estimates.facilities, &idx)
}

/// Published national and Île-de-France figures beside the inventory's matching totals.
pub fn benchmarks(inv: &Inventory) -> Vec<crate::estimate::benchmarks::Benchmark> {
    crate::estimate::benchmarks::benchmarks(
        &inv.recon.facilities,
        &inv.estimates.facilities,
        &inv.published_counts,
    )
}

/// Writes rows as CSV with a header; columns in the rows' field order (flattened metrics
/// included, which the csv crate's serde support cannot do).
pub fn to_csv<T: Serialize>(rows: &[T], what: &str) -> Result<Vec<u8>, StoreError> {
    let err = |e: &dyn std::fmt::Display| StoreError::Serialise {
        what: what.into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header_written = false;
    for r in rows {
        let value = serde_json::to_value(r).map_err(|e| err(&e))?;
        let Some(obj) = value.as_object() else {
            return Err(err(&"a row is not an object"));
        };
        if !header_written {
            w.write_record(obj.keys()).map_err(|e| err(&e))?;
            header_written = true;
        }
        let cells: Vec<String> = obj
            .values()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        w.write_record(&cells).map_err(|e| err(&e))?;
    }
    w.into_inner().map_err(|e| err(&e))
}

pub fn to_json(
    inv: &Inventory,
    rows: &[StatsRow],
    departements: &[DepartementRow],
) -> Result<Vec<u8>, StoreError> {
    let doc = json!({
        "run_id": inv.run_id,
        "generated_at": inv.finished_at,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "dimensions": ["region_code", "typology", "status"],
        "method": "low/high = 10th/90th percentiles of 2000 Monte Carlo draws (parameter draws shared by all facilities, site-size priors independent per site); central = mean of the draws, so a total is the sum of its facilities' centrals; energy totals use measured energy where a facility has it",
        "grid": inv.estimates.grid,
        "totals": {
            "facility_count": inv.recon.facilities.len(),
            "record_count": inv.records.len(),
            "campus_count": inv.recon.campus_count(),
            "excluded_count": inv.estimates.facilities.iter().filter(|e| e.typology.excluded).count(),
            "metrics": totals(inv),
        },
        "attribution": "Contains data © OpenStreetMap contributors (ODbL 1.0) and other sources: see ATTRIBUTION.md",
        "rows": rows,
        "departements": departements,
        "benchmarks": benchmarks(inv),
        "checks": inv.estimates.checks,
        "priors": inv.estimates.priors,
        "calibration": inv.estimates.calibration,
        "parameters": inv.estimates.parameters_used,
    });
    let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| StoreError::Serialise {
        what: JSON_NAME.into(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
