//! Typology: a facility (operator kind from the registry, names, NAF codes of measured
//! addresses, disclosed size) → `edge`, `enterprise`, `telecom`, `colocation`, `hyperscale` or
//! `unknown`, with the rule that fired, a confidence, and an `ai_hpc` flag. Telephone
//! exchanges are not data centres: they are flagged `excluded`.

use crate::common::slug;

/// Typology → colour (hex), in legend order; used by the QGIS styles
/// (`store::styles`) and the report (`export::report`).
pub const TYPOLOGY_COLOURS: &[(&str, &str)] = &[
    ("hyperscale", "#d62728"),
    ("colocation", "#1f77b4"),
    ("enterprise", "#2ca02c"),
    ("edge", "#ff7f0e"),
    ("telecom", "#9467bd"),
    ("unknown", "#7f7f7f"),
];

/// The classification of one facility.
#[derive(Debug, Clone, PartialEq)]
pub struct Typology {
    pub typology: &'static str,
    pub rule: String,
    pub confidence: f64,
    pub ai_hpc: bool,
    /// Not a data centre (telephone exchange): kept in the inventory, left out of totals.
    pub excluded: bool,
}

/// What the classifier looks at.
pub struct TypologyInput<'a> {
    pub operator_kind: Option<&'a str>,
    pub operator_id: Option<&'a str>,
    /// Names, alternative names and descriptions of every member.
    pub texts: Vec<&'a str>,
    /// Disclosed IT power converted to IT MW (central), when a member disclosed a power.
    pub disclosed_it_mw: Option<f64>,
    /// IT MW under which a site is edge, and from which it is hyperscale.
    pub edge_max_mw: f64,
    pub hyperscale_min_mw: f64,
}

fn has_word(words: &str, list: &[&str]) -> Option<String> {
    list.iter()
        .find(|w| words.contains(&format!("-{w}-")))
        .map(|w| (*w).to_string())
}

pub fn classify(input: &TypologyInput<'_>) -> Typology {
    let words = format!("-{}-", slug(&input.texts.join(" ")));
    let ai_hpc = has_word(
        &words,
        &[
            "ia",
            "ai",
            "gpu",
            "hpc",
            "supercalculateur",
            "supercomputer",
            "calcul-intensif",
            "exascale",
        ],
    )
    .is_some()
        || input.operator_id == Some("genci-cines");
    let t = |typology, rule: String, confidence| Typology {
        typology,
        rule,
        confidence,
        ai_hpc,
        excluded: false,
    };
    if let Some(w) = has_word(
        &words,
        &[
            "central-telephonique",
            "centre-telephonique",
            "telephone-exchange",
            "central-office",
            "autocommutateur",
        ],
    ) {
        return Typology {
            excluded: true,
            ..t("telecom", format!("telephone_exchange:{w}"), 0.9)
        };
    }
    if let Some(mw) = input.disclosed_it_mw {
        if mw >= input.hyperscale_min_mw {
            return t(
                "hyperscale",
                format!("disclosed_it_mw>={}", input.hyperscale_min_mw),
                0.9,
            );
        }
        if mw < input.edge_max_mw {
            return t(
                "edge",
                format!("disclosed_it_mw<{}", input.edge_max_mw),
                0.8,
            );
        }
    }
    match input.operator_kind {
        Some("cloud") => return t("hyperscale", "operator_registry:cloud".into(), 0.8),
        Some("colocation") => return t("colocation", "operator_registry:colocation".into(), 0.85),
        Some("telecom") => return t("telecom", "operator_registry:telecom".into(), 0.85),
        Some("enterprise") => return t("enterprise", "operator_registry:enterprise".into(), 0.85),
        Some("public") => return t("enterprise", "operator_registry:public".into(), 0.8),
        _ => {}
    }
    if let Some(w) = has_word(
        &words,
        &["edge", "conteneur", "container", "modulaire", "micro"],
    ) {
        return t("edge", format!("name_keyword:{w}"), 0.6);
    }
    if let Some(w) = has_word(
        &words,
        &[
            "colocation",
            "hebergement",
            "hebergeur",
            "hosting",
            "housing",
            "cloud",
        ],
    ) {
        return t("colocation", format!("name_keyword:{w}"), 0.6);
    }
    if let Some(w) = has_word(
        &words,
        &[
            "telecom",
            "telecoms",
            "nra",
            "pop",
            "noeud",
            "ix",
            "fibre",
            "salle-technique",
        ],
    ) {
        return t("telecom", format!("name_keyword:{w}"), 0.6);
    }
    if let Some(w) = has_word(
        &words,
        &[
            "universite",
            "university",
            "centre-de-calcul",
            "centre-de-calculs",
            "hopital",
            "chu",
            "mairie",
            "ministere",
            "banque",
            "bank",
            "assurance",
            "cnrs",
            "inria",
            "cnes",
            "region",
            "departement",
            "prefecture",
            "sncf",
            "ratp",
            "poste",
        ],
    ) {
        return t("enterprise", format!("name_keyword:{w}"), 0.6);
    }
    // The NAF code of a measured delivery point at the address (Enedis).
    if words.contains("-naf-63-") {
        return t("colocation", "naf:63_data_processing_hosting".into(), 0.5);
    }
    if words.contains("-naf-61-") {
        return t("telecom", "naf:61_telecommunications".into(), 0.5);
    }
    if words.contains("-naf-62-") {
        return t("enterprise", "naf:62_it_services".into(), 0.4);
    }
    t("unknown", "no_evidence".into(), 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(kind: Option<&'a str>, texts: Vec<&'a str>, mw: Option<f64>) -> TypologyInput<'a> {
        TypologyInput {
            operator_kind: kind,
            operator_id: None,
            texts,
            disclosed_it_mw: mw,
            edge_max_mw: 0.5,
            hyperscale_min_mw: 40.0,
        }
    }

    #[test]
    fn rules_in_order() {
        assert_eq!(
            classify(&input(Some("colocation"), vec!["Equinix PA3"], None)).typology,
            "colocation"
        );
        assert_eq!(
            classify(&input(Some("colocation"), vec!["PAR8"], Some(85.0))).typology,
            "hyperscale"
        );
        assert_eq!(
            classify(&input(
                None,
                vec!["Salle Technique France Télévisions"],
                None
            ))
            .typology,
            "telecom"
        );
        assert_eq!(
            classify(&input(None, vec!["Centre de Calculs LyonTech"], None)).typology,
            "enterprise"
        );
        assert_eq!(
            classify(&input(None, vec!["NAF 63"], None)).rule,
            "naf:63_data_processing_hosting"
        );
        let x = classify(&input(None, vec!["Central téléphonique Lyon"], None));
        assert!(x.excluded);
        assert!(classify(&input(None, vec!["Supercalculateur Jean Zay"], None)).ai_hpc);
        assert_eq!(
            classify(&input(None, vec!["Datacenter Martha"], None)).typology,
            "unknown"
        );
    }
}
