//! The assembled results of a build, between the stages and the writers: every stage's typed
//! output ([`Inventory`]) and the outcome of a build ([`BuildReport`]). The store, the exports
//! and the summary read these; they import no stage logic and not the pipeline.

use std::path::PathBuf;

use std::collections::HashMap;

use crate::cadastre::stage::{FacilitySurface, Surfaces};
use crate::catalog::SourceSpec;
use crate::error::SourceFailure;
use crate::estimate::{Estimates, FacilityEstimate};
use crate::geo::stage::LocatedRecord;
use crate::model::{DataIssue, PublishedCount};
pub use crate::model::{FileRun, SourceRun};
use crate::reconcile::{Facility, Reconciliation};

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
    /// Typology, IT power, energy, carbon and water of each facility (by `facility_id`).
    pub estimates: Estimates,
    /// Footprints and parcels of each facility (by `facility_id`), their polygons, the
    /// parcel runs.
    pub surfaces: Surfaces,
    pub issues: Vec<DataIssue>,
    pub published_counts: Vec<PublishedCount>,
}

/// A facility with its estimate and its surfaces, joined by `facility_id`.
pub struct FacilityRow<'a> {
    pub facility: &'a Facility,
    pub estimate: &'a FacilityEstimate,
    /// Empty surfaces when the cadastre stage gave none for the facility.
    pub surface: &'a FacilitySurface,
}

/// The surfaces of a facility the cadastre stage did not see.
static NO_SURFACE: FacilitySurface = FacilitySurface {
    facility_id: String::new(),
    footprint_m2: None,
    footprint_source: None,
    floors: None,
    floor_area_m2: None,
    parcel_ids: Vec::new(),
    parcel_area_m2: None,
    parcel_source: None,
    parcel_join: None,
};

impl Inventory {
    /// Every facility (in facility order) joined by `facility_id` to its estimate and its
    /// surfaces. A facility without an estimate is left out (the estimate stage gives one to
    /// every facility).
    pub fn facility_rows(&self) -> Vec<FacilityRow<'_>> {
        let estimates = by_id(&self.estimates.facilities, |e| &e.facility_id);
        let surfaces = by_id(&self.surfaces.facilities, |s| &s.facility_id);
        self.recon
            .facilities
            .iter()
            .filter_map(|f| {
                let id = f.facility_id.as_str();
                Some(FacilityRow {
                    facility: f,
                    estimate: estimates.get(id)?,
                    surface: surfaces.get(id).copied().unwrap_or(&NO_SURFACE),
                })
            })
            .collect()
    }
}

/// `items` by their facility id.
fn by_id<T>(items: &[T], id: fn(&T) -> &String) -> HashMap<&str, &T> {
    items.iter().map(|x| (id(x).as_str(), x)).collect()
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
    pub fn failed_sources(&self) -> Vec<(&str, &SourceFailure)> {
        self.inventory
            .source_runs
            .iter()
            .filter_map(|s| s.error.as_ref().map(|e| (s.source_id.as_str(), e)))
            .collect()
    }
}
