//! Every table of `inventory.gpkg`, defined once: name, title, description and, per column,
//! name, type and value (see [`super::table`]). In: the parts of an
//! [`Inventory`](crate::inventory::Inventory); out: [`Table`] definitions and row types.

use super::gpkg::Value;
use super::table::{Export, Field, Table, exported, integer, real, text};
use crate::cadastre::stage::{FootprintRow, ParcelRow};
use crate::catalog::SourceSpec;
use crate::estimate::params::Parameter;
use crate::estimate::{Calibration, CalibrationResidual, FacilityEstimate};
use crate::geo::stage::LocatedRecord;
use crate::inventory::{FacilityRow, FileRun, Inventory, SourceRun};
use crate::model::{DataIssue, EnergyObs, PowerFact, PublishedCount, Record, SurfaceFact};
use crate::reconcile::golden::FieldChoice;
use crate::reconcile::overrides::OverrideReport;
use crate::reconcile::{Facility, LinkRow, PairRow};

/// Table and layer names (the readers of the inventory use these).
pub const SOURCE_RECORDS: &str = "source_records";
pub const FACILITIES: &str = "facilities";
pub const FOOTPRINTS: &str = "footprints";
pub const PARCELS: &str = "parcels";
pub const POWER_FACTS: &str = "power_facts";
pub const SURFACE_FACTS: &str = "surface_facts";
pub const ENERGY_OBSERVATIONS: &str = "energy_observations";
pub const DATA_ISSUES: &str = "data_issues";
pub const RUN_SOURCES: &str = "run_sources";
pub const RUNS: &str = "runs";
pub const SOURCES: &str = "sources";
pub const PUBLISHED_COUNTS: &str = "published_counts";
pub const ESTIMATES: &str = "estimates";
pub const CALIBRATION: &str = "calibration";
pub const PARAMETERS_USED: &str = "parameters_used";
pub const LINKS: &str = "links";
pub const PAIR_SCORES: &str = "pair_scores";
pub const FACILITY_FIELDS: &str = "facility_fields";
pub const OVERRIDES: &str = "overrides";

/// The licence note of the layers that hold OSM-derived data.
const ODBL: &str =
    "Contains data © OpenStreetMap contributors, ODbL 1.0; see the sources table for every licence";

fn join(v: &[String]) -> Value {
    Value::List(v.to_vec())
}

/// The snake_case name serde gives a unit enum variant.
fn enum_str<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
        .into()
}

