//! Normalisation for matching: the operator registry (`sources/operators.toml`: aliases →
//! canonical operator, parent, kind, Wikidata id), names without generic words, site codes
//! (`MAR02` → `MAR2`) and French street addresses (`35 r. de la Motte` → `35 rue de la motte`).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::common::slug;
use crate::error::CatalogError;

/// One canonical operator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    /// `colocation`, `cloud`, `telecom`, `enterprise`, `public`.
    pub kind: String,
    pub wikidata: Option<String>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    operator: Vec<Operator>,
}

/// Aliases → operators.
#[derive(Debug, Clone, Default)]
pub struct OperatorRegistry {
    pub operators: Vec<Operator>,
    by_alias: HashMap<String, usize>,
    by_wikidata: HashMap<String, usize>,
}

const KINDS: &[&str] = &["colocation", "cloud", "telecom", "enterprise", "public"];

impl OperatorRegistry {
    pub fn load(path: &Path) -> Result<OperatorRegistry, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<OperatorRegistry, CatalogError> {
        let file: RegistryFile = toml::from_str(text).map_err(|e| CatalogError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut reg = OperatorRegistry::default();
        for (i, op) in file.operator.into_iter().enumerate() {
            if !KINDS.contains(&op.kind.as_str()) {
                return Err(CatalogError::Invalid {
                    path: path.to_path_buf(),
                    key: format!("operator[{i}].kind"),
                    message: format!("`{}` is not one of {KINDS:?}", op.kind),
                });
            }
            for alias in op.aliases.iter().chain(std::iter::once(&op.name)) {
                let key = operator_key(alias);
                if let Some(prev) = reg.by_alias.insert(key.clone(), i)
                    && prev != i
                {
                    return Err(CatalogError::Invalid {
                        path: path.to_path_buf(),
                        key: format!("operator[{i}].aliases"),
                        message: format!("alias `{alias}` also belongs to operator[{prev}]"),
                    });
                }
            }
            if let Some(q) = &op.wikidata {
                reg.by_wikidata.insert(q.clone(), i);
            }
            reg.operators.push(op);
        }
        Ok(reg)
    }

    /// The operator an operator field names (or its Wikidata id).
    pub fn resolve(&self, operator: &str, wikidata: Option<&str>) -> Option<&Operator> {
        if let Some(i) = wikidata.and_then(|q| self.by_wikidata.get(q)) {
            return Some(&self.operators[*i]);
        }
        self.by_alias
            .get(&operator_key(operator))
            .map(|i| &self.operators[*i])
    }

    /// The registered operator whose alias appears as whole words in a name (longest alias
    /// wins), for records with no operator field (`Datacenter IBM`, `Equinix PA3`). A former
    /// operator (`ex-Euclyde`, `ex Jaguar Network`: up to the next `(`, `)`, `;` or `,`) is
    /// not the operator.
    pub fn find_in_name(&self, name: &str) -> Option<&Operator> {
        let current: Vec<String> = name
            .split(['(', ')', ';', ','])
            .map(slug)
            .filter(|s| !(s == "ex" || s.starts_with("ex-")))
            .collect();
        let words = format!("-{}-", current.join("-"));
        self.by_alias
            .iter()
            .filter(|(alias, _)| alias.len() >= 3 && words.contains(&format!("-{alias}-")))
            .max_by_key(|(alias, i)| (alias.len(), std::cmp::Reverse(**i)))
            .map(|(_, i)| &self.operators[*i])
    }

    /// The registered operator of a record: its operator field (an alias or its Wikidata id,
    /// else a registered operator named in the field's head — `Equinix xScale (JV
    /// Equinix/GIC)` is Equinix, while the parentheses name owners and former operators, `Free
    /// Pro (Iliad; ex Jaguar Network)`), else one named in its name (`Datacenter IBM`).
    pub fn of_record(
        &self,
        operator: Option<&str>,
        wikidata: Option<&str>,
        name: Option<&str>,
    ) -> Option<&Operator> {
        let op = operator.unwrap_or_default();
        let head = op.split(['(', '[']).next().unwrap_or(op);
        self.resolve(op, wikidata)
            .or_else(|| self.resolve(head, None))
            .or_else(|| self.find_in_name(head))
            .or_else(|| name.and_then(|n| self.find_in_name(n)))
    }
}

/// Operator matching key: slug without legal-form words.
pub fn operator_key(s: &str) -> String {
    slug(s)
        .split('-')
        .filter(|w| {
            !matches!(
                *w,
                "inc" | "sas" | "sa" | "sarl" | "ltd" | "llc" | "group" | "groupe"
            )
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Generic words that say nothing about which site it is.
const GENERIC: &[&str] = &[
    "datacenter",
    "datacentre",
    "data",
    "center",
    "centre",
    "centers",
    "centres",
    "dc",
    "de",
    "du",
    "des",
    "la",
    "le",
    "les",
    "l",
    "d",
    "the",
    "of",
    "site",
    "salle",
    "informatique",
    "hebergement",
    "et",
    "and",
    "sas",
    "sa",
    "inc",
];

/// The words of a name (lowercase ASCII) without generic words, for similarity.
pub fn name_words(name: &str) -> Vec<String> {
    slug(name)
        .split('-')
        .filter(|w| !w.is_empty() && !GENERIC.contains(w))
        .map(str::to_string)
        .collect()
}

/// `MAR02` → `MAR2`, `PA-3` → `PA3`, `dc sud` → `DCSUD`.
pub fn code_key(code: &str) -> String {
    let upper: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let letters: String = upper
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    let digits = &upper[letters.len()..];
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        let trimmed = digits.trim_start_matches('0');
        format!(
            "{letters}{}",
            if trimmed.is_empty() { "0" } else { trimmed }
        )
    } else {
        upper
    }
}

/// Street-type abbreviations used in French addresses.
const STREET_TYPES: &[(&str, &str)] = &[
    ("r", "rue"),
    ("av", "avenue"),
    ("ave", "avenue"),
    ("bd", "boulevard"),
    ("boul", "boulevard"),
    ("bld", "boulevard"),
    ("pl", "place"),
    ("chem", "chemin"),
    ("ch", "chemin"),
    ("rte", "route"),
    ("imp", "impasse"),
    ("all", "allee"),
    ("qu", "quai"),
    ("sq", "square"),
    ("fg", "faubourg"),
    ("fbg", "faubourg"),
    ("za", "zone"),
    ("zi", "zone"),
    ("st", "saint"),
    ("ste", "sainte"),
];

/// A comparable `number street` key, or None without a street. Accents, case, punctuation
/// and street-type abbreviations are normalised; `bis`/`ter` kept.
pub fn address_key(housenumber: Option<&str>, street: Option<&str>) -> Option<String> {
    let street = street?;
    let mut words: Vec<String> = slug(street).split('-').map(str::to_string).collect();
    let mut number = housenumber.map(slug).unwrap_or_default();
    // `35 RUE DE LA MOTTE` carries the number in the street.
    if number.is_empty()
        && words
            .first()
            .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
    {
        number = words.remove(0);
    }
    for w in &mut words {
        if let Some((_, full)) = STREET_TYPES.iter().find(|(abbr, _)| abbr == w) {
            *w = (*full).to_string();
        }
    }
    let street: Vec<String> = words.into_iter().filter(|w| !w.is_empty()).collect();
    if street.is_empty() {
        return None;
    }
    Some(format!("{number} {}", street.join(" ")).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> OperatorRegistry {
        OperatorRegistry::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/operators.toml"),
        )
        .unwrap()
    }

    #[test]
    fn aliases_resolve_to_one_operator() {
        let r = registry();
        assert_eq!(r.resolve("Interxion", None).unwrap().id, "digital-realty");
        assert_eq!(
            r.resolve("Digital Realty (Interxion)", None).unwrap().id,
            "digital-realty"
        );
        assert_eq!(r.resolve("Equinix, Inc.", None).unwrap().id, "equinix");
        assert_eq!(r.resolve("data4", None).unwrap().id, "data4");
        assert_eq!(
            r.resolve("Bouygues Télécom", None).unwrap().id,
            "bouygues-telecom"
        );
        assert_eq!(
            r.resolve("whatever", Some("Q1344755")).unwrap().id,
            "equinix"
        );
        assert!(r.resolve("Unknown Hosting", None).is_none());
    }

    #[test]
    fn operators_found_in_names() {
        let r = registry();
        assert_eq!(r.find_in_name("Datacenter IBM").unwrap().id, "ibm");
        assert_eq!(r.find_in_name("Equinix PA3 - Paris").unwrap().id, "equinix");
        assert_eq!(
            r.find_in_name("MRS1 - Digital Realty").unwrap().id,
            "digital-realty"
        );
        assert!(r.find_in_name("Datacenter Martha").is_none());
        assert_eq!(
            r.find_in_name("Free Pro (Iliad; ex Jaguar Network) Marseille")
                .unwrap()
                .id,
            "free"
        );
        assert!(r.find_in_name("nLighten (ex-Euclyde; oXya site)").is_none());
        let of = |op: Option<&str>, name: &str| r.of_record(op, None, Some(name)).map(|o| &o.id);
        assert_eq!(
            of(Some("Equinix xScale (JV Equinix/GIC)"), "PA8x").unwrap(),
            "equinix"
        );
        assert_eq!(
            of(Some("Thésée"), "Thésée DataCenter").unwrap(),
            "nextdc-thesee"
        );
        assert_eq!(of(None, "Equinix PA3").unwrap(), "equinix");
        assert_eq!(of(Some("Unknown Hosting"), "Datacenter Martha"), None);
    }

    #[test]
    fn names_codes_and_addresses() {
        assert_eq!(
            name_words("Datacenter Bouygues Télécom Nanterre"),
            ["bouygues", "telecom", "nanterre"]
        );
        assert_eq!(code_key("MAR02"), "MAR2");
        assert_eq!(code_key("PA-3"), "PA3");
        assert_eq!(code_key("DC SUD"), "DCSUD");
        assert_eq!(
            address_key(None, Some("35 RUE DE LA MOTTE")),
            address_key(Some("35"), Some("r. de la Motte"))
        );
        assert_eq!(
            address_key(Some("153"), Some("Av. Jean Jaurès")).as_deref(),
            Some("153 avenue jean jaures")
        );
        assert_eq!(address_key(Some("1"), None), None);
    }

    #[test]
    fn bad_registry_is_an_error() {
        let err = OperatorRegistry::parse(
            Path::new("ops.toml"),
            "[[operator]]\nid='a'\nname='A'\nkind='bank'\naliases=[]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ops.toml") && err.contains("kind"), "{err}");
    }
}
