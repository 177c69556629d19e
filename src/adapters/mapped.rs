//! Maps one entry (a CSV row, a GeoJSON feature's properties or a JSON object, all seen as a
//! JSON object) onto a [`Record`] through the source's [`Mapping`], reporting every repair or
//! ignored value as a data issue.

use serde_json::{Map, Value};

use super::fields::{self, TextFlaw};
use super::{FileInput, lenient};
use crate::catalog::{Mapping, QuantityMap};
use crate::model::{
    DataIssue, IssueAction, IssueCode, LonLat, ParseOutput, PointPrecision, PowerFact, PowerKind,
    Record, Status, SurfaceFact, SurfaceKind,
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
    code: IssueCode,
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

/// Maps one screened entry and adds to `out`, in this order: the entry's text flaws, what
/// `about` finds about the mapped record (a geometry reduced to a point, a repeated point),
/// the mapping's issues, then the record. A dropped entry adds its flaws and the reasons.
pub fn add_entry(
    input: &FileInput<'_>,
    entry: &Entry<'_>,
    flaws: &[lenient::Flaw],
    screened: &[(IssueCode, String)],
    out: &mut ParseOutput,
    about: impl FnOnce(&Record) -> Option<DataIssue>,
) {
    let flaw_issues = |key| lenient::flaw_issues(input, flaws, screened, &entry.locator, key);
    match map_entry(input, entry) {
        Mapped::Record(record, issues) => {
            out.issues.extend(flaw_issues(Some(&record.record_key)));
            out.issues.extend(about(&record));
            out.issues.extend(issues);
            out.records.push(*record);
        }
        Mapped::Dropped(issues) => {
            out.issues.extend(flaw_issues(None));
            out.issues.extend(issues);
        }
    }
}

/// Maps one entry onto a record: catalog exclusion, identity, texts, status, point and
/// quantities, each reporting its own data issues.
pub fn map_entry(input: &FileInput<'_>, entry: &Entry<'_>) -> Mapped {
    let m = input.mapping();
    let props = entry.props;
    let loc = entry.locator.as_str();
    if let Some(dropped) = excluded(input, props, loc) {
        return Mapped::Dropped(vec![dropped]);
    }
    let mut issues = Vec::new();

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
    let report =
        |code, action, message: String| issue(input, code, action, loc, Some(&key), message);

    issues.extend(text_flaws(props, &report));
    issues.extend(wrong_types(m, props, &report));
    read_texts(m, props, &mut record, &report, &mut issues);
    if let Some(value) = shifted_value {
        issues.push(report(
            IssueCode::IdNotOsm,
            IssueAction::Repaired,
            format!(
                "id field holds `{value}`, not an OSM id; keyed by position, value kept as a name/code"
            ),
        ));
        record.codes.extend(fields::ref_codes(&value));
        if record.name.is_none() {
            record.name = Some(value);
        }
    }
    read_codes(m, props, &mut record);
    read_status(m, props, &mut record);
    if let Some(point_issue) = read_point(m, entry, &mut record, &report) {
        issues.push(point_issue);
    }

    // Quantities.
    let mut ignored = |code, message| {
        issues.push(issue(
            input,
            code,
            IssueAction::ValueIgnored,
            loc,
            Some(&key),
            message,
        ));
    };
    for q in &m.power {
        if let Some((value, unit)) =
            observed_quantity(q, props, "power", fields::to_mw, &mut ignored)
        {
            let kind = match unit {
                "MVA" => PowerKind::GridMva,
                _ => PowerKind::from_name(&q.kind).unwrap_or(PowerKind::Unspecified),
            };
            record.powers.push(PowerFact {
                value,
                unit,
                kind,
                kind_text: None,
                field: q.field.clone(),
            });
        }
    }
    for q in &m.surface {
        if let Some(value_m2) = observed_quantity(q, props, "surface", fields::to_m2, &mut ignored)
        {
            record.surfaces.push(SurfaceFact {
                value_m2,
                kind: SurfaceKind::from_name(&q.kind).unwrap_or(SurfaceKind::Unspecified),
                kind_text: None,
                field: q.field.clone(),
            });
        }
    }

    if record.name.is_none()
        && record.operator.is_none()
        && record.codes.is_empty()
        && record.address.is_empty()
    {
        issues.push(report(
            IssueCode::AnonymousPoint,
            IssueAction::Kept,
            "no name, operator, code or address: a point only".into(),
        ));
    }
    Mapped::Record(Box::new(record), issues)
}

/// The issue that drops an entry the catalog excludes (`mapping.exclude`), if it is one.
fn excluded(input: &FileInput<'_>, props: &Map<String, Value>, loc: &str) -> Option<DataIssue> {
    let m = input.mapping();
    let rule = m.exclude.as_ref()?;
    let v = get_str(props, &rule.field)?;
    if !rule.values.iter().any(|x| x == &v) {
        return None;
    }
    let code = IssueCode::lookup(&rule.code).unwrap_or(IssueCode::NotADataCentre);
    let name = get_str(props, m.name.as_deref().unwrap_or("name")).unwrap_or_default();
    Some(issue(
        input,
        code,
        IssueAction::Dropped,
        loc,
        None,
        format!("{} = {v} ({name}): excluded by the catalog", rule.field),
    ))
}

/// Text flaws anywhere in the entry, field by field.
fn text_flaws(
    props: &Map<String, Value>,
    report: &impl Fn(IssueCode, IssueAction, String) -> DataIssue,
) -> Vec<DataIssue> {
    let mut issues = Vec::new();
    for (field, value) in props {
        if let Value::String(s) = value {
            match fields::clean_text(s).1 {
                Some(TextFlaw::ObjectObject) => issues.push(report(
                    IssueCode::ObjectObjectValue,
                    IssueAction::ValueIgnored,
                    format!("field `{field}` holds `[object Object]`; ignored"),
                )),
                Some(TextFlaw::EmbeddedNewline) => issues.push(report(
                    IssueCode::EmbeddedNewline,
                    IssueAction::Repaired,
                    format!("field `{field}` holds a line break; joined with a space"),
                )),
                None => {}
            }
        }
    }
    issues
}

/// Mapped fields holding an object or an array (where a text or a number is read): ignored,
/// each reported as `wrong_json_type`.
fn wrong_types(
    m: &Mapping,
    props: &Map<String, Value>,
    report: &impl Fn(IssueCode, IssueAction, String) -> DataIssue,
) -> Vec<DataIssue> {
    m.value_fields()
        .into_iter()
        .filter_map(|k| match props.get(k.as_str()) {
            Some(v @ (Value::Object(_) | Value::Array(_))) => Some(report(
                IssueCode::WrongJsonType,
                IssueAction::ValueIgnored,
                format!(
                    "field `{k}` holds {}, not a text or a number; ignored",
                    if v.is_object() {
                        "an object"
                    } else {
                        "an array"
                    }
                ),
            )),
            _ => None,
        })
        .collect()
}

/// Names (placeholders left out), operator, website, descriptions, address, PeeringDB id.
fn read_texts(
    m: &Mapping,
    props: &Map<String, Value>,
    record: &mut Record,
    report: &impl Fn(IssueCode, IssueAction, String) -> DataIssue,
    issues: &mut Vec<DataIssue>,
) {
    let text = |k: &Option<String>| k.as_deref().and_then(|k| get_str(props, k));
    record.name = text(&m.name);
    record.operator = text(&m.operator);
    for (field, value) in [
        ("name", &mut record.name),
        ("operator", &mut record.operator),
    ] {
        if value.as_deref().is_some_and(is_placeholder) {
            issues.push(report(
                IssueCode::PlaceholderValue,
                IssueAction::ValueIgnored,
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
        .filter(|v| *v >= 1.0 && v.fract() == 0.0 && *v < i64::MAX as f64)
        .map(|v| v as i64);
}

/// Site codes: from the ref-like fields, then from the names.
fn read_codes(m: &Mapping, props: &Map<String, Value>, record: &mut Record) {
    for k in &m.codes {
        if let Some(v) = get_str(props, k) {
            for c in fields::ref_codes(&v) {
                if !record.codes.contains(&c) {
                    record.codes.push(c);
                }
            }
        }
    }
    let names: Vec<String> = record
        .name
        .iter()
        .chain(&record.alt_names)
        .cloned()
        .collect();
    for n in names {
        for c in fields::site_codes(&n) {
            if !record.codes.contains(&c) {
                record.codes.push(c);
            }
        }
    }
}

/// Status: words in the status fields, then in the description, then the default.
fn read_status(m: &Mapping, props: &Map<String, Value>, record: &mut Record) {
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
}

/// The point (from the geometry, else the lon/lat fields) and its precision; the issue of a
/// point repaired, removed or missing.
fn read_point(
    m: &Mapping,
    entry: &Entry<'_>,
    record: &mut Record,
    report: &impl Fn(IssueCode, IssueAction, String) -> DataIssue,
) -> Option<DataIssue> {
    let props = entry.props;
    let point = entry
        .geometry_point
        .map(|p| (Some(p.0), Some(p.1)))
        .or_else(|| match (&m.lon, &m.lat) {
            (Some(lo), Some(la)) => Some((get_f64(props, lo), get_f64(props, la))),
            _ => None,
        });
    let found = match point {
        Some((Some(lon), Some(lat))) => match check_point(lon, lat) {
            PointCheck::Ok(p) => {
                record.point = Some(p);
                None
            }
            PointCheck::Swapped(p) => {
                record.point = Some(p);
                Some(report(
                    IssueCode::CoordsSwapped,
                    IssueAction::Repaired,
                    format!("latitude {lat} is out of range; swapped with longitude {lon}"),
                ))
            }
            PointCheck::Invalid => Some(report(
                IssueCode::InvalidCoords,
                IssueAction::Repaired,
                format!("coordinates ({lon}, {lat}) are not a valid lon/lat; point removed"),
            )),
        },
        Some((lon, lat)) if lon.is_some() || lat.is_some() => Some(report(
            IssueCode::InvalidCoords,
            IssueAction::Repaired,
            "only one of longitude/latitude is a number; point removed".into(),
        )),
        _ => Some(report(
            IssueCode::MissingCoords,
            IssueAction::Kept,
            "no coordinates; to be located by postcode or commune".into(),
        )),
    };
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
    found
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

/// A lon/lat pair checked: valid, valid once swapped, or not a point (0,0 included).
pub(crate) enum PointCheck {
    Ok(LonLat),
    Swapped(LonLat),
    Invalid,
}

pub(crate) fn check_point(lon: f64, lat: f64) -> PointCheck {
    if !lon.is_finite() || !lat.is_finite() {
        return PointCheck::Invalid;
    }
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
fn observed_quantity<T>(
    q: &QuantityMap,
    props: &Map<String, Value>,
    what: &str,
    convert: fn(fields::Quantity) -> Option<T>,
    report: &mut impl FnMut(IssueCode, String),
) -> Option<T> {
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
                IssueCode::UnparsedQuantity,
                format!("`{}` = `{text}` is not a {what}", q.field),
            );
            return None;
        }
    };
    if let Some(why) = not_observed(q, props) {
        report(
            IssueCode::DefaultValueNotObserved,
            format!(
                "`{}` is a default value ({why}), not ingested as observed",
                q.field
            ),
        );
        return None;
    }
    Some(value)
}
