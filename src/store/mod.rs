//! Store stage: the [`Inventory`] → `<out>/inventory.gpkg`, an OGC GeoPackage with the point
//! layers `source_records` and `facilities` (with footprint and parcel surfaces), the polygon
//! layers `footprints` and `parcels`, and the attribute tables `power_facts`,
//! `surface_facts`, `energy_observations`, `data_issues`, `run_sources`, `runs`, `sources`
//! and `published_counts`. Written to a temporary file, then renamed. Every table is defined
//! once, column by column with its value, in `tables.rs`.

pub mod figures;
pub mod gpkg;
pub mod styles;
pub mod table;
pub mod tables;

use std::path::{Path, PathBuf};

use gpkg::{GpkgError, GpkgWriter};

use crate::common::ReplaceError;
use crate::error::StoreError;
use crate::inventory::Inventory;
use tables::RecordRow;

pub const GPKG_NAME: &str = "inventory.gpkg";

/// Writes the GeoPackage and returns its path.
pub fn write_inventory(out_dir: &Path, inv: &Inventory) -> Result<PathBuf, StoreError> {
    std::fs::create_dir_all(out_dir).map_err(|e| StoreError::Io {
        path: out_dir.to_path_buf(),
        source: e,
    })?;
    let path = out_dir.join(GPKG_NAME);
    crate::common::replace_file(&path, |tmp| write_to(tmp, inv)).map_err(|e| match e {
        ReplaceError::Io(source) => StoreError::Io {
            path: path.clone(),
            source,
        },
        ReplaceError::Build(e) => e,
    })?;
    Ok(path)
}

/// Every table, in the order of the file.
fn write_to(path: &Path, inv: &Inventory) -> Result<(), StoreError> {
    let err = |e: GpkgError| StoreError::Gpkg {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = GpkgWriter::create(path).map_err(err)?;
    write_layers(&mut w, inv).map_err(err)?;
    write_reconciliation(&mut w, inv).map_err(err)?;
    write_estimates(&mut w, inv).map_err(err)?;
    write_facts(&mut w, inv).map_err(err)?;
    write_runs(&mut w, inv).map_err(err)?;
    figures::write(&mut w, inv).map_err(err)?;
    styles::write(&mut w).map_err(err)?;
    w.finish().map_err(err)
}

/// The point layers (records, facilities) and the polygon layers of the cadastre stage.
fn write_layers(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let records =
        inv.records
            .iter()
            .zip(&inv.recon.record_facility)
            .map(|(record, facility_id)| RecordRow {
                record,
                facility_id,
            });
    tables::source_records().write_layer(w, records, |r| {
        r.record.record.point.map(|p| (p.lon, p.lat))
    })?;
    tables::facilities().write_layer(w, inv.facility_rows(), |r| {
        r.facility.point.map(|p| (p.lon, p.lat))
    })?;
    let s = &inv.surfaces;
    tables::footprints().write_layer(w, &s.footprints, |f| Some(f.geometry.clone()))?;
    tables::parcels().write_layer(w, &s.parcels, |p| Some(p.geometry.clone()))?;
    Ok(())
}

/// `links`, `pair_scores`, `facility_fields`, `overrides`.
fn write_reconciliation(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let r = &inv.recon;
    tables::links().write(w, &r.links)?;
    tables::pair_scores().write(w, &r.pairs)?;
    let fields = r
        .facilities
        .iter()
        .flat_map(|f| f.fields.iter().map(move |c| (f, c)));
    tables::facility_fields().write(w, fields)?;
    tables::overrides().write(w, &r.overrides)?;
    Ok(())
}

/// `estimates` (chain of evidence), `calibration`, `parameters_used`.
fn write_estimates(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let e = &inv.estimates;
    tables::estimates().write(w, &e.facilities)?;
    tables::calibration().write(w, tables::calibration_rows(&e.calibration))?;
    tables::parameters_used().write(w, &e.parameters_used)?;
    Ok(())
}

/// `power_facts`, `surface_facts`, `energy_observations`, `data_issues`.
fn write_facts(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let records = || inv.records.iter().map(|lr| &lr.record);
    let powers = records().flat_map(|r| r.powers.iter().map(move |p| (r, p)));
    tables::power_facts().write(w, powers)?;
    let surfaces = records().flat_map(|r| r.surfaces.iter().map(move |s| (r, s)));
    tables::surface_facts().write(w, surfaces)?;
    let energy = records().flat_map(|r| r.energy.iter().map(move |e| (r, e)));
    tables::energy_observations().write(w, energy)?;
    tables::data_issues().write(w, &inv.issues)?;
    Ok(())
}

/// `run_sources`, `runs`, `sources`, `published_counts`.
fn write_runs(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    tables::run_sources().write(w, tables::run_file_rows(&inv.source_runs))?;
    tables::runs().write(w, [inv])?;
    tables::sources().write(w, &inv.specs)?;
    tables::published_counts().write(w, &inv.published_counts)?;
    Ok(())
}
