//! Store stage: the [`Inventory`] → `<out>/inventory.gpkg`, an OGC GeoPackage with the point
//! layers `source_records` and `facilities` (with footprint and parcel surfaces), the polygon
//! layers `footprints` and `parcels`, and the attribute tables `power_facts`,
//! `surface_facts`, `energy_observations`, `data_issues`, `run_sources`, `runs`, `sources`
//! and `published_counts`. Written to a temporary file, then renamed.

pub mod gpkg;

use std::path::{Path, PathBuf};

use gpkg::{Column, GpkgWriter, Value};

use crate::common::ReplaceError;
use crate::error::StoreError;
use crate::inventory::Inventory;

pub const GPKG_NAME: &str = "inventory.gpkg";

fn join(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Text(v.join(";"))
    }
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn count(n: usize) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

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

fn write_to(path: &Path, inv: &Inventory) -> Result<(), StoreError> {
    let err = |e: gpkg::GpkgError| StoreError::Gpkg {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut w = GpkgWriter::create(path).map_err(err)?;
    let odbl = "Contains data © OpenStreetMap contributors, ODbL 1.0; see the sources table for every licence";

    let record_cols = [
        Column::text("record_key"),
        Column::text("source_id"),
        Column::text("native_id"),
        Column::text("facility_id"),
        Column::text("name"),
        Column::text("alt_names"),
        Column::text("operator"),
        Column::text("operator_wikidata"),
        Column::text("codes"),
        Column::text("osm_ref"),
        Column::integer("peeringdb_fac_id"),
        Column::text("status"),
        Column::text("status_text"),
        Column::text("point_precision"),
        Column::text("address"),
        Column::text("postcode"),
        Column::text("source_commune_name"),
        Column::text("commune_insee"),
        Column::text("commune_name"),
        Column::text("departement_code"),
        Column::text("departement_name"),
        Column::text("region_code"),
        Column::text("region_name"),
        Column::text("locate_method"),
        Column::integer("power_fact_count"),
        Column::integer("surface_fact_count"),
        Column::integer("energy_latest_year"),
        Column::real("energy_latest_mwh"),
        Column::text("website"),
        Column::text("description"),
        Column::text("file"),
        Column::text("locator"),
        Column::text("snapshot_sha256"),
        Column::text("retrieved_at"),
        Column::text("origin"),
        Column::text("licence"),
    ];
    let rows = inv
        .records
        .iter()
        .zip(&inv.recon.record_facility)
        .map(|(lr, fid)| {
            let r = &lr.record;
            let l = &lr.location;
            let latest = r.energy.iter().max_by_key(|e| e.year);
            (
                r.point.map(|p| (p.lon, p.lat)),
                vec![
                    r.record_key.clone().into(),
                    r.source_id.clone().into(),
                    r.native_id.clone().into(),
                    fid.clone().into(),
                    r.name.clone().into(),
                    join(&r.alt_names),
                    r.operator.clone().into(),
                    r.operator_wikidata.clone().into(),
                    join(&r.codes),
                    r.osm_ref.clone().into(),
                    r.peeringdb_fac_id.into(),
                    r.status.as_str().into(),
                    r.status_text.clone().into(),
                    enum_str(&r.point_precision).into(),
                    r.address.line().into(),
                    r.address.postcode.clone().into(),
                    r.commune_name.clone().into(),
                    l.commune_insee.clone().into(),
                    l.commune_name.clone().into(),
                    l.departement_code.clone().into(),
                    l.departement_name.clone().into(),
                    l.region_code.clone().into(),
                    l.region_name.clone().into(),
                    enum_str(&l.method).into(),
                    count(r.powers.len()),
                    count(r.surfaces.len()),
                    latest.map(|e| i64::from(e.year)).into(),
                    latest.map(|e| e.mwh).into(),
                    r.website.clone().into(),
                    r.description.clone().into(),
                    r.provenance.file.clone().into(),
                    r.provenance.locator.clone().into(),
                    r.provenance.snapshot_sha256.clone().into(),
                    r.provenance.retrieved_at.clone().into(),
                    r.provenance.origin.clone().into(),
                    r.provenance.licence.clone().into(),
                ],
            )
        });
    w.add_feature_layer(
        "source_records",
        "Source records",
        &format!("Every record of every source at its original coordinates. {odbl}"),
        &record_cols,
        rows,
    )
    .map_err(err)?;

    let facility_cols = [
        Column::text("facility_id"),
        Column::text("name"),
        Column::text("operator"),
        Column::text("codes"),
        Column::text("typology"),
        Column::text("status"),
        Column::text("commune_insee"),
        Column::text("commune_name"),
        Column::text("departement_code"),
        Column::text("departement_name"),
        Column::text("region_code"),
        Column::text("region_name"),
        Column::text("point_precision"),
        Column::text("locate_method"),
        Column::text("operator_id"),
        Column::text("operator_kind"),
        Column::text("address"),
        Column::text("website"),
        Column::text("campus_id"),
        Column::real("confidence"),
        Column::integer("member_count"),
        Column::text("members"),
        Column::text("sources"),
        Column::text("anchor_record"),
        Column::integer("conflict_count"),
        Column::text("typology_rule"),
        Column::real("typology_confidence"),
        Column::integer("ai_hpc"),
        Column::integer("excluded"),
        Column::real("it_mw_low"),
        Column::real("it_mw_central"),
        Column::real("it_mw_high"),
        Column::text("it_mw_method"),
        Column::real("energy_gwh_low"),
        Column::real("energy_gwh_central"),
        Column::real("energy_gwh_high"),
        Column::real("energy_gwh_observed"),
        Column::integer("energy_observed_year"),
        Column::real("co2e_operational_t_low"),
        Column::real("co2e_operational_t_central"),
        Column::real("co2e_operational_t_high"),
        Column::real("co2e_embodied_t_low"),
        Column::real("co2e_embodied_t_central"),
        Column::real("co2e_embodied_t_high"),
        Column::real("water_m3_low"),
        Column::real("water_m3_central"),
        Column::real("water_m3_high"),
        Column::real("white_space_m2_observed"),
        Column::real("floor_area_m2_observed"),
        Column::real("footprint_m2"),
        Column::text("footprint_source"),
        Column::real("floors"),
        Column::real("floor_area_m2"),
        Column::text("floor_area_source"),
        Column::text("parcel_ids"),
        Column::real("parcel_area_m2"),
        Column::text("parcel_source"),
        Column::text("parcel_join"),
    ];
    let rows = inv.facility_rows().into_iter().map(|row| {
        let (f, e, sf) = (row.facility, row.estimate, row.surface);
        let l = &f.location;
        let r = |x: f64| Value::Real((x * 1e4).round() / 1e4);
        (
            f.point.map(|p| (p.lon, p.lat)),
            vec![
                f.facility_id.clone().into(),
                f.name.clone().into(),
                f.operator.clone().into(),
                join(&f.codes),
                f.typology.clone().into(),
                f.status.as_str().into(),
                l.commune_insee.clone().into(),
                l.commune_name.clone().into(),
                l.departement_code.clone().into(),
                l.departement_name.clone().into(),
                l.region_code.clone().into(),
                l.region_name.clone().into(),
                enum_str(&f.point_precision).into(),
                enum_str(&l.method).into(),
                f.operator_id.clone().into(),
                f.operator_kind.clone().into(),
                f.address.clone().into(),
                f.website.clone().into(),
                f.campus_id.clone().into(),
                f.confidence.into(),
                count(f.members.len()),
                join(&f.members),
                join(&f.sources),
                f.anchor.clone().into(),
                count(f.fields.iter().filter(|c| c.conflict()).count()),
                e.typology.rule.clone().into(),
                e.typology.confidence.into(),
                i64::from(e.typology.ai_hpc).into(),
                i64::from(e.typology.excluded).into(),
                r(e.it_mw.low),
                r(e.it_mw.central),
                r(e.it_mw.high),
                e.evidence.method.as_str().into(),
                r(e.energy_gwh.low),
                r(e.energy_gwh.central),
                r(e.energy_gwh.high),
                e.energy_gwh_observed
                    .map(|(_, g)| (g * 1e4).round() / 1e4)
                    .into(),
                e.energy_gwh_observed.map(|(y, _)| i64::from(y)).into(),
                r(e.co2e_operational_t.low),
                r(e.co2e_operational_t.central),
                r(e.co2e_operational_t.high),
                r(e.co2e_embodied_t.low),
                r(e.co2e_embodied_t.central),
                r(e.co2e_embodied_t.high),
                r(e.water_m3.low),
                r(e.water_m3.central),
                r(e.water_m3.high),
                e.white_space_m2_observed.into(),
                e.floor_area_m2_observed.into(),
                sf.footprint_m2.into(),
                sf.footprint_source.clone().into(),
                sf.floors.into(),
                sf.floor_area_m2.into(),
                sf.floor_area_m2.and(sf.footprint_source.clone()).into(),
                join(&sf.parcel_ids),
                sf.parcel_area_m2.into(),
                sf.parcel_source.clone().into(),
                sf.parcel_join.into(),
            ],
        )
    });
    w.add_feature_layer(
        "facilities",
        "Data-centre facilities",
        &format!("One row per facility (members = source record keys). {odbl}"),
        &facility_cols,
        rows,
    )
    .map_err(err)?;

    write_surfaces(&mut w, inv, odbl).map_err(err)?;
    write_reconciliation(&mut w, inv).map_err(err)?;
    write_estimates(&mut w, inv).map_err(err)?;

    let rows = inv.records.iter().flat_map(|lr| {
        lr.record.powers.iter().map(|p| {
            vec![
                lr.record.record_key.clone().into(),
                p.value.into(),
                p.unit.into(),
                enum_str(&p.kind).into(),
                p.kind_text.clone().into(),
                p.field.clone().into(),
            ]
        })
    });
    w.add_attribute_table(
        "power_facts",
        "Observed powers",
        "Published power figures with what they measure (kind) and their unit (MW or MVA)",
        &[
            Column::text("record_key"),
            Column::real("value"),
            Column::text("unit"),
            Column::text("kind"),
            Column::text("kind_text"),
            Column::text("field"),
        ],
        rows,
    )
    .map_err(err)?;

    let rows = inv.records.iter().flat_map(|lr| {
        lr.record.surfaces.iter().map(|s| {
            vec![
                lr.record.record_key.clone().into(),
                s.value_m2.into(),
                enum_str(&s.kind).into(),
                s.kind_text.clone().into(),
                s.field.clone().into(),
            ]
        })
    });
    w.add_attribute_table(
        "surface_facts",
        "Observed surfaces",
        "Published surfaces in m² with what they measure (white space, floor area, site area)",
        &[
            Column::text("record_key"),
            Column::real("value_m2"),
            Column::text("kind"),
            Column::text("kind_text"),
            Column::text("field"),
        ],
        rows,
    )
    .map_err(err)?;

    let rows = inv.records.iter().flat_map(|lr| {
        lr.record.energy.iter().map(|e| {
            vec![
                lr.record.record_key.clone().into(),
                i64::from(e.year).into(),
                e.mwh.into(),
            ]
        })
    });
    w.add_attribute_table(
        "energy_observations",
        "Measured annual energy",
        "Measured annual electricity by record and year, in MWh",
        &[
            Column::text("record_key"),
            Column::integer("year"),
            Column::real("energy_mwh"),
        ],
        rows,
    )
    .map_err(err)?;

    let rows = inv.issues.iter().map(|i| {
        vec![
            i.source_id.clone().into(),
            i.code.into(),
            i.action.as_str().into(),
            i.file.clone().into(),
            i.locator.clone().into(),
            i.record_key.clone().into(),
            i.message.clone().into(),
        ]
    });
    w.add_attribute_table(
        "data_issues",
        "Data issues",
        "Bad or repaired records, with a stable code and what was done (kept, repaired, dropped, value_ignored)",
        &[
            Column::text("source_id"),
            Column::text("code"),
            Column::text("action"),
            Column::text("file"),
            Column::text("locator"),
            Column::text("record_key"),
            Column::text("message"),
        ],
        rows,
    )
    .map_err(err)?;

    let rows = inv.source_runs.iter().flat_map(|s| {
        let files: Vec<Vec<Value>> = if s.files.is_empty() {
            vec![vec![
                s.source_id.clone().into(),
                s.error.as_ref().map_or("ok", |_| "failed").into(),
                s.error.as_ref().map(ToString::to_string).into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ]]
        } else {
            // A stale source was built from a last good snapshot: say so, and why.
            let (status, why) = if s.stale.is_empty() {
                ("ok", None)
            } else {
                ("stale", Some(s.stale.join("; ")))
            };
            s.files
                .iter()
                .map(|f| {
                    vec![
                        s.source_id.clone().into(),
                        status.into(),
                        why.clone().into(),
                        f.file.clone().into(),
                        f.sha256.clone().into(),
                        count(f.bytes),
                        f.origin.clone().into(),
                        f.retrieved_at.clone().into(),
                        count(f.units_read),
                        f.outcome.into(),
                        (if f.parsed { "parsed" } else { "cache" }).into(),
                    ]
                })
                .collect()
        };
        files
    });
    w.add_attribute_table(
        "run_sources",
        "Snapshots used by the run",
        "Per source file: status (ok, stale, failed), sha256 of the bytes read, origin, time, entries read, how the bytes were obtained and whether they were parsed or read from the parse cache",
        &[
            Column::text("source_id"),
            Column::text("status"),
            Column::text("error"),
            Column::text("file"),
            Column::text("snapshot_sha256"),
            Column::integer("bytes"),
            Column::text("origin"),
            Column::text("retrieved_at"),
            Column::integer("units_read"),
            Column::text("fetch_outcome"),
            Column::text("parse"),
        ],
        rows,
    )
    .map_err(err)?;

    let failed: Vec<&str> = inv
        .source_runs
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| s.source_id.as_str())
        .collect();
    let stale: Vec<&str> = inv
        .source_runs
        .iter()
        .filter(|s| s.error.is_none() && !s.stale.is_empty())
        .map(|s| s.source_id.as_str())
        .collect();
    w.add_attribute_table(
        "runs",
        "Build runs",
        "The run that wrote this inventory",
        &[
            Column::text("run_id"),
            Column::text("tool_version"),
            Column::text("started_at"),
            Column::text("finished_at"),
            Column::text("fetch_mode"),
            Column::integer("record_count"),
            Column::integer("facility_count"),
            Column::integer("issue_count"),
            Column::text("failed_sources"),
            Column::text("stale_sources"),
        ],
        [vec![
            inv.run_id.clone().into(),
            env!("CARGO_PKG_VERSION").into(),
            inv.started_at.clone().into(),
            inv.finished_at.clone().into(),
            inv.fetch_mode.clone().into(),
            count(inv.records.len()),
            count(inv.recon.facilities.len()),
            count(inv.issues.len()),
            (!failed.is_empty()).then(|| failed.join(";")).into(),
            (!stale.is_empty()).then(|| stale.join(";")).into(),
        ]],
    )
    .map_err(err)?;

    let rows = inv.specs.iter().map(|s| {
        vec![
            s.id.clone().into(),
            s.title.clone().into(),
            s.publisher.clone().into(),
            s.licence.clone().into(),
            s.licence_url.clone().into(),
            s.attribution.clone().into(),
            i64::from(s.trust_tier).into(),
            s.homepage.clone().into(),
        ]
    });
    w.add_attribute_table(
        "sources",
        "Sources and licences",
        "The catalog: each source's publisher, licence and attribution",
        &[
            Column::text("source_id"),
            Column::text("title"),
            Column::text("publisher"),
            Column::text("licence"),
            Column::text("licence_url"),
            Column::text("attribution"),
            Column::integer("trust_tier"),
            Column::text("homepage"),
        ],
        rows,
    )
    .map_err(err)?;

    let rows = inv.published_counts.iter().map(|c| {
        vec![
            c.source_id.clone().into(),
            c.scope.clone().into(),
            c.count_low.into(),
            c.count_high.into(),
            c.definition.clone().into(),
            c.source_url.clone().into(),
            c.source_date.clone().into(),
        ]
    });
    w.add_attribute_table(
        "published_counts",
        "Published counts",
        "Counts of data centres published by studies and the press, to compare with the build",
        &[
            Column::text("source_id"),
            Column::text("scope"),
            Column::integer("count_low"),
            Column::integer("count_high"),
            Column::text("definition"),
            Column::text("source_url"),
            Column::text("source_date"),
        ],
        rows,
    )
    .map_err(err)?;
    w.finish().map_err(err)
}

