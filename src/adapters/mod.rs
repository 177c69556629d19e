//! The adapter trait and its one registry. An adapter turns the bytes of one source file
//! (handed over by the framework, never read by the adapter) into records, data issues and
//! published counts. Generic adapters (`csv`, `geojson`, `json`) are driven by the field
//! mapping in `sources/<id>.toml`; dedicated ones exist where the format needs them
//! (`html-page` reads operator web pages through CSS selectors in the catalog). The registry
//! also checks the catalog against the adapters ([`load_catalog`]): every adapter a records
//! source names exists and accepts its options ([`Adapter::check`]).

pub mod admin;
pub mod csv_table;
pub mod disclosures;
pub mod enedis;
pub mod fields;
pub mod geojson_points;
pub mod html_page;
pub mod json_entries;
pub mod kinds;
pub mod lenient;
pub mod mapped;
pub mod overpass;
pub mod peeringdb;

use std::path::Path;

use crate::catalog::{self, FileSpec, Mapping, SourceKind, SourceSpec};
use crate::error::{CatalogError, ParseError};
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
    /// Checks the catalog options this adapter reads for `file` (they are opaque to the
    /// catalog, e.g. `[mapping.html]`); the error is (key, message).
    fn check(&self, _spec: &SourceSpec, _file: &FileSpec) -> Result<(), (String, String)> {
        Ok(())
    }
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError>;
}

/// An adapter with the name the catalog calls it by.
pub struct Registered {
    /// The name used in `adapter = "..."` in the catalog.
    pub name: &'static str,
    /// Bumped whenever the output for the same bytes changes (keys parse caches).
    pub version: u32,
    /// One line for `dcinv sources`.
    pub summary: &'static str,
    pub adapter: &'static dyn Adapter,
}

impl Registered {
    pub fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        self.adapter.parse(input)
    }
}

/// Every adapter, in one place. Adding a source format means adding an entry here.
static REGISTRY: &[Registered] = &[
    Registered {
        name: "geojson",
        version: 1,
        summary: "GeoJSON FeatureCollection of points; properties mapped in the catalog",
        adapter: &geojson_points::GeoJsonPoints,
    },
    Registered {
        name: "csv",
        // 2: a repeated point is reported before the mapping's issues (`mapped::add_entry`).
        version: 2,
        summary: "CSV with a header row; columns mapped in the catalog",
        adapter: &csv_table::CsvTable,
    },
    Registered {
        name: "json",
        version: 1,
        summary: "JSON array of objects at a path; members mapped in the catalog",
        adapter: &json_entries::JsonEntries,
    },
    Registered {
        name: "enedis-history",
        version: 1,
        summary: "Enedis annual consumption by address, with yearly MWh history",
        adapter: &enedis::EnedisHistory,
    },
    Registered {
        name: "disclosure-facts",
        // 4: what a figure measures is read by `kinds` (labels as whole words, quote only
        // without a label).
        version: 4,
        summary: "Quoted operator facts (m², ha, MW, MVA with what they measure) and published counts and totals",
        adapter: &disclosures::DisclosureFacts,
    },
    Registered {
        name: "admin-boundaries",
        version: 1,
        summary: "Département/commune boundaries (GeoJSON) and INSEE COG tables (CSV)",
        adapter: &admin::AdminBoundaries,
    },
    Registered {
        name: "overpass",
        version: 1,
        summary: "Overpass API JSON (out geom / out center): data-centre nodes, ways and multipolygons",
        adapter: &overpass::Overpass,
    },
    Registered {
        name: "peeringdb",
        version: 1,
        summary: "PeeringDB API /api/fac JSON: facilities with id, operator, address and point",
        adapter: &peeringdb::PeeringDbFacilities,
    },
    Registered {
        name: "html-page",
        // 2: `kinds` also reads thermal, `unstated`, `customer`, `utiles`, `nets`.
        version: 2,
        summary: "operator web pages; CSS selectors in the catalog ([mapping.html]); figures with their kind",
        adapter: &html_page::HtmlPage,
    },
];

pub fn find(name: &str) -> Option<&'static Registered> {
    REGISTRY.iter().find(|a| a.name == name)
}

pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|a| a.name).collect()
}

