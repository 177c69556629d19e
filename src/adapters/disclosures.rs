//! Operator-disclosure adapter: `facility_facts[]` (quoted surfaces and powers of named sites,
//! with what each number measures: IT / facility / grid power, white space / floor / site
//! area) → records without a point (located later by commune, the commune name cleaned of
//! the compiler's remarks), `count_facts[]` and `national_figures[]` → published figures
//! (counts, national and Île-de-France totals with year and definition). What a fact
//! describes (a building, a campus, an operator's regional total, a typical building, a past
//! state) is decided by the fact-attachment step (`src/facts.rs`), not here.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::lenient::{self, Doc};
use super::mapped::issue;
use super::{Adapter, FileInput, fields, kinds};
use crate::error::ParseError;
use crate::model::{
    IssueAction, IssueCode, ParseOutput, PointPrecision, PowerFact, PowerKind, PublishedCount,
    Record, Status, SurfaceFact, SurfaceKind,
};

pub struct DisclosureFacts;

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow, default)]
    facility_facts: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    count_facts: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    national_figures: Vec<&'a RawValue>,
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
    floor_area_m2: Option<f64>,
    facility_power_mw: Option<f64>,
    n_buildings: Option<u32>,
    source_url: Option<String>,
    source_date: Option<String>,
    quote: Option<String>,
    /// The compiler's summary (press facts), in place of a verbatim quote.
    note: Option<String>,
}

#[derive(Deserialize)]
struct NationalFigure {
    scope: String,
    metric: String,
    value: f64,
    approx: Option<String>,
    year: Option<i32>,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    source_url: String,
    #[serde(default)]
    source_date: String,
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
                        metric: "count".into(),
                        value: None,
                        year: None,
                        approx: None,
                    });
                }
                Err(issues) => out.issues.extend(issues),
            }
        }
        for (i, raw) in file.national_figures.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("national_figures[{i}]");
            match lenient::typed_entry::<NationalFigure>(
                input,
                &doc,
                raw,
                &locator,
                "a national figure",
            ) {
                Ok((f, issues)) => {
                    out.issues.extend(issues);
                    if f.value.is_finite() && f.value >= 0.0 {
                        out.published_counts
                            .push(national_figure(&input.spec.id, f));
                    } else {
                        out.issues.push(issue(
                            input,
                            IssueCode::UnparsedQuantity,
                            IssueAction::Dropped,
                            &locator,
                            None,
                            format!(
                                "{} {}: value {} is not a figure",
                                f.scope, f.metric, f.value
                            ),
                        ));
                    }
                }
                Err(issues) => out.issues.extend(issues),
            }
        }
        Ok(out)
    }
}

/// A national or regional figure; a count keeps its value in `count_low` / `count_high` too.
fn national_figure(source_id: &str, f: NationalFigure) -> PublishedCount {
    let count = (f.metric == "count" && f.value.fract() == 0.0).then_some(f.value as i64);
    PublishedCount {
        source_id: source_id.to_string(),
        scope: f.scope,
        count_low: count,
        count_high: count,
        definition: f.definition,
        source_url: f.source_url,
        source_date: f.source_date,
        metric: f.metric,
        value: Some(f.value),
        year: f.year,
        approx: f.approx,
    }
}

/// The text before the first of the compiler's separators, trimmed.
fn before_any<'t>(text: &'t str, cuts: &[&str]) -> &'t str {
    let end = cuts
        .iter()
        .filter_map(|c| text.find(c))
        .min()
        .unwrap_or(text.len());
    text[..end].trim()
}

/// The commune of a fact as a locatable name: the compiler's remarks after it (`La Courneuve
/// (limit Aubervilliers)`, `Les Ulis / Villejust`, `Cambrai area (...)`) are cut, and a Paris
/// arrondissement (`Paris 11e`) is Paris, a single commune in the boundaries.
pub fn commune_of(text: &str) -> Option<String> {
    let name = before_any(text, &[" (", " / ", " - ", " area", ","]);
    let words: Vec<&str> = name.split_whitespace().collect();
    let arrondissement = |w: &str| {
        let w = w.trim_end_matches("er").trim_end_matches('e');
        !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())
    };
    let name = match words.as_slice() {
        [city @ ("Paris" | "Lyon" | "Marseille"), n] if arrondissement(n) => (*city).to_string(),
        _ => name.to_string(),
    };
    (!name.is_empty()).then_some(name)
}

/// The operator of a fact without the compiler's remarks: `Data4 (Brookfield)` → `Data4`,
/// `Scaleway / OpCore (Iliad)` → `Scaleway`, `Data4 (Brookfield) + BT Immo` → `Data4`,
/// `OpCore (Iliad/InfraVia) with EDF` → `OpCore`.
pub fn operator_of(text: &str) -> Option<String> {
    let name = before_any(text, &[" (", " / ", " + ", " with ", " - "]);
    (!name.is_empty()).then(|| name.to_string())
}