/// The polygon layers of the cadastre stage: `footprints` (members' OSM outlines) and
/// `parcels` (the cadastral parcels joined to each facility).
fn write_surfaces(w: &mut GpkgWriter, inv: &Inventory, odbl: &str) -> Result<(), gpkg::GpkgError> {
    let s = &inv.surfaces;
    w.add_feature_layer(
        "footprints",
        "Building footprints",
        &format!(
            "The mapped outline of each facility member that has one (area on the WGS 84 ellipsoid, holes subtracted; building:levels). {odbl}"
        ),
        &[
            Column::text("facility_id"),
            Column::text("record_key"),
            Column::text("osm_ref"),
            Column::real("area_m2"),
            Column::real("levels"),
        ],
        s.footprints.iter().map(|f| {
            (
                Some(f.geometry.clone()),
                vec![
                    f.facility_id.clone().into(),
                    f.record_key.clone().into(),
                    f.osm_ref.clone().into(),
                    f.area_m2.into(),
                    f.levels.into(),
                ],
            )
        }),
    )?;
    w.add_feature_layer(
        "parcels",
        "Cadastral parcels of the facilities",
        "Etalab cadastre parcels joined to a facility: overlapped by its outline (footprint_overlap, overlap_m2) or holding its point (point_in_parcel); contenance = legal area in m²; source = file and snapshot. DGFiP / Etalab, Licence Ouverte 2.0",
        &[
            Column::text("facility_id"),
            Column::text("parcel_id"),
            Column::text("commune"),
            Column::text("section"),
            Column::text("numero"),
            Column::real("contenance_m2"),
            Column::real("overlap_m2"),
            Column::text("parcel_join"),
            Column::text("source"),
        ],
        s.parcels.iter().map(|p| {
            (
                Some(p.geometry.clone()),
                vec![
                    p.facility_id.clone().into(),
                    p.parcel_id.clone().into(),
                    p.commune.clone().into(),
                    p.section.clone().into(),
                    p.numero.clone().into(),
                    p.contenance_m2.into(),
                    p.overlap_m2.into(),
                    p.join.into(),
                    p.source.clone().into(),
                ],
            )
        }),
    )?;
    Ok(())
}

