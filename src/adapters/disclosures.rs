//! Operator-disclosure adapter: `facility_facts[]` (quoted surfaces and powers of named sites,
//! with what each number measures) → records without a point (located later by commune), and
//! `count_facts[]` → published counts. A fact about several sites with no commune (an
//! operator's regional total) is not a site: it is reported as an aggregate fact.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::lenient::{self, Doc};
use super::mapped::issue;
use super::{Adapter, FileInput, fields};
use crate::error::ParseError;
use crate::model::{
    IssueAction, ParseOutput, PointPrecision, PowerFact, PowerKind, PublishedCount, Record, Status,
    SurfaceFact, SurfaceKind, issue_codes,
};

pub struct DisclosureFacts;

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow, default)]
    facility_facts: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    count_facts: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Fact {
    subject: String,
    operator: Option<String>,
    commune: Option<String>,
    dep: Option<String>,
    status: Option<String>,
    surface_m2: Option<f64>,
    surface_kind: Option<String>,
    power_mw: Option<f64>,
    power_kind: Option<String>,
    power_mva: Option<f64>,
    planned_power_mw: Option<f64>,
    site_area_ha: Option<f64>,
    source_url: Option<String>,
    source_date: Option<String>,
    quote: Option<String>,
}

#[derive(Deserialize)]
struct CountFact {
    scope: String,
    count: Option<i64>,
    count_min: Option<i64>,
    count_range: Option<[i64; 2]>,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    source_url: String,
    #[serde(default)]
    source_date: String,
}

impl Adapter for DisclosureFacts {
    fn name(&self) -> &'static str {
        "disclosure-facts"
    }

    fn version(&self) -> u32 {
        1
    }

    fn summary(&self) -> &'static str {
        "Quoted operator facts (m², MW, MVA with what they measure) and published counts"
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let doc = Doc::open(input)?;
        let file: File<'_> = doc.parse()?;
        let mut out = ParseOutput::default();
        for (i, raw) in file.facility_facts.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("facility_facts[{i}]");
            let fact: Fact =
                match lenient::typed_entry(input, &doc, raw, &locator, "a facility fact") {
                    Ok((f, issues)) => {
                        out.issues.extend(issues);
                        f
                    }
                    Err(issues) => {
                        out.issues.extend(issues);
                        continue;
                    }
                };
            if fact.commune.is_none() {
                out.issues.push(issue(
                    input,
                    issue_codes::AGGREGATE_FACT,
                    IssueAction::Dropped,
                    &locator,
                    None,
                    format!(
                        "`{}` names no commune: a figure over several sites ({}), not a site",
                        fact.subject,
                        figures(&fact)
                    ),
                ));
                continue;
            }
            out.records.push(fact_record(input, &fact, locator));
        }
        for (i, raw) in file.count_facts.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("count_facts[{i}]");
            match lenient::typed_entry::<CountFact>(input, &doc, raw, &locator, "a count fact") {
                Ok((c, issues)) => {
                    out.issues.extend(issues);
                    let (low, high) = match (c.count, c.count_min, c.count_range) {
                        (Some(n), _, _) => (Some(n), Some(n)),
                        (None, _, Some([a, b])) => (Some(a), Some(b)),
                        (None, Some(m), None) => (Some(m), None),
                        _ => (None, None),
                    };
                    out.published_counts.push(PublishedCount {
                        source_id: input.spec.id.clone(),
                        scope: c.scope,
                        count_low: low,
                        count_high: high,
                        definition: c.definition,
                        source_url: c.source_url,
                        source_date: c.source_date,
                    });
                }
                Err(issues) => out.issues.extend(issues),
            }
        }
        Ok(out)
    }
}

fn figures(f: &Fact) -> String {
    let mut parts = Vec::new();
    if let Some(v) = f.power_mw {
        parts.push(format!("{v} MW"));
    }
    if let Some(v) = f.surface_m2 {
        parts.push(format!("{v} m²"));
    }
    parts.join(", ")
}

