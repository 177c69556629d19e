//! Field-level readers shared by the adapters: text cleaning (`[object Object]`, embedded
//! newlines), quantities written the French and English ways (`1,2 MW`, `12 000 m²`), site
//! codes (`PA3`, `PAR8`, `MRS1`) and OSM element ids.

/// What cleaning a text value found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFlaw {
    ObjectObject,
    EmbeddedNewline,
}

/// Trims a value; empty → None; `[object Object]` → None; newlines → spaces. Returns the flaw.
pub fn clean_text(raw: &str) -> (Option<String>, Option<TextFlaw>) {
    let t = raw.trim();
    if t.is_empty() {
        return (None, None);
    }
    if t.eq_ignore_ascii_case("[object Object]") {
        return (None, Some(TextFlaw::ObjectObject));
    }
    if t.contains('\n') || t.contains('\r') {
        let joined = t.split_whitespace().collect::<Vec<_>>().join(" ");
        return (Some(joined), Some(TextFlaw::EmbeddedNewline));
    }
    (Some(t.to_string()), None)
}

/// A number with its unit, read from text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub unit: QuantityUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityUnit {
    Kw,
    Mw,
    Gw,
    Mva,
    M2,
    SqFt,
    Ha,
}

/// Reads `1.2 MW`, `1,5 MW`, `12 MVA`, `12 000 m²`, `12,000 sq ft`, `800 kW`, `22 ha`.
/// A comma followed by exactly three digits is a thousands separator; otherwise a decimal
/// comma. Returns None when no number with a known unit is found.
pub fn parse_quantity(text: &str) -> Option<Quantity> {
    let lower = text.to_lowercase().replace(['\u{a0}', '\u{202f}'], " ");
    let chars: Vec<char> = lower.chars().collect();
    let start = chars.iter().position(char::is_ascii_digit)?;
    let mut end = start;
    while end < chars.len()
        && (chars[end].is_ascii_digit()
            || chars[end] == ','
            || chars[end] == '.'
            || (chars[end] == ' '
                && end + 3 < chars.len() + 1
                && chars
                    .get(end + 1..end + 4)
                    .is_some_and(|d| d.iter().all(char::is_ascii_digit))
                && chars.get(end + 4).is_none_or(|c| !c.is_ascii_digit())))
    {
        end += 1;
    }
    let number: String = chars[start..end].iter().filter(|c| **c != ' ').collect();
    let value = parse_number(&number)?;
    let rest: String = chars[end..].iter().collect();
    let rest = rest.trim_start();
    let unit = if rest.starts_with("mva") {
        QuantityUnit::Mva
    } else if rest.starts_with("mw") {
        QuantityUnit::Mw
    } else if rest.starts_with("kw") {
        QuantityUnit::Kw
    } else if rest.starts_with("gw") {
        QuantityUnit::Gw
    } else if rest.starts_with("m²") || rest.starts_with("m2") || rest.starts_with("mètres carrés")
    {
        QuantityUnit::M2
    } else if rest.starts_with("sq ft") || rest.starts_with("sqft") || rest.starts_with("square f")
    {
        QuantityUnit::SqFt
    } else if rest.starts_with("ha") || rest.starts_with("hectare") {
        QuantityUnit::Ha
    } else {
        return None;
    };
    Some(Quantity { value, unit })
}

/// `1.5`, `1,5`, `12,000`, `12.000,5`, `12000`.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim_matches(|c| c == ',' || c == '.');
    if s.is_empty() {
        return None;
    }
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let normalised = match (commas, dots) {
        (0, _) if dots <= 1 => s.to_string(),
        (0, _) => s.replace('.', ""), // 12.000.000
        (1, 0) => {
            let after = s.len() - s.find(',')? - 1;
            if after == 3 {
                s.replace(',', "")
            } else {
                s.replace(',', ".")
            }
        }
        (_, 0) => s.replace(',', ""),
        _ => {
            // Both: the last one is the decimal separator.
            if s.rfind(',')? > s.rfind('.')? {
                s.replace('.', "").replace(',', ".")
            } else {
                s.replace(',', "")
            }
        }
    };
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Square metres of a quantity that is a surface.
pub fn to_m2(q: Quantity) -> Option<f64> {
    match q.unit {
        QuantityUnit::M2 => Some(q.value),
        QuantityUnit::SqFt => Some(q.value * 0.092_903_04),
        QuantityUnit::Ha => Some(q.value * 10_000.0),
        _ => None,
    }
}

/// Megawatts (or MVA) of a quantity that is a power, with its unit label.
pub fn to_mw(q: Quantity) -> Option<(f64, &'static str)> {
    match q.unit {
        QuantityUnit::Kw => Some((q.value / 1000.0, "MW")),
        QuantityUnit::Mw => Some((q.value, "MW")),
        QuantityUnit::Gw => Some((q.value * 1000.0, "MW")),
        QuantityUnit::Mva => Some((q.value, "MVA")),
        _ => None,
    }
}