fn count(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Rounded to 4 decimals (the estimates' ranges).
fn r4(x: f64) -> Value {
    Value::Real((x * 1e4).round() / 1e4)
}

/// A stored record and the facility it belongs to.
pub struct RecordRow<'a> {
    pub record: &'a LocatedRecord,
    pub facility_id: &'a str,
}

pub fn source_records<'a>() -> Table<RecordRow<'a>> {
    let fields: Vec<Field<RecordRow<'a>>> = vec![
        text("record_key", |r| r.record.record.record_key.clone().into()),
        text("source_id", |r| r.record.record.source_id.clone().into()),
        text("native_id", |r| r.record.record.native_id.clone().into()),
        text("facility_id", |r| r.facility_id.into()),
        text("name", |r| r.record.record.name.clone().into()),
        text("alt_names", |r| join(&r.record.record.alt_names)),
        text("operator", |r| r.record.record.operator.clone().into()),
        text("operator_wikidata", |r| {
            r.record.record.operator_wikidata.clone().into()
        }),
        text("codes", |r| join(&r.record.record.codes)),
        text("osm_ref", |r| r.record.record.osm_ref.clone().into()),
        integer("peeringdb_fac_id", |r| {
            r.record.record.peeringdb_fac_id.into()
        }),
        text("status", |r| r.record.record.status.as_str().into()),
        text("status_text", |r| {
            r.record.record.status_text.clone().into()
        }),
        text("point_precision", |r| {
            enum_str(&r.record.record.point_precision)
        }),
        text("address", |r| r.record.record.address.line().into()),
        text("postcode", |r| {
            r.record.record.address.postcode.clone().into()
        }),
        text("source_commune_name", |r| {
            r.record.record.commune_name.clone().into()
        }),
        text("commune_insee", |r| {
            r.record.location.commune_insee.clone().into()
        }),
        text("commune_name", |r| {
            r.record.location.commune_name.clone().into()
        }),
        text("departement_code", |r| {
            r.record.location.departement_code.clone().into()
        }),
        text("departement_name", |r| {
            r.record.location.departement_name.clone().into()
        }),
        text("region_code", |r| {
            r.record.location.region_code.clone().into()
        }),
        text("region_name", |r| {
            r.record.location.region_name.clone().into()
        }),
        text("locate_method", |r| enum_str(&r.record.location.method)),
        integer("power_fact_count", |r| count(r.record.record.powers.len())),
        integer("surface_fact_count", |r| {
            count(r.record.record.surfaces.len())
        }),
        integer("energy_latest_year", |r| {
            latest_energy(&r.record.record)
                .map(|e| i64::from(e.year))
                .into()
        }),
        real("energy_latest_mwh", |r| {
            latest_energy(&r.record.record).map(|e| e.mwh).into()
        }),
        text("website", |r| r.record.record.website.clone().into()),
        text("description", |r| {
            r.record.record.description.clone().into()
        }),
        text("file", |r| r.record.record.provenance.file.clone().into()),
        text("locator", |r| {
            r.record.record.provenance.locator.clone().into()
        }),
        text("snapshot_sha256", |r| {
            r.record.record.provenance.snapshot_sha256.clone().into()
        }),
        text("retrieved_at", |r| {
            r.record.record.provenance.retrieved_at.clone().into()
        }),
        text("origin", |r| {
            r.record.record.provenance.origin.clone().into()
        }),
        text("licence", |r| {
            r.record.record.provenance.licence.clone().into()
        }),
    ];
    Table {
        name: SOURCE_RECORDS,
        title: "Source records",
        description: format!("Every record of every source at its original coordinates. {ODBL}"),
        fields,
    }
}

fn latest_energy(r: &Record) -> Option<&EnergyObs> {
    r.energy.iter().max_by_key(|e| e.year)
}

