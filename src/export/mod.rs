//! Export stage: the [`Inventory`] → `facilities.geojson`, `facilities.parquet` (GeoParquet),
//! `facilities.fgb` (FlatGeobuf), `stats.csv`, `stats_departements.csv`, `stats.json` and
//! `ATTRIBUTION.md` in the output folder, each written to a temporary file and renamed.
//! `report.html` ([`report`]) is written after the build's `changes.json`.

pub mod columns;
pub mod fgb;
pub mod geojson;
pub mod parquet;
pub mod report;
pub mod run_summary;
pub mod stats;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::common::write_atomic;
use crate::error::StoreError;
use crate::inventory::Inventory;

pub const ATTRIBUTION_NAME: &str = "ATTRIBUTION.md";

/// Writes every export and returns their paths.
pub fn write_all(out_dir: &Path, inv: &Inventory) -> Result<Vec<PathBuf>, StoreError> {
    let mut written = Vec::new();
    let geojson_path = out_dir.join(geojson::FILE_NAME);
    let features = geojson::features(inv);
    save(&geojson_path, &geojson::to_bytes(&features)?)?;
    written.push(geojson_path);
    let table = columns::table(&features, "the facility table")?;
    for (name, bytes) in [
        (parquet::FILE_NAME, parquet::to_bytes(&table)?),
        (fgb::FILE_NAME, fgb::to_bytes(&table)?),
    ] {
        let path = out_dir.join(name);
        save(&path, &bytes)?;
        written.push(path);
    }
    let rows = stats::by_region_typology_status(inv);
    let departements = stats::by_departement(inv);
    let csv_path = out_dir.join(stats::CSV_NAME);
    save(&csv_path, &stats::to_csv(&rows, stats::CSV_NAME)?)?;
    written.push(csv_path);
    let dep_path = out_dir.join(stats::DEPARTEMENTS_CSV_NAME);
    save(
        &dep_path,
        &stats::to_csv(&departements, stats::DEPARTEMENTS_CSV_NAME)?,
    )?;
    written.push(dep_path);
    let json_path = out_dir.join(stats::JSON_NAME);
    save(&json_path, &stats::to_json(inv, &rows, &departements)?)?;
    written.push(json_path);
    let attribution = out_dir.join(ATTRIBUTION_NAME);
    save(&attribution, attribution_text(inv).as_bytes())?;
    written.push(attribution);
    Ok(written)
}

fn save(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic(path, bytes).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The licence and attribution of every source that contributed, for the folder's readers.
pub fn attribution_text(inv: &Inventory) -> String {
    let mut t = String::from(
        "# Sources, licences and attribution\n\n\
         The files in this folder were built by dcinv from the sources below. \
         Data derived from OpenStreetMap is © OpenStreetMap contributors and available under \
         the Open Database License (ODbL 1.0, https://opendatacommons.org/licenses/odbl/); \
         any public use of a derived database must keep this notice and share it alike.\n\n",
    );
    let _ = writeln!(t, "Run `{}` ({}).\n", inv.run_id, inv.fetch_mode);
    for s in &inv.specs {
        let used = inv
            .source_runs
            .iter()
            .find(|r| r.source_id == s.id)
            .is_some_and(|r| r.error.is_none());
        let _ = writeln!(
            t,
            "## {} ({})\n\n- Publisher: {}\n- Licence: {}{}\n- Attribution: {}\n- Used in this build: {}\n",
            s.title,
            s.id,
            s.publisher,
            s.licence,
            s.licence_url
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default(),
            s.attribution,
            if used { "yes" } else { "no (failed)" }
        );
    }
    t
}