/// Site codes in free text: tokens of 2-4 capital letters followed by 1-3 digits and an
/// optional capital letter or `x` (`PA3`, `PAR8`, `MRS1`, `TH2`, `MAR02`, `PA9X`, and the
/// xScale sites written `PA8x`, `PA13x`), including the members of `PA2/PA3`, `PAR8-PAR11`,
/// and `SBG-3` read as `SBG3`.
pub fn site_codes(text: &str) -> Vec<String> {
    // `SBG-3` is the code `SBG3`: drop a dash between a capital letter and a digit.
    let chars: Vec<char> = text.chars().collect();
    let joined: String = chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            !(**c == '-'
                && *i > 0
                && chars[i - 1].is_ascii_uppercase()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        })
        .map(|(_, c)| *c)
        .collect();
    let mut out = Vec::new();
    for token in joined.split(|c: char| !c.is_ascii_alphanumeric()) {
        let letters = token.chars().take_while(char::is_ascii_uppercase).count();
        let rest = &token[letters..];
        let rest = rest
            .strip_suffix(|c: char| c.is_ascii_uppercase() || c == 'x')
            .unwrap_or(rest);
        if (2..=4).contains(&letters)
            && (1..=3).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_digit())
        {
            let code = token.to_string();
            if !out.contains(&code) {
                out.push(code);
            }
        }
    }
    out
}

/// Site codes from a `ref`-like field: `;`-separated values, kept when they look like a code
/// (capital letters and digits, optionally with a space: `DC SUD`), lowercase tool ids
/// (`osm32`) ignored.
pub fn ref_codes(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 12)
        .filter(|t| t.chars().any(|c| c.is_ascii_uppercase()))
        .filter(|t| {
            t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '-')
        })
        .map(str::to_string)
        .collect()
}

/// `node/123`, `way/45`, `relation/6` → the normalised path; anything else → None.
pub fn osm_path(text: &str) -> Option<String> {
    let (kind, id) = text.trim().split_once('/')?;
    if !matches!(kind, "node" | "way" | "relation") {
        return None;
    }
    let n: u64 = id.parse().ok()?;
    (n > 0).then(|| format!("{kind}/{n}"))
}

/// The slug of stable ids lives with the other low-level helpers.
pub use crate::common::slug;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_object_object_and_newlines() {
        assert_eq!(
            clean_text("[object Object]"),
            (None, Some(TextFlaw::ObjectObject))
        );
        assert_eq!(
            clean_text("data center\nen construction"),
            (
                Some("data center en construction".into()),
                Some(TextFlaw::EmbeddedNewline)
            )
        );
        assert_eq!(clean_text("  "), (None, None));
        assert_eq!(clean_text(" MRS1 "), (Some("MRS1".into()), None));
    }

    #[test]
    fn reads_quantities_both_ways() {
        let q = |s| parse_quantity(s).unwrap();
        assert_eq!(q("1.2 MW").value, 1.2);
        assert_eq!(q("1,5 MW").value, 1.5);
        assert_eq!(q("12 MVA").unit, QuantityUnit::Mva);
        assert_eq!(to_m2(q("12 000 m²")), Some(12_000.0));
        assert_eq!(q("12,000 sq ft").value, 12_000.0);
        assert!((to_m2(q("12,000 sq ft")).unwrap() - 1_114.836_48).abs() < 1e-6);
        assert_eq!(to_mw(q("800 kW")), Some((0.8, "MW")));
        assert_eq!(to_m2(q("22 ha")), Some(220_000.0));
        assert_eq!(q("250 m² de salle").value, 250.0);
        assert!(parse_quantity("beaucoup").is_none());
        assert!(parse_quantity("12 racks").is_none());
    }

    #[test]
    fn finds_site_codes() {
        assert_eq!(site_codes("Equinix PA2/PA3"), vec!["PA2", "PA3"]);
        assert_eq!(
            site_codes("Digital Realty PAR8-PAR11"),
            vec!["PAR8", "PAR11"]
        );
        assert_eq!(
            site_codes("Free Pro - Datacenter Marseille (MAR02)"),
            vec!["MAR02"]
        );
        assert!(site_codes("Datacenter IBM 2024").is_empty());
        assert_eq!(
            site_codes("Equinix xScale PA8 / PA8x, PA13x"),
            vec!["PA8", "PA8x", "PA13x"]
        );
        assert!(site_codes("PA8y, Pa8x, 4x4").is_empty());
        assert_eq!(ref_codes("osm32;osm33"), Vec::<String>::new());
        assert_eq!(ref_codes("PA7"), vec!["PA7"]);
        assert_eq!(ref_codes("DC SUD"), vec!["DC SUD"]);
    }

    #[test]
    fn osm_paths() {
        assert_eq!(osm_path("node/123"), Some("node/123".into()));
        assert_eq!(osm_path("MRS1 "), None);
        assert_eq!(osm_path("way/abc"), None);
    }
}