pub fn facilities<'a>() -> Table<FacilityRow<'a>> {
    let mut fields: Vec<Field<FacilityRow<'a>>> = vec![
        exported(
            Export::Text,
            text("facility_id", |r| r.facility.facility_id.clone().into()),
        ),
        exported(
            Export::Text,
            text("name", |r| r.facility.name.clone().into()),
        ),
        exported(
            Export::Text,
            text("operator", |r| r.facility.operator.clone().into()),
        ),
        exported(Export::List, text("codes", |r| join(&r.facility.codes))),
        exported(
            Export::Text,
            text("typology", |r| r.facility.typology.clone().into()),
        ),
        exported(
            Export::Text,
            text("status", |r| r.facility.status.as_str().into()),
        ),
        exported(
            Export::Text,
            text("commune_insee", |r| {
                r.facility.location.commune_insee.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("commune_name", |r| {
                r.facility.location.commune_name.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("departement_code", |r| {
                r.facility.location.departement_code.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("departement_name", |r| {
                r.facility.location.departement_name.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("region_code", |r| {
                r.facility.location.region_code.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("region_name", |r| {
                r.facility.location.region_name.clone().into()
            }),
        ),
        exported(
            Export::Text,
            text("point_precision", |r| enum_str(&r.facility.point_precision)),
        ),
        text("locate_method", |r| enum_str(&r.facility.location.method)),
        exported(
            Export::Text,
            text("operator_id", |r| r.facility.operator_id.clone().into()),
        ),
        text("operator_kind", |r| r.facility.operator_kind.clone().into()),
        exported(
            Export::Text,
            text("address", |r| r.facility.address.clone().into()),
        ),
        text("website", |r| r.facility.website.clone().into()),
        exported(
            Export::Text,
            text("campus_id", |r| r.facility.campus_id.clone().into()),
        ),
        exported(
            Export::Real,
            real("confidence", |r| r.facility.confidence.into()),
        ),
        integer("member_count", |r| count(r.facility.members.len())),
        exported(Export::List, text("members", |r| join(&r.facility.members))),
        exported(Export::List, text("sources", |r| join(&r.facility.sources))),
        text("anchor_record", |r| r.facility.anchor.clone().into()),
        integer("conflict_count", |r| {
            count(r.facility.fields.iter().filter(|c| c.conflict()).count())
        }),
    ];
    fields.extend(estimate_fields());
    fields.extend(surface_fields());
    Table {
        name: FACILITIES,
        title: "Data-centre facilities",
        description: format!("One row per facility (members = source record keys). {ODBL}"),
        fields,
    }
}

/// The facility columns from its estimate.
fn estimate_fields<'a>() -> Vec<Field<FacilityRow<'a>>> {
    vec![
        exported(
            Export::Text,
            text("typology_rule", |r| r.estimate.typology.rule.clone().into()),
        ),
        real("typology_confidence", |r| {
            r.estimate.typology.confidence.into()
        }),
        exported(
            Export::Bool,
            integer("ai_hpc", |r| i64::from(r.estimate.typology.ai_hpc).into()),
        ),
        integer("excluded", |r| {
            i64::from(r.estimate.typology.excluded).into()
        }),
        exported(
            Export::Real,
            real("it_mw_low", |r| r4(r.estimate.it_mw.low)),
        ),
        exported(
            Export::Real,
            real("it_mw_central", |r| r4(r.estimate.it_mw.central)),
        ),
        exported(
            Export::Real,
            real("it_mw_high", |r| r4(r.estimate.it_mw.high)),
        ),
        exported(
            Export::Text,
            text("it_mw_method", |r| {
                r.estimate.evidence.method.as_str().into()
            }),
        ),
        exported(
            Export::Real,
            real("energy_gwh_low", |r| r4(r.estimate.energy_gwh.low)),
        ),
        exported(
            Export::Real,
            real("energy_gwh_central", |r| r4(r.estimate.energy_gwh.central)),
        ),
        exported(
            Export::Real,
            real("energy_gwh_high", |r| r4(r.estimate.energy_gwh.high)),
        ),
        exported(
            Export::Real,
            real("energy_gwh_observed", |r| {
                r.estimate
                    .energy_gwh_observed
                    .map(|(_, g)| (g * 1e4).round() / 1e4)
                    .into()
            }),
        ),
        integer("energy_observed_year", |r| {
            r.estimate
                .energy_gwh_observed
                .map(|(y, _)| i64::from(y))
                .into()
        }),
        exported(
            Export::Real,
            real("co2e_operational_t_low", |r| {
                r4(r.estimate.co2e_operational_t.low)
            }),
        ),
        exported(
            Export::Real,
            real("co2e_operational_t_central", |r| {
                r4(r.estimate.co2e_operational_t.central)
            }),
        ),
        exported(
            Export::Real,
            real("co2e_operational_t_high", |r| {
                r4(r.estimate.co2e_operational_t.high)
            }),
        ),
        exported(
            Export::Real,
            real("co2e_embodied_t_low", |r| {
                r4(r.estimate.co2e_embodied_t.low)
            }),
        ),
        exported(
            Export::Real,
            real("co2e_embodied_t_central", |r| {
                r4(r.estimate.co2e_embodied_t.central)
            }),
        ),
        exported(
            Export::Real,
            real("co2e_embodied_t_high", |r| {
                r4(r.estimate.co2e_embodied_t.high)
            }),
        ),
        exported(
            Export::Real,
            real("water_m3_low", |r| r4(r.estimate.water_m3.low)),
        ),
        exported(
            Export::Real,
            real("water_m3_central", |r| r4(r.estimate.water_m3.central)),
        ),
        exported(
            Export::Real,
            real("water_m3_high", |r| r4(r.estimate.water_m3.high)),
        ),
        real("white_space_m2_observed", |r| {
            r.estimate.white_space_m2_observed.into()
        }),
        real("floor_area_m2_observed", |r| {
            r.estimate.floor_area_m2_observed.into()
        }),
    ]
}

/// The facility columns from the cadastre stage.
fn surface_fields<'a>() -> Vec<Field<FacilityRow<'a>>> {
    vec![
        exported(
            Export::Real,
            real("footprint_m2", |r| r.surface.footprint_m2.into()),
        ),
        exported(
            Export::Text,
            text("footprint_source", |r| {
                r.surface.footprint_source.clone().into()
            }),
        ),
        exported(Export::Real, real("floors", |r| r.surface.floors.into())),
        exported(
            Export::Real,
            real("floor_area_m2", |r| r.surface.floor_area_m2.into()),
        ),
        exported(
            Export::Text,
            text("floor_area_source", |r| {
                r.surface
                    .floor_area_m2
                    .and(r.surface.footprint_source.clone())
                    .into()
            }),
        ),
        exported(
            Export::List,
            text("parcel_ids", |r| join(&r.surface.parcel_ids)),
        ),
        exported(
            Export::Real,
            real("parcel_area_m2", |r| r.surface.parcel_area_m2.into()),
        ),
        exported(
            Export::Text,
            text("parcel_source", |r| r.surface.parcel_source.clone().into()),
        ),
        exported(
            Export::Text,
            text("parcel_join", |r| r.surface.parcel_join.into()),
        ),
    ]
}

pub fn footprints<'a>() -> Table<&'a FootprintRow> {
    Table {
        name: FOOTPRINTS,
        title: "Building footprints",
        description: format!(
            "The mapped outline of each facility member that has one (area on the WGS 84 ellipsoid, holes subtracted; building:levels). {ODBL}"
        ),
        fields: vec![
            text("facility_id", |f| f.facility_id.clone().into()),
            text("record_key", |f| f.record_key.clone().into()),
            text("osm_ref", |f| f.osm_ref.clone().into()),
            real("area_m2", |f| f.area_m2.into()),
            real("levels", |f| f.levels.into()),
        ],
    }
}

pub fn parcels<'a>() -> Table<&'a ParcelRow> {
    Table {
        name: PARCELS,
        title: "Cadastral parcels of the facilities",
        description: "Etalab cadastre parcels joined to a facility: overlapped by its outline (footprint_overlap, overlap_m2) or holding its point (point_in_parcel); contenance = legal area in m²; source = file and snapshot. DGFiP / Etalab, Licence Ouverte 2.0".into(),
        fields: vec![
            text("facility_id", |p| p.facility_id.clone().into()),
            text("parcel_id", |p| p.parcel_id.clone().into()),
            text("commune", |p| p.commune.clone().into()),
            text("section", |p| p.section.clone().into()),
            text("numero", |p| p.numero.clone().into()),
            real("contenance_m2", |p| p.contenance_m2.into()),
            real("overlap_m2", |p| p.overlap_m2.into()),
            text("parcel_join", |p| p.join.into()),
            text("source", |p| p.source.clone().into()),
        ],
    }
}

pub fn power_facts<'a>() -> Table<(&'a Record, &'a PowerFact)> {
    Table {
        name: POWER_FACTS,
        title: "Observed powers",
        description:
            "Published power figures with what they measure (kind) and their unit (MW or MVA)"
                .into(),
        fields: vec![
            text("record_key", |(r, _)| r.record_key.clone().into()),
            real("value", |(_, p)| p.value.into()),
            text("unit", |(_, p)| p.unit.into()),
            text("kind", |(_, p)| enum_str(&p.kind)),
            text("kind_text", |(_, p)| p.kind_text.clone().into()),
            text("field", |(_, p)| p.field.clone().into()),
        ],
    }
}

pub fn surface_facts<'a>() -> Table<(&'a Record, &'a SurfaceFact)> {
    Table {
        name: SURFACE_FACTS,
        title: "Observed surfaces",
        description:
            "Published surfaces in m² with what they measure (white space, floor area, site area)"
                .into(),
        fields: vec![
            text("record_key", |(r, _)| r.record_key.clone().into()),
            real("value_m2", |(_, s)| s.value_m2.into()),
            text("kind", |(_, s)| enum_str(&s.kind)),
            text("kind_text", |(_, s)| s.kind_text.clone().into()),
            text("field", |(_, s)| s.field.clone().into()),
        ],
    }
}

pub fn energy_observations<'a>() -> Table<(&'a Record, &'a EnergyObs)> {
    Table {
        name: ENERGY_OBSERVATIONS,
        title: "Measured annual energy",
        description: "Measured annual electricity by record and year, in MWh".into(),
        fields: vec![
            text("record_key", |(r, _)| r.record_key.clone().into()),
            integer("year", |(_, e)| i64::from(e.year).into()),
            real("energy_mwh", |(_, e)| e.mwh.into()),
        ],
    }
}

pub fn data_issues<'a>() -> Table<&'a DataIssue> {
    Table {
        name: DATA_ISSUES,
        title: "Data issues",
        description: "Bad or repaired records, with a stable code and what was done (kept, repaired, dropped, value_ignored)".into(),
        fields: vec![
            text("source_id", |i| i.source_id.clone().into()),
            text("code", |i| i.code.as_str().into()),
            text("action", |i| i.action.as_str().into()),
            text("file", |i| i.file.clone().into()),
            text("locator", |i| i.locator.clone().into()),
            text("record_key", |i| i.record_key.clone().into()),
            text("message", |i| i.message.clone().into()),
        ],
    }
}

/// One file of a source run (None: a source without files, e.g. a failed one).
pub struct RunFileRow<'a> {
    pub run: &'a SourceRun,
    pub file: Option<&'a FileRun>,
}

impl RunFileRow<'_> {
    /// `failed` or `ok` for a source without files; `stale` (built from a last good
    /// snapshot) or `ok` for a file.
    fn status(&self) -> &'static str {
        match (self.file, &self.run.error) {
            (None, Some(_)) => "failed",
            (None, None) => "ok",
            (Some(_), _) if self.run.stale.is_empty() => "ok",
            (Some(_), _) => "stale",
        }
    }

    /// The failure of a source without files; why a stale file's source is stale.
    fn error(&self) -> Value {
        match self.file {
            None => self.run.error.as_ref().map(ToString::to_string).into(),
            Some(_) => (!self.run.stale.is_empty())
                .then(|| self.run.stale.join("; "))
                .into(),
        }
    }
}

pub fn run_sources<'a>() -> Table<RunFileRow<'a>> {
    Table {
        name: RUN_SOURCES,
        title: "Snapshots used by the run",
        description: "Per source file: status (ok, stale, failed), sha256 of the bytes read, origin, time, entries read, how the bytes were obtained and whether they were parsed or read from the parse cache".into(),
        fields: vec![
            text("source_id", |r| r.run.source_id.clone().into()),
            text("status", |r| r.status().into()),
            text("error", RunFileRow::error),
            text("file", |r| r.file.map(|f| f.file.clone()).into()),
            text("snapshot_sha256", |r| r.file.and_then(|f| f.sha256.clone()).into()),
            integer("bytes", |r| r.file.map_or(Value::Null, |f| count(f.bytes))),
            text("origin", |r| r.file.and_then(|f| f.origin.clone()).into()),
            text("retrieved_at", |r| {
                r.file.and_then(|f| f.retrieved_at.clone()).into()
            }),
            integer("units_read", |r| r.file.map_or(Value::Null, |f| count(f.units_read))),
            text("fetch_outcome", |r| r.file.map(|f| f.outcome).into()),
            text("parse", |r| {
                r.file
                    .map(|f| if f.parsed { "parsed" } else { "cache" })
                    .into()
            }),
        ],
    }
}

/// The rows of `run_sources`: one per file read, one for a source without files.
pub fn run_file_rows(runs: &[SourceRun]) -> Vec<RunFileRow<'_>> {
    runs.iter()
        .flat_map(|run| {
            let files: Vec<Option<&FileRun>> = if run.files.is_empty() {
                vec![None]
            } else {
                run.files.iter().map(Some).collect()
            };
            files.into_iter().map(move |file| RunFileRow { run, file })
        })
        .collect()
}

pub fn runs<'a>() -> Table<&'a Inventory> {
    Table {
        name: RUNS,
        title: "Build runs",
        description: "The run that wrote this inventory".into(),
        fields: vec![
            text("run_id", |i| i.run_id.clone().into()),
            text("tool_version", |_| env!("CARGO_PKG_VERSION").into()),
            text("started_at", |i| i.started_at.clone().into()),
            text("finished_at", |i| i.finished_at.clone().into()),
            text("fetch_mode", |i| i.fetch_mode.clone().into()),
            integer("record_count", |i| count(i.records.len())),
            integer("facility_count", |i| count(i.recon.facilities.len())),
            integer("issue_count", |i| count(i.issues.len())),
            text("failed_sources", |i| {
                sources_where(&i.source_runs, |s| s.error.is_some())
            }),
            text("stale_sources", |i| {
                sources_where(&i.source_runs, |s| s.error.is_none() && !s.stale.is_empty())
            }),
        ],
    }
}

/// The ids of the runs that `keep`, `;`-separated (NULL when none).
fn sources_where(runs: &[SourceRun], keep: fn(&SourceRun) -> bool) -> Value {
    let ids: Vec<&str> = runs
        .iter()
        .filter(|s| keep(s))
        .map(|s| s.source_id.as_str())
        .collect();
    (!ids.is_empty()).then(|| ids.join(";")).into()
}

pub fn sources<'a>() -> Table<&'a SourceSpec> {
    Table {
        name: SOURCES,
        title: "Sources and licences",
        description: "The catalog: each source's publisher, licence and attribution".into(),
        fields: vec![
            text("source_id", |s| s.id.clone().into()),
            text("title", |s| s.title.clone().into()),
            text("publisher", |s| s.publisher.clone().into()),
            text("licence", |s| s.licence.clone().into()),
            text("licence_url", |s| s.licence_url.clone().into()),
            text("attribution", |s| s.attribution.clone().into()),
            integer("trust_tier", |s| i64::from(s.trust_tier).into()),
            text("homepage", |s| s.homepage.clone().into()),
        ],
    }
}

pub fn published_counts<'a>() -> Table<&'a PublishedCount> {
    Table {
        name: PUBLISHED_COUNTS,
        title: "Published counts",
        description:
            "Counts of data centres published by studies and the press, to compare with the build"
                .into(),
        fields: vec![
            text("source_id", |c| c.source_id.clone().into()),
            text("scope", |c| c.scope.clone().into()),
            integer("count_low", |c| c.count_low.into()),
            integer("count_high", |c| c.count_high.into()),
            text("definition", |c| c.definition.clone().into()),
            text("source_url", |c| c.source_url.clone().into()),
            text("source_date", |c| c.source_date.clone().into()),
        ],
    }
}

pub fn estimates<'a>() -> Table<&'a FacilityEstimate> {
    Table {
        name: ESTIMATES,
        title: "Chain of evidence of each estimate",
        description: "Per facility: the method and the observation it started from, the parameter ids used and the chain in words".into(),
        fields: vec![
            text("facility_id", |f| f.facility_id.clone().into()),
            text("it_mw_method", |f| f.evidence.method.as_str().into()),
            real("evidence_value", |f| f.evidence.value.into()),
            text("evidence_record", |f| f.evidence.record_key.clone().into()),
            text("parameters", |f| f.parameters.join(";").into()),
            text("chain", |f| f.chain.clone().into()),
        ],
    }
}

/// A calibration fit (residual None: the fit's own row) or one of its residuals.
pub struct CalibrationRow<'a> {
    pub fit: &'a Calibration,
    pub residual: Option<&'a CalibrationResidual>,
}

pub fn calibration<'a>() -> Table<CalibrationRow<'a>> {
    Table {
        name: CALIBRATION,
        title: "Calibration of the ratios",
        description: "Each fit: name, whether applied, fitted multiplier; one row per residual (observed and predicted IT MW or GWh, log residual)".into(),
        fields: vec![
            text("calibration", |c| c.fit.name.into()),
            integer("n", |c| count(c.fit.n)),
            real("fitted", |c| c.fit.fitted.into()),
            real("spread", |c| c.fit.spread.into()),
            integer("applied", |c| i64::from(c.fit.applied).into()),
            text("record_key", |c| c.residual.map(|r| r.record_key.clone()).into()),
            real("observed", |c| c.residual.map(|r| r.observed).into()),
            real("predicted", |c| c.residual.map(|r| r.predicted).into()),
            real("log_residual", |c| c.residual.map(|r| r.log_residual).into()),
            text("note", |c| match c.residual {
                None => c.fit.note.clone().into(),
                Some(_) => Value::Null,
            }),
        ],
    }
}

/// The rows of `calibration`: each fit, then its residuals.
pub fn calibration_rows(fits: &[Calibration]) -> Vec<CalibrationRow<'_>> {
    fits.iter()
        .flat_map(|fit| {
            std::iter::once(CalibrationRow {
                fit,
                residual: None,
            })
            .chain(fit.residuals.iter().map(move |r| CalibrationRow {
                fit,
                residual: Some(r),
            }))
        })
        .collect()
}