/// Loads the catalog in `dir` ([`catalog::load_dir`]) and checks every source against the
/// registry ([`check_spec`]).
pub fn load_catalog(dir: &Path) -> Result<Vec<SourceSpec>, CatalogError> {
    let specs = catalog::load_dir(dir)?;
    specs.iter().try_for_each(check_spec)?;
    Ok(specs)
}

/// A records source names known adapters (for the source and each file) and each accepts
/// its options; the error names the catalog file and the key. Other kinds have no adapter.
pub fn check_spec(spec: &SourceSpec) -> Result<(), CatalogError> {
    if spec.kind != SourceKind::Records {
        return Ok(());
    }
    let invalid = |key: String, message: String| CatalogError::Invalid {
        path: spec.catalog_file.clone(),
        key,
        message,
    };
    let known = |key: String, name: &str| {
        find(name).ok_or_else(|| {
            invalid(
                key,
                format!("unknown adapter `{name}` (known: {})", names().join(", ")),
            )
        })
    };
    known("adapter".into(), &spec.adapter)?;
    for (i, file) in spec.files.iter().enumerate() {
        let key = match file.adapter {
            Some(_) => format!("files[{i}].adapter"),
            None => "adapter".into(),
        };
        let adapter = known(key, spec.adapter_for(file))?;
        adapter
            .adapter
            .check(spec, file)
            .map_err(|(key, message)| invalid(key, message))?;
    }
    Ok(())
}

/// The lines every test catalog entry needs (a `concat!` piece; the entry adds its mapping and
/// files): a source `id` read by `adapter`, with placeholder title, publisher, licence and
/// attribution.
#[cfg(test)]
macro_rules! test_source_header {
    ($id:literal, $adapter:literal) => {
        concat!(
            "id = \"",
            $id,
            "\"\ntitle = \"t\"\npublisher = \"p\"\nlicence = \"test\"\nattribution = \"a\"\n",
            "trust_tier = 3\nadapter = \"",
            $adapter,
            "\"\n"
        )
    };
}
#[cfg(test)]
pub(crate) use test_source_header;

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds a `FileInput` over inline bytes for adapter unit tests.
    use super::*;
    use crate::catalog::parse_spec;

    pub fn spec(toml_text: &str) -> SourceSpec {
        let value: toml::Value = toml::from_str(toml_text).unwrap();
        let id = value["id"].as_str().unwrap();
        let spec = parse_spec(Path::new(&format!("sources/{id}.toml")), toml_text).unwrap();
        check_spec(&spec).unwrap();
        spec
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_spec;

    use crate::catalog::tests::MINIMAL;

    fn check(text: &str) -> Result<(), String> {
        let spec = parse_spec(Path::new("sources/demo.toml"), text).map_err(|e| e.to_string())?;
        check_spec(&spec).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_adapter_is_rejected() {
        assert_eq!(check(MINIMAL), Ok(()));
        let err =
            check(&MINIMAL.replace("adapter = \"geojson\"", "adapter = \"nope\"")).unwrap_err();
        assert!(err.contains("unknown adapter `nope`"), "{err}");
        assert!(err.contains("key `adapter`"), "{err}");
        let err = check(&format!("{MINIMAL}adapter = \"nope\"\n")).unwrap_err();
        assert!(err.contains("key `files[0].adapter`"), "{err}");
    }

    #[test]
    fn adapter_options_are_checked_by_the_adapter() {
        let html = MINIMAL.replace("adapter = \"geojson\"", "adapter = \"html-page\"");
        let err = check(&html).unwrap_err();
        assert!(err.contains("key `mapping.html`"), "{err}");
        let bad = format!("{html}[mapping.html]\nblock = \"div[\"\nname = \"h1\"\n");
        let err = check(&bad).unwrap_err();
        assert!(err.contains("key `mapping.html.block`"), "{err}");
        let unknown = format!("{html}[mapping.html]\nblock = \"div\"\nname = \"h1\"\nbogus = 1\n");
        let err = check(&unknown).unwrap_err();
        assert!(err.contains("bogus"), "{err}");
        let good = format!("{html}[mapping.html]\nblock = \"div\"\nname = \"h1\"\n");
        assert_eq!(check(&good), Ok(()));
    }

    #[test]
    fn the_repository_catalog_passes_the_registry() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources");
        let specs = load_catalog(&dir).unwrap();
        let cadastre = specs.iter().find(|s| s.id == "cadastre-etalab").unwrap();
        assert_eq!(cadastre.kind, SourceKind::CommuneParcels);
    }
}
