//! Generic CSV adapter: one record per row, columns named by the source's mapping. A header
//! that lacks a mapped column fails the file; a row of the wrong width, an exact duplicate row
//! or a repeated point is a data issue.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::mapped::{self, Entry, Mapped};
use super::{Adapter, FileInput};
use crate::catalog::Mapping;
use crate::error::ParseError;
use crate::model::{IssueAction, ParseOutput, issue_codes};

pub struct CsvTable;

impl Adapter for CsvTable {
    fn name(&self) -> &'static str {
        "csv"
    }

    fn version(&self) -> u32 {
        1
    }

    fn summary(&self) -> &'static str {
        "CSV with a header row; columns mapped in the catalog"
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let text = input.text()?;
        let file = input.file.name.clone();
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ParseError::Csv {
                file: file.clone(),
                message: e.to_string(),
            })?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let missing: Vec<String> = mapped_columns(input.mapping())
            .into_iter()
            .filter(|c| !header.contains(c))
            .collect();
        if !missing.is_empty() {
            return Err(ParseError::Header {
                file,
                missing,
                header,
            });
        }

        let mut out = ParseOutput::default();
        let mut seen_rows: HashSet<Vec<String>> = HashSet::new();
        let mut seen_points: HashMap<(String, String), usize> = HashMap::new();
        let m = input.mapping();
        for (i, row) in reader.records().enumerate() {
            let position = i + 1;
            let row = row.map_err(|e| ParseError::Csv {
                file: file.clone(),
                message: e.to_string(),
            })?;
            out.units_read += 1;
            let line = row.position().map_or(0, csv::Position::line);
            let locator = format!("row {position} (line {line})");
            if row.len() != header.len() {
                out.issues.push(mapped::issue(
                    input,
                    issue_codes::ROW_SHAPE,
                    IssueAction::Dropped,
                    &locator,
                    None,
                    format!("{} fields for a header of {}", row.len(), header.len()),
                ));
                continue;
            }
            let values: Vec<String> = row.iter().map(str::to_string).collect();
            if !seen_rows.insert(values.clone()) {
                out.issues.push(mapped::issue(
                    input,
                    issue_codes::DUPLICATE_RECORD,
                    IssueAction::Dropped,
                    &locator,
                    None,
                    "exact copy of an earlier row".into(),
                ));
                continue;
            }
            let props: Map<String, Value> = header
                .iter()
                .cloned()
                .zip(values.into_iter().map(Value::String))
                .collect();
            let entry = Entry {
                props: &props,
                geometry_point: None,
                locator: locator.clone(),
                position,
            };
            match mapped::map_entry(input, &entry) {
                Mapped::Record(record, issues) => {
                    out.issues.extend(issues);
                    if let (Some(lo), Some(la)) = (&m.lon, &m.lat) {
                        let point = (
                            mapped::get_str(&props, lo).unwrap_or_default(),
                            mapped::get_str(&props, la).unwrap_or_default(),
                        );
                        if !point.0.is_empty() {
                            if let Some(first) = seen_points.get(&point) {
                                out.issues.push(mapped::issue(
                                    input,
                                    issue_codes::DUPLICATE_POINT,
                                    IssueAction::Kept,
                                    &locator,
                                    Some(&record.record_key),
                                    format!("same coordinates as row {first}"),
                                ));
                            } else {
                                seen_points.insert(point, position);
                            }
                        }
                    }
                    out.records.push(*record);
                }
                Mapped::Dropped(issues) => out.issues.extend(issues),
            }
        }
        Ok(out)
    }
}