pub fn parameters_used<'a>() -> Table<&'a Parameter> {
    Table {
        name: PARAMETERS_USED,
        title: "Parameters used by this run",
        description: "Every parameter value the estimates used, with its unit, tag and citation (sources/parameters.toml)".into(),
        fields: vec![
            text("id", |p| p.id.clone().into()),
            text("group_name", |p| p.group.clone().into()),
            text("typology", |p| p.typology.clone().into()),
            real("low", |p| p.low.into()),
            real("central", |p| p.central.into()),
            real("high", |p| p.high.into()),
            text("unit", |p| p.unit.clone().into()),
            text("tag", |p| p.tag.clone().into()),
            text("source", |p| p.source.clone().into()),
            text("note", |p| p.note.clone().into()),
        ],
    }
}

pub fn links<'a>() -> Table<&'a LinkRow> {
    Table {
        name: LINKS,
        title: "Record to facility links",
        description: "Every stored record, the facility it belongs to, how it joined (singleton, matched, attached_nearest, override_merge), its best pair score and its distance to the facility point in metres".into(),
        fields: vec![
            text("record_key", |l| l.record_key.clone().into()),
            text("facility_id", |l| l.facility_id.clone().into()),
            text("rule", |l| l.rule.into()),
            real("score", |l| l.score.into()),
            real("distance_m", |l| l.distance_m.into()),
        ],
    }
}

