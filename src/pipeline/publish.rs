//! Publish stage: the [`Inventory`] written into `<out>/.staging/` (GeoPackage, then the
//! exports), swapped into `<out>/` keeping the previous build in `<out>/previous/`, then
//! `changes.json`; the fresh snapshots become the last good ones, and the fingerprint is kept
//! when every source was fresh. The whole build holds a lock on the output folder.

use std::path::{Path, PathBuf};

use super::fingerprint::{self, FINGERPRINT_NAME};
use super::ingest::GoodSnapshot;
use crate::catalog::SourceSpec;
use crate::error::BuildError;
use crate::fetch::Fetcher;
use crate::inventory::Inventory;
use crate::{export, store};

/// Staging folder inside the output folder (same file system, so renames are atomic).
pub const STAGING_DIR: &str = ".staging";
/// Where the previous build's files are kept.
pub const PREVIOUS_DIR: &str = "previous";
/// Changes since the previous build.
pub const CHANGES_NAME: &str = "changes.json";

/// What publishing needs besides the inventory.
pub struct Publish<'a> {
    pub fetcher: &'a dyn Fetcher,
    /// The per-commune sources of the cadastre stage.
    pub commune_specs: &'a [SourceSpec],
    /// The fingerprint of the inputs (None when a fetch failed).
    pub fingerprint: Option<String>,
    /// The fresh snapshots of the record sources (indices into `inventory.specs`).
    pub good: &'a [GoodSnapshot],
    /// For `report.html`: the admin outlines and the parameters (trajectory).
    pub outlines: &'a serde_json::Value,
    pub parameters: &'a crate::estimate::params::Parameters,
}

/// Writes, swaps in and records the inventory; returns the output files.
pub fn publish(
    out: &Path,
    inventory: &Inventory,
    p: &Publish<'_>,
) -> Result<Vec<PathBuf>, BuildError> {
    let staging = out.join(STAGING_DIR);
    let _ = std::fs::remove_dir_all(&staging);
    let staged = (|| -> Result<Vec<PathBuf>, BuildError> {
        let mut files = vec![store::write_inventory(&staging, inventory)?];
        files.extend(export::write_all(&staging, inventory)?);
        Ok(files)
    })();
    let staged = match staged {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let mut outputs = swap_in(out, &staged)?;
    outputs.push(write_changes(out)?);
    let written = [store::GPKG_NAME, CHANGES_NAME].map(|n| out.join(n));
    let [gpkg, changes] = [written[0].as_path(), written[1].as_path()];
    let report = export::report::write(out, inventory, p.outlines, p.parameters, [gpkg, changes]);
    outputs.push(report?);
    // The inventory is published: its fresh snapshots become the last good ones. A cache
    // that cannot record it is an error (the next build would fall back to older files).
    let cache_error = |e: crate::error::FetchError| BuildError::Output {
        path: out.join("cache"),
        message: format!("the inventory was written, but the snapshot cache failed: {e}"),
    };
    for g in p.good {
        let spec = &inventory.specs[g.source];
        p.fetcher
            .mark_good(spec, &spec.files[g.file], &g.sha256, g.units)
            .map_err(cache_error)?;
    }
    for g in &inventory.surfaces.good {
        p.fetcher
            .mark_good(&p.commune_specs[g.source], &g.file, &g.sha256, g.features)
            .map_err(cache_error)?;
    }
    // Only a build with every source fresh may be skipped next time: a stale or failed source
    // must be tried again (and reported again) by the next build, and so must a commune whose
    // parcel file was unreadable or stale.
    let all_fresh = inventory
        .source_runs
        .iter()
        .all(|r| r.error.is_none() && r.stale.is_empty())
        && inventory.surfaces.complete();
    let fingerprint_path = out.join(FINGERPRINT_NAME);
    let fingerprint_error = |e: std::io::Error| BuildError::Output {
        path: fingerprint_path.clone(),
        message: format!("the inventory was written, but not its input fingerprint: {e}"),
    };
    match &p.fingerprint {
        Some(fp) if all_fresh => {
            let text = fingerprint::text(fp, p.commune_specs, &inventory.surfaces);
            crate::common::write_atomic(&fingerprint_path, text.as_bytes())
                .map_err(fingerprint_error)?;
        }
        _ => match std::fs::remove_file(&fingerprint_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(fingerprint_error(e));
            }
            _ => {}
        },
    }
    Ok(outputs)
}

/// Takes an exclusive lock on `<out>/.dcinv.lock` for the whole build: a second build on the
/// same folder fails at once instead of interleaving writes. The OS releases it on exit.
pub fn lock_output(out: &Path) -> Result<std::fs::File, BuildError> {
    let err = |message: String| BuildError::Output {
        path: out.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(out).map_err(|e| err(e.to_string()))?;
    let path = out.join(".dcinv.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(err(
            "another dcinv build holds the lock on this output folder".into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(err(format!("{}: {e}", path.display()))),
    }
}

/// Moves the current outputs to `<out>/previous/` and the staged ones into `<out>/`. Each
/// rename is atomic; a reader sees either the old or the new file, never a partial one.
fn swap_in(out: &Path, staged: &[PathBuf]) -> Result<Vec<PathBuf>, BuildError> {
    let err = |path: &Path, e: std::io::Error| BuildError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let previous = out.join(PREVIOUS_DIR);
    let current: Vec<PathBuf> = staged
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| out.join(n))
        .chain(std::iter::once(out.join(CHANGES_NAME)))
        .filter(|p| p.exists())
        .collect();
    if !current.is_empty() {
        let _ = std::fs::remove_dir_all(&previous);
        std::fs::create_dir_all(&previous).map_err(|e| err(&previous, e))?;
        for p in &current {
            if let Some(name) = p.file_name() {
                std::fs::rename(p, previous.join(name)).map_err(|e| err(p, e))?;
            }
        }
    }
    let mut outputs = Vec::new();
    for p in staged {
        if let Some(name) = p.file_name() {
            let target = out.join(name);
            std::fs::rename(p, &target).map_err(|e| err(p, e))?;
            outputs.push(target);
        }
    }
    let _ = std::fs::remove_dir_all(out.join(STAGING_DIR));
    Ok(outputs)
}

/// Writes `<out>/changes.json` against `<out>/previous/inventory.gpkg` (everything is
/// "added" on a first build).
fn write_changes(out: &Path) -> Result<PathBuf, BuildError> {
    let new = out.join(store::GPKG_NAME);
    let old = out.join(PREVIOUS_DIR).join(store::GPKG_NAME);
    let changes = if old.is_file() {
        crate::changes::diff(&old, &new)?
    } else {
        crate::changes::first_build(&new)?
    };
    let path = out.join(CHANGES_NAME);
    let bytes =
        serde_json::to_vec_pretty(&changes).map_err(|e| crate::error::StoreError::Serialise {
            what: CHANGES_NAME.into(),
            message: e.to_string(),
        })?;
    crate::common::write_atomic(&path, &bytes).map_err(|e| BuildError::Output {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(path)
}
