//! Curator overrides (`sources/overrides.toml`): force a merge, force a split, or correct a
//! field, each with a reason. Merges and splits constrain the clustering; corrections are
//! applied to the golden records last. Every override is reported as applied or not.

use std::path::Path;

use serde::Deserialize;

use crate::error::CatalogError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// The facilities that hold these records are one facility (applied after matching).
    #[serde(default)]
    pub merge: Vec<RecordsOverride>,
    /// These records are different facilities (pairwise).
    #[serde(default)]
    pub split: Vec<RecordsOverride>,
    /// Set a field of the facility that holds `record`.
    #[serde(default)]
    pub correct: Vec<Correction>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsOverride {
    pub records: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub record: String,
    /// `name`, `operator`, `status`, `address`, `website`.
    pub field: String,
    pub value: String,
    pub reason: String,
}

/// What happened to one override.
#[derive(Debug, Clone)]
pub struct OverrideReport {
    /// `merge[0]`, `split[1]`, `correct[2]`.
    pub which: String,
    pub reason: String,
    pub applied: bool,
    pub detail: String,
}

pub const CORRECTABLE: &[&str] = &["name", "operator", "status", "address", "website"];

impl Overrides {
    /// Reads the file; a missing file means no overrides.
    pub fn load(path: &Path) -> Result<Overrides, CatalogError> {
        if !path.exists() {
            return Ok(Overrides::default());
        }
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Overrides, CatalogError> {
        let o: Overrides = toml::from_str(text).map_err(|e| CatalogError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |key: String, message: String| CatalogError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        for (kind, list) in [("merge", &o.merge), ("split", &o.split)] {
            for (i, m) in list.iter().enumerate() {
                if m.records.len() < 2 {
                    return Err(invalid(
                        format!("{kind}[{i}].records"),
                        "needs at least two record keys".into(),
                    ));
                }
                if m.reason.trim().is_empty() {
                    return Err(invalid(
                        format!("{kind}[{i}].reason"),
                        "must be given".into(),
                    ));
                }
            }
        }
        for (i, c) in o.correct.iter().enumerate() {
            if !CORRECTABLE.contains(&c.field.as_str()) {
                return Err(invalid(
                    format!("correct[{i}].field"),
                    format!("`{}` is not one of {CORRECTABLE:?}", c.field),
                ));
            }
            if c.reason.trim().is_empty() {
                return Err(invalid(
                    format!("correct[{i}].reason"),
                    "must be given".into(),
                ));
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let o = Overrides::parse(
            Path::new("o.toml"),
            r#"
[[merge]]
records = ["a:1", "b:2"]
reason = "same building, checked on the operator's page"
[[correct]]
record = "a:1"
field = "name"
value = "Equinix PA3"
reason = "typo"
"#,
        )
        .unwrap();
        assert_eq!(o.merge.len(), 1);
        let err = Overrides::parse(
            Path::new("o.toml"),
            "[[correct]]\nrecord='a'\nfield='colour'\nvalue='x'\nreason='r'\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("correct[0].field"), "{err}");
    }
}
