//! Operator web pages (`html-page`): in go the HTML of one page and the CSS selectors of its
//! catalog entry (`[mapping.html]`: the site block, and the elements that hold name, site code,
//! address and figures); out come one record per site block, with the surfaces and powers read
//! from the figures (`12 000 m²`, `12,000 sq ft`, `1,5 MW`, `500 kW`, `12 MVA`) and what they
//! measure from the words beside them (IT, facility, grid connection, white space, floor
//! area, land). A layout that no longer matches (no site block, a required field missing) is a
//! data issue (`page_layout_changed`, `page_field_missing`), never an empty result.

use scraper::{ElementRef, Html, Selector};
use serde::Deserialize;

use super::fields::{self, Quantity, QuantityUnit};
use super::lenient;
use super::mapped::issue;
use super::{Adapter, FileInput, kinds};
use crate::catalog::{FileSpec, SourceSpec};
use crate::error::ParseError;
use crate::model::{
    DataIssue, IssueAction, IssueCode, ParseOutput, PointPrecision, PowerFact, Record, Status,
    SurfaceFact,
};

/// `[mapping.html]` of a catalog entry: CSS selectors, relative to the page (`block`) or to
/// one site block (the others).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlMapping {
    /// One element per site (a page about one site has one).
    pub block: String,
    /// The site name.
    pub name: String,
    /// The operator's site code (`PAR7`).
    pub code: Option<String>,
    /// The postal address (one line; postcode and commune are read from it).
    pub address: Option<String>,
    /// Elements holding one figure each with its label (`table tr`, `li`): the unit says
    /// whether it is a power or a surface, the words say what it measures.
    #[serde(default)]
    pub figures: Vec<String>,
    /// The operator, when the page does not name it in the block.
    pub operator: Option<String>,
    /// Fields a block must have, else it is dropped with `page_field_missing`: any of
    /// `name`, `code`, `address`, `figures`. Default: `name`.
    #[serde(default = "default_required")]
    pub required: Vec<String>,
}

fn default_required() -> Vec<String> {
    vec!["name".into()]
}

/// Fields `required` may name.
const FIELDS: &[&str] = &["name", "code", "address", "figures"];

impl HtmlMapping {
    /// The `[mapping.html]` of `file` (kept opaque by the catalog), read; the error is
    /// (key, message).
    pub fn of(spec: &SourceSpec, file: &FileSpec) -> Result<HtmlMapping, (String, String)> {
        let key = || "mapping.html".to_string();
        let value = spec.mapping_for(file).html.clone().ok_or_else(|| {
            (
                key(),
                "the html-page adapter needs [mapping.html] (block, name, ...)".into(),
            )
        })?;
        value
            .try_into()
            .map_err(|e: toml::de::Error| (key(), e.message().to_string()))
    }

