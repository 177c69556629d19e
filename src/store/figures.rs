//! Published figures and attached facts → GeoPackage attribute tables: `published_figures`
//! (every published count and national / Île-de-France total with its metric, value, year,
//! scope and definition, as the sources give them) and `fact_attachments` (each disclosed
//! fact about a campus, a regional total, a typical building or a past state, with the campus
//! and facilities it describes and its role in the estimates).

use super::gpkg::{Column, GpkgError, GpkgWriter};
use crate::inventory::Inventory;

/// Writes the `published_figures` and `fact_attachments` tables.
pub fn write(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    write_figures(w, inv)?;
    write_attachments(w, inv)
}

fn write_attachments(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let rows = inv.estimates.facts.facts.iter().map(|f| {
        let r = &f.record.record;
        vec![
            r.record_key.clone().into(),
            r.name.clone().into(),
            f.scope.as_str().into(),
            f.role.as_str().into(),
            f.operator_id.clone().into(),
            f.departement_code.clone().into(),
            f.campus_id.clone().into(),
            f.facility_ids.join(";").into(),
            r.fact_date.clone().into(),
        ]
    });
    w.add_attribute_table(
        "fact_attachments",
        "Facts attached to what they describe",
        "Disclosed facts that describe a campus, an operator's regional total, a typical building or a past state: not sites, attached to the campus or facilities they describe; role governs (shared among the campus's buildings), history, reference or constraint",
        &[
            Column::text("record_key"),
            Column::text("subject"),
            Column::text("scope"),
            Column::text("role"),
            Column::text("operator_id"),
            Column::text("departement_code"),
            Column::text("campus_id"),
            Column::text("facility_ids"),
            Column::text("fact_date"),
        ],
        rows,
    )
    .map(|_| ())
}

fn write_figures(w: &mut GpkgWriter, inv: &Inventory) -> Result<(), GpkgError> {
    let rows = inv.published_counts.iter().map(|c| {
        let value = c.value.or(c.count_low.map(|n| n as f64));
        vec![
            c.source_id.clone().into(),
            c.scope.clone().into(),
            c.metric.clone().into(),
            value.into(),
            c.count_low.into(),
            c.count_high.into(),
            c.approx.clone().into(),
            c.year.map(i64::from).into(),
            c.definition.clone().into(),
            c.source_url.clone().into(),
            c.source_date.clone().into(),
        ]
    });
    w.add_attribute_table(
        "published_figures",
        "Published figures",
        "Counts and national / regional totals (electricity TWh, IT capacity MW) published by regulators, studies and the press, with the year they describe and what they cover; stats.json sets them beside the inventory's matching totals",
        &[
            Column::text("source_id"),
            Column::text("scope"),
            Column::text("metric"),
            Column::real("value"),
            Column::integer("count_low"),
            Column::integer("count_high"),
            Column::text("approx"),
            Column::integer("year"),
            Column::text("definition"),
            Column::text("source_url"),
            Column::text("source_date"),
        ],
        rows,
    )
    .map(|_| ())
}