pub fn pair_scores<'a>() -> Table<&'a PairRow> {
    Table {
        name: PAIR_SCORES,
        title: "Scored record pairs",
        description: "Every accepted, blocked or redundant pair and every rejected close pair: score parts (name=weight), hard rule and outcome".into(),
        fields: vec![
            text("record_a", |p| p.record_a.clone().into()),
            text("record_b", |p| p.record_b.clone().into()),
            real("distance_m", |p| p.distance_m.into()),
            real("score", |p| p.total.into()),
            text("parts", |p| p.parts.clone().into()),
            text("hard_rule", |p| p.hard.clone().into()),
            text("outcome", |p| p.outcome.into()),
        ],
    }
}

pub fn facility_fields<'a>() -> Table<(&'a Facility, &'a FieldChoice)> {
    Table {
        name: FACILITY_FIELDS,
        title: "Field-level provenance",
        description: "Per facility and field: the chosen value, the record it came from, the rule that chose it and the disagreeing alternatives (JSON [[value, record_key], ...])".into(),
        fields: vec![
            text("facility_id", |(f, _)| f.facility_id.clone().into()),
            text("field", |(_, c)| c.field.into()),
            text("value", |(_, c)| c.value.clone().into()),
            text("record_key", |(_, c)| c.record_key.clone().into()),
            text("rule", |(_, c)| c.rule.into()),
            integer("conflict", |(_, c)| i64::from(c.conflict()).into()),
            text("alternatives", |(_, c)| {
                serde_json::to_string(&c.alternatives)
                    .unwrap_or_default()
                    .into()
            }),
        ],
    }
}

