//! Administrative-boundaries adapter: IGN Admin Express GeoJSON (départements, communes) and
//! INSEE COG tables → [`AdminPart`]s that the locate stage indexes. The file's `role` in the
//! catalog says which it is. The whole file is read at once; when that fails (or decoding
//! repaired broken bytes), each feature or row is read on its own and the broken ones are
//! data issues, so that one bad unit never costs the others.

use super::lenient::{self, Doc, Flaw};
use super::mapped::issue;
use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::geo::locate::{self, LocateError};
use crate::model::{AdminPart, DataIssue, IssueAction, IssueCode, ParseOutput};

pub struct AdminBoundaries;

const ROLES: &[&str] = &[
    "departements",
    "communes",
    "cog_departements",
    "cog_regions",
];

/// Reads `bytes` (a whole file, or one unit of it) as the part of `role`.
fn read(role: &str, file: &str, bytes: &[u8]) -> Result<AdminPart, LocateError> {
    Ok(match role {
        "departements" => AdminPart::Departements(locate::parse_boundaries(file, bytes)?),
        "communes" => AdminPart::Communes(locate::parse_boundaries(file, bytes)?),
        "cog_departements" => {
            AdminPart::CogDepartements(locate::parse_cog_departements(file, bytes)?)
        }
        _ => AdminPart::CogRegions(locate::parse_cog_regions(file, bytes)?),
    })
}

fn len(part: &AdminPart) -> usize {
    match part {
        AdminPart::Departements(v) | AdminPart::Communes(v) => v.len(),
        AdminPart::CogDepartements(v) => v.len(),
        AdminPart::CogRegions(v) => v.len(),
    }
}

fn append(into: &mut AdminPart, part: AdminPart) {
    match (into, part) {
        (AdminPart::Departements(a), AdminPart::Departements(b))
        | (AdminPart::Communes(a), AdminPart::Communes(b)) => a.extend(b),
        (AdminPart::CogDepartements(a), AdminPart::CogDepartements(b)) => a.extend(b),
        (AdminPart::CogRegions(a), AdminPart::CogRegions(b)) => a.extend(b),
        _ => {}
    }
}

/// One unit of a file: where it is, its own text as a file of one unit, its flaws.
struct Unit {
    locator: String,
    text: String,
    flaws: Vec<Flaw>,
}

/// The features of a boundaries file, each as a one-feature collection.
fn feature_units(
    input: &FileInput<'_>,
    issues: &mut Vec<DataIssue>,
) -> Result<Vec<Unit>, ParseError> {
    let doc = Doc::open(input)?;
    #[derive(serde::Deserialize)]
    struct Collection<'a> {
        #[serde(borrow, default)]
        features: Vec<&'a serde_json::value::RawValue>,
    }
    let collection: Collection<'_> = doc.parse()?;
    let mut units = Vec::new();
    for (i, raw) in collection.features.iter().enumerate() {
        let locator = format!("feature {i}");
        match doc.value(raw) {
            Ok((value, _)) if !value.is_object() => {
                issues.push(lenient::not_an_object(input, &locator, &value));
            }
            Ok((value, flaws)) => units.push(Unit {
                locator,
                text: serde_json::json!({"type": "FeatureCollection", "features": [value]})
                    .to_string(),
                flaws,
            }),
            Err(message) => issues.push(lenient::unreadable(input, &locator, &message)),
        }
    }
    Ok(units)
}

/// The rows of a COG table, each after the header line.
fn row_units(input: &FileInput<'_>) -> Result<Vec<Unit>, ParseError> {
    let decoded = lenient::decode(&input.file.name, input.bytes)?;
    let text: &str = &decoded.text;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let starts: Vec<usize> = reader
        .records()
        .map(|r| match r {
            Ok(row) => row.position().map_or(0, |p| p.byte() as usize),
            Err(e) => e.position().map_or(0, |p| p.byte() as usize),
        })
        .collect();
    let header = &text[..starts.first().copied().unwrap_or(text.len())];
    Ok(starts
        .iter()
        .enumerate()
        .map(|(i, start)| {
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            Unit {
                locator: format!("row {}", i + 1),
                text: format!("{header}{}", &text[*start..end]),
                flaws: decoded
                    .flaws
                    .iter()
                    .filter(|f| (*start..end).contains(&f.at))
                    .cloned()
                    .collect(),
            }
        })
        .collect())
}

