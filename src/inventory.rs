//! The assembled results of a build, between the stages and the writers: every stage's typed
//! output ([`Inventory`]) and the outcome of a build ([`BuildReport`]). The store, the exports
//! and the summary read these; they import no stage logic and not the pipeline.

use std::path::PathBuf;

use crate::cadastre::stage::Surfaces;
use crate::catalog::SourceSpec;
use crate::estimate::Estimates;
use crate::geo::stage::LocatedRecord;
use crate::model::{DataIssue, PublishedCount};
pub use crate::model::{FileRun, SourceRun};
use crate::reconcile::Reconciliation;

/// Everything the store and export stages write.
#[derive(Default)]
pub struct Inventory {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub fetch_mode: String,
    pub specs: Vec<SourceSpec>,
    pub source_runs: Vec<SourceRun>,
    pub records: Vec<LocatedRecord>,
    /// Facilities, links, pair scores and override reports.
    pub recon: Reconciliation,
    /// Typology, IT power, energy, carbon and water of each facility (same order).
    pub estimates: Estimates,
    /// Footprints and parcels of each facility (same order), their polygons, the parcel runs.
    pub surfaces: Surfaces,
    pub issues: Vec<DataIssue>,
    pub published_counts: Vec<PublishedCount>,
}

/// The outcome of a build, for the summary and the exit code.
pub struct BuildReport {
    pub inventory: Inventory,
    pub outputs: Vec<PathBuf>,
    /// Nothing changed since the last build of the output folder: outputs were kept.
    pub unchanged: bool,
}

impl BuildReport {
    /// Sources built from a last good snapshot, with why.
    pub fn stale_sources(&self) -> Vec<(&str, String)> {
        self.inventory
            .source_runs
            .iter()
            .filter(|s| !s.stale.is_empty())
            .map(|s| (s.source_id.as_str(), s.stale.join("; ")))
            .collect()
    }

    /// Sources that failed, with their message.
    pub fn failed_sources(&self) -> Vec<(&str, &str)> {
        self.inventory
            .source_runs
            .iter()
            .filter_map(|s| s.error.as_deref().map(|e| (s.source_id.as_str(), e)))
            .collect()
    }
}
