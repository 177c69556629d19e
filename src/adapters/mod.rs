//! The adapter trait and its one registry. An adapter turns the bytes of one source file
//! (handed over by the framework, never read by the adapter) into records, data issues and
//! published counts. Generic adapters (`csv`, `geojson`, `json`) are driven by the field
//! mapping in `sources/<id>.toml`; dedicated ones exist where the format needs them
//! (`html-page` reads operator web pages through CSS selectors in the catalog).

pub mod admin;
pub mod cadastre;
pub mod csv_table;
pub mod disclosures;
pub mod enedis;
pub mod fields;
pub mod geojson_points;
pub mod html_page;
pub mod json_entries;
pub mod mapped;
pub mod overpass;
pub mod peeringdb;

use crate::catalog::{FileSpec, Mapping, SourceSpec};
use crate::error::ParseError;
use crate::model::{ParseOutput, Provenance};

/// Everything an adapter may look at: the catalog entry and the bytes of one file.
pub struct FileInput<'a> {
    pub spec: &'a SourceSpec,
    pub file: &'a FileSpec,
    pub bytes: &'a [u8],
    /// Provenance shared by every record of this file (the locator is filled per record).
    pub provenance: Provenance,
}

impl FileInput<'_> {
    pub fn mapping(&self) -> &Mapping {
        self.spec.mapping_for(self.file)
    }

    /// Provenance for one record at `locator`.
    pub fn provenance_at(&self, locator: String) -> Provenance {
        Provenance {
            locator,
            ..self.provenance.clone()
        }
    }

    /// The bytes as UTF-8 text (BOM stripped), or the error naming the file and offset.
    pub fn text(&self) -> Result<&str, ParseError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ParseError::Empty {
                file: self.file.name.clone(),
            });
        }
        let text = std::str::from_utf8(self.bytes).map_err(|e| ParseError::NotUtf8 {
            file: self.file.name.clone(),
            offset: e.valid_up_to(),
        })?;
        Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
    }

    /// The text (see [`FileInput::text`]) read as JSON into `T`, or the error naming the file.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParseError> {
        serde_json::from_str(self.text()?).map_err(|e| ParseError::Json {
            file: self.file.name.clone(),
            message: e.to_string(),
        })
    }
}

/// A parser for one file format. Implementations are pure: bytes in, records out.
pub trait Adapter: Sync {
    /// The name used in `adapter = "..."` in the catalog.
    fn name(&self) -> &'static str;
    /// Bumped whenever the output for the same bytes changes (keys parse caches).
    fn version(&self) -> u32;
    /// One line for `dcinv sources`.
    fn summary(&self) -> &'static str;
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError>;
}

/// Every adapter, in one place. Adding a source format means adding a line here.
static REGISTRY: &[&dyn Adapter] = &[
    &geojson_points::GeoJsonPoints,
    &csv_table::CsvTable,
    &json_entries::JsonEntries,
    &enedis::EnedisHistory,
    &disclosures::DisclosureFacts,
    &admin::AdminBoundaries,
    &overpass::Overpass,
    &cadastre::CadastreParcels,
    &peeringdb::PeeringDbFacilities,
    &html_page::HtmlPage,
];

pub fn find(name: &str) -> Option<&'static dyn Adapter> {
    REGISTRY.iter().copied().find(|a| a.name() == name)
}

pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|a| a.name()).collect()
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds a `FileInput` over inline bytes for adapter unit tests.
    use super::*;
    use crate::catalog::parse_spec;
    use std::path::Path;

    pub fn spec(toml_text: &str) -> SourceSpec {
        let value: toml::Value = toml::from_str(toml_text).unwrap();
        let id = value["id"].as_str().unwrap();
        parse_spec(Path::new(&format!("sources/{id}.toml")), toml_text).unwrap()
    }

    pub fn input<'a>(spec: &'a SourceSpec, bytes: &'a [u8]) -> FileInput<'a> {
        FileInput {
            spec,
            file: &spec.files[0],
            bytes,
            provenance: Provenance {
                source_id: spec.id.clone(),
                file: spec.files[0].name.clone(),
                snapshot_sha256: "0".repeat(64),
                retrieved_at: "2026-01-01T00:00:00Z".into(),
                origin: "test".into(),
                licence: spec.licence.clone(),
                locator: String::new(),
            },
        }
    }
}