impl Adapter for AdminBoundaries {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let file = input.file.name.as_str();
        let role = input.file.role.as_deref().unwrap_or_default();
        if !ROLES.contains(&role) {
            return Err(ParseError::Structure {
                file: file.to_string(),
                message: format!("unknown role `{role}` ({})", ROLES.join(", ")),
            });
        }
        let decoded = lenient::decode(file, input.bytes)?;
        let whole = read(role, file, decoded.text.as_bytes());
        if let Ok(part) = whole.as_ref()
            && decoded.flaws.is_empty()
        {
            return Ok(ParseOutput {
                units_read: len(part),
                admin: Some(part.clone()),
                ..ParseOutput::default()
            });
        }
        // Unit by unit.
        let mut issues = Vec::new();
        let units = if role.starts_with("cog_") {
            row_units(input)?
        } else {
            feature_units(input, &mut issues)?
        };
        let mut part = match role {
            "departements" => AdminPart::Departements(Vec::new()),
            "communes" => AdminPart::Communes(Vec::new()),
            "cog_departements" => AdminPart::CogDepartements(Vec::new()),
            _ => AdminPart::CogRegions(Vec::new()),
        };
        for unit in units {
            issues.extend(lenient::flaw_issues(
                input,
                &unit.flaws,
                &[],
                &unit.locator,
                None,
            ));
            match read(role, file, unit.text.as_bytes()) {
                Ok(one) => append(&mut part, one),
                Err(e) => issues.push(issue(
                    input,
                    IssueCode::RowShapeMismatch,
                    IssueAction::Dropped,
                    &unit.locator,
                    None,
                    format!("not a {role} unit: {e}"),
                )),
            }
        }
        // Nothing readable at all: the file is not what the catalog says.
        if len(&part) == 0 {
            return Err(match whole {
                Err(e) => ParseError::Boundaries {
                    file: file.to_string(),
                    message: e.to_string(),
                },
                Ok(_) => ParseError::Structure {
                    file: file.to_string(),
                    message: "no readable unit".into(),
                },
            });
        }
        let dropped = issues
            .iter()
            .filter(|i| i.action == IssueAction::Dropped)
            .count();
        Ok(ParseOutput {
            units_read: len(&part) + dropped,
            issues,
            admin: Some(part),
            ..ParseOutput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    fn admin_spec(name: &str, role: &str) -> crate::catalog::SourceSpec {
        spec(&format!(
            "id = \"admin-boundaries\"\ntitle = \"t\"\npublisher = \"p\"\nlicence = \"l\"\nattribution = \"a\"\ntrust_tier = 1\nadapter = \"admin-boundaries\"\n[[files]]\nname = \"{name}\"\nrole = \"{role}\"\n"
        ))
    }

    // Synthetic features in the {code, nom} layout of the IGN files.
    const DEPS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"code":"93","nom":"Seine-Saint-Denis"},"geometry":{"type":"Polygon","coordinates":[[[2.3,48.8],[2.6,48.8],[2.6,49.0],[2.3,48.8]]]}},
 "a string",
 {"type":"Feature","properties":{"code":"94","nom":"Val-de-Marne"},"geometry":{"type":"Polygon","coordinates":[[[2.3,48.6],[2.6,48.6],[2.6,1e309],[2.3,48.6]]]}},
 {"type":"Feature","properties":{"code":"95","nom":"Val-d'Oise"},"geometry":{"type":"Polygon","coordinates":[[[2.0,49.0],[2.4,49.0],[2.4,49.2],[2.0,49.0]]]}}
]}"#;

    #[test]
    fn a_broken_feature_costs_only_itself() {
        let s = admin_spec("deps.geojson", "departements");
        let out = AdminBoundaries.parse(&input(&s, DEPS.as_bytes())).unwrap();
        let Some(AdminPart::Departements(deps)) = &out.admin else {
            panic!()
        };
        let codes: Vec<&str> = deps.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["93", "95"]);
        let issues: Vec<&str> = out.issues.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(
            issues,
            ["not_an_object", "non_finite_number", "row_shape_mismatch"]
        );
        assert_eq!(out.units_read, 4);
    }

    #[test]
    fn a_cog_row_with_broken_bytes_is_kept() {
        let s = admin_spec("region2020.csv", "cog_regions");
        let out = AdminBoundaries
            .parse(&input(&s, b"reg,cheflieu,tncc,ncc,nccenr,libelle\n11,75056,1,ILE DE FRANCE,Ile-de-France,\xcele-de-France\n24,45234,2,CENTRE,Centre,Centre-Val de Loire\n"))
            .unwrap();
        let Some(AdminPart::CogRegions(regions)) = &out.admin else {
            panic!()
        };
        assert_eq!(regions.len(), 2);
        assert_eq!(out.issues[0].code, "invalid_utf8");
        assert_eq!(out.issues[0].locator, "row 1");
    }
}
