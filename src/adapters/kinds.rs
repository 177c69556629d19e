//! The one classifier of what a published figure measures: the words of its label (a web
//! page's label, a disclosure's `power_kind` / `surface_kind`, or its quote when it has no
//! label) and its unit in → a `PowerKind` or `SurfaceKind` out. Words are matched whole,
//! lower-cased, so `it` is the word "IT", never the letters in "site".

use crate::model::{PowerKind, SurfaceKind};

/// The words of a label: lower-cased, split at every character that is not a letter or a digit.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether one of `candidates` is one of the words.
pub fn has_word(words: &[String], candidates: &[&str]) -> bool {
    words.iter().any(|x| candidates.contains(&x.as_str()))
}

/// Whether one of `phrases` (words separated by one space) stands in the words.
pub fn has_phrase(words: &[String], phrases: &[&str]) -> bool {
    let joined = format!(" {} ", words.join(" "));
    phrases.iter().any(|p| joined.contains(&format!(" {p} ")))
}

/// What a power figure measures, first rule that applies: a figure in MVA is a grid connection;
/// `MWth`, `thermal` → thermal; a label that says the kind is `unstated` → unspecified; `IT`,
/// `informatique`, `critical`, `UPS` → IT; `à terme`, `planned`, `ultimate` → planned;
/// `facility`, `total`, `customer`, `électrique`, `raccordement`, `grid`, `site`, `puissance
/// disponible` → facility; anything else → unspecified.
pub fn power_kind(label: &str, unit: &str) -> PowerKind {
    let words = words(label);
    if unit == "MVA" {
        PowerKind::GridMva
    } else if has_word(&words, &["mwth", "thermal", "thermique"]) {
        PowerKind::Thermal
    } else if has_word(&words, &["unstated", "unspecified"]) {
        PowerKind::Unspecified
    } else if has_word(
        &words,
        &["it", "informatique", "critical", "critique", "ups"],
    ) {
        PowerKind::It
    } else if has_word(&words, &["planned", "prévue", "prévisionnelle", "ultimate"])
        || has_phrase(&words, &["à terme"])
    {
        PowerKind::Planned
    } else if has_word(
        &words,
        &[
            "facility",
            "total",
            "totale",
            "customer",
            "électrique",
            "electrical",
            "raccordement",
            "grid",
            "site",
            "utility",
        ],
    ) || has_phrase(&words, &["puissance disponible"])
    {
        PowerKind::Facility
    } else {
        PowerKind::Unspecified
    }
}

/// What a surface figure measures, first rule that applies: `salle blanche`, `white space`,
/// `salles informatiques`, `IT rooms`, `data hall`, `surface utile`, `m² nets`, `colocation`
/// → white space; `terrain`, `land`, `parcelle` → site area; `surface totale`, `total`,
/// `building`, `bâtiment`, `plancher`, `floor` → floor area; anything else → unspecified.
pub fn surface_kind(label: &str) -> SurfaceKind {
    let words = words(label);
    if has_phrase(
        &words,
        &[
            "salle blanche",
            "salles blanches",
            "white space",
            "salle informatique",
            "salles informatiques",
            "data hall",
            "data halls",
            "surface utile",
        ],
    ) || has_word(
        &words,
        &["whitespace", "colocation", "it", "utile", "utiles", "nets"],
    ) {
        SurfaceKind::WhiteSpace
    } else if has_word(&words, &["terrain", "land", "parcelle", "foncier", "plot"]) {
        SurfaceKind::SiteArea
    } else if has_word(
        &words,
        &[
            "totale",
            "total",
            "building",
            "bâtiment",
            "bâtiments",
            "plancher",
            "floor",
            "gross",
            "shon",
        ],
    ) {
        SurfaceKind::FloorArea
    } else {
        SurfaceKind::Unspecified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_labels() {
        use PowerKind::*;
        let cases = [
            ("Puissance IT", It),
            ("IT (as published)", It),
            ("Puissance informatique", It),
            ("Puissance IT : 1,5 MW", It),
            ("Puissance électrique totale", Facility),
            ("total customer power, 4 phases", Facility),
            ("puissance disponible de 12 MW", Facility),
            ("Raccordement 20 MW", Facility),
            ("Capacité à terme", Planned),
            ("Puissance à terme 30 MW", Planned),
            ("MWth (as written)", Thermal),
            ("facility, grid or unstated (see note)", Unspecified),
            ("Puissance", Unspecified),
            ("10 MW", Unspecified),
            // "it" is a word, not letters: "site" is facility, "unit" is nothing.
            ("site power", Facility),
            ("per unit", Unspecified),
        ];
        for (label, want) in cases {
            assert_eq!(power_kind(label, "MW"), want, "{label}");
        }
        assert_eq!(power_kind("IT", "MVA"), GridMva);
    }

    #[test]
    fn surface_labels() {
        use SurfaceKind::*;
        let cases = [
            ("Salles blanches", WhiteSpace),
            ("white space / IT rooms", WhiteSpace),
            ("24 IT rooms total", WhiteSpace),
            ("m² utiles (building 11,000 m²)", WhiteSpace),
            ("m² nets", WhiteSpace),
            ("White space 2,000 sq ft", WhiteSpace),
            ("Surface du terrain", SiteArea),
            ("Terrain de 4 ha", SiteArea),
            ("Surface totale", FloorArea),
            ("Surface", Unspecified),
            ("5 000 m²", Unspecified),
        ];
        for (label, want) in cases {
            assert_eq!(surface_kind(label), want, "{label}");
        }
    }
}
