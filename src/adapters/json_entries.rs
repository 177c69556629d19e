//! Generic JSON adapter: an array of objects found at `mapping.array_path` (dotted path from
//! the document root), each object mapped onto a record by the catalog. Each entry is decoded
//! from its own slice of the file: a broken one is a data issue, not a failed file.

use super::lenient::{self, Doc};
use super::mapped::{self, Entry};
use super::{Adapter, FileInput};
use crate::error::ParseError;
use crate::model::ParseOutput;

pub struct JsonEntries;

impl Adapter for JsonEntries {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let doc = Doc::open(input)?;
        let path = input.mapping().array_path.clone().unwrap_or_default();
        let entries = lenient::array_at(&doc, &path)?;
        let mut out = ParseOutput::default();
        for (i, raw) in entries.iter().enumerate() {
            out.units_read += 1;
            let locator = format!("{path}[{i}]");
            let (mut props, flaws) = match lenient::object_entry(input, &doc, raw, &locator) {
                Ok(entry) => entry,
                Err(issue) => {
                    out.issues.push(*issue);
                    continue;
                }
            };
            let screened = lenient::screen(&mut props);
            let entry = Entry {
                props: &props,
                geometry_point: None,
                locator: locator.clone(),
                position: i + 1,
            };
            mapped::add_entry(input, &entry, &flaws, &screened, &mut out, |_| None);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = concat!(
        test_source_header!("cloudsmog-enriched", "json"),
        r#"
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
"#
    );

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
        assert_eq!(out.issues[0].code, "not_an_object");
    }

    #[test]
    fn a_number_out_of_range_costs_only_its_value() {
        let s = spec(SPEC);
        let doc = br#"{"datacenters":[{"name":"A","lat":50.1,"lon":3.1,"capacity_mw":1e309},{"name":"B","lat":50.2,"lon":3.2,"capacity_mw":NaN}]}"#;
        let out = JsonEntries.parse(&input(&s, doc)).unwrap();
        assert_eq!(out.records.len(), 2);
        assert!(out.records.iter().all(|r| r.powers.is_empty()));
        let codes: Vec<&str> = out.issues.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["non_finite_number", "non_finite_number"]);
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
