//! Modelling parameters as data: `sources/parameters.toml` (id, group, typology, low /
//! central / high, unit, tag, source, note) → [`Parameters`], with lookups by typology and a
//! record of which values a run used.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::mc::Range;
use crate::error::CatalogError;

/// One parameter as written in the file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub id: String,
    pub group: String,
    pub typology: String,
    pub low: f64,
    pub central: f64,
    pub high: f64,
    pub unit: String,
    pub tag: String,
    pub source: String,
    pub note: String,
}

impl Parameter {
    pub fn range(&self) -> Range {
        Range {
            low: self.low,
            central: self.central,
            high: self.high,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    parameter: Vec<Parameter>,
}

/// The typologies that have their own parameter rows.
pub const TYPOLOGIES: &[&str] = &["edge", "enterprise", "telecom", "colocation", "hyperscale"];

/// All parameters, and the ids a run looked up.
#[derive(Debug, Default)]
pub struct Parameters {
    pub by_id: BTreeMap<String, Parameter>,
    used: RefCell<BTreeMap<String, Parameter>>,
}

impl Parameters {
    pub fn load(path: &Path) -> Result<Parameters, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Parameters, CatalogError> {
        let file: File = toml::from_str(text).map_err(|e| CatalogError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut by_id = BTreeMap::new();
        for (i, p) in file.parameter.into_iter().enumerate() {
            let invalid = |message: String| CatalogError::Invalid {
                path: path.to_path_buf(),
                key: format!("parameter[{i}] ({})", p.id),
                message,
            };
            if !(p.low <= p.central && p.central <= p.high && p.central.is_finite()) {
                return Err(invalid("needs low <= central <= high".into()));
            }
            if by_id.contains_key(&p.id) {
                return Err(invalid("duplicate id".into()));
            }
            by_id.insert(p.id.clone(), p);
        }
        Ok(Parameters {
            by_id,
            used: RefCell::new(BTreeMap::new()),
        })
    }

    /// A parameter by id; the run records it as used.
    pub fn get(&self, id: &str) -> Option<Parameter> {
        let p = self.by_id.get(id)?.clone();
        self.used.borrow_mut().insert(id.to_string(), p.clone());
        Some(p)
    }

    /// `<prefix>_<typology>`, else (unknown typology) the envelope of the typology rows
    /// (lowest low, median central, highest high, id `<prefix>_any_typology`), else
    /// `fallback`. Returns the id used and its range.
    pub fn for_typology(
        &self,
        prefix: &str,
        typology: &str,
        fallback: &str,
    ) -> Option<(String, Range)> {
        let id = format!("{prefix}_{typology}");
        if let Some(p) = self.get(&id) {
            return Some((id, p.range()));
        }
        if typology == "unknown" {
            let rows: Vec<Parameter> = TYPOLOGIES
                .iter()
                .filter_map(|t| self.by_id.get(&format!("{prefix}_{t}")).cloned())
                .collect();
            if !rows.is_empty() {
                let mut centrals: Vec<f64> = rows.iter().map(|p| p.central).collect();
                centrals.sort_by(f64::total_cmp);
                let range = Range {
                    low: rows.iter().map(|p| p.low).fold(f64::INFINITY, f64::min),
                    central: centrals[centrals.len() / 2],
                    high: rows
                        .iter()
                        .map(|p| p.high)
                        .fold(f64::NEG_INFINITY, f64::max),
                };
                for p in rows {
                    self.used.borrow_mut().insert(p.id.clone(), p);
                }
                return Some((format!("{prefix}_any_typology"), range));
            }
        }
        self.get(fallback)
            .map(|p| (fallback.to_string(), p.range()))
    }

    /// The parameters looked up so far, by id.
    pub fn used(&self) -> Vec<Parameter> {
        self.used.borrow().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_parameters_load() {
        let p = Parameters::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/parameters.toml"),
        )
        .unwrap();
        assert!(p.get("grid_intensity_fr").is_some());
        let (id, r) = p
            .for_typology("pue", "unknown", "pue_global_average")
            .unwrap();
        assert_eq!(id, "pue_any_typology");
        assert!(r.low < r.central && r.central < r.high);
        assert!(p.used().iter().any(|x| x.id == "pue_colocation"));
    }

    #[test]
    fn bad_rows_are_rejected() {
        let text = r#"[[parameter]]
id = "x"
group = "pue"
typology = "any"
low = 2.0
central = 1.0
high = 3.0
unit = "ratio"
tag = "E"
source = "s"
note = "n"
"#;
        let err = Parameters::parse(Path::new("p.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("low <= central <= high"), "{err}");
    }
}