fn fact_record(input: &FileInput<'_>, f: &Fact, locator: String) -> Record {
    let mut r = Record::new(
        &input.spec.id,
        &fields::slug(&f.subject),
        input.provenance_at(locator),
    );
    r.name = Some(f.subject.clone());
    r.operator = f.operator.clone();
    r.codes = fields::site_codes(&f.subject);
    r.commune_name = f.commune.clone();
    r.address.city = f.commune.clone();
    r.departement_hint = f.dep.clone();
    r.point_precision = PointPrecision::None;
    r.website = f.source_url.clone();
    if let Some(s) = &f.status {
        r.status = Status::from_words(s).unwrap_or(Status::Unknown);
        r.status_text = Some(s.clone());
    } else {
        r.status = Status::Operating;
    }
    let quote = f.quote.clone().unwrap_or_default();
    r.description = Some(format!(
        "{} ({}): \"{quote}\"",
        f.source_url.as_deref().unwrap_or("no URL"),
        f.source_date.as_deref().unwrap_or("undated")
    ));
    if let Some(v) = f.power_mw {
        r.powers.push(PowerFact {
            value: v,
            unit: "MW",
            kind: power_kind(f.power_kind.as_deref(), &quote),
            kind_text: f.power_kind.clone(),
            field: "power_mw".into(),
        });
    }
    if let Some(v) = f.power_mva {
        r.powers.push(PowerFact {
            value: v,
            unit: "MVA",
            kind: PowerKind::GridMva,
            kind_text: Some("MVA".into()),
            field: "power_mva".into(),
        });
    }
    if let Some(v) = f.planned_power_mw {
        r.powers.push(PowerFact {
            value: v,
            unit: "MW",
            kind: PowerKind::Planned,
            kind_text: Some("planned".into()),
            field: "planned_power_mw".into(),
        });
    }
    if let Some(v) = f.surface_m2 {
        r.surfaces.push(SurfaceFact {
            value_m2: v,
            kind: surface_kind(f.surface_kind.as_deref(), &quote),
            kind_text: f.surface_kind.clone(),
            field: "surface_m2".into(),
        });
    }
    if let Some(v) = f.site_area_ha {
        r.surfaces.push(SurfaceFact {
            value_m2: v * 10_000.0,
            kind: SurfaceKind::SiteArea,
            kind_text: Some("ha".into()),
            field: "site_area_ha".into(),
        });
    }
    r
}

/// What a disclosed MW measures, from the source's own words.
fn power_kind(kind: Option<&str>, quote: &str) -> PowerKind {
    let k = kind.unwrap_or_default().to_lowercase();
    let q = quote.to_lowercase();
    if k.contains("mwth") || k.contains("thermal") {
        PowerKind::Thermal
    } else if k.contains("it ") || k.contains("informatique") {
        PowerKind::It
    } else if k.contains("customer")
        || k.contains("total")
        || q.contains("puissance électrique")
        || q.contains("puissance disponible")
        || q.contains("puissance électrique disponible")
    {
        PowerKind::Facility
    } else {
        PowerKind::Unspecified
    }
}

/// What a disclosed m² measures, from the source's own words.
fn surface_kind(kind: Option<&str>, quote: &str) -> SurfaceKind {
    let k = kind.unwrap_or_default().to_lowercase();
    let q = quote.to_lowercase();
    if k.contains("it room")
        || k.contains("utile")
        || k.contains("nets")
        || k.contains("white")
        || q.contains("salles informatiques")
    {
        SurfaceKind::WhiteSpace
    } else if q.contains("surface totale") || k.contains("floor") || k.contains("building") {
        SurfaceKind::FloorArea
    } else {
        SurfaceKind::Unspecified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = r#"
id = "operator-disclosures"
title = "t"
publisher = "p"
licence = "quoted facts"
attribution = "a"
trust_tier = 2
adapter = "disclosure-facts"
[[files]]
name = "reference_facts.json"
"#;

    // Synthetic facts in the exact structure of reference_facts.json.
    const DOC: &str = r#"{"facility_facts":[
 {"subject":"Equinix Paris3 (PA3), Saint-Denis","operator":"Equinix","commune":"Saint-Denis","dep":"93",
  "surface_m2":6000,"surface_kind":"m² utiles (building 11,000 m²)","power_mva":12,
  "source_url":"http://x","source_date":"c. 2008","quote":"une alimentation EDF de 12 MVA"},
 {"subject":"CloudHQ campus, Lisses (91)","operator":"CloudHQ","commune":"Lisses","dep":"91",
  "status":"under construction (2022)","power_mw":148.8,"power_kind":"MWth (as written)","quote":"q"},
 {"subject":"Data4 Essonne total","operator":"Data4","dep":"91","power_mw":375,"quote":"q"}],
 "count_facts":[{"scope":"France","count_range":[250,315],"definition":"d","source_url":"u","source_date":"2024"}]}"#;

    #[test]
    fn keeps_what_each_number_measures() {
        let s = spec(SPEC);
        let out = DisclosureFacts.parse(&input(&s, DOC.as_bytes())).unwrap();
        assert_eq!(out.records.len(), 2);
        let pa3 = &out.records[0];
        assert_eq!(pa3.codes, vec!["PA3"]);
        assert_eq!(pa3.powers[0].kind, PowerKind::GridMva);
        assert_eq!(pa3.surfaces[0].kind, SurfaceKind::WhiteSpace);
        let lisses = &out.records[1];
        assert_eq!(lisses.powers[0].kind, PowerKind::Thermal);
        assert_eq!(lisses.status, Status::UnderConstruction);
        assert_eq!(out.issues[0].code, "aggregate_fact");
        assert_eq!(out.published_counts[0].count_high, Some(315));
        assert_eq!(out.units_read, 4);
    }
}
