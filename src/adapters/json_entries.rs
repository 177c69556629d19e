//! Generic JSON adapter: an array of objects found at `mapping.array_path` (dotted path from
//! the document root), each object mapped onto a record by the catalog.

use serde_json::Value;

use super::mapped::{self, Entry, Mapped};
use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::model::ParseOutput;

pub struct JsonEntries;

impl Adapter for JsonEntries {
    fn name(&self) -> &'static str {
        "json"
    }

    fn version(&self) -> u32 {
        1
    }

    fn summary(&self) -> &'static str {
        "JSON array of objects at a path; members mapped in the catalog"
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let file = &input.file.name;
        let doc: Value = input.json()?;
        let path = input.mapping().array_path.clone().unwrap_or_default();
        let mut node = &doc;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            node = node.get(part).ok_or_else(|| ParseError::Structure {
                file: file.clone(),
                message: format!("no member `{part}` on the path `{path}`"),
            })?;
        }
        let entries = node.as_array().ok_or_else(|| ParseError::Structure {
            file: file.clone(),
            message: format!("`{path}` is not an array"),
        })?;
        let mut out = ParseOutput::default();
        for (i, value) in entries.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("{path}[{i}]");
            let Some(props) = value.as_object() else {
                out.issues.push(mapped::issue(
                    input,
                    crate::model::issue_codes::ROW_SHAPE,
                    crate::model::IssueAction::Dropped,
                    &locator,
                    None,
                    "entry is not a JSON object".into(),
                ));
                continue;
            };
            let entry = Entry {
                props,
                geometry_point: None,
                locator,
                position: i + 1,
            };
            match mapped::map_entry(input, &entry) {
                Mapped::Record(record, issues) => {
                    out.issues.extend(issues);
                    out.records.push(*record);
                }
                Mapped::Dropped(issues) => out.issues.extend(issues),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = r#"
id = "cloudsmog-enriched"
title = "t"
publisher = "p"
licence = "CC-BY-4.0"
attribution = "a"
trust_tier = 4
adapter = "json"
[mapping]
array_path = "datacenters"
lon = "lon"
lat = "lat"
name = "name"
[[mapping.power]]
field = "capacity_mw"
unit = "MW"
kind = "unspecified"
[[files]]
name = "major.json"
"#;

    #[test]
    fn reads_entries_at_path() {
        let s = spec(SPEC);
        let doc = br#"{"metadata":{},"datacenters":[{"name":"OVHcloud Roubaix RBX","lat":50.6942,"lon":3.1746,"capacity_mw":80},7]}"#;
        let out = JsonEntries.parse(&input(&s, doc)).unwrap();
        assert_eq!(out.records.len(), 1);
        assert_eq!(out.records[0].record_key, "cloudsmog-enriched:row1");
        assert_eq!(out.records[0].powers[0].value, 80.0);
        assert_eq!(out.units_read, 2);
        assert_eq!(out.issues.len(), 1);
    }

    #[test]
    fn missing_path_is_a_structure_error() {
        let s = spec(SPEC);
        let err = JsonEntries
            .parse(&input(&s, br#"{"sites":[]}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no member `datacenters`"), "{err}");
    }
}