    /// Checks every selector and required field; the error names the key.
    pub fn check(&self) -> Result<(), (String, String)> {
        let mut selectors = vec![("block", &self.block), ("name", &self.name)];
        selectors.extend(self.code.iter().map(|s| ("code", s)));
        selectors.extend(self.address.iter().map(|s| ("address", s)));
        selectors.extend(self.figures.iter().map(|s| ("figures", s)));
        for (key, css) in selectors {
            selector(css).map_err(|m| (format!("mapping.html.{key}"), m))?;
        }
        for r in &self.required {
            if !FIELDS.contains(&r.as_str()) {
                return Err((
                    "mapping.html.required".into(),
                    format!("unknown field `{r}` (one of {})", FIELDS.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

fn selector(css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|e| format!("invalid CSS selector `{css}`: {e}"))
}

pub struct HtmlPage;

impl Adapter for HtmlPage {
    fn check(&self, spec: &SourceSpec, file: &FileSpec) -> Result<(), (String, String)> {
        HtmlMapping::of(spec, file)?.check()
    }

    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let file = &input.file.name;
        let structure = |message: String| ParseError::Structure {
            file: file.clone(),
            message,
        };
        let m = &HtmlMapping::of(input.spec, input.file)
            .map_err(|(key, message)| structure(format!("{key}: {message}")))?;
        let sel = |css: &String| selector(css).map_err(&structure);
        let block_sel = sel(&m.block)?;
        let name_sel = sel(&m.name)?;
        let code_sel = m.code.as_ref().map(sel).transpose()?;
        let address_sel = m.address.as_ref().map(sel).transpose()?;
        let figure_sels = m.figures.iter().map(sel).collect::<Result<Vec<_>, _>>()?;

        // Broken bytes (invalid UTF-8, NUL) are decoded lossily and reported for the page:
        // the parsed tree keeps no byte offsets to tie them to a block.
        let decoded = lenient::decode(file, input.bytes)?;
        let html = Html::parse_document(&decoded.text);
        let mut out = ParseOutput::default();
        out.issues.extend(lenient::flaw_issues(
            input,
            &decoded.flaws,
            &[],
            "page",
            None,
        ));
        let blocks: Vec<ElementRef<'_>> = html.select(&block_sel).collect();
        if blocks.is_empty() {
            // Nothing read (0 units, so a page that had sites looks shrunk to the build and
            // its last good snapshot is used), and the issue says why.
            out.issues.push(issue(
                input,
                IssueCode::PageLayoutChanged,
                IssueAction::Kept,
                "page",
                None,
                format!(
                    "no element matches the site block selector `{}`: the page layout changed or the page is not a site page",
                    m.block
                ),
            ));
            return Ok(out);
        }
        for (i, block) in blocks.into_iter().enumerate() {
            out.units_read += 1;
            let locator = format!("block {i}");
            let name = first_text(block, &name_sel);
            let code = code_sel.as_ref().and_then(|s| first_text(block, s));
            let address = address_sel.as_ref().and_then(|s| first_text(block, s));
            let figures: Vec<String> = figure_sels
                .iter()
                .flat_map(|s| block.select(s).map(element_text))
                .filter(|t| !t.is_empty())
                .collect();
            let missing: Vec<&str> = m
                .required
                .iter()
                .map(String::as_str)
                .filter(|r| match *r {
                    "name" => name.is_none(),
                    "code" => code.is_none(),
                    "address" => address.is_none(),
                    "figures" => figures.is_empty(),
                    _ => false,
                })
                .collect();
            let native = code
                .as_deref()
                .and_then(|c| fields::site_codes(c).into_iter().next())
                .or_else(|| name.as_deref().map(fields::slug))
                .unwrap_or_else(|| format!("block{i}"));
            let key = format!("{}:{native}", input.spec.id);
            if !missing.is_empty() {
                out.issues.push(issue(
                    input,
                    IssueCode::PageFieldMissing,
                    IssueAction::Dropped,
                    &locator,
                    Some(&key),
                    format!(
                        "site block {i} ({}) has no {}: the selector{} matched nothing",
                        name.as_deref().unwrap_or("unnamed"),
                        missing.join(", "),
                        if missing.len() > 1 { "s" } else { "" }
                    ),
                ));
                continue;
            }
            let mut record = Record::new(&input.spec.id, &native, input.provenance_at(locator));
            record.name = name;
            record.operator = m.operator.clone();
            if let Some(c) = &code {
                record.codes = fields::site_codes(c);
            }
            if let Some(a) = address {
                let (postcode, city) = postcode_and_city(&a);
                record.departement_hint = postcode
                    .as_deref()
                    .and_then(crate::common::departement_of_postcode);
                record.address.postcode = postcode;
                record.address.city = city.clone();
                record.commune_name = city;
                record.address.full = Some(a);
            }
            record.point_precision = PointPrecision::None;
            let block_text = element_text(block);
            record.status = Status::from_words(&block_text).unwrap_or(Status::Operating);
            for text in &figures {
                read_figure(input, text, &mut record, &mut out.issues);
            }
            out.records.push(record);
        }
        Ok(out)
    }
}

/// The text of an element, whitespace (including no-break spaces) collapsed to one space.
fn element_text(el: ElementRef<'_>) -> String {
    el.text()
        .flat_map(|t| t.split(|c: char| c.is_whitespace()))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_text(block: ElementRef<'_>, sel: &Selector) -> Option<String> {
    block.select(sel).map(element_text).find(|t| !t.is_empty())
}

/// A five-digit postcode in an address line and the words after it (the commune), up to a
/// comma: `12 Rue X, 93200 Saint-Denis, France` → (`93200`, `Saint-Denis`).
fn postcode_and_city(address: &str) -> (Option<String>, Option<String>) {
    let chars: Vec<char> = address.chars().collect();
    for i in 0..chars.len() {
        let starts = i == 0 || !chars[i - 1].is_ascii_digit();
        let five = chars
            .get(i..i + 5)
            .is_some_and(|d| d.iter().all(char::is_ascii_digit));
        let ends = chars.get(i + 5).is_none_or(|c| !c.is_ascii_digit());
        if starts && five && ends {
            let postcode: String = chars[i..i + 5].iter().collect();
            let rest: String = chars[i + 5..].iter().collect();
            let city = rest
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            return (Some(postcode), (!city.is_empty()).then_some(city));
        }
    }
    (None, None)
}

/// Reads one figure (`IT load 1.5 MW`, `Surface totale : 12 000 m²`) into the record; a
/// figure with digits but no known unit is reported, a label without digits is ignored.
fn read_figure(
    input: &FileInput<'_>,
    text: &str,
    record: &mut Record,
    issues: &mut Vec<DataIssue>,
) {
    let Some(q) = quantity(text) else {
        if text.chars().any(|c| c.is_ascii_digit()) && looks_like_figure(text) {
            issues.push(issue(
                input,
                IssueCode::UnparsedQuantity,
                IssueAction::ValueIgnored,
                &record.provenance.locator,
                Some(&record.record_key),
                format!("`{text}` is not a power or a surface"),
            ));
        }
        return;
    };
    if let Some((value, unit)) = fields::to_mw(q) {
        record.powers.push(PowerFact {
            value,
            unit,
            kind: kinds::power_kind(text, unit),
            kind_text: Some(text.to_string()),
            field: "html".into(),
        });
    } else if let Some(value_m2) = fields::to_m2(q) {
        record.surfaces.push(SurfaceFact {
            value_m2,
            kind: kinds::surface_kind(text),
            kind_text: Some(text.to_string()),
            field: "html".into(),
        });
    }
}

/// Words that announce a power or a surface in a label without a readable figure.
fn looks_like_figure(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "puissance",
        "power",
        "surface",
        "area",
        "space",
        "mw",
        "m²",
        "m2",
        "mva",
        "kw",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The first figure of a text. A surface written `12.000 m2` (a dot before exactly three
/// digits) is twelve thousand, as French pages write it.
fn quantity(text: &str) -> Option<Quantity> {
    let q = fields::parse_quantity(text)?;
    if matches!(q.unit, QuantityUnit::M2 | QuantityUnit::SqFt) && has_dot_thousands(text) {
        let joined = dot_thousands_removed(text);
        return fields::parse_quantity(&joined);
    }
    Some(q)
}

/// `12.000 m2`, `1.200.000 m²`: digits, then groups of a dot and exactly three digits.
fn has_dot_thousands(text: &str) -> bool {
    let c: Vec<char> = text.chars().collect();
    (0..c.len()).any(|i| is_thousands_dot(&c, i))
}

/// The text without its thousands dots (the same dots [`has_dot_thousands`] sees: `1.2345`
/// or `1.500,5` keep theirs).
fn dot_thousands_removed(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    (0..c.len())
        .filter(|&i| !is_thousands_dot(&c, i))
        .map(|i| c[i])
        .collect()
}

/// `c[i]` is a dot between a digit and a group of exactly three digits.
fn is_thousands_dot(c: &[char], i: usize) -> bool {
    c[i] == '.'
        && i > 0
        && c[i - 1].is_ascii_digit()
        && c.get(i + 1..i + 4)
            .is_some_and(|d| d.iter().all(char::is_ascii_digit))
        && c.get(i + 4)
            .is_none_or(|x| !x.is_ascii_digit() && *x != ',')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support;
    use crate::model::{PowerKind, SurfaceKind};

    const NORTHCOLO: &str = concat!(
        test_source_header!("northcolo", "html-page"),
        r#"
[mapping.html]
block = "div.facility"
name = ".facility__name"
code = ".facility__code span"
address = "address"
figures = ["table.spec-table tr"]
operator = "NorthColo"
required = ["name", "address"]
[[files]]
name = "northcolo-par7.html"
"#
    );

    const DATAFRANCE: &str = concat!(
        test_source_header!("datafrance", "html-page"),
        r#"
[mapping.html]
block = "article.campus"
name = "h2.campus-nom"
code = ".campus-code b"
address = ".campus-adresse"
figures = [".campus-chiffres li"]
operator = "DataFrance"
required = ["name", "address", "figures"]
[[files]]
name = "datafrance-sites.html"
"#
    );

    const PAR7: &str = include_str!("../../tests/fixtures/operator-pages/northcolo-par7.html");
    const PAR7_REDESIGN: &str =
        include_str!("../../tests/fixtures/operator-pages/northcolo-par7-redesign.html");
    const SITES_FR: &str =
        include_str!("../../tests/fixtures/operator-pages/datafrance-sites.html");

    fn parse(toml: &str, page: &str) -> ParseOutput {
        let spec = test_support::spec(toml);
        HtmlPage
            .parse(&test_support::input(&spec, page.as_bytes()))
            .unwrap()
    }

    fn powers(r: &Record) -> Vec<(f64, &str, PowerKind)> {
        r.powers.iter().map(|p| (p.value, p.unit, p.kind)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn an_english_spec_table_gives_figures_with_their_kind() {
        let out = parse(NORTHCOLO, PAR7);
        assert_eq!(out.units_read, 1);
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        let r = &out.records[0];
        assert_eq!(r.record_key, "northcolo:PAR7");
        assert_eq!(r.name.as_deref(), Some("NorthColo Paris Saint-Denis"));
        assert_eq!(r.codes, vec!["PAR7"]);
        assert_eq!(r.operator.as_deref(), Some("NorthColo"));
        assert_eq!(r.address.postcode.as_deref(), Some("93200"));
        assert_eq!(r.commune_name.as_deref(), Some("Saint-Denis"));
        assert_eq!(r.departement_hint.as_deref(), Some("93"));
        assert_eq!(r.status, Status::Operating);
        assert_eq!(
            powers(r),
            vec![
                (1.5, "MW", PowerKind::It),
                (0.5, "MW", PowerKind::Facility),
                (12.0, "MVA", PowerKind::GridMva),
            ]
        );
        assert_eq!(r.surfaces.len(), 2);
        // 12,000 sq ft → m²; 5 200 m² written with a narrow no-break space.
        assert!(close(r.surfaces[0].value_m2, 12_000.0 * 0.09290304));
        assert_eq!(r.surfaces[0].kind, SurfaceKind::FloorArea);
        assert!(close(r.surfaces[1].value_m2, 5_200.0));
        assert_eq!(r.surfaces[1].kind, SurfaceKind::WhiteSpace);
        assert_eq!(
            r.surfaces[1].kind_text.as_deref(),
            Some("Colocation white space 5 200 m²")
        );
    }

    #[test]
    fn a_french_page_reads_french_figures_and_reports_a_block_without_address() {
        let out = parse(DATAFRANCE, SITES_FR);
        assert_eq!(out.units_read, 2);
        assert_eq!(out.records.len(), 1);
        let r = &out.records[0];
        assert_eq!(r.record_key, "datafrance:ULS2");
        assert_eq!(r.address.postcode.as_deref(), Some("91940"));
        assert_eq!(r.commune_name.as_deref(), Some("Les Ulis"));
        assert_eq!(
            powers(r),
            vec![
                (1.5, "MW", PowerKind::It),
                (4.0, "MW", PowerKind::Facility),
                (24.0, "MVA", PowerKind::GridMva),
            ]
        );
        let surfaces: Vec<(f64, SurfaceKind)> =
            r.surfaces.iter().map(|s| (s.value_m2, s.kind)).collect();
        assert_eq!(
            surfaces,
            vec![
                (12_000.0, SurfaceKind::FloorArea),
                (2_400.0, SurfaceKind::WhiteSpace),
                (12_000.0, SurfaceKind::SiteArea),
            ]
        );
        // The Marseille block has no address: dropped, with the stable code, and counted.
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        let i = &out.issues[0];
        assert_eq!(i.code, IssueCode::PageFieldMissing);
        assert_eq!(i.action, IssueAction::Dropped);
        assert_eq!(i.record_key.as_deref(), Some("datafrance:MRS4"));
        assert!(i.message.contains("address"), "{}", i.message);
        let dropped = out
            .issues
            .iter()
            .filter(|i| i.action == IssueAction::Dropped)
            .count();
        assert_eq!(out.units_read, out.records.len() + dropped);
    }

    #[test]
    fn a_changed_layout_is_a_data_issue_not_an_empty_result() {
        let out = parse(NORTHCOLO, PAR7_REDESIGN);
        assert!(out.records.is_empty());
        assert_eq!(out.units_read, 0);
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].code, IssueCode::PageLayoutChanged);
        assert!(out.issues[0].message.contains("div.facility"));
    }

    #[test]
    fn figures_are_read_the_french_and_english_ways() {
        let q = |t: &str| {
            let q = quantity(t).unwrap();
            fields::to_m2(q)
                .or_else(|| fields::to_mw(q).map(|x| x.0))
                .unwrap()
        };
        assert!(close(q("12 000 m²"), 12_000.0));
        assert!(close(q("12\u{a0}000\u{a0}m²"), 12_000.0));
        assert!(close(q("12\u{202f}000 m²"), 12_000.0));
        assert!(close(q("12.000 m2"), 12_000.0));
        assert!(close(q("1.200.000 m²"), 1_200_000.0));
        // Only thousands dots go: a decimal dot elsewhere in the label stays.
        assert!(close(q("1.2345 m2 (12.000 m2 au total)"), 1.2345));
        assert!(close(q("12,000 sq ft"), 1_114.836_48));
        assert!(close(q("1,5 MW"), 1.5));
        assert!(close(q("1.5 MW"), 1.5));
        assert!(close(q("500 kW"), 0.5));
        assert!(close(q("12 MVA"), 12.0));
    }

    #[test]
    fn the_example_catalog_entries_load_and_read_their_pages() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/operator-pages");
        let specs = super::super::load_catalog(&dir.join("catalog")).unwrap();
        assert_eq!(specs.len(), 2);
        for spec in &specs {
            let bytes = std::fs::read(dir.join(&spec.files[0].name)).unwrap();
            let out = HtmlPage.parse(&test_support::input(spec, &bytes)).unwrap();
            assert!(!out.records.is_empty(), "{}", spec.id);
            assert!(out.records.iter().all(|r| !r.powers.is_empty()));
        }
    }

    #[test]
    fn an_unreadable_figure_is_reported_and_invalid_selectors_are_refused() {
        let page = PAR7.replace("1.5 MW", "about one and a half MW (2 phases)");
        let out = parse(NORTHCOLO, &page);
        assert!(
            out.issues
                .iter()
                .any(|i| i.code == IssueCode::UnparsedQuantity),
            "{:?}",
            out.issues
        );
        let spec = test_support::spec(NORTHCOLO);
        let mut m = HtmlMapping::of(&spec, &spec.files[0]).unwrap();
        m.block = "div[".into();
        assert_eq!(m.check().unwrap_err().0, "mapping.html.block");
        m.block = "div".into();
        m.required = vec!["surface".into()];
        assert_eq!(m.check().unwrap_err().0, "mapping.html.required");
    }
}