pub fn overrides<'a>() -> Table<&'a OverrideReport> {
    Table {
        name: OVERRIDES,
        title: "Curator overrides",
        description: "Each override of sources/overrides.toml and whether it applied to this build"
            .into(),
        fields: vec![
            text("override", |o| o.which.clone().into()),
            text("reason", |o| o.reason.clone().into()),
            integer("applied", |o| i64::from(o.applied).into()),
            text("detail", |o| o.detail.clone().into()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column names of every table, by table name.
    fn defined() -> Vec<(&'static str, Vec<String>)> {
        let names = |cols: Vec<&str>| cols.into_iter().map(String::from).collect::<Vec<_>>();
        vec![
            (SOURCE_RECORDS, names(source_records().column_names())),
            (FACILITIES, names(facilities().column_names())),
            (FOOTPRINTS, names(footprints().column_names())),
            (PARCELS, names(parcels().column_names())),
            (POWER_FACTS, names(power_facts().column_names())),
            (SURFACE_FACTS, names(surface_facts().column_names())),
            (
                ENERGY_OBSERVATIONS,
                names(energy_observations().column_names()),
            ),
            (DATA_ISSUES, names(data_issues().column_names())),
            (RUN_SOURCES, names(run_sources().column_names())),
            (RUNS, names(runs().column_names())),
            (SOURCES, names(sources().column_names())),
            (PUBLISHED_COUNTS, names(published_counts().column_names())),
            (ESTIMATES, names(estimates().column_names())),
            (CALIBRATION, names(calibration().column_names())),
            (PARAMETERS_USED, names(parameters_used().column_names())),
            (LINKS, names(links().column_names())),
            (PAIR_SCORES, names(pair_scores().column_names())),
            (FACILITY_FIELDS, names(facility_fields().column_names())),
            (OVERRIDES, names(overrides().column_names())),
        ]
    }

    #[test]
    fn column_names_are_unique_per_table() {
        for (table, cols) in defined() {
            let mut sorted = cols.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), cols.len(), "{table}");
        }
    }

    /// What the readers of an inventory select (`changes`, `explain`, `trajectory`) are
    /// columns defined here: renaming a column here fails this test until they follow.
    #[test]
    fn the_readers_read_defined_columns() {
        let changes: Vec<&str> = ["facility_id"]
            .into_iter()
            .chain(crate::changes::FIELDS.iter().copied())
            .collect();
        let reads: &[(&str, &[&str])] = &[
            (FACILITIES, &changes),
            (FACILITY_FIELDS, &["facility_id", "field", "record_key"]),
            (RUNS, &["run_id"]),
            // reconcile/explain.rs
            (
                FACILITIES,
                &[
                    "facility_id",
                    "name",
                    "operator",
                    "status",
                    "typology",
                    "campus_id",
                    "confidence",
                    "commune_name",
                    "departement_code",
                    "region_name",
                    "point_precision",
                    "anchor_record",
                ],
            ),
            (
                LINKS,
                &["record_key", "facility_id", "rule", "score", "distance_m"],
            ),
            (SOURCE_RECORDS, &["record_key", "name", "operator", "codes"]),
            (
                PAIR_SCORES,
                &[
                    "record_a",
                    "record_b",
                    "distance_m",
                    "score",
                    "parts",
                    "hard_rule",
                    "outcome",
                ],
            ),
            (
                FACILITY_FIELDS,
                &[
                    "facility_id",
                    "field",
                    "value",
                    "record_key",
                    "rule",
                    "conflict",
                    "alternatives",
                ],
            ),
            (ESTIMATES, &["facility_id", "chain", "parameters"]),
            // estimate/trajectory.rs
            (
                FACILITIES,
                &[
                    "facility_id",
                    "region_code",
                    "region_name",
                    "status",
                    "typology",
                    "it_mw_low",
                    "it_mw_central",
                    "it_mw_high",
                    "excluded",
                ],
            ),
        ];
        let defined = defined();
        for (table, columns) in reads {
            let (_, have) = defined
                .iter()
                .find(|(t, _)| t == table)
                .unwrap_or_else(|| panic!("no table {table}"));
            for c in *columns {
                assert!(have.iter().any(|h| h == c), "{table}.{c} is not defined");
            }
        }
    }
}
