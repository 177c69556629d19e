//! Maps one entry (a CSV row, a GeoJSON feature's properties or a JSON object, all seen as a
//! JSON object) onto a [`Record`] through the source's [`Mapping`], reporting every repair or
//! ignored value as a data issue.

use serde_json::{Map, Value};

use super::FileInput;
use super::fields::{self, TextFlaw};
use crate::catalog::{Mapping, QuantityMap};
use crate::model::{
    DataIssue, IssueAction, LonLat, PointPrecision, PowerFact, PowerKind, Record, Status,
    SurfaceFact, SurfaceKind, issue_codes,
};

/// One entry to map.
pub struct Entry<'a> {
    pub props: &'a Map<String, Value>,
    /// Point from a geometry, when the format has one: (lon, lat).
    pub geometry_point: Option<(f64, f64)>,
    /// Where the entry is in the file (`row 12`, `feature 3`, `datacenters[4]`).
    pub locator: String,
    /// 1-based position, used for `row<N>` ids.
    pub position: usize,
}

/// The outcome of mapping one entry.
pub enum Mapped {
    Record(Box<Record>, Vec<DataIssue>),
    Dropped(Vec<DataIssue>),
}

/// A field as text: strings trimmed, numbers and booleans printed, null/empty → None.
pub fn get_str(props: &Map<String, Value>, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) => fields::clean_text(s).0,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A field as a number (JSON number or numeric string with `.` or `,`).
pub fn get_f64(props: &Map<String, Value>, key: &str) -> Option<f64> {
    match props.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

pub fn issue(
    input: &FileInput<'_>,
    code: &'static str,
    action: IssueAction,
    locator: &str,
    record_key: Option<&str>,
    message: String,
) -> DataIssue {
    DataIssue {
        source_id: input.spec.id.clone(),
        code,
        action,
        file: input.file.name.clone(),
        locator: locator.to_string(),
        record_key: record_key.map(str::to_string),
        message,
    }
}

/// Words that sources write where they have no value.
fn is_placeholder(v: &str) -> bool {
    matches!(
        v.trim().to_lowercase().as_str(),
        "unknown" | "inconnu" | "n/a" | "na" | "none" | "null" | "-" | "?" | "nc" | "non renseigné"
    )
}

pub fn map_entry(input: &FileInput<'_>, entry: &Entry<'_>) -> Mapped {
    let m = input.mapping();
    let props = entry.props;
    let mut issues = Vec::new();
    let loc = entry.locator.as_str();

    if let Some(rule) = &m.exclude
        && let Some(v) = get_str(props, &rule.field)
        && rule.values.iter().any(|x| x == &v)
    {
        let code = issue_codes::lookup(&rule.code).unwrap_or(issue_codes::NOT_A_DATA_CENTRE);
        let name = get_str(props, m.name.as_deref().unwrap_or("name")).unwrap_or_default();
        issues.push(issue(
            input,
            code,
            IssueAction::Dropped,
            loc,
            None,
            format!("{} = {v} ({name}): excluded by the catalog", rule.field),
        ));
        return Mapped::Dropped(issues);
    }

    // Identity.
    let mut shifted_value = None;
    let (native_id, osm_ref) = native_id(m, props, entry.position, &mut shifted_value);
    let mut record = Record::new(
        &input.spec.id,
        &native_id,
        input.provenance_at(loc.to_string()),
    );
    record.osm_ref = osm_ref;
    let key = record.record_key.clone();

    // Text flaws anywhere in the entry are counted, field by field.
    for (field, value) in props {
        if let Value::String(s) = value {
            match fields::clean_text(s).1 {
                Some(TextFlaw::ObjectObject) => issues.push(issue(
                    input,
                    issue_codes::OBJECT_OBJECT,
                    IssueAction::ValueIgnored,
                    loc,
                    Some(&key),
                    format!("field `{field}` holds `[object Object]`; ignored"),
                )),
                Some(TextFlaw::EmbeddedNewline) => issues.push(issue(
                    input,
                    issue_codes::EMBEDDED_NEWLINE,
                    IssueAction::Repaired,
                    loc,
                    Some(&key),
                    format!("field `{field}` holds a line break; joined with a space"),
                )),
                None => {}
            }
        }
    }

    let text = |k: &Option<String>| k.as_deref().and_then(|k| get_str(props, k));
    record.name = text(&m.name);
    record.operator = text(&m.operator);
    for (field, value) in [
        ("name", &mut record.name),
        ("operator", &mut record.operator),
    ] {
        if value.as_deref().is_some_and(is_placeholder) {
            issues.push(issue(
                input,
                issue_codes::PLACEHOLDER_VALUE,
                IssueAction::ValueIgnored,
                loc,
                Some(&key),
                format!(
                    "{field} `{}` is a placeholder, not a value",
                    value.take().unwrap_or_default()
                ),
            ));
        }
    }
    record.operator_wikidata = text(&m.operator_wikidata);
    record.website = text(&m.website);
    record.alt_names = m
        .alt_names
        .iter()
        .filter_map(|k| get_str(props, k))
        .collect();
    let descriptions: Vec<String> = m
        .description
        .iter()
        .filter_map(|k| get_str(props, k))
        .collect();
    record.description = (!descriptions.is_empty()).then(|| descriptions.join(" | "));
    record.address.housenumber = text(&m.housenumber);
    record.address.street = text(&m.street);
    record.address.postcode = text(&m.postcode);
    record.address.city = m.city.iter().find_map(|k| get_str(props, k));
    record.commune_name = record.address.city.clone();
    record.peeringdb_fac_id = m
        .peeringdb_id
        .as_deref()
        .and_then(|k| get_f64(props, k))
        .filter(|v| *v >= 1.0 && v.fract() == 0.0)
        .map(|v| v as i64);

    if let Some(value) = shifted_value {
        issues.push(issue(
            input,
            issue_codes::ID_NOT_OSM,
            IssueAction::Repaired,
            loc,
            Some(&key),
            format!(
                "id field holds `{value}`, not an OSM id; keyed by position, value kept as a name/code"
            ),
        ));
        let codes = fields::ref_codes(&value);
        record.codes.extend(codes);
        if record.name.is_none() {
            record.name = Some(value);
        }
    }

    // Site codes: from the ref-like fields, then from the names.
    for k in &m.codes {
        if let Some(v) = get_str(props, k) {
            for c in fields::ref_codes(&v) {
                if !record.codes.contains(&c) {
                    record.codes.push(c);
                }
            }
        }
    }
    for n in record.name.iter().chain(&record.alt_names) {
        for c in fields::site_codes(n) {
            if !record.codes.contains(&c) {
                record.codes.push(c);
            }
        }
    }

    // Status: words in the status fields, then in the description, then the default.
    let status_texts: Vec<String> = m.status.iter().filter_map(|k| get_str(props, k)).collect();
    let from_words = status_texts
        .iter()
        .chain(record.description.iter())
        .find_map(|t| Status::from_words(t).map(|s| (s, t.clone())));
    match from_words {
        Some((s, t)) => {
            record.status = s;
            record.status_text = Some(t);
        }
        None => {
            record.status = match m.default_status.as_deref() {
                Some("operating") => Status::Operating,
                _ => Status::Unknown,
            };
            record.status_text = status_texts.first().cloned();
        }
    }

    // Point.
    let point = entry
        .geometry_point
        .map(|p| (Some(p.0), Some(p.1)))
        .or_else(|| match (&m.lon, &m.lat) {
            (Some(lo), Some(la)) => Some((get_f64(props, lo), get_f64(props, la))),
            _ => None,
        });
    match point {
        Some((Some(lon), Some(lat))) => match check_point(lon, lat) {
            PointCheck::Ok(p) => record.point = Some(p),
            PointCheck::Swapped(p) => {
                issues.push(issue(
                    input,
                    issue_codes::COORDS_SWAPPED,
                    IssueAction::Repaired,
                    loc,
                    Some(&key),
                    format!("latitude {lat} is out of range; swapped with longitude {lon}"),
                ));
                record.point = Some(p);
            }
            PointCheck::Invalid => issues.push(issue(
                input,
                issue_codes::INVALID_COORDS,
                IssueAction::Repaired,
                loc,
                Some(&key),
                format!("coordinates ({lon}, {lat}) are not a valid lon/lat; point removed"),
            )),
        },
        Some((lon, lat)) if lon.is_some() || lat.is_some() => issues.push(issue(
            input,
            issue_codes::INVALID_COORDS,
            IssueAction::Repaired,
            loc,
            Some(&key),
            "only one of longitude/latitude is a number; point removed".into(),
        )),
        _ => issues.push(issue(
            input,
            issue_codes::MISSING_COORDS,
            IssueAction::Kept,
            loc,
            Some(&key),
            "no coordinates; to be located by postcode or commune".into(),
        )),
    }
    let approximate = m
        .approximate_when
        .as_ref()
        .is_some_and(|rule| get_str(props, &rule.field).is_some_and(|v| rule.values.contains(&v)));
    record.point_precision = if record.point.is_some() {
        match m.precision.as_deref() {
            _ if approximate => PointPrecision::Approximate,
            Some("address") => PointPrecision::Address,
            Some("approximate") => PointPrecision::Approximate,
            _ => PointPrecision::Building,
        }
    } else {
        PointPrecision::None
    };

    // Quantities.
    for q in &m.power {
        if let Some(fact) = read_power(input, q, props, loc, &key, &mut issues) {
            record.powers.push(fact);
        }
    }
    for q in &m.surface {
        if let Some(fact) = read_surface(input, q, props, loc, &key, &mut issues) {
            record.surfaces.push(fact);
        }
    }

    if record.name.is_none()
        && record.operator.is_none()
        && record.codes.is_empty()
        && record.address.is_empty()
    {
        issues.push(issue(
            input,
            issue_codes::ANONYMOUS_POINT,
            IssueAction::Kept,
            loc,
            Some(&key),
            "no name, operator, code or address: a point only".into(),
        ));
    }
    Mapped::Record(Box::new(record), issues)
}

fn native_id(
    m: &Mapping,
    props: &Map<String, Value>,
    position: usize,
    shifted: &mut Option<String>,
) -> (String, Option<String>) {
    let row = format!("{}{position}", m.row_prefix.as_deref().unwrap_or("row"));
    let Some(id_field) = m.id.as_deref() else {
        return (row, None);
    };
    let raw = get_str(props, id_field);
    match m.id_style.as_deref().unwrap_or("plain") {
        "osm_path" => match raw.as_deref().map(fields::osm_path) {
            Some(Some(p)) => (p.clone(), Some(p)),
            Some(None) => {
                *shifted = raw;
                (row, None)
            }
            None => (row, None),
        },
        "osm_type_id" => {
            let kind = m.osm_type.as_deref().and_then(|k| get_str(props, k));
            match (kind, raw) {
                (Some(k), Some(id)) => match fields::osm_path(&format!("{k}/{id}")) {
                    Some(p) => (p.clone(), Some(p)),
                    None => (row, None),
                },
                _ => (row, None),
            }
        }
        _ => match raw {
            Some(id) => (
                format!("{}{}", m.id_prefix.as_deref().unwrap_or(""), id),
                None,
            ),
            None => (row, None),
        },
    }
}

enum PointCheck {
    Ok(LonLat),
    Swapped(LonLat),
    Invalid,
}

fn check_point(lon: f64, lat: f64) -> PointCheck {
    let valid =
        |lon: f64, lat: f64| (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
    if lon == 0.0 && lat == 0.0 {
        PointCheck::Invalid
    } else if valid(lon, lat) {
        PointCheck::Ok(LonLat { lon, lat })
    } else if valid(lat, lon) {
        PointCheck::Swapped(LonLat { lon: lat, lat: lon })
    } else {
        PointCheck::Invalid
    }
}

fn not_observed(q: &QuantityMap, props: &Map<String, Value>) -> Option<String> {
    let rule = q.not_observed_when.as_ref()?;
    let v = get_str(props, &rule.field)?;
    rule.values
        .iter()
        .any(|x| x == &v)
        .then(|| format!("{} = {v}", rule.field))
}

/// Reads the number of a quantity field: numeric for MW/MVA/m2/ha, parsed text for `text`.
fn read_quantity(
    q: &QuantityMap,
    props: &Map<String, Value>,
) -> Result<Option<fields::Quantity>, String> {
    use fields::{Quantity, QuantityUnit};
    if q.unit == "text" {
        let Some(t) = get_str(props, &q.field) else {
            return Ok(None);
        };
        return fields::parse_quantity(&t).map(Some).ok_or(t);
    }
    let Some(value) = get_f64(props, &q.field) else {
        return match get_str(props, &q.field) {
            Some(t) => Err(t),
            None => Ok(None),
        };
    };
    let unit = match q.unit.as_str() {
        "MW" => QuantityUnit::Mw,
        "MVA" => QuantityUnit::Mva,
        "ha" => QuantityUnit::Ha,
        _ => QuantityUnit::M2,
    };
    Ok((value > 0.0).then_some(Quantity { value, unit }))
}

/// The quantity of a power or surface field, when it is an observation: a value that does
/// not read as a `what` (`power`, `surface`) is reported as `unparsed_quantity`, a value the
/// source marks as a default as `default_value_not_observed`; both are left out.
#[allow(clippy::too_many_arguments)]
fn observed_quantity<T>(
    input: &FileInput<'_>,
    q: &QuantityMap,
    props: &Map<String, Value>,
    loc: &str,
    key: &str,
    issues: &mut Vec<DataIssue>,
    what: &str,
    convert: fn(fields::Quantity) -> Option<T>,
) -> Option<T> {
    let mut report = |code, message: String| {
        issues.push(issue(
            input,
            code,
            IssueAction::ValueIgnored,
            loc,
            Some(key),
            message,
        ));
    };
    let parsed = match read_quantity(q, props) {
        Ok(Some(quantity)) => convert(quantity)
            .ok_or_else(|| format!("{} {:?}", quantity.value, quantity.unit).to_lowercase()),
        Ok(None) => return None,
        Err(text) => Err(text),
    };
    let value = match parsed {
        Ok(v) => v,
        Err(text) => {
            report(
                issue_codes::UNPARSED_QUANTITY,
                format!("`{}` = `{text}` is not a {what}", q.field),
            );
            return None;
        }
    };
    if let Some(why) = not_observed(q, props) {
        report(
            issue_codes::DEFAULT_NOT_OBSERVED,
            format!(
                "`{}` is a default value ({why}), not ingested as observed",
                q.field
            ),
        );
        return None;
    }
    Some(value)
}

fn read_power(
    input: &FileInput<'_>,
    q: &QuantityMap,
    props: &Map<String, Value>,
    loc: &str,
    key: &str,
    issues: &mut Vec<DataIssue>,
) -> Option<PowerFact> {
    let (value, unit) =
        observed_quantity(input, q, props, loc, key, issues, "power", fields::to_mw)?;
    Some(PowerFact {
        value,
        unit,
        kind: if unit == "MVA" {
            PowerKind::GridMva
        } else {
            power_kind(&q.kind)
        },
        kind_text: None,
        field: q.field.clone(),
    })
}

fn read_surface(
    input: &FileInput<'_>,
    q: &QuantityMap,
    props: &Map<String, Value>,
    loc: &str,
    key: &str,
    issues: &mut Vec<DataIssue>,
) -> Option<SurfaceFact> {
    let value_m2 = observed_quantity(input, q, props, loc, key, issues, "surface", fields::to_m2)?;
    Some(SurfaceFact {
        value_m2,
        kind: surface_kind(&q.kind),
        kind_text: None,
        field: q.field.clone(),
    })
}

/// `it`, `facility`, `grid_mva`, `thermal`, `planned`, anything else → unspecified.
pub fn power_kind(s: &str) -> PowerKind {
    match s {
        "it" => PowerKind::It,
        "facility" => PowerKind::Facility,
        "grid_mva" => PowerKind::GridMva,
        "thermal" => PowerKind::Thermal,
        "planned" => PowerKind::Planned,
        _ => PowerKind::Unspecified,
    }
}

/// `white_space`, `floor_area`, `site_area`, anything else → unspecified.
pub fn surface_kind(s: &str) -> SurfaceKind {
    match s {
        "white_space" => SurfaceKind::WhiteSpace,
        "floor_area" => SurfaceKind::FloorArea,
        "site_area" => SurfaceKind::SiteArea,
        _ => SurfaceKind::Unspecified,
    }
}
