//! Text → the lowercase ASCII slug used in stable ids and name keys.

/// Lowercase ASCII slug for stable ids: accents folded, other characters to `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn fold_accent(c: char) -> Vec<char> {
    let folded = match c {
        'à' | 'â' | 'ä' | 'á' => 'a',
        'À' | 'Â' | 'Ä' | 'Á' => 'A',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'î' | 'ï' | 'í' => 'i',
        'Î' | 'Ï' => 'I',
        'ô' | 'ö' | 'ó' => 'o',
        'Ô' | 'Ö' => 'O',
        'ù' | 'û' | 'ü' | 'ú' => 'u',
        'Ù' | 'Û' | 'Ü' => 'U',
        'ç' => 'c',
        'Ç' => 'C',
        'œ' => return vec!['o', 'e'],
        'Œ' => return vec!['O', 'E'],
        '²' => '2',
        other => other,
    };
    vec![folded]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(
            slug("35 RUE DE LA MOTTE, 93000 Aubervilliers"),
            "35-rue-de-la-motte-93000-aubervilliers"
        );
        assert_eq!(slug("Île-de-France ²"), "ile-de-france-2");
        assert_eq!(slug("Œuvre  --"), "oeuvre");
    }
}