/// The estimate tables: `estimates` (chain of evidence), `calibration`, `parameters_used`.
fn write_estimates(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), gpkg::GpkgError> {
    let e = &inv.estimates;
    w.add_attribute_table(
        "estimates",
        "Chain of evidence of each estimate",
        "Per facility: the method and the observation it started from, the parameter ids used and the chain in words",
        &[
            Column::text("facility_id"),
            Column::text("it_mw_method"),
            Column::real("evidence_value"),
            Column::text("evidence_record"),
            Column::text("parameters"),
            Column::text("chain"),
        ],
        e.facilities.iter().map(|f| {
            vec![
                f.facility_id.clone().into(),
                f.evidence.method.as_str().into(),
                f.evidence.value.into(),
                f.evidence.record_key.clone().into(),
                f.parameters.join(";").into(),
                f.chain.clone().into(),
            ]
        }),
    )?;
    w.add_attribute_table(
        "calibration",
        "Calibration of the ratios",
        "Each fit: name, whether applied, fitted multiplier; one row per residual (observed and predicted IT MW or GWh, log residual)",
        &[
            Column::text("calibration"),
            Column::integer("n"),
            Column::real("fitted"),
            Column::real("spread"),
            Column::integer("applied"),
            Column::text("record_key"),
            Column::real("observed"),
            Column::real("predicted"),
            Column::real("log_residual"),
            Column::text("note"),
        ],
        e.calibration.iter().flat_map(|c| {
            let head = vec![
                c.name.into(),
                count(c.n),
                c.fitted.into(),
                c.spread.into(),
                i64::from(c.applied).into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                c.note.clone().into(),
            ];
            std::iter::once(head).chain(c.residuals.iter().map(|r| {
                vec![
                    c.name.into(),
                    count(c.n),
                    c.fitted.into(),
                    c.spread.into(),
                    i64::from(c.applied).into(),
                    r.record_key.clone().into(),
                    r.observed.into(),
                    r.predicted.into(),
                    r.log_residual.into(),
                    Value::Null,
                ]
            }))
        }),
    )?;
    w.add_attribute_table(
        "parameters_used",
        "Parameters used by this run",
        "Every parameter value the estimates used, with its unit, tag and citation (sources/parameters.toml)",
        &[
            Column::text("id"),
            Column::text("group_name"),
            Column::text("typology"),
            Column::real("low"),
            Column::real("central"),
            Column::real("high"),
            Column::text("unit"),
            Column::text("tag"),
            Column::text("source"),
            Column::text("note"),
        ],
        e.parameters_used.iter().map(|p| {
            vec![
                p.id.clone().into(),
                p.group.clone().into(),
                p.typology.clone().into(),
                p.low.into(),
                p.central.into(),
                p.high.into(),
                p.unit.clone().into(),
                p.tag.clone().into(),
                p.source.clone().into(),
                p.note.clone().into(),
            ]
        }),
    )?;
    Ok(())
}

