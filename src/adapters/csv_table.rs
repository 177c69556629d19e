//! Generic CSV adapter: one record per row, columns named by the source's mapping. A header
//! that lacks a mapped column fails the file; a row of the wrong width, an exact duplicate row
//! or a repeated point is a data issue.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::lenient;
use super::mapped::{self, Entry};
use super::{Adapter, FileInput};
use crate::catalog::Mapping;
use crate::error::ParseError;
use crate::model::{IssueAction, IssueCode, ParseOutput};

pub struct CsvTable;

impl Adapter for CsvTable {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let decoded = lenient::decode(&input.file.name, input.bytes)?;
        let text: &str = &decoded.text;
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
        // Every row with where it starts; a row ends where the next one starts.
        let rows: Vec<(usize, Result<csv::StringRecord, csv::Error>)> = reader
            .records()
            .map(|r| {
                let start = match &r {
                    Ok(row) => row.position().map_or(0, |p| p.byte() as usize),
                    Err(e) => e.position().map_or(0, |p| p.byte() as usize),
                };
                (start, r)
            })
            .collect();
        let mut out = ParseOutput::default();
        let first_row = rows.first().map_or(text.len(), |(s, _)| *s);
        let flaws_in = |range: std::ops::Range<usize>| -> Vec<lenient::Flaw> {
            decoded
                .flaws
                .iter()
                .filter(|f| range.contains(&f.at))
                .cloned()
                .collect()
        };
        out.issues.extend(lenient::flaw_issues(
            input,
            &flaws_in(0..first_row),
            &[],
            "header",
            None,
        ));
        let mut rows_state = Rows::default();
        for (i, (start, row)) in rows.iter().enumerate() {
            let end = rows.get(i + 1).map_or(text.len(), |(s, _)| *s);
            out.units_read += 1;
            self.row(
                input,
                &header,
                i + 1,
                row,
                flaws_in(*start..end),
                &mut rows_state,
                &mut out,
            );
        }
        Ok(out)
    }
}

/// What earlier rows of the file left: exact copies and points already seen.
#[derive(Default)]
struct Rows {
    seen_rows: HashSet<Vec<String>>,
    seen_points: HashMap<(String, String), usize>,
}

impl CsvTable {
    /// One data row (1-based `position`) → a record or a dropped issue, with its flaws.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        input: &FileInput<'_>,
        header: &[String],
        position: usize,
        row: &Result<csv::StringRecord, csv::Error>,
        flaws: Vec<lenient::Flaw>,
        state: &mut Rows,
        out: &mut ParseOutput,
    ) {
        let m = input.mapping();
        // A row that cannot be read as one of the header's width is dropped, with its flaws.
        let drop_row = |out: &mut ParseOutput, locator: &str, message: String| {
            out.issues
                .extend(lenient::flaw_issues(input, &flaws, &[], locator, None));
            out.issues.push(mapped::issue(
                input,
                IssueCode::RowShapeMismatch,
                IssueAction::Dropped,
                locator,
                None,
                message,
            ));
        };
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                drop_row(
                    out,
                    &format!("row {position}"),
                    format!("row cannot be read: {e}"),
                );
                return;
            }
        };
        let line = row.position().map_or(0, csv::Position::line);
        let locator = format!("row {position} (line {line})");
        if row.len() != header.len() {
            let message = format!("{} fields for a header of {}", row.len(), header.len());
            drop_row(out, &locator, message);
            return;
        }
        let values: Vec<String> = row.iter().map(str::to_string).collect();
        if !state.seen_rows.insert(values.clone()) {
            out.issues.push(mapped::issue(
                input,
                IssueCode::DuplicateRecord,
                IssueAction::Dropped,
                &locator,
                None,
                "exact copy of an earlier row".into(),
            ));
            return;
        }
        let mut props: Map<String, Value> = header
            .iter()
            .cloned()
            .zip(values.into_iter().map(Value::String))
            .collect();
        let screened = lenient::screen(&mut props);
        let entry = Entry {
            props: &props,
            geometry_point: None,
            locator: locator.clone(),
            position,
        };
        mapped::add_entry(input, &entry, &flaws, &screened, out, |record| {
            let (lo, la) = (m.lon.as_ref()?, m.lat.as_ref()?);
            let point = (
                mapped::get_str(&props, lo).unwrap_or_default(),
                mapped::get_str(&props, la).unwrap_or_default(),
            );
            if point.0.is_empty() {
                return None;
            }
            match state.seen_points.get(&point) {
                Some(first) => Some(mapped::issue(
                    input,
                    IssueCode::DuplicatePoint,
                    IssueAction::Kept,
                    &locator,
                    Some(&record.record_key),
                    format!("same coordinates as row {first}"),
                )),
                None => {
                    state.seen_points.insert(point, position);
                    None
                }
            }
        });
    }
}

/// Every column the mapping names; all must be in the header.
fn mapped_columns(m: &Mapping) -> Vec<String> {
    let mut cols: Vec<String> = m.value_fields().into_iter().cloned().collect();
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
    use crate::adapters::test_source_header;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = concat!(
        test_source_header!("community-map", "csv"),
        r#"
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
"#
    );

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
        out.issues.iter().map(|i| i.code.as_str()).collect()
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
    fn empty_fails_and_a_non_utf8_row_is_decoded_lossily() {
        let s = spec(SPEC);
        assert!(matches!(
            CsvTable.parse(&input(&s, b"")),
            Err(ParseError::Empty { .. })
        ));
        let mut bytes = CSV.as_bytes().to_vec();
        // A Latin-1 byte in the name of the third row.
        let at = CSV.find("Digital").unwrap();
        bytes[at] = 0xe9;
        let out = CsvTable.parse(&input(&s, &bytes)).unwrap();
        assert_eq!(out.records.len(), parse().records.len());
        let bad: Vec<_> = out
            .issues
            .iter()
            .filter(|i| i.code == IssueCode::InvalidUtf8)
            .collect();
        assert_eq!(bad.len(), 1, "{:?}", out.issues);
        assert_eq!(bad[0].locator, "row 3 (line 4)");
        assert!(
            bad[0].message.contains(&format!("at byte {at}")),
            "{}",
            bad[0].message
        );
        assert_eq!(
            out.records[1].name.as_deref(),
            Some("MRS1 - \u{FFFD}igital Realty")
        );
    }

    #[test]
    fn bom_and_crlf_give_no_issue() {
        let s = spec(SPEC);
        let plain = parse();
        let crlf = format!("\u{feff}{}", CSV.replace('\n', "\r\n"));
        let out = CsvTable.parse(&input(&s, crlf.as_bytes())).unwrap();
        assert_eq!(out.records.len(), plain.records.len());
        let codes = |o: &ParseOutput| {
            let mut c: Vec<&str> = o.issues.iter().map(|i| i.code.as_str()).collect();
            c.sort_unstable();
            c
        };
        assert_eq!(codes(&out), codes(&plain));
    }
}