/// Every column the mapping names; all must be in the header.
fn mapped_columns(m: &Mapping) -> Vec<String> {
    let singles = [
        &m.id,
        &m.osm_type,
        &m.lon,
        &m.lat,
        &m.name,
        &m.operator,
        &m.operator_wikidata,
        &m.housenumber,
        &m.street,
        &m.postcode,
        &m.website,
        &m.peeringdb_id,
    ];
    let mut cols: Vec<String> = singles.into_iter().flatten().cloned().collect();
    for list in [&m.alt_names, &m.codes, &m.description, &m.city, &m.status] {
        cols.extend(list.iter().cloned());
    }
    cols.extend(m.power.iter().chain(&m.surface).map(|q| q.field.clone()));
    if let Some(rule) = &m.exclude {
        cols.push(rule.field.clone());
    }
    cols.sort();
    cols.dedup();
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = r#"
id = "community-map"
title = "t"
publisher = "p"
licence = "ODbL-1.0"
attribution = "a"
trust_tier = 3
adapter = "csv"
[mapping]
id = "@id"
id_style = "osm_path"
lon = "Longitude"
lat = "Latitude"
name = "name"
codes = ["ref"]
description = ["description"]
[[mapping.power]]
field = "data_center:power"
unit = "text"
kind = "unspecified"
[[files]]
name = "map.csv"
"#;

    // Synthetic rows in the exact column layout of the community-map export.
    const CSV: &str = "Latitude,Longitude,@id,name,ref,description,data_center:power,@relations\n\
48.9,2.35,node/1,Equinix PA3,,data center,,\n\
48.9,2.35,node/1,Equinix PA3,,data center,,\n\
43.31,5.37,MRS1 ,MRS1 - Digital Realty,,,1.2 MW,[object Object]\n\
49.13,2.25,node/2,,,\"data center\nen construction\",,\n\
46.7,-1.99,,,,,,\n\
2.35,48.9,way/3,Swapped,,,,\n\
48.1,2.1,way/4,Short\n";

    fn parse() -> ParseOutput {
        let s = spec(SPEC);
        CsvTable.parse(&input(&s, CSV.as_bytes())).unwrap()
    }

    fn codes(out: &ParseOutput) -> Vec<&str> {
        out.issues.iter().map(|i| i.code).collect()
    }

    #[test]
    fn keys_records_by_osm_id_or_row() {
        let out = parse();
        let keys: Vec<&str> = out.records.iter().map(|r| r.record_key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "community-map:node/1",
                "community-map:row3",
                "community-map:node/2",
                "community-map:row5",
                "community-map:way/3"
            ]
        );
        assert_eq!(out.units_read, 7);
    }

    #[test]
    fn reports_the_real_mess() {
        let out = parse();
        let c = codes(&out);
        for code in [
            "duplicate_record",
            "id_not_osm",
            "object_object_value",
            "embedded_newline",
            "anonymous_point",
            "row_shape_mismatch",
        ] {
            assert!(c.contains(&code), "{code} missing in {c:?}");
        }
        let mrs = &out.records[1];
        assert_eq!(mrs.codes, vec!["MRS1"]);
        assert_eq!(mrs.powers[0].value, 1.2);
        let construction = &out.records[2];
        assert_eq!(construction.status, crate::model::Status::UnderConstruction);
        // Swapped coordinates are repaired by the locate stage, which knows where France is.
        assert_eq!(out.records[4].point.unwrap().lon, 48.9);
        // Accounting: every row is a record or a dropped issue.
        let dropped = out
            .issues
            .iter()
            .filter(|i| i.action == IssueAction::Dropped)
            .count();
        assert_eq!(out.records.len() + dropped, out.units_read);
    }

    #[test]
    fn wrong_header_fails_naming_the_column() {
        let s = spec(SPEC);
        let err = CsvTable
            .parse(&input(&s, b"lat,lon,id\n1,2,3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("map.csv") && err.contains("Latitude"), "{err}");
    }

    #[test]
    fn empty_and_non_utf8_fail() {
        let s = spec(SPEC);
        assert!(matches!(
            CsvTable.parse(&input(&s, b"")),
            Err(ParseError::Empty { .. })
        ));
        let bytes = b"Latitude,Longitude\n48.1,2.1,\xe9\xe8\n";
        let err = CsvTable.parse(&input(&s, bytes)).unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8 at byte 28"), "{err}");
    }
}
