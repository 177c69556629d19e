//! The one postcode → département rule. In: a French postcode as written (spaces ignored).
//! Out: the INSEE code of its département, or `None` when the postcode is not five digits or
//! does not belong to a département.

/// Département of a French postcode: the first two digits (`93200` → `93`); Corsica by
/// range (`20000`–`20199` → `2A` Corse-du-Sud, `20200`–`20999` → `2B` Haute-Corse); the five
/// overseas départements by three digits (971 Guadeloupe, 972 Martinique, 973 Guyane, 974 La
/// Réunion, 976 Mayotte). `None` for the overseas collectivities that are not départements
/// (975 Saint-Pierre-et-Miquelon, 977/978 Saint-Barthélemy/Saint-Martin, 98xxx: Monaco, TAAF,
/// Wallis-et-Futuna, Polynésie, Nouvelle-Calédonie), for `00xxx` and for anything that is
/// not five digits.
pub fn departement_of_postcode(postcode: &str) -> Option<String> {
    let digits: String = postcode.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let dep = match &digits[..2] {
        "97" => match &digits[..3] {
            d @ ("971" | "972" | "973" | "974" | "976") => d,
            _ => return None,
        },
        "98" | "00" => return None,
        "20" if digits.as_str() < "20200" => "2A",
        "20" => "2B",
        two => two,
    };
    Some(dep.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cases: &[(&str, Option<&str>)]) {
        for (postcode, want) in cases {
            assert_eq!(
                departement_of_postcode(postcode).as_deref(),
                *want,
                "{postcode}"
            );
        }
    }

    #[test]
    fn metropolitan() {
        check(&[
            ("93200", Some("93")),
            ("75 001", Some("75")),
            ("01000", Some("01")),
            ("95880", Some("95")),
        ]);
    }

    #[test]
    fn corsica() {
        check(&[
            ("20000", Some("2A")),
            ("20090", Some("2A")),
            ("20199", Some("2A")),
            ("20200", Some("2B")),
            ("20600", Some("2B")),
        ]);
    }

    #[test]
    fn overseas() {
        check(&[
            ("97100", Some("971")),
            ("97200", Some("972")),
            ("97300", Some("973")),
            ("97411", Some("974")),
            ("97600", Some("976")),
            ("97500", None),
            ("97700", None),
            ("97800", None),
            ("98000", None),
            ("98800", None),
        ]);
    }

    #[test]
    fn invalid() {
        check(&[
            ("00100", None),
            ("9320", None),
            ("932000", None),
            ("2A004", None),
            ("", None),
        ]);
    }
}