/// The first date of a fact's `source_date` list (`2025-05 ; 2023-04`), as written.
fn first_date(text: &str) -> Option<String> {
    let first = text.split(';').next()?.trim();
    (!first.is_empty() && first.bytes().any(|b| b.is_ascii_digit())).then(|| first.to_string())
}

/// Status words of a fact: a phased site that is `operating / under construction` operates.
fn fact_status(text: &str) -> Status {
    if text.trim_start().to_lowercase().starts_with("operating") {
        return Status::Operating;
    }
    Status::from_words(text).unwrap_or(Status::Unknown)
}

fn fact_record(input: &FileInput<'_>, f: &Fact, locator: String) -> Record {
    let mut r = Record::new(
        &input.spec.id,
        &fields::slug(&f.subject),
        input.provenance_at(locator),
    );
    r.name = Some(f.subject.clone());
    r.operator = f.operator.as_deref().and_then(operator_of);
    r.codes = fields::site_codes(&f.subject);
    r.commune_name = f.commune.as_deref().and_then(commune_of);
    r.address.city = r.commune_name.clone();
    r.departement_hint = f.dep.clone();
    r.point_precision = PointPrecision::None;
    r.website = f.source_url.clone();
    if let Some(s) = &f.status {
        r.status = fact_status(s);
        r.status_text = Some(s.clone());
    } else {
        r.status = Status::Operating;
    }
    r.fact_date = f.source_date.as_deref().and_then(first_date);
    // A verbatim quote, else the compiler's summary (read for the same words).
    let quote = f
        .quote
        .clone()
        .or_else(|| f.note.clone())
        .unwrap_or_default();
    let buildings = f
        .n_buildings
        .map(|n| format!(" [{n} buildings]"))
        .unwrap_or_default();
    r.description = Some(format!(
        "{} ({}){buildings}: {}\"{quote}\"",
        f.source_url.as_deref().unwrap_or("no URL"),
        f.source_date.as_deref().unwrap_or("undated"),
        if f.quote.is_none() && f.note.is_some() {
            "compiler's note: "
        } else {
            ""
        }
    ));
    // Each figure with its unit, what it measures and the words that say so.
    let powers = [
        (
            f.power_mw,
            "MW",
            kinds::power_kind(f.power_kind.as_deref().unwrap_or(&quote), "MW"),
            f.power_kind.clone(),
            "power_mw",
        ),
        (
            f.power_mva,
            "MVA",
            PowerKind::GridMva,
            Some("MVA".into()),
            "power_mva",
        ),
        (
            f.facility_power_mw,
            "MW",
            PowerKind::Facility,
            Some("facility".into()),
            "facility_power_mw",
        ),
        (
            f.planned_power_mw,
            "MW",
            PowerKind::Planned,
            Some("planned".into()),
            "planned_power_mw",
        ),
    ];
    for (value, unit, kind, kind_text, field) in powers {
        if let Some(value) = value {
            r.powers.push(PowerFact {
                value,
                unit,
                kind,
                kind_text,
                field: field.into(),
            });
        }
    }
    let surfaces = [
        (
            f.surface_m2,
            kinds::surface_kind(f.surface_kind.as_deref().unwrap_or(&quote)),
            f.surface_kind.clone(),
            "surface_m2",
        ),
        (
            f.floor_area_m2,
            SurfaceKind::FloorArea,
            Some("floor area".into()),
            "floor_area_m2",
        ),
        (
            f.site_area_ha.map(|ha| ha * 10_000.0),
            SurfaceKind::SiteArea,
            Some("ha".into()),
            "site_area_ha",
        ),
    ];
    for (value_m2, kind, kind_text, field) in surfaces {
        if let Some(value_m2) = value_m2 {
            r.surfaces.push(SurfaceFact {
                value_m2,
                kind,
                kind_text,
                field: field.into(),
            });
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = concat!(
        test_source_header!("operator-disclosures", "disclosure-facts"),
        r#"
[[files]]
name = "reference_facts.json"
"#
    );

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
        assert_eq!(out.records.len(), 3);
        let pa3 = &out.records[0];
        assert_eq!(pa3.codes, vec!["PA3"]);
        assert_eq!(pa3.powers[0].kind, PowerKind::GridMva);
        assert_eq!(pa3.surfaces[0].kind, SurfaceKind::WhiteSpace);
        let lisses = &out.records[1];
        assert_eq!(lisses.powers[0].kind, PowerKind::Thermal);
        assert_eq!(lisses.status, Status::UnderConstruction);
        let total = &out.records[2];
        assert_eq!(
            (
                total.commune_name.as_deref(),
                total.departement_hint.as_deref()
            ),
            (None, Some("91"))
        );
        assert!(out.issues.is_empty());
        assert_eq!(out.published_counts[0].count_high, Some(315));
        assert_eq!(out.units_read, 4);
    }

    // Synthetic entries in the exact structure of press_facts_2025.json.
    const PRESS: &str = r#"{"_note":"n","facility_facts":[
 {"subject":"Digital Realty (ex-Interxion) Paris Digital Park campus (PAR8, PAR9, PAR10, PAR11)",
  "operator":"Digital Realty (ex-Interxion)","commune":"La Courneuve (limit Aubervilliers)","dep":"93",
  "status":"operating (phased; last tranche 2025) (2025)","surface_m2":39000.0,
  "surface_kind":"white space / IT rooms","power_mw":76.0,"power_kind":"IT (as published)",
  "facility_power_mw":120.0,"note":"it_mw 76 MW 'IT power'","source_url":"https://x",
  "source_date":"2024-04-09 ; 2024 ; 2020-04-27"},
 {"subject":"Telehouse (KDDI) TH2 Paris Voltaire","operator":"Telehouse (KDDI)","commune":"Paris 11e",
  "dep":"75","status":"operating (2024)","floor_area_m2":14000.0,"site_area_ha":0.5,
  "note":"surfaces and status only","source_url":"https://y","source_date":"2011-10-12 ; 2024-09"},
 {"subject":"CyrusOne Wissous","operator":"CyrusOne","commune":"Wissous","dep":"91",
  "status":"operating / under construction (phased) (2025)","power_mw":83.0,
  "power_kind":"facility, grid or unstated (see note)","note":"83 MW","source_date":"2022-10"}],
 "national_figures":[
 {"scope":"France","metric":"electricity_twh","value":10,"approx":"just under","year":2024,
  "definition":"all data centres located in France","source_url":"u","source_date":"2026-01"},
 {"scope":"France","metric":"count","value":352,"year":2024,"definition":"active","source_url":"u","source_date":"2026-01"},
 {"scope":"France","metric":"count","value":"many"}]}"#;

    #[test]
    fn press_facts_keep_every_figure_and_the_national_totals() {
        let s = spec(SPEC);
        let out = DisclosureFacts.parse(&input(&s, PRESS.as_bytes())).unwrap();
        assert_eq!(out.units_read, 6);
        assert_eq!(out.records.len(), 3);
        let pdp = &out.records[0];
        assert_eq!(pdp.commune_name.as_deref(), Some("La Courneuve"));
        assert_eq!(pdp.fact_date.as_deref(), Some("2024-04-09"));
        let kinds: Vec<PowerKind> = pdp.powers.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [PowerKind::It, PowerKind::Facility]);
        assert_eq!(pdp.surfaces[0].kind, SurfaceKind::WhiteSpace);
        assert!(
            pdp.description
                .as_deref()
                .unwrap()
                .contains("compiler's note")
        );
        let th2 = &out.records[1];
        assert_eq!(th2.commune_name.as_deref(), Some("Paris"));
        let surfaces: Vec<(SurfaceKind, f64)> =
            th2.surfaces.iter().map(|s| (s.kind, s.value_m2)).collect();
        assert_eq!(
            surfaces,
            [
                (SurfaceKind::FloorArea, 14_000.0),
                (SurfaceKind::SiteArea, 5_000.0)
            ]
        );
        let wissous = &out.records[2];
        assert_eq!(wissous.status, Status::Operating);
        assert_eq!(wissous.powers[0].kind, PowerKind::Unspecified);
        let f = &out.published_counts;
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].metric.as_str(), f[0].value, f[0].year),
            ("electricity_twh", Some(10.0), Some(2024))
        );
        assert_eq!(f[0].approx.as_deref(), Some("just under"));
        assert_eq!((f[1].count_low, f[1].count_high), (Some(352), Some(352)));
        assert_eq!(out.issues[0].code, "row_shape_mismatch");
    }

    #[test]
    fn operator_names_lose_the_compilers_remarks() {
        for (text, name) in [
            ("Data4 (Brookfield)", "Data4"),
            ("Telehouse (KDDI)", "Telehouse"),
            ("Scaleway / OpCore (Iliad)", "Scaleway"),
            ("OpCore (Iliad/InfraVia) with EDF", "OpCore"),
            ("OpCore (Iliad/InfraVia) - Scaleway", "OpCore"),
            ("Digital Realty (ex-Interxion)", "Digital Realty"),
            ("Equinix", "Equinix"),
        ] {
            assert_eq!(operator_of(text).as_deref(), Some(name), "{text}");
        }
    }

    #[test]
    fn commune_names_lose_the_compilers_remarks() {
        for (text, name) in [
            ("La Courneuve (limit Aubervilliers)", "La Courneuve"),
            ("Les Ulis / Villejust", "Les Ulis"),
            (
                "Cambrai area (E-Valley, ex air base 103) - exact commune not verified",
                "Cambrai",
            ),
            ("Meudon (Meudon-la-Forêt)", "Meudon"),
            ("Paris 11e", "Paris"),
            ("Marseille (La Joliette)", "Marseille"),
            ("Saint-Ouen-l'Aumône", "Saint-Ouen-l'Aumône"),
        ] {
            assert_eq!(commune_of(text).as_deref(), Some(name), "{text}");
        }
    }
}