/// The reconciliation tables: `links`, `pair_scores`, `facility_fields`, `overrides`.
fn write_reconciliation(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), gpkg::GpkgError> {
    let r = &inv.recon;
    w.add_attribute_table(
        "links",
        "Record to facility links",
        "Every stored record, the facility it belongs to, how it joined (singleton, matched, attached_nearest, override_merge), its best pair score and its distance to the facility point in metres",
        &[
            Column::text("record_key"),
            Column::text("facility_id"),
            Column::text("rule"),
            Column::real("score"),
            Column::real("distance_m"),
        ],
        r.links.iter().map(|l| {
            vec![
                l.record_key.clone().into(),
                l.facility_id.clone().into(),
                l.rule.into(),
                l.score.into(),
                l.distance_m.into(),
            ]
        }),
    )?;
    w.add_attribute_table(
        "pair_scores",
        "Scored record pairs",
        "Every accepted, blocked or redundant pair and every rejected close pair: score parts (name=weight), hard rule and outcome",
        &[
            Column::text("record_a"),
            Column::text("record_b"),
            Column::real("distance_m"),
            Column::real("score"),
            Column::text("parts"),
            Column::text("hard_rule"),
            Column::text("outcome"),
        ],
        r.pairs.iter().map(|p| {
            vec![
                p.record_a.clone().into(),
                p.record_b.clone().into(),
                p.distance_m.into(),
                p.total.into(),
                p.parts.clone().into(),
                p.hard.clone().into(),
                p.outcome.into(),
            ]
        }),
    )?;
    w.add_attribute_table(
        "facility_fields",
        "Field-level provenance",
        "Per facility and field: the chosen value, the record it came from, the rule that chose it and the disagreeing alternatives (JSON [[value, record_key], ...])",
        &[
            Column::text("facility_id"),
            Column::text("field"),
            Column::text("value"),
            Column::text("record_key"),
            Column::text("rule"),
            Column::integer("conflict"),
            Column::text("alternatives"),
        ],
        r.facilities.iter().flat_map(|f| {
            f.fields.iter().map(|c| {
                vec![
                    f.facility_id.clone().into(),
                    c.field.into(),
                    c.value.clone().into(),
                    c.record_key.clone().into(),
                    c.rule.into(),
                    i64::from(c.conflict()).into(),
                    serde_json::to_string(&c.alternatives)
                        .unwrap_or_default()
                        .into(),
                ]
            })
        }),
    )?;
    w.add_attribute_table(
        "overrides",
        "Curator overrides",
        "Each override of sources/overrides.toml and whether it applied to this build",
        &[
            Column::text("override"),
            Column::text("reason"),
            Column::integer("applied"),
            Column::text("detail"),
        ],
        r.overrides.iter().map(|o| {
            vec![
                o.which.clone().into(),
                o.reason.clone().into(),
                i64::from(o.applied).into(),
                o.detail.clone().into(),
            ]
        }),
    )?;
    Ok(())
}
